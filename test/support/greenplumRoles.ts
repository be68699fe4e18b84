// What the Greenplum fault and activation suites share on a GreenplumStack: which host is the
// active coordinator now, `pulumi up` and the operator CLIs timed with what they printed, and
// the drill's write workload (components/operator/drill/writer.ts) on the operator login.
import * as path from "path";
import { execFileSync } from "child_process";
import { Endpoint, Writer } from "../../components/operator/drill/writer";
import { OperatorAccess } from "../../components/operator/access";
import { StatusReport } from "../../components/operator/status";
import { shellQuote } from "../../components/shell";
import { ROOT } from "./engine";
import { GreenplumHost, GreenplumStack } from "./greenplumStack";
import { operatorCli } from "./operator";

export type Master = Exclude<GreenplumHost, "seg1">;

export const otherMaster = (h: Master): Master => (h === "primary" ? "standby" : "primary");

export interface Run {
  ok: boolean;
  seconds: number;
  /** What the engine printed during the run, and its error. */
  text: string;
}

/**
 * Seconds between the first and the last line a Greenplum utility logged in a run's output
 * (its lines begin `YYYYMMDD:HH:MM:SS:<pid> <utility>:`), or null when it did not run.
 */
export function utilitySeconds(text: string, utility: string): number | null {
  const at = [
    ...text.matchAll(new RegExp(`(\\d{8}):(\\d\\d):(\\d\\d):(\\d\\d):\\d+ ${utility}:`, "g")),
  ].map((m) => Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]));
  return at.length === 0 ? null : Math.max(...at) - Math.min(...at);
}

/** A local Greenplum stack whose coordinator may move between its two master hosts. */
export class GreenplumRoles {
  constructor(readonly gp: GreenplumStack) {}

  /** The host (by the role it was built with) that the stack's outputs name as the master. */
  get active(): Master {
    const host = (this.gp.outputs["primary"].value as { host: string }).host;
    return host === this.gp.address("primary") ? "primary" : "standby";
  }

  get passive(): Master {
    return otherMaster(this.active);
  }

  /** The coordinator data directory on a master host. */
  dataDir(h: Master): string {
    const role = h === this.active ? "primary" : "standby";
    return (this.gp.outputs[role].value as { dataDir: string }).dataDir;
  }

  /** SQL on the active coordinator. */
  sql(statement: string): string {
    return this.gp.sql(this.active, statement);
  }

  /** `pulumi up` (or repair's `--replace`): its result, its time, what it printed. */
  async up(opts: { replace?: string[] } = {}): Promise<Run> {
    const from = this.gp.log.length;
    const t0 = Date.now();
    let ok = true;
    let error = "";
    try {
      const r = await this.gp.stack.up({ onOutput: this.gp.onOutput, ...opts });
      this.gp.outputs = r.outputs;
    } catch (e) {
      ok = false;
      error = String(e);
      this.gp.outputs = await this.gp.stack.outputs();
    }
    return {
      ok,
      seconds: (Date.now() - t0) / 1000,
      text: `${this.gp.log.slice(from).join("")}\n${error}`,
    };
  }

  /** Fails with what the engine printed when the run failed. */
  static succeeded(run: Run): Run {
    if (!run.ok)
      throw new Error(`the run failed after ${run.seconds} s:\n${run.text.slice(-8000)}`);
    return run;
  }

  /** `npm run repair -- --stack <name>`, timed. */
  async repair(): Promise<Run & { code: number }> {
    const t0 = Date.now();
    const r = operatorCli("repair", ["--stack", this.gp.name], this.gp.env);
    this.gp.outputs = await this.gp.stack.outputs();
    return {
      ok: r.code === 0,
      code: r.code,
      seconds: (Date.now() - t0) / 1000,
      text: r.stdout + r.stderr,
    };
  }

  status(): { code: number; report: StatusReport; stderr: string } {
    return this.gp.status();
  }

  /** The catalog's row of the standby coordinator: role|status|hostname. */
  standbyRow(): string {
    return this.sql(
      "SELECT role, status, hostname FROM gp_segment_configuration WHERE content = -1 AND role = 'm'",
    );
  }

  /** Waits until the coordinator's standby streams and has replayed all the coordinator wrote. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const lsn = this.sql("SELECT pg_current_wal_lsn()");
    for (;;) {
      const row = this.sql(
        `SELECT state || '|' || (replay_lsn >= '${lsn}'::pg_lsn) FROM pg_stat_replication WHERE application_name = 'gp_walreceiver'`,
      );
      if (row === "streaming|true") return;
      if (Date.now() > deadline) throw new Error(`the standby did not catch up (${row})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** pg_ctl stop of the coordinator (or standby) on a master host, as its own admin would. */
  stop(h: Master, mode: "fast" | "immediate"): void {
    this.gp.shell(h, `pg_ctl stop -D ${shellQuote(this.dataDir(h))} -m ${mode} -w -t 60`);
  }

  /** kill -9 of the postmaster on a master host (its /tmp lock stays behind). */
  kill(h: Master): void {
    this.gp.shell(h, `kill -9 "$(head -n 1 ${shellQuote(this.dataDir(h))}/postmaster.pid)"`);
  }

  /**
   * Starts the coordinator (or the standby) of a master host again, as gpstart and the
   * activate step do (pg_ctl start with gp_role=dispatch), without waiting: a standby never
   * accepts connections, and a killed coordinator recovers first.
   */
  start(h: Master): void {
    const dir = shellQuote(this.dataDir(h));
    this.gp.shell(
      h,
      `pg_ctl start -W -D ${dir} -l ${dir}/log/startup.log -o " -c gp_role=dispatch" >/dev/null`,
    );
  }

  /** Data directories beside the coordinator's on a host whose name contains `marker`. */
  beside(h: Master, dir: string, marker: string): string[] {
    return this.gp
      .shell(h, `ls -d ${shellQuote(dir)}${marker}* 2>/dev/null || true`)
      .split("\n")
      .filter(Boolean);
  }

  /** scripts/local-hosts.sh on a master host: partition/join (toward the other) or fence/heal. */
  network(action: "partition" | "join" | "fence" | "heal", h: Master): void {
    const hosts: Master[] =
      action === "partition" || action === "join" ? ["primary", "standby"] : [h];
    for (const host of hosts) {
      execFileSync("bash", [path.join(ROOT, "scripts", "local-hosts.sh"), action], {
        env: {
          ...process.env,
          GPM_STACK: this.gp.name,
          GPM_STATE_DIR: this.gp.stateDir,
          GPM_MODE: "netns",
          GPM_HOST: host,
          GPM_PEER_ADDRESS: this.gp.address(otherMaster(host)),
        },
        stdio: "ignore",
      });
    }
  }

  /** The drill's writer on the operator login, toward both master hosts. */
  async writer(run: string): Promise<{ writer: Writer; endpoints: Endpoint[] }> {
    const access = (await this.gp.stack.outputs())["operatorAccess"].value as OperatorAccess;
    if (!access.database) throw new Error("the stack opened no operator login");
    const endpoints = access.hosts.map((h) => ({ name: h.name, host: h.address, port: h.dbPort }));
    const writer = new Writer(
      endpoints,
      { ...access.database, database: access.database.name },
      run,
    );
    await writer.prepare();
    return { writer, endpoints };
  }

  /** Acknowledged commits of the writer that the active coordinator does not hold. */
  async missing(writer: Writer, endpoints: Endpoint[]): Promise<number> {
    const e = endpoints.find((x) => x.host === this.gp.address(this.active));
    if (!e) throw new Error("the active coordinator is not one of the writer's endpoints");
    const present = await writer.idsOn(e);
    return writer.acks.filter((a) => !present.has(a.id)).length;
  }
}
