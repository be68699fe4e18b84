import * as pulumi from "@pulumi/pulumi";
import { ExistingHostSettings } from "../config";
import { SshCommandLine } from "../engines/engine";
import { Host } from "../host";

/** Hosts the user already runs: nothing is created, the same steps run on them. */
export class ExistingHosts implements SshCommandLine {
  readonly primary: Host;
  readonly standby: Host;

  constructor(
    settings: { primary: ExistingHostSettings; standby: ExistingHostSettings },
    primaryDbPort: number,
    standbyDbPort: number,
  ) {
    const make = (role: "primary" | "standby", h: ExistingHostSettings, dbPort: number): Host => ({
      role,
      name: pulumi.output(`${role}-${h.address}`.replace(/[^A-Za-z0-9_]/g, "_")),
      address: pulumi.output(h.address),
      sshPort: pulumi.output(h.sshPort),
      user: pulumi.output(h.user),
      privateKey: h.privateKey,
      hostKey: pulumi.output(h.hostKey),
      dbPort,
      dataDir: pulumi.output(h.dataDir),
      instance: pulumi.output(`${h.address}:${h.sshPort}`),
      ready: [],
      hostKeyFix: `if the host was rebuilt on purpose, set gpmirror:hosts.${role}.hostKey to its new key (read it on the host, or ssh-keyscan -p ${h.sshPort} ${h.address} from a network you trust); otherwise find out who answers at ${h.address}`,
    });
    this.primary = make("primary", settings.primary, primaryDbPort);
    this.standby = make("standby", settings.standby, standbyDbPort);
  }

  prefix(host: Host): pulumi.Output<string> {
    return pulumi.interpolate`ssh -p ${host.sshPort} ${host.user}@${host.address}`;
  }
}
