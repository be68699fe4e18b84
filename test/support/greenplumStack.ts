// A local Greenplum stack under test (engine greenplum on platform local): a coordinator
// host, a standby host and a segment host with two primary segments, each a network
// namespace with its own sshd, /tmp and ~gpadmin, brought up through the real engine. One
// cluster per test file (gpinitsystem alone takes about a minute): create it in beforeAll,
// destroy it in afterAll. Gives SQL and a shell on every host, as gpadmin over SSH.
import { execFileSync } from "child_process";
import * as fs from "fs";
import { OutputMap, Stack, UpResult } from "@pulumi/pulumi/automation";
import { greenplumInstaller } from "../../components/hosts/local";
import { StatusReport } from "../../components/operator/status";
import { shellQuote } from "../../components/shell";
import { removeLeftoverHosts, testStack } from "./engine";
import { HostAccess, onHost } from "./hostShell";
import { operatorCli } from "./operator";

/** The hosts of a local Greenplum stack, by the role each was built with. */
export type GreenplumHost = "primary" | "standby" | "seg1";

/** PID runs: a zombie (ended, holding nothing until its parent reaps it; this machine's init
 * reaps about once a second) does not. */
function runs(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return false;
  }
}

const OCTET: Record<GreenplumHost, number> = { primary: 11, standby: 12, seg1: 21 };
const GPHOME = "/usr/local/greenplum-db";

export interface GreenplumAvailability {
  available: boolean;
  /** Why the Greenplum suites cannot run here, and how to make them run. */
  why: string;
}

/**
 * Whether a local Greenplum stack can be built here: root (network and mount namespaces),
 * and Greenplum installed in /usr/local/greenplum-db or its installer at hand.
 */
export function greenplumAvailability(): GreenplumAvailability {
  if (process.getuid?.() !== 0) {
    return {
      available: false,
      why: "a local Greenplum stack needs root (network and mount namespaces per host): run npm test as root",
    };
  }
  const installer = greenplumInstaller();
  if (!fs.existsSync(`${GPHOME}/greenplum_path.sh`) && !fs.existsSync(installer)) {
    return {
      available: false,
      why: `Greenplum is not installed in ${GPHOME} and its installer ${installer} is missing: put the Greenplum build's directory at ../shared/greenplum beside this checkout, set GPMIRROR_GREENPLUM_INSTALLER to its install.sh, or install Greenplum into ${GPHOME}`,
    };
  }
  return { available: true, why: "" };
}

/**
 * describe() for a Greenplum suite: when Greenplum cannot run here it says so loudly, and
 * under CI=true that is a failing test, never a silent skip.
 */
export function describeGreenplum(name: string, body: () => void): void {
  const gp = greenplumAvailability();
  if (gp.available) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    if (process.env["CI"] === "true") {
      it("runs on a real Greenplum (required in CI)", () => {
        throw new Error(`the Greenplum suite cannot run: ${gp.why}`);
      });
    } else {
      console.warn(
        `\n*** GREENPLUM SUITE NOT RUN: ${name} ***\n*** ${gp.why} ***\n*** (with CI=true this fails) ***\n`,
      );
      it.skip(`NOT RUN: ${gp.why}`, () => undefined);
    }
  });
}

export class GreenplumStack {
  stack!: Stack;
  env!: Record<string, string>;
  backend!: string;
  outputs: OutputMap = {};
  /** Everything the engine printed, for failures and secret checks. */
  readonly log: string[] = [];
  private disposeStack?: () => Promise<void>;

  readonly name: string;
  readonly subnet: string;

  /**
   * @param name stack name (it names hosts and directories: keep it short)
   * @param subnet the /24 of its hosts, e.g. 10.203.1 (one per test file)
   * GPMIRROR_GP_STACK=NAME/SUBNET instead: one file run beside another run of it.
   */
  constructor(
    name: string,
    subnet: string,
    private readonly extraConfig: Record<string, string> = {},
  ) {
    const other = process.env["GPMIRROR_GP_STACK"];
    const m = other === undefined ? null : /^([a-z][a-z0-9-]{0,9})\/(\d+\.\d+\.\d+)$/.exec(other);
    if (other !== undefined && !m)
      throw new Error(`GPMIRROR_GP_STACK must be NAME/SUBNET (e.g. gpx/10.212.1), got '${other}'`);
    this.name = m?.[1] ?? name;
    this.subnet = m?.[2] ?? subnet;
  }

  get config(): Record<string, string> {
    return {
      platform: "local",
      engine: "greenplum",
      "local.subnet": this.subnet,
      "local.bridge": `gpm-${this.name}`.slice(0, 15),
      ...this.extraConfig,
    };
  }

  get stateDir(): string {
    return `/var/lib/gpmirror/${this.name}`;
  }

  readonly onOutput = (s: string) => {
    this.log.push(s);
  };

  /** The stack with its own backend; an earlier run's leftover hosts are removed first. */
  async create(): Promise<void> {
    const t = await testStack(this.name, this.config);
    this.stack = t.stack;
    this.env = t.env;
    this.backend = t.backend;
    this.disposeStack = t.dispose;
  }

  async up(): Promise<UpResult> {
    const result = await this.stack.up({ onOutput: this.onOutput });
    this.outputs = result.outputs;
    return result;
  }

  /** pulumi destroy (and what it could not remove), then the stack and its backend. */
  async destroy(): Promise<void> {
    if (!this.stack) return;
    await this.stack.cancel().catch(() => undefined);
    await this.stack
      .destroy({ onOutput: this.onOutput })
      .catch((e: unknown) => console.error(String(e)));
    // What a failed destroy left behind, as local-hosts.sh destroys it.
    removeLeftoverHosts(this.name, this.config);
    await this.disposeStack?.();
  }

  /** `npm run status -- --stack <name> --json`, as an operator or a pipeline runs it. */
  status(): { code: number; report: StatusReport; stderr: string } {
    const r = operatorCli("status", ["--stack", this.name, "--json"], this.env);
    return { code: r.code, report: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  }

  set(key: string, value: string) {
    return this.stack.setConfig(`gpmirror:${key}`, { value }, true);
  }

  address(host: GreenplumHost): string {
    return `${this.subnet}.${OCTET[host]}`;
  }

  /** The host's name, as every host of the stack resolves it. */
  hostName(host: GreenplumHost): string {
    return `${this.name}-${host}`;
  }

  /** The network namespace of a host. */
  namespace(host: GreenplumHost): string {
    return `gpm-${this.name}-${host}`;
  }

  access(host: GreenplumHost): HostAccess {
    return {
      address: this.address(host),
      sshPort: 22,
      user: "gpadmin",
      keyPath: `${this.stateDir}/client_key`,
      knownHostsPath: `${this.stateDir}/known_hosts`,
    };
  }

  /** A bash script on the host as gpadmin (a non-login shell, as sshd runs it). */
  shell(host: GreenplumHost, script: string): string {
    return onHost(this.access(host), script);
  }

  /**
   * psql on a server of the host through its socket in the host's own /tmp: the master on
   * the coordinator or standby host (port 5432), a segment in utility mode with its port.
   */
  sql(host: GreenplumHost, statement: string, port = 5432): string {
    const utility = host === "seg1" ? "PGOPTIONS='-c gp_role=utility' " : "";
    return this.shell(
      host,
      `${utility}psql -X -q -At -F '|' -v ON_ERROR_STOP=1 -p ${port} -d postgres <<'SQL'\n${statement}\nSQL`,
    );
  }

  /**
   * The host of the active master by the stack's outputs (after an activation, the host
   * built as the standby).
   */
  activeHost(): GreenplumHost {
    const address = (this.outputs["primary"]?.value as { host?: string } | undefined)?.host;
    return address === this.address("standby") ? "standby" : "primary";
  }

  /** SQL on the coordinator (the active master). */
  coordinator(statement: string): string {
    return this.sql(this.activeHost(), statement);
  }

  /** SQL on each primary segment in utility mode, by content id. */
  segments(statement: string): Map<number, string> {
    const rows = this.coordinator(
      "SELECT content, hostname, port FROM gp_segment_configuration WHERE content >= 0 AND role = 'p' ORDER BY content",
    );
    const out = new Map<number, string>();
    for (const row of rows.split("\n").filter(Boolean)) {
      const [content, hostname, port] = row.split("|");
      const host = (Object.keys(OCTET) as GreenplumHost[]).find(
        (h) => this.hostName(h) === hostname,
      );
      if (!host) throw new Error(`segment ${content} is on ${hostname}, not a host of this stack`);
      out.set(Number(content), this.sql(host, statement, Number(port)));
    }
    return out;
  }

  /**
   * The standby master refuses connections (hot_standby off): what its own tools say,
   * through pg_controldata and the standby's marker.
   */
  standbyState(): { inRecovery: boolean; running: boolean } {
    const out = this.shell(
      "standby",
      `d=${shellQuote((this.outputs["standby"].value as { dataDir: string }).dataDir)}
if [ -f "$d/standby.signal" ]; then echo recovery=yes; else echo recovery=no; fi
if pg_ctl status -D "$d" >/dev/null 2>&1; then echo running=yes; else echo running=no; fi`,
    );
    return { inRecovery: out.includes("recovery=yes"), running: out.includes("running=yes") };
  }

  /** The processes now in the stack's namespaces (for "destroy leaves nothing" checks). */
  processes(): number[] {
    const pids: number[] = [];
    for (const host of Object.keys(OCTET) as GreenplumHost[]) {
      try {
        const out = execFileSync("ip", ["netns", "pids", this.namespace(host)], {
          encoding: "utf8",
        });
        pids.push(...out.split("\n").filter(Boolean).map(Number));
      } catch {
        // no such namespace
      }
    }
    return pids;
  }

  /** What is left of the stack on this machine: namespaces, links, mounts, processes, files. */
  leftovers(pidsBefore: number[]): string[] {
    const left: string[] = [];
    const ns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
    for (const line of ns.split("\n"))
      if (line.startsWith(`gpm-${this.name}-`)) left.push(`namespace ${line}`);
    const links = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
    const bridge = this.config["local.bridge"];
    if (links.includes(`${bridge}:`) || links.includes(` ${bridge} `))
      left.push(`bridge ${bridge}`);
    const mounts = execFileSync("findmnt", ["-rn", "-o", "TARGET,SOURCE"], { encoding: "utf8" });
    for (const line of mounts.split("\n"))
      if (line.includes(this.stateDir) || line.includes(`gpm-${this.name}-`))
        left.push(`mount ${line}`);
    for (const pid of pidsBefore) if (runs(pid)) left.push(`process ${pid}`);
    // System V shared memory a postmaster made, which only a clean shutdown removes.
    const shm = execFileSync("ipcs", ["-m", "-p"], { encoding: "utf8" });
    for (const line of shm.split("\n")) {
      const [shmid, , cpid] = line.trim().split(/\s+/);
      if (/^\d+$/.test(shmid ?? "") && pidsBefore.includes(Number(cpid)))
        left.push(`shared memory ${shmid} of process ${cpid}`);
    }
    const ps = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
    for (const line of ps.split("\n"))
      if (line.includes(this.stateDir)) left.push(`process ${line.trim()}`);
    if (fs.existsSync(this.stateDir)) left.push(`directory ${this.stateDir}`);
    return left;
  }
}
