// The known_hosts file on the machine that runs Pulumi, for the commands operators paste.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings } from "../../config";
import { Host } from "../../host";

/** The known_hosts file the operator's command names: the pinned keys, nothing secret. */
export function knownHosts(
  name: string,
  file: string,
  hosts: Host[],
  s: AwsSettings,
  parent: pulumi.CustomResourceOptions,
): command.local.Command {
  const proxy = s.connection.proxy;
  const lines = pulumi
    .all(hosts.map((h) => pulumi.all([h.address, h.hostKey])))
    .apply((pairs) =>
      [
        ...pairs.map(([address, key]) => `${address} ${key}`),
        ...(proxy
          ? [
              `${proxy.sshPort === 22 ? proxy.address : `[${proxy.address}]:${proxy.sshPort}`} ${proxy.hostKey}`,
            ]
          : []),
      ].join("\n"),
    );
  const environment = { GPM_KNOWN_HOSTS_FILE: file, GPM_KNOWN_HOSTS: lines };
  return new command.local.Command(
    `${name}-known-hosts`,
    {
      create: "bash scripts/aws/known-hosts.sh create",
      delete: "bash scripts/aws/known-hosts.sh destroy",
      environment,
      logging: "stderr",
      addPreviousOutputInEnv: false,
    },
    parent,
  );
}
