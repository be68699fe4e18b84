// The AWS plan that keeps data safe (issue 14), under Pulumi's mocks: data volumes that
// outlive instances and `destroy`, termination protection, what a change may replace or
// stop, the recorded system identifier, and the steps that run again after a stop.
// Resource options are captured through a transformation on the component, which its
// children inherit.
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, parseSettings, RawSettings } from "../../components/config";
import { PostgresEngine } from "../../components/engines/postgres";
import { GreenplumEngine } from "../../components/engines/greenplum";
import { AwsHosts, AwsRecord, HostRecord, checkChanges } from "../../components/hosts/aws";
import { MasterMirror } from "../../components/masterMirror";
import { mockAwsProgram, recordedHost } from "../support/awsProgram";
import { plain, value } from "../support/mockValues";
import { fakeKey } from "../fixtures/keys";

const options = new Map<string, pulumi.CustomResourceOptions>();
/** What each AwsHosts' reference to its own stack reads: by the reference's name. */
const previousOutputs: Record<string, Record<string, unknown>> = {};
const created = mockAwsProgram({}, (ref) => previousOutputs[ref] ?? {}, {
  "mirror-primary": '{"running":true,"systemIdentifier":"7712486893244621282"}',
});
const order = () => created.map((c) => c.name);

function settings(aws: Record<string, unknown> = {}, more: RawSettings = {}): AwsSettings {
  const raw: RawSettings = {
    platform: "aws",
    ...more,
    aws: {
      access: { segmentSecurityGroupId: "sg-0555555555555555a", adminCidrs: ["10.0.0.0/24"] },
      greenplum: { preinstalled: true },
      connection: { publicKey: "ssh-ed25519 AAAAclient", privateKey: fakeKey("x") },
      ...aws,
    },
  };
  const c = parseSettings(raw, { stack: "unit", uid: 1000, homeDir: "/home/ci" });
  if (!c.aws) throw new Error("no aws settings");
  return c.aws;
}

const capture: pulumi.ResourceTransformation = (a) => {
  options.set(a.name, a.opts);
  return undefined;
};
const build = (name: string, s: AwsSettings, activeMaster?: "primary" | "standby") =>
  new AwsHosts(
    name,
    { stack: "unit", settings: s, primaryDbPort: 5432, standbyDbPort: 5432, activeMaster },
    { transformations: [capture] },
  );

const HOST = recordedHost;
const RECORD: AwsRecord = {
  hosts: {
    primary: HOST("us-east-1a", "aws-primary-subnet-id"),
    standby: HOST("us-east-1b", "aws-standby-subnet-id"),
  },
  activeMaster: "primary",
  systemIdentifier: "7712486893244621282",
};

// A new stack with the defaults.
const fresh = build("aws", settings());
const mirror = new MasterMirror("mirror", {
  primary: fresh.primary,
  standby: fresh.standby,
  engine: new PostgresEngine(),
  replication: parseSettings({}, { stack: "unit", uid: 0, homeDir: "/root" }).replication,
  replicationPassword: pulumi.secret("0123456789abcdef0123456789abcdef"),
  ssh: fresh,
});
// The opt-ins: volumes deleted on destroy, the standby may be rebuilt, no protection.
const optIn = build(
  "opt",
  settings({
    dataVolume: { deleteOnDestroy: true },
    hosts: { standby: { allowReplace: true } },
    terminationProtection: false,
    autoRecovery: false,
    snapshots: { enabled: false },
    access: {
      segmentSecurityGroupId: "sg-0555555555555555a",
      adminCidrs: ["10.0.0.0/24"],
      writeSegmentIngress: true,
    },
  }),
);
// A stack with a record: the standby alone gets a bigger type.
previousOutputs["next-previous"] = {
  awsRecord: {
    ...RECORD,
    hosts: {
      primary: HOST("us-east-1a", "next-primary-subnet-id"),
      standby: HOST("us-east-1b", "next-standby-subnet-id"),
    },
  },
};
const next = build("next", settings({ hosts: { standby: { instanceType: "r6i.2xlarge" } } }));
const nextRecord = next.record(undefined);

beforeAll(async () => {
  await value(mirror.replication);
  await value(pulumi.all([optIn.primary.hostKey, next.standby.hostKey, nextRecord]));
  await new Promise((r) => setTimeout(r, 300));
});

const named = (name: string) => {
  const c = created.find((x) => x.name === name && !x.type.startsWith("gpmirror:"));
  if (!c) throw new Error(`no resource ${name}`);
  return plain(c.inputs) as Record<string, unknown>;
};
const opts = (name: string) => options.get(name) ?? {};

describe("data volumes that outlive instances", () => {
  it("gives each master a gp3 volume of its own, in its own zone, attached to it", () => {
    for (const [role, zone] of [
      ["primary", "us-east-1a"],
      ["standby", "us-east-1b"],
    ]) {
      expect(named(`aws-${role}-data`)).toMatchObject({
        availabilityZone: zone,
        type: "gp3",
        encrypted: true,
        finalSnapshot: true,
        tags: { "gpmirror:data-volume": "unit", "gpmirror:role": role },
      });
      expect(named(`aws-${role}-data-attachment`)).toEqual({
        deviceName: "/dev/sdf",
        volumeId: `aws-${role}-data-id`,
        instanceId: `aws-${role}-id`,
        stopInstanceBeforeDetaching: true,
      });
    }
  });

  it("keeps the volumes in AWS on destroy and on a replacement, unless deleteOnDestroy", () => {
    expect(opts("aws-primary-data").retainOnDelete).toBe(true);
    expect(opts("aws-standby-data").retainOnDelete).toBe(true);
    expect(opts("opt-primary-data").retainOnDelete).toBe(false);
    // Deleted only after EC2 took a final snapshot.
    expect(named("opt-primary-data")["finalSnapshot"]).toBe(true);
  });

  it("ignores what would replace a volume or an instance, unless the host opts in", () => {
    expect(opts("aws-primary-data").ignoreChanges).toEqual([
      "availabilityZone",
      "encrypted",
      "kmsKeyId",
      "snapshotId",
    ]);
    expect(opts("aws-standby").ignoreChanges).toEqual([
      "ami",
      "userData",
      "ebsBlockDevices",
      "subnetId",
      "associatePublicIpAddress",
      "rootBlockDevice.kmsKeyId",
      "rootBlockDevice.encrypted",
    ]);
    // allowReplace on the standby: only its own replacements go through.
    expect(opts("opt-standby-data").ignoreChanges).toEqual([]);
    expect(opts("opt-standby").ignoreChanges).toEqual(["ami", "userData", "ebsBlockDevices"]);
    expect(opts("opt-primary").ignoreChanges).toContain("subnetId");
  });

  it("protects the instances from termination, never from a stop", () => {
    expect(named("aws-primary")).toMatchObject({
      disableApiTermination: true,
      disableApiStop: false,
    });
    expect(named("opt-primary")["disableApiTermination"]).toBe(false);
    const root = named("aws-primary")["rootBlockDevice"] as Record<string, unknown>;
    expect(root["deleteOnTermination"]).toBe(true);
  });

  it("creates the volume before the instance, whose user data names it", () => {
    expect(order().indexOf("aws-primary-data")).toBeLessThan(order().indexOf("aws-primary"));
    expect(order().indexOf("aws-primary-data-attachment")).toBeGreaterThan(
      order().indexOf("aws-primary"),
    );
    const userData = String(named("aws-primary")["userData"]);
    expect(userData).toContain("export GPM_DATA_VOLUME_ID='aws-primary-data-id'");
    expect(userData).toContain("nvme-Amazon_Elastic_Block_Store_${GPM_DATA_VOLUME_ID//-/}");
    // No fallback to the root disk: the mount is not optional at boot.
    expect(userData).toContain("xfs rw,nodev,noatime,inode64,x-systemd.device-timeout=300s 0 2");
    expect(userData).not.toMatch(/\bnofail\b/);
  });

  it("checks at every boot that the data directory's parent is that volume", () => {
    const boot = named("aws-primary-boot");
    expect(String(boot["stdin"])).toContain("export GPM_DATA_VOLUME_ID='aws-primary-data-id'");
    expect(String(boot["stdin"])).toContain("is not the data volume");
    expect(order().indexOf("aws-primary-boot")).toBeGreaterThan(
      order().indexOf("aws-primary-data-attachment"),
    );
  });
});

describe("the steps run again when a host was stopped or rebuilt", () => {
  it("triggers the boot check and every step on the instance, its type and its volume", () => {
    const generation = "aws-primary-id m6i.xlarge aws-primary-data-id";
    expect(named("aws-primary-boot")["triggers"]).toEqual([generation]);
    expect(named("mirror-primary")["triggers"]).toEqual([generation]);
    expect(named("mirror-prepare-primary")["triggers"]).toEqual([generation]);
    expect(named("mirror-standby")["triggers"]).toEqual([
      "aws-standby-id m6i.xlarge aws-standby-data-id",
    ]);
  });

  it("gives each host its own instance type, so one can change at a time", () => {
    expect(named("next-standby")["instanceType"]).toBe("r6i.2xlarge");
    expect(named("next-primary")["instanceType"]).toBe("m6i.xlarge");
    expect(named("next-standby-boot")["triggers"]).toEqual([
      "next-standby-id r6i.2xlarge next-standby-data-id",
    ]);
  });
});

describe("the record of the last update", () => {
  it("keeps the hosts, the active master and the system identifier for the next update", async () => {
    expect(await value(nextRecord)).toEqual({
      hosts: {
        primary: HOST("us-east-1a", "next-primary-subnet-id"),
        standby: HOST("us-east-1b", "next-standby-subnet-id", "r6i.2xlarge"),
      },
      activeMaster: "primary",
      // Carried over while the primary step has not reported one.
      systemIdentifier: "7712486893244621282",
    });
    expect((await value(fresh.record(mirror.systemIdentifier))).systemIdentifier).toBe(
      "7712486893244621282",
    );
  });

  it("hands the recorded identifier to both engines' primary step, unless opted out", async () => {
    expect(await value(next.primary.expectedSystemIdentifier ?? pulumi.output("none"))).toBe(
      "7712486893244621282",
    );
    // A new stack expects nothing.
    expect(await value(fresh.primary.expectedSystemIdentifier ?? pulumi.output("none"))).toBe("");
    const pair = {
      primary: next.primary,
      standby: next.standby,
      replication: parseSettings({}, { stack: "unit", uid: 0, homeDir: "/root" }).replication,
      replicationPassword: pulumi.output("p"),
    };
    const gp = parseSettings(
      { engine: "greenplum" },
      { stack: "unit", uid: 0, homeDir: "/root" },
    ).greenplum;
    if (!gp) throw new Error("no greenplum settings");
    for (const step of [
      new PostgresEngine().primary(pair),
      new GreenplumEngine(gp).primary(pair),
    ]) {
      expect(await value(pulumi.output(step.env["GPM_EXPECTED_SYSTEM_ID"]))).toBe(
        "7712486893244621282",
      );
    }
    const s = settings({ allowNewDatabaseSystem: true });
    expect(s.allowNewDatabaseSystem).toBe(true);
  });

  it("reads the record through a reference to this very stack", () => {
    expect(named("next-previous")["name"]).toBe("organization/gpmirror/unit");
  });
});

describe("changes that would replace or stop a master", () => {
  const now = (p: Partial<HostRecord> = {}, st: Partial<HostRecord> = {}) => ({
    primary: { ...RECORD.hosts.primary, ...p },
    standby: { ...RECORD.hosts.standby, ...st },
  });
  const check =
    (s: AwsSettings, n: ReturnType<typeof now>, active: "primary" | "standby" = "primary") =>
    () =>
      checkChanges(s, RECORD, n, active);

  it("lets anything through on a stack's first update", () => {
    expect(() =>
      checkChanges(settings(), undefined, now({ instanceType: "x.y" }), "primary"),
    ).not.toThrow();
  });

  it("refuses a change of aws.instanceType that would stop both masters", () => {
    expect(
      check(settings(), now({ instanceType: "m6i.2xlarge" }, { instanceType: "m6i.2xlarge" })),
    ).toThrow(
      /^gpmirror:aws\.instanceType: this update would stop both masters .*Fix: change one host per update with aws\.hosts\.<role>\.instanceType: the standby first, then switch over/,
    );
    // Not even with the active master's stop accepted.
    expect(
      check(
        settings({ allowActiveMasterStop: true }),
        now({ instanceType: "m6i.2xlarge" }, { instanceType: "m6i.2xlarge" }),
      ),
    ).toThrow(/stop both masters/);
  });

  it("lets the standby's type change alone, and refuses the active master's unless accepted", () => {
    expect(check(settings(), now({}, { instanceType: "r6i.2xlarge" }))).not.toThrow();
    expect(check(settings(), now({ instanceType: "r6i.2xlarge" }))).toThrow(
      /^gpmirror:aws\.hosts\.primary\.instanceType: m6i\.xlarge -> r6i\.2xlarge stops the primary host, which is the active master.*or set aws\.allowActiveMasterStop to true/,
    );
    expect(
      check(settings({ allowActiveMasterStop: true }), now({ instanceType: "r6i.2xlarge" })),
    ).not.toThrow();
    // After a switchover the old primary is the standby: its turn.
    const switched = { ...RECORD, activeMaster: "standby" as const };
    expect(() =>
      checkChanges(settings(), switched, now({ instanceType: "r6i.2xlarge" }), "standby"),
    ).not.toThrow();
    // In the update that switches over, neither host may be stopped.
    expect(check(settings(), now({}, { instanceType: "r6i.2xlarge" }), "standby")).toThrow(
      /aws\.hosts\.standby\.instanceType: .*active master \(before or after this update\)/,
    );
  });

  it("refuses what would replace a master without allowReplace, naming the setting", () => {
    expect(check(settings(), now({}, { subnetId: "subnet-0c", zone: "us-east-1c" }))).toThrow(
      /^gpmirror:aws\.hosts\.standby\.allowReplace: subnetId "aws-standby-subnet-id" -> "subnet-0c", zone "us-east-1b" -> "us-east-1c" would replace the standby instance and its data volume.*README "Changes that replace or stop a master"/,
    );
    expect(check(settings(), now({}, { kmsKeyId: "arn:aws:kms:k" }))).toThrow(
      /standby\.allowReplace: kmsKeyId "" -> "arn:aws:kms:k"/,
    );
    expect(check(settings(), now({}, { associatePublicIp: true }))).toThrow(/associatePublicIp/);
  });

  it("lets the standby be rebuilt with allowReplace, never the active master", () => {
    const standbyMay = settings({ hosts: { standby: { allowReplace: true } } });
    expect(check(standbyMay, now({}, { subnetId: "subnet-0c", zone: "us-east-1c" }))).not.toThrow();
    const primaryMay = settings({ hosts: { primary: { allowReplace: true } } });
    expect(check(primaryMay, now({ subnetId: "subnet-0c", zone: "us-east-1c" }))).toThrow(
      /primary\.allowReplace: .*which is the active master.*Fix: switch over first/,
    );
    // A new KMS key for both: both hosts, never in one update.
    const both = settings({
      hosts: { primary: { allowReplace: true }, standby: { allowReplace: true } },
    });
    expect(check(both, now({ kmsKeyId: "k" }, { kmsKeyId: "k" }))).toThrow(/active master/);
  });
});

describe("recovery, snapshots and the segment hosts' group", () => {
  it("recovers a master whose system check fails and reboots one whose instance check fails", () => {
    expect(named("aws-primary-recover")).toMatchObject({
      namespace: "AWS/EC2",
      metricName: "StatusCheckFailed_System",
      dimensions: { InstanceId: "aws-primary-id" },
      alarmActions: ["arn:aws:automate:us-east-1:ec2:recover"],
    });
    expect(named("aws-standby-reboot")).toMatchObject({
      metricName: "StatusCheckFailed_Instance",
      alarmActions: ["arn:aws:automate:us-east-1:ec2:reboot"],
    });
    expect(created.some((c) => c.name === "opt-primary-recover")).toBe(false);
  });

  it("snapshots the stack's data volumes with DLM", () => {
    expect(named("aws-snapshots")).toMatchObject({
      executionRoleArn: "arn:aws:iam::123456789012:role/aws-dlm-role",
      state: "ENABLED",
      policyDetails: {
        resourceTypes: ["VOLUME"],
        targetTags: { "gpmirror:data-volume": "unit" },
        schedules: [
          { createRule: { interval: 24, intervalUnit: "HOURS" }, retainRule: { count: 7 } },
        ],
      },
    });
    expect(created.some((c) => c.name === "opt-snapshots")).toBe(false);
  });

  it("writes the masters' rules into the segment hosts' group when asked", () => {
    const inSeg = created.filter((c) => c.name.startsWith("opt-segments-in-"));
    expect(inSeg.map((c) => c.name).sort()).toEqual(
      [
        "opt-segments-in-segment-masters",
        "opt-segments-in-mirror-masters",
        "opt-segments-in-ic-tcp-masters",
        "opt-segments-in-ic-udp-masters",
        "opt-segments-in-ssh-masters",
        "opt-segments-in-ping-masters",
      ].sort(),
    );
    for (const c of inSeg) {
      expect(plain(c.inputs)).toMatchObject({
        securityGroupId: "sg-0555555555555555a",
        referencedSecurityGroupId: "opt-masters-id",
      });
    }
    expect(created.some((c) => c.name.startsWith("aws-segments-in-"))).toBe(false);
  });
});
