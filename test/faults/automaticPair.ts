// A local pair with automatic failover under test: the agents' state and events (the hosts'
// files are on this machine), faults injected without Pulumi, and a prober that tries to
// write on the old primary through its unix socket (not cut by a network fault).
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { etcdctlFlags } from "../../components/automaticLeader";
import { ROOT } from "../support/engine";
import { Pair, Role } from "./pair";

export interface AgentEvent {
  event: string;
  at: number;
  [k: string]: unknown;
}

export class AutomaticPair extends Pair {
  home(built: Role | "witness"): string {
    return `${this.stateDir}/hosts/${built}`;
  }

  agentState(built: Role): Record<string, unknown> {
    try {
      return JSON.parse(fs.readFileSync(`${this.home(built)}/auto/agent/state.json`, "utf8"));
    } catch {
      return {};
    }
  }

  /** The agent's events since `since` (ms since the epoch). */
  events(built: Role, since: number): AgentEvent[] {
    const log = `${this.home(built)}/auto/agent/agent.log`;
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
      const s = this.agentState(r);
      if (s["holding"] === true && Date.now() - Number(s["updatedAt"]) < 5000) return r;
    }
    return undefined;
  }

  /** Copies every host's agent and etcd logs to `dir` (outside the state dir, which destroy empties). */
  saveLogs(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const h of ["primary", "standby", "witness"] as const) {
      for (const f of ["agent/agent.log", "etcd/etcd.log"]) {
        const from = `${this.home(h)}/auto/${f}`;
        if (fs.existsSync(from)) fs.copyFileSync(from, `${dir}/${h}-${path.basename(f)}`);
      }
    }
  }

  /** kill -9 of a host's postmaster (this machine sees the hosts' processes). */
  killPostmaster9(built: Role): number {
    const pid = Number(
      fs.readFileSync(`${this.home(built)}/data/postmaster.pid`, "utf8").split("\n")[0],
    );
    process.kill(pid, "SIGKILL");
    return Date.now();
  }

  /** Cuts (or restores) a host's only link: it reaches nothing and nothing reaches it. */
  link(built: Role | "witness", up: boolean): number {
    execFileSync("bash", [path.join(ROOT, "scripts", "local-hosts.sh"), up ? "heal" : "fence"], {
      env: { ...process.env, GPM_STACK: this.name, GPM_STATE_DIR: this.stateDir, GPM_HOST: built },
      stdio: "ignore",
    });
    return Date.now();
  }

  /** Stops or continues a host's etcd member (its supervisor and etcd). */
  etcdMember(built: Role | "witness", signal: "STOP" | "CONT"): void {
    const dir = `${this.home(built)}/auto/etcd`;
    const sup = fs.readFileSync(`${dir}/etcd.pid`, "utf8").trim();
    execFileSync("pkill", [`-${signal}`, "-P", sup]);
    execFileSync("kill", [`-${signal}`, sup]);
  }

  /** The host whose etcd member is etcd's leader now (asked with the witness's certificate). */
  etcdLeader(): Role | "witness" {
    for (const h of ["primary", "standby", "witness"] as const) {
      const status = this.etcdStatus(h);
      if (status && status.member === status.leader) return h;
    }
    throw new Error("no etcd member says it leads");
  }

  /** Makes a host's etcd member etcd's leader (etcdctl move-leader), and waits until it is. */
  async moveEtcdLeader(to: Role | "witness"): Promise<void> {
    const member = this.etcdStatus(to)?.member;
    if (!member) throw new Error(`the etcd member on ${to} does not answer`);
    if (this.etcdLeader() !== to) {
      this.etcdctl(
        [11, 12, 13].map((o) => this.etcdEndpoint(o)),
        ["move-leader", BigInt(member).toString(16)],
      );
    }
    const deadline = Date.now() + 10_000;
    while (this.etcdLeader() !== to) {
      if (Date.now() > deadline) throw new Error(`etcd's leader did not move to ${to}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A member's id and the id of the leader it follows (64-bit ids: kept as text). */
  private etcdStatus(h: Role | "witness"): { member: string; leader: string } | undefined {
    const octet = { primary: 11, standby: 12, witness: 13 }[h];
    let out: string;
    try {
      out = this.etcdctl([this.etcdEndpoint(octet)], ["-w", "fields", "endpoint", "status"]);
    } catch {
      return undefined;
    }
    const field = (name: string) => new RegExp(`^"${name}" : (\\d+)$`, "m").exec(out)?.[1];
    const member = field("MemberID");
    const leader = field("Leader");
    return member && leader ? { member, leader } : undefined;
  }

  private etcdEndpoint(octet: number): string {
    return `https://${this.config["local.subnet"]}.${octet}:2379`;
  }

  private etcdctl(endpoints: string[], args: string[]): string {
    const flags = etcdctlFlags(`${this.stateDir}/etcd-tls`, endpoints);
    return execFileSync("etcdctl", [...flags, ...args], {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
    });
  }

  /**
   * Kills a host's etcd member (kill -9) and keeps it down (its supervisor stopped), or lets
   * the supervisor start it again.
   */
  killEtcdMember(built: Role | "witness", down: boolean): void {
    const sup = fs.readFileSync(`${this.home(built)}/auto/etcd/etcd.pid`, "utf8").trim();
    if (down) {
      execFileSync("kill", ["-STOP", sup]);
      execFileSync("pkill", ["-KILL", "-P", sup]);
    } else {
      execFileSync("kill", ["-CONT", sup]);
    }
  }

  /**
   * Writes on a host's server through its unix socket every 100 ms with
   * synchronous_commit=local (so a primary cut off from its standby would still acknowledge)
   * and records each success's time: what a client on that host could still get accepted.
   */
  startProber(built: Role, port: number): Prober {
    const sock = `${this.home(built)}/run`;
    const out = `/tmp/gpm-prober-${this.name}-${built}.log`; // not in the state dir: destroy must leave it empty
    fs.writeFileSync(out, "");
    fs.chmodSync(out, 0o666);
    const script = `while :; do
  if psql -X -q -At -h '${sock}' -p ${port} -d postgres -c "SET synchronous_commit = local; CREATE TABLE IF NOT EXISTS fence_probe (at timestamptz); INSERT INTO fence_probe VALUES (now())" >/dev/null 2>&1; then
    date +%s%3N >>'${out}'
  fi
  sleep 0.1
done`;
    const child = spawn("runuser", ["-u", "gpmirror", "--", "bash", "-c", script], {
      stdio: "ignore",
      detached: true,
    });
    return new Prober(child, out);
  }
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
