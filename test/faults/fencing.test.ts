import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../support/engine";
import { operatorCli } from "../support/operator";
import { Pair, Role, waitFor } from "./pair";

jest.setTimeout(30 * 60 * 1000);

// Every refusal of the activation, and the fence hook, on a real local pair (network
// namespaces): an unreachable old primary (refused quickly, nothing promoted), a failing fence
// command (nothing promoted), a fence command that stops the old primary before the promotion,
// the config naming the stale primary after a heal (later timeline), a standby behind
// activation.maxLagBytes (refused, then forced), a fenced data directory started by hand, the
// switchover's preconditions, a drill that misses its objective (exit 4), and a drill under
// asynchronous replication whose lost commits are counted independently.
const isRoot = process.getuid?.() === 0;
const SUBNET = "10.206.1";
const pair = new Pair("fence-refusals", { "local.subnet": SUBNET, "local.bridge": "gpm-fence" });
const numbers: Record<string, unknown> = {};
const work = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-fence-"));
/** Where npm run drill writes its acknowledged commits (the operator login's database). */
const DRILL_DB = "gpmirror_drill";
const PG_BIN = "bin=\"$(printf '%s\\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)\"";

/** The error text of a `pulumi up` that must fail, and how long it took. */
async function refused(): Promise<{ error: string; seconds: number }> {
  const t0 = Date.now();
  const error = await pair.up().then(
    () => "",
    (e: unknown) => String(e),
  );
  return { error, seconds: (Date.now() - t0) / 1000 };
}

/** Cuts or restores a host's link (the local platform fence), by the role it was built with. */
function link(builtRole: Role, up: boolean): void {
  execFileSync("bash", [path.join(ROOT, "scripts", "local-hosts.sh"), up ? "heal" : "fence"], {
    env: {
      ...process.env,
      GPM_STACK: pair.name,
      GPM_STATE_DIR: pair.stateDir,
      GPM_HOST: builtRole,
      GPM_MODE: "netns",
    },
    stdio: "ignore",
  });
}

/** psql as the hosts' OS user through a server's unix socket, from this machine. */
function socketSql(dataDir: string, port: number, statement: string): string {
  return execFileSync(
    "runuser",
    ["-u", "gpmirror", "--", "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"]
      .concat(["-h", `${path.dirname(dataDir)}/run`, "-p", String(port), "-d", "postgres"])
      .concat(["-c", statement]),
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 },
  ).trim();
}

const last = () =>
  (pair.outputs["activation"].value as { last: Record<string, unknown> }).last ?? {};

const other = (r: Role): Role => (r === "primary" ? "standby" : "primary");

(isRoot ? describe : describe.skip)("fencing and refusals on a real local pair", () => {
  beforeAll(async () => {
    await pair.create();
    await pair.up();
    pair.sql("primary", "CREATE TABLE t (id int PRIMARY KEY, pad text)");
  });

  afterAll(async () => {
    pair.partition(false);
    for (const r of ["primary", "standby"] as Role[]) {
      try {
        link(r, true);
      } catch {
        // not cut
      }
    }
    await pair.destroy();
    fs.rmSync(work, { recursive: true, force: true });
    console.log(`fencing suite numbers: ${JSON.stringify(numbers, null, 2)}`);
  });

  it("an unreachable old primary: refused quickly, and a failing fence command stops a forced promotion", async () => {
    const oldRole = pair.builtAs(pair.node("primary"));
    link(oldRole, false);
    try {
      await pair.set("activeMaster", other(oldRole));
      const plain = await refused();
      expect(plain.error).toMatch(/cannot reach .*: that does not prove it is down/);
      numbers["unreachableRefusedSeconds"] = plain.seconds;
      expect(plain.seconds).toBeLessThan(60);
      expect(pair.sql("standby", "SELECT pg_is_in_recovery()")).toBe("t");

      await pair.set("activation.force", "true");
      await pair.stack.setConfig("gpmirror:protect", { value: "false" });
      await pair.set("activation.fenceCommand", "echo 'fence agent: no answer' >&2; exit 7");
      const failed = await refused();
      expect(failed.error).toMatch(
        /activation\.fenceCommand failed \(exit 7\).*nothing was promoted/,
      );
      expect(failed.error).toMatch(/\[fence-command\] fence agent: no answer/);
      expect(pair.sql("standby", "SELECT pg_is_in_recovery()")).toBe("t");
    } finally {
      await pair.unset("activation.fenceCommand");
      await pair.set("activation.force", "false");
      await pair.stack.setConfig("gpmirror:protect", { value: "true" });
      await pair.set("activeMaster", oldRole);
      link(oldRole, true);
    }
  });

  it("a fence command stops an unreachable old primary before the promotion; it refuses writes; re-protection rewinds it", async () => {
    const oldNode = pair.node("primary");
    const newNode = pair.node("standby");
    const oldRole = pair.builtAs(oldNode);
    pair.sql("primary", "INSERT INTO t SELECT g, 'before' FROM generate_series(1, 100) g");
    await pair.caughtUp();
    const calls = path.join(work, "fence-calls");
    fs.writeFileSync(path.join(work, "fence.sh"), FENCE_AGENT);
    fs.chmodSync(work, 0o755);
    link(oldRole, false);
    try {
      await pair.set("activeMaster", other(oldRole));
      await pair.set("activation.force", "true");
      await pair.stack.setConfig("gpmirror:protect", { value: "false" });
      await pair.set(
        "activation.fenceCommand",
        `bash ${path.join(work, "fence.sh")} ${calls} ${path.dirname(newNode.dataDir)}/run ${newNode.port}`,
      );
      await pair.up();
    } finally {
      await pair.unset("activation.fenceCommand");
      await pair.set("activation.force", "false");
    }
    // The agent ran once, with the old host's identity, no secret, and before the promotion:
    // the standby was still in recovery while it ran.
    const call = JSON.parse(fs.readFileSync(calls, "utf8").trim()) as Record<string, string>;
    expect(call).toMatchObject({
      host: `${pair.name}-${oldRole}`,
      address: oldNode.host,
      role: oldRole,
      dataDir: oldNode.dataDir,
      reason: "unreachable",
      targetInRecovery: "t",
      postmasterGone: "yes",
    });
    expect(call["secrets"]).toBe("");
    const decisionToRefusalMs = (Number(call["goneAt"]) - Number(call["startedAt"])) / 1e6;
    numbers["fenceCommandDecisionToRefusalMs"] = decisionToRefusalMs;
    expect(last()).toMatchObject({
      activated: true,
      oldPrimary: "unreachable",
      fence: "platform",
      notFenced: [],
    });
    expect((last()["fencedBy"] as string[]).join(" ")).toMatch(/activation\.fenceCommand/);
    numbers["activationWithFenceCommandMs"] = last()["tookMs"];
    // The old master refuses writes, even from inside its own host.
    expect(() =>
      socketSql(oldNode.dataDir, oldNode.port, "INSERT INTO t VALUES (-1, 'stale')"),
    ).toThrow(/No such file|could not connect|Connection refused/);
    link(oldRole, true);
    // protect on: the activation marks the stopped, never-fenced directory; it is rewound.
    await pair.stack.setConfig("gpmirror:protect", { value: "true" });
    await pair.up();
    expect(pair.log.join("")).toMatch(
      /holds a stopped primary's data directory that is not fenced/,
    );
    expect(pair.outputs["standbyOrigin"].value).toMatchObject({ method: "rewind", movedAside: [] });
    await pair.caughtUp();
    expect(pair.sql("standby", "SELECT count(*) FROM t")).toBe("100");
    expect(pair.status().code).toBe(0);
  });

  it("both primaries after a heal: the config naming the stale one (older timeline) is refused", async () => {
    const staleRole = pair.builtAs(pair.node("primary"));
    link(staleRole, false);
    try {
      await pair.set("activeMaster", other(staleRole));
      await pair.set("activation.force", "true");
      await pair.stack.setConfig("gpmirror:protect", { value: "false" });
      await pair.up();
      expect(last()).toMatchObject({ oldPrimary: "unreachable", fence: "platform" });
      expect((last()["notFenced"] as string[]).join(" ")).toMatch(/was not stopped/);
    } finally {
      await pair.set("activation.force", "false");
      link(staleRole, true);
    }
    // Back on the network, it still runs as a primary on the older timeline.
    await pair.set("activeMaster", staleRole);
    const wrong = await refused();
    expect(wrong.error).toMatch(
      /also runs as a primary, on a later timeline \(\d+\) than .*the config points at the stale one/,
    );
    await pair.set("activeMaster", other(staleRole));
    await pair.stack.setConfig("gpmirror:protect", { value: "true" });
    await pair.up();
    expect(pair.log.join("")).toMatch(/also runs as a primary .*: stopping and fencing it/);
    expect(pair.outputs["standbyOrigin"].value).toMatchObject({ method: "rewind" });
    expect(pair.status().code).toBe(0);
  });

  it("a standby behind activation.maxLagBytes: refused, then forced; the fenced directory started by hand stays read-only", async () => {
    const oldRole = pair.builtAs(pair.node("primary"));
    pair.sql("standby", "SELECT pg_wal_replay_pause()");
    pair.sql(
      "primary",
      "INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1000, 40000) g",
    );
    // Asynchronous replication: the kill waits until the standby has received (not replayed)
    // everything the primary wrote, so that every row is on the standby's disk.
    const written = pair.sql("primary", "SELECT pg_current_wal_lsn()");
    await waitFor(
      () => pair.sql("standby", `SELECT pg_last_wal_receive_lsn() >= '${written}'::pg_lsn`) === "t",
      60_000,
      "everything received",
    );
    expect(
      Number(
        pair.sql(
          "standby",
          "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())",
        ),
      ),
    ).toBeGreaterThan(2 * 1024 * 1024);
    pair.killPostmaster("primary");
    await pair.set("activeMaster", other(oldRole));
    await pair.set("activation.maxLagBytes", String(1024 * 1024));
    await pair.stack.setConfig("gpmirror:protect", { value: "false" });
    const behind = await refused();
    expect(behind.error).toMatch(
      /the standby is \d+ bytes behind \(bound: activation\.maxLagBytes = 1048576\)/,
    );
    await pair.set("activation.force", "true");
    try {
      await pair.up();
    } finally {
      await pair.set("activation.force", "false");
      await pair.set("activation.maxLagBytes", "16777216");
    }
    expect(last()).toMatchObject({ activated: true, oldPrimary: "gone", fence: "marked" });
    expect(Number(last()["lagBytes"])).toBeGreaterThan(1024 * 1024);
    // Promotion replays what was received: nothing the old primary acknowledged is missing.
    expect(pair.sql("primary", "SELECT count(*) FROM t WHERE id >= 1000")).toBe("39001");
    // Started by hand, the fenced old primary comes up in recovery, and refuses writes.
    pair.startServer("standby", "by-hand.log");
    try {
      expect(pair.sql("standby", "SELECT pg_is_in_recovery()")).toBe("t");
      expect(() => pair.sql("standby", "INSERT INTO t VALUES (-2, 'stale')")).toThrow(
        /read-only transaction/,
      );
    } finally {
      pair.shell(
        "standby",
        `${PG_BIN}\n"$bin/pg_ctl" stop -D '${pair.node("standby").dataDir}' -m fast -w`,
      );
    }
    await pair.stack.setConfig("gpmirror:protect", { value: "true" });
    await pair.up();
    expect(pair.outputs["standbyOrigin"].value).toMatchObject({ method: "rewind" });
    expect(pair.status().code).toBe(0);
  });

  it("a switchover needs the old primary running, and the standby streaming from it", async () => {
    const oldRole = pair.builtAs(pair.node("primary"));
    await pair.set("activation.mode", "switchover");
    try {
      pair.killPostmaster("primary");
      await pair.set("activeMaster", other(oldRole));
      const notRunning = await refused();
      expect(notRunning.error).toMatch(
        /a switchover needs the old primary running and reachable, and .* is gone; use mode failover/,
      );
      await pair.set("activeMaster", oldRole);
      pair.startServer("primary", "restarted.log");
      await waitFor(() => pair.status().code === 0, 60_000, "streaming again");

      // The link between the hosts cut and the WAL sender ended: both still answer here.
      pair.partition(true);
      pair.sql("primary", "SELECT pg_terminate_backend(pid) FROM pg_stat_replication");
      await waitFor(
        () => pair.sql("primary", "SELECT count(*) FROM pg_stat_replication") === "0",
        30_000,
        "no WAL sender",
      );
      await pair.set("activeMaster", other(oldRole));
      const notStreaming = await refused();
      expect(notStreaming.error).toMatch(/is not streaming from .*: a switchover could lose data/);
      expect(pair.sql("standby", "SELECT pg_is_in_recovery()")).toBe("t");
    } finally {
      await pair.set("activeMaster", oldRole);
      await pair.set("activation.mode", "failover");
      pair.partition(false);
    }
    await waitFor(() => pair.status().code === 0, 120_000, "streaming again after the heal");
  });

  /** npm run drill on this pair; the report is read back. */
  const drill = (args: string[]) => {
    const out = fs.mkdtempSync(path.join(work, "drill-"));
    const r = operatorCli("drill", ["--stack", pair.name, ...args, "--out", out], pair.env);
    const summary = JSON.parse(r.stdout.trim().split("\n").pop() || "{}");
    const report = summary.report ? JSON.parse(fs.readFileSync(summary.report, "utf8")) : {};
    return { ...r, report };
  };

  it("npm run drill exits 4 when an objective is missed", async () => {
    await pair.set("drill.rtoSeconds", "1");
    await pair.up();
    try {
      const { code, report, stderr } = drill([]);
      expect(stderr).toMatch(/failure injected: kill -9/);
      expect(report).toMatchObject({
        met: false,
        objectives: { rtoSeconds: 1 },
        protectedAfter: true,
      });
      expect(report.rtoSeconds).toBeGreaterThan(1);
      expect(code).toBe(4);
    } finally {
      await pair.set("drill.rtoSeconds", "60");
      await pair.up();
    }
  });

  it("a drill under asynchronous replication with the link cut reports the acknowledged commits lost, as counted in the old primary's own copy", async () => {
    // A snapshot keeps the fenced old primary's directory aside, so its rows can be counted.
    await pair.set("replication.reprotect", "snapshot");
    await pair.set("drill.rpoCommits", "1000000000");
    await pair.up();
    const { code, report } = drill(["--failure", "partition"]);
    pair.outputs = await pair.stack.outputs();
    expect(code).toBe(0);
    const missing = report.rpo.missingCommits as number;
    expect(missing).toBeGreaterThan(0);
    const aside = (report.standbyOrigin.movedAside as string[]).find((d) => /\.fenced-/.test(d));
    expect(aside).toBeDefined();
    // The moved-aside directory, started by hand on a port and socket of its own: still fenced
    // (recovery, read-only), it holds every commit the old primary made.
    const sock = `/tmp/gpm-fence-count-${process.pid}`;
    const onOld = (statement: string) =>
      pair.shell(
        "standby",
        `psql -X -q -At -v ON_ERROR_STOP=1 -h ${sock} -p 55999 -d ${DRILL_DB} <<'SQL'\n${statement}\nSQL`,
      );
    pair.shell(
      "standby",
      `${PG_BIN}\nmkdir -p ${sock}\n"$bin/pg_ctl" start -D '${aside}' -l ${sock}/log -w -t 120 -o "-p 55999 -c listen_addresses='' -c unix_socket_directories=${sock} -c primary_conninfo='' -c primary_slot_name='' -c archive_mode=off" >/dev/null`,
    );
    try {
      expect(onOld("SELECT pg_is_in_recovery()")).toBe("t");
      let replayed = "";
      await waitFor(
        () => {
          const now = onOld("SELECT pg_last_wal_replay_lsn()");
          const done = now === replayed;
          replayed = now;
          return done;
        },
        60_000,
        "the old copy to replay its own WAL",
      );
      const oldIds = onOld(`SELECT id FROM drill_acks WHERE run = '${report.run}' ORDER BY id`);
      const newIds = new Set(
        pair
          .sql("primary", `SELECT id FROM drill_acks WHERE run = '${report.run}'`, DRILL_DB)
          .split("\n"),
      );
      const lost = oldIds.split("\n").filter((id) => id !== "" && !newIds.has(id)).length;
      numbers["asyncPartitionDrill"] = {
        ackedCommits: report.rpo.ackedCommits,
        missingByDrill: missing,
        missingByCount: lost,
        rtoSeconds: report.rtoSeconds,
      };
      // The old copy may also hold a commit whose acknowledgement never reached the client.
      expect(lost).toBeGreaterThanOrEqual(missing);
      expect(lost).toBeLessThanOrEqual(missing + 1);
    } finally {
      pair.shell(
        "standby",
        `${PG_BIN}\n"$bin/pg_ctl" stop -D '${aside}' -m fast -w >/dev/null; rm -rf ${sock}`,
      );
      await pair.set("replication.reprotect", "rewind");
      await pair.set("drill.rpoCommits", "0");
    }
  });
});

/**
 * The fence agent the test configures, as a user's would be (IPMI, a cloud CLI): it runs on
 * this machine with the old host's identity in its environment. It records its call, checks
 * that the standby is still in recovery (nothing promoted yet), kills the old primary's
 * postmaster (this machine shares the hosts' process table) and waits until it is gone.
 * Arguments: the record file, the standby's socket directory and port.
 */
const FENCE_AGENT = `set -euo pipefail
started=$(date +%s%N)
in_recovery=$(runuser -u gpmirror -- psql -X -At -h "$2" -p "$3" -d postgres -c 'SELECT pg_is_in_recovery()')
pid=$(head -n 1 "$GPM_FENCE_DATA_DIR/postmaster.pid")
kill -9 "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
gone=no; kill -0 "$pid" 2>/dev/null || gone=yes
secrets=$(env | grep -E '^GPM_[A-Z_]*(KEY|PASSWORD|PROBE|FENCE_COMMAND)=|^PULUMI_CONFIG_PASSPHRASE' | cut -d= -f1 | tr '\\n' ' ' || true)
jq -cn --arg host "$GPM_FENCE_HOST" --arg address "$GPM_FENCE_ADDRESS" --arg role "$GPM_FENCE_ROLE" \\
  --arg dataDir "$GPM_FENCE_DATA_DIR" --arg reason "$GPM_FENCE_REASON" --arg r "$in_recovery" \\
  --arg gone "$gone" --arg s "$secrets" --arg t0 "$started" --arg t1 "$(date +%s%N)" \\
  '{host: $host, address: $address, role: $role, dataDir: $dataDir, reason: $reason,
    targetInRecovery: $r, postmasterGone: $gone, secrets: $s, startedAt: $t0, goneAt: $t1}' >>"$1"
echo "fenced $GPM_FENCE_HOST"
`;
