// The Greenplum step scripts, run with bash against stubs of Greenplum's tools (see
// test/support/greenplumSandbox.ts): what they send and how they judge what comes back.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
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
      `standby STOPPED: its postmaster does not run on vm (the catalog still says status u); pulumi up starts it with gpinitstandby -n. The standby resumes from 0/8000110, ${behind} bytes behind the master; wal_keep_size keeps ${320 * 1048576}, so the master can write about ${320 * 1048576 - behind} more bytes`,
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

  it("needs force for a standby that is not running, then uses -f and removes promote_trigger_file", () => {
    const sb = make("gp7");
    const { standbyDir, env } = standbyHost(sb);
    fs.rmSync(path.join(standbyDir, "postmaster.pid"));
    const refused = sb.run("activate", env);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/needs -f: set activation.force true/);
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
    expect(fs.readFileSync(path.join(ssh, "config"), "utf8")).toMatch(
      /^# BEGIN gpmirror.*\nHost 10\.0\.1\.10 mdw\n {2}Port 22\n {2}ConnectTimeout 10\n/,
    );
    const second = sb.run("trust", trustEnv);
    expect(lastJson(second.stdout)).toMatchObject({
      authorizedKeysChanged: false,
      knownHostsChanged: false,
      sshConfigChanged: false,
    });
    const bad = sb.run("trust", { ...trustEnv, GPM_PEER_HOST_KEYS: "ssh-ed25519 AAAA\nrm -rf /" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/not a public host key/);
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
