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

// leaderCtx bounds one exchange with etcd through the client over all members to timeout, and
// requires a member that has a leader: a member cut off from etcd's leader answers at once
// that it has none, and the client retries reads on another member (writes: untilLeaderAnswers)
// instead of waiting the whole timeout on it.
func leaderCtx(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(clientv3.WithRequireLeader(context.Background()), timeout)
}

// untilLeaderAnswers runs a write until it is not refused for want of a leader, or ctx ends.
// The client retries reads on another member itself, not writes; a write that a leaderless
// member refused was not applied, so it is sent again (to the next member): the standby's
// lease grant and its transaction that takes the key.
func untilLeaderAnswers(ctx context.Context, write func() error) error {
	for {
		err := write()
		if err == nil || ctx.Err() != nil || !errors.Is(err, rpctypes.ErrNoLeader) {
			return err
		}
	}
}

// renewOnce renews lease through every member at once and returns the first renewal that
// etcd's leader confirmed (or that says the lease is gone); none: the first answer. One client
// over all members sends each request to the next member in turn, and a member cut off from
// etcd's leader holds a request until its timeout (until it notices it has no leader), as does
// a member whose host is cut off (until gRPC's keepalive gives its connection up, about 4 s):
// with the master cut off from the standby's host, where etcd's leader ran, most renewals met
// one of them and the master fenced itself with a quorum in reach. Each member's renewal is
// confirmed on its own (renewVia), so this relaxes nothing of that rule.
func renewOnce(members []*clientv3.Client, lease clientv3.LeaseID, key string, timeout time.Duration) (renewal, error) {
	type answer struct {
		r   renewal
		err error
	}
	answers := make(chan answer, len(members))
	for _, cli := range members {
		go func(cli *clientv3.Client) {
			r, err := renewVia(cli, lease, key, timeout)
			answers <- answer{r, err}
		}(cli)
	}
	var first *answer
	for range members {
		a := <-answers
		decisive := errors.Is(a.err, rpctypes.ErrLeaseNotFound) || (a.err == nil && (a.r.Confirmed || a.r.TTL <= 0))
		if decisive {
			return a.r, a.err
		}
		if first == nil {
			first = &a
		}
	}
	if first == nil {
		return renewal{}, errors.New("no etcd member to renew through")
	}
	return first.r, first.err
}

// onEveryMember runs op through every member at once and returns nil once one succeeded,
// else the first error; op must change nothing when applied twice (a Put of the same value).
func onEveryMember(members []*clientv3.Client, timeout time.Duration, op func(context.Context, *clientv3.Client) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := make(chan error, len(members))
	for _, cli := range members {
		go func(cli *clientv3.Client) { errs <- op(ctx, cli) }(cli)
	}
	var first error = errors.New("no etcd member to write through")
	for i := range members {
		err := <-errs
		if err == nil {
			return nil
		}
		if i == 0 {
			first = err
		}
	}
	return first
}

// renewVia renews lease through one member and confirms it by reading key, both within timeout.
// No leader is required here: a leaderless member would refuse at once and the client would
// ask it again in a tight loop (one member per client); it waits out the timeout instead.
func renewVia(cli *clientv3.Client, lease clientv3.LeaseID, key string, timeout time.Duration) (renewal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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
