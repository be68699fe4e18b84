// `npm run drill -- --automatic --failure kill` on a test stack, as the automatic failover
// fault files (PostgreSQL and Greenplum) run it: the CLI's result and the report it wrote.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { operatorCli } from "../support/operator";

export interface AutomaticDrillReport {
  rtoSeconds: number | null;
  rpo: { ackedCommits: number; missingCommits: number };
  protectedAfter: boolean;
  phases: Record<string, number>;
  newPrimary: string;
  oldPrimary: string;
}

export function automaticKillDrill(
  stack: string,
  env: Record<string, string>,
): { code: number; stderr: string; report: AutomaticDrillReport } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `gpm-${stack}-drill-`));
  const r = operatorCli(
    "drill",
    ["--stack", stack, "--automatic", "--failure", "kill", "--out", out],
    env,
  );
  const summary = JSON.parse(r.stdout.trim().split("\n").pop() || "{}") as { report?: string };
  if (!summary.report) throw new Error(`the drill wrote no report:\n${r.stderr.slice(-4000)}`);
  const report = JSON.parse(fs.readFileSync(summary.report, "utf8")) as AutomaticDrillReport;
  return { code: r.code, stderr: r.stderr, report };
}
