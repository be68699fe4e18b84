import { ConfigError, parseSettings } from "../../components/config";

const ctx = { stack: "local", uid: 0, homeDir: "/root" };
const errorOf = (raw: Record<string, unknown>, c = ctx): string => {
  try {
    parseSettings(raw, c);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("no error");
};

describe("automatic failover settings", () => {
  it("is off unless asked for, and has timings that fence before the lease can expire", () => {
    expect(parseSettings({}, ctx).activation.automatic).toBeUndefined();
    expect(parseSettings({ activation: { automatic: "true" } }, ctx).activation.automatic).toEqual({
      leaseTtlSeconds: 8,
      renewIntervalMs: 500,
      retryWindowMs: 5000,
      fenceAfterMs: 6500,
      etcdHeartbeatMs: 100,
      etcdElectionTimeoutMs: 1000,
    });
  });

  it("refuses a retry window that leaves no room for the fence before the lease expires", () => {
    const msg = errorOf({
      activation: { automatic: "true", leaseTtlSeconds: "5", retryWindowMs: "3600" },
    });
    expect(msg).toMatch(/activation\.retryWindowMs/);
    // The agent fences a window, a renew interval and the reconnect allowance after its last
    // confirmed renewal: 3600 + 500 + 1000, then the fence and the clock margin.
    expect(msg).toMatch(/= 6100 ms is not less than the lease TTL \(5000 ms\)/);
    expect(msg).toMatch(/activation\.leaseTtlSeconds 7/);
  });

  it.each([
    ["1000", "3500", 3500],
    ["500", "2000", 2000],
  ])(
    "refuses a retry window that an etcd election after its leader's loss outlasts (election timeout %s ms, window %s ms)",
    (etcdElectionTimeoutMs, retryWindowMs, needed) => {
      const msg = errorOf({
        activation: {
          automatic: "true",
          leaseTtlSeconds: "10",
          etcdElectionTimeoutMs,
          retryWindowMs,
        },
      });
      expect(msg).toMatch(
        new RegExp(
          `activation\\.retryWindowMs.*longer than etcd's election.*= ${needed} ms\\), got ${needed} ms`,
        ),
      );
      expect(msg).toMatch(/etcd's leader member is lost/);
      expect(msg).toMatch(new RegExp(`activation\\.retryWindowMs ${needed + 1000}\\b`));
    },
  );

  it("accepts a window just above the election and a TTL just above the fence budget", () => {
    const auto = parseSettings(
      {
        activation: {
          automatic: "true",
          leaseTtlSeconds: "6",
          renewIntervalMs: "200",
          retryWindowMs: "3501",
        },
      },
      ctx,
    ).activation.automatic;
    expect(auto).toEqual({
      leaseTtlSeconds: 6,
      renewIntervalMs: 200,
      retryWindowMs: 3501,
      fenceAfterMs: 4701,
      etcdHeartbeatMs: 100,
      etcdElectionTimeoutMs: 1000,
    });
  });

  it("scales etcd's election floor with its election timeout: a 100 ms timeout allows a 3 s lease", () => {
    const fast = {
      automatic: "true",
      leaseTtlSeconds: "3",
      renewIntervalMs: "100",
      retryWindowMs: "850",
      etcdHeartbeatMs: "20",
      etcdElectionTimeoutMs: "100",
    };
    expect(parseSettings({ activation: fast }, ctx).activation.automatic).toEqual({
      leaseTtlSeconds: 3,
      renewIntervalMs: 100,
      retryWindowMs: 850,
      fenceAfterMs: 1950,
      etcdHeartbeatMs: 20,
      etcdElectionTimeoutMs: 100,
    });
    // The same window with etcd's default election timeout: its elections take longer.
    const msg = errorOf({
      activation: { ...fast, etcdHeartbeatMs: "100", etcdElectionTimeoutMs: "1000" },
    });
    expect(msg).toMatch(
      /activation\.retryWindowMs.*longer than etcd's election.*etcdElectionTimeoutMs 1000 \+ 500 = 3500 ms\), got 850 ms/,
    );
    const short = errorOf({ activation: { ...fast, retryWindowMs: "800" } });
    expect(short).toMatch(/\+ 500 = 800 ms\), got 800 ms/);
    expect(short).toMatch(/activation\.retryWindowMs 1800\b/);
    // A 2 s lease leaves no room: the fence deadline alone is more than a second.
    const two = errorOf({ activation: { ...fast, leaseTtlSeconds: "2" } });
    expect(two).toMatch(/= 2950 ms is not less than the lease TTL \(2000 ms\)/);
  });

  it("refuses an election timeout shorter than 5 etcd heartbeats, which etcd would not start with", () => {
    const msg = errorOf({
      activation: { automatic: "true", etcdHeartbeatMs: "250", etcdElectionTimeoutMs: "1000" },
    });
    expect(msg).toMatch(
      /activation\.etcdElectionTimeoutMs.*must be at least 5 etcd heartbeats \(5 x 250 ms\), got 1000 ms/,
    );
    expect(msg).toMatch(/activation\.etcdElectionTimeoutMs 2500\b/);
  });

  it("refuses a lease TTL shorter than etcd grants with its election timeout", () => {
    const msg = errorOf({
      activation: {
        automatic: "true",
        leaseTtlSeconds: "2",
        renewIntervalMs: "100",
        retryWindowMs: "900",
        etcdHeartbeatMs: "100",
        etcdElectionTimeoutMs: "1400",
      },
    });
    expect(msg).toMatch(
      /activation\.leaseTtlSeconds.*must be at least 3 s with activation\.etcdElectionTimeoutMs 1400, got 2 s/,
    );
    expect(msg).toMatch(/activation\.leaseTtlSeconds 3\b/);
  });

  it.each([
    ["etcdHeartbeatMs", "5"],
    ["etcdElectionTimeoutMs", "60000"],
    ["etcdElectionTimeoutMs", "fast"],
  ])("refuses activation.%s %s, naming the range", (key, value) => {
    const msg = errorOf({ activation: { automatic: "true", [key]: value } });
    expect(msg).toMatch(new RegExp(`activation\\.${key}.*must be a whole number from`));
  });

  it("refuses a renew interval that gives the leader one try per window", () => {
    const msg = errorOf({
      activation: { automatic: "true", renewIntervalMs: "2500", retryWindowMs: "2500" },
    });
    expect(msg).toMatch(
      /activation\.renewIntervalMs.*must be shorter than activation\.retryWindowMs/,
    );
  });

  it.each([
    [{ engine: "greenplum", greenplum: { version: "6" } }, /Greenplum 7 and Apache Cloudberry/],
    [{ protect: "false" }, /needs a standby/],
    [{ local: { mode: "loopback" } }, /local\.mode netns/],
  ])("refuses %j with automatic failover, before anything is built", (extra, why) => {
    const msg = errorOf({ ...extra, activation: { automatic: "true" } });
    expect(msg).toMatch(/activation\.automatic/);
    expect(msg).toMatch(why);
    expect(msg).toMatch(/activation\.automatic false/);
  });

  it("runs on the local Greenplum stack, with the agent's defaults", () => {
    const c = parseSettings({ engine: "greenplum", activation: { automatic: "true" } }, ctx);
    expect(c.activation.automatic).toEqual({
      leaseTtlSeconds: 8,
      renewIntervalMs: 500,
      retryWindowMs: 5000,
      fenceAfterMs: 6500,
      etcdHeartbeatMs: 100,
      etcdElectionTimeoutMs: 1000,
    });
  });

  it("refuses a Greenplum wal_sender_timeout that ends a hung stream before the agent fences", () => {
    const msg = errorOf({
      engine: "greenplum",
      greenplum: { walSenderTimeoutSeconds: "5" },
      activation: { automatic: "true" },
    });
    expect(msg).toMatch(
      /greenplum\.walSenderTimeoutSeconds.*must be longer than the agent's fence deadline \(activation\.retryWindowMs \+ renew interval \+ reconnect allowance\) plus the fence \(7500 ms\)/,
    );
    expect(msg).toMatch(/greenplum\.walSenderTimeoutSeconds 13/);
  });
});
