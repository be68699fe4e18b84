import * as os from "os";
import * as path from "path";
import { ConfigContext, Reader, SUBNET_PREFIX } from "./reader";

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

/** The roles of a local stack's hosts besides the pair: Greenplum's segment host. */
export const LOCAL_SEGMENT_ROLES = ["seg1"] as const;

/** A local host's name (its host name on Greenplum hosts), as scripts/local-hosts.sh makes it. */
export function localHostName(stack: string, role: string): string {
  return `${stack}-${role}`;
}

/**
 * A local Greenplum stack: each host needs its own /tmp and home (a mount namespace, so
 * root and netns mode), and SSH logs in as the Greenplum administrator.
 */
export function checkLocalGreenplum(r: Reader, local: LocalSettings, adminUser: string): void {
  if (local.mode !== "netns") {
    r.fail(
      "local.mode",
      "a local Greenplum stack needs netns: each host has its own network, /tmp and home, which takes namespaces and so root",
      "run as root and remove local.mode (or set it to netns)",
    );
  }
  if (r.value("local.osUser") !== undefined && local.osUser !== adminUser) {
    r.fail(
      "local.osUser",
      `on a local Greenplum stack SSH logs in as the Greenplum administrator (${adminUser}), not "${local.osUser}"`,
      "remove local.osUser, or set greenplum.adminUser instead",
    );
  }
}

/** Settings of `platform: local`: two hosts on this machine. */
export function parseLocal(r: Reader, ctx: ConfigContext): LocalSettings {
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
