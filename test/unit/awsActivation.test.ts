// Activation on AWS, under mocks: the DNS record follows the activation (it is registered
// only once the activation has a result, and then names the new primary), and a forced
// failover away from a given-up old primary fences its instance with a rule-less group.
import { AWS_BASE, mockAwsProgram } from "../support/awsProgram";
import { plain, value } from "../support/mockValues";

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

  it("runs no standby steps while the old primary is given up (protect off)", () => {
    expect(registered.some((r) => r.name === "mirror-standby")).toBe(false);
    expect(registered.some((r) => r.name === "mirror-verify")).toBe(false);
  });
});
