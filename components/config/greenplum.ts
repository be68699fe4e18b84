import { parseHookCommand } from "./activation";
import { CONFIG_NAMESPACE, HOSTNAME, Reader, SAFE_PATH, describe } from "./reader";

/** Which Greenplum the hosts run; `auto` reads `postgres --gp-version` on each host. */
export type GreenplumVersionHint = "auto" | "6" | "7" | "cloudberry";

/** Settings of `engine: greenplum` (the `greenplum.*` keys). */
export interface GreenplumSettings {
  /** Installation directory holding greenplum_path.sh (or cloudberry-env.sh) on both hosts. */
  gphome: string;
  /** The Greenplum administrator; SSH must log in as this user on both hosts. */
  adminUser: string;
  version: GreenplumVersionHint;
  /** WAL the coordinator keeps for an absent standby (wal_keep_size; wal_keep_segments on 6). */
  walKeepSize: string;
  /** wal_sender_timeout in seconds: how long a hung standby can hold a synchronous commit. */
  walSenderTimeoutSeconds: number;
  /** Replace a registered standby that cannot catch up or sits elsewhere (gpinitstandby -r). */
  allowReplaceStandby: boolean;
  /** Rename a leftover standby data directory with a timestamp instead of stopping. */
  moveAsideLeftoverDataDir: boolean;
  /** Create a Greenplum system on the primary host with gpinitsystem when none exists. */
  initializeSystem: boolean;
  /** Segment hosts for initializeSystem (they must already trust the primary host over SSH). */
  segmentHosts: string[];
  /** Parent directory of the segment data directories on each segment host. */
  segmentDataDir: string;
  segmentsPerHost: number;
  segmentPortBase: number;
  /** Bound on gpactivatestandby, so an unreachable old host cannot hang activation. */
  activationTimeoutSeconds: number;
  /**
   * Fences (and lifts the fence of) a stale coordinator at a segment host where the admin
   * user has no `sudo -n nft` there; run on the new coordinator's host. "": none.
   */
  segmentFenceCommand: string;
  /** Bound on each run of segmentFenceCommand. */
  segmentFenceTimeoutSeconds: number;
}

function bool(r: Reader, key: string, fallback: boolean): boolean {
  const v = r.value(key);
  if (v === undefined || v === null || v === "") return fallback;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  r.fail(
    key,
    `must be true or false, got ${describe(v)}`,
    `pulumi config set ${CONFIG_NAMESPACE}:${key} ${fallback}`,
  );
  return fallback;
}

/**
 * On a local stack gpmirror makes the segment host itself (its name) and the system with it:
 * initializeSystem is implied, and segment data lives in the admin user's home, the one
 * directory each local host has to itself.
 */
export interface LocalSegments {
  hostNames: string[];
}

/** Parses `greenplum.*`; called only when `engine` is greenplum. */
export function parseGreenplum(
  r: Reader,
  primaryDbPort: number,
  local?: LocalSegments,
): GreenplumSettings {
  const k = (s: string) => `greenplum.${s}`;
  const adminUser = r.name(k("adminUser"), "gpadmin");
  const gphome = r.string(k("gphome"), "/usr/local/greenplum-db");
  if (!SAFE_PATH.test(gphome) || gphome.split("/").includes("..") || gphome === "/") {
    r.fail(
      k("gphome"),
      `"${gphome}" is not a plain absolute path`,
      "set the Greenplum installation directory, e.g. /usr/local/greenplum-db",
    );
  }
  const walKeepSize = r.size(k("walKeepSize"), "1GB");
  const initializeSystem = bool(r, k("initializeSystem"), local !== undefined);
  if (local && !initializeSystem) {
    r.fail(
      k("initializeSystem"),
      "a local stack's hosts are new, so gpmirror must create the Greenplum system on them",
      `remove it (pulumi config rm ${CONFIG_NAMESPACE}:greenplum.initializeSystem) or set it true`,
    );
  }
  const rawHosts = r.value(k("segmentHosts"));
  let segmentHosts: string[] = local?.hostNames ?? [];
  if (local && rawHosts !== undefined) {
    r.fail(
      k("segmentHosts"),
      `a local stack makes its own segment host (${local.hostNames.join(", ")})`,
      `remove it: pulumi config rm --path '${CONFIG_NAMESPACE}:greenplum.segmentHosts'`,
    );
  } else if (rawHosts !== undefined) {
    if (
      !Array.isArray(rawHosts) ||
      rawHosts.some((h) => typeof h !== "string" || !HOSTNAME.test(h))
    ) {
      r.fail(
        k("segmentHosts"),
        `must be a list of host names, got ${describe(rawHosts)}`,
        `pulumi config set --path '${CONFIG_NAMESPACE}:greenplum.segmentHosts[0]' sdw1`,
      );
    } else {
      segmentHosts = rawHosts as string[];
      const twice = segmentHosts.filter((h, i) => segmentHosts.indexOf(h) !== i);
      if (twice.length > 0) {
        r.fail(
          k("segmentHosts"),
          `names ${[...new Set(twice)].join(", ")} more than once (gpinitsystem refuses duplicate hosts)`,
          `list each segment host once; greenplum.segmentsPerHost sets how many segments each gets`,
        );
      }
    }
  }
  if (initializeSystem && segmentHosts.length === 0) {
    r.fail(
      k("segmentHosts"),
      "initializeSystem needs at least one segment host",
      `pulumi config set --path '${CONFIG_NAMESPACE}:greenplum.segmentHosts[0]' sdw1`,
    );
  }
  const segmentPortBase = r.integer(k("segmentPortBase"), 6000, 1024, 65000);
  const segmentsPerHost = r.integer(k("segmentsPerHost"), local ? 2 : 1, 1, 64);
  if (
    initializeSystem &&
    primaryDbPort >= segmentPortBase &&
    primaryDbPort < segmentPortBase + segmentsPerHost
  ) {
    r.fail(
      k("segmentPortBase"),
      `segment ports ${segmentPortBase}-${segmentPortBase + segmentsPerHost - 1} include the coordinator's port ${primaryDbPort}`,
      "choose a segmentPortBase away from dbPort",
    );
  }
  const home = `/home/${adminUser}`;
  const segmentDataDir = initializeSystem
    ? r.absolutePath(k("segmentDataDir"), local ? `${home}/data/primary` : "/data/primary")
    : r.string(k("segmentDataDir"), "/data/primary");
  if (local && !segmentDataDir.startsWith(`${home}/`)) {
    r.fail(
      k("segmentDataDir"),
      `"${segmentDataDir}" is outside ${home}, the only directory a local host has to itself`,
      `remove it (default ${home}/data/primary) or choose a directory under ${home}`,
    );
  }
  const segmentFence = parseHookCommand(
    r,
    k("segmentFenceCommand"),
    k("segmentFenceTimeoutSeconds"),
    '/usr/local/bin/segment-fence "$GPM_FENCE_ACTION" "$GPM_FENCE_SEGMENT_HOST" "$GPM_FENCE_ADDRESS" "$GPM_FENCE_SEGMENT_PORTS"',
  );
  return {
    gphome,
    adminUser,
    version: r.oneOf<GreenplumVersionHint>(k("version"), ["auto", "6", "7", "cloudberry"], "auto"),
    walKeepSize,
    walSenderTimeoutSeconds: r.integer(k("walSenderTimeoutSeconds"), 60, 5, 3600),
    allowReplaceStandby: bool(r, k("allowReplaceStandby"), false),
    moveAsideLeftoverDataDir: bool(r, k("moveAsideLeftoverDataDir"), true),
    initializeSystem,
    segmentHosts,
    segmentDataDir,
    segmentsPerHost,
    segmentPortBase,
    activationTimeoutSeconds: r.integer(k("activationTimeoutSeconds"), 900, 60, 7200),
    segmentFenceCommand: segmentFence.command,
    segmentFenceTimeoutSeconds: segmentFence.timeoutSeconds,
  };
}
