import { Probe } from "../../components/operator/probe";
import { evaluate, EXIT, exitCode, formatReport, HostView } from "../../components/operator/status";

const primaryProbe = (over: Partial<Probe> = {}): Probe => ({
  dataDir: true,
  running: true,
  acceptsConnections: true,
  inRecovery: false,
  fenced: false,
  timeline: 1,
  currentLsn: "0/5000000",
  replication: [
    {
      applicationName: "s",
      state: "streaming",
      syncState: "async",
      sentLsn: "0/5000000",
      replayLsn: "0/4F00000",
      lagBytes: 1048576,
      replayLagSeconds: 0.2,
    },
  ],
  slot: {
    name: "gpmirror_standby",
    active: true,
    walStatus: "reserved",
    retainedBytes: 1048576,
    safeWalBytes: 1073741824,
  },
  ...over,
});
const standbyProbe = (over: Partial<Probe> = {}): Probe => ({
  dataDir: true,
  running: true,
  acceptsConnections: true,
  inRecovery: true,
  fenced: false,
  timeline: 1,
  replication: [],
  slot: null,
  ...over,
});
const view = (name: string, probe: HostView["probe"]): HostView => ({
  name,
  address: `10.0.0.${name.length}`,
  probe,
});

describe("status of a pair", () => {
  it("is protected when the standby streams and the slot holds its WAL", () => {
    const r = evaluate(view("p", primaryProbe()), view("s", standbyProbe()));
    expect(r).toMatchObject({
      primary: "p",
      standby: "s",
      protected: true,
      state: "streaming",
      lagBytes: 1048576,
      lagSeconds: 0.2,
      retainedWalBytes: 1048576,
      safeWalBytes: 1073741824,
      canCatchUp: true,
      problems: [],
    });
    expect(exitCode(r)).toBe(EXIT.ok);
    expect(formatReport(r)).toMatch(/protected\s+yes/);
  });

  it("is unprotected (exit 2) when a streaming standby has not answered for a while (a partition)", () => {
    const silent = primaryProbe();
    silent.replication[0].replyAgeSeconds = 45;
    const r = evaluate(view("p", silent), view("s", standbyProbe()));
    expect(r.state).toBe("streaming");
    expect(r.protected).toBe(false);
    expect(r.problems.join()).toMatch(
      /s has not answered p for 45 s: the link between the hosts may be cut/,
    );
    expect(exitCode(r)).toBe(EXIT.unprotected);
    const answering = primaryProbe();
    answering.replication[0].replyAgeSeconds = 9;
    expect(evaluate(view("p", answering), view("s", standbyProbe())).protected).toBe(true);
  });

  it("finds the primary by what the servers say, whichever host it is", () => {
    const r = evaluate(view("s", standbyProbe()), view("p", primaryProbe()));
    expect(r.primary).toBe("p");
    expect(r.hosts.map((h) => h.role)).toEqual(["standby", "primary"]);
  });

  it("is unprotected (exit 2) when the standby is not connected", () => {
    const r = evaluate(
      view("p", primaryProbe({ replication: [] })),
      view("s", { error: "s (10.0.0.1): cannot connect" }),
    );
    expect(r.protected).toBe(false);
    expect(r.problems.join()).toMatch(/s is not connected to p \(unreachable\)/);
    expect(exitCode(r)).toBe(EXIT.unprotected);
  });

  it("says the standby must be rebuilt once its slot lost WAL", () => {
    const lost = primaryProbe({
      replication: [],
      slot: {
        name: "gpmirror_standby",
        active: false,
        walStatus: "lost",
        retainedBytes: null,
        safeWalBytes: null,
      },
    });
    const r = evaluate(view("p", lost), view("s", standbyProbe()));
    expect(r.canCatchUp).toBe(false);
    expect(r.problems.join()).toMatch(/must be rebuilt/);
    expect(exitCode(r)).toBe(EXIT.unprotected);
  });

  it("exits 3 when lag is over the threshold", () => {
    const r = evaluate(view("p", primaryProbe()), view("s", standbyProbe()), { maxLagBytes: 1000 });
    expect(r.problems.join()).toMatch(/over the threshold/);
    expect(exitCode(r, { maxLagBytes: 1000 })).toBe(EXIT.lagging);
  });

  it("flags two primaries, and a pair with none", () => {
    expect(evaluate(view("p", primaryProbe()), view("s", primaryProbe())).problems[0]).toMatch(
      /two primaries/,
    );
    const none = evaluate(
      view("p", standbyProbe()),
      view("s", standbyProbe({ running: false, fenced: true })),
    );
    expect(none.primary).toBeNull();
    expect(none.hosts[1].role).toBe("fenced (stopped)");
    expect(exitCode(none)).toBe(EXIT.unprotected);
  });

  it("reports a standby that is catching up as not protected yet", () => {
    const r = evaluate(
      view(
        "p",
        primaryProbe({ replication: [{ ...primaryProbe().replication[0], state: "catchup" }] }),
      ),
      view("s", standbyProbe()),
    );
    expect(r.protected).toBe(false);
    expect(r.problems.join()).toMatch(/catchup, not streaming/);
  });
});
