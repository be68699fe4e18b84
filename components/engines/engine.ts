import * as pulumi from "@pulumi/pulumi";
import { ActivationMode, ReplicationSettings } from "../config";
import { Host } from "../host";
import type { StepResult } from "../remoteStep";

/** The two hosts and what replication between them needs, as every step sees them. */
export interface Pair {
  primary: Host;
  standby: Host;
  replication: ReplicationSettings;
  /** The replication role's password; always a secret. */
  replicationPassword: pulumi.Output<string>;
  /** A login for the operator tools (status, drill), when networks are given for it. */
  operator?: OperatorLogin;
}

export interface OperatorLogin {
  user: string;
  /** Always a secret. */
  password: pulumi.Output<string>;
  cidrs: string[];
}

/** The access step's parameters of the operator login (none when it has no networks). */
export function operatorEnv(pair: Pair): Record<string, pulumi.Input<string>> {
  if (!pair.operator) return {};
  return {
    GPM_OPERATOR_USER: pair.operator.user,
    GPM_OPERATOR_PASSWORD: pair.operator.password,
    GPM_OPERATOR_CIDRS: pair.operator.cidrs.join(" "),
  };
}

/** A step for one host: the script text and its parameters. */
export interface StepScript {
  script: string;
  env: Record<string, pulumi.Input<string>>;
  /** The host the step runs on, when not the usual one (gpinitstandby runs on the primary). */
  host?: Host;
}

/** What the activate step may rely on besides its own checks. */
export interface ActivationOptions {
  /** Go ahead without proof that the old primary is down (and stop it when it answers). */
  force: boolean;
  /** The platform has fenced the old primary's host (e.g. its instance is stopped). */
  fencedByPlatform: boolean;
  /**
   * failover: the old primary must be proven down (or forced); switchover: planned, the old
   * primary is alive, stopped cleanly, and the standby takes over once it has its last WAL.
   */
  mode: ActivationMode;
  /** Bound on the switchover's wait for the old primary's last WAL on the standby. */
  timeoutSeconds?: number;
  /**
   * Whether a standby is kept: turning it back on runs the activation again, which stops a
   * second live master on the other host before re-protection.
   */
  protect?: boolean;
}

/** The prepare results of a host and of its peer, for the trust step. */
export interface TrustInputs {
  self: pulumi.Output<StepResult>;
  peer: pulumi.Output<StepResult>;
  /** Check ssh to the peer afterwards (the peer's own trust step must have run). */
  verifyPeer: boolean;
}

/** What an engine must answer for each step of the pair (see ARCHITECTURE.md). */
export interface Engine {
  readonly name: string;
  /** Both hosts: binaries present, directories ready. */
  prepare(pair: Pair, host: Host): StepScript;
  /** The primary running. */
  primary(pair: Pair): StepScript;
  /** Replication role, access for the standby's address only, WAL retention. */
  access(pair: Pair): StepScript;
  /** Snapshot of the online primary, then streaming. */
  standby(pair: Pair): StepScript;
  /** Wait until streaming; report state and lag. */
  verify(pair: Pair): StepScript;
  /**
   * Optional: SSH trust from `host` to `peer` for the engine's own tools; runs on `host` after
   * prepare ran on both hosts, on the standby first, then on the primary.
   */
  trust?(pair: Pair, host: Host, peer: Host, inputs: TrustInputs): StepScript;
  /** Optional: promote the standby with the engine's safety checks (on the standby host). */
  activate?(pair: Pair, options: ActivationOptions): StepScript;
  /** Optional: the scripts a safe activation runs (probe, fence, promote). */
  activationScripts?(pair: Pair): ActivationScripts;
  /**
   * Optional: a read-only look at `host`'s server that prints the Probe JSON of
   * components/operator/probe.ts, for the status and the drill (operatorAccess). Without it,
   * activationScripts' probe is used.
   */
  probe?(pair: Pair, host: Host): StepScript;
  /** The exact command an operator pastes to promote the standby. */
  activationCommand(
    pair: Pair,
    ssh: SshCommandLine,
    binDir: pulumi.Output<string>,
  ): pulumi.Output<string>;
}

/** How an operator reaches a host from the machine that runs Pulumi. */
export interface SshCommandLine {
  /** e.g. `ssh -i KEY -o UserKnownHostsFile=FILE -p 22 user@host` */
  prefix(host: Host): pulumi.Output<string>;
}

/**
 * The remote scripts the activation (scripts/activate.sh, run where Pulumi runs) uses on the
 * two hosts: read a host's real state, fence the old primary, promote the standby.
 */
export interface ActivationScripts {
  probe(host: Host): StepScript;
  fence(host: Host): StepScript;
  promote(host: Host): StepScript;
}
