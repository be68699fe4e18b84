package command

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// LocalRunner runs commands on this machine through an interpreter.
type LocalRunner struct {
	Interpreter []string // defaults to /bin/sh -c
	Dir         string
}

func (r LocalRunner) Run(ctx context.Context, spec RunSpec) (Result, error) {
	interp := r.Interpreter
	if len(interp) == 0 {
		interp = []string{"/bin/sh", "-c"}
	}
	if r.Dir != "" {
		st, err := os.Stat(r.Dir)
		if err != nil {
			return Result{}, fmt.Errorf("%s command: dir %q: %w", spec.Op, r.Dir, err)
		}
		if !st.IsDir() {
			return Result{}, fmt.Errorf("%s command: dir %q is not a directory", spec.Op, r.Dir)
		}
	}
	args := append(append([]string{}, interp[1:]...), spec.Command)
	cmd := exec.Command(interp[0], args...)
	cmd.Dir = r.Dir
	cmd.Env = os.Environ()
	for _, k := range sortedKeys(spec.PrevEnv) {
		cmd.Env = append(cmd.Env, k+"="+spec.PrevEnv[k])
	}
	for _, k := range sortedKeys(spec.Env) {
		cmd.Env = append(cmd.Env, k+"="+spec.Env[k])
	}
	if spec.Stdin != nil {
		cmd.Stdin = strings.NewReader(*spec.Stdin)
	}
	out, errOut := newCapture(Stdout, spec), newCapture(Stderr, spec)
	cmd.Stdout, cmd.Stderr = out, errOut
	// Run in a process group of its own so that stopping it stops its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Output pipes may be held open by background children: do not wait for
	// them forever once the command itself has exited.
	cmd.WaitDelay = 5 * time.Second

	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("%s command: starting %s: %w", spec.Op, interp[0], err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// Ask politely, then insist.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	out.flush()
	errOut.flush()
	res := Result{Stdout: out.text(), Stderr: errOut.text()}
	if cerr := contextError(ctx, spec.Op); cerr != nil {
		return res, cerr
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			code := exitErr.ExitCode()
			reason := ""
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				reason = "killed by signal " + ws.Signal().String()
			}
			return res, newCommandError(spec, "locally", code, reason, res.Stdout, res.Stderr)
		}
		if errors.Is(err, exec.ErrWaitDelay) {
			// The command exited successfully, a background child kept a pipe.
			return res, nil
		}
		return res, fmt.Errorf("%s command: %w", spec.Op, err)
	}
	return res, nil
}
