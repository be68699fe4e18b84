// The building blocks of config validation: a reader that collects every problem with the
// setting's name and a fix, and the patterns values must match.
import * as pulumi from "@pulumi/pulumi";

export const CONFIG_NAMESPACE = "gpmirror";

/** Raw settings as the stack file holds them: strings, numbers, booleans or objects. */
export type RawSettings = Record<string, unknown>;

export interface ConfigContext {
  stack: string;
  uid: number;
  homeDir: string;
  /** Reads a file named by a setting (SSH keys); injectable for tests. */
  readFile?: (file: string) => string | undefined;
}

/**
 * Every problem of the settings at once. A pulumi.RunError: the engine prints its message alone,
 * without the program's stack trace, and the update fails before anything is created.
 */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      `gpmirror: ${problems.length} setting(s) need fixing before anything is created:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const SAFE_PATH = /^\/[A-Za-z0-9_./-]*$/;
export const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
export const IPV6 = /^[0-9A-Fa-f:]+$/;
export const SIZE = /^[0-9]+(kB|MB|GB|TB)$/;
export const SUBNET_PREFIX = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Collects problems instead of stopping at the first, so one preview shows them all. */
export class Reader {
  readonly problems: string[] = [];
  constructor(private readonly raw: RawSettings) {}

  fail(key: string, problem: string, fix: string): void {
    this.problems.push(`${CONFIG_NAMESPACE}:${key}: ${problem}. Fix: ${fix}`);
  }

  value(key: string): unknown {
    return lookup(this.raw, key);
  }

  string(key: string, fallback: string): string {
    const v = this.value(key);
    if (v === undefined || v === null || v === "") return fallback;
    if (typeof v !== "string") {
      this.fail(key, `must be a string, got ${describe(v)}`, `set it to a string value`);
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(key, fallback);
    if (!(allowed as readonly string[]).includes(v)) {
      this.fail(
        key,
        `must be one of ${allowed.join(", ")}, got "${v}"`,
        `pulumi config set ${CONFIG_NAMESPACE}:${key} ${fallback}`,
      );
      return fallback;
    }
    return v as T;
  }

  /** A PostgreSQL size setting, such as 1GB; `example` shows the user a sensible value. */
  size(key: string, fallback: string, example = "1GB or 512MB"): string {
    const v = this.string(key, fallback);
    if (!SIZE.test(v)) {
      this.fail(
        key,
        `must be a size such as ${example}, got "${v}"`,
        "use a whole number with kB, MB, GB or TB",
      );
    }
    return v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined || v === null || v === "") return fallback;
    if (v === true || v === "true") return true;
    if (v === false || v === "false") return false;
    this.fail(
      key,
      `must be true or false, got ${describe(v)}`,
      `pulumi config set ${CONFIG_NAMESPACE}:${key} ${fallback}`,
    );
    return fallback;
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const v = this.value(key);
    if (v === undefined || v === null || v === "") return fallback;
    const n =
      typeof v === "number" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      this.fail(
        key,
        `must be a whole number from ${min} to ${max}, got ${describe(v)}`,
        `pulumi config set ${CONFIG_NAMESPACE}:${key} ${fallback}`,
      );
      return fallback;
    }
    return n;
  }

  name(key: string, fallback: string): string {
    const v = this.string(key, fallback);
    if (!SAFE_NAME.test(v) || v.length > 63) {
      this.fail(
        key,
        `"${v}" is not a plain name (letters, digits, _ . - only, at most 63; no spaces or shell characters)`,
        `use a name such as "${fallback}"`,
      );
      return fallback;
    }
    return v;
  }

  absolutePath(key: string, fallback: string | undefined): string {
    const v = this.string(key, fallback ?? "");
    if (v === "") {
      this.fail(
        key,
        "is required",
        `set an absolute path, e.g. pulumi config set ${CONFIG_NAMESPACE}:${key} /data/primary`,
      );
      return "";
    }
    if (!v.startsWith("/")) {
      this.fail(key, `must be an absolute path, got "${v}"`, `use a path that starts with /`);
    } else if (!SAFE_PATH.test(v) || v.split("/").includes("..") || v === "/") {
      this.fail(
        key,
        `"${v}" has characters that are not allowed in a path here (letters, digits, _ . - / only; no "..", no spaces or shell characters)`,
        `choose a plain absolute path such as /data/gpmirror`,
      );
    }
    return v;
  }

  address(key: string): string {
    const v = this.string(key, "");
    if (v === "") {
      this.fail(key, "is required", `set the host's address or DNS name`);
    } else if (!(HOSTNAME.test(v) || (v.includes(":") && IPV6.test(v)))) {
      this.fail(
        key,
        `"${v}" is not a host name or IP address (no spaces, shell characters or user@ prefixes)`,
        `set it to an address such as 10.0.1.10 or a name such as mdw.example.com`,
      );
    }
    return v;
  }
}

export function lookup(raw: RawSettings, key: string): unknown {
  let cur: unknown = raw;
  for (const part of key.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function describe(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : `${typeof v} ${JSON.stringify(v)}`;
}
