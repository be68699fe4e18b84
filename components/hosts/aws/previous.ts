// What the last `pulumi up` built, read back from the stack's own outputs, and the checks
// that refuse a change that would replace a master, stop both, or stop the active one.
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, HostRole } from "../../config";
import { ROLES, Role } from "./common";

/** The stack output the record is kept in (index.ts exports it under this name). */
export const RECORD_OUTPUT = "awsRecord";
/** README section with the procedures the errors name. */
const PROCEDURE = 'README "Changes that replace or stop a master"';

/** What of one master decides whether a change replaces it or stops it. */
export interface HostRecord {
  instanceType: string;
  subnetId: string;
  zone: string;
  /** "" for the AWS-managed key. */
  kmsKeyId: string;
  associatePublicIp: boolean;
}

/** What the last `pulumi up` built: kept as a stack output, read by the next one. */
export interface AwsRecord {
  hosts: Record<Role, HostRecord>;
  /** The host that was the active master. */
  activeMaster: HostRole;
  /** The database system identifier both masters share (pg_controldata), once known. */
  systemIdentifier?: string;
}

/**
 * The record of the last update, read through a reference to this very stack (its outputs
 * as the last update left them); undefined on a stack that has none yet.
 */
export function previousRecord(
  name: string,
  parent: pulumi.CustomResourceOptions,
): pulumi.Output<AwsRecord | undefined> {
  const self = new pulumi.StackReference(
    `${name}-previous`,
    { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` },
    parent,
  );
  return pulumi.unsecret(self.getOutput(RECORD_OUTPUT)).apply((r) => (isRecord(r) ? r : undefined));
}

function isRecord(v: unknown): v is AwsRecord {
  const r = v as AwsRecord | undefined;
  return typeof r === "object" && r !== null && ROLES.every((role) => !!r.hosts?.[role]);
}

/** A change's kind for one host: what replaces the instance and volume, what stops it. */
function differences(before: HostRecord, now: HostRecord) {
  const replacing = (["subnetId", "zone", "kmsKeyId", "associatePublicIp"] as const).filter(
    (k) => before[k] !== now[k],
  );
  const stopping = before.instanceType !== now.instanceType ? ["instanceType"] : [];
  return { replacing, stopping };
}

/**
 * Refuses, at preview, a change that would: replace a master's instance or data volume
 * without `aws.hosts.<role>.allowReplace`; replace or stop a master that is (or was, before
 * this update) the active one; or stop both masters in one update. A stack with no record
 * (its first update) has nothing to compare.
 */
export function checkChanges(
  s: AwsSettings,
  previous: AwsRecord | undefined,
  now: Record<Role, HostRecord>,
  activeMaster: HostRole,
): void {
  if (!previous) return;
  const active = (role: Role) => role === activeMaster || role === previous.activeMaster;
  const stopped: Role[] = [];
  for (const role of ROLES) {
    const { replacing, stopping } = differences(previous.hosts[role], now[role]);
    const what = replacing.map(
      (k) => `${k} ${JSON.stringify(previous.hosts[role][k])} -> ${JSON.stringify(now[role][k])}`,
    );
    if (replacing.length > 0 && !s.hosts[role].allowReplace) {
      throw new Error(
        `gpmirror:aws.hosts.${role}.allowReplace: ${what.join(", ")} would replace the ${role} instance and its data volume (a new, empty disk). Fix: undo the change; or, on the host that is the standby, set aws.hosts.${role}.allowReplace to true for one update (the standby is rebuilt from the primary; its old volume is kept), then back to false: see ${PROCEDURE}`,
      );
    }
    if (replacing.length > 0 && active(role)) {
      throw new Error(
        `gpmirror:aws.hosts.${role}.allowReplace: ${what.join(", ")} would replace the ${role} host, which is the active master (before or after this update). Fix: switch over first (activeMaster), wait for the other host to be protected, then replace this one as the standby: see ${PROCEDURE}`,
      );
    }
    if (stopping.length > 0 || replacing.length > 0) stopped.push(role);
  }
  const typeChanged = ROLES.filter(
    (role) => previous.hosts[role].instanceType !== now[role].instanceType,
  );
  if (stopped.length === 2) {
    throw new Error(
      `gpmirror:aws.instanceType: this update would stop both masters (${ROLES.map((r) => `${r} ${previous.hosts[r].instanceType} -> ${now[r].instanceType}`).join(", ")}), and nothing would serve meanwhile. Fix: change one host per update with aws.hosts.<role>.instanceType: the standby first, then switch over (activeMaster), then the other: see ${PROCEDURE}`,
    );
  }
  for (const role of typeChanged) {
    if (active(role) && !s.allowActiveMasterStop) {
      throw new Error(
        `gpmirror:aws.hosts.${role}.instanceType: ${previous.hosts[role].instanceType} -> ${now[role].instanceType} stops the ${role} host, which is the active master (before or after this update): clients would lose it for the restart. Fix: change the standby's type first, switch over (activeMaster), then change this one as the standby; or set aws.allowActiveMasterStop to true to accept the outage: see ${PROCEDURE}`,
      );
    }
  }
}

/** The identifier the primary step must find: "" when none is expected. */
export function expectedSystemIdentifier(s: AwsSettings, previous: AwsRecord | undefined): string {
  return s.allowNewDatabaseSystem ? "" : (previous?.systemIdentifier ?? "");
}
