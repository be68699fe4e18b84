// Settings of `platform: aws`: where the two masters run on EC2, who may reach them, and how
// gpmirror reaches them over SSH. Everything is checked here, before anything is created.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, ConfigContext, RawSettings, Reader, describe, lookup } from "./reader";

export interface PortRange {
  from: number;
  to: number;
}

/** A bastion the SSH connections go through (@pulumi/command's connection.proxy). */
export interface ProxySettings {
  address: string;
  sshPort: number;
  user: string;
  /** Pinned public host key line of the bastion. */
  hostKey: string;
  /** The bastion's security group: SSH to the masters is allowed from it. */
  securityGroupId?: string;
}

export interface AwsNetworkSettings {
  /** The user's VPC; derived from the subnets when only they are given. */
  vpcId?: string;
  /** Both given together, or neither (then a VPC with two private subnets is created). */
  primarySubnetId?: string;
  standbySubnetId?: string;
  /** CIDR of the created VPC; its first two /24s become the subnets. */
  vpcCidr: string;
  /** Zones of the created subnets; the region's first two available zones when absent. */
  zones?: [string, string];
}

/** What may differ between the two masters, so that a change can reach one at a time. */
export interface AwsHostSettings {
  /** aws.hosts.<role>.instanceType, else aws.instanceType. */
  instanceType: string;
  /**
   * Opt-in: a change that replaces this host's instance or data volume (a new subnet or zone,
   * a new KMS key, associatePublicIp) goes ahead; refused otherwise.
   */
  allowReplace: boolean;
}

export interface AwsSettings {
  instanceType: string;
  /** Per host, by the role it was built with. */
  hosts: { primary: AwsHostSettings; standby: AwsHostSettings };
  /** EC2 termination protection on both instances; destroy needs it off first. */
  terminationProtection: boolean;
  /** Opt-in: a change that stops the active master (its instance type) goes ahead. */
  allowActiveMasterStop: boolean;
  /** Opt-in: initdb/gpinitsystem may run although the stack recorded a database system. */
  allowNewDatabaseSystem: boolean;
  /** CloudWatch status-check alarms that recover (and, for the instance check, reboot) a master. */
  autoRecovery: boolean;
  /** A DLM policy snapshotting both data volumes. */
  snapshots: { enabled: boolean; intervalHours: number; retainCount: number };
  /** An AMI id, or the owner and name filter of a lookup (most recent match). */
  ami: { id?: string; owner: string; nameFilter: string };
  network: AwsNetworkSettings;
  /** Both masters in one zone lose the pair's point; refused unless this says so. */
  allowSameZone: boolean;
  /** 0.0.0.0/0 in any CIDR list is refused unless this says so. */
  allowWorldCidrs: boolean;
  associatePublicIp: boolean;
  access: {
    clientCidrs: string[];
    adminCidrs: string[];
    segmentSecurityGroupId?: string;
    segmentCidrs: string[];
    segmentPorts: PortRange;
    /** Ports of mirror segments, which a promoted mirror serves on. */
    mirrorPorts: PortRange;
    interconnectPorts: PortRange;
    /** Also write the rules the masters need into the segment hosts' group. */
    writeSegmentIngress: boolean;
    /** Where the hosts may reach HTTPS (package download, SSM); none by default. */
    httpsEgressCidrs: string[];
  };
  dataVolume: {
    sizeGiB: number;
    iops: number;
    throughputMiBps: number;
    kmsKeyId?: string;
    /** Opt-in: destroy deletes the volumes (after a final snapshot); kept in AWS otherwise. */
    deleteOnDestroy: boolean;
  };
  rootVolumeSizeGiB: number;
  /** The master's data directory; the data volume is mounted at its parent. */
  dataDir: string;
  /** OS user that gpmirror logs in as and that runs the database (gpadmin). */
  osUser: string;
  /** Its fixed UID and GID, as on the segment hosts. */
  osUid: number;
  greenplum: { preinstalled: boolean; packageUrl: string; packageSha256: string };
  dns: { zoneId?: string; zoneName: string; recordName: string; ttl: number };
  connection: {
    /** authorized_keys line installed for osUser on both hosts. */
    publicKey: string;
    privateKey: pulumi.Output<string>;
    /** For the activation command an operator pastes; empty when the key was given inline. */
    privateKeyPath: string;
    /** Written with the pinned host keys, so the pasted command checks them too. */
    knownHostsFile: string;
    proxy?: ProxySettings;
  };
  tags: Record<string, string>;
  /** etcd's third member for automatic failover (activation.automatic); undefined: off. */
  witness?: AwsWitnessSettings;
}

/** The witness: an instance in a third zone that runs etcd only (config/awsWitness.ts). */
export interface AwsWitnessSettings {
  instanceType: string;
  /** Its subnet in the user's VPC (required with the masters' subnets), in a third zone. */
  subnetId?: string;
  /** Zone of the created witness subnet; the region's third zone when absent. */
  zone?: string;
  /** This machine's directory for the stack's files (the etcd CA and certificates). */
  stateDir: string;
}

const AWS_ID = (prefix: string) => new RegExp(`^${prefix}-[0-9a-f]{8,17}$`);
export const ZONE = /^[a-z]{2}(-[a-z]+)+-\d[a-z]$/;
export const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const PUBLIC_KEY = /^(ssh-|ecdsa-)[A-Za-z0-9-]+ [A-Za-z0-9+/=]+/;

/** Greenplum's segment ports, when the engine is Greenplum: the AWS port defaults follow them. */
export interface SegmentLayout {
  segmentPortBase: number;
  segmentsPerHost: number;
}

/** gpaddmirrors' default: a mirror's port is its primary's plus 1000. */
const MIRROR_PORT_OFFSET = 1000;
/** DLM's allowed intervals for an hourly schedule. */
const SNAPSHOT_INTERVALS = [1, 2, 3, 4, 6, 8, 12, 24];

/** Parses `aws.*`; problems go to the reader, so one preview lists them all. */
export function parseAws(
  r: Reader,
  ctx: ConfigContext,
  raw: RawSettings,
  layout?: SegmentLayout,
): AwsSettings {
  const allowWorldCidrs = bool(r, "aws.allowWorldCidrs", false);
  const cidrs = (key: string) => cidrList(r, key, allowWorldCidrs);
  const network = parseNetwork(r);
  const amiId = optionalId(r, "aws.ami.id", "ami");
  const instanceType = r.string("aws.instanceType", "m6i.xlarge");
  if (!INSTANCE_TYPE.test(instanceType)) {
    r.fail(
      "aws.instanceType",
      `"${instanceType}" is not an EC2 instance type`,
      "use a type such as m6i.xlarge",
    );
  }
  const hostSettings = (role: "primary" | "standby"): AwsHostSettings => {
    const key = `aws.hosts.${role}.instanceType`;
    const own = r.string(key, "");
    if (own !== "" && !INSTANCE_TYPE.test(own)) {
      r.fail(key, `"${own}" is not an EC2 instance type`, "use a type such as m6i.xlarge");
    }
    return {
      instanceType: own || instanceType,
      allowReplace: bool(r, `aws.hosts.${role}.allowReplace`, false),
    };
  };
  const hosts = { primary: hostSettings("primary"), standby: hostSettings("standby") };
  const segmentSecurityGroupId = optionalId(r, "aws.access.segmentSecurityGroupId", "sg");
  const segmentCidrs = cidrs("aws.access.segmentCidrs");
  const segmentsGiven = ["aws.access.segmentSecurityGroupId", "aws.access.segmentCidrs"].some(
    (k) => !isEmpty(r.value(k)),
  );
  if (!segmentsGiven) {
    r.fail(
      "aws.access.segmentSecurityGroupId",
      "no segment hosts given: the master port must be open to them and a promoted standby must reach them",
      `pulumi config set --path ${CONFIG_NAMESPACE}:aws.access.segmentSecurityGroupId sg-... (or set aws.access.segmentCidrs)`,
    );
  }
  const proxy = parseProxy(r);
  const adminCidrs = cidrs("aws.access.adminCidrs");
  if (isEmpty(r.value("aws.access.adminCidrs")) && !proxy?.securityGroupId) {
    r.fail(
      "aws.access.adminCidrs",
      "nobody could reach the hosts over SSH, so no step could run",
      "list the CIDRs of the machines that run Pulumi, or set aws.connection.proxy.securityGroupId to a bastion's group",
    );
  }
  const preinstalled = bool(r, "aws.greenplum.preinstalled", false);
  const packageUrl = r.string("aws.greenplum.packageUrl", "");
  const packageSha256 = r.string("aws.greenplum.packageSha256", "");
  if (!preinstalled) {
    if (!/^(https|s3):\/\/[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+\.(rpm|deb)$/.test(packageUrl)) {
      r.fail(
        "aws.greenplum.packageUrl",
        packageUrl === ""
          ? "is required unless the AMI already has Greenplum"
          : `"${packageUrl}" is not an https:// or s3:// URL of an .rpm or .deb`,
        "set the URL of the Greenplum package, or set aws.greenplum.preinstalled to true",
      );
    }
    if (!/^[0-9a-f]{64}$/.test(packageSha256)) {
      r.fail(
        "aws.greenplum.packageSha256",
        "must be the package's SHA-256 (64 hex digits): a download is checked before it is installed",
        "sha256sum <package> and set the digest",
      );
    }
  }
  const dataDir = r.absolutePath("aws.dataDir", "/data/master/gpseg-1");
  if (dataDir.split("/").filter(Boolean).length < 2) {
    r.fail(
      "aws.dataDir",
      `"${dataDir}" has no parent directory of its own to mount the data volume on`,
      "use a path two levels deep or more, such as /data/master/gpseg-1",
    );
  }
  const writeSegmentIngress = bool(r, "aws.access.writeSegmentIngress", false);
  if (writeSegmentIngress && !segmentSecurityGroupId) {
    r.fail(
      "aws.access.writeSegmentIngress",
      "needs the segment hosts' group to write the rules into",
      "set aws.access.segmentSecurityGroupId, or set writeSegmentIngress to false",
    );
  }
  const ports = (first: number) =>
    layout ? `${first}-${first + layout.segmentsPerHost - 1}` : `${first}-${first + 7}`;
  const segmentBase = layout?.segmentPortBase ?? 6000;
  const intervalHours = r.integer("aws.snapshots.intervalHours", 24, 1, 24);
  if (!SNAPSHOT_INTERVALS.includes(intervalHours)) {
    r.fail(
      "aws.snapshots.intervalHours",
      `${intervalHours} is not an interval DLM offers`,
      `use one of ${SNAPSHOT_INTERVALS.join(", ")}`,
    );
  }
  return {
    instanceType,
    hosts,
    terminationProtection: bool(r, "aws.terminationProtection", true),
    allowActiveMasterStop: bool(r, "aws.allowActiveMasterStop", false),
    allowNewDatabaseSystem: bool(r, "aws.allowNewDatabaseSystem", false),
    autoRecovery: bool(r, "aws.autoRecovery", true),
    snapshots: {
      enabled: bool(r, "aws.snapshots.enabled", true),
      intervalHours,
      retainCount: r.integer("aws.snapshots.retainCount", 7, 1, 1000),
    },
    ami: {
      id: amiId,
      owner: r.string("aws.ami.owner", "792107900819"),
      nameFilter: r.string("aws.ami.nameFilter", "Rocky-8-EC2-Base-8.*x86_64"),
    },
    network,
    allowSameZone: bool(r, "aws.allowSameZone", false),
    allowWorldCidrs,
    associatePublicIp: bool(r, "aws.associatePublicIp", false),
    access: {
      clientCidrs: cidrs("aws.access.clientCidrs"),
      adminCidrs,
      segmentSecurityGroupId,
      segmentCidrs,
      // Derived from greenplum.segmentPortBase and segmentsPerHost; overridable.
      segmentPorts: portRange(r, "aws.access.segmentPorts", ports(segmentBase)),
      mirrorPorts: portRange(r, "aws.access.mirrorPorts", ports(segmentBase + MIRROR_PORT_OFFSET)),
      interconnectPorts: portRange(r, "aws.access.interconnectPorts", "10000-65535"),
      writeSegmentIngress,
      httpsEgressCidrs: cidrs("aws.access.httpsEgressCidrs"),
    },
    dataVolume: {
      sizeGiB: r.integer("aws.dataVolume.sizeGiB", 200, 1, 16384),
      iops: r.integer("aws.dataVolume.iops", 3000, 3000, 16000),
      throughputMiBps: r.integer("aws.dataVolume.throughputMiBps", 125, 125, 1000),
      kmsKeyId: r.string("aws.dataVolume.kmsKeyId", "") || undefined,
      deleteOnDestroy: bool(r, "aws.dataVolume.deleteOnDestroy", false),
    },
    rootVolumeSizeGiB: r.integer("aws.rootVolumeSizeGiB", 30, 8, 16384),
    dataDir,
    osUser: r.name("aws.osUser", "gpadmin"),
    osUid: r.integer("aws.osUid", 1500, 1000, 60000),
    greenplum: { preinstalled, packageUrl, packageSha256 },
    dns: parseDns(r),
    connection: parseConnection(r, ctx, raw, proxy),
    tags: parseTags(r),
  };
}

function parseNetwork(r: Reader): AwsNetworkSettings {
  const vpcId = optionalId(r, "aws.network.vpcId", "vpc");
  const primarySubnetId = optionalId(r, "aws.network.primarySubnetId", "subnet");
  const standbySubnetId = optionalId(r, "aws.network.standbySubnetId", "subnet");
  const given = [primarySubnetId, standbySubnetId].filter(Boolean).length;
  if ((vpcId && given < 2) || given === 1) {
    const missing = primarySubnetId ? "standbySubnetId" : "primarySubnetId";
    r.fail(
      `aws.network.${missing}`,
      "is missing: in your VPC both masters need a subnet, each in its own zone",
      `pulumi config set --path ${CONFIG_NAMESPACE}:aws.network.${missing} subnet-...`,
    );
  }
  if (
    primarySubnetId &&
    primarySubnetId === standbySubnetId &&
    !bool(r, "aws.allowSameZone", false)
  ) {
    r.fail(
      "aws.network.standbySubnetId",
      "is the primary's subnet, so both masters would share one availability zone",
      "use a subnet in another zone, or set aws.allowSameZone to true",
    );
  }
  const vpcCidr = cidr(
    r,
    "aws.network.vpcCidr",
    r.string("aws.network.vpcCidr", "10.42.0.0/16"),
    true,
  );
  // The masters' subnets are the VPC's second and third /24 (components/hosts/aws/network.ts).
  if (vpcCidr && Number(vpcCidr.split("/")[1]) > 22) {
    r.fail(
      "aws.network.vpcCidr",
      `${vpcCidr} is too small: the masters' subnets are its second and third /24, which need a /22 or wider`,
      "use a /16 to /22, such as 10.42.0.0/16",
    );
  }
  const zonesRaw = r.value("aws.network.zones");
  let zones: [string, string] | undefined;
  if (zonesRaw !== undefined) {
    if (
      !Array.isArray(zonesRaw) ||
      zonesRaw.length !== 2 ||
      !zonesRaw.every((z) => typeof z === "string" && ZONE.test(z))
    ) {
      r.fail(
        "aws.network.zones",
        `must be two availability zone names, got ${describe(zonesRaw)}`,
        "set it to e.g. [eu-west-1a, eu-west-1b], or remove it to take the region's first two",
      );
    } else {
      zones = [zonesRaw[0], zonesRaw[1]];
      if (zones[0] === zones[1] && !bool(r, "aws.allowSameZone", false)) {
        r.fail(
          "aws.network.zones",
          `both masters would be in ${zones[0]}: one zone outage would take the pair`,
          "name two different zones, or set aws.allowSameZone to true",
        );
      }
    }
  }
  return { vpcId, primarySubnetId, standbySubnetId, vpcCidr, zones };
}

function parseProxy(r: Reader): ProxySettings | undefined {
  if (r.value("aws.connection.proxy") === undefined) return undefined;
  const hostKey = r.string("aws.connection.proxy.hostKey", "");
  if (!PUBLIC_KEY.test(hostKey)) {
    r.fail(
      "aws.connection.proxy.hostKey",
      "is required: the bastion's host key is pinned, never ignored",
      "ssh-keyscan -t ed25519 <bastion>, check it out of band, and set the line",
    );
  }
  return {
    address: r.address("aws.connection.proxy.address"),
    sshPort: r.integer("aws.connection.proxy.sshPort", 22, 1, 65535),
    user: r.name("aws.connection.proxy.user", "ec2-user"),
    hostKey,
    securityGroupId: optionalId(r, "aws.connection.proxy.securityGroupId", "sg"),
  };
}

function parseDns(r: Reader): AwsSettings["dns"] {
  const zoneId = r.string("aws.dns.zoneId", "") || undefined;
  if (zoneId !== undefined && !/^Z[A-Z0-9]{1,31}$/.test(zoneId)) {
    r.fail("aws.dns.zoneId", `"${zoneId}" is not a Route53 zone id`, "use an id such as Z0123ABC");
  }
  const zoneName = r.string("aws.dns.zoneName", "gpmirror.internal");
  if (!zoneName.split(".").every((l) => DNS_LABEL.test(l))) {
    r.fail("aws.dns.zoneName", `"${zoneName}" is not a DNS name`, "use e.g. gpmirror.internal");
  }
  const recordName = r.string("aws.dns.recordName", "mdw");
  if (!DNS_LABEL.test(recordName)) {
    r.fail("aws.dns.recordName", `"${recordName}" is not a DNS label`, "use e.g. mdw");
  }
  // Low, so that clients follow the record soon after activation moves it.
  return { zoneId, zoneName, recordName, ttl: r.integer("aws.dns.ttl", 30, 5, 300) };
}

function parseConnection(
  r: Reader,
  ctx: ConfigContext,
  raw: RawSettings,
  proxy: ProxySettings | undefined,
): AwsSettings["connection"] {
  const publicKey = r.string("aws.connection.publicKey", "");
  if (!PUBLIC_KEY.test(publicKey)) {
    r.fail(
      "aws.connection.publicKey",
      "is required: the public half of the key gpmirror logs in with",
      `pulumi config set --path ${CONFIG_NAMESPACE}:aws.connection.publicKey "$(cat ~/.ssh/id_ed25519.pub)"`,
    );
  }
  const inline = lookup(raw, "aws.connection.privateKey");
  const keyPath = r.string("aws.connection.privateKeyPath", "");
  let privateKey = "";
  if (typeof inline === "string" && inline !== "") {
    privateKey = inline;
  } else if (keyPath === "") {
    r.fail(
      "aws.connection.privateKeyPath",
      "no SSH private key given",
      `pulumi config set --path ${CONFIG_NAMESPACE}:aws.connection.privateKeyPath ~/.ssh/id_ed25519 (or aws.connection.privateKey with --secret)`,
    );
  } else {
    const text = (ctx.readFile ?? readFileOrUndefined)(home(ctx, keyPath));
    if (text === undefined || !/PRIVATE KEY-----/.test(text)) {
      r.fail(
        "aws.connection.privateKeyPath",
        `${home(ctx, keyPath)} cannot be read or is not a private key`,
        "point it at the private half of aws.connection.publicKey",
      );
    } else {
      privateKey = text;
    }
  }
  const knownHostsFile = r.absolutePath(
    "aws.connection.knownHostsFile",
    path.join(ctx.homeDir, ".gpmirror", ctx.stack, "known_hosts"),
  );
  return {
    publicKey,
    privateKey: pulumi.secret(privateKey),
    privateKeyPath: keyPath === "" ? "" : home(ctx, keyPath),
    knownHostsFile,
    proxy,
  };
}

function parseTags(r: Reader): Record<string, string> {
  const v = r.value("aws.tags");
  if (v === undefined) return {};
  if (
    typeof v !== "object" ||
    v === null ||
    Array.isArray(v) ||
    !Object.values(v).every((x) => typeof x === "string")
  ) {
    r.fail("aws.tags", `must map tag names to strings, got ${describe(v)}`, "e.g. {team: data}");
    return {};
  }
  return v as Record<string, string>;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
}

export function optionalId(r: Reader, key: string, prefix: string): string | undefined {
  const v = r.string(key, "");
  if (v === "") return undefined;
  if (!AWS_ID(prefix).test(v)) {
    r.fail(key, `"${v}" is not an id of the form ${prefix}-0123abcd`, `copy the ${prefix} id`);
    return undefined;
  }
  return v;
}

function bool(r: Reader, key: string, fallback: boolean): boolean {
  const v = r.value(key);
  if (v === undefined || v === null || v === "") return fallback;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  r.fail(key, `must be true or false, got ${describe(v)}`, `set it to ${fallback}`);
  return fallback;
}

/** An IPv4 CIDR whose host bits are zero, as AWS stores it. */
function cidr(r: Reader, key: string, value: unknown, allowWorld: boolean): string {
  const m =
    typeof value === "string"
      ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value)
      : null;
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    r.fail(
      key,
      `${describe(value)} is not an IPv4 CIDR`,
      "write it as a.b.c.d/n, e.g. 10.0.0.0/16",
    );
    return "";
  }
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) {
    const base = address - (address % size);
    const net = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".");
    r.fail(key, `${value as string} has host bits set`, `use ${net}/${prefix}`);
    return "";
  }
  if (prefix === 0 && !allowWorld) {
    r.fail(
      key,
      `${value as string} opens the hosts to the whole internet`,
      "list narrower CIDRs, or set aws.allowWorldCidrs to true if you mean it",
    );
    return "";
  }
  return value as string;
}

function cidrList(r: Reader, key: string, allowWorld: boolean): string[] {
  const v = r.value(key);
  if (v === undefined || v === null || v === "") return [];
  const items = typeof v === "string" ? v.split(",").map((s) => s.trim()) : v;
  if (!Array.isArray(items)) {
    r.fail(key, `must be a list of CIDRs, got ${describe(v)}`, "e.g. [10.0.0.0/16]");
    return [];
  }
  return items.map((c, i) => cidr(r, `${key}[${i}]`, c, allowWorld)).filter((c) => c !== "");
}

function portRange(r: Reader, key: string, fallback: string): PortRange {
  const v = r.value(key);
  const text = v === undefined || v === null || v === "" ? fallback : String(v);
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || from < 1 || to > 65535 || from > to) {
    r.fail(
      key,
      `must be a port or a range such as ${fallback}, got ${describe(v)}`,
      `use ${fallback}`,
    );
    const [a, b] = fallback.split("-").map(Number);
    return { from: a, to: b };
  }
  return { from, to };
}

function home(ctx: ConfigContext, file: string): string {
  return file.startsWith("~/") ? path.join(ctx.homeDir, file.slice(2)) : file;
}

function readFileOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
