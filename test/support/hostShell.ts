// Runs commands on a stack's hosts the way an operator would: ssh with the stack's client key
// and its pinned known_hosts.
import { execFileSync } from "child_process";
import { shellQuote } from "../../components/shell";

export interface HostAccess {
  address: string;
  sshPort: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
}

export function onHost(host: HostAccess, script: string): string {
  return execFileSync(
    "ssh",
    [
      "-i",
      host.keyPath,
      "-o",
      `UserKnownHostsFile=${host.knownHostsPath}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=10",
      "-p",
      String(host.sshPort),
      `${host.user}@${host.address}`,
      "bash -s",
    ],
    { input: `set -euo pipefail\n${script}`, encoding: "utf8", timeout: 60_000 },
  ).trim();
}

/** psql on the host's own server through its unix socket (the scripts' socket dir). */
export function sql(
  host: HostAccess,
  dataDir: string,
  port: number,
  statement: string,
  database = "postgres",
): string {
  const socketDir = dataDir.replace(/\/[^/]+$/, "/run");
  return onHost(
    host,
    `psql -X -q -At -v ON_ERROR_STOP=1 -h ${shellQuote(socketDir)} -p ${port} -d ${shellQuote(database)} <<'SQL'\n${statement}\nSQL`,
  );
}
