import * as pulumi from "@pulumi/pulumi";
import { ReplicationSettings } from "./config";
import { Engine, Pair, SshCommandLine, StepScript } from "./engines/engine";
import { Host } from "./host";
import { RemoteStep, StepResult } from "./remoteStep";

export interface MasterMirrorArgs {
  primary: Host;
  standby: Host;
  engine: Engine;
  replication: ReplicationSettings;
  replicationPassword: pulumi.Output<string>;
  /** How an operator reaches the hosts, for the activation command. */
  ssh: SshCommandLine;
  /**
   * What clients use to reach the active master, when the hosts give one (a DNS name that
   * activation moves); the primary's address and port otherwise.
   */
  clientEndpoint?: pulumi.Input<string>;
  /** Bound on one step; the verify step has its own timeout inside. */
  stepTimeoutSeconds?: number;
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

export interface Activation {
  /** Paste it to promote the standby by hand. */
  command: string;
}

/**
 * The primary/standby pair and the order of its steps:
 * prepare (both) -> [trust (standby, then primary), when the engine has it] -> primary ->
 * access -> standby -> verify.
 */
export class MasterMirror extends pulumi.ComponentResource {
  readonly primary: pulumi.Output<NodeSummary>;
  readonly standby: pulumi.Output<NodeSummary>;
  readonly clientEndpoint: pulumi.Output<string>;
  readonly replication: pulumi.Output<ReplicationStatus>;
  readonly activation: pulumi.Output<Activation>;

  constructor(name: string, args: MasterMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:index:MasterMirror", name, {}, opts);
    const pair: Pair = {
      primary: args.primary,
      standby: args.standby,
      replication: args.replication,
      replicationPassword: args.replicationPassword,
    };
    const engine = args.engine;
    const timeoutSeconds = args.stepTimeoutSeconds ?? 900;
    const run = (stepName: string, host: Host, s: StepScript, after: pulumi.Resource[]) =>
      new RemoteStep(
        `${name}-${stepName}`,
        { script: s.script, env: s.env, host: s.host ?? host, timeoutSeconds },
        { parent: this, dependsOn: after },
      );

    const preparePrimary = run(
      "prepare-primary",
      pair.primary,
      engine.prepare(pair, pair.primary),
      [],
    );
    const prepareStandby = run(
      "prepare-standby",
      pair.standby,
      engine.prepare(pair, pair.standby),
      [],
    );
    const primary = run("primary", pair.primary, engine.primary(pair), [preparePrimary]);
    const access = run("access", pair.primary, engine.access(pair), [primary]);
    // Engines whose tools ssh between the hosts set up that trust first (standby, then primary).
    const trusted: pulumi.Resource[] = [];
    if (engine.trust) {
      const trustStandby = run(
        "trust-standby",
        pair.standby,
        engine.trust(pair, pair.standby, pair.primary, {
          self: prepareStandby.result,
          peer: preparePrimary.result,
          verifyPeer: false,
        }),
        [preparePrimary, prepareStandby],
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
    const standby = run("standby", pair.standby, engine.standby(pair), [
      access,
      prepareStandby,
      ...trusted,
    ]);
    const verify = run("verify", pair.primary, engine.verify(pair), [standby]);

    this.primary = summary(pair.primary);
    this.standby = summary(pair.standby);
    this.clientEndpoint = args.clientEndpoint
      ? pulumi.output(args.clientEndpoint)
      : pulumi.interpolate`${pair.primary.address}:${pair.primary.dbPort}`;
    this.replication = verify.result.apply(replicationStatus);
    this.activation = engine
      .activationCommand(
        pair,
        args.ssh,
        prepareStandby.result.apply((r) => String(r["pgBin"] ?? "")),
      )
      .apply((cmd) => ({ command: cmd }));
    this.registerOutputs({
      primary: this.primary,
      standby: this.standby,
      clientEndpoint: this.clientEndpoint,
      replication: this.replication,
      activation: this.activation,
    });
  }
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
