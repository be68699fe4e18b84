// The bench's results as JSON, a Markdown table and an SVG chart: pure functions, unit-tested.
import { ActivationResult } from "./activation";
import { DrillResult } from "./drill";
import { LagResult } from "./lag";
import { NoopRun } from "./noopUp";
import { StandbyInitResult } from "./standbyInit";
import { max, median } from "./stats";

export interface Machine {
  nproc: number;
  memoryGiB: number;
  kernel: string;
  cpu: string;
  postgres: string;
  hosts: string;
  /** os.loadavg() (1, 5, 15 min): how busy the machine was */
  loadAverageAtStart?: number[];
  loadAverageAtEnd?: number[];
}

export interface BenchResults {
  startedAt: string;
  durationMs: number;
  command: string;
  /** the checkout measured: commit, and whether the working tree had changes */
  commit: string;
  machine: Machine;
  options: Record<string, unknown>;
  standbyInit?: StandbyInitResult;
  activation?: ActivationResult;
  noopUp?: NoopRun[];
  lag?: LagResult[];
  drill?: DrillResult;
}

const s = (ms: number) => (ms / 1000).toFixed(2);

const ok = (met: boolean) => (met ? "met" : "**missed**");

export function markdown(r: BenchResults, svgFile: string): string {
  const out: string[] = [
    `# gpmirror benchmarks (${r.startedAt})`,
    "",
    `Machine: ${r.machine.nproc} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB, Linux ${r.machine.kernel}, ${r.machine.postgres}; ${r.machine.hosts}.${r.machine.loadAverageAtStart ? ` Load average (1, 5, 15 min) ${r.machine.loadAverageAtStart.join(", ")} at the start, ${r.machine.loadAverageAtEnd?.join(", ") ?? "?"} at the end.` : ""}`,
    `Command: \`${r.command}\` at ${r.commit} (${s(r.durationMs)} s in all). Options: \`${JSON.stringify(r.options)}\`.`,
    "",
    `![chart](${svgFile})`,
    "",
  ];
  if (r.standbyInit) {
    const si = r.standbyInit;
    const largest = si.sizes[si.sizes.length - 1];
    out.push(
      "## 1. Standby initialization",
      "",
      "Ours: the standby step of a real stack (`pulumi up --replace` of that step after the standby was stopped and its data removed), timed from the engine's first event about the step to its outputs: pg_basebackup through the slot, settings, start, ready. Raw: `pg_basebackup -X stream -c fast` with the same connection, run over ssh on the standby host into a temporary directory. Median of the runs; which of the two goes first alternates, and `sync` runs before each, untimed. Both hosts share this machine's disk and page cache, so the copy reads the primary's files mostly from memory.",
      "",
      "| database | runs | raw (s) | ours (s) | ours/raw | whole `pulumi up` (s) |",
      "| --- | --- | --- | --- | --- | --- |",
      ...si.sizes.map(
        (x) =>
          `| ${x.actualMB.toFixed(0)} MB | ${x.oursMs.length} | ${s(median(x.rawMs))} | ${s(median(x.oursMs))} | ${x.ratio.toFixed(2)} | ${s(median(x.oursUpMs))} |`,
      ),
      "",
      `Growth (least squares over the medians): ours ${si.growth.ours.mbPerSecond.toFixed(0)} MB/s + ${si.growth.ours.fixedSeconds.toFixed(2)} s fixed; raw ${si.growth.raw.mbPerSecond.toFixed(0)} MB/s + ${si.growth.raw.fixedSeconds.toFixed(2)} s fixed. Aim: ratio at most 1.10 at the largest size: ${ok(largest.ratio <= 1.1)} (${largest.ratio.toFixed(2)} at ${largest.actualMB.toFixed(0)} MB).`,
      "",
    );
  }
  if (r.activation) {
    const a = r.activation;
    const fw = (xs: { firstWriteMs: number }[]) => xs.map((x) => x.firstWriteMs);
    const step = a.ours.map((x) => x.activationStepMs ?? NaN).filter((x) => !Number.isNaN(x));
    const plainMed = median(fw(a.plain));
    out.push(
      "## 2. Activation",
      "",
      "Time from the activation command to the first write accepted on the new primary, seen by the drill's writer (a client that retries every 200 ms against every host until one accepts an INSERT). Ours: the old primary's postmaster killed (`kill -9`), then `pulumi up` with `activeMaster` flipped (failover): program start, checks, fence, promote, and re-protection of the old host in the same run. Plain: `pg_ctl promote -w` over ssh on a standby made by `pg_basebackup -R` from the same primary on the same standby host.",
      "",
      "| | runs | first write, median (s) | max (s) | whole command, median (s) |",
      "| --- | --- | --- | --- | --- |",
      `| ours: \`pulumi up\` | ${a.ours.length} | ${s(median(fw(a.ours)))} | ${s(max(fw(a.ours)))} | ${s(median(a.ours.map((x) => x.commandMs)))} |`,
      `| ours: the activation step alone (\`activation.last.tookMs\`) | ${step.length} | ${s(median(step))} | ${s(max(step))} | |`,
      `| plain \`pg_ctl promote\` | ${a.plain.length} | ${s(plainMed)} | ${s(max(fw(a.plain)))} | ${s(median(a.plain.map((x) => x.commandMs)))} |`,
      "",
      `Aims: median under 1 s: ${ok(median(fw(a.ours)) < 1000)} through \`pulumi up\` (${s(median(fw(a.ours)))} s), ${ok(median(step) < 1000)} for the activation step (${s(median(step))} s). Overhead over the plain promote under 0.5 s: ${ok(median(fw(a.ours)) - plainMed < 500)} through \`pulumi up\` (${s(median(fw(a.ours)) - plainMed)} s), ${ok(median(step) - plainMed < 500)} for the step (${s(median(step) - plainMed)} s).`,
      "",
    );
  }
  if (r.noopUp) {
    const n = r.noopUp;
    const cmds = Math.max(...n.map((x) => x.commandsRun));
    out.push(
      "## 3. A no-op `pulumi up`",
      "",
      "| runs | wall, median (s) | max (s) | commands run (max) | resources by engine op |",
      "| --- | --- | --- | --- | --- |",
      `| ${n.length} | ${s(median(n.map((x) => x.ms)))} | ${s(max(n.map((x) => x.ms)))} | ${cmds} | ${Object.entries(
        n[n.length - 1].ops,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")} |`,
      "",
      `Counted from the engine's events: a command resource whose op is not \`same\` runs its command. Aim 0: ${ok(cmds === 0)}.`,
      "",
    );
  }
  if (r.lag) {
    const none = r.lag.find((x) => x.mode === "no standby");
    out.push(
      "## 4. Replication lag under pgbench",
      "",
      "pgbench (TPC-B-like) on the primary host through its unix socket; `pg_stat_replication` sampled every 100 ms over TCP as the operator login: bytes = `pg_current_wal_lsn() - replay_lsn`, time = `replay_lag` (NULL, nothing pending, counts as 0). Each mode runs once per round, in an order that rotates; tps and latency are medians over the rounds (each round's tps in the last column), lag percentiles are over all samples.",
      "",
      "| mode | tps | vs no standby | latency (ms) | samples | lag bytes p50 | p99 | lag p50 (ms) | p99 (ms) | tps per round |",
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
      ...r.lag.map(
        (x) =>
          `| ${x.mode} | ${x.tps.toFixed(0)} | ${none ? (x.tps / none.tps).toFixed(2) : "-"} | ${x.latencyMs.toFixed(2)} | ${x.samples} | ${x.lagBytes ? x.lagBytes.median.toFixed(0) : "-"} | ${x.lagBytes ? x.lagBytes.p99.toFixed(0) : "-"} | ${x.lagSeconds ? (x.lagSeconds.median * 1000).toFixed(1) : "-"} | ${x.lagSeconds ? (x.lagSeconds.p99 * 1000).toFixed(1) : "-"} | ${(x.tpsRuns ?? []).join(", ")} |`,
      ),
      "",
    );
  }
  if (r.drill) {
    const d = r.drill;
    out.push(
      "## 5. A whole drill (`npm run drill -- --failback`)",
      "",
      "| wall (s) | RTO (s) | acknowledged commits lost | exit | parts (s) |",
      "| --- | --- | --- | --- | --- |",
      `| ${s(d.wallMs)} | ${d.rtoSeconds?.toFixed(2) ?? "-"} | ${d.missingCommits} of ${d.ackedCommits} | ${d.exitCode} | ${Object.entries(
        d.phases,
      )
        .map(([k, v]) => `${k} ${s(v)}`)
        .join(", ")} |`,
      "",
    );
  }

  return out.join("\n");
}

interface Bar {
  name: string;
  value: number;
}
export interface Panel {
  title: string;
  unit: string;
  groups: { label: string; bars: Bar[] }[];
}

/** The panels the chart shows, from the results. */
export function panels(r: BenchResults): Panel[] {
  const p: Panel[] = [];
  if (r.standbyInit)
    p.push({
      title: "Standby initialization",
      unit: "s",
      groups: r.standbyInit.sizes.map((x) => ({
        label: `${x.actualMB.toFixed(0)} MB`,
        bars: [
          { name: "raw pg_basebackup", value: median(x.rawMs) / 1000 },
          { name: "ours", value: median(x.oursMs) / 1000 },
        ],
      })),
    });
  if (r.activation) {
    const a = r.activation;
    p.push({
      title: "Activation to first write (median)",
      unit: "s",
      groups: [
        {
          label: "pg_ctl promote",
          bars: [{ name: "raw", value: median(a.plain.map((x) => x.firstWriteMs)) / 1000 }],
        },
        {
          label: "activation step",
          bars: [
            { name: "ours", value: median(a.ours.map((x) => x.activationStepMs ?? NaN)) / 1000 },
          ],
        },
        {
          label: "pulumi up",
          bars: [{ name: "ours", value: median(a.ours.map((x) => x.firstWriteMs)) / 1000 }],
        },
      ],
    });
  }
  if (r.lag)
    p.push({
      title: "pgbench throughput",
      unit: "tps",
      groups: r.lag.map((x) => ({
        label: x.mode,
        bars: [{ name: x.mode === "no standby" ? "raw" : "ours", value: x.tps }],
      })),
    });
  return p;
}

const COLORS: Record<string, string> = {
  raw: "#8c8c8c",
  "raw pg_basebackup": "#8c8c8c",
  ours: "#2b6cb0",
};
const esc = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Grouped bar charts side by side, one panel per measure. */
export function chartSvg(ps: Panel[]): string {
  const pw = 300;
  const ph = 220;
  const top = 40;
  const bottom = 40;
  const left = 40;
  const w = Math.max(1, ps.length) * pw;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${ph + 30}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  ps.forEach((p, i) => {
    const x0 = i * pw + left;
    const innerW = pw - left - 15;
    const innerH = ph - top - bottom;
    const values = p.groups.flatMap((g) => g.bars.map((b) => b.value)).filter(Number.isFinite);
    const top1 = Math.max(...values, 1e-9) * 1.15;
    parts.push(
      `<text x="${i * pw + pw / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`,
    );
    parts.push(
      `<line x1="${x0}" y1="${top + innerH}" x2="${x0 + innerW}" y2="${top + innerH}" stroke="#333"/>`,
    );
    const gw = innerW / Math.max(1, p.groups.length);
    p.groups.forEach((g, gi) => {
      const bw = (gw * 0.7) / Math.max(1, g.bars.length);
      g.bars.forEach((b, bi) => {
        const v = Number.isFinite(b.value) ? b.value : 0;
        const h = (v / top1) * innerH;
        const bx = x0 + gi * gw + gw * 0.15 + bi * bw;
        parts.push(
          `<rect x="${bx.toFixed(1)}" y="${(top + innerH - h).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[b.name] ?? "#2b6cb0"}"><title>${esc(b.name)}: ${v.toFixed(2)}</title></rect>`,
          `<text x="${(bx + bw / 2).toFixed(1)}" y="${(top + innerH - h - 3).toFixed(1)}" text-anchor="middle">${v >= 100 ? v.toFixed(0) : v.toFixed(2)}</text>`,
        );
      });
      parts.push(
        `<text x="${(x0 + gi * gw + gw / 2).toFixed(1)}" y="${top + innerH + 15}" text-anchor="middle">${esc(g.label)}</text>`,
      );
    });
  });
  parts.push(
    `<rect x="10" y="${ph + 8}" width="10" height="10" fill="${COLORS.raw}"/><text x="24" y="${ph + 17}">plain PostgreSQL tool</text>`,
    `<rect x="160" y="${ph + 8}" width="10" height="10" fill="${COLORS.ours}"/><text x="174" y="${ph + 17}">gpmirror</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}
