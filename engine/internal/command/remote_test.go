package command

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
)

type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) log(sev diag.Severity, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, string(sev)+": "+msg)
}

func (r *logRecorder) sink(s Stream, line string) {
	r.log(diag.Info, s.String()+": "+line)
}

func (r *logRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func strp(s string) *string { return &s }

func TestRemoteRunOutputStdinEnv(t *testing.T) {
	s := startSSHD(t)
	rec := &logRecorder{}
	r := RemoteRunner{Conn: s.conn(), Log: rec.log}
	res, err := r.Run(context.Background(), RunSpec{
		Op:      "create",
		Command: `read line; echo "got:$line env:$GPM_FOO"; echo warn >&2`,
		Stdin:   strp("hello\n"),
		Env:     map[string]string{"GPM_FOO": "bar baz"},
		Logging: LogStdoutAndStderr,
		Sink:    rec.sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "got:hello env:bar baz" || res.Stderr != "warn" {
		t.Fatalf("unexpected result %+v", res)
	}
	if !strings.Contains(rec.text(), "stdout: got:hello env:bar baz") || !strings.Contains(rec.text(), "stderr: warn") {
		t.Fatalf("lines not logged: %s", rec.text())
	}
	if strings.Contains(rec.text(), "no hostKey is pinned") {
		t.Fatalf("pinned connection warned: %s", rec.text())
	}
}

func TestRemoteExitCodeAndLogging(t *testing.T) {
	s := startSSHD(t)
	for _, tc := range []struct {
		logging  Logging
		wantTail bool
	}{{LogStdoutAndStderr, true}, {LogStderr, true}, {LogStdout, false}, {LogNone, false}} {
		rec := &logRecorder{}
		r := RemoteRunner{Conn: s.conn(), Log: rec.log}
		_, err := r.Run(context.Background(), RunSpec{
			Op: "create", Command: "echo secret-ish-stderr >&2; exit 7", Logging: tc.logging, Sink: rec.sink,
		})
		var ce *CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 7 {
			t.Fatalf("%s: want exit code 7, got %v", tc.logging, err)
		}
		if !strings.Contains(err.Error(), "exit code 7") {
			t.Fatalf("%s: error lacks exit code: %v", tc.logging, err)
		}
		inErr := strings.Contains(err.Error(), "secret-ish-stderr")
		inLog := strings.Contains(rec.text(), "secret-ish-stderr")
		if inErr != tc.wantTail || inLog != tc.wantTail {
			t.Fatalf("%s: stderr in error=%v in log=%v, want %v: %v", tc.logging, inErr, inLog, tc.wantTail, err)
		}
	}
}

func TestRemoteEnvRefusedNamesVariable(t *testing.T) {
	s := startSSHD(t)
	r := RemoteRunner{Conn: s.conn()}
	_, err := r.Run(context.Background(), RunSpec{
		Op: "create", Command: "true", Env: map[string]string{"NOT_ACCEPTED": "hunter2"}, Logging: LogNone,
	})
	if err == nil || !strings.Contains(err.Error(), `"NOT_ACCEPTED"`) || !strings.Contains(err.Error(), "AcceptEnv") {
		t.Fatalf("want an error naming the variable, got %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the value: %v", err)
	}
}

func TestRemotePreviousOutputEnvIsBestEffort(t *testing.T) {
	s := startSSHD(t)
	r := RemoteRunner{Conn: s.conn()}
	res, err := r.Run(context.Background(), RunSpec{
		Op: "update", Command: `echo "[$PULUMI_COMMAND_STDOUT]"`, Logging: LogNone,
		PrevEnv: map[string]string{EnvPrevStdout: "old", EnvPrevStderr: ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The test server does not accept PULUMI_* variables: they are left out.
	if res.Stdout != "[]" {
		t.Fatalf("got %q", res.Stdout)
	}
}

func TestRemoteHostKeyMismatchFailsAtOnce(t *testing.T) {
	s := startSSHD(t)
	c := s.conn()
	c.HostKey = s.OtherKey
	c.DialErrorLimit = 10
	start := time.Now()
	_, err := RemoteRunner{Conn: c}.Run(context.Background(), RunSpec{Op: "create", Command: "true"})
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("want a host key mismatch, got %v", err)
	}
	if !strings.Contains(err.Error(), "does not match the pinned hostKey") ||
		!strings.Contains(err.Error(), "someone is in the middle") {
		t.Fatalf("unclear message: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("mismatch was retried")
	}
	// Several pinned lines: one matching is enough.
	c.HostKey = s.OtherKey + "\n# comment\n" + s.HostKey
	if _, err := (RemoteRunner{Conn: c}).Run(context.Background(), RunSpec{Op: "create", Command: "true"}); err != nil {
		t.Fatal(err)
	}
}

func TestRemoteUnpinnedWarnsOnce(t *testing.T) {
	s := startSSHD(t)
	c := s.conn()
	c.HostKey = ""
	rec := &logRecorder{}
	for i := 0; i < 2; i++ {
		if _, err := (RemoteRunner{Conn: c, Log: rec.log}).Run(context.Background(),
			RunSpec{Op: "create", Command: "true"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(rec.text(), "no hostKey is pinned"); n != 1 {
		t.Fatalf("want one warning, got %d: %s", n, rec.text())
	}
}

func TestRemoteDialRetriesThenFails(t *testing.T) {
	port := freePort(t) // nothing listens there
	rec := &logRecorder{}
	c := &Connection{Host: "127.0.0.1", Port: port, User: "x", Password: "y", DialErrorLimit: 2, PerDialTimeout: 2}
	_, err := RemoteRunner{Conn: c, Log: rec.log}.Run(context.Background(), RunSpec{Op: "create", Command: "true"})
	if err == nil || !strings.Contains(err.Error(), "after 2 attempt(s)") {
		t.Fatalf("want failure after 2 attempts, got %v", err)
	}
	if !strings.Contains(rec.text(), "ssh attempt 1/2") {
		t.Fatalf("no progress logged: %s", rec.text())
	}
}

func TestRemoteThroughProxy(t *testing.T) {
	s := startSSHD(t)
	c := s.conn()
	c.Proxy = s.conn() // jump through the same server
	res, err := RemoteRunner{Conn: c}.Run(context.Background(), RunSpec{Op: "create", Command: "echo via-proxy"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "via-proxy" {
		t.Fatalf("got %q", res.Stdout)
	}
	bad := s.conn()
	bad.Proxy = s.conn()
	bad.Proxy.HostKey = s.OtherKey
	if _, err := (RemoteRunner{Conn: bad}).Run(context.Background(), RunSpec{Op: "create", Command: "true"}); err == nil ||
		!strings.Contains(err.Error(), "does not match") {
		t.Fatalf("proxy host key not checked: %v", err)
	}
}

func TestRemoteCancelStopsCommand(t *testing.T) {
	s := startSSHD(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1000*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := RemoteRunner{Conn: s.conn()}.Run(ctx, RunSpec{Op: "create", Command: "sleep 4"})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("cancel took %s", time.Since(start))
	}
}
