package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Config is what the remote step writes to agent.json beside the agent. File paths only:
// the TLS private key stays in its own file (mode 0600), never in the config or on a command line.
type Config struct {
	Name            string   `json:"name"`   // this host, by the role it was built with
	Peer            string   `json:"peer"`   // the other master host
	Prefix          string   `json:"prefix"` // etcd key prefix, e.g. /gpmirror/<stack>
	Endpoints       []string `json:"endpoints"`
	CACert          string   `json:"caCert"`
	Cert            string   `json:"cert"`
	Key             string   `json:"key"`
	LeaseTTLSeconds int64    `json:"leaseTtlSeconds"`
	RenewIntervalMs int64    `json:"renewIntervalMs"`
	RetryWindowMs   int64    `json:"retryWindowMs"` // the longest loss of etcd ridden out
	MaxLagBytes     int64    `json:"maxLagBytes"`
	Synchronous     bool     `json:"synchronous"`
	ApplicationName string   `json:"applicationName"` // this host's application_name as a standby
	PgBin           string   `json:"pgBin"`
	DataDir         string   `json:"dataDir"`
	SocketDir       string   `json:"socketDir"`
	Port            int      `json:"port"`
	StateFile       string   `json:"stateFile"`
	// Engine: "postgres" (default) or "greenplum". A Greenplum standby coordinator answers no
	// SQL (hot_standby off): it is told by its postmaster and StandbyMarker; it is promoted by
	// PromoteScript (the engine's activate step, written beside the agent by agent.sh), which
	// fences the old coordinator at the segments and runs gpactivatestandby.
	Engine                string `json:"engine,omitempty"`
	StandbyMarker         string `json:"standbyMarker,omitempty"`
	PromoteScript         string `json:"promoteScript,omitempty"`
	PromoteTimeoutSeconds int64  `json:"promoteTimeoutSeconds,omitempty"`
	// DNSRecord (platform aws): the record clients use, moved to this host after a promotion.
	DNSRecord *DNSRecord `json:"dnsRecord,omitempty"`
}

func (c Config) greenplum() bool { return c.Engine == "greenplum" }

// promoteTimeout bounds a promotion: pg_ctl promote, or the whole activate step on Greenplum.
func (c Config) promoteTimeout() time.Duration {
	if c.PromoteTimeoutSeconds > 0 {
		return time.Duration(c.PromoteTimeoutSeconds) * time.Second
	}
	return 30 * time.Second
}

func (c Config) renewInterval() time.Duration {
	return time.Duration(c.RenewIntervalMs) * time.Millisecond
}
func (c Config) retryWindow() time.Duration { return time.Duration(c.RetryWindowMs) * time.Millisecond }
func (c Config) leaderKey() string          { return c.Prefix + "/leader" }
func (c Config) statusKey() string          { return c.Prefix + "/status" }

// fenceAfter: the leader fences once no renewal was confirmed for this long, counted from that
// renewal's send. The send came up to one renew interval before a loss of etcd began, and the
// first renewal after the loss may need a new connection (reconnectAllowance), so a loss
// shorter than the retry window changes nothing.
func (c Config) fenceAfter() time.Duration {
	return c.retryWindow() + c.renewInterval() + reconnectAllowance
}

// fenceBudget is what a fence may take (stop, then kill of every server process); the rule
// checked here and in the Pulumi config (components/config/automatic.ts, the same constants):
// fenceAfter + fenceBudget + clockMargin < TTL.
const fenceBudget = 500 * time.Millisecond
const clockMargin = 500 * time.Millisecond

// reconnectAllowance: a connection that TCP_USER_TIMEOUT (the keepalive timeout, newClient)
// ended is dialled again, a try every 50-300 ms, each allowed 1 s.
const reconnectAllowance = time.Second

func loadConfig(path string) (Config, error) {
	var c Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if c.Name == "" || c.Peer == "" || c.Prefix == "" || len(c.Endpoints) == 0 || c.DataDir == "" ||
		c.PgBin == "" || c.SocketDir == "" || c.Port == 0 || c.StateFile == "" {
		return c, fmt.Errorf("%s: name, peer, prefix, endpoints, pgBin, dataDir, socketDir, port and stateFile are required", path)
	}
	switch c.Engine {
	case "", "postgres":
	case "greenplum":
		if c.StandbyMarker == "" || c.PromoteScript == "" {
			return c, fmt.Errorf("%s: engine greenplum needs standbyMarker and promoteScript", path)
		}
	default:
		return c, fmt.Errorf("%s: engine must be postgres or greenplum, got %q", path, c.Engine)
	}
	if c.DNSRecord != nil {
		if err := c.DNSRecord.check(); err != nil {
			return c, fmt.Errorf("%s: %w", path, err)
		}
	}
	ttl := time.Duration(c.LeaseTTLSeconds) * time.Second
	if c.RenewIntervalMs <= 0 || c.renewInterval() >= c.retryWindow() ||
		c.fenceAfter()+fenceBudget+clockMargin >= ttl {
		return c, fmt.Errorf("%s: timings inconsistent: need renewInterval (%d ms) < retryWindow (%d ms) and retryWindow + renewInterval + %v reconnect + %v fence + %v margin < lease TTL (%d s)",
			path, c.RenewIntervalMs, c.RetryWindowMs, reconnectAllowance, fenceBudget, clockMargin, c.LeaseTTLSeconds)
	}
	return c, nil
}
