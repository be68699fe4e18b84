// A refused activation ends the run: no step that reaches the old master's host starts beside
// it. On a real Greenplum 7.0.0 the activation was refused after 10 s (old coordinator
// unreachable), but the trust steps ran beside it and retried ssh to that host five times:
// `pulumi up` ended after 74 s. Under the mocks the activation's command never finishes: no
// step that waits for it may be created meanwhile (a refusal then ends the run there).
import * as pulumi from "@pulumi/pulumi";
import { parseSettings } from "../../components/config";
import { GreenplumEngine } from "../../components/engines/greenplum";
import { ExistingHosts } from "../../components/hosts/existing";
import { MasterMirror } from "../../components/masterMirror";
import { fakeKey } from "../fixtures/keys";

const created: string[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      if (args.name.endsWith("-activation") && args.type === "command:remote:Command") {
        // Still running (it is refused after 10 s on the real cluster): what starts meanwhile
        // would run beside it.
        return new Promise<never>(() => undefined);
      }
      created.push(args.name);
      const stdout = args.name.includes("-prepare-")
        ? JSON.stringify({
            names: "10.0.1.10 mdw",
            publicKey: "ssh-ed25519 AAAAx",
            hostKeys: "ssh-ed25519 HOSTx",
          })
        : "{}";
      return { id: `${args.name}-id`, state: { ...args.inputs, stdout, stderr: "" } };
    },
    call: (args) => args.inputs,
  },
  "gpmirror",
  "unit",
  false,
);

const KEY = fakeKey("abc") + "\n";
const ctx = { stack: "gp", uid: 1000, homeDir: "/home/ann", readFile: () => KEY };
const host = (address: string) => ({
  address,
  user: "gpadmin",
  privateKeyPath: "/keys/id",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG",
  dataDir: "/data/coordinator/gpseg-1",
});

describe("a refused Greenplum activation", () => {
  it("starts no trust, primary or standby step beside it", async () => {
    const config = parseSettings(
      {
        platform: "existing",
        engine: "greenplum",
        dbPort: "5432",
        hosts: { primary: host("10.0.1.10"), standby: host("10.0.1.20") },
        greenplum: { version: "7" },
        activeMaster: "standby",
      },
      ctx,
    );
    if (!config.existing || !config.greenplum) throw new Error("settings missing");
    const hosts = new ExistingHosts(config.existing, config.primaryDbPort, config.standbyDbPort);
    const mirror = new MasterMirror("refused", {
      primary: hosts.standby,
      standby: hosts.primary,
      engine: new GreenplumEngine(config.greenplum),
      replication: config.replication,
      replicationPassword: pulumi.secret("unused-by-greenplum-0123456789"),
      ssh: hosts,
      activation: { settings: config.activation },
    });
    expect(mirror).toBeDefined();
    // Let every registration that can happen meanwhile happen.
    await new Promise((r) => setTimeout(r, 1500));
    const steps = created.filter((n) => n.startsWith("refused-"));
    expect(steps).toEqual(
      expect.arrayContaining(["refused-prepare-primary", "refused-prepare-standby"]),
    );
    expect(
      steps.filter((n) => /^refused-(trust-\w+|primary|access|standby|verify)$/.test(n)),
    ).toEqual([]);
  });
});
