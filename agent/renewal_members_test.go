package main

import (
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
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd is not installed (Debian: etcd-server)")
	}
	dir := t.TempDir()
	cmd := exec.Command(etcd, "--name", "m", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://127.0.0.1:23791", "--advertise-client-urls", "http://127.0.0.1:23791",
		"--listen-peer-urls", "http://127.0.0.1:23801", "--initial-advertise-peer-urls", "http://127.0.0.1:23801",
		"--initial-cluster", "m=http://127.0.0.1:23801", "--log-level", "error", "--logger", "zap")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() }()
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
	healthy := client(t, "127.0.0.1:23791")
	members = append(members, healthy)
	var lease clientv3.LeaseID
	for deadline := time.Now().Add(20 * time.Second); ; {
		ctx, cancel := leaderCtx(time.Second)
		g, err := healthy.Grant(ctx, 8)
		cancel()
		if err == nil {
			lease = g.ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd did not start: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx, cancel := leaderCtx(2 * time.Second)
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

func client(t *testing.T, addr string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + addr}, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
