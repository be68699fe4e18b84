import * as pulumi from "@pulumi/pulumi";
import { parseSettings, RawSettings } from "../../components/config";
import { LocalHosts } from "../../components/hosts/local";
import { problemsOf } from "../support/configProblems";
import { clientKeyFile, plain, value } from "../support/mockValues";

// The local Greenplum stack's settings and hosts: what `engine: greenplum` on `platform:
// local` makes of an empty stack file, what it refuses, and the hosts it asks for.
const root = { stack: "gpl", uid: 0, homeDir: "/root" };

const local = (greenplum: Record<string, unknown> = {}, rest: RawSettings = {}): RawSettings => ({
  platform: "local",
  engine: "greenplum",
  greenplum,
  ...rest,
});

describe("local Greenplum settings", () => {
  it("creates the system on the stack's own segment host, two segments in ~gpadmin", () => {
    const config = parseSettings(local(), root);
    expect(config.greenplum).toMatchObject({
      initializeSystem: true,
      segmentHosts: ["gpl-seg1"],
      segmentsPerHost: 2,
      segmentDataDir: "/home/gpadmin/data/primary",
      adminUser: "gpadmin",
    });
    expect(config.local?.mode).toBe("netns");
  });

  it("follows greenplum.adminUser into the segment directory", () => {
    const config = parseSettings(local({ adminUser: "gpdba", segmentsPerHost: 3 }), root);
    expect(config.greenplum).toMatchObject({
      segmentDataDir: "/home/gpdba/data/primary",
      segmentsPerHost: 3,
    });
  });

  it("refuses what a local stack cannot do, naming the setting and the fix", () => {
    const text = problemsOf(
      local(
        { segmentHosts: ["sdw1"], initializeSystem: false, segmentDataDir: "/data/primary" },
        { local: { osUser: "gpmirror" } },
      ),
      root,
    ).join("\n");
    expect(text).toMatch(
      /gpmirror:greenplum.segmentHosts: a local stack makes its own segment host \(gpl-seg1\)\. Fix: remove it/,
    );
    expect(text).toMatch(
      /gpmirror:greenplum.initializeSystem: a local stack's hosts are new.*Fix: remove it/,
    );
    expect(text).toMatch(
      /gpmirror:greenplum.segmentDataDir: "\/data\/primary" is outside \/home\/gpadmin/,
    );
    expect(text).toMatch(
      /gpmirror:local.osUser: on a local Greenplum stack SSH logs in as the Greenplum administrator \(gpadmin\)/,
    );
  });

  it("needs network namespaces (root)", () => {
    const user = { stack: "gpl", uid: 1000, homeDir: "/home/ann" };
    expect(problemsOf(local(), user).join("\n")).toMatch(
      /gpmirror:local.mode: a local Greenplum stack needs netns.*Fix: run as root/,
    );
  });
});

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const created: Created[] = [];
const KEY_PATH = clientKeyFile("k");

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      const inputs = plain(args.inputs) as Record<string, unknown>;
      const env = (inputs["environment"] ?? {}) as Record<string, string>;
      const stdout = args.name.endsWith("client-key")
        ? JSON.stringify({ publicKey: "ssh-ed25519 AAAAclient", path: KEY_PATH })
        : JSON.stringify({
            name: `gpl-${env["GPM_HOST"]}`,
            address: env["GPM_ADDRESS"],
            sshPort: 22,
            user: env["GPM_OS_USER"],
            hostKey: "ssh-ed25519 AAAAhost",
            home: `/var/lib/gpmirror/gpl/hosts/${env["GPM_HOST"]}`,
            adminHome: "/home/gpadmin",
          });
      return { id: `${args.name}-id`, state: { ...inputs, stdout, stderr: "" } };
    },
    call: (args) => args.inputs,
  },
  "gpmirror",
  "gpl",
  false,
);

describe("LocalHosts for Greenplum (mocks)", () => {
  const config = parseSettings(local({}, { local: { subnet: "10.203.9" } }), root);
  if (!config.local || !config.greenplum) throw new Error("no local Greenplum settings");
  const hosts = new LocalHosts("local", {
    stack: "gpl",
    settings: config.local,
    primaryDbPort: 5432,
    standbyDbPort: 5432,
    greenplum: config.greenplum,
  });
  const env = (name: string) =>
    created.find((c) => c.name === name)?.inputs["environment"] as Record<string, string>;

  beforeAll(async () => {
    await value(hosts.primary.dataDir);
    await value(hosts.standby.dataDir);
  });

  it("installs Greenplum and makes a coordinator, a standby and a segment host that know each other", () => {
    const names = created
      .filter((c) => c.type === "command:local:Command" && c.name.startsWith("local-"))
      .map((c) => c.name);
    expect(names.sort()).toEqual([
      "local-client-key",
      "local-greenplum",
      "local-primary",
      "local-seg1",
      "local-standby",
    ]);
    expect(env("local-greenplum")).toMatchObject({
      GPM_GPHOME: "/usr/local/greenplum-db",
      GPM_GREENPLUM_INSTALLER: expect.stringMatching(/shared\/greenplum\/install\.sh$/),
    });
    expect(env("local-seg1")).toMatchObject({
      GPM_FLAVOR: "greenplum",
      GPM_ADDRESS: "10.203.9.21",
      GPM_OS_USER: "gpadmin",
      GPM_CLUSTER_HOSTS: "10.203.9.11 gpl-primary\n10.203.9.12 gpl-standby\n10.203.9.21 gpl-seg1",
    });
    expect(env("local-primary")["GPM_CLUSTER_HOSTS"]).toBe(env("local-seg1")["GPM_CLUSTER_HOSTS"]);
  });

  it("puts each master in the admin user's home, and has the primary wait for the segment host", async () => {
    expect(await value(hosts.primary.dataDir)).toBe(
      "/home/gpadmin/data/gpl/primary/coordinator/gpseg-1",
    );
    expect(await value(hosts.standby.dataDir)).toBe(
      "/home/gpadmin/data/gpl/standby/coordinator/gpseg-1",
    );
    expect(await value(hosts.primary.user)).toBe("gpadmin");
    expect(hosts.primary.ready).toContain(hosts.segmentHosts[0]);
    expect(hosts.standby.ready).not.toContain(hosts.segmentHosts[0]);
  });
});

describe("LocalHosts for Greenplum with automatic failover's witness (mocks)", () => {
  const config = parseSettings(local({}, { local: { subnet: "10.203.8" } }), root);
  if (!config.local || !config.greenplum) throw new Error("no local Greenplum settings");
  const hosts = new LocalHosts("localw", {
    stack: "gpw",
    settings: config.local,
    primaryDbPort: 5432,
    standbyDbPort: 5432,
    greenplum: config.greenplum,
    witness: true,
  });
  const env = (name: string) =>
    created.find((c) => c.name === name)?.inputs["environment"] as Record<string, string>;

  it("makes the witness know every host and itself, and leaves the others' lists as without it", async () => {
    await value(hosts.witness?.dataDir ?? pulumi.output(""));
    const cluster = "10.203.8.11 gpw-primary\n10.203.8.12 gpw-standby\n10.203.8.21 gpw-seg1";
    expect(env("localw-witness")).toMatchObject({
      GPM_ADDRESS: "10.203.8.13",
      GPM_OS_USER: "gpadmin",
      GPM_CLUSTER_HOSTS: `${cluster}\n10.203.8.13 gpw-witness`,
    });
    for (const h of ["primary", "standby", "seg1"]) {
      expect(env(`localw-${h}`)["GPM_CLUSTER_HOSTS"]).toBe(cluster);
    }
  });
});
