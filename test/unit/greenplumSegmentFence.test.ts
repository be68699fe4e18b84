// The segment fence (scripts/remote/greenplum/segment-fence.sh) against stubs: sudo nft on a
// segment host is the sandbox's emulation (never this machine's nftables), ssh runs the
// remote part here. What it sends to nft, what it reports, and where it falls back.
import * as fs from "fs";
import * as path from "path";
import { lastJson, sandbox as makeSandbox, Sandbox } from "../support/greenplumSandbox";

const OLD = "10.0.1.11";
const TAG = `gpmirror: stale coordinator ${OLD}`;

function setup(segments?: string) {
  const sb = makeSandbox("gp7");
  const dir = path.join(sb.root, "standby", "gpseg-1");
  fs.mkdirSync(dir, { recursive: true });
  if (segments !== undefined) fs.writeFileSync(path.join(sb.state, "segments"), segments);
  const env = {
    GPM_DATA_DIR: dir,
    GPM_DB_PORT: "5432",
    GPM_OLD_PRIMARY_ADDRESS: OLD,
  };
  const run = (action: string, extra: Record<string, string> = {}) =>
    sb.run("segment-fence", { ...env, GPM_SEGMENT_FENCE_ACTION: action, ...extra });
  return { sb, run };
}

const rules = (sb: Sandbox, host = "sdw1") => {
  const f = path.join(sb.state, `nft_rules.${host}`);
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n").filter(Boolean) : [];
};

describe("segment fence", () => {
  const catalog = [
    "sdw1|sdw1|6000|p|0",
    "sdw1|sdw1|6001|p|1",
    "sdw1|sdw1|7000|m|2",
    "sdw2|sdw2|6000|p|2",
  ].join("\n");

  it("rejects the old coordinator on every segment port, mirrors too, once, and ends its sessions", () => {
    const { sb, run } = setup(catalog);
    const r = run("fence");
    expect(r.status).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({
      action: "fence",
      segmentHosts: ["sdw1: nft (added)", "sdw2: nft (added)"],
      failed: [],
    });
    expect(rules(sb)).toEqual([
      `2\tip saddr { ${OLD} } tcp dport { 6000,6001,7000 } reject with tcp reset comment "${TAG}"`,
    ]);
    expect(rules(sb, "sdw2")).toEqual([
      `2\tip saddr { ${OLD} } tcp dport { 6000 } reject with tcp reset comment "${TAG}"`,
    ]);
    expect(r.stderr).toMatch(/sessions ended: sdw1:6000:2,sdw1:6001:2,sdw1:7000:2,sdw2:6000:2/);
    const terminate = sb
      .calls("psql")
      .filter((c) => c.args.some((a) => a.includes("pg_terminate_backend")));
    expect(terminate).toHaveLength(4);
    expect(terminate[0].args.join(" ")).toContain(`client_addr IN ('${OLD}')`);
    // Again: present, nothing added.
    const again = run("fence");
    expect(lastJson(again.stdout).segmentHosts).toEqual([
      "sdw1: nft (present)",
      "sdw2: nft (present)",
    ]);
    expect(rules(sb)).toHaveLength(1);
  });

  it("lifts exactly its own rules, and the table once empty", () => {
    const { sb, run } = setup(catalog);
    fs.writeFileSync(
      path.join(sb.state, "nft_rules.sdw1"),
      `1\tip saddr { 10.9.9.9 } tcp dport { 6000 } reject with tcp reset comment "gpmirror: stale coordinator 10.9.9.9"\n`,
    );
    expect(run("fence").status).toBe(0);
    expect(rules(sb)).toHaveLength(2);
    const lifted = run("lift");
    expect(lastJson(lifted.stdout).segmentHosts).toEqual([
      "sdw1: nft (lifted)",
      "sdw2: nft (lifted)",
    ]);
    expect(rules(sb)).toEqual([expect.stringContaining("10.9.9.9")]);
    expect(fs.existsSync(path.join(sb.state, "nft_rules.sdw2"))).toBe(false);
    expect(lastJson(run("lift").stdout).segmentHosts).toEqual([
      "sdw1: nft (absent)",
      "sdw2: nft (absent)",
    ]);
    expect(lastJson(run("status").stdout).segmentHosts).toEqual([
      "sdw1: nft (absent)",
      "sdw2: nft (absent)",
    ]);
  });

  it("without sudo: the fence command, or a failure naming each host; no session ended unfenced", () => {
    const { sb, run } = setup(catalog);
    fs.writeFileSync(path.join(sb.state, "no_sudo"), "");
    const bare = run("fence");
    expect(bare.status).not.toBe(0);
    expect(lastJson(bare.stdout).failed).toEqual([
      "segment host sdw1: the admin user has no sudo -n nft there and greenplum.segmentFenceCommand is not set: ports 6000,6001,7000 are not fenced",
      "segment host sdw2: the admin user has no sudo -n nft there and greenplum.segmentFenceCommand is not set: ports 6000 are not fenced",
    ]);
    expect(sb.calls("psql").some((c) => c.args.join(" ").includes("pg_terminate_backend"))).toBe(
      false,
    );
    const out = path.join(sb.root, "fence-command.env");
    const withCommand = run("fence", {
      GPM_SEGMENT_FENCE_COMMAND: `env | grep -E '^(GPM_|PGPORT)' | sort >> ${out}`,
      GPM_SEGMENT_FENCE_TIMEOUT_SECONDS: "10",
    });
    expect(withCommand.status).toBe(0);
    expect(lastJson(withCommand.stdout).segmentHosts).toEqual([
      "sdw1: greenplum.segmentFenceCommand",
      "sdw2: greenplum.segmentFenceCommand",
    ]);
    const seen = fs.readFileSync(out, "utf8");
    expect(seen).toContain(`GPM_FENCE_ADDRESS=${OLD}\nGPM_FENCE_HOST=${OLD}\n`);
    expect(seen).toContain("GPM_FENCE_SEGMENT_HOST=sdw1\nGPM_FENCE_SEGMENT_PORTS=6000,6001,7000\n");
    expect(seen).not.toMatch(/GPM_(DATA_DIR|SEGMENT_FENCE_COMMAND|GP_ADMIN)=/);
    // A lift with neither sudo nor a command has nothing to undo: no rule was added.
    const lift = run("lift");
    expect(lift.status).toBe(0);
    expect(lastJson(lift.stdout).segmentHosts[0]).toMatch(/sdw1: nothing to lift/);
  });

  it("falls back to the configured segment hosts and ports when no catalog answers", () => {
    const { sb, run } = setup();
    const r = run("fence", {
      GPM_SEGMENT_HOSTS: "sdw1 sdw2",
      GPM_SEGMENTS_PER_HOST: "2",
      GPM_SEGMENT_PORT_BASE: "6000",
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/segments from greenplum\.segmentHosts/);
    for (const host of ["sdw1", "sdw2"])
      expect(rules(sb, host).map((l) => l.replace(/.*dport (\{[^}]*\}).*/, "$1"))).toEqual([
        "{ 6000,6001 }",
      ]);
    const none = setup().run("fence");
    expect(none.status).not.toBe(0);
    expect(lastJson(none.stdout).failed).toEqual([
      expect.stringMatching(/^no segment host is known .* nothing was fenced$/),
    ]);
  });
});
