// 3. A no-op `pulumi up`: wall time, and how many commands (remote steps and local commands)
// the engine ran, read from its events: every step the engine takes on a command resource
// other than "same" runs it.
import { EngineEvent } from "@pulumi/pulumi/automation";
import { BenchStack } from "./stack";

export interface NoopRun {
  ms: number;
  /** resources by the engine's op (same, update, create, replace, ...) */
  ops: Record<string, number>;
  /** command resources whose op was not "same": each ran a command */
  commandsRun: number;
}

export async function noopUp(s: BenchStack, runs: number, log: (m: string) => void) {
  const out: NoopRun[] = [];
  for (let i = 0; i < runs; i++) {
    const up = await s.up();
    out.push({ ms: up.ms, ...countOps(up.events.map((e) => e.event)) });
    log(`no-op up ${i + 1}/${runs}: ${out[i].ms} ms, ${out[i].commandsRun} commands run`);
  }
  return out;
}

export function countOps(events: EngineEvent[]): Omit<NoopRun, "ms"> {
  const ops: Record<string, number> = {};
  let commandsRun = 0;
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (!m) continue;
    ops[m.op] = (ops[m.op] ?? 0) + 1;
    if (m.type.startsWith("command:") && m.op !== "same" && m.op !== "read") commandsRun++;
  }
  return { ops, commandsRun };
}
