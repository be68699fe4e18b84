import * as fs from "fs";
import { testStack } from "../support/engine";
import { BAD_VALUES, BASE, batches } from "./badInputTable";

jest.setTimeout(10 * 60 * 1000);

// Every setting with wrong values (the generated table in badInputTable.ts), checked at preview
// on the real engine: each value gets an error that names its setting, and nothing is created.
// All problems are reported at once, so one preview checks a whole batch of values.
describe("a generated table of bad settings on the real engine", () => {
  const plan = batches(BAD_VALUES);

  it.each(plan.map((b, i) => [i + 1, b[0].platform, b.length, b] as const))(
    "batch %i (%s, %i bad values): every value named at preview, nothing created",
    async (i, platform, _count, batch) => {
      const name = `itest-faults-bad-${i}`;
      const { stack, dispose } = await testStack(name, BASE[platform]);
      try {
        for (const v of batch) {
          await stack.setConfig(
            `gpmirror:${v.key}`,
            { value: v.value, secret: v.key === "replicationPassword" },
            true,
          );
        }
        const message = await stack.preview().then(
          () => "",
          (e: unknown) => String(e),
        );
        const lines = message.split("\n");
        const missed = batch.filter(
          (v) => !lines.some((l) => l.includes(`gpmirror:${v.names}`) && v.expect.test(l)),
        );
        expect(missed.map((v) => `${v.key}=${v.value} (${v.kind}): ${v.expect}`)).toEqual([]);
        expect(message).toMatch(/setting\(s\) need fixing before anything is created/);
        const state = await stack.exportStack();
        const resources = (state.deployment.resources ?? []) as { type: string }[];
        expect(resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
        expect(fs.existsSync(`/var/lib/gpmirror/${name}`)).toBe(false);
      } finally {
        await dispose();
      }
    },
  );

  it("covers every kind of bad input the issue names", () => {
    const kinds = new Set(BAD_VALUES.map((v) => v.kind));
    for (const k of ["type", "range", "relative path", "shell", "cidr", "same zone"]) {
      expect(kinds).toContain(k);
    }
    console.log(
      `bad-input table: ${BAD_VALUES.length} values over ${new Set(BAD_VALUES.map((v) => v.names)).size} settings in ${plan.length} previews`,
    );
  });
});
