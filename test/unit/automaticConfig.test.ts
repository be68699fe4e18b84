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
      retryWindowMs: 6500,
      etcdHeartbeatMs: 100,
      etcdElectionTimeoutMs: 1000,
    });
  });

  it("refuses a retry window that leaves no room for the fence before the lease expires", () => {
    const msg = errorOf({
      activation: { automatic: "true", leaseTtlSeconds: "4", retryWindowMs: "3500" },
    });
    expect(msg).toMatch(/activation\.retryWindowMs/);
    expect(msg).toMatch(/4500 ms is not less than the lease TTL \(4000 ms\)/);
    expect(msg).toMatch(/activation\.leaseTtlSeconds 5/);
  });

  it.each([
    ["500", "4000", 4000],
    ["200", "3700", 3700],
  ])(
    "refuses a retry window that an etcd election after its leader's loss outlasts (renew every %s ms, window %s ms)",
    (renewIntervalMs, retryWindowMs, needed) => {
      const msg = errorOf({
        activation: { automatic: "true", leaseTtlSeconds: "10", renewIntervalMs, retryWindowMs },
      });
      expect(msg).toMatch(
        new RegExp(`activation\\.retryWindowMs.*longer than etcd's election.*= ${needed} ms`),
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
          leaseTtlSeconds: "5",
          renewIntervalMs: "200",
          retryWindowMs: "3701",
        },
      },
      ctx,
    ).activation.automatic;
    expect(auto).toEqual({
      leaseTtlSeconds: 5,
      renewIntervalMs: 200,
      retryWindowMs: 3701,
      etcdHeartbeatMs: 100,
      etcdElectionTimeoutMs: 1000,
    });
  });

  it("scales etcd's election floor with its election timeout: a 100 ms timeout allows a 2 s lease", () => {
    const fast = {
      automatic: "true",
      leaseTtlSeconds: "2",
      renewIntervalMs: "100",
      retryWindowMs: "950",
      etcdHeartbeatMs: "20",
      etcdElectionTimeoutMs: "100",
    };
    expect(parseSettings({ activation: fast }, ctx).activation.automatic).toEqual({
      leaseTtlSeconds: 2,
      renewIntervalMs: 100,
      retryWindowMs: 950,
      etcdHeartbeatMs: 20,
      etcdElectionTimeoutMs: 100,
    });
    // The same window with etcd's default election timeout: its elections take longer.
    const msg = errorOf({
      activation: { ...fast, etcdHeartbeatMs: "100", etcdElectionTimeoutMs: "1000" },
    });
    expect(msg).toMatch(
      /activation\.retryWindowMs.*longer than etcd's election.*etcdElectionTimeoutMs 1000 \+ 500\) plus one renew interval \(3500 \+ 100 = 3600 ms\), got 950 ms/,
    );
    const short = errorOf({ activation: { ...fast, retryWindowMs: "900" } });
    expect(short).toMatch(/\(800 \+ 100 = 900 ms\), got 900 ms/);
    expect(short).toMatch(/activation\.retryWindowMs 1900\b/);
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
      retryWindowMs: 6500,
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
      /greenplum\.walSenderTimeoutSeconds.*must be longer than activation\.retryWindowMs plus the fence \(7500 ms\)/,
    );
    expect(msg).toMatch(/greenplum\.walSenderTimeoutSeconds 13/);
  });
});
