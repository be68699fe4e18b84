package command

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"golang.org/x/crypto/ssh"
)

// RemoteRunner runs commands over SSH, one session per command.
//
// Environment variables travel with the SSH "env" request (session.Setenv),
// never on the command line, where they would show in process listings. The
// server must accept them (sshd_config AcceptEnv); when it refuses one of the
// user's variables the command fails with an error naming it. The
// PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR variables are passed where the
// server accepts them and silently left out where it does not.
type RemoteRunner struct {
	Conn *Connection
	Log  LogFunc // progress and warnings; may be nil
}

func (r RemoteRunner) Run(ctx context.Context, spec RunSpec) (Result, error) {
	conn, err := connect(ctx, r.Conn, r.Log)
	if err != nil {
		if cerr := contextError(ctx, spec.Op); cerr != nil {
			return Result{}, fmt.Errorf("%w (while connecting: %v)", cerr, err)
		}
		return Result{}, err
	}
	defer conn.Close()
	where := "on " + r.Conn.Addr()

	session, err := conn.client.NewSession()
	if err != nil {
		return Result{}, fmt.Errorf("%s command: opening an SSH session %s: %w", spec.Op, where, err)
	}
	defer session.Close()

	for _, k := range sortedKeys(spec.Env) {
		if err := session.Setenv(k, spec.Env[k]); err != nil {
			return Result{}, fmt.Errorf("%s command: the SSH server %s refused environment variable %q: "+
				"sshd must accept it (add \"AcceptEnv %s\" to sshd_config), or pass the value another way, e.g. in stdin",
				spec.Op, where, k, k)
		}
	}
	for _, k := range sortedKeys(spec.PrevEnv) {
		if err := session.Setenv(k, spec.PrevEnv[k]); err != nil && r.Log != nil {
			r.Log(diag.Debug, fmt.Sprintf("the SSH server %s does not accept %s (no AcceptEnv); the variable is not set", where, k))
		}
	}
	if spec.Stdin != nil {
		session.Stdin = strings.NewReader(*spec.Stdin)
	}
	out, errOut := newCapture(Stdout, spec), newCapture(Stderr, spec)
	session.Stdout, session.Stderr = out, errOut

	if err := session.Start(spec.Command); err != nil {
		return Result{}, fmt.Errorf("%s command: starting it %s: %w", spec.Op, where, err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- session.Wait() }()
	select {
	case err = <-waitErr:
	case <-ctx.Done():
		// Ask the remote process to stop, then drop the connection, which
		// closes its pipes (and, with OpenSSH, hangs it up).
		_ = session.Signal(ssh.SIGTERM)
		_ = session.Close()
		conn.Close()
		<-waitErr
		out.flush()
		errOut.flush()
		return Result{Stdout: out.text(), Stderr: errOut.text()}, contextError(ctx, spec.Op)
	}
	out.flush()
	errOut.flush()
	res := Result{Stdout: out.text(), Stderr: errOut.text()}
	if err == nil {
		return res, nil
	}
	var exitErr *ssh.ExitError
	if errors.As(err, &exitErr) {
		code, reason := exitErr.ExitStatus(), ""
		if sig := exitErr.Signal(); sig != "" {
			code, reason = -1, "killed by signal "+sig
		}
		return res, newCommandError(spec, where, code, reason, res.Stdout, res.Stderr)
	}
	var missing *ssh.ExitMissingError
	if errors.As(err, &missing) {
		return res, newCommandError(spec, where, -1,
			"the session ended without an exit status (connection lost?)", res.Stdout, res.Stderr)
	}
	return res, fmt.Errorf("%s command %s: %w", spec.Op, where, err)
}
