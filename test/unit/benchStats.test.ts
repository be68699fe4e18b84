import { EngineEvent } from "@pulumi/pulumi/automation";
import { aggregate } from "../../bench/lag";
import { countOps } from "../../bench/noopUp";
import { parseArgs } from "../../bench/run";
import { stepMs } from "../../bench/standbyInit";
import { linearFit, max, median, p99, quantile, ratio, summarize } from "../../bench/stats";

describe("bench statistics", () => {
  it("interpolates quantiles between ranks, whatever the order", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([10, 20], 0.25)).toBe(12.5);
    expect(p99(Array.from({ length: 101 }, (_, i) => i))).toBe(99);
    expect(quantile([5], 0.99)).toBe(5);
    expect(median([])).toBeNaN();
    expect(max([])).toBeNaN();
  });

  it("summarizes samples", () => {
    const sum = summarize([1, 2, 3, 4]);
    expect(sum).toMatchObject({ n: 4, median: 2.5, min: 1, max: 4 });
    expect(sum.p99).toBeCloseTo(3.97);
  });

  it("fits a line: throughput and fixed cost", () => {
    const f = linearFit([10, 500, 2000], [1 + 10 / 200, 1 + 500 / 200, 1 + 2000 / 200]);
    expect(1 / f.slope).toBeCloseTo(200);
    expect(f.intercept).toBeCloseTo(1);
    expect(linearFit([5], [3]).slope).toBeNaN();
  });

  it("rounds ratios to three decimals", () => {
    expect(ratio(1.1, 1)).toBe(1.1);
    expect(ratio(2, 3)).toBe(0.667);
    expect(ratio(1, 0)).toBeNaN();
  });
});

const pre = (urn: string, type: string, op: string) =>
  ({
    sequence: 0,
    timestamp: 0,
    resourcePreEvent: { metadata: { urn, type, op } },
  }) as unknown as EngineEvent;
const outs = (urn: string) =>
  ({
    sequence: 0,
    timestamp: 0,
    resOutputsEvent: { metadata: { urn, type: "x", op: "same" } },
  }) as unknown as EngineEvent;

describe("bench engine events", () => {
  it("counts the commands a pulumi up ran from the engine's ops", () => {
    const r = countOps([
      pre("a", "pulumi:pulumi:Stack", "same"),
      pre("b", "command:remote:Command", "same"),
      pre("c", "command:local:Command", "same"),
    ]);
    expect(r).toEqual({ ops: { same: 3 }, commandsRun: 0 });
    expect(
      countOps([
        pre("b", "command:remote:Command", "update"),
        pre("d", "gpmirror:index:X", "create"),
      ]).commandsRun,
    ).toBe(1);
  });

  it("times a step from its first event to its last outputs event", () => {
    const urn = "urn:x::mirror-standby";
    const events = [
      { at: 100, event: pre("other", "t", "same") },
      { at: 250, event: pre(urn, "command:remote:Command", "create-replacement") },
      { at: 900, event: outs(urn) },
      { at: 1000, event: outs(urn) },
    ];
    expect(stepMs(events, urn)).toBe(750);
    expect(() => stepMs(events, "nope")).toThrow(/no engine events/);
  });
});

describe("bench arguments", () => {
  it("defaults to the full sizes and runs, smaller with --quick", () => {
    expect(parseArgs([])).toMatchObject({ sizesMB: [10, 500, 2048], runs: 10, quick: false });
    expect(parseArgs(["--quick"])).toMatchObject({ quick: true, runs: 3 });
    expect(parseArgs(["--sizes", "1,2", "--only", "init,lag"])).toMatchObject({
      sizesMB: [1, 2],
      only: ["init", "lag"],
    });
    expect(() => parseArgs(["--only", "everything"])).toThrow(/--only takes/);
    expect(() => parseArgs(["--runs", "0"])).toThrow(/positive/);
    expect(() => parseArgs(["--bogus"])).toThrow(/unknown argument/);
  });
});

describe("bench lag rounds", () => {
  it("takes the median throughput of the rounds and percentiles over all samples", () => {
    const r = aggregate("async", [
      { tps: 100, latencyMs: 4, bytes: [1, 2], seconds: [0.1, 0.2] },
      { tps: 300, latencyMs: 2, bytes: [3], seconds: [0.3] },
      { tps: 200, latencyMs: 3, bytes: [4], seconds: [0.4] },
    ]);
    expect(r).toMatchObject({ mode: "async", tps: 200, tpsRuns: [100, 300, 200], latencyMs: 3 });
    expect(r.samples).toBe(4);
    expect(r.lagBytes?.median).toBe(2.5);
    expect(
      aggregate("no standby", [{ tps: 5, latencyMs: 1, bytes: [], seconds: [] }]).lagBytes,
    ).toBeUndefined();
  });
});
