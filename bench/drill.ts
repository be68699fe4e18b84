// 5. A whole drill, end to end (`npm run drill -- --stack NAME --failback`): wall time and
// the phases the drill reports itself.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BenchStack, ROOT } from "./stack";

export interface DrillResult {
  wallMs: number;
  exitCode: number;
  rtoSeconds: number | null;
  ackedCommits: number;
  missingCommits: number;
  /** ms, as the drill reports them (activation+reprotection, failback, total) */
  phases: Record<string, number>;
}

export interface DrillRun extends DrillResult {
  /** The drill's own JSON report (its .md and .svg lie beside it). */
  report: string;
}

/** `npm run drill -- --stack NAME ARGS --out DIR` on the bench's stack (ARGS: --failback). */
export function drill(s: BenchStack, outDir: string, args = ["--failback"]): DrillRun {
  const t0 = Date.now();
  const r = spawnSync(
    "bash",
    [
      path.join(ROOT, "scripts", "operator.sh"),
      "drill",
      "--stack",
      s.name,
      ...args,
      "--out",
      outDir,
    ],
    { cwd: ROOT, env: { ...process.env, ...s.env }, encoding: "utf8", timeout: 900_000 },
  );
  const wallMs = Date.now() - t0;
  process.stderr.write(r.stderr.replace(/^/gm, "      "));
  const last = r.stdout.trim().split("\n").pop() ?? "";
  let summary: { report?: string } = {};
  try {
    summary = JSON.parse(last) as { report?: string };
  } catch {
    throw new Error(`the drill printed no result (exit ${r.status}): ${last.slice(0, 300)}`);
  }
  if (!summary.report) throw new Error("the drill wrote no report");
  const report = JSON.parse(fs.readFileSync(summary.report, "utf8")) as {
    rtoSeconds: number | null;
    rpo: { ackedCommits: number; missingCommits: number };
    phases: Record<string, number>;
  };
  return {
    report: summary.report,
    wallMs,
    exitCode: r.status ?? -1,
    rtoSeconds: report.rtoSeconds,
    ackedCommits: report.rpo.ackedCommits,
    missingCommits: report.rpo.missingCommits,
    phases: report.phases,
  };
}
