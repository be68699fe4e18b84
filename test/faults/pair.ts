// A local pair under test for the fault suite: its stack, its hosts over SSH, the status CLI,
// and the faults themselves (a stopped standby, a cut between the hosts, a changed host key).
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { OutputMap, Stack } from "@pulumi/pulumi/automation";
import { StatusReport } from "../../components/operator/status";
import { PULUMI_CLI, ROOT, testStack } from "../support/engine";
import { HostAccess, onHost, sql } from "../support/hostShell";
import { operatorCli } from "../support/operator";

export interface NodeOut {
  host: string;
  port: number;
  dataDir: string;
}

export type Role = "primary" | "standby";

/** Rounds of the failover tests (GPMIRROR_FAULT_ROUNDS, default 1). */
export function faultRounds(): number {
  const n = Number(process.env["GPMIRROR_FAULT_ROUNDS"] ?? "1");
  if (!Number.isInteger(n) || n < 1)
    throw new Error("GPMIRROR_FAULT_ROUNDS must be a whole number >= 1");
  return n;
}

export class Pair {
  stack!: Stack;
  env!: Record<string, string>;
  backend!: string;
  outputs: OutputMap = {};
  readonly log: string[] = [];
  private disposeStack?: () => Promise<void>;

  constructor(
    readonly name: string,
    readonly config: Record<string, string>,
  ) {}

  get stateDir(): string {
    return `/var/lib/gpmirror/${this.name}`;
  }

  async create(): Promise<void> {
    const t = await testStack(this.name, this.config);
    this.stack = t.stack;
    this.env = t.env;
    this.backend = t.backend;
    this.disposeStack = t.dispose;
  }

  async destroy(): Promise<void> {
    if (!this.stack) return;
    // A killed update leaves its lock behind; nothing else runs on this test's stack.
    await this.stack.cancel().catch(() => undefined);
    await this.stack
      .destroy({ onOutput: this.onOutput })
      .catch((e: unknown) => console.error(String(e)));
    this.removeLeftoverHosts();
    await this.disposeStack?.();
  }

  /** Hosts a failed destroy left behind (testStack removes an earlier run's before it builds). */
  private removeLeftoverHosts(): void {
    for (const host of ["primary", "standby", "witness"]) {
      if (!fs.existsSync(`${this.stateDir}/meta/${host}.json`)) continue;
      execFileSync("bash", [path.join(ROOT, "scripts", "local-hosts.sh"), "destroy"], {
        env: { ...process.env, GPM_STACK: this.name, GPM_STATE_DIR: this.stateDir, GPM_HOST: host },
        stdio: "ignore",
      });
    }
  }

  readonly onOutput = (s: string) => {
    this.log.push(s);
  };

  async up() {
    const result = await this.stack.up({ onOutput: this.onOutput });
    this.outputs = result.outputs;
    return result;
  }

  set(key: string, value: string) {
    return this.stack.setConfig(`gpmirror:${key}`, { value }, true);
  }

  /** Removes a setting `set` made (a path such as activation.fenceCommand, as `set` writes it). */
  unset(key: string) {
    return this.stack.removeConfig(`gpmirror:${key}`, true);
  }

  /** The server that has this role now (by the outputs). */
  node(role: Role): NodeOut {
    return this.outputs[role].value as NodeOut;
  }

  /** The host (by the role it was built with) that holds this data directory. */
  builtAs(n: NodeOut): Role {
    return n.dataDir.includes("/hosts/primary/") ? "primary" : "standby";
  }

  access(n: NodeOut): HostAccess {
    return {
      address: n.host,
      sshPort: 22,
      user: "gpmirror",
      keyPath: `${this.stateDir}/client_key`,
      knownHostsPath: `${this.stateDir}/known_hosts`,
    };
  }

  sql(role: Role, statement: string, database?: string): string {
    const n = this.node(role);
    return sql(this.access(n), n.dataDir, n.port, statement, database);
  }

  shell(role: Role, script: string): string {
    return onHost(this.access(this.node(role)), script);
  }

  /** `pulumi stack export` as an operator runs it: without --show-secrets (the Automation API adds it). */
  exportWithoutSecrets(): string {
    return execFileSync(PULUMI_CLI, ["stack", "export", "--stack", this.name], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      encoding: "utf8",
      // The state holds every step's script text: over execFileSync's default 1 MB.
      maxBuffer: 256 * 1024 * 1024,
    });
  }

  status(): { code: number; report: StatusReport; stderr: string } {
    const r = operatorCli("status", ["--stack", this.name, "--json"], this.env);
    return { code: r.code, report: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  }

  /** Waits until the standby has replayed everything the primary has written so far. */
  async caughtUp(timeoutMs = 60_000): Promise<void> {
    const lsn = this.sql("primary", "SELECT pg_current_wal_lsn()");
    await waitFor(
      () => this.sql("standby", `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) === "t",
      timeoutMs,
      "the standby to catch up",
    );
  }

  /** kill -9 of the postmaster of the server with this role. */
  killPostmaster(role: Role): void {
    this.shell(role, `kill -9 "$(head -n 1 '${this.node(role).dataDir}/postmaster.pid')"`);
  }

  /** Starts the server of this role again, as its host would after a restart. */
  startServer(role: Role, logName: string): void {
    const n = this.node(role);
    const dir = n.dataDir.replace(/\/data$/, "");
    this.shell(
      role,
      `bin="$(printf '%s\\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
"$bin/pg_ctl" start -D '${n.dataDir}' -l '${dir}/${logName}' -w -t 60 >/dev/null`,
    );
  }

  /** The network namespace of a host, by the role it was built with. */
  namespace(builtRole: Role): string {
    return `gpm-${this.name}-${builtRole}`;
  }

  /**
   * A network partition between the two hosts only: each drops what it sends to the other
   * (a blackhole route), while this machine still reaches both.
   */
  partition(cut: boolean): void {
    const ip = (role: Role) => `${this.config["local.subnet"]}.${role === "primary" ? 11 : 12}`;
    for (const [from, to] of [
      ["primary", "standby"],
      ["standby", "primary"],
    ] as [Role, Role][]) {
      const args = ["netns", "exec", this.namespace(from), "ip", "route"];
      const route = ["blackhole", `${ip(to)}/32`];
      if (cut) execFileSync("ip", [...args, "replace", ...route]);
      else {
        try {
          execFileSync("ip", [...args, "del", ...route], { stdio: "ignore" });
        } catch {
          // not cut
        }
      }
    }
  }
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(500);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
