import * as pulumi from "@pulumi/pulumi";

/**
 * One machine of the pair, as plain data. Everything after the hosts step is the same for
 * every platform, so local, existing and AWS hosts differ only in how they make these.
 */
export interface Host {
  /** Role in the pair when it was built: primary or standby. */
  /** witness: the third etcd member of automatic failover, no database. */
  role: "primary" | "standby" | "witness";
  /** A name for people and for PostgreSQL's application_name. */
  name: pulumi.Output<string>;
  /** Address other hosts and clients use: the standby replicates from the primary's. */
  address: pulumi.Output<string>;
  sshPort: pulumi.Output<number>;
  /** SSH login user; it also runs PostgreSQL. */
  user: pulumi.Output<string>;
  /** Private half of the key SSH logs in with. Always a secret. */
  privateKey: pulumi.Output<string>;
  /** Pinned public host key line(s); a different key stops the run. */
  hostKey: pulumi.Output<string>;
  dbPort: number;
  dataDir: pulumi.Output<string>;
  /** Changes when the machine is rebuilt, so that every step runs again on the new one. */
  instance: pulumi.Output<string>;
  /** What must exist before anything runs on the host (its creation, when we create it). */
  ready: pulumi.Resource[];
  /** A bastion SSH goes through, when the host cannot be reached directly. */
  proxy?: SshProxy;
  /** What a user does when the host shows another key than the pinned one. */
  hostKeyFix?: string;
  /** How long a step waits for the host to answer SSH (a new cloud host boots meanwhile). */
  connectSeconds?: number;
  /**
   * The database system identifier the pair had (AWS: recorded in the stack). When it is
   * not empty, the primary step refuses to initialize a new system on this host.
   */
  expectedSystemIdentifier?: pulumi.Output<string>;
}

/** A bastion (jump host): its own address, login and pinned host key. */
export interface SshProxy {
  address: pulumi.Output<string>;
  sshPort: pulumi.Output<number>;
  user: pulumi.Output<string>;
  /** Always a secret. */
  privateKey: pulumi.Output<string>;
  hostKey: pulumi.Output<string>;
}

/** The SSH connection @pulumi/command's remote.Command takes for a host. */
export function sshConnection(host: Host) {
  return {
    host: host.address,
    port: host.sshPort,
    user: host.user,
    privateKey: host.privateKey,
    hostKey: host.hostKey,
    dialErrorLimit: 5,
    perDialTimeout: 10,
    ...(host.proxy
      ? {
          proxy: {
            host: host.proxy.address,
            port: host.proxy.sshPort,
            user: host.proxy.user,
            privateKey: host.proxy.privateKey,
            hostKey: host.proxy.hostKey,
            dialErrorLimit: 5,
            perDialTimeout: 10,
          },
        }
      : {}),
  };
}

/** Parameters of scripts/host-check.sh for a host (the keys stay secrets). */
export function hostCheckEnvironment(host: Host): Record<string, pulumi.Input<string>> {
  return {
    GPM_HOST_NAME: pulumi.interpolate`${host.role} (${host.name})`,
    GPM_ADDRESS: host.address,
    GPM_SSH_PORT: host.sshPort.apply(String),
    GPM_USER: host.user,
    GPM_SSH_KEY: pulumi.secret(host.privateKey),
    GPM_HOST_KEY: host.hostKey,
    GPM_CONNECT_SECONDS: String(host.connectSeconds ?? 60),
    ...(host.hostKeyFix ? { GPM_FIX: host.hostKeyFix } : {}),
    ...(host.proxy
      ? {
          GPM_PROXY_ADDRESS: host.proxy.address,
          GPM_PROXY_SSH_PORT: host.proxy.sshPort.apply(String),
          GPM_PROXY_USER: host.proxy.user,
          GPM_PROXY_SSH_KEY: pulumi.secret(host.proxy.privateKey),
          GPM_PROXY_HOST_KEY: host.proxy.hostKey,
        }
      : {}),
  };
}

/** The primary step's guard against initializing over a system the pair had (both engines). */
export function expectedSystemEnv(host: Host): Record<string, pulumi.Input<string>> {
  return host.expectedSystemIdentifier
    ? { GPM_EXPECTED_SYSTEM_ID: host.expectedSystemIdentifier }
    : {};
}
