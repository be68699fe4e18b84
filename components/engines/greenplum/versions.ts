// What differs between Greenplum 6, Greenplum 7 and Apache Cloudberry, in one table. The
// remote scripts carry the same choices (scripts/remote/greenplum/lib.sh, gpm_gp_names);
// test/unit/greenplumScripts.test.ts checks that both agree.

export type GreenplumFlavor = "gp6" | "gp7" | "cloudberry";

export interface GreenplumNames {
  flavor: GreenplumFlavor;
  /** The node's name in the utilities' messages. */
  node: "master" | "coordinator";
  /** The variable the utilities read for the data directory. */
  dataDirVar: "MASTER_DATA_DIRECTORY" | "COORDINATOR_DATA_DIRECTORY";
  /** gpconfig's flag for "coordinator and standby only". */
  coordinatorOnlyFlag: "--masteronly" | "--coordinatoronly";
  /** The WAL retention setting and its unit. */
  walKeepSetting: "wal_keep_segments" | "wal_keep_size";
  /** The file that marks a data directory as a standby. */
  standbyMarker: "recovery.conf" | "standby.signal";
  /** pg_stat_replication column names (9.4 on Greenplum 6, 12+ later). */
  lsnColumns: { sent: string; flush: string; replay: string };
  currentLsnFunction: "pg_current_xlog_location()" | "pg_current_wal_lsn()";
  lsnDiffFunction: "pg_xlog_location_diff" | "pg_wal_lsn_diff";
  /** The WAL file name of an LSN (its first 8 hex digits are the timeline). */
  walFileFunction: "pg_xlogfile_name" | "pg_walfile_name";
  /** gpinitsystem config keys for the coordinator. */
  initsystemPrefix: "MASTER" | "COORDINATOR";
  /** The WAL directory inside the data directory. */
  walDir: "pg_xlog" | "pg_wal";
  /** The tool that reads WAL records from files (the switchover's check on the standby). */
  walDumpTool: "pg_xlogdump" | "pg_waldump";
}

const GP6: GreenplumNames = {
  flavor: "gp6",
  node: "master",
  dataDirVar: "MASTER_DATA_DIRECTORY",
  coordinatorOnlyFlag: "--masteronly",
  walKeepSetting: "wal_keep_segments",
  standbyMarker: "recovery.conf",
  lsnColumns: { sent: "sent_location", flush: "flush_location", replay: "replay_location" },
  currentLsnFunction: "pg_current_xlog_location()",
  lsnDiffFunction: "pg_xlog_location_diff",
  walFileFunction: "pg_xlogfile_name",
  initsystemPrefix: "MASTER",
  walDir: "pg_xlog",
  walDumpTool: "pg_xlogdump",
};

const GP7: GreenplumNames = {
  flavor: "gp7",
  node: "coordinator",
  dataDirVar: "COORDINATOR_DATA_DIRECTORY",
  coordinatorOnlyFlag: "--coordinatoronly",
  walKeepSetting: "wal_keep_size",
  standbyMarker: "standby.signal",
  lsnColumns: { sent: "sent_lsn", flush: "flush_lsn", replay: "replay_lsn" },
  currentLsnFunction: "pg_current_wal_lsn()",
  lsnDiffFunction: "pg_wal_lsn_diff",
  walFileFunction: "pg_walfile_name",
  initsystemPrefix: "COORDINATOR",
  walDir: "pg_wal",
  walDumpTool: "pg_waldump",
};

export function namesFor(flavor: GreenplumFlavor): GreenplumNames {
  if (flavor === "gp6") return GP6;
  if (flavor === "gp7") return GP7;
  return { ...GP7, flavor: "cloudberry" };
}

export interface GpVersion {
  flavor: GreenplumFlavor;
  /** e.g. "7.0.0" */
  version: string;
  major: number;
}

/**
 * Reads `postgres --gp-version`, e.g.
 * `postgres (Greenplum Database) 7.0.0 build commit:0a7a...` or
 * `postgres (Apache Cloudberry) 2.0.0-incubating build ...`. Undefined when it is neither.
 */
export function parseGpVersion(text: string): GpVersion | undefined {
  const m =
    /\((Greenplum Database|Cloudberry Database|Apache Cloudberry)\)\s+(\d+)\.(\d+)(?:\.(\d+))?/.exec(
      text,
    );
  if (!m) return undefined;
  const major = Number(m[2]);
  const version = [m[2], m[3], m[4]].filter((x) => x !== undefined).join(".");
  if (m[1] !== "Greenplum Database") return { flavor: "cloudberry", version, major };
  if (major === 6) return { flavor: "gp6", version, major };
  if (major === 7) return { flavor: "gp7", version, major };
  return undefined;
}
