// What a real Greenplum 7.0.0 cluster showed (issue 11, "What a real cluster showed"), each on
// the local Greenplum stack: coordinator, standby and a segment host with two segments
// (stack gpfix, subnet 10.204.1.0/24). One cluster for the file; the tests run in order and
// each leaves the pair protected for the next, except the last.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StatusReport } from "../../components/operator/status";
import { shellQuote } from "../../components/shell";
import { describeGreenplum, GreenplumHost, GreenplumStack } from "../support/greenplumStack";
import { operatorCli } from "../support/operator";

jest.setTimeout(30 * 60 * 1000);

describeGreenplum("defects a real Greenplum cluster showed", () => {
  const gp = new GreenplumStack("gpfix", "10.204.1");
  /** Which host (by the role it was built with) is the active coordinator now. */
  let active: GreenplumHost = "primary";
  const other = (h: GreenplumHost): GreenplumHost => (h === "primary" ? "standby" : "primary");

  beforeAll(async () => {
    await gp.create();
    const up = await gp.up();
    if (up.summary.result !== "succeeded") throw new Error(gp.log.join(""));
  });

  afterAll(async () => {
    await restoreLocalhostSsh("standby");
    await gp.destroy();
  });

  /** `pulumi up`: its result, its time and what it printed (a failed run too). */
  async function timedUp(opts: { replace?: string[] } = {}) {
    const from = gp.log.length;
    const t0 = Date.now();
    let ok = true;
    let error = "";
    try {
      const r = await gp.stack.up({ onOutput: gp.onOutput, ...opts });
      gp.outputs = r.outputs;
    } catch (e) {
      ok = false;
      error = String(e);
    }
    return {
      ok,
      seconds: (Date.now() - t0) / 1000,
      text: `${gp.log.slice(from).join("")}\n${error}`,
    };
  }

  const sshDir = (h: GreenplumHost) => `${gp.stateDir}/hosts/${h}/ssh`;
  /** sshd of the host re-reads its config (SIGHUP: it re-executes itself, same namespaces). */
  function reloadSshd(h: GreenplumHost): void {
    const pid = Number(fs.readFileSync(`${sshDir(h)}/sshd.pid`, "utf8").trim());
    process.kill(pid, "SIGHUP");
  }
  /** As on the host that showed the defect: its sshd listens on its address only. */
  async function stopLocalhostSsh(h: GreenplumHost): Promise<void> {
    const conf = `${sshDir(h)}/sshd_config`;
    const text = fs.readFileSync(conf, "utf8");
    fs.writeFileSync(`${conf}.gpfix`, text);
    fs.writeFileSync(conf, text.replace(/^ListenAddress 127\.0\.0\.1:\d+\n/m, ""));
    reloadSshd(h);
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      gp.shell(h, "ssh -o BatchMode=yes -o ConnectTimeout=5 localhost true 2>&1 || true"),
    ).toMatch(/Connection refused/);
  }
  async function restoreLocalhostSsh(h: GreenplumHost): Promise<void> {
    const conf = `${sshDir(h)}/sshd_config`;
    if (!fs.existsSync(`${conf}.gpfix`)) return;
    fs.renameSync(`${conf}.gpfix`, conf);
    reloadSshd(h);
    await new Promise((r) => setTimeout(r, 1500));
  }

  const dataDir = (h: GreenplumHost) =>
    (gp.outputs[h === active ? "primary" : "standby"].value as { dataDir: string }).dataDir;

  const status = (): { code: number; report: StatusReport; text: string } => {
    const r = operatorCli("status", ["--stack", gp.name, "--json"], gp.env);
    return { code: r.code, report: JSON.parse(r.stdout) as StatusReport, text: r.stderr };
  };

  /** The status once the standby streams again (a cut link is noticed, then reconnected). */
  async function protectedSoon(): Promise<StatusReport> {
    let report = status().report;
    for (let i = 0; i < 45 && !report.protected; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      report = status().report;
    }
    return report;
  }

  it("refuses in the trust step, naming the fix, when sshd does not listen on localhost", async () => {
    await stopLocalhostSsh("standby");
    const state = await gp.stack.exportStack();
    const trust = (state.deployment.resources as { urn: string; type: string }[]).find(
      (r) => r.type === "command:remote:Command" && r.urn.endsWith("::mirror-trust-standby"),
    );
    expect(trust).toBeDefined();
    const run = await timedUp({ replace: [(trust as { urn: string }).urn] });
    expect(run.ok).toBe(false);
    expect(run.text).toMatch(
      /ssh from gpfix-standby to localhost as gpadmin does not work without a password \(ssh: connect to host localhost port 22: Connection refused\)/,
    );
    expect(run.text).toMatch(/Make sshd listen on localhost/);
  });

  it("reports gpactivatestandby's failed ssh localhost at once, reads a quoted primary_conninfo host, then activates", async () => {
    // Still no sshd on the standby's localhost. The old coordinator stopped cleanly: proof.
    gp.shell("primary", `pg_ctl stop -D ${shellQuote(dataDir("primary"))} -m fast -w`);
    // The coordinator's host by name, as pg_basebackup writes a name that is not plain.
    const conf = `${dataDir("standby")}/postgresql.auto.conf`;
    gp.shell(
      "standby",
      `sed -i -E "s/ host=[^ ']+ / host=''${gp.hostName("primary")}'' /" ${shellQuote(conf)}`,
    );
    expect(gp.shell("standby", `grep primary_conninfo ${shellQuote(conf)}`)).toContain(
      `host=''${gp.hostName("primary")}''`,
    );
    await gp.set("activeMaster", "standby");
    let refused: Awaited<ReturnType<typeof timedUp>>;
    try {
      refused = await timedUp();
    } finally {
      await restoreLocalhostSsh("standby");
    }
    console.log(`activation refused (ssh localhost) after ${refused.seconds.toFixed(1)} s`);
    expect(refused.ok).toBe(false);
    expect(refused.text).toContain(
      `the standby replicates from ${gp.hostName("primary")}:5432 (primary_conninfo)`,
    );
    expect(refused.text).toMatch(
      /gpactivatestandby refused \(exit \d+\) and did not promote .*the utility's own ssh failed.*\(its ssh said: ssh: connect to host localhost port 22: Connection refused\)/,
    );
    expect(refused.text).not.toMatch(/the standby is not running, so gpactivatestandby needs -f/);
    // Before, it waited 60 s for a master that was never promoted.
    expect(refused.seconds).toBeLessThan(45);

    const activated = await timedUp();
    console.log(`activation and re-protection took ${activated.seconds.toFixed(1)} s`);
    expect(activated.ok).toBe(true);
    active = "standby";
    expect(gp.sql("standby", "SELECT pg_is_in_recovery()")).toBe("f");
    expect(gp.outputs["replication"].value).toMatchObject({ state: "streaming" });
  });

  it("ends a refused activation (old coordinator unreachable) promptly", async () => {
    const target = other(active);
    const old = active;
    const fence = (action: "fence" | "heal") =>
      execFileSync(
        "bash",
        [path.join(__dirname, "..", "..", "scripts", "local-hosts.sh"), action],
        {
          env: {
            ...process.env,
            GPM_STACK: gp.name,
            GPM_STATE_DIR: gp.stateDir,
            GPM_MODE: "netns",
            GPM_HOST: old,
          },
          stdio: "ignore",
        },
      );
    fence("fence");
    try {
      await gp.set("activeMaster", target);
      const refused = await timedUp();
      console.log(`refused activation: pulumi up ended after ${refused.seconds.toFixed(1)} s`);
      expect(refused.ok).toBe(false);
      // Decided where Pulumi runs, before anything reaches the standby host.
      expect(refused.text).toMatch(/cannot reach \S+ \([\d.]+\): that does not prove it is down/);
      // Nothing beside it tried the unreachable host (the trust steps retried ssh for 74 s).
      expect(refused.text).not.toMatch(/mirror-trust-(standby|primary)/);
      expect(refused.seconds).toBeLessThan(50);
    } finally {
      fence("heal");
      await gp.set("activeMaster", old);
    }
    const again = await timedUp();
    expect(again.ok).toBe(true);
    expect(await protectedSoon()).toMatchObject({ primary: gp.hostName(old), protected: true });
  });

  it("leaves the stack's config as it found it after a drill with failback", async () => {
    const before = await gp.stack.getAllConfig();
    expect(before["gpmirror:activation"]).toBeUndefined();
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "gpfix-drill-"));
    try {
      const r = operatorCli("drill", ["--stack", gp.name, "--failback", "--out", out], gp.env);
      console.log(
        `drill exit ${r.code}\n${r.stderr
          .split("\n")
          .slice(r.code ? -250 : -15)
          .join("\n")}`,
      );
      expect(r.stderr).toMatch(/stack config restored as the drill found it: .*activation\.mode/);
      expect({ code: r.code, tail: r.stderr.slice(-3000) }).toMatchObject({ code: 0 });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
    const after = await gp.stack.getAllConfig();
    expect(after["gpmirror:activation"]).toBeUndefined();
    expect(after["gpmirror:protect"]).toEqual(before["gpmirror:protect"]);
    // activeMaster names the host that is the coordinator now.
    const report = status().report;
    active = report.primary === gp.hostName("primary") ? "primary" : "standby";
    expect(after["gpmirror:activeMaster"]?.value).toBe(active);
  });

  it("says a standby past wal_keep_size cannot catch up", async () => {
    await gp.set("greenplum.walKeepSize", "128MB");
    expect((await timedUp()).ok).toBe(true);
    const standby = other(active);
    gp.shell(standby, `pg_ctl stop -D ${shellQuote(dataDir(standby))} -m fast -w`);
    // 64 MB WAL segments: each switch after a change moves the coordinator a segment on.
    for (let i = 0; i < 5; i++) {
      gp.sql(
        active,
        "CREATE TABLE gpfix_wal (i int) DISTRIBUTED RANDOMLY; DROP TABLE gpfix_wal; SELECT pg_switch_wal();",
      );
    }
    gp.sql(active, "CHECKPOINT");
    const { code, report } = status();
    expect(code).toBe(2);
    expect(report.safeWalBytes).not.toBeNull();
    expect(report.safeWalBytes ?? 0).toBeLessThan(0);
    expect(report.canCatchUp).toBe(false);
    expect(report.problems.join("\n")).toMatch(
      /further behind than the primary's WAL retention .*npm run repair -- --stack gpfix/,
    );
  });
});
