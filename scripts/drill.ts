// npm run drill -- --stack NAME [--failback] [--out DIR] [--warmup-seconds N]
// A whole DR drill against a stack: preflight (protected, lag), a write workload that records
// every commit the client saw acknowledged, a failure (kill -9 of the primary's postmaster),
// activation and re-protection through `pulumi up`, an optional failback (a switchover), then
// RTO and RPO measured and written as JSON, Markdown and an SVG timeline.
// Exit 0: objectives met; 4: missed; 2: preflight failed; 1: the drill could not run.
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { OperatorAccess } from "../components/operator/access";
import {
  DrillEvent,
  DrillReport,
  markdown,
  timelineSvg,
} from "../components/operator/drill/report";
import { Endpoint, sleep, Writer } from "../components/operator/drill/writer";
import { Probe } from "../components/operator/probe";
import { SshSession } from "../components/operator/ssh";
import { evaluate, HostView, StatusReport } from "../components/operator/status";
import { parseStepResult } from "../components/remoteStep";

interface Args {
  stack: string;
  failback: boolean;
  out: string;
  warmupSeconds: number;
}

const EXIT = { met: 0, error: 1, preflight: 2, missed: 4 } as const;

function parseArgs(argv: string[]): Args {
  const root = path.resolve(__dirname, "..");
  const a: Partial<Args> = {
    failback: false,
    out: path.join(root, "drill-reports"),
    warmupSeconds: 3,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === "--stack") a.stack = argv[++i];
    else if (v === "--failback") a.failback = true;
    else if (v === "--out") a.out = path.resolve(argv[++i]);
    else if (v === "--warmup-seconds") a.warmupSeconds = Number(argv[++i]);
    else
      throw new Error(
        `unknown argument ${v}; usage: npm run drill -- --stack NAME [--failback] [--out DIR]`,
      );
  }
  if (!a.stack) throw new Error("--stack NAME is required");
  if (!Number.isFinite(a.warmupSeconds) || (a.warmupSeconds ?? 0) < 0)
    throw new Error("--warmup-seconds takes a number");
  return a as Args;
}

function progress(t0: number, msg: string): void {
  process.stderr.write(`[drill ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${msg}\n`);
}

class Pair {
  constructor(
    private readonly access: OperatorAccess,
    private readonly ssh: SshSession,
  ) {}

  probe(): StatusReport {
    const views: HostView[] = this.access.hosts.map((h) => {
      try {
        return {
          name: h.name,
          address: h.address,
          probe: parseStepResult("probe", this.ssh.run(h, h.probe)) as unknown as Probe,
        };
      } catch (e) {
        return { name: h.name, address: h.address, probe: { error: (e as Error).message } };
      }
    });
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

async function activate(stack: Stack, role: string, mode: "failover" | "switchover") {
  await stack.setConfig("gpmirror:activeMaster", { value: role });
  await stack.setConfig("gpmirror:activation.mode", { value: mode }, true);
  await stack.setConfig("gpmirror:activation.force", { value: "false" }, true);
  const up = await stack.up({ onOutput: (s) => process.stderr.write(s.replace(/^/gm, "    ")) });
  return up.outputs;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const events: DrillEvent[] = [];
  const phases: Record<string, number> = {};
  const root = path.resolve(__dirname, "..");
  const stack = await LocalWorkspace.selectStack({ stackName: args.stack, workDir: root });
  const outputs = await stack.outputs();
  const access = outputs["operatorAccess"]?.value as OperatorAccess | undefined;
  if (!access?.database) {
    throw new Error(
      `stack ${args.stack} has no operator database login: set gpmirror:operator.cidrs to the network this machine reaches the hosts from, and pulumi up`,
    );
  }
  const objectives = (outputs["drillObjectives"]?.value ?? {
    rtoSeconds: 60,
    rpoCommits: 0,
  }) as DrillReport["objectives"];
  const ssh = new SshSession(access.privateKey, access.hosts);
  const pair = new Pair(access, ssh);
  try {
    progress(t0, "preflight: reading both hosts");
    const before = pair.probe();
    if (!before.protected || !before.primary || !before.standby) {
      console.error(`preflight failed: the pair is not protected (${before.problems.join("; ")})`);
      return EXIT.preflight;
    }
    const oldPrimary = before.primary;
    const oldRole = pair.host(oldPrimary).role;
    const newRole = oldRole === "primary" ? "standby" : "primary";
    progress(
      t0,
      `preflight ok: ${oldPrimary} primary, ${before.standby} ${before.state} (${before.syncState}), lag ${before.lagBytes} bytes`,
    );

    const endpoints: Endpoint[] = access.hosts.map((h) => ({
      name: h.name,
      host: h.address,
      port: h.dbPort,
    }));
    const run = new Date().toISOString();
    const writer = new Writer(
      endpoints,
      { ...access.database, database: access.database.name },
      run,
    );
    await writer.prepare();
    writer.start();
    events.push({ at: writer.now(), what: "workload started" });
    progress(t0, `workload running on ${oldPrimary}`);
    await sleep(args.warmupSeconds * 1000);

    const failedAt = writer.now();
    pair.killPostmaster(oldPrimary);
    events.push({ at: failedAt, what: `kill -9 postmaster on ${oldPrimary}` });
    progress(t0, `failure injected: kill -9 of the postmaster on ${oldPrimary}`);

    progress(t0, `activation: activeMaster=${newRole} (failover), pulumi up`);
    const activationStart = writer.now();
    const after = await activate(stack, newRole, "failover");
    const activationEnd = writer.now();
    events.push({ at: activationStart, what: "pulumi up (activation) started" });
    events.push({ at: activationEnd, what: "pulumi up finished (promoted, re-protected)" });
    phases["activation+reprotection"] = activationEnd - activationStart;

    // Let the workload run on the new primary a little, then stop it.
    for (let i = 0; i < 50 && !writer.acks.some((a) => a.at > activationEnd); i++) await sleep(100);
    await sleep(1000);
    await writer.stop();
    const firstOnNew = writer.acks.find((a) => a.at > failedAt && a.host !== oldPrimary);
    if (firstOnNew)
      events.push({ at: firstOnNew.at, what: `first write accepted by ${firstOnNew.host}` });
    const rtoSeconds = firstOnNew ? (firstOnNew.at - failedAt) / 1000 : null;

    const status = pair.probe();
    const newPrimary = status.primary;
    const present = newPrimary
      ? await writer.idsOn(endpoints.find((e) => e.name === newPrimary) as Endpoint)
      : new Set<number>();
    const missingIds = writer.acks.map((a) => a.id).filter((id) => !present.has(id));
    progress(
      t0,
      `RTO ${rtoSeconds ?? "-"} s; ${missingIds.length} of ${writer.acks.length} acknowledged commits missing`,
    );

    if (args.failback) {
      progress(t0, `failback: activeMaster=${oldRole} (switchover)`);
      const fb = writer.now();
      await activate(stack, oldRole, "switchover");
      phases["failback"] = writer.now() - fb;
      events.push({ at: writer.now(), what: "failback done" });
    }
    phases["total"] = Date.now() - t0;
    const protectedAfter = pair.probe().protected;
    const report: DrillReport = {
      stack: args.stack,
      run,
      failure: "kill -9 of the postmaster",
      startedAt: new Date(t0).toISOString(),
      rtoSeconds,
      rpo: {
        ackedCommits: writer.acks.length,
        missingCommits: missingIds.length,
        missingIds: missingIds.slice(0, 100),
        lagBytesBefore: before.lagBytes,
      },
      objectives,
      met:
        rtoSeconds !== null &&
        rtoSeconds <= objectives.rtoSeconds &&
        missingIds.length <= objectives.rpoCommits &&
        protectedAfter,
      oldPrimary,
      newPrimary,
      protectedAfter,
      events: events.sort((a, b) => a.at - b.at),
      phases,
      activation: (after["activation"]?.value as { last?: unknown } | undefined)?.last ?? null,
    };
    fs.mkdirSync(args.out, { recursive: true });
    const base = path.join(args.out, `${args.stack}-${report.startedAt.replace(/[:.]/g, "-")}`);
    fs.writeFileSync(`${base}.json`, JSON.stringify(report, null, 2));
    fs.writeFileSync(`${base}.svg`, timelineSvg(writer.acks, report.events));
    fs.writeFileSync(`${base}.md`, markdown(report, path.basename(`${base}.svg`)));
    console.log(
      JSON.stringify({
        report: `${base}.json`,
        markdown: `${base}.md`,
        rtoSeconds,
        missingCommits: missingIds.length,
        met: report.met,
      }),
    );
    return report.met ? EXIT.met : EXIT.missed;
  } finally {
    ssh.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`drill: ${(e as Error).message}`);
    process.exit(EXIT.error);
  },
);
