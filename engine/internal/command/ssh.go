package command

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// LogFunc sends a message to the engine's log for the current resource.
type LogFunc func(sev diag.Severity, msg string)

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// HostKeyMismatchError is returned when a server's key is not a pinned one.
type HostKeyMismatchError struct {
	Addr string
	Got  string   // "TYPE SHA256:..." of the presented key
	Want []string // the same for each pinned key
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("host key for %s does not match the pinned hostKey: the server presented %s, "+
		"the pinned hostKey allows %s. The host was replaced or someone is in the middle; "+
		"if the host was rebuilt on purpose, update connection.hostKey",
		e.Addr, e.Got, strings.Join(e.Want, ", "))
}

func describeKey(k ssh.PublicKey) string {
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

// parsePinnedKeys reads hostKey: one or more lines, each a public key as in
// authorized_keys ("ssh-ed25519 AAAA... comment") or known_hosts
// ("host ssh-ed25519 AAAA...").
func parsePinnedKeys(text string) ([]ssh.PublicKey, error) {
	var keys []ssh.PublicKey
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			keys = append(keys, k)
			continue
		}
		if _, _, k, _, _, err := ssh.ParseKnownHosts([]byte(line)); err == nil {
			keys = append(keys, k)
			continue
		}
		return nil, fmt.Errorf("connection.hostKey line %d is not an SSH public key (expected e.g. \"ssh-ed25519 AAAA...\")", i+1)
	}
	if len(keys) == 0 {
		return nil, errors.New("connection.hostKey holds no SSH public key")
	}
	return keys, nil
}

// hostKeyAlgorithms lists the algorithms to negotiate so that the server
// shows the key type that was pinned, not another one it also has.
func hostKeyAlgorithms(keys []ssh.PublicKey) []string {
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range keys {
		if k.Type() == ssh.KeyAlgoRSA {
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
			add(ssh.KeyAlgoRSA)
			continue
		}
		add(k.Type())
	}
	return algos
}

// warnedUnpinned remembers the hosts already warned about, to warn once.
var warnedUnpinned sync.Map

func hostKeyCallback(c *Connection, log LogFunc) (ssh.HostKeyCallback, []string, error) {
	if strings.TrimSpace(c.HostKey) == "" {
		return func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if _, loaded := warnedUnpinned.LoadOrStore(c.Addr(), true); !loaded && log != nil {
				log(diag.Warning, fmt.Sprintf("connection to %s: no hostKey is pinned, so the server's key (%s) "+
					"is accepted without verification; set connection.hostKey to pin it", c.Addr(), describeKey(key)))
			}
			return nil
		}, nil, nil
	}
	pinned, err := parsePinnedKeys(c.HostKey)
	if err != nil {
		return nil, nil, err
	}
	cb := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		for _, p := range pinned {
			if bytes.Equal(p.Marshal(), key.Marshal()) {
				return nil
			}
		}
		e := &HostKeyMismatchError{Addr: c.Addr(), Got: describeKey(key)}
		for _, p := range pinned {
			e.Want = append(e.Want, describeKey(p))
		}
		return e
	}
	return cb, hostKeyAlgorithms(pinned), nil
}

// authMethods builds the ways to log in, in upstream's order of preference:
// private key, password, then the SSH agent. closers must be closed when the
// connection is done with.
func authMethods(c *Connection) (methods []ssh.AuthMethod, closers []func(), err error) {
	if c.PrivateKey != "" {
		var signer ssh.Signer
		if c.PrivateKeyPassword != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(c.PrivateKey), []byte(c.PrivateKeyPassword))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(c.PrivateKey))
		}
		if err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, nil, fmt.Errorf("connection to %s: privateKey is encrypted; set privateKeyPassword", c.Addr())
			}
			// Do not wrap err: never risk quoting key material.
			return nil, nil, fmt.Errorf("connection to %s: privateKey could not be parsed (is it a PEM or OpenSSH private key?)", c.Addr())
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if c.Password != "" {
		pw := c.Password
		methods = append(methods, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	sock, explicit := c.AgentSocketPath, c.AgentSocketPath != ""
	if !explicit {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock != "" {
		conn, derr := net.Dial("unix", sock)
		if derr != nil {
			if explicit {
				return nil, nil, fmt.Errorf("connection to %s: cannot reach the SSH agent at %s: %w", c.Addr(), sock, derr)
			}
		} else {
			closers = append(closers, func() { _ = conn.Close() })
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
		}
	}
	if len(methods) == 0 {
		return nil, nil, fmt.Errorf("connection to %s: no way to log in: set privateKey, password or agentSocketPath", c.Addr())
	}
	return methods, closers, nil
}

// dialFunc opens a network connection (directly, or through a proxy).
type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// sshConn is an established connection and what must be released with it.
type sshConn struct {
	client  *ssh.Client
	closers []func()
}

func (s *sshConn) Close() {
	if s.client != nil {
		_ = s.client.Close()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// connect opens an SSH connection to c, through c.Proxy when set.
func connect(ctx context.Context, c *Connection, log LogFunc) (*sshConn, error) {
	var d net.Dialer
	dial := dialFunc(d.DialContext)
	var proxy *sshConn
	if c.Proxy != nil {
		var err error
		proxy, err = connectWithRetries(ctx, c.Proxy, dial, log, "proxy ")
		if err != nil {
			return nil, err
		}
		dial = proxy.client.DialContext
	}
	conn, err := connectWithRetries(ctx, c, dial, log, "")
	if err != nil {
		if proxy != nil {
			proxy.Close()
		}
		return nil, err
	}
	if proxy != nil {
		conn.closers = append(conn.closers, proxy.Close)
	}
	return conn, nil
}

func retryDelay(attempt int) time.Duration {
	d := time.Second << min(attempt-1, 4)
	return min(d, 10*time.Second)
}

// connectWithRetries tries up to dialErrorLimit times (-1: no limit), each
// attempt limited to perDialTimeout seconds (0: no limit).
func connectWithRetries(ctx context.Context, c *Connection, dial dialFunc, log LogFunc, what string) (*sshConn, error) {
	limit := c.DialErrorLimit
	if limit == 0 {
		limit = 1
	}
	limitText := strconv.Itoa(limit)
	if limit < 0 {
		limitText = "unlimited"
	}
	for attempt := 1; ; attempt++ {
		conn, err := connectOnce(ctx, c, dial, log)
		if err == nil {
			if attempt > 1 && log != nil {
				log(diag.Info, fmt.Sprintf("connected to %s%s on attempt %d", what, c.Addr(), attempt))
			}
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connecting to %s%s: %w", what, c.Addr(), ctx.Err())
		}
		var mismatch *HostKeyMismatchError
		if errors.As(err, &mismatch) {
			return nil, err // never retry: the key will not change by waiting
		}
		if limit > 0 && attempt >= limit {
			return nil, fmt.Errorf("could not connect to %s%s after %d attempt(s): %w", what, c.Addr(), attempt, err)
		}
		wait := retryDelay(attempt)
		if log != nil {
			log(diag.Info, fmt.Sprintf("ssh attempt %d/%s to %s%s failed: %v; retrying in %s",
				attempt, limitText, what, c.Addr(), err, wait))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connecting to %s%s: %w", what, c.Addr(), ctx.Err())
		case <-time.After(wait):
		}
	}
}

func connectOnce(ctx context.Context, c *Connection, dial dialFunc, log LogFunc) (*sshConn, error) {
	cb, algos, err := hostKeyCallback(c, log)
	if err != nil {
		return nil, err
	}
	methods, closers, err := authMethods(c)
	if err != nil {
		return nil, err
	}
	release := func() {
		for _, f := range closers {
			f()
		}
	}
	cfg := &ssh.ClientConfig{
		User:              c.User,
		Auth:              methods,
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
	}
	attemptCtx := ctx
	if c.PerDialTimeout > 0 {
		var cancel context.CancelFunc
		attemptCtx, cancel = context.WithTimeout(ctx, time.Duration(c.PerDialTimeout)*time.Second)
		defer cancel()
	}
	netConn, err := dial(attemptCtx, "tcp", c.Addr())
	if err != nil {
		release()
		return nil, err
	}
	// The SSH handshake takes no context: close the connection to stop it.
	stop := context.AfterFunc(attemptCtx, func() { _ = netConn.Close() })
	sc, chans, reqs, err := ssh.NewClientConn(netConn, c.Addr(), cfg)
	stopped := !stop()
	if err != nil {
		_ = netConn.Close()
		release()
		if stopped && attemptCtx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			return nil, fmt.Errorf("no SSH handshake within %ds (perDialTimeout)", c.PerDialTimeout)
		}
		return nil, err
	}
	if stopped {
		_ = sc.Close()
		release()
		return nil, fmt.Errorf("SSH handshake with %s stopped: %w", c.Addr(), attemptCtx.Err())
	}
	return &sshConn{client: ssh.NewClient(sc, chans, reqs), closers: closers}, nil
}
