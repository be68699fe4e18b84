// The one place where gpmirror's settings are read and validated. Everything else takes
// the typed MirrorConfig; nothing else reads pulumi.Config. Each platform's and engine's
// settings are parsed in a file of their own beside this one.
import * as os from "os";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, parseAws } from "./aws";
import { parseAwsWitness } from "./awsWitness";
import { ActivationSettings, parseActivation } from "./activation";
import { AutomaticSettings, CLOCK_MARGIN_MS, FENCE_BUDGET_MS } from "./automatic";
import { DrillObjectives, OperatorSettings, parseDrill, parseOperator } from "./operator";
import {
  ExistingHostSettings,
  ExistingWitnessSettings,
  parseExistingHost,
  parseExistingWitness,
} from "./existing";
import { GreenplumSettings, parseGreenplum } from "./greenplum";
import { checkKeys } from "./keys";
import {
  LOCAL_SEGMENT_ROLES,
  LocalSettings,
  checkLocalGreenplum,
  localHostName,
  parseLocal,
} from "./local";
import {
  CONFIG_NAMESPACE,
  ConfigContext,
  ConfigError,
  RawSettings,
  Reader,
  SAFE_NAME,
  lookup,
} from "./reader";

export { CONFIG_NAMESPACE, ConfigError } from "./reader";
export type { ConfigContext, RawSettings } from "./reader";
export type { LocalMode, LocalSettings } from "./local";
export { LOCAL_SEGMENT_ROLES, localHostName } from "./local";
export type { ExistingHostSettings, ExistingWitnessSettings } from "./existing";
export type { ActivationMode, ActivationSettings, HostRole } from "./activation";
export type { AutomaticSettings } from "./automatic";
export type { DrillObjectives, OperatorSettings } from "./operator";
export type {
  AwsHostSettings,
  AwsSettings,
  AwsWitnessSettings,
  PortRange,
  ProxySettings,
} from "./aws";
export type { GreenplumSettings, GreenplumVersionHint } from "./greenplum";

export type Platform = "local" | "existing" | "aws";
export type EngineName = "postgres" | "greenplum";

export type ReprotectMethod = "rewind" | "snapshot";

export interface ReplicationSettings {
  user: string;
  slotName: string;
  /** Bound on WAL the slot may hold for an absent standby (max_slot_wal_keep_size). */
  maxSlotWalKeepSize: string;
  /** WAL kept for standbys whatever their slot says (wal_keep_size). */
  walKeepSize: string;
  /** Bound on the base backup's read rate on the primary (pg_basebackup --max-rate); "": none. */
  baseBackupMaxRate: string;
  /** How long the verify step waits for `streaming`. */
  timeoutSeconds: number;
  /** Every commit waits until the standby has flushed it (RPO 0; see README). */
  synchronous: boolean;
  /**
   * How a fenced old primary becomes the standby again: rewind (pg_rewind: only the blocks
   * that changed since the timelines split are copied; its writes after the split are
   * discarded) or snapshot (moved aside whole, kept, and replaced by a fresh base backup).
   */
  reprotect: ReprotectMethod;
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
  existing?: {
    primary: ExistingHostSettings;
    standby: ExistingHostSettings;
    /** etcd's third member (activation.automatic only). */
    witness?: ExistingWitnessSettings;
    /** This machine's directory for the stack's files (the etcd CA and certificates). */
    stateDir: string;
  };
  aws?: AwsSettings;
  greenplum?: GreenplumSettings;
  activation: ActivationSettings;
  operator: OperatorSettings;
  drill: DrillObjectives;
  /** Bound on one run of a remote step, enforced on the host (`timeout`). */
  stepTimeoutSeconds: number;
}

/** Validates raw settings; throws one ConfigError that lists every problem found. */
export function parseSettings(raw: RawSettings, ctx: ConfigContext): MirrorConfig {
  const r = new Reader(raw);
  checkKeys(r, raw);
  if (!SAFE_NAME.test(ctx.stack) || !/^[a-z0-9-]+$/.test(ctx.stack)) {
    r.problems.push(
      `stack name "${ctx.stack}": gpmirror uses it in host and directory names, so it may hold only a-z, 0-9 and -. Fix: pulumi stack init <such a name>`,
    );
  }
  const platform = r.oneOf<Platform>("platform", ["local", "existing", "aws"], "local");
  const engine = r.oneOf<EngineName>("engine", ["postgres", "greenplum"], "postgres");
  const primaryDbPort = r.integer("dbPort", 5432, 1, 65535);
  const local = platform === "local" ? parseLocal(r, ctx) : undefined;
  const localSegments = local
    ? { hostNames: LOCAL_SEGMENT_ROLES.map((role) => localHostName(ctx.stack, role)) }
    : undefined;
  const greenplum =
    engine === "greenplum" ? parseGreenplum(r, primaryDbPort, localSegments) : undefined;
  if (local && greenplum) checkLocalGreenplum(r, local, greenplum.adminUser);
  const aws = platform === "aws" ? parseAws(r, ctx, raw, greenplum) : undefined;
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
  const existing: MirrorConfig["existing"] =
    platform === "existing"
      ? {
          primary: parseExistingHost(r, "primary", ctx, raw),
          standby: parseExistingHost(r, "standby", ctx, raw),
          stateDir: `${ctx.homeDir}/.gpmirror/${ctx.stack}`,
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
  const size = r.size("replication.maxSlotWalKeepSize", "1GB");
  const walKeepSize = r.size("replication.walKeepSize", "256MB", "256MB or 0MB");
  const baseBackupMaxRate = r.string("replication.baseBackupMaxRate", "");
  if (baseBackupMaxRate !== "" && !/^[0-9]{1,7}[kM]$/.test(baseBackupMaxRate)) {
    r.fail(
      "replication.baseBackupMaxRate",
      `must be a rate such as 50M or 500k (bytes per second), got "${baseBackupMaxRate}"`,
      "use a whole number with k or M, or remove it for no bound",
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
    walKeepSize,
    baseBackupMaxRate,
    timeoutSeconds: r.integer("replication.timeoutSeconds", 120, 5, 3600),
    synchronous: r.boolean("replication.synchronous", false),
    reprotect: r.oneOf<ReprotectMethod>("replication.reprotect", ["rewind", "snapshot"], "rewind"),
    password: typeof passwordRaw === "string" ? pulumi.secret(passwordRaw) : undefined,
  };
  if (!/^[a-z0-9_]{1,63}$/.test(replication.slotName)) {
    r.fail(
      "replication.slotName",
      `"${replication.slotName}" is not a valid slot name (a-z, 0-9, _ only)`,
      "use a name such as gpmirror_standby",
    );
  }
  const activation = parseActivation(r);
  if (activation.automatic) {
    checkAutomatic(r, platform, engine, local, activation.protect);
    if (greenplum) checkAutomaticGreenplum(r, activation.automatic, greenplum);
  }
  if (activation.automatic && aws) aws.witness = parseAwsWitness(r, ctx, aws);
  if (activation.automatic && existing) {
    existing.witness = parseExistingWitness(r, ctx, raw);
    for (const role of ["primary", "standby", "witness"] as const) {
      // etcd's endpoints and peer URLs are built as https://<address>:port.
      if ((existing[role]?.address ?? "").includes(":")) {
        r.fail(
          `hosts.${role}.address`,
          "automatic failover takes IPv4 addresses or host names so far (etcd's URLs are built from them)",
          "give the host's IPv4 address or a name that resolves on all three hosts",
        );
      }
    }
    const w = existing.witness?.address;
    if (w && (w === existing.primary.address || w === existing.standby.address)) {
      r.fail(
        "hosts.witness.address",
        `${w} is one of the master hosts: etcd's three members must be three hosts, or losing that host loses two votes and no master can lead`,
        "name a third host both masters reach (e.g. a segment host)",
      );
    }
  } else if (lookup(raw, "hosts.witness") !== undefined) {
    r.fail(
      "hosts.witness",
      "is used only by automatic failover on platform existing (activation.automatic)",
      `pulumi config rm --path ${CONFIG_NAMESPACE}:hosts.witness, or turn activation.automatic on`,
    );
  }
  if (engine === "greenplum" && r.value("activation.maxLagBytes") !== undefined) {
    // A setting that silently does nothing would be a bound that does not hold.
    r.fail(
      "activation.maxLagBytes",
      "is not applied by the Greenplum engine: its standby coordinator cannot be queried (hot_standby is off), and once the old coordinator is down nothing tells how far behind the standby was (activation.last.lagBytes reports it when the old one answered)",
      "remove activation.maxLagBytes; check npm run status (lag in bytes) before a forced failover",
    );
  }
  const operator = parseOperator(r, local);
  const drill = parseDrill(r);
  const stepTimeoutSeconds = r.integer("stepTimeoutSeconds", 900, 10, 86400);
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
    aws,
    greenplum,
    activation,
    operator,
    drill,
    stepTimeoutSeconds,
  };
}

/** What automatic failover needs that other settings decide (what is built so far). */
function checkAutomatic(
  r: Reader,
  platform: Platform,
  engine: EngineName,
  local: LocalSettings | undefined,
  protect: boolean,
): void {
  const off = `pulumi config set ${CONFIG_NAMESPACE}:activation.automatic false`;
  if (platform === "local" && local?.mode !== "netns") {
    r.fail(
      "activation.automatic",
      `is built for platforms existing, aws, and local with local.mode netns (etcd's witness is a third host, on the local platform a third namespace), got platform local with local.mode ${local?.mode ?? "loopback"}`,
      `run it as root on platform local, on hosts you run (platform existing), or ${off}`,
    );
  }
  if (engine === "greenplum" && platform !== "local") {
    r.fail(
      "activation.automatic",
      `is built for engine greenplum on platform local so far (proven on the local Greenplum cluster), got platform ${platform}`,
      off,
    );
  }
  if (!protect) {
    r.fail("activation.automatic", "needs a standby to fail over to (protect is off)", off);
  }
}

/**
 * Greenplum's coordinator waits for its standby at commit only while the stream is up; once
 * wal_sender_timeout ends a hung stream, commits go on without it. A coordinator cut off from
 * the standby and from etcd must fence itself (at its fence deadline) before that.
 */
function checkAutomaticGreenplum(
  r: Reader,
  automatic: AutomaticSettings,
  greenplum: GreenplumSettings,
): void {
  const needMs = automatic.fenceAfterMs + FENCE_BUDGET_MS + CLOCK_MARGIN_MS;
  if (greenplum.walSenderTimeoutSeconds * 1000 <= needMs) {
    r.fail(
      "greenplum.walSenderTimeoutSeconds",
      `must be longer than the agent's fence deadline (activation.retryWindowMs + renew interval + reconnect allowance) plus the fence (${needMs} ms) with automatic failover, got ${greenplum.walSenderTimeoutSeconds} s: a coordinator cut off from its standby would acknowledge commits without it before its agent fences it`,
      `pulumi config set ${CONFIG_NAMESPACE}:greenplum.walSenderTimeoutSeconds ${Math.ceil(needMs / 1000) + 5}`,
    );
  }
  if (greenplum.version === "6") {
    r.fail(
      "activation.automatic",
      "is built for Greenplum 7 and Apache Cloudberry: the agent reads the coordinator's WAL position with their functions and tells a standby by standby.signal",
      `pulumi config set ${CONFIG_NAMESPACE}:activation.automatic false`,
    );
  }
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
