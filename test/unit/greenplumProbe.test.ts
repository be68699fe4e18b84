// The Greenplum probe (scripts/remote/greenplum/probe.sh) run by bash against stub utilities
// whose answers come from the real Greenplum 7.0.0 captures (test/fixtures/greenplum), and
// the status (components/operator/status.ts) judging the probes it prints: the catalog says
// what is registered, pg_stat_replication what streams, the standby's own control file and
// log where it resumes and whether it can ever catch up.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  lsnToBytes,
  masterPair,
  parsePsql,
  parseSegmentConfiguration,
} from "../../components/engines/greenplum/parsers";
import { GreenplumFlavor, namesFor } from "../../components/engines/greenplum/versions";
import { Probe } from "../../components/operator/probe";
import {
  evaluate,
  EXIT,
  exitCode,
  formatReport,
  HostView,
  StatusReport,
} from "../../components/operator/status";
import {
  Flavor,
  fixture,
  lastJson,
  makeSandbox,
  must,
  REPO,
  removeSandboxes,
  Sandbox,
  standbyLogLines,
} from "../support/greenplumSandbox";

afterAll(removeSandboxes);

const MiB = 1024 * 1024;
const CUR = "0/C000060"; // the coordinator's position in the streaming capture
/** The WAL file of CUR on timeline 1 (64 MB segments; step3c names 000000010000000000000003). */
const WALFILE = "000000010000000000000003";

/** psql's interval text (00:00:00.199134) in seconds. */
function seconds(interval: string): number {
  const [h, m, s] = interval.split(":").map(Number);
  return h * 3600 + m * 60 + s;
}

/** The coordinator's walsender row as the probe's query returns it, from the capture. */
function walsenderRow(): string {
  const r = must(parsePsql(fixture("pg_stat_replication_streaming.txt"))[0]);
  const lag = lsnToBytes(CUR) - lsnToBytes(r["replay_lsn"]);
  // The reply age (now - reply_time) depends on when the query runs: the one value not taken
  // from the capture.
  return `${r["application_name"]}|${r["state"]}|${r["sync_state"]}|${r["sent_lsn"]}|${r["replay_lsn"]}|${lag}|${seconds(r["replay_lag"])}|2.5\n`;
}

/** The catalog's standby row as the probe's query returns it (seg_config_after.txt). */
function registeredRow(): string {
  const s = must(masterPair(parseSegmentConfiguration(fixture("seg_config_after.txt"))).standby);
  return `${s.hostname}|${s.address}|${s.port}|${s.datadir}|${s.status}\n`;
}

interface PrimaryOptions {
  streaming?: boolean;
  registered?: boolean;
  currentLsn?: string;
  /** The standby's address as this host's pair knows it (the catalog says vm). */
  peerAddress?: string;
}

/** The coordinator's host (capture: port 7000); its peer, the standby's host, is "smdw". */
function primaryHost(flavor: Flavor, o: PrimaryOptions = {}) {
  const sb = makeSandbox(flavor);
  const dataDir = path.join(sb.root, "coordinator", "gpseg-1");
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, "PG_VERSION"), "12\n");
  fs.writeFileSync(path.join(dataDir, "postmaster.pid"), `${process.pid}\n`);
  fs.writeFileSync(path.join(sb.state, "walfile"), `${WALFILE}\n`);
  fs.writeFileSync(path.join(sb.state, "current_lsn"), `${o.currentLsn ?? CUR}\n`);
  if (o.streaming ?? true) fs.writeFileSync(path.join(sb.state, "repl_rows"), walsenderRow());
  if (o.registered ?? true)
    fs.writeFileSync(path.join(sb.state, "registered_row"), registeredRow());
  const env = {
    GPM_DATA_DIR: dataDir,
    GPM_DB_PORT: "7000",
    GPM_PEER_NAME: "smdw",
    GPM_PEER_ADDRESS: o.peerAddress ?? "vm",
  };
  return { sb, env };
}

/** The standby's host (capture: port 7001): it refuses connections (hot_standby off). */
function standbyHost(o: { running?: boolean; lostLog?: boolean } = {}) {
  const sb = makeSandbox("gp7");
  const dataDir = path.join(sb.root, "standby", "gpseg-1");
  fs.mkdirSync(path.join(dataDir, "global"), { recursive: true });
  fs.mkdirSync(path.join(dataDir, "log"));
  fs.writeFileSync(path.join(dataDir, "PG_VERSION"), "12\n");
  fs.writeFileSync(path.join(dataDir, "standby.signal"), "");
  fs.writeFileSync(path.join(dataDir, "global", "pg_control"), "");
  if (o.running ?? true) fs.writeFileSync(path.join(dataDir, "postmaster.pid"), `${process.pid}\n`);
  fs.writeFileSync(
    path.join(dataDir, "log", "gpdb-2026-11-26_142838.csv"),
    o.lostLog ? standbyLogLines() : "",
  );
  fs.rmSync(path.join(sb.state, "in_recovery")); // psql: "the database system is in recovery mode"
  fs.writeFileSync(path.join(sb.state, "controldata"), fixture("standby_controldata.txt"));
  const env = {
    GPM_DATA_DIR: dataDir,
    GPM_DB_PORT: "7001",
    GPM_PEER_NAME: "mdw",
    GPM_PEER_ADDRESS: "vm",
  };
  return { sb, env, dataDir };
}

function probe(sb: Sandbox, env: Record<string, string>): Probe {
  const r = sb.run("probe", env);
  if (r.status !== 0) throw new Error(`probe.sh failed: ${r.stderr}`);
  return lastJson(r.stdout) as Probe;
}

const view = (name: string, p: Probe | { error: string }): HostView => ({
  name,
  address: name === "mdw" ? "10.0.1.10" : "10.0.1.20",
  probe: p,
});

describe("probe.sh on the coordinator's host", () => {
  it.each(["gp7", "cloudberry"] as const)(
    "%s: reads the walsender, the catalog's standby and wal_keep_size",
    (flavor) => {
      const { sb, env } = primaryHost(flavor);
      const p = probe(sb, env);
      expect(p).toEqual({
        dataDir: true,
        running: true,
        acceptsConnections: true,
        inRecovery: false,
        fenced: false,
        timeline: 1,
        currentLsn: "0/C000060",
        receiveLsn: null,
        replayLsn: null,
        replayAgeSeconds: null,
        walReceiver: null,
        replication: [
          {
            // gp_walreceiver, reported under the peer's name: the catalog registers it there.
            applicationName: "smdw",
            state: "streaming",
            syncState: "sync",
            sentLsn: "0/C000060",
            replayLsn: "0/C000060",
            lagBytes: 0,
            replayLagSeconds: 0.199134,
            replyAgeSeconds: 2.5,
          },
        ],
        slot: null,
        synchronousStandbyNames: "",
        walKeepBytes: 320 * MiB,
        registeredStandby: {
          hostname: "vm",
          address: "vm",
          port: 7001,
          dataDir: "/data/standby/gpseg-1",
          status: "u",
        },
        gpVersion: flavor === "gp7" ? "7.0.0" : "2.0.0",
      });
      const sql = sb
        .calls("psql")
        .map((c) => c.args.join(" "))
        .join("\n");
      expect(sql).toContain("pg_walfile_name(pg_current_wal_lsn())");
      expect(sql).toContain("extract(epoch FROM replay_lag)");
      expect(new Set(sb.calls("psql").map((c) => c.pgport))).toEqual(new Set(["7000"]));
    },
  );

  it("gp6: 9.4 names, no lag columns, and wal_keep_segments times the segment size it reports", () => {
    const { sb, env } = primaryHost("gp6");
    fs.writeFileSync(path.join(sb.state, "wal_keep"), "5\n");
    fs.writeFileSync(path.join(sb.state, "wal_segment_bytes"), `${64 * MiB}\n`);
    const p = probe(sb, env);
    expect(p.walKeepBytes).toBe(5 * 64 * MiB);
    const sql = sb
      .calls("psql")
      .map((c) => c.args.join(" "))
      .join("\n");
    expect(sql).toContain("pg_xlogfile_name(pg_current_xlog_location())");
    expect(sql).toContain("sent_location, replay_location");
    expect(sql).toContain("pg_xlog_location_diff(pg_current_xlog_location(), replay_location)");
    expect(sql).not.toContain("replay_lag");
    expect(sql).toContain("name = 'wal_keep_segments'");
    expect(sb.calls("psql")[0].mdd).toBe(env.GPM_DATA_DIR);
  });

  it("keeps gp_walreceiver's own name when the catalog registers the standby elsewhere", () => {
    const { sb, env } = primaryHost("gp7", { peerAddress: "10.0.1.20" });
    expect(probe(sb, env).replication.map((r) => r.applicationName)).toEqual(["gp_walreceiver"]);
  });
});

describe("probe.sh on the standby's host", () => {
  it("is a standby by its marker file: it refuses connections, its control file says where it resumes", () => {
    const { sb, env, dataDir } = standbyHost();
    expect(probe(sb, env)).toEqual({
      dataDir: true,
      running: true,
      acceptsConnections: false,
      inRecovery: true,
      fenced: false,
      timeline: 1,
      currentLsn: null,
      receiveLsn: null,
      replayLsn: null,
      replayAgeSeconds: null,
      walReceiver: null,
      replication: [],
      slot: null,
      resumeLsn: "0/8000110", // Minimum recovery ending location (standby_controldata.txt)
      walRemoved: false,
      gpVersion: "7.0.0",
    });
    expect(sb.calls("pg_controldata").map((c) => c.args)).toContainEqual([dataDir]);
  });

  it("says walRemoved when its log has the real 'has already been removed' lines (step3c)", () => {
    const { sb, env } = standbyHost({ lostLog: true });
    expect(probe(sb, env)).toMatchObject({ running: true, walRemoved: true });
  });

  it("is fenced when its directory was moved aside by an activation", () => {
    const { sb, env, dataDir } = standbyHost({ running: false });
    fs.renameSync(dataDir, `${dataDir}.gpmirror-fenced-20261126T150000Z`);
    expect(probe(sb, env)).toMatchObject({ dataDir: false, running: false, fenced: true });
  });
});

describe("status of a Greenplum pair, from the probes above", () => {
  function status(o: PrimaryOptions, s: { running?: boolean; lostLog?: boolean } | "away") {
    const p = primaryHost("gp7", o);
    const standby =
      s === "away"
        ? { error: "smdw (10.0.1.20): cannot connect" }
        : (() => {
            const h = standbyHost(s);
            return probe(h.sb, h.env);
          })();
    return evaluate(view("mdw", probe(p.sb, p.env)), view("smdw", standby));
  }
  const keep = 320 * MiB;
  const behindStopped = 0xc000060 - 0x8000110; // CUR minus where the standby resumes

  it("is protected while the standby streams: lag, sync state, and WAL headroom from wal_keep_size", () => {
    const r = status({}, {});
    expect(r).toMatchObject({
      primary: "mdw",
      standby: "smdw",
      protected: true,
      state: "streaming",
      syncState: "sync",
      lagBytes: 0,
      lagSeconds: 0.199134,
      retainedWalBytes: keep,
      safeWalBytes: keep,
      walKeepBytes: keep,
      canCatchUp: true,
      problems: [],
    });
    expect(r.hosts.map((h) => h.role)).toEqual(["primary", "standby"]);
    expect(exitCode(r)).toBe(EXIT.ok);
    expect(formatReport(r)).toContain(`WAL before the standby is lost ${keep} bytes`);
  });

  it("is unprotected when the registered standby (status u) is stopped, and says how much more WAL the primary can write", () => {
    const r = status({ streaming: false }, { running: false });
    expect(r.protected).toBe(false);
    expect(r.hosts.map((h) => h.role)).toEqual(["primary", "stopped"]);
    expect(r.problems.join("\n")).toMatch(
      /registers vm:7001 as the standby \(status u\), but it is absent from pg_stat_replication.*npm run repair -- --stack <stack> starts a stopped one \(gpinitstandby -n\)/,
    );
    expect(r.safeWalBytes).toBe(keep - behindStopped);
    expect(r.canCatchUp).toBe(true);
    expect(exitCode(r)).toBe(EXIT.unprotected);
  });

  it("says a running standby whose log shows removed WAL can never catch up", () => {
    const r = status({ streaming: false }, { lostLog: true });
    expect(r.hosts.map((h) => h.role)).toEqual(["primary", "standby"]);
    expect(r.canCatchUp).toBe(false);
    expect(r.problems.join("\n")).toMatch(/can never catch up and must be rebuilt/);
    // The true fix: a pulumi up with unchanged settings runs nothing, and Greenplum's rebuild
    // deletes the standby's directory (no .lost-<time> copy as on PostgreSQL).
    expect(r.problems.join("\n")).toMatch(
      /allowReplaceStandby true, then npm run repair -- --stack <stack>: gpinitstandby -r -a removes it and DELETES its data directory/,
    );
    expect(r.problems.join("\n")).not.toMatch(/pulumi up (does|creates)|\.lost-/);
    expect(formatReport(r)).toMatch(/can catch up NO/);
    expect(exitCode(r)).toBe(EXIT.unprotected);
  });

  it("warns once the primary has written more than wal_keep_size since the standby's resume point", () => {
    const r = status({ streaming: false, currentLsn: "0/30000000" }, { running: false });
    expect(r.safeWalBytes).toBe(keep - (0x30000000 - 0x8000110));
    expect(r.problems.join("\n")).toMatch(/further behind than the primary's WAL retention/);
    // A negative headroom: the WAL the standby resumes from is past the retention (seen on a
    // real 7.0.0 beside "can catch up yes"): it cannot be counted on to catch up.
    expect(r.canCatchUp).toBe(false);
    expect(formatReport(r)).toMatch(/can catch up NO/);
    expect(formatReport(r)).not.toMatch(/can catch up yes/);
  });

  it("does not know the headroom when the standby's host does not answer, and says so", () => {
    const r = status({ streaming: false }, "away");
    expect(r.safeWalBytes).toBeNull();
    expect(r.hosts[1].role).toBe("unreachable");
    expect(formatReport(r)).toContain(
      "WAL before the standby is lost unknown (the standby's position could not be read)",
    );
  });

  it("says when no standby is registered at all", () => {
    const r = status({ streaming: false, registered: false }, { running: false });
    expect(r.problems.join("\n")).toMatch(
      /no standby is registered in gp_segment_configuration on mdw: npm run repair -- --stack <stack> creates it/,
    );
    expect(r.problems.join("\n")).not.toMatch(/pulumi up/);
    expect(exitCode(r)).toBe(EXIT.unprotected);
  });

  it("after an activation: the new coordinator on the old standby's host, the old one fenced", () => {
    const oldHost = standbyHost({ running: false });
    fs.renameSync(oldHost.dataDir, `${oldHost.dataDir}.gpmirror-fenced-20261126T150000Z`);
    const p = primaryHost("gp7", { streaming: false, registered: false });
    const r: StatusReport = evaluate(
      view("mdw", probe(oldHost.sb, oldHost.env)),
      view("smdw", probe(p.sb, p.env)),
    );
    expect(r.primary).toBe("smdw");
    expect(r.hosts.map((h) => h.role)).toEqual(["fenced (moved aside)", "primary"]);
    expect(r.protected).toBe(false);
  });
});

describe("lib.sh and versions.ts name the same things per version", () => {
  it.each(["gp6", "gp7", "cloudberry"] as const)("%s", (flavor: GreenplumFlavor) => {
    const lib = path.join(REPO, "scripts", "remote", "greenplum", "lib.sh");
    const out = execFileSync(
      "bash",
      [
        "-c",
        '. "$1"; gpm_gp_names "$2"; printf "%s\\n" "$DATA_VAR" "$ONLY_FLAG" "$WAL_KEEP_SETTING" "$STANDBY_MARKER" "$COL_SENT" "$COL_FLUSH" "$COL_REPLAY" "$CUR_LSN_FN" "$LSN_DIFF_FN" "$WALFILE_FN" "$INIT_PREFIX" "$WAL_DIR" "$WALDUMP"',
        "x",
        lib,
        flavor,
      ],
      { encoding: "utf8" },
    );
    const n = namesFor(flavor);
    expect(out.trim().split("\n")).toEqual([
      n.dataDirVar,
      n.coordinatorOnlyFlag,
      n.walKeepSetting,
      n.standbyMarker,
      n.lsnColumns.sent,
      n.lsnColumns.flush,
      n.lsnColumns.replay,
      n.currentLsnFunction,
      n.lsnDiffFunction,
      n.walFileFunction,
      n.initsystemPrefix,
      n.walDir,
      n.walDumpTool,
    ]);
  });
});
