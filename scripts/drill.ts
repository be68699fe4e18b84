// npm run drill -- --stack NAME [--failure kill|partition|isolate] [--failback] [--out DIR]
//   [--warmup-seconds N] [--automatic]
// A whole DR drill against a stack: preflight (protected, lag), a write workload that records
// every commit the client saw acknowledged, a failure, activation and re-protection through
// `pulumi up`, an optional failback (a switchover), then RTO and RPO measured and written as
// JSON, Markdown and an SVG timeline. Failures:
//   kill       kill -9 of the primary's postmaster; activation proves it gone, re-protects.
//   partition  the network between the two hosts cut (local stack, netns): the old primary
//              still runs, so the activation is forced (it is stopped first) with protection
//              off; the network is healed, then re-protection rewinds the old primary.
//   isolate    the old primary's host cut off from everything (local stack, netns): forced
//              activation fences it through the platform; after the heal, re-protection stops
//              the old primary, which still ran, and rewinds it.
// --automatic (a stack with activation.automatic): no `pulumi up` activates; the agents must
// take over by themselves (kill or isolate). The drill waits for the first write the other
// host accepts, reads the agents' own events (detected, fenced, acquired, promoted) for the
// phases, then lets `pulumi up`, with the config unchanged, follow the agents and re-protect.
// Exit 0: objectives met; 4: missed; 2: preflight failed; 1: the drill could not run.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { OperatorAccess, readHost } from "../components/operator/access";
import {
  DrillEvent,
  DrillReport,
  markdown,
  timelineSvg,
} from "../components/operator/drill/report";
import { withConfigRestored } from "../components/operator/drill/config";
import { Endpoint, sleep, Writer } from "../components/operator/drill/writer";
import {
  agentEvents,
  firstWriteElsewhere,
  TAKEOVER_EVENTS,
} from "../components/operator/drill/automatic";
import { SshSession } from "../components/operator/ssh";
import { evaluate, HostView, StatusReport } from "../components/operator/status";

type Failure = "kill" | "partition" | "isolate";
const FAILURES: Failure[] = ["kill", "partition", "isolate"];
const FAILURE_TEXT: Record<Failure, string> = {
  kill: "kill -9 of the postmaster",
  partition: "network between the hosts cut",
  isolate: "host cut off from the network",
};

interface Args {
  stack: string;
  failure: Failure;
  failback: boolean;
  out: string;
  warmupSeconds: number;
  automatic: boolean;
}

const EXIT = { met: 0, error: 1, preflight: 2, missed: 4 } as const;
const ROOT = path.resolve(__dirname, "..");

function parseArgs(argv: string[]): Args {
  const a: Partial<Args> = {
    failure: "kill",
    failback: false,
    out: path.join(ROOT, "drill-reports"),
    warmupSeconds: 3,
    automatic: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === "--stack") a.stack = argv[++i];
    else if (v === "--failback") a.failback = true;
    else if (v === "--automatic") a.automatic = true;
    else if (v === "--failure") {
      const f = argv[++i] as Failure;
      if (!FAILURES.includes(f))
        throw new Error(`--failure takes one of ${FAILURES.join(", ")}, got ${String(f)}`);
      a.failure = f;
    } else if (v === "--out") a.out = path.resolve(argv[++i]);
    else if (v === "--warmup-seconds") a.warmupSeconds = Number(argv[++i]);
    else
      throw new Error(
        `unknown argument ${v}; usage: npm run drill -- --stack NAME [--failure kill|partition|isolate] [--failback] [--out DIR] [--automatic]`,
      );
  }
  if (!a.stack) throw new Error("--stack NAME is required");
  if (!Number.isFinite(a.warmupSeconds) || (a.warmupSeconds ?? 0) < 0)
    throw new Error("--warmup-seconds takes a number");
  if (a.automatic && a.failure === "partition")
    throw new Error(
      "--automatic --failure partition: a master cut off from its standby only keeps its lease, so nothing fails over by design (the fault suite proves it); use --failure kill or isolate",
    );
  if (a.automatic && a.failback)
    throw new Error(
      "--automatic --failback: a planned switchover back is not part of the automatic drill yet; run the drill without --failback, then a switchover through activeMaster",
    );
  return a as Args;
}

function progress(t0: number, msg: string): void {
  process.stderr.write(`[drill ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

class Pair {
  constructor(
    readonly access: OperatorAccess,
    readonly ssh: SshSession,
  ) {}

  probe(): StatusReport {
    const views: HostView[] = this.access.hosts.map((h) => readHost(this.ssh, h));
    return evaluate(views[0], views[1]);
  }

  host(name: string) {
    const h = this.access.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name} in the stack's outputs`);
    return h;
  }

  /** The failure: the primary's postmaster killed as a crash would (kill -9). */
  killPostmaster(name: string): void {
    const h = this.host(name);
    this.ssh.run(h, `set -euo pipefail\nkill -9 "$(head -n 1 '${h.dataDir}/postmaster.pid')"\n`);
  }
}

/** Where a local stack keeps its hosts (the stack output localHosts). */
interface LocalHosts {
  stack: string;
  stateDir: string;
  mode: string;
}

/** The network faults of a local stack in netns mode, through scripts/local-hosts.sh. */
class Network {
  constructor(
    private readonly local: LocalHosts,
    private readonly access: OperatorAccess,
  ) {}

  private run(action: string, role: string, peer?: string): void {
    execFileSync("bash", [path.join(ROOT, "scripts/local-hosts.sh"), action], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        GPM_STACK: this.local.stack,
        GPM_STATE_DIR: this.local.stateDir,
        GPM_MODE: this.local.mode,
        GPM_HOST: role,
        ...(peer ? { GPM_PEER_ADDRESS: peer } : {}),
      },
    });
  }

  /** partition/join: between the two hosts only; fence/heal: one host's link. */
  between(cut: boolean): void {
    const [a, b] = this.access.hosts;
    this.run(cut ? "partition" : "join", a.role, b.address);
    this.run(cut ? "partition" : "join", b.role, a.address);
  }

  link(role: string, up: boolean): void {
    this.run(up ? "heal" : "fence", role);
  }
}

interface UpSettings {
  activeMaster: string;
  mode: "failover" | "switchover";
  force: boolean;
  protect: boolean;
}

/**
 * A switchover refuses a standby that is not streaming, and a standby just re-protected may
 * still be connecting (seen on a loaded machine): wait for it, bounded, as an operator would.
 */
async function streamingSoon(pair: Pair, t0: number): Promise<void> {
  for (let i = 0; i < 60; i++) {
    if (pair.probe().protected) return;
    if (i === 0) progress(t0, "waiting for the re-protected standby to stream before the failback");
    await sleep(2000);
  }
  progress(t0, "the standby does not stream after 120 s; the failback's switchover will say why");
}

async function up(stack: Stack, s: UpSettings) {
  await stack.setConfig("gpmirror:activeMaster", { value: s.activeMaster });
  await stack.setConfig("gpmirror:activation.mode", { value: s.mode }, true);
  await stack.setConfig("gpmirror:activation.force", { value: String(s.force) }, true);
  await stack.setConfig("gpmirror:protect", { value: String(s.protect) });
  const r = await stack.up({ onOutput: (t) => process.stderr.write(t.replace(/^/gm, "    ")) });
  return r.outputs;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const stack = await LocalWorkspace.selectStack({ stackName: args.stack, workDir: ROOT });
  const outputs = await stack.outputs();
  const access = outputs["operatorAccess"]?.value as OperatorAccess | undefined;
  if (!access?.database) {
    throw new Error(
      `stack ${args.stack} has no operator database login: set gpmirror:operator.cidrs to the network this machine reaches the hosts from, and pulumi up`,
    );
  }
  const database = access.database;
  const local = outputs["localHosts"]?.value as LocalHosts | undefined;
  if (args.failure !== "kill" && local?.mode !== "netns") {
    throw new Error(
      `--failure ${args.failure} cuts the network between network namespaces: it needs a local stack with local.mode netns (run as root); use --failure kill on other stacks`,
    );
  }
  if (args.automatic && !outputs["automaticFailover"]?.value) {
    throw new Error(
      `--automatic: stack ${args.stack} has no automatic failover; set gpmirror:activation.automatic to true and pulumi up first`,
    );
  }
  const network = local ? new Network(local, access) : undefined;
  const objectives = (outputs["drillObjectives"]?.value ?? {
    rtoSeconds: 60,
    rpoCommits: 0,
  }) as DrillReport["objectives"];
  const ssh = new SshSession(access.privateKey, access.hosts);
  const pair = new Pair(access, ssh);
  const run = args.automatic ? automaticDrill : drill;
  try {
    return await withConfigRestored(
      stack,
      () => run({ args, stack, pair, database, network, objectives, t0 }),
      (keys) =>
        progress(
          t0,
          keys.length > 0
            ? `stack config restored as the drill found it: ${keys.join(", ")} (activeMaster names the active host)`
            : "stack config as the drill found it (activeMaster names the active host)",
        ),
    );
  } finally {
    ssh.close();
  }
}

/** What a drill is given: its arguments, the stack and its hosts, the objectives. */
interface DrillContext {
  args: Args;
  stack: Stack;
  pair: Pair;
  database: NonNullable<OperatorAccess["database"]>;
  network: Network | undefined;
  objectives: DrillReport["objectives"];
  t0: number;
}

/** What every drill keeps from its start to its report. */
interface Run {
  events: DrillEvent[];
  phases: Record<string, number>;
  before: StatusReport;
  oldPrimary: string;
  oldRole: string;
  newRole: string;
  endpoints: Endpoint[];
  writer: Writer;
  run: string;
  /** Writer time of the failure. */
  failedAt: number;
}

/** Preflight, the workload, the failure: what both kinds of drill begin with. */
async function begin(c: DrillContext): Promise<Run | undefined> {
  const { args, pair, database, network, t0 } = c;
  const events: DrillEvent[] = [];
  progress(t0, "preflight: reading both hosts");
  const before = pair.probe();
  if (!before.protected || !before.primary || !before.standby) {
    console.error(`preflight failed: the pair is not protected (${before.problems.join("; ")})`);
    return undefined;
  }
  const oldPrimary = before.primary;
  const oldRole = pair.host(oldPrimary).role;
  const newRole = oldRole === "primary" ? "standby" : "primary";
  progress(
    t0,
    `preflight ok: ${oldPrimary} primary, ${before.standby} ${before.state} (${before.syncState}), lag ${before.lagBytes} bytes`,
  );
  const endpoints: Endpoint[] = pair.access.hosts.map((h) => ({
    name: h.name,
    host: h.address,
    port: h.dbPort,
  }));
  const run = new Date().toISOString();
  const writer = new Writer(endpoints, { ...database, database: database.name }, run);
  await writer.prepare();
  writer.start();
  events.push({ at: writer.now(), what: "workload started" });
  progress(t0, `workload running on ${oldPrimary}`);
  await sleep(args.warmupSeconds * 1000);

  if (args.failure === "kill") pair.killPostmaster(oldPrimary);
  else if (args.failure === "partition") network?.between(true);
  else network?.link(oldRole, false);
  // Taken once the failure is in place: the command that injects it may wait for the machine.
  const failedAt = writer.now();
  events.push({ at: failedAt, what: `${FAILURE_TEXT[args.failure]}: ${oldPrimary}` });
  progress(t0, `failure injected: ${FAILURE_TEXT[args.failure]} (${oldPrimary} was the primary)`);
  return {
    events,
    phases: {},
    before,
    oldPrimary,
    oldRole,
    newRole,
    endpoints,
    writer,
    run,
    failedAt,
  };
}

/** Stops the workload a second after the new primary's first write; RTO and the missing ids. */
async function measure(r: Run, pair: Pair, t0: number) {
  await sleep(1000);
  await r.writer.stop();
  const firstOnNew = r.writer.acks.find((a) => a.at > r.failedAt && a.host !== r.oldPrimary);
  if (firstOnNew)
    r.events.push({ at: firstOnNew.at, what: `first write accepted by ${firstOnNew.host}` });
  const rtoSeconds = firstOnNew ? (firstOnNew.at - r.failedAt) / 1000 : null;
  const newPrimary = pair.probe().primary;
  const present = newPrimary
    ? await r.writer.idsOn(r.endpoints.find((e) => e.name === newPrimary) as Endpoint)
    : new Set<number>();
  const missingIds = r.writer.acks.map((a) => a.id).filter((id) => !present.has(id));
  progress(
    t0,
    `RTO ${rtoSeconds ?? "-"} s; ${missingIds.length} of ${r.writer.acks.length} acknowledged commits missing`,
  );
  return { rtoSeconds, newPrimary, missingIds };
}

/** The report (JSON, Markdown, SVG timeline) and the exit code. */
function conclude(
  args: Args,
  r: Run,
  pair: Pair,
  m: Awaited<ReturnType<typeof measure>>,
  objectives: DrillReport["objectives"],
  activation: unknown,
  standbyOrigin: unknown,
  t0: number,
): number {
  r.phases["total"] = Date.now() - t0;
  const protectedAfter = pair.probe().protected;
  const report: DrillReport = {
    stack: args.stack,
    run: r.run,
    failure: `${FAILURE_TEXT[args.failure]}${args.automatic ? " (automatic failover)" : ""}`,
    startedAt: new Date(t0).toISOString(),
    workloadStartedMs: r.writer.started,
    rtoSeconds: m.rtoSeconds,
    rpo: {
      ackedCommits: r.writer.acks.length,
      missingCommits: m.missingIds.length,
      missingIds: m.missingIds.slice(0, 100),
      lagBytesBefore: r.before.lagBytes,
    },
    objectives,
    met:
      m.rtoSeconds !== null &&
      m.rtoSeconds <= objectives.rtoSeconds &&
      m.missingIds.length <= objectives.rpoCommits &&
      protectedAfter,
    oldPrimary: r.oldPrimary,
    newPrimary: m.newPrimary,
    protectedAfter,
    events: r.events.sort((a, b) => a.at - b.at),
    phases: r.phases,
    activation,
    standbyOrigin,
  };
  fs.mkdirSync(args.out, { recursive: true });
  const base = path.join(args.out, `${args.stack}-${report.startedAt.replace(/[:.]/g, "-")}`);
  fs.writeFileSync(`${base}.json`, JSON.stringify(report, null, 2));
  fs.writeFileSync(`${base}.svg`, timelineSvg(r.writer.acks, report.events));
  fs.writeFileSync(`${base}.md`, markdown(report, path.basename(`${base}.svg`)));
  console.log(
    JSON.stringify({
      report: `${base}.json`,
      markdown: `${base}.md`,
      rtoSeconds: m.rtoSeconds,
      missingCommits: m.missingIds.length,
      met: report.met,
    }),
  );
  return report.met ? EXIT.met : EXIT.missed;
}

/** The drill proper, between the stack's settings saved and restored. */
async function drill(c: DrillContext): Promise<number> {
  const { args, stack, pair, network, objectives, t0 } = c;
  const r = await begin(c);
  if (!r) return EXIT.preflight;
  const { events, phases, writer, oldRole, newRole } = r;
  // A killed primary is proven gone, and re-protection runs in the same pulumi up. The old
  // primary of a network failure may still run: the activation is forced (it is fenced
  // first), without re-protection, which waits until the network is back.
  const forced = args.failure !== "kill";
  progress(
    t0,
    `activation: activeMaster=${newRole} (failover${forced ? ", forced, protect off" : ""}), pulumi up`,
  );
  const activationStart = writer.now();
  const after = await up(stack, {
    activeMaster: newRole,
    mode: "failover",
    force: forced,
    protect: !forced,
  });
  const activationEnd = writer.now();
  events.push({ at: activationStart, what: "pulumi up (activation) started" });
  events.push({
    at: activationEnd,
    what: forced ? "pulumi up finished (promoted)" : "pulumi up finished (promoted, re-protected)",
  });
  phases[forced ? "activation" : "activation+reprotection"] = activationEnd - activationStart;

  // Let the workload run on the new primary a little, then stop it.
  for (let i = 0; i < 50 && !writer.acks.some((a) => a.at > activationEnd); i++) await sleep(100);
  const m = await measure(r, pair, t0);

  let origin: unknown = null;
  if (forced) {
    progress(t0, "network healed; re-protection: protect on, pulumi up");
    if (args.failure === "partition") network?.between(false);
    else network?.link(oldRole, true);
    events.push({ at: writer.now(), what: "network healed" });
    const t = writer.now();
    const reprotected = await up(stack, {
      activeMaster: newRole,
      mode: "failover",
      force: false,
      protect: true,
    });
    phases["reprotection"] = writer.now() - t;
    events.push({ at: writer.now(), what: "re-protected" });
    origin = reprotected["standbyOrigin"]?.value ?? null;
  } else {
    origin = after["standbyOrigin"]?.value ?? null;
  }

  if (args.failback) {
    await streamingSoon(pair, t0);
    progress(t0, `failback: activeMaster=${oldRole} (switchover)`);
    const fb = writer.now();
    await up(stack, { activeMaster: oldRole, mode: "switchover", force: false, protect: true });
    phases["failback"] = writer.now() - fb;
    events.push({ at: writer.now(), what: "failback done" });
  }
  const activation = (after["activation"]?.value as { last?: unknown } | undefined)?.last ?? null;
  return conclude(args, r, pair, m, objectives, activation, origin, t0);
}

/**
 * The automatic drill: no pulumi up between the failure and the takeover. The agents' events
 * give the phases (their clocks are this machine's on the local stack; on other hosts they
 * are as good as the hosts' time sync).
 */
async function automaticDrill(c: DrillContext): Promise<number> {
  const { args, stack, pair, network, objectives, t0 } = c;
  const r = await begin(c);
  if (!r) return EXIT.preflight;
  const { events, phases, writer } = r;
  const failedEpoch = writer.started + r.failedAt;
  // Bounded well past any sane objective: a takeover that never comes is reported, not hung.
  const boundMs = Math.max(120, 4 * objectives.rtoSeconds) * 1000;
  progress(t0, `no pulumi up: waiting up to ${boundMs / 1000} s for the agents to take over`);
  const first = await firstWriteElsewhere(writer, r.oldPrimary, r.failedAt, boundMs);
  if (!first) progress(t0, `no write accepted by another host within ${boundMs / 1000} s`);
  const m = await measure(r, pair, t0);

  if (args.failure === "isolate") {
    network?.link(r.oldRole, true);
    events.push({ at: writer.now(), what: "network healed" });
  }
  // The agents' own account, read once the old host answers again.
  const agentLines = pair.access.hosts
    .flatMap((h) => agentEvents(pair.ssh, h, failedEpoch))
    .filter((e) => (TAKEOVER_EVENTS as readonly string[]).includes(e.event))
    .sort((a, b) => a.at - b.at);
  for (const e of agentLines) {
    const at = e.at - writer.started;
    events.push({ at, what: `agent on ${e.host}: ${e.event}` });
    phases[`${e.event} (${e.host})`] ??= at - r.failedAt;
  }
  progress(t0, "re-protection: pulumi up with the config unchanged (it follows the agents)");
  const t = writer.now();
  const after = await stack.up({
    onOutput: (text) => process.stderr.write(text.replace(/^/gm, "    ")),
  });
  phases["reprotection"] = writer.now() - t;
  events.push({ at: writer.now(), what: "re-protected (pulumi up followed the agents)" });
  const origin = after.outputs["standbyOrigin"]?.value ?? null;
  return conclude(args, r, pair, m, objectives, { agents: agentLines }, origin, t0);
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`drill: ${(e as Error).message}`);
    process.exit(EXIT.error);
  },
);
