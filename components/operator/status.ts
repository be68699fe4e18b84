import { Probe } from "./probe";

/** One host as the status sees it. */
export interface HostView {
  name: string;
  address: string;
  /** The host's probe, or why it could not be read. */
  probe: Probe | { error: string };
}

export interface StatusReport {
  /** Which host is the primary now, by what the servers say (not by config). */
  primary: string | null;
  standby: string | null;
  /** The standby streams from the primary. */
  protected: boolean;
  state: string;
  syncState: string | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  /** WAL the primary keeps for the standby (its slot; Greenplum: wal_keep_size). */
  retainedWalBytes: number | null;
  /**
   * How much more WAL the primary can write before the standby is lost (null: no bound, or,
   * when walKeepBytes is set, not known: the standby's position could not be read).
   */
  safeWalBytes: number | null;
  /** Greenplum: the WAL retention that bounds safeWalBytes (no slot holds WAL for the standby). */
  walKeepBytes: number | null;
  /** false once the slot has lost WAL the standby needs: it must be rebuilt (npm run repair). */
  canCatchUp: boolean;
  problems: string[];
  hosts: { name: string; address: string; role: string; detail: string }[];
}

export interface StatusThresholds {
  maxLagBytes?: number;
}

/**
 * How a Greenplum standby that cannot catch up is rebuilt. A `pulumi up` with unchanged
 * settings runs nothing; `npm run repair` runs the standby's steps again, which replace a
 * registered standby only with greenplum.allowReplaceStandby (gpinitstandby -r deletes its
 * data directory: nothing is moved aside, unlike PostgreSQL's <dataDir>.lost-<time>).
 */
const REBUILD =
  "set greenplum.allowReplaceStandby true, then npm run repair -- --stack <stack>: gpinitstandby -r -a removes it and DELETES its data directory, then gpinitstandby -s makes a new one";

/** A connected standby answers at least every wal_receiver_status_interval (10 s). */
export const SILENT_STANDBY_SECONDS = 30;

/** Exit codes of `npm run status`, for pipelines. */
export const EXIT = { ok: 0, error: 1, unprotected: 2, lagging: 3 } as const;

function roleOf(p: HostView["probe"]): string {
  if ("error" in p) return "unreachable";
  if (!p.dataDir) return p.fenced ? "fenced (moved aside)" : "empty";
  if (!p.running) return p.fenced ? "fenced (stopped)" : "stopped";
  // A Greenplum standby master refuses connections (hot_standby off); its marker file says
  // what it is. A PostgreSQL probe gives inRecovery null until the server accepts connections.
  if (!p.acceptsConnections) return p.inRecovery === true ? "standby" : "starting";
  return p.inRecovery ? "standby" : "primary";
}

/** `0/C0068E0` as a byte position (exact up to 2^53 bytes). */
function lsnBytes(lsn: string | null | undefined): number | null {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn?.trim() ?? "");
  return m ? parseInt(m[1], 16) * 2 ** 32 + parseInt(m[2], 16) : null;
}

/** Judges a pair from its two probes: roles, replication, lag, and whether it is protected. */
export function evaluate(
  a: HostView,
  b: HostView,
  thresholds: StatusThresholds = {},
): StatusReport {
  const hosts = [a, b];
  const roles = hosts.map((h) => roleOf(h.probe));
  const problems: string[] = [];
  const primaries = hosts.filter((_, i) => roles[i] === "primary");
  if (primaries.length > 1) {
    problems.push(
      `two primaries accept writes (${primaries.map((h) => h.name).join(", ")}): fence one now`,
    );
  }
  const primary = primaries[0];
  const standby = hosts.find((h) => h !== primary);
  const primaryProbe = primary && !("error" in primary.probe) ? primary.probe : undefined;
  const row = primaryProbe?.replication.find((r) => r.applicationName === standby?.name);
  const slot = primaryProbe?.slot ?? null;
  if (!primary) problems.push("no primary accepts writes");
  if (primary && !row) {
    problems.push(
      `${standby?.name ?? "the standby"} is not connected to ${primary.name} (${roles[hosts.indexOf(standby ?? a)]})`,
    );
  } else if (row && row.state !== "streaming") {
    problems.push(`${standby?.name} is ${row.state}, not streaming`);
  }
  // A cut link looks like streaming on the primary until wal_sender_timeout (60 s) ends the
  // connection; a standby that has stopped answering says so sooner.
  const silent = (row?.replyAgeSeconds ?? 0) > SILENT_STANDBY_SECONDS;
  if (row && silent) {
    problems.push(
      `${standby?.name} has not answered ${primary?.name} for ${Math.round(row.replyAgeSeconds ?? 0)} s: the link between the hosts may be cut (a partition), or the standby hangs`,
    );
  }
  const slotLost = slot ? slot.walStatus === "lost" : false;
  if (slotLost) {
    problems.push(
      `slot ${slot?.name} has lost WAL the standby needs: the standby must be rebuilt: npm run repair -- --stack <stack> rebuilds it (its data directory is moved aside as <dataDir>.lost-<time>, never deleted, and a fresh snapshot replaces it)`,
    );
  }
  // Greenplum: no slot. The catalog registers the standby whatever its state; only
  // pg_stat_replication shows it streams, and only its own log shows it can never catch up.
  const standbyProbe = standby && !("error" in standby.probe) ? standby.probe : undefined;
  const walRemoved = standbyProbe?.walRemoved === true;
  if (walRemoved) {
    problems.push(
      `${standby?.name}'s log says the primary has already removed WAL it needs ("requested WAL segment ... has already been removed"): it can never catch up and must be rebuilt (${REBUILD})`,
    );
  }
  const registered = primaryProbe?.registeredStandby;
  if (registered === null) {
    problems.push(
      `no standby is registered in gp_segment_configuration on ${primary?.name}: npm run repair -- --stack <stack> creates it (gpinitstandby -s)`,
    );
  } else if (registered && !row) {
    problems.push(
      `gp_segment_configuration registers ${registered.hostname}:${registered.port} as the standby (status ${registered.status}), but it is absent from pg_stat_replication: it does not stream (the catalog does not mark a dead standby down); npm run repair -- --stack <stack> starts a stopped one (gpinitstandby -n)`,
    );
  }
  const walKeepBytes = primaryProbe?.walKeepBytes ?? null;
  let safeWalBytes = slot?.safeWalBytes ?? null;
  if (!slot && walKeepBytes !== null) {
    // WAL older than the retention behind the primary's position may be recycled at any
    // checkpoint. A connected standby needs it from its replay position on; one that is away,
    // from where its control file says it resumes.
    const cur = lsnBytes(primaryProbe?.currentLsn);
    const resume = lsnBytes(standbyProbe?.resumeLsn);
    const behind = row
      ? (row.lagBytes ?? null)
      : cur !== null && resume !== null
        ? cur - resume
        : null;
    safeWalBytes = behind === null ? null : walKeepBytes - behind;
    if (safeWalBytes !== null && safeWalBytes < 0 && !walRemoved) {
      problems.push(
        `${standby?.name} is ${-safeWalBytes} bytes further behind than the primary's WAL retention (${walKeepBytes} bytes) keeps: the WAL it needs is no longer kept for it (recycled at the next checkpoint, if not already), so it cannot be counted on to catch up: rebuild it (${REBUILD})`,
      );
    }
  }
  // No slot holds WAL for a Greenplum standby: past the retention, it is gone or about to be.
  const pastRetention = !slot && safeWalBytes !== null && safeWalBytes < 0;
  const canCatchUp = !slotLost && !walRemoved && !pastRetention;
  const lagBytes = row?.lagBytes ?? null;
  if (
    thresholds.maxLagBytes !== undefined &&
    lagBytes !== null &&
    lagBytes > thresholds.maxLagBytes
  ) {
    problems.push(`lag ${lagBytes} bytes is over the threshold of ${thresholds.maxLagBytes}`);
  }
  return {
    primary: primary?.name ?? null,
    standby: primary ? (standby?.name ?? null) : null,
    protected: row?.state === "streaming" && canCatchUp && !silent,
    state: row?.state ?? "disconnected",
    syncState: row?.syncState ?? null,
    lagBytes,
    lagSeconds: row?.replayLagSeconds ?? null,
    retainedWalBytes: slot?.retainedBytes ?? walKeepBytes,
    safeWalBytes,
    walKeepBytes,
    canCatchUp,
    problems,
    hosts: hosts.map((h, i) => ({
      name: h.name,
      address: h.address,
      role: roles[i],
      detail: "error" in h.probe ? h.probe.error : `timeline ${h.probe.timeline ?? "-"}`,
    })),
  };
}

export function exitCode(r: StatusReport, thresholds: StatusThresholds = {}): number {
  if (!r.protected || !r.primary) return EXIT.unprotected;
  if (thresholds.maxLagBytes !== undefined && (r.lagBytes ?? 0) > thresholds.maxLagBytes) {
    return EXIT.lagging;
  }
  return EXIT.ok;
}

/** A table for people. */
export function formatReport(r: StatusReport): string {
  const fmt = (n: number | null, unit: string) => (n === null ? "-" : `${n} ${unit}`);
  const lines = [
    `primary      ${r.primary ?? "NONE"}`,
    `standby      ${r.standby ?? "-"}`,
    `protected    ${r.protected ? "yes" : "NO"}`,
    `replication  ${r.state}${r.syncState ? ` (${r.syncState})` : ""}`,
    `lag          ${fmt(r.lagBytes, "bytes")}, ${fmt(r.lagSeconds, "s")}`,
    `retained WAL ${fmt(r.retainedWalBytes, "bytes")}`,
    `WAL before the standby is lost ${r.safeWalBytes !== null ? `${r.safeWalBytes} bytes` : r.walKeepBytes !== null ? "unknown (the standby's position could not be read)" : "no bound"}`,
    `can catch up ${r.canCatchUp ? "yes" : "NO: rebuild the standby (npm run repair)"}`,
    "",
    ...r.hosts.map(
      (h) => `${h.name.padEnd(24)} ${h.address.padEnd(16)} ${h.role.padEnd(18)} ${h.detail}`,
    ),
  ];
  if (r.problems.length > 0) lines.push("", ...r.problems.map((p) => `! ${p}`));
  return lines.join("\n");
}
