import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OutputMap, Stack } from "@pulumi/pulumi/automation";
import { testStack } from "../support/engine";
import { HostAccess, onHost, sql } from "../support/hostShell";
import { operatorCli } from "../support/operator";

jest.setTimeout(20 * 60 * 1000);

// Activation as config on the real engine: refused while the old primary lives, switchover
// with no loss, re-protection, forced failover that fences, failback, and the status's exit
// codes. One stack of its own, its own subnet and ports.
const STACK = "itest-act";
const isRoot = process.getuid?.() === 0;
const stateDir = isRoot
  ? `/var/lib/gpmirror/${STACK}`
  : path.join(os.homedir(), ".gpmirror", STACK);
const config: Record<string, string> = {
  "local.subnet": "10.201.6",
  "local.bridge": "gpm-itact",
  "local.sshPortBase": "22610",
  ...(isRoot ? {} : { dbPort: "55610", standbyDbPort: "55611" }),
};

interface NodeOut {
  host: string;
  port: number;
  dataDir: string;
}

describe("activation on the real engine", () => {
  let stack: Stack;
  let dispose: () => Promise<void>;
  let env: Record<string, string>;
  let outputs: OutputMap;
  const log: string[] = [];
  const onOutput = (s: string) => log.push(s);

  const node = (role: "primary" | "standby") => outputs[role].value as NodeOut;
  const access = (n: NodeOut): HostAccess => ({
    address: n.host,
    sshPort: isRoot
      ? 22
      : Number(config["local.sshPortBase"]) + (n.dataDir.includes("/hosts/primary/") ? 0 : 1),
    user: isRoot ? "gpmirror" : os.userInfo().username,
    keyPath: `${stateDir}/client_key`,
    knownHostsPath: `${stateDir}/known_hosts`,
  });
  const onRole = (role: "primary" | "standby", statement: string) =>
    sql(access(node(role)), node(role).dataDir, node(role).port, statement);
  const status = () => {
    const r = operatorCli("status", ["--stack", STACK, "--json"], env);
    return { code: r.code, report: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  };
  const up = async () => {
    const result = await stack.up({ onOutput });
    outputs = result.outputs;
    return result;
  };
  const set = (key: string, value: string) => stack.setConfig(`gpmirror:${key}`, { value }, true);
  const caughtUp = async () => {
    const lsn = onRole("primary", "SELECT pg_current_wal_lsn()");
    for (let i = 0; i < 120; i++) {
      if (onRole("standby", `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) === "t") return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error("the standby did not catch up");
  };

  beforeAll(async () => {
    ({ stack, dispose, env } = await testStack(STACK, config));
    await stack.destroy({ onOutput }).catch(() => undefined);
    await up();
    onRole("primary", "CREATE TABLE acked (id int PRIMARY KEY)");
  });

  afterAll(async () => {
    if (stack) {
      await stack.destroy({ onOutput }).catch((e: unknown) => console.error(String(e)));
      await dispose();
    }
  });

  it("reports a protected pair with exit code 0", () => {
    const { code, report } = status();
    expect(code).toBe(0);
    expect(report).toMatchObject({
      primary: `${STACK}-primary`,
      standby: `${STACK}-standby`,
      protected: true,
      state: "streaming",
      canCatchUp: true,
    });
    expect(report.safeWalBytes).toBeGreaterThan(0);
  });

  it("refuses a failover while the old primary still accepts connections, and changes nothing", async () => {
    await set("activeMaster", "standby");
    await expect(up()).rejects.toThrow(
      /still accepts connections: promoting now would leave two primaries/,
    );
    await set("activeMaster", "primary");
    await up();
    expect(onRole("primary", "SELECT pg_is_in_recovery()")).toBe("f");
    expect(status().code).toBe(0);
  });

  it("switches over with no acknowledged commit lost, and re-protects the old primary", async () => {
    // A writer on the primary host: one row per transaction, each id printed once committed.
    const writer = onHost(
      access(node("primary")),
      `nohup bash -c 'i=0; while psql -X -q -At -h ${path.dirname(node("primary").dataDir)}/run -p ${node("primary").port} -d postgres -c "INSERT INTO acked VALUES ($((++i))) RETURNING id"; do :; done' >${path.dirname(node("primary").dataDir)}/acked.log 2>/dev/null & echo started`,
    );
    expect(writer).toBe("started");
    await new Promise((r) => setTimeout(r, 1500));
    await set("activeMaster", "standby");
    await set("activation.mode", "switchover");
    const result = await up();
    expect(result.summary.result).toBe("succeeded");
    const last = (outputs["activation"].value as { last: Record<string, unknown> }).last;
    expect(last).toMatchObject({
      activated: true,
      mode: "switchover",
      oldPrimary: "alive",
      fence: "stopped-clean",
    });
    // The cleanly stopped old primary follows the new timeline in place (pg_rewind).
    expect(outputs["standbyOrigin"].value).toMatchObject({ method: "rewind", movedAside: [] });
    expect(node("primary").dataDir).toContain("/hosts/standby/");
    const acked = onHost(
      access(node("standby")),
      `cat ${path.dirname(node("standby").dataDir)}/acked.log`,
    )
      .split("\n")
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    expect(acked.length).toBeGreaterThan(10);
    const present = Number(
      onRole("primary", `SELECT count(*) FROM acked WHERE id <= ${Math.max(...acked)}`),
    );
    expect(present).toBe(Math.max(...acked));
    expect(onRole("primary", "INSERT INTO acked VALUES (1000000) RETURNING id")).toBe("1000000");
    const { code, report } = status();
    expect(code).toBe(0);
    expect(report).toMatchObject({
      primary: `${STACK}-standby`,
      standby: `${STACK}-primary`,
      protected: true,
    });
  });

  it("forced failover fences the living old primary, then fails back to the original layout", async () => {
    await caughtUp();
    const before = Number(onRole("primary", "SELECT count(*) FROM acked"));
    await set("activeMaster", "primary");
    await set("activation.mode", "failover");
    await set("activation.force", "true");
    // Re-protection by a fresh snapshot this time (the default, a rewind, is tested above).
    await set("replication.reprotect", "snapshot");
    await up();
    await set("replication.reprotect", "rewind");
    const last = (outputs["activation"].value as { last: Record<string, unknown> }).last;
    expect(last).toMatchObject({
      activated: true,
      mode: "failover",
      oldPrimary: "alive",
      fence: "stopped-immediate",
    });
    expect(node("primary").dataDir).toContain("/hosts/primary/");
    expect(Number(onRole("primary", "SELECT count(*) FROM acked"))).toBe(before);
    // The fenced directory was kept, moved aside, never deleted.
    const origin = outputs["standbyOrigin"].value as { method: string; movedAside: string[] };
    expect(origin.method).toBe("snapshot");
    expect(origin.movedAside.join(",")).toMatch(/\/hosts\/standby\/data\.fenced-/);
    expect(
      onHost(access(node("standby")), `ls -d ${node("standby").dataDir}.fenced-* | wc -l`),
    ).not.toBe("0");
    const { code, report } = status();
    expect(code).toBe(0);
    expect(report).toMatchObject({ primary: `${STACK}-primary`, protected: true });
    await set("activation.force", "false");
  });

  it("runs synchronous replication when asked, and says so", async () => {
    await set("replication.synchronous", "true");
    await up();
    expect(outputs["replication"].value).toMatchObject({ state: "streaming", syncState: "sync" });
    expect(status().report).toMatchObject({ syncState: "sync" });
  });

  /** Runs `npm run drill` on this stack; its report, Markdown and picture are read back. */
  const drill = (args: string[]) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-drill-"));
    try {
      const r = operatorCli("drill", ["--stack", STACK, ...args, "--out", out], env);
      const summary = JSON.parse(r.stdout.trim().split("\n").pop() || "{}");
      const read = (f?: string) => (f ? fs.readFileSync(f, "utf8") : "");
      const report = summary.report ? JSON.parse(read(summary.report)) : {};
      const svg = read(summary.report?.replace(/json$/, "svg"));
      return { ...r, report, markdown: read(summary.markdown), svg };
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  };

  it("runs a whole DR drill: kill -9 under load, activation, re-protection, failback, RPO 0", () => {
    const { code, stderr, report, markdown, svg } = drill(["--failback"]);
    expect(stderr).toMatch(/failure injected: kill -9/);
    expect(code).toBe(0);
    expect(report).toMatchObject({
      met: true,
      protectedAfter: true,
      oldPrimary: `${STACK}-primary`,
      newPrimary: `${STACK}-standby`,
    });
    expect(report.rpo.ackedCommits).toBeGreaterThan(100);
    expect(report.rpo.missingCommits).toBe(0);
    expect(report.rtoSeconds).toBeGreaterThan(0);
    expect(markdown).toMatch(/\| RPO \| 0 of \d+ acknowledged commits missing/);
    expect(svg).toMatch(/^<svg /);
  });

  // Cutting a host's network needs network namespaces (root).
  (isRoot ? it : it.skip)(
    "drills a host cut off from the network: forced, fenced, healed, stale primary stopped, rewound, RPO 0",
    () => {
      const { code, stderr, report, markdown } = drill(["--failure", "isolate"]);
      expect(stderr).toMatch(/failure injected: host cut off from the network/);
      expect(stderr).toMatch(/also runs as a primary .*: stopping and fencing it/);
      expect(code).toBe(0);
      expect(report).toMatchObject({
        met: true,
        protectedAfter: true,
        failure: "host cut off from the network",
        standbyOrigin: { method: "rewind" },
      });
      expect(report.rpo.ackedCommits).toBeGreaterThan(100);
      expect(report.rpo.missingCommits).toBe(0);
      expect(report.activation).toMatchObject({ oldPrimary: "unreachable", fence: "platform" });
      expect(markdown).toMatch(/old primary rewound \(pg_rewind/);
    },
  );

  it("exits 2 when the standby is gone and 3 when lag is over the threshold", async () => {
    expect(operatorCli("status", ["--stack", STACK, "--max-lag-bytes", "-1"], env).code).toBe(3);
    await set("replication.synchronous", "false");
    await up();
    onHost(
      access(node("standby")),
      `kill -9 "$(head -1 ${node("standby").dataDir}/postmaster.pid)"`,
    );
    await new Promise((r) => setTimeout(r, 500));
    const { code, report } = status();
    expect(code).toBe(2);
    expect(report.protected).toBe(false);
    expect(report.problems.join(" ")).toMatch(/not connected/);
  });
});
