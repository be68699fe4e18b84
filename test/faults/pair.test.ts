import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Writer } from "../../components/operator/drill/writer";
import { OperatorAccess } from "../../components/operator/access";
import { operatorCli } from "../support/operator";
import { faultRounds, Pair, sleep, waitFor } from "./pair";
import { PEM_HEADER } from "../fixtures/keys";

jest.setTimeout(30 * 60 * 1000);

// Faults injected into a real local pair (network namespaces, so links can be cut): secrets
// watched in process listings while every step runs, a standby away while the primary takes
// writes, a partition between the hosts, a changed host key, and the primary killed under a
// write load, with synchronous replication (GPMIRROR_FAULT_ROUNDS rounds) and asynchronous.
const isRoot = process.getuid?.() === 0;
const PASSWORD = "faults-replication-password-7c1e2b94";
const pair = new Pair("itest-faults", {
  "local.subnet": "10.201.5",
  "local.bridge": "gpm-faults",
  replicationPassword: PASSWORD,
});
const numbers: Record<string, unknown> = {};

(isRoot ? describe : describe.skip)("faults on a real local pair", () => {
  let sampler: ChildProcess | undefined;
  const samples = path.join(os.tmpdir(), `gpmirror-ps-${process.pid}.txt`);

  beforeAll(async () => {
    await pair.create();
  });

  afterAll(async () => {
    sampler?.kill();
    fs.rmSync(samples, { force: true });
    pair.partition(false);
    await pair.destroy();
    console.log(`fault suite numbers: ${JSON.stringify(numbers, null, 2)}`);
  });

  it("keeps the password and the SSH key out of process listings, stack export and output", async () => {
    // Every process's command line on this machine (the hosts' namespaces share its process
    // table), sampled every 50 ms while `pulumi up` runs every step.
    sampler = spawn("bash", ["-c", 'while :; do ps -eo args >>"$0"; sleep 0.05; done', samples], {
      stdio: "ignore",
    });
    const result = await pair.up();
    sampler.kill();
    sampler = undefined;
    expect(result.summary.result).toBe("succeeded");
    expect(pair.outputs["replication"].value).toMatchObject({ state: "streaming" });
    const listings = fs.readFileSync(samples, "utf8");
    const key = fs.readFileSync(`${pair.stateDir}/client_key`, "utf8");
    const keyLine = key.split("\n")[1];
    expect(keyLine.length).toBeGreaterThan(40);
    // The samples saw the steps run on the hosts.
    expect(listings).toMatch(/pg_basebackup/);
    expect(listings).toMatch(/bash -s/);
    const exported = pair.exportWithoutSecrets();
    const status = operatorCli("status", ["--stack", pair.name], pair.env);
    for (const [where, text] of [
      ["process listings", listings],
      ["pulumi stack export", exported],
      ["engine output", pair.log.join("")],
      [
        "stack outputs that are not secrets",
        JSON.stringify(Object.values(pair.outputs).filter((o) => !o.secret)),
      ],
      ["status output", status.stdout + status.stderr],
    ]) {
      expect({ where, password: text.includes(PASSWORD) }).toEqual({ where, password: false });
      expect({ where, key: text.includes(keyLine) }).toEqual({ where, key: false });
      expect({ where, pem: text.includes(PEM_HEADER) }).toEqual({ where, pem: false });
    }
    expect(exported).toContain("ciphertext");
    expect(pair.outputs["operatorAccess"].secret).toBe(true);
    numbers["processListingSamples"] = listings.split("\n").filter((l) => l === "COMMAND").length;
  });

  it("a standby away while the primary takes writes comes back and catches up with every row", async () => {
    pair.sql("primary", "CREATE TABLE away (id int PRIMARY KEY, pad text)");
    await pair.caughtUp();
    pair.killPostmaster("standby");
    const lsnAway = pair.sql("primary", "SELECT pg_current_wal_lsn()");
    let written = 0;
    for (let i = 0; i < 5; i++) {
      pair.sql(
        "primary",
        `INSERT INTO away SELECT g, repeat('x', 200) FROM generate_series(${written + 1}, ${written + 10000}) g; SELECT pg_switch_wal();`,
      );
      written += 10000;
    }
    // The slot keeps everything the primary wrote since the standby went away (read before
    // the status, so that WAL written meanwhile only adds to what the status shows).
    const walSince = Number(
      pair.sql("primary", `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsnAway}')`),
    );
    const away = pair.status();
    expect(away.code).toBe(2);
    expect(away.report.protected).toBe(false);
    expect(away.report.canCatchUp).toBe(true);
    expect(walSince).toBeGreaterThan(50 * 1024 * 1024);
    expect(away.report.retainedWalBytes).toBeGreaterThanOrEqual(walSince);
    pair.startServer("standby", "standby.log");
    await pair.caughtUp(120_000);
    expect(pair.sql("standby", "SELECT count(*), sum(id) FROM away")).toBe(
      `${written}|${(written * (written + 1)) / 2}`,
    );
    expect(pair.status().code).toBe(0);
    numbers["standbyAway"] = {
      rowsWritten: written,
      retainedWalBytes: away.report.retainedWalBytes,
      rowsLost: 0,
    };
  });

  it("past max_slot_wal_keep_size the slot is lost, the status says rebuild, and npm run repair rebuilds it", async () => {
    // A small bound, and no wal_keep_size, so that the primary really removes the WAL.
    await pair.set("replication.maxSlotWalKeepSize", "64MB");
    await pair.set("replication.walKeepSize", "0MB");
    await pair.up();
    pair.sql("primary", "CREATE TABLE lost (id int PRIMARY KEY, pad text)");
    await pair.caughtUp();
    pair.killPostmaster("standby");
    let written = 0;
    for (let i = 0; i < 6; i++) {
      pair.sql(
        "primary",
        `INSERT INTO lost SELECT g, repeat(md5(g::text), 25) FROM generate_series(${written + 1}, ${written + 20000}) g; SELECT pg_switch_wal();`,
      );
      written += 20000;
    }
    pair.sql("primary", "CHECKPOINT");
    const lost = pair.status();
    expect(lost.code).toBe(2);
    expect(lost.report.canCatchUp).toBe(false);
    expect(lost.report.problems.join(" ")).toMatch(
      /lost WAL the standby needs: the standby must be rebuilt/,
    );
    const repair = operatorCli("repair", ["--stack", pair.name], pair.env);
    expect({ code: repair.code, tail: repair.stderr.slice(-2000) }).toMatchObject({ code: 0 });
    expect(repair.stderr).toMatch(/dropping and creating it again/);
    expect(repair.stderr).toMatch(/moving it aside to \S+\.lost-/);
    pair.outputs = await pair.stack.outputs();
    await pair.caughtUp();
    expect(pair.sql("standby", "SELECT count(*), sum(id) FROM lost")).toBe(
      `${written}|${(written * (written + 1)) / 2}`,
    );
    expect(pair.status().code).toBe(0);
    expect(pair.shell("standby", `ls -d ${pair.node("standby").dataDir}.lost-* | wc -l`)).toBe("1");
    numbers["slotLost"] = { rowsWritten: written, rowsOnRebuiltStandby: written, rowsLost: 0 };
    // A repair of a healthy pair rebuilds nothing.
    const again = operatorCli("repair", ["--stack", pair.name], pair.env);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/moving it aside/);
    await pair.set("replication.maxSlotWalKeepSize", "1GB");
  });

  it("a partition between the hosts: reported, activation refused, converges once healed", async () => {
    pair.sql("primary", "CREATE TABLE cut (id int PRIMARY KEY)");
    await pair.caughtUp();
    pair.partition(true);
    const t0 = Date.now();
    pair.sql("primary", "INSERT INTO cut SELECT generate_series(1, 5000)");
    let seen = pair.status();
    await waitFor(
      () => {
        seen = pair.status();
        return seen.code === 2;
      },
      120_000,
      "the status to report the partition",
    );
    numbers["partitionReportedAfterSeconds"] = (Date.now() - t0) / 1000;
    expect(seen.report.protected).toBe(false);
    expect(seen.report.problems.join(" ")).toMatch(/not answered|not connected|not streaming/);
    // Both hosts answer this machine: the old primary is alive, so activation refuses (the
    // lag bound is lifted here, so that the old primary's liveness alone decides).
    await pair.set("activeMaster", "standby");
    await pair.set("activation.maxLagBytes", String(64 * 1024 ** 3));
    try {
      const refusal = await pair.up().then(
        () => "",
        (e: unknown) => String(e),
      );
      numbers["partitionActivation"] = refusal.match(/\[activate\] [^\n]*/g)?.slice(0, 3);
      expect(refusal).toMatch(/still accepts connections: promoting now would leave two primaries/);
    } finally {
      await pair.set("activeMaster", "primary");
      await pair.set("activation.maxLagBytes", "16777216");
    }
    expect(pair.sql("primary", "SELECT pg_is_in_recovery()")).toBe("f");
    expect(pair.sql("standby", "SELECT pg_is_in_recovery()")).toBe("t");
    pair.sql("primary", "INSERT INTO cut SELECT generate_series(5001, 6000)");
    pair.partition(false);
    const healed = Date.now();
    // No manual step: the standby's WAL receiver reconnects by itself.
    await waitFor(() => pair.status().code === 0, 180_000, "streaming again after the heal");
    await pair.caughtUp();
    numbers["partitionConvergedAfterSeconds"] = (Date.now() - healed) / 1000;
    expect(pair.sql("standby", "SELECT count(*) FROM cut")).toBe("6000");
    numbers["partition"] = { rowsWritten: 6000, rowsLost: 0 };
  });

  /**
   * A partition with asynchronous replication: 3000 rows committed on the old primary after
   * the cut, a forced activation with protect off, 50 rows on the new primary, the heal,
   * protect on. Checks that the old primary, now the standby, holds exactly the new primary's
   * rows and streams; then a switchover restores the layout. Returns the standbyOrigin.
   */
  async function splitAndReprotect(
    table: string,
    onNewPrimary: () => void = () => undefined,
  ): Promise<Record<string, unknown>> {
    pair.sql("primary", `CREATE TABLE ${table} (id int PRIMARY KEY)`);
    pair.sql("primary", `INSERT INTO ${table} SELECT generate_series(1, 100)`);
    await pair.caughtUp();
    pair.partition(true);
    // Acknowledged by the old primary, never seen by the standby: the failover's loss.
    pair.sql("primary", `INSERT INTO ${table} SELECT generate_series(101, 3100)`);
    await pair.set("activeMaster", "standby");
    await pair.set("activation.force", "true");
    await pair.stack.setConfig("gpmirror:protect", { value: "false" });
    try {
      await pair.up();
      expect(
        (pair.outputs["activation"].value as { last: Record<string, unknown> }).last,
      ).toMatchObject({ activated: true, oldPrimary: "alive", fence: "stopped-immediate" });
      expect(pair.outputs["replication"].value).toMatchObject({ state: "unprotected" });
      expect(pair.sql("primary", `SELECT count(*) FROM ${table}`)).toBe("100");
      pair.sql("primary", `INSERT INTO ${table} SELECT generate_series(10001, 10050)`);
      onNewPrimary();
    } finally {
      pair.partition(false);
      await pair.set("activation.force", "false");
      await pair.stack.setConfig("gpmirror:protect", { value: "true" });
    }
    const t0 = Date.now();
    await pair.up();
    numbers[`${table}ReprotectionSeconds`] = (Date.now() - t0) / 1000;
    const origin = pair.outputs["standbyOrigin"].value as Record<string, unknown>;
    await pair.caughtUp();
    // Its 3000 rows after the split are gone.
    expect(pair.sql("standby", `SELECT count(*) || ' ' || max(id) FROM ${table}`)).toBe(
      "150 10050",
    );
    expect(pair.status().code).toBe(0);
    // Back to the original layout for the tests below (a switchover: nothing lost).
    await pair.set("activeMaster", "primary");
    await pair.set("activation.mode", "switchover");
    await pair.up();
    await pair.set("activation.mode", "failover");
    expect(pair.status().code).toBe(0);
    return origin;
  }

  it("a partition, asynchronous, forced failover, and pg_rewind refused: rebuilt from a snapshot, the old directory kept aside", async () => {
    // pg_rewind reads the new primary's files through functions the replication role was
    // granted; a DBA who revoked one makes it fail, and re-protection must still converge.
    // WAL kept again (the slot test left walKeepSize 0MB): without it the old primary has
    // usually recycled the WAL back to its last checkpoint before the split, and pg_rewind
    // fails on that first ("could not find previous WAL record"; the same fallback).
    await pair.set("replication.walKeepSize", "256MB");
    await pair.up();
    const origin = await splitAndReprotect("norewind", () =>
      pair.sql(
        "primary",
        "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean) FROM replicator",
      ),
    );
    expect(origin).toMatchObject({ method: "snapshot" });
    expect(String(origin["rewindError"])).toMatch(/^pg_rewind: error: .*permission denied/);
    expect((origin["movedAside"] as string[]).join(",")).toMatch(/\/hosts\/primary\/data\.fenced-/);
  });

  it("a partition, asynchronous, forced failover: the old primary's writes after the split are rewound away, and it streams again", async () => {
    const origin = await splitAndReprotect("split");
    // Rewound in place: nothing moved aside.
    expect(origin).toMatchObject({ method: "rewind", movedAside: [], rewindError: null });
    expect(origin["divergedAt"]).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    numbers["rewindDivergedAt"] = origin["divergedAt"];
    // The failback switchover rewound the cleanly stopped standby host too.
    expect(pair.outputs["standbyOrigin"].value).toMatchObject({ method: "rewind" });
  });

  it("a changed host key stops the run with a clear error", async () => {
    const keyFile = `${pair.stateDir}/hosts/standby/ssh/ssh_host_ed25519_key`;
    const pidFile = `${pair.stateDir}/hosts/standby/ssh/sshd.pid`;
    const saved = fs.readFileSync(keyFile);
    const savedPub = fs.readFileSync(`${keyFile}.pub`);
    const hup = () => process.kill(Number(fs.readFileSync(pidFile, "utf8").trim()), "SIGHUP");
    try {
      // Behind gpmirror's back: a new host key on the standby's sshd.
      fs.rmSync(keyFile);
      fs.rmSync(`${keyFile}.pub`);
      spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
      hup();
      await sleep(1000);
      // A changed setting that re-runs the standby's step makes it connect.
      await pair.set("replication.timeoutSeconds", "130");
      await pair.set("replication.maxSlotWalKeepSize", "2GB");
      // Named by gpmirror's own host check, under either command provider: the host and both
      // fingerprints, before anything runs on it.
      const shown = fingerprint(`${keyFile}.pub`);
      const pinned = fingerprint(savedPub);
      await expect(pair.up()).rejects.toThrow(
        new RegExp(
          `host key mismatch: standby \\(.*\\) at 10\\.201\\.5\\.12:22 presented ED25519 key ${esc(shown)}, but the pinned key is ${esc(pinned)} \\(ED25519\\)\\. Nothing was run on it`,
        ),
      );
    } finally {
      fs.writeFileSync(keyFile, saved, { mode: 0o600 });
      fs.writeFileSync(`${keyFile}.pub`, savedPub);
      hup();
      await sleep(1000);
    }
    await pair.up();
    expect(pair.outputs["replication"].value).toMatchObject({ state: "streaming" });
  });

  it("a wrong hostKey given in config for existing hosts stops the run before any step runs", async () => {
    // The same two machines, as `platform: existing` with a host key that is not theirs.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-hostkey-"));
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${tmp}/other`]);
    const wrongKey = fs.readFileSync(`${tmp}/other.pub`, "utf8").split(" ").slice(0, 2).join(" ");
    const host = (role: "primary" | "standby") => ({
      [`hosts.${role}.address`]: `10.201.5.${role === "primary" ? 11 : 12}`,
      [`hosts.${role}.user`]: "gpmirror",
      [`hosts.${role}.privateKeyPath`]: `${pair.stateDir}/client_key`,
      [`hosts.${role}.hostKey`]: wrongKey,
      [`hosts.${role}.dataDir`]: `${pair.stateDir}/hosts/${role}/data`,
    });
    const existing = new Pair("itest-faults-ex", {
      platform: "existing",
      ...host("primary"),
      ...host("standby"),
    });
    try {
      await existing.create();
      // Whichever host is checked first names itself, its own key and the pinned one.
      const mismatch = (role: "primary" | "standby", octet: number) =>
        `host key mismatch: ${role} \\(.*\\) at 10\\.201\\.5\\.${octet}:22 presented ED25519 key ` +
        `${esc(fingerprint(`${pair.stateDir}/hosts/${role}/ssh/ssh_host_ed25519_key.pub`))}, ` +
        `but the pinned key is ${esc(fingerprint(`${tmp}/other.pub`))} \\(ED25519\\)\\. .*` +
        `Fix: if the host was rebuilt on purpose, set gpmirror:hosts\\.${role}\\.hostKey`;
      await expect(existing.up()).rejects.toThrow(
        new RegExp(`${mismatch("primary", 11)}|${mismatch("standby", 12)}`),
      );
      const ran = existing.log.join("").match(/\[(prepare|primary|access|standby|verify)\] /g);
      expect(ran).toBeNull();
    } finally {
      await existing.destroy();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    expect(pair.status().code).toBe(0);
  });

  it("a host whose sshd hangs ends the run within the bound, naming the host", async () => {
    // Pulumi's command provider bounds only the TCP connect, not the SSH handshake: a stopped
    // sshd (connections accepted by the kernel, never answered) would hang it for good.
    const pid = Number(
      fs.readFileSync(`${pair.stateDir}/hosts/standby/ssh/sshd.pid`, "utf8").trim(),
    );
    process.kill(pid, "SIGSTOP");
    const started = Date.now();
    try {
      await pair.set("replication.timeoutSeconds", "131");
      await pair.set("replication.maxSlotWalKeepSize", "3GB");
      await expect(pair.up()).rejects.toThrow(
        /standby \(.*\) at 10\.201\.5\.12:22 did not answer SSH within 60 s \(Connection timed out during banner exchange\)\. Nothing was run on it/,
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`hung sshd: pulumi up failed after ${seconds.toFixed(1)} s`);
    // The check's 60 s, one 10 s attempt past it, and the program's start.
    expect(seconds).toBeLessThan(100);
    await pair.up();
    expect(pair.outputs["replication"].value).toMatchObject({ state: "streaming" });
  });

  it("a step that hangs on its host is stopped at stepTimeoutSeconds with a clear error", async () => {
    // A hung postmaster: psql to it waits for an answer that never comes.
    const pid = pair
      .shell("primary", `head -n 1 '${pair.node("primary").dataDir}/postmaster.pid'`)
      .trim();
    pair.shell("primary", `kill -STOP ${pid}`);
    const started = Date.now();
    try {
      // A new bound changes every step's command, so every step runs again.
      await pair.set("stepTimeoutSeconds", "15");
      await expect(pair.up()).rejects.toThrow(
        /gpmirror: step mirror-(primary|access) did not finish within 15 s on this host and was stopped/,
      );
    } finally {
      pair.shell("primary", `kill -CONT ${pid}`);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`hung step: pulumi up failed after ${seconds.toFixed(1)} s`);
    expect(seconds).toBeLessThan(60);
    await pair.stack.removeConfig("gpmirror:stepTimeoutSeconds");
    await pair.up();
    expect(pair.outputs["replication"].value).toMatchObject({ state: "streaming" });
  });

  it("kill -9 of the primary under load, synchronous: no acknowledged commit lost, round after round", async () => {
    await pair.set("replication.synchronous", "true");
    await pair.up();
    const rounds = faultRounds();
    const results: { acked: number; missing: number; rtoSeconds: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-faults-"));
      const r = operatorCli("drill", ["--stack", pair.name, "--failback", "--out", out], pair.env);
      try {
        expect(r.stderr).toMatch(/failure injected: kill -9/);
        const summary = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
        const report = JSON.parse(fs.readFileSync(summary.report, "utf8"));
        results.push({
          acked: report.rpo.ackedCommits,
          missing: report.rpo.missingCommits,
          rtoSeconds: report.rtoSeconds,
        });
        expect(report.rpo.ackedCommits).toBeGreaterThan(50);
        expect(report.rpo.missingCommits).toBe(0);
        expect(report.protectedAfter).toBe(true);
        expect(r.code).toBe(0);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
    numbers["synchronousKill"] = {
      rounds,
      ackedCommits: results.reduce((a, x) => a + x.acked, 0),
      ackedLost: results.reduce((a, x) => a + x.missing, 0),
      rtoSeconds: results.map((x) => x.rtoSeconds),
    };
  });

  it("kill -9 of the primary under load, asynchronous: the loss is reported and within the lag seen just before", async () => {
    await pair.set("replication.synchronous", "false");
    await pair.up();
    const rounds = faultRounds();
    const results: Record<string, number>[] = [];
    for (let round = 1; round <= rounds; round++) {
      results.push(await asyncKillRound(`async-${round}`));
    }
    numbers["asynchronousKill"] = {
      rounds,
      ackedCommits: results.reduce((a, x) => a + x.acked, 0),
      ackedLost: results.reduce((a, x) => a + x.missing, 0),
      perRound: results,
    };
  });
});

/**
 * One round: a writer records every acknowledged commit; the status is read; the primary is
 * killed right after; the standby is activated (failover) and re-protected by `pulumi up`.
 * Lost commits must fit in the lag the status showed plus what was acknowledged between the
 * reading and the kill.
 */
async function asyncKillRound(run: string): Promise<Record<string, number>> {
  const access = (await pair.stack.outputs())["operatorAccess"].value as OperatorAccess;
  if (!access.database) throw new Error("no operator login");
  const primaryRole = pair.builtAs(pair.node("primary"));
  const endpoints = access.hosts.map((h) => ({ name: h.name, host: h.address, port: h.dbPort }));
  const writer = new Writer(endpoints, { ...access.database, database: access.database.name }, run);
  await writer.prepare();
  const lsnStart = pair.sql("primary", "SELECT pg_current_wal_lsn()");
  writer.start();
  await sleep(3000);
  const ackedBefore = writer.acks.length;
  const walBytes = Number(
    pair.sql("primary", `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${lsnStart}')`),
  );
  const bytesPerCommit = Math.max(1, walBytes / Math.max(1, ackedBefore));
  const tStatus = writer.now();
  const before = pair.status().report;
  pair.killPostmaster("primary");
  const tKill = writer.now();
  await pair.set("activeMaster", primaryRole === "primary" ? "standby" : "primary");
  await pair.set("activation.mode", "failover");
  await pair.up();
  await sleep(1000);
  await writer.stop();
  const newPrimary = endpoints.find((e) => e.host === pair.node("primary").host);
  if (!newPrimary) throw new Error("no new primary in the outputs");
  const present = await writer.idsOn(newPrimary);
  const missing = writer.acks.filter((a) => !present.has(a.id)).length;
  const between = writer.acks.filter((a) => a.at >= tStatus && a.at <= tKill).length;
  const allowed = Math.ceil((before.lagBytes ?? 0) / bytesPerCommit) + between;
  console.log(
    `${run}: ${missing} of ${writer.acks.length} acknowledged commits lost; lag just before ${before.lagBytes} bytes (~${bytesPerCommit.toFixed(0)} bytes per commit), ${between} acknowledged between the reading and the kill: at most ${allowed} could be lost`,
  );
  expect(missing).toBeLessThanOrEqual(allowed);
  expect(pair.status().code).toBe(0);
  return {
    acked: writer.acks.length,
    missing,
    lagBytesBefore: before.lagBytes ?? 0,
    allowed,
  };
}

/** SHA256 fingerprint of a public key file, or of a public key's text. */
function fingerprint(keyOrFile: string | Buffer): string {
  const r =
    typeof keyOrFile === "string"
      ? spawnSync("ssh-keygen", ["-lf", keyOrFile], { encoding: "utf8" })
      : spawnSync("ssh-keygen", ["-lf", "-"], { input: keyOrFile, encoding: "utf8" });
  return r.stdout.split(" ")[1] ?? "";
}

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
