package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A psql that answers as a primary with a streaming standby; with DIE set it first replaces
// postmaster.pid with a dead process's, as a kill -9 of the postmaster during the query does.
func fakePsql(t *testing.T, c Config, die bool) {
	body := "#!/bin/sh\n"
	if die {
		body += "echo 999999999 > '" + filepath.Join(c.DataDir, "postmaster.pid") + "'\n"
	}
	body += "echo 'f|100||gp_walreceiver:sync|'\n"
	if err := os.WriteFile(filepath.Join(c.PgBin, "psql"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestProbeIgnoresAnAnswerFromAPostmasterThatDied(t *testing.T) {
	c := gpConfig(t)
	c.PgBin = t.TempDir()
	for _, die := range []bool{false, true} {
		pid := strconv.Itoa(os.Getpid()) + "\n"
		if err := os.WriteFile(filepath.Join(c.DataDir, "postmaster.pid"), []byte(pid), 0o600); err != nil {
			t.Fatal(err)
		}
		fakePsql(t, c, die)
		s := c.probe(5 * time.Second)
		if !die && (!s.Answered || s.Replicas != "gp_walreceiver:sync") {
			t.Fatalf("a live postmaster's answer must count, got %+v", s)
		}
		if die && (s.Answered || s.Running || s.Replicas != "") {
			t.Fatalf("an answer from a postmaster that died meanwhile must not count, got %+v", s)
		}
	}
}
