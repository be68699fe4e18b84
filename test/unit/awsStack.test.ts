// The whole program (index.ts) on `platform: aws`, under mocks: the stack file's settings
// pick AwsHosts, and the stack outputs carry the DNS name as the client endpoint.
import * as pulumi from "@pulumi/pulumi";
import { AWS_BASE, mockAwsProgram, recordedHost } from "../support/awsProgram";
import { value } from "../support/mockValues";

const registered = mockAwsProgram({ "gpmirror:aws": JSON.stringify(AWS_BASE) });
const types = () => registered.map((r) => r.type);

describe("the program on platform aws", () => {
  // Let the last registrations finish before jest tears the module scope down.
  afterAll(() => new Promise((r) => setTimeout(r, 1000)));

  it("builds the pair on EC2 and exports the DNS name as the client endpoint", async () => {
    const program = await import("../../index");
    expect(await value(program.clientEndpoint)).toBe("mdw.gpmirror.internal:5432");
    expect(await value(program.primary)).toMatchObject({ host: "10.42.1.10", port: 5432 });
    expect(await value(program.standby)).toMatchObject({ host: "10.42.2.10", port: 5432 });
    expect(types().filter((t) => t === "aws:ec2/instance:Instance")).toHaveLength(2);
    expect(types()).toContain("gpmirror:hosts:AwsHosts");
    expect(types()).not.toContain("gpmirror:hosts:LocalHosts");
    expect(registered.some((r) => r.name === "aws-fence")).toBe(false);
  });

  it("exports the record the next update reads back, and the masters' security group", async () => {
    const program = await import("../../index");
    const { RECORD_OUTPUT } = await import("../../components/hosts/aws");
    expect(Object.keys(program)).toContain(RECORD_OUTPUT);
    const record = await value(program[RECORD_OUTPUT as "awsRecord"] ?? pulumi.output(undefined));
    expect(record).toEqual({
      hosts: {
        primary: recordedHost("us-east-1a", "aws-primary-subnet-id"),
        standby: recordedHost("us-east-1b", "aws-standby-subnet-id"),
      },
      activeMaster: "primary",
    });
    expect(await value(program.mastersSecurityGroupId ?? pulumi.output(""))).toBe("aws-masters-id");
  });
});
