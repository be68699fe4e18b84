// Faults on a real Greenplum 7.0.0 cluster (the local Greenplum stack: coordinator, standby and
// a segment host with two segments; stack gpsuitef, subnet 10.207.1.0/24), as the PostgreSQL
// fault suite injects them into a pair: a stopped standby, a standby away past wal_keep_size,
// a leftover standby directory, a forced activation with the standby stopped, and an old
// coordinator the standby cannot reach. One cluster for the file; each test leaves it
// protected for the next.
import { shellQuote } from "../../components/shell";
import { describeGreenplum, GreenplumHost, GreenplumStack } from "../support/greenplumStack";
import { GreenplumRoles } from "../support/greenplumRoles";

jest.setTimeout(30 * 60 * 1000);

describeGreenplum("faults on a real Greenplum cluster", () => {
  // 128MB: two of Greenplum 7's 64MB WAL segments, so a test can outrun it quickly.
  const gp = new GreenplumStack("gpsuitef", "10.207.1", { "greenplum.walKeepSize": "128MB" });
  const pair = new GreenplumRoles(gp);
  const numbers: Record<string, unknown> = {};

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

  it("forced activation with the standby stopped starts it as a standby and promotes it without -f: no promote_trigger_file line, fenced, re-protected", async () => {
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
});
