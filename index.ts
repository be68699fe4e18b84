// gpmirror, the standalone program: config -> hosts -> MasterMirror -> stack outputs, on the
// package's public API (components/index.ts), as a program of your own would use it.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  activationSwitch,
  autoDir,
  hostAccess,
  AutomaticFailover,
  AwsHosts,
  Engine,
  ExistingHosts,
  GreenplumEngine,
  loadConfig,
  LocalHosts,
  MasterMirror,
  MirrorConfig,
  password,
  PostgresEngine,
  memberAddress,
  memberEndpoints,
  operatorSsh,
  readLeader,
} from "./components";

function hostsFor(config: MirrorConfig, activation: pulumi.Output<unknown>) {
  if (config.platform === "aws" && config.aws) {
    const a = config.activation;
    const old = a.activeMaster === "primary" ? "standby" : "primary";
    return new AwsHosts("aws", {
      stack: config.stack,
      settings: config.aws,
      primaryDbPort: config.primaryDbPort,
      standbyDbPort: config.standbyDbPort,
      activeMaster: a.activeMaster,
      clientsFollow: activation,
      // A forced failover with the old host given up (protect off) fences it at the platform.
      fence: a.force && !a.protect ? old : undefined,
      protect: a.protect,
    });
  }
  if (config.platform === "existing" && config.existing) {
    return new ExistingHosts(config.existing, config.primaryDbPort, config.standbyDbPort);
  }
  if (!config.local) throw new Error("internal: local settings missing");
  return new LocalHosts("local", {
    stack: config.stack,
    settings: config.local,
    primaryDbPort: config.primaryDbPort,
    standbyDbPort: config.standbyDbPort,
    greenplum: config.greenplum,
    witness: config.activation.automatic !== undefined,
  });
}

/**
 * The etcd endpoints (the three hosts' addresses) and this machine's TLS directory of
 * automatic failover: local stacks keep it in their state directory, existing hosts in
 * ~/.gpmirror/<stack> of the user who runs Pulumi (AWS too, and etcd is read on the witness).
 */
function autoPlaces(c: MirrorConfig) {
  if (c.aws?.witness) {
    // etcd's ports are open among the three hosts only: it is read on the witness, over SSH.
    const tlsDir = `${c.aws.witness.stateDir}/etcd-tls`;
    const endpoints = memberEndpoints(tlsDir);
    const witness = memberAddress(tlsDir, "witness");
    const onWitness = witness
      ? {
          ssh: operatorSsh(c.aws.connection, c.aws.osUser, witness),
          autoDir: `${path.posix.dirname(c.aws.dataDir)}/auto`,
        }
      : undefined;
    return { tlsDir, endpoints, onWitness };
  }
  if (c.existing) {
    const e = c.existing;
    const addresses = [e.primary.address, e.standby.address, e.witness?.address ?? ""];
    return {
      tlsDir: `${e.stateDir}/etcd-tls`,
      endpoints: addresses.map((a) => `https://${a}:2379`),
    };
  }
  const subnet = c.local?.subnet ?? "";
  return {
    tlsDir: `${c.local?.stateDir ?? ""}/etcd-tls`,
    endpoints: [11, 12, 13].map((o) => `https://${subnet}.${o}:2379`),
  };
}

const config = loadConfig();
// After an automatic failover the agents decided: the holder of the leader key is the active
// master, whatever activeMaster says (it stays the preferred master for a planned switchover).
const places = autoPlaces(config);
const leader = config.activation.automatic
  ? readLeader(config.stack, places.tlsDir, places.endpoints, places.onWitness)
  : undefined;
const preferredMaster = config.activation.activeMaster;
if (leader?.holder && leader.holder !== preferredMaster) {
  pulumi.log.warn(
    `automatic failover made ${leader.holder} the active master (it holds the leader key); this update follows it and re-protects the other host. activeMaster (${preferredMaster}) stays the preferred master.`,
  );
  config.activation.activeMaster = leader.holder;
}
// The DNS record on AWS moves only once the activation is done: the mirror, built after the
// hosts, hands its activation result back through this.
let activationDone: (result: pulumi.Output<unknown>) => void = () => undefined;
const afterActivation = pulumi.output(
  new Promise<pulumi.Output<unknown>>((resolve) => (activationDone = resolve)),
);
const hosts = hostsFor(config, afterActivation);
const engine: Engine =
  config.engine === "greenplum" && config.greenplum
    ? new GreenplumEngine(config.greenplum)
    : new PostgresEngine();
// The host named by activeMaster is the primary now; flipping it activates the other one.
const [active, passive] =
  config.activation.activeMaster === "primary"
    ? [hosts.primary, hosts.standby]
    : [hosts.standby, hosts.primary];
const replicationPassword = password("replication-password", config.replication.password, {});
const operator =
  config.operator.cidrs.length > 0
    ? { ...config.operator, password: password("operator-password", undefined, {}) }
    : undefined;
const replicationSettings = {
  ...config.replication,
  // A synchronous primary with no standby would wait forever at every commit.
  synchronous: config.replication.synchronous && config.activation.protect,
};
const mirror = new MasterMirror("mirror", {
  primary: active,
  standby: passive,
  engine,
  replication: replicationSettings,
  replicationPassword,
  operator,
  ssh: hosts,
  // On AWS clients use the DNS name that activation moves, not the primary's address.
  clientEndpoint: hosts instanceof AwsHosts ? hosts.clientEndpoint : undefined,
  protect: config.activation.protect,
  stepTimeoutSeconds: config.stepTimeoutSeconds,
  activationSwitch: activationSwitch(config.activation.activeMaster),
  activation: {
    settings: config.activation,
    platformFence: hosts instanceof ExistingHosts ? undefined : hosts.platformFence(),
  },
});

activationDone(mirror.activation);

const automatic =
  config.activation.automatic && hosts.witness
    ? new AutomaticFailover("auto", {
        stack: config.stack,
        settings: config.activation.automatic,
        masters: [hosts.primary, hosts.standby],
        witness: hosts.witness,
        tlsDir: places.tlsDir,
        maxLagBytes: config.activation.maxLagBytes,
        synchronous: replicationSettings.synchronous,
        after: [mirror.built],
        stepTimeoutSeconds: config.stepTimeoutSeconds,
        engineAgent: engine.agent?.bind(engine),
        stopOnDestroy: hosts instanceof ExistingHosts,
        clientRecord: hosts instanceof AwsHosts ? hosts.clientRecord : undefined,
      })
    : undefined;
/** Automatic failover: etcd, the agents' timings, who held the leader key when this update began. */
export const automaticFailover = automatic
  ? automatic.summary.apply((s) => ({
      ...s,
      leaderAtStart: leader?.holder ?? null,
      leaderNote: leader?.note ?? null,
      preferredMaster,
      activeMaster: config.activation.activeMaster,
      followedAgents: leader?.holder !== undefined && leader.holder !== preferredMaster,
      clientEndpointNote:
        hosts instanceof AwsHosts
          ? "clients use the DNS name of clientEndpoint: the agent that promotes points that Route53 record at its own host"
          : "clients follow the leader with a libpq multi-host string: host=<primary>,<standby> target_session_attrs=read-write",
    }))
  : undefined;

export const primary = mirror.primary;
export const standby = mirror.standby;
export const clientEndpoint = mirror.clientEndpoint;
export const replication = mirror.replication;
/** How the standby was last built: a snapshot, a rewind of the old primary, or kept. */
export const standbyOrigin = mirror.standbyOrigin;
export const activation = mirror.activation;
/**
 * Secret: what `npm run status` and the drill need to reach the hosts; with automatic
 * failover the witness too (status reads etcd there as well, as pulumi up does on AWS).
 */
export const operatorAccess =
  automatic && hosts.witness && mirror.operatorAccess
    ? pulumi.secret(
        pulumi
          .all([mirror.operatorAccess, hostAccess(hosts.witness), autoDir(hosts.witness)])
          .apply(([access, witness, dir]) => ({
            ...access,
            witness: { ...witness, autoDir: dir },
          })),
      )
    : mirror.operatorAccess;
/** What `npm run drill` must achieve (config: drill.rtoSeconds, drill.rpoCommits). */
export const drillObjectives = config.drill;
/**
 * AWS: what this update built (hosts, active master, database system identifier); the next
 * update reads it back to refuse changes that would replace or stop a master unasked.
 */
export const awsRecord =
  hosts instanceof AwsHosts ? hosts.record(mirror.systemIdentifier) : undefined;
/** AWS: the masters' security group, for the segment hosts' group to allow in return. */
export const mastersSecurityGroupId = hosts instanceof AwsHosts ? hosts.securityGroupId : undefined;
/** Local stacks: where the hosts are kept, for drills that cut the network between them. */
export const localHosts =
  hosts instanceof LocalHosts && config.local
    ? { stack: config.stack, stateDir: config.local.stateDir, mode: config.local.mode }
    : undefined;
