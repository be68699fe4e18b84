import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, ConfigContext, RawSettings, Reader, lookup } from "./reader";

export interface ExistingHostSettings {
  address: string;
  sshPort: number;
  user: string;
  privateKey: pulumi.Output<string>;
  /** authorized_keys-style public host key line(s); the connection is refused when it differs. */
  hostKey: string;
  dataDir: string;
}

/**
 * The third etcd member of automatic failover on existing hosts: no database, only a
 * directory for etcd's member (`hosts.witness.dir`; default ~/gpmirror-<stack> on the host).
 */
export interface ExistingWitnessSettings extends Omit<ExistingHostSettings, "dataDir"> {
  /** Absolute, or "~/..." (the SSH user's home on the host). */
  dir: string;
}

/** Settings of one host of `platform: existing`. */
export function parseExistingHost(
  r: Reader,
  role: "primary" | "standby",
  ctx: ConfigContext,
  raw: RawSettings,
): ExistingHostSettings {
  return {
    ...parseLogin(r, role, ctx, raw),
    dataDir: r.absolutePath(`hosts.${role}.dataDir`, undefined),
  };
}

/**
 * `hosts.witness.*` (only with activation.automatic): one error naming the setting when the
 * whole host is missing, else the same checks as the masters' logins.
 */
export function parseExistingWitness(
  r: Reader,
  ctx: ConfigContext,
  raw: RawSettings,
): ExistingWitnessSettings | undefined {
  if (lookup(raw, "hosts.witness") === undefined) {
    r.fail(
      "hosts.witness",
      "activation.automatic on platform existing needs a third host for etcd's witness member (any host both masters reach on ports 2379-2380, e.g. a segment host; it runs etcd only, no database)",
      `pulumi config set --path ${CONFIG_NAMESPACE}:hosts.witness.address <address>, and hosts.witness.user, hosts.witness.privateKeyPath and hosts.witness.hostKey as for hosts.primary; or pulumi config set ${CONFIG_NAMESPACE}:activation.automatic false`,
    );
    return undefined;
  }
  const given = r.string("hosts.witness.dir", "");
  return {
    ...parseLogin(r, "witness", ctx, raw),
    dir: given === "" ? `~/gpmirror-${ctx.stack}` : r.absolutePath("hosts.witness.dir", given),
  };
}

function parseLogin(
  r: Reader,
  role: "primary" | "standby" | "witness",
  ctx: ConfigContext,
  raw: RawSettings,
): Omit<ExistingHostSettings, "dataDir"> {
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
  };
}

function readFileOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
