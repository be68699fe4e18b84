import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host, sshConnection } from "./host";
import { exportLines } from "./shell";

export interface RemoteStepArgs {
  host: Host;
  /** Bash text of the step, from scripts/remote/. */
  script: string;
  /** The step's parameters (GPM_*). Secrets stay secrets: they travel only on stdin. */
  env: Record<string, pulumi.Input<string>>;
  /** Bound on one run of the step. */
  timeoutSeconds: number;
}

/** What a step printed as its one line of JSON on stdout. */
export type StepResult = Record<string, unknown>;

/**
 * One step on one host: the script and its parameters go to `bash -s` on stdin, so no value
 * appears on a command line (process listings) and no sshd AcceptEnv is needed. Progress
 * (stderr) is logged; stdout is parsed, not logged. A change of script or parameters re-runs
 * the step (scripts are idempotent); identical inputs run nothing.
 */
export class RemoteStep extends pulumi.ComponentResource {
  readonly command: command.remote.Command;
  readonly result: pulumi.Output<StepResult>;

  constructor(name: string, args: RemoteStepArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:index:RemoteStep", name, {}, opts);
    const stdin = stepInput(args.script, args.env);
    const timeout = `${args.timeoutSeconds}s`;
    this.command = new command.remote.Command(
      name,
      {
        connection: sshConnection(args.host),
        create: "bash -s",
        update: "bash -s",
        stdin,
        logging: "stderr",
        // A rebuilt machine must get the step again even when its address stays the same.
        triggers: [args.host.instance],
      },
      {
        parent: this,
        dependsOn: args.host.ready,
        customTimeouts: { create: timeout, update: timeout },
      },
    );
    // Scripts never print secrets; stdout is secret only because stdin may hold one.
    this.result = pulumi.unsecret(this.command.stdout).apply((out) => parseStepResult(name, out));
    this.registerOutputs({ result: this.result });
  }
}

/** What `bash -s` reads for a step: its parameters as `export` lines, then its script. */
export function stepInput(
  script: string,
  env: Record<string, pulumi.Input<string>>,
): pulumi.Output<string> {
  return pulumi.all(env).apply((e) => `set -euo pipefail\n${exportLines(e)}${script}`);
}

/** The last line of a step's stdout is its JSON result. */
export function parseStepResult(step: string, stdout: string): StepResult {
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    const parsed: unknown = JSON.parse(last);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as StepResult;
  } catch {
    // reported below
  }
  throw new Error(
    `step ${step} did not print a JSON result; its last line was: ${last.slice(0, 200)}`,
  );
}
