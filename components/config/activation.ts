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
}

export function parseActivation(r: Reader): ActivationSettings {
  return {
    activeMaster: r.oneOf<HostRole>("activeMaster", ["primary", "standby"], "primary"),
    protect: r.boolean("protect", true),
    mode: r.oneOf<ActivationMode>("activation.mode", ["failover", "switchover"], "failover"),
    force: r.boolean("activation.force", false),
    maxLagBytes: r.integer("activation.maxLagBytes", 16 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    timeoutSeconds: r.integer("activation.timeoutSeconds", 60, 5, 3600),
  };
}

/** The config switch that activates the other host, for the stack outputs. */
export function activationSwitch(current: HostRole): string {
  const other = current === "primary" ? "standby" : "primary";
  return `pulumi config set ${CONFIG_NAMESPACE}:activeMaster ${other} && pulumi up --yes`;
}
