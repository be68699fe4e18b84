import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { AutomaticReport } from "../../components/operator/automatic";
import { StatusReport } from "../../components/operator/status";
import { ROOT } from "../support/engine";
import { etcdctlFlags } from "../../components/automaticLeader";
import { AutomaticPair, killRound } from "./automaticPair";
import { waitFor } from "./pair";

jest.setTimeout(10 * 60 * 1000);

// Automatic failover on hosts the user runs (platform existing): three namespace hosts with
// sshd (made here with scripts/local-hosts.sh, as a user's machines would already be there),
// the pair, etcd and the agents built on them over SSH by an `existing` stack. Then the kill -9
// round of the local suite: the standby takes over with no pulumi up, no acknowledged commit
// lost, and pulumi up follows and re-protects.
const isRoot = process.getuid?.() === 0;
const NAME = "autoexist";
const SUBNET = "10.211.1";
const BRIDGE = "gpm-autoexist";
const OCTET = { primary: 11, standby: 12, witness: 13 } as const;
type Built = keyof typeof OCTET;
const pair = new AutomaticPair(NAME, { platform: "existing" });
const tlsDir = `${process.env["HOME"] ?? "/root"}/.gpmirror/${NAME}/etcd-tls`;

/** scripts/local-hosts.sh on this stack's state directory; its JSON result. */
function localHosts(action: string, env: Record<string, string> = {}): Record<string, string> {
  const out = execFileSync("bash", [path.join(ROOT, "scripts", "local-hosts.sh"), action], {
    env: {
      ...process.env,
      GPM_STACK: NAME,
      GPM_STATE_DIR: pair.stateDir,
      GPM_MODE: "netns",
      GPM_BRIDGE: BRIDGE,
      ...env,
    },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Record<string, string>;
}

/** A namespace host with sshd (`host`, at .octet), named in the settings as `role`. */
function makeHost(role: Built, host: string, octet: number): Record<string, string> {
  const { publicKey, path: keyPath } = localHosts("client-key");
  const h = localHosts("create", {
    GPM_HOST: host,
    GPM_ADDRESS: `${SUBNET}.${octet}`,
    GPM_BRIDGE_ADDRESS: `${SUBNET}.1/24`,
    GPM_SSH_PORT: "22",
    GPM_AUTHORIZED_KEY: publicKey,
  });
  const k = (s: string) => `hosts.${role}.${s}`;
  return {
    [k("address")]: h["address"],
    [k("user")]: h["user"],
    [k("privateKeyPath")]: keyPath,
    [k("hostKey")]: h["hostKey"],
    // The witness has no database: only a directory for its etcd member.
    ...(role === "witness" ? { [k("dir")]: h["home"] } : { [k("dataDir")]: `${h["home"]}/data` }),
  };
}

/** The hosts a user would name: a namespace with sshd each, logged into with one key. */
function makeHosts(): Record<string, string> {
  return Object.assign({}, ...(Object.keys(OCTET) as Built[]).map((r) => makeHost(r, r, OCTET[r])));
}

/** The witness's new host (the witness-move round), at .14. */
const MOVED = { host: "witness2", octet: 14 };

/** etcd's members as etcdctl lists them ("id, status, name, peer URL, client URL, learner"). */
function memberList(endpoints: string[]): string[][] {
  const out = execFileSync(
    "etcdctl",
    [...etcdctlFlags(tlsDir, endpoints), "member", "list", "-w", "simple"],
    { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } },
  );
  return out
    .trim()
    .split("\n")
    .map((l) => l.split(", "))
    .sort((a, b) => a[2].localeCompare(b[2]));
}

function cmdline(pid: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

(isRoot ? describe : describe.skip)(
  "automatic failover on existing hosts (real namespace hosts)",
  () => {
    let upSeconds = 0;
    /** The witness's host: witness, then (the move round) witness2. */
    let witnessHost = "witness";

    beforeAll(async () => {
      await pair.create();
      const settings = {
        ...makeHosts(),
        "activation.automatic": "true",
        "replication.synchronous": "true",
        // The drill's writer connects from this machine, on the hosts' bridge.
        "operator.cidrs[0]": `${SUBNET}.1/32`,
      };
      for (const [k, v] of Object.entries(settings)) await pair.set(k, v);
      const t0 = Date.now();
      const result = await pair.up();
      upSeconds = (Date.now() - t0) / 1000;
      expect(result.summary.result).toBe("succeeded");
      await waitFor(() => pair.holder() === "primary", 60_000, "the primary's agent to lead");
    });

    afterAll(async () => {
      const logs = `/tmp/gpm-${NAME}-logs`;
      pair.saveLogs(logs);
      await pair.destroy();
      if (fs.existsSync(`${pair.stateDir}/meta/${MOVED.host}.json`)) {
        localHosts("destroy", { GPM_HOST: MOVED.host });
      }
      console.log(`first pulumi up: ${upSeconds} s; agents' and etcd members' logs: ${logs}`);
    });

    it("builds etcd on the three hosts' addresses, keeps the CA where Pulumi runs (keys 0600) and no key in state in plaintext", () => {
      expect(pair.outputs["automaticFailover"].value).toMatchObject({
        endpoints: [11, 12, 13].map((o) => `https://${SUBNET}.${o}:2379`),
        members: ["primary", "standby", "witness"],
        leaderAtStart: null,
      });
      for (const f of ["ca.key", "primary.key", "standby.key", "witness.key"]) {
        expect((fs.statSync(`${tlsDir}/${f}`).mode & 0o777).toString(8)).toBe("600");
      }
      const state = pair.exportWithoutSecrets();
      expect(state).not.toContain(fs.readFileSync(`${tlsDir}/witness.key`, "utf8").trim());
      expect(state).not.toMatch(/PRIVATE KEY-----\\n[A-Za-z0-9+/]/);
      // npm run status, as an operator runs it: the leader, both agents, the three members.
      const { code, report } = pair.status();
      const auto = (report as StatusReport & { automatic: AutomaticReport }).automatic;
      expect({ code, problems: auto.problems }).toEqual({ code: 0, problems: [] });
      expect(auto.agents.map((a) => [a.running, a.holding])).toEqual([
        [true, true],
        [true, false],
      ]);
      expect(auto.members.map((m) => [m.endpoint, m.healthy])).toEqual(
        [11, 12, 13].map((o) => [`https://${SUBNET}.${o}:2379`, true]),
      );
      // The witness runs etcd only, in the directory given as hosts.witness.dir.
      expect(fs.existsSync(`${pair.home("witness")}/auto/etcd/etcd.pid`)).toBe(true);
      expect(fs.existsSync(`${pair.home("witness")}/auto/agent`)).toBe(false);
    });

    it("moving the witness to another host (hosts.witness.*) with pulumi up replaces its etcd member: three healthy members, the lease kept", async () => {
      for (const [k, v] of Object.entries(makeHost("witness", MOVED.host, MOVED.octet))) {
        await pair.set(k, v);
      }
      const renewedBefore = Number(pair.agentState("primary")["updatedAt"]);
      const t0 = Date.now();
      const result = await pair.up();
      console.log(`witness move, pulumi up: ${(Date.now() - t0) / 1000} s`);
      expect(result.summary.result).toBe("succeeded");
      const endpoints = [11, 12, MOVED.octet].map((o) => `https://${SUBNET}.${o}:2379`);
      expect(pair.outputs["automaticFailover"].value).toMatchObject({ endpoints });
      // The old member removed, the new one started at its address with its name.
      expect(memberList(endpoints).map((m) => [m[1], m[2], m[3]])).toEqual(
        (["primary", "standby", "witness"] as const).map((r) => [
          "started",
          r,
          `https://${SUBNET}.${r === "witness" ? MOVED.octet : OCTET[r]}:2380`,
        ]),
      );
      // The primary kept the lease throughout, and renews it still.
      expect(pair.holder()).toBe("primary");
      await waitFor(
        () => Number(pair.agentState("primary")["updatedAt"]) > Math.max(renewedBefore, t0),
        10_000,
        "a renewal after the move",
      );
      const { code, report } = pair.status();
      const auto = (report as StatusReport & { automatic: AutomaticReport }).automatic;
      expect({ code, problems: auto.problems }).toEqual({ code: 0, problems: [] });
      expect(auto.members.map((m) => [m.endpoint, m.healthy])).toEqual(
        endpoints.map((e) => [e, true]),
      );
      // The agents were given the new endpoints.
      for (const built of ["primary", "standby"] as const) {
        const config = fs.readFileSync(`${pair.home(built)}/auto/agent/agent.json`, "utf8");
        expect((JSON.parse(config) as { endpoints: string[] }).endpoints).toEqual(endpoints);
      }
      // pulumi up replaced the witness's step, and its delete stopped etcd on the old host
      // (which etcd had removed from the cluster): nothing of it runs there any more.
      expect(fs.existsSync(`${pair.home("witness")}/auto/etcd/etcd.pid`)).toBe(false);
      const oldPids = execFileSync("ip", ["netns", "pids", `gpm-${NAME}-witness`], {
        encoding: "utf8",
      });
      expect(oldPids.split("\n").filter((p) => /etcd/.test(cmdline(p)))).toEqual([]);
      witnessHost = MOVED.host;
    });

    it("kill -9 of the master's postmaster: the standby takes over with no pulumi up, no acknowledged commit lost; pulumi up follows and re-protects", async () => {
      const r = await killRound(pair, `kill-${Date.now()}`);
      console.log(`existing hosts, kill -9: ${JSON.stringify(r)}`);
    });

    it("after a reboot of the standby's host (etcd and its agent gone), the start.sh files the steps left there start them again", async () => {
      const leader = pair.holder();
      if (!leader) throw new Error("nobody leads");
      const host = leader === "primary" ? "standby" : "primary";
      const auto = `${pair.home(host)}/auto`;
      const before = Number(pair.agentState(host)["pid"]);
      for (const part of ["agent", "etcd"]) {
        // What a reboot leaves: no process, a stale pid file.
        const sup = fs.readFileSync(`${auto}/${part}/${part}.pid`, "utf8").trim();
        execFileSync("kill", ["-STOP", sup]);
        execFileSync("pkill", ["-KILL", "-P", sup]);
        execFileSync("kill", ["-KILL", sup]);
      }
      // As the README says: on that host, as its SSH login, etcd first.
      pair.shell("standby", `bash '${auto}/etcd/start.sh' && bash '${auto}/agent/start.sh'`);
      await waitFor(
        () => {
          const s = pair.agentState(host);
          return (
            Number(s["pid"]) !== before &&
            s["role"] === "standby" &&
            Date.now() - Number(s["updatedAt"]) < 3000
          );
        },
        30_000,
        "the restarted agent to report as standby",
      );
      // Run again while they run: nothing more is started.
      pair.shell("standby", `bash '${auto}/etcd/start.sh' && bash '${auto}/agent/start.sh'`);
      const supervisors = execFileSync("pgrep", ["-c", "-f", `${auto}/(etcd|agent)/supervise.sh`], {
        encoding: "utf8",
      });
      expect(supervisors.trim()).toBe("2");
      expect(pair.holder()).toBe(leader);
    });

    it("destroy stops the agents and etcd members on the hosts (which outlive the stack) and removes the etcd CA from this machine", async () => {
      await pair.stack.destroy({ onOutput: pair.onOutput });
      for (const [host, part] of [
        ["primary", "agent"],
        ["standby", "agent"],
        ["primary", "etcd"],
        ["standby", "etcd"],
        [witnessHost, "etcd"],
      ]) {
        // Each supervisor removes its pid file when it stops.
        const running = fs.existsSync(`${pair.stateDir}/hosts/${host}/auto/${part}/${part}.pid`);
        expect({ host, part, running }).toEqual({ host, part, running: false });
      }
      for (const host of [...Object.keys(OCTET), MOVED.host]) {
        if (!fs.existsSync(`${pair.stateDir}/meta/${host}.json`)) continue;
        const pids = execFileSync("ip", ["netns", "pids", `gpm-${NAME}-${host}`], {
          encoding: "utf8",
        });
        const left = pids.split("\n").filter((p) => /gpmirror-agent|etcd/.test(cmdline(p)));
        expect({ host, left }).toEqual({ host, left: [] });
      }
      expect(fs.existsSync(tlsDir)).toBe(false);
      expect(fs.existsSync(path.dirname(tlsDir))).toBe(false);
    });
  },
);
