// npm run bench:drills -- [--failures kill,kill,partition,isolate] [--async] [--rounds N]
//   [--automatic [--set activation.KEY=VALUE ...] [--label NAME]]
// The drill figures the README quotes, with their evidence: one local PostgreSQL stack of its
// own (bench-drills, subnet 10.201.8, synchronous replication unless --async), one
// `npm run drill` per failure listed (the list run N times with --rounds), each drill's
// report kept under bench/results/<date>-<kind>-drill-<n>-<failure>.{json,md,svg}, and a
// summary (<date>-<kind>-drills.md) that names the command, with each failure's RTO
// distribution. --automatic: automatic failover (stack bench-auto, subnet 10.201.9,
// activation.automatic; kill and isolate only), each drill with `--automatic`: no pulumi up
// until the agents took over; --set: an activation.* setting of the stack (a timing profile,
// e.g. --set activation.leaseTtlSeconds=3), --label: a name for its results
// (<date>-automatic-NAME-...), so they sit beside the defaults' instead of replacing them. As root (netns hosts: partition and isolate cut links between
// them). The stack is destroyed at the end.
import * as fs from "fs";
import * as path from "path";
import { drill } from "./drill";
import { activationSettings } from "./settings";
import { summarize } from "./stats";
import { BenchStack, commit, ROOT } from "./stack";

const FAILURES = ["kill", "partition", "isolate"];
/** A master cut off from its standby only keeps its lease: nothing to drill automatically. */
const AUTOMATIC_FAILURES = ["kill", "isolate"];

interface Options {
  failures: string[];
  synchronous: boolean;
  rounds: number;
  automatic: boolean;
  settings: Record<string, string>;
  label: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    failures: [],
    synchronous: true,
    rounds: 1,
    automatic: false,
    settings: {},
    label: "",
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--failures") o.failures = (argv[++i] ?? "").split(",");
    else if (argv[i] === "--async") o.synchronous = false;
    else if (argv[i] === "--automatic") o.automatic = true;
    else if (argv[i] === "--rounds") o.rounds = Number(argv[++i]);
    else if (argv[i] === "--set") Object.assign(o.settings, activationSettings([argv[++i] ?? ""]));
    else if (argv[i] === "--label") o.label = argv[++i] ?? "";
    else throw new Error(`unknown argument ${argv[i]}; see the top of bench/drills.ts`);
  }
  if (!o.failures.length)
    o.failures = o.automatic ? ["kill", "isolate"] : ["kill", "kill", "partition", "isolate"];
  const allowed = o.automatic ? AUTOMATIC_FAILURES : FAILURES;
  const bad = o.failures.filter((f) => !allowed.includes(f));
  if (bad.length)
    throw new Error(`--failures takes a list of ${allowed.join(", ")}; got ${bad.join(",")}`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 100)
    throw new Error("--rounds takes a whole number from 1 to 100");
  if (!o.automatic && (o.label !== "" || Object.keys(o.settings).length > 0))
    throw new Error("--set and --label are for --automatic drills");
  if (!/^[a-z0-9-]{0,20}$/.test(o.label))
    throw new Error(`--label takes a short name (a-z, 0-9, -), got "${o.label}"`);
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
  const kind = o.automatic ? `automatic${o.label ? `-${o.label}` : ""}` : "postgres";
  const stackName = o.automatic ? "bench-auto" : "bench-drills";
  const s = await BenchStack.open(stackName, {
    "local.subnet": o.automatic ? "10.201.9" : "10.201.8",
    "local.bridge": o.automatic ? "gpm-bauto" : "gpm-bdrill",
    "local.sshPortBase": o.automatic ? "22340" : "22330",
    "replication.synchronous": String(o.synchronous),
    ...(o.automatic ? { "activation.automatic": "true", ...o.settings } : {}),
  });
  const rows: string[] = [];
  const byFailure = new Map<string, { rto: number[]; lost: number; acked: number; met: number }>();
  const runs = Array.from({ length: o.rounds }, () => o.failures).flat();
  try {
    log(`pulumi up of ${stackName}`);
    await s.up();
    for (const [i, failure] of runs.entries()) {
      log(`drill ${i + 1} of ${runs.length}: --failure ${failure}`);
      const r = drill(s, tmp, ["--failure", failure, ...(o.automatic ? ["--automatic"] : [])]);
      const name = keep(r.report, `${date}-${kind}-drill-${i + 1}-${failure}`, outDir);
      const f = byFailure.get(failure) ?? { rto: [], lost: 0, acked: 0, met: 0 };
      if (r.rtoSeconds !== null) f.rto.push(r.rtoSeconds);
      f.lost += r.missingCommits;
      f.acked += r.ackedCommits;
      if (r.exitCode === 0) f.met += 1;
      byFailure.set(failure, f);
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
    log(`destroying ${stackName}`);
    await s.destroy();
  }
  const distribution = [...byFailure.entries()].map(([failure, f]) => {
    const d = summarize(f.rto);
    const s2 = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} s` : "-");
    return `| ${failure} | ${f.rto.length} | ${s2(d.min)} | ${s2(d.median)} | ${s2(d.max)} | ${f.lost} of ${f.acked} | ${f.met} |`;
  });
  const summary = [
    `# ${o.automatic ? "Automatic failover" : "PostgreSQL"} drills on the local stack (${date})`,
    "",
    `Command: \`${command}\` (as root, from the repository; commit ${commit()}).`,
    `Stack: ${stackName}, two network-namespace hosts on one machine${o.automatic ? " and a witness (etcd's third member)" : ""}, ${o.synchronous ? "synchronous" : "asynchronous"} replication.`,
    ...(Object.keys(o.settings).length > 0
      ? [
          `Settings: ${Object.entries(o.settings)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")} (the others at their defaults).`,
        ]
      : []),
    "",
    "| failure | drills with a takeover | RTO min | RTO median | RTO max | acknowledged commits lost | drills meeting the objectives (exit 0) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...distribution,
    "",
    "| # | failure | drill exit | RTO | acknowledged commits lost | phases | report |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(outDir, `${date}-${kind}-drills.md`), summary);
  process.stdout.write(summary);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:drills failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
