package command

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLocalOutputStdinEnvDir(t *testing.T) {
	dir := t.TempDir()
	rec := &logRecorder{}
	res, err := LocalRunner{Dir: dir}.Run(context.Background(), RunSpec{
		Op:      "create",
		Command: `read a; echo "in=$a foo=$FOO prev=$PULUMI_COMMAND_STDOUT pwd=$(pwd)"; printf 'no newline' >&2`,
		Stdin:   strp("line1\n"),
		Env:     map[string]string{"FOO": "bar"},
		PrevEnv: map[string]string{EnvPrevStdout: "old"},
		Logging: LogStdoutAndStderr,
		Sink:    rec.sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "in=line1 foo=bar prev=old pwd=" + dir
	if res.Stdout != want || res.Stderr != "no newline" {
		t.Fatalf("got %+v, want stdout %q", res, want)
	}
	if !strings.Contains(rec.text(), "stdout: "+want) || !strings.Contains(rec.text(), "stderr: no newline") {
		t.Fatalf("not logged: %s", rec.text())
	}
}

func TestLocalTrimsOneTrailingNewline(t *testing.T) {
	res, err := LocalRunner{}.Run(context.Background(), RunSpec{Op: "create", Command: `printf 'a\n\n'`})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "a\n" {
		t.Fatalf("got %q", res.Stdout)
	}
}

func TestLocalInterpreter(t *testing.T) {
	res, err := LocalRunner{Interpreter: []string{"/bin/echo", "x"}}.Run(context.Background(),
		RunSpec{Op: "create", Command: "y"})
	if err != nil || res.Stdout != "x y" {
		t.Fatalf("got %q, %v", res.Stdout, err)
	}
}

func TestLocalExitCodeRespectsLogging(t *testing.T) {
	for _, l := range []Logging{LogStdoutAndStderr, LogStdout, LogNone} {
		rec := &logRecorder{}
		_, err := LocalRunner{}.Run(context.Background(), RunSpec{
			Op: "delete", Command: "echo out-text; echo err-text >&2; exit 3", Logging: l, Sink: rec.sink,
		})
		var ce *CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 3 || !strings.Contains(err.Error(), "delete command failed locally with exit code 3") {
			t.Fatalf("%s: got %v", l, err)
		}
		if got := strings.Contains(err.Error(), "err-text"); got != l.Stderr() {
			t.Fatalf("%s: stderr in error = %v: %v", l, got, err)
		}
		if got := strings.Contains(rec.text(), "err-text"); got != l.Stderr() {
			t.Fatalf("%s: stderr in log = %v", l, got)
		}
		if got := strings.Contains(rec.text(), "out-text"); got != l.Stdout() {
			t.Fatalf("%s: stdout in log = %v", l, got)
		}
	}
}

func TestLocalStdoutQuotedWhenStderrEmpty(t *testing.T) {
	_, err := LocalRunner{}.Run(context.Background(), RunSpec{Op: "create", Command: "echo why; exit 1", Logging: LogStdoutAndStderr})
	if err == nil || !strings.Contains(err.Error(), "last lines of stdout:\n    why") {
		t.Fatalf("got %v", err)
	}
}

func TestLocalTimeoutKillsProcessGroup(t *testing.T) {
	marker := t.TempDir() + "/survived"
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := LocalRunner{}.Run(ctx, RunSpec{Op: "create", Command: "(sleep 2; touch " + marker + ") & sleep 10"})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want timeout, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	time.Sleep(2500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a child of the command survived the timeout")
	}
}

func TestLocalBadDir(t *testing.T) {
	_, err := LocalRunner{Dir: "/nonexistent/dir"}.Run(context.Background(), RunSpec{Op: "create", Command: "true"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/dir") {
		t.Fatalf("got %v", err)
	}
}
