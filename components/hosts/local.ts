import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LocalSettings } from "../config";
import { SshCommandLine } from "../engines/engine";
import { Host } from "../host";
import { shellQuote } from "../shell";
import * as fs from "fs";

export interface LocalHostsArgs {
  stack: string;
  settings: LocalSettings;
  primaryDbPort: number;
  standbyDbPort: number;
  /** A third host for etcd's witness member (automatic failover). */
  witness?: boolean;
}

/** What `scripts/local-hosts.sh create` prints. */
interface CreatedHost {
  name: string;
  address: string;
  sshPort: number;
  user: string;
  hostKey: string;
  home: string;
}

const SCRIPT = "bash scripts/local-hosts.sh";
const HOST_OCTET = { primary: 11, standby: 12, witness: 13 } as const;

/**
 * Two hosts on this machine, each with its own sshd (and, as root, its own network namespace
 * on a bridge, so that tests can cut the link between them). Created and removed through
 * local.Command, so `pulumi destroy` leaves nothing behind.
 */
export class LocalHosts extends pulumi.ComponentResource implements SshCommandLine {
  readonly primary: Host;
  readonly standby: Host;
  readonly witness?: Host;
  /** The client key file on this machine, for commands an operator pastes. */
  readonly keyPath: pulumi.Output<string>;
  readonly knownHostsPath: string;
  private readonly stack: string;
  private readonly settings: LocalSettings;

  constructor(name: string, args: LocalHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:hosts:LocalHosts", name, {}, opts);
    const s = args.settings;
    this.stack = args.stack;
    this.settings = s;
    const base = { GPM_STACK: args.stack, GPM_STATE_DIR: s.stateDir, GPM_MODE: s.mode };

    const clientKey = new command.local.Command(
      `${name}-client-key`,
      {
        create: `${SCRIPT} client-key`,
        environment: base,
        logging: "none",
        addPreviousOutputInEnv: false,
      },
      { parent: this },
    );
    const key = clientKey.stdout.apply(
      (out) => JSON.parse(out) as { publicKey: string; path: string },
    );
    const publicKey = key.apply((k) => k.publicKey);
    this.keyPath = key.apply((k) => k.path);
    // Read from its file on this machine (where local.Command made it), never from a
    // command's output.
    const privateKey = pulumi.secret(this.keyPath.apply(readClientKey));
    this.knownHostsPath = `${s.stateDir}/known_hosts`;

    const makeHost = (role: Host["role"], dbPort: number): Host => {
      const created = new command.local.Command(
        `${name}-${role}`,
        {
          create: `${SCRIPT} create`,
          delete: `${SCRIPT} destroy`,
          environment: {
            ...base,
            GPM_HOST: role,
            GPM_ADDRESS: s.mode === "netns" ? `${s.subnet}.${HOST_OCTET[role]}` : "127.0.0.1",
            GPM_BRIDGE: s.bridge,
            GPM_BRIDGE_ADDRESS: `${s.subnet}.1/24`,
            GPM_SSH_PORT: String(
              s.mode === "netns" ? 22 : s.sshPortBase + HOST_OCTET[role] - HOST_OCTET.primary,
            ),
            GPM_AUTHORIZED_KEY: publicKey,
            GPM_OS_USER: s.osUser,
          },
          logging: "stderr",
          addPreviousOutputInEnv: false,
        },
        { parent: this },
      );
      const info = created.stdout.apply(
        (out) => JSON.parse(out.trim().split("\n").pop() ?? "") as CreatedHost,
      );
      return {
        role,
        name: info.apply((i) => i.name),
        address: info.apply((i) => i.address),
        sshPort: info.apply((i) => i.sshPort),
        user: info.apply((i) => i.user),
        privateKey,
        hostKey: info.apply((i) => i.hostKey),
        dbPort,
        dataDir: info.apply((i) => `${i.home}/data`),
        instance: created.id,
        ready: [created],
        hostKeyFix: `the local host ${role} now has another key than the one pulumi up made for it (its state directory ${s.stateDir} was changed outside Pulumi): pulumi destroy, then pulumi up, builds both hosts again`,
      };
    };
    this.primary = makeHost("primary", args.primaryDbPort);
    this.standby = makeHost("standby", args.standbyDbPort);
    if (args.witness) this.witness = makeHost("witness", 0);
    this.registerOutputs({});
  }

  /** Parameters of scripts/activate.sh's platform fence for an unreachable local host. */
  platformFence(): Record<string, string> {
    return {
      GPM_PLATFORM_FENCE: "local",
      GPM_STACK: this.stack,
      GPM_STATE_DIR: this.settings.stateDir,
      GPM_LOCAL_MODE: this.settings.mode,
    };
  }

  prefix(host: Host): pulumi.Output<string> {
    return pulumi
      .all([this.keyPath, host.sshPort, host.user, host.address])
      .apply(
        ([keyPath, port, user, address]) =>
          `ssh -i ${shellQuote(keyPath)} -o UserKnownHostsFile=${shellQuote(this.knownHostsPath)} -o StrictHostKeyChecking=yes -p ${port} ${user}@${address}`,
      );
  }
}

function readClientKey(path: string): string {
  try {
    return fs.readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(
      `the local stack's client key ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}): its state directory was changed outside Pulumi. Fix: pulumi destroy, then pulumi up, builds the local hosts again`,
    );
  }
}
