import * as fs from "fs";
import * as path from "path";
import { parseSettings, RawSettings } from "../../components/config";
import { fakeKey } from "../fixtures/keys";
import { problemsOf as problemsIn } from "../support/configProblems";

const KEY = fakeKey("abc") + "\n";
const files: Record<string, string> = { "/keys/id": KEY, "/home/ann/.ssh/id": KEY };
const ctx = {
  stack: "prod",
  uid: 1000,
  homeDir: "/home/ann",
  readFile: (f: string) => files[f],
};
const SHA = "0".repeat(63) + "1";

type Tree = { [k: string]: unknown };
/** The smallest valid AWS stack, with `over` merged in (undefined removes a setting). */
function aws(over: Tree = {}): RawSettings {
  const base: Tree = {
    access: { segmentSecurityGroupId: "sg-0123456789abcdef0", adminCidrs: ["10.0.0.0/16"] },
    greenplum: {
      packageUrl: "https://packages.example.com/greenplum-db-6.27.1-rhel8-x86_64.rpm",
      packageSha256: SHA,
    },
    connection: { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG", privateKeyPath: "/keys/id" },
  };
  return { platform: "aws", aws: merge(base, over) };
}
function merge(a: Tree, b: Tree): Tree {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const pairs = keys.map((k): [string, unknown] => {
    if (!(k in b)) return [k, a[k]];
    const v = b[k];
    return [k, isTree(v) && isTree(a[k]) ? merge(a[k] as Tree, v) : v];
  });
  return Object.fromEntries(pairs.filter(([, v]) => v !== undefined));
}
function isTree(v: unknown): v is Tree {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const problemsOf = (raw: RawSettings): string[] => problemsIn(raw, ctx);

describe("aws settings: defaults", () => {
  const c = parseSettings(aws(), ctx);
  const a = c.aws;
  if (!a) throw new Error("no aws settings");

  it("is the aws platform, with no local or existing settings", () => {
    expect(c.platform).toBe("aws");
    expect(c.local).toBeUndefined();
    expect(c.existing).toBeUndefined();
  });

  it("creates a VPC in two zones of the region unless one is given", () => {
    expect(a.network).toEqual({
      vpcId: undefined,
      primarySubnetId: undefined,
      standbySubnetId: undefined,
      vpcCidr: "10.42.0.0/16",
      zones: undefined,
    });
    expect(a.allowSameZone).toBe(false);
  });

  it("exposes nothing publicly by default", () => {
    expect(a.associatePublicIp).toBe(false);
    expect(a.allowWorldCidrs).toBe(false);
    expect(a.access.clientCidrs).toEqual([]);
    expect(a.access.httpsEgressCidrs).toEqual([]);
  });

  it("looks up a Rocky Linux 8 AMI and runs m6i.xlarge with gp3 volumes", () => {
    expect(a.instanceType).toBe("m6i.xlarge");
    expect(a.ami).toEqual({
      id: undefined,
      owner: "792107900819",
      nameFilter: "Rocky-8-EC2-Base-8.*x86_64",
    });
    expect(a.dataVolume).toEqual({
      sizeGiB: 200,
      iops: 3000,
      throughputMiBps: 125,
      kmsKeyId: undefined,
      // Kept on destroy unless asked.
      deleteOnDestroy: false,
    });
    expect(a.dataDir).toBe("/data/master/gpseg-1");
    expect(a.osUser).toBe("gpadmin");
  });

  it("uses Greenplum's default segment ports and the kernel's local port range", () => {
    expect(a.access.segmentPorts).toEqual({ from: 6000, to: 6007 });
    expect(a.access.mirrorPorts).toEqual({ from: 7000, to: 7007 });
    expect(a.access.interconnectPorts).toEqual({ from: 10000, to: 65535 });
    expect(a.access.writeSegmentIngress).toBe(false);
  });

  it("protects the data by default: termination protection, no replacement, no new system", () => {
    expect(a.hosts).toEqual({
      primary: { instanceType: "m6i.xlarge", allowReplace: false },
      standby: { instanceType: "m6i.xlarge", allowReplace: false },
    });
    expect(a.terminationProtection).toBe(true);
    expect(a.allowActiveMasterStop).toBe(false);
    expect(a.allowNewDatabaseSystem).toBe(false);
    expect(a.autoRecovery).toBe(true);
    expect(a.snapshots).toEqual({ enabled: true, intervalHours: 24, retainCount: 7 });
    expect(a.osUid).toBe(1500);
  });

  it("names the master mdw.gpmirror.internal with a 30 s TTL", () => {
    expect(a.dns).toEqual({
      zoneId: undefined,
      zoneName: "gpmirror.internal",
      recordName: "mdw",
      ttl: 30,
    });
  });

  it("reads the SSH key and keeps it secret; known_hosts under the home directory", async () => {
    expect(a.connection.privateKeyPath).toBe("/keys/id");
    expect(a.connection.knownHostsFile).toBe("/home/ann/.gpmirror/prod/known_hosts");
    expect(a.connection.proxy).toBeUndefined();
    const { isSecret } = await import("@pulumi/pulumi");
    expect(await isSecret(a.connection.privateKey)).toBe(true);
  });
});

describe("aws settings: derived from Greenplum's, and per host", () => {
  it("derives segment and mirror ports from greenplum.segmentPortBase and segmentsPerHost", () => {
    const c = parseSettings(
      {
        ...aws(),
        engine: "greenplum",
        greenplum: { segmentPortBase: 40000, segmentsPerHost: 4 },
      },
      ctx,
    );
    expect(c.aws?.access.segmentPorts).toEqual({ from: 40000, to: 40003 });
    expect(c.aws?.access.mirrorPorts).toEqual({ from: 41000, to: 41003 });
    // Given ranges win.
    const given = parseSettings(
      {
        ...aws({ access: { segmentPorts: "6000-6001", mirrorPorts: "50000-50001" } }),
        engine: "greenplum",
        greenplum: { segmentPortBase: 40000, segmentsPerHost: 4 },
      },
      ctx,
    );
    expect(given.aws?.access.segmentPorts).toEqual({ from: 6000, to: 6001 });
    expect(given.aws?.access.mirrorPorts).toEqual({ from: 50000, to: 50001 });
  });

  it("lets each host have its own instance type, checked like aws.instanceType", () => {
    const c = parseSettings(aws({ hosts: { standby: { instanceType: "r6i.2xlarge" } } }), ctx);
    expect(c.aws?.hosts.standby.instanceType).toBe("r6i.2xlarge");
    expect(c.aws?.hosts.primary.instanceType).toBe("m6i.xlarge");
    expect(problemsOf(aws({ hosts: { primary: { instanceType: "big" } } }))).toEqual([
      'gpmirror:aws.hosts.primary.instanceType: "big" is not an EC2 instance type. Fix: use a type such as m6i.xlarge',
    ]);
  });

  it("refuses segment ingress without the segment group, and snapshot intervals DLM lacks", () => {
    const problems = problemsOf(
      aws({
        access: {
          segmentSecurityGroupId: undefined,
          segmentCidrs: ["10.1.0.0/24"],
          writeSegmentIngress: true,
        },
        snapshots: { intervalHours: 5 },
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^gpmirror:aws\.access\.writeSegmentIngress: needs the segment hosts' group/,
      ),
      expect.stringMatching(
        /^gpmirror:aws\.snapshots\.intervalHours: 5 is not an interval DLM offers. Fix: use one of 1, 2, 3, 4, 6, 8, 12, 24/,
      ),
    ]);
  });
});

describe("aws settings: given values", () => {
  it("takes an existing VPC, its subnets, a bastion and port ranges", () => {
    const c = parseSettings(
      aws({
        network: {
          vpcId: "vpc-0a1b2c3d",
          primarySubnetId: "subnet-0a1b2c3d",
          standbySubnetId: "subnet-1a1b2c3d",
        },
        access: { segmentPorts: "40000-40015", interconnectPorts: "50000-50999" },
        connection: {
          privateKeyPath: "~/.ssh/id",
          proxy: {
            address: "bastion.example.com",
            hostKey: "ssh-ed25519 AAAAbastion",
            securityGroupId: "sg-0bbbbbbbbbbbbbbbb",
          },
        },
        greenplum: { preinstalled: "true", packageUrl: undefined, packageSha256: undefined },
        tags: { team: "data" },
      }),
      ctx,
    );
    expect(c.aws?.network).toMatchObject({
      vpcId: "vpc-0a1b2c3d",
      primarySubnetId: "subnet-0a1b2c3d",
      standbySubnetId: "subnet-1a1b2c3d",
    });
    expect(c.aws?.access.segmentPorts).toEqual({ from: 40000, to: 40015 });
    expect(c.aws?.access.interconnectPorts).toEqual({ from: 50000, to: 50999 });
    expect(c.aws?.connection.privateKeyPath).toBe("/home/ann/.ssh/id");
    expect(c.aws?.connection.proxy).toEqual({
      address: "bastion.example.com",
      sshPort: 22,
      user: "ec2-user",
      hostKey: "ssh-ed25519 AAAAbastion",
      securityGroupId: "sg-0bbbbbbbbbbbbbbbb",
    });
    expect(c.aws?.greenplum.preinstalled).toBe(true);
    expect(c.aws?.tags).toEqual({ team: "data" });
  });

  it("accepts SSH only through a bastion's security group, with no admin CIDR", () => {
    const raw = aws({
      access: { adminCidrs: undefined },
      connection: {
        proxy: {
          address: "10.0.0.5",
          hostKey: "ssh-ed25519 AAAAb",
          securityGroupId: "sg-0abcdef01",
        },
      },
    });
    expect(problemsOf(raw)).toEqual([]);
  });

  it("accepts 0.0.0.0/0 only when a setting says so", () => {
    expect(problemsOf(aws({ access: { clientCidrs: ["0.0.0.0/0"] } }))).toHaveLength(1);
    expect(
      problemsOf(aws({ allowWorldCidrs: true, access: { clientCidrs: ["0.0.0.0/0"] } })),
    ).toEqual([]);
  });

  it("accepts one zone only when a setting says so", () => {
    const zones = { network: { zones: ["eu-west-1a", "eu-west-1a"] } };
    expect(problemsOf(aws(zones))).toHaveLength(1);
    expect(problemsOf(aws({ ...zones, allowSameZone: true }))).toEqual([]);
  });
});

// Each bad value stops the preview with the setting's name and a fix.
const badInputs: [string, Tree, string][] = [
  ["same zone", { network: { zones: ["eu-west-1a", "eu-west-1a"] } }, "aws.network.zones"],
  [
    "a zone that is not a zone",
    { network: { zones: ["eu-west-1a", "west"] } },
    "aws.network.zones",
  ],
  [
    "same subnet for both",
    { network: { primarySubnetId: "subnet-0a1b2c3d", standbySubnetId: "subnet-0a1b2c3d" } },
    "aws.network.standbySubnetId",
  ],
  ["VPC without subnets", { network: { vpcId: "vpc-0a1b2c3d" } }, "aws.network.primarySubnetId"],
  [
    "missing standby subnet",
    { network: { primarySubnetId: "subnet-0a1b2c3d" } },
    "aws.network.standbySubnetId",
  ],
  ["VPC id of the wrong form", { network: { vpcId: "my-vpc" } }, "aws.network.vpcId"],
  ["VPC CIDR not a CIDR", { network: { vpcCidr: "10.42.0.0" } }, "aws.network.vpcCidr"],
  ["VPC CIDR too small", { network: { vpcCidr: "10.42.0.0/24" } }, "aws.network.vpcCidr"],
  // Its third /24 (the standby's subnet) would lie outside a /23.
  ["VPC CIDR a /23", { network: { vpcCidr: "10.42.0.0/23" } }, "aws.network.vpcCidr"],
  [
    "client CIDR not a CIDR",
    { access: { clientCidrs: ["10.1.2.3"] } },
    "aws.access.clientCidrs[0]",
  ],
  [
    "CIDR octet over 255",
    { access: { adminCidrs: ["10.256.0.0/16"] } },
    "aws.access.adminCidrs[0]",
  ],
  ["CIDR with host bits", { access: { adminCidrs: ["10.0.0.1/16"] } }, "aws.access.adminCidrs[0]"],
  ["CIDR list not a list", { access: { segmentCidrs: 42 } }, "aws.access.segmentCidrs"],
  [
    "world-open client CIDR",
    { access: { clientCidrs: ["0.0.0.0/0"] } },
    "aws.access.clientCidrs[0]",
  ],
  [
    "no segment hosts",
    { access: { segmentSecurityGroupId: undefined } },
    "aws.access.segmentSecurityGroupId",
  ],
  [
    "segment group not an id",
    { access: { segmentSecurityGroupId: "segments" } },
    "aws.access.segmentSecurityGroupId",
  ],
  ["no way in over SSH", { access: { adminCidrs: [] } }, "aws.access.adminCidrs"],
  ["reversed port range", { access: { segmentPorts: "6007-6000" } }, "aws.access.segmentPorts"],
  [
    "port range past 65535",
    { access: { interconnectPorts: "1-70000" } },
    "aws.access.interconnectPorts",
  ],
  ["instance type not a string", { instanceType: 5 }, "aws.instanceType"],
  ["instance type not a type", { instanceType: "big one" }, "aws.instanceType"],
  ["AMI id of the wrong form", { ami: { id: "rocky8" } }, "aws.ami.id"],
  ["public IP not a boolean", { associatePublicIp: "yes" }, "aws.associatePublicIp"],
  [
    "no package and not preinstalled",
    { greenplum: { packageUrl: undefined } },
    "aws.greenplum.packageUrl",
  ],
  [
    "package over plain http",
    { greenplum: { packageUrl: "http://x.example.com/gp.rpm" } },
    "aws.greenplum.packageUrl",
  ],
  ["package without a digest", { greenplum: { packageSha256: "" } }, "aws.greenplum.packageSha256"],
  ["data dir relative", { dataDir: "data/master" }, "aws.dataDir"],
  ["data dir without a parent", { dataDir: "/gpseg-1" }, "aws.dataDir"],
  ["data volume too large", { dataVolume: { sizeGiB: 20000 } }, "aws.dataVolume.sizeGiB"],
  ["gp3 iops below the floor", { dataVolume: { iops: 100 } }, "aws.dataVolume.iops"],
  ["DNS TTL too high", { dns: { ttl: 3600 } }, "aws.dns.ttl"],
  ["DNS zone id not an id", { dns: { zoneId: "internal" } }, "aws.dns.zoneId"],
  ["DNS record not a label", { dns: { recordName: "m dw" } }, "aws.dns.recordName"],
  ["no public key", { connection: { publicKey: undefined } }, "aws.connection.publicKey"],
  [
    "no private key",
    { connection: { privateKeyPath: undefined } },
    "aws.connection.privateKeyPath",
  ],
  [
    "private key not there",
    { connection: { privateKeyPath: "/keys/missing" } },
    "aws.connection.privateKeyPath",
  ],
  [
    "bastion without a host key",
    { connection: { proxy: { address: "bastion.example.com" } } },
    "aws.connection.proxy.hostKey",
  ],
  [
    "bastion address with shell characters",
    { connection: { proxy: { address: "b;reboot", hostKey: "ssh-ed25519 AAAAb" } } },
    "aws.connection.proxy.address",
  ],
  ["tags not strings", { tags: { cost: 5 } }, "aws.tags"],
  ["OS user with a space", { osUser: "gp admin" }, "aws.osUser"],
];

describe("aws settings: bad input is refused with the setting's name and a fix", () => {
  it.each(badInputs)("%s", (...[, over, setting]) => {
    const problems = problemsOf(aws(over));
    const mine = problems.filter((p) => p.startsWith(`gpmirror:${setting}:`));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(/Fix: \S/);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf(
      aws({ instanceType: 5, dns: { ttl: 0 }, network: { vpcCidr: "x" } }),
    );
    expect(problems).toHaveLength(3);
  });

  it("throws one error that names the setting and the fix", () => {
    expect(() =>
      parseSettings(aws({ network: { zones: ["eu-west-1b", "eu-west-1b"] } }), ctx),
    ).toThrow(
      /gpmirror:aws\.network\.zones: both masters would be in eu-west-1b.*Fix: name two different zones, or set aws\.allowSameZone to true/,
    );
  });

  it("refuses aws settings that are not a setting of gpmirror", () => {
    expect(problemsOf({ platform: "aws", awz: {} })[0]).toMatch(/^gpmirror:awz: is not/);
  });
});

describe("stacks/Pulumi.aws-example.yaml", () => {
  // js-yaml comes with the dev tools (eslint, ts-jest); the project itself needs no YAML.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require("js-yaml") as { load(text: string): unknown };
  const file = path.join(__dirname, "..", "..", "stacks", "Pulumi.aws-example.yaml");
  const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };

  it("is a valid AWS stack, setting by setting", () => {
    const raw: RawSettings = {};
    for (const [key, value] of Object.entries(doc.config)) {
      // The engine's own settings are the engine's tests' business.
      if (key.startsWith("gpmirror:") && key !== "gpmirror:engine") raw[key.slice(9)] = value;
    }
    const c = parseSettings(raw, {
      ...ctx,
      readFile: (f) => (f === "/home/ann/.ssh/id_ed25519" ? KEY : undefined),
    });
    expect(c.platform).toBe("aws");
    expect(c.aws?.network.primarySubnetId).toBe("subnet-0aaaaaaaaaaaaaaaa");
    expect(c.aws?.connection.proxy?.securityGroupId).toBe("sg-0bbbbbbbbbbbbbbb1");
    expect(doc.config["aws:region"]).toBe("eu-west-1");
  });

  it("documents every aws setting the parser reads", () => {
    const text = fs.readFileSync(file, "utf8");
    const source = fs.readFileSync(
      path.join(__dirname, "..", "..", "components", "config", "aws.ts"),
      "utf8",
    );
    const keys = [...source.matchAll(/"aws\.([A-Za-z0-9.]+)"/g)].map((m) => m[1]);
    expect(keys.length).toBeGreaterThan(30);
    for (const key of new Set(keys)) {
      const leaf = key.split(".").pop() ?? key;
      // As a key of its own, or named in full in a comment.
      const documented = new RegExp(`\\b${leaf}:`).test(text) || text.includes(`aws.${key}`);
      expect({ key, documented }).toEqual({ key, documented: true });
    }
  });
});
