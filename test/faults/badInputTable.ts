// The generated table of bad settings for test/faults/badInput.test.ts: for every setting, a
// wrong value of each kind that applies (type, range, relative path, shell metacharacters,
// bad CIDR, same zone), and the message the preview must show for it.

export type Kind = "type" | "range" | "relative path" | "shell" | "cidr" | "same zone" | "unknown";
export type Platform = "local" | "existing" | "aws" | "greenplum";

export interface BadValue {
  platform: Platform;
  /** The config path (pulumi config set --path); list items as key[0]. */
  key: string;
  value: string;
  kind: Kind;
  /** What the error must say (the setting's name is checked as well). */
  expect: RegExp;
  /** The setting the message names, when not `key` itself (a pair of values). */
  names: string;
}

const NUMBER = /must be a whole number from/;
const BOOL = /must be true or false/;
const ONE_OF = /must be one of/;
const NAME = /is not a plain name/;
const ABSOLUTE = /must be an absolute path/;
const PATH_CHARS = /has characters that are not allowed in a path/;
const CIDR = /is not an IPv4 CIDR/;

// Per setting: [key, kind, value, expected message], per platform.
const rows: [Platform, string, Kind, string, RegExp, string?][] = [
  // Common settings (any platform; checked on the local one).
  ["local", "platform", "type", "gcp", ONE_OF],
  ["local", "engine", "type", "mysql", ONE_OF],
  ["local", "dbPort", "type", "five", NUMBER],
  ["local", "dbPort", "range", "70000", NUMBER],
  ["local", "standbyDbPort", "range", "0", NUMBER],
  ["local", "standbyDbPort", "type", "1.5", NUMBER],
  ["local", "replication.user", "shell", "rep;rm -rf /", NAME],
  ["local", "replication.user", "shell", "$(reboot)", NAME],
  ["local", "replication.slotName", "shell", "slot`id`", /is not a valid slot name/],
  ["local", "replication.slotName", "type", "Upper-Case", /is not a valid slot name/],
  ["local", "replication.maxSlotWalKeepSize", "type", "lots", /must be a size such as 1GB/],
  ["local", "replication.maxSlotWalKeepSize", "range", "-1GB", /must be a size such as 1GB/],
  ["local", "replication.walKeepSize", "type", "256 MB", /must be a size such as 256MB/],
  ["local", "replication.baseBackupMaxRate", "type", "fast", /must be a rate such as 50M/],
  ["local", "replication.timeoutSeconds", "range", "2", NUMBER],
  ["local", "replication.timeoutSeconds", "type", "soon", NUMBER],
  ["local", "replication.synchronous", "type", "yes", BOOL],
  ["local", "replicationPassword", "range", "short", /at least 16 characters/],
  ["local", "activeMaster", "type", "both", ONE_OF],
  ["local", "protect", "type", "maybe", BOOL],
  ["local", "activation.mode", "type", "hot", ONE_OF],
  ["local", "activation.force", "type", "1", BOOL],
  ["local", "activation.maxLagBytes", "range", "-5", NUMBER],
  ["local", "activation.maxLagBytes", "type", "16MB", NUMBER],
  ["local", "activation.timeoutSeconds", "range", "1", NUMBER],
  ["local", "operator.user", "shell", "op$(id)", NAME],
  ["local", "operator.cidrs[0]", "cidr", "10.0.0.0/33", /is not an IPv4 CIDR/],
  ["local", "operator.cidrs[0]", "cidr", "0.0.0.0/0", /opens PostgreSQL to every address/],
  ["local", "operator.cidrs[0]", "shell", "10.0.0.1/32;ls", /is not an IPv4 CIDR/],
  ["local", "drill.rtoSeconds", "range", "0", NUMBER],
  ["local", "drill.rpoCommits", "range", "-1", NUMBER],
  ["local", "colour", "unknown", "blue", /is not a gpmirror setting/],
  // The local platform.
  ["local", "local.mode", "type", "docker", ONE_OF],
  ["local", "local.stateDir", "relative path", "relative/dir", ABSOLUTE],
  ["local", "local.stateDir", "shell", "/var/lib/$(reboot)", PATH_CHARS],
  ["local", "local.stateDir", "relative path", "/var/../etc", PATH_CHARS],
  ["local", "local.subnet", "range", "10.201.300", /must be the first three octets of a \/24/],
  ["local", "local.subnet", "cidr", "10.201.0.0/24", /must be the first three octets of a \/24/],
  ["local", "local.bridge", "range", "a-very-long-bridge-name", /longer than 15 characters/],
  ["local", "local.bridge", "shell", "br;ls", NAME],
  ["local", "local.sshPortBase", "range", "80", NUMBER],
  ["local", "local.osUser", "shell", "root;ls", NAME],
  // Existing hosts.
  ["existing", "hosts.primary.address", "shell", "db1;reboot", /is not a host name or IP address/],
  ["existing", "hosts.primary.address", "type", "user@db1", /is not a host name or IP address/],
  ["existing", "hosts.primary.sshPort", "range", "0", NUMBER],
  ["existing", "hosts.primary.user", "shell", "pg user", NAME],
  [
    "existing",
    "hosts.primary.privateKeyPath",
    "type",
    "/nonexistent/key",
    /cannot read the SSH private key/,
  ],
  ["existing", "hosts.primary.hostKey", "type", "not a key", /is not a public host key line/],
  ["existing", "hosts.primary.dataDir", "relative path", "data/primary", ABSOLUTE],
  ["existing", "hosts.primary.dataDir", "shell", "/data/`id`", PATH_CHARS],
  ["existing", "hosts.standby.address", "shell", "$(id)", /is not a host name or IP address/],
  ["existing", "hosts.standby.sshPort", "type", "ssh", NUMBER],
  ["existing", "hosts.standby.user", "shell", "a|b", NAME],
  [
    "existing",
    "hosts.standby.hostKey",
    "type",
    "AAAAC3NzaC1lZDI1NTE5",
    /is not a public host key line/,
  ],
  ["existing", "hosts.standby.dataDir", "relative path", "./data", ABSOLUTE],
  // AWS.
  ["aws", "aws.instanceType", "shell", "m6i.xlarge;ls", /is not an EC2 instance type/],
  ["aws", "aws.ami.id", "type", "ami-XYZ", /is not an id of the form ami-/],
  ["aws", "aws.network.vpcCidr", "cidr", "10.42.0.0/33", CIDR],
  ["aws", "aws.network.vpcCidr", "cidr", "10.42.1.0/16", /has host bits set/],
  ["aws", "aws.network.zones[0]", "same zone", "eu-west-1a", /both masters would be in eu-west-1a/],
  ["aws", "aws.network.zones[1]", "same zone", "eu-west-1a", /both masters would be in eu-west-1a/],
  [
    "aws",
    "aws.network.primarySubnetId",
    "same zone",
    "subnet-0123abcd",
    /is the primary's subnet/,
    "aws.network.standbySubnetId",
  ],
  ["aws", "aws.network.standbySubnetId", "same zone", "subnet-0123abcd", /is the primary's subnet/],
  ["aws", "aws.access.adminCidrs[0]", "cidr", "0.0.0.0/0", /opens the hosts to the whole internet/],
  ["aws", "aws.access.clientCidrs[0]", "cidr", "10.0.0.1/8", /has host bits set/],
  ["aws", "aws.access.segmentCidrs[0]", "shell", "10.0.0.0/8;id", CIDR],
  ["aws", "aws.dataVolume.iops", "range", "100", NUMBER],
  ["aws", "aws.dataVolume.sizeGiB", "type", "big", NUMBER],
  ["aws", "aws.rootVolumeSizeGiB", "range", "4", NUMBER],
  ["aws", "aws.dataDir", "relative path", "data/master", ABSOLUTE],
  ["aws", "aws.osUser", "shell", "gp;admin", NAME],
  ["aws", "aws.dns.ttl", "range", "1", NUMBER],
  ["aws", "aws.dns.recordName", "shell", "mdw;x", /is not a DNS label/],
  ["aws", "aws.dns.zoneName", "shell", "a b", /is not a DNS name/],
  [
    "aws",
    "aws.greenplum.packageUrl",
    "shell",
    "http://x/$(id).rpm",
    /is not an https:\/\/ or s3:\/\/ URL/,
  ],
  ["aws", "aws.connection.publicKey", "type", "not a key", /is required: the public half/],
  ["aws", "aws.connection.knownHostsFile", "relative path", "known_hosts", ABSOLUTE],
  // The Greenplum engine.
  ["greenplum", "greenplum.gphome", "relative path", "greenplum-db", /greenplum\.gphome/],
  ["greenplum", "greenplum.adminUser", "shell", "gp admin", NAME],
  ["greenplum", "greenplum.version", "type", "eight", ONE_OF],
  ["greenplum", "greenplum.walKeepSize", "type", "big", /greenplum\.walKeepSize/],
  ["greenplum", "greenplum.walSenderTimeoutSeconds", "range", "1", NUMBER],
  ["greenplum", "greenplum.segmentPortBase", "range", "80", NUMBER],
  ["greenplum", "greenplum.segmentsPerHost", "range", "0", NUMBER],
  ["greenplum", "greenplum.activationTimeoutSeconds", "range", "5", NUMBER],
  ["greenplum", "greenplum.allowReplaceStandby", "type", "sure", BOOL],
];

/** The setting a config path belongs to (messages name most list items without an index). */
export function settingOf(key: string): string {
  return key.replace(/\[\d+\]$/, "");
}

export const BAD_VALUES: BadValue[] = rows.map(([platform, key, kind, value, expect, names]) => ({
  platform,
  key,
  kind,
  value,
  expect,
  names: names ?? settingOf(key),
}));

/** What each platform's preview needs besides the bad values, so only those are wrong. */
export const BASE: Record<Platform, Record<string, string>> = {
  local: {},
  existing: { platform: "existing" },
  aws: { platform: "aws" },
  greenplum: { engine: "greenplum" },
};

/**
 * Batches of one preview each: a setting appears once per batch, and values that are read
 * together (the two zones, the two subnets) stay together.
 */
export function batches(values: BadValue[]): BadValue[][] {
  const out: BadValue[][] = [];
  const groupOf = (v: BadValue) =>
    v.kind === "same zone"
      ? `${v.platform}:${v.key.replace(/\[\d\]|(primary|standby)SubnetId/, "")}`
      : undefined;
  const pending = [...values];
  while (pending.length > 0) {
    const batch: BadValue[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < pending.length;) {
      const v = pending[i];
      const group = groupOf(v);
      const members = group ? pending.filter((w) => groupOf(w) === group) : [v];
      const fits =
        (batch.length === 0 || batch[0].platform === v.platform) &&
        members.every((m) => !keys.has(settingOf(m.key)) && !keys.has(m.key));
      if (fits) {
        for (const m of members) {
          batch.push(m);
          keys.add(m.key);
          keys.add(settingOf(m.key));
          pending.splice(pending.indexOf(m), 1);
        }
        i = 0;
      } else {
        i++;
      }
    }
    out.push(batch);
  }
  return out;
}
