import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/**
 * A password (the replication role's, the operator role's): the one given in config, or one
 * generated once on the machine that runs Pulumi and kept (encrypted) in the stack's state, so
 * that it stays the same from one `pulumi up` to the next. Never logged.
 */
export function password(
  name: string,
  given: pulumi.Output<string> | undefined,
  opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
  if (given) return pulumi.secret(given);
  const generated = new command.local.Command(
    name,
    {
      create: "od -An -N24 -tx1 /dev/urandom | tr -d ' \\n'",
      logging: "none",
      addPreviousOutputInEnv: false,
    },
    { ...opts, additionalSecretOutputs: ["stdout"] },
  );
  return pulumi.secret(generated.stdout);
}
