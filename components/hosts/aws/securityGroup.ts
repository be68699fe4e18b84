// The masters' security group rules.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AwsSettings, PortRange } from "../../config";
import { Tags } from "./common";

/**
 * Least privilege, one rule a resource so that each can be read (and tested) alone. Nothing
 * is open to 0.0.0.0/0 unless config allowed it explicitly (config refuses /0 otherwise).
 */
export function securityGroupRules(
  name: string,
  s: AwsSettings,
  sgId: pulumi.Output<string>,
  dbPorts: number[],
  tags: Tags,
  parent: pulumi.CustomResourceOptions,
  witnessSgId?: pulumi.Output<string>,
): void {
  type Peer = { key: string; cidrIpv4?: string; referencedSecurityGroupId?: pulumi.Input<string> };
  type Ports = { protocol: "tcp" | "udp" | "icmp"; from: number; to: number; what: string };
  const a = s.access;
  const masters: Peer[] = [{ key: "masters", referencedSecurityGroupId: sgId }];
  const cidrPeers = (what: string, cidrs: string[]): Peer[] =>
    cidrs.map((c, i) => ({ key: `${what}${i}`, cidrIpv4: c }));
  const segments: Peer[] = [
    ...(a.segmentSecurityGroupId
      ? [{ key: "segments", referencedSecurityGroupId: a.segmentSecurityGroupId }]
      : []),
    ...cidrPeers("segments", a.segmentCidrs),
  ];
  const admins: Peer[] = [
    ...cidrPeers("admin", a.adminCidrs),
    ...(s.connection.proxy?.securityGroupId
      ? [{ key: "bastion", referencedSecurityGroupId: s.connection.proxy.securityGroupId }]
      : []),
  ];
  const db: Ports[] = [...new Set(dbPorts)].map((p) => ({
    protocol: "tcp",
    from: p,
    to: p,
    what: `db${p}`,
  }));
  const range = (protocol: "tcp" | "udp", r: PortRange, what: string): Ports => ({
    protocol,
    from: r.from,
    to: r.to,
    what,
  });
  const ssh: Ports = { protocol: "tcp", from: 22, to: 22, what: "ssh" };
  // ICMP: from port is the type (8, echo request), to port the code (0).
  const ping: Ports = { protocol: "icmp", from: 8, to: 0, what: "ping" };
  const interconnect = [
    range("tcp", a.interconnectPorts, "ic-tcp"),
    range("udp", a.interconnectPorts, "ic-udp"),
  ];

  const rule = (
    dir: "in" | "out",
    why: string,
    peers: Peer[],
    ports: Ports[],
    group: pulumi.Input<string> = sgId,
    prefix = `${name}-${dir}`,
  ) => {
    for (const peer of peers) {
      for (const p of ports) {
        const args = {
          securityGroupId: group,
          description: why,
          ipProtocol: p.protocol,
          fromPort: p.from,
          toPort: p.to,
          cidrIpv4: peer.cidrIpv4,
          referencedSecurityGroupId: peer.referencedSecurityGroupId,
          tags: tags(`${prefix.slice(name.length + 1)}-${p.what}-${peer.key}`),
        };
        const ruleName = `${prefix}-${p.what}-${peer.key}`;
        if (dir === "in") new aws.vpc.SecurityGroupIngressRule(ruleName, args, parent);
        else new aws.vpc.SecurityGroupEgressRule(ruleName, args, parent);
      }
    }
  };

  // Between the two masters: replication, and Greenplum's utilities (ssh, ping).
  rule("in", "replication and utilities between the masters", masters, [...db, ssh, ping]);
  rule("out", "replication and utilities between the masters", masters, [...db, ssh, ping]);
  // Segments connect to the master port; query results come back over the interconnect.
  rule("in", "segment hosts to the master", segments, [...db, ...interconnect]);
  // A promoted standby runs the cluster: segment and mirror ports (a promoted mirror serves
  // on its own port), interconnect, ssh for gpstart, and ping for gpinitsystem and the checks.
  const toSegments = [
    range("tcp", a.segmentPorts, "segment"),
    range("tcp", a.mirrorPorts, "mirror"),
    ...interconnect,
    ssh,
    ping,
  ];
  rule("out", "masters to the segment hosts", segments, toSegments);
  // The same, written into the segment hosts' own group when asked to.
  if (a.writeSegmentIngress && a.segmentSecurityGroupId) {
    rule(
      "in",
      "gpmirror masters",
      masters,
      toSegments,
      a.segmentSecurityGroupId,
      `${name}-segments-in`,
    );
  }
  rule("in", "database clients", cidrPeers("client", a.clientCidrs), db);
  rule("in", "administration over SSH", admins, [ssh]);
  const https: Ports = { protocol: "tcp", from: 443, to: 443, what: "https" };
  // Also Route53's API, which the agent calls after a promotion (automatic failover).
  rule("out", "package download and SSM", cidrPeers("https", a.httpsEgressCidrs), [https]);
  if (witnessSgId) witnessRules(rule, masters, admins, witnessSgId, name);
}

type RuleFn = (
  dir: "in" | "out",
  why: string,
  peers: { key: string; referencedSecurityGroupId?: pulumi.Input<string>; cidrIpv4?: string }[],
  ports: { protocol: "tcp" | "udp" | "icmp"; from: number; to: number; what: string }[],
  group?: pulumi.Input<string>,
  prefix?: string,
) => void;

/**
 * Automatic failover: etcd's client (2379) and peer (2380) ports among the three members
 * only (the masters share their group, the witness has its own), and SSH to the witness for
 * Pulumi's steps. Nothing else reaches the witness, and it reaches nothing else.
 */
function witnessRules(
  rule: RuleFn,
  masters: { key: string; referencedSecurityGroupId?: pulumi.Input<string> }[],
  admins: { key: string; referencedSecurityGroupId?: pulumi.Input<string>; cidrIpv4?: string }[],
  witnessSgId: pulumi.Output<string>,
  name: string,
): void {
  const etcd = [{ protocol: "tcp" as const, from: 2379, to: 2380, what: "etcd" }];
  const witness = [{ key: "witness", referencedSecurityGroupId: witnessSgId }];
  const why = "etcd among the masters and the witness";
  rule("in", why, [...masters, ...witness], etcd);
  rule("out", why, [...masters, ...witness], etcd);
  rule("in", why, masters, etcd, witnessSgId, `${name}-witness-in`);
  rule("out", why, masters, etcd, witnessSgId, `${name}-witness-out`);
  rule(
    "in",
    "administration over SSH",
    admins,
    [{ protocol: "tcp", from: 22, to: 22, what: "ssh" }],
    witnessSgId,
    `${name}-witness-in`,
  );
}
