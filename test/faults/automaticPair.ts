// A local pair with automatic failover under test: the agents' state and events (the hosts'
// files are on this machine), faults injected without Pulumi, and a prober that tries to
// write on the old primary through its unix socket (not cut by a network fault).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AgentEvent, AgentFiles, Prober, startProber } from "./agentFiles";
import { AutomaticCluster } from "./automaticRounds";
import { EtcdMembers } from "./etcdMembers";
import { ROOT } from "../support/engine";
import { Writer } from "../../components/operator/drill/writer";
import { OperatorAccess } from "../../components/operator/access";
import { Pair, Role, sleep, waitFor } from "./pair";

export type { AgentEvent } from "./agentFiles";

export class AutomaticPair extends Pair implements AutomaticCluster {
  readonly agents = new AgentFiles((h) => `${this.home(h)}/auto`);
  readonly etcd = new EtcdMembers(
    this.config["local.subnet"],
    `${this.stateDir}/etcd-tls`,
    (h) => `${this.home(h)}/auto/etcd`,
  );

  home(built: Role | "witness"): string {
    return `${this.stateDir}/hosts/${built}`;
  }

  agentState(built: Role): Record<string, unknown> {
    return this.agents.state(built);
  }

  /** The agent's events since `since` (ms since the epoch). */
  events(built: Role, since: number): AgentEvent[] {
    return this.agents.events(built, since);
  }

  /** The host (built role) whose agent holds the leader key now. */
  holder(): Role | undefined {
    return this.agents.holder();
  }

  /** Copies every host's agent and etcd logs to `dir` (outside the state dir, which destroy empties). */
  saveLogs(dir: string): void {
    this.agents.saveLogs(dir);
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

  writer(run: string) {
    return writerFor(this, run);
  }

  /** A prober writing on a host's server through its unix socket (startProber). */
  startProber(built: Role, port: number): Prober {
    return startProber(`${this.name}-${built}`, `${this.home(built)}/run`, port, "gpmirror");
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
