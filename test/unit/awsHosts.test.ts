import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, parseSettings, RawSettings } from "../../components/config";
import { PostgresEngine } from "../../components/engines/postgres";
import { AwsHosts, checkPlacement, subnetCidr } from "../../components/hosts/aws";
import { MasterMirror } from "../../components/masterMirror";
import { isSecretValue, plain, value } from "../support/mockValues";
import { fakeKey } from "../fixtures/keys";

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const created: Created[] = [];
/** Registration events in order: `start:<name>` when asked for, `done:<name>` when created. */
const events: string[] = [];
const PRIVATE_KEY = fakeKey("client");
const HOST_PRIVATE = (role: string) => fakeKey(`host-${role}`) + "\n";
const AMI = "ami-0123456789abcdef0";
const ADDRESS: Record<string, string> = {
  "aws-primary": "10.42.1.10",
  "aws-standby": "10.42.2.10",
  "byo-primary": "10.9.1.10",
  "byo-standby": "10.9.2.10",
};
const SUBNETS: Record<string, { vpcId: string; availabilityZone: string }> = {
  "subnet-0aaaaaaaaaaaaaaaa": { vpcId: "vpc-0f0f0f0f0f", availabilityZone: "eu-west-1a" },
  "subnet-0bbbbbbbbbbbbbbbb": { vpcId: "vpc-0f0f0f0f0f", availabilityZone: "eu-west-1b" },
};
const calls: { token: string; inputs: Record<string, unknown> }[] = [];

// What the real scripts and AWS answer, so the components see the same shapes.
function fakeOutputs(type: string, name: string, inputs: Record<string, unknown>) {
  const role = /-(primary|standby)-host-key$/.exec(name)?.[1];
  if (role) {
    return {
      stdout: JSON.stringify({
        privateKey: HOST_PRIVATE(role),
        publicKey: `ssh-ed25519 AAAAhost${role}`,
      }),
    };
  }
  // Auto-named resources get their name from the provider.
  const rotated = /-(primary|standby)-first-contact$/.exec(name)?.[1];
  if (rotated) return { stdout: `{"ready":true,"hostKey":"ssh-ed25519 AAAAown${rotated}"}` };
  if (type === "pulumi:pulumi:StackReference") return { outputs: {} };
  if (type.startsWith("aws:iam/")) return { name: name, arn: `arn:aws:iam::123456789012:${name}` };
  if (type === "aws:ec2/instance:Instance") return { privateIp: ADDRESS[name], publicIp: "" };
  if (type === "aws:route53/zone:Zone") return { zoneId: "ZPRIVATE0001" };
  if (type === "aws:route53/record:Record") return { fqdn: inputs["name"] };
  if (type === "aws:ec2/securityGroup:SecurityGroup") return {};
  if (name.endsWith("-boot")) return { stdout: '{"ready":true,"kernel":"4.18"}' };
  if (name.endsWith("-verify"))
    return { stdout: '{"state":"streaming","syncState":"async","replayLagBytes":0}' };
  if (name.endsWith("-prepare-standby")) return { stdout: '{"pgBin":"/usr/local/gp/bin"}' };
  if (type.startsWith("command:")) return { stdout: "{}" };
  return {};
}
const SLOW = /-(boot|access|prepare-standby)$/;

pulumi.runtime.setMocks(
  {
    async newResource(args) {
      // Components register too; only custom resources are what a provider would create.
      if (!args.custom) return { id: undefined, state: {} };
      events.push(`start:${args.name}`);
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      // Slow steps show whether later ones wait for them.
      if (SLOW.test(args.name)) await new Promise((r) => setTimeout(r, 50));
      events.push(`done:${args.name}`);
      const inputs = plain(args.inputs) as Record<string, unknown>;
      const state = { ...inputs, ...fakeOutputs(args.type, args.name, inputs) };
      return { id: `${args.name}-id`, state };
    },
    call(args) {
      calls.push({ token: args.token, inputs: args.inputs });
      if (args.token === "aws:ec2/getAmi:getAmi") return { id: AMI };
      if (args.token === "aws:index/getRegion:getRegion") return { region: "eu-west-1" };
      if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones")
        return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"] };
      if (args.token === "aws:ec2/getSubnet:getSubnet") {
        const id = String(args.inputs["id"]);
        return { id, ...SUBNETS[id] };
      }
      return args.inputs;
    },
  },
  "gpmirror",
  "unit",
  false,
  "organization",
);

const SHA = "ab".repeat(32);
function settings(aws: Record<string, unknown>): AwsSettings {
  const raw: RawSettings = {
    platform: "aws",
    aws: {
      access: {
        segmentSecurityGroupId: "sg-0555555555555555a",
        adminCidrs: ["192.168.10.0/24"],
        clientCidrs: ["10.50.0.0/16"],
      },
      greenplum: { packageUrl: "s3://gp-packages/greenplum-db-6.27.1.rpm", packageSha256: SHA },
      connection: {
        publicKey: "ssh-ed25519 AAAAclient gpmirror",
        privateKey: PRIVATE_KEY,
        knownHostsFile: "/home/ci/.gpmirror/unit/known_hosts",
      },
      ...aws,
    },
  };
  const c = parseSettings(raw, { stack: "unit", uid: 1000, homeDir: "/home/ci" });
  if (!c.aws) throw new Error("no aws settings");
  return c.aws;
}

const ofType = (prefix: string, type: string) =>
  created.filter((c) => c.type === type && c.name.startsWith(`${prefix}-`));
const named = (name: string) => {
  const c = created.find((x) => x.name === name);
  if (!c) throw new Error(`no resource ${name}`);
  return c;
};
const inputsOf = (name: string) => plain(named(name).inputs) as Record<string, unknown>;

// A new VPC, no bastion; the pair runs on it.
const hosts = new AwsHosts("aws", {
  stack: "unit",
  settings: settings({}),
  primaryDbPort: 5432,
  standbyDbPort: 5432,
});
const mirror = new MasterMirror("mirror", {
  primary: hosts.primary,
  standby: hosts.standby,
  engine: new PostgresEngine(),
  // Whatever replication settings the config gives by default.
  replication: parseSettings({}, { stack: "unit", uid: 0, homeDir: "/root" }).replication,
  replicationPassword: pulumi.secret("0123456789abcdef0123456789abcdef"),
  ssh: hosts,
  clientEndpoint: hosts.clientEndpoint,
});
// The user's VPC and subnets, a bastion, segment CIDRs, a given AMI and DNS zone.
const byo = new AwsHosts("byo", {
  stack: "unit",
  settings: settings({
    ami: { id: "ami-0fedcba9876543210" },
    network: {
      vpcId: "vpc-0f0f0f0f0f",
      primarySubnetId: "subnet-0aaaaaaaaaaaaaaaa",
      standbySubnetId: "subnet-0bbbbbbbbbbbbbbbb",
    },
    access: {
      segmentCidrs: ["10.9.8.0/24", "10.9.9.0/24"],
      adminCidrs: [],
      segmentPorts: "40000-40003",
      interconnectPorts: "50000-50999",
      httpsEgressCidrs: ["10.9.0.0/16"],
    },
    greenplum: { preinstalled: true },
    dns: { zoneId: "ZEXISTING01", zoneName: "db.corp.internal", recordName: "gp", ttl: 15 },
    connection: {
      publicKey: "ssh-ed25519 AAAAclient gpmirror",
      privateKey: PRIVATE_KEY,
      knownHostsFile: "/home/ci/.gpmirror/unit/known_hosts",
      proxy: {
        address: "bastion.corp.example",
        sshPort: 2222,
        user: "jump",
        hostKey: "ssh-ed25519 AAAAbastion",
        securityGroupId: "sg-0bbbbbbbbbbbbbbb1",
      },
    },
  }),
  primaryDbPort: 5432,
  standbyDbPort: 5433,
});

beforeAll(async () => {
  await value(mirror.replication);
  await value(mirror.activation);
  await value(byo.clientEndpoint);
  await value(pulumi.all([byo.primary.hostKey, byo.standby.address, hosts.securityGroupId]));
  // Let every registration finish (the known_hosts commands resolve last).
  await new Promise((r) => setTimeout(r, 300));
});

describe("AwsHosts: network", () => {
  it("creates a VPC with DNS and two private subnets in two zones when none is given", () => {
    const vpc = inputsOf("aws-vpc");
    expect(vpc).toMatchObject({
      cidrBlock: "10.42.0.0/16",
      enableDnsSupport: true,
      enableDnsHostnames: true,
    });
    expect(inputsOf("aws-primary-subnet")).toMatchObject({
      cidrBlock: "10.42.1.0/24",
      availabilityZone: "eu-west-1a",
      mapPublicIpOnLaunch: false,
      vpcId: "aws-vpc-id",
    });
    expect(inputsOf("aws-standby-subnet")).toMatchObject({
      cidrBlock: "10.42.2.0/24",
      availabilityZone: "eu-west-1b",
      mapPublicIpOnLaunch: false,
    });
    // A private VPC: nothing routes to the internet.
    expect(created.filter((c) => /InternetGateway|NatGateway|Eip/.test(c.type))).toEqual([]);
    expect(calls.filter((c) => c.token.endsWith("getAvailabilityZones"))[0].inputs).toEqual({
      state: "available",
    });
  });

  it("uses the given VPC and subnets, creating no network", () => {
    expect(ofType("byo", "aws:ec2/vpc:Vpc")).toEqual([]);
    expect(ofType("byo", "aws:ec2/subnet:Subnet")).toEqual([]);
    expect(inputsOf("byo-primary")["subnetId"]).toBe("subnet-0aaaaaaaaaaaaaaaa");
    expect(inputsOf("byo-standby")["subnetId"]).toBe("subnet-0bbbbbbbbbbbbbbbb");
    expect(inputsOf("byo-masters")["vpcId"]).toBe("vpc-0f0f0f0f0f");
  });

  it("derives subnet CIDRs from the VPC CIDR", () => {
    expect(subnetCidr("10.42.0.0/16", 1)).toBe("10.42.1.0/24");
    expect(subnetCidr("172.16.254.0/23", 1)).toBe("172.16.255.0/24");
  });
});

describe("AwsHosts: placement checks at preview", () => {
  const s = settings({});
  const p = (za: string, zb: string) => ({
    vpcId: "vpc-0a",
    subnetIds: { primary: "subnet-0a", standby: "subnet-0b" },
    zones: { primary: za, standby: zb },
  });

  it("refuses both masters in one zone", () => {
    expect(() => checkPlacement(s, p("eu-west-1a", "eu-west-1a"), "vpc-0a")).toThrow(
      /gpmirror:aws\.network\.standbySubnetId: both masters would be in eu-west-1a.*Fix: use a subnet in another zone, or set aws\.allowSameZone to true/,
    );
  });

  it("allows one zone when the setting says so", () => {
    const same = settings({ allowSameZone: true });
    expect(checkPlacement(same, p("eu-west-1a", "eu-west-1a"), "vpc-0a").zones.standby).toBe(
      "eu-west-1a",
    );
  });

  it("refuses subnets of two VPCs, and a VPC the subnets are not in", () => {
    expect(() => checkPlacement(s, p("eu-west-1a", "eu-west-1b"), "vpc-0b")).toThrow(
      /standbySubnetId: subnet-0b is in vpc-0b.*Fix: use two subnets of one VPC/,
    );
    const other = settings({
      network: {
        vpcId: "vpc-0c0c0c0c",
        primarySubnetId: "subnet-0aaaaaaaaaaaaaaaa",
        standbySubnetId: "subnet-0bbbbbbbbbbbbbbbb",
      },
    });
    expect(() => checkPlacement(other, p("eu-west-1a", "eu-west-1b"), "vpc-0a")).toThrow(
      /gpmirror:aws\.network\.vpcId: the subnets are in vpc-0a, not vpc-0c0c0c0c/,
    );
  });
});

type Rule = {
  ipProtocol: string;
  fromPort: number;
  toPort: number;
  cidrIpv4?: string;
  referencedSecurityGroupId?: string;
  securityGroupId: string;
};
function rules(prefix: string, dir: "Ingress" | "Egress"): Record<string, Rule> {
  const type = `aws:vpc/securityGroup${dir}Rule:SecurityGroup${dir}Rule`;
  return Object.fromEntries(
    ofType(prefix, type).map((c) => {
      const i = plain(c.inputs) as Rule;
      return [
        c.name,
        {
          ipProtocol: i.ipProtocol,
          fromPort: i.fromPort,
          toPort: i.toPort,
          ...(i.cidrIpv4 ? { cidrIpv4: i.cidrIpv4 } : {}),
          ...(i.referencedSecurityGroupId
            ? { referencedSecurityGroupId: i.referencedSecurityGroupId }
            : {}),
          securityGroupId: i.securityGroupId,
        },
      ];
    }),
  );
}

describe("AwsHosts: security group, least privilege", () => {
  const SG = "aws-masters-id";
  const self = { referencedSecurityGroupId: SG, securityGroupId: SG };
  const seg = { referencedSecurityGroupId: "sg-0555555555555555a", securityGroupId: SG };
  const tcp = (from: number, to = from) => ({ ipProtocol: "tcp", fromPort: from, toPort: to });
  const udp = (from: number, to: number) => ({ ipProtocol: "udp", fromPort: from, toPort: to });
  const echo = { ipProtocol: "icmp", fromPort: 8, toPort: 0 };

  it("defines one security group, in the VPC, with no inline rules", () => {
    const sgs = ofType("aws", "aws:ec2/securityGroup:SecurityGroup");
    expect(sgs.map((s) => s.name)).toEqual(["aws-masters"]);
    const i = inputsOf("aws-masters");
    expect(i["vpcId"]).toBe("aws-vpc-id");
    expect(i["ingress"]).toBeUndefined();
    expect(i["egress"]).toBeUndefined();
  });

  it("allows exactly these inbound rules", () => {
    expect(rules("aws", "Ingress")).toEqual({
      "aws-in-db5432-masters": { ...tcp(5432), ...self },
      "aws-in-ssh-masters": { ...tcp(22), ...self },
      "aws-in-ping-masters": { ...echo, ...self },
      "aws-in-db5432-segments": { ...tcp(5432), ...seg },
      "aws-in-ic-tcp-segments": { ...tcp(10000, 65535), ...seg },
      "aws-in-ic-udp-segments": { ...udp(10000, 65535), ...seg },
      "aws-in-db5432-client0": { ...tcp(5432), cidrIpv4: "10.50.0.0/16", securityGroupId: SG },
      "aws-in-ssh-admin0": { ...tcp(22), cidrIpv4: "192.168.10.0/24", securityGroupId: SG },
    });
  });

  it("allows exactly these outbound rules: no default allow-all", () => {
    expect(rules("aws", "Egress")).toEqual({
      "aws-out-db5432-masters": { ...tcp(5432), ...self },
      "aws-out-ssh-masters": { ...tcp(22), ...self },
      "aws-out-ping-masters": { ...echo, ...self },
      "aws-out-segment-segments": { ...tcp(6000, 6007), ...seg },
      // Mirror ports: gpaddmirrors' default, the segment ports plus 1000.
      "aws-out-mirror-segments": { ...tcp(7000, 7007), ...seg },
      // gpinitsystem and the primary step ping every segment host first.
      "aws-out-ping-segments": { ...echo, ...seg },
      "aws-out-ic-tcp-segments": { ...tcp(10000, 65535), ...seg },
      "aws-out-ic-udp-segments": { ...udp(10000, 65535), ...seg },
      "aws-out-ssh-segments": { ...tcp(22), ...seg },
    });
  });

  it("with a bastion, segment CIDRs and two ports: SSH from the bastion's group only", () => {
    const SGB = "byo-masters-id";
    const inbound = rules("byo", "Ingress");
    expect(Object.keys(inbound).sort()).toEqual(
      [
        "byo-in-db5432-masters",
        "byo-in-db5433-masters",
        "byo-in-ssh-masters",
        "byo-in-ping-masters",
        ...["segments0", "segments1"].flatMap((k) => [
          `byo-in-db5432-${k}`,
          `byo-in-db5433-${k}`,
          `byo-in-ic-tcp-${k}`,
          `byo-in-ic-udp-${k}`,
        ]),
        "byo-in-ssh-bastion",
      ].sort(),
    );
    expect(inbound["byo-in-ssh-bastion"]).toEqual({
      ...tcp(22),
      referencedSecurityGroupId: "sg-0bbbbbbbbbbbbbbb1",
      securityGroupId: SGB,
    });
    expect(inbound["byo-in-ic-udp-segments1"]).toEqual({
      ...udp(50000, 50999),
      cidrIpv4: "10.9.9.0/24",
      securityGroupId: SGB,
    });
    const outbound = rules("byo", "Egress");
    expect(outbound["byo-out-segment-segments0"]).toEqual({
      ...tcp(40000, 40003),
      cidrIpv4: "10.9.8.0/24",
      securityGroupId: SGB,
    });
    expect(outbound["byo-out-https-https0"]).toEqual({
      ...tcp(443),
      cidrIpv4: "10.9.0.0/16",
      securityGroupId: SGB,
    });
  });

  it("opens nothing to the whole internet", () => {
    for (const c of created.filter((x) => /SecurityGroup(Ingress|Egress)Rule/.test(x.type))) {
      const i = plain(c.inputs) as Rule;
      expect(i.cidrIpv4 ?? "").not.toMatch(/\/0$/);
      expect(i.ipProtocol).not.toBe("-1");
    }
  });
});

describe("AwsHosts: instances", () => {
  const instance = (name: string) => inputsOf(name);

  it("runs the two masters from the looked-up AMI, in the two subnets", () => {
    expect(instance("aws-primary")).toMatchObject({
      ami: AMI,
      instanceType: "m6i.xlarge",
      subnetId: "aws-primary-subnet-id",
      vpcSecurityGroupIds: ["aws-masters-id"],
      iamInstanceProfile: "aws-profile",
    });
    expect(instance("aws-standby")["subnetId"]).toBe("aws-standby-subnet-id");
    const ami = calls.find((c) => c.token === "aws:ec2/getAmi:getAmi");
    expect(ami?.inputs).toEqual({
      owners: ["792107900819"],
      mostRecent: true,
      filters: [
        { name: "name", values: ["Rocky-8-EC2-Base-8.*x86_64"] },
        { name: "state", values: ["available"] },
      ],
    });
    expect(instance("byo-primary")["ami"]).toBe("ami-0fedcba9876543210");
  });

  it("requires IMDSv2, gives no public IP, and encrypts gp3 root and data volumes", () => {
    for (const name of ["aws-primary", "aws-standby", "byo-primary", "byo-standby"]) {
      const i = instance(name);
      expect(i["metadataOptions"]).toEqual({
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
      });
      expect(i["associatePublicIpAddress"]).toBe(false);
      expect(i["rootBlockDevice"]).toMatchObject({
        volumeType: "gp3",
        volumeSize: 30,
        encrypted: true,
      });
      // The data disk is a volume of its own (volume.ts), never part of the instance.
      expect(i["ebsBlockDevices"]).toBeUndefined();
      expect(inputsOf(`${name}-data`)).toMatchObject({
        type: "gp3",
        size: 200,
        iops: 3000,
        throughput: 125,
        encrypted: true,
        finalSnapshot: true,
      });
    }
  });

  it("gives the instance profile SSM access and read access to the package only", () => {
    const role = inputsOf("aws-role");
    expect(JSON.parse(String(role["assumeRolePolicy"]))).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
      ],
    });
    expect(inputsOf("aws-ssm")).toMatchObject({
      role: "aws-role",
      policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    });
    expect(JSON.parse(String(inputsOf("aws-package")["policy"])).Statement).toEqual([
      {
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: "arn:aws:s3:::gp-packages/greenplum-db-6.27.1.rpm",
      },
    ]);
    // Greenplum already on the AMI: no package to read.
    expect(created.find((c) => c.name === "byo-package")).toBeUndefined();
  });

  it("tags everything that takes tags with the stack", () => {
    const tagged = created.filter((c) => c.type.startsWith("aws:") && c.inputs["tags"]);
    expect(tagged.length).toBeGreaterThan(20);
    for (const c of tagged) {
      expect(plain(c.inputs["tags"])).toMatchObject({ "gpmirror:stack": "unit" });
    }
    const untagged = created
      .filter((c) => c.type.startsWith("aws:") && !c.inputs["tags"])
      .map((c) => c.type);
    // Route53 records, volume and policy attachments, inline policies and an instance's
    // power state take no tags.
    expect([...new Set(untagged)].sort()).toEqual([
      "aws:ec2/volumeAttachment:VolumeAttachment",
      "aws:ec2transitgateway/instanceState:InstanceState",
      "aws:iam/rolePolicy:RolePolicy",
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
      "aws:route53/record:Record",
    ]);
    expect(plain(named("aws-primary").inputs["tags"])).toEqual({
      Name: "gpmirror-unit-primary",
      "gpmirror:stack": "unit",
      "gpmirror:role": "primary",
    });
  });
});

describe("AwsHosts: user data and host keys", () => {
  const cloudConfig = (name: string) => {
    const text = String(plain(named(name).inputs["userData"]));
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    return JSON.parse(text.slice("#cloud-config\n".length)) as {
      ssh_deletekeys: boolean;
      ssh_genkeytypes: string[];
      ssh_keys: Record<string, string>;
      write_files: { path: string; permissions: string; content: string }[];
      runcmd: string[][];
    };
  };

  it("installs a one-time bootstrap key, and pins the key the host made at first contact", async () => {
    const cc = cloudConfig("aws-standby");
    expect(cc.ssh_deletekeys).toBe(true);
    expect(cc.ssh_genkeytypes).toEqual([]);
    expect(cc.ssh_keys).toEqual({
      ed25519_private: HOST_PRIVATE("standby"),
      ed25519_public: "ssh-ed25519 AAAAhoststandby",
    });
    expect(inputsOf("aws-standby-host-key")["create"]).toBe("bash scripts/aws/host-key.sh");
    // The first contact is checked against the bootstrap key, and learns the host's own.
    const first = inputsOf("aws-standby-first-contact");
    expect(first["connection"]).toMatchObject({ hostKey: "ssh-ed25519 AAAAhoststandby" });
    expect(String(first["stdin"])).toContain("sudo -n /usr/local/sbin/gpmirror-rotate-host-key");
    expect(first["triggers"]).toEqual(["aws-standby-id"]);
    expect(await value(hosts.standby.hostKey)).toBe("ssh-ed25519 AAAAownstandby");
    // Every later connection pins the host's own key, never the bootstrap one.
    for (const step of ["aws-standby-boot", "mirror-standby", "mirror-prepare-standby"]) {
      expect(inputsOf(step)["connection"]).toMatchObject({ hostKey: "ssh-ed25519 AAAAownstandby" });
    }
  });

  it("fits EC2's 16 KB user data limit", () => {
    for (const name of ["aws-primary", "byo-standby"]) {
      expect(Buffer.byteLength(String(plain(named(name).inputs["userData"])))).toBeLessThan(16384);
    }
  });

  it("keeps user data and the generated key secret", async () => {
    expect(isSecretValue(named("aws-primary").inputs["userData"])).toBe(true);
    expect(await pulumi.isSecret(hosts.primary.privateKey)).toBe(true);
  });

  it("prepares the host with the parameters quoted, then runs the first-boot script", () => {
    const cc = cloudConfig("aws-primary");
    expect(cc.runcmd).toEqual([["bash", "/var/lib/gpmirror/user-data.sh"]]);
    const file = cc.write_files[0];
    expect(file).toMatchObject({ path: "/var/lib/gpmirror/user-data.sh", permissions: "0700" });
    expect(file.content.startsWith("#!/bin/bash\nexport GPM_OS_USER='gpadmin'\n")).toBe(true);
    for (const line of [
      "export GPM_AUTHORIZED_KEY='ssh-ed25519 AAAAclient gpmirror'",
      "export GPM_DATA_DIR='/data/master/gpseg-1'",
      "export GPM_GP_PREINSTALLED='false'",
      "export GPM_GP_PACKAGE_URL='s3://gp-packages/greenplum-db-6.27.1.rpm'",
      `export GPM_GP_PACKAGE_SHA256='${SHA}'`,
      "vm.overcommit_memory = 2",
      "* soft nofile 524288",
      "MaxStartups 10:30:200",
      'mountpoint -q "$mount_point"',
    ]) {
      expect(file.content).toContain(line);
    }
    expect(cloudConfig("byo-primary").write_files[0].content).toContain(
      "export GPM_GP_PREINSTALLED='true'",
    );
    // Without automatic failover: no etcd installed.
    expect(file.content).toContain("export GPM_AUTO_PACKAGES='false'");
    expect(cc.write_files.map((f) => f.path)).not.toContain("/var/lib/gpmirror/auto-packages.sh");
  });
});

describe("AwsHosts: SSH, DNS and outputs", () => {
  it("connects with the pinned key, and through the bastion when one is given", () => {
    const boot = inputsOf("byo-standby-boot");
    expect(boot["connection"]).toMatchObject({
      host: "10.9.2.10",
      port: 22,
      user: "gpadmin",
      privateKey: PRIVATE_KEY,
      hostKey: "ssh-ed25519 AAAAownstandby",
      dialErrorLimit: 90,
      proxy: {
        host: "bastion.corp.example",
        port: 2222,
        user: "jump",
        privateKey: PRIVATE_KEY,
        hostKey: "ssh-ed25519 AAAAbastion",
      },
    });
    expect(inputsOf("aws-primary-boot")["connection"]).not.toHaveProperty("proxy");
    expect(isSecretValue(named("byo-standby-boot").inputs["connection"])).toBe(true);
  });

  it("points a low-TTL private record at the primary, in a private zone of the VPC", async () => {
    expect(inputsOf("aws-zone")).toMatchObject({
      name: "gpmirror.internal",
      vpcs: [{ vpcId: "aws-vpc-id" }],
    });
    expect(inputsOf("aws-master")).toEqual({
      zoneId: "ZPRIVATE0001",
      name: "mdw.gpmirror.internal",
      type: "A",
      ttl: 30,
      records: ["10.42.1.10"],
    });
    expect(inputsOf("byo-master")).toMatchObject({
      zoneId: "ZEXISTING01",
      name: "gp.db.corp.internal",
      ttl: 15,
      records: ["10.9.1.10"],
    });
    expect(created.find((c) => c.name === "byo-zone")).toBeUndefined();
    expect(await value(byo.clientEndpoint)).toBe("gp.db.corp.internal:5432");
  });

  it("writes the pinned keys to the known_hosts file the operator's command uses", async () => {
    expect(inputsOf("byo-known-hosts")).toMatchObject({
      create: "bash scripts/aws/known-hosts.sh create",
      delete: "bash scripts/aws/known-hosts.sh destroy",
      environment: {
        GPM_KNOWN_HOSTS_FILE: "/home/ci/.gpmirror/unit/known_hosts",
        GPM_KNOWN_HOSTS: [
          "10.9.1.10 ssh-ed25519 AAAAownprimary",
          "10.9.2.10 ssh-ed25519 AAAAownstandby",
          "[bastion.corp.example]:2222 ssh-ed25519 AAAAbastion",
        ].join("\n"),
      },
    });
    expect(await value(byo.prefix(byo.standby))).toBe(
      "ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile='/home/ci/.gpmirror/unit/known_hosts' " +
        "-o ProxyCommand='ssh -o StrictHostKeyChecking=yes -o UserKnownHostsFile='\\''/home/ci/.gpmirror/unit/known_hosts'\\'' -W %h:%p -p 2222 jump@bastion.corp.example' " +
        "-p 22 gpadmin@10.9.2.10",
    );
  });

  it("gives MasterMirror the DNS name as the client endpoint", async () => {
    expect(await value(mirror.clientEndpoint)).toBe("mdw.gpmirror.internal:5432");
    expect(await value(mirror.primary)).toEqual({
      host: "10.42.1.10",
      port: 5432,
      dataDir: "/data/master/gpseg-1",
    });
    expect(await value(mirror.replication)).toEqual({
      state: "streaming",
      syncState: "async",
      replayLagBytes: 0,
    });
  });
});

describe("AwsHosts: order of steps", () => {
  const at = (e: string) => {
    const i = events.indexOf(e);
    if (i < 0) throw new Error(`no event ${e}`);
    return i;
  };

  it("boots each host before any step runs on it", () => {
    expect(at("start:aws-primary-boot")).toBeGreaterThan(at("done:aws-primary"));
    expect(at("start:mirror-prepare-primary")).toBeGreaterThan(at("done:aws-primary-boot"));
    expect(at("start:mirror-prepare-standby")).toBeGreaterThan(at("done:aws-standby-boot"));
  });

  it("initializes the standby only after both hosts and the primary are ready", () => {
    const standby = at("start:mirror-standby");
    expect(standby).toBeGreaterThan(at("done:aws-primary-boot"));
    expect(standby).toBeGreaterThan(at("done:aws-standby-boot"));
    expect(standby).toBeGreaterThan(at("done:mirror-prepare-standby"));
    expect(standby).toBeGreaterThan(at("done:mirror-primary"));
    expect(standby).toBeGreaterThan(at("done:mirror-access"));
    expect(at("start:mirror-verify")).toBeGreaterThan(at("done:mirror-standby"));
  });

  it("runs the pair's steps on the EC2 hosts, the standby's on the standby", () => {
    const on = (step: string) =>
      (inputsOf(`mirror-${step}`)["connection"] as { host: string }).host;
    expect(on("primary")).toBe("10.42.1.10");
    expect(on("standby")).toBe("10.42.2.10");
    expect(String(inputsOf("mirror-access")["stdin"])).toContain(
      "export GPM_STANDBY_ADDRESS='10.42.2.10'",
    );
  });
});
