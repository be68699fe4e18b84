package main

import (
	"context"
	"errors"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// renewal is one renewal of a lease and what confirmed it.
type renewal struct {
	TTL int64 // seconds granted; <= 0: the lease is gone
	// Confirmed: a linearizable read, sent after the renewal's answer, was answered in the same
	// raft term. An etcd leader cut off from the others goes on answering keepalives from its
	// own lessor until it notices that it lost its quorum: one election timeout by design, far
	// longer when its process is starved (etcd issues 12528 and 15247; fixed upstream by PR
	// 16822, late 2023, after Debian's 3.4.23). Meanwhile the others' new leader counts the
	// lease down from its election. A linearizable read needs a heartbeat round acknowledged by
	// a quorum in the leader's term, which such an old leader cannot get: only a confirmed
	// renewal moves the agent's fence deadline.
	Confirmed bool
	Holder    string           // the key's value at that read ("" when absent)
	HolderID  clientv3.LeaseID // the lease the key was attached to at that read
}

// leaderCtx bounds one exchange with etcd to timeout and requires a member that has a leader:
// a member cut off from etcd's leader (a master cut off from the other master's host while
// that host's member leads) answers at once that it has none, and the client retries on
// another member (the witness), instead of waiting the whole timeout on it. Without this, each
// renewal's keepalive and read went one to the witness and one to the leaderless member (the
// client's round robin over two reachable members), no renewal was confirmed, and the
// master fenced itself with a quorum in reach.
func leaderCtx(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(context.Background()), timeout)
}

// untilLeaderAnswers runs a write until it is not refused for want of a leader, or ctx ends.
// The client retries reads on another member itself, not writes; a write that a leaderless
// member refused was not applied, so it is sent again (to the next member). Without this the
// leader's status, published after its renewal's keepalive and read, kept going to its own
// leaderless member, and the standby never saw that the stream had dropped.
func untilLeaderAnswers(ctx context.Context, write func() error) error {
	for {
		err := write()
		if err == nil || ctx.Err() != nil || !errors.Is(err, rpctypes.ErrNoLeader) {
			return err
		}
	}
}

// renewOnce renews lease and confirms it by reading key, both within timeout.
func renewOnce(cli *clientv3.Client, lease clientv3.LeaseID, key string, timeout time.Duration) (renewal, error) {
	ctx, cancel := leaderCtx(timeout)
	defer cancel()
	ka, err := cli.KeepAliveOnce(ctx, lease)
	if err != nil {
		return renewal{}, err
	}
	r := renewal{TTL: ka.TTL}
	if ka.TTL <= 0 {
		return r, nil
	}
	get, err := cli.Get(ctx, key)
	if err != nil || get.Header.RaftTerm != ka.RaftTerm {
		return r, nil
	}
	r.Confirmed = true
	if len(get.Kvs) == 1 {
		r.Holder, r.HolderID = string(get.Kvs[0].Value), clientv3.LeaseID(get.Kvs[0].Lease)
	}
	return r, nil
}

// ours: etcd's leader confirmed the renewal, and the key was still this host's, on lease.
func (r renewal) ours(name string, lease clientv3.LeaseID) bool {
	return r.TTL > 0 && r.Confirmed && r.Holder == name && r.HolderID == lease
}
