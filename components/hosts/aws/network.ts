// Where the two masters run: the user's subnets (checked against AWS's answers), or a new
// VPC with two private subnets in two zones.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings } from "../../config";
import { ROLES, Role, Tags } from "./common";

export /** Where the two masters' subnets are, after the checks that need AWS's answers. */
interface Placement {
  vpcId: string;
  subnetIds: Record<Role, string>;
  zones: Record<Role, string>;
  /** etcd's witness (automatic failover): a subnet in a third zone of the same VPC. */
  witness?: { subnetId: string; zone: string };
}

/** The user's subnets (checked against AWS's answers), or a new VPC with two private subnets. */
export function placeHosts(
  name: string,
  s: AwsSettings,
  tags: Tags,
  parent: pulumi.CustomResourceOptions,
): pulumi.Output<Placement> {
  const n = s.network;
  if (n.primarySubnetId && n.standbySubnetId) {
    const a = aws.ec2.getSubnetOutput({ id: n.primarySubnetId }, parent);
    const b = aws.ec2.getSubnetOutput({ id: n.standbySubnetId }, parent);
    const wId = s.witness?.subnetId;
    const w = wId ? aws.ec2.getSubnetOutput({ id: wId }, parent) : undefined;
    return pulumi
      .all([
        a.vpcId,
        a.availabilityZone,
        b.vpcId,
        b.availabilityZone,
        w?.vpcId ?? "",
        w?.availabilityZone ?? "",
      ])
      .apply(([vpcA, zoneA, vpcB, zoneB, vpcW, zoneW]) =>
        checkPlacement(
          s,
          {
            vpcId: vpcA,
            subnetIds: { primary: n.primarySubnetId ?? "", standby: n.standbySubnetId ?? "" },
            zones: { primary: zoneA, standby: zoneB },
            ...(wId ? { witness: { subnetId: wId, zone: zoneW } } : {}),
          },
          vpcB,
          vpcW,
        ),
      );
  }
  const witness = s.witness;
  const zones: pulumi.Output<string[]> = n.zones
    ? pulumi.output([...n.zones, ...(witness?.zone ? [witness.zone] : [])])
    : aws
        .getAvailabilityZonesOutput({ state: "available" }, parent)
        .names.apply((names) => regionZones(names, s));
  const vpc = new aws.ec2.Vpc(
    `${name}-vpc`,
    {
      cidrBlock: n.vpcCidr,
      // The private zone's record needs the VPC's resolver.
      enableDnsSupport: true,
      enableDnsHostnames: true,
      tags: tags("vpc"),
    },
    parent,
  );
  const subnets = ROLES.map(
    (role, i) =>
      new aws.ec2.Subnet(
        `${name}-${role}-subnet`,
        {
          vpcId: vpc.id,
          cidrBlock: subnetCidr(n.vpcCidr, i + 1),
          availabilityZone: zones.apply((z) => z[i]),
          // Private: no public address, and the VPC has no internet gateway.
          mapPublicIpOnLaunch: false,
          tags: tags(`${role}-subnet`, role),
        },
        parent,
      ),
  );
  const witnessSubnet = witness
    ? new aws.ec2.Subnet(
        `${name}-witness-subnet`,
        {
          vpcId: vpc.id,
          cidrBlock: subnetCidr(n.vpcCidr, 3),
          availabilityZone: zones.apply((z) => z[2]),
          mapPublicIpOnLaunch: false,
          tags: tags("witness-subnet"),
        },
        parent,
      )
    : undefined;
  return pulumi
    .all([vpc.id, subnets[0].id, subnets[1].id, zones, witnessSubnet?.id ?? ""])
    .apply(([vpcId, primary, standby, z, witnessId]) =>
      checkPlacement(
        s,
        {
          vpcId,
          subnetIds: { primary, standby },
          zones: { primary: z[0], standby: z[1] },
          ...(witness ? { witness: { subnetId: witnessId, zone: z[2] } } : {}),
        },
        vpcId,
        vpcId,
      ),
    );
}

/**
 * Refuses, at preview, masters in one zone (unless allowed) or in two VPCs, and a witness
 * outside their VPC or in one of their zones.
 */
export function checkPlacement(
  s: AwsSettings,
  p: Placement,
  standbyVpcId: string,
  witnessVpcId = p.vpcId,
): Placement {
  if (standbyVpcId !== p.vpcId) {
    throw new pulumi.RunError(
      `gpmirror:aws.network.standbySubnetId: ${p.subnetIds.standby} is in ${standbyVpcId}, the primary's subnet in ${p.vpcId}. Fix: use two subnets of one VPC`,
    );
  }
  if (s.network.vpcId && s.network.vpcId !== p.vpcId) {
    throw new pulumi.RunError(
      `gpmirror:aws.network.vpcId: the subnets are in ${p.vpcId}, not ${s.network.vpcId}. Fix: set vpcId to ${p.vpcId}, or use subnets of ${s.network.vpcId}`,
    );
  }
  if (p.zones.primary === p.zones.standby && !s.allowSameZone) {
    throw new pulumi.RunError(
      `gpmirror:aws.network.standbySubnetId: both masters would be in ${p.zones.primary}, so one zone outage would take the pair. Fix: use a subnet in another zone, or set aws.allowSameZone to true`,
    );
  }
  const w = p.witness;
  if (w && witnessVpcId !== p.vpcId) {
    throw new pulumi.RunError(
      `gpmirror:aws.witness.subnetId: ${w.subnetId} is in ${witnessVpcId}, the masters' subnets in ${p.vpcId}. Fix: use a subnet of ${p.vpcId}`,
    );
  }
  if (w && (w.zone === p.zones.primary || w.zone === p.zones.standby)) {
    const key = s.witness?.subnetId ? "aws.witness.subnetId" : "aws.witness.zone";
    throw new pulumi.RunError(
      `gpmirror:${key}: the witness would be in ${w.zone} with a master, so one zone outage would take two of etcd's three members. Fix: use a third zone`,
    );
  }
  return p;
}

/**
 * The masters' two zones of the region's available ones, and the witness's third when
 * automatic failover is on; refused (at preview) where the region has too few.
 */
export function regionZones(names: string[], s: AwsSettings): string[] {
  if (names.length < 2 && !s.allowSameZone) {
    throw new pulumi.RunError(
      "gpmirror:aws.network.zones: this region offers fewer than two availability zones. Fix: use another region, or set aws.allowSameZone to true",
    );
  }
  const pair = [names[0], names[1] ?? names[0]];
  if (!s.witness) return pair;
  const third = s.witness.zone ?? names.find((z) => !pair.includes(z));
  if (!third) {
    throw new pulumi.RunError(
      `gpmirror:activation.automatic: this region offers ${names.length} availability zone(s) (${names.join(", ")}), and etcd's witness needs a third, or losing one zone would take two of its three members. Fix: use a region with three zones, or turn activation.automatic off`,
    );
  }
  return [...pair, third];
}

/** The i-th /24 of a VPC CIDR (config checks that a /22 or wider holds the ones used). */
export function subnetCidr(vpcCidr: string, i: number): string {
  const [base] = vpcCidr.split("/");
  const n = base.split(".").reduce((a, o) => a * 256 + Number(o), 0) + i * 256;
  return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")}/24`;
}
