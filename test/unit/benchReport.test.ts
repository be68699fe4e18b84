import { BenchResults, chartSvg, markdown, panels } from "../../bench/report";

const results: BenchResults = {
  startedAt: "2026-11-26T16:00:00.000Z",
  durationMs: 60_000,
  command: "npm run bench -- --quick",
  commit: "abc1234",
  machine: {
    nproc: 2,
    memoryGiB: 24,
    kernel: "6.1",
    cpu: "cpu",
    postgres: "postgres (PostgreSQL) 15.18",
    hosts: "namespaces",
  },
  options: { quick: true },
  standbyInit: {
    sizes: [
      {
        targetMB: 10,
        actualMB: 30,
        oursMs: [3000, 3200],
        oursUpMs: [15000],
        rawMs: [1000, 1200],
        ratio: 2.818,
      },
      {
        targetMB: 500,
        actualMB: 500,
        oursMs: [5500],
        oursUpMs: [17000],
        rawMs: [5000],
        ratio: 1.1,
      },
    ],
    growth: {
      ours: { mbPerSecond: 200, fixedSeconds: 3 },
      raw: { mbPerSecond: 210, fixedSeconds: 1 },
    },
  },
  activation: {
    ours: [
      { firstWriteMs: 13000, commandMs: 21000, activationStepMs: 900 },
      { firstWriteMs: 14000, commandMs: 22000, activationStepMs: 1100 },
      { firstWriteMs: 12000, commandMs: 20000, activationStepMs: 800 },
    ],
    plain: [
      { firstWriteMs: 350, commandMs: 330 },
      { firstWriteMs: 400, commandMs: 380 },
      { firstWriteMs: 300, commandMs: 290 },
    ],
  },
  noopUp: [{ ms: 10_000, ops: { same: 23 }, commandsRun: 0 }],
  lag: [
    {
      mode: "async",
      tps: 900,
      tpsRuns: [880, 900, 950],
      latencyMs: 4,
      samples: 10,
      lagBytes: { n: 10, median: 100, p99: 2000, min: 0, max: 2100 },
      lagSeconds: { n: 10, median: 0.001, p99: 0.02, min: 0, max: 0.03 },
    },
    { mode: "no standby", tps: 1000, tpsRuns: [1000], latencyMs: 3.5, samples: 0 },
  ],
  drill: {
    wallMs: 90_000,
    exitCode: 0,
    rtoSeconds: 12.5,
    ackedCommits: 5000,
    missingCommits: 0,
    phases: { "activation+reprotection": 20_000, total: 80_000 },
  },
};

describe("bench report", () => {
  const md = markdown(results, "x.svg");

  it("states the machine, the command and the chart", () => {
    expect(md).toContain("2 cores (cpu), 24 GiB, Linux 6.1, postgres (PostgreSQL) 15.18");
    expect(md).toContain("`npm run bench -- --quick` at abc1234");
    expect(md).toContain("![chart](x.svg)");
  });

  it("gives each figure as a ratio to the plain tool, and judges the aims", () => {
    expect(md).toContain("| 30 MB | 2 | 1.10 | 3.10 | 2.82 | 15.00 |");
    expect(md).toContain("| 500 MB | 1 | 5.00 | 5.50 | 1.10 | 17.00 |");
    expect(md).toContain("ratio at most 1.10 at the largest size: met (1.10 at 500 MB)");
    expect(md).toContain("ours 200 MB/s + 3.00 s fixed; raw 210 MB/s + 1.00 s fixed");
    expect(md).toContain("| ours: `pulumi up` | 3 | 13.00 | 14.00 | 21.00 |");
    expect(md).toContain("| plain `pg_ctl promote` | 3 | 0.35 | 0.40 | 0.33 |");
    expect(md).toContain(
      "**missed** through `pulumi up` (13.00 s), met for the activation step (0.90 s)",
    );
    expect(md).toContain(
      "**missed** through `pulumi up` (12.65 s), **missed** for the step (0.55 s)",
    );
    expect(md).toContain("| 1 | 10.00 | 10.00 | 0 | same 23 |");
    expect(md).toContain("Aim 0: met.");
    expect(md).toContain(
      "| async | 900 | 0.90 | 4.00 | 10 | 100 | 2000 | 1.0 | 20.0 | 880, 900, 950 |",
    );
    expect(md).toContain("| no standby | 1000 | 1.00 | 3.50 | 0 | - | - | - | - | 1000 |");
    expect(md).toContain(
      "| 90.00 | 12.50 | 0 of 5000 | 0 | activation+reprotection 20.00, total 80.00 |",
    );
  });

  it("leaves out the parts that did not run", () => {
    const only = markdown({ ...results, standbyInit: undefined, lag: undefined }, "x.svg");
    expect(only).not.toContain("Standby initialization");
    expect(only).not.toContain("pgbench");
    expect(
      panels({ ...results, standbyInit: undefined, activation: undefined, lag: undefined }),
    ).toEqual([]);
  });

  it("draws one panel per measure with a bar per value, escaped", () => {
    const ps = panels(results);
    expect(ps.map((p) => p.title)).toEqual([
      "Standby initialization",
      "Activation to first write (median)",
      "pgbench throughput",
    ]);
    expect(ps[0].groups[0].bars).toEqual([
      { name: "raw pg_basebackup", value: 1.1 },
      { name: "ours", value: 3.1 },
    ]);
    const svg = chartSvg(ps);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain('width="900"');
    expect((svg.match(/<rect x=/g) ?? []).length).toBe(4 + 3 + 2 + 2);
    expect(chartSvg([{ title: "a<b", unit: "s", groups: [] }])).toContain("a&lt;b");
  });
});
