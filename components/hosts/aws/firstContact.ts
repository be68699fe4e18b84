// A new instance's first SSH contact: the one-time bootstrap host key made here, and the step
// that has the host replace it and learns the new key (masters and the witness alike).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host, sshConnection } from "../../host";
import { localCommandDir } from "../../packageRoot";
import { boundedCommand, parseStepResult } from "../../remoteStep";
import { exportLines } from "../../shell";
import { script } from "./common";

/** How long a new instance may take to boot and run its first-boot script. */
export const BOOT_TIMEOUT_SECONDS = 1200;

/**
 * A one-time key for the first SSH contact only, generated here and kept (secret) in the
 * state: the host replaces it at first contact (first-contact.sh) with one it makes itself.
 * A change of `triggers` (what rebuilds the host) makes a new one too.
 */
export function bootstrapHostKey(
  name: string,
  stack: string,
  role: string,
  triggers: pulumi.Input<unknown>[],
  parent: pulumi.CustomResourceOptions,
) {
  const pair = new command.local.Command(
    `${name}-${role}-host-key`,
    {
      create: "bash scripts/aws/host-key.sh",
      ...localCommandDir(),
      environment: { GPM_COMMENT: `gpmirror-${stack}-${role}-bootstrap` },
      logging: "none",
      addPreviousOutputInEnv: false,
      triggers,
    },
    { ...parent, additionalSecretOutputs: ["stdout"] },
  );
  const keys = pair.stdout.apply(
    (out) => JSON.parse(out) as { privateKey: string; publicKey: string },
  );
  return { keys, publicKey: pulumi.unsecret(keys.apply((k) => k.publicKey)) };
}

/**
 * Once per instance: wait for first boot, have the host replace the bootstrap key, and learn
 * the new one over the connection pinned to the old. Returns the host key learned.
 */
export function firstContact(
  name: string,
  host: Omit<Host, "hostKey" | "instance" | "ready">,
  bootstrapKey: pulumi.Output<string>,
  instance: pulumi.Resource & { id: pulumi.Output<string> },
  dependsOn: pulumi.Resource[],
  parent: pulumi.CustomResourceOptions,
): { step: command.remote.Command; hostKey: pulumi.Output<string> } {
  const stepName = `${name}-${host.role}-first-contact`;
  const step = new command.remote.Command(
    stepName,
    {
      // A new instance takes a while to answer SSH: retry for up to ~15 minutes.
      connection: {
        ...sshConnection({ ...host, hostKey: bootstrapKey } as Host),
        dialErrorLimit: 90,
      },
      create: boundedCommand(stepName, BOOT_TIMEOUT_SECONDS + 60),
      stdin: `set -euo pipefail\n${exportLines({ GPM_TIMEOUT_SECONDS: String(BOOT_TIMEOUT_SECONDS) })}${script("first-contact.sh")}`,
      logging: "stderr",
      addPreviousOutputInEnv: false,
      triggers: [instance.id],
    },
    {
      ...parent,
      dependsOn,
      customTimeouts: { create: `${BOOT_TIMEOUT_SECONDS + 300}s` },
      // After the rotation the bootstrap key is gone: this step must never run again on
      // the same instance, whatever else changes.
      ignoreChanges: ["connection", "stdin"],
    },
  );
  const hostKey = pulumi
    .unsecret(step.stdout)
    .apply((out) => parseStepResult(stepName, out))
    .apply((r) => String(r["hostKey"]));
  return { step, hostKey };
}
