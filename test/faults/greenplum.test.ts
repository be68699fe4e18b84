// Faults on a real Greenplum 7.0.0 cluster (the local Greenplum stack: coordinator, standby and
// a segment host with two segments; stack gpsuitef, subnet 10.207.1.0/24), as the PostgreSQL
// fault suite injects them into a pair: a stopped standby, a standby away past wal_keep_size,
// a leftover standby directory, a forced activation with the standby stopped, an old
// coordinator the standby cannot reach, and one cut off from the standby only (fenced at the
// segment host, the config naming it refused by timeline, then stopped on heal), the
// switchover's preconditions, and an old coordinator nobody reaches (activation.fenceCommand,
// failing then working; the heal moves its directory aside). One cluster for the file; each test leaves it
// protected for the next.
import { readFileSync } from "fs";
import { shellQuote } from "../../components/shell";
import { describeGreenplum, GreenplumHost, GreenplumStack } from "../support/greenplumStack";
import { GreenplumRoles } from "../support/greenplumRoles";

jest.setTimeout(30 * 60 * 1000);

describeGreenplum("faults on a real Greenplum cluster", () => {
  // 128MB: two of Greenplum 7's 64MB WAL segments, so a test can outrun it quickly.
  const gp = new GreenplumStack("gpsuitef", "10.207.1", { "greenplum.walKeepSize": "128MB" });
  const pair = new GreenplumRoles(gp);
  const numbers: Record<string, unknown> = {};
  /** The result of the last activation step (the activation output's `last`). */
  const lastActivation = () =>
    (gp.outputs["activation"].value as { last?: Record<string, unknown> }).last ?? {};

  beforeAll(async () => {
    await gp.create();
    const up = await pair.up();
    numbers["firstUpSeconds"] = up.seconds;
    if (!up.ok) throw new Error(up.text);
  });

  afterAll(async () => {
    try {
      pair.network("join", "primary");
    } catch {
      // no hosts
    }
    await gp.destroy();
    console.log(`Greenplum fault suite numbers: ${JSON.stringify(numbers, null, 2)}`);
  });

  it("loads the Greenplum environment in the non-login shells the utilities open on each other's hosts", () => {
    const hosts: GreenplumHost[] = ["primary", "standby", "seg1"];
    const probe = `bash -c 'command -v gpstate; echo "$GPHOME"; python3 -c "import gppylib" && echo gppylib'`;
    for (const from of hosts) {
      for (const to of hosts) {
        expect(gp.shell(from, `ssh -o BatchMode=yes ${gp.hostName(to)} ${shellQuote(probe)}`)).toBe(
          "/usr/local/greenplum-db/bin/gpstate\n/usr/local/greenplum-db\ngppylib",
        );
      }
    }
    // A utility itself, in such a shell: gpstate -f reads the catalog and the standby.
    const gpstate = gp.shell(
      "primary",
      `ssh -o BatchMode=yes ${gp.hostName("primary")} ${shellQuote(`COORDINATOR_DATA_DIRECTORY=${pair.dataDir("primary")} PGPORT=5432 gpstate -f`)}`,
    );
    expect(gpstate).toMatch(/Standby address\s+= \S+/);
    expect(gpstate).toMatch(/WAL Sender State: streaming/);
  });

  it("a stopped standby: status exit 2 while the catalog says u; npm run repair starts it", async () => {
    pair.sql("CREATE TABLE away (id int) DISTRIBUTED BY (id)");
    await pair.caughtUp();
    pair.stop("standby", "fast");
    pair.sql("INSERT INTO away SELECT generate_series(1, 10000)");
    const seen = pair.status();
    expect(seen.code).toBe(2);
    expect(seen.report.protected).toBe(false);
    expect(seen.report.problems.join("\n")).toMatch(
      /registers \S+ as the standby \(status u\), but it is absent from pg_stat_replication/,
    );
    expect(pair.standbyRow()).toBe(`m|u|${gp.address("standby")}`);
    // pulumi up with unchanged settings runs no step: the standby stays down.
    const up = await pair.up();
    expect(up.ok).toBe(true);
    expect(up.text).not.toMatch(/gpinitstandby -n/);
    expect(pair.status().code).toBe(2);
    const repair = await pair.repair();
    numbers["standbyStoppedRepairSeconds"] = repair.seconds;
    expect({ code: repair.code, tail: repair.text.slice(-2000) }).toMatchObject({ code: 0 });
    expect(repair.text).toMatch(/registered but not running; starting it \(gpinitstandby -n\)/);
    await pair.caughtUp();
    expect(pair.status()).toMatchObject({ code: 0, report: { protected: true } });
  });

  it("a standby away past wal_keep_size: status says so, it is rebuilt only with allowReplaceStandby", async () => {
    pair.stop("standby", "fast");
    // Each switch after a change moves the coordinator one 64MB segment on.
    for (let i = 0; i < 5; i++)
      pair.sql(
        "CREATE TABLE gone (i int) DISTRIBUTED BY (i); DROP TABLE gone; SELECT pg_switch_wal();",
      );
    pair.sql("CHECKPOINT");
    const away = pair.status();
    expect(away.code).toBe(2);
    expect(away.report.safeWalBytes ?? 0).toBeLessThan(0);
    expect(away.report.problems.join("\n")).toMatch(
      /further behind than the primary's WAL retention/,
    );
    // Without allowReplaceStandby: started, found unable to catch up, and left registered.
    const refused = await pair.repair();
    expect(refused.code).not.toBe(0);
    expect(refused.text).toMatch(
      /has already been removed.*it can never catch up and must be rebuilt.*only when greenplum\.allowReplaceStandby is true/s,
    );
    expect(pair.standbyRow()).toBe(`m|u|${gp.address("standby")}`);
    const lost = pair.status();
    expect(lost.code).toBe(2);
    expect(lost.report.canCatchUp).toBe(false);
    expect(lost.report.problems.join("\n")).toMatch(/it can never catch up and must be rebuilt/);
    await gp.set("greenplum.allowReplaceStandby", "true");
    const rebuilt = await pair.repair();
    numbers["standbyRebuildSeconds"] = rebuilt.seconds;
    expect({ code: rebuilt.code, tail: rebuilt.text.slice(-2000) }).toMatchObject({ code: 0 });
    expect(rebuilt.text).toMatch(/removing it \(gpinitstandby -r -a\)/);
    expect(gp.outputs["standbyOrigin"].value).toMatchObject({ method: "snapshot" });
    await pair.caughtUp();
    expect(pair.status()).toMatchObject({ code: 0, report: { protected: true, canCatchUp: true } });
    expect(pair.sql("SELECT count(*) FROM away")).toBe("10000");
  });

  it("a leftover standby directory is moved aside, never deleted, and the standby made again", async () => {
    await gp.set("greenplum.allowReplaceStandby", "false");
    // What a failed gpinitstandby leaves: no standby registered, its directory on the host.
    gp.shell("primary", "gpinitstandby -r -a >/dev/null");
    expect(pair.standbyRow()).toBe("");
    const dir = pair.dataDir("standby");
    gp.shell("standby", `mkdir -p ${shellQuote(dir)} && echo left > ${shellQuote(dir)}/LEFTOVER`);
    const repair = await pair.repair();
    expect({ code: repair.code, tail: repair.text.slice(-2000) }).toMatchObject({ code: 0 });
    expect(repair.text).toMatch(/moving the leftover \S+ on \S+ aside to \S+\.gpmirror-moved-/);
    const moved = pair.beside("standby", dir, ".gpmirror-moved-");
    expect(moved).toHaveLength(1);
    expect(gp.shell("standby", `cat ${shellQuote(moved[0])}/LEFTOVER`)).toBe("left");
    expect(gp.outputs["standbyOrigin"].value).toMatchObject({ movedAside: moved });
    await pair.caughtUp();
    expect(pair.status().code).toBe(0);
  });

  it("forced activation with the standby stopped starts it as a standby and promotes it without -f: no promote_trigger_file line, fenced (started by hand it takes no write), re-protected", async () => {
    pair.sql(
      "CREATE TABLE forced (id int) DISTRIBUTED BY (id); INSERT INTO forced SELECT generate_series(1, 500)",
    );
    await pair.caughtUp();
    // Both stopped cleanly: the standby holds every commit, and only force activates it.
    pair.stop("primary", "fast");
    pair.stop("standby", "fast");
    const oldDir = pair.dataDir("primary");
    await gp.set("activeMaster", "standby");
    await gp.set("activation.force", "true");
    const run = await pair.up();
    await gp.set("activation.force", "false");
    numbers["forcedActivationAndReprotectSeconds"] = run.seconds;
    GreenplumRoles.succeeded(run);
    expect(pair.active).toBe("standby");
    const last = (gp.outputs["activation"].value as { last: Record<string, unknown> }).last;
    expect(last).toMatchObject({
      promoted: true,
      forced: true,
      oldPrimary: "postmaster-gone",
      standbyStarted: true,
    });
    expect(run.text).toMatch(/starting it as a standby \(pg_ctl start\)/);
    expect(
      gp.shell(
        "standby",
        `grep -cE '^[[:space:]]*promote_trigger_file' ${shellQuote(pair.dataDir("standby"))}/postgresql.conf || true`,
      ),
    ).toBe("0");
    expect(String(last["oldDataDirMovedTo"])).toMatch(/\.gpmirror-fenced-/);
    expect(pair.beside("primary", oldDir, ".gpmirror-fenced-")).toEqual([
      last["oldDataDirMovedTo"],
    ]);
    expect(pair.sql("SELECT count(*) FROM forced")).toBe("500");
    await pair.caughtUp();
    expect(pair.status()).toMatchObject({
      code: 0,
      report: { primary: gp.hostName("standby"), standby: gp.hostName("primary"), protected: true },
    });
    // The fenced directory, started by hand (on a spare port: its host runs the standby now),
    // comes up in recovery and takes no write: 7.0.0 refuses every connection of a standby
    // with "the database system is starting up" and the last replayed record.
    const fenced = shellQuote(String(last["oldDataDirMovedTo"]));
    gp.shell(
      "primary",
      `pg_ctl start -W -D ${fenced} -l /tmp/gpm-fenced-start.log -o " -p 5499 -c gp_role=dispatch" >/dev/null`,
    );
    try {
      const answer = gp.shell(
        "primary",
        `for i in $(seq 60); do
          if out=$(psql -X -At -p 5499 -d postgres -c "CREATE TABLE fenced_write (i int)" 2>&1); then echo ACCEPTED; exit 0; fi
          case "$out" in *"recovery mode"* | *"last replayed record"*) echo REFUSED; exit 0 ;; esac
          sleep 0.5
        done
        echo "no answer: $out"`,
      );
      expect(answer).toBe("REFUSED");
    } finally {
      gp.shell("primary", `pg_ctl stop -D ${fenced} -m immediate -w >/dev/null 2>&1 || true`);
    }
  });

  it("an old coordinator the standby cannot reach: activation refused quickly, nothing changed", async () => {
    pair.sql(
      "CREATE TABLE before_cut (id int) DISTRIBUTED BY (id); INSERT INTO before_cut SELECT generate_series(1, 500)",
    );
    await pair.caughtUp();
    const old = pair.active;
    const target = pair.passive;
    pair.network("partition", old);
    try {
      await gp.set("activeMaster", target);
      const refused = await pair.up();
      numbers["unreachableRefusedSeconds"] = refused.seconds;
      console.log(`refused activation: pulumi up ended after ${refused.seconds.toFixed(1)} s`);
      expect(refused.ok).toBe(false);
      expect(refused.text).toMatch(
        /does not answer over SSH within the timeout: that is not proof/,
      );
      expect(refused.seconds).toBeLessThan(90);
    } finally {
      pair.network("join", old);
      await gp.set("activeMaster", old);
    }
    // The old coordinator still is the master, and its standby streams again by itself.
    expect(gp.sql(old, "SELECT count(*) FROM before_cut")).toBe("500");
    const again = await pair.up();
    GreenplumRoles.succeeded(again);
    await pair.caughtUp(120_000);
    expect(pair.status()).toMatchObject({ code: 0, report: { primary: gp.hostName(old) } });
  });

  it("an old coordinator cut off from the standby only: fenced at the segments before a forced promotion, stopped and unfenced on heal", async () => {
    pair.sql("CREATE TABLE fenced_writes (id int) DISTRIBUTED BY (id)");
    await pair.caughtUp();
    const old = pair.active;
    const target = pair.passive;
    const oldDir = pair.dataDir(old);
    // A client of the old coordinator on its own host: one insert at a time, each line
    // "<id> ok|fail <epoch ms when it ended>".
    const writes = "/tmp/gpm-fenced-writes.log";
    const stop = "/tmp/gpm-fenced-writes.stop";
    const loop = `i=0; end=$((SECONDS + 400)); rm -f ${stop} ${writes}
while [ ! -f ${stop} ] && [ $SECONDS -lt $end ]; do
  i=$((i + 1))
  if PGOPTIONS='-c statement_timeout=20s' psql -X -q -p 5432 -d postgres -c "INSERT INTO fenced_writes VALUES ($i)" >/dev/null 2>&1; then r=ok; else r=fail; fi
  echo "$i $r $(date +%s%3N)" >> ${writes}
  sleep 0.05
done`;
    gp.shell(old, `setsid nohup bash -c ${shellQuote(loop)} </dev/null >/dev/null 2>&1 &`);
    pair.network("partition", old);
    const cutAt = Date.now();
    let run;
    try {
      await gp.set("activeMaster", target);
      await gp.set("activation.force", "true");
      await gp.set("protect", "false");
      run = GreenplumRoles.succeeded(await pair.up());
    } finally {
      gp.shell(old, `sleep 3; touch ${stop}`);
    }
    numbers["segmentFenceFailoverSeconds"] = run.seconds;
    const fence = lastActivation()["segmentFence"] as {
      state: string;
      decidedAt: number;
      fencedAt: number;
      ms: number;
      hosts: string[];
      failed: string[];
    };
    expect(fence).toMatchObject({ state: "kept", failed: [] });
    expect(fence.hosts).toEqual([expect.stringMatching(/: nft \(added\)$/)]);
    expect(run.text).toMatch(/the segments stay fenced against/);
    // A write through the old coordinator now fails at once.
    const t0 = Date.now();
    expect(() => gp.sql(old, "INSERT INTO fenced_writes VALUES (-2)")).toThrow();
    numbers["segmentFenceRefusedWriteMs"] = Date.now() - t0;
    const lines = gp
      .shell(old, `sleep 1; cat ${writes}`)
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .map(([id, r, t]) => ({ id: Number(id), ok: r === "ok", t: Number(t) }));
    const lastOk = Math.max(...lines.filter((l) => l.ok).map((l) => l.id));
    const refused = lines.find((l) => !l.ok && l.t >= fence.decidedAt);
    expect(refused).toBeDefined();
    numbers["segmentFenceMs"] = fence.ms;
    numbers["segmentFenceDecisionToRefusalMs"] = (refused?.t ?? 0) - fence.decidedAt;
    // Cut off from the standby only, it went on acknowledging writes until the fence.
    const ackedWhileCut = lines.filter((l) => l.ok && l.t > cutAt).length;
    numbers["segmentFenceWritesAckedWhileCutBeforeFence"] = ackedWhileCut;
    expect(ackedWhileCut).toBeGreaterThan(0);
    console.log(
      `segment fence: ${fence.ms} ms; decision to the old coordinator's first refused write: ${numbers["segmentFenceDecisionToRefusalMs"]} ms`,
    );
    // Nothing acknowledged after the fence, and the segments hold nothing past the last
    // acknowledged write; the new coordinator reads and writes.
    expect(lines.filter((l) => l.ok && l.t > fence.fencedAt)).toEqual([]);
    expect(gp.sql(target, `SELECT count(*) FROM fenced_writes WHERE id > ${lastOk}`)).toBe("0");
    expect(
      gp.sql(
        target,
        "INSERT INTO fenced_writes VALUES (-1); SELECT count(*) FROM fenced_writes WHERE id = -1",
      ),
    ).toBe("1");
    // Back on the network, the stale coordinator still runs as a primary on the older timeline:
    // the config naming it (activeMaster back to it) is refused, and nothing is stopped.
    pair.network("join", old);
    await gp.set("activation.force", "false");
    await gp.set("protect", "true");
    await gp.set("activeMaster", old);
    const wrong = await pair.up();
    expect(wrong.ok).toBe(false);
    expect(wrong.text).toMatch(
      /on a later timeline \(\d+\) than this host \(\d+\), which activeMaster names: the config points at the stale one/,
    );
    expect(gp.sql(target, "SELECT pg_is_in_recovery()")).toBe("f");
    expect(gp.shell("seg1", "sudo -n /usr/sbin/nft list tables")).toMatch(/gpmirror_fence/);
    // Heal: the config right again, protect on. The stale coordinator is stopped, moved
    // aside, the fence lifted, and the old host re-protected as the standby.
    await gp.set("activeMaster", target);
    const healed = GreenplumRoles.succeeded(await pair.up());
    numbers["segmentFenceHealSeconds"] = healed.seconds;
    expect(lastActivation()).toMatchObject({
      wasAlreadyPrimary: true,
      staleStopped: true,
      oldDataDirMovedTo: expect.stringMatching(/\.gpmirror-fenced-/),
      segmentFence: { state: "lifted", failed: [] },
    });
    expect(healed.text).toMatch(/on an earlier timeline \(\d+; this host is on \d+\): it is stale/);
    expect(gp.shell("seg1", "sudo -n /usr/sbin/nft list tables")).not.toMatch(/gpmirror_fence/);
    expect(pair.beside(old, oldDir, ".gpmirror-fenced-")).toHaveLength(1);
    await pair.caughtUp(120_000);
    expect(pair.status()).toMatchObject({ code: 0, report: { primary: gp.hostName(target) } });
    expect(pair.sql("SELECT count(*) FROM fenced_writes WHERE id = -1")).toBe("1");
  });
  it("refusals on the real cluster: a failover while the old coordinator runs; a switchover while the standby does not stream, and while the old coordinator does not run; then a failover", async () => {
    const old = pair.active;
    const target = pair.passive;
    const oldDir = pair.dataDir(old);
    // A failover while the old coordinator runs and answers: two masters; refused unforced.
    await gp.set("activeMaster", target);
    const alive = await pair.up();
    expect(alive.ok).toBe(false);
    expect(alive.text).toMatch(
      /the old master still runs on .*activating now would leave two masters accepting writes/,
    );
    expect(gp.sql(old, "SELECT pg_is_in_recovery()")).toBe("f");
    expect(pair.status()).toMatchObject({ code: 0, report: { primary: gp.hostName(old) } });
    const hba = `${shellQuote(oldDir)}/pg_hba.conf`;
    // The standby's walreceiver rejected by the old coordinator: it runs, but does not stream.
    gp.shell(
      old,
      `sed -i '1i host replication all ${gp.address(target)}/32 reject # gpmirror-test' ${hba}
       psql -X -q -At -p 5432 -d postgres -c 'SELECT pg_reload_conf()' >/dev/null
       psql -X -q -At -p 5432 -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = 'gp_walreceiver'" >/dev/null
       for i in $(seq 60); do
         n="$(psql -X -q -At -p 5432 -d postgres -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'gp_walreceiver' AND state = 'streaming'")"
         [ "$n" = 0 ] && exit 0; sleep 0.5
       done; exit 1`,
    );
    try {
      await gp.set("activation.mode", "switchover");
      await gp.set("activeMaster", target);
      const noStream = await pair.up();
      expect(noStream.ok).toBe(false);
      expect(noStream.text).toMatch(
        /switchover refused: the standby is not streaming from the old master/,
      );
      expect(gp.sql(old, "SELECT pg_is_in_recovery()")).toBe("f");
    } finally {
      gp.shell(
        old,
        `sed -i '/# gpmirror-test$/d' ${hba}; psql -X -q -At -p 5432 -d postgres -c 'SELECT pg_reload_conf()' >/dev/null`,
      );
    }
    await pair.caughtUp(120_000);
    // The old coordinator stopped: a switchover cannot take its last WAL, so it is refused.
    pair.stop(old, "fast");
    const notRunning = await pair.up();
    expect(notRunning.ok).toBe(false);
    expect(notRunning.text).toMatch(/switchover refused: the old master does not run on/);
    expect(
      gp.shell(
        target,
        `test -f ${shellQuote(pair.dataDir(target))}/standby.signal && echo standby`,
      ),
    ).toBe("standby");
    // What the refusal says to do: fail over. Activated and re-protected in the same run.
    await gp.set("activation.mode", "failover");
    GreenplumRoles.succeeded(await pair.up());
    expect(lastActivation()).toMatchObject({ promoted: true, oldPrimary: "postmaster-gone" });
    await pair.caughtUp(120_000);
    expect(pair.status()).toMatchObject({ code: 0, report: { primary: gp.hostName(target) } });
  });

  it("an old coordinator nobody can reach: a failing activation.fenceCommand promotes nothing; a working one runs before gpactivatestandby; the heal moves its directory aside", async () => {
    pair.sql(
      "CREATE TABLE fenced_by_command (id int) DISTRIBUTED BY (id); INSERT INTO fenced_by_command SELECT generate_series(1, 100)",
    );
    await pair.caughtUp();
    const old = pair.active;
    const target = pair.passive;
    const oldDir = pair.dataDir(old);
    const targetDir = pair.dataDir(target);
    // Its link cut: neither this machine, nor the standby, nor the segments reach it.
    pair.network("fence", old);
    const calls = `/tmp/gpm-fence-calls-${process.pid}`;
    let run;
    try {
      await gp.set("activeMaster", target);
      await gp.set("activation.force", "true");
      await gp.set("protect", "false");
      await gp.set("activation.fenceCommand", "echo 'fence agent: no answer' >&2; exit 7");
      const failed = await pair.up();
      numbers["fenceCommandFailedRefusedSeconds"] = failed.seconds;
      expect(failed.ok).toBe(false);
      expect(failed.text).toMatch(
        /activation\.fenceCommand failed \(exit 7\).*nothing was promoted/,
      );
      expect(failed.text).toMatch(/\[fence-command\] fence agent: no answer/);
      expect(
        gp.shell(target, `test -f ${shellQuote(targetDir)}/standby.signal && echo standby`),
      ).toBe("standby");
      // A fence agent that does its job: the old host's postmaster killed (as an IPMI power-off
      // would end it), with the old host's identity from its environment and no secret.
      await gp.set(
        "activation.fenceCommand",
        `printf '%s|%s|%s|%s\\n' "$GPM_FENCE_ADDRESS" "$GPM_FENCE_DATA_DIR" "$GPM_FENCE_REASON" "$(env | grep -c '^GPM_[A-Z_]*\\(KEY\\|PASSWORD\\)=')" >${calls}; pkill -9 -f -- "[p]ostgres -D $GPM_FENCE_DATA_DIR"; for i in $(seq 50); do pgrep -f -- "[p]ostgres -D $GPM_FENCE_DATA_DIR" >/dev/null || { echo 'fence agent: postmaster gone'; exit 0; }; sleep 0.1; done; exit 1`,
      );
      run = GreenplumRoles.succeeded(await pair.up());
    } finally {
      await gp.stack.removeConfig("gpmirror:activation.fenceCommand", true);
      await gp.set("activation.force", "false");
    }
    expect(readFileSync(calls, "utf8").trim()).toBe(`${gp.address(old)}|${oldDir}|unreachable|0`);
    expect(run.text).toMatch(/\[fence-command\] fence agent: postmaster gone/);
    numbers["fenceCommandFailoverSeconds"] = run.seconds;
    // From the decision (the command started) to the old coordinator gone: the command's time.
    numbers["fenceCommandMs"] = Number(
      /activation\.fenceCommand fenced \S+ in (\d+) ms/.exec(run.text)?.[1],
    );
    // The fence ran, and had to succeed, before gpactivatestandby.
    expect(run.text.indexOf("fence agent: postmaster gone")).toBeLessThan(
      run.text.indexOf("gpactivatestandby"),
    );
    expect(lastActivation()).toMatchObject({
      activated: true,
      promoted: true,
      oldSeenFromPulumi: "unreachable",
    });
    expect((lastActivation()["fencedBy"] as string[]).join(" ")).toMatch(
      /activation\.fenceCommand/,
    );
    expect(gp.sql(target, "SELECT count(*) FROM fenced_by_command")).toBe("100");
    // Healed and protect on: its directory (stopped, never reached to be moved aside) would
    // start as a primary on the old timeline: it is moved aside, and the host re-protected.
    pair.network("heal", old);
    await gp.set("protect", "true");
    const healed = GreenplumRoles.succeeded(await pair.up());
    numbers["fenceCommandHealSeconds"] = healed.seconds;
    expect(healed.text).toMatch(/its data directory .* would start as a primary/);
    const moved = String(lastActivation()["oldDataDirMovedTo"]);
    expect(moved).toMatch(/\.gpmirror-fenced-/);
    expect(pair.beside(old, oldDir, ".gpmirror-fenced-")).toContain(moved);
    await pair.caughtUp(120_000);
    expect(pair.status()).toMatchObject({ code: 0, report: { primary: gp.hostName(target) } });
    expect(pair.sql("SELECT count(*) FROM fenced_by_command")).toBe("100");
  });
});
