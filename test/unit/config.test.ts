import { ConfigError, parseSettings, RawSettings } from "../../components/config";
import { PEM_HEADER, fakeKey } from "../fixtures/keys";

const root = { stack: "local", uid: 0, homeDir: "/root" };
const user = { stack: "local", uid: 1000, homeDir: "/home/ann" };
const KEY = fakeKey("abc") + "\n";
const files: Record<string, string> = {
  "/keys/id": KEY,
  "/home/ann/.ssh/id": KEY,
  "/keys/not-a-key": "hello",
};
const readFile = (f: string) => files[f];

function existing(overrides: Record<string, unknown> = {}): RawSettings {
  const host = (address: string) => ({
    address,
    user: "postgres",
    privateKeyPath: "/keys/id",
    hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG",
    dataDir: "/data/pg",
    ...overrides,
  });
  return {
    platform: "existing",
    hosts: { primary: host("10.0.1.10"), standby: host("10.0.2.10") },
  };
}

function problemsOf(raw: RawSettings, ctx = root): string[] {
  try {
    parseSettings(raw, { ...ctx, readFile });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("config defaults", () => {
  it("gives a new root user the netns local stack with safe defaults", () => {
    const c = parseSettings({}, root);
    expect(c.platform).toBe("local");
    expect(c.local).toMatchObject({
      mode: "netns",
      stateDir: "/var/lib/gpmirror/local",
      subnet: "10.201.0",
      osUser: "gpmirror",
    });
    expect(c.primaryDbPort).toBe(5432);
    expect(c.standbyDbPort).toBe(5432);
    expect(c.replication).toMatchObject({
      user: "replicator",
      slotName: "gpmirror_standby",
      maxSlotWalKeepSize: "1GB",
      walKeepSize: "256MB",
      baseBackupMaxRate: "",
      reprotect: "rewind",
    });
    expect(c.replication.password).toBeUndefined();
  });

  it("gives an ordinary user loopback hosts, on two ports, under the home directory", () => {
    const c = parseSettings({}, user);
    expect(c.local).toMatchObject({ mode: "loopback", stateDir: "/home/ann/.gpmirror/local" });
    expect(c.standbyDbPort).toBe(5433);
  });

  it("reads numbers given as strings, as stack files hold them", () => {
    const c = parseSettings({ dbPort: "6000", replication: { timeoutSeconds: "30" } }, root);
    expect(c.primaryDbPort).toBe(6000);
    expect(c.replication.timeoutSeconds).toBe(30);
  });

  it("accepts existing hosts with a key file and pinned host keys", () => {
    const c = parseSettings(existing(), { ...root, readFile });
    expect(c.existing?.standby).toMatchObject({
      address: "10.0.2.10",
      sshPort: 22,
      dataDir: "/data/pg",
    });
  });
});

// Each bad value must be refused before anything is created, with the setting's name and a fix.
const badInputs: [string, RawSettings, string, typeof root?][] = [
  ["port out of range", { dbPort: "70000" }, "gpmirror:dbPort"],
  ["port zero", { dbPort: 0 }, "gpmirror:dbPort"],
  ["port not a number", { dbPort: "54x" }, "gpmirror:dbPort"],
  ["standby port out of range", { standbyDbPort: "-1" }, "gpmirror:standbyDbPort"],
  ["unknown platform", { platform: "gcp" }, "gpmirror:platform"],
  ["unknown engine", { engine: "mysql" }, "gpmirror:engine"],
  ["misspelled setting", { dbport: "5432" }, "gpmirror:dbport"],
  ["relative state dir", { local: { stateDir: "state/here" } }, "gpmirror:local.stateDir"],
  [
    "state dir with shell characters",
    { local: { stateDir: "/tmp/$(reboot)" } },
    "gpmirror:local.stateDir",
  ],
  ["state dir with ..", { local: { stateDir: "/var/../etc" } }, "gpmirror:local.stateDir"],
  ["netns as a normal user", { local: { mode: "netns" } }, "gpmirror:local.mode", user],
  ["bad subnet", { local: { subnet: "10.300.0" } }, "gpmirror:local.subnet"],
  ["os user with shell characters", { local: { osUser: "pg;rm -rf /" } }, "gpmirror:local.osUser"],
  [
    "replication user with a space",
    { replication: { user: "rep user" } },
    "gpmirror:replication.user",
  ],
  [
    "slot name with a dash",
    { replication: { slotName: "my-slot" } },
    "gpmirror:replication.slotName",
  ],
  [
    "WAL bound without a unit",
    { replication: { maxSlotWalKeepSize: "100" } },
    "gpmirror:replication.maxSlotWalKeepSize",
  ],
  [
    "kept WAL without a unit",
    { replication: { walKeepSize: "256" } },
    "gpmirror:replication.walKeepSize",
  ],
  [
    "base backup rate with a unit pg_basebackup does not take",
    { replication: { baseBackupMaxRate: "5MB" } },
    "gpmirror:replication.baseBackupMaxRate",
  ],
  ["short password", { replicationPassword: "short" }, "gpmirror:replicationPassword"],
  [
    "timeout not a number",
    { replication: { timeoutSeconds: true } },
    "gpmirror:replication.timeoutSeconds",
  ],
  ["same ports in loopback", { standbyDbPort: "5432" }, "gpmirror:standbyDbPort", user],
  [
    "missing SSH key",
    existing({ privateKeyPath: undefined }),
    "gpmirror:hosts.primary.privateKeyPath",
  ],
  [
    "SSH key file not there",
    existing({ privateKeyPath: "/keys/missing" }),
    "gpmirror:hosts.primary.privateKeyPath",
  ],
  [
    "SSH key file not a key",
    existing({ privateKeyPath: "/keys/not-a-key" }),
    "gpmirror:hosts.standby.privateKeyPath",
  ],
  [
    "host name with shell characters",
    existing({ address: "mdw;reboot" }),
    "gpmirror:hosts.primary.address",
  ],
  ["host with user@", existing({ address: "gpadmin@mdw" }), "gpmirror:hosts.standby.address"],
  ["relative data dir", existing({ dataDir: "data/pg" }), "gpmirror:hosts.primary.dataDir"],
  ["data dir with a space", existing({ dataDir: "/data/my pg" }), "gpmirror:hosts.primary.dataDir"],
  ["no host key", existing({ hostKey: "" }), "gpmirror:hosts.primary.hostKey"],
  ["ssh port out of range", existing({ sshPort: 65536 }), "gpmirror:hosts.primary.sshPort"],
];

describe("bad input is refused with the setting's name and a fix", () => {
  // A rest parameter: jest takes a fourth named parameter for a `done` callback.
  it.each(badInputs)("%s", (...[, raw, setting, ctx]) => {
    const problems = problemsOf(raw, ctx ?? root);
    const mine = problems.filter((p) => p.startsWith(`${setting}:`));
    expect(mine.length).toBeGreaterThan(0);
    for (const p of mine) expect(p).toMatch(/Fix: \S/);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({ dbPort: "0", platform: "mars", replication: { user: "a b" } });
    expect(problems).toHaveLength(3);
  });

  it("tells what to type when a nested setting was set as one flat key (no --path)", () => {
    // `pulumi config set gpmirror:replication.synchronous true` stores this.
    const [p] = problemsOf({ "replication.synchronous": "true" });
    expect(p).toContain("gpmirror:replication.synchronous: is stored as one flat key");
    expect(p).toContain(
      "Fix: pulumi config rm 'gpmirror:replication.synchronous' && pulumi config set --path 'gpmirror:replication.synchronous' true",
    );
    expect(p).not.toContain("use one of");
  });

  it("names the flat key of any group, and never echoes a value that may be secret", () => {
    const problems = problemsOf({
      "local.subnet": "10.205.3",
      "hosts.primary.privateKey": `${PEM_HEADER} abc`,
      "replication.user": "pass word",
    });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain("pulumi config set --path 'gpmirror:local.subnet' 10.205.3");
    expect(problems[1]).toContain(
      "pulumi config set --path --secret 'gpmirror:hosts.primary.privateKey' <value>",
    );
    expect(problems.join("\n")).not.toContain("BEGIN");
    expect(problems[2]).toContain("pulumi config set --path 'gpmirror:replication.user' <value>");
  });

  it("still calls a key that names no setting unknown", () => {
    expect(problemsOf({ colour: "blue", "dbPort.x": "1" })).toEqual([
      expect.stringMatching(
        /gpmirror:colour: is not a gpmirror setting\. Fix: remove it, or use one of: platform, /,
      ),
      expect.stringMatching(/gpmirror:dbPort.x: is not a gpmirror setting/),
    ]);
  });

  it("refuses a stack name that would end up in host and directory names", () => {
    expect(problemsOf({}, { ...root, stack: "Prod;x" })[0]).toMatch(/stack name/);
  });

  it("throws one error whose message lists the problems", () => {
    expect(() => parseSettings({ dbPort: "99999" }, root)).toThrow(
      /gpmirror:dbPort: must be a whole number from 1 to 65535/,
    );
  });
});
