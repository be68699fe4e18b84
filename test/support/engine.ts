// The Pulumi engine scripts/pulumi-env.sh chooses (a user's own Pulumi, or the project's build
// with Pulumi's official plugins), for Automation API tests.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { pulumiEngine, ROOT } from "../../scripts/lib/pulumiEngine";

export { ROOT };
/** The `pulumi` CLI the tests run. */
export const PULUMI_CLI = pulumiEngine().cli;

/**
 * Hosts an earlier, interrupted run left behind (its state was in a backend that is gone):
 * processes, namespaces, directories. A fresh backend knows nothing of them, so they are
 * removed the way `pulumi destroy` would, before the stack is built again.
 */
export function removeLeftoverHosts(stack: string, config: Record<string, string>): void {
  const root = process.getuid?.() === 0;
  const stateDir =
    config["local.stateDir"] ??
    (root ? `/var/lib/gpmirror/${stack}` : path.join(os.homedir(), ".gpmirror", stack));
  if (!fs.existsSync(stateDir)) return;
  // Every host the earlier run made (a Greenplum stack has segment hosts too).
  const metaDir = path.join(stateDir, "meta");
  const made = fs.existsSync(metaDir)
    ? fs
        .readdirSync(metaDir)
        .filter((f) => f.endsWith(".json"))
        .map((f) => f.slice(0, -".json".length))
    : [];
  for (const host of new Set(["primary", "standby", ...made])) {
    execFileSync("bash", [path.join(ROOT, "scripts", "local-hosts.sh"), "destroy"], {
      cwd: ROOT,
      env: {
        ...process.env,
        GPM_STACK: stack,
        GPM_HOST: host,
        GPM_STATE_DIR: stateDir,
        GPM_MODE: root ? "netns" : "loopback",
        ...(config["local.bridge"] ? { GPM_BRIDGE: config["local.bridge"] } : {}),
      },
      stdio: "ignore",
    });
  }
}

/** A stack of the real program with its own file backend and passphrase, removed by `dispose`. */
export async function testStack(name: string, config: Record<string, string>) {
  const engine = pulumiEngine();
  if (!fs.existsSync(engine.cli)) {
    throw new Error(
      `${engine.cli} is missing: run scripts/setup.sh (it installs the engine) before the integration tests`,
    );
  }
  const backend = fs.mkdtempSync(path.join(os.tmpdir(), "gpmirror-state-"));
  const envVars = {
    ...engine.env,
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: "integration-test-passphrase",
  };
  removeLeftoverHosts(name, config);
  const pulumiCommand = await PulumiCommand.get({ root: engine.root, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: name, workDir: ROOT },
    { envVars, pulumiCommand },
  );
  for (const [key, value] of Object.entries(config)) {
    await stack.setConfig(
      `gpmirror:${key}`,
      { value, secret: key === "replicationPassword" },
      true,
    );
  }
  const dispose = async (s: Stack) => {
    await s.workspace.removeStack(name, { force: true }).catch(() => undefined);
    fs.rmSync(path.join(ROOT, "stacks", `Pulumi.${name}.yaml`), { force: true });
    fs.rmSync(backend, { recursive: true, force: true });
  };
  return { stack, dispose: () => dispose(stack), backend, env: envVars };
}
