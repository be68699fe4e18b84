// Who holds the leader key, read before the program decides the roles: after an automatic
// failover `pulumi up` follows the agents instead of fighting them.
import { execFileSync } from "child_process";
import * as fs from "fs";
import { HostRole } from "./config";
import { keyPrefix } from "./automatic";

export interface LeaderReading {
  /** The host (by the role it was built with) that holds the key; undefined: nobody, or no etcd yet. */
  holder?: HostRole;
  /** Why nothing could be read, when so. */
  note?: string;
}

/** etcdctl's flags for the stack's etcd, as the witness (its certificate is on this machine). */
export function etcdctlFlags(tlsDir: string, endpoints: string[]): string[] {
  return [
    `--endpoints=${endpoints.join(",")}`,
    `--cacert=${tlsDir}/ca.crt`,
    `--cert=${tlsDir}/witness.crt`,
    `--key=${tlsDir}/witness.key`,
    "--command-timeout=3s",
    "--dial-timeout=2s",
  ];
}

/**
 * The members' client URLs from the certificates tls.sh made (platform aws: the private
 * addresses are known only once the instances exist); none before the first update.
 */
export function memberEndpoints(tlsDir: string): string[] {
  return ["primary", "standby", "witness"].flatMap((m) => {
    const san = fs.existsSync(`${tlsDir}/${m}.san`)
      ? fs.readFileSync(`${tlsDir}/${m}.san`, "utf8")
      : "";
    const address = /^(?:IP|DNS):([^,]+)/.exec(san)?.[1];
    return address ? [`https://${address}:2379`] : [];
  });
}

/** Who holds the leader key, read with etcdctlFlags. */
export function readLeader(stack: string, tlsDir: string, endpoints: string[]): LeaderReading {
  if (!fs.existsSync(`${tlsDir}/ca.crt`)) return { note: "no etcd yet" };
  try {
    const out = execFileSync(
      "etcdctl",
      [
        ...etcdctlFlags(tlsDir, endpoints),
        "get",
        `${keyPrefix(stack)}/leader`,
        "--print-value-only",
      ],
      {
        encoding: "utf8",
        env: { ...process.env, ETCDCTL_API: "3" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    ).trim();
    if (out === "primary" || out === "standby") return { holder: out };
    return { note: out === "" ? "nobody holds the leader key" : `unexpected holder ${out}` };
  } catch (e) {
    return { note: `etcd could not be read: ${String((e as Error).message).split("\n")[0]}` };
  }
}
