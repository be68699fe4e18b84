import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, PortRange } from "../config";
import { SshCommandLine } from "../engines/engine";
import { Host, SshProxy, sshConnection } from "../host";
import { exportLines, shellQuote } from "../shell";

export interface AwsHostsArgs {
  stack: string;
  settings: AwsSettings;
  primaryDbPort: number;
  standbyDbPort: number;
}

type Role = "primary" | "standby";
const ROLES: readonly Role[] = ["primary", "standby"];
const SCRIPTS = path.join(__dirname, "..", "..", "scripts", "aws");
/** The data volume's device name as EC2 sees it (Nitro shows it as an NVMe disk). */
const DATA_DEVICE = "/dev/sdf";
/** How long a new instance may take to boot and run its first-boot script. */
const BOOT_TIMEOUT_SECONDS = 1200;
const SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

/** Where the two masters' subnets are, after the checks that need AWS's answers. */
export interface Placement {
  vpcId: string;
  subnetIds: Record<Role, string>;
  zones: Record<Role, string>;
}

/**
 * The two masters on EC2, in two availability zones, behind a least-privilege security
 * group, with a private DNS record that clients use to reach the active master. gpmirror
 * reaches them over SSH from the machine that runs Pulumi (through a bastion when one is
 * given), checking host keys that were generated here and installed at first boot.
 */
export class AwsHosts extends pulumi.ComponentResource implements SshCommandLine {
  readonly primary: Host;
  readonly standby: Host;
  readonly vpcId: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  /** The Route53 name clients use; activation points it at the standby. */
  readonly dnsName: pulumi.Output<string>;
  /** `name:port` for clients: the DNS name, not an instance's address. */
  readonly clientEndpoint: pulumi.Output<string>;
  readonly knownHostsFile: string;
  private readonly privateKeyPath: string;
  private readonly proxy?: AwsSettings["connection"]["proxy"];

  constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:hosts:AwsHosts", name, {}, opts);
    const s = args.settings;
    const parent = { parent: this };
    const tags = (what: string, role?: Role): Record<string, string> => ({
      ...s.tags,
      Name: `gpmirror-${args.stack}-${what}`,
      "gpmirror:stack": args.stack,
      ...(role ? { "gpmirror:role": role } : {}),
    });
    this.knownHostsFile = s.connection.knownHostsFile;
    this.privateKeyPath = s.connection.privateKeyPath;
    this.proxy = s.connection.proxy;

    const placement = placeHosts(name, s, tags, parent);
    this.vpcId = placement.apply((p) => p.vpcId);
    const sg = new aws.ec2.SecurityGroup(
      `${name}-masters`,
      {
        vpcId: this.vpcId,
        description: `gpmirror ${args.stack}: the Greenplum master and its standby`,
        tags: tags("masters"),
      },
      parent,
    );
    this.securityGroupId = sg.id;
    securityGroupRules(name, s, sg.id, [args.primaryDbPort, args.standbyDbPort], tags, parent);
    const profile = instanceProfile(name, s, tags, parent);
    const ami = s.ami.id
      ? pulumi.output(s.ami.id)
      : aws.ec2
          .getAmiOutput(
            {
              owners: [s.ami.owner],
              mostRecent: true,
              filters: [
                { name: "name", values: [s.ami.nameFilter] },
                { name: "state", values: ["available"] },
              ],
            },
            parent,
          )
          .apply((a) => a.id);

    const proxy: SshProxy | undefined = s.connection.proxy && {
      address: pulumi.output(s.connection.proxy.address),
      sshPort: pulumi.output(s.connection.proxy.sshPort),
      user: pulumi.output(s.connection.proxy.user),
      privateKey: s.connection.privateKey,
      hostKey: pulumi.output(s.connection.proxy.hostKey),
    };

    const makeHost = (role: Role, dbPort: number): Host => {
      // Generated once, here, and kept (secret) in the state: the key sshd presents is known
      // before the instance exists, so it is pinned rather than trusted on first use.
      const hostKeyPair = new command.local.Command(
        `${name}-${role}-host-key`,
        {
          create: "bash scripts/aws/host-key.sh",
          environment: { GPM_COMMENT: `gpmirror-${args.stack}-${role}` },
          logging: "none",
        },
        { ...parent, additionalSecretOutputs: ["stdout"] },
      );
      const keys = hostKeyPair.stdout.apply(
        (out) => JSON.parse(out) as { privateKey: string; publicKey: string },
      );
      const hostKey = pulumi.unsecret(keys.apply((k) => k.publicKey));
      const userData = pulumi.secret(
        keys.apply((k) =>
          cloudConfig(k, {
            GPM_OS_USER: s.osUser,
            GPM_AUTHORIZED_KEY: s.connection.publicKey,
            GPM_DATA_DIR: s.dataDir,
            GPM_GP_PREINSTALLED: String(s.greenplum.preinstalled),
            GPM_GP_PACKAGE_URL: s.greenplum.packageUrl,
            GPM_GP_PACKAGE_SHA256: s.greenplum.packageSha256,
          }),
        ),
      );
      const volume = (sizeGiB: number, what: string) => ({
        volumeType: "gp3",
        volumeSize: sizeGiB,
        encrypted: true,
        kmsKeyId: s.dataVolume.kmsKeyId,
        deleteOnTermination: true,
        tags: tags(`${role}-${what}`, role),
      });
      const instance = new aws.ec2.Instance(
        `${name}-${role}`,
        {
          ami,
          instanceType: s.instanceType,
          subnetId: placement.apply((p) => p.subnetIds[role]),
          vpcSecurityGroupIds: [sg.id],
          associatePublicIpAddress: s.associatePublicIp,
          iamInstanceProfile: profile.name,
          // IMDSv2 only, one hop: a process in a container on the host cannot take the role.
          metadataOptions: {
            httpEndpoint: "enabled",
            httpTokens: "required",
            httpPutResponseHopLimit: 1,
          },
          ebsOptimized: true,
          rootBlockDevice: volume(s.rootVolumeSizeGiB, "root"),
          ebsBlockDevices: [
            {
              deviceName: DATA_DEVICE,
              ...volume(s.dataVolume.sizeGiB, "data"),
              iops: s.dataVolume.iops,
              throughput: s.dataVolume.throughputMiBps,
            },
          ],
          userData,
          tags: tags(role, role),
        },
        {
          ...parent,
          // First-boot input only: a newer AMI or edited user data must not rebuild a running
          // master. Rebuild one on purpose with `pulumi up --replace <its URN>`.
          ignoreChanges: ["ami", "userData"],
        },
      );
      const host: Host = {
        role,
        name: pulumi.output(`${role}_${args.stack.replace(/-/g, "_")}`),
        address: instance.privateIp,
        sshPort: pulumi.output(22),
        user: pulumi.output(s.osUser),
        privateKey: s.connection.privateKey,
        hostKey,
        dbPort,
        dataDir: pulumi.output(s.dataDir),
        instance: instance.id,
        ready: [instance],
        proxy,
      };
      const boot = new command.remote.Command(
        `${name}-${role}-boot`,
        {
          // A new instance takes a while to answer SSH: retry for up to ~15 minutes.
          connection: { ...sshConnection(host), dialErrorLimit: 90 },
          create: "bash -s",
          stdin: `set -euo pipefail\n${exportLines({ GPM_TIMEOUT_SECONDS: String(BOOT_TIMEOUT_SECONDS) })}${script("boot-wait.sh")}`,
          logging: "stderr",
          triggers: [instance.id],
        },
        {
          ...parent,
          dependsOn: [instance],
          customTimeouts: { create: `${BOOT_TIMEOUT_SECONDS + 300}s` },
        },
      );
      return { ...host, ready: [instance, boot] };
    };
    this.primary = makeHost("primary", args.primaryDbPort);
    this.standby = makeHost("standby", args.standbyDbPort);

    const zone = s.dns.zoneId
      ? pulumi.output(s.dns.zoneId)
      : new aws.route53.Zone(
          `${name}-zone`,
          {
            name: s.dns.zoneName,
            comment: `gpmirror ${args.stack}: private names of the Greenplum master`,
            vpcs: [{ vpcId: this.vpcId }],
            tags: tags("zone"),
          },
          parent,
        ).zoneId;
    // Points at the primary. Activation moves it to the standby; the low TTL lets clients
    // follow soon after.
    const record = new aws.route53.Record(
      `${name}-master`,
      {
        zoneId: zone,
        name: `${s.dns.recordName}.${s.dns.zoneName}`,
        type: "A",
        ttl: s.dns.ttl,
        records: [this.primary.address],
      },
      parent,
    );
    this.dnsName = record.fqdn;
    this.clientEndpoint = pulumi.interpolate`${record.fqdn}:${args.primaryDbPort}`;

    knownHosts(name, s.connection.knownHostsFile, [this.primary, this.standby], s, parent);
    this.registerOutputs({
      vpcId: this.vpcId,
      securityGroupId: this.securityGroupId,
      dnsName: this.dnsName,
      clientEndpoint: this.clientEndpoint,
    });
  }

  /** The command line an operator uses: pinned keys from the known_hosts file, via the bastion. */
  prefix(host: Host): pulumi.Output<string> {
    const key = this.privateKeyPath === "" ? "" : `-i ${shellQuote(this.privateKeyPath)} `;
    const checked = `${key}-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${shellQuote(this.knownHostsFile)}`;
    const p = this.proxy;
    const jump = p
      ? ` -o ProxyCommand=${shellQuote(`ssh ${checked} -W %h:%p -p ${p.sshPort} ${p.user}@${p.address}`)}`
      : "";
    return pulumi
      .all([host.sshPort, host.user, host.address])
      .apply(([port, user, address]) => `ssh ${checked}${jump} -p ${port} ${user}@${address}`);
  }
}

/** The user's subnets (checked against AWS's answers), or a new VPC with two private subnets. */
function placeHosts(
  name: string,
  s: AwsSettings,
  tags: (what: string, role?: Role) => Record<string, string>,
  parent: pulumi.CustomResourceOptions,
): pulumi.Output<Placement> {
  const n = s.network;
  if (n.primarySubnetId && n.standbySubnetId) {
    const a = aws.ec2.getSubnetOutput({ id: n.primarySubnetId }, parent);
    const b = aws.ec2.getSubnetOutput({ id: n.standbySubnetId }, parent);
    return pulumi
      .all([a.vpcId, a.availabilityZone, b.vpcId, b.availabilityZone])
      .apply(([vpcA, zoneA, vpcB, zoneB]) =>
        checkPlacement(
          s,
          {
            vpcId: vpcA,
            subnetIds: { primary: n.primarySubnetId ?? "", standby: n.standbySubnetId ?? "" },
            zones: { primary: zoneA, standby: zoneB },
          },
          vpcB,
        ),
      );
  }
  const zones: pulumi.Output<[string, string]> = n.zones
    ? pulumi.output<[string, string]>(n.zones)
    : aws
        .getAvailabilityZonesOutput({ state: "available" }, parent)
        .names.apply((names): [string, string] => {
          if (names.length < 2 && !s.allowSameZone) {
            throw new Error(
              "gpmirror:aws.network.zones: this region offers fewer than two availability zones. Fix: use another region, or set aws.allowSameZone to true",
            );
          }
          return [names[0], names[1] ?? names[0]];
        });
  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    {
      cidrBlock: n.vpcCidr,
      // The private zone's record needs the VPC's resolver.
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: tags("vpc"),
    },
    parent,
  );
  const subnets = ROLES.map(
    (role, i) =>
      new aws.ec2.Subnet(
        `${name}-${role}-subnet`,
        {
          vpcId: vpc.id,
          cidrBlock: subnetCidr(n.vpcCidr, i + 1),
          availabilityZone: zones.apply((z) => z[i]),
          // Private: no public address, and the VPC has no internet gateway.
          mapPublicIpOnLaunch: false,
          tags: tags(`${role}-subnet`, role),
        },
        parent,
      ),
  );
  return pulumi
    .all([vpc.id, subnets[0].id, subnets[1].id, zones])
    .apply(([vpcId, primary, standby, z]) =>
      checkPlacement(
        s,
        {
          vpcId,
          subnetIds: { primary, standby },
          zones: { primary: z[0], standby: z[1] },
        },
        vpcId,
      ),
    );
}

/** Refuses, at preview, masters in one zone (unless allowed) or in two VPCs. */
export function checkPlacement(s: AwsSettings, p: Placement, standbyVpcId: string): Placement {
  if (standbyVpcId !== p.vpcId) {
    throw new Error(
      `gpmirror:aws.network.standbySubnetId: ${p.subnetIds.standby} is in ${standbyVpcId}, the primary's subnet in ${p.vpcId}. Fix: use two subnets of one VPC`,
    );
  }
  if (s.network.vpcId && s.network.vpcId !== p.vpcId) {
    throw new Error(
      `gpmirror:aws.network.vpcId: the subnets are in ${p.vpcId}, not ${s.network.vpcId}. Fix: set vpcId to ${p.vpcId}, or use subnets of ${s.network.vpcId}`,
    );
  }
  if (p.zones.primary === p.zones.standby && !s.allowSameZone) {
    throw new Error(
      `gpmirror:aws.network.standbySubnetId: both masters would be in ${p.zones.primary}, so one zone outage would take the pair. Fix: use a subnet in another zone, or set aws.allowSameZone to true`,
    );
  }
  return p;
}

/** The i-th /24 of a VPC CIDR of /23 or wider (config checks the size). */
export function subnetCidr(vpcCidr: string, i: number): string {
  const [base] = vpcCidr.split("/");
  const n = base.split(".").reduce((a, o) => a * 256 + Number(o), 0) + i * 256;
  return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")}/24`;
}

/**
 * Least privilege, one rule a resource so that each can be read (and tested) alone. Nothing
 * is open to 0.0.0.0/0 unless config allowed it explicitly (config refuses /0 otherwise).
 */
function securityGroupRules(
  name: string,
  s: AwsSettings,
  sgId: pulumi.Output<string>,
  dbPorts: number[],
  tags: (what: string) => Record<string, string>,
  parent: pulumi.CustomResourceOptions,
): void {
  type Peer = { key: string; cidrIpv4?: string; referencedSecurityGroupId?: pulumi.Input<string> };
  type Ports = { protocol: "tcp" | "udp" | "icmp"; from: number; to: number; what: string };
  const a = s.access;
  const masters: Peer[] = [{ key: "masters", referencedSecurityGroupId: sgId }];
  const cidrPeers = (what: string, cidrs: string[]): Peer[] =>
    cidrs.map((c, i) => ({ key: `${what}${i}`, cidrIpv4: c }));
  const segments: Peer[] = [
    ...(a.segmentSecurityGroupId
      ? [{ key: "segments", referencedSecurityGroupId: a.segmentSecurityGroupId }]
      : []),
    ...cidrPeers("segments", a.segmentCidrs),
  ];
  const admins: Peer[] = [
    ...cidrPeers("admin", a.adminCidrs),
    ...(s.connection.proxy?.securityGroupId
      ? [{ key: "bastion", referencedSecurityGroupId: s.connection.proxy.securityGroupId }]
      : []),
  ];
  const db: Ports[] = [...new Set(dbPorts)].map((p) => ({
    protocol: "tcp",
    from: p,
    to: p,
    what: `db${p}`,
  }));
  const range = (protocol: "tcp" | "udp", r: PortRange, what: string): Ports => ({
    protocol,
    from: r.from,
    to: r.to,
    what,
  });
  const ssh: Ports = { protocol: "tcp", from: 22, to: 22, what: "ssh" };
  // ICMP: from port is the type (8, echo request), to port the code (0).
  const ping: Ports = { protocol: "icmp", from: 8, to: 0, what: "ping" };
  const interconnect = [
    range("tcp", a.interconnectPorts, "ic-tcp"),
    range("udp", a.interconnectPorts, "ic-udp"),
  ];

  const rule = (dir: "in" | "out", why: string, peers: Peer[], ports: Ports[]) => {
    for (const peer of peers) {
      for (const p of ports) {
        const args = {
          securityGroupId: sgId,
          description: why,
          ipProtocol: p.protocol,
          fromPort: p.from,
          toPort: p.to,
          cidrIpv4: peer.cidrIpv4,
          referencedSecurityGroupId: peer.referencedSecurityGroupId,
          tags: tags(`${dir}-${p.what}-${peer.key}`),
        };
        const ruleName = `${name}-${dir}-${p.what}-${peer.key}`;
        if (dir === "in") new aws.vpc.SecurityGroupIngressRule(ruleName, args, parent);
        else new aws.vpc.SecurityGroupEgressRule(ruleName, args, parent);
      }
    }
  };

  // Between the two masters: replication, and Greenplum's utilities (ssh, ping).
  rule("in", "replication and utilities between the masters", masters, [...db, ssh, ping]);
  rule("out", "replication and utilities between the masters", masters, [...db, ssh, ping]);
  // Segments connect to the master port; query results come back over the interconnect.
  rule("in", "segment hosts to the master", segments, [...db, ...interconnect]);
  // A promoted standby runs the cluster: segment ports, interconnect, and ssh for gpstart.
  rule("out", "masters to the segment hosts", segments, [
    range("tcp", a.segmentPorts, "segment"),
    ...interconnect,
    ssh,
  ]);
  rule("in", "database clients", cidrPeers("client", a.clientCidrs), db);
  rule("in", "administration over SSH", admins, [ssh]);
  rule("out", "package download and SSM", cidrPeers("https", a.httpsEgressCidrs), [
    { protocol: "tcp", from: 443, to: 443, what: "https" },
  ]);
}

/** A role that SSM can manage the hosts with, and that may read the Greenplum package. */
function instanceProfile(
  name: string,
  s: AwsSettings,
  tags: (what: string) => Record<string, string>,
  parent: pulumi.CustomResourceOptions,
): aws.iam.InstanceProfile {
  const role = new aws.iam.Role(
    `${name}-role`,
    {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "ec2.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      }),
      tags: tags("role"),
    },
    parent,
  );
  new aws.iam.RolePolicyAttachment(
    `${name}-ssm`,
    { role: role.name, policyArn: SSM_POLICY },
    parent,
  );
  const url = s.greenplum.packageUrl;
  if (!s.greenplum.preinstalled && url.startsWith("s3://")) {
    new aws.iam.RolePolicy(
      `${name}-package`,
      {
        role: role.id,
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "s3:GetObject", Resource: `arn:aws:s3:::${url.slice(5)}` },
          ],
        }),
      },
      parent,
    );
  }
  return new aws.iam.InstanceProfile(
    `${name}-profile`,
    { role: role.name, tags: tags("profile") },
    parent,
  );
}

/** The known_hosts file the operator's command names: the pinned keys, nothing secret. */
function knownHosts(
  name: string,
  file: string,
  hosts: Host[],
  s: AwsSettings,
  parent: pulumi.CustomResourceOptions,
): command.local.Command {
  const proxy = s.connection.proxy;
  const lines = pulumi
    .all(hosts.map((h) => pulumi.all([h.address, h.hostKey])))
    .apply((pairs) =>
      [
        ...pairs.map(([address, key]) => `${address} ${key}`),
        ...(proxy
          ? [
              `${proxy.sshPort === 22 ? proxy.address : `[${proxy.address}]:${proxy.sshPort}`} ${proxy.hostKey}`,
            ]
          : []),
      ].join("\n"),
    );
  const environment = { GPM_KNOWN_HOSTS_FILE: file, GPM_KNOWN_HOSTS: lines };
  return new command.local.Command(
    `${name}-known-hosts`,
    {
      create: "bash scripts/aws/known-hosts.sh create",
      delete: "bash scripts/aws/known-hosts.sh destroy",
      environment,
      logging: "stderr",
    },
    parent,
  );
}

/**
 * User data as cloud-config (JSON is YAML): cloud-init installs the pinned host key before
 * sshd first starts, then runs scripts/aws/user-data.sh with its parameters as quoted
 * `export` lines. It holds the host's private key, so it stays a secret.
 */
export function cloudConfig(
  hostKey: { privateKey: string; publicKey: string },
  params: Record<string, string>,
): string {
  const [shebang, ...body] = script("user-data.sh").split("\n");
  const text = `${shebang}\n${exportLines(params)}${body.join("\n")}`;
  return `#cloud-config\n${JSON.stringify({
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: { ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey },
    write_files: [
      {
        path: "/var/lib/gpmirror/user-data.sh",
        permissions: "0700",
        owner: "root:root",
        content: text,
      },
    ],
    runcmd: [["bash", "/var/lib/gpmirror/user-data.sh"]],
  })}\n`;
}

function script(file: string): string {
  return fs.readFileSync(path.join(SCRIPTS, file), "utf8");
}
