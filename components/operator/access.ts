import * as pulumi from "@pulumi/pulumi";
import { OperatorLogin } from "../engines/engine";
import { Host } from "../host";
import { HostAccess } from "./ssh";

/** What the operator CLIs (status, drill) need from a stack: a secret stack output. */
export interface OperatorAccess {
  privateKey: string;
  /** The operator's database login, when the stack opened one (operator.cidrs). */
  database?: { user: string; password: string; name: string };
  hosts: (HostAccess & { role: string; dbPort: number; dataDir: string; probe: string })[];
}

/** Builds the operatorAccess output from the two hosts and each host's probe text. */
export function operatorAccess(
  hosts: Host[],
  privateKey: pulumi.Output<string>,
  login: OperatorLogin | undefined,
  probe: (host: Host) => pulumi.Output<string>,
): pulumi.Output<OperatorAccess> {
  const views = hosts.map((h) =>
    pulumi
      .all([h.name, h.address, h.sshPort, h.user, h.hostKey, h.dataDir, probe(h)])
      .apply(([name, address, sshPort, user, hostKey, dataDir, probeText]) => ({
        role: h.role,
        name,
        address,
        sshPort,
        user,
        hostKey,
        dbPort: h.dbPort,
        dataDir,
        probe: probeText,
      })),
  );
  const all: pulumi.Output<OperatorAccess> = pulumi
    .all([privateKey, pulumi.all(views), login?.password ?? ""])
    .apply(([key, hs, pw]) => ({
      privateKey: key,
      hosts: hs,
      ...(login ? { database: { user: login.user, password: pw, name: "gpmirror_drill" } } : {}),
    }));
  return pulumi.secret(all);
}
