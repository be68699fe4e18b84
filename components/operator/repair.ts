// What `npm run repair` runs again: the remote steps that make and check the standby.

/** The steps whose scripts rebuild a standby that cannot catch up, in the order they run. */
export const REPAIR_STEPS = ["access", "standby", "verify"] as const;

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/**
 * URNs of the commands of those steps in a stack's state: the MasterMirror `<m>`'s commands
 * `<m>-access`, `<m>-standby`, `<m>-verify`. Fails when the stack has no standby.
 */
export function repairTargets(resources: { urn: string; type: string }[]): string[] {
  const mirror = resources.find((r) => r.type === "gpmirror:index:MasterMirror");
  if (!mirror) throw new Error("the stack has no MasterMirror: run pulumi up first");
  const commands = resources.filter((r) => r.type === "command:remote:Command");
  const urns = REPAIR_STEPS.map((step) =>
    commands.find((r) => nameOf(r.urn) === `${nameOf(mirror.urn)}-${step}`),
  );
  const missing = REPAIR_STEPS.filter((_, i) => !urns[i]);
  if (missing.length > 0) {
    throw new Error(
      `the stack has no ${missing.join(", ")} step: run pulumi up first (with protect on, a standby is built)`,
    );
  }
  return urns.map((r) => (r as { urn: string }).urn);
}
