import * as pulumi from "@pulumi/pulumi";
import { GreenplumSettings } from "../config";
import { Host, expectedSystemEnv } from "../host";
import { exportLines, shellQuote } from "../shell";
import { stepInput } from "../remoteStep";
import {
  ActivationOptions,
  AgentEngine,
  ActivationScripts,
  Engine,
  Pair,
  SshCommandLine,
  StepScript,
  TrustInputs,
  operatorEnv,
} from "./engine";
import { remoteFiles, remoteScript } from "./scriptText";

type Env = Record<string, pulumi.Input<string>>;

/** The promote step's time beyond gpactivatestandby's own bound (see activationScripts). */
const PROMOTE_STEP_MARGIN_SECONDS = 600;

function step(name: string, env: Env, host?: Host): StepScript {
  return { script: remoteScript("greenplum", name), env, ...(host ? { host } : {}) };
}

const field = (r: pulumi.Output<Record<string, unknown>>, key: string) =>
  r.apply((x) => String(x[key] ?? ""));

/**
 * Greenplum 6, 7 and Apache Cloudberry with Greenplum's own utilities: gpinitstandby,
 * gpactivatestandby, gpconfig, and the catalog and replication views for the truth. Every
 * step runs as the Greenplum administrator with its environment loaded (see
 * scripts/remote/greenplum/lib.sh: the environment file, the data directory variable of the
 * version found by `postgres --gp-version`, and PGPORT).
 */
export class GreenplumEngine implements Engine {
  readonly name = "greenplum";

  constructor(private readonly settings: GreenplumSettings) {}

  /** What every Greenplum step needs on `host`: its environment and its master. */
  private base(host: Host): Env {
    return {
      GPM_GPHOME: this.settings.gphome,
      GPM_GP_ADMIN: this.settings.adminUser,
      GPM_GP_VERSION_HINT: this.settings.version,
      GPM_DATA_DIR: host.dataDir,
      GPM_DB_PORT: String(host.dbPort),
    };
  }

  prepare(_pair: Pair, host: Host): StepScript {
    return step("prepare", {
      ...this.base(host),
      GPM_ROLE: host.role,
      GPM_SELF_ADDRESS: host.address,
    });
  }

  trust(_pair: Pair, host: Host, peer: Host, inputs: TrustInputs): StepScript {
    return step("trust", {
      GPM_GP_ADMIN: this.settings.adminUser,
      GPM_PEER_NAMES: field(inputs.peer, "names"),
      GPM_PEER_SSH_PORT: peer.sshPort.apply(String),
      GPM_PEER_PUBLIC_KEY: field(inputs.peer, "publicKey"),
      GPM_PEER_HOST_KEYS: field(inputs.peer, "hostKeys"),
      GPM_SELF_NAMES: field(inputs.self, "names"),
      GPM_SELF_SSH_PORT: host.sshPort.apply(String),
      GPM_VERIFY_PEER: String(inputs.verifyPeer),
    });
  }

  primary(pair: Pair): StepScript {
    const s = this.settings;
    return step("primary", {
      ...this.base(pair.primary),
      GPM_SELF_ADDRESS: pair.primary.address,
      GPM_INITIALIZE_SYSTEM: String(s.initializeSystem),
      ...expectedSystemEnv(pair.primary),
      ...(s.initializeSystem
        ? {
            GPM_SEGMENT_HOSTS: s.segmentHosts.join(" "),
            GPM_SEGMENT_DATA_DIR: s.segmentDataDir,
            GPM_SEGMENTS_PER_HOST: String(s.segmentsPerHost),
            GPM_SEGMENT_PORT_BASE: String(s.segmentPortBase),
          }
        : {}),
    });
  }

  /**
   * WAL retention on the master, and the operator tools' login (the same contract as the
   * PostgreSQL engine's: a LOGIN role, the database gpmirror_drill it owns, pg_hba.conf lines
   * for its networks). The lines also go into the registered standby's pg_hba.conf, which
   * gpinitstandby copied once with pg_basebackup and nothing updates afterwards.
   */
  access(pair: Pair): StepScript {
    return step("access", {
      ...this.base(pair.primary),
      GPM_WAL_KEEP_SIZE: this.settings.walKeepSize,
      GPM_WAL_SENDER_TIMEOUT_SECONDS: String(this.settings.walSenderTimeoutSeconds),
      GPM_STANDBY_ADDRESS: pair.standby.address,
      GPM_STANDBY_DATA_DIR: pair.standby.dataDir,
      GPM_STANDBY_SSH_PORT: pair.standby.sshPort.apply(String),
      ...operatorEnv(pair),
    });
  }

  /** gpinitstandby runs on the active master: this step runs on the primary host. */
  standby(pair: Pair): StepScript {
    return step(
      "standby",
      {
        ...this.base(pair.primary),
        GPM_STANDBY_ADDRESS: pair.standby.address,
        GPM_STANDBY_PORT: String(pair.standby.dbPort),
        GPM_STANDBY_DATA_DIR: pair.standby.dataDir,
        GPM_STANDBY_SSH_PORT: pair.standby.sshPort.apply(String),
        GPM_ALLOW_REPLACE_STANDBY: String(this.settings.allowReplaceStandby),
        GPM_MOVE_ASIDE_LEFTOVER: String(this.settings.moveAsideLeftoverDataDir),
        GPM_TIMEOUT_SECONDS: String(pair.replication.timeoutSeconds),
      },
      pair.primary,
    );
  }

  verify(pair: Pair): StepScript {
    return step("verify", {
      ...this.base(pair.primary),
      GPM_STANDBY_ADDRESS: pair.standby.address,
      GPM_STANDBY_DATA_DIR: pair.standby.dataDir,
      GPM_STANDBY_SSH_PORT: pair.standby.sshPort.apply(String),
      GPM_TIMEOUT_SECONDS: String(pair.replication.timeoutSeconds),
    });
  }

  /**
   * A read-only look at `host`'s master for the status and the drill, in the Probe shape;
   * the standby's walsender is reported under the other host's name.
   */
  probe(pair: Pair, host: Host): StepScript {
    const peer = host === pair.primary ? pair.standby : pair.primary;
    return step("probe", {
      ...this.base(host),
      GPM_PEER_NAME: peer.name,
      GPM_PEER_ADDRESS: peer.address,
    });
  }

  /**
   * The Greenplum steps of the one activation flow: its probe, and gpactivatestandby on the
   * host to promote, which checks and fences the old master itself over the admin user's SSH
   * trust (see scripts/activate.sh for what is decided where Pulumi runs).
   */
  activationScripts(pair: Pair): ActivationScripts {
    const other = (host: Host) => (host === pair.primary ? pair.standby : pair.primary);
    const s = this.settings;
    return {
      engine: "greenplum",
      probe: (host) => this.probe(pair, host),
      promote: (host) => step("activate", this.activateEnv(host, other(host)), host),
      // gpactivatestandby's own bound, and what may come before and after it: a clean stop of
      // the old master (switchover), starting a stopped standby, the segment fence and its lift.
      promoteTimeoutSeconds:
        s.activationTimeoutSeconds + PROMOTE_STEP_MARGIN_SECONDS + 2 * s.segmentFenceTimeoutSeconds,
    };
  }

  /** The activate step's parameters for promoting `target`, whose old master is `old`. */
  private activateEnv(target: Host, old: Host): Env {
    return {
      ...this.base(target),
      GPM_OLD_PRIMARY_ADDRESS: old.address,
      GPM_OLD_PRIMARY_PORT: String(old.dbPort),
      GPM_OLD_PRIMARY_DATA_DIR: old.dataDir,
      GPM_OLD_PRIMARY_SSH_PORT: old.sshPort.apply(String),
      GPM_ACTIVATION_TIMEOUT_SECONDS: String(this.settings.activationTimeoutSeconds),
      GPM_CLIENT_ENDPOINT: pulumi.interpolate`${target.address}:${target.dbPort}`,
      ...this.segmentFenceEnv(old),
    };
  }

  /**
   * The failover agent on `target` (automatic failover): the standby coordinator is told by
   * its marker (it answers no SQL), and promoted by this engine's own activate step, forced
   * with the lease as proof (GPM_OLD_FENCED_BY=lease): the agent runs it only once the old
   * coordinator's lease is gone and it holds the leader key, so the old coordinator fenced
   * itself; the step still stops one it finds running and fences the segments against one it
   * cannot reach, before gpactivatestandby.
   */
  agent(target: Host, old: Host): AgentEngine {
    const s = this.settings;
    const promote = stepInput(remoteScript("greenplum", "activate"), {
      ...this.activateEnv(target, old),
      GPM_FORCE: "true",
      GPM_OLD_FENCED_BY: "lease",
      // The takeover waits on this when the old host is cut off (the default is 10 s). A SYN
      // lost on the way only skips the probe: the lease is the proof, the segments are fenced.
      GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS: "1",
    });
    return {
      config: {
        engine: "greenplum",
        // Greenplum 7 and Cloudberry; the agent's probe SQL needs their WAL functions too.
        standbyMarker: "standby.signal",
        promoteScript: "AUTODIR/promote.sh",
        promoteTimeoutSeconds:
          s.activationTimeoutSeconds +
          PROMOTE_STEP_MARGIN_SECONDS +
          2 * s.segmentFenceTimeoutSeconds,
      },
      // The coordinator's socket is in /tmp (each local host has its own).
      socketDir: "/tmp",
      applicationName: "gp_walreceiver",
      env: { GPM_PG_BIN: `${s.gphome}/bin`, GPM_AGENT_PROMOTE: promote },
    };
  }

  /**
   * gpactivatestandby on the standby host with its own checks, as an operator runs it by hand
   * (activationCommand): in failover mode behind the proof that the old master is down; in
   * switchover mode after stopping the live old master cleanly and seeing its last WAL on the
   * standby.
   */
  activate(pair: Pair, options: ActivationOptions): StepScript {
    return step(
      "activate",
      {
        ...this.activateEnv(pair.standby, pair.primary),
        GPM_FORCE: String(options.force),
        GPM_FENCED_BY_PLATFORM: String(options.fencedByPlatform),
        GPM_ACTIVATION_MODE: options.mode,
        GPM_SWITCHOVER_TIMEOUT_SECONDS: String(options.timeoutSeconds ?? 60),
      },
      pair.standby,
    );
  }

  /**
   * What segment-fence.sh needs besides the old coordinator's host: the configured segments
   * (its last resort, after the old catalog and the recorded list) and the fence command.
   */
  private segmentFenceEnv(old: Host): Env {
    const s = this.settings;
    return {
      GPM_OLD_PRIMARY_NAME: old.name,
      GPM_SEGMENT_HOSTS: s.segmentHosts.join(" "),
      GPM_SEGMENTS_PER_HOST: String(s.segmentsPerHost),
      GPM_SEGMENT_PORT_BASE: String(s.segmentPortBase),
      ...(s.segmentFenceCommand
        ? {
            GPM_SEGMENT_FENCE_COMMAND: s.segmentFenceCommand,
            GPM_SEGMENT_FENCE_TIMEOUT_SECONDS: String(s.segmentFenceTimeoutSeconds),
          }
        : {}),
    };
  }

  /**
   * The activate step as a command to paste: its parameters and script text from this
   * checkout go to `bash -s` on the standby host, so a hand-run activation takes the same
   * checks (GPM_FORCE=false: edit it only when you know the old master is down).
   */
  activationCommand(pair: Pair, ssh: SshCommandLine): pulumi.Output<string> {
    const env = this.activate(pair, {
      force: false,
      fencedByPlatform: false,
      mode: "failover",
    }).env;
    return pulumi.all([ssh.prefix(pair.standby), pulumi.all(env)]).apply(([prefix, values]) => {
      const lines = exportLines(values as Record<string, string>)
        .trimEnd()
        .split("\n")
        .map(shellQuote)
        .join(" ");
      const files = remoteFiles("greenplum", "activate").map(shellQuote);
      return `{ printf '%s\\n' 'set -euo pipefail' ${lines}; cat ${files.join(" ")}; } | ${prefix} bash -s`;
    });
  }
}
