import { AutomaticSettings, parseAutomatic } from "./automatic";
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
