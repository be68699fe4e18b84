// The platform fence on AWS: a forced failover away from an old primary that cannot be reached
// stops its instance through the EC2 API (a forced stop, waited on until `stopped`) and moves it
// into a security group with no rules, both before the standby is promoted. The instance starts
// again only in the update that re-protects it (protect on), and the record of the last update
// says which host is fenced, so that no later update starts it by accident.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { HostRole } from "../../config";
import { ROLES, Role } from "./common";
import { AwsRecord } from "./previous";

/** What the fence adds to the record of an update. */
export interface FenceRecord {
  /** The host whose instance is stopped and cut off, if any. */
  fenced?: Role;
  /** How often each host was started again after a fence (the boot check runs again then). */
  starts?: Partial<Record<Role, number>>;
}

/** Which host to fence now, from the stack's settings. */
export interface FencePlan {
  fence?: HostRole;
  protect: boolean;
  activeMaster: HostRole;
}

/**
 * Refuses, at preview, to start a fenced instance except for re-protection: its data directory
 * was never marked (it was stopped before it could be reached), so it must start only in an
 * update whose standby step rewinds it or moves it aside; and it cannot become the active
 * master while it is the stale one.
 */
export function checkFence(previous: AwsRecord | undefined, plan: FencePlan): void {
  const was = previous?.fenced;
  if (!was || plan.fence === was) return;
  if (plan.activeMaster === was) {
    throw new Error(
      `gpmirror:activeMaster: the ${was} instance was stopped by a forced failover and holds the stale master; it cannot become the active master before it has been re-protected. Fix: set activeMaster back to ${was === "primary" ? "standby" : "primary"}, activation.force to false and protect to true, pulumi up (it starts and is rewound as the standby), then switch over`,
    );
  }
  if (!plan.protect) {
    throw new Error(
      `gpmirror:protect: the ${was} instance was stopped by a forced failover; it starts again only to be re-protected (its data directory is rewound or moved aside in the same update). Fix: keep activation.force true while it stays stopped, or set protect to true (and activation.force to false) to start and re-protect it`,
    );
  }
}

/** The record's fence part for this update. */
export function fenceRecord(previous: AwsRecord | undefined, fence?: Role): FenceRecord {
  const starts: Partial<Record<Role, number>> = { ...(previous?.starts ?? {}) };
  for (const role of ROLES) {
    if (previous?.fenced === role && fence !== role) starts[role] = (starts[role] ?? 0) + 1;
  }
  return {
    ...(fence ? { fenced: fence } : {}),
    ...(Object.keys(starts).length > 0 ? { starts } : {}),
  };
}

/**
 * The instance's power state: running, or, for the fenced host, stopped with a forced stop
 * (the provider calls StopInstances with Force and waits until the state is `stopped`). Deleting
 * this resource leaves an instance as it is, so it stays and says `running` to start it again.
 */
export function instancePower(
  name: string,
  role: Role,
  instance: aws.ec2.Instance,
  fenced: boolean,
  opts: pulumi.CustomResourceOptions,
): aws.ec2transitgateway.InstanceState {
  return new aws.ec2transitgateway.InstanceState(
    `${name}-${role}-power`,
    { instanceId: instance.id, state: fenced ? "stopped" : "running", force: true },
    { ...opts, dependsOn: [instance], customTimeouts: { create: "15m", update: "15m" } },
  );
}

/** The boot check runs again after a fenced instance was started again. */
export function bootTrigger(
  generation: pulumi.Output<string>,
  record: pulumi.Output<FenceRecord>,
  role: Role,
): pulumi.Output<string[]> {
  return pulumi.all([generation, record]).apply(([g, r]) => {
    const n = r.starts?.[role] ?? 0;
    return n > 0 ? [g, `started again after a fence: ${n}`] : [g];
  });
}

/** What scripts/activate.sh reports for the platform fence on AWS. */
export const AWS_FENCE = {
  GPM_PLATFORM_FENCE: "declared",
  GPM_PLATFORM_FENCE_DONE:
    "the instance stopped through the EC2 API (forced stop, waited on until stopped) and moved into a security group with no rules",
  GPM_PLATFORM_FENCE_GAP:
    "its data directory was not marked (the instance was stopped before it could be reached): it starts again only when protect is turned on, and the activation then marks it before re-protection rewinds it or moves it aside",
};
