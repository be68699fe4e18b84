package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// probeGreenplumStandby: a Greenplum standby coordinator refuses connections (hot_standby is
// off), so a running postmaster that answers no SQL is a standby when its data directory holds
// the standby marker (standby.signal on 7). Its receive position, when its walreceiver streams,
// is read from that process's title. Without the marker it stays "not answered": a primary
// that is starting up or overloaded is not taken for a standby.
func (c Config) probeGreenplumStandby(s *PgState) {
	if _, err := os.Stat(filepath.Join(c.DataDir, c.StandbyMarker)); err != nil {
		return
	}
	s.Answered, s.InRecovery = true, true
	s.Receiver, s.Lsn = c.walReceiver()
}

var titleLsn = regexp.MustCompile(`walreceiver\s+(\S+)\s+([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})`)

// walReceiver: the state and position in the title of the server's walreceiver process
// ("postgres: 5432, walreceiver streaming 0/C000060"), or "" and 0 when none runs.
func (c Config) walReceiver() (string, int64) {
	for _, pid := range c.serverPids() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		m := titleLsn.FindStringSubmatch(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		if m == nil {
			continue
		}
		hi, _ := strconv.ParseInt(m[2], 16, 64)
		lo, _ := strconv.ParseInt(m[3], 16, 64)
		return m[1], hi<<32 | lo
	}
	return "", 0
}

// promoteGreenplum runs the engine's activate step (scripts/remote/greenplum/activate.sh with
// its parameters, GPM_FORCE=true and GPM_OLD_FENCED_BY=lease), written beside the agent by
// agent.sh: it fences the old coordinator at the segments where it is not proven stopped, runs
// gpactivatestandby and checks the new coordinator takes writes. Its output goes to
// promote.log beside the state file; its last line is its JSON result.
func (c Config) promoteGreenplum(timeout time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	logPath := filepath.Join(filepath.Dir(c.StateFile), "promote.log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	fmt.Fprintf(log, "--- %s promoting with %s\n", time.Now().UTC().Format(time.RFC3339Nano), c.PromoteScript)
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", c.PromoteScript)
	cmd.Stdout, cmd.Stderr = &stdout, log
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	_, _ = log.Write(stdout.Bytes())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var result map[string]any
	if json.Unmarshal([]byte(lines[len(lines)-1]), &result) != nil {
		result = nil
	}
	if runErr != nil {
		return result, fmt.Errorf("the activate step failed (%v); see %s", runErr, logPath)
	}
	return result, nil
}
