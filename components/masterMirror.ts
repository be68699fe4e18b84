import * as pulumi from "@pulumi/pulumi";
import { ReplicationSettings } from "./config";
import { Engine, OperatorLogin, Pair, SshCommandLine, StepScript } from "./engines/engine";
import { Host } from "./host";
import { Activation as ActivationStep, ActivationArgs } from "./activation";
import { OperatorAccess, operatorAccess } from "./operator/access";
import { RemoteStep, StepResult } from "./remoteStep";

/** What a pair is made of; `hosts.primary`/`hosts.standby` of a host provider give the hosts. */
export interface MasterMirrorArgs {
  /** The host that is to be the active master (the primary). */
  primary: Host;
  /** The host that streams from it (the warm standby). */
  standby: Host;
  /** PostgresEngine or GreenplumEngine: the scripts each step runs. */
  engine: Engine;
  /** Replication settings: parseSettings/loadConfig give them with their defaults. */
  replication: ReplicationSettings;
  /** The replication role's password; kept secret (see `password`). */
  replicationPassword: pulumi.Output<string>;
  /** A database login for the operator tools (status, drill), for the networks it names. */
  operator?: OperatorLogin;
  /** How an operator reaches the hosts, for the activation command (the host provider). */
  ssh: SshCommandLine;
  /**
   * What clients use to reach the active master, when the hosts give one (a DNS name that
   * activation moves); the primary's address and port otherwise.
   */
  clientEndpoint?: pulumi.Input<string>;
  /** Bound on one step; the verify step has its own timeout inside. */
  stepTimeoutSeconds?: number;
  /**
   * Makes `primary` the active master before anything else runs on it (a no-op on a new pair
   * and while it already is); `primary`/`standby` here are the roles wanted now.
   */
  activation?: Pick<ActivationArgs, "settings" | "platformFence">;
  /** Keep a standby streaming from the primary; off: the primary runs alone. */
  protect?: boolean;
  /** The config switch that activates the other host, for the outputs. */
  activationSwitch?: string;
}

export interface NodeSummary {
  host: string;
  port: number;
  dataDir: string;
}

export interface ReplicationStatus {
  state: string;
  syncState: string;
  replayLagBytes: number;
}

/** How the standby's data directory came to be, as its last standby step did it. */
export interface StandbyOrigin {
  /** snapshot: a fresh base backup; rewind: the old primary rewound (pg_rewind); kept: as it was. */
  method: "snapshot" | "rewind" | "kept" | "none";
  /** Where the timelines split, for a rewind: the old primary's writes after it were dropped. */
  divergedAt: string | null;
  /** Directories moved aside (kept, never deleted). */
  movedAside: string[];
  /** Why a rewind was given up for a snapshot (pg_rewind's own message). */
  rewindError: string | null;
}

export interface Activation {
  /** Paste it to promote the standby by hand (no safety checks: prefer the config switch). */
  command: string;
  /** The declarative way: checks, fencing, promotion, re-protection. */
  configSwitch?: string;
  /** What the last activation found and did. */
  last?: StepResult;
}

/**
 * A primary with a warm standby that streams from it, built over SSH on two hosts. The order
 * of its steps:
 * prepare (both) -> [trust (standby, then primary), when the engine has it] -> primary ->
 * access -> standby -> verify.
 */
export class MasterMirror extends pulumi.ComponentResource {
  readonly primary: pulumi.Output<NodeSummary>;
  readonly standby: pulumi.Output<NodeSummary>;
  readonly clientEndpoint: pulumi.Output<string>;
  readonly replication: pulumi.Output<ReplicationStatus>;
  readonly standbyOrigin: pulumi.Output<StandbyOrigin>;
  readonly activation: pulumi.Output<Activation>;
  /** The database system identifier the primary step reported (pg_controldata's). */
  readonly systemIdentifier: pulumi.Output<string | undefined>;
  /** Secret: what the operator CLIs (status, drill) need to reach the hosts. */
  readonly operatorAccess?: pulumi.Output<OperatorAccess>;
  /** The last step of the pair (verify, else access): what runs beside the pair waits for it. */
  readonly built: pulumi.Resource;

  constructor(name: string, args: MasterMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:index:MasterMirror", name, {}, opts);
    const pair: Pair = {
      primary: args.primary,
      standby: args.standby,
      replication: args.replication,
      replicationPassword: args.replicationPassword,
      operator: args.operator,
    };
    const engine = args.engine;
    const timeoutSeconds = args.stepTimeoutSeconds ?? 900;
    const run = (stepName: string, host: Host, s: StepScript, after: pulumi.Resource[]) =>
      new RemoteStep(
        `${name}-${stepName}`,
        { script: s.script, env: s.env, host: s.host ?? host, timeoutSeconds },
        { parent: this, dependsOn: after },
      );

    // Prepare belongs to a machine, not to a role: named by the role the host was built with,
    // it stays put when an activation swaps the roles.
    const prepare = (host: Host) =>
      run(`prepare-${host.role}`, host, engine.prepare(pair, host), []);
    const preparePrimary = prepare(pair.primary);
    const prepareStandby = prepare(pair.standby);
    const scripts = engine.activationScripts(pair);
    // Makes pair.primary the active master first (scripts/activate.sh with the engine's steps).
    const activated = args.activation
      ? new ActivationStep(
          `${name}-activation`,
          {
            ...args.activation,
            scripts,
            target: pair.primary,
            other: pair.standby,
            after: [preparePrimary, prepareStandby],
          },
          { parent: this },
        )
      : undefined;
    const protect = args.protect ?? true;
    // Engines whose tools ssh between the hosts set up that trust first (standby, then primary);
    // the primary step waits for it too (gpinitsystem checks the master's own address by ssh).
    // It waits for the activation: a refusal (old master unreachable) then ends the run at
    // once, instead of the trust steps retrying ssh to that host beside it (74 s on a real
    // Greenplum 7.0.0, for a refusal that took 10 s).
    const trusted: pulumi.Resource[] = [];
    if (protect && engine.trust) {
      const trustStandby = run(
        "trust-standby",
        pair.standby,
        engine.trust(pair, pair.standby, pair.primary, {
          self: prepareStandby.result,
          peer: preparePrimary.result,
          verifyPeer: false,
        }),
        [preparePrimary, prepareStandby, ...(activated ? [activated] : [])],
      );
      const trustPrimary = run(
        "trust-primary",
        pair.primary,
        engine.trust(pair, pair.primary, pair.standby, {
          self: preparePrimary.result,
          peer: prepareStandby.result,
          verifyPeer: true,
        }),
        [trustStandby],
      );
      trusted.push(trustPrimary);
    }
    const primary = run("primary", pair.primary, engine.primary(pair), [
      preparePrimary,
      ...(activated ? [activated] : []),
      ...trusted,
    ]);
    this.systemIdentifier = primary.result.apply((r) =>
      typeof r["systemIdentifier"] === "string" && r["systemIdentifier"] !== ""
        ? r["systemIdentifier"]
        : undefined,
    );
    const access = run("access", pair.primary, engine.access(pair), [primary]);
    this.built = access;
    let verified: pulumi.Output<ReplicationStatus> = pulumi.output(UNPROTECTED);
    this.standbyOrigin = pulumi.output(NO_STANDBY);
    if (protect) {
      const standby = run("standby", pair.standby, engine.standby(pair), [
        access,
        prepareStandby,
        ...trusted,
      ]);
      const verify = run("verify", pair.primary, engine.verify(pair), [standby]);
      verified = verify.result.apply(replicationStatus);
      this.built = verify;
      this.standbyOrigin = standby.result.apply(standbyOrigin);
    }

    this.primary = summary(pair.primary);
    this.standby = summary(pair.standby);
    this.clientEndpoint = args.clientEndpoint
      ? pulumi.output(args.clientEndpoint)
      : pulumi.interpolate`${pair.primary.address}:${pair.primary.dbPort}`;
    this.replication = verified;
    this.activation = engine
      .activationCommand(
        pair,
        args.ssh,
        prepareStandby.result.apply((r) => String(r["pgBin"] ?? "")),
      )
      .apply((cmd) => ({ command: cmd }));
    if (activated || args.activationSwitch) {
      const last = activated ? activated.result : pulumi.output(undefined);
      this.activation = pulumi.all([this.activation, last]).apply(([a, l]) => ({
        ...a,
        ...(args.activationSwitch ? { configSwitch: args.activationSwitch } : {}),
        ...(l ? { last: l } : {}),
      }));
    }
    // What the operator tools run on each host: the activation's probe.
    this.operatorAccess = operatorAccess(
      [pair.primary, pair.standby],
      pair.primary.privateKey,
      pair.operator,
      engine.name,
      (h) => scripts.probe(h).env,
    );
    this.registerOutputs({
      primary: this.primary,
      standby: this.standby,
      clientEndpoint: this.clientEndpoint,
      replication: this.replication,
      standbyOrigin: this.standbyOrigin,
      activation: this.activation,
    });
  }
}

/** The replication output of a primary that runs alone (protect off). */
const UNPROTECTED: ReplicationStatus = {
  state: "unprotected",
  syncState: "none",
  replayLagBytes: -1,
};

const NO_STANDBY: StandbyOrigin = {
  method: "none",
  divergedAt: null,
  movedAside: [],
  rewindError: null,
};

function standbyOrigin(r: StepResult): StandbyOrigin {
  // PostgreSQL's step says created/rewound; Greenplum's says which gpinitstandby it ran.
  const snapshot = r["created"] === true || ["created", "replaced"].includes(String(r["action"]));
  const method = r["rewound"] === true ? "rewind" : snapshot ? "snapshot" : "kept";
  const moved = typeof r["movedAside"] === "string" ? r["movedAside"] : "";
  return {
    method,
    divergedAt: typeof r["divergedAt"] === "string" ? r["divergedAt"] : null,
    movedAside: moved === "" ? [] : moved.split(","),
    rewindError: typeof r["rewindError"] === "string" ? r["rewindError"] : null,
  };
}

function summary(host: Host): pulumi.Output<NodeSummary> {
  return pulumi
    .all([host.address, host.dataDir])
    .apply(([address, dataDir]) => ({ host: address, port: host.dbPort, dataDir }));
}

function replicationStatus(r: StepResult): ReplicationStatus {
  return {
    state: String(r["state"] ?? "unknown"),
    syncState: String(r["syncState"] ?? "unknown"),
    replayLagBytes: Number(r["replayLagBytes"] ?? -1),
  };
}
