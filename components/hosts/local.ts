import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { GreenplumSettings, LOCAL_SEGMENT_ROLES, LocalSettings, localHostName } from "../config";
import { SshCommandLine } from "../engines/engine";
import { Host } from "../host";
import { localCommandDir } from "../packageRoot";
import { shellQuote } from "../shell";
import * as fs from "fs";

export interface LocalHostsArgs {
  /** Names the hosts, namespaces and directories ([a-z0-9-]); one pair per name on a machine. */
  stack: string;
  /** Where and how the hosts live (parseSettings/loadConfig give the defaults). */
  settings: LocalSettings;
  primaryDbPort: number;
  standbyDbPort: number;
  /**
   * Greenplum hosts: each also gets its own /tmp, home and host name, the admin user trusted
   * by every host, and a segment host joins the pair (its name is in greenplum.segmentHosts).
   */
  greenplum?: GreenplumSettings;
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
  /** Greenplum hosts: the admin user's home, private to the host. */
  adminHome: string;
}

const SCRIPT = "bash scripts/local-hosts.sh";
const HOST_OCTET: Record<string, number> = { primary: 11, standby: 12, witness: 13, seg1: 21 };
/**
 * Greenplum's master directory inside the admin user's home (gpinitsystem's <prefix>-1), under
 * the stack's name and the host's role: the hosts of every local stack share this machine's
 * process table, and the utilities find a postmaster by `ps -ef | grep 'postgres -D <dir>'`
 * (its first match). With one path for both master hosts, `gpstop -m` on the old coordinator's
 * host killed the standby's postmaster when that came first, and another stack's coordinator
 * in the same path made gpactivatestandby take a stopped standby for a running one.
 */
const greenplumMasterDir = (stack: string, role: string) =>
  `data/${stack}/${role}/coordinator/gpseg-1`;

/**
 * The installer of the Greenplum build beside this checkout (../shared/greenplum), unless
 * GPMIRROR_GREENPLUM_INSTALLER names another.
 */
export function greenplumInstaller(): string {
  return (
    process.env["GPMIRROR_GREENPLUM_INSTALLER"] ??
    path.resolve(__dirname, "..", "..", "..", "shared", "greenplum", "install.sh")
  );
}

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
  /** Greenplum: the segment hosts' creation, which the primary host's steps wait for. */
  readonly segmentHosts: command.local.Command[];
  private readonly stack: string;
  private readonly settings: LocalSettings;

  constructor(name: string, args: LocalHostsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:hosts:LocalHosts", name, {}, opts);
    const s = args.settings;
    this.stack = args.stack;
    this.settings = s;
    const gp = args.greenplum;
    const base = { GPM_STACK: args.stack, GPM_STATE_DIR: s.stateDir, GPM_MODE: s.mode };
    const address = (role: string) =>
      s.mode === "netns" ? `${s.subnet}.${HOST_OCTET[role]}` : "127.0.0.1";
    const roles = ["primary", "standby", ...(gp ? LOCAL_SEGMENT_ROLES : [])];
    // Greenplum: every host knows every other by name (/etc/hosts), and Greenplum is installed
    // on this machine, which all of them share, before any of them is made.
    const hostsList = (rs: string[]) =>
      rs.map((role) => `${address(role)} ${localHostName(args.stack, role)}`).join("\n");
    // The witness (etcd only) knows the others and itself; their lists stay as they were, so
    // that turning automatic failover on does not change (and replace) the Greenplum hosts.
    const flavor = (role: string): Record<string, pulumi.Input<string>> =>
      gp
        ? {
            GPM_FLAVOR: "greenplum",
            GPM_GPHOME: gp.gphome,
            GPM_CLUSTER_HOSTS: hostsList(role === "witness" ? [...roles, role] : roles),
          }
        : {};
    const installed = gp
      ? [
          new command.local.Command(
            `${name}-greenplum`,
            {
              create: `${SCRIPT} install-greenplum`,
              environment: {
                ...base,
                GPM_GPHOME: gp.gphome,
                GPM_GREENPLUM_INSTALLER: greenplumInstaller(),
              },
              logging: "stderr",
            },
            { parent: this },
          ),
        ]
      : [];

    const clientKey = new command.local.Command(
      `${name}-client-key`,
      {
        create: `${SCRIPT} client-key`,
        environment: base,
        logging: "none",
        addPreviousOutputInEnv: false,
        ...localCommandDir(),
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

    const create = (role: string) =>
      new command.local.Command(
        `${name}-${role}`,
        {
          create: `${SCRIPT} create`,
          delete: `${SCRIPT} destroy`,
          ...localCommandDir(),
          environment: {
            ...base,
            ...flavor(role),
            GPM_HOST: role,
            GPM_ADDRESS: address(role),
            GPM_BRIDGE: s.bridge,
            GPM_BRIDGE_ADDRESS: `${s.subnet}.1/24`,
            GPM_SSH_PORT: String(
              s.mode === "netns" ? 22 : s.sshPortBase + (role === "primary" ? 0 : 1),
            ),
            GPM_AUTHORIZED_KEY: publicKey,
            GPM_OS_USER: gp ? gp.adminUser : s.osUser,
          },
          logging: "stderr",
          addPreviousOutputInEnv: false,
        },
        { parent: this, dependsOn: installed },
      );
    // gpinitsystem (the primary step) needs the segment hosts.
    this.segmentHosts = gp ? LOCAL_SEGMENT_ROLES.map(create) : [];
    const makeHost = (role: Host["role"], dbPort: number): Host => {
      const created = create(role);
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
        dataDir: info.apply((i) =>
          gp ? `${i.adminHome}/${greenplumMasterDir(args.stack, role)}` : `${i.home}/data`,
        ),
        instance: created.id,
        ready: role === "primary" ? [created, ...this.segmentHosts] : [created],
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
