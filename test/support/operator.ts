// Runs the operator CLIs (npm run status / drill) against a test stack, as a pipeline would.
import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "./engine";

export function operatorCli(
  name: string,
  args: string[],
  env: Record<string, string>,
): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("bash", [path.join(ROOT, "scripts", "operator.sh"), name, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 600_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
