// Which top-level settings exist, and what to say about a key that is not one of them.
import { CONFIG_NAMESPACE, RawSettings, Reader } from "./reader";

/** The settings gpmirror reads, as the stack file holds them (groups are objects). */
export const KNOWN_KEYS = [
  "platform",
  "engine",
  "dbPort",
  "standbyDbPort",
  "replication",
  "replicationPassword",
  "local",
  "hosts",
  "aws",
  "greenplum",
  "activeMaster",
  "protect",
  "activation",
  "operator",
  "drill",
  "stepTimeoutSeconds",
] as const;

/** Settings that hold others: `replication.synchronous` is the key synchronous inside replication. */
const GROUPS: readonly string[] = [
  "replication",
  "local",
  "hosts",
  "aws",
  "greenplum",
  "activation",
  "operator",
  "drill",
];

/** Values echoed back in a fix: plain words, never anything that may be a secret. */
const PLAIN_VALUE = /^[A-Za-z0-9_.,:@/+=-]{1,100}$/;
const SECRET_NAME = /password|privatekey|secret|token/i;

/**
 * Reports every key that is not a setting. `pulumi config set gpmirror:replication.synchronous
 * true` (no --path) stores one flat key named "replication.synchronous"; its fix is the same
 * command with --path, which stores synchronous inside the replication object.
 */
export function checkKeys(r: Reader, raw: RawSettings): void {
  for (const key of Object.keys(raw)) {
    if ((KNOWN_KEYS as readonly string[]).includes(key)) continue;
    const group = key.split(".")[0];
    if (key.includes(".") && GROUPS.includes(group)) {
      const secret = SECRET_NAME.test(key);
      const value = raw[key];
      const shown =
        !secret && typeof value === "string" && PLAIN_VALUE.test(value) ? value : "<value>";
      const name = `'${CONFIG_NAMESPACE}:${key}'`;
      r.fail(
        key,
        `is stored as one flat key (set without --path); gpmirror reads ${key.slice(group.length + 1)} inside the ${group} object, which pulumi config writes with --path`,
        `pulumi config rm ${name} && pulumi config set --path ${secret ? "--secret " : ""}${name} ${shown}`,
      );
      continue;
    }
    r.fail(key, "is not a gpmirror setting", `remove it, or use one of: ${KNOWN_KEYS.join(", ")}`);
  }
}
