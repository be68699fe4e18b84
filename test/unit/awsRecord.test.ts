// The whole program on AWS under mocks, on a stack whose last update recorded a database
// system: the primary step gets its identifier (and so refuses to initialize an empty data
// directory), and the record keeps it while the step reports none.
import * as pulumi from "@pulumi/pulumi";
import { AWS_BASE, mockAwsProgram, recordedHost } from "../support/awsProgram";
import { plain, value } from "../support/mockValues";

const host = recordedHost;
const registered = mockAwsProgram(
  { "gpmirror:aws": JSON.stringify(AWS_BASE) },
  {
    awsRecord: {
      hosts: {
        primary: host("us-east-1a", "aws-primary-subnet-id"),
        standby: host("us-east-1b", "aws-standby-subnet-id"),
      },
      activeMaster: "primary",
      systemIdentifier: "7712486893244621282",
    },
  },
);

describe("the program on a stack with a recorded system", () => {
  afterAll(() => new Promise((r) => setTimeout(r, 1000)));

  it("gives the primary step the recorded identifier and keeps it in the record", async () => {
    const program = await import("../../index");
    const record = await value(program.awsRecord ?? pulumi.output(undefined));
    expect(record?.systemIdentifier).toBe("7712486893244621282");
    const step = registered.find(
      (r) => r.name === "mirror-primary" && r.type.startsWith("command:"),
    );
    expect(String(plain(step?.inputs["stdin"]))).toContain(
      "export GPM_EXPECTED_SYSTEM_ID='7712486893244621282'",
    );
  });
});
