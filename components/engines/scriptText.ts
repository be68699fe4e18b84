import * as fs from "fs";
import * as path from "path";
import { scriptPath } from "../packageRoot";

const REMOTE_DIR = scriptPath("remote");

/** The engine scripts whose functions a step uses, by engine and step. */
const STEP_USES: Record<string, Record<string, string[]>> = {
  greenplum: { activate: ["segment-fence"] },
};

/**
 * The files whose text is sent to a host for one step, in order: the helpers every engine
 * shares (common.sh), the engine's own (lib.sh, when there is one), the engine's scripts the
 * step uses (STEP_USES: segment-fence for Greenplum's activate), then the step's script.
 * Scripts cannot source a sibling file on the far side.
 */
export function remoteFiles(engine: string, step: string): string[] {
  const uses = STEP_USES[engine]?.[step] ?? [];
  const dir = path.join(REMOTE_DIR, engine);
  const lib = path.join(dir, "lib.sh");
  return [
    path.join(REMOTE_DIR, "common.sh"),
    ...(fs.existsSync(lib) ? [lib] : []),
    ...uses.map((u) => path.join(dir, `${u}.sh`)),
    path.join(dir, `${step}.sh`),
  ];
}

/** The text of remoteFiles, joined. */
export function remoteScript(engine: string, step: string): string {
  return remoteFiles(engine, step)
    .map((f) => fs.readFileSync(f, "utf8"))
    .join("\n");
}
