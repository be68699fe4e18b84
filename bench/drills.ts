// npm run bench:drills -- [--failures kill,kill,partition,isolate] [--async] [--rounds N]
//   [--automatic [--set activation.KEY=VALUE ...] [--label NAME]] [--engine postgres|greenplum]
//   [--minutes N]
// The drill figures the README quotes, with their evidence: one local PostgreSQL stack of its
// own (bench-drills, subnet 10.201.8, synchronous replication unless --async), one
// `npm run drill` per failure listed (the list run N times with --rounds), each drill's
// report kept under bench/results/<date>-<kind>-drill-<n>-<failure>.{json,md,svg}, and a
// summary (<date>-<kind>-drills.md) that names the command, with each failure's RTO
// distribution. --automatic: automatic failover (stack bench-auto, subnet 10.201.9,
// activation.automatic; kill and isolate only), each drill with `--automatic`: no pulumi up
// until the agents took over; --set: an activation.* setting of the stack (a timing profile,
// e.g. --set activation.leaseTtlSeconds=3), --label: a name for its results
// (<date>-automatic-NAME-...), so they sit beside the defaults' instead of replacing them. As
// root (netns hosts: partition and isolate cut links between them). --engine greenplum (with --automatic): the local Greenplum stack instead (stack
// bench-gpauto, subnet 10.213.1: coordinator, standby, a segment host, the witness); during
// each drill a prober writes through the old coordinator's own unix socket, which no network
// cut reaches, counting what it still accepted after the cut and after the new coordinator's
// first write. --minutes N: no drill starts after N minutes (the summary says how many ran);
// the summary is written after every drill. The stack is destroyed at the end.
import * as fs from "fs";
import * as path from "path";
import { drill } from "./drill";
import { activationSettings } from "./settings";
import { summarize } from "./stats";
import { BenchStack, commit, ROOT } from "./stack";
import { Prober, startProber } from "../test/faults/agentFiles";

const FAILURES = ["kill", "partition", "isolate"];
/** A master cut off from its standby only keeps its lease: nothing to drill automatically. */
const AUTOMATIC_FAILURES = ["kill", "isolate"];

interface Options {
  failures: string[];
  synchronous: boolean;
  rounds: number;
  automatic: boolean;
  engine: "postgres" | "greenplum";
  /** No drill starts after this many minutes. */
  minutes: number;
  settings: Record<string, string>;
  label: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    failures: [],
    synchronous: true,
    rounds: 1,
    automatic: false,
    engine: "postgres",
    minutes: Infinity,
    settings: {},
    label: "",
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--failures") o.failures = (argv[++i] ?? "").split(",");
    else if (argv[i] === "--async") o.synchronous = false;
    else if (argv[i] === "--automatic") o.automatic = true;
    else if (argv[i] === "--rounds") o.rounds = Number(argv[++i]);
    else if (argv[i] === "--minutes") o.minutes = Number(argv[++i]);
    else if (argv[i] === "--set") Object.assign(o.settings, activationSettings([argv[++i] ?? ""]));
    else if (argv[i] === "--label") o.label = argv[++i] ?? "";
    else if (argv[i] === "--engine") {
      const e = argv[++i];
      if (e !== "postgres" && e !== "greenplum")
        throw new Error(`--engine takes postgres or greenplum; got ${e ?? "nothing"}`);
      o.engine = e;
    } else throw new Error(`unknown argument ${argv[i]}; see the top of bench/drills.ts`);
  }
  if (!o.failures.length)
    o.failures = o.automatic ? ["kill", "isolate"] : ["kill", "kill", "partition", "isolate"];
  const allowed = o.automatic ? AUTOMATIC_FAILURES : FAILURES;
  const bad = o.failures.filter((f) => !allowed.includes(f));
  if (bad.length)
    throw new Error(`--failures takes a list of ${allowed.join(", ")}; got ${bad.join(",")}`);
  if (o.engine === "greenplum" && !o.automatic)
    throw new Error("--engine greenplum drills automatic failover only: add --automatic");
  if (o.engine === "greenplum" && !o.synchronous)
    throw new Error(
      "--engine greenplum --async: the coordinator always waits for its streaming standby; drop --async",
    );
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 100)
    throw new Error("--rounds takes a whole number from 1 to 100");
  if (!(o.minutes > 0)) throw new Error("--minutes takes a number of minutes above 0");
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

/** The bench's stack: its name and config by engine and mode. */
function stackFor(o: Options): { name: string; config: Record<string, string> } {
  if (o.engine === "greenplum")
    return {
      name: "bench-gpauto",
      config: {
        platform: "local",
        engine: "greenplum",
        "local.subnet": "10.213.1",
        "local.bridge": "gpm-bgpauto",
        "activation.automatic": "true",
        ...o.settings,
      },
    };
  return {
    name: o.automatic ? "bench-auto" : "bench-drills",
    config: {
      "local.subnet": o.automatic ? "10.201.9" : "10.201.8",
      "local.bridge": o.automatic ? "gpm-bauto" : "gpm-bdrill",
      "local.sshPortBase": o.automatic ? "22340" : "22330",
      "replication.synchronous": String(o.synchronous),
      ...(o.automatic ? { "activation.automatic": "true", ...o.settings } : {}),
    },
  };
}

/** What a prober on the old master's own socket saw, against the drill's report. */
interface OldMasterWrites {
  beforeFailure: number;
  afterFailure: number;
  afterNewFirst: number;
}

interface ReportTimes {
  workloadStartedMs?: number;
  oldPrimary: string;
  events: { at: number; what: string }[];
}

function oldMasterWrites(prober: Prober, reportFile: string): OldMasterWrites | undefined {
  const r = JSON.parse(fs.readFileSync(reportFile, "utf8")) as ReportTimes;
  if (r.workloadStartedMs === undefined) return undefined;
  const at = (pred: (what: string) => boolean) => {
    const e = r.events.find((x) => pred(x.what));
    return e ? (r.workloadStartedMs as number) + e.at : Infinity;
  };
  // The failure's event names the old primary after a colon; an agent's names its event.
  const failed = at((w) => w.endsWith(`: ${r.oldPrimary}`) && !w.startsWith("agent on"));
  const firstNew = at((w) => w.startsWith("first write accepted by"));
  const accepted = prober.accepted();
  return {
    beforeFailure: accepted.filter((t) => t < failed).length,
    afterFailure: accepted.filter((t) => t >= failed).length,
    afterNewFirst: accepted.filter((t) => t >= firstNew).length,
  };
}

/** ms of the first phase whose name starts with PREFIX ("fenced (", "promoted ("). */
function phase(phases: Record<string, number>, prefix: string): number | undefined {
  return Object.entries(phases).find(([k]) => k.startsWith(prefix))?.[1];
}

interface PerFailure {
  rto: number[];
  fenced: number[];
  promoted: number[];
  lost: number;
  acked: number;
  met: number;
  oldWritesAfterNew: number;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const explicitFailures = process.argv.includes("--failures");
  const command = ["npm run bench:drills --", ...process.argv.slice(2)]
    .join(" ")
    .replace(/ --$/, "");
  const date = new Date().toISOString().slice(0, 10);
  const outDir = path.join(ROOT, "bench", "results");
  const tmp = path.join(outDir, "tmp", "drills");
  fs.mkdirSync(tmp, { recursive: true });
  const greenplum = o.engine === "greenplum";
  const label = o.label ? `-${o.label}` : "";
  const kind = o.automatic ? `automatic${greenplum ? "-greenplum" : ""}${label}` : "postgres";
  // A run of some failures only gets a summary of its own, beside the full run's.
  const summaryName = `${date}-${kind}-drills${explicitFailures ? `-${[...new Set(o.failures)].join("-")}` : ""}.md`;
  const spec = stackFor(o);
  const stackName = spec.name;
  const s = await BenchStack.open(stackName, spec.config);
  const rows: string[] = [];
  const byFailure = new Map<string, PerFailure>();
  const runs = Array.from({ length: o.rounds }, () => o.failures).flat();
  const ranOn = commit();
  const started = Date.now();
  let stopped = false;
  /** The summary of the drills so far (written after each one: a run cut short keeps it). */
  function summaryText(): string {
    const s2 = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} s` : "-");
    const range = (xs: number[]) => {
      const d = summarize(xs);
      return xs.length ? `${s2(d.min)} / ${s2(d.median)} / ${s2(d.max)}` : "-";
    };
    const distribution = [...byFailure.entries()].map(([failure, f]) => {
      const d = summarize(f.rto);
      return `| ${failure} | ${f.rto.length} | ${s2(d.min)} | ${s2(d.median)} | ${s2(d.max)} | ${range(f.fenced)} | ${range(f.promoted)} | ${f.lost} of ${f.acked} |${greenplum ? ` ${f.oldWritesAfterNew} |` : ""} ${f.met} |`;
    });
    const title = o.automatic
      ? `Automatic failover${greenplum ? " on Greenplum" : ""}`
      : "PostgreSQL";
    const hosts = greenplum
      ? "a coordinator host, a standby host and a segment host (two segments), network namespaces on one machine, and a witness (etcd's third member)"
      : `two network-namespace hosts on one machine${o.automatic ? " and a witness (etcd's third member)" : ""}`;
    const replication = greenplum
      ? "the coordinator waits for its streaming standby at commit"
      : `${o.synchronous ? "synchronous" : "asynchronous"} replication`;
    return [
      `# ${title} drills on the local stack (${date})`,
      "",
      `Command: \`${command}\` (as root, from the repository; commit ${ranOn}).`,
      `Stack: ${stackName}, ${hosts}, ${replication}.`,
      ...(Object.keys(o.settings).length > 0
        ? [
            `Settings: ${Object.entries(o.settings)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")} (the others at their defaults).`,
          ]
        : []),
      `${rows.length} of ${runs.length} drills ran${stopped ? ` (--minutes ${o.minutes}: no drill started after that)` : ""}.`,
      ...(greenplum
        ? [
            "",
            "Old master's writes: a prober writing every 100 ms through the old coordinator's own unix socket (which no network cut reaches; synchronous_commit local): writes it got accepted before the failure / after it / after the new coordinator's first write.",
          ]
        : []),
      "",
      `| failure | drills with a takeover | RTO min | RTO median | RTO max | old master fenced (min / median / max) | new master promoted (min / median / max) | acknowledged commits lost |${greenplum ? " old master's writes after the new one's first |" : ""} drills meeting the objectives (exit 0) |`,
      `| --- | --- | --- | --- | --- | --- | --- | --- |${greenplum ? " --- |" : ""} --- |`,
      ...distribution,
      "",
      `| # | failure | drill exit | RTO | acknowledged commits lost | phases |${greenplum ? " old master's writes (before / after the failure / after the new one's first) |" : ""} report |`,
      `| --- | --- | --- | --- | --- | --- |${greenplum ? " --- |" : ""} --- |`,
      ...rows,
      "",
    ].join("\n");
  }
  try {
    log(`pulumi up of ${stackName}`);
    await s.up();
    for (const [i, failure] of runs.entries()) {
      if (Date.now() - started > o.minutes * 60_000) {
        stopped = true;
        log(`${o.minutes} minutes passed: no more drills (${i} of ${runs.length} ran)`);
        break;
      }
      log(`drill ${i + 1} of ${runs.length}: --failure ${failure}`);
      let prober: Prober | undefined;
      if (greenplum) {
        await s.refreshOutputs();
        const old = s.host("primary");
        // Through the old coordinator's own /tmp socket (its host's, bound on this machine).
        prober = startProber(
          `${stackName}-${old.role}`,
          `/var/lib/gpmirror/${stackName}/hosts/${old.role}/tmp`,
          old.dbPort,
          old.user,
        );
      }
      let r: ReturnType<typeof drill>;
      try {
        r = drill(s, tmp, ["--failure", failure, ...(o.automatic ? ["--automatic"] : [])]);
      } finally {
        prober?.stop();
      }
      const name = keep(r.report, `${date}-${kind}-drill-${i + 1}-${failure}`, outDir);
      const old = prober && oldMasterWrites(prober, path.join(outDir, `${name}.json`));
      const f = byFailure.get(failure) ?? {
        rto: [],
        fenced: [],
        promoted: [],
        lost: 0,
        acked: 0,
        met: 0,
        oldWritesAfterNew: 0,
      };
      if (r.rtoSeconds !== null) f.rto.push(r.rtoSeconds);
      const fenced = phase(r.phases, "fenced (");
      const promoted = phase(r.phases, "promoted (");
      if (fenced !== undefined) f.fenced.push(fenced / 1000);
      if (promoted !== undefined) f.promoted.push(promoted / 1000);
      f.lost += r.missingCommits;
      f.acked += r.ackedCommits;
      f.oldWritesAfterNew += old?.afterNewFirst ?? 0;
      if (r.exitCode === 0) f.met += 1;
      byFailure.set(failure, f);
      const lost = `${r.missingCommits} of ${r.ackedCommits}`;
      const phases = Object.entries(r.phases)
        .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
        .join(", ");
      const oldCell = old
        ? ` ${old.beforeFailure} / ${old.afterFailure} / ${old.afterNewFirst} |`
        : greenplum
          ? " - |"
          : "";
      rows.push(
        `| ${i + 1} | ${failure} | ${r.exitCode} | ${r.rtoSeconds?.toFixed(2) ?? "none"} s | ${lost} | ${phases} |${oldCell} [${name}.md](${name}.md) |`,
      );
      log(
        `drill ${i + 1}: exit ${r.exitCode}, RTO ${r.rtoSeconds ?? "none"} s, lost ${lost}${old ? `, old master's writes before/after the failure/after the new one's first: ${old.beforeFailure}/${old.afterFailure}/${old.afterNewFirst}` : ""}`,
      );
      fs.writeFileSync(path.join(outDir, summaryName), summaryText());
    }
  } finally {
    log(`destroying ${stackName}`);
    await s.destroy();
  }
  const summary = summaryText();
  fs.writeFileSync(path.join(outDir, summaryName), summary);
  process.stdout.write(summary);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:drills failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
