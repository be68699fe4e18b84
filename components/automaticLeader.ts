// Who holds the leader key, read before the program decides the roles: after an automatic
// failover `pulumi up` follows the agents instead of fighting them.
import { execFileSync } from "child_process";
import * as fs from "fs";
import { HostRole } from "./config";
import { keyPrefix } from "./automatic";
import { shellQuote } from "./shell";

export interface LeaderReading {
  /** The host (by the role it was built with) that holds the key; undefined: nobody, or no etcd yet. */
  holder?: HostRole;
  /** Why nothing could be read, when so. */
  note?: string;
}

/** etcdctl's flags for the stack's etcd, as the witness (its certificate is on this machine). */
export function etcdctlFlags(
  tlsDir: string,
  endpoints: string[],
  files = { cert: "witness.crt", key: "witness.key" },
): string[] {
  return [
    `--endpoints=${endpoints.join(",")}`,
    `--cacert=${tlsDir}/ca.crt`,
    `--cert=${tlsDir}/${files.cert}`,
    `--key=${tlsDir}/${files.key}`,
    "--command-timeout=3s",
    "--dial-timeout=2s",
  ];
}

/** A member's address, from the certificate tls.sh made for it; undefined before the first update. */
export function memberAddress(tlsDir: string, member: string): string | undefined {
  const file = `${tlsDir}/${member}.san`;
  const san = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  return /^(?:IP|DNS):([^,]+)/.exec(san)?.[1];
}

/**
 * The members' client URLs (platform aws: the private addresses are known only once the
 * instances exist, and tls.sh made a certificate for each).
 */
export function memberEndpoints(tlsDir: string): string[] {
  return ["primary", "standby", "witness"].flatMap((m) => {
    const address = memberAddress(tlsDir, m);
    return address ? [`https://${address}:2379`] : [];
  });
}

/**
 * Where etcd is read from when this machine cannot reach its members (platform aws: etcd's
 * ports are open among the three hosts only): on the witness, over the operators' SSH line,
 * with the witness's own certificate (etcd.sh keeps it in <autoDir>/etcd/tls).
 */
export interface WitnessRead {
  ssh: string;
  autoDir: string;
}

/** Who holds the leader key, read with etcdctlFlags (here, or on the witness). */
export function readLeader(
  stack: string,
  tlsDir: string,
  endpoints: string[],
  onWitness?: WitnessRead,
): LeaderReading {
  if (!fs.existsSync(`${tlsDir}/ca.crt`)) return { note: "no etcd yet" };
  const get = ["get", `${keyPrefix(stack)}/leader`, "--print-value-only"];
  const [file, args] = onWitness
    ? [
        "bash",
        [
          "-c",
          `${onWitness.ssh} ${shellQuote(
            [
              "env",
              "ETCDCTL_API=3",
              "etcdctl",
              ...etcdctlFlags(`${onWitness.autoDir}/etcd/tls`, ["https://127.0.0.1:2379"], {
                cert: "host.crt",
                key: "host.key",
              }),
              ...get,
            ]
              .map(shellQuote)
              .join(" "),
          )}`,
        ],
      ]
    : ["etcdctl", [...etcdctlFlags(tlsDir, endpoints), ...get]];
  try {
    const out = execFileSync(file, args, {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
      stdio: ["ignore", "pipe", "pipe"],
      // etcdctl's own bounds cover etcd; this one covers SSH (and a bastion) too.
      timeout: 30_000,
    }).trim();
    if (out === "primary" || out === "standby") return { holder: out };
    return { note: out === "" ? "nobody holds the leader key" : `unexpected holder ${out}` };
  } catch (e) {
    return { note: `etcd could not be read: ${String((e as Error).message).split("\n")[0]}` };
  }
}
