// Automatic failover on hosts the user runs (platform existing): the witness host's settings,
// and what the program builds on the three hosts (under Pulumi's mocks).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { AutomaticFailover } from "../../components/automatic";
import { parseSettings, RawSettings } from "../../components/config";
import { problemsOf } from "../support/configProblems";
import { ExistingHosts } from "../../components/hosts/existing";
import { isSecretValue, plain } from "../support/mockValues";
import { fakeKey } from "../fixtures/keys";

const KEY = fakeKey("ex") + "\n";
const ctx = {
  stack: "prod",
  uid: 1000,
  homeDir: "/home/ann",
  readFile: (f: string) => (f === "/keys/id" ? KEY : undefined),
};
const login = (address: string) => ({
  address,
  user: "postgres",
  privateKeyPath: "/keys/id",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG",
});
const problems = (raw: RawSettings) => problemsOf(raw, ctx);
const master = (address: string) => ({ ...login(address), dataDir: "/data/pg" });

function settings(witness?: Record<string, unknown>, automatic = "true"): RawSettings {
  return {
    platform: "existing",
    hosts: {
      primary: master("10.0.1.10"),
      standby: master("10.0.2.10"),
      ...(witness ? { witness } : {}),
    },
    activation: { automatic },
    replication: { synchronous: "true" },
  };
}

describe("automatic failover on existing hosts: settings", () => {
  it("takes a witness host with no data directory; etcd goes under its login's home by default", () => {
    const c = parseSettings(settings(login("10.0.3.10")), ctx);
    expect(c.activation.automatic).toBeDefined();
    expect(c.existing?.witness).toMatchObject({
      address: "10.0.3.10",
      sshPort: 22,
      user: "postgres",
      dir: "~/gpmirror-prod",
    });
    // The etcd CA and certificates stay on the machine that runs Pulumi, per stack.
    expect(c.existing?.stateDir).toBe("/home/ann/.gpmirror/prod");
    const dir = parseSettings(settings({ ...login("10.0.3.10"), dir: "/srv/etcd" }), ctx);
    expect(dir.existing?.witness?.dir).toBe("/srv/etcd");
  });

  it("refuses automatic failover without a witness host, naming the setting and the fix", () => {
    const found = problems(settings());
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/gpmirror:hosts\.witness: .*needs a third host for etcd's witness/);
    expect(found[0]).toMatch(/pulumi config set --path gpmirror:hosts\.witness\.address/);
    expect(found[0]).toMatch(/activation\.automatic false/);
  });

  it.each([
    [{ ...login("10.0.3.10"), hostKey: "" }, /hosts\.witness\.hostKey: is required/],
    [{ ...login("10.0.3.10"), privateKeyPath: "" }, /hosts\.witness\.privateKeyPath/],
    [{ ...login("mdw;reboot") }, /hosts\.witness\.address/],
    [{ ...login("10.0.3.10"), dir: "etcd" }, /hosts\.witness\.dir: must be an absolute path/],
    [login("10.0.2.10"), /hosts\.witness\.address: 10\.0\.2\.10 is one of the master hosts/],
    [
      login("fd00::13"),
      /hosts\.witness\.address: automatic failover takes IPv4 addresses or host names/,
    ],
  ])("refuses a bad witness %j before anything is built", (witness, why) => {
    expect(problems(settings(witness)).join("\n")).toMatch(why);
  });

  it("refuses a witness that nothing uses (automatic failover off)", () => {
    expect(problems(settings(login("10.0.3.10"), "false")).join("\n")).toMatch(
      /gpmirror:hosts\.witness: is used only by automatic failover/,
    );
  });

  it("is still refused with Greenplum", () => {
    expect(problems({ ...settings(login("10.0.3.10")), engine: "greenplum" }).join()).toMatch(
      /activation\.automatic: is built for engine greenplum on platform local so far/,
    );
  });
});

/** The script of `timeout ... bash -c '<script>'`, unquoted. */
function deleteScript(line: string): string {
  const quoted = line.slice(line.indexOf("bash -c ") + "bash -c ".length);
  return quoted.slice(1, -1).split("'\\''").join("'");
}

interface Created {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

describe("automatic failover on existing hosts: what is built", () => {
  const created: Created[] = [];
  // tls.sh's files, as it leaves them on the machine that runs Pulumi.
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-unit-tls-"));
  for (const r of ["primary", "standby", "witness"]) {
    fs.writeFileSync(`${tlsDir}/${r}.crt`, `CERT ${r}`);
    fs.writeFileSync(`${tlsDir}/${r}.key`, `KEY ${r}`);
  }
  afterAll(() => fs.rmSync(tlsDir, { recursive: true, force: true }));

  beforeAll(async () => {
    pulumi.runtime.setMocks(
      {
        newResource(args) {
          created.push({ type: args.type, name: args.name, inputs: args.inputs });
          const inputs = plain(args.inputs) as Record<string, unknown>;
          const stdout = args.name.endsWith("-tls")
            ? JSON.stringify({ dir: tlsDir, caCert: "CA" })
            : args.name.endsWith("-agent-build")
              ? JSON.stringify({ path: "/tmp/agent", sha256: "abc" })
              : "{}";
          return { id: `${args.name}-id`, state: { ...inputs, stdout, stderr: "" } };
        },
        call: (args) => args.inputs,
      },
      "gpmirror",
      "prod",
      false,
    );
    const c = parseSettings(settings(login("10.0.3.10")), ctx);
    if (!c.existing?.witness || !c.activation.automatic) throw new Error("no witness");
    const hosts = new ExistingHosts(c.existing, 5432, 5432);
    if (!hosts.witness) throw new Error("no witness host");
    new AutomaticFailover("auto", {
      stack: "prod",
      settings: c.activation.automatic,
      masters: [hosts.primary, hosts.standby],
      witness: hosts.witness,
      tlsDir: `${c.existing.stateDir}/etcd-tls`,
      maxLagBytes: 0,
      synchronous: true,
      after: [],
      stepTimeoutSeconds: 60,
      stopOnDestroy: true,
    });
    await new Promise((r) => setTimeout(r, 500));
  });

  const remote = (name: string) => {
    const c = created.find((x) => x.type === "command:remote:Command" && x.name === name);
    if (!c) throw new Error(`${name} not created`);
    return c;
  };
  const stdinOf = (name: string) => String(plain(remote(name).inputs["stdin"]));

  it("makes the CA where Pulumi runs, in the stack's directory under the user's home", () => {
    const tls = created.find((x) => x.name === "auto-tls");
    const env = plain(tls?.inputs["environment"]) as Record<string, string>;
    expect(env["GPM_TLS_DIR"]).toBe("/home/ann/.gpmirror/prod/etcd-tls");
    expect(env["GPM_MEMBERS"]).toBe("primary=10.0.1.10,standby=10.0.2.10,witness=10.0.3.10");
  });

  it("runs an etcd member on each of the three hosts, over SSH to each, with the three addresses", () => {
    for (const [role, address] of [
      ["primary", "10.0.1.10"],
      ["standby", "10.0.2.10"],
      ["witness", "10.0.3.10"],
    ]) {
      const step = remote(`auto-etcd-${role}`);
      expect((plain(step.inputs["connection"]) as { host: string }).host).toBe(address);
      const stdin = stdinOf(`auto-etcd-${role}`);
      expect(stdin).toContain(`export GPM_ETCD_ADDRESS='${address}'`);
      expect(stdin).toContain(
        "export GPM_ETCD_CLUSTER='primary=https://10.0.1.10:2380,standby=https://10.0.2.10:2380,witness=https://10.0.3.10:2380'",
      );
      // Each host gets its own key, as a secret.
      expect(isSecretValue(step.inputs["stdin"])).toBe(true);
      expect(stdin).toContain(`KEY ${role}`);
    }
    expect(stdinOf("auto-etcd-witness")).toContain("export GPM_AUTO_DIR='~/gpmirror-prod/auto'");
    expect(stdinOf("auto-etcd-primary")).toContain("export GPM_AUTO_DIR='/data/auto'");
  });

  it("runs the agents on the two masters only, with the three hosts' endpoints", () => {
    const agents = created.filter(
      (x) =>
        x.type === "command:remote:Command" &&
        /^auto-agent-(primary|standby|witness)$/.test(x.name),
    );
    expect(agents.map((a) => a.name).sort()).toEqual(["auto-agent-primary", "auto-agent-standby"]);
    const config = /export GPM_AGENT_CONFIG='([^']*)'/.exec(stdinOf("auto-agent-standby"))?.[1];
    expect(JSON.parse(config ?? "{}")).toMatchObject({
      name: "standby",
      peer: "primary",
      endpoints: ["https://10.0.1.10:2379", "https://10.0.2.10:2379", "https://10.0.3.10:2379"],
      synchronous: true,
    });
  });

  it("stops the agents and etcd members on destroy (the hosts outlive the stack), bounded on the host", () => {
    for (const [step, part] of [
      ["auto-agent-primary", "agent"],
      ["auto-agent-standby", "agent"],
      ["auto-etcd-primary", "etcd"],
      ["auto-etcd-witness", "etcd"],
    ]) {
      const line = String(plain(remote(step).inputs["delete"]));
      expect(line).toMatch(/^timeout --kill-after=10 60 bash -c '/);
      const del = deleteScript(line);
      expect(del).toContain(`export GPM_AUTO_PART='${part}'`);
      expect(del).toContain("auto_stop");
      // Only a directory and a name on the command line: no key, no certificate.
      expect(del).not.toMatch(/export GPM_TLS|(KEY|CERT) (primary|standby|witness)/);
    }
    expect(deleteScript(String(plain(remote("auto-etcd-witness").inputs["delete"])))).toContain(
      "export GPM_AUTO_DIR='~/gpmirror-prod/auto'",
    );
  });
});
