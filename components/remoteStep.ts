import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { Host, hostCheckEnvironment, sshConnection } from "./host";
import { localCommandDir } from "./packageRoot";
import { exportLines, shellQuote } from "./shell";

export interface RemoteStepArgs {
  host: Host;
  /** Bash text of the step, from scripts/remote/. */
  script: string;
  /** The step's parameters (GPM_*). Secrets stay secrets: they travel only on stdin. */
  env: Record<string, pulumi.Input<string>>;
  /** Bound on one run of the step. */
  timeoutSeconds: number;
  /**
   * Run on the host when the step's resource is deleted (destroy). Its parameters travel on
   * the command line: no secrets.
   */
  onDelete?: { script: string; env: Record<string, pulumi.Input<string>> };
}

/** What a step printed as its one line of JSON on stdout. */
export type StepResult = Record<string, unknown>;

/**
 * One step on one host: the script and its parameters go to `bash -s` on stdin, so no value
 * appears on a command line (process listings) and no sshd AcceptEnv is needed. Progress
 * (stderr) is logged; stdout is parsed, not logged. A change of script or parameters re-runs
 * the step (scripts are idempotent); identical inputs run nothing.
 *
 * Two bounds that hold whichever build of the command provider runs the step (Pulumi's own
 * ignores customTimeouts for remote commands and does not bound the SSH handshake): a host
 * check first (scripts/host-check.sh: the host answers SSH in time and shows its pinned key,
 * else a clear error naming the host and both fingerprints), and `timeout` around the script
 * on the host, sized from the step's bound.
 */
export class RemoteStep extends pulumi.ComponentResource {
  readonly command: command.remote.Command;
  readonly result: pulumi.Output<StepResult>;

  constructor(name: string, args: RemoteStepArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:index:RemoteStep", name, {}, opts);
    const stdin = stepInput(args.script, args.env);
    const timeout = `${args.timeoutSeconds}s`;
    // Runs exactly when the step does: its triggers are the step's inputs.
    const check = new command.local.Command(
      `${name}-host-check`,
      {
        create: "bash scripts/host-check.sh",
        ...localCommandDir(),
        environment: hostCheckEnvironment(args.host),
        triggers: [stdin.apply(digest), args.host.instance],
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this, dependsOn: args.host.ready },
    );
    this.command = new command.remote.Command(
      name,
      {
        connection: sshConnection(args.host),
        create: boundedCommand(name, args.timeoutSeconds),
        update: boundedCommand(name, args.timeoutSeconds),
        delete: args.onDelete
          ? stepInput(args.onDelete.script, args.onDelete.env).apply((text) =>
              // stdin is the create step's: the delete's script travels on the command line.
              boundedCommand(
                `${name} (delete)`,
                args.timeoutSeconds,
                `bash -c ${shellQuote(text)}`,
              ),
            )
          : undefined,
        stdin,
        logging: "stderr",
        // The hosts' sshd does not accept PULUMI_COMMAND_* variables, and no step reads them.
        addPreviousOutputInEnv: false,
        // A rebuilt machine must get the step again even when its address stays the same.
        triggers: [args.host.instance],
      },
      {
        parent: this,
        dependsOn: [check],
        customTimeouts: { create: timeout, update: timeout },
      },
    );
    // Scripts never print secrets; stdout is secret only because stdin may hold one.
    this.result = pulumi.unsecret(this.command.stdout).apply((out) => parseStepResult(name, out));
    this.registerOutputs({ result: this.result });
  }
}

/**
 * `bash -s` under `timeout` on the host, with a message that says which bound ended it.
 * POSIX sh: it runs in the login user's shell.
 */
export function boundedCommand(step: string, seconds: number, run = "bash -s"): string {
  const message = shellQuote(
    `gpmirror: step ${step} did not finish within ${seconds} s on this host and was stopped`,
  );
  return (
    `timeout --kill-after=10 ${seconds} ${run}; rc=$?; ` +
    `if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo ${message} >&2; fi; exit "$rc"`
  );
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
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
