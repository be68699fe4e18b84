// The one place where gpmirror's settings are read and validated. Everything else takes
// the typed MirrorConfig; nothing else reads pulumi.Config.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export const CONFIG_NAMESPACE = "gpmirror";

export type Platform = "local" | "existing";
export type EngineName = "postgres";
export type LocalMode = "netns" | "loopback";

export interface LocalSettings {
  /** netns: each host is a network namespace (root); loopback: sshd + PostgreSQL on 127.0.0.1 ports. */
  mode: LocalMode;
  /** Where host homes, keys and data directories live on this machine. */
  stateDir: string;
  /** First three octets of the /24 the namespaces live in (netns mode). */
  subnet: string;
  /** Linux bridge that joins the namespaces (netns mode). */
  bridge: string;
  /** SSH port of the primary in loopback mode; the standby uses the next one. */
  sshPortBase: number;
  /** OS user that SSH logs in as and that runs PostgreSQL (netns mode). */
  osUser: string;
}

export interface ExistingHostSettings {
  address: string;
  sshPort: number;
  user: string;
  privateKey: pulumi.Output<string>;
  /** authorized_keys-style public host key line(s); the connection is refused when it differs. */
  hostKey: string;
  dataDir: string;
}

export interface ReplicationSettings {
  user: string;
  slotName: string;
  /** Bound on WAL the slot may hold for an absent standby (max_slot_wal_keep_size). */
  maxSlotWalKeepSize: string;
  /** How long the verify step waits for `streaming`. */
  timeoutSeconds: number;
  /** Given as a secret in config; generated once and kept in state when absent. */
  password?: pulumi.Output<string>;
}

export interface MirrorConfig {
  stack: string;
  platform: Platform;
  engine: EngineName;
  primaryDbPort: number;
  standbyDbPort: number;
  replication: ReplicationSettings;
  local?: LocalSettings;
  existing?: { primary: ExistingHostSettings; standby: ExistingHostSettings };
}

/** Raw settings as the stack file holds them: strings, numbers, booleans or objects. */
export type RawSettings = Record<string, unknown>;

export interface ConfigContext {
  stack: string;
  uid: number;
  homeDir: string;
  /** Reads a file named by a setting (SSH keys); injectable for tests. */
  readFile?: (file: string) => string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `gpmirror: ${problems.length} setting(s) need fixing before anything is created:\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

const KNOWN_KEYS = [
  "platform",
  "engine",
  "dbPort",
  "standbyDbPort",
  "replication",
  "replicationPassword",
  "local",
  "hosts",
] as const;

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const SAFE_PATH = /^\/[A-Za-z0-9_./-]*$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:]+$/;
const SIZE = /^[0-9]+(kB|MB|GB|TB)$/;
const SUBNET_PREFIX = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Collects problems instead of stopping at the first, so one preview shows them all. */
class Reader {
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

function lookup(raw: RawSettings, key: string): unknown {
  let cur: unknown = raw;
  for (const part of key.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function describe(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : `${typeof v} ${JSON.stringify(v)}`;
}

function parseLocal(r: Reader, ctx: ConfigContext): LocalSettings {
  const defaultMode: LocalMode = ctx.uid === 0 ? "netns" : "loopback";
  const mode = r.oneOf<LocalMode>("local.mode", ["netns", "loopback"], defaultMode);
  if (mode === "netns" && ctx.uid !== 0) {
    r.fail(
      "local.mode",
      "netns needs root (network namespaces)",
      "run as root, or set local.mode to loopback",
    );
  }
  const defaultStateDir =
    ctx.uid === 0
      ? `/var/lib/gpmirror/${ctx.stack}`
      : path.join(ctx.homeDir, ".gpmirror", ctx.stack);
  const subnet = r.string("local.subnet", "10.201.0");
  const octets = SUBNET_PREFIX.exec(subnet);
  if (!octets || octets.slice(1).some((o) => Number(o) > 255)) {
    r.fail(
      "local.subnet",
      `must be the first three octets of a /24, such as 10.201.0, got "${subnet}"`,
      "use 10.201.0",
    );
  }
  const bridge = r.name("local.bridge", `gpm-${ctx.stack}`.slice(0, 15));
  if (bridge.length > 15) {
    r.fail(
      "local.bridge",
      `"${bridge}" is longer than 15 characters (a Linux interface name)`,
      "use a shorter name",
    );
  }
  return {
    mode,
    stateDir: r.absolutePath("local.stateDir", defaultStateDir),
    subnet,
    bridge,
    sshPortBase: r.integer("local.sshPortBase", 22010, 1024, 65534),
    osUser: r.name("local.osUser", mode === "netns" ? "gpmirror" : os.userInfo().username),
  };
}

function parseExistingHost(
  r: Reader,
  role: "primary" | "standby",
  ctx: ConfigContext,
  raw: RawSettings,
): ExistingHostSettings {
  const k = (s: string) => `hosts.${role}.${s}`;
  const keyPath = r.string(k("privateKeyPath"), "");
  const inline = lookup(raw, k("privateKey"));
  let privateKey = "";
  if (typeof inline === "string" && inline !== "") {
    privateKey = inline;
  } else if (keyPath === "") {
    r.fail(
      k("privateKeyPath"),
      "no SSH private key given for this host",
      `pulumi config set ${CONFIG_NAMESPACE}:${k("privateKeyPath")} ~/.ssh/id_ed25519 (or set ${k("privateKey")} with --secret)`,
    );
  } else {
    const file = keyPath.startsWith("~/") ? path.join(ctx.homeDir, keyPath.slice(2)) : keyPath;
    const text = (ctx.readFile ?? readFileOrUndefined)(file);
    if (text === undefined) {
      r.fail(
        k("privateKeyPath"),
        `cannot read the SSH private key at ${file}`,
        "point it at an existing key file readable by this user",
      );
    } else if (!/PRIVATE KEY-----/.test(text)) {
      r.fail(
        k("privateKeyPath"),
        `${file} does not look like a private key (no "PRIVATE KEY" header)`,
        "point it at the private half of the key pair",
      );
    } else {
      privateKey = text;
    }
  }
  const hostKey = r.string(k("hostKey"), "");
  if (!/^(ssh-|ecdsa-)[A-Za-z0-9-]+ [A-Za-z0-9+/=]+/.test(hostKey)) {
    r.fail(
      k("hostKey"),
      hostKey === ""
        ? "is required: host keys are pinned, never ignored"
        : `"${hostKey.slice(0, 40)}" is not a public host key line`,
      `copy it from the host: ssh-keyscan -t ed25519 <address> (check it out of band), then pulumi config set ${CONFIG_NAMESPACE}:${k("hostKey")} "ssh-ed25519 AAAA..."`,
    );
  }
  return {
    address: r.address(k("address")),
    sshPort: r.integer(k("sshPort"), 22, 1, 65535),
    user: r.name(k("user"), "postgres"),
    privateKey: pulumi.secret(privateKey),
    hostKey,
    dataDir: r.absolutePath(k("dataDir"), undefined),
  };
}

function readFileOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Validates raw settings; throws one ConfigError that lists every problem found. */
export function parseSettings(raw: RawSettings, ctx: ConfigContext): MirrorConfig {
  const r = new Reader(raw);
  for (const key of Object.keys(raw)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      r.fail(
        key,
        "is not a gpmirror setting",
        `remove it, or use one of: ${KNOWN_KEYS.join(", ")}`,
      );
    }
  }
  if (!SAFE_NAME.test(ctx.stack) || !/^[a-z0-9-]+$/.test(ctx.stack)) {
    r.problems.push(
      `stack name "${ctx.stack}": gpmirror uses it in host and directory names, so it may hold only a-z, 0-9 and -. Fix: pulumi stack init <such a name>`,
    );
  }
  const platform = r.oneOf<Platform>("platform", ["local", "existing"], "local");
  const engine = r.oneOf<EngineName>("engine", ["postgres"], "postgres");
  const primaryDbPort = r.integer("dbPort", 5432, 1, 65535);
  const local = platform === "local" ? parseLocal(r, ctx) : undefined;
  // On one loopback address the two servers need different ports.
  const standbyDefault = local?.mode === "loopback" ? primaryDbPort + 1 : primaryDbPort;
  const standbyDbPort = r.integer("standbyDbPort", Math.min(standbyDefault, 65535), 1, 65535);
  if (local?.mode === "loopback" && standbyDbPort === primaryDbPort) {
    r.fail(
      "standbyDbPort",
      "must differ from dbPort when both hosts share 127.0.0.1 (loopback mode)",
      `pulumi config set ${CONFIG_NAMESPACE}:standbyDbPort ${primaryDbPort + 1}`,
    );
  }
  const existing =
    platform === "existing"
      ? {
          primary: parseExistingHost(r, "primary", ctx, raw),
          standby: parseExistingHost(r, "standby", ctx, raw),
        }
      : undefined;
  if (
    existing &&
    existing.primary.address !== "" &&
    existing.primary.address === existing.standby.address &&
    primaryDbPort === standbyDbPort
  ) {
    r.fail(
      "hosts.standby.address",
      "the standby is the same host and port as the primary",
      "use another host, or set standbyDbPort to another port",
    );
  }
  const size = r.string("replication.maxSlotWalKeepSize", "1GB");
  if (!SIZE.test(size)) {
    r.fail(
      "replication.maxSlotWalKeepSize",
      `must be a size such as 1GB or 512MB, got "${size}"`,
      "use a whole number with kB, MB, GB or TB",
    );
  }
  const passwordRaw = raw["replicationPassword"];
  if (passwordRaw !== undefined && (typeof passwordRaw !== "string" || passwordRaw.length < 16)) {
    r.fail(
      "replicationPassword",
      "must be a string of at least 16 characters",
      `pulumi config set --secret ${CONFIG_NAMESPACE}:replicationPassword <password>, or remove it to have one generated`,
    );
  }
  const replication: ReplicationSettings = {
    user: r.name("replication.user", "replicator"),
    slotName: r.string("replication.slotName", "gpmirror_standby"),
    maxSlotWalKeepSize: size,
    timeoutSeconds: r.integer("replication.timeoutSeconds", 120, 5, 3600),
    password: typeof passwordRaw === "string" ? pulumi.secret(passwordRaw) : undefined,
  };
  if (!/^[a-z0-9_]{1,63}$/.test(replication.slotName)) {
    r.fail(
      "replication.slotName",
      `"${replication.slotName}" is not a valid slot name (a-z, 0-9, _ only)`,
      "use a name such as gpmirror_standby",
    );
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return {
    stack: ctx.stack,
    platform,
    engine,
    primaryDbPort,
    standbyDbPort,
    replication,
    local,
    existing,
  };
}

/** Reads the `gpmirror:*` settings of the current stack and validates them. */
export function loadConfig(): MirrorConfig {
  const raw: RawSettings = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(prefix)) continue;
    raw[key.slice(prefix.length)] = parseValue(value);
  }
  return parseSettings(raw, {
    stack: pulumi.getStack(),
    uid: process.getuid ? process.getuid() : 1000,
    homeDir: os.homedir(),
  });
}

/** Stack files hold objects as JSON text; scalars stay strings and are typed by the parser. */
function parseValue(value: string): unknown {
  if (value.startsWith("{") || value.startsWith("[")) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}
