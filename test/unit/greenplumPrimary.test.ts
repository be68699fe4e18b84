// The primary step with greenplum.initializeSystem: gpinitsystem on a fresh pair, run by bash
// against stub utilities (test/support/greenplumSandbox.ts). The stub gpinitsystem keeps a
// copy of the config file and host file it was given; ping and ssh record every host they
// were asked about, and `ssh` runs the remote part here, in directories standing for the
// segment hosts. What is checked: the exact input gpinitsystem gets on Greenplum 6, 7 and
// Cloudberry, that a second run does nothing, and that every failure stops with the setting
// and the fix, before anything is created when it can be checked first.
import * as fs from "fs";
import * as path from "path";
import {
  Flavor,
  lastJson,
  makeSandbox,
  removeSandboxes,
  Sandbox,
  VERSION_LINES,
} from "../support/greenplumSandbox";

afterAll(removeSandboxes);

const GPINITSYSTEM_7 = fs.readFileSync(
  path.join(__dirname, "..", "fixtures", "greenplum", "local", "gpinitsystem.out"),
  "utf8",
);

/** A pair with no system yet: no master, two segment hosts with two segments each. */
function fresh(flavor: Flavor) {
  const sb = makeSandbox(flavor);
  const primaryDir = path.join(sb.root, "coordinator", "gpseg-1");
  const segData = path.join(sb.root, "segdata");
  fs.mkdirSync(segData);
  fs.rmSync(path.join(sb.state, "in_recovery")); // nothing accepts connections yet
  fs.writeFileSync(path.join(sb.state, "segments_up"), "4\n");
  const work = path.join(sb.env.HOME, "gpAdminLogs", "gpmirror-gpinitsystem");
  const env = {
    GPM_DATA_DIR: primaryDir,
    GPM_DB_PORT: "7000",
    GPM_SELF_ADDRESS: "10.0.1.10",
    GPM_INITIALIZE_SYSTEM: "true",
    GPM_SEGMENT_HOSTS: "sdw1 sdw2",
    GPM_SEGMENT_DATA_DIR: segData,
    GPM_SEGMENTS_PER_HOST: "2",
    GPM_SEGMENT_PORT_BASE: "6000",
  };
  return { sb, primaryDir, segData, work, env };
}

const seen = (sb: Sandbox, file: string) => fs.readFileSync(path.join(sb.state, file), "utf8");
const hostsAsked = (sb: Sandbox, tool: "ssh" | "ping") =>
  sb.calls(tool).map((c) => c.args.find((a) => /^(sdw\d|10\.0\.1\.10)$/.test(a)));

/** The config file gpinitsystem must get, key by key, per version. */
function expectedConfig(flavor: Flavor, root: string): string {
  const p = flavor === "gp6" ? "MASTER" : "COORDINATOR";
  const seg = path.join(root, "segdata");
  return [
    "# Written by gpmirror's primary step for gpinitsystem -c (segment hosts in -h hostfile).",
    'ARRAY_NAME="gpmirror"',
    "SEG_PREFIX=gpseg",
    "PORT_BASE=6000",
    `declare -a DATA_DIRECTORY=(${seg} ${seg})`,
    `${p}_HOSTNAME=10.0.1.10`,
    `${p}_DIRECTORY=${path.join(root, "coordinator")}`,
    `${p}_PORT=7000`,
    "TRUSTED_SHELL=ssh",
    ...(flavor === "gp6" ? ["CHECK_POINT_SEGMENTS=8"] : []),
    "ENCODING=UNICODE",
    "",
  ].join("\n");
}

describe.each([
  ["gp6", "MASTER_DATA_DIRECTORY"],
  ["gp7", "COORDINATOR_DATA_DIRECTORY"],
  ["cloudberry", "COORDINATOR_DATA_DIRECTORY"],
] as const)("gpinitsystem on a fresh pair, %s", (flavor, dataVar) => {
  it("checks every segment host, then runs gpinitsystem -a -c -h once with the version's keys", () => {
    const { sb, primaryDir, work, env } = fresh(flavor);
    // The new system's control file (a real pg_controldata output), for its identifier.
    fs.copyFileSync(
      path.join(__dirname, "..", "fixtures", "greenplum", "standby_controldata.txt"),
      path.join(sb.state, "controldata"),
    );
    // Greenplum 7.0.0's own output of a successful run (its WARN lines included), captured
    // on the local Greenplum stack; Greenplum 6 and Cloudberry have no capture.
    const real = flavor === "gp7";
    if (real) fs.writeFileSync(path.join(sb.state, "gpinitsystem.out"), GPINITSYSTEM_7);
    const r = sb.run("primary", env);
    // gpmirror's own errors; the real output has an [ERROR] line of its internal gpstop.
    expect(r.stderr).not.toMatch(/\[primary\] ERROR/);
    expect(r.status).toBe(0);
    if (real) expect(r.stderr).toMatch(/gpinitsystem:\S+:gpadmin-\[WARN\]:-Coordinator hostname/);
    const calls = sb.calls("gpinitsystem");
    expect(calls.map((c) => c.args)).toEqual([
      ["-a", "-c", path.join(work, "gpinitsystem_config"), "-h", path.join(work, "hostfile")],
    ]);
    expect(calls[0].pgport).toBe("7000");
    expect(dataVar === "MASTER_DATA_DIRECTORY" ? calls[0].mdd : calls[0].cdd).toBe(primaryDir);
    expect(dataVar === "MASTER_DATA_DIRECTORY" ? calls[0].cdd : calls[0].mdd).toBe("<unset>");
    expect(seen(sb, "gpinitsystem_config.seen")).toBe(expectedConfig(flavor, sb.root));
    expect(seen(sb, "hostfile.seen")).toBe("sdw1\nsdw2\n");
    // gpinitsystem pings every segment host and reaches it over ssh: so did the step, first.
    expect(sb.calls("ping").map((c) => c.args)).toEqual([
      ["-c", "1", "-W", "5", "sdw1"],
      ["-c", "1", "-W", "5", "sdw2"],
    ]);
    expect(hostsAsked(sb, "ssh")).toEqual(["sdw1", "sdw2", "10.0.1.10"]);
    expect(sb.calls("ssh")[0].args).toEqual(
      expect.arrayContaining(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]),
    );
    expect(sb.calls("ssh")[0].args).not.toContain("-p"); // as gpinitsystem: ssh's own port
    expect(lastJson(r.stdout)).toEqual({
      running: true,
      initialized: true,
      started: false,
      dbid: 1,
      hostname: "10.0.1.10",
      segments: 4,
      gpVersion: { gp6: "6.26.4", gp7: "7.0.0", cloudberry: "2.0.0" }[flavor],
      // Kept by gpmirror (on AWS, in the stack) to refuse a new system in its place later.
      systemIdentifier: "7712486893244621282",
    });
    expect(fs.readFileSync(path.join(work, "state"), "utf8")).toMatch(/^done \d{8}T\d{6}Z\n$/);
  });

  it("refuses gpinitsystem where the pair had a system (GPM_EXPECTED_SYSTEM_ID), creating nothing", () => {
    const { sb, primaryDir, env } = fresh(flavor);
    const r = sb.run("primary", { ...env, GPM_EXPECTED_SYSTEM_ID: "7712486893244621282" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(
      /is missing, but this pair had database system 7712486893244621282: refusing to run gpinitsystem.*set aws\.allowNewDatabaseSystem to true/,
    );
    expect(sb.calls("gpinitsystem")).toEqual([]);
    expect(fs.existsSync(primaryDir)).toBe(false);
  });

  it("does nothing on a second run: the system exists, gpinitsystem never runs again", () => {
    const { sb, env } = fresh(flavor);
    expect(sb.run("primary", env).status).toBe(0);
    const before = sb.calls().length;
    const again = sb.run("primary", env);
    expect(again.status).toBe(0);
    expect(lastJson(again.stdout)).toMatchObject({ initialized: false, started: false });
    const after = sb.calls().slice(before);
    expect(after.map((c) => c.tool)).not.toContain("gpinitsystem");
    expect(after.map((c) => c.tool)).not.toContain("ssh");
    expect(sb.calls("gpinitsystem")).toHaveLength(1);
  });
});

// gpinitsystem's output in these cases has no capture (only a successful 7.0.0 run was
// captured, GPINITSYSTEM_7): the lines follow its source (LOG_MSG and ERROR_EXIT of
// gp_bash_functions.sh) and the format of that capture.
const WARNED_6 = [
  "20261126:15:00:01:012345 gpinitsystem:mdw:gpadmin-[WARN]:-Master hostname 10.0.1.10 does not match hostname output",
  "20261126:15:02:10:012345 gpinitsystem:mdw:gpadmin-[INFO]:-Greenplum Database instance successfully created",
].join("\n");
const BACKOUT = "/home/gpadmin/gpAdminLogs/backout_gpinitsystem_gpadmin_20261126_150000";
const FATAL_7 = [
  "20261126:15:01:40:012345 gpinitsystem:cdw:gpadmin-[FATAL]:-Errors generated from parallel processes",
  "20261126:15:01:40:gpinitsystem:cdw:gpadmin-[FATAL]:-Failures detected, see log file /home/gpadmin/gpAdminLogs/gpinitsystem_20261126.log for more detail Script Exiting!",
  `20261126:15:01:40:012345 gpinitsystem:cdw:gpadmin-[WARN]:-Run command bash ${BACKOUT} on coordinator to remove these changes`,
].join("\n");

describe("gpinitsystem's exit code, by version", () => {
  it("Greenplum 6: exit 1 means completed with warnings; the catalog confirms it", () => {
    const { sb, env } = fresh("gp6");
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.out"), WARNED_6);
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.rc"), "1");
    const r = sb.run("primary", env);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/WARNING: gpinitsystem exited 1: Greenplum 6 completed with warnings/);
    expect(r.stderr).toContain("[WARN]:-Master hostname 10.0.1.10 does not match hostname output");
    expect(lastJson(r.stdout)).toMatchObject({ initialized: true });
  });

  it("Greenplum 6: exit 2 is fatal", () => {
    const { sb, env } = fresh("gp6");
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.rc"), "2");
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.fails_early"), "");
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/gpinitsystem failed \(exit 2, fatal for Greenplum 6\.26\.4\)/);
  });

  it("Greenplum 7: exit 1 is fatal (not a warning), even with a master up; then the next run refuses the half-made system", () => {
    const { sb, primaryDir, env } = fresh("gp7");
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.out"), FATAL_7);
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.rc"), "1");
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/gpinitsystem failed \(exit 1, fatal for Greenplum 7\.0\.0\)/);
    expect(r.stderr).toContain(`bash ${BACKOUT} on this host removes it`);
    // The master it left behind is down now; its directory holds a half-made system.
    fs.rmSync(path.join(sb.state, "in_recovery"));
    expect(fs.existsSync(path.join(primaryDir, "PG_VERSION"))).toBe(true);
    const again = sb.run("primary", env);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(
      /gpinitsystem run on this host did not finish \(started \d{8}T\d{6}Z.*half made: run the backout script/,
    );
    expect(sb.calls("gpinitsystem")).toHaveLength(1);
    expect(sb.calls("gpstart")).toHaveLength(0);
  });

  it("Cloudberry: exit 1 is fatal too", () => {
    const { sb, env } = fresh("cloudberry");
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.rc"), "1");
    fs.writeFileSync(path.join(sb.state, "gpinitsystem.fails_early"), "");
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/gpinitsystem failed \(exit 1, fatal for Cloudberry 2\.0\.0\)/);
  });

  it("exit 0 is not enough: the catalog must show every segment up", () => {
    const { sb, env } = fresh("gp7");
    fs.writeFileSync(path.join(sb.state, "segments_up"), "3\n");
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the catalog has 3 primary segments up, not 4 \(2 hosts x 2\)/);
  });
});

describe("failures caught before anything is created (Greenplum 7)", () => {
  /** Nothing made anywhere: no gpinitsystem, no master parent, no state, no segment dir. */
  function expectNothingCreated(sb: Sandbox, primaryDir: string) {
    expect(sb.calls("gpinitsystem")).toHaveLength(0);
    expect(fs.existsSync(path.dirname(primaryDir))).toBe(false);
    expect(fs.existsSync(path.join(sb.env.HOME, "gpAdminLogs", "gpmirror-gpinitsystem"))).toBe(
      false,
    );
  }

  it("a segment host that does not answer ssh", () => {
    const { sb, primaryDir, segData, env } = fresh("gp7");
    fs.rmSync(segData, { recursive: true }); // would be created, but only after every check
    fs.writeFileSync(path.join(sb.state, "unreachable_sdw2"), "");
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /segment host sdw2 does not answer ssh as gpadmin from .* without a password \(exit 255; .*gpssh-exkeys -h sdw2 .*; nothing was created/,
    );
    expectNothingCreated(sb, primaryDir);
    expect(fs.existsSync(segData)).toBe(false);
  });

  it("a segment host that does not answer ping", () => {
    const { sb, primaryDir, env } = fresh("gp7");
    fs.writeFileSync(path.join(sb.state, "noping_sdw1"), "");
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/segment host sdw1 does not answer ping .*allow ICMP/);
    expect(hostsAsked(sb, "ssh")).toEqual([]);
    expectNothingCreated(sb, primaryDir);
  });

  it("segment directories left by an earlier run", () => {
    const { sb, primaryDir, segData, env } = fresh("gp7");
    fs.mkdirSync(path.join(segData, "gpseg1"));
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`segment host sdw1 already has ${path.join(segData, "gpseg1")}`);
    expectNothingCreated(sb, primaryDir);
  });

  it("a segment host with another Greenplum build", () => {
    const { sb, primaryDir, env } = fresh("gp7");
    // The remote side of the stubbed ssh runs here, marked: its postgres is a 6.
    const stub = path.join(sb.root, "gphome", "bin", "postgres");
    fs.writeFileSync(
      stub,
      `#!/usr/bin/env bash\nif [[ -n "\${SSH_STUB_REMOTE:-}" ]]; then echo "${VERSION_LINES.gp6}"; else cat "$STUB_STATE/version"; fi\n`,
    );
    const ssh = path.join(sb.root, "gphome", "bin", "ssh");
    fs.writeFileSync(
      ssh,
      fs
        .readFileSync(ssh, "utf8")
        .replace('exec bash -c "$*"', 'SSH_STUB_REMOTE=1 exec bash -c "$*"'),
    );
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /segment host sdw1 runs 'postgres \(Greenplum Database\) 6\.26\.4.*' but this host runs 'postgres \(Greenplum Database\) 7\.0\.0/,
    );
    expectNothingCreated(sb, primaryDir);
  });

  it("the primary host cannot ssh to its own address (gpinitsystem checks <prefix>_HOSTNAME so)", () => {
    const { sb, primaryDir, env } = fresh("gp7");
    fs.writeFileSync(path.join(sb.state, "unreachable_10.0.1.10"), "");
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /gpinitsystem checks COORDINATOR_HOSTNAME \(10\.0\.1\.10, the primary's address\) by ssh from this host to itself/,
    );
    expectNothingCreated(sb, primaryDir);
  });

  it.each([
    [{ GPM_SEGMENT_HOSTS: "sdw1 sdw2 sdw1" }, /greenplum.segmentHosts names sdw1 more than once/],
    [
      { GPM_DATA_DIR: "/data/coordinator/master" },
      /names the master's directory <prefix>-1 .*ends in 'master'/,
    ],
    [{ GPM_SEGMENT_HOSTS: "sdw1;reboot" }, /GPM_SEGMENT_HOSTS is invalid .*greenplum.segmentHosts/],
    [
      { GPM_SEGMENT_DATA_DIR: "relative/dir" },
      /GPM_SEGMENT_DATA_DIR must be a plain absolute path/,
    ],
  ])("refuses %j", (over, message) => {
    const { sb, env } = fresh("gp7");
    const r = sb.run("primary", { ...env, ...over });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(sb.calls("gpinitsystem")).toHaveLength(0);
    expect(sb.calls("ssh")).toHaveLength(0);
  });

  it("a primary data directory that exists without a system in it", () => {
    const { sb, primaryDir, env } = fresh("gp7");
    fs.mkdirSync(primaryDir, { recursive: true });
    const r = sb.run("primary", env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /exists but holds no Greenplum system \(no PG_VERSION\).*move it aside/,
    );
    expect(sb.calls("gpinitsystem")).toHaveLength(0);
  });
});

describe("the master step without initializeSystem, and a stopped system", () => {
  it("never initializes unless asked: it says which setting would", () => {
    const { sb, env } = fresh("gp7");
    const r = sb.run("primary", { ...env, GPM_INITIALIZE_SYSTEM: "false" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/start it with gpstart -a.*set greenplum.initializeSystem true/);
    expect(sb.calls("gpinitsystem")).toHaveLength(0);
  });

  it("creates a missing segment data directory once every host passed", () => {
    const { sb, segData, env } = fresh("gp7");
    fs.rmSync(segData, { recursive: true });
    const r = sb.run("primary", env);
    expect(r.status).toBe(0);
    expect(fs.statSync(segData).isDirectory()).toBe(true);
  });

  it("starts a system it made earlier that is stopped (gpstart), without gpinitsystem", () => {
    const { sb, primaryDir, env } = fresh("gp7");
    expect(sb.run("primary", env).status).toBe(0);
    fs.rmSync(path.join(sb.state, "in_recovery")); // stopped
    const r = sb.run("primary", env);
    expect(r.status).toBe(0);
    expect(sb.calls("gpstart").map((c) => c.args)).toEqual([["-a", "-d", primaryDir]]);
    expect(sb.calls("gpinitsystem")).toHaveLength(1);
    expect(lastJson(r.stdout)).toMatchObject({ initialized: false, started: true });
  });
});
