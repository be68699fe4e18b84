// npm run bench:drills -- [--failures kill,kill,partition,isolate] [--async]
// The drill figures the README quotes, with their evidence: one local PostgreSQL stack of its
// own (bench-drills, subnet 10.201.8, synchronous replication unless --async), one
// `npm run drill` per failure listed, each drill's report kept under
// bench/results/<date>-postgres-drill-<n>-<failure>.{json,md,svg}, and a summary
// (<date>-postgres-drills.md) that names the command. As root (netns hosts: partition and
// isolate cut links between them). The stack is destroyed at the end.
import * as fs from "fs";
import * as path from "path";
import { drill } from "./drill";
import { BenchStack, commit, ROOT } from "./stack";

const FAILURES = ["kill", "partition", "isolate"];

function parseArgs(argv: string[]): { failures: string[]; synchronous: boolean } {
  const o = { failures: ["kill", "kill", "partition", "isolate"], synchronous: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--failures") o.failures = (argv[++i] ?? "").split(",");
    else if (argv[i] === "--async") o.synchronous = false;
    else throw new Error(`unknown argument ${argv[i]}; see the top of bench/drills.ts`);
  }
  const bad = o.failures.filter((f) => !FAILURES.includes(f));
  if (bad.length || !o.failures.length)
    throw new Error(`--failures takes a list of ${FAILURES.join(", ")}; got ${bad.join(",")}`);
  return o;
}

function log(m: string): void {
  process.stderr.write(`[bench:drills ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
}

/** Moves a drill's report files to bench/results under NAME, the .md's image link with them. */
function keep(report: string, name: string, outDir: string): string {
  const from = report.replace(/\.json$/, "");
  for (const ext of ["json", "md", "svg"]) {
    if (fs.existsSync(`${from}.${ext}`))
      fs.renameSync(`${from}.${ext}`, path.join(outDir, `${name}.${ext}`));
  }
  const md = path.join(outDir, `${name}.md`);
  if (fs.existsSync(md)) {
    const text = fs.readFileSync(md, "utf8").replace(/\]\([^)]*\.svg\)/, `](${name}.svg)`);
    fs.writeFileSync(md, text);
  }
  return name;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const command = ["npm run bench:drills --", ...process.argv.slice(2)]
    .join(" ")
    .replace(/ --$/, "");
  const date = new Date().toISOString().slice(0, 10);
  const outDir = path.join(ROOT, "bench", "results");
  const tmp = path.join(outDir, "tmp", "drills");
  fs.mkdirSync(tmp, { recursive: true });
  const s = await BenchStack.open("bench-drills", {
    "local.subnet": "10.201.8",
    "local.bridge": "gpm-bdrill",
    "local.sshPortBase": "22330",
    "replication.synchronous": String(o.synchronous),
  });
  const rows: string[] = [];
  try {
    log("pulumi up of bench-drills");
    await s.up();
    for (const [i, failure] of o.failures.entries()) {
      log(`drill ${i + 1} of ${o.failures.length}: --failure ${failure}`);
      const r = drill(s, tmp, ["--failure", failure]);
      const name = keep(r.report, `${date}-postgres-drill-${i + 1}-${failure}`, outDir);
      const lost = `${r.missingCommits} of ${r.ackedCommits}`;
      const phases = Object.entries(r.phases)
        .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
        .join(", ");
      rows.push(
        `| ${i + 1} | ${failure} | ${r.exitCode} | ${r.rtoSeconds?.toFixed(2) ?? "none"} s | ${lost} | ${phases} | [${name}.md](${name}.md) |`,
      );
      log(`drill ${i + 1}: exit ${r.exitCode}, RTO ${r.rtoSeconds ?? "none"} s, lost ${lost}`);
    }
  } finally {
    log("destroying bench-drills");
    await s.destroy();
  }
  const summary = [
    `# PostgreSQL drills on the local stack (${date})`,
    "",
    `Command: \`${command}\` (as root, from the repository; commit ${commit()}).`,
    `Stack: bench-drills, two network-namespace hosts on one machine, ${o.synchronous ? "synchronous" : "asynchronous"} replication.`,
    "",
    "| # | failure | drill exit | RTO | acknowledged commits lost | phases | report |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(outDir, `${date}-postgres-drills.md`), summary);
  process.stdout.write(summary);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:drills failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
