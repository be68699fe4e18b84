// What `npm run repair` runs again: the remote steps that make and check the standby.

/** The steps whose scripts rebuild a standby that cannot catch up, in the order they run. */
export const REPAIR_STEPS = ["access", "standby", "verify"] as const;

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);

/**
 * URNs of the commands of those steps in a stack's state: the MasterMirror `<m>`'s commands
 * `<m>-access`, `<m>-standby`, `<m>-verify` (after their host checks, where the state has
 * them). Fails when the stack has no standby.
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
  // Each step's host check (scripts/host-check.sh) runs again with it, before it.
  const checks = resources.filter(
    (r) =>
      r.type === "command:local:Command" &&
      REPAIR_STEPS.some((step) => nameOf(r.urn) === `${nameOf(mirror.urn)}-${step}-host-check`),
  );
  return [...checks, ...urns].map((r) => (r as { urn: string }).urn);
}
