// Activation on AWS, under mocks: the DNS record follows the activation (it is registered
// only once the activation has a result, and then names the new primary), and a forced
// failover away from a given-up old primary fences its instance with a rule-less group.
import * as pulumi from "@pulumi/pulumi";
import { AWS_BASE, mockAwsProgram } from "../support/awsProgram";
import { plain, value } from "../support/mockValues";

// What each resource was told to wait for (dependsOn), by name: the order the engine keeps.
// Read where the SDK hands a resource to the engine (stack transformations need a root stack,
// which mocks do not have).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeResource = require("@pulumi/pulumi/runtime/resource") as {
  registerResource: (...args: unknown[]) => unknown;
};
const waitsFor = new Map<string, string[]>();
const registerResource = runtimeResource.registerResource;
runtimeResource.registerResource = (...args: unknown[]) => {
  const [, , , name, , , , , opts] = args as [
    unknown,
    unknown,
    unknown,
    string,
    unknown,
    unknown,
    unknown,
    unknown,
    pulumi.ResourceOptions,
  ];
  const deps = opts.dependsOn;
  const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as pulumi.Resource[];
  waitsFor.set(
    name,
    list.map((r) => String((r as unknown as { __name: string }).__name)),
  );
  return registerResource(...args);
};

const registered = mockAwsProgram({
  "gpmirror:aws": JSON.stringify(AWS_BASE),
  "gpmirror:activeMaster": "standby",
  "gpmirror:protect": "false",
  "gpmirror:activation": JSON.stringify({ force: true }),
});
// Components and their custom resources may share a name: the custom one has the inputs.
const named = (name: string) => {
  const r = registered.find((x) => x.name === name && !x.type.startsWith("gpmirror:"));
  if (!r) throw new Error(`${name} was not registered`);
  return { ...r, inputs: plain(r.inputs) as Record<string, unknown> };
};

describe("activation on platform aws", () => {
  afterAll(() => new Promise((r) => setTimeout(r, 1000)));

  it("moves the DNS record to the new primary after the activation", async () => {
    const program = await import("../../index");
    expect(await value(program.primary)).toMatchObject({ host: "10.42.2.10" });
    await value(program.clientEndpoint);
    const order = registered.map((r) => r.name);
    expect(order.indexOf("aws-master")).toBeGreaterThan(order.indexOf("mirror-activation"));
    expect(named("aws-master").inputs["records"]).toEqual(["10.42.2.10"]);
  });

  it("fences the old primary's instance in a security group with no rules", () => {
    const fence = named("aws-fence");
    expect(fence.inputs).toMatchObject({ ingress: [], egress: [] });
    expect(named("aws-primary").inputs["vpcSecurityGroupIds"]).toEqual(["aws-fence-id"]);
    expect(named("aws-standby").inputs["vpcSecurityGroupIds"]).toEqual(["aws-masters-id"]);
    const env = named("mirror-activation").inputs["environment"] as Record<string, string>;
    expect(env["GPM_PLATFORM_FENCE"]).toBe("declared");
    expect(env["GPM_NEW_ROLE"]).toBe("standby");
    expect(env["GPM_FORCE"]).toBe("true");
  });

  it("stops the old primary's instance through the EC2 API, forced, before the promotion", () => {
    const power = named("aws-primary-power");
    expect(power.type).toBe("aws:ec2transitgateway/instanceState:InstanceState");
    expect(power.inputs).toMatchObject({
      instanceId: "aws-primary-id",
      state: "stopped",
      force: true,
    });
    // After the instance's own update (the security group swap), before the activation.
    expect(waitsFor.get("aws-primary-power")).toContain("aws-primary");
    expect(waitsFor.get("mirror-activation")).toEqual(
      expect.arrayContaining(["aws-primary-power", "aws-standby-power"]),
    );
    // The new primary keeps running.
    expect(named("aws-standby-power").inputs).toMatchObject({ state: "running" });
  });

  it("says in the activation's environment what the platform fence did and left undone", () => {
    const env = named("mirror-activation").inputs["environment"] as Record<string, string>;
    expect(env["GPM_PLATFORM_FENCE_DONE"]).toMatch(/stopped through the EC2 API/);
    expect(env["GPM_PLATFORM_FENCE_GAP"]).toMatch(/data directory was not marked/);
  });

  it("records the fenced host, so that a later update starts it only to re-protect it", async () => {
    const program = await import("../../index");
    const record = await value(program.awsRecord ?? pulumi.output(undefined));
    expect(record).toMatchObject({ fenced: "primary" });
  });

  it("runs no standby steps while the old primary is given up (protect off)", () => {
    expect(registered.some((r) => r.name === "mirror-standby")).toBe(false);
    expect(registered.some((r) => r.name === "mirror-verify")).toBe(false);
  });
});
