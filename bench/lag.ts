// 4. Replication lag under a pgbench write load (TPC-B-like, on the primary host through its
// unix socket), sampled from pg_stat_replication every 100 ms over TCP as the operator login;
// asynchronous, synchronous, and the same primary with its standby stopped.
import { Client } from "pg";
import { BenchStack, pgBin, sleep } from "./stack";
import { summarize, Summary } from "./stats";

export type LagMode = "async" | "sync" | "no standby";

export interface LagResult {
  mode: LagMode;
  tps: number;
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
  const results: LagResult[] = [];
  try {
    for (const mode of ["async", "sync", "no standby"] as LagMode[]) {
      await s.set("replication.synchronous", String(mode === "sync"));
      await s.up();
      const sb = s.host("standby");
      if (mode === "no standby") {
        s.run(sb, `${pgBin()}/pg_ctl stop -D '${sb.dataDir}' -m fast -w -t 60 >/dev/null`);
      }
      // Each mode starts from a checkpoint, so none pays for the dirty pages of the one before.
      s.sql(s.host("primary"), "CHECKPOINT");
      try {
        results.push(await measure(s, mode, o));
      } finally {
        if (mode === "no standby") {
          s.run(
            sb,
            `${pgBin()}/pg_ctl start -D '${sb.dataDir}' -l '${sb.dataDir.replace(/\/[^/]+$/, "")}/standby.log' -w -t 60 >/dev/null`,
          );
        }
      }
      log(`lag ${mode}: ${JSON.stringify(results[results.length - 1])}`);
    }
  } finally {
    s.sql(s.host("primary"), "DROP DATABASE IF EXISTS bench");
  }
  return results;
}

function socket(dataDir: string): string {
  return dataDir.replace(/\/[^/]+$/, "/run");
}

async function measure(s: BenchStack, mode: LagMode, o: LagOptions): Promise<LagResult> {
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
      mode,
      tps: Number(tps[1]),
      latencyMs: lat ? Number(lat[1]) : NaN,
      samples: bytes.length,
      ...(mode === "no standby"
        ? {}
        : { lagBytes: summarize(bytes), lagSeconds: summarize(seconds.map((x) => x)) }),
    };
  } finally {
    running = false;
    await sampler.catch(() => undefined);
    await client.end();
  }
}
