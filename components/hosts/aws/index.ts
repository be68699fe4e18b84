import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, HostRole } from "../../config";
import { SshCommandLine } from "../../engines/engine";
import { Host, SshProxy, sshConnection } from "../../host";
import { localCommandDir } from "../../packageRoot";
import { exportLines, shellQuote } from "../../shell";
import { Role, Tags, script } from "./common";
import { cloudConfig } from "./firstBoot";
import { knownHosts } from "./knownHosts";
import { placeHosts } from "./network";
import { instanceProfile } from "./profile";
import { securityGroupRules } from "./securityGroup";

export { cloudConfig } from "./firstBoot";
export { checkPlacement, subnetCidr } from "./network";
export type { Placement } from "./network";

export interface AwsHostsArgs {
  stack: string;
  settings: AwsSettings;
  primaryDbPort: number;
  standbyDbPort: number;
  /** The host clients should reach: the DNS record points at it. */
  activeMaster?: HostRole;
  /**
   * A value the DNS record waits for before it moves (the activation's result), so clients
   * are pointed at a host only once it has been promoted, never at a standby whose
   * activation was refused.
   */
  clientsFollow?: pulumi.Input<unknown>;
  /**
   * A host to cut off at the platform: its instance is moved into a security group with no
   * rules, so that nothing reaches it and it reaches nothing (the fence for a forced
   * failover away from an old primary that cannot be reached to be stopped).
   */
  fence?: HostRole;
}

/** The data volume's device name as EC2 sees it (Nitro shows it as an NVMe disk). */
const DATA_DEVICE = "/dev/sdf";
/** How long a new instance may take to boot and run its first-boot script. */
const BOOT_TIMEOUT_SECONDS = 1200;

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
  private readonly fenced: boolean;

  constructor(name: string, args: AwsHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:hosts:AwsHosts", name, {}, opts);
    const s = args.settings;
    const parent = { parent: this };
    const tags: Tags = (what, role) => ({
      ...s.tags,
      Name: `gpmirror-${args.stack}-${what}`,
      "gpmirror:stack": args.stack,
      ...(role ? { "gpmirror:role": role } : {}),
    });
    this.knownHostsFile = s.connection.knownHostsFile;
    this.privateKeyPath = s.connection.privateKeyPath;
    this.proxy = s.connection.proxy;
    this.fenced = args.fence !== undefined;

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
    const fenceSg = args.fence
      ? new aws.ec2.SecurityGroup(
          `${name}-fence`,
          {
            vpcId: this.vpcId,
            description: `gpmirror ${args.stack}: fence, no traffic in or out`,
            // No rules at all, not even the default allow-all egress.
            egress: [],
            ingress: [],
            tags: tags("fence"),
          },
          parent,
        )
      : undefined;
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
          ...localCommandDir(),
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
          vpcSecurityGroupIds: [fenceSg && args.fence === role ? fenceSg.id : sg.id],
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
    // Points at the active master, once its activation is done; the low TTL lets clients
    // follow soon after.
    const active = args.activeMaster === "standby" ? this.standby : this.primary;
    const record = new aws.route53.Record(
      `${name}-master`,
      {
        zoneId: zone,
        name: `${s.dns.recordName}.${s.dns.zoneName}`,
        type: "A",
        ttl: s.dns.ttl,
        records: pulumi.all([active.address, args.clientsFollow]).apply(([address]) => [address]),
      },
      parent,
    );
    this.dnsName = record.fqdn;
    this.clientEndpoint = pulumi.interpolate`${record.fqdn}:${active.dbPort}`;

    knownHosts(name, s.connection.knownHostsFile, [this.primary, this.standby], s, parent);
    this.registerOutputs({
      vpcId: this.vpcId,
      securityGroupId: this.securityGroupId,
      dnsName: this.dnsName,
      clientEndpoint: this.clientEndpoint,
    });
  }

  /** Parameters of scripts/activate.sh's platform fence: declared here, as a security group. */
  platformFence(): Record<string, string> | undefined {
    return this.fenced ? { GPM_PLATFORM_FENCE: "declared" } : undefined;
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
