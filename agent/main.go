// gpmirror-agent: the failover agent beside each master (issue 15). The active master's agent
// holds the leader key in etcd under a lease and fences its own server when it cannot renew
// for the retry window; the standby's agent promotes only once that key is gone and it holds
// it, and only within the lag bound. See README "Automatic failover".
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

func main() {
	configPath := flag.String("config", "", "agent.json written by the agent step")
	check := flag.Bool("check", false, "validate the config and exit")
	probe := flag.Bool("lease-probe", false, "renew a lease of its own and report renewal gaps (bench/etcd-election.sh)")
	flag.Parse()
	cfg, err := loadConfig(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpmirror-agent:", err)
		os.Exit(2)
	}
	if *check {
		fmt.Println(`{"config":"ok"}`)
		return
	}
	cli, err := newClient(cfg, cfg.Endpoints)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpmirror-agent:", err)
		os.Exit(1)
	}
	// One client per member besides: renewals go through every member at once (renewOnce).
	members := make([]*clientv3.Client, 0, len(cfg.Endpoints))
	for _, ep := range cfg.Endpoints {
		m, err := newClient(cfg, []string{ep})
		if err != nil {
			fmt.Fprintln(os.Stderr, "gpmirror-agent:", err)
			os.Exit(1)
		}
		members = append(members, m)
	}
	if *probe {
		leaseProbe(cfg, cli, members)
		return
	}
	a := newAgent(cfg, cli, members)
	a.run()
}

func newClient(c Config, endpoints []string) (*clientv3.Client, error) {
	ca, err := os.ReadFile(c.CACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s holds no certificate", c.CACert)
	}
	pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
	if err != nil {
		return nil, err
	}
	return clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: time.Second,
		// gRPC raises the ping interval to at least 10 s, and sets TCP_USER_TIMEOUT to the
		// timeout: a connection whose data stays unacknowledged that long is ended, and dialled
		// again (the backoff below; Config.fenceAfter allows for it). A shorter timeout ended
		// connections that TCP's own retransmissions (200 ms, then doubling) would have saved,
		// and gRPC's default reconnect backoff (1 s, growing) then held renewals off for 2.5 s
		// after the link was back, which fenced a healthy master.
		DialKeepAliveTime:    time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 300 * time.Millisecond},
			MinConnectTimeout: time.Second,
		})},
		TLS:    &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		Logger: zap.NewNop(),
	})
}

// event prints one JSON line (the supervisor appends stdout to agent.log); the drill reads
// the wall-clock times of detection, fence and promotion from it.
func event(name string, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["event"] = name
	fields["at"] = time.Now().UnixMilli()
	b, _ := json.Marshal(fields)
	fmt.Println(string(b))
}
