import { ChildProcess, execFileSync, spawn } from "child_process";
import { PULUMI_CLI, ROOT } from "../support/engine";
import { Pair, sleep, waitFor } from "./pair";

jest.setTimeout(20 * 60 * 1000);

// `pulumi up` killed (the engine and its plugins, kill -9) while the standby's base backup
// runs: the next `pulumi up` finishes, the half-made copy is moved aside and never reused,
// and the standby is correct. A bounded base backup rate makes the copy last long enough.
const isRoot = process.getuid?.() === 0;
const pair = new Pair("itest-faults-int", {
  "local.subnet": "10.201.4",
  "local.bridge": "gpm-fint",
  "replication.baseBackupMaxRate": "2M",
});

/** pids of pg_basebackup processes that copy into this stack's standby. */
function basebackups(): number[] {
  const ps = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return ps
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter(([, program]) => /(^|\/)pg_basebackup$/.test(program ?? ""))
    .filter((args) => args.includes(`${pair.stateDir}/hosts/standby/data.basebackup`))
    .map(([pid]) => Number(pid));
}

(isRoot ? describe : describe.skip)("an interrupted pulumi up", () => {
  let engine: ChildProcess | undefined;

  beforeAll(async () => {
    await pair.create();
  });

  afterAll(async () => {
    if (engine?.pid) {
      try {
        process.kill(-engine.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await pair.destroy();
  });

  it("killed during the standby's base backup: the next up finishes with a correct standby", async () => {
    // The CLI itself, in a process group of its own, so that the engine and its plugins die
    // together, as when the machine that runs Pulumi loses power.
    engine = spawn(PULUMI_CLI, ["up", "--yes", "--skip-preview", "--stack", pair.name], {
      cwd: ROOT,
      env: { ...process.env, ...pair.env },
      detached: true,
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((r) => engine?.on("exit", (code) => r(code)));
    await waitFor(() => basebackups().length > 0, 300_000, "the standby's pg_basebackup");
    await sleep(3000);
    process.kill(-(engine.pid as number), "SIGKILL");
    await exited;
    engine = undefined;
    const killedAt = Date.now();
    // Its SSH session is gone; the copy on the host may run on a little, then dies (SIGPIPE),
    // or the next run's standby step stops it.
    await waitFor(
      () => basebackups().length === 0,
      60_000,
      "the orphaned pg_basebackup to end",
    ).catch(() => undefined);
    const orphanSeconds = (Date.now() - killedAt) / 1000;

    // The killed engine left the stack's lock in the file backend; with no update running,
    // `pulumi cancel` removes it (README: Repair), then the next `pulumi up` finishes.
    const locked = await pair.up().then(
      () => "",
      (e: unknown) => String(e),
    );
    expect(locked).toMatch(/the stack is currently locked/);
    await pair.stack.cancel();
    const result = await pair.up();
    expect(result.summary.result).toBe("succeeded");
    expect(pair.outputs["replication"].value).toMatchObject({ state: "streaming" });
    const log = pair.log.join("");
    expect(log).toMatch(
      /is an unfinished base backup from an earlier run; moving it aside to \S+\.incomplete-/,
    );
    const standbyDir = pair.node("standby").dataDir;
    expect(pair.shell("standby", `ls -d ${standbyDir}.incomplete-* | wc -l`)).toBe("1");
    expect(
      pair.shell("standby", `test -f ${standbyDir}/gpmirror_standby_complete && echo yes`),
    ).toBe("yes");
    // The standby is correct: it replays what the primary writes now.
    pair.sql("primary", "CREATE TABLE after_kill AS SELECT generate_series(1, 1000) AS id");
    await pair.caughtUp();
    expect(pair.sql("standby", "SELECT count(*) FROM after_kill")).toBe("1000");
    expect(pair.status().code).toBe(0);
    console.log(
      `interrupted up: engine killed during pg_basebackup; orphaned copy ended after ${orphanSeconds.toFixed(1)} s; the next up succeeded and moved the half-made copy aside`,
    );
  });
});
