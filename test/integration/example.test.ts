// gpmirror inside a Pulumi program of its own (examples/local-pair), on the real engine: the
// program lives in another directory, imports "gpmirror" by path (`file:../..`, the link npm
// makes of it), and builds a local pair through the package's public API.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OutputMap, Stack } from "@pulumi/pulumi/automation";
import { OperatorAccess, readHost } from "../../components/operator/access";
import { SshSession } from "../../components/operator/ssh";
import { evaluate } from "../../components/operator/status";
import { ROOT, testStack } from "../support/engine";
import { sql } from "../support/hostShell";

jest.setTimeout(15 * 60 * 1000);
const STACK = "apitest-example";
const EXAMPLE = path.join(ROOT, "examples", "local-pair");
const isRoot = process.getuid?.() === 0;
const stateDir = isRoot
  ? `/var/lib/gpmirror/${STACK}`
  : path.join(os.homedir(), ".gpmirror", STACK);
const config: Record<string, string> = {
  "local.subnet": "10.205.1",
  "local.bridge": "gpm-apiex",
  "local.sshPortBase": "22750",
  ...(isRoot ? {} : { dbPort: "55750", standbyDbPort: "55751" }),
};

interface NodeOut {
  host: string;
  port: number;
  dataDir: string;
}

/** What `npm install` makes of the example's `"gpmirror": "file:../.."`: a link to the package. */
function linkPackage(): void {
  const link = path.join(EXAMPLE, "node_modules", "gpmirror");
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { force: true });
  fs.symlinkSync(path.relative(path.dirname(link), ROOT), link);
}

describe("gpmirror used from a program of your own (examples/local-pair)", () => {
  let stack: Stack;
  let dispose: () => Promise<void>;
  let outputs: OutputMap;
  const engineLog: string[] = [];
  const log = (s: string) => engineLog.push(s);
  const node = (name: "primary" | "standby") => outputs[name].value as NodeOut;
  const onNode = (name: "primary" | "standby", statement: string) =>
    sql(
      {
        address: node(name).host,
        sshPort: isRoot ? 22 : Number(config["local.sshPortBase"]) + (name === "primary" ? 0 : 1),
        user: isRoot ? "gpmirror" : os.userInfo().username,
        keyPath: `${stateDir}/client_key`,
        knownHostsPath: `${stateDir}/known_hosts`,
      },
      node(name).dataDir,
      node(name).port,
      statement,
    );

  beforeAll(async () => {
    linkPackage();
    ({ stack, dispose } = await testStack(STACK, config, { workDir: EXAMPLE }));
    await stack.destroy({ onOutput: log }).catch(() => undefined);
  });

  afterAll(async () => {
    if (stack) {
      await stack.destroy({ onOutput: log }).catch((e: unknown) => console.error(String(e)));
      await dispose();
    }
  });

  it("type-checks against the package's types", () => {
    execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", EXAMPLE], {
      stdio: "pipe",
    });
  });

  it("builds a pair whose standby streams, with the package's scripts run from the package", async () => {
    const up = await stack.up({ onOutput: log });
    outputs = up.outputs;
    expect(up.summary.result).toBe("succeeded");
    expect(outputs["replication"].value).toMatchObject({ state: "streaming" });
    expect(outputs["clientEndpoint"].value).toBe(`${node("primary").host}:${node("primary").port}`);
    const state = await stack.exportStack();
    const resources = (state.deployment.resources ?? []) as {
      urn: string;
      type: string;
      inputs?: Record<string, unknown>;
    }[];
    const mirror = resources.find((r) => r.type === "gpmirror:index:MasterMirror");
    expect(mirror?.urn).toMatch(/::local-pair::gpmirror:index:MasterMirror::db$/);
    // The program runs in the example's directory; `bash scripts/local-hosts.sh` must not.
    const host = resources.find((r) => r.urn.endsWith("::db-hosts-primary"));
    expect(host?.inputs?.["dir"]).toBe(ROOT);
  });

  it("replays rows written on the primary on the standby", async () => {
    onNode(
      "primary",
      "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 500);",
    );
    const lsn = onNode("primary", "SELECT pg_current_wal_lsn()");
    const deadline = Date.now() + 30_000;
    while (onNode("standby", `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) !== "t") {
      if (Date.now() > deadline) throw new Error("the standby did not catch up in 30 s");
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(onNode("standby", "SELECT count(*), sum(id) FROM t")).toBe("500|125250");
  });

  it("gives a small operatorAccess from which the operator tools read the pair", () => {
    const access = outputs["operatorAccess"].value as OperatorAccess;
    expect(outputs["operatorAccess"].secret).toBe(true);
    expect(JSON.stringify(access).length).toBeLessThan(3000);
    const ssh = new SshSession(access.privateKey, access.hosts);
    try {
      const report = evaluate(readHost(ssh, access.hosts[0]), readHost(ssh, access.hosts[1]));
      expect(report).toMatchObject({ protected: true, state: "streaming", problems: [] });
    } finally {
      ssh.close();
    }
  });

  it("destroy leaves no host, namespace or directory behind", async () => {
    await stack.destroy({ onOutput: log });
    expect(fs.existsSync(stateDir)).toBe(false);
    if (isRoot) {
      const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
      expect(namespaces).not.toContain(`gpm-${STACK}-`);
      expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain("gpm-apiex");
    }
  });
});
