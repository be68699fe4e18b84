import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, HostRole } from "../../config";
import { SshCommandLine } from "../../engines/engine";
import { Host, SshProxy, sshConnection } from "../../host";
import { boundedCommand } from "../../remoteStep";
import { exportLines } from "../../shell";
import { IMDS_V2_ONLY, Role, Tags, rootDisk, script } from "./common";
import type { FenceRecord } from "./fence";
import { AWS_FENCE, bootTrigger, checkFence, fenceRecord, instancePower } from "./fence";
import { cloudConfig } from "./firstBoot";
import { bootstrapHostKey, firstContact } from "./firstContact";
import { knownHosts } from "./knownHosts";
import { operatorSsh } from "./operatorSsh";
import { statusAlarms, snapshotPolicy } from "./monitoring";
import { Placement, placeHosts } from "./network";
import {
  AwsRecord,
  HostRecord,
  checkChanges,
  expectedSystemIdentifier,
  previousRecord,
} from "./previous";
import { clientRecordPolicy, instanceProfile } from "./profile";
import { securityGroupRules } from "./securityGroup";
import { attachVolume, dataVolume } from "./volume";
import { witnessHost } from "./witness";

export { cloudConfig } from "./firstBoot";
export { checkPlacement, regionZones, subnetCidr } from "./network";
export { operatorSsh } from "./operatorSsh";
export type { Placement } from "./network";
export { RECORD_OUTPUT, checkChanges } from "./previous";
export type { AwsRecord, HostRecord } from "./previous";

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
  /** protect: a fenced instance starts again only in an update that re-protects it. */
  protect?: boolean;
}

/** The Route53 record clients use, as the agents get it (they UPSERT it after a promotion). */
export interface ClientRecord {
  zoneId: pulumi.Output<string>;
  name: string;
  ttl: number;
}

/** What replaces an instance; ignored unless the host's allowReplace opts in. */
const REPLACING_INSTANCE_INPUTS = [
  "subnetId",
  "associatePublicIpAddress",
  "rootBlockDevice.kmsKeyId",
  "rootBlockDevice.encrypted",
];
/** Bound on the boot check after a (re)start, and on a pair step's wait for SSH. */
const BOOT_CHECK_SECONDS = 600;

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
  /** etcd's third member (activation.automatic): a small instance in a third zone. */
  readonly witness?: Host;
  /** activation.automatic: the record the promoting agent moves (the role may change it only). */
  readonly clientRecord?: ClientRecord;
  private readonly privateKeyPath: string;
  private readonly proxy?: AwsSettings["connection"]["proxy"];
  private readonly fenced: boolean;
  private readonly previous: pulumi.Output<AwsRecord | undefined>;
  private readonly hostRecords: pulumi.Output<Record<Role, HostRecord>>;
  private readonly activeRole: Role;
  private readonly fenceRecord: pulumi.Output<FenceRecord>;
  /** Each master's data volume. */
  readonly volumeIds: Partial<Record<Role, pulumi.Output<string>>> = {};

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
    const witnessSg = s.witness
      ? new aws.ec2.SecurityGroup(
          `${name}-witness-group`,
          {
            vpcId: this.vpcId,
            description: `gpmirror ${args.stack}: etcd's witness for automatic failover`,
            tags: tags("witness"),
          },
          parent,
        )
      : undefined;
    securityGroupRules(
      name,
      s,
      sg.id,
      [args.primaryDbPort, args.standbyDbPort],
      tags,
      parent,
      witnessSg?.id,
    );
    const { profile, role: instanceRole } = instanceProfile(name, s, tags, parent);
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

    const activeRole: Role = args.activeMaster ?? "primary";
    const previous = previousRecord(name, parent);
    this.previous = previous;
    const hostRecord = (role: Role, p: Placement): HostRecord => ({
      instanceType: s.hosts[role].instanceType,
      subnetId: p.subnetIds[role],
      zone: p.zones[role],
      kmsKeyId: s.dataVolume.kmsKeyId ?? "",
      associatePublicIp: s.associatePublicIp,
    });
    // Nothing of a master is created or changed before the change has passed the checks.
    const checked = pulumi.all([previous, placement]).apply(([prev, p]) => {
      checkFence(prev, {
        fence: args.fence,
        protect: args.protect ?? true,
        activeMaster: activeRole,
      });
      checkChanges(
        s,
        prev,
        { primary: hostRecord("primary", p), standby: hostRecord("standby", p) },
        activeRole,
      );
      return p;
    });
    this.hostRecords = checked.apply((p) => ({
      primary: hostRecord("primary", p),
      standby: hostRecord("standby", p),
    }));
    const expectedSystemId = previous.apply((prev) => expectedSystemIdentifier(s, prev));
    this.fenceRecord = previous.apply((prev) => fenceRecord(prev, args.fence));

    const makeHost = (role: Role, dbPort: number): Host => {
      const record = checked.apply((p) => hostRecord(role, p));
      const { keys, publicKey: bootstrapKey } = bootstrapHostKey(
        name,
        args.stack,
        role,
        [record.apply((r) => [r.subnetId, r.zone, r.kmsKeyId, r.associatePublicIp])],
        parent,
      );
      const volume = dataVolume(
        name,
        args.stack,
        role,
        s,
        record.apply((r) => r.zone),
        tags,
        parent,
      );
      const userData = pulumi.secret(
        pulumi.all([keys, volume.id]).apply(([k, volumeId]) =>
          cloudConfig(k, {
            GPM_OS_USER: s.osUser,
            GPM_OS_UID: String(s.osUid),
            GPM_AUTHORIZED_KEY: s.connection.publicKey,
            GPM_DATA_DIR: s.dataDir,
            GPM_DATA_VOLUME_ID: volumeId,
            GPM_GP_PREINSTALLED: String(s.greenplum.preinstalled),
            GPM_GP_PACKAGE_URL: s.greenplum.packageUrl,
            GPM_GP_PACKAGE_SHA256: s.greenplum.packageSha256,
            GPM_AUTO_PACKAGES: String(s.witness !== undefined),
          }),
        ),
      );
      const instance = new aws.ec2.Instance(
        `${name}-${role}`,
        {
          ami,
          instanceType: s.hosts[role].instanceType,
          subnetId: record.apply((r) => r.subnetId),
          vpcSecurityGroupIds: [fenceSg && args.fence === role ? fenceSg.id : sg.id],
          associatePublicIpAddress: s.associatePublicIp,
          iamInstanceProfile: profile.name,
          metadataOptions: IMDS_V2_ONLY,
          ebsOptimized: true,
          // The data is on a volume of its own (volume.ts).
          rootBlockDevice: rootDisk(s, tags(`${role}-root`, role)),
          // Terminating a master takes turning this off first (README: destroying a stack).
          disableApiTermination: s.terminationProtection,
          // Never stop-protected: a forced failover and an instance type change stop it.
          disableApiStop: false,
          userData,
          tags: tags(role, role),
        },
        {
          ...parent,
          // First-boot input only: a newer AMI or edited user data must not rebuild a running
          // master. What else would replace it is ignored (and refused at preview, previous.ts)
          // unless aws.hosts.<role>.allowReplace opts in.
          ignoreChanges: [
            "ami",
            "userData",
            // A refresh reads the attached data volume back into this list; it is managed by
            // the VolumeAttachment, and a diff here would replace the instance.
            "ebsBlockDevices",
            ...(s.hosts[role].allowReplace ? [] : REPLACING_INSTANCE_INPUTS),
          ],
        },
      );
      const attachment = attachVolume(name, role, volume, instance, parent);
      // The fence's forced stop (and the start that lifts it) comes after the instance's own
      // update (the security group swap), and before anything connects to the host.
      const power = instancePower(name, role, instance, args.fence === role, parent);
      const base = {
        role,
        name: pulumi.output(`${role}_${args.stack.replace(/-/g, "_")}`),
        address: instance.privateIp,
        sshPort: pulumi.output(22),
        user: pulumi.output(s.osUser),
        privateKey: s.connection.privateKey,
        dbPort,
        dataDir: pulumi.output(s.dataDir),
        proxy,
        // The pair's steps come after the boot check; a stopped and started host boots again.
        connectSeconds: BOOT_CHECK_SECONDS,
        hostKeyFix: `the instance's key is learned at first contact (first-contact.sh); if the ${role} instance was rebuilt outside Pulumi, pulumi up --replace its ${name}-${role}-host-key and first-contact resources; otherwise find out who answers at its address`,
      };
      // Once per instance: wait for first boot, have the host replace the bootstrap key, and
      // learn the new one over the connection pinned to the old.
      const { step: firstContactStep, hostKey } = firstContact(
        name,
        base,
        bootstrapKey,
        instance,
        [instance, attachment],
        parent,
      );
      // Changes whenever the host was replaced, stopped for a new type, or got a new volume:
      // the boot check and every step of the pair run again (and start the database again).
      const generation = pulumi.interpolate`${instance.id} ${instance.instanceType} ${volume.id}`;
      const host: Host = {
        ...base,
        hostKey,
        instance: generation,
        ready: [instance, attachment, firstContactStep],
        expectedSystemIdentifier: expectedSystemId,
      };
      const boot = new command.remote.Command(
        `${name}-${role}-boot`,
        {
          connection: { ...sshConnection(host), dialErrorLimit: 90 },
          create: boundedCommand(`${name}-${role}-boot`, BOOT_CHECK_SECONDS),
          update: boundedCommand(`${name}-${role}-boot`, BOOT_CHECK_SECONDS),
          stdin: pulumi.interpolate`set -euo pipefail\n${volume.id.apply((v) => exportLines({ GPM_DATA_DIR: s.dataDir, GPM_DATA_VOLUME_ID: v }))}${script("boot-check.sh")}`,
          logging: "stderr",
          addPreviousOutputInEnv: false,
          triggers: bootTrigger(generation, this.fenceRecord, role),
        },
        {
          ...parent,
          dependsOn: [instance, attachment, firstContactStep, power],
          customTimeouts: { create: "1200s", update: "1200s" },
        },
      );
      if (s.autoRecovery) statusAlarms(name, role, instance.id, tags, parent);
      this.volumeIds[role] = volume.id;
      return { ...host, ready: [instance, attachment, firstContactStep, power, boot] };
    };
    this.activeRole = activeRole;
    this.primary = makeHost("primary", args.primaryDbPort);
    this.standby = makeHost("standby", args.standbyDbPort);
    if (s.snapshots.enabled) snapshotPolicy(name, args.stack, s, tags, parent);
    if (s.witness && witnessSg) {
      this.witness = witnessHost(
        name,
        args.stack,
        s,
        s.witness,
        checked,
        ami,
        witnessSg.id,
        proxy,
        tags,
        parent,
      );
    }

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
    const recordName = `${s.dns.recordName}.${s.dns.zoneName}`;
    if (s.witness) {
      clientRecordPolicy(name, instanceRole, zone, recordName, parent);
      this.clientRecord = { zoneId: zone, name: recordName, ttl: s.dns.ttl };
    }
    this.clientEndpoint = pulumi.interpolate`${record.fqdn}:${active.dbPort}`;

    knownHosts(
      name,
      s.connection.knownHostsFile,
      [this.primary, this.standby, ...(this.witness ? [this.witness] : [])],
      s,
      parent,
    );
    this.registerOutputs({
      vpcId: this.vpcId,
      securityGroupId: this.securityGroupId,
      dnsName: this.dnsName,
      clientEndpoint: this.clientEndpoint,
    });
  }

  /**
   * What this update built, for the next one to compare with (the stack output
   * RECORD_OUTPUT): the hosts, the active master, and the database system identifier, the
   * primary step's, else the one recorded before.
   */
  record(systemIdentifier: pulumi.Input<string | undefined>): pulumi.Output<AwsRecord> {
    return pulumi
      .all([this.hostRecords, this.previous, systemIdentifier, this.fenceRecord])
      .apply(([hosts, prev, id, fence]) => {
        const known = id || prev?.systemIdentifier;
        return {
          hosts,
          activeMaster: this.activeRole,
          ...(known ? { systemIdentifier: known } : {}),
          ...fence,
        };
      });
  }

  /**
   * Parameters of scripts/activate.sh's platform fence: declared here (the instance stopped
   * and cut off before the activation runs), with what it does and does not do.
   */
  platformFence(): Record<string, string> | undefined {
    return this.fenced ? { ...AWS_FENCE } : undefined;
  }

  /** The command line an operator uses: pinned keys from the known_hosts file, via the bastion. */
  prefix(host: Host): pulumi.Output<string> {
    const c = {
      privateKeyPath: this.privateKeyPath,
      knownHostsFile: this.knownHostsFile,
      proxy: this.proxy,
    };
    return pulumi
      .all([host.sshPort, host.user, host.address])
      .apply(([port, user, address]) => operatorSsh(c, user, address, port));
  }
}
