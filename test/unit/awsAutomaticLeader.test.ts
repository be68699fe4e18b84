// Platform aws after an automatic failover, under mocks: `pulumi up` reads who holds the
// leader key on the witness (over the operators' SSH line: etcd's ports are open among the
// three hosts only), follows it, and so points the client record where the agent did.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  AWS_AUTOMATIC,
  PRIVATE_IP,
  automaticStdout,
  mockAwsProgram,
  recordedHost,
} from "../support/awsProgram";
import { plain, value } from "../support/mockValues";

// The program's home directory, where ~/.gpmirror/<stack> is kept: one of this test's own.
jest.mock("os", () => {
  const real = jest.requireActual<typeof import("os")>("os");
  const dir = `${real.tmpdir()}/gpm-awsleader-home-${process.pid}`;
  return { ...real, homedir: () => dir };
});
const home = os.homedir();
fs.rmSync(home, { recursive: true, force: true });

// What the last update left on this machine: the CA and each member's certificate (tls.sh).
const tls = `${home}/.gpmirror/unit/etcd-tls`;
fs.mkdirSync(tls, { recursive: true });
fs.writeFileSync(`${tls}/ca.crt`, "CA");
for (const m of ["primary", "standby", "witness"]) {
  fs.writeFileSync(`${tls}/${m}.san`, `IP:${PRIVATE_IP[m]},IP:127.0.0.1`);
  fs.writeFileSync(`${tls}/${m}.crt`, `CERT ${m}`);
  fs.writeFileSync(`${tls}/${m}.key`, `KEY ${m}`);
}
// ssh on this machine: records what it was asked, and answers as etcdctl on the witness does
// once the standby's agent took the key.
const bin = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-awsleader-bin-"));
const argsFile = `${bin}/ssh.args`;
fs.writeFileSync(`${bin}/ssh`, `#!/bin/sh\nprintf '%s\\n' "$@" > '${argsFile}'\necho standby\n`, {
  mode: 0o755,
});
process.env["PATH"] = `${bin}:${process.env["PATH"] ?? ""}`;
const agentBinary = `${bin}/gpmirror-agent`;
fs.writeFileSync(agentBinary, "binary");

const registered = mockAwsProgram(
  {
    ...AWS_AUTOMATIC,
    // The preferred master, as before the failover.
    "gpmirror:activeMaster": "primary",
  },
  {
    awsRecord: {
      hosts: {
        primary: recordedHost("us-east-1a", "aws-primary-subnet-id"),
        standby: recordedHost("us-east-1b", "aws-standby-subnet-id"),
      },
      activeMaster: "primary",
    },
  },
  automaticStdout(tls, agentBinary),
  ["us-east-1a", "us-east-1b", "us-east-1c"],
);

describe("pulumi up on aws after an automatic failover", () => {
  afterAll(async () => {
    await new Promise((r) => setTimeout(r, 1000));
    for (const d of [home, bin]) fs.rmSync(d, { recursive: true, force: true });
  });

  it("reads the leader key on the witness over SSH, follows it, and points the record where the agent did", async () => {
    const program = await import("../../index");
    if (!program.automaticFailover) throw new Error("no automaticFailover output");
    const summary = await value(program.automaticFailover);
    expect(summary).toMatchObject({
      leaderAtStart: "standby",
      preferredMaster: "primary",
      activeMaster: "standby",
      followedAgents: true,
    });
    const args = fs.readFileSync(argsFile, "utf8").trim().split("\n");
    expect(args).toContain(`gpadmin@${PRIVATE_IP["witness"]}`);
    expect(args).toContain("StrictHostKeyChecking=yes");
    const remote = args[args.length - 1];
    expect(remote).toContain("'etcdctl' '--endpoints=https://127.0.0.1:2379'");
    expect(remote).toContain("/auto/etcd/tls/host.crt'");
    expect(remote).toContain("'get' '/gpmirror/unit/leader' '--print-value-only'");
    await value(program.clientEndpoint);
    const record = registered.find((r) => r.type === "aws:route53/record:Record");
    // The address the standby's agent UPSERTs (its dnsRecord.address): no fight.
    expect((plain(record?.inputs) as Record<string, unknown>)["records"]).toEqual([
      PRIVATE_IP["standby"],
    ]);
    expect(await value(program.primary)).toMatchObject({ host: PRIVATE_IP["standby"] });
  });
});
