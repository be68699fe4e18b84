// Automatic failover on a real Greenplum 7.0.0 cluster (the local Greenplum stack: coordinator,
// standby and a segment host with two segments, plus etcd's witness; stack gpautof, subnet
// 10.210.1.0/24): no `pulumi up` between the fault and the takeover. The standby's agent runs
// the engine's activate step once the coordinator's lease is gone (segment fence where the old
// coordinator is not proven stopped, then gpactivatestandby). Timings are printed, not
// asserted; what is asserted is safety: no acknowledged commit lost, no write accepted by the
// old coordinator once the new one took one, no failover from a blip, from a cut between the
// two master hosts, from the standby's loss or from etcd's leader member's; no promotion of a
// standby that the coordinator committed without; then the drill (`npm run drill --
// --automatic`) on the same cluster. One cluster for the file; GPMIRROR_FAULT_ROUNDS repeats
// the etcd member, kill -9 and isolation rounds.
import * as fs from "fs";
import { AutomaticReport } from "../../components/operator/automatic";
import { StatusReport } from "../../components/operator/status";
import { describeGreenplum, GreenplumStack } from "../support/greenplumStack";
import { GreenplumRoles, Master, otherMaster } from "../support/greenplumRoles";
import { automaticKillDrill } from "./automaticDrill";
import { AgentFiles, startProber } from "./agentFiles";
import { AutomaticCluster, etcdMemberRound, unchangedThrough } from "./automaticRounds";
import { EtcdMembers } from "./etcdMembers";
import { faultRounds, sleep, waitFor } from "./pair";

jest.setTimeout(30 * 60 * 1000);

describeGreenplum("automatic failover on a real Greenplum cluster", () => {
  // wal_sender_timeout as short as the config allows with the default timings (more than the
  // retry window and the fence), so that a cut stream drops within the test's time.
  const gp = new GreenplumStack("gpautof", "10.210.1", {
    "activation.automatic": "true",
    "greenplum.walSenderTimeoutSeconds": "10",
  });
  const pair = new GreenplumRoles(gp);
  /** A host's home on this machine (bound at /home/gpadmin in its own mount namespace). */
  const home = (h: Master | "witness") => `${gp.stateDir}/hosts/${h}/home`;
  /** The coordinator directory of a host as this machine sees it (the stack's path per role). */
  const coordinatorDir = (h: Master | "witness") => `${home(h)}/data/${gp.name}/${h}/coordinator`;
  const agents = new AgentFiles((h) => `${coordinatorDir(h)}/auto`);
  const cluster: AutomaticCluster = {
    agents,
    etcd: new EtcdMembers(
      gp.subnet,
      `${gp.stateDir}/etcd-tls`,
      (h) => `${coordinatorDir(h)}/auto/etcd`,
    ),
    writer: (run) => pair.writer(run),
    status: () => gp.status(),
  };
  const numbers: Record<string, unknown> = {};

  beforeAll(async () => {
    await gp.create();
    const up = await pair.up();
    numbers["firstUpSeconds"] = up.seconds;
    GreenplumRoles.succeeded(up);
    await waitFor(() => agents.holder() === "primary", 60_000, "the coordinator's agent to lead");
    await waitFor(
      () => agents.state("standby")["role"] === "standby",
      30_000,
      "the standby's agent to follow",
    );
  });

  afterAll(async () => {
    for (const h of ["primary", "standby"] as const) {
      try {
        pair.network("heal", h);
      } catch {
        // no hosts
      }
    }
    const logs = `/tmp/gpm-${gp.name}-logs`;
    agents.saveLogs(logs);
    await gp.destroy();
    console.log(`agents' and etcd members' logs: ${logs}`);
    console.log(`Greenplum automatic failover numbers: ${JSON.stringify(numbers, null, 2)}`);
  });

  /** The writer toward both coordinators; the endpoint of a host. */
  async function writerFor(run: string) {
    const { writer, endpoints } = await pair.writer(run);
    const of = (h: Master) => {
      const e = endpoints.find((x) => x.host === gp.address(h));
      if (!e) throw new Error(`no endpoint for ${h}`);
      return e;
    };
    return { writer, of };
  }

  it("npm run status shows the agents, the lease holder and every etcd member healthy", () => {
    const { code, report } = gp.status();
    expect(code).toBe(0);
    const auto = (report as StatusReport & { automatic: AutomaticReport }).automatic;
    expect(auto.problems).toEqual([]);
    expect(auto.leader).toBe(report.primary);
    expect(auto.leaseTtlSeconds).toBe(8);
    expect(auto.agents.map((a) => [a.role, a.holding, a.running])).toEqual([
      ["leader", true, true],
      ["standby", false, true],
    ]);
    expect(auto.members.map((m) => m.healthy)).toEqual([true, true, true]);
  });

  it("a blip of the coordinator's host just shorter than the retry window (by one renew interval): no fence, no failover", async () => {
    const old = agents.holder();
    if (!old) throw new Error("nobody leads");
    const { retryWindowMs, renewIntervalMs } = gp.outputs["automaticFailover"].value as {
      retryWindowMs: number;
      renewIntervalMs: number;
    };
    const blipMs = retryWindowMs - renewIntervalMs;
    expect(blipMs).toBeGreaterThan(0); // the outputs name both
    const t0 = Date.now();
    pair.network("fence", old);
    await sleep(blipMs);
    pair.network("heal", old);
    await sleep(6000);
    expect(agents.holder()).toBe(old);
    expect(agents.events(old, t0).filter((e) => e.event === "fenced")).toEqual([]);
    expect(agents.events(otherMaster(old), t0).filter((e) => e.event === "acquired")).toEqual([]);
  });

  /** The gp_walreceiver entry of the leader's last status as the standby's agent saw it. */
  const syncSeenBy = (h: Master) => {
    const last = agents.state(h)["lastLeaderStatus"] as { replicas?: string } | undefined;
    return (last?.replicas ?? "").split(",").includes("gp_walreceiver:sync");
  };

  it("the coordinator cut off from the standby only (both reach the witness): no fence, no failover, commits go on without the standby once the stream drops; the coordinator killed then, the standby's agent refuses to promote; restarted, it leads with every commit and the standby streams again", async () => {
    const old = agents.holder();
    if (!old) throw new Error("nobody leads");
    const standby = otherMaster(old);
    expect(syncSeenBy(standby)).toBe(true);
    // The worst case for the coordinator: etcd's leader on the standby's host, which the
    // coordinator's own member then cannot reach; its agent must renew through the witness.
    await cluster.etcd.moveLeader(standby);
    const tCut = Date.now();
    try {
      numbers["partition"] = await unchangedThrough(cluster, "gp-partition", async () => {
        pair.network("partition", old);
        // Commits wait for the standby until wal_sender_timeout ends the stream; the leader's
        // status then shows no synchronous standby, and the standby's agent (through the
        // witness) sees that.
        await waitFor(() => !syncSeenBy(standby), 40_000, "the standby's agent to see no sync");
        numbers["partitionStreamDroppedMs"] = Date.now() - tCut;
      });
      // A commit the standby cannot have, then the coordinator's loss.
      pair.sql(
        "CREATE TABLE IF NOT EXISTS cut_off (id int) DISTRIBUTED BY (id); INSERT INTO cut_off SELECT generate_series(1, 100)",
      );
      const tKill = Date.now();
      pair.kill(old);
      await waitFor(
        () => agents.events(standby, tKill).some((e) => e.event === "refused"),
        30_000,
        "the standby's agent to refuse",
      );
      await sleep(2000);
      expect(agents.events(standby, tKill).filter((e) => e.event === "refused")).toEqual([
        expect.objectContaining({
          reason: expect.stringMatching(
            /did not show this standby streaming synchronously .*acknowledged commits may be missing here/,
          ),
        }),
      ]);
      expect(
        agents.events(standby, tKill).filter((e) => ["acquired", "promoted"].includes(e.event)),
      ).toEqual([]);
      expect(agents.events(old, tKill).map((e) => e.event)).toContain("released");
      expect(agents.holder()).toBeUndefined();
    } finally {
      pair.network("join", old);
    }
    pair.start(old);
    await waitFor(
      () => agents.holder() === old,
      60_000,
      "the restarted coordinator's agent to lead",
    );
    expect(pair.sql("SELECT count(*) FROM cut_off")).toBe("100");
    await pair.caughtUp();
    await waitFor(() => syncSeenBy(standby), 10_000, "the standby's agent to see it sync again");
    expect(pair.status()).toMatchObject({ code: 0, report: { protected: true } });
  });

  it("the standby coordinator killed: the coordinator keeps its lease, writes go on, nothing fails over; restarted, it streams again", async () => {
    const old = agents.holder();
    if (!old) throw new Error("nobody leads");
    const standby = otherMaster(old);
    numbers["standbyKilled"] = await unchangedThrough(cluster, "gp-standby-killed", async () => {
      pair.kill(standby);
      await sleep(9000); // more than a lease TTL (8 s)
      expect(agents.state(standby)["role"]).toBe("down");
    });
    pair.start(standby);
    await pair.caughtUp();
    await waitFor(() => agents.state(standby)["role"] === "standby", 10_000, "its agent to follow");
    expect(agents.holder()).toBe(old);
    expect(pair.status()).toMatchObject({ code: 0, report: { protected: true } });
  });

  it("one etcd member killed (etcd's leader, the worst case): nothing changes, writes go on, the status names it", async () => {
    await inRounds("etcdMember", () => etcdMemberRound(cluster, `gp-etcd-${Date.now()}`));
  });

  /** GPMIRROR_FAULT_ROUNDS rounds, one after the other; each round's numbers under `kind`. */
  async function inRounds(kind: string, round: () => Promise<Record<string, number>>) {
    const results: Record<string, number>[] = [];
    for (let i = 1; i <= faultRounds(); i++) results.push(await round());
    numbers[kind] = results;
  }

  it("kill -9 of the coordinator's postmaster: the standby takes over alone, no acknowledged commit lost; pulumi up follows and re-protects", async () => {
    await inRounds("kill9", killRound);
  });

  it("the coordinator's host cut off from everything: it fences itself, the standby takes over after the lease, no commit lost, no write on the old one afterwards", async () => {
    await inRounds("isolate", isolateRound);
  });

  async function killRound(): Promise<Record<string, number>> {
    const old = agents.holder();
    if (!old) throw new Error("nobody leads");
    const target = otherMaster(old);
    const { writer, of } = await writerFor(`gp-kill-${Date.now()}`);
    writer.start();
    await sleep(3000);
    const t0 = Date.now();
    const tKill = writer.now();
    const pid = Number(
      fs.readFileSync(`${coordinatorDir(old)}/gpseg-1/postmaster.pid`, "utf8").split("\n")[0],
    );
    process.kill(pid, "SIGKILL");
    try {
      await waitFor(
        () => writer.acks.some((a) => a.at > tKill && a.host === of(target).name),
        180_000,
        "the first write accepted on the new coordinator",
      );
      await sleep(1000);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; the agents' events: ${JSON.stringify({ [old]: agents.events(old, t0), [target]: agents.events(target, t0) })}`,
      );
    } finally {
      await writer.stop();
    }
    const firstNew = writer.acks.find((a) => a.at > tKill && a.host === of(target).name);
    const present = await writer.idsOn(of(target));
    const lost = writer.acks.filter((a) => !present.has(a.id)).length;
    const ev = agents.events(target, t0);
    const at = (name: string) => ev.find((e) => e.event === name)?.at ?? NaN;
    const promoted = ev.find((e) => e.event === "promoted");
    const r = {
      acked: writer.acks.length,
      lost,
      rtoMs: (firstNew?.at ?? NaN) - tKill,
      releasedMs: (agents.events(old, t0).find((e) => e.event === "released")?.at ?? NaN) - t0,
      detectMs: at("detected") - t0,
      promotedMs: at("promoted") - t0,
      promoteStepMs: Number(promoted?.["tookMs"]),
    };
    console.log(`gp kill -9: ${JSON.stringify(r)}`);
    expect(writer.acks.filter((a) => a.at < tKill).length).toBeGreaterThan(10);
    expect(lost).toBe(0);
    expect(agents.holder()).toBe(target);
    // The activate step saw the old postmaster gone on a host that answers: its proof.
    expect(promoted?.["result"]).toMatchObject({
      promoted: true,
      forced: true,
      oldPrimary: "postmaster-gone",
    });
    // pulumi up with the config unchanged follows the key holder and re-protects the old host.
    const up = GreenplumRoles.succeeded(await pair.up());
    const reprotectSeconds = up.seconds;
    expect(gp.outputs["automaticFailover"].value).toMatchObject({
      leaderAtStart: target,
      followedAgents: target !== "primary",
    });
    expect(pair.active).toBe(target);
    await pair.caughtUp();
    expect(pair.status()).toMatchObject({
      code: 0,
      report: { primary: gp.hostName(target), standby: gp.hostName(old), protected: true },
    });
    await waitFor(
      () => agents.state(old)["role"] === "standby",
      30_000,
      "the old coordinator's agent to follow as standby",
    );
    return { ...r, reprotectSeconds };
  }

  async function isolateRound(): Promise<Record<string, number>> {
    const old = agents.holder();
    if (!old) throw new Error("nobody leads");
    const target = otherMaster(old);
    const { writer, of } = await writerFor(`gp-isolate-${Date.now()}`);
    // Through the old host's own /tmp socket, which the network cut does not reach.
    const prober = startProber(
      `${gp.name}-${old}`,
      `${gp.stateDir}/hosts/${old}/tmp`,
      5432,
      "gpadmin",
    );
    writer.start();
    await sleep(3000);
    pair.network("fence", old);
    // Taken once the cut is in place.
    const tCutRel = writer.now();
    const tCut = Date.now();
    try {
      await waitFor(
        () => writer.acks.some((a) => a.at > tCutRel && a.host === of(target).name),
        180_000,
        "the first write accepted on the new coordinator",
      );
      await sleep(2000);
    } catch (e) {
      throw new Error(
        `${(e as Error).message}; the agents' events: ${JSON.stringify({ [old]: agents.events(old, tCut), [target]: agents.events(target, tCut) })}`,
      );
    } finally {
      prober.stop();
      await writer.stop();
    }
    const firstNew = writer.acks.find((a) => a.at > tCutRel && a.host === of(target).name);
    const firstNewAt = tCut + ((firstNew?.at ?? NaN) - tCutRel);
    const accepted = prober.accepted();
    const present = await writer.idsOn(of(target));
    const lost = writer.acks.filter((a) => !present.has(a.id)).length;
    const fenced = agents.events(old, tCut).find((e) => e.event === "fenced")?.at ?? NaN;
    const promoted = agents.events(target, tCut).find((e) => e.event === "promoted");
    const r = {
      acked: writer.acks.length,
      lost,
      rtoMs: firstNewAt - tCut,
      fenceMs: fenced - tCut,
      promotedMs: (promoted?.at ?? NaN) - tCut,
      promoteStepMs: Number(promoted?.["tookMs"]),
      proberWritesBeforeCut: accepted.filter((t) => t < tCut).length,
      lastWriteOnOldMs: Math.max(...accepted.filter((t) => t >= tCut), tCut) - tCut,
      writesOnOldAfterNew: accepted.filter((t) => t >= firstNewAt).length,
    };
    console.log(`gp isolate: ${JSON.stringify(r)}`);
    expect(lost).toBe(0);
    expect(r.proberWritesBeforeCut).toBeGreaterThan(0); // the prober did reach the old one
    expect(r.writesOnOldAfterNew).toBe(0);
    expect(fenced).toBeLessThan(promoted?.at ?? 0);
    // Unreachable: the expired lease is the proof, and the segments reject the old coordinator.
    expect(promoted?.["result"]).toMatchObject({
      promoted: true,
      oldPrimary: "fenced-by-lease",
      segmentFence: { state: "kept" },
    });
    pair.network("heal", old);
    const up = GreenplumRoles.succeeded(await pair.up());
    const reprotectSeconds = up.seconds;
    expect(pair.active).toBe(target);
    await pair.caughtUp();
    expect(pair.status()).toMatchObject({
      code: 0,
      report: { primary: gp.hostName(target), standby: gp.hostName(old), protected: true },
    });
    return { ...r, reprotectSeconds };
  }

  it("npm run drill -- --automatic: kill -9, the agents take over with no pulumi up, RPO 0, then pulumi up re-protects", () => {
    const before = agents.holder();
    if (!before) throw new Error("nobody leads");
    const t0 = Date.now();
    const { report, ...r } = automaticKillDrill(gp.name, gp.env);
    numbers["drillAutomatic"] = {
      seconds: (Date.now() - t0) / 1000,
      rtoSeconds: report.rtoSeconds,
      acked: report.rpo.ackedCommits,
      phases: report.phases,
    };
    expect(r.stderr).toMatch(/no pulumi up: waiting up to \d+ s for the agents to take over/);
    expect(report.rtoSeconds).not.toBeNull();
    expect(report.rpo.ackedCommits).toBeGreaterThan(0);
    expect(report.rpo.missingCommits).toBe(0);
    expect(report.newPrimary).toBe(gp.hostName(otherMaster(before)));
    expect(report.phases[`promoted (${report.newPrimary})`]).toBeGreaterThan(0);
    expect(report.protectedAfter).toBe(true);
    expect(r.code).toBe(0);
    expect(agents.holder()).toBe(otherMaster(before));
  });
});
