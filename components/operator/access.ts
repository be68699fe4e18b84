import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { OperatorLogin } from "../engines/engine";
import { remoteFiles, remoteScript } from "../engines/scriptText";
import { Host } from "../host";
import { parseStepResult } from "../remoteStep";
import { exportLines } from "../shell";
import { Probe } from "./probe";
import { HostAccess, SshSession } from "./ssh";
import { HostView } from "./status";

/**
 * What the probe of one host needs: the engine whose `scripts/remote/<engine>/probe.sh` runs
 * and its parameters. The tools build the script from the checkout they run from, so the
 * output stays small (the script text was tens of kilobytes per host).
 */
export interface ProbeParams {
  /** Engine.name: postgres or greenplum. */
  engine: string;
  env: Record<string, string>;
}

/** One host as the operator tools reach it. */
export interface AccessHost extends HostAccess {
  role: string;
  dbPort: number;
  dataDir: string;
  /** A stack last updated before probes were given as parameters holds the script text. */
  probe: ProbeParams | string;
}

/** What the operator CLIs (status, drill) need from a stack: a secret stack output. */
export interface OperatorAccess {
  privateKey: string;
  /** The operator's database login, when the stack opened one (operator.cidrs). */
  database?: { user: string; password: string; name: string };
  hosts: AccessHost[];
  /** Automatic failover: etcd's witness, where status reads etcd too (index.ts). */
  witness?: WitnessAccess;
}

/** The witness as the status reaches it: its directory for etcd (automatic.ts autoDir). */
export interface WitnessAccess extends HostAccess {
  autoDir: string;
}

/** A host's login as the operator tools reach it, with its bastion when it has one. */
export function hostAccess(h: Host): pulumi.Output<HostAccess> {
  const p = h.proxy;
  const proxy = p
    ? pulumi
        .all([p.address, p.sshPort, p.user, p.hostKey, p.privateKey])
        .apply(([address, sshPort, user, hostKey, privateKey]) => ({
          proxy: { address, sshPort, user, hostKey, privateKey },
        }))
    : {};
  return pulumi
    .all([h.name, h.address, h.sshPort, h.user, h.hostKey, proxy])
    .apply(([name, address, sshPort, user, hostKey, viaProxy]) => ({
      name,
      address,
      sshPort,
      user,
      hostKey,
      ...viaProxy,
    }));
}

/** Builds the operatorAccess output from the two hosts and each host's probe parameters. */
export function operatorAccess(
  hosts: Host[],
  privateKey: pulumi.Output<string>,
  login: OperatorLogin | undefined,
  engine: string,
  probeEnv: (host: Host) => Record<string, pulumi.Input<string>>,
): pulumi.Output<OperatorAccess> {
  const views = hosts.map((h) =>
    pulumi
      .all([hostAccess(h), h.dataDir, pulumi.all(probeEnv(h))])
      .apply(([login, dataDir, env]) => ({
        ...login,
        role: h.role,
        dbPort: h.dbPort,
        dataDir,
        probe: { engine, env },
      })),
  );
  const all: pulumi.Output<OperatorAccess> = pulumi
    .all([privateKey, pulumi.all(views), login?.password ?? ""])
    .apply(([key, hs, pw]) => ({
      privateKey: key,
      hosts: hs,
      ...(login ? { database: { user: login.user, password: pw, name: "gpmirror_drill" } } : {}),
    }));
  return pulumi.secret(all);
}

/** What the tools send to a host's `bash -s` to probe it: the same text a remote step gets. */
export function probeInput(host: AccessHost): string {
  const p = host.probe;
  if (typeof p === "string") return p;
  if (
    !/^[a-z0-9-]+$/.test(p.engine) ||
    !fs.existsSync(remoteFiles(p.engine, "probe").at(-1) ?? "")
  ) {
    throw new Error(`${host.name}: this checkout has no probe for the engine "${p.engine}"`);
  }
  return `set -euo pipefail\n${exportLines(p.env)}${remoteScript(p.engine, "probe")}`;
}

/** One host's state read over `ssh`; an unreachable host or a failed probe is reported as such. */
export function readHost(ssh: SshSession, host: AccessHost): HostView {
  try {
    const probe = parseStepResult("probe", ssh.run(host, probeInput(host))) as unknown as Probe;
    return { name: host.name, address: host.address, probe };
  } catch (e) {
    return { name: host.name, address: host.address, probe: { error: (e as Error).message } };
  }
}
