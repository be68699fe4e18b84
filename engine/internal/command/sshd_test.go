package command

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const sshdPath = "/usr/sbin/sshd"

// testSSHD is a throwaway OpenSSH server on 127.0.0.1 for one test.
type testSSHD struct {
	Port      int
	User      string
	ClientKey string // OpenSSH private key that may log in
	HostKey   string // authorized_keys line of the server's key
	OtherKey  string // authorized_keys line of an unrelated key
	cmd       *exec.Cmd
}

func genKey(t *testing.T) (privPEM string, pub ssh.PublicKey) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(sk, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err = ssh.NewPublicKey(pk)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), pub
}

func authorizedLine(k ssh.PublicKey) string {
	return string(ssh.MarshalAuthorizedKey(k))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSSHD starts sshd, or skips the test when it is not installed or
// cannot run here (it needs root for privilege separation).
func startSSHD(t *testing.T) *testSSHD {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("%s is not installed (apt-get install -y openssh-server): skipping the SSH tests", sshdPath)
	}
	if os.Geteuid() != 0 {
		t.Skip("sshd test fixture needs root: skipping the SSH tests")
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Skipf("cannot create /run/sshd: %v", err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hostPriv, hostPub := genKey(t)
	clientPriv, clientPub := genKey(t)
	_, otherPub := genKey(t)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostKeyPath := write("host_ed25519", hostPriv)
	authPath := write("authorized_keys", authorizedLine(clientPub))
	port := freePort(t)
	cfg := write("sshd_config", fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
PidFile none
UsePAM no
StrictModes no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AcceptEnv GPM_*
LogLevel ERROR
`, port, hostKeyPath, authPath))
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sshd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on port %d: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &testSSHD{Port: port, User: u.Username, ClientKey: clientPriv,
		HostKey: authorizedLine(hostPub), OtherKey: authorizedLine(otherPub), cmd: cmd}
}

// conn returns a Connection to the server, pinned to its host key.
func (s *testSSHD) conn() *Connection {
	return &Connection{Host: "127.0.0.1", Port: s.Port, User: s.User, PrivateKey: s.ClientKey,
		HostKey: s.HostKey, DialErrorLimit: 3, PerDialTimeout: 5}
}
