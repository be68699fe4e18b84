// Automatic failover (issue 15): an etcd of three members (both master hosts and a witness),
// TLS between members and agents, and the failover agent (agent/, Go) beside each master.
// The rules the agents keep are in agent/agent.go and README "Automatic failover".
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { AutomaticSettings } from "./config";
import { Host, sshConnection } from "./host";
import { AgentEngine } from "./engines/engine";
import { RemoteStep } from "./remoteStep";
import { remoteFiles } from "./engines/scriptText";
import { localCommandDir, PACKAGE_ROOT, scriptPath } from "./packageRoot";

export interface AutomaticFailoverArgs {
  stack: string;
  settings: AutomaticSettings;
  /** The master hosts by the role they were built with; the agents run on these. */
  masters: [Host, Host];
  witness: Host;
  /** Where the CA and certificates are kept on this machine (private keys: files only). */
  tlsDir: string;
  maxLagBytes: number;
  synchronous: boolean;
  /** The agents start once the pair is built and streaming. */
  after: pulumi.Resource[];
  stepTimeoutSeconds: number;
  /** The engine's part of the agent on `target` (Greenplum); none: PostgreSQL's defaults. */
  engineAgent?: (target: Host, old: Host) => AgentEngine;
  /**
   * Hosts that outlive the stack (platform existing): destroy stops the agents, then the etcd
   * members. Hosts the stack destroys itself take their processes with them.
   */
  stopOnDestroy?: boolean;
  /**
   * Platform aws: the Route53 A record clients use; the agent that promotes points it at its
   * own host's address (its instance role may change that record only).
   */
  clientRecord?: { zoneId: pulumi.Input<string>; name: string; ttl: number };
}

export interface AgentsSummary {
  prefix: string;
  endpoints: string[];
  members: string[];
  leaseTtlSeconds: number;
  renewIntervalMs: number;
  retryWindowMs: number;
  /** When the leader's agent fences, counted from its last confirmed renewal. */
  fenceAfterMs: number;
  etcdHeartbeatMs: number;
  etcdElectionTimeoutMs: number;
}

/** Each host's working directory for etcd and the agent: beside its data directory. */
export function autoDir(host: Host): pulumi.Output<string> {
  return host.dataDir.apply((d) => `${path.dirname(d)}/auto`);
}

/** The etcd key prefix of a stack; the leader key is `${prefix}/leader`. */
export function keyPrefix(stack: string): string {
  return `/gpmirror/${stack}`;
}

export class AutomaticFailover extends pulumi.ComponentResource {
  readonly summary: pulumi.Output<AgentsSummary>;

  constructor(name: string, args: AutomaticFailoverArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpmirror:index:AutomaticFailover", name, {}, opts);
    const members = [...args.masters, args.witness];
    const stopOnDestroy = (h: Host, part: "agent" | "etcd") =>
      args.stopOnDestroy
        ? { script: autoScript("stop"), env: { GPM_AUTO_DIR: autoDir(h), GPM_AUTO_PART: part } }
        : undefined;
    const addresses = pulumi.all(members.map((h) => h.address));
    const tls = new command.local.Command(
      `${name}-tls`,
      {
        create: "bash scripts/auto/tls.sh",
        // Its parent too when nothing else is left there (existing hosts: ~/.gpmirror/<stack>).
        delete: `rm -rf -- "$GPM_TLS_DIR"; rmdir -- "$(dirname -- "$GPM_TLS_DIR")" 2>/dev/null || true`,
        ...localCommandDir(),
        environment: {
          GPM_TLS_DIR: args.tlsDir,
          GPM_MEMBERS: addresses.apply((a) => members.map((h, i) => `${h.role}=${a[i]}`).join(",")),
        },
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      // Deleted before the hosts, whose state directory it lives in.
      { parent: this, dependsOn: members.flatMap((h) => h.ready) },
    );
    const tlsDir = tls.stdout.apply((o) => (JSON.parse(o) as { dir: string }).dir);
    const caCert = tls.stdout.apply((o) => (JSON.parse(o) as { caCert: string }).caCert);
    const tlsEnv = (h: Host) => ({
      GPM_TLS_CA: caCert,
      GPM_TLS_CERT: tlsDir.apply((d) => fs.readFileSync(`${d}/${h.role}.crt`, "utf8")),
      GPM_TLS_KEY: pulumi.secret(
        tlsDir.apply((d) => fs.readFileSync(`${d}/${h.role}.key`, "utf8")),
      ),
    });
    const cluster = addresses.apply((a) =>
      members.map((h, i) => `${h.role}=https://${a[i]}:2380`).join(","),
    );
    const endpoints = addresses.apply((a) => a.map((x) => `https://${x}:2379`));
    const etcd = members.map(
      (h) =>
        new RemoteStep(
          `${name}-etcd-${h.role}`,
          {
            host: h,
            script: autoScript("etcd"),
            env: {
              GPM_AUTO_DIR: autoDir(h),
              GPM_ETCD_NAME: h.role,
              GPM_ETCD_ADDRESS: h.address,
              GPM_ETCD_CLUSTER: cluster,
              GPM_ETCD_TOKEN: `gpmirror-${args.stack}`,
              GPM_ETCD_HEARTBEAT_MS: String(args.settings.etcdHeartbeatMs),
              GPM_ETCD_ELECTION_MS: String(args.settings.etcdElectionTimeoutMs),
              ...tlsEnv(h),
            },
            timeoutSeconds: args.stepTimeoutSeconds,
            onDelete: stopOnDestroy(h, "etcd"),
          },
          { parent: this, dependsOn: [tls] },
        ),
    );
    const build = new command.local.Command(
      `${name}-agent-build`,
      {
        create: "bash scripts/auto/build-agent.sh",
        ...localCommandDir(),
        triggers: [agentSourceDigest()],
        logging: "stderr",
        addPreviousOutputInEnv: false,
      },
      { parent: this },
    );
    const binary = build.stdout.apply(
      (o) => JSON.parse(o.trim().split("\n").pop() ?? "") as { path: string; sha256: string },
    );
    const s = args.settings;
    args.masters.forEach((h, i) => {
      const peer = args.masters[1 - i];
      const remoteBin = h.dataDir.apply((d) => `${path.dirname(d)}/gpmirror-agent.upload`);
      const copy = new command.remote.CopyToRemote(
        `${name}-agent-copy-${h.role}`,
        {
          connection: sshConnection(h),
          source: binary.apply((b) => new pulumi.asset.FileAsset(b.path)),
          remotePath: remoteBin,
          triggers: [binary.apply((b) => b.sha256), h.instance],
        },
        { parent: this, dependsOn: h.ready },
      );
      const engine = args.engineAgent?.(h, peer);
      const rec = args.clientRecord;
      const dnsRecord = rec
        ? pulumi
            .all([rec.zoneId, h.address])
            .apply(([zoneId, address]) => ({ zoneId, name: rec.name, ttl: rec.ttl, address }))
        : undefined;
      const config = pulumi
        .all([endpoints, h.dataDir, h.name, dnsRecord])
        .apply(([eps, dataDir, hostName, dns]) =>
          JSON.stringify({
            name: h.role,
            peer: peer.role,
            // As a standby this host streams under its own host name (standby.sh).
            applicationName: engine?.applicationName ?? hostName,
            prefix: keyPrefix(args.stack),
            endpoints: eps,
            caCert: "TLSDIR/ca.crt",
            cert: "TLSDIR/host.crt",
            key: "TLSDIR/host.key",
            leaseTtlSeconds: s.leaseTtlSeconds,
            renewIntervalMs: s.renewIntervalMs,
            retryWindowMs: s.retryWindowMs,
            maxLagBytes: args.maxLagBytes,
            synchronous: args.synchronous,
            pgBin: "PGBIN",
            dataDir,
            socketDir: engine?.socketDir ?? `${path.dirname(dataDir)}/run`,
            port: h.dbPort,
            stateFile: "AUTODIR/state.json",
            ...engine?.config,
            ...(dns ? { dnsRecord: dns } : {}),
          }),
        );
      new RemoteStep(
        `${name}-agent-${h.role}`,
        {
          host: h,
          script: autoScript("agent", true),
          env: {
            GPM_AUTO_DIR: autoDir(h),
            GPM_AGENT_BIN: remoteBin,
            GPM_AGENT_SHA256: binary.apply((b) => b.sha256),
            GPM_AGENT_CONFIG: config,
            ...engine?.env,
            ...tlsEnv(h),
          },
          timeoutSeconds: args.stepTimeoutSeconds,
          onDelete: stopOnDestroy(h, "agent"),
        },
        { parent: this, dependsOn: [copy, ...etcd, ...args.after] },
      );
    });
    this.summary = pulumi.all([endpoints]).apply(([eps]) => ({
      prefix: keyPrefix(args.stack),
      endpoints: eps,
      members: members.map((h) => h.role),
      leaseTtlSeconds: s.leaseTtlSeconds,
      renewIntervalMs: s.renewIntervalMs,
      retryWindowMs: s.retryWindowMs,
      fenceAfterMs: s.fenceAfterMs,
      etcdHeartbeatMs: s.etcdHeartbeatMs,
      etcdElectionTimeoutMs: s.etcdElectionTimeoutMs,
    }));
    this.registerOutputs({ summary: this.summary });
  }
}

/** A step's text: the shared helpers, the supervisor's text, the step (and PostgreSQL's lib). */
function autoScript(step: string, withPostgres = false): string {
  const supervise = fs.readFileSync(scriptPath("remote", "auto", "supervise.sh"), "utf8");
  const files = remoteFiles("auto", step);
  // PostgreSQL's helpers (its bin directory) after common.sh, which they need first.
  if (withPostgres) files.splice(1, 0, scriptPath("remote", "postgres", "lib.sh"));
  const text = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
  return `SUPERVISE_TEXT=$(cat <<'GPM_SUPERVISE_EOF'\n${supervise}GPM_SUPERVISE_EOF\n)\n${text}`;
}

/** Rebuilds the agent when its source changes. */
function agentSourceDigest(): string {
  const dir = path.join(PACKAGE_ROOT, "agent");
  const h = createHash("sha256");
  for (const f of fs.readdirSync(dir).sort()) {
    if (/\.(go|mod|sum)$/.test(f)) h.update(f).update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest("hex");
}
