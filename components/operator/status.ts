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
  /** WAL the primary keeps for the standby (its slot). */
  retainedWalBytes: number | null;
  /** How much more WAL the primary can write before the standby is lost (null: no bound). */
  safeWalBytes: number | null;
  /** false once the slot has lost WAL the standby needs: it must be rebuilt (npm run repair). */
  canCatchUp: boolean;
  problems: string[];
  hosts: { name: string; address: string; role: string; detail: string }[];
}

export interface StatusThresholds {
  maxLagBytes?: number;
}

/** A connected standby answers at least every wal_receiver_status_interval (10 s). */
export const SILENT_STANDBY_SECONDS = 30;

/** Exit codes of `npm run status`, for pipelines. */
export const EXIT = { ok: 0, error: 1, unprotected: 2, lagging: 3 } as const;

function roleOf(p: HostView["probe"]): string {
  if ("error" in p) return "unreachable";
  if (!p.dataDir) return "empty";
  if (!p.running) return p.fenced ? "fenced (stopped)" : "stopped";
  if (!p.acceptsConnections) return "starting";
  return p.inRecovery ? "standby" : "primary";
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
  const canCatchUp = slot ? slot.walStatus !== "lost" : true;
  if (!canCatchUp) {
    problems.push(
      `slot ${slot?.name} has lost WAL the standby needs: the standby must be rebuilt: npm run repair -- --stack <stack> rebuilds it`,
    );
  }
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
    retainedWalBytes: slot?.retainedBytes ?? null,
    safeWalBytes: slot?.safeWalBytes ?? null,
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
    `WAL before the standby is lost ${r.safeWalBytes === null ? "no bound" : `${r.safeWalBytes} bytes`}`,
    `can catch up ${r.canCatchUp ? "yes" : "NO: rebuild the standby (npm run repair)"}`,
    "",
    ...r.hosts.map(
      (h) => `${h.name.padEnd(24)} ${h.address.padEnd(16)} ${h.role.padEnd(18)} ${h.detail}`,
    ),
  ];
  if (r.problems.length > 0) lines.push("", ...r.problems.map((p) => `! ${p}`));
  return lines.join("\n");
}
