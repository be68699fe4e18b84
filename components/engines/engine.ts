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

/** What Greenplum's activate step, run by hand (activationCommand), may rely on. */
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
  /** The steps of the safe activation (scripts/activate.sh, run where Pulumi runs). */
  activationScripts(pair: Pair): ActivationScripts;
  /**
   * Optional: what the failover agent beside `target` needs of this engine (automatic
   * failover); without it the agent probes and promotes a PostgreSQL server itself.
   */
  agent?(target: Host, old: Host): AgentEngine;
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
 * The engine's steps of the one activation flow (scripts/activate.sh, run where Pulumi runs,
 * which decides what the engine leaves to it: see docs/architecture.md, "Activation").
 */
export interface ActivationScripts {
  /** The engine, as scripts/activate.sh knows it (GPM_ENGINE). */
  engine: "postgres" | "greenplum";
  /**
   * Read a host's real state, read-only (the Probe JSON of components/operator/probe.ts); the
   * status and the drill run it too (operatorAccess).
   */
  probe(host: Host): StepScript;
  /**
   * Stop and mark the old primary, run from here over SSH. Without it (Greenplum) the promote
   * step fences the old master itself, from the host it promotes.
   */
  fence?(host: Host): StepScript;
  /** Promote `host`, the standby. */
  promote(host: Host): StepScript;
  /** Bound on the promote step, when it may take longer than activation.timeoutSeconds. */
  promoteTimeoutSeconds?: number;
}

/** The engine's part of a failover agent's config (agent/config.go) and its step's parameters. */
export interface AgentEngine {
  /** agent.json's engine fields: engine, standbyMarker, promoteScript, promoteTimeoutSeconds. */
  config: Record<string, string | number>;
  /** Where the server's unix socket is. */
  socketDir: string;
  /** The application_name this host streams under as a standby. */
  applicationName: string;
  /** Parameters of the agent step (GPM_PG_BIN, GPM_AGENT_PROMOTE). */
  env: Record<string, pulumi.Input<string>>;
}
