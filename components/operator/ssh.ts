// Runs a step's text on a host with `bash -s`, the way the operator CLIs reach hosts: the
// stack's key in a private temporary file, the pinned host key, bounded in time.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shellQuote } from "../shell";

export interface HostAccess {
  name: string;
  address: string;
  sshPort: number;
  user: string;
  hostKey: string;
  /** The bastion SSH goes through (platform aws with aws.connection.proxy). */
  proxy?: ProxyAccess;
}

/** A bastion: its login, pinned host key and private key (the operatorAccess output is secret). */
export interface ProxyAccess {
  address: string;
  sshPort: number;
  user: string;
  hostKey: string;
  privateKey: string;
}

export class SshSession {
  private readonly dir: string;

  /** `sshBin`: the ssh client (tests: a fake). */
  constructor(
    privateKey: string,
    hosts: HostAccess[],
    private readonly sshBin = "ssh",
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-ssh-"));
    writeKey(this.keyPath, privateKey);
    const proxy = hosts.find((h) => h.proxy)?.proxy;
    if (proxy) writeKey(this.proxyKeyPath, proxy.privateKey);
    const known = [...hosts, ...(proxy ? [proxy] : [])].flatMap((h) =>
      h.hostKey
        .split("\n")
        .filter((k) => k.trim() !== "")
        .map((k) => `${h.sshPort === 22 ? h.address : `[${h.address}]:${h.sshPort}`} ${k.trim()}`),
    );
    fs.writeFileSync(this.knownHostsPath, `${known.join("\n")}\n`, { mode: 0o600 });
  }

  private get proxyKeyPath(): string {
    return path.join(this.dir, "proxy-key");
  }

  get keyPath(): string {
    return path.join(this.dir, "key");
  }

  get knownHostsPath(): string {
    return path.join(this.dir, "known_hosts");
  }

  /** stdout of the script, or an error naming the host and what failed. */
  run(host: HostAccess, stdin: string, timeoutSeconds = 30): string {
    const pinned = (key: string) => [
      "-i",
      key,
      "-o",
      `UserKnownHostsFile=${this.knownHostsPath}`,
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=5",
    ];
    const p = host.proxy;
    // The bastion's own key and pinned host key, as pulumi up reaches the host (operatorSsh).
    const jump = p
      ? [
          "-o",
          `ProxyCommand=ssh ${[...pinned(this.proxyKeyPath), "-W", "%h:%p", "-p", String(p.sshPort), `${p.user}@${p.address}`].map(shellQuote).join(" ")}`,
        ]
      : [];
    const r = spawnSync(
      this.sshBin,
      [
        ...pinned(this.keyPath),
        ...jump,
        "-p",
        String(host.sshPort),
        `${host.user}@${host.address}`,
        "bash -s",
      ],
      { input: stdin, encoding: "utf8", timeout: timeoutSeconds * 1000 },
    );
    if (r.error) throw new Error(`${host.name} (${host.address}): ${r.error.message}`);
    if (r.status !== 0) {
      const why = r.status === 255 ? "cannot connect" : `exit ${r.status}`;
      throw new Error(
        `${host.name} (${host.address}): ${why}: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`,
      );
    }
    return r.stdout;
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function writeKey(file: string, key: string): void {
  fs.writeFileSync(file, key.endsWith("\n") ? key : `${key}\n`, { mode: 0o600 });
}
