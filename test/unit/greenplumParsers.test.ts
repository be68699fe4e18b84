// The Greenplum engine's readers and error mapping, on real Greenplum 7.0.0 outputs.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { explainFailure, KNOWN_FAILURES } from "../../components/engines/greenplum/errors";
import {
  lsnToBytes,
  masterPair,
  parseGpstateStandby,
  parsePsql,
  parseSegmentConfiguration,
  parseStandbyReplication,
  standbyHealth,
  walAlreadyRemoved,
  walHeadroomBytes,
} from "../../components/engines/greenplum/parsers";
import { namesFor, parseGpVersion } from "../../components/engines/greenplum/versions";

const FIXTURES = path.join(__dirname, "..", "fixtures", "greenplum");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");

/** The commands of a capture file, each with its output and exit code. */
function sections(text: string): { command: string; output: string; exit?: number }[] {
  const out: { command: string; output: string; exit?: number }[] = [];
  for (const line of text.split("\n")) {
    const cmd = /^(?:### )?\$ (.*)$/.exec(line);
    if (cmd) {
      out.push({ command: cmd[1], output: "" });
      continue;
    }
    const cur = out[out.length - 1];
    if (!cur || cur.exit !== undefined) continue;
    const rc = /^\[exit code: (\d+)|^### rc=(\d+)/.exec(line);
    if (rc) cur.exit = Number(rc[1] ?? rc[2]);
    else cur.output += line + "\n";
  }
  return out;
}
/** The first run of a command in a capture; `failed`: the first that exited non-zero. */
const outputOf = (file: string, command: RegExp, failed = false) => {
  const s = sections(fixture(file)).find(
    (x) => command.test(x.command) && (!failed || (x.exit ?? 0) > 0),
  );
  if (!s) throw new Error(`no command ${command} in ${file}`);
  return s;
};

describe("versions", () => {
  it("reads postgres --gp-version of Greenplum 6, 7 and Apache Cloudberry", () => {
    const gp7 = outputOf("step6.out", /gpinitstandby --version/).output.split("\n")[1];
    expect(gp7).toMatch(/^postgres \(Greenplum Database\) 7\.0\.0/);
    expect(parseGpVersion(gp7)).toEqual({ flavor: "gp7", version: "7.0.0", major: 7 });
    expect(
      parseGpVersion("postgres (Greenplum Database) 6.13.0 build commit:4f1adf8e Open Source"),
    ).toEqual({ flavor: "gp6", version: "6.13.0", major: 6 });
    expect(parseGpVersion("postgres (Apache Cloudberry) 2.0.0-incubating build dev")).toEqual({
      flavor: "cloudberry",
      version: "2.0.0",
      major: 2,
    });
    expect(parseGpVersion("postgres (PostgreSQL) 15.4")).toBeUndefined();
    expect(parseGpVersion("postgres (Greenplum Database) 12.12")).toBeUndefined();
  });

  it("names the data directory variable, gpconfig flag and WAL setting per version", () => {
    expect(namesFor("gp6")).toMatchObject({
      dataDirVar: "MASTER_DATA_DIRECTORY",
      coordinatorOnlyFlag: "--masteronly",
      walKeepSetting: "wal_keep_segments",
      standbyMarker: "recovery.conf",
    });
    for (const f of ["gp7", "cloudberry"] as const) {
      expect(namesFor(f)).toMatchObject({
        dataDirVar: "COORDINATOR_DATA_DIRECTORY",
        coordinatorOnlyFlag: "--coordinatoronly",
        walKeepSetting: "wal_keep_size",
        standbyMarker: "standby.signal",
      });
    }
  });
});

describe("gp_segment_configuration", () => {
  it("finds the registered master pair (content -1)", () => {
    const after = masterPair(parseSegmentConfiguration(fixture("seg_config_after.txt")));
    expect(after.primary).toMatchObject({ dbid: 1, role: "p", port: 7000 });
    expect(after.standby).toMatchObject({
      dbid: 3,
      role: "m",
      mode: "s",
      status: "u",
      port: 7001,
      hostname: "vm",
      datadir: "/data/standby/gpseg-1",
    });
    expect(masterPair(parseSegmentConfiguration(fixture("seg_config_before.txt"))).standby).toBe(
      undefined,
    );
  });

  it("still says status u for a standby that can never catch up: the catalog is not the truth", () => {
    const step3c = fixture("step3c.out");
    const table = step3c.slice(step3c.indexOf("### gp_segment_configuration"));
    expect(masterPair(parseSegmentConfiguration(table)).standby).toMatchObject({ status: "u" });
  });

  it("shows the promoted standby as the primary after gpactivatestandby", () => {
    const step4 = fixture("step4.out");
    const table = step4.slice(step4.indexOf("### after activation"));
    const pair = masterPair(parseSegmentConfiguration(table));
    expect(pair.primary).toMatchObject({ dbid: 3, port: 7001, datadir: "/data/standby/gpseg-1" });
    expect(pair.standby).toBeUndefined();
  });
});

describe("replication views", () => {
  it("reads the standby's walsender from gp_stat_replication (expanded and aligned)", () => {
    for (const f of [
      "gp_stat_replication_streaming.txt",
      "gp_stat_replication_streaming_table.txt",
    ]) {
      expect(parseStandbyReplication(fixture(f))).toEqual({
        state: "streaming",
        syncState: "sync",
        sentLsn: "0/C000060",
        flushLsn: "0/C000060",
        replayLsn: "0/C000060",
        clientAddr: "127.0.0.1",
      });
    }
    expect(parseStandbyReplication(fixture("pg_stat_replication_streaming.txt"))?.state).toBe(
      "streaming",
    );
    expect(parseStandbyReplication(fixture("gp_stat_replication_before.txt"))).toBeUndefined();
    expect(parsePsql(fixture("gp_stat_replication_before.txt"))).toEqual([]);
  });

  it("computes LSN positions and the WAL headroom before the standby is lost", () => {
    expect(lsnToBytes("0/C0068E0")).toBe(0xc0068e0n);
    expect(lsnToBytes("1/0")).toBe(1n << 32n);
    const keep = 320n * 1024n * 1024n;
    expect(walHeadroomBytes("0/C000060", "0/C000060", keep)).toBe(keep);
    // step3b: the standby stopped at 0/C0292A0 while the master wrote up to 0/2C0000E8.
    expect(walHeadroomBytes("0/2C0000E8", "0/C0292A0", keep) < 0n).toBe(true);
  });
});

describe("gpstate -f", () => {
  it("reads the standby details and the WAL sender state", () => {
    expect(parseGpstateStandby(fixture("gpstate_f_streaming.out"))).toEqual({
      configured: true,
      address: "vm",
      dataDir: "/data/standby/gpseg-1",
      port: 7001,
      pid: 31275,
      status: "Standby host passive",
      walSenderState: "streaming",
      syncState: "sync",
      sentLocation: "0/C0068E0",
      flushLocation: "0/C0068E0",
      replayLocation: "0/C0068E0",
    });
  });

  it("says 'Standby host passive' with no WAL sender for a broken standby, and not configured after activation", () => {
    const broken = parseGpstateStandby(fixture("step3c.out"));
    expect(broken).toMatchObject({ configured: true, status: "Standby host passive" });
    expect(broken.walSenderState).toBeUndefined();
    const after = outputOf("step4.out", /^gpstate -f$/).output;
    expect(parseGpstateStandby(after)).toEqual({ configured: false });
  });
});

describe("standby health", () => {
  it("sees a standby past wal_keep_size as lost from its log, though catalog and gpstate look fine", () => {
    const logs = fixture("step3b.out");
    expect(walAlreadyRemoved(logs)).toBe(true);
    expect(walAlreadyRemoved(fixture("gpinitstandby_create.out"))).toBe(false);
    const streaming = parseStandbyReplication(fixture("gp_stat_replication_streaming.txt"));
    expect(
      standbyHealth({
        registered: true,
        replication: streaming,
        postmasterRunning: true,
        standbyLog: "",
      }),
    ).toBe("streaming");
    expect(standbyHealth({ registered: true, postmasterRunning: true, standbyLog: logs })).toBe(
      "lost",
    );
    expect(standbyHealth({ registered: true, postmasterRunning: true, standbyLog: "" })).toBe(
      "broken",
    );
    expect(standbyHealth({ registered: true, postmasterRunning: false, standbyLog: "" })).toBe(
      "stopped",
    );
    expect(standbyHealth({ registered: false, postmasterRunning: false, standbyLog: "" })).toBe(
      "not-configured",
    );
  });
});

// Each known failure, on the utility's real output, and the same answer from lib.sh.
const CASES: [string, RegExp, string][] = [
  ["step5a.out", /gpinitstandby -s vm -S \/data\/standby2/, "standby-already-configured"],
  [
    "step5a.out",
    /^env PGPORT=7001 gpactivatestandby -d \/data\/standby\/gpseg-1 -a$/,
    "active-postgres-on-coordinator",
  ],
  ["step5a.out", /^gpinitstandby -r -a$/, "no-standby-configured"],
  ["step5b.out", /standby_empty/, "data-directory-exists"],
  ["step5a.out", /no_such_parent/, "parent-directory-missing"],
  ["step5b.out", /-S \/data\/standby\/gpseg-1b -P 7000/, "same-host-and-port"],
  ["step5a.out", /^gpinitstandby -n -a$/, "no-standby-configured"],
  [
    "step4b.out",
    /^gpactivatestandby -d \/data\/coordinator\/gpseg-1 -a$/,
    "active-postgres-on-coordinator",
  ],
  ["step6.out", /PGPORT=7000 gpstate -f$/, "environment-not-loaded"],
  ["step6.out", /PATH=\/usr\/local\/greenplum-db\/bin.*gpstate -f/, "environment-not-loaded"],
  ["step6.out", /gpactivatestandby -d \/data\/standby\/gpseg-1 -a$/, "pgport-not-set"],
  [
    "step6.out",
    /MASTER_DATA_DIRECTORY=\/data\/coordinator\/gpseg-1 gpinitstandby -n -a/,
    "master-not-reachable",
  ],
  ["step14.out", /gpinitstandby -s nosuchhost/, "standby-host-unreachable"],
];

function bashExplain(output: string): string {
  const lib = path.join(__dirname, "..", "..", "scripts", "remote", "greenplum", "lib.sh");
  try {
    return execFileSync("bash", ["-c", `. "$1"; gpm_gp_explain "$2"`, "x", lib, output], {
      encoding: "utf8",
    });
  } catch {
    return "";
  }
}

describe("error mapping", () => {
  it.each(CASES)("%s %s -> %s", (file, command, id) => {
    const s = outputOf(file, command, true);
    expect(s.exit).toBeGreaterThan(0);
    const failure = explainFailure(s.output);
    expect(failure?.id).toBe(id);
    expect(bashExplain(s.output)).toBe(failure?.message);
  });

  it("finds 'force activation required' in the step where the lock was removed", () => {
    const s = sections(fixture("step4b.out")).filter((x) =>
      /^gpactivatestandby -d \/data\/coordinator\/gpseg-1 -a$/.test(x.command),
    );
    expect(s[s.length - 1].output).toMatch(/Force activation required/);
    expect(explainFailure(s[s.length - 1].output)?.id).toBe("force-activation-required");
  });

  it("does not call a successful gpinitstandby a failure for its CRITICAL gppkg line", () => {
    const ok = fixture("gpinitstandby_create.out");
    expect(ok).toMatch(/\[CRITICAL\]:-Command gppkg not found/);
    expect(explainFailure(ok)).toBeUndefined();
    expect(bashExplain(ok)).toBe("");
  });

  it("keeps the TypeScript and bash tables the same length", () => {
    const lib = fs.readFileSync(
      path.join(__dirname, "..", "..", "scripts", "remote", "greenplum", "lib.sh"),
      "utf8",
    );
    for (const f of KNOWN_FAILURES) expect(lib).toContain(f.message);
  });
});

// No capture holds these failures (every capture ran on one host, so no segment host was ever
// away, and no capture ran gpinitsystem). Their texts come from the utilities' source
// (gpinitstandby print_summary; gpinitsystem and gp_bash_functions.sh), in the utilities' log
// line format; errors.ts says so beside each pattern.
const FROM_SOURCE: [string, string][] = [
  [
    "20261126:15:00:00:012345 gpinitstandby:cdw:gpadmin-[WARNING]:-One or more segment hosts are not currently reachable: sdw2",
    "segment-hosts-unreachable",
  ],
  [
    "20261126:15:00:00:012345 gpinitstandby:cdw:gpadmin-[ERROR]:-Error initializing standby coordinator: Unable to proceed while one or more hosts are unreachable",
    "segment-hosts-unreachable",
  ],
  [
    "20261126:15:00:00:gpinitsystem:cdw:gpadmin-[FATAL]:-Unable to contact sdw2 Script Exiting!",
    "gpinitsystem-host-unreachable",
  ],
  [
    "20261126:15:00:00:gpinitsystem:cdw:gpadmin-[FATAL]:-Unknown host sdw9 Script Exiting!",
    "gpinitsystem-host-unreachable",
  ],
  [
    "20261126:15:00:00:gpinitsystem:cdw:gpadmin-[FATAL]:-Unable to get hostname output for sdw2 Script Exiting!",
    "gpinitsystem-host-unreachable",
  ],
  [
    "20261126:15:00:00:gpinitsystem:cdw:gpadmin-[FATAL]:-Instance directory /data/primary/gpseg0 exists on segment instance sdw1 Script Exiting!",
    "gpinitsystem-directory-exists",
  ],
  [
    "20261126:15:00:00:gpinitsystem:cdw:gpadmin-[FATAL]:-Coordinator host data directory /data/coordinator/gpseg-1 already exists Script Exiting!",
    "gpinitsystem-directory-exists",
  ],
  [
    "20261126:15:00:00:gpinitsystem:mdw:gpadmin-[FATAL]:-Master host data directory /data/master/gpseg-1 already exists Script Exiting!",
    "gpinitsystem-directory-exists",
  ],
];
const SOURCE_ONLY = new Set(FROM_SOURCE.map(([, id]) => id));

describe("error mapping of failures known from the utilities' source only", () => {
  it.each(FROM_SOURCE)("%s -> %s", (line, id) => {
    expect(explainFailure(line)?.id).toBe(id);
    expect(bashExplain(line)).toBe(explainFailure(line)?.message);
  });

  it("takes no real output of any capture for one of them", () => {
    const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".out"));
    expect(files.length).toBeGreaterThan(10);
    let checked = 0;
    for (const f of files) {
      for (const s of sections(fixture(f))) {
        checked++;
        const id = explainFailure(s.output)?.id;
        if (id !== undefined)
          expect([f, s.command, SOURCE_ONLY.has(id)]).toEqual([f, s.command, false]);
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it("does not call every line with 'unreachable' in it a segment host failure", () => {
    // The earlier guess matched the bare word, so any text holding it was taken for this.
    expect(explainFailure("the old coordinator host is unreachable")).toBeUndefined();
    expect(bashExplain("the old coordinator host is unreachable")).toBe("");
  });
});
