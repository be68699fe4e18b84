// A local pair with automatic failover under test: the agents' state and events (the hosts'
// files are on this machine), faults injected without Pulumi, and a prober that tries to
// write on the old primary through its unix socket (not cut by a network fault).
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { etcdctlFlags } from "../../components/automaticLeader";
import { ROOT } from "../support/engine";
import { Writer } from "../../components/operator/drill/writer";
import { OperatorAccess } from "../../components/operator/access";
import { Pair, Role, sleep, waitFor } from "./pair";

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
    const tls = `${this.stateDir}/etcd-tls`;
    const octet = { primary: 11, standby: 12, witness: 13 } as const;
    for (const h of ["primary", "standby", "witness"] as const) {
      let out: string;
      try {
        out = execFileSync(
          "etcdctl",
          [
            ...etcdctlFlags(tls, [`https://${this.config["local.subnet"]}.${octet[h]}:2379`]),
            "-w",
            "fields",
            "endpoint",
            "status",
          ],
          { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } },
        );
      } catch {
        continue;
      }
      // Member ids are 64-bit: compared as text (JSON numbers would round them).
      const field = (name: string) => new RegExp(`^"${name}" : (\\d+)$`, "m").exec(out)?.[1];
      if (field("MemberID") !== undefined && field("MemberID") === field("Leader")) return h;
    }
    throw new Error("no etcd member says it leads");
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

/** The drill's writer on the pair's operator login (operator.cidrs), prepared. */
export async function writerFor(pair: AutomaticPair, run: string) {
  const access = (await pair.stack.outputs())["operatorAccess"].value as OperatorAccess;
  if (!access.database) throw new Error("no operator login");
  const endpoints = access.hosts.map((h) => ({ name: h.name, host: h.address, port: h.dbPort }));
  const writer = new Writer(endpoints, { ...access.database, database: access.database.name }, run);
  await writer.prepare();
  return { writer, endpoints };
}

/**
 * kill -9 of the leader's postmaster under a writer: the other agent takes over with no
 * pulumi up and no acknowledged commit lost; then pulumi up follows it and re-protects.
 */
export async function killRound(pair: AutomaticPair, run: string): Promise<Record<string, number>> {
  const old = pair.holder();
  if (!old) throw new Error("nobody leads before the round");
  const { writer, endpoints } = await writerFor(pair, run);
  writer.start();
  await sleep(2000);
  const t0 = Date.now();
  const tKill = writer.now();
  pair.killPostmaster9(old);
  const newName = endpoints.find((e) => !e.host.endsWith(old === "primary" ? ".11" : ".12"))?.name;
  await waitFor(
    () => writer.acks.some((a) => a.at > tKill && a.host === newName),
    60_000,
    "the first write accepted on the new master",
  ).catch(async (e: unknown) => {
    await writer.stop(); // a writer left running keeps jest (and the machine's lock) alive
    throw e;
  });
  const firstNew = writer.acks.find((a) => a.at > tKill && a.host === newName);
  await sleep(500);
  await writer.stop();
  const newEndpoint = endpoints.find((e) => e.name === newName);
  if (!newEndpoint || !firstNew) throw new Error("no new master");
  const present = await writer.idsOn(newEndpoint);
  const lost = writer.acks.filter((a) => !present.has(a.id)).length;
  const ev = pair.events(other(old), t0);
  const at = (name: string) => ev.find((e) => e.event === name)?.at ?? NaN;
  const oldEv = pair.events(old, t0);
  const released = oldEv.find((e) => e.event === "released")?.at ?? NaN;
  const r = {
    acked: writer.acks.length,
    lost,
    rtoMs: firstNew.at - tKill,
    detectMs: at("detected") - t0,
    releasedMs: released - t0,
    promotedMs: at("promoted") - t0,
  };
  console.log(`${run}: ${JSON.stringify(r)}`);
  expect({ run, lost }).toEqual({ run, lost: 0 });
  expect(pair.holder()).toBe(other(old));
  // pulumi up follows the agents (no config change) and rebuilds the old master as standby.
  const result = await pair.up();
  expect(result.summary.result).toBe("succeeded");
  expect(pair.outputs["automaticFailover"].value).toMatchObject({
    leaderAtStart: other(old),
  });
  expect(pair.builtAs(pair.node("primary"))).toBe(other(old));
  expect(pair.outputs["replication"].value).toMatchObject({ state: "streaming" });
  await waitFor(
    () => pair.agentState(old)["role"] === "standby",
    30_000,
    "the old master's agent to follow as standby",
  );
  return r;
}

const other = (r: Role): Role => (r === "primary" ? "standby" : "primary");
