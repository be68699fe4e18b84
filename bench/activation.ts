// 2. Activation: from the activation command to the first write accepted on the new primary,
// measured by the drill's writer (components/operator/drill/writer.ts), which polls for a host
// that accepts writes. Ours: kill -9 of the primary's postmaster, then `pulumi up` with
// activeMaster flipped (failover: checks, fence, promote, re-protection of the old host).
// Plain: `pg_ctl promote -w` over ssh on a standby made with pg_basebackup from the same
// primary on the same standby host.
import { Endpoint, Writer } from "../components/operator/drill/writer";
import { shellQuote } from "../components/shell";
import { BenchStack, pgBin, sleep } from "./stack";

export interface ActivationRun {
  /** activation command -> first write accepted on the new primary */
  firstWriteMs: number;
  /** the whole command: `pulumi up`, or `ssh ... pg_ctl promote -w` */
  commandMs: number;
  /** ours: the activation step alone (scripts/activate.sh's tookMs in activation.last) */
  activationStepMs?: number;
}

export interface ActivationResult {
  ours: ActivationRun[];
  plain: ActivationRun[];
}

const PLAIN_PORT = 5440;

export async function activation(
  s: BenchStack,
  runs: number,
  log: (m: string) => void,
): Promise<ActivationResult> {
  const result: ActivationResult = { ours: [], plain: [] };
  for (let i = 0; i < runs; i++) {
    result.plain.push(await plainOnce(s, i));
    log(`activation run ${i + 1}/${runs}: plain ${JSON.stringify(result.plain[i])}`);
  }
  for (let i = 0; i < runs; i++) {
    result.ours.push(await oursOnce(s, i));
    log(`activation run ${i + 1}/${runs}: ours ${JSON.stringify(result.ours[i])}`);
  }
  return result;
}

function login(s: BenchStack) {
  const d = s.access.database;
  if (!d) throw new Error("no operator login");
  return { user: d.user, password: d.password, database: d.name };
}

async function firstAckAfter(w: Writer, host: string, after: number, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const a = w.acks.find((x) => x.host === host && x.at >= after);
    if (a) return a.at;
    if (Date.now() > deadline) throw new Error(`no write accepted on ${host} within ${ms} ms`);
    await sleep(20);
  }
}

async function oursOnce(s: BenchStack, i: number): Promise<ActivationRun> {
  const oldP = s.host("primary");
  const newP = s.host("standby");
  await s.set("activeMaster", newP.role);
  await s.set("activation.mode", "failover");
  const endpoints: Endpoint[] = s.access.hosts.map((h) => ({
    name: h.name,
    host: h.address,
    port: h.dbPort,
  }));
  const w = new Writer(endpoints, login(s), `bench-ours-${Date.now()}-${i}`);
  await w.prepare();
  w.start();
  await sleep(1000);
  s.run(oldP, `kill -9 "$(head -n 1 ${shellQuote(`${oldP.dataDir}/postmaster.pid`)})"`);
  const t0 = w.now();
  const up = await s.up();
  const first = await firstAckAfter(w, newP.name, t0);
  await w.stop();
  const last = (s.outputs["activation"]?.value as { last?: { tookMs?: number } } | undefined)?.last;
  if (s.host("primary").name !== newP.name) throw new Error("the activation did not happen");
  return { firstWriteMs: first - t0, commandMs: up.ms, activationStepMs: last?.tookMs };
}

async function plainOnce(s: BenchStack, i: number): Promise<ActivationRun> {
  const p = s.host("primary");
  const sb = s.host("standby");
  const hostDir = sb.dataDir.replace(/\/[^/]+$/, "");
  const dir = `${hostDir}/bench-promote`;
  const conninfo = `host=${p.address} port=${p.dbPort} user=replicator passfile=${hostDir}/pgpass connect_timeout=10`;
  const bin = pgBin();
  // Make sure the drill table exists on the primary before the copy.
  await new Writer(
    [{ name: p.name, host: p.address, port: p.dbPort }],
    login(s),
    "bench-prepare",
  ).prepare();
  s.run(
    sb,
    `rm -rf ${shellQuote(dir)} ${shellQuote(`${dir}-run`)}; mkdir -m 0700 ${shellQuote(`${dir}-run`)}
${bin}/pg_basebackup -d ${shellQuote(conninfo)} -D ${shellQuote(dir)} -R -X stream -c fast --no-password 2>/dev/null
${bin}/pg_ctl start -D ${shellQuote(dir)} -w -t 60 -l ${shellQuote(`${dir}.log`)} -o ${shellQuote(`-c port=${PLAIN_PORT} -c listen_addresses=${sb.address} -c unix_socket_directories=${dir}-run -c synchronous_standby_names=''`)} >/dev/null`,
  );
  const name = `plain-${sb.name}`;
  const w = new Writer(
    [{ name, host: sb.address, port: PLAIN_PORT }],
    login(s),
    `bench-plain-${Date.now()}-${i}`,
  );
  try {
    w.start();
    await sleep(500);
    const t0 = w.now();
    s.run(sb, `${bin}/pg_ctl promote -w -t 60 -D ${shellQuote(dir)} >/dev/null`);
    const commandMs = w.now() - t0;
    const first = await firstAckAfter(w, name, t0);
    return { firstWriteMs: first - t0, commandMs };
  } finally {
    await w.stop();
    s.run(
      sb,
      `${bin}/pg_ctl stop -D ${shellQuote(dir)} -m immediate -w >/dev/null 2>&1 || true
rm -rf ${shellQuote(dir)} ${shellQuote(`${dir}-run`)} ${shellQuote(`${dir}.log`)}`,
    );
  }
}
