// The timings of automatic failover (activation.*: the agents' lease, renewals and retry
// window, and etcd's heartbeat and election timeout), checked against each other here.
import { CONFIG_NAMESPACE, Reader } from "./reader";

/**
 * Timings of automatic failover. The rule that makes two masters impossible: the leader's
 * agent fences its server once no renewal was confirmed for fenceAfterMs, and that fence is
 * done before the lease can expire: fenceAfterMs + FENCE_BUDGET_MS + CLOCK_MARGIN_MS < TTL.
 */
export interface AutomaticSettings {
  leaseTtlSeconds: number;
  renewIntervalMs: number;
  /** The longest loss of etcd the master rides out (a blip shorter than this changes nothing). */
  retryWindowMs: number;
  /** Derived: when the agent fences, counted from the send of its last confirmed renewal. */
  fenceAfterMs: number;
  /** etcd's --heartbeat-interval: how often its leader tells the members it is alive. */
  etcdHeartbeatMs: number;
  /** etcd's --election-timeout: how long a member waits for its leader before an election. */
  etcdElectionTimeoutMs: number;
}

/** What the agent allows a fence (stop and kill of every server process) to take. */
export const FENCE_BUDGET_MS = 500;
/** Clock rate differences between the agent's host and etcd's over one TTL, and scheduling. */
export const CLOCK_MARGIN_MS = 500;
/**
 * What a renewal may take once etcd is back after a loss: a connection that TCP_USER_TIMEOUT
 * (gRPC's keepalive timeout, 3 s) ended is dialled again, a try every 50-300 ms, each allowed
 * 1 s (measured with the 6.5 s deadline: blips up to 5 s changed nothing, 5.5 s fenced).
 */
export const RECONNECT_ALLOWANCE_MS = 1000;

/**
 * When the agent fences, counted from the send of its last confirmed renewal: that send came
 * up to one renew interval before a loss began, and the first renewal after it ends needs
 * the reconnect allowance. So a loss of etcd shorter than retryWindowMs changes nothing.
 */
export function fenceAfterMs(retryWindowMs: number, renewIntervalMs: number): number {
  return retryWindowMs + renewIntervalMs + RECONNECT_ALLOWANCE_MS;
}

/**
 * How long etcd renews no lease when its leader is lost, measured from the last renewal sent
 * before the loss to the first answered after it (bench/etcd-election.sh: kills of the leader
 * member, two CPU burners on a loaded 2-core machine; bench/results/*-etcd-election-*): the
 * others start an election after a randomized 1-2 election timeouts, a split vote costs
 * another, and pre-vote, vote and the client's move to a live member take the rest, which does
 * not shrink with the timeout (longest gaps, 32 kills each: 2.6 s at 1000 ms, 1.6 s at 500 ms,
 * 0.81 s at 250 ms, 0.33 s at 100 ms). So the floor is three election timeouts plus
 * ETCD_ELECTION_OVERHEAD_MS, and the window (a loss of etcd ridden out) must exceed it, or the
 * master fences itself whenever etcd's leader member is lost.
 */
export const ETCD_ELECTION_OVERHEAD_MS = 500;

export function etcdElectionFloorMs(electionTimeoutMs: number): number {
  return 3 * electionTimeoutMs + ETCD_ELECTION_OVERHEAD_MS;
}

/**
 * etcd grants no lease shorter than 1.5 election timeouts (rounded up to whole seconds, 3.4):
 * a shorter TTL would silently become that one.
 */
export function etcdMinLeaseTtlSeconds(electionTimeoutMs: number): number {
  return Math.ceil((1.5 * electionTimeoutMs) / 1000);
}

export function parseAutomatic(r: Reader): AutomaticSettings {
  const set = (key: string, value: number) =>
    `pulumi config set ${CONFIG_NAMESPACE}:activation.${key} ${value}`;
  const leaseTtlSeconds = r.integer("activation.leaseTtlSeconds", 8, 2, 60);
  const renewIntervalMs = r.integer("activation.renewIntervalMs", 500, 50, 10_000);
  const retryWindowMs = r.integer("activation.retryWindowMs", 5000, 100, 60_000);
  const etcdHeartbeatMs = r.integer("activation.etcdHeartbeatMs", 100, 10, 1000);
  const etcdElectionTimeoutMs = r.integer("activation.etcdElectionTimeoutMs", 1000, 50, 50_000);
  if (etcdElectionTimeoutMs < 5 * etcdHeartbeatMs) {
    r.fail(
      "activation.etcdElectionTimeoutMs",
      `must be at least 5 etcd heartbeats (5 x ${etcdHeartbeatMs} ms), got ${etcdElectionTimeoutMs} ms: etcd refuses to start otherwise, and one late heartbeat would start an election`,
      `${set("etcdElectionTimeoutMs", 10 * etcdHeartbeatMs)}, or a shorter activation.etcdHeartbeatMs`,
    );
  }
  const minTtl = etcdMinLeaseTtlSeconds(etcdElectionTimeoutMs);
  if (leaseTtlSeconds < minTtl) {
    r.fail(
      "activation.leaseTtlSeconds",
      `must be at least ${minTtl} s with activation.etcdElectionTimeoutMs ${etcdElectionTimeoutMs}, got ${leaseTtlSeconds} s: etcd grants no lease shorter than 1.5 election timeouts, so the standby would wait longer than the TTL set`,
      `${set("leaseTtlSeconds", minTtl)}, or a shorter activation.etcdElectionTimeoutMs`,
    );
  }
  if (renewIntervalMs >= retryWindowMs) {
    r.fail(
      "activation.renewIntervalMs",
      `must be shorter than activation.retryWindowMs (${retryWindowMs} ms), got ${renewIntervalMs} ms: the leader must get more than one try per window`,
      set("renewIntervalMs", Math.floor(retryWindowMs / 3)),
    );
  }
  const floor = etcdElectionFloorMs(etcdElectionTimeoutMs);
  if (retryWindowMs <= floor) {
    r.fail(
      "activation.retryWindowMs",
      `must be longer than etcd's election after the loss of its leader (3 x activation.etcdElectionTimeoutMs ${etcdElectionTimeoutMs} + ${ETCD_ELECTION_OVERHEAD_MS} = ${floor} ms), got ${retryWindowMs} ms: the master would fence itself whenever etcd's leader member is lost`,
      `${set("retryWindowMs", floor + 1000)} (and a lease TTL above the fence), or a shorter activation.etcdElectionTimeoutMs`,
    );
  }
  const fenceAfter = fenceAfterMs(retryWindowMs, renewIntervalMs);
  const budget = fenceAfter + FENCE_BUDGET_MS + CLOCK_MARGIN_MS;
  if (budget >= leaseTtlSeconds * 1000) {
    r.fail(
      "activation.retryWindowMs",
      `retry window ${retryWindowMs} ms + renew interval ${renewIntervalMs} ms + reconnect ${RECONNECT_ALLOWANCE_MS} ms + fence ${FENCE_BUDGET_MS} ms + clock margin ${CLOCK_MARGIN_MS} ms = ${budget} ms is not less than the lease TTL (${leaseTtlSeconds * 1000} ms): the old master could still accept writes after the standby took over`,
      `${set("leaseTtlSeconds", Math.floor(budget / 1000) + 1)}, or a shorter retryWindowMs`,
    );
  }
  return {
    leaseTtlSeconds,
    renewIntervalMs,
    retryWindowMs,
    fenceAfterMs: fenceAfter,
    etcdHeartbeatMs,
    etcdElectionTimeoutMs,
  };
}
