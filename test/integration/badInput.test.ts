import * as fs from "fs";
import { Stack } from "@pulumi/pulumi/automation";
import { testStack } from "../support/engine";

jest.setTimeout(5 * 60 * 1000);

// Bad settings stop the real engine at preview, naming the setting and the fix, and nothing
// is created: no host, no state directory.
describe("bad input on the real engine", () => {
  it("stops at preview with every problem named, before any resource exists", async () => {
    const { stack, dispose } = await testStack("itest-bad", {
      dbPort: "70000",
      "local.stateDir": "relative/dir",
      "replication.user": "rep;rm -rf /",
    });
    try {
      const preview = stack.preview();
      await expect(preview).rejects.toThrow(
        /gpmirror:dbPort: must be a whole number from 1 to 65535/,
      );
      await expect(preview).rejects.toThrow(/gpmirror:local.stateDir: must be an absolute path/);
      await expect(preview).rejects.toThrow(/gpmirror:replication.user: .* is not a plain name/);
      const up = stack.up();
      await expect(up).rejects.toThrow(/3 setting\(s\) need fixing before anything is created/);
      await expectNothingCreated(stack, "itest-bad");
    } finally {
      await dispose();
    }
  });

  // As a newcomer types it from the Configuration table: without --path, the key is stored
  // flat. The engine's output says what to type instead, once, with no program stack trace.
  it("tells what to type for a flat nested key, with no stack trace, and creates nothing", async () => {
    const { stack, dispose } = await testStack("apitest-flat", { "local.subnet": "10.205.9" });
    try {
      await stack.setConfig("gpmirror:replication.synchronous", { value: "true" }, false);
      for (const run of [() => stack.preview(), () => stack.up()]) {
        const failure = (await run().then(
          () => undefined,
          (e: unknown) => e,
        )) as (Error & { commandResult?: { code: number; stderr: string } }) | undefined;
        expect(failure).toBeDefined();
        expect(failure?.commandResult?.code).not.toBe(0);
        const text = failure?.message ?? "";
        const fix = "pulumi config set --path 'gpmirror:replication.synchronous' true";
        expect(text).toContain(fix);
        // Once in the engine's output (the error object's `problems` were printed again).
        expect(failure?.commandResult?.stderr.split(fix).length).toBe(2);
        expect(text).not.toContain("is not a gpmirror setting");
        // No frame of the program or of the SDK: `    at f (/x/index.ts:41:16)`.
        expect(text).not.toMatch(/^\s+at .+/m);
        expect(text).not.toMatch(/\.(ts|js):\d+/);
        expect(text).not.toContain("unhandled exception");
      }
      await expectNothingCreated(stack, "apitest-flat");
    } finally {
      await dispose();
    }
  });
});

/** Only the stack's own root object in the state (no host, command or provider), no host directory. */
async function expectNothingCreated(stack: Stack, name: string): Promise<void> {
  const state = await stack.exportStack();
  const resources = (state.deployment.resources ?? []) as { type: string }[];
  expect(resources.map((r) => r.type).filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
  expect(fs.existsSync(`/var/lib/gpmirror/${name}`)).toBe(false);
}
