// The bench's own local stack of the real program: its own file backend (under
// bench/results/tmp, ignored by git), subnet and bridge, driven through the Automation API.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  EngineEvent,
  LocalWorkspace,
  OutputMap,
  PulumiCommand,
  Stack,
  UpResult,
} from "@pulumi/pulumi/automation";
import { OperatorAccess } from "../components/operator/access";
import { SshSession } from "../components/operator/ssh";
import { shellQuote } from "../components/shell";
import { pulumiEngine, ROOT } from "../scripts/lib/pulumiEngine";

export { ROOT };

export type HostView = OperatorAccess["hosts"][number];

/** A stack of the real program, with the hosts reachable over SSH as an operator would. */
export class BenchStack {
  outputs: OutputMap = {};
  private ssh?: SshSession;

  private constructor(
    readonly name: string,
    readonly stack: Stack,
    /** Environment for child processes (npm run drill) that must find this stack. */
    readonly env: Record<string, string>,
    private readonly backend: string,
  ) {}

  static async open(name: string, config: Record<string, string>): Promise<BenchStack> {
    const backend = path.join(ROOT, "bench", "results", "tmp", "state");
    fs.mkdirSync(backend, { recursive: true });
    const engine = pulumiEngine();
    const env = {
      ...engine.env,
      PULUMI_BACKEND_URL: `file://${backend}`,
      PULUMI_CONFIG_PASSPHRASE: "gpmirror-bench-passphrase",
    };
    // Config files are read by the engine from stacks/; PULUMI_CONFIG_PASSPHRASE_FILE from the
    // caller's environment would take precedence over our passphrase.
    delete process.env["PULUMI_CONFIG_PASSPHRASE_FILE"];
    const pulumiCommand = await PulumiCommand.get({ root: engine.root, skipVersionCheck: true });
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName: name, workDir: ROOT },
      { envVars: env, pulumiCommand },
    );
    for (const [key, value] of Object.entries(config)) await set(stack, key, value);
    return new BenchStack(name, stack, env, backend);
  }

  async set(key: string, value: string): Promise<void> {
    await set(this.stack, key, value);
  }

  /** `pulumi up`, its wall time, and every engine event it produced. */
  async up(
    opts: { replace?: string[] } = {},
  ): Promise<{ ms: number; result: UpResult; events: TimedEvent[] }> {
    const events: TimedEvent[] = [];
    const t0 = Date.now();
    const result = await this.stack.up({
      ...opts,
      onEvent: (e) => events.push({ at: Date.now() - t0, event: e }),
      onOutput: (s) => process.stderr.write(s.replace(/^/gm, "      ")),
    });
    const ms = Date.now() - t0;
    this.outputs = result.outputs;
    this.resetSsh();
    return { ms, result, events };
  }

  async refreshOutputs(): Promise<void> {
    this.outputs = await this.stack.outputs();
    this.resetSsh();
  }

  get access(): OperatorAccess {
    const a = this.outputs["operatorAccess"]?.value as OperatorAccess | undefined;
    if (!a?.database) throw new Error(`stack ${this.name} has no operatorAccess with a login`);
    return a;
  }

  /** The host that is the active primary now (by the primary output's address). */
  host(which: "primary" | "standby"): HostView {
    const node = this.outputs[which]?.value as { host: string } | undefined;
    const h = this.access.hosts.find((x) => x.address === node?.host);
    if (!h) throw new Error(`no ${which} host in the outputs of ${this.name}`);
    return h;
  }

  /** bash on a host as its OS user; stdout. */
  run(h: HostView, script: string, timeoutSeconds = 600): string {
    this.ssh ??= new SshSession(this.access.privateKey, this.access.hosts);
    return this.ssh.run(h, `set -euo pipefail\n${script}`, timeoutSeconds);
  }

  /** The same as run, without blocking the event loop (samplers keep running meanwhile). */
  runAsync(h: HostView, script: string): Promise<string> {
    this.ssh ??= new SshSession(this.access.privateKey, this.access.hosts);
    const ssh = this.ssh;
    return new Promise((resolve, reject) => {
      const child = spawn("ssh", [
        "-i",
        ssh.keyPath,
        "-o",
        `UserKnownHostsFile=${ssh.knownHostsPath}`,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "BatchMode=yes",
        "-p",
        String(h.sshPort),
        `${h.user}@${h.address}`,
        "bash -s",
      ]);
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0
          ? resolve(out)
          : reject(
              new Error(`${h.name}: exit ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`),
            ),
      );
      child.stdin.end(`set -euo pipefail\n${script}`);
    });
  }

  /** psql through the host's unix socket, as the OS user (a superuser there). */
  sql(h: HostView, statement: string, db = "postgres", timeoutSeconds = 600): string {
    return this.run(
      h,
      `${pgBin()}/psql -X -q -At -v ON_ERROR_STOP=1 -h ${shellQuote(socketDir(h))} -p ${h.dbPort} -d ${db} <<'SQL'\n${statement}\nSQL\n`,
      timeoutSeconds,
    ).trim();
  }

  /** The URN of one of the mirror's remote steps (e.g. "standby"). */
  async stepUrn(step: string): Promise<string> {
    const state = await this.stack.exportStack();
    const resources = (state.deployment as { resources?: { urn: string; type: string }[] })
      .resources;
    const r = resources?.find(
      (x) => x.type === "command:remote:Command" && x.urn.endsWith(`::mirror-${step}`),
    );
    if (!r) throw new Error(`no step mirror-${step} in the state of ${this.name}`);
    return r.urn;
  }

  async destroy(): Promise<void> {
    this.resetSsh();
    await this.stack.destroy({ onOutput: (s) => process.stderr.write(s.replace(/^/gm, "      ")) });
    await this.stack.workspace.removeStack(this.name, { force: true }).catch(() => undefined);
    fs.rmSync(path.join(ROOT, "stacks", `Pulumi.${this.name}.yaml`), { force: true });
    fs.rmSync(this.backend, { recursive: true, force: true });
  }

  close(): void {
    this.resetSsh();
  }

  private resetSsh(): void {
    this.ssh?.close();
    this.ssh = undefined;
  }
}

export interface TimedEvent {
  /** ms after the `pulumi up` began, when the bench received the event */
  at: number;
  event: EngineEvent;
}

async function set(stack: Stack, key: string, value: string): Promise<void> {
  await stack.setConfig(`gpmirror:${key}`, { value }, true);
}

/** The scripts' socket directory: <parent of the data directory>/run. */
export function socketDir(h: HostView): string {
  return h.dataDir.replace(/\/[^/]+$/, "/run");
}

/** This machine's PostgreSQL bin directory (the local hosts share its file system). */
export function pgBin(): string {
  const dirs = fs
    .readdirSync("/usr/lib/postgresql")
    .filter((d) => fs.existsSync(`/usr/lib/postgresql/${d}/bin/pgbench`))
    .sort((a, b) => Number(b) - Number(a));
  if (dirs.length === 0) throw new Error("pgbench not found under /usr/lib/postgresql/*/bin");
  return `/usr/lib/postgresql/${dirs[0]}/bin`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The commit the bench runs, marked when the tree has uncommitted changes. */
export function commit(): string {
  const git = (...a: string[]) => execFileSync("git", a, { cwd: ROOT, encoding: "utf8" }).trim();
  try {
    const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " (with uncommitted changes)" : ""}`;
  } catch {
    return "unknown";
  }
}
