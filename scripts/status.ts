// npm run status -- --stack NAME [--json] [--max-lag-bytes N]
// Roles, replication state, lag, retained WAL, and whether the standby can still catch up,
// read from the servers themselves. Exit 0: protected; 2: unprotected; 3: lag over the
// threshold; 1: the status could not be read.
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { OperatorAccess, readHost } from "../components/operator/access";
import { SshSession } from "../components/operator/ssh";
import { evaluate, EXIT, exitCode, formatReport, HostView } from "../components/operator/status";
import {
  evaluateAutomatic,
  formatAutomatic,
  readAutomatic,
  readWitness,
} from "../components/operator/automatic";

interface Args {
  stack: string;
  json: boolean;
  maxLagBytes?: number;
}

function parseArgs(argv: string[]): Args {
  const args: Partial<Args> = { json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") args.json = true;
    else if (a === "--stack") args.stack = argv[++i];
    else if (a === "--max-lag-bytes") args.maxLagBytes = Number(argv[++i]);
    else
      throw new Error(
        `unknown argument ${a}; usage: npm run status -- --stack NAME [--json] [--max-lag-bytes N]`,
      );
  }
  if (!args.stack) throw new Error("--stack NAME is required (pulumi stack ls lists them)");
  if (args.maxLagBytes !== undefined && !Number.isInteger(args.maxLagBytes)) {
    throw new Error("--max-lag-bytes takes a whole number of bytes");
  }
  return args as Args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const root = path.resolve(__dirname, "..");
  const stack = await LocalWorkspace.selectStack({ stackName: args.stack, workDir: root });
  const outputs = await stack.outputs();
  const access = outputs["operatorAccess"]?.value as OperatorAccess | undefined;
  if (!access)
    throw new Error(`stack ${args.stack} has no operatorAccess output: run pulumi up first`);
  const ssh = new SshSession(access.privateKey, [
    ...access.hosts,
    ...(access.witness ? [access.witness] : []),
  ]);
  try {
    const views: HostView[] = access.hosts.map((h) => readHost(ssh, h));
    const thresholds = { maxLagBytes: args.maxLagBytes };
    const report = evaluate(views[0], views[1], thresholds);
    report.problems = report.problems.map((m) => m.replaceAll("<stack>", args.stack));
    // Automatic failover: the agents, the leader key and etcd, read on the master hosts and
    // (etcd only) on the witness, where pulumi up reads the leader key on AWS.
    const summary = outputs["automaticFailover"]?.value as
      { prefix?: string; endpoints?: string[] } | undefined;
    const prefix = summary?.prefix;
    const automatic = prefix
      ? evaluateAutomatic(
          access.hosts.map((h) => readAutomatic(ssh, h, prefix)),
          report.primary,
          Date.now(),
          access.witness
            ? readWitness(ssh, access.witness, prefix, summary.endpoints ?? [])
            : undefined,
        )
      : undefined;
    if (args.json) console.log(JSON.stringify({ ...report, automatic }));
    else {
      console.log(formatReport(report));
      if (automatic) console.log(`\nautomatic failover\n${formatAutomatic(automatic)}`);
    }
    return exitCode(report, thresholds);
  } finally {
    ssh.close();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`status: ${(e as Error).message}`);
    process.exit(EXIT.error);
  },
);
