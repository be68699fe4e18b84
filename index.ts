// gpmirror: config -> hosts -> MasterMirror -> stack outputs.
import { loadConfig, MirrorConfig } from "./components/config";
import { GreenplumEngine } from "./components/engines/greenplum";
import { PostgresEngine } from "./components/engines/postgres";
import { AwsHosts } from "./components/hosts/aws";
import { ExistingHosts } from "./components/hosts/existing";
import { LocalHosts } from "./components/hosts/local";
import { MasterMirror } from "./components/masterMirror";
import { replicationPassword } from "./components/replicationPassword";

function hostsFor(config: MirrorConfig) {
  if (config.platform === "aws" && config.aws) {
    return new AwsHosts("aws", {
      stack: config.stack,
      settings: config.aws,
      primaryDbPort: config.primaryDbPort,
      standbyDbPort: config.standbyDbPort,
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
  });
}

const config = loadConfig();
const hosts = hostsFor(config);
const mirror = new MasterMirror("mirror", {
  primary: hosts.primary,
  standby: hosts.standby,
  engine:
    config.engine === "greenplum" && config.greenplum
      ? new GreenplumEngine(config.greenplum)
      : new PostgresEngine(),
  replication: config.replication,
  replicationPassword: replicationPassword("replication-password", config.replication.password, {}),
  ssh: hosts,
  // On AWS clients use the DNS name that activation moves, not the primary's address.
  clientEndpoint: hosts instanceof AwsHosts ? hosts.clientEndpoint : undefined,
});

export const primary = mirror.primary;
export const standby = mirror.standby;
export const clientEndpoint = mirror.clientEndpoint;
export const replication = mirror.replication;
export const activation = mirror.activation;
