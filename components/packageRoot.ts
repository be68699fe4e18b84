// Where gpmirror's own files are, wherever the package is installed: its scripts are read and
// run from there, never from the directory of the program that uses it.
import * as fs from "fs";
import * as path from "path";

/** The package's directory (holds scripts/, components/, package.json). */
export const PACKAGE_ROOT = path.resolve(__dirname, "..");

/** A file of the package's scripts/ directory. */
export function scriptPath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, "scripts", ...parts);
}

/**
 * The working directory of a local command that runs `bash scripts/...`: the package's. Left
 * out when the program is the package's own (the standalone gpmirror), so that its stacks,
 * made before commands had a directory, see no change.
 */
export function localCommandDir(): { dir?: string } {
  const cwd = fs.realpathSync(process.cwd());
  return cwd === fs.realpathSync(PACKAGE_ROOT) ? {} : { dir: PACKAGE_ROOT };
}
