// The Pulumi engine that scripts/pulumi-env.sh chooses (your own Pulumi, or the project's
// build with Pulumi's official plugins), for programs that drive it through the Automation
// API: the tests and the benchmarks. pulumi-env.sh stays the one place that decides.
import { execFileSync } from "child_process";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface PulumiEngine {
  /** The `pulumi` CLI. */
  cli: string;
  /** Its install root (the directory above bin/), as PulumiCommand.get wants it. */
  root: string;
  /** `user`: a Pulumi installed by the user; `project`: .pulumi-home. */
  mode: "user" | "project";
  /** What the engine's processes need (PATH, PULUMI_HOME, offline switches); no backend. */
  env: Record<string, string>;
}

const ENGINE_VARIABLES = [
  "PATH",
  "PULUMI_HOME",
  "PULUMI_SKIP_UPDATE_CHECK",
  "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
  "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK",
  "PULUMI_NODEJS_TRANSPILE_ONLY",
  "GPMIRROR_PULUMI",
  "GPMIRROR_PULUMI_CLI",
];

let cached: PulumiEngine | undefined;

export function pulumiEngine(): PulumiEngine {
  if (cached) return cached;
  const out = execFileSync(
    "bash",
    ["-c", 'source "$1/scripts/pulumi-env.sh" >/dev/null && env -0', "pulumi-env", ROOT],
    { encoding: "utf8" },
  );
  const all = new Map(
    out
      .split("\0")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const),
  );
  const env: Record<string, string> = {};
  for (const k of ENGINE_VARIABLES) {
    const v = all.get(k);
    if (v !== undefined) env[k] = v;
  }
  const cli = env["GPMIRROR_PULUMI_CLI"] ?? "pulumi";
  cached = {
    cli,
    root: path.dirname(path.dirname(cli)),
    mode: env["GPMIRROR_PULUMI"] === "user" ? "user" : "project",
    env,
  };
  return cached;
}
