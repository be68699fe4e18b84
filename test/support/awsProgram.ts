// The whole program (index.ts) on `platform: aws` under Pulumi's mocks: what it registers, in
// order, with the inputs the engine would receive.
import * as pulumi from "@pulumi/pulumi";
import { HostRecord } from "../../components/hosts/aws";
import { plain } from "./mockValues";
import { fakeKey } from "../fixtures/keys";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export const AWS_BASE = {
  access: { segmentSecurityGroupId: "sg-0555555555555555a", adminCidrs: ["10.0.0.0/24"] },
  greenplum: { preinstalled: true },
  connection: {
    publicKey: "ssh-ed25519 AAAAclient",
    privateKey: fakeKey("x"),
  },
};

/** Automatic failover's settings on AWS: the masters may reach Route53's API. */
export const AWS_AUTOMATIC = {
  "gpmirror:aws": JSON.stringify({
    ...AWS_BASE,
    access: { ...AWS_BASE.access, httpsEgressCidrs: ["10.0.0.0/8"] },
  }),
  "gpmirror:activation": JSON.stringify({ automatic: true }),
};

/** What tls.sh and build-agent.sh print, for the AutomaticFailover component to read. */
export function automaticStdout(tlsDir: string, agentBinary: string): Record<string, string> {
  return {
    "auto-tls": JSON.stringify({ dir: tlsDir, caCert: "CA" }),
    "auto-agent-build": JSON.stringify({ path: agentBinary, sha256: "ab12" }),
  };
}

/** The instances' private addresses, by role. */
export const PRIVATE_IP: Record<string, string> = {
  primary: "10.42.1.10",
  standby: "10.42.2.10",
  witness: "10.42.3.10",
};

/**
 * Sets the mocks and the stack's config; returns the list registrations are appended to.
 * `zones`: what the region's availability zones lookup answers.
 * `previousOutputs`: the stack's outputs as the last update left them (what the stack's
 * reference to itself reads), or those by the reference's name. `stdout`: what a command
 * prints, by resource name, where the default does not do.
 */
export function mockAwsProgram(
  config: Record<string, string>,
  previousOutputs: Record<string, unknown> | ((ref: string) => Record<string, unknown>) = {},
  stdout: Record<string, string> = {},
  zones: string[] = ["us-east-1a", "us-east-1b"],
): Registered[] {
  const registered: Registered[] = [];
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = plain(args.inputs) as Record<string, unknown>;
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const out: Record<string, unknown> = { ...inputs };
        if (args.type === "pulumi:pulumi:StackReference") {
          out["outputs"] =
            typeof previousOutputs === "function" ? previousOutputs(args.name) : previousOutputs;
        } else if (args.name in stdout && args.type.startsWith("command:")) {
          out["stdout"] = stdout[args.name];
        } else if (args.name.endsWith("-host-key")) {
          out["stdout"] = JSON.stringify({ privateKey: "k", publicKey: "ssh-ed25519 AAAAh" });
        } else if (args.name.endsWith("-first-contact")) {
          out["stdout"] = '{"ready":true,"hostKey":"ssh-ed25519 AAAAr"}';
        } else if (args.type === "aws:ec2/instance:Instance") {
          out["privateIp"] = PRIVATE_IP[args.name.split("-").pop() ?? ""] ?? "10.42.2.10";
        } else if (args.type === "aws:route53/record:Record") {
          out["fqdn"] = inputs["name"];
        } else if (args.type === "aws:route53/zone:Zone") {
          out["zoneId"] = "ZUNIT";
        } else if (args.type.startsWith("aws:iam/")) {
          out["name"] = args.name;
          out["arn"] = `arn:aws:iam::123456789012:role/${args.name}`;
        } else if (args.name.endsWith("-verify")) {
          out["stdout"] = '{"state":"streaming","syncState":"async","replayLagBytes":0}';
        } else if (args.name.endsWith("-activation")) {
          out["stdout"] = '{"activated":true,"fence":"platform"}';
        } else if (args.type.startsWith("command:")) {
          out["stdout"] = args.name.endsWith("-password") ? "p".repeat(32) : "{}";
        }
        return { id: `${args.name}-id`, state: out };
      },
      call(args) {
        if (args.token === "aws:ec2/getAmi:getAmi") return { id: "ami-0123456789abcdef0" };
        if (args.token === "aws:index/getRegion:getRegion") return { region: "us-east-1" };
        if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones")
          return { names: zones };
        return args.inputs;
      },
    },
    "gpmirror",
    "unit",
    false,
    "organization",
  );
  pulumi.runtime.setAllConfig({ "gpmirror:platform": "aws", ...config });
  return registered;
}

/** A host as the awsRecord output of an earlier update records it. */
export function recordedHost(
  zone: string,
  subnetId: string,
  instanceType = "m6i.xlarge",
): HostRecord {
  return { instanceType, subnetId, zone, kmsKeyId: "", associatePublicIp: false };
}
