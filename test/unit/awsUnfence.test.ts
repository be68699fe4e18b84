// Lifting the AWS fence, under mocks: the last update stopped the old primary's instance (a
// forced failover with protect off). Turning protect on starts it again, and only then: the
// start comes before the boot check (which runs again) and before the activation, whose stale
// primary check marks the never-fenced data directory before the standby step rewinds it.
import * as pulumi from "@pulumi/pulumi";
import { AwsRecord } from "../../components/hosts/aws";
import { checkFence, fenceRecord } from "../../components/hosts/aws/fence";
import { AWS_BASE, mockAwsProgram, recordedHost } from "../support/awsProgram";
import { plain, value } from "../support/mockValues";

const host = recordedHost;
const FENCED: AwsRecord = {
  hosts: {
    primary: host("us-east-1a", "aws-primary-subnet-id"),
    standby: host("us-east-1b", "aws-standby-subnet-id"),
  },
  activeMaster: "standby",
  fenced: "primary",
};
const registered = mockAwsProgram(
  {
    "gpmirror:aws": JSON.stringify(AWS_BASE),
    "gpmirror:activeMaster": "standby",
    "gpmirror:protect": "true",
  },
  { awsRecord: FENCED },
);
const named = (name: string) => {
  const r = registered.find((x) => x.name === name && !x.type.startsWith("gpmirror:"));
  if (!r) throw new Error(`${name} was not registered`);
  return { ...r, inputs: plain(r.inputs) as Record<string, unknown> };
};

describe("lifting the fence on platform aws", () => {
  afterAll(() => new Promise((r) => setTimeout(r, 1000)));

  it("starts the fenced instance again, back in the masters' group, and runs its boot check again", async () => {
    const program = await import("../../index");
    const record = await value(program.awsRecord ?? pulumi.output(undefined));
    expect(record?.fenced).toBeUndefined();
    expect(record?.starts).toEqual({ primary: 1 });
    expect(named("aws-primary-power").inputs).toMatchObject({ state: "running" });
    expect(named("aws-primary").inputs["vpcSecurityGroupIds"]).toEqual(["aws-masters-id"]);
    expect(named("aws-primary-boot").inputs["triggers"]).toEqual([
      expect.any(String),
      "started again after a fence: 1",
    ]);
    // The other host's boot check keeps its trigger: nothing runs there again.
    expect(named("aws-standby-boot").inputs["triggers"]).toHaveLength(1);
  });

  it("re-protects the old primary in the same update (standby step on it)", async () => {
    const program = await import("../../index");
    await value(program.replication);
    expect(registered.some((r) => r.name === "mirror-standby")).toBe(true);
  });
});

describe("the fence's checks at preview", () => {
  it("refuses to start a fenced instance without re-protecting it", () => {
    expect(() =>
      checkFence(FENCED, { fence: undefined, protect: false, activeMaster: "standby" }),
    ).toThrow(
      /^gpmirror:protect: the primary instance was stopped by a forced failover; it starts again only to be re-protected/,
    );
  });

  it("refuses to make the stopped, stale host the active master", () => {
    expect(() =>
      checkFence(FENCED, { fence: undefined, protect: true, activeMaster: "primary" }),
    ).toThrow(/^gpmirror:activeMaster: the primary instance was stopped by a forced failover/);
  });

  it("keeps a fence that stays, and counts a start once per lifted fence", () => {
    expect(() =>
      checkFence(FENCED, { fence: "primary", protect: false, activeMaster: "standby" }),
    ).not.toThrow();
    expect(fenceRecord(FENCED, "primary")).toEqual({ fenced: "primary" });
    expect(fenceRecord({ ...FENCED, starts: { primary: 2 } }, undefined)).toEqual({
      starts: { primary: 3 },
    });
    // An update that fails before its record is saved and is run again counts the same start.
    expect(fenceRecord(FENCED, undefined)).toEqual(fenceRecord(FENCED, undefined));
  });
});
