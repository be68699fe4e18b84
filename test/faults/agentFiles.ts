// The failover agents' files on a local stack's hosts, read from this machine (the hosts'
// directories are on it): their state and events, who holds the leader key, their logs; and
// a prober that writes on a server through its unix socket (not cut by a network fault).
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { Role } from "./pair";

export interface AgentEvent {
  event: string;
  at: number;
  [k: string]: unknown;
}

export class AgentFiles {
  /** @param autoDir a host's automatic failover directory (etcd/ and agent/), by built role */
  constructor(private readonly autoDir: (built: Role | "witness") => string) {}

  state(built: Role): Record<string, unknown> {
    try {
      return JSON.parse(fs.readFileSync(`${this.autoDir(built)}/agent/state.json`, "utf8"));
    } catch {
      return {};
    }
  }

  /** The agent's events since `since` (ms since the epoch). */
  events(built: Role, since: number): AgentEvent[] {
    const log = `${this.autoDir(built)}/agent/agent.log`;
    if (!fs.existsSync(log)) return [];
    return fs
      .readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as AgentEvent)
      .filter((e) => e.at >= since);
  }

  /** The host (built role) whose agent holds the leader key now. */
  holder(): Role | undefined {
    for (const r of ["primary", "standby"] as Role[]) {
      const s = this.state(r);
      if (s["holding"] === true && Date.now() - Number(s["updatedAt"]) < 5000) return r;
    }
    return undefined;
  }

  /** Copies every host's agent and etcd logs (and promote.log) to `dir`, outside the state dir. */
  saveLogs(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const h of ["primary", "standby", "witness"] as const) {
      for (const f of ["agent/agent.log", "agent/promote.log", "etcd/etcd.log"]) {
        const from = `${this.autoDir(h)}/${f}`;
        if (fs.existsSync(from)) fs.copyFileSync(from, `${dir}/${h}-${path.basename(f)}`);
      }
    }
  }
}

/**
 * Writes on a server through its unix socket in `socketDir` every 100 ms, as `user`, with
 * synchronous_commit=local (so a master cut off from its standby would still acknowledge),
 * and records each success's time: what a client on that host could still get accepted.
 */
export function startProber(label: string, socketDir: string, port: number, user: string): Prober {
  const out = `/tmp/gpm-prober-${label}.log`; // not in a state dir: destroy must leave it empty
  fs.writeFileSync(out, "");
  fs.chmodSync(out, 0o666);
  const script = `while :; do
  if psql -X -q -At -h '${socketDir}' -p ${port} -d postgres -c "SET synchronous_commit = local; CREATE TABLE IF NOT EXISTS fence_probe (at timestamptz); INSERT INTO fence_probe VALUES (now())" >/dev/null 2>&1; then
    date +%s%3N >>'${out}'
  fi
  sleep 0.1
done`;
  const child = spawn("runuser", ["-u", user, "--", "bash", "-c", script], {
    stdio: "ignore",
    detached: true,
  });
  return new Prober(child, out);
}

export class Prober {
  constructor(
    private readonly child: ChildProcess,
    private readonly file: string,
  ) {}

  stop(): void {
    if (this.child.pid) process.kill(-this.child.pid, "SIGKILL");
  }

  /** Times (ms since the epoch) of every write the server accepted. */
  accepted(): number[] {
    return fs
      .readFileSync(this.file, "utf8")
      .split("\n")
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
  }
}
