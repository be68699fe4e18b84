// Activation on a real Greenplum 7.0.0 cluster (the local Greenplum stack: coordinator, standby
// and a segment host with two segments; stack gpsuitea, subnet 10.207.2.0/24), as
// activation.test.ts does it on PostgreSQL: the coordinator stopped immediately, then killed
// (stale lock in its /tmp), each activated through the activeMaster switch and `pulumi up`
// under the drill's write load with synchronous replication, a switchover failback, and the
// drill itself. One cluster for the file; each test leaves it protected for the next.
// GPMIRROR_CAPTURE_DIR: where to keep the real outputs the stub tests replay (gpinitsystem's
// output, the .history file, pg_waldump of the old coordinator's shutdown checkpoint).
// GPMIRROR_DRILL_RESULTS: where to keep the drill's report (bench/results).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shellQuote } from "../../components/shell";
import { describeGreenplum, GreenplumStack } from "../support/greenplumStack";
import { GreenplumRoles, Master, otherMaster, utilitySeconds } from "../support/greenplumRoles";
import { operatorCli } from "../support/operator";

jest.setTimeout(30 * 60 * 1000);

describeGreenplum("activation on a real Greenplum cluster", () => {
  const gp = new GreenplumStack("gpsuitea", "10.207.2");
  const pair = new GreenplumRoles(gp);
  const numbers: Record<string, unknown> = {};
  const capture = process.env["GPMIRROR_CAPTURE_DIR"];
  const keep = (name: string, text: string) => {
    if (!capture) return;
    fs.mkdirSync(capture, { recursive: true });
    fs.writeFileSync(path.join(capture, name), text.endsWith("\n") ? text : `${text}\n`);
  };

  beforeAll(async () => {
    await gp.create();
    const up = await pair.up();
    numbers["firstUpSeconds"] = up.seconds;
    if (!up.ok) throw new Error(up.text);
    numbers["gpinitsystemSeconds"] = utilitySeconds(up.text, "gpinitsystem");
    numbers["gpinitstandbySeconds"] = utilitySeconds(up.text, "gpinitstandby");
    keep(
      "gpinitsystem_local.out",
      gp.shell(
        "primary",
        "cat ~/gpAdminLogs/gpmirror-gpinitsystem/gpinitsystem.out 2>/dev/null || true",
      ),
    );
  });

  afterAll(async () => {
    await gp.destroy();
    console.log(`Greenplum activation suite numbers: ${JSON.stringify(numbers, null, 2)}`);
  });

  const last = () => (gp.outputs["activation"].value as { last: Record<string, unknown> }).last;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /**
   * Under the drill's write load: `failure` on the active coordinator, then the activeMaster
   * switch to the other host and `pulumi up` (activation, then re-protection onto the old
   * host). Checks that every acknowledged commit is on the new coordinator, the client
   * endpoint moved and the old directory is fenced (moved aside, kept).
   */
  async function activateUnderLoad(run: string, failure: (old: Master) => void) {
    expect(gp.outputs["replication"].value).toMatchObject({
      state: "streaming",
      syncState: "sync",
    });
    const old = pair.active;
    const target = otherMaster(old);
    const oldDir = pair.dataDir(old);
    const { writer, endpoints } = await pair.writer(run);
    writer.start();
    await sleep(3000);
    const failedAt = writer.now();
    failure(old);
    await gp.set("activeMaster", target);
    const t0 = Date.now();
    const up = await pair.up();
    await sleep(1000);
    await writer.stop();
    GreenplumRoles.succeeded(up);
    const firstOnNew = writer.acks.find((a) => a.at > failedAt && a.host === gp.hostName(target));
    const missing = await pair.missing(writer, endpoints);
    const result = {
      ackedCommits: writer.acks.length,
      missingCommits: missing,
      rtoSeconds: firstOnNew ? (firstOnNew.at - failedAt) / 1000 : null,
      activationAndReprotectSeconds: (Date.now() - t0) / 1000,
      gpactivatestandbySeconds: utilitySeconds(up.text, "gpactivatestandby"),
      gpinitstandbySeconds: utilitySeconds(up.text, "gpinitstandby"),
    };
    numbers[run] = result;
    console.log(`${run}: ${JSON.stringify(result)}`);
    expect(pair.active).toBe(target);
    expect(writer.acks.filter((a) => a.at < failedAt).length).toBeGreaterThan(20);
    expect(firstOnNew).toBeDefined();
    expect(missing).toBe(0);
    expect(gp.outputs["clientEndpoint"].value).toBe(`${gp.address(target)}:5432`);
    expect(last()).toMatchObject({ promoted: true, clientEndpoint: `${gp.address(target)}:5432` });
    const fenced = String(last()["oldDataDirMovedTo"]);
    expect(fenced).toMatch(/\.gpmirror-fenced-\d{8}T\d{6}Z$/);
    expect(pair.beside(old, oldDir, ".gpmirror-fenced-")).toContain(fenced);
    expect(gp.shell(old, `cat ${shellQuote(fenced)}/PG_VERSION`)).toMatch(/^\d+$/);
    // Re-protected onto the old host by the same run.
    expect(gp.outputs["standbyOrigin"].value).toMatchObject({ method: "snapshot" });
    await pair.caughtUp();
    expect(pair.status()).toMatchObject({
      code: 0,
      report: { primary: gp.hostName(target), standby: gp.hostName(old), protected: true },
    });
    return last();
  }

  it("coordinator stopped immediately under load: activated, no acknowledged commit lost, endpoint moved, old directory fenced, re-protected", async () => {
    const done = await activateUnderLoad("immediate", (old) => pair.stop(old, "immediate"));
    expect(done).toMatchObject({ oldPrimary: "postmaster-gone", staleLockRemoved: false });
    const history = gp.shell(
      pair.active,
      `cat ${shellQuote(pair.dataDir(pair.active))}/pg_wal/00000002.history`,
    );
    expect(history).toMatch(/^1\t[0-9A-F]+\/[0-9A-F]+\tno recovery target specified$/);
    keep("00000002.history", history);
  });

  it("switchover failback under load: nothing lost, the roles back, the standby host's directory fenced", async () => {
    await gp.set("activation.mode", "switchover");
    try {
      const done = await activateUnderLoad("switchover", () => undefined);
      expect(done).toMatchObject({ mode: "switchover", oldPrimary: "stopped-for-switchover" });
      const checkpoint = String(done["oldCheckpointLsn"]);
      expect(gp.log.join("")).toContain(
        `past the old master's shutdown checkpoint ${checkpoint}: nothing was lost`,
      );
      // The record the switchover waited for, as pg_waldump shows it on the new coordinator.
      const waldump = gp.shell(
        pair.active,
        `pg_waldump -p ${shellQuote(pair.dataDir(pair.active))}/pg_wal -t 2 -s ${checkpoint} -n 1`,
      );
      // 7.0.0 adds its distributed-transaction fields after "shutdown".
      expect(waldump).toMatch(
        /desc: CHECKPOINT_SHUTDOWN redo .*; shutdown, checkpoint record data length = \d+, DTX committed count \d+/,
      );
      keep("pg_waldump_checkpoint_shutdown.out", waldump);
      keep(
        "old_coordinator_controldata_shut_down.txt",
        gp.shell(
          otherMaster(pair.active),
          `pg_controldata ${shellQuote(String(done["oldDataDirMovedTo"]))}`,
        ),
      );
      keep(
        "00000003.history",
        gp.shell(
          pair.active,
          `cat ${shellQuote(pair.dataDir(pair.active))}/pg_wal/00000003.history`,
        ),
      );
    } finally {
      await gp.set("activation.mode", "failover");
    }
  });

  it("coordinator kill -9 under load (stale lock in its /tmp): the lock removed, activated, nothing lost", async () => {
    const done = await activateUnderLoad("kill9", (old) => {
      pair.kill(old);
      expect(gp.shell(old, "ls /tmp/.s.PGSQL.5432.lock")).toBe("/tmp/.s.PGSQL.5432.lock");
    });
    expect(done).toMatchObject({ oldPrimary: "postmaster-gone", staleLockRemoved: true });
  });

  it("the drill with failback: kill -9 under load, activation, re-protection, switchover back, RPO 0", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "gpsuite-drill-"));
    const args = ["--stack", gp.name, "--failback", "--out", out];
    try {
      const t0 = Date.now();
      const r = operatorCli("drill", args, gp.env);
      const seconds = (Date.now() - t0) / 1000;
      const summary = JSON.parse(r.stdout.trim().split("\n").pop() || "{}");
      const report = summary.report ? JSON.parse(fs.readFileSync(summary.report, "utf8")) : {};
      numbers["drill"] = {
        seconds,
        rtoSeconds: report.rtoSeconds,
        rpo: report.rpo,
        met: report.met,
      };
      console.log(`drill exit ${r.code}\n${r.stderr.split("\n").slice(-25).join("\n")}`);
      const results = process.env["GPMIRROR_DRILL_RESULTS"];
      if (results && summary.report) {
        fs.mkdirSync(results, { recursive: true });
        const base = path.join(results, `${new Date().toISOString().slice(0, 10)}-greenplum-drill`);
        for (const ext of ["json", "md", "svg"]) {
          const from = summary.report.replace(/json$/, ext);
          if (fs.existsSync(from)) fs.copyFileSync(from, `${base}.${ext}`);
        }
        fs.writeFileSync(
          `${base}.command.txt`,
          `npm run drill -- ${args.slice(0, 3).join(" ")}\n(run by test/integration/greenplumActivation.test.ts on the local Greenplum stack ${gp.name}: Greenplum 7.0.0, coordinator, standby and one segment host with two segments)\n`,
        );
      }
      expect(r.stderr).toMatch(/failure injected: kill -9/);
      expect(r.code).toBe(0);
      expect(report).toMatchObject({ met: true, protectedAfter: true });
      expect(report.rpo.ackedCommits).toBeGreaterThan(50);
      expect(report.rpo.missingCommits).toBe(0);
      expect(report.rtoSeconds).toBeGreaterThan(0);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
