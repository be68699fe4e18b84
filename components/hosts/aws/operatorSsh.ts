// The SSH command line to a host as an operator (and this program, to read etcd on the
// witness) runs it: pinned keys from the known_hosts file, through the bastion when one is set.
import { AwsSettings } from "../../config";
import { shellQuote } from "../../shell";

export function operatorSsh(
  c: Pick<AwsSettings["connection"], "privateKeyPath" | "knownHostsFile" | "proxy">,
  user: string,
  address: string,
  port = 22,
): string {
  const key = c.privateKeyPath === "" ? "" : `-i ${shellQuote(c.privateKeyPath)} `;
  const checked = `${key}-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${shellQuote(c.knownHostsFile)}`;
  const p = c.proxy;
  const jump = p
    ? ` -o ProxyCommand=${shellQuote(`ssh ${checked} -W %h:%p -p ${p.sshPort} ${p.user}@${p.address}`)}`
    : "";
  return `ssh ${checked}${jump} -p ${port} ${user}@${address}`;
}
