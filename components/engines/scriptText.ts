import * as fs from "fs";
import * as path from "path";

const REMOTE_DIR = path.join(__dirname, "..", "..", "scripts", "remote");

/**
 * The text sent to a host for one step: the engine's shared functions (lib.sh, when there is
 * one) and then the step's script. Scripts cannot source a sibling file on the far side.
 */
export function remoteScript(engine: string, step: string): string {
  const dir = path.join(REMOTE_DIR, engine);
  const lib = path.join(dir, "lib.sh");
  const parts = fs.existsSync(lib) ? [fs.readFileSync(lib, "utf8")] : [];
  parts.push(fs.readFileSync(path.join(dir, `${step}.sh`), "utf8"));
  return parts.join("\n");
}
