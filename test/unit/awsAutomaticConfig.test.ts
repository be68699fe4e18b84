// Automatic failover on platform aws, as config reads it: the witness's settings, and the
// refusals (bad instance type, too few zones, a witness in a master's zone, a VPC too small
// for its subnet, no HTTPS egress for the agent's Route53 call), each naming the setting.
import { AwsSettings, ConfigContext, parseSettings, RawSettings } from "../../components/config";
import { checkPlacement, regionZones } from "../../components/hosts/aws";
import { fakeKey } from "../fixtures/keys";
import { problemsOf } from "../support/configProblems";

const KEY = fakeKey("abc") + "\n";
const ctx: ConfigContext = {
  stack: "prod",
  uid: 1000,
  homeDir: "/home/ann",
  readFile: (f: string) => (f === "/keys/id" ? KEY : undefined),
};

function settings(aws: Record<string, unknown> = {}, rest: RawSettings = {}): RawSettings {
  return {
    platform: "aws",
    activation: { automatic: true },
    aws: {
      access: {
        segmentSecurityGroupId: "sg-0123456789abcdef0",
        adminCidrs: ["10.0.0.0/16"],
        httpsEgressCidrs: ["10.0.0.0/8"],
      },
      greenplum: { preinstalled: true },
      connection: {
        publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG",
        privateKeyPath: "/keys/id",
      },
      ...aws,
    },
    ...rest,
  };
}

describe("automatic failover on platform aws: config", () => {
  it("is accepted for PostgreSQL, with a small witness and this machine's state directory", () => {
    const c = parseSettings(settings(), ctx);
    expect(c.activation.automatic).toBeDefined();
    expect(c.aws?.witness).toEqual({
      instanceType: "t3.small",
      subnetId: undefined,
      zone: undefined,
      stateDir: "/home/ann/.gpmirror/prod",
    });
  });

  it("takes the witness's instance type, and refuses one that is not a type", () => {
    const c = parseSettings(settings({ witness: { instanceType: "t4g.nano" } }), ctx);
    expect(c.aws?.witness?.instanceType).toBe("t4g.nano");
    const problems = problemsOf(settings({ witness: { instanceType: "tiny" } }), ctx);
    expect(problems).toEqual([
      expect.stringMatching(/aws\.witness\.instanceType.*"tiny" is not an EC2 instance type/),
    ]);
  });

  it("refuses two zones without a third for the witness, or a witness in a master's zone", () => {
    const two = { network: { zones: ["us-east-1a", "us-east-1b"] } };
    expect(problemsOf(settings(two), ctx)).toEqual([
      expect.stringMatching(/aws\.network\.zones.*needs a third.*aws\.witness\.zone/),
    ]);
    const same = { ...two, witness: { zone: "us-east-1b" } };
    expect(problemsOf(settings(same), ctx)).toEqual([
      expect.stringMatching(/aws\.witness\.zone.*us-east-1b is one of the masters' zones/),
    ]);
    const c = parseSettings(settings({ ...two, witness: { zone: "us-east-1c" } }), ctx);
    expect(c.aws?.witness?.zone).toBe("us-east-1c");
  });

  it("asks for the witness's subnet in the user's VPC, and only there", () => {
    const byo = {
      network: {
        primarySubnetId: "subnet-0aaaaaaaaaaaaaaaa",
        standbySubnetId: "subnet-0bbbbbbbbbbbbbbbb",
      },
    };
    expect(problemsOf(settings(byo), ctx)).toEqual([
      expect.stringMatching(/aws\.witness\.subnetId.*is missing/),
    ]);
    const withWitness = { ...byo, witness: { subnetId: "subnet-0cccccccccccccccc" } };
    expect(parseSettings(settings(withWitness), ctx).aws?.witness?.subnetId).toBe(
      "subnet-0cccccccccccccccc",
    );
    expect(
      problemsOf(settings({ witness: { subnetId: "subnet-0cccccccccccccccc" } }), ctx),
    ).toEqual([
      expect.stringMatching(/aws\.witness\.subnetId.*is used with the masters' own subnets/),
    ]);
  });

  it("fits the witness's subnet in the smallest created VPC allowed (a /22), refusing a /23 once", () => {
    expect(problemsOf(settings({ network: { vpcCidr: "10.42.0.0/22" } }), ctx)).toEqual([]);
    expect(problemsOf(settings({ network: { vpcCidr: "10.42.0.0/23" } }), ctx)).toEqual([
      expect.stringMatching(/aws\.network\.vpcCidr: 10\.42\.0\.0\/23 is too small/),
    ]);
  });

  it("refuses masters that could not reach Route53's API to move the record", () => {
    const access = { segmentSecurityGroupId: "sg-0123456789abcdef0", adminCidrs: ["10.0.0.0/16"] };
    expect(problemsOf(settings({ access }), ctx)).toEqual([
      expect.stringMatching(/aws\.access\.httpsEgressCidrs.*Route53/),
    ]);
  });

  it("is still refused for Greenplum on aws, and reads no witness settings without it", () => {
    expect(problemsOf(settings({}, { engine: "greenplum" }), ctx)).toContainEqual(
      expect.stringMatching(/activation\.automatic.*engine greenplum on platform local/),
    );
    const off = parseSettings(settings({}, { activation: { automatic: false } }), ctx);
    expect(off.aws?.witness).toBeUndefined();
  });

  const aws = (over: Record<string, unknown> = {}): AwsSettings => {
    const a = parseSettings(settings(over), ctx).aws;
    if (!a) throw new Error("no aws settings");
    return a;
  };

  it("takes the region's third zone for the witness, and refuses a region of two", () => {
    expect(regionZones(["eu-west-1a", "eu-west-1b", "eu-west-1c"], aws())).toEqual([
      "eu-west-1a",
      "eu-west-1b",
      "eu-west-1c",
    ]);
    expect(() => regionZones(["eu-west-1a", "eu-west-1b"], aws())).toThrow(
      /activation\.automatic: this region offers 2 availability zone\(s\).*needs a third/,
    );
    const off = parseSettings(settings({}, { activation: { automatic: false } }), ctx).aws;
    expect(off && regionZones(["eu-west-1a", "eu-west-1b"], off)).toEqual([
      "eu-west-1a",
      "eu-west-1b",
    ]);
  });

  it("refuses, at preview, a given witness subnet in another VPC or in a master's zone", () => {
    const s = aws({
      network: {
        primarySubnetId: "subnet-0aaaaaaaaaaaaaaaa",
        standbySubnetId: "subnet-0bbbbbbbbbbbbbbbb",
      },
      witness: { subnetId: "subnet-0cccccccccccccccc" },
    });
    const placement = (zone: string) => ({
      vpcId: "vpc-0f0f0f0f0f",
      subnetIds: { primary: "subnet-0aaaaaaaaaaaaaaaa", standby: "subnet-0bbbbbbbbbbbbbbbb" },
      zones: { primary: "eu-west-1a", standby: "eu-west-1b" },
      witness: { subnetId: "subnet-0cccccccccccccccc", zone },
    });
    expect(checkPlacement(s, placement("eu-west-1c"), "vpc-0f0f0f0f0f", "vpc-0f0f0f0f0f")).toEqual(
      placement("eu-west-1c"),
    );
    expect(() =>
      checkPlacement(s, placement("eu-west-1c"), "vpc-0f0f0f0f0f", "vpc-0e0e0e0e0e"),
    ).toThrow(/aws\.witness\.subnetId: subnet-0cccccccccccccccc is in vpc-0e0e0e0e0e/);
    expect(() =>
      checkPlacement(s, placement("eu-west-1b"), "vpc-0f0f0f0f0f", "vpc-0f0f0f0f0f"),
    ).toThrow(/aws\.witness\.subnetId: the witness would be in eu-west-1b with a master/);
  });
});
