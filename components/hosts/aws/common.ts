// What the AWS hosts' parts share: the two roles, tags, and the scripts under scripts/aws.
import * as fs from "fs";
import * as path from "path";
import { scriptPath } from "../../packageRoot";

export type Role = "primary" | "standby";
export const ROLES: readonly Role[] = ["primary", "standby"];

/** Tags for one resource: its name, the stack, the role when it belongs to one host. */
export type Tags = (what: string, role?: Role) => Record<string, string>;

const SCRIPTS = scriptPath("aws");

/** A script of scripts/aws, as text. */
export function script(file: string): string {
  return fs.readFileSync(path.join(SCRIPTS, file), "utf8");
}
