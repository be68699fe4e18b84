package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeaderStatus is what the leader publishes under its lease each interval; the standby keeps
// the last one it saw, to judge after the leader is gone whether it has every acknowledged commit.
type LeaderStatus struct {
	Host      string `json:"host"`
	Lsn       int64  `json:"lsn"`
	SyncNames string `json:"syncNames"`
	Replicas  string `json:"replicas"`
	At        int64  `json:"at"`
}

// State is what the agent writes to its state file each interval (npm run status reads it).
type State struct {
	Name          string        `json:"name"`
	Pid           int           `json:"pid"`
	Role          string        `json:"role"` // leader, standby, down, fenced
	Holding       bool          `json:"holding"`
	LeaseID       int64         `json:"leaseId"`
	LeaseTTL      int64         `json:"leaseTtlSeconds"`
	HeldSince     int64         `json:"heldSince"`     // wall ms
	LastRenewMono int64         `json:"lastRenewMono"` // CLOCK_MONOTONIC ns of the last renewal's send
	LastRenewAgo  int64         `json:"lastRenewAgoMs"`
	Fenced        bool          `json:"fenced"`
	FenceReason   string        `json:"fenceReason,omitempty"`
	FencedAt      int64         `json:"fencedAt,omitempty"`
	PromotedAt    int64         `json:"promotedAt,omitempty"`
	Leader        string        `json:"leader"` // holder of the key as last read, "" none, "?" unknown
	LastStatus    *LeaderStatus `json:"lastLeaderStatus,omitempty"`
	Refused       string        `json:"refused,omitempty"`
	UpdatedAt     int64         `json:"updatedAt"`
}

type Agent struct {
	cfg Config
	cli *clientv3.Client
	// one client per member: renewals and the status go through all at once (renewOnce)
	members []*clientv3.Client
	mu      sync.Mutex
	st      State
	dns     *recordMover // platform aws: the record clients use
}

// dnsMoveWithin bounds the retries of the record's move after a promotion.
const dnsMoveWithin = 2 * time.Minute

func newAgent(cfg Config, cli *clientv3.Client, members []*clientv3.Client) *Agent {
	a := &Agent{cfg: cfg, cli: cli, members: members, st: State{Name: cfg.Name}}
	if cfg.DNSRecord != nil {
		a.dns = newRecordMover(*cfg.DNSRecord)
	}
	// A restarted agent continues from its predecessor's lease and last renewal (machine
	// monotonic clock): if that renewal is older than the retry window, it fences at once.
	if b, err := os.ReadFile(cfg.StateFile); err == nil {
		var prev State
		if json.Unmarshal(b, &prev) == nil && prev.Name == cfg.Name {
			a.st.LastStatus = prev.LastStatus
			a.st.Fenced = prev.Fenced
			if prev.Holding {
				a.st.Holding, a.st.LeaseID, a.st.LeaseTTL = true, prev.LeaseID, prev.LeaseTTL
				a.st.HeldSince, a.st.LastRenewMono = prev.HeldSince, prev.LastRenewMono
			}
		}
	}
	a.st.Pid = os.Getpid()
	return a
}

func (a *Agent) run() {
	event("started", map[string]any{"name": a.cfg.Name, "holding": a.st.Holding})
	go a.watchdog()
	wake := make(chan struct{}, 1)
	go a.watchPostmaster(wake)
	go watchDeletes(a.cli, a.cfg.leaderKey(), wake)
	tick := time.NewTicker(a.cfg.renewInterval())
	defer tick.Stop()
	for {
		a.step()
		a.save()
		select {
		case <-tick.C:
		case <-wake:
		}
	}
}

// watchdog: the rule that makes two masters impossible. The lease cannot expire before
// lastRenew(send) + TTL, lastRenew being the last renewal etcd's leader confirmed (renewOnce);
// the server is fenced once lastRenew + fenceAfter has passed, which the config check keeps
// more than fence time + clock margin before that.
func (a *Agent) watchdog() {
	for {
		time.Sleep(20 * time.Millisecond)
		a.mu.Lock()
		if a.st.Holding {
			since := mono() - time.Duration(a.st.LastRenewMono)
			if since >= a.cfg.fenceAfter() {
				a.fenceLocked("no lease renewal for " + since.Round(time.Millisecond).String())
				a.st.Holding = false
			}
		}
		a.mu.Unlock()
	}
}

func (a *Agent) fenceLocked(reason string) {
	start := mono()
	n := a.cfg.fence()
	a.st.Fenced, a.st.FenceReason, a.st.FencedAt = true, reason, time.Now().UnixMilli()
	event("fenced", map[string]any{"reason": reason, "killed": n, "tookMs": (mono() - start).Milliseconds()})
	a.saveLocked()
}

func (a *Agent) ctx() (context.Context, context.CancelFunc) {
	return leaderCtx(a.cfg.renewInterval())
}

func (a *Agent) step() {
	pg := a.cfg.probe(2 * time.Second)
	a.mu.Lock()
	holding := a.st.Holding
	a.mu.Unlock()
	if holding {
		a.lead(pg)
		return
	}
	switch {
	case pg.Answered && !pg.InRecovery:
		a.claim()
	case pg.Answered && pg.InRecovery:
		a.follow(pg)
	default:
		a.setRole("down")
	}
}

func (a *Agent) setRole(r string) {
	a.mu.Lock()
	a.st.Role = r
	a.mu.Unlock()
}

// lead: renew, publish, and give the key up when the server is gone or became a standby.
func (a *Agent) lead(pg PgState) {
	a.mu.Lock()
	lease := clientv3.LeaseID(a.st.LeaseID)
	a.mu.Unlock()
	r, err := a.renew(lease)
	a.mu.Lock()
	if !a.st.Holding || a.st.LeaseID != int64(lease) { // the watchdog fenced meanwhile
		a.mu.Unlock()
		return
	}
	lost := ""
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound) || (err == nil && r.TTL <= 0):
		lost = "the lease is gone"
	case err == nil && r.ours(a.cfg.Name, lease):
		a.st.Role, a.st.Leader = "leader", a.cfg.Name
	case err == nil && r.Confirmed:
		lost = "the leader key is no longer this host's (" + r.Holder + ")"
	}
	if lost != "" {
		a.fenceLocked(lost)
		a.st.Holding = false
		a.mu.Unlock()
		return
	}
	release := ""
	if !pg.Running && a.cfg.postmasterGone() {
		// Killed or crashed: make sure nothing of it runs, then let the standby take over now
		// rather than after the TTL.
		a.fenceLocked("the server stopped")
		release = "the server stopped"
	} else if pg.Answered && pg.InRecovery {
		release = "the server is a standby now"
	}
	if release != "" {
		a.st.Holding, a.st.LeaseID = false, 0
		a.mu.Unlock()
		ctx, cancel := a.ctx()
		_, _ = a.cli.Revoke(ctx, lease)
		cancel()
		event("released", map[string]any{"reason": release})
		return
	}
	a.mu.Unlock()
	if pg.Answered && err == nil {
		b, _ := json.Marshal(LeaderStatus{Host: a.cfg.Name, Lsn: pg.Lsn, SyncNames: pg.SyncNames, Replicas: pg.Replicas, At: time.Now().UnixMilli()})
		// Through every member, as the renewals: the same value applied twice changes nothing.
		_ = onEveryMember(a.members, a.cfg.renewInterval(), func(ctx context.Context, cli *clientv3.Client) error {
			_, err := cli.Put(ctx, a.cfg.statusKey(), string(b), clientv3.WithLease(lease))
			return err
		})
	}
}

// renew renews lease once; when etcd's leader confirmed it as this host's (renewal.ours), the
// fence deadline moves to the renewal's send time. A renewal that came more than two renew
// intervals after the last one is logged ("renewed-late"): how close the master came to its
// fence, e.g. after a blip.
func (a *Agent) renew(lease clientv3.LeaseID) (renewal, error) {
	sent := mono()
	r, err := renewOnce(a.members, lease, a.cfg.leaderKey(), a.cfg.renewInterval())
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil && r.ours(a.cfg.Name, lease) && a.st.Holding && a.st.LeaseID == int64(lease) {
		if gap := mono() - time.Duration(a.st.LastRenewMono); gap > 2*a.cfg.renewInterval() {
			event("renewed-late", map[string]any{"gapMs": gap.Milliseconds(), "fenceAfterMs": a.cfg.fenceAfter().Milliseconds()})
		}
		a.st.LastRenewMono, a.st.LeaseTTL = int64(sent), r.TTL
	}
	return r, err
}

// read: the leader key's holder ("" none) and its lease, and the last published status.
func (a *Agent) read() (holder string, lease clientv3.LeaseID, status *LeaderStatus, err error) {
	ctx, cancel := a.ctx()
	defer cancel()
	resp, err := a.cli.Get(ctx, a.cfg.Prefix+"/", clientv3.WithPrefix())
	if err != nil {
		return "", 0, nil, err
	}
	for _, kv := range resp.Kvs {
		switch string(kv.Key) {
		case a.cfg.leaderKey():
			holder, lease = string(kv.Value), clientv3.LeaseID(kv.Lease)
		case a.cfg.statusKey():
			var s LeaderStatus
			if json.Unmarshal(kv.Value, &s) == nil {
				status = &s
			}
		}
	}
	return holder, lease, status, nil
}

// acquire: a new lease and the key, only if nobody holds it.
func (a *Agent) acquire() (bool, error) {
	sent := mono()
	ctx, cancel := a.ctx()
	defer cancel()
	var g *clientv3.LeaseGrantResponse
	err := untilLeaderAnswers(ctx, func() (err error) {
		g, err = a.cli.Grant(ctx, a.cfg.LeaseTTLSeconds)
		return err
	})
	if err != nil {
		return false, err
	}
	key := a.cfg.leaderKey()
	var t *clientv3.TxnResponse
	err = untilLeaderAnswers(ctx, func() (err error) {
		t, err = a.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, a.cfg.Name, clientv3.WithLease(g.ID))).Commit()
		return err
	})
	if err != nil || !t.Succeeded {
		ctx2, cancel2 := a.ctx()
		_, _ = a.cli.Revoke(ctx2, g.ID)
		cancel2()
		return false, err
	}
	a.mu.Lock()
	a.st.Holding, a.st.LeaseID, a.st.LeaseTTL = true, int64(g.ID), g.TTL
	a.st.LastRenewMono, a.st.HeldSince = int64(sent), time.Now().UnixMilli()
	a.st.Leader = a.cfg.Name
	a.mu.Unlock()
	event("acquired", map[string]any{"lease": int64(g.ID), "ttl": g.TTL})
	return true, nil
}

// claim: a primary without the key takes it, or adopts its predecessor's lease; it fences
// itself when the other host holds it (two masters otherwise).
func (a *Agent) claim() {
	holder, lease, _, err := a.read()
	if err != nil {
		a.setRole("leader?")
		return
	}
	switch holder {
	case "":
		_, _ = a.acquire()
	case a.cfg.Name:
		sent := mono()
		r, err := renewOnce(a.members, lease, a.cfg.leaderKey(), a.cfg.renewInterval())
		if err == nil && r.ours(a.cfg.Name, lease) {
			a.mu.Lock()
			a.st.Holding, a.st.LeaseID, a.st.LeaseTTL = true, int64(lease), r.TTL
			a.st.LastRenewMono, a.st.HeldSince = int64(sent), time.Now().UnixMilli()
			a.mu.Unlock()
			event("adopted", map[string]any{"lease": int64(lease)})
		}
	default:
		a.mu.Lock()
		a.st.Leader = holder
		a.fenceLocked("the leader key is held by " + holder)
		a.mu.Unlock()
	}
}

// follow: a standby watches the leader and takes over once the key is gone, if it may.
func (a *Agent) follow(pg PgState) {
	holder, _, status, err := a.read()
	a.mu.Lock()
	a.st.Role = "standby"
	// A standby again (re-protected): its fence is history (fencedAt), not its state.
	a.st.Fenced, a.st.FenceReason = false, ""
	if err != nil {
		a.st.Leader = "?"
		a.mu.Unlock()
		return
	}
	a.st.Leader = holder
	if holder == a.cfg.Peer && status != nil && status.Host == a.cfg.Peer {
		a.st.LastStatus = status
	}
	last := a.st.LastStatus
	a.mu.Unlock()
	if holder != "" {
		// A leader again: a later refusal is news, and is logged.
		a.mu.Lock()
		a.st.Refused = ""
		a.mu.Unlock()
		return
	}
	if reason := a.mayPromote(pg, last); reason != "" {
		a.mu.Lock()
		if a.st.Refused != reason {
			event("refused", map[string]any{"reason": reason})
		}
		a.st.Refused = reason
		a.mu.Unlock()
		return
	}
	event("detected", map[string]any{"lastLeaderStatusAt": last.At})
	ok, err := a.acquire()
	if !ok {
		return
	}
	start := time.Now()
	// gpactivatestandby takes longer than the retry window: the lease is renewed meanwhile, or
	// the watchdog would fence the coordinator being promoted.
	done := make(chan struct{})
	go a.keepAlive(done)
	result, err := a.cfg.promote(a.cfg.promoteTimeout())
	close(done)
	if err != nil {
		event("promote-failed", map[string]any{"error": err.Error()})
		return // still holding: the next step sees a standby and releases the key
	}
	a.mu.Lock()
	a.st.PromotedAt, a.st.LastStatus, a.st.Refused = time.Now().UnixMilli(), nil, ""
	a.mu.Unlock()
	fields := map[string]any{"tookMs": time.Since(start).Milliseconds()}
	if result != nil {
		fields["result"] = result
	}
	event("promoted", fields)
	if a.dns != nil {
		// Clients follow without Pulumi; the lease is not held up for it.
		go func() { _ = a.dns.moveRecord(dnsMoveWithin, time.Second) }()
	}
}

// keepAlive renews the lease each interval until done, while step() waits for a promotion.
func (a *Agent) keepAlive(done <-chan struct{}) {
	tick := time.NewTicker(a.cfg.renewInterval())
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		a.mu.Lock()
		lease, holding := clientv3.LeaseID(a.st.LeaseID), a.st.Holding
		a.mu.Unlock()
		if !holding {
			return
		}
		_, _ = a.renew(lease)
		a.save()
	}
}

// mayPromote: "" when this standby may take over, else why not.
func (a *Agent) mayPromote(pg PgState, last *LeaderStatus) string {
	if last == nil {
		return "never saw " + a.cfg.Peer + " lead: nothing to take over"
	}
	if a.cfg.greenplum() {
		// Greenplum's coordinator waits for its standby only while the stream is up (with
		// synchronous_standby_names empty), and commits go on without it once the stream
		// drops: the leader's last status must show this standby streaming synchronously.
		// The config keeps wal_sender_timeout longer than the retry window, so that a leader
		// cut off from this standby fences itself before it can commit without it.
		for _, r := range strings.Split(last.Replicas, ",") {
			if r == a.cfg.ApplicationName+":sync" {
				return ""
			}
		}
		return "the leader's last status did not show this standby streaming synchronously (" + last.Replicas + "): acknowledged commits may be missing here"
	}
	if a.cfg.Synchronous {
		// Every acknowledged commit waited for a synchronous standby's flush; this is the only
		// standby, so this server has all of them (received = flushed here).
		if last.SyncNames == "" {
			return "the leader ran without synchronous_standby_names: acknowledged commits may be missing here"
		}
		for _, r := range strings.Split(last.Replicas, ",") {
			if strings.HasSuffix(r, ":sync") && !strings.HasPrefix(r, a.cfg.ApplicationName+":") {
				return "another standby (" + r + ") was synchronous"
			}
		}
		return ""
	}
	if lag := last.Lsn - pg.Lsn; lag > a.cfg.MaxLagBytes {
		return "behind the leader's last position by more than maxLagBytes"
	}
	return ""
}

func (a *Agent) save() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.saveLocked()
}

func (a *Agent) saveLocked() {
	a.st.UpdatedAt = time.Now().UnixMilli()
	if a.st.Holding {
		a.st.LastRenewAgo = (mono() - time.Duration(a.st.LastRenewMono)).Milliseconds()
	} else {
		a.st.LeaseID = 0
	}
	b, _ := json.Marshal(a.st)
	tmp := a.cfg.StateFile + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		_ = os.Rename(tmp, a.cfg.StateFile)
	}
}
