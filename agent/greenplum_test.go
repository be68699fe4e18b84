package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func gpConfig(t *testing.T) Config {
	dir := t.TempDir()
	return Config{Name: "standby", Peer: "primary", Engine: "greenplum", StandbyMarker: "standby.signal",
		ApplicationName: "gp_walreceiver", DataDir: dir, StateFile: filepath.Join(dir, "state.json")}
}

func TestGreenplumStandbyIsToldByItsMarker(t *testing.T) {
	c := gpConfig(t)
	var s PgState
	c.probeGreenplumStandby(&s)
	if s.Answered || s.InRecovery {
		t.Fatalf("without standby.signal a silent server must stay unknown (a primary starting up), got %+v", s)
	}
	if err := os.WriteFile(filepath.Join(c.DataDir, "standby.signal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c.probeGreenplumStandby(&s)
	if !s.Answered || !s.InRecovery {
		t.Fatalf("with standby.signal it is a standby, got %+v", s)
	}
}

func TestGreenplumPromotesOnlyAfterASynchronousStream(t *testing.T) {
	a := &Agent{cfg: gpConfig(t)}
	cases := map[string]string{
		"gp_walreceiver:sync":            "",
		"gp_walreceiver:async":           "did not show this standby streaming synchronously",
		"":                               "did not show this standby streaming synchronously",
		"other:sync,gp_walreceiver:sync": "",
	}
	for replicas, want := range cases {
		got := a.mayPromote(PgState{}, &LeaderStatus{Host: "primary", Replicas: replicas})
		if (want == "" && got != "") || (want != "" && !strings.Contains(got, want)) {
			t.Errorf("replicas %q: got %q, want %q", replicas, got, want)
		}
	}
	if got := a.mayPromote(PgState{}, nil); !strings.Contains(got, "never saw primary lead") {
		t.Errorf("no status seen: got %q", got)
	}
}

func TestWalReceiverTitle(t *testing.T) {
	m := titleLsn.FindStringSubmatch("postgres:  5432, walreceiver   streaming 1/C000060 ")
	if m == nil || m[1] != "streaming" || m[2] != "1" || m[3] != "C000060" {
		t.Fatalf("title not parsed: %v", m)
	}
}

func TestGreenplumConfigNeedsItsPromoteStep(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.json")
	base := `{"name":"a","peer":"b","prefix":"/p","endpoints":["x"],"pgBin":"/b","dataDir":"/d","socketDir":"/tmp","port":1,"stateFile":"/s",
"leaseTtlSeconds":6,"renewIntervalMs":500,"retryWindowMs":3000,"engine":"greenplum"`
	if err := os.WriteFile(path, []byte(base+`}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path); err == nil || !strings.Contains(err.Error(), "promoteScript") {
		t.Fatalf("want a refusal naming promoteScript, got %v", err)
	}
	if err := os.WriteFile(path, []byte(base+`,"standbyMarker":"standby.signal","promoteScript":"/p.sh"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path); err != nil {
		t.Fatal(err)
	}
}
