// 4. Replication lag under a pgbench write load (TPC-B-like, on the primary host through its
// unix socket), sampled from pg_stat_replication every 100 ms over TCP as the operator login;
// asynchronous, synchronous, and the same primary with its standby stopped.
import { Client } from "pg";
import { BenchStack, pgBin, sleep } from "./stack";
import { median, summarize, Summary } from "./stats";

export type LagMode = "async" | "sync" | "no standby";

export interface LagResult {
  mode: LagMode;
  /** median over the rounds */
  tps: number;
  /** each round's */
  tpsRuns: number[];
  /** pgbench's average latency per transaction */
  latencyMs: number;
  samples: number;
  /** pg_current_wal_lsn() - replay_lsn */
  lagBytes?: Summary;
  /** pg_stat_replication.replay_lag (NULL, when nothing is pending, counts as 0) */
  lagSeconds?: Summary;
}

export interface LagOptions {
  scale: number;
  clients: number;
  seconds: number;
  /** each mode runs once per round, in a rotating order; medians over the rounds */
  rounds: number;
}

export async function lag(
  s: BenchStack,
  o: LagOptions,
  log: (m: string) => void,
): Promise<LagResult[]> {
  const p = s.host("primary");
  s.sql(p, "DROP DATABASE IF EXISTS bench");
  s.sql(p, "CREATE DATABASE bench");
  s.run(
    p,
    `${pgBin()}/pgbench -i -q -s ${o.scale} -h ${socket(p.dataDir)} -p ${p.dbPort} bench 2>&1 | tail -n 1 >&2`,
    1800,
  );
  const runs = new Map<LagMode, Run[]>(MODES.map((m) => [m, []]));
  try {
    for (let round = 0; round < o.rounds; round++) {
      // The order rotates each round, so no mode always runs first or after the same one.
      for (let k = 0; k < MODES.length; k++) {
        const mode = MODES[(k + round) % MODES.length];
        const run = await once(s, mode, o);
        runs.get(mode)?.push(run);
        log(`lag round ${round + 1}/${o.rounds} ${mode}: ${run.tps.toFixed(0)} tps`);
      }
    }
  } finally {
    s.sql(s.host("primary"), "DROP DATABASE IF EXISTS bench");
  }
  return MODES.map((mode) => aggregate(mode, runs.get(mode) ?? []));
}

const MODES: LagMode[] = ["async", "sync", "no standby"];

interface Run {
  tps: number;
  latencyMs: number;
  bytes: number[];
  seconds: number[];
}

/** Medians of the rounds' throughput and latency; lag percentiles over all samples. */
export function aggregate(mode: LagMode, runs: Run[]): LagResult {
  const bytes = runs.flatMap((r) => r.bytes);
  const seconds = runs.flatMap((r) => r.seconds);
  return {
    mode,
    tps: median(runs.map((r) => r.tps)),
    tpsRuns: runs.map((r) => Math.round(r.tps)),
    latencyMs: median(runs.map((r) => r.latencyMs)),
    samples: bytes.length,
    ...(mode === "no standby"
      ? {}
      : { lagBytes: summarize(bytes), lagSeconds: summarize(seconds) }),
  };
}

async function once(s: BenchStack, mode: LagMode, o: LagOptions): Promise<Run> {
  await s.set("replication.synchronous", String(mode === "sync"));
  await s.up();
  const sb = s.host("standby");
  if (mode === "no standby") {
    s.run(sb, `${pgBin()}/pg_ctl stop -D '${sb.dataDir}' -m fast -w -t 60 >/dev/null`);
  }
  // Each run starts from a checkpoint, so none pays for the dirty pages of the one before.
  s.sql(s.host("primary"), "CHECKPOINT");
  try {
    return await measure(s, o);
  } finally {
    if (mode === "no standby") {
      s.run(
        sb,
        `${pgBin()}/pg_ctl start -D '${sb.dataDir}' -l '${sb.dataDir.replace(/\/[^/]+$/, "")}/standby.log' -w -t 60 >/dev/null`,
      );
    }
  }
}

function socket(dataDir: string): string {
  return dataDir.replace(/\/[^/]+$/, "/run");
}

async function measure(s: BenchStack, o: LagOptions): Promise<Run> {
  const p = s.host("primary");
  const sb = s.host("standby");
  const d = s.access.database;
  if (!d) throw new Error("no operator login");
  const client = new Client({
    host: p.address,
    port: p.dbPort,
    user: d.user,
    password: d.password,
    database: d.name,
  });
  await client.connect();
  const bytes: number[] = [];
  const seconds: number[] = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      const r = await client.query<{ b: number | null; s: number | null }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS b,
                COALESCE(extract(epoch FROM replay_lag), 0)::float8 AS s
           FROM pg_stat_replication WHERE application_name = $1`,
        [sb.name],
      );
      if (r.rows.length > 0 && r.rows[0].b !== null) {
        bytes.push(Number(r.rows[0].b));
        seconds.push(Number(r.rows[0].s));
      }
      await sleep(100);
    }
  })();
  try {
    const out = await s.runAsync(
      p,
      `${pgBin()}/pgbench -n -c ${o.clients} -j ${Math.min(o.clients, 2)} -T ${o.seconds} -h ${socket(p.dataDir)} -p ${p.dbPort} bench 2>/dev/null`,
    );
    const tps = /tps = ([0-9.]+) \(without initial connection time\)/.exec(out);
    const lat = /latency average = ([0-9.]+) ms/.exec(out);
    if (!tps) throw new Error(`pgbench printed no tps: ${out.slice(-300)}`);
    return {
      tps: Number(tps[1]),
      latencyMs: lat ? Number(lat[1]) : NaN,
      bytes,
      seconds,
    };
  } finally {
    running = false;
    await sampler.catch(() => undefined);
    await client.end();
  }
}
