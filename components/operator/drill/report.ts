// The drill's report: numbers as JSON, a summary in Markdown, and a timeline picture (SVG).
import { Ack } from "./writer";

export interface DrillEvent {
  at: number;
  what: string;
}

export interface DrillReport {
  stack: string;
  run: string;
  failure: string;
  startedAt: string;
  /** When the workload started (ms since the epoch): every event's `at` counts from it. */
  workloadStartedMs?: number;
  /** Failure injected -> first write accepted by the new primary. */
  rtoSeconds: number | null;
  rpo: {
    ackedCommits: number;
    missingCommits: number;
    missingIds: number[];
    lagBytesBefore: number | null;
  };
  objectives: { rtoSeconds: number; rpoCommits: number };
  met: boolean;
  oldPrimary: string;
  newPrimary: string | null;
  protectedAfter: boolean;
  events: DrillEvent[];
  phases: Record<string, number>;
  activation: unknown;
  /** How the old primary became the standby again (the stack output standbyOrigin). */
  standbyOrigin?: unknown;
}

export function markdown(r: DrillReport, svgFile: string): string {
  const yes = (b: boolean) => (b ? "yes" : "**NO**");
  return [
    `# DR drill: ${r.stack} (${r.startedAt})`,
    "",
    `| | |`,
    `| --- | --- |`,
    `| failure | ${r.failure} (primary: ${r.oldPrimary}) |`,
    `| new primary | ${r.newPrimary ?? "none"} |`,
    `| RTO | ${r.rtoSeconds === null ? "no write accepted" : `${r.rtoSeconds.toFixed(2)} s`} (objective ${r.objectives.rtoSeconds} s) |`,
    `| RPO | ${r.rpo.missingCommits} of ${r.rpo.ackedCommits} acknowledged commits missing (objective ${r.objectives.rpoCommits}); standby lag before: ${r.rpo.lagBytesBefore ?? "?"} bytes |`,
    `| protected afterwards | ${yes(r.protectedAfter)}${reprotection(r.standbyOrigin)} |`,
    `| objectives met | ${yes(r.met)} |`,
    "",
    `![timeline](${svgFile})`,
    "",
    "| t (s) | event |",
    "| --- | --- |",
    ...r.events.map((e) => `| ${(e.at / 1000).toFixed(2)} | ${e.what} |`),
    "",
    "Phases (s): " +
      Object.entries(r.phases)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`)
        .join(", "),
    "",
  ].join("\n");
}

function reprotection(origin: unknown): string {
  const o = origin as { method?: string; divergedAt?: string | null } | null | undefined;
  if (!o?.method) return "";
  if (o.method === "rewind")
    return `: old primary rewound (pg_rewind${o.divergedAt ? `, timelines split at ${o.divergedAt}` : ""})`;
  if (o.method === "snapshot") return ": old primary rebuilt from a fresh snapshot";
  return "";
}

/** Acknowledged commits per 100 ms as bars, the events as vertical lines. */
export function timelineSvg(acks: Ack[], events: DrillEvent[]): string {
  const end = Math.max(1000, ...acks.map((a) => a.at), ...events.map((e) => e.at)) + 500;
  const bucket = 100;
  const counts = new Array<number>(Math.ceil(end / bucket)).fill(0);
  for (const a of acks) counts[Math.floor(a.at / bucket)]++;
  const width = 900;
  const height = 260;
  const plotH = 160;
  const top = 20;
  const x = (ms: number) => 40 + (ms / end) * (width - 60);
  const max = Math.max(1, ...counts);
  const bars = counts
    .map((c, i) => {
      const h = (c / max) * plotH;
      return `<rect x="${x(i * bucket).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${Math.max(1, x(bucket) - x(0) - 0.5).toFixed(1)}" height="${h.toFixed(1)}" fill="#4a7bd0"/>`;
    })
    .join("");
  const marks = events
    .map((e, i) => {
      const ex = x(e.at).toFixed(1);
      const label = escapeXml(e.what);
      return `<line x1="${ex}" y1="${top}" x2="${ex}" y2="${top + plotH}" stroke="#c0392b" stroke-dasharray="4 3"/><text x="${ex}" y="${top + plotH + 16 + (i % 4) * 14}" font-size="11" fill="#c0392b">${label}</text>`;
    })
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="40" y="14" font-size="12">acknowledged commits per 100 ms (max ${max}); ${(end / 1000).toFixed(1)} s</text>
<line x1="40" y1="${top + plotH}" x2="${width - 20}" y2="${top + plotH}" stroke="#333"/>
${bars}${marks}
</svg>
`;
}

function escapeXml(s: string): string {
  return s.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c] ?? c,
  );
}
