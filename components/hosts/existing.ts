import * as pulumi from "@pulumi/pulumi";
import { ExistingHostSettings, ExistingWitnessSettings } from "../config";
import { SshCommandLine } from "../engines/engine";
import { Host } from "../host";

/**
 * Hosts the user already runs: nothing is created, the same steps run on them. Each host's
 * settings (address, SSH port and user, key, pinned host key, data directory) come from
 * parseSettings/loadConfig (`hosts.primary.*`, `hosts.standby.*`).
 */
export class ExistingHosts implements SshCommandLine {
  readonly primary: Host;
  readonly standby: Host;
  /** etcd's third member (automatic failover): no database; its "data directory" is a name under hosts.witness.dir, whose auto/ holds etcd. */
  readonly witness?: Host;

  constructor(
    settings: {
      primary: ExistingHostSettings;
      standby: ExistingHostSettings;
      witness?: ExistingWitnessSettings;
    },
    primaryDbPort: number,
    standbyDbPort: number,
  ) {
    const make = (role: Host["role"], h: ExistingHostSettings, dbPort: number): Host => ({
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
    const w = settings.witness;
    // autoDir() is beside the data directory: <dir>/auto.
    if (w) this.witness = make("witness", { ...w, dataDir: `${w.dir}/witness` }, 0);
  }

  prefix(host: Host): pulumi.Output<string> {
    return pulumi.interpolate`ssh -p ${host.sshPort} ${host.user}@${host.address}`;
  }
}
