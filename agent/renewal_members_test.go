package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// A renewal goes through every member at once: two members that hold every request (a host cut
// off, a member without a leader) do not keep a third, healthy one from confirming it in time.
func TestRenewalIsConfirmedThroughTheOneMemberThatAnswers(t *testing.T) {
	healthy := startEtcd(t, 23791, 23801)
	// Two "members" that accept connections and never answer.
	var members []*clientv3.Client
	for i := 0; i < 2; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		members = append(members, client(t, l.Addr().String()))
	}
	members = append(members, healthy)
	ctx, cancel := leaderCtx(2 * time.Second)
	g, err := healthy.Grant(ctx, 8)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	lease := g.ID
	ctx, cancel = leaderCtx(2 * time.Second)
	_, err = healthy.Put(ctx, "k", "me", clientv3.WithLease(lease))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		start := time.Now()
		r, err := renewOnce(members, lease, "k", 500*time.Millisecond)
		if err != nil || !r.ours("me", lease) {
			t.Fatalf("renewal %d: not confirmed as ours through the healthy member: %+v %v", i, r, err)
		}
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Fatalf("renewal %d took %v, beyond its timeout", i, took)
		}
	}
	// Through the silent members alone: no confirmation, within the timeout.
	start := time.Now()
	r, err := renewOnce(members[:2], lease, "k", 300*time.Millisecond)
	if err == nil && r.Confirmed {
		t.Fatalf("confirmed through members that never answer: %+v", r)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("a renewal through silent members took %v", took)
	}
}

// startEtcd runs a one-member etcd on loopback for the test (or skips it when etcd is missing)
// and returns a client once etcd has a leader and answers.
func startEtcd(t *testing.T, clientPort, peerPort int) *clientv3.Client {
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd is not installed (Debian: etcd-server)")
	}
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	cmd := exec.Command(etcd, "--name", "m", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "m="+peerURL, "--log-level", "error", "--logger", "zap")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	cli := client(t, fmt.Sprintf("127.0.0.1:%d", clientPort))
	for deadline := time.Now().Add(20 * time.Second); ; {
		ctx, cancel := leaderCtx(time.Second)
		_, err := cli.Get(ctx, "ready")
		cancel()
		if err == nil {
			return cli
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd did not start: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func client(t *testing.T, addr string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + addr}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
