// npm run bench -- [--quick] [--only init,activation,noop,lag,drill] [--sizes 10,500,2048]
//   [--init-runs N] [--runs N] [--noop-runs N] [--lag-seconds N] [--lag-rounds N] [--scale N] [--keep]
// Builds a local stack of its own (bench-gpm, subnet 10.201.3), measures, writes
// bench/results/<date>.json, .md and .svg, and destroys the stack. Never part of `npm test`.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { activation } from "./activation";
import { drill } from "./drill";
import { lag } from "./lag";
import { noopUp } from "./noopUp";
import { BenchResults, chartSvg, markdown, panels } from "./report";
import { BenchStack, commit, pgBin, ROOT } from "./stack";
import { standbyInit } from "./standbyInit";

const ALL = ["noop", "lag", "activation", "drill", "init"] as const;
type Part = (typeof ALL)[number];

interface Options {
  quick: boolean;
  only: Part[];
  sizesMB: number[];
  initRuns: number;
  runs: number;
  noopRuns: number;
  lagSeconds: number;
  lagRounds: number;
  scale: number;
  clients: number;
  keep: boolean;
  stack: string;
  subnet: string;
  bridge: string;
}

export function parseArgs(argv: string[]): Options {
  const quick = argv.includes("--quick");
  const o: Options = {
    quick,
    only: [...ALL],
    sizesMB: quick ? [10, 100, 300] : [10, 500, 2048],
    initRuns: quick ? 2 : 5,
    runs: quick ? 3 : 10,
    noopRuns: 3,
    lagSeconds: quick ? 10 : 20,
    lagRounds: quick ? 1 : 3,
    scale: quick ? 5 : 10,
    clients: 4,
    keep: false,
    stack: "bench-gpm",
    subnet: "10.201.3",
    bridge: "gpm-bench",
  };
  const num = (v: string | undefined, flag: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} takes a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") continue;
    else if (a === "--keep") o.keep = true;
    else if (a === "--only") {
      o.only = (argv[++i] ?? "").split(",") as Part[];
      const bad = o.only.filter((x) => !ALL.includes(x));
      if (bad.length) throw new Error(`--only takes ${ALL.join(",")}; got ${bad.join(",")}`);
    } else if (a === "--sizes") o.sizesMB = (argv[++i] ?? "").split(",").map((x) => num(x, a));
    else if (a === "--init-runs") o.initRuns = num(argv[++i], a);
    else if (a === "--runs") o.runs = num(argv[++i], a);
    else if (a === "--noop-runs") o.noopRuns = num(argv[++i], a);
    else if (a === "--lag-seconds") o.lagSeconds = num(argv[++i], a);
    else if (a === "--lag-rounds") o.lagRounds = num(argv[++i], a);
    else if (a === "--scale") o.scale = num(argv[++i], a);
    else if (a === "--clients") o.clients = num(argv[++i], a);
    else if (a === "--stack") o.stack = argv[++i];
    else if (a === "--subnet") o.subnet = argv[++i];
    else if (a === "--bridge") o.bridge = argv[++i];
    else throw new Error(`unknown argument ${a}; see the top of bench/run.ts`);
  }
  return o;
}

function machine(): BenchResults["machine"] {
  const cpus = os.cpus();
  return {
    nproc: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: os.release(),
    cpu: cpus[0]?.model ?? "?",
    postgres: execFileSync(`${pgBin()}/postgres`, ["--version"], { encoding: "utf8" }).trim(),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    hosts:
      process.getuid?.() === 0
        ? "the local stack's two hosts are network namespaces on one bridge of this machine, sharing its disk"
        : "the local stack's two hosts are loopback sshd/PostgreSQL pairs on this machine",
  };
}

function log(m: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const results: BenchResults = {
    startedAt,
    durationMs: 0,
    command: ["npm run bench --", ...process.argv.slice(2)].join(" ").replace(/ --$/, ""),
    commit: commit(),
    machine: machine(),
    options: { ...o },
  };
  const outDir = path.join(ROOT, "bench", "results");
  const tmp = path.join(outDir, "tmp");
  fs.mkdirSync(tmp, { recursive: true });
  const s = await BenchStack.open(o.stack, {
    "local.subnet": o.subnet,
    "local.bridge": o.bridge,
    "local.sshPortBase": "22310",
  });
  try {
    log(`pulumi up of ${o.stack}`);
    await s.up();
    const want = (p: Part) => o.only.includes(p);
    if (want("noop")) results.noopUp = await noopUp(s, o.noopRuns, log);
    if (want("lag"))
      results.lag = await lag(
        s,
        { scale: o.scale, clients: o.clients, seconds: o.lagSeconds, rounds: o.lagRounds },
        log,
      );
    if (want("activation")) results.activation = await activation(s, o.runs, log);
    if (want("drill")) {
      log("drill");
      results.drill = drill(s, path.join(tmp, "drill"));
      await s.refreshOutputs();
    }
    if (want("init")) results.standbyInit = await standbyInit(s, o.sizesMB, o.initRuns, log);
  } finally {
    results.durationMs = Date.now() - t0;
    results.machine.loadAverageAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
    // A run of some parts only is named after them, so it never overwrites a full run.
    const parts = o.only.length < ALL.length ? `-${o.only.join("-")}` : "";
    const base = path.join(outDir, `${startedAt.slice(0, 10)}${o.quick ? "-quick" : ""}${parts}`);
    fs.writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
    fs.writeFileSync(`${base}.svg`, chartSvg(panels(results)));
    fs.writeFileSync(`${base}.md`, `${markdown(results, path.basename(`${base}.svg`))}\n`);
    log(`wrote ${base}.json, .md and .svg`);
    if (o.keep) s.close();
    else {
      log(`destroying ${o.stack}`);
      await s.destroy();
    }
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(`bench: ${(e as Error).stack ?? String(e)}`);
      process.exit(1);
    },
  );
}
