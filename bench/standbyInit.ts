// 1. Standby initialization: the product's standby step (pg_basebackup through the slot, the
// settings, start, wait until it accepts connections) on a real stack, beside a plain
// pg_basebackup with the same options between the same two hosts, at several database sizes.
import { shellQuote } from "../components/shell";
import { BenchStack, HostView, pgBin } from "./stack";
import { linearFit, median, ratio } from "./stats";

export interface SizeResult {
  targetMB: number;
  /** sum of pg_database_size over the cluster after filling */
  actualMB: number;
  oursMs: number[];
  /** the whole `pulumi up --replace <standby step>` around each of ours */
  oursUpMs: number[];
  rawMs: number[];
  ratio: number;
}

export interface StandbyInitResult {
  sizes: SizeResult[];
  /** least-squares fit of median seconds against MB: throughput and fixed cost */
  growth: { ours: Fit; raw: Fit };
}

export interface Fit {
  mbPerSecond: number;
  fixedSeconds: number;
}

export async function standbyInit(
  s: BenchStack,
  sizesMB: number[],
  runs: number,
  log: (m: string) => void,
): Promise<StandbyInitResult> {
  const urn = await s.stepUrn("standby");
  const sizes: SizeResult[] = [];
  s.sql(s.host("primary"), "CREATE TABLE IF NOT EXISTS bench_fill (id bigint, pad text)");
  for (const targetMB of sizesMB) {
    const actualMB = fill(s, targetMB);
    log(`standby init: database filled to ${actualMB.toFixed(0)} MB`);
    const r: SizeResult = { targetMB, actualMB, oursMs: [], oursUpMs: [], rawMs: [], ratio: NaN };
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first, and flush dirty pages (the fill, the last copy) before
      // each, so that neither pays for the other's writeback.
      const ours = async () => {
        flush(s);
        const o = await oursOnce(s, urn);
        r.oursMs.push(o.stepMs);
        r.oursUpMs.push(o.upMs);
      };
      const plain = () => {
        flush(s);
        r.rawMs.push(raw(s));
      };
      if (i % 2 === 0) {
        plain();
        await ours();
      } else {
        await ours();
        plain();
      }
      log(
        `  ${targetMB} MB run ${i + 1}: raw ${r.rawMs[i]} ms, ours ${r.oursMs[i]} ms (pulumi up ${r.oursUpMs[i]} ms)`,
      );
    }
    r.ratio = ratio(median(r.oursMs), median(r.rawMs));
    sizes.push(r);
  }
  return { sizes, growth: { ours: fit(sizes, (x) => x.oursMs), raw: fit(sizes, (x) => x.rawMs) } };
}

function fit(sizes: SizeResult[], ms: (r: SizeResult) => number[]): Fit {
  const f = linearFit(
    sizes.map((x) => x.actualMB),
    sizes.map((x) => median(ms(x)) / 1000),
  );
  return { mbPerSecond: 1 / f.slope, fixedSeconds: f.intercept };
}

/** Adds rows of ~1 kB until the cluster holds targetMB; returns the size reached. */
function fill(s: BenchStack, targetMB: number): number {
  const p = s.host("primary");
  const size = () =>
    Number(s.sql(p, "SELECT sum(pg_database_size(datname)) FROM pg_database")) / 1024 / 1024;
  let now = size();
  while (now < targetMB * 0.98) {
    const rows = Math.max(1000, Math.ceil(((targetMB - now) * 1024 * 1024) / 1150));
    s.sql(
      p,
      `INSERT INTO bench_fill SELECT g, repeat(md5(g::text), 30) FROM generate_series(1, ${rows}) g;
CHECKPOINT;`,
      "postgres",
      1800,
    );
    now = size();
  }
  return now;
}

/** Writes every dirty page out (the hosts share this machine's kernel and disk). */
function flush(s: BenchStack): void {
  s.run(s.host("standby"), "sync");
}

/** A plain pg_basebackup on the standby host from the primary, same options, into a temp dir. */
function raw(s: BenchStack): number {
  const p = s.host("primary");
  const sb = s.host("standby");
  const hostDir = sb.dataDir.replace(/\/[^/]+$/, "");
  const dir = `${hostDir}/bench-raw`;
  const conninfo = `host=${p.address} port=${p.dbPort} user=replicator passfile=${hostDir}/pgpass connect_timeout=10`;
  s.run(sb, `rm -rf ${shellQuote(dir)}`);
  const t0 = Date.now();
  s.run(
    sb,
    `${pgBin()}/pg_basebackup -d ${shellQuote(conninfo)} -D ${shellQuote(dir)} -X stream -c fast --no-password --no-clean --progress --verbose 2>/dev/null`,
    1800,
  );
  const ms = Date.now() - t0;
  s.run(sb, `rm -rf ${shellQuote(dir)}`);
  return ms;
}

/** Stop the standby, remove its data, and let `pulumi up --replace` rebuild it. */
async function oursOnce(s: BenchStack, urn: string): Promise<{ stepMs: number; upMs: number }> {
  const sb: HostView = s.host("standby");
  s.run(
    sb,
    `${pgBin()}/pg_ctl stop -D ${shellQuote(sb.dataDir)} -m fast -w -t 60 >/dev/null 2>&1 || true
rm -rf ${shellQuote(sb.dataDir)}`,
  );
  const up = await s.up({ replace: [urn] });
  return { stepMs: stepMs(up.events, urn), upMs: up.ms };
}

/** From the engine's first event about a resource to its last outputs event. */
export function stepMs(
  events: { at: number; event: import("@pulumi/pulumi/automation").EngineEvent }[],
  urn: string,
): number {
  const pre = events.find((e) => e.event.resourcePreEvent?.metadata.urn === urn);
  const outs = events.filter((e) => e.event.resOutputsEvent?.metadata.urn === urn);
  if (!pre || outs.length === 0) throw new Error(`no engine events for ${urn}`);
  return outs[outs.length - 1].at - pre.at;
}
