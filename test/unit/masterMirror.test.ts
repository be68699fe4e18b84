import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parseSettings } from "../../components/config";
import { PostgresEngine } from "../../components/engines/postgres";
import { LocalHosts } from "../../components/hosts/local";
import { MasterMirror } from "../../components/masterMirror";
import { password as replicationPassword } from "../../components/password";
import { isSecretValue, plain, value } from "../support/mockValues";
import { fakeKey } from "../fixtures/keys";

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const created: Created[] = [];

const PRIVATE_KEY = fakeKey("unit");
// The client key stays in its file on the machine that runs Pulumi; the program reads it there.
const KEY_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-unit-key-"));
const KEY_PATH = path.join(KEY_DIR, "client_key");
fs.writeFileSync(KEY_PATH, PRIVATE_KEY, { mode: 0o600 });
afterAll(() => fs.rmSync(KEY_DIR, { recursive: true, force: true }));

// What the real scripts print, so the components see the same shapes as on a real run.
function fakeStdout(name: string, inputs: Record<string, unknown>): string {
  const env = (inputs["environment"] ?? {}) as Record<string, string>;
  if (name.endsWith("client-key")) {
    return JSON.stringify({ publicKey: "ssh-ed25519 AAAAclient", path: KEY_PATH });
  }
  if (name === "replication-password") return "0123456789abcdef0123456789abcdef";
  if (name.startsWith("local-")) {
    return JSON.stringify({
      name: `unit-${env["GPM_HOST"]}`,
      address: env["GPM_ADDRESS"],
      sshPort: 22,
      user: "gpmirror",
      hostKey: `ssh-ed25519 AAAAhost${env["GPM_HOST"]}`,
      home: `/var/lib/gpmirror/unit/hosts/${env["GPM_HOST"]}`,
    });
  }
  if (name.endsWith("-verify"))
    return JSON.stringify({ state: "streaming", syncState: "async", replayLagBytes: 0 });
  if (name.endsWith("-standby") && !name.includes("prepare"))
    return JSON.stringify({
      created: false,
      rewound: true,
      divergedAt: "0/3000060",
      movedAside: "",
    });
  if (name.endsWith("-prepare-standby"))
    return JSON.stringify({ pgBin: "/usr/lib/postgresql/15/bin" });
  return "{}";
}

pulumi.runtime.setMocks(
  {
    newResource(args) {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      const inputs = plain(args.inputs) as Record<string, unknown>;
      const outputs = { ...inputs, stdout: fakeStdout(args.name, inputs), stderr: "" };
      return { id: `${args.name}-id`, state: outputs };
    },
    call: (args) => args.inputs,
  },
  "gpmirror",
  "unit",
  false,
);

function build() {
  const config = parseSettings({}, { stack: "unit", uid: 0, homeDir: "/root" });
  if (!config.local) throw new Error("no local settings");
  const hosts = new LocalHosts("local", {
    stack: "unit",
    settings: config.local,
    primaryDbPort: 5432,
    standbyDbPort: 5432,
  });
  const mirror = new MasterMirror("mirror", {
    primary: hosts.primary,
    standby: hosts.standby,
    engine: new PostgresEngine(),
    replication: config.replication,
    replicationPassword: replicationPassword("replication-password", undefined, {}),
    ssh: hosts,
  });
  return { hosts, mirror };
}

describe("MasterMirror on local hosts (mocks)", () => {
  const { mirror } = build();
  let commands: Created[] = [];

  beforeAll(async () => {
    await value(mirror.replication);
    await value(mirror.activation);
    commands = created.filter((c) => c.type.startsWith("command:"));
  });

  const remote = (suffix: string) => {
    const c = commands.find(
      (x) => x.type === "command:remote:Command" && x.name === `mirror-${suffix}`,
    );
    if (!c) throw new Error(`no remote step ${suffix}`);
    return c;
  };
  const stdinOf = (suffix: string) => String(plain(remote(suffix).inputs["stdin"]));

  it("reports how the standby was built, and asks for a rewind of a fenced old primary", async () => {
    expect(await value(mirror.standbyOrigin)).toEqual({
      method: "rewind",
      divergedAt: "0/3000060",
      movedAside: [],
      rewindError: null,
    });
    expect(stdinOf("standby")).toContain("export GPM_REPROTECT='rewind'");
  });

  it("creates two local hosts whose removal is part of the resource", () => {
    const hosts = commands.filter(
      (c) => c.type === "command:local:Command" && /^local-(primary|standby)$/.test(c.name),
    );
    expect(hosts.map((h) => h.name).sort()).toEqual(["local-primary", "local-standby"]);
    for (const h of hosts) {
      expect(h.inputs["create"]).toBe("bash scripts/local-hosts.sh create");
      expect(h.inputs["delete"]).toBe("bash scripts/local-hosts.sh destroy");
    }
    const env = (name: string) =>
      commands.find((c) => c.name === name)?.inputs["environment"] as Record<string, string>;
    expect(env("local-primary")["GPM_ADDRESS"]).toBe("10.201.0.11");
    expect(env("local-standby")["GPM_ADDRESS"]).toBe("10.201.0.12");
    expect(env("local-primary")["GPM_AUTHORIZED_KEY"]).toBe("ssh-ed25519 AAAAclient");
  });

  it("runs each step on the right host, over SSH with a pinned host key", () => {
    const onHost = (suffix: string) =>
      (plain(remote(suffix).inputs["connection"]) as Record<string, unknown>)["host"];
    expect(onHost("prepare-primary")).toBe("10.201.0.11");
    expect(onHost("primary")).toBe("10.201.0.11");
    expect(onHost("access")).toBe("10.201.0.11");
    expect(onHost("standby")).toBe("10.201.0.12");
    expect(onHost("verify")).toBe("10.201.0.11");
    const conn = plain(remote("standby").inputs["connection"]) as Record<string, unknown>;
    expect(conn["hostKey"]).toBe("ssh-ed25519 AAAAhoststandby");
    expect(conn["privateKey"]).toBe(PRIVATE_KEY);
  });

  it("checks each step's host (answer in time, pinned key) right before the step, with the step's inputs as triggers", () => {
    const remote = commands.filter((x) => x.type === "command:remote:Command");
    expect(remote.length).toBeGreaterThan(4);
    for (const c of remote) {
      const check = commands.find((x) => x.name === `${c.name}-host-check`);
      expect(check?.type).toBe("command:local:Command");
      expect(check?.inputs["create"]).toBe("bash scripts/host-check.sh");
      const env = plain(check?.inputs["environment"]) as Record<string, string>;
      const conn = plain(c.inputs["connection"]) as Record<string, unknown>;
      expect(env["GPM_ADDRESS"]).toBe(conn["host"]);
      expect(env["GPM_HOST_KEY"]).toBe(conn["hostKey"]);
      // The key travels as a secret, as in the step's own connection.
      expect(isSecretValue(check?.inputs["environment"])).toBe(true);
      const triggers = plain(check?.inputs["triggers"]) as string[];
      expect(triggers[0]).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("passes every parameter on stdin, never on the command line", () => {
    for (const c of commands.filter((x) => x.type === "command:remote:Command")) {
      // Bounded on the host: Pulumi's own provider ignores customTimeouts for remote commands.
      expect(c.inputs["create"]).toMatch(/^timeout --kill-after=10 900 bash -s; /);
      expect(c.inputs["addPreviousOutputInEnv"]).toBe(false);
      expect(String(plain(c.inputs["stdin"]))).toMatch(/^set -euo pipefail\nexport GPM_/);
    }
    expect(stdinOf("access")).toContain(
      "export GPM_REPL_PASSWORD='0123456789abcdef0123456789abcdef'",
    );
    expect(stdinOf("access")).toContain("export GPM_STANDBY_ADDRESS='10.201.0.12'");
    expect(stdinOf("standby")).toContain("export GPM_PRIMARY_ADDRESS='10.201.0.11'");
    expect(stdinOf("standby")).toContain("export GPM_SLOT_NAME='gpmirror_standby'");
    expect(stdinOf("primary")).toContain("export GPM_MAX_SLOT_WAL_KEEP_SIZE='1GB'");
    expect(stdinOf("primary")).toContain("export GPM_WAL_KEEP_SIZE='256MB'");
    expect(stdinOf("standby")).toContain("export GPM_WAL_KEEP_SIZE='256MB'");
    // No bound on the snapshot's rate unless one is set.
    expect(stdinOf("standby")).not.toContain("export GPM_BASEBACKUP_MAX_RATE");
  });

  it("keeps the password and the SSH key secret", async () => {
    // What reaches the provider, and so the state: the steps that carry the password or key.
    expect(isSecretValue(remote("access").inputs["stdin"])).toBe(true);
    expect(isSecretValue(remote("standby").inputs["stdin"])).toBe(true);
    expect(isSecretValue(remote("verify").inputs["connection"])).toBe(true);
    const password = replicationPassword("replication-password-2", undefined, {});
    expect(await pulumi.isSecret(password)).toBe(true);
    const { hosts } = build2();
    expect(await pulumi.isSecret(hosts.primary.privateKey)).toBe(true);
  });

  it("reports replication and a ready-to-paste activation command", async () => {
    expect(await value(mirror.replication)).toEqual({
      state: "streaming",
      syncState: "async",
      replayLagBytes: 0,
    });
    expect(await value(mirror.clientEndpoint)).toBe("10.201.0.11:5432");
    expect(await value(mirror.standby)).toEqual({
      host: "10.201.0.12",
      port: 5432,
      dataDir: "/var/lib/gpmirror/unit/hosts/standby/data",
    });
    const { command } = await value(mirror.activation);
    expect(command).toBe(
      `ssh -i '${KEY_PATH}' -o UserKnownHostsFile` +
        "='/var/lib/gpmirror/unit/known_hosts' -o StrictHostKeyChecking=yes -p 22 gpmirror@10.201.0.12 " +
        `'/usr/lib/postgresql/15/bin/pg_ctl promote -w -t 60 -D '\\''/var/lib/gpmirror/unit/hosts/standby/data'\\'''`,
    );
  });
});

function build2() {
  const config = parseSettings(
    { local: { subnet: "10.201.5", bridge: "gpm-unit2" } },
    { stack: "unit", uid: 0, homeDir: "/root" },
  );
  if (!config.local) throw new Error("no local settings");
  return {
    hosts: new LocalHosts("local2", {
      stack: "unit",
      settings: config.local,
      primaryDbPort: 5432,
      standbyDbPort: 5432,
    }),
  };
}
