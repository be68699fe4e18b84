package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PgState is what one probe of the local server found.
type PgState struct {
	Running    bool   // the postmaster in postmaster.pid runs (and is no zombie)
	Answered   bool   // it answered SQL
	InRecovery bool   // a standby
	Lsn        int64  // primary: current WAL position; standby: last WAL received and flushed
	SyncNames  string // primary: synchronous_standby_names
	Replicas   string // primary: application_name:sync_state of streaming standbys
	Receiver   string // standby: pg_stat_wal_receiver.status
}

func (c Config) pgCtl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.PgBin, "pg_ctl"), append(args, "-D", c.DataDir)...)
	return cmd.CombinedOutput()
}

const probeSQL = `SELECT r, CASE WHEN r THEN coalesce(pg_last_wal_receive_lsn() - '0/0', 0)
  ELSE pg_current_wal_lsn() - '0/0' END,
  current_setting('synchronous_standby_names'),
  coalesce((SELECT string_agg(application_name || ':' || sync_state, ',') FROM pg_stat_replication WHERE state = 'streaming'), ''),
  coalesce((SELECT status FROM pg_stat_wal_receiver), '')
FROM pg_is_in_recovery() r`

func (c Config) probe(timeout time.Duration) PgState {
	var s PgState
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if !c.postmasterAlive() {
		return s
	}
	s.Running = true
	cmd := exec.CommandContext(ctx, filepath.Join(c.PgBin, "psql"), "-X", "-q", "-At", "-F", "|",
		"-h", c.SocketDir, "-p", strconv.Itoa(c.Port), "-d", "postgres", "-c", probeSQL)
	cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=2")
	out, err := cmd.Output()
	// A postmaster killed while the query ran: its walsenders were gone already, and a leader's
	// status built from that answer (no standby streaming) made the standby's agent refuse to
	// take over (2 of 17 kill -9 drills on Greenplum). Such an answer tells nothing.
	if err == nil && !c.postmasterAlive() {
		return PgState{}
	}
	if err != nil {
		if c.greenplum() {
			c.probeGreenplumStandby(&s)
		}
		return s
	}
	f := strings.Split(strings.TrimSpace(string(out)), "|")
	if len(f) != 5 {
		return s
	}
	s.Answered = true
	s.InRecovery = f[0] == "t"
	s.Lsn, _ = strconv.ParseInt(strings.SplitN(f[1], ".", 2)[0], 10, 64)
	s.SyncNames, s.Replicas, s.Receiver = f[2], f[3], f[4]
	return s
}

// postmasterAlive: the pid in postmaster.pid runs and is not a zombie. pg_ctl status takes a
// killed postmaster for a running one until its parent (init, once the shell that started it
// is gone) reaps it, which some inits do only every second or two: that delayed the release
// of the key after a kill -9 by as much.
func (c Config) postmasterAlive() bool {
	b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...: comm may hold spaces, so the state follows the last ')'.
	rest := string(stat)[strings.LastIndexByte(string(stat), ')')+1:]
	fields := strings.Fields(rest)
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// fence stops the local server so that it accepts nothing more: the postmaster is stopped
// (SIGSTOP: it can start no new backend), then every process working in the data directory
// (postmaster, backends, walsender: their working directory is the data directory) is killed.
// A crash, as far as the server is concerned: it restarts from its WAL, and pg_rewind can
// turn it into a standby. Returns how many processes were killed.
func (c Config) fence() int {
	if b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid")); err == nil {
		if pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0]); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
		}
	}
	killed := 0
	for i := 0; i < 3; i++ { // again, for anything forked while the list was read
		pids := c.serverPids()
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	return killed
}

// serverPids: processes whose working directory is the data directory.
func (c Config) serverPids() []int {
	want, err := filepath.EvalSymlinks(c.DataDir)
	if err != nil {
		want = c.DataDir
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && cwd == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// promote: pg_ctl promote, or on Greenplum the engine's activate step (promoteGreenplum).
// Returns what the step printed as its result, when it did.
func (c Config) promote(timeout time.Duration) (map[string]any, error) {
	if c.greenplum() {
		return c.promoteGreenplum(timeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := c.pgCtl(ctx, "promote", "-w", "-t", strconv.Itoa(int(timeout.Seconds())))
	if err != nil {
		return nil, fmt.Errorf("pg_ctl promote: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil, nil
}
