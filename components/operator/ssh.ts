// Runs a step's text on a host with `bash -s`, the way the operator CLIs reach hosts: the
// stack's key in a private temporary file, the pinned host key, bounded in time.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface HostAccess {
  name: string;
  address: string;
  sshPort: number;
  user: string;
  hostKey: string;
}

export class SshSession {
  private readonly dir: string;

  constructor(privateKey: string, hosts: HostAccess[]) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-ssh-"));
    fs.writeFileSync(this.keyPath, privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`, {
      mode: 0o600,
    });
    const known = hosts.flatMap((h) =>
      h.hostKey
        .split("\n")
        .filter((k) => k.trim() !== "")
        .map((k) => `${h.sshPort === 22 ? h.address : `[${h.address}]:${h.sshPort}`} ${k.trim()}`),
    );
    fs.writeFileSync(this.knownHostsPath, `${known.join("\n")}\n`, { mode: 0o600 });
  }

  get keyPath(): string {
    return path.join(this.dir, "key");
  }

  get knownHostsPath(): string {
    return path.join(this.dir, "known_hosts");
  }

  /** stdout of the script, or an error naming the host and what failed. */
  run(host: HostAccess, stdin: string, timeoutSeconds = 30): string {
    const r = spawnSync(
      "ssh",
      [
        "-i",
        this.keyPath,
        "-o",
        `UserKnownHostsFile=${this.knownHostsPath}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
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
