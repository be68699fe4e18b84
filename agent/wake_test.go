package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// woken: whether the loop was asked for a step within d.
func woken(wake <-chan struct{}, d time.Duration) bool {
	select {
	case <-wake:
		return true
	case <-time.After(d):
		return false
	}
}

// The standby's loop starts its takeover when the leader key is deleted (released by a leader
// whose server died, or expired), not at its next interval; writes to the key do not wake it.
func TestADeletedLeaderKeyWakesTheLoop(t *testing.T) {
	cli := startEtcd(t, 23792, 23802)
	put := func() {
		ctx, cancel := leaderCtx(time.Second)
		_, err := cli.Put(ctx, "leader", "primary")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	put()
	wake := make(chan struct{}, 1)
	go watchDeletes(cli, "leader", wake)
	time.Sleep(500 * time.Millisecond) // the watch is in place
	put()
	if woken(wake, 500*time.Millisecond) {
		t.Fatal("a write to the leader key woke the loop")
	}
	ctx, cancel := leaderCtx(time.Second)
	_, err := cli.Delete(ctx, "leader")
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if !woken(wake, 200*time.Millisecond) {
		t.Fatal("the leader key's deletion did not wake the loop within 200 ms")
	}
}

// A leading host's postmaster killed wakes the loop within a few looks, long before the next
// interval; one that runs does not.
func TestALeadersDeadPostmasterWakesTheLoop(t *testing.T) {
	postmaster := exec.Command("sleep", "60")
	if err := postmaster.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = postmaster.Wait(); close(reaped) }()
	c := gpConfig(t)
	pid := strconv.Itoa(postmaster.Process.Pid) + "\n"
	if err := os.WriteFile(filepath.Join(c.DataDir, "postmaster.pid"), []byte(pid), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newAgent(c, nil, []*clientv3.Client{})
	a.st.Holding = true
	wake := make(chan struct{}, 1)
	go a.watchPostmaster(wake)
	if woken(wake, 300*time.Millisecond) {
		t.Fatal("a running postmaster woke the loop")
	}
	_ = postmaster.Process.Kill()
	<-reaped
	if !woken(wake, 200*time.Millisecond) {
		t.Fatal("the postmaster's death did not wake the loop within 200 ms")
	}
	if !c.postmasterGone() {
		t.Fatal("a dead postmaster is not seen gone")
	}
}
