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
      leaseTtlSeconds: 4,
      renewIntervalMs: 500,
      retryWindowMs: 2500,
    });
  });

  it("refuses a retry window that leaves no room for the fence before the lease expires", () => {
    const msg = errorOf({
      activation: { automatic: "true", leaseTtlSeconds: "3", retryWindowMs: "2500" },
    });
    expect(msg).toMatch(/activation\.retryWindowMs/);
    expect(msg).toMatch(/3500 ms is not less than the lease TTL \(3000 ms\)/);
    expect(msg).toMatch(/activation\.leaseTtlSeconds 4/);
  });

  it("refuses a retry window that an etcd election after its leader's loss outlasts", () => {
    const msg = errorOf({
      activation: { automatic: "true", renewIntervalMs: "200", retryWindowMs: "2000" },
    });
    expect(msg).toMatch(/activation\.retryWindowMs.*longer than etcd's election.*2200 ms/);
    expect(msg).toMatch(/one etcd member is lost/);
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
    [{ engine: "greenplum" }, /engine postgres so far/],
    [{ protect: "false" }, /needs a standby/],
    [{ local: { mode: "loopback" } }, /local\.mode netns/],
  ])("refuses %j with automatic failover, before anything is built", (extra, why) => {
    const msg = errorOf({ ...extra, activation: { automatic: "true" } });
    expect(msg).toMatch(/activation\.automatic/);
    expect(msg).toMatch(why);
    expect(msg).toMatch(/activation\.automatic false/);
  });
});
