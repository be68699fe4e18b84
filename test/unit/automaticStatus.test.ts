import {
  AgentState,
  AutomaticHostView,
  AutomaticProbe,
  evaluateAutomatic,
  formatAutomatic,
} from "../../components/operator/automatic";

const NOW = 1_800_000_000_000;
const ENDPOINTS = ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"];

const agent = (over: Partial<AgentState> = {}): AgentState => ({
  role: "standby",
  holding: false,
  fenced: false,
  updatedAt: NOW - 300,
  ...over,
});
const probe = (over: Partial<AutomaticProbe> = {}): AutomaticProbe => ({
  agent: agent(),
  agentRunning: true,
  endpoints: ENDPOINTS,
  members: ENDPOINTS.map((endpoint) => ({ endpoint, health: true, took: "2ms", error: null })),
  leader: { holder: "primary", leaseId: "7587", ttlSeconds: 2, grantedTtlSeconds: 3 },
  etcdError: null,
  ...over,
});
const leading = agent({
  role: "leader",
  holding: true,
  heldSince: NOW - 120_000,
  lastRenewAgoMs: 210,
});
const view = (name: string, role: string, p: AutomaticHostView["probe"]): AutomaticHostView => ({
  name,
  role,
  probe: p,
});

describe("status of automatic failover", () => {
  it("names the lease holder, how long it has held the key, and every member's health", () => {
    const r = evaluateAutomatic(
      [
        view("h11", "primary", probe({ agent: leading })),
        // etcdctl lists members in the order they answered.
        view("h12", "standby", probe({ members: [...(probe().members ?? [])].reverse() })),
      ],
      "h11",
      NOW,
    );
    expect(r).toMatchObject({
      leader: "h11",
      heldForSeconds: 120,
      leaseTtlLeftSeconds: 2,
      leaseTtlSeconds: 3,
      problems: [],
    });
    expect(r.agents.map((a) => [a.host, a.role, a.holding, a.lastRenewAgoMs])).toEqual([
      ["h11", "leader", true, 210],
      ["h12", "standby", false, null],
    ]);
    expect(r.members.map((m) => [m.endpoint, m.healthy])).toEqual(ENDPOINTS.map((e) => [e, true]));
    const text = formatAutomatic(r);
    expect(text).toMatch(/leader key\s+h11, held for 120 s, lease 2\/3 s left/);
    expect(text).toMatch(/etcd member\s+https:\/\/10\.0\.0\.13:2379\s+healthy/);
  });

  it("reports a member unhealthy when any master host cannot reach it, and says what a second loss means", () => {
    const sick = probe({
      members: ENDPOINTS.map((endpoint, i) => ({
        endpoint,
        health: i !== 2,
        error: i === 2 ? "context deadline exceeded" : null,
      })),
    });
    const r = evaluateAutomatic(
      [view("h11", "primary", probe({ agent: leading })), view("h12", "standby", sick)],
      "h11",
      NOW,
    );
    expect(r.members.find((m) => m.endpoint.endsWith(".13:2379"))).toMatchObject({
      healthy: false,
      detail: "healthy from h11, UNHEALTHY (context deadline exceeded) from h12",
    });
    expect(r.problems).toEqual([expect.stringMatching(/10\.0\.0\.13:2379 not healthy.*2 of 3/)]);
  });

  it("warns when nobody holds the key, an agent does not run, and a fenced agent's host", () => {
    const none = { holder: null, leaseId: null, ttlSeconds: null, grantedTtlSeconds: null };
    const r = evaluateAutomatic(
      [
        view(
          "h11",
          "primary",
          probe({
            leader: none,
            agent: agent({ role: "down", fenced: true, fenceReason: "no lease renewal for 1.5s" }),
          }),
        ),
        view("h12", "standby", probe({ leader: none, agentRunning: false })),
      ],
      null,
      NOW,
    );
    expect(r.leader).toBeNull();
    expect(r.problems).toEqual([
      "nobody holds the leader key: no master is protected by a lease",
      expect.stringMatching(/h11 fenced its server \(no lease renewal for 1\.5s\)/),
      expect.stringMatching(/agent on h12 does not run/),
    ]);
    expect(formatAutomatic(r)).toMatch(/leader key\s+NOBODY/);
  });

  it("warns when the key's holder is not the server that runs as primary, or an agent's state is stale", () => {
    const r = evaluateAutomatic(
      [
        view("h11", "primary", probe({ agent: leading })),
        view("h12", "standby", probe({ agent: agent({ updatedAt: NOW - 9000 }) })),
      ],
      "h12",
      NOW,
    );
    expect(r.problems).toEqual([
      "h11 holds the leader key, but h12 is the primary by its server",
      "the failover agent on h12 has not written its state for 9 s",
    ]);
  });

  it("says when etcd cannot be read from any host", () => {
    const r = evaluateAutomatic(
      [
        view("h11", "primary", { error: "h11 (10.0.0.11): cannot connect" }),
        view(
          "h12",
          "standby",
          probe({ leader: null, members: null, etcdError: "Error: context deadline exceeded" }),
        ),
      ],
      null,
      NOW,
    );
    expect(r.problems).toEqual([
      "the agent's status on h11 cannot be read: h11 (10.0.0.11): cannot connect",
      "etcd cannot be read from any host (h12: Error: context deadline exceeded)",
    ]);
    expect(r.agents[0]).toMatchObject({ host: "h11", note: "unreachable" });
  });

  it("reads the leader key and the members' health on the witness when no master's etcd answers (AWS: over the operators' SSH line)", () => {
    // What status.sh prints on the witness: no agent there, etcd read with its certificate.
    const onWitness = probe({ agent: null, agentRunning: false });
    const r = evaluateAutomatic(
      [
        view("h11", "primary", {
          ...probe({ agent: leading }),
          leader: null,
          members: null,
          etcdError: "Error: context deadline exceeded",
        }),
        view("h12", "standby", { error: "h12 (10.0.0.12): cannot connect" }),
      ],
      "h11",
      NOW,
      view("witness_s", "witness", onWitness),
    );
    expect(r).toMatchObject({
      leader: "h11",
      heldForSeconds: 120,
      leaseTtlLeftSeconds: 2,
      leaseTtlSeconds: 3,
    });
    expect(r.problems).toEqual([
      "the agent's status on h12 cannot be read: h12 (10.0.0.12): cannot connect",
    ]);
    // The witness is no agent: only the masters are listed as such.
    expect(r.agents.map((a) => a.host)).toEqual(["h11", "h12"]);
    expect(r.members.map((m) => [m.endpoint, m.healthy, m.detail])).toEqual(
      ENDPOINTS.map((e) => [e, true, "healthy from witness_s"]),
    );
  });

  it("reports a witness it cannot reach, and a member the witness sees unhealthy", () => {
    const sick = ENDPOINTS.map((endpoint, i) => ({
      endpoint,
      health: i !== 1,
      took: "2ms",
      error: i === 1 ? "context deadline exceeded" : null,
    }));
    const masters = [
      view("h11", "primary", probe({ agent: leading })),
      view("h12", "standby", probe()),
    ];
    expect(
      evaluateAutomatic(
        masters,
        "h11",
        NOW,
        view("witness_s", "witness", { error: "witness_s (10.0.0.13): cannot connect" }),
      ).problems,
    ).toEqual([
      "etcd cannot be read on the witness witness_s: witness_s (10.0.0.13): cannot connect",
    ]);
    const r = evaluateAutomatic(
      masters,
      "h11",
      NOW,
      view("witness_s", "witness", probe({ agent: null, agentRunning: false, members: sick })),
    );
    expect(r.members[1]).toEqual({
      endpoint: ENDPOINTS[1],
      healthy: false,
      detail:
        "healthy from h11, healthy from h12, UNHEALTHY (context deadline exceeded) from witness_s",
    });
  });
});
