// The Greenplum step scripts, run with bash against stubs of Greenplum's tools (see
// test/support/greenplumSandbox.ts): what they send and how they judge what comes back.
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSegmentConfiguration, masterPair } from "../../components/engines/greenplum/parsers";
import {
  fixture,
  lastJson,
  makeSandbox,
  must,
  removeSandboxes,
  REPO,
  Sandbox,
  standbyLogLines,
} from "../support/greenplumSandbox";

/** The real gpinitstandby output of a failed run, from the capture of that case. */
function failedRun(file: string, marker: string): string {
  const text = fixture(file);
  const start = text.indexOf(marker);
  const end = text.indexOf("[exit code:", start);
  return text.slice(text.indexOf("\n", start) + 1, end);
}

/** A primary on 7000 and a standby on 7001 as in the captures, with data directories here. */
function pair(sb: Sandbox) {
  const primaryDir = path.join(sb.root, "coordinator", "gpseg-1");
  const standbyDir = path.join(sb.root, "standby", "gpseg-1");
  fs.mkdirSync(primaryDir, { recursive: true });
  fs.mkdirSync(path.dirname(standbyDir), { recursive: true });
  // The coordinator's real pg_hba.conf after gpinitstandby (identical on the standby).
  fs.writeFileSync(path.join(primaryDir, "pg_hba.conf"), fixture("coord_pg_hba_after.conf"));
  // The catalog rows of the capture, with this sandbox's directories.
  const after = masterPair(parseSegmentConfiguration(fixture("seg_config_after.txt")));
  const p = must(after.primary);
  const s = must(after.standby);
  fs.writeFileSync(
    path.join(sb.state, "primary_row"),
    `${p.dbid}|${p.port}|${primaryDir}|${p.hostname}\n`,
  );
  fs.writeFileSync(
    path.join(sb.state, "standby_row.after"),
    `${s.dbid}|${s.hostname}|${s.address}|${s.port}|${standbyDir}\n`,
  );
  fs.writeFileSync(path.join(sb.state, "gpinitstandby.out"), fixture("gpinitstandby_create.out"));
  fs.writeFileSync(path.join(sb.state, "gpinitstandby.rc"), "0");
  const env = {
    GPM_DATA_DIR: primaryDir,
    GPM_DB_PORT: String(p.port),
    GPM_STANDBY_ADDRESS: s.hostname,
    GPM_STANDBY_PORT: String(s.port),
    GPM_STANDBY_DATA_DIR: standbyDir,
    GPM_TIMEOUT_SECONDS: "2",
  };
  return { primaryDir, standbyDir, env };
}

/** GPMIRROR_PEER_FENCED as gpactivatestandby got it (trust.sh's ssh config reads it). */
function peerFenced(sb: Sandbox): string {
  return fs.readFileSync(path.join(sb.state, "gpactivatestandby.peer_fenced"), "utf8").trim();
}

afterAll(removeSandboxes);
const make = makeSandbox;

describe.each([
  ["gp7", "COORDINATOR_DATA_DIRECTORY"],
  ["cloudberry", "COORDINATOR_DATA_DIRECTORY"],
  ["gp6", "MASTER_DATA_DIRECTORY"],
] as const)("standby step on %s", (flavor, dataVar) => {
  it(`runs gpinitstandby -s -S -P -a on the master with PGPORT and ${dataVar} only`, () => {
    const sb = make(flavor);
    const { primaryDir, standbyDir, env } = pair(sb);
    const r = sb.run("standby", env);
    expect(r.stderr).toContain("Command gppkg not found"); // the real output, shown as progress
    expect(r.status).toBe(0);
    const calls = sb.calls("gpinitstandby");
    expect(calls.map((c) => c.args)).toEqual([["-s", "vm", "-S", standbyDir, "-P", "7001", "-a"]]);
    expect(calls[0].pgport).toBe("7000");
    if (dataVar === "COORDINATOR_DATA_DIRECTORY") {
      expect(calls[0].cdd).toBe(primaryDir);
      expect(calls[0].mdd).toBe("<unset>");
    } else {
      expect(calls[0].mdd).toBe(primaryDir);
      expect(calls[0].cdd).toBe("<unset>");
    }
    expect(lastJson(r.stdout)).toEqual({
      action: "created",
      dbid: 3,
      host: "vm",
      port: 7001,
      dataDir: standbyDir,
      state: "streaming",
      syncState: "sync",
      movedAside: "",
    });
    // Every psql call went to the master's port.
    expect(new Set(sb.calls("psql").map((c) => c.pgport))).toEqual(new Set(["7000"]));
  });
});

describe("standby step decisions (Greenplum 7)", () => {
  it("changes nothing when the registered standby streams", () => {
    const sb = make("gp7");
    const { env } = pair(sb);
    expect(sb.run("standby", env).status).toBe(0);
    const again = sb.run("standby", env);
    expect(again.status).toBe(0);
    expect(lastJson(again.stdout).action).toBe("none");
    expect(sb.calls("gpinitstandby")).toHaveLength(1);
  });

  it("starts a registered, stopped standby with gpinitstandby -n", () => {
    const sb = make("gp7");
    const { env } = pair(sb);
    sb.run("standby", env);
    fs.rmSync(path.join(sb.state, "repl")); // stopped: no walsender
    const r = sb.run("standby", env);
    expect(r.status).toBe(0);
    expect(lastJson(r.stdout).action).toBe("started");
    expect(sb.calls("gpinitstandby").map((c) => c.args)).toContainEqual(["-n", "-a"]);
  });

  it("stops on a leftover data directory unless allowed to move it aside, and never deletes it", () => {
    const sb = make("gp7");
    const { standbyDir, env } = pair(sb);
    fs.mkdirSync(standbyDir);
    fs.writeFileSync(path.join(standbyDir, "PG_VERSION"), "12\n");
    const refused = sb.run("standby", { ...env, GPM_MOVE_ASIDE_LEFTOVER: "false" });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/already exists .*moveAsideLeftoverDataDir/);
    expect(sb.calls("gpinitstandby")).toHaveLength(0);
    const moved = sb.run("standby", { ...env, GPM_MOVE_ASIDE_LEFTOVER: "true" });
    expect(moved.status).toBe(0);
    const dest = lastJson(moved.stdout).movedAside as string;
    expect(dest).toMatch(new RegExp(`^${standbyDir}\\.gpmirror-moved-\\d{8}T\\d{6}Z$`));
    expect(fs.readFileSync(path.join(dest, "PG_VERSION"), "utf8")).toBe("12\n");
  });

  it("judges gpinitstandby by the catalog and explains its real failure", () => {
    const sb = make("gp7");
    const { env } = pair(sb);
    fs.writeFileSync(
      path.join(sb.state, "gpinitstandby.out"),
      failedRun("step5b.out", "$ gpinitstandby -s vm -S /data/standby_empty"),
    );
    fs.writeFileSync(path.join(sb.state, "gpinitstandby.rc"), "2");
    const r = sb.run("standby", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Data directory already exists on host vm");
    expect(r.stderr).toMatch(
      /ERROR: gpinitstandby .* failed \(exit 2\): the standby's data directory already exists/,
    );
  });

  it("refuses to replace a standby registered elsewhere unless allowed, then -r and -s", () => {
    const sb = make("gp7");
    const { standbyDir, env } = pair(sb);
    fs.writeFileSync(path.join(sb.state, "standby_row"), `3|other|other|7001|${standbyDir}\n`);
    const refused = sb.run("standby", env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/registered standby is other:7001 .*allowReplaceStandby/);
    expect(sb.calls("gpinitstandby")).toHaveLength(0);
    const replaced = sb.run("standby", { ...env, GPM_ALLOW_REPLACE_STANDBY: "true" });
    expect(replaced.status).toBe(0);
    expect(sb.calls("gpinitstandby").map((c) => c.args)).toEqual([
      ["-r", "-a"],
      ["-s", "vm", "-S", standbyDir, "-P", "7001", "-a"],
    ]);
    expect(lastJson(replaced.stdout).action).toBe("replaced");
  });

  it("rebuilds a running standby whose log says its WAL was removed, only when allowed", () => {
    const sb = make("gp7");
    const { standbyDir, env } = pair(sb);
    sb.run("standby", env);
    fs.rmSync(path.join(sb.state, "repl"));
    // The standby host: a live postmaster and its real log lines (step3c).
    fs.mkdirSync(path.join(standbyDir, "log"), { recursive: true });
    fs.writeFileSync(path.join(standbyDir, "postmaster.pid"), `${process.pid}\n`);
    fs.writeFileSync(path.join(standbyDir, "log", "gpdb-2026-11-26_142838.csv"), standbyLogLines());
    const refused = sb.run("standby", env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/can never catch up and must be rebuilt.*allowReplaceStandby/);
    const rebuilt = sb.run("standby", { ...env, GPM_ALLOW_REPLACE_STANDBY: "true" });
    expect(rebuilt.stderr).toMatch(/gpinitstandby -r -a/);
    expect(rebuilt.status).toBe(0);
    expect(lastJson(rebuilt.stdout).action).toBe("replaced");
    expect(
      sb
        .calls("gpinitstandby")
        .slice(-2)
        .map((c) => c.args[0]),
    ).toEqual(["-r", "-s"]);
  });
});

describe("verify step", () => {
  it("reports state, lag and WAL headroom from pg_stat_replication", () => {
    const sb = make("gp7");
    const { env } = pair(sb);
    sb.run("standby", env);
    fs.writeFileSync(path.join(sb.state, "gpstate.out"), fixture("gpstate_f_streaming.out"));
    const r = sb.run("verify", env);
    expect(r.status).toBe(0);
    expect(lastJson(r.stdout)).toEqual({
      state: "streaming",
      syncState: "sync",
      sentLsn: "0/C000060",
      flushLsn: "0/C000060",
      replayLsn: "0/C000060",
      replayLagBytes: 0,
      walKeepBytes: 320 * 1024 * 1024,
      walHeadroomBytes: 320 * 1024 * 1024,
      health: "streaming",
      gpstateStandbyStatus: "Standby host passive",
    });
    expect(sb.calls("gpstate").map((c) => c.args)).toEqual([["-f"]]);
  });

  it("says LOST when the standby runs, is absent from pg_stat_replication and its WAL was removed", () => {
    const sb = make("gp7");
    const { standbyDir, env } = pair(sb);
    sb.run("standby", env);
    fs.rmSync(path.join(sb.state, "repl"));
    fs.mkdirSync(path.join(standbyDir, "log"), { recursive: true });
    fs.writeFileSync(path.join(standbyDir, "postmaster.pid"), `${process.pid}\n`);
    fs.writeFileSync(path.join(standbyDir, "log", "gpdb-2026-11-26_142838.csv"), standbyLogLines());
    const r = sb.run("verify", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/standby LOST: .*has already been removed.*must be rebuilt/);
    expect(r.stderr).toMatch(
      /else npm run repair -- --stack <stack>; gpinitstandby -r -a removes the standby and DELETES its data directory/,
    );
  });
});

describe("verify step, standby stopped", () => {
  it("says STOPPED and how much more WAL the master can write before the standby is lost", () => {
    const sb = make("gp7");
    const { standbyDir, env } = pair(sb);
    sb.run("standby", env);
    fs.rmSync(path.join(sb.state, "repl"));
    // The standby's own control file (real pg_controldata of the capture's standby).
    fs.mkdirSync(path.join(standbyDir, "global"), { recursive: true });
    fs.writeFileSync(path.join(standbyDir, "global", "pg_control"), "");
    fs.writeFileSync(path.join(sb.state, "controldata"), fixture("standby_controldata.txt"));
    const r = sb.run("verify", env);
    expect(r.status).toBe(1);
    const behind = 0xc000060 - 0x8000110;
    expect(r.stderr).toContain(
      `standby STOPPED: its postmaster does not run on vm (the catalog still says status u); npm run repair -- --stack <stack> starts it with gpinitstandby -n (a pulumi up with unchanged settings runs nothing). The standby resumes from 0/8000110, ${behind} bytes behind the master; wal_keep_size keeps ${320 * 1048576}, so the master can write about ${320 * 1048576 - behind} more bytes`,
    );
    expect(sb.calls("pg_controldata").map((c) => c.args)).toEqual([[standbyDir]]);
  });
});

describe("access step", () => {
  it.each([
    ["gp7", "wal_keep_size", "1024", "--coordinatoronly"],
    ["gp6", "wal_keep_segments", "16", "--masteronly"],
  ] as const)(
    "%s: gpconfig %s=%s %s and wal_sender_timeout, then gpstop -u",
    (flavor, name, value, flag) => {
      const sb = make(flavor);
      const { env } = pair(sb);
      fs.writeFileSync(path.join(sb.state, `setting_${name}`), flavor === "gp6" ? "5\n" : "320\n");
      fs.writeFileSync(path.join(sb.state, "setting_wal_sender_timeout"), "300000\n");
      // SHOW wal_segment_size on 6: 64MB segments, as Greenplum builds them.
      const psqlStub = path.join(sb.root, "gphome", "bin", "psql");
      fs.writeFileSync(
        psqlStub,
        fs
          .readFileSync(psqlStub, "utf8")
          .replace('case "$sql" in', 'case "$sql" in\n  "SHOW wal_segment_size") echo 64MB ;;'),
      );
      const r = sb.run("access", {
        ...env,
        GPM_WAL_KEEP_SIZE: "1GB",
        GPM_WAL_SENDER_TIMEOUT_SECONDS: "60",
      });
      expect(r.status).toBe(0);
      expect(sb.calls("gpconfig").map((c) => c.args)).toEqual([
        ["-c", name, "-v", value, flag],
        ["-c", "wal_sender_timeout", "-v", "60s", flag],
      ]);
      expect(sb.calls("gpstop").map((c) => c.args)).toEqual([["-u", "-a"]]);
      expect(lastJson(r.stdout)).toMatchObject({
        walKeepSetting: name,
        walSenderTimeoutMs: 60000,
        changed: true,
      });
      const again = sb.run("access", {
        ...env,
        GPM_WAL_KEEP_SIZE: "1GB",
        GPM_WAL_SENDER_TIMEOUT_SECONDS: "60",
      });
      expect(lastJson(again.stdout).changed).toBe(false);
      expect(sb.calls("gpconfig")).toHaveLength(2);
    },
  );
});

describe("activate step (Greenplum 7, on the standby host)", () => {
  const oldPort = String(40000 + (process.pid % 20000));
  const lock = `/tmp/.s.PGSQL.${oldPort}.lock`;
  afterEach(() => fs.rmSync(lock, { force: true }));

  function standbyHost(sb: Sandbox) {
    const { primaryDir, standbyDir } = pair(sb);
    fs.mkdirSync(standbyDir, { recursive: true });
    fs.writeFileSync(path.join(standbyDir, "standby.signal"), "");
    fs.writeFileSync(path.join(standbyDir, "postmaster.pid"), `${process.pid}\n`);
    fs.writeFileSync(
      path.join(standbyDir, "postgresql.auto.conf"),
      fixture("standby_files.txt").split("\n")[1].replace("port=7000", `port=${oldPort}`) + "\n",
    );
    fs.writeFileSync(path.join(standbyDir, "postgresql.conf"), "port=7001\n");
    fs.writeFileSync(path.join(sb.state, "in_recovery"), "t\n");
    fs.writeFileSync(path.join(sb.state, "gpactivatestandby.out"), fixture("step4.out"));
    // After promotion the catalog's primary is the standby (as in step4.out).
    fs.writeFileSync(path.join(sb.state, "primary_row"), `3|7001|${standbyDir}|vm\n`);
    return {
      primaryDir,
      standbyDir,
      env: {
        GPM_DATA_DIR: standbyDir,
        GPM_DB_PORT: "7001",
        GPM_OLD_PRIMARY_ADDRESS: "vm",
        GPM_OLD_PRIMARY_PORT: oldPort,
        GPM_OLD_PRIMARY_DATA_DIR: primaryDir,
        GPM_CLIENT_ENDPOINT: "vm:7001",
      },
    };
  }

  it("reads the old master's host and port from primary_conninfo as the server writes it", () => {
    const sb = make("gp7");
    const { standbyDir, env } = standbyHost(sb);
    // The real 7.0.0 line (standby_files.txt), with a host name that pg_basebackup quotes
    // inside the quoted setting (host=''gpc-a'', as seen on a real cluster).
    const real = fixture("standby_files.txt").split("\n")[1];
    expect(real).toContain(" host=vm port=7000 ");
    const quoted = real
      .replace("host=vm", "host=''gpc-a''")
      .replace("port=7000", `port=${oldPort}`);
    fs.writeFileSync(path.join(standbyDir, "postgresql.auto.conf"), `${quoted}\n`);
    fs.writeFileSync(lock, "999999999\n");
    const r = sb.run("activate", env);
    expect(r.stderr).toContain(`the standby replicates from gpc-a:${oldPort} (primary_conninfo)`);
    expect(r.status).toBe(0);
    // The stale lock of that port was found and removed: the port was read, too.
    expect(fs.existsSync(lock)).toBe(false);
  });

  it("finds nothing to activate on a new pair (no data directory yet)", () => {
    const sb = make("gp7");
    const { env } = standbyHost(sb);
    const r = sb.run("activate", { ...env, GPM_DATA_DIR: path.join(sb.root, "not-yet") });
    expect(r.status).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ promoted: false, skipped: "new pair" });
    expect(sb.calls("ssh")).toHaveLength(0);
    expect(sb.calls("gpactivatestandby")).toHaveLength(0);
  });

  it("refuses when the old host does not answer, without calling gpactivatestandby", () => {
    const sb = make("gp7");
    const { env } = standbyHost(sb);
    fs.writeFileSync(path.join(sb.state, "ssh_unreachable"), "");
    const r = sb.run("activate", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/does not answer over SSH .* not proof/);
    expect(sb.calls("gpactivatestandby")).toHaveLength(0);
    expect(sb.calls("ssh")[0].args).toEqual(
      expect.arrayContaining(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]),
    );
  });

  it("goes ahead on an unreachable host that the platform fenced, with PGPORT of the standby", () => {
    const sb = make("gp7");
    const { standbyDir, env } = standbyHost(sb);
    fs.writeFileSync(path.join(sb.state, "ssh_unreachable"), "");
    const r = sb.run("activate", { ...env, GPM_FENCED_BY_PLATFORM: "true" });
    expect(r.status).toBe(0);
    const calls = sb.calls("gpactivatestandby");
    expect(calls.map((c) => c.args)).toEqual([["-d", standbyDir, "-a"]]);
    expect(calls[0].pgport).toBe("7001");
    expect(calls[0].cdd).toBe(standbyDir);
    expect(lastJson(r.stdout)).toMatchObject({
      promoted: true,
      oldPrimary: "fenced-by-platform",
      oldDataDirMovedTo: "",
      clientEndpoint: "vm:7001",
    });
  });

  it("refuses while the old master's lock belongs to a live process", () => {
    const sb = make("gp7");
    const { env } = standbyHost(sb);
    fs.writeFileSync(lock, `${process.pid}\n`);
    const r = sb.run("activate", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/old master still runs/);
    expect(sb.calls("gpactivatestandby")).toHaveLength(0);
    expect(fs.existsSync(lock)).toBe(true);
  });

  it("removes a crashed master's stale lock only after seeing it gone, then fences its directory", () => {
    const sb = make("gp7");
    const { primaryDir, env } = standbyHost(sb);
    fs.writeFileSync(lock, "999999999\n");
    const r = sb.run("activate", env);
    expect(r.stderr).toMatch(/stale \/tmp\/\.s\.PGSQL\.\d+\.lock/);
    expect(r.status).toBe(0);
    expect(fs.existsSync(lock)).toBe(false);
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({
      promoted: true,
      oldPrimary: "postmaster-gone",
      staleLockRemoved: true,
    });
    expect(out.oldDataDirMovedTo).toMatch(new RegExp(`^${primaryDir}\\.gpmirror-fenced-`));
    expect(fs.existsSync(primaryDir)).toBe(false);
    // Marked as a standby's: started by hand, it comes up in recovery and takes no writes.
    expect(fs.existsSync(path.join(String(out.oldDataDirMovedTo), "standby.signal"))).toBe(true);
    // The old host answered: gpactivatestandby's own ssh to it keeps the full connect timeout.
    expect(peerFenced(sb)).toBe("<unset>");
  });

  it("marks a fenced Greenplum 6 directory with recovery.conf (standby_mode on)", () => {
    const sb = make("gp6");
    const { primaryDir, standbyDir, env } = standbyHost(sb);
    fs.rmSync(path.join(standbyDir, "standby.signal"));
    fs.renameSync(
      path.join(standbyDir, "postgresql.auto.conf"),
      path.join(standbyDir, "recovery.conf"),
    );
    fs.writeFileSync(path.join(primaryDir, "PG_VERSION"), "9.4\n");
    const r = sb.run("activate", env);
    expect(r.status).toBe(0);
    const moved = String(lastJson(r.stdout).oldDataDirMovedTo);
    expect(fs.readFileSync(path.join(moved, "recovery.conf"), "utf8")).toBe("standby_mode = on\n");
    expect(fs.existsSync(path.join(moved, "standby.signal"))).toBe(false);
  });

  it("stops a running old master only when forced, then activates and fences it", () => {
    const sb = make("gp7");
    const { primaryDir, env } = standbyHost(sb);
    const oldMaster = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      fs.writeFileSync(path.join(primaryDir, "postmaster.pid"), `${oldMaster.pid}\n`);
      const refused = sb.run("activate", env);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/old master still runs .*two masters accepting writes/);
      expect(sb.calls("pg_ctl")).toHaveLength(0);
      const forced = sb.run("activate", { ...env, GPM_FORCE: "true" });
      expect(forced.status).toBe(0);
      expect(sb.calls("pg_ctl").map((c) => c.args.slice(0, 4))).toEqual([
        ["stop", "-D", primaryDir, "-m"],
      ]);
      expect(lastJson(forced.stdout)).toMatchObject({
        promoted: true,
        forced: true,
        oldPrimary: "stopped-by-gpmirror",
      });
      expect(sb.calls("gpactivatestandby")).toHaveLength(1);
    } finally {
      oldMaster.kill();
    }
  });

  it("takes a killed old postmaster that is not reaped yet (a zombie) for gone, without force", () => {
    const sb = make("gp7");
    const { primaryDir, env } = standbyHost(sb);
    // The child ends only once its parent has exec'd into `sleep`, which never reaps it (bash
    // itself would reap a child that ended before the exec: no zombie, as seen under load).
    const parent = spawn(
      "bash",
      [
        "-c",
        'p=$$; (while [[ "$(cat /proc/$p/comm)" != sleep ]]; do sleep 0.02; done) & exec sleep 30',
      ],
      { stdio: "ignore" },
    );
    try {
      const zombie = execFileSync("bash", [
        "-c",
        `for i in $(seq 300); do for p in $(pgrep -P ${parent.pid}); do grep -q '^State:.*Z' /proc/$p/status && { echo $p; exit; }; done; sleep 0.1; done; exit 1`,
      ])
        .toString()
        .trim();
      fs.writeFileSync(path.join(primaryDir, "postmaster.pid"), `${zombie}\n`);
      const r = sb.run("activate", env);
      expect(r.status).toBe(0);
      expect(lastJson(r.stdout)).toMatchObject({ promoted: true, oldPrimary: "postmaster-gone" });
    } finally {
      parent.kill();
    }
  });

  it("reports gpactivatestandby's failed ssh localhost at once, not as a stopped standby", () => {
    const sb = make("gp7");
    const { env } = standbyHost(sb);
    // The real 7.0.0 refusal (step4b.out, 4b.5) as it came on a host whose sshd did not
    // listen on localhost: the standby check ran over `ssh localhost` and failed.
    const real = fixture("step4b.out").split("\n");
    const from = real.findIndex((l) => l.includes("4b.5 gpactivatestandby"));
    const refusal = real
      .slice(
        from + 2,
        real.findIndex((l, i) => i > from && l.startsWith("[exit code")),
      )
      .join("\n")
      .replace(
        "Running Command: echo 'START_CMD_OUTPUT';ps -ef",
        "Running Command: ssh -o StrictHostKeyChecking=no -o ServerAliveInterval=60 localhost echo 'START_CMD_OUTPUT';ps -ef",
      )
      .replace("cmd had rc=1", "cmd had rc=255")
      .replace(
        "stderr=''",
        "stderr='ssh: connect to host localhost port 22: Connection refused\n'",
      );
    expect(refusal).toMatch(/Force activation required/);
    fs.writeFileSync(path.join(sb.state, "gpactivatestandby.out"), refusal);
    fs.writeFileSync(path.join(sb.state, "gpactivatestandby.rc"), "2");
    const t0 = Date.now();
    const r = sb.run("activate", env);
    expect(r.status).toBe(1);
    expect(Date.now() - t0).toBeLessThan(15000);
    expect(r.stderr).toMatch(
      /gpactivatestandby refused \(exit 2\) and did not promote .*the utility's own ssh failed.*Make sshd listen on localhost.*\(its ssh said: ssh: connect to host localhost port 22: Connection refused\)/,
    );
    expect(r.stderr).not.toMatch(/standby is not running|needs -f/);
  });

  // The segment fence: one segment host sdw1 (ports 6000 and 7000) in the catalog; its sudo
  // nft is the sandbox's emulation. The old coordinator's address must resolve there.
  const fenced = (sb: Sandbox) => {
    fs.writeFileSync(path.join(sb.state, "segments"), "sdw1|sdw1|6000|p|0\nsdw1|sdw1|7000|m|0\n");
    const rules = path.join(sb.state, "nft_rules.sdw1");
    return () => (fs.existsSync(rules) ? fs.readFileSync(rules, "utf8") : "");
  };

  it("forced with the old master alive: fences the segments before stopping it, lifts once its directory is aside", () => {
    const sb = make("gp7");
    const { env } = standbyHost(sb);
    const rules = fenced(sb);
    const oldMaster = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      fs.writeFileSync(
        path.join(env.GPM_OLD_PRIMARY_DATA_DIR, "postmaster.pid"),
        `${oldMaster.pid}\n`,
      );
      const r = sb.run("activate", {
        ...env,
        GPM_OLD_PRIMARY_ADDRESS: "127.0.0.9",
        GPM_FORCE: "true",
      });
      expect(r.status).toBe(0);
      const order = sb
        .calls()
        .filter((c) => (c.tool === "sudo" && c.args.includes("-f")) || c.tool === "pg_ctl")
        .map((c) => c.tool);
      expect(order).toEqual(["sudo", "pg_ctl"]);
      expect(lastJson(r.stdout)).toMatchObject({
        oldPrimary: "stopped-by-gpmirror",
        segmentFence: { state: "lifted", failed: [], hosts: ["sdw1: nft (lifted)"] },
      });
      expect(lastJson(r.stdout).oldDataDirMovedTo).toMatch(/\.gpmirror-fenced-/);
      expect(r.stderr).toMatch(/sessions ended: sdw1:6000:2,sdw1:7000:2/);
      expect(rules()).toBe("");
    } finally {
      oldMaster.kill();
    }
  });

  /** A forced activation whose old coordinator (127.0.0.9) does not answer; one segment recorded. */
  const unreachableForced = (extra: Record<string, string>) => {
    const sb = make("gp7");
    const { env } = standbyHost(sb);
    fs.mkdirSync(path.join(sb.env.HOME, ".gpmirror"), { recursive: true });
    fs.writeFileSync(path.join(sb.env.HOME, ".gpmirror", "segments"), "sdw1|sdw1|6000|p|0\n");
    fs.writeFileSync(path.join(sb.state, "unreachable_127.0.0.9"), "");
    const r = sb.run("activate", {
      ...env,
      GPM_OLD_PRIMARY_ADDRESS: "127.0.0.9",
      GPM_FORCE: "true",
      ...extra,
    });
    return { sb, env, r };
  };

  it("unreachable and forced: fences the segments from the recorded list, and keeps the fence", () => {
    const { sb, r } = unreachableForced({});
    expect(r.status).toBe(0);
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({
      oldPrimary: "unreachable-forced",
      segmentFence: { state: "kept", hosts: ["sdw1: nft (added)"], failed: [] },
    });
    expect(out.segmentFence.lift).toMatch(
      /stays until the old coordinator on 127\.0\.0\.9 is stopped/,
    );
    expect(out.segmentFence.fencedAt).toBeGreaterThanOrEqual(out.segmentFence.decidedAt);
    expect(r.stderr).toMatch(/NOT FENCED: the old coordinator's host 127\.0\.0\.9 itself/);
    expect(fs.readFileSync(path.join(sb.state, "nft_rules.sdw1"), "utf8")).toContain(
      'ip saddr { 127.0.0.9 } tcp dport { 6000 } reject with tcp reset comment "gpmirror: stale coordinator 127.0.0.9"',
    );
  });

  it("unreachable, forced, and fenced by activation.fenceCommand: that is its proof, and the segments are fenced too", () => {
    const { sb, env, r } = unreachableForced({ GPM_OLD_FENCED_BY: "command" });
    expect(r.status).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({
      promoted: true,
      oldPrimary: "fenced-by-command",
      segmentFence: { state: "kept", hosts: ["sdw1: nft (added)"], failed: [] },
    });
    expect(r.stderr).toMatch(/activation\.fenceCommand has fenced it/);
    expect(r.stderr).not.toMatch(/NOT FENCED: the old coordinator's host/);
    expect(sb.run("activate", { ...env, GPM_OLD_FENCED_BY: "ipmi" }).stderr).toMatch(
      /GPM_OLD_FENCED_BY must be command, lease or empty/,
    );
  });

  it("unreachable and promoted by the failover agent (GPM_OLD_FENCED_BY=lease): the expired lease is its proof, and the segments are fenced first", () => {
    const { sb, r } = unreachableForced({
      GPM_OLD_FENCED_BY: "lease",
      GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS: "1",
    });
    expect(r.status).toBe(0);
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({
      promoted: true,
      forced: true,
      oldPrimary: "fenced-by-lease",
      segmentFence: { state: "kept", hosts: ["sdw1: nft (added)"], failed: [] },
    });
    expect(r.stderr).toMatch(/lost the leader key's lease/);
    // The takeover waits on ssh's connect timeout toward the cut-off host: the agent's, first.
    const toOld = sb.calls("ssh").find((c) => c.args.includes("127.0.0.9"));
    expect(toOld?.args.slice(0, 2)).toEqual(["-o", "ConnectTimeout=1"]);
    // Then gpactivatestandby's own ssh to it (its lock check) fails at once (trust.sh's config).
    expect(peerFenced(sb)).toBe("1");
    expect(r.stderr).not.toMatch(/NOT FENCED: the old coordinator's host/);
  });

  it("heal: a second live coordinator is stopped only when it is known stale, then moved aside and unfenced", () => {
    const sb = make("gp7");
    const { standbyDir, env } = standbyHost(sb);
    const oldDir = env.GPM_OLD_PRIMARY_DATA_DIR;
    const rules = fenced(sb);
    // This host already the master; the other one runs a coordinator without standby.signal,
    // on the same timeline (the sandbox answers both from one WAL file name).
    fs.rmSync(path.join(standbyDir, "standby.signal"));
    fs.writeFileSync(path.join(sb.state, "in_recovery"), "f\n");
    fs.writeFileSync(path.join(sb.state, "walfile"), "000000020000000000000003\n");
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    const healEnv = { ...env, GPM_OLD_PRIMARY_ADDRESS: "127.0.0.9" };
    try {
      fs.writeFileSync(path.join(oldDir, "postmaster.pid"), `${other.pid}\n`);
      const refused = sb.run("activate", healEnv);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(
        /also runs a coordinator as a primary, on the same timeline \(2\) as this host, and the segments are not fenced against it: not telling which is stale/,
      );
      expect(sb.calls("pg_ctl")).toHaveLength(0);
      // Fenced against it (a forced failover left the rule): that one is the stale one.
      fs.writeFileSync(
        path.join(sb.state, "nft_rules.sdw1"),
        '1\tip saddr { 127.0.0.9 } tcp dport { 6000,7000 } reject with tcp reset comment "gpmirror: stale coordinator 127.0.0.9"\n',
      );
      const healed = sb.run("activate", healEnv);
      expect(healed.status).toBe(0);
      expect(healed.stderr).toMatch(
        /same timeline \(2\), and the segments are fenced against it: it is the stale one/,
      );
      expect(sb.calls("pg_ctl").map((c) => c.args.slice(0, 2))).toEqual([["stop", "-D"]]);
      const out = lastJson(healed.stdout);
      expect(out).toMatchObject({
        wasAlreadyPrimary: true,
        staleStopped: true,
        segmentFence: { state: "lifted", failed: [] },
      });
      expect(out.oldDataDirMovedTo).toMatch(new RegExp(`^${oldDir}\\.gpmirror-fenced-`));
      expect(fs.existsSync(oldDir)).toBe(false);
      expect(rules()).toBe("");
      expect(sb.calls("gpactivatestandby")).toHaveLength(0);
    } finally {
      other.kill();
    }
  });

  it("needs force for a standby that is not running, then starts it as a standby and promotes it without -f", () => {
    const sb = make("gp7");
    const { standbyDir, env } = standbyHost(sb);
    fs.rmSync(path.join(standbyDir, "postmaster.pid"));
    const refused = sb.run("activate", env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/needs -f: set activation.force true/);
    expect(sb.calls("pg_ctl")).toEqual([]);
    fs.writeFileSync(path.join(sb.state, "controldata"), fixture("standby_controldata.txt"));
    const forced = sb.run("activate", { ...env, GPM_FORCE: "true" });
    expect(forced.status).toBe(0);
    expect(sb.calls("pg_ctl").map((c) => c.args)).toEqual([
      [
        "start",
        "-W",
        "-D",
        standbyDir,
        "-l",
        `${standbyDir}/log/startup.log`,
        "-o",
        " -c gp_role=dispatch",
      ],
    ]);
    expect(sb.calls("gpactivatestandby").map((c) => c.args)).toEqual([["-d", standbyDir, "-a"]]);
    expect(lastJson(forced.stdout)).toMatchObject({ standbyStarted: true, forced: true });
  });

  it("on Greenplum 6 uses -f for a stopped standby and removes the promote_trigger_file line it leaves", () => {
    const sb = make("gp6");
    const { standbyDir, env } = standbyHost(sb);
    fs.rmSync(path.join(standbyDir, "postmaster.pid"));
    // Greenplum 6's standby marker is recovery.conf, which holds primary_conninfo too.
    fs.rmSync(path.join(standbyDir, "standby.signal"));
    fs.renameSync(
      path.join(standbyDir, "postgresql.auto.conf"),
      path.join(standbyDir, "recovery.conf"),
    );
    fs.appendFileSync(
      path.join(standbyDir, "postgresql.conf"),
      "promote_trigger_file='/x/tmp6ag078o4'\n",
    );
    const forced = sb.run("activate", { ...env, GPM_FORCE: "true" });
    expect(forced.status).toBe(0);
    expect(sb.calls("gpactivatestandby").map((c) => c.args)).toEqual([
      ["-d", standbyDir, "-a", "-f"],
    ]);
    expect(fs.readFileSync(path.join(standbyDir, "postgresql.conf"), "utf8")).toBe("port=7001\n");
    expect(lastJson(forced.stdout)).toMatchObject({ standbyStarted: false, forced: true });
  });
});

describe("environment", () => {
  it("refuses a login that is not the Greenplum administrator", () => {
    const sb = make("gp7");
    const { env } = pair(sb);
    const r = sb.run("verify", { ...env, STUB_USER: "postgres" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/logged in as postgres, but the Greenplum administrator is gpadmin/);
  });

  it("refuses a version hint that does not match postgres --gp-version", () => {
    const sb = make("gp6");
    const { env } = pair(sb);
    const r = sb.run("verify", { ...env, GPM_GP_VERSION_HINT: "7" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /greenplum.version is 7 but this host runs postgres \(Greenplum Database\) 6/,
    );
  });

  it("says where the environment file is missing", () => {
    const sb = make("gp7");
    const { env } = pair(sb);
    const r = sb.run("verify", { ...env, GPM_GPHOME: "/nonexistent/greenplum" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/greenplum_path.sh nor .*cloudberry-env.sh exists/);
  });
});

describe("prepare and trust steps", () => {
  it("prepare reports the version, names and keys; trust installs them idempotently", () => {
    const sb = make("gp7");
    const { env } = pair(sb);
    const hostKeys = path.join(sb.root, "hostkeys");
    fs.mkdirSync(hostKeys);
    fs.writeFileSync(
      path.join(hostKeys, "ssh_host_ed25519_key.pub"),
      "ssh-ed25519 AAAAhostself root@x\n",
    );
    const prep = sb.run("prepare", {
      ...env,
      GPM_ROLE: "standby",
      GPM_SELF_ADDRESS: "10.0.1.20",
      GPM_HOST_KEY_GLOB: path.join(hostKeys, "*_key.pub"),
    });
    expect(prep.status).toBe(0);
    const out = lastJson(prep.stdout);
    expect(out).toMatchObject({
      gpVersion: "7.0.0",
      flavor: "gp7",
      dataDirVar: "COORDINATOR_DATA_DIRECTORY",
      user: "gpadmin",
      hostKeys: "ssh-ed25519 AAAAhostself",
    });
    expect(out.names.split(" ")[0]).toBe("10.0.1.20");
    expect(out.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+$/);
    const trustEnv = {
      GPM_PEER_NAMES: "10.0.1.10 mdw",
      GPM_PEER_SSH_PORT: "22",
      GPM_PEER_PUBLIC_KEY: "ssh-ed25519 AAAApeer",
      GPM_PEER_HOST_KEYS: "ssh-ed25519 AAAAhostpeer\necdsa-sha2-nistp256 AAAAhostpeer2",
      GPM_SELF_NAMES: out.names,
      GPM_HOST_KEY_GLOB: path.join(hostKeys, "*_key.pub"),
      // trust.sh loads no Greenplum environment: the stub ssh comes first on PATH here.
      PATH: `${path.join(sb.env.GPM_GPHOME, "bin")}:${sb.env.PATH}`,
    };
    const first = sb.run("trust", trustEnv);
    expect(first.status).toBe(0);
    expect(lastJson(first.stdout)).toEqual({
      authorizedKeysChanged: true,
      knownHostsChanged: true,
      sshConfigChanged: true,
      peerVerified: false,
    });
    const ssh = path.join(sb.env.HOME, ".ssh");
    expect(fs.readFileSync(path.join(ssh, "authorized_keys"), "utf8")).toContain(
      "ssh-ed25519 AAAApeer gpmirror-peer",
    );
    expect(fs.readFileSync(path.join(ssh, "known_hosts"), "utf8")).toContain(
      "10.0.1.10,mdw ecdsa-sha2-nistp256 AAAAhostpeer2",
    );
    // As the real ssh reads it: 10 s toward the other host; no connection at all where the
    // activate step found it silent and fenced (GPMIRROR_PEER_FENCED); this host's own names
    // keep 10 s either way.
    const fencedEnv = (fenced: boolean) => ({
      PATH: "/usr/bin:/bin",
      ...(fenced ? { GPMIRROR_PEER_FENCED: "1" } : {}),
    });
    const resolved = (host: string, fenced: boolean) => {
      const conf = execFileSync("ssh", ["-F", path.join(ssh, "config"), "-G", host], {
        encoding: "utf8",
        env: fencedEnv(fenced),
      });
      return `${/^connecttimeout (\d+)$/m.exec(conf)?.[1]} ${/^proxycommand (.*)$/m.exec(conf)?.[1] ?? "direct"}`;
    };
    expect(["10.0.1.10", "mdw"].map((h) => resolved(h, false))).toEqual(["10 direct", "10 direct"]);
    expect(["10.0.1.10", "mdw"].map((h) => resolved(h, true))).toEqual(["10 false", "10 false"]);
    expect(["localhost", "10.0.1.20"].map((h) => resolved(h, true))).toEqual([
      "10 direct",
      "10 direct",
    ]);
    // gpactivatestandby's own ssh toward a fenced old host fails at once, as a silent host's
    // would after its timeout (it sends nothing anywhere).
    const started = Date.now();
    const toFenced = spawnSync(
      "ssh",
      ["-F", path.join(ssh, "config"), "-o", "BatchMode=yes", "mdw", "true"],
      { encoding: "utf8", env: fencedEnv(true), timeout: 10_000 },
    );
    expect(toFenced.status).toBe(255);
    expect(Date.now() - started).toBeLessThan(1000);
    const second = sb.run("trust", trustEnv);
    expect(lastJson(second.stdout)).toMatchObject({
      authorizedKeysChanged: false,
      knownHostsChanged: false,
      sshConfigChanged: false,
    });
    // Every ssh the utilities need, without a prompt: localhost and this host's own name on
    // each host; the other host and the way back from it where the peer is verified.
    const targets = sb
      .calls("ssh")
      .map((c) => c.args.filter((a) => !a.startsWith("-") && !a.includes("=")));
    expect(targets.map((t) => t[0])).toEqual([
      "localhost",
      os.hostname(),
      "localhost",
      os.hostname(),
    ]);
    expect(sb.calls("ssh").every((c) => c.args.includes("BatchMode=yes"))).toBe(true);
    const verified = sb.run("trust", { ...trustEnv, GPM_VERIFY_PEER: "true" });
    expect(verified.status).toBe(0);
    expect(lastJson(verified.stdout).peerVerified).toBe(true);
    expect(
      sb
        .calls("ssh")
        .map((c) => c.args.filter((a) => !a.startsWith("-") && !a.includes("="))[0])
        .slice(4),
    ).toEqual([
      "localhost",
      os.hostname(),
      "10.0.1.10",
      "10.0.1.10", // then, on it: ssh back to this host
      out.names.split(" ")[0],
    ]);
    fs.writeFileSync(path.join(sb.state, "refused_localhost"), "");
    const refused = sb.run("trust", trustEnv);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /ssh from \S+ to localhost as gpadmin does not work without a password \(ssh: connect to host localhost port 22: Connection refused\)\. .*gpactivatestandby checks the standby with ssh localhost.*Make sshd listen on localhost/,
    );
    fs.rmSync(path.join(sb.state, "refused_localhost"));
    const bad = sb.run("trust", { ...trustEnv, GPM_PEER_HOST_KEYS: "ssh-ed25519 AAAA\nrm -rf /" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/not a public host key/);
  });

  it("reads primary_conninfo values: bare, quoted by pg_basebackup, escaped", () => {
    const lib = path.join(REPO, "scripts", "remote", "greenplum", "lib.sh");
    const get = (line: string, key: string) =>
      spawnSync("bash", ["-c", '. "$1"; gpm_conninfo_get "$2" "$3"', "x", lib, line, key], {
        encoding: "utf8",
      }).stdout;
    const real = fixture("standby_files.txt").split("\n")[1];
    expect([get(real, "host"), get(real, "port"), get(real, "passfile")]).toEqual([
      "vm",
      "7000",
      "/home/gpadmin/.pgpass",
    ]);
    expect(get(real, "application_name")).toBe("gp_walreceiver");
    expect(get(real.replace("host=vm", "host=''gpc-a''"), "host")).toBe("gpc-a");
    // conninfo escapes \' and \\ inside a quoted value; the setting doubles ' and \ again.
    const escaped = String.raw`primary_conninfo = 'passfile=''/home/o\\''k'' host = ''a\\\\b'' port=7001'`;
    expect([get(escaped, "passfile"), get(escaped, "host"), get(escaped, "port")]).toEqual([
      "/home/o'k",
      "a\\b",
      "7001",
    ]);
    expect(get(real, "sslkey")).toBe("");
  });

  it("prints JSON that survives quotes, backslashes and newlines", () => {
    const lib = path.join(REPO, "scripts", "remote", "greenplum", "lib.sh");
    const value = 'a "quoted" \\path\\ with\nnewline\tand tab';
    const r = spawnSync("bash", ["-c", '. "$1"; gpm_json_str "$2"', "x", lib, value], {
      encoding: "utf8",
    });
    expect(JSON.parse(r.stdout)).toBe(value);
  });
});

describe.each(["gp7", "cloudberry", "gp6"] as const)(
  "access step, operator login on %s",
  (flavor) => {
    const PASSWORD = "s3cr'et pw$(touch /tmp/x)";
    const TAG = "# gpmirror-managed";
    const HBA = fixture("coord_pg_hba_after.conf");

    /** WAL settings already right (so only the login changes), a registered standby. */
    function setup() {
      const sb = make(flavor);
      const { primaryDir, standbyDir, env } = pair(sb);
      const gp6 = flavor === "gp6";
      fs.writeFileSync(
        path.join(sb.state, `setting_${gp6 ? "wal_keep_segments" : "wal_keep_size"}`),
        gp6 ? "16\n" : "1024\n",
      );
      fs.writeFileSync(path.join(sb.state, "setting_wal_sender_timeout"), "60000\n");
      const psqlStub = path.join(sb.root, "gphome", "bin", "psql");
      fs.writeFileSync(
        psqlStub,
        fs
          .readFileSync(psqlStub, "utf8")
          .replace('case "$sql" in', 'case "$sql" in\n  "SHOW wal_segment_size") echo 64MB ;;'),
      );
      if (!gp6) fs.writeFileSync(path.join(sb.state, "has_pg_monitor"), "");
      fs.mkdirSync(standbyDir, { recursive: true });
      fs.writeFileSync(path.join(standbyDir, "pg_hba.conf"), HBA);
      fs.writeFileSync(path.join(sb.state, "standby_row"), `3|vm|vm|7001|${standbyDir}\n`);
      const run = (extra: Record<string, string> = {}) =>
        sb.run("access", {
          ...env,
          GPM_WAL_KEEP_SIZE: "1GB",
          GPM_WAL_SENDER_TIMEOUT_SECONDS: "60",
          GPM_OPERATOR_USER: "gpmirror_operator",
          GPM_OPERATOR_PASSWORD: PASSWORD,
          GPM_OPERATOR_CIDRS: "10.9.0.0/24 fd00:1::/64",
          ...extra,
        });
      const hba = (dir: string) => fs.readFileSync(path.join(dir, "pg_hba.conf"), "utf8");
      return { sb, primaryDir, standbyDir, run, hba };
    }
    const LINES =
      `host all gpmirror_operator 10.9.0.0/24 md5 ${TAG}\n` +
      `host all gpmirror_operator fd00:1::/64 md5 ${TAG}\n`;

    it("creates the role, its database and pg_hba lines on the master and the standby, then gpstop -u", () => {
      const { sb, primaryDir, standbyDir, run, hba } = setup();
      const r = run();
      expect(r.stderr).not.toContain("ERROR");
      expect(r.status).toBe(0);
      const sql = fs.readFileSync(path.join(sb.state, "psql_stdin"), "utf8");
      expect(sql).toContain('CREATE ROLE :"r" LOGIN;');
      expect(sql).toContain('CREATE DATABASE gpmirror_drill OWNER :"r";');
      if (flavor === "gp6") expect(sql).not.toContain("GRANT pg_monitor");
      else expect(sql).toContain('GRANT pg_monitor TO :"r";');
      // The password only on psql's stdin, after log_statement is off, quoted for SQL.
      expect(sql).toContain(
        `SET log_statement = 'none';\nALTER ROLE "gpmirror_operator" PASSWORD 's3cr''et pw$(touch /tmp/x)';`,
      );
      expect(
        sb
          .calls("psql")
          .some(
            (c) =>
              c.args.join(" ") ===
              "-X -q -v ON_ERROR_STOP=1 -At -p 7000 -d postgres -v r=gpmirror_operator",
          ),
      ).toBe(true);
      // Never in argv (every recorded call of every tool), the output, or the files.
      const argv = fs.readFileSync(path.join(sb.state, "calls"), "utf8");
      for (const text of [argv, r.stdout, r.stderr, hba(primaryDir), hba(standbyDir)]) {
        expect(text).not.toContain("s3cr");
      }
      // The tagged lines first, every line of the real file kept after them, on both hosts.
      expect(hba(primaryDir)).toBe(LINES + HBA);
      expect(hba(standbyDir)).toBe(LINES + HBA);
      expect(sb.calls("ssh")).toHaveLength(1);
      expect(sb.calls("gpstop").map((c) => c.args)).toEqual([["-u", "-a"]]);
      expect(lastJson(r.stdout)).toMatchObject({
        changed: false,
        operator: "gpmirror_operator",
        hbaChanged: true,
        standbyHba: "changed",
      });
    });

    it("is idempotent, keeps what gpinitstandby adds later, and removes its lines when the login goes", () => {
      const { sb, primaryDir, standbyDir, run, hba } = setup();
      expect(run().status).toBe(0);
      const again = run();
      expect(again.status).toBe(0);
      expect(lastJson(again.stdout)).toMatchObject({ hbaChanged: false, standbyHba: "unchanged" });
      expect(sb.calls("gpstop")).toHaveLength(1); // no reload when nothing changed
      const sql = fs.readFileSync(path.join(sb.state, "psql_stdin"), "utf8");
      expect(sql.match(/CREATE ROLE/g)).toHaveLength(1);
      expect(sql.match(/CREATE DATABASE/g)).toHaveLength(1);
      expect(sql).toContain('ALTER ROLE :"r" LOGIN;');
      // gpinitstandby inserts its section where the leading comment lines stop: here, at the
      // top, above the tagged lines. A later run keeps it.
      const added =
        "# standby coordinator host ip addresses\nhost\tall\tgpadmin\t10.0.0.7/32\ttrust\n";
      const lines = hba(primaryDir).split(/(?<=\n)/);
      const at = lines.findIndex((l) => !l.trim().startsWith("#"));
      lines.splice(at, 0, added);
      fs.writeFileSync(path.join(primaryDir, "pg_hba.conf"), lines.join(""));
      const third = run();
      expect(third.status).toBe(0);
      expect(hba(primaryDir)).toBe(LINES + added + HBA);
      // Without the login, the tagged lines go from both files; the rest stays.
      const gone = run({
        GPM_OPERATOR_USER: "",
        GPM_OPERATOR_PASSWORD: "",
        GPM_OPERATOR_CIDRS: "",
      });
      expect(gone.status).toBe(0);
      expect(hba(primaryDir)).toBe(added + HBA);
      expect(hba(standbyDir)).toBe(HBA);
    });

    it("goes on without the standby's file when its host does not answer, and says so", () => {
      const { sb, primaryDir, run, hba } = setup();
      fs.writeFileSync(path.join(sb.state, "ssh_unreachable"), "");
      const r = run();
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/standby host vm did not answer over SSH/);
      expect(lastJson(r.stdout).standbyHba).toBe("unreachable");
      expect(hba(primaryDir)).toBe(LINES + HBA);
    });
  },
);

describe.each([
  ["gp7", "pg_wal", "pg_waldump", "COORDINATOR_DATA_DIRECTORY"],
  ["cloudberry", "pg_wal", "pg_waldump", "COORDINATOR_DATA_DIRECTORY"],
  ["gp6", "pg_xlog", "pg_xlogdump", "MASTER_DATA_DIRECTORY"],
] as const)("activate step, switchover on %s", (flavor, walDir, walDump, dataVar) => {
  const oldPort = String(40000 + ((process.pid + 7) % 20000));
  // Greenplum 7.0.0: the old coordinator's control file after its clean stop, the shutdown
  // checkpoint as pg_waldump showed it in the standby's WAL, and the new timeline's .history
  // file, all from one real switchover (test/fixtures/greenplum/local/). Greenplum 6 and
  // Cloudberry: written from the PostgreSQL formats (no build of theirs here).
  const real = flavor === "gp7";
  const CONTROLDATA = real
    ? fixture("local/old_coordinator_controldata_shut_down.txt")
    : fixture("standby_controldata.txt").replace("in archive recovery", "shut down");
  const controlField = (name: string) =>
    new RegExp(`^${name}: +(\\S+)$`, "m").exec(CONTROLDATA)?.[1] ?? "";
  const CHECKPOINT = controlField("Latest checkpoint location");
  const TLI = controlField("Latest checkpoint's TimeLineID");
  const RECORD = real
    ? fixture("local/pg_waldump_checkpoint_shutdown.out")
    : flavor === "gp6"
      ? "rmgr: XLOG        len (rec/tot):     80/   106, tx:          0, lsn: 0/08000060, prev 0/08000028, bkp: 0000, desc: checkpoint: redo 0/8000060; tli 1; prev tli 1; fpw true; xid 0/1074; oid 24576; multi 1; offset 0; oldest xid 621 in DB 1; oldest multi 1 in DB 1; oldest running xid 0; shutdown\n"
      : "rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/08000060, prev 0/08000028, desc: CHECKPOINT_SHUTDOWN redo 0/8000060; tli 1; prev tli 1; fpw true; xid 0:1074; oid 24576; multi 1; offset 0; oldest xid 621 in DB 13719; oldest multi 1 in DB 13720; oldest/newest commit timestamp xid: 0/0; oldest running xid 0; shutdown\n";
  const HISTORY_FILE = `${String(Number(TLI) + 1).padStart(8, "0")}.history`;
  const HISTORY = real
    ? fixture(`local/${HISTORY_FILE}`)
    : "1\t0/80000D8\tno recovery target specified\n";
  const SWITCHPOINT = HISTORY.trim().split("\n").pop()?.split("\t")[1] ?? "";
  let oldMaster: ReturnType<typeof spawn> | undefined;
  afterEach(() => {
    oldMaster?.kill();
    fs.rmSync(`/tmp/.s.PGSQL.${oldPort}.lock`, { force: true });
  });

  /** The standby host streaming from a live old master on the same "host" (ssh runs here). */
  function switchover(opts: { alive?: boolean; streaming?: boolean } = {}) {
    const sb = make(flavor);
    const { primaryDir, standbyDir } = pair(sb);
    fs.mkdirSync(path.join(standbyDir, walDir), { recursive: true });
    fs.writeFileSync(path.join(standbyDir, "postmaster.pid"), `${process.pid}\n`);
    const conninfo = `primary_conninfo = 'user=gpadmin host=vm port=${oldPort} application_name=gp_walreceiver'\n`;
    if (flavor === "gp6") {
      fs.writeFileSync(path.join(standbyDir, "recovery.conf"), `standby_mode = 'on'\n${conninfo}`);
    } else {
      fs.writeFileSync(path.join(standbyDir, "standby.signal"), "");
      fs.writeFileSync(path.join(standbyDir, "postgresql.auto.conf"), conninfo);
    }
    fs.writeFileSync(path.join(standbyDir, "postgresql.conf"), "port=7001\n");
    fs.writeFileSync(path.join(sb.state, "in_recovery"), "t\n");
    fs.writeFileSync(path.join(sb.state, "gpactivatestandby.out"), fixture("step4.out"));
    fs.writeFileSync(path.join(sb.state, "primary_row"), `3|7001|${standbyDir}|vm\n`);
    if (opts.streaming ?? true) fs.writeFileSync(path.join(sb.state, "repl"), "streaming|sync\n");
    if (opts.alive ?? true) {
      oldMaster = spawn("sleep", ["60"], { stdio: "ignore" });
      fs.writeFileSync(path.join(primaryDir, "postmaster.pid"), `${oldMaster.pid}\n`);
    }
    // The old master's control file after its clean stop (the real format, from the capture).
    fs.writeFileSync(path.join(sb.state, "controldata"), CONTROLDATA);
    // The standby has the shutdown checkpoint; promotion starts timeline 2 right after it.
    fs.writeFileSync(path.join(sb.state, "waldump.out"), RECORD);
    fs.writeFileSync(path.join(standbyDir, walDir, HISTORY_FILE), HISTORY);
    const env = {
      GPM_DATA_DIR: standbyDir,
      GPM_DB_PORT: "7001",
      GPM_OLD_PRIMARY_ADDRESS: "vm",
      GPM_OLD_PRIMARY_PORT: oldPort,
      GPM_OLD_PRIMARY_DATA_DIR: primaryDir,
      GPM_ACTIVATION_MODE: "switchover",
      GPM_SWITCHOVER_TIMEOUT_SECONDS: "2",
    };
    return { sb, primaryDir, standbyDir, env };
  }
  const order = (sb: Sandbox) =>
    sb
      .calls()
      .filter((c) => ["gpstop", walDump, "gpactivatestandby", "pg_ctl"].includes(c.tool))
      .map((c) => c.tool)
      .filter((t, i, a) => i === 0 || a[i - 1] !== t);

  it("stops the old coordinator cleanly, waits for its last checkpoint on the standby, then activates and fences", () => {
    const { sb, primaryDir, standbyDir, env } = switchover();
    const r = sb.run("activate", env);
    expect(r.stderr).not.toContain("ERROR");
    expect(r.status).toBe(0);
    expect(order(sb)).toEqual(["gpstop", walDump, "gpactivatestandby"]);
    expect(sb.calls("gpstop").map((c) => c.args)).toEqual([
      ["-a", "-m", "-M", "fast", "-d", primaryDir],
    ]);
    expect(sb.calls(walDump)[0].args).toEqual([
      "-p",
      path.join(standbyDir, walDir),
      "-t",
      TLI,
      "-s",
      CHECKPOINT,
      "-n",
      "1",
    ]);
    const act = sb.calls("gpactivatestandby");
    expect(act.map((c) => c.args)).toEqual([["-d", standbyDir, "-a"]]);
    expect(act[0].pgport).toBe("7001");
    expect(dataVar === "MASTER_DATA_DIRECTORY" ? act[0].mdd : act[0].cdd).toBe(standbyDir);
    expect(sb.calls("pg_ctl")).toHaveLength(0); // gpstop -m sufficed; never an immediate stop
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({
      promoted: true,
      forced: false,
      mode: "switchover",
      oldPrimary: "stopped-for-switchover",
      oldCheckpointLsn: CHECKPOINT,
      switchpoint: SWITCHPOINT,
    });
    expect(out.oldDataDirMovedTo).toMatch(new RegExp(`^${primaryDir}\\.gpmirror-fenced-`));
    expect(fs.existsSync(primaryDir)).toBe(false);
    expect(r.stderr).toMatch(/nothing was lost/);
  });

  it("falls back to pg_ctl stop -m fast when gpstop -m fails", () => {
    const { sb, primaryDir, env } = switchover();
    fs.writeFileSync(path.join(sb.state, "gpstop_m.fails"), "");
    const r = sb.run("activate", env);
    expect(r.status).toBe(0);
    expect(order(sb)).toEqual(["gpstop", "pg_ctl", walDump, "gpactivatestandby"]);
    expect(sb.calls("pg_ctl")[0].args).toEqual([
      "stop",
      "-D",
      primaryDir,
      "-m",
      "fast",
      "-w",
      "-t",
      "120",
    ]);
  });

  it.each([
    ["the old master does not run", { alive: false }, /the old master does not run on vm/],
    [
      "the standby is not streaming",
      { streaming: false },
      /the standby is not streaming from the old master/,
    ],
  ])("refuses when %s, and changes nothing", (_what, opts, why) => {
    const { sb, primaryDir, env } = switchover(opts);
    const r = sb.run("activate", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toMatch(/Use activation.mode failover/);
    expect(sb.calls("gpstop")).toHaveLength(0);
    expect(sb.calls("gpactivatestandby")).toHaveLength(0);
    expect(fs.existsSync(primaryDir)).toBe(true);
  });

  it("refuses when the old host does not answer, when the standby is down, or without the WAL tool", () => {
    const a = switchover();
    fs.writeFileSync(path.join(a.sb.state, "ssh_unreachable"), "");
    const unreachable = a.sb.run("activate", a.env);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(
      /switchover refused: the old master's host vm does not answer/,
    );
    oldMaster?.kill();
    const b = switchover();
    fs.rmSync(path.join(b.standbyDir, "postmaster.pid"));
    const down = b.sb.run("activate", b.env);
    expect(down.stderr).toMatch(/switchover refused: the standby's postmaster does not run/);
    oldMaster?.kill();
    const c = switchover();
    fs.rmSync(path.join(c.sb.root, "gphome", "bin", walDump));
    const noTool = c.sb.run("activate", c.env);
    expect(noTool.stderr).toMatch(new RegExp(`switchover refused: ${walDump} is not on PATH`));
    for (const x of [a, b, c]) {
      expect(x.sb.calls("gpstop")).toHaveLength(0);
      expect(x.sb.calls("gpactivatestandby")).toHaveLength(0);
    }
  });

  it("does not promote when the standby lacks the old master's last checkpoint, and leaves the old directory", () => {
    const { sb, primaryDir, env } = switchover();
    fs.rmSync(path.join(sb.state, "waldump.out"));
    const r = sb.run("activate", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `does not have the old master's shutdown checkpoint ${CHECKPOINT} after 2s.*not promoting.*nothing was promoted`,
      ),
    );
    expect(sb.calls(walDump).length).toBeGreaterThan(1);
    expect(sb.calls("gpactivatestandby")).toHaveLength(0);
    expect(fs.existsSync(primaryDir)).toBe(true);
  });

  it("does not promote when the old master did not stop cleanly", () => {
    const { sb, env } = switchover();
    fs.writeFileSync(
      path.join(sb.state, "controldata"),
      CONTROLDATA.replace("shut down", "in production"),
    );
    const r = sb.run("activate", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/did not stop cleanly \(pg_controldata: in production\)/);
    expect(sb.calls("gpactivatestandby")).toHaveLength(0);
  });
});
