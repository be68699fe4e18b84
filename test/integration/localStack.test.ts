import { execFileSync, execSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OutputMap, Stack } from "@pulumi/pulumi/automation";
import { testStack } from "../support/engine";
import { HostAccess, sql } from "../support/hostShell";

// The walking skeleton end to end, on the real engine: a local stack of its own (its own
// subnet, bridge, state dir and backend) so it never touches a user's `local` stack.
jest.setTimeout(15 * 60 * 1000);
const STACK = "itest";
const isRoot = process.getuid?.() === 0;
const stateDir = isRoot
  ? `/var/lib/gpmirror/${STACK}`
  : path.join(os.homedir(), ".gpmirror", STACK);
const PASSWORD = "itest-replication-password-5f3a9c";
const config: Record<string, string> = {
  "local.subnet": "10.201.7",
  "local.bridge": "gpm-itest",
  "local.sshPortBase": "22710",
  replicationPassword: PASSWORD,
  ...(isRoot ? {} : { dbPort: "55710", standbyDbPort: "55711" }),
};

interface NodeOut {
  host: string;
  port: number;
  dataDir: string;
}

describe("local stack on the real engine", () => {
  let stack: Stack;
  let dispose: () => Promise<void>;
  let backend: string;
  let outputs: OutputMap;
  const engineLog: string[] = [];
  const log = (s: string) => engineLog.push(s);

  const node = (name: "primary" | "standby") => outputs[name].value as NodeOut;
  const access = (address: string, sshPort: number): HostAccess => ({
    address,
    sshPort,
    user: isRoot ? "gpmirror" : os.userInfo().username,
    keyPath: `${stateDir}/client_key`,
    knownHostsPath: `${stateDir}/known_hosts`,
  });
  const sshPort = (role: "primary" | "standby") =>
    isRoot ? 22 : Number(config["local.sshPortBase"]) + (role === "primary" ? 0 : 1);
  const onPrimary = (statement: string) =>
    sql(
      access(node("primary").host, sshPort("primary")),
      node("primary").dataDir,
      node("primary").port,
      statement,
    );
  const onStandby = (statement: string) =>
    sql(
      access(node("standby").host, sshPort("standby")),
      node("standby").dataDir,
      node("standby").port,
      statement,
    );

  /** Waits until the standby has replayed everything the primary has written so far. */
  const standbyCaughtUp = () => {
    const lsn = onPrimary("SELECT pg_current_wal_lsn()");
    return waitFor(
      () => onStandby(`SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) === "t",
      30_000,
    );
  };

  beforeAll(async () => {
    ({ stack, dispose, backend } = await testStack(STACK, config));
    // A leftover of an earlier, interrupted run would make `up` adopt nothing and fail.
    await stack.destroy({ onOutput: log }).catch(() => undefined);
  });

  afterAll(async () => {
    if (stack) {
      await stack.destroy({ onOutput: log }).catch((e: unknown) => console.error(String(e)));
      await dispose();
    }
  });

  it("brings up a primary and a standby that streams from it", async () => {
    const up = await stack.up({ onOutput: log });
    outputs = up.outputs;
    expect(up.summary.result).toBe("succeeded");
    expect(outputs["replication"].value).toMatchObject({ state: "streaming" });
    expect(outputs["clientEndpoint"].value).toBe(`${node("primary").host}:${node("primary").port}`);
    expect(node("standby").host).toBe(isRoot ? "10.201.7.12" : "127.0.0.1");
    expect(onStandby("SELECT pg_is_in_recovery()")).toBe("t");
  });

  it("replays rows written on the primary on the standby", async () => {
    onPrimary(
      "CREATE TABLE IF NOT EXISTS drill (id int PRIMARY KEY, note text); INSERT INTO drill SELECT g, 'row ' || g FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;",
    );
    await standbyCaughtUp();
    expect(onStandby("SELECT count(*), sum(id) FROM drill")).toBe("1000|500500");
  });

  it("runs nothing on a second up with the same config", async () => {
    const preview = await stack.preview({ onOutput: log });
    const changes = Object.entries(preview.changeSummary).filter(([op]) => op !== "same");
    expect(changes).toEqual([]);
    const again = await stack.up({ onOutput: log });
    const ops = Object.keys(again.summary.resourceChanges ?? {});
    expect(ops).toEqual(["same"]);
  });

  it("keeps the replication password and SSH key out of logs and state", () => {
    // The state as it lies on disk in the backend, and the engine's whole output.
    const stateText = filesUnder(backend)
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    const key = fs.readFileSync(`${stateDir}/client_key`, "utf8").split("\n")[1];
    expect(key.length).toBeGreaterThan(40);
    expect(stateText).toContain("gpmirror:index:MasterMirror");
    expect(stateText.includes(PASSWORD)).toBe(false);
    expect(stateText.includes(key)).toBe(false);
    expect(engineLog.join("").includes(PASSWORD)).toBe(false);
    expect(engineLog.join("").includes(key)).toBe(false);
  });

  it("promotes the standby with the activation command from the outputs", async () => {
    const committed = Number(
      onPrimary(
        "INSERT INTO drill SELECT g, 'late' FROM generate_series(1001, 1500) g; SELECT count(*) FROM drill",
      ),
    );
    await standbyCaughtUp();
    const { command } = outputs["activation"].value as { command: string };
    execSync(command, { stdio: "pipe", timeout: 120_000 });
    await waitFor(() => onStandby("SELECT pg_is_in_recovery()") === "f", 60_000);
    expect(Number(onStandby("SELECT count(*) FROM drill"))).toBe(committed);
    expect(onStandby("INSERT INTO drill VALUES (99999, 'after promotion') RETURNING id")).toBe(
      "99999",
    );
  });

  it("destroy leaves no process, namespace or data directory behind", async () => {
    await stack.destroy({ onOutput: log });
    expect(fs.existsSync(stateDir)).toBe(false);
    const processes = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(processes.split("\n").filter((l) => l.includes(stateDir))).toEqual([]);
    if (isRoot) {
      const namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
      expect(namespaces).not.toMatch(new RegExp(`gpm-${STACK}-`));
      const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
      expect(links).not.toContain("gpm-itest");
    }
  });
});

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile());
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
