import { ConfigError, parseSettings } from "../../components/config";
import { activationSwitch } from "../../components/config/activation";

const ctx = { stack: "local", uid: 0, homeDir: "/root" };

describe("activation settings", () => {
  it("defaults to the primary active, protected, safe failover", () => {
    expect(parseSettings({}, ctx).activation).toEqual({
      activeMaster: "primary",
      protect: true,
      mode: "failover",
      force: false,
      maxLagBytes: 16 * 1024 * 1024,
      timeoutSeconds: 60,
      fenceCommand: "",
      fenceTimeoutSeconds: 60,
    });
  });

  it("reads a switchover to the standby as stack files hold it", () => {
    const a = parseSettings(
      {
        activeMaster: "standby",
        protect: "false",
        activation: { mode: "switchover", force: "true", maxLagBytes: "0" },
      },
      ctx,
    ).activation;
    expect(a).toMatchObject({
      activeMaster: "standby",
      protect: false,
      mode: "switchover",
      force: true,
      maxLagBytes: 0,
    });
  });

  it.each([
    [{ activeMaster: "mdw" }, "gpmirror:activeMaster"],
    [{ protect: "yes" }, "gpmirror:protect"],
    [{ activation: { mode: "now" } }, "gpmirror:activation.mode"],
    [{ activation: { force: 1 } }, "gpmirror:activation.force"],
    [{ activation: { maxLagBytes: "-5" } }, "gpmirror:activation.maxLagBytes"],
    [{ activation: { timeoutSeconds: "1" } }, "gpmirror:activation.timeoutSeconds"],
    [{ activation: { fenceCommand: ["ipmitool"] } }, "gpmirror:activation.fenceCommand"],
    [{ activation: { fenceCommand: "   " } }, "gpmirror:activation.fenceCommand"],
    [{ activation: { fenceCommand: "x".repeat(5000) } }, "gpmirror:activation.fenceCommand"],
    [{ activation: { fenceTimeoutSeconds: "30" } }, "gpmirror:activation.fenceTimeoutSeconds"],
    [
      { activation: { fenceCommand: "true", fenceTimeoutSeconds: "0" } },
      "gpmirror:activation.fenceTimeoutSeconds",
    ],
    [{ replication: { synchronous: "sometimes" } }, "gpmirror:replication.synchronous"],
    [{ replication: { reprotect: "copy" } }, "gpmirror:replication.reprotect"],
  ])("refuses %j naming %s", (raw, key) => {
    let problems: string[] = [];
    try {
      parseSettings(raw, ctx);
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    expect(problems.some((p) => p.startsWith(`${key}:`) && /Fix: \S/.test(p))).toBe(true);
  });

  it("names the config switch that activates the other host", () => {
    expect(activationSwitch("primary")).toBe(
      "pulumi config set gpmirror:activeMaster standby && pulumi up --yes",
    );
    expect(activationSwitch("standby")).toBe(
      "pulumi config set gpmirror:activeMaster primary && pulumi up --yes",
    );
  });
});

describe("activation.fenceCommand", () => {
  it("reads a fence command and its bound", () => {
    const a = parseSettings(
      {
        activation: { fenceCommand: 'fence-host "$GPM_FENCE_ADDRESS"', fenceTimeoutSeconds: "20" },
      },
      ctx,
    ).activation;
    expect(a).toMatchObject({
      fenceCommand: 'fence-host "$GPM_FENCE_ADDRESS"',
      fenceTimeoutSeconds: 20,
    });
  });

  it("activation.maxLagBytes is refused with the Greenplum engine, which cannot apply it", () => {
    expect(() =>
      parseSettings({ engine: "greenplum", activation: { maxLagBytes: "1024" } }, ctx),
    ).toThrow(
      /gpmirror:activation\.maxLagBytes: is not applied by the Greenplum engine.*Fix: remove/,
    );
    expect(parseSettings({ engine: "greenplum" }, ctx).activation.maxLagBytes).toBe(16777216);
  });

  it("is taken with the Greenplum engine too (the one activation flow runs it)", () => {
    const a = parseSettings({ engine: "greenplum", activation: { fenceCommand: "true" } }, ctx);
    expect(a.activation.fenceCommand).toBe("true");
  });
});
