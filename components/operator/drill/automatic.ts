// What `npm run drill -- --automatic` needs besides the drill itself: the agents' own account
// of a takeover (their event logs on the master hosts), and the wait for the first write the
// new master accepts, with no `pulumi up` between the failure and the takeover.
import { shellQuote } from "../../shell";
import { AccessHost } from "../access";
import { SshSession } from "../ssh";
import { Ack, sleep, Writer } from "./writer";

/** One line of an agent's event log (agent/agent.go `event`): `at` in ms since the epoch. */
export interface AgentEvent {
  host: string;
  event: string;
  at: number;
  [k: string]: unknown;
}

/** The agent events that tell a takeover's phases, in the order they should come. */
export const TAKEOVER_EVENTS = ["detected", "fenced", "acquired", "promoted"] as const;

/** The agent's directory beside the data directory (components/automatic.ts puts it there). */
export function agentLog(host: AccessHost): string {
  return `${host.dataDir.replace(/\/[^/]*$/, "")}/auto/agent/agent.log`;
}

/** The events a host's agent logged since `sinceMs`; none when the host does not answer. */
export function agentEvents(ssh: SshSession, host: AccessHost, sinceMs: number): AgentEvent[] {
  let text: string;
  try {
    text = ssh.run(
      host,
      `set -euo pipefail\ntail -n 2000 ${shellQuote(agentLog(host))} 2>/dev/null || true\n`,
    );
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .flatMap((l): AgentEvent[] => {
      try {
        const e = JSON.parse(l) as Partial<AgentEvent>;
        return typeof e.event === "string" && typeof e.at === "number"
          ? [{ ...e, event: e.event, at: e.at, host: host.name }]
          : [];
      } catch {
        return [];
      }
    })
    .filter((e) => e.at >= sinceMs);
}

/**
 * The first write a host other than `oldPrimary` accepted after `afterMs` (writer time), waited
 * for up to `boundMs`: the agents' takeover as a client sees it.
 */
export async function firstWriteElsewhere(
  writer: Writer,
  oldPrimary: string,
  afterMs: number,
  boundMs: number,
): Promise<Ack | undefined> {
  const until = Date.now() + boundMs;
  const found = () => writer.acks.find((a) => a.at > afterMs && a.host !== oldPrimary);
  while (!found() && Date.now() < until) await sleep(100);
  return found();
}
