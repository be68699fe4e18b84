import * as pulumi from "@pulumi/pulumi";
import { shellQuote } from "../shell";
import { Host, expectedSystemEnv } from "../host";
import { ActivationScripts, Engine, Pair, SshCommandLine, StepScript, operatorEnv } from "./engine";
import { remoteScript } from "./scriptText";

function common(host: Host): Record<string, pulumi.Input<string>> {
  return {
    GPM_DATA_DIR: host.dataDir,
    GPM_DB_PORT: String(host.dbPort),
    GPM_LISTEN_ADDRESS: host.address,
  };
}

/** The role and slot the standby replicates through: created by access, used by standby. */
function replicationRole(pair: Pair): Record<string, pulumi.Input<string>> {
  return {
    GPM_REPL_USER: pair.replication.user,
    GPM_REPL_PASSWORD: pair.replicationPassword,
    GPM_SLOT_NAME: pair.replication.slotName,
  };
}

function step(name: string, env: Record<string, pulumi.Input<string>>): StepScript {
  return { script: remoteScript("postgres", name), env };
}

/** Plain PostgreSQL: pg_basebackup with a physical slot, pg_ctl promote. */
export class PostgresEngine implements Engine {
  readonly name = "postgres";

  prepare(_pair: Pair, host: Host): StepScript {
    return step("prepare", common(host));
  }

  primary(pair: Pair): StepScript {
    return step("primary", {
      ...common(pair.primary),
      GPM_MAX_SLOT_WAL_KEEP_SIZE: pair.replication.maxSlotWalKeepSize,
      GPM_WAL_KEEP_SIZE: pair.replication.walKeepSize,
      ...expectedSystemEnv(pair.primary),
    });
  }

  access(pair: Pair): StepScript {
    return step("access", {
      ...common(pair.primary),
      ...replicationRole(pair),
      GPM_STANDBY_ADDRESS: pair.standby.address,
      ...operatorEnv(pair),
    });
  }

  standby(pair: Pair): StepScript {
    return step("standby", {
      ...common(pair.standby),
      GPM_PRIMARY_ADDRESS: pair.primary.address,
      GPM_PRIMARY_PORT: String(pair.primary.dbPort),
      ...replicationRole(pair),
      GPM_STANDBY_NAME: pair.standby.name,
      GPM_APPLICATION_NAME: pair.standby.name,
      // The same bound on the standby, so that a promoted standby keeps it.
      GPM_MAX_SLOT_WAL_KEEP_SIZE: pair.replication.maxSlotWalKeepSize,
      GPM_WAL_KEEP_SIZE: pair.replication.walKeepSize,
      GPM_REPROTECT: pair.replication.reprotect,
      ...(pair.replication.baseBackupMaxRate
        ? { GPM_BASEBACKUP_MAX_RATE: pair.replication.baseBackupMaxRate }
        : {}),
    });
  }

  verify(pair: Pair): StepScript {
    return step("verify", {
      ...common(pair.primary),
      GPM_APPLICATION_NAME: pair.standby.name,
      GPM_TIMEOUT_SECONDS: String(pair.replication.timeoutSeconds),
      GPM_SYNCHRONOUS: String(pair.replication.synchronous),
    });
  }

  activationScripts(pair: Pair): ActivationScripts {
    return {
      engine: "postgres",
      probe: (host) => step("probe", { ...common(host), GPM_SLOT_NAME: pair.replication.slotName }),
      fence: (host) => step("fence", common(host)),
      promote: (host) => step("activate", common(host)),
    };
  }

  activationCommand(
    pair: Pair,
    ssh: SshCommandLine,
    binDir: pulumi.Output<string>,
  ): pulumi.Output<string> {
    return pulumi
      .all([ssh.prefix(pair.standby), binDir, pair.standby.dataDir])
      .apply(([prefix, bin, dataDir]) => {
        const remote = `${bin}/pg_ctl promote -w -t 60 -D ${shellQuote(dataDir)}`;
        return `${prefix} ${shellQuote(remote)}`;
      });
  }
}
