// Fault rounds that the automatic failover files of both engines (PostgreSQL on a local pair,
// Greenplum on the local cluster) run alike: faults that must change nothing, and one etcd
// member killed. What they need of a stack is an AutomaticCluster.
import { AutomaticReport } from "../../components/operator/automatic";
import { StatusReport } from "../../components/operator/status";
import { Endpoint, Writer } from "../../components/operator/drill/writer";
import { AgentFiles } from "./agentFiles";
import { ETCD_OCTET, EtcdMembers } from "./etcdMembers";
import { Role, sleep, waitFor } from "./pair";

export interface AutomaticCluster {
  readonly agents: AgentFiles;
  readonly etcd: EtcdMembers;
  /** The drill's writer toward both masters, prepared, and its endpoints. */
  writer(run: string): Promise<{ writer: Writer; endpoints: Endpoint[] }>;
  /** `npm run status -- --json`. */
  status(): { report: StatusReport };
}

const other = (r: Role): Role => (r === "primary" ? "standby" : "primary");

/** The automatic failover part of `npm run status`, or undefined when it has none. */
export function automaticStatus(c: AutomaticCluster): AutomaticReport | undefined {
  return (c.status().report as StatusReport & { automatic?: AutomaticReport }).automatic;
}

/**
 * A fault that must change nothing: writes go on (or resume) on the same master, none lost,
 * its agent never fences, the other never promotes, and the leader key stays where it was.
 */
export async function unchangedThrough(
  c: AutomaticCluster,
  label: string,
  fault: (writer: Writer) => Promise<void>,
): Promise<Record<string, number>> {
  const old = c.agents.holder();
  if (!old) throw new Error("nobody leads");
  const { writer, endpoints } = await c.writer(`${label}-${Date.now()}`);
  writer.start();
  await sleep(1000);
  const t0 = Date.now();
  const oldName = endpoints.find((e) => e.host.endsWith(`.${ETCD_OCTET[old]}`))?.name;
  try {
    await fault(writer);
    const tAfter = writer.now();
    await waitFor(
      () => writer.acks.some((a) => a.at > tAfter + 500 && a.host === oldName),
      30_000,
      "a write accepted on the same master after the fault",
    );
  } catch (e) {
    const events = {
      [old]: c.agents.events(old, t0),
      [other(old)]: c.agents.events(other(old), t0),
    };
    throw new Error(`${(e as Error).message}; the agents' events: ${JSON.stringify(events)}`);
  } finally {
    await writer.stop();
  }
  const present = await writer.idsOn(endpoints.find((e) => e.name === oldName) ?? endpoints[0]);
  const lost = writer.acks.filter((a) => !present.has(a.id)).length;
  expect({ label, lost }).toEqual({ label, lost: 0 });
  expect(writer.acks.filter((a) => a.host !== oldName)).toEqual([]);
  expect(c.agents.holder()).toBe(old);
  expect(c.agents.events(old, t0).filter((e) => e.event === "fenced")).toEqual([]);
  expect(c.agents.events(other(old), t0).filter((e) => e.event === "promoted")).toEqual([]);
  return { acked: writer.acks.length, lost };
}

/**
 * etcd's leader member killed and kept down for 7 s under the writer: nothing changes, writes
 * go on, `npm run status` names the member; it rejoins before the next round.
 */
export async function etcdMemberRound(
  c: AutomaticCluster,
  run: string,
): Promise<Record<string, number>> {
  let status: AutomaticReport | undefined;
  const member = c.etcd.leader();
  const octet = ETCD_OCTET[member];
  const r = await unchangedThrough(c, run, async (writer) => {
    c.etcd.kill(member, true);
    try {
      await sleep(7000);
      const tLate = writer.now();
      await waitFor(
        () => writer.acks.some((a) => a.at > tLate),
        10_000,
        "a write while the member is down",
      );
      status = automaticStatus(c);
    } finally {
      c.etcd.kill(member, false);
    }
  });
  expect(status?.members.filter((m) => !m.healthy).map((m) => m.endpoint)).toEqual([
    expect.stringMatching(new RegExp(`\\.${octet}:2379$`)),
  ]);
  expect(status?.leader).toBe(status?.agents.find((a) => a.holding)?.host);
  // The member rejoins before the next round kills etcd's leader again.
  await waitFor(
    () => {
      const auto = automaticStatus(c);
      return auto?.members.length === 3 && auto.members.every((m) => m.healthy);
    },
    30_000,
    "every etcd member healthy again",
  );
  return { ...r, killedMemberOctet: octet };
}
