// Automatic failover on platform aws: the witness (etcd's third member, in a third zone) and
// what the agents need from the other aws settings. The one place these are validated.
import { AwsSettings, AwsWitnessSettings, INSTANCE_TYPE, ZONE, optionalId } from "./aws";
import { CONFIG_NAMESPACE, ConfigContext, Reader } from "./reader";

/** Small: etcd of three members keeps a few keys; burstable is enough for its heartbeats. */
export const WITNESS_INSTANCE_TYPE = "t3.small";

export function parseAwsWitness(
  r: Reader,
  ctx: ConfigContext,
  aws: AwsSettings,
): AwsWitnessSettings {
  const key = "aws.witness.instanceType";
  const instanceType = r.string(key, WITNESS_INSTANCE_TYPE);
  if (!INSTANCE_TYPE.test(instanceType)) {
    r.fail(
      key,
      `"${instanceType}" is not an EC2 instance type`,
      `pulumi config set --path ${CONFIG_NAMESPACE}:${key} ${WITNESS_INSTANCE_TYPE}`,
    );
  }
  const subnetId = optionalId(r, "aws.witness.subnetId", "subnet");
  const zone = r.string("aws.witness.zone", "") || undefined;
  const n = aws.network;
  if (zone !== undefined && !ZONE.test(zone)) {
    r.fail("aws.witness.zone", `"${zone}" is not an availability zone name`, "use e.g. us-east-1c");
  }
  if (n.primarySubnetId && !subnetId) {
    r.fail(
      "aws.witness.subnetId",
      "is missing: in your VPC the witness needs a subnet of its own, in a third availability zone (losing a zone that holds two of etcd's three members stops failover)",
      `pulumi config set --path ${CONFIG_NAMESPACE}:aws.witness.subnetId subnet-...`,
    );
  }
  if (!n.primarySubnetId && subnetId) {
    r.fail(
      "aws.witness.subnetId",
      "is used with the masters' own subnets (aws.network.primarySubnetId and standbySubnetId); gpmirror creates the witness's subnet in the VPC it creates",
      `pulumi config rm --path ${CONFIG_NAMESPACE}:aws.witness.subnetId`,
    );
  }
  if (n.zones && !zone && !n.primarySubnetId) {
    r.fail(
      "aws.network.zones",
      `names two zones (${n.zones.join(", ")}); automatic failover needs a third for its witness`,
      `pulumi config set --path ${CONFIG_NAMESPACE}:aws.witness.zone <a third zone of the region>`,
    );
  }
  if (zone && n.zones?.includes(zone)) {
    r.fail(
      "aws.witness.zone",
      `${zone} is one of the masters' zones: losing it would lose two of etcd's three members`,
      "name a third zone of the region",
    );
  }
  // Its subnet is the VPC's fourth /24 (index 3): the /22 parseAws requires already holds it.
  if (aws.access.httpsEgressCidrs.length === 0) {
    r.fail(
      "aws.access.httpsEgressCidrs",
      "is empty: after a promotion the agent moves the client record through Route53's API (HTTPS), which the masters could not reach",
      `pulumi config set --path ${CONFIG_NAMESPACE}:aws.access.httpsEgressCidrs[0] <your egress route's CIDR, e.g. a NAT or proxy>`,
    );
  }
  return { instanceType, subnetId, zone, stateDir: `${ctx.homeDir}/.gpmirror/${ctx.stack}` };
}
