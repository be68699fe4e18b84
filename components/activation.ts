import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ActivationSettings } from "./config";
import { ActivationScripts, StepScript } from "./engines/engine";
import { Host } from "./host";
import { localCommandDir } from "./packageRoot";
import { parseStepResult, StepResult, stepInput } from "./remoteStep";

export interface ActivationArgs {
  /** The host that should be the active master. */
  target: Host;
  /** The other host: the old primary when `target` is a standby. */
  other: Host;
  scripts: ActivationScripts;
  settings: ActivationSettings;
  /** Parameters of a platform fence for an unreachable old primary (local hosts: the link). */
  platformFence?: Record<string, pulumi.Input<string>>;
  /** What must be done on the hosts first (the engine's prepare steps). */
  after?: pulumi.Resource[];
}

/**
 * Makes `target` the active master, safely, for every engine (see scripts/activate.sh): it
 * refuses while the old primary may still take writes unless forced, fences it first, and
 * promotes through the engine's steps. It runs on the machine that runs Pulumi, so that an
 * unreachable old host cannot hang or stop it and the fences that do not need that host (a
 * fence agent, the platform) can run, and only when its inputs change: on a new pair it finds
 * nothing to do, and when `activeMaster` flips it activates the other host.
 */
export class Activation extends pulumi.ComponentResource {
  readonly result: pulumi.Output<StepResult>;

  constructor(name: string, args: ActivationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:index:Activation", name, {}, opts);
    const s = args.settings;
    const environment: Record<string, pulumi.Input<string>> = {
      GPM_ENGINE: args.scripts.engine,
      GPM_ACTIVATION_MODE: s.mode,
      GPM_FORCE: String(s.force),
      GPM_MAX_LAG_BYTES: String(s.maxLagBytes),
      GPM_TIMEOUT_SECONDS: String(s.timeoutSeconds),
      // Not read by the script: turning protection back on (after a forced failover with it
      // off) runs the activation again, which stops an old primary that still runs.
      GPM_PROTECT: String(s.protect),
      ...hostEnv("NEW", args.target),
      ...hostEnv("OLD", args.other),
      GPM_NEW_PROBE: scriptText(args.scripts.probe(args.target)),
      GPM_NEW_ACTIVATE: scriptText(args.scripts.promote(args.target)),
      GPM_OLD_PROBE: scriptText(args.scripts.probe(args.other)),
      ...(args.scripts.fence ? { GPM_OLD_FENCE: scriptText(args.scripts.fence(args.other)) } : {}),
      ...(args.scripts.promoteTimeoutSeconds
        ? { GPM_PROMOTE_TIMEOUT_SECONDS: String(args.scripts.promoteTimeoutSeconds) }
        : {}),
      ...(args.platformFence ?? {}),
      ...(s.fenceCommand
        ? {
            GPM_FENCE_COMMAND: s.fenceCommand,
            GPM_FENCE_TIMEOUT_SECONDS: String(s.fenceTimeoutSeconds),
            GPM_OLD_DATA_DIR: args.other.dataDir,
            GPM_OLD_DB_PORT: String(args.other.dbPort),
          }
        : {}),
    };
    // Every remote call in the script is bounded by timeoutSeconds; the whole script is too,
    // since the command provider's own timeout does not stop a local command's children.
    const bound =
      s.timeoutSeconds * ACTIVATION_CALLS +
      (args.scripts.promoteTimeoutSeconds ?? 0) +
      (s.fenceCommand ? s.fenceTimeoutSeconds : 0);
    const bounded = `timeout --kill-after=10 ${bound} bash scripts/activate.sh`;
    const run = new command.local.Command(
      name,
      {
        create: bounded,
        update: bounded,
        ...localCommandDir(),
        environment,
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      {
        parent: this,
        dependsOn: [...args.target.ready, ...args.other.ready, ...(args.after ?? [])],
        customTimeouts: { create: `${bound + 60}s`, update: `${bound + 60}s` },
      },
    );
    // The script prints no secret; stdout is secret only because the key is an input.
    this.result = pulumi.unsecret(run.stdout).apply((out) => parseStepResult(name, out));
    this.registerOutputs({ result: this.result });
  }
}

/** At most this many bounded remote calls follow one another in scripts/activate.sh. */
const ACTIVATION_CALLS = 8;

function hostEnv(prefix: "NEW" | "OLD", host: Host): Record<string, pulumi.Input<string>> {
  return {
    [`GPM_${prefix}_NAME`]: host.name,
    [`GPM_${prefix}_ADDRESS`]: host.address,
    [`GPM_${prefix}_SSH_PORT`]: host.sshPort.apply(String),
    [`GPM_${prefix}_USER`]: host.user,
    [`GPM_${prefix}_HOST_KEY`]: host.hostKey,
    [`GPM_${prefix}_ROLE`]: host.role,
    [`GPM_${prefix}_SSH_KEY`]: host.privateKey,
  };
}

function scriptText(step: StepScript): pulumi.Output<string> {
  return stepInput(step.script, step.env);
}
