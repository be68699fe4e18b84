// Automatic failover on platform aws, the whole program under mocks: the witness instance in
// a third zone, etcd's ports open only among the three hosts' groups, the masters' role
// allowed to UPSERT the one client record only, and the agents told which record to move.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  AWS_AUTOMATIC,
  PRIVATE_IP,
  Registered,
  automaticStdout,
  mockAwsProgram,
} from "../support/awsProgram";
import { isSecretValue, plain, value } from "../support/mockValues";

// The program's home directory, where ~/.gpmirror/<stack> is kept: one of this test's own,
// with no etcd yet.
jest.mock("os", () => {
  const real = jest.requireActual<typeof import("os")>("os");
  const dir = `${real.tmpdir()}/gpm-awsauto-home-${process.pid}`;
  return { ...real, homedir: () => dir };
});
fs.rmSync(os.homedir(), { recursive: true, force: true });

const tls = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-awsauto-tls-"));
for (const m of ["primary", "standby", "witness"]) {
  fs.writeFileSync(`${tls}/${m}.crt`, `CERT ${m}`);
  fs.writeFileSync(`${tls}/${m}.key`, `KEY ${m}`);
}
const agentBinary = path.join(tls, "gpmirror-agent");
fs.writeFileSync(agentBinary, "binary");

const registered = mockAwsProgram(AWS_AUTOMATIC, {}, automaticStdout(tls, agentBinary), [
  "us-east-1a",
  "us-east-1b",
  "us-east-1c",
  "us-east-1d",
]);
const custom = (type: string) =>
  registered
    .filter((r) => r.type === type)
    .map((r) => ({ ...r, inputs: plain(r.inputs) as Record<string, unknown> }));
const named = (name: string): Registered => {
  const r = registered.find((x) => x.name === name && !x.type.startsWith("gpmirror:"));
  if (!r) throw new Error(`${name} was not registered`);
  return { ...r, inputs: plain(r.inputs) as Record<string, unknown> };
};

describe("automatic failover on platform aws", () => {
  let program: typeof import("../../index");
  const summary = () => {
    if (!program.automaticFailover) throw new Error("no automaticFailover output");
    return value(program.automaticFailover);
  };
  beforeAll(async () => {
    program = await import("../../index");
    await summary();
    await value(program.clientEndpoint);
    // The agents' steps come once the pair is built (mirror.built): wait for them.
    for (let i = 0; i < 100 && !registered.some((r) => r.name === "auto-agent-standby"); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 60_000);
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 1000));
    for (const d of [os.homedir(), tls]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("puts a small witness instance, with no role, in its own subnet in a third zone", () => {
    const subnets = custom("aws:ec2/subnet:Subnet");
    expect(
      subnets.map((s) => [s.name, s.inputs["availabilityZone"], s.inputs["cidrBlock"]]).sort(),
    ).toEqual([
      ["aws-primary-subnet", "us-east-1a", "10.42.1.0/24"],
      ["aws-standby-subnet", "us-east-1b", "10.42.2.0/24"],
      ["aws-witness-subnet", "us-east-1c", "10.42.3.0/24"],
    ]);
    const w = named("aws-witness");
    expect(w.type).toBe("aws:ec2/instance:Instance");
    expect(w.inputs).toMatchObject({
      instanceType: "t3.small",
      subnetId: "aws-witness-subnet-id",
      vpcSecurityGroupIds: ["aws-witness-group-id"],
      associatePublicIpAddress: false,
      metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
    });
    expect(w.inputs["iamInstanceProfile"]).toBeUndefined();
    // Its first boot makes no data volume and installs no Greenplum.
    expect(String(w.inputs["userData"])).toContain("export GPM_DATA_VOLUME_ID=''");
    expect(
      isSecretValue(registered.find((r) => r.name === "aws-witness")?.inputs["userData"]),
    ).toBe(true);
  });

  it("has every host install etcd, etcdctl and jq at first boot (auto-packages.sh), before first contact", () => {
    for (const name of ["aws-primary", "aws-standby", "aws-witness"]) {
      const cc = JSON.parse(
        String(named(name).inputs["userData"]).replace(/^#cloud-config\n/, ""),
      ) as {
        write_files: { path: string; content: string }[];
      };
      const files = new Map(cc.write_files.map((f) => [f.path, f.content]));
      expect(files.get("/var/lib/gpmirror/user-data.sh")).toContain(
        "export GPM_AUTO_PACKAGES='true'",
      );
      expect(files.get("/var/lib/gpmirror/auto-packages.sh")).toBe(
        fs.readFileSync(path.join(__dirname, "../../scripts/aws/auto-packages.sh"), "utf8"),
      );
    }
  });

  it("opens etcd's ports (2379-2380) only among the masters' group and the witness's", () => {
    const rules = [
      ...custom("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => ({
        ...r,
        dir: "in",
      })),
      ...custom("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule").map((r) => ({
        ...r,
        dir: "out",
      })),
    ];
    const touches = (r: (typeof rules)[number]) =>
      Number(r.inputs["fromPort"]) <= 2380 && Number(r.inputs["toPort"]) >= 2379;
    const etcd = rules
      .filter(touches)
      .map((r) => [
        r.dir,
        r.inputs["securityGroupId"],
        r.inputs["referencedSecurityGroupId"] ?? r.inputs["cidrIpv4"],
        r.inputs["ipProtocol"],
        r.inputs["fromPort"],
        r.inputs["toPort"],
      ]);
    // The interconnect range (10000-65535) does not reach 2379; nothing else does.
    expect(etcd.sort()).toEqual(
      [
        ["in", "aws-masters-id", "aws-masters-id"],
        ["in", "aws-masters-id", "aws-witness-group-id"],
        ["in", "aws-witness-group-id", "aws-masters-id"],
        ["out", "aws-masters-id", "aws-masters-id"],
        ["out", "aws-masters-id", "aws-witness-group-id"],
        ["out", "aws-witness-group-id", "aws-masters-id"],
      ]
        .map((r) => [...r, "tcp", 2379, 2380])
        .sort(),
    );
    // The witness's group: etcd with the masters, SSH from the admins; nothing more.
    const witness = rules.filter((r) => r.inputs["securityGroupId"] === "aws-witness-group-id");
    expect(
      witness
        .map(
          (r) =>
            `${r.dir} ${r.inputs["fromPort"]}-${r.inputs["toPort"]} ${r.inputs["referencedSecurityGroupId"] ?? r.inputs["cidrIpv4"]}`,
        )
        .sort(),
    ).toEqual([
      "in 22-22 10.0.0.0/24",
      "in 2379-2380 aws-masters-id",
      "out 2379-2380 aws-masters-id",
    ]);
    expect(rules.filter((r) => r.inputs["cidrIpv4"] === "0.0.0.0/0")).toEqual([]);
  });

  it("lets the masters' role UPSERT the client record's A record in its zone, and nothing else", () => {
    const policies = custom("aws:iam/rolePolicy:RolePolicy");
    expect(policies.map((p) => p.name)).toEqual(["aws-client-record"]);
    expect(policies[0].inputs["role"]).toBe("aws-role-id");
    expect(JSON.parse(String(policies[0].inputs["policy"]))).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "route53:ChangeResourceRecordSets",
          Resource: "arn:aws:route53:::hostedzone/ZUNIT",
          Condition: {
            "ForAllValues:StringEquals": {
              "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["mdw.gpmirror.internal"],
              "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
              "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
            },
          },
        },
      ],
    });
  });

  it("runs etcd on the three hosts at their private addresses, and tells each agent its record", async () => {
    const s = await summary();
    expect(s.endpoints).toEqual(
      ["primary", "standby", "witness"].map((r) => `https://${PRIVATE_IP[r]}:2379`),
    );
    expect(s.clientEndpointNote).toMatch(/DNS name/);
    for (const role of ["primary", "standby", "witness"]) {
      expect(registered.some((r) => r.name === `auto-etcd-${role}`)).toBe(true);
    }
    for (const role of ["primary", "standby"]) {
      const step = registered.find(
        (r) => r.name === `auto-agent-${role}` && r.type === "command:remote:Command",
      );
      // The TLS key goes on stdin, so the whole input is a secret.
      expect(isSecretValue(step?.inputs["stdin"])).toBe(true);
      const stdin = String(plain(step?.inputs["stdin"]));
      const config = /GPM_AGENT_CONFIG='(\{.*?\})'/.exec(stdin)?.[1];
      expect(JSON.parse(config ?? "{}").dnsRecord).toEqual({
        zoneId: "ZUNIT",
        name: "mdw.gpmirror.internal",
        ttl: 30,
        address: PRIVATE_IP[role],
      });
    }
    expect(await value(program.clientEndpoint)).toBe("mdw.gpmirror.internal:5432");
  });

  it("gives npm run status the witness's SSH login (secret operatorAccess), where it reads etcd as pulumi up does", async () => {
    // It holds the stack's private key, and the bastion's when there is one.
    expect(
      await (program.operatorAccess as unknown as { isSecret: Promise<boolean> }).isSecret,
    ).toBe(true);
    if (!program.operatorAccess) throw new Error("no operatorAccess output");
    const access = (await value(program.operatorAccess)) as unknown as {
      witness?: Record<string, unknown>;
    };
    expect(access.witness).toMatchObject({
      name: "witness_unit",
      address: PRIVATE_IP["witness"],
      sshPort: 22,
      user: "gpadmin",
      hostKey: "ssh-ed25519 AAAAr",
      autoDir: "/data/master/auto",
    });
  });

  it("runs the witness's etcd step again on a replaced witness instance, which then replaces its etcd member", () => {
    const step = registered.find(
      (r) => r.name === "auto-etcd-witness" && r.type === "command:remote:Command",
    );
    // A new instance is a new trigger: the step runs on it (RemoteStep), as on a new address.
    expect(plain(step?.inputs["triggers"])).toEqual(["aws-witness-id"]);
    const stdin = String(plain(step?.inputs["stdin"]));
    expect(stdin).toContain(`export GPM_ETCD_ADDRESS='${PRIVATE_IP["witness"]}'`);
    expect(stdin).toContain(
      `export GPM_ETCD_CLUSTER='${["primary", "standby", "witness"].map((r) => `${r}=https://${PRIVATE_IP[r]}:2380`).join(",")}'`,
    );
    // etcd.sh asks the masters for its membership first (auto_join: member remove of the
    // stale witness, member add, a fresh data directory, --initial-cluster-state existing).
    expect(stdin).toMatch(/join="\$\(auto_join "\$DIR" "\$GPM_ETCD_NAME"/);
    expect(stdin).toContain("auto_join() {");
  });
});
