package main

import (
	"context"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The loop runs once each renew interval. Two events do not wait for the next one: the leading
// host's postmaster gone (the key is released at once, so the standby starts now) and the
// leader key deleted, released or expired (the standby starts its takeover now).

// livenessEvery is how often a leading agent looks at its postmaster between steps: a look is
// a read of postmaster.pid and /proc, no connection.
const livenessEvery = 50 * time.Millisecond

// wakeUp asks the loop for a step now; a step already asked for is enough.
func wakeUp(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// watchPostmaster wakes the loop as soon as the postmaster of a leading host is gone.
func (a *Agent) watchPostmaster(wake chan<- struct{}) {
	for {
		time.Sleep(livenessEvery)
		a.mu.Lock()
		holding := a.st.Holding
		a.mu.Unlock()
		if holding && !a.cfg.postmasterAlive() {
			wakeUp(wake)
		}
	}
}

// postmasterGone: not running now, nor a moment later (a pid file read while being rewritten
// is not a death).
func (c Config) postmasterGone() bool {
	if c.postmasterAlive() {
		return false
	}
	time.Sleep(livenessEvery)
	return !c.postmasterAlive()
}

// watchDeletes wakes the loop whenever key is deleted. A watch through a member without a
// leader ends (require-leader) and is made again; meanwhile the interval's steps go on.
func watchDeletes(cli *clientv3.Client, key string, wake chan<- struct{}) {
	for {
		ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.Background()))
		for resp := range cli.Watch(ctx, key) {
			for _, ev := range resp.Events {
				if ev.Type == mvccpb.DELETE {
					wakeUp(wake)
				}
			}
		}
		cancel()
		time.Sleep(200 * time.Millisecond)
	}
}
