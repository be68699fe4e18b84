import { CONFIG_NAMESPACE, Reader } from "./reader";

export type HostRole = "primary" | "standby";
export type ActivationMode = "failover" | "switchover";

/**
 * Which host is the active master, and how a change of it is carried out. Flipping
 * `activeMaster` and running `pulumi up` activates the other host; with `protect` on, the
 * old primary's host then becomes the new standby (re-protection), and flipping it back is
 * a failback.
 */
export interface ActivationSettings {
  /** The host (by the role it was built with) that should be the active master. */
  activeMaster: HostRole;
  /** Keep a standby streaming from the active master (re-protect after an activation). */
  protect: boolean;
  /** failover: the old primary must be proven gone (or forced); switchover: planned, no loss. */
  mode: ActivationMode;
  /** Promote although the old primary may be alive or unreachable (it is fenced first). */
  force: boolean;
  /** A failover is refused when the standby is further behind than this, unless forced. */
  maxLagBytes: number;
  /** Bound on each remote call of the activation, so an unreachable host cannot hang it. */
  timeoutSeconds: number;
  /**
   * Run on the machine that runs Pulumi before a forced promotion when the old primary cannot
   * be reached (a fence agent: IPMI, a cloud CLI, a switch port); it must succeed. "": none.
   */
  fenceCommand: string;
  /** Bound on the fence command. */
  fenceTimeoutSeconds: number;
  /** Automatic failover (etcd and an agent beside each master); undefined: off. */
  automatic?: AutomaticSettings;
}

/**
 * Timings of automatic failover. The rule that makes two masters impossible: the leader's
 * agent fences its server once it could not renew for retryWindowMs, and that fence is done
 * before the lease can expire: retryWindowMs + FENCE_BUDGET_MS + CLOCK_MARGIN_MS < TTL.
 */
export interface AutomaticSettings {
  leaseTtlSeconds: number;
  renewIntervalMs: number;
  retryWindowMs: number;
}

/** What the agent allows a fence (stop and kill of every server process) to take. */
export const FENCE_BUDGET_MS = 500;
/** Clock rate differences between the agent's host and etcd's over one TTL, and scheduling. */
export const CLOCK_MARGIN_MS = 500;
/**
 * How long etcd renews no lease when its leader is lost, before a renew interval's wait: a new
 * election starts after a randomized 1-2 election timeouts (scripts/remote/auto/etcd.sh:
 * 1000 ms), then pre-vote and vote, slower under load. The agent's next try comes up to one
 * renew interval later, so the window must exceed this plus renewIntervalMs, or the master
 * fences itself whenever etcd's leader member is lost. Measured (bench/etcd-election.sh, two
 * CPU burners on 2 cores, 47 kills of the leader member): renewal gaps of 1.1-2.5 s. That is
 * the floor the config refuses below; the default window (6.5 s) also covers the tail seen
 * once on a full stack (an election of about 5 s: split votes between the two members left).
 */
export const ETCD_ELECTION_MS = 2500;

export function parseActivation(r: Reader): ActivationSettings {
  const fence = parseHookCommand(
    r,
    "activation.fenceCommand",
    "activation.fenceTimeoutSeconds",
    '/usr/local/bin/fence-host --host "$GPM_FENCE_ADDRESS"',
  );
  const automatic = r.boolean("activation.automatic", false) ? parseAutomatic(r) : undefined;
  return {
    automatic,
    activeMaster: r.oneOf<HostRole>("activeMaster", ["primary", "standby"], "primary"),
    protect: r.boolean("protect", true),
    mode: r.oneOf<ActivationMode>("activation.mode", ["failover", "switchover"], "failover"),
    force: r.boolean("activation.force", false),
    maxLagBytes: r.integer("activation.maxLagBytes", 16 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    timeoutSeconds: r.integer("activation.timeoutSeconds", 60, 5, 3600),
    fenceCommand: fence.command,
    fenceTimeoutSeconds: fence.timeoutSeconds,
  };
}

/**
 * A configured hook: one shell command line (or "" when unset) and the bound on it, in
 * seconds; the bound may be set only with the command. `example` is the fix's sample value.
 */
export function parseHookCommand(
  r: Reader,
  key: string,
  timeoutKey: string,
  example: string,
): { command: string; timeoutSeconds: number } {
  const raw = r.value(key);
  const timeoutSeconds = r.integer(timeoutKey, 60, 1, 3600);
  if (raw === undefined || raw === null || raw === "") {
    if (r.value(timeoutKey) !== undefined) {
      r.fail(
        timeoutKey,
        `bounds the command of ${key}, and ${key} is not set`,
        `set ${key} too, or remove ${timeoutKey}`,
      );
    }
    return { command: "", timeoutSeconds };
  }
  const fix = `pulumi config set ${CONFIG_NAMESPACE}:${key} '${example}'`;
  if (typeof raw !== "string") {
    r.fail(key, "must be one shell command line (a string)", fix);
    return { command: "", timeoutSeconds };
  }
  if (raw.trim() === "" || raw.includes("\0")) {
    r.fail(key, "is blank or holds a NUL character", fix);
    return { command: "", timeoutSeconds };
  }
  if (raw.length > 4096) {
    r.fail(
      key,
      `is ${raw.length} characters long (at most 4096)`,
      "put the steps in a script and name the script",
    );
  }
  return { command: raw, timeoutSeconds };
}

/** The config switch that activates the other host, for the stack outputs. */
export function activationSwitch(current: HostRole): string {
  const other = current === "primary" ? "standby" : "primary";
  return `pulumi config set ${CONFIG_NAMESPACE}:activeMaster ${other} && pulumi up --yes`;
}

function parseAutomatic(r: Reader): AutomaticSettings {
  const leaseTtlSeconds = r.integer("activation.leaseTtlSeconds", 8, 2, 60);
  const renewIntervalMs = r.integer("activation.renewIntervalMs", 500, 50, 10_000);
  const retryWindowMs = r.integer("activation.retryWindowMs", 6500, 100, 60_000);
  if (renewIntervalMs >= retryWindowMs) {
    r.fail(
      "activation.renewIntervalMs",
      `must be shorter than activation.retryWindowMs (${retryWindowMs} ms), got ${renewIntervalMs} ms: the leader must get more than one try per window`,
      `pulumi config set ${CONFIG_NAMESPACE}:activation.renewIntervalMs ${Math.floor(retryWindowMs / 3)}`,
    );
  }
  const election = ETCD_ELECTION_MS + renewIntervalMs;
  if (retryWindowMs <= election) {
    r.fail(
      "activation.retryWindowMs",
      `must be longer than etcd's election after the loss of its leader plus one renew interval (${ETCD_ELECTION_MS} + ${renewIntervalMs} = ${election} ms), got ${retryWindowMs} ms: the master would fence itself whenever etcd's leader member is lost`,
      `pulumi config set ${CONFIG_NAMESPACE}:activation.retryWindowMs ${election + 1000} (and a lease TTL above it)`,
    );
  }
  const budget = retryWindowMs + FENCE_BUDGET_MS + CLOCK_MARGIN_MS;
  if (budget >= leaseTtlSeconds * 1000) {
    r.fail(
      "activation.retryWindowMs",
      `retry window ${retryWindowMs} ms + fence ${FENCE_BUDGET_MS} ms + clock margin ${CLOCK_MARGIN_MS} ms = ${budget} ms is not less than the lease TTL (${leaseTtlSeconds * 1000} ms): the old master could still accept writes after the standby took over`,
      `pulumi config set ${CONFIG_NAMESPACE}:activation.leaseTtlSeconds ${Math.floor(budget / 1000) + 1}, or a shorter retryWindowMs`,
    );
  }
  return { leaseTtlSeconds, renewIntervalMs, retryWindowMs };
}
