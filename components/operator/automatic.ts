// What `npm run status` shows of automatic failover: each master's agent, who holds the leader
// key and for how long, and each etcd member's health, as read on the master hosts by
// scripts/remote/auto/status.sh (with each host's own etcd certificate).
import { remoteScript } from "../engines/scriptText";
import { parseStepResult } from "../remoteStep";
import { exportLines } from "../shell";
import { AccessHost, WitnessAccess } from "./access";
import { HostAccess, SshSession } from "./ssh";

/** The agent's state file (agent/agent.go State), the fields the status uses. */
export interface AgentState {
  role: string;
  holding: boolean;
  /** Wall-clock ms when it took or adopted the key. */
  heldSince?: number;
  leaseTtlSeconds?: number;
  lastRenewAgoMs?: number;
  fenced: boolean;
  fenceReason?: string;
  leader?: string;
  refused?: string;
  updatedAt: number;
}

export interface EtcdMember {
  endpoint: string;
  health: boolean;
  took?: string;
  error: string | null;
}

/** What status.sh printed on one master host. */
export interface AutomaticProbe {
  agent: AgentState | null;
  agentRunning: boolean;
  endpoints: string[];
  members: EtcdMember[] | null;
  leader: {
    holder: string | null;
    leaseId: string | null;
    ttlSeconds: number | null;
    grantedTtlSeconds: number | null;
  } | null;
  etcdError: string | null;
}

export interface AutomaticHostView {
  name: string;
  /** The role the host was built with: the leader key holds it. */
  role: string;
  probe: AutomaticProbe | { error: string };
}

export interface AutomaticReport {
  /** The host that holds the leader key (null: nobody, or etcd could not be read). */
  leader: string | null;
  /** How long its agent has held the key, by its own state file. */
  heldForSeconds: number | null;
  leaseTtlLeftSeconds: number | null;
  leaseTtlSeconds: number | null;
  agents: {
    host: string;
    running: boolean;
    role: string;
    holding: boolean;
    fenced: boolean;
    lastRenewAgoMs: number | null;
    updatedAgoSeconds: number | null;
    note: string;
  }[];
  /** Each member as the hosts that read etcd see it: healthy only when every one says so. */
  members: { endpoint: string; healthy: boolean; detail: string }[];
  problems: string[];
}

/** An agent writes its state every renew interval; older than this, it hangs or is gone. */
export const STALE_AGENT_SECONDS = 5;

/** The status script for one host's directory: the same text a remote step gets. */
export function automaticProbeInput(autoDir: string, prefix: string, endpoints?: string[]): string {
  const env = {
    GPM_AUTO_DIR: autoDir,
    GPM_AUTO_PREFIX: prefix,
    ...(endpoints ? { GPM_AUTO_ENDPOINTS: endpoints.join(",") } : {}),
  };
  return `set -euo pipefail\n${exportLines(env)}${remoteScript("auto", "status")}`;
}

function probeOn(ssh: SshSession, host: HostAccess, input: string): AutomaticHostView["probe"] {
  try {
    const out = ssh.run(host, input);
    return parseStepResult("automatic status", out) as unknown as AutomaticProbe;
  } catch (e) {
    return { error: (e as Error).message };
  }
}

export function readAutomatic(
  ssh: SshSession,
  host: AccessHost,
  prefix: string,
): AutomaticHostView {
  const autoDir = `${host.dataDir.replace(/\/[^/]*$/, "")}/auto`;
  return {
    name: host.name,
    role: host.role,
    probe: probeOn(ssh, host, automaticProbeInput(autoDir, prefix)),
  };
}

/**
 * etcd read on the witness over the operators' SSH line (its own certificate), as pulumi up
 * reads the leader key on AWS: the leader and the members' health even when no master answers.
 */
export function readWitness(
  ssh: SshSession,
  witness: WitnessAccess,
  prefix: string,
  endpoints: string[],
): AutomaticHostView {
  return {
    name: witness.name,
    role: "witness",
    probe: probeOn(ssh, witness, automaticProbeInput(witness.autoDir, prefix, endpoints)),
  };
}

/**
 * Judges the agents and etcd from what each master host read, and the witness (etcd only)
 * when it was read too; `primary`: by the servers.
 */
export function evaluateAutomatic(
  views: AutomaticHostView[],
  primary: string | null,
  nowMs: number,
  witness?: AutomaticHostView,
): AutomaticReport {
  const problems: string[] = [];
  const readOf = (vs: AutomaticHostView[]) =>
    vs.flatMap((v) => ("error" in v.probe ? [] : [{ view: v, probe: v.probe }]));
  const read = readOf(views);
  // Where etcd was read: the masters, then the witness.
  const etcdRead = [...read, ...readOf(witness ? [witness] : [])];
  for (const v of views) {
    if ("error" in v.probe)
      problems.push(`the agent's status on ${v.name} cannot be read: ${v.probe.error}`);
  }
  if (witness && "error" in witness.probe) {
    problems.push(`etcd cannot be read on the witness ${witness.name}: ${witness.probe.error}`);
  }
  const withLeader = etcdRead.find((r) => r.probe.leader !== null);
  const key = withLeader?.probe.leader ?? null;
  const holderView = views.find((v) => v.role === key?.holder);
  const leader = key?.holder ? (holderView?.name ?? key.holder) : null;
  if (etcdRead.length > 0 && !withLeader) {
    const why = etcdRead
      .map((r) => `${r.view.name}: ${r.probe.etcdError ?? "no answer"}`)
      .join("; ");
    problems.push(`etcd cannot be read from any host (${why})`);
  } else if (withLeader && !leader) {
    problems.push("nobody holds the leader key: no master is protected by a lease");
  } else if (leader && primary && leader !== primary) {
    problems.push(`${leader} holds the leader key, but ${primary} is the primary by its server`);
  }
  const holderState = read.find((r) => r.view.name === leader)?.probe.agent;
  const agents = views.map((v) => {
    if ("error" in v.probe) {
      return {
        host: v.name,
        running: false,
        role: "unknown",
        holding: false,
        fenced: false,
        lastRenewAgoMs: null,
        updatedAgoSeconds: null,
        note: "unreachable",
      };
    }
    const a = v.probe.agent;
    const ago = a ? Math.round((nowMs - a.updatedAt) / 100) / 10 : null;
    if (!v.probe.agentRunning) {
      problems.push(
        `the failover agent on ${v.name} does not run: that host can neither take over nor fence itself`,
      );
    } else if (ago !== null && ago > STALE_AGENT_SECONDS) {
      problems.push(`the failover agent on ${v.name} has not written its state for ${ago} s`);
    }
    if (a?.fenced) {
      problems.push(
        `the agent on ${v.name} fenced its server (${a.fenceReason ?? "no reason given"}): pulumi up re-protects it as the standby`,
      );
    }
    return {
      host: v.name,
      running: v.probe.agentRunning,
      role: a?.role ?? "no state",
      holding: a?.holding ?? false,
      fenced: a?.fenced ?? false,
      lastRenewAgoMs: a?.holding ? (a.lastRenewAgoMs ?? null) : null,
      updatedAgoSeconds: ago,
      note: a?.refused ? `would not take over: ${a.refused}` : "",
    };
  });
  const members = new Map<string, { healthy: boolean; seen: string[] }>();
  for (const r of etcdRead) {
    for (const m of r.probe.members ?? []) {
      const entry = members.get(m.endpoint) ?? { healthy: true, seen: [] };
      entry.healthy &&= m.health;
      entry.seen.push(
        `${m.health ? "healthy" : `UNHEALTHY (${m.error ?? "no answer"})`} from ${r.view.name}`,
      );
      members.set(m.endpoint, entry);
    }
  }
  const sick = [...members].filter(([, m]) => !m.healthy).map(([e]) => e);
  if (sick.length > 0) {
    problems.push(
      `etcd member${sick.length > 1 ? "s" : ""} ${sick.join(", ")} not healthy: a quorum needs 2 of 3; with one more lost no master keeps its lease (the leader fences itself)`,
    );
  }
  return {
    leader,
    heldForSeconds:
      holderState?.holding && holderState.heldSince
        ? Math.round((nowMs - holderState.heldSince) / 1000)
        : null,
    leaseTtlLeftSeconds: key?.ttlSeconds ?? null,
    leaseTtlSeconds: key?.grantedTtlSeconds ?? null,
    agents,
    // etcdctl answers in the order the members replied.
    members: [...members]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([endpoint, m]) => ({
        endpoint,
        healthy: m.healthy,
        detail: m.seen.join(", "),
      })),
    problems,
  };
}

export function formatAutomatic(r: AutomaticReport): string {
  const held = r.heldForSeconds === null ? "" : `, held for ${r.heldForSeconds} s`;
  const ttl =
    r.leaseTtlLeftSeconds === null
      ? ""
      : `, lease ${r.leaseTtlLeftSeconds}/${r.leaseTtlSeconds ?? "?"} s left`;
  const lines = [
    `leader key   ${r.leader ?? "NOBODY"}${held}${ttl}`,
    ...r.agents.map(
      (a) =>
        `agent        ${a.host.padEnd(24)} ${(a.running ? a.role : "NOT RUNNING").padEnd(10)}${a.holding ? ` holds the key, renewed ${a.lastRenewAgoMs ?? "?"} ms ago` : ""}${a.fenced ? " FENCED" : ""}${a.updatedAgoSeconds !== null ? ` (state ${a.updatedAgoSeconds} s old)` : ""}${a.note ? `; ${a.note}` : ""}`,
    ),
    ...r.members.map(
      (m) =>
        `etcd member  ${m.endpoint.padEnd(26)} ${m.healthy ? "healthy" : "NOT HEALTHY"}: ${m.detail}`,
    ),
  ];
  if (r.problems.length > 0) lines.push(...r.problems.map((p) => `! ${p}`));
  return lines.join("\n");
}
