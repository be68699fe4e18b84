package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// leaseProbe renews a lease of its own the way a leading agent does (renewOnce each renew
// interval, bounded by it, same client; only confirmed renewals count) and prints a "renewal-gap" event whenever the time
// from the send of the last successful renewal to the answer of the next one exceeds two
// intervals: what the watchdog compares with the retry window. bench/etcd-election.sh kills
// etcd's leader member under load and reads these to size the window (-lease-probe).
func leaseProbe(cfg Config, cli *clientv3.Client, members []*clientv3.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	g, err := cli.Grant(ctx, cfg.LeaseTTLSeconds)
	cancel()
	if err != nil {
		event("probe-failed", map[string]any{"error": err.Error()})
		os.Exit(1)
	}
	event("probe-started", map[string]any{"lease": int64(g.ID), "ttl": g.TTL})
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(cfg.renewInterval())
	defer tick.Stop()
	lastSent, worst := mono(), time.Duration(0)
	for {
		sent := mono()
		r, err := renewOnce(members, g.ID, cfg.Prefix+"/probe", cfg.renewInterval())
		switch {
		case err == nil && r.TTL > 0 && r.Confirmed:
			gap := mono() - lastSent
			if gap > worst {
				worst = gap
			}
			if gap > 2*cfg.renewInterval() {
				event("renewal-gap", map[string]any{"gapMs": gap.Milliseconds(), "ttlLeft": r.TTL})
			}
			lastSent = sent
		case err == nil && r.TTL > 0:
			event("renewal-unconfirmed", nil)
		case err == nil:
			event("probe-lease-lost", nil)
		}
		select {
		case <-stop:
			event("probe-stopped", map[string]any{"worstGapMs": worst.Milliseconds()})
			return
		case <-tick.C:
		}
	}
}
