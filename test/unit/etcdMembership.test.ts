// etcd's membership when a member moves (scripts/remote/auto/lib.sh auto_join, which etcd.sh
// runs first): real etcd members with TLS on loopback addresses (127.0.215.x), the CA and
// certificates made by scripts/auto/tls.sh. The cluster is made, the witness moves to another
// address, then a new machine takes its address with none of its data; each time the member
// is replaced (member remove, member add, fresh data, --initial-cluster-state existing) and
// all three are healthy, and a re-run changes nothing.
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const hasEtcd = spawnSync("bash", ["-c", "command -v etcd && command -v etcdctl"]).status === 0;
if (!hasEtcd) console.warn("etcdMembership: SKIPPED, etcd and etcdctl are not installed");

const root = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-etcdjoin-"));
const ip = (n: number) => `127.0.215.${n}`;
const peer = (n: number) => `https://${ip(n)}:2380`;
const cluster = (w: number) => `primary=${peer(2)},standby=${peer(3)},witness=${peer(w)}`;
const running: ChildProcess[] = [];

/** One member's directory as etcd.sh keeps it: tls/ (ca.crt, host.crt, host.key), data/. */
function memberDir(dir: string, cert: string): string {
  const d = path.join(root, dir);
  fs.mkdirSync(path.join(d, "tls"), { recursive: true, mode: 0o700 });
  fs.copyFileSync(`${root}/tls/ca.crt`, `${d}/tls/ca.crt`);
  fs.copyFileSync(`${root}/tls/${cert}.crt`, `${d}/tls/host.crt`);
  fs.copyFileSync(`${root}/tls/${cert}.key`, `${d}/tls/host.key`);
  return d;
}

/** etcd with etcd.sh's TLS flags and timings. */
function startEtcd(name: string, dir: string, n: number, state: string, initial: string) {
  const tls = (f: string) => `${dir}/tls/${f}`;
  const p = spawn(
    "etcd",
    [
      ...["--name", name, "--data-dir", `${dir}/data`],
      ...[
        "--listen-client-urls",
        `https://${ip(n)}:2379`,
        "--advertise-client-urls",
        `https://${ip(n)}:2379`,
      ],
      ...["--listen-peer-urls", peer(n), "--initial-advertise-peer-urls", peer(n)],
      ...[
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        state,
        "--initial-cluster-token",
        "unit",
      ],
      ...[
        "--client-cert-auth",
        "--trusted-ca-file",
        tls("ca.crt"),
        "--cert-file",
        tls("host.crt"),
        "--key-file",
        tls("host.key"),
      ],
      ...[
        "--peer-client-cert-auth",
        "--peer-trusted-ca-file",
        tls("ca.crt"),
        "--peer-cert-file",
        tls("host.crt"),
        "--peer-key-file",
        tls("host.key"),
      ],
      ...[
        "--heartbeat-interval",
        "100",
        "--election-timeout",
        "1000",
        "--log-level",
        "error",
        "--logger",
        "zap",
      ],
    ],
    { stdio: "ignore" },
  );
  running.push(p);
  return p;
}

/** auto_join as etcd.sh runs it (after common.sh and lib.sh): new, member or rejoined. */
function join(dir: string, n: number, initial: string): string {
  const script = `source ${ROOT}/scripts/remote/common.sh; GPM_TAG=unit; source ${ROOT}/scripts/remote/auto/lib.sh; auto_join "$1" witness "$2" "$3"`;
  return execFileSync("bash", ["-c", script, "join", dir, peer(n), initial], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  }).trim();
}

/** The member list (name, peer URL, has run) and each endpoint's health, asked of `ns`. */
function members(ns: number[]): { list: string[]; healthy: boolean } {
  const flags = [
    `--endpoints=${ns.map((n) => `https://${ip(n)}:2379`).join(",")}`,
    `--cacert=${root}/tls/ca.crt`,
    `--cert=${root}/tls/primary.crt`,
    `--key=${root}/tls/primary.key`,
  ];
  const env = { ...process.env, ETCDCTL_API: "3" };
  const list = execFileSync("etcdctl", [...flags, "member", "list", "-w", "simple"], {
    encoding: "utf8",
    env,
  })
    .trim()
    .split("\n")
    .map((l) => l.split(", "))
    .map((f) => `${f[2]} ${f[3]} ${f[4] ? "ran" : "not started"}`)
    .sort();
  const health = spawnSync("etcdctl", [...flags, "endpoint", "health"], { env });
  return { list, healthy: health.status === 0 };
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

(hasEtcd ? describe : describe.skip)(
  "auto_join: etcd's membership when a member moves (real etcd, TLS)",
  () => {
    jest.setTimeout(120_000);
    let witness: ChildProcess;

    beforeAll(async () => {
      execFileSync("bash", [`${ROOT}/scripts/auto/tls.sh`], {
        env: {
          ...process.env,
          GPM_TLS_DIR: `${root}/tls`,
          GPM_MEMBERS: `primary=${ip(2)},standby=${ip(3)},witness=${ip(4)},moved=${ip(5)}`,
        },
        stdio: "ignore",
      });
      startEtcd("primary", memberDir("primary", "primary"), 2, "new", cluster(4));
      startEtcd("standby", memberDir("standby", "standby"), 3, "new", cluster(4));
      await until("the masters' quorum", () => {
        try {
          return members([2, 3]).list.length === 3;
        } catch {
          return false;
        }
      });
    });

    afterAll(() => {
      for (const p of running) p.kill("SIGKILL");
      fs.rmSync(root, { recursive: true, force: true });
    });

    it("an initial member not started yet starts as one of the new cluster's", async () => {
      const dir = memberDir("witness", "witness");
      expect(join(dir, 4, cluster(4))).toBe("new");
      witness = startEtcd("witness", dir, 4, "new", cluster(4));
      await until("three healthy members", () => members([2, 3, 4]).healthy);
      expect(join(dir, 4, cluster(4))).toBe("member");
    });

    it("a witness moved to another address replaces its member, and all three are healthy", async () => {
      witness.kill("SIGKILL"); // its host is gone
      const dir = memberDir("moved", "moved");
      expect(join(dir, 5, cluster(5))).toBe("rejoined");
      expect(members([2, 3]).list).toEqual(
        [`primary ${peer(2)} ran`, `standby ${peer(3)} ran`, ` ${peer(5)} not started`].sort(),
      );
      witness = startEtcd("witness", dir, 5, "existing", cluster(5));
      await until("three healthy members", () => members([2, 3, 5]).healthy);
      expect(members([2, 3, 5]).list).toEqual(
        [`primary ${peer(2)} ran`, `standby ${peer(3)} ran`, `witness ${peer(5)} ran`].sort(),
      );
      expect(join(dir, 5, cluster(5))).toBe("member");
    });

    it("a new machine at the witness's address, with none of its data, replaces the member too", async () => {
      witness.kill("SIGKILL");
      const dir = path.join(root, "moved");
      fs.rmSync(`${dir}/data`, { recursive: true, force: true });
      fs.rmSync(`${dir}/member-id`, { force: true });
      expect(members([2, 3]).list).toContain(`witness ${peer(5)} ran`);
      expect(join(dir, 5, cluster(5))).toBe("rejoined");
      witness = startEtcd("witness", dir, 5, "existing", cluster(5));
      await until("three healthy members", () => members([2, 3, 5]).healthy);
      expect(join(dir, 5, cluster(5))).toBe("member");
    });
  },
);
