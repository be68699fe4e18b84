// The drill's settings put back as it found them, on a real Pulumi stack's config (the
// Pulumi CLI with a file backend; no program runs, nothing is deployed).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { withConfigRestored } from "../../components/operator/drill/config";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "gpm-drillcfg-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
async function stackWith(yaml: string): Promise<{ stack: Stack; file: string }> {
  const dir = path.join(root, `p${++n}`);
  fs.mkdirSync(path.join(dir, "state"), { recursive: true });
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    "name: gpmirror\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
  );
  const stack = await LocalWorkspace.createStack(
    { stackName: "drillcfg", workDir: dir },
    {
      envVars: {
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "drill-config-test",
      },
    },
  );
  const file = path.join(dir, "Pulumi.drillcfg.yaml");
  fs.writeFileSync(file, yaml);
  return { stack, file };
}

/** What the drill sets for a forced activation and a switchover failback. */
async function drillSettings(stack: Stack): Promise<void> {
  await stack.setConfig("gpmirror:activeMaster", { value: "standby" });
  await stack.setConfig("gpmirror:activation.mode", { value: "switchover" }, true);
  await stack.setConfig("gpmirror:activation.force", { value: "true" }, true);
  await stack.setConfig("gpmirror:protect", { value: "false" });
}

const config = async (stack: Stack) =>
  Object.fromEntries(Object.entries(await stack.getAllConfig()).map(([k, v]) => [k, v.value]));

describe("a drill leaves the stack's config as it found it", () => {
  it("removes the settings it added, also when it fails midway, and keeps the active host", async () => {
    const { stack, file } = await stackWith(
      "config:\n  gpmirror:activeMaster: primary\n  gpmirror:engine: greenplum\n",
    );
    const before = fs.readFileSync(file, "utf8");
    const restored: string[][] = [];
    await expect(
      withConfigRestored(
        stack,
        async () => {
          await drillSettings(stack);
          expect((await config(stack))["gpmirror:activation"]).toMatch(/switchover/);
          throw new Error("the failback's pulumi up failed");
        },
        (keys) => restored.push(keys),
      ),
    ).rejects.toThrow("the failback's pulumi up failed");
    expect(restored).toEqual([
      ["gpmirror:activation.mode", "gpmirror:activation.force", "gpmirror:protect"],
    ]);
    // activeMaster names the host that is the master after the drill: left as the drill set it.
    expect(await config(stack)).toEqual({
      "gpmirror:activeMaster": "standby",
      "gpmirror:engine": "greenplum",
    });
    expect(fs.readFileSync(file, "utf8")).toBe(before.replace("primary", "standby"));
  }, 60000);

  it("puts back the user's own values beside settings it never touched", async () => {
    const { stack } = await stackWith(
      [
        "config:",
        "  gpmirror:activeMaster: primary",
        "  gpmirror:protect: true",
        "  gpmirror:activation:",
        "    mode: failover",
        "    timeoutSeconds: 90",
        "",
      ].join("\n"),
    );
    const before = await config(stack);
    const result = await withConfigRestored(stack, async () => {
      await drillSettings(stack);
      await stack.setConfig("gpmirror:activeMaster", { value: "primary" }); // failed back
      return 4;
    });
    expect(result).toBe(4);
    expect(await config(stack)).toEqual(before);
    expect(JSON.parse((await config(stack))["gpmirror:activation"])).toEqual({
      mode: "failover",
      timeoutSeconds: 90,
    });
  }, 60000);
});
