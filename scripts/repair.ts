// npm run repair -- --stack NAME [--yes]
// Rebuilds what a `pulumi up` with unchanged settings would not touch: it runs the standby's
// steps again (access, standby, verify) through `pulumi up --replace <their URNs>`. Their
// scripts repair a broken pair, per engine:
//   PostgreSQL: a slot that lost the standby's WAL is created again, and a standby that can
//     no longer catch up is moved aside (<dataDir>.lost-<time>, never deleted) and made again
//     from a fresh snapshot of the primary.
//   Greenplum: a stopped standby is started (gpinitstandby -n); a missing one is created
//     (gpinitstandby -s); one that can never catch up is replaced only with
//     greenplum.allowReplaceStandby true: gpinitstandby -r -a removes it and DELETES its data
//     directory (nothing is moved aside), then gpinitstandby -s makes a new one.
// A healthy pair is left as it is.
// Exit 0: repaired (or nothing to repair); 1: the run failed.
import * as path from "path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { repairTargets } from "../components/operator/repair";

function parseArgs(argv: string[]): { stack: string } {
  let stack: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack") stack = argv[++i];
    else if (argv[i] === "--yes") continue;
    else throw new Error(`unknown argument ${argv[i]}; usage: npm run repair -- --stack NAME`);
  }
  if (!stack) throw new Error("--stack NAME is required (pulumi stack ls lists them)");
  return { stack };
}

async function main(): Promise<number> {
  const { stack: name } = parseArgs(process.argv.slice(2));
  const root = path.resolve(__dirname, "..");
  const stack = await LocalWorkspace.selectStack({ stackName: name, workDir: root });
  const state = await stack.exportStack();
  const urns = repairTargets((state.deployment.resources ?? []) as { urn: string; type: string }[]);
  process.stderr.write(
    `repair: running again: ${urns.map((u) => u.split("::").pop()).join(", ")}\n`,
  );
  const result = await stack.up({
    replace: urns,
    onOutput: (s) => process.stderr.write(s),
  });
  console.log(
    JSON.stringify({
      result: result.summary.result,
      replication: result.outputs["replication"]?.value,
    }),
  );
  return result.summary.result === "succeeded" ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`repair: ${(e as Error).message}`);
    process.exit(1);
  },
);
