// The whole program (index.ts) on `platform: aws`, under mocks: the stack file's settings
// pick AwsHosts, and the stack outputs carry the DNS name as the client endpoint.
import * as pulumi from "@pulumi/pulumi";
import { plain, value } from "../support/mockValues";

const types: string[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      types.push(args.type);
      const inputs = plain(args.inputs) as Record<string, unknown>;
      const out: Record<string, unknown> = { ...inputs };
      if (args.name.endsWith("-host-key")) {
        out["stdout"] = JSON.stringify({ privateKey: "k", publicKey: "ssh-ed25519 AAAAh" });
      } else if (args.type === "aws:ec2/instance:Instance") {
        out["privateIp"] = args.name.endsWith("primary") ? "10.42.1.10" : "10.42.2.10";
      } else if (args.type === "aws:route53/record:Record") {
        out["fqdn"] = inputs["name"];
      } else if (args.type === "aws:route53/zone:Zone") {
        out["zoneId"] = "ZUNIT";
      } else if (args.type.startsWith("aws:iam/")) {
        out["name"] = args.name;
      } else if (args.name.endsWith("-verify")) {
        out["stdout"] = '{"state":"streaming","syncState":"async","replayLagBytes":0}';
      } else if (args.type.startsWith("command:")) {
        out["stdout"] = args.name === "replication-password" ? "p".repeat(32) : "{}";
      }
      return { id: `${args.name}-id`, state: out };
    },
    call(args) {
      if (args.token === "aws:ec2/getAmi:getAmi") return { id: "ami-0123456789abcdef0" };
      if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones")
        return { names: ["us-east-1a", "us-east-1b"] };
      return args.inputs;
    },
  },
  "gpmirror",
  "unit",
  false,
);

pulumi.runtime.setAllConfig({
  "gpmirror:platform": "aws",
  "gpmirror:aws": JSON.stringify({
    access: { segmentSecurityGroupId: "sg-0555555555555555a", adminCidrs: ["10.0.0.0/24"] },
    greenplum: { preinstalled: true },
    connection: {
      publicKey: "ssh-ed25519 AAAAclient",
      privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
    },
  }),
});

describe("the program on platform aws", () => {
  // Let the last registrations finish before jest tears the module scope down.
  afterAll(() => new Promise((r) => setTimeout(r, 1000)));

  it("builds the pair on EC2 and exports the DNS name as the client endpoint", async () => {
    const program = await import("../../index");
    expect(await value(program.clientEndpoint)).toBe("mdw.gpmirror.internal:5432");
    expect(await value(program.primary)).toMatchObject({ host: "10.42.1.10", port: 5432 });
    expect(await value(program.standby)).toMatchObject({ host: "10.42.2.10", port: 5432 });
    expect(types.filter((t) => t === "aws:ec2/instance:Instance")).toHaveLength(2);
    expect(types).toContain("gpmirror:hosts:AwsHosts");
    expect(types).not.toContain("gpmirror:hosts:LocalHosts");
  });
});
