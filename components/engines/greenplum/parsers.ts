// Pure readers of what Greenplum prints: psql tables (aligned and expanded), the catalog,
// the replication views and gpstate -f. Tested on real Greenplum 7.0.0 outputs.

export type Row = Record<string, string>;

/** Rows of psql output, aligned (`a | b` with a header) or expanded (`-[ RECORD 1 ]`). */
export function parsePsql(text: string): Row[] {
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines.some((l) => /^-\[ RECORD \d+ \]/.test(l))) return parseExpanded(lines);
  const rows: Row[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/^-+(\+-+)*$/.test(lines[i + 1].trim()) || !lines[i].includes("|")) continue;
    const header = lines[i].split("|").map((h) => h.trim());
    for (let j = i + 2; j < lines.length; j++) {
      const l = lines[j];
      if (/^\(\d+ rows?\)$/.test(l.trim()) || l.trim() === "") break;
      const cells = l.split("|").map((c) => c.trim());
      if (cells.length !== header.length) break;
      rows.push(Object.fromEntries(header.map((h, n) => [h, cells[n]])));
    }
    break;
  }
  return rows;
}

function parseExpanded(lines: string[]): Row[] {
  const rows: Row[] = [];
  let cur: Row | undefined;
  for (const l of lines) {
    if (/^-\[ RECORD \d+ \]/.test(l)) {
      cur = {};
      rows.push(cur);
      continue;
    }
    if (!cur) continue;
    if (l.trim() === "") {
      cur = undefined;
      continue;
    }
    const bar = l.indexOf("|");
    if (bar < 0) continue;
    cur[l.slice(0, bar).trim()] = l.slice(bar + 1).trim();
  }
  return rows;
}

/** One row of gp_segment_configuration. */
export interface SegmentRow {
  dbid: number;
  content: number;
  role: "p" | "m";
  preferredRole: string;
  mode: string;
  status: "u" | "d";
  port: number;
  hostname: string;
  address: string;
  datadir: string;
}

export function parseSegmentConfiguration(text: string): SegmentRow[] {
  return parsePsql(text).map((r) => ({
    dbid: Number(r["dbid"]),
    content: Number(r["content"]),
    role: r["role"] as "p" | "m",
    preferredRole: r["preferred_role"] ?? "",
    mode: r["mode"] ?? "",
    status: r["status"] as "u" | "d",
    port: Number(r["port"]),
    hostname: r["hostname"] ?? "",
    address: r["address"] ?? r["hostname"] ?? "",
    datadir: r["datadir"] ?? "",
  }));
}

/** The master pair as the catalog registers it (content -1). */
export function masterPair(rows: SegmentRow[]): { primary?: SegmentRow; standby?: SegmentRow } {
  const master = rows.filter((r) => r.content === -1);
  return {
    primary: master.find((r) => r.role === "p"),
    standby: master.find((r) => r.role === "m"),
  };
}

/** The standby's walsender as gp_stat_replication / pg_stat_replication show it. */
export interface StandbyReplication {
  state: string;
  syncState: string;
  sentLsn: string;
  flushLsn: string;
  replayLsn: string;
  clientAddr: string;
}

/** The master's standby row (gp_segment_id -1 when present, application gp_walreceiver). */
export function parseStandbyReplication(text: string): StandbyReplication | undefined {
  const row = parsePsql(text).find(
    (r) =>
      (r["gp_segment_id"] === undefined || r["gp_segment_id"] === "-1") &&
      (r["application_name"] === undefined || r["application_name"] === "gp_walreceiver"),
  );
  if (!row) return undefined;
  const pick = (...names: string[]) => names.map((n) => row[n]).find((v) => v !== undefined) ?? "";
  return {
    state: pick("state"),
    syncState: pick("sync_state"),
    sentLsn: pick("sent_lsn", "sent_location"),
    flushLsn: pick("flush_lsn", "flush_location"),
    replayLsn: pick("replay_lsn", "replay_location"),
    clientAddr: pick("client_addr"),
  };
}

/** `0/C0068E0` as a byte position. */
export function lsnToBytes(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn.trim());
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

/** What gpstate -f says about the standby. */
export interface GpstateStandby {
  configured: boolean;
  address?: string;
  dataDir?: string;
  port?: number;
  pid?: number;
  /** e.g. "Standby host passive": says nothing about streaming. */
  status?: string;
  walSenderState?: string;
  syncState?: string;
  sentLocation?: string;
  flushLocation?: string;
  replayLocation?: string;
}

export function parseGpstateStandby(text: string): GpstateStandby {
  const msg = text
    .split("\n")
    .map((l) => /\[(?:INFO|WARNING|ERROR)\]:-(.*)$/.exec(l)?.[1])
    .filter((m): m is string => m !== undefined);
  const field = (name: string) => {
    const re = new RegExp(`^\\s*-*${name}\\s*[=:]\\s*(.*?)\\s*$`);
    for (const m of msg) {
      const x = re.exec(m);
      if (x) return x[1];
    }
    return undefined;
  };
  if (msg.some((m) => /Standby (coordinator|master) instance not configured/.test(m))) {
    return { configured: false };
  }
  const port = field("Standby port");
  const pid = field("Standby PID");
  return {
    configured: field("Standby address") !== undefined,
    address: field("Standby address"),
    dataDir: field("Standby data directory"),
    port: port === undefined ? undefined : Number(port),
    pid: pid === undefined || !/^\d+$/.test(pid) ? undefined : Number(pid),
    status: field("Standby status"),
    walSenderState: field("WAL Sender State"),
    syncState: field("Sync state"),
    sentLocation: field("Sent Location"),
    flushLocation: field("Flush Location"),
    replayLocation: field("Replay Location"),
  };
}

/** True when a server log (CSV or text) shows the standby asking for WAL the primary removed. */
export function walAlreadyRemoved(log: string): boolean {
  return /requested WAL segment [0-9A-F]+ has already been removed/.test(log);
}

/**
 * How many more bytes of WAL the primary can write before a standby that has flushed up to
 * `standbyLsn` can no longer catch up: WAL older than wal_keep_size behind the insert
 * position may be recycled at a checkpoint (no slot holds it). Negative: already lost.
 */
export function walHeadroomBytes(
  currentLsn: string,
  standbyLsn: string,
  walKeepBytes: bigint,
): bigint {
  return walKeepBytes - (lsnToBytes(currentLsn) - lsnToBytes(standbyLsn));
}

/** Where the standby stands, from the catalog, the walsender and the standby's log. */
export type StandbyHealth =
  "not-configured" | "streaming" | "catchup" | "stopped" | "broken" | "lost";

export function standbyHealth(input: {
  registered: boolean;
  replication?: StandbyReplication;
  postmasterRunning: boolean;
  standbyLog: string;
}): StandbyHealth {
  if (!input.registered) return "not-configured";
  if (input.replication?.state === "streaming") return "streaming";
  if (input.replication?.state === "catchup") return "catchup";
  if (walAlreadyRemoved(input.standbyLog)) return "lost";
  return input.postmasterRunning ? "broken" : "stopped";
}
