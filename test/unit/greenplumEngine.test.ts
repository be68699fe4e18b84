// The Greenplum engine as the program sees it: its settings, what each step sends to which
// host (script and GPM_* parameters), and the extra trust steps in the pair's order.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, parseSettings, RawSettings } from "../../components/config";
import { GreenplumEngine } from "../../components/engines/greenplum";
import { ExistingHosts } from "../../components/hosts/existing";
import { MasterMirror } from "../../components/masterMirror";
import { OperatorAccess, probeInput } from "../../components/operator/access";
import { scriptPath } from "../../components/packageRoot";
import { plain } from "../support/mockValues";
import { fakeKey } from "../fixtures/keys";

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const created: Created[] = [];

// What the real prepare and verify scripts print.
function fakeStdout(name: string): string {
  if (name.endsWith("-prepare-primary") || name.endsWith("-prepare-standby")) {
    const who = name.endsWith("primary") ? "mdw" : "smdw";
    return JSON.stringify({
      gpVersion: "7.0.0",
      flavor: "gp7",
      pgBin: "/usr/local/greenplum-db/bin",
      names: `10.0.1.${who === "mdw" ? 10 : 20} ${who}`,
      publicKey: `ssh-ed25519 AAAA${who}`,
      hostKeys: `ssh-ed25519 HOST${who}\necdsa-sha2-nistp256 HOST${who}2`,
    });
  }
  if (name.endsWith("-verify")) {
    return JSON.stringify({ state: "streaming", syncState: "sync", replayLagBytes: 0 });
  }
  return "{}";
}

pulumi.runtime.setMocks(
  {
    newResource(args) {
      // A refused activation is still running (it is refused after 10 s on a real cluster):
      // what starts meanwhile would run beside it.
      if (args.name === "refused-activation" && args.type === "command:local:Command") {
        return new Promise<never>(() => undefined);
      }
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      const inputs = plain(args.inputs) as Record<string, unknown>;
      return {
        id: `${args.name}-id`,
        state: { ...inputs, stdout: fakeStdout(args.name), stderr: "" },
      };
    },
    call: (args) => args.inputs,
  },
  "gpmirror",
  "unit",
  false,
);

const KEY = fakeKey("abc") + "\n";
const ctx = { stack: "gp", uid: 1000, homeDir: "/home/ann", readFile: () => KEY };
function raw(greenplum: Record<string, unknown> = {}, extra: RawSettings = {}): RawSettings {
  const host = (address: string, dataDir: string) => ({
    address,
    user: "gpadmin",
    privateKeyPath: "/keys/id",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG",
    dataDir,
  });
  return {
    platform: "existing",
    engine: "greenplum",
    dbPort: "5432",
    hosts: {
      primary: host("10.0.1.10", "/data/coordinator/gpseg-1"),
      standby: host("10.0.1.20", "/data/coordinator/gpseg-1"),
    },
    greenplum,
    ...extra,
  };
}
function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Error("missing in the fixture or settings");
  return v;
}

function problemsOf(r: RawSettings): string[] {
  try {
    parseSettings(r, ctx);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe("greenplum settings", () => {
  it("has documented defaults", () => {
    expect(parseSettings(raw(), ctx).greenplum).toEqual({
      gphome: "/usr/local/greenplum-db",
      adminUser: "gpadmin",
      version: "auto",
      walKeepSize: "1GB",
      walSenderTimeoutSeconds: 60,
      allowReplaceStandby: false,
      moveAsideLeftoverDataDir: true,
      initializeSystem: false,
      segmentHosts: [],
      segmentDataDir: "/data/primary",
      segmentsPerHost: 1,
      segmentPortBase: 6000,
      activationTimeoutSeconds: 900,
      segmentFenceCommand: "",
      segmentFenceTimeoutSeconds: 60,
    });
    expect(parseSettings(raw({}, { engine: "postgres" }), ctx).greenplum).toBeUndefined();
  });

  it("takes a segment fence command with its bound, and names a bad one with its fix", () => {
    const command = 'segment-fence "$GPM_FENCE_ACTION" "$GPM_FENCE_SEGMENT_HOST"';
    expect(
      parseSettings(raw({ segmentFenceCommand: command, segmentFenceTimeoutSeconds: "20" }), ctx)
        .greenplum,
    ).toMatchObject({ segmentFenceCommand: command, segmentFenceTimeoutSeconds: 20 });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ segmentFenceCommand: "  " }, /greenplum\.segmentFenceCommand: is blank/],
      [
        { segmentFenceCommand: ["nft"] },
        /greenplum\.segmentFenceCommand: must be one shell command/,
      ],
      [
        { segmentFenceTimeoutSeconds: "30" },
        /greenplum\.segmentFenceTimeoutSeconds: bounds the command of greenplum\.segmentFenceCommand/,
      ],
      [
        { segmentFenceCommand: "true", segmentFenceTimeoutSeconds: "0" },
        /greenplum\.segmentFenceTimeoutSeconds: must be a whole number from 1/,
      ],
    ];
    for (const [settings, message] of cases) {
      const problems = problemsOf(raw(settings));
      expect(problems.join("\n")).toMatch(message);
      for (const p of problems) expect(p).toMatch(/\. Fix: /);
    }
  });

  it("names each bad value and its fix", () => {
    const problems = problemsOf(
      raw({
        gphome: "relative/dir",
        version: "5",
        walKeepSize: "lots",
        walSenderTimeoutSeconds: 1,
        allowReplaceStandby: "yes",
        initializeSystem: true,
      }),
    );
    const text = problems.join("\n");
    expect(text).toMatch(/gpmirror:greenplum.gphome: "relative\/dir" is not a plain absolute path/);
    expect(text).toMatch(/gpmirror:greenplum.version: must be one of auto, 6, 7, cloudberry/);
    expect(text).toMatch(/gpmirror:greenplum.walKeepSize: must be a size/);
    expect(text).toMatch(
      /gpmirror:greenplum.walSenderTimeoutSeconds: must be a whole number from 5/,
    );
    expect(text).toMatch(/gpmirror:greenplum.allowReplaceStandby: must be true or false/);
    expect(text).toMatch(
      /gpmirror:greenplum.segmentHosts: initializeSystem needs at least one segment host/,
    );
    for (const p of problems) expect(p).toMatch(/\. Fix: /);
  });

  it("refuses a segment host listed twice (gpinitsystem would)", () => {
    expect(
      problemsOf(raw({ initializeSystem: true, segmentHosts: ["sdw1", "sdw2", "sdw1"] })).join(),
    ).toMatch(/gpmirror:greenplum.segmentHosts: names sdw1 more than once.*Fix: list each/);
    expect(problemsOf(raw({ initializeSystem: true, segmentHosts: ["sdw1", "sdw2"] }))).toEqual([]);
  });

  it("gives the primary step what gpinitsystem needs when initializeSystem is set", () => {
    const config = parseSettings(
      raw({
        initializeSystem: true,
        segmentHosts: ["sdw1", "sdw2"],
        segmentDataDir: "/data/primary",
        segmentsPerHost: 2,
        segmentPortBase: 6000,
      }),
      ctx,
    );
    const hosts = new ExistingHosts(
      must(config.existing),
      config.primaryDbPort,
      config.standbyDbPort,
    );
    const step = new GreenplumEngine(must(config.greenplum)).primary({
      primary: hosts.primary,
      standby: hosts.standby,
      replication: config.replication,
      replicationPassword: pulumi.secret("x"),
    });
    expect(step.script).toContain("gpinitsystem -a -c");
    expect(step.env).toMatchObject({
      GPM_INITIALIZE_SYSTEM: "true",
      GPM_SEGMENT_HOSTS: "sdw1 sdw2",
      GPM_SEGMENT_DATA_DIR: "/data/primary",
      GPM_SEGMENTS_PER_HOST: "2",
      GPM_SEGMENT_PORT_BASE: "6000",
      GPM_DB_PORT: "5432",
    });
  });

  it("keeps segment ports off the master's port", () => {
    expect(
      problemsOf(
        raw({ initializeSystem: true, segmentHosts: ["sdw1"], segmentPortBase: 5432 }),
      ).join(),
    ).toMatch(/segment ports 5432-5432 include the coordinator's port 5432/);
  });
});

/** The environment of the activation (a local command: scripts/activate.sh) named `name`. */
function activationEnv(name: string): Record<string, string> {
  const step = created.find((c) => c.type === "command:local:Command" && c.name === name);
  if (!step) throw new Error(`no activation ${name}`);
  return plain(step.inputs["environment"]) as Record<string, string>;
}

/** A pair on existing hosts with activeMaster standby, as index.ts builds it: swapped. */
function switchedMirror(name: string): MasterMirror {
  const config = parseSettings(raw({ version: "7" }, { activeMaster: "standby" }), ctx);
  const hosts = new ExistingHosts(
    must(config.existing),
    config.primaryDbPort,
    config.standbyDbPort,
  );
  return new MasterMirror(name, {
    primary: hosts.standby,
    standby: hosts.primary,
    engine: new GreenplumEngine(must(config.greenplum)),
    replication: config.replication,
    replicationPassword: pulumi.secret("unused-by-greenplum-0123456789"),
    ssh: hosts,
    activation: { settings: config.activation },
  });
}

describe("GreenplumEngine and the activeMaster switch (mocks)", () => {
  const mirror = switchedMirror("switch");

  it("activates the host named by activeMaster first, through the one activation flow with Greenplum's steps", async () => {
    await new Promise((resolve) => mirror.activation.apply(resolve));
    const env = activationEnv("switch-activation");
    expect(env).toMatchObject({
      GPM_ENGINE: "greenplum",
      GPM_NEW_ADDRESS: "10.0.1.20",
      GPM_OLD_ADDRESS: "10.0.1.10",
      GPM_FORCE: "false",
      GPM_ACTIVATION_MODE: "failover",
      GPM_TIMEOUT_SECONDS: "60",
      // gpactivatestandby's bound (900 s) and the steps around it.
      GPM_PROMOTE_TIMEOUT_SECONDS: "1620",
    });
    // The old coordinator is fenced from the standby (the admin user's trust), not from here.
    expect(env["GPM_OLD_FENCE"]).toBeUndefined();
    // The promote step runs on the standby with the old master's coordinates; force and mode
    // come from scripts/activate.sh, so that the step text does not set them.
    expect(env["GPM_NEW_ACTIVATE"]).toContain("export GPM_OLD_PRIMARY_ADDRESS='10.0.1.10'");
    expect(env["GPM_NEW_ACTIVATE"]).toContain("gpactivatestandby");
    expect(env["GPM_NEW_ACTIVATE"]).not.toMatch(/export GPM_(FORCE|ACTIVATION_MODE)=/);
    expect(env["GPM_NEW_PROBE"]).toContain("gp_segment_configuration");
  });
});

// On a real Greenplum 7.0.0 an activation was refused after 10 s (old coordinator
// unreachable), but the trust steps ran beside it and retried ssh to that host five times:
// `pulumi up` ended after 74 s. No step may start before the activation has finished.
describe("GreenplumEngine and a refused activation (mocks)", () => {
  it("starts no trust, primary or standby step beside the activation", async () => {
    expect(switchedMirror("refused")).toBeDefined();
    // Every registration that can happen while the activation runs.
    await new Promise((r) => setTimeout(r, 1500));
    const steps = created.map((c) => c.name).filter((n) => n.startsWith("refused-"));
    expect(steps).toEqual(
      expect.arrayContaining(["refused-prepare-primary", "refused-prepare-standby"]),
    );
    expect(
      steps.filter((n) => /^refused-(trust-\w+|primary|access|standby|verify)$/.test(n)),
    ).toEqual([]);
  });
});

describe("GreenplumEngine and activation.mode switchover (mocks)", () => {
  const config = parseSettings(
    raw({ version: "7" }, { activeMaster: "primary", activation: { mode: "switchover" } }),
    ctx,
  );
  const hosts = new ExistingHosts(
    must(config.existing),
    config.primaryDbPort,
    config.standbyDbPort,
  );
  const mirror = new MasterMirror("failback", {
    primary: hosts.primary,
    standby: hosts.standby,
    engine: new GreenplumEngine(must(config.greenplum)),
    replication: config.replication,
    replicationPassword: pulumi.secret("unused-by-greenplum-0123456789"),
    ssh: hosts,
    activation: { settings: config.activation },
  });

  it("sends the configured mode and activation.timeoutSeconds to the activation", async () => {
    await new Promise((resolve) => mirror.activation.apply(resolve));
    expect(activationEnv("failback-activation")).toMatchObject({
      GPM_ENGINE: "greenplum",
      GPM_ACTIVATION_MODE: "switchover",
      GPM_TIMEOUT_SECONDS: String(config.activation.timeoutSeconds),
    });
  });
});

describe("GreenplumEngine in the pair (mocks)", () => {
  const config = parseSettings(
    raw({ version: "7", walKeepSize: "2GB", allowReplaceStandby: true }),
    ctx,
  );
  const hosts = new ExistingHosts(
    must(config.existing),
    config.primaryDbPort,
    config.standbyDbPort,
  );
  const engine = new GreenplumEngine(must(config.greenplum));
  const mirror = new MasterMirror("mirror", {
    primary: hosts.primary,
    standby: hosts.standby,
    engine,
    replication: config.replication,
    replicationPassword: pulumi.secret("unused-by-greenplum-0123456789"),
    ssh: hosts,
  });
  let steps: Created[] = [];
  beforeAll(async () => {
    await new Promise((resolve) => mirror.replication.apply(resolve));
    await new Promise((resolve) => mirror.activation.apply(resolve));
    steps = created.filter(
      (c) => c.type === "command:remote:Command" && c.name.startsWith("mirror-"),
    );
  });
  const stepNamed = (s: string) => {
    const c = steps.find((x) => x.name === `mirror-${s}`);
    if (!c) throw new Error(`no step ${s}`);
    return c;
  };
  const stdin = (s: string) => String(plain(stepNamed(s).inputs["stdin"]));
  const hostOf = (s: string) =>
    (plain(stepNamed(s).inputs["connection"]) as Record<string, unknown>)["host"];
  const env = (s: string) =>
    Object.fromEntries(
      [...stdin(s).matchAll(/^export (GPM_[A-Z0-9_]+)='((?:[^']|'\\'')*)'$/gm)].map((m) => [
        m[1],
        m[2].replace(/'\\''/g, "'"),
      ]),
    );

  it("runs gpinitstandby's step on the primary host, the others where they belong", () => {
    expect(steps.map((s) => s.name).sort()).toEqual(
      [
        "access",
        "prepare-primary",
        "prepare-standby",
        "primary",
        "standby",
        "trust-primary",
        "trust-standby",
        "verify",
      ].map((s) => `mirror-${s}`),
    );
    expect(hostOf("prepare-standby")).toBe("10.0.1.20");
    expect(hostOf("trust-standby")).toBe("10.0.1.20");
    expect(hostOf("trust-primary")).toBe("10.0.1.10");
    expect(hostOf("standby")).toBe("10.0.1.10");
    expect(hostOf("verify")).toBe("10.0.1.10");
    expect(stdin("standby")).toContain('gpinitstandby -s "$S_HOST" -S "$S_DIR" -P "$S_PORT" -a');
  });

  it("sends every step Greenplum's environment and the master it acts on", () => {
    for (const s of ["prepare-primary", "primary", "access", "standby", "verify"]) {
      expect(env(s)).toMatchObject({
        GPM_GPHOME: "/usr/local/greenplum-db",
        GPM_GP_ADMIN: "gpadmin",
        GPM_GP_VERSION_HINT: "7",
        GPM_DATA_DIR: "/data/coordinator/gpseg-1",
        GPM_DB_PORT: "5432",
      });
    }
    expect(env("prepare-standby")).toMatchObject({
      GPM_ROLE: "standby",
      GPM_SELF_ADDRESS: "10.0.1.20",
    });
    expect(env("access")).toMatchObject({
      GPM_WAL_KEEP_SIZE: "2GB",
      GPM_WAL_SENDER_TIMEOUT_SECONDS: "60",
      GPM_STANDBY_ADDRESS: "10.0.1.20",
      GPM_STANDBY_DATA_DIR: "/data/coordinator/gpseg-1",
      GPM_STANDBY_SSH_PORT: "22",
    });
    // No operator networks in this stack: no login.
    expect(env("access")["GPM_OPERATOR_USER"]).toBeUndefined();
    expect(env("standby")).toMatchObject({
      GPM_STANDBY_ADDRESS: "10.0.1.20",
      GPM_STANDBY_PORT: "5432",
      GPM_STANDBY_DATA_DIR: "/data/coordinator/gpseg-1",
      GPM_STANDBY_SSH_PORT: "22",
      GPM_ALLOW_REPLACE_STANDBY: "true",
      GPM_MOVE_ASIDE_LEFTOVER: "true",
      GPM_TIMEOUT_SECONDS: "120",
    });
    expect(env("primary")).toMatchObject({ GPM_INITIALIZE_SYSTEM: "false" });
    expect(env("primary")["GPM_SEGMENT_HOSTS"]).toBeUndefined();
  });

  it("gives the access step the operator login, its password as a secret", async () => {
    const password = pulumi.secret("op-secret-0123456789");
    const a = engine.access({
      primary: hosts.primary,
      standby: hosts.standby,
      replication: config.replication,
      replicationPassword: pulumi.secret("x"),
      operator: { user: "gpmirror_operator", password, cidrs: ["10.9.0.0/24", "10.8.0.5/32"] },
    });
    expect(a.env).toMatchObject({
      GPM_OPERATOR_USER: "gpmirror_operator",
      GPM_OPERATOR_CIDRS: "10.9.0.0/24 10.8.0.5/32",
    });
    expect(a.env["GPM_OPERATOR_PASSWORD"]).toBe(password);
    expect(await pulumi.isSecret(a.env["GPM_OPERATOR_PASSWORD"] as pulumi.Output<string>)).toBe(
      true,
    );
  });

  it("gives each trust step the other host's keys, read by that host's prepare step", () => {
    expect(env("trust-standby")).toEqual({
      GPM_GP_ADMIN: "gpadmin",
      GPM_PEER_NAMES: "10.0.1.10 mdw",
      GPM_PEER_SSH_PORT: "22",
      GPM_PEER_PUBLIC_KEY: "ssh-ed25519 AAAAmdw",
      GPM_PEER_HOST_KEYS: "ssh-ed25519 HOSTmdw\necdsa-sha2-nistp256 HOSTmdw2",
      GPM_SELF_NAMES: "10.0.1.20 smdw",
      GPM_SELF_SSH_PORT: "22",
      GPM_VERIFY_PEER: "false",
    });
    expect(env("trust-primary")).toMatchObject({
      GPM_PEER_NAMES: "10.0.1.20 smdw",
      GPM_PEER_PUBLIC_KEY: "ssh-ed25519 AAAAsmdw",
      GPM_VERIFY_PEER: "true",
    });
  });

  it("gives the status and the drill a Greenplum probe for each host, naming the other host", async () => {
    const access = mirror.operatorAccess;
    if (!access) throw new Error("no operatorAccess for the Greenplum engine");
    const value = await new Promise<OperatorAccess>((r) => access.apply(r));
    expect(value.hosts.map((h) => h.address)).toEqual(["10.0.1.10", "10.0.1.20"]);
    const [p, s] = value.hosts;
    expect(p.probe).toMatchObject({ engine: "greenplum" });
    // What the tools send to each host, built from the parameters in the output.
    const [pText, sText] = [probeInput(p), probeInput(s)];
    expect(pText).toContain("gp_segment_configuration WHERE content = -1 AND role = 'm'");
    expect(pText).toContain("export GPM_PEER_ADDRESS='10.0.1.20'");
    expect(pText).toContain(`export GPM_PEER_NAME='${s.name}'`);
    expect(pText).toContain("export GPM_DATA_DIR='/data/coordinator/gpseg-1'");
    expect(sText).toContain("export GPM_PEER_ADDRESS='10.0.1.10'");
    expect(sText).toContain(`export GPM_PEER_NAME='${p.name}'`);
  });

  it("activates on the standby host with the old master's coordinates and no force", () => {
    const a = engine.activate(
      {
        primary: hosts.primary,
        standby: hosts.standby,
        replication: config.replication,
        replicationPassword: pulumi.secret("x"),
      },
      { force: false, fencedByPlatform: true, mode: "failover" },
    );
    expect(a.host).toBe(hosts.standby);
    expect(a.script).toContain("gpactivatestandby");
    expect(a.env).toMatchObject({
      GPM_DATA_DIR: hosts.standby.dataDir,
      GPM_DB_PORT: "5432",
      GPM_OLD_PRIMARY_PORT: "5432",
      GPM_FORCE: "false",
      GPM_FENCED_BY_PLATFORM: "true",
      GPM_ACTIVATION_TIMEOUT_SECONDS: "900",
      GPM_ACTIVATION_MODE: "failover",
      GPM_SWITCHOVER_TIMEOUT_SECONDS: "60",
    });
  });

  it("passes the activation mode and its bound to the step (a switchover for a failback)", () => {
    const a = engine.activate(
      {
        primary: hosts.primary,
        standby: hosts.standby,
        replication: config.replication,
        replicationPassword: pulumi.secret("x"),
      },
      { force: false, fencedByPlatform: false, mode: "switchover", timeoutSeconds: 45 },
    );
    expect(a.env).toMatchObject({
      GPM_ACTIVATION_MODE: "switchover",
      GPM_SWITCHOVER_TIMEOUT_SECONDS: "45",
    });
    expect(a.script).toContain("gpstop -a -m -M fast");
  });

  it("offers an activation command that runs the same checked script on the standby host", async () => {
    const { command } = await new Promise<{ command: string }>((r) => mirror.activation.apply(r));
    expect(command).toMatch(
      /^\{ printf '%s\\n' 'set -euo pipefail' 'export GPM_GPHOME='\\''\/usr\/local\/greenplum-db'\\''' /,
    );
    expect(command).toContain("'export GPM_FORCE='\\''false'\\'''");
    expect(command).toMatch(
      /scripts\/remote\/greenplum\/lib\.sh' '.*scripts\/remote\/greenplum\/activate\.sh'; \} \| ssh -p 22 gpadmin@10\.0\.1\.20 bash -s$/,
    );
  });
});

describe("the Greenplum failover agent (automatic failover)", () => {
  const config = parseSettings(raw(), ctx);
  const hosts = new ExistingHosts(
    must(config.existing),
    config.primaryDbPort,
    config.standbyDbPort,
  );
  const agent = new GreenplumEngine(must(config.greenplum)).agent(hosts.standby, hosts.primary);

  it("tells a standby coordinator by standby.signal and its stream by gp_walreceiver", () => {
    expect(agent.config).toMatchObject({
      engine: "greenplum",
      standbyMarker: "standby.signal",
      promoteScript: "AUTODIR/promote.sh",
    });
    expect(agent.applicationName).toBe("gp_walreceiver");
    expect(agent.socketDir).toBe("/tmp");
    expect(agent.env["GPM_PG_BIN"]).toBe("/usr/local/greenplum-db/bin");
  });

  it("promotes with the engine's own activate step toward the other host, forced, the lease as its proof", async () => {
    const text = await new Promise<string>((r) =>
      pulumi.output(agent.env["GPM_AGENT_PROMOTE"]).apply((t) => r(String(t))),
    );
    expect(text).toMatch(/^set -euo pipefail\n/);
    for (const line of [
      "export GPM_FORCE='true'",
      "export GPM_OLD_FENCED_BY='lease'",
      "export GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS='1'",
      "export GPM_OLD_PRIMARY_ADDRESS='10.0.1.10'",
      "export GPM_DATA_DIR='/data/coordinator/gpseg-1'",
    ]) {
      expect(text).toContain(`${line}\n`);
    }
    // The step itself, with the segment fence it carries: one implementation, not a copy.
    expect(text).toContain(
      fs.readFileSync(scriptPath("remote", "greenplum", "activate.sh"), "utf8"),
    );
    expect(text).toContain(
      fs.readFileSync(scriptPath("remote", "greenplum", "segment-fence.sh"), "utf8"),
    );
  });
});
