/**
 * gpmirror as a library: the pieces of a primary/standby pair for a Pulumi program of your own.
 *
 * A pair is two {@link Host}s (made by {@link LocalHosts}, {@link ExistingHosts} or
 * {@link AwsHosts}), an {@link Engine} ({@link PostgresEngine} or {@link GreenplumEngine}) and
 * a {@link MasterMirror} that runs the engine's steps on the hosts over SSH. Settings can be
 * checked and given their defaults by {@link parseSettings} (plain values) or
 * {@link loadConfig} (the stack's `gpmirror:*` config), as the standalone program does.
 *
 * @example
 * ```ts
 * import { LocalHosts, MasterMirror, PostgresEngine, loadConfig, password } from "gpmirror";
 *
 * const settings = loadConfig();
 * if (!settings.local) throw new Error("set gpmirror:platform to local");
 * const hosts = new LocalHosts("db-hosts", {
 *   stack: settings.stack,
 *   settings: settings.local,
 *   primaryDbPort: settings.primaryDbPort,
 *   standbyDbPort: settings.standbyDbPort,
 * });
 * const db = new MasterMirror("db", {
 *   primary: hosts.primary,
 *   standby: hosts.standby,
 *   engine: new PostgresEngine(),
 *   replication: settings.replication,
 *   replicationPassword: password("db-replication-password", settings.replication.password, {}),
 *   ssh: hosts,
 * });
 * export const endpoint = db.clientEndpoint;
 * ```
 *
 * The package's remote and local scripts are read and run from its own `scripts/` directory,
 * wherever it is installed.
 *
 * @packageDocumentation
 */

export { MasterMirror } from "./masterMirror";
export type {
  Activation,
  MasterMirrorArgs,
  NodeSummary,
  ReplicationStatus,
  StandbyOrigin,
} from "./masterMirror";
export type { ActivationArgs } from "./activation";
export type { Host, SshProxy } from "./host";
export type { StepResult } from "./remoteStep";

export { LocalHosts } from "./hosts/local";
export type { LocalHostsArgs } from "./hosts/local";
export { ExistingHosts } from "./hosts/existing";
export { AwsHosts, operatorSsh } from "./hosts/aws";
export type { AwsHostsArgs } from "./hosts/aws";

export { AutomaticFailover, autoDir } from "./automatic";
export type { AutomaticFailoverArgs } from "./automatic";
export { memberAddress, memberEndpoints, readLeader } from "./automaticLeader";

export { PostgresEngine } from "./engines/postgres";
export { GreenplumEngine } from "./engines/greenplum";
export type {
  ActivationOptions,
  ActivationScripts,
  Engine,
  OperatorLogin,
  Pair,
  SshCommandLine,
  StepScript,
  TrustInputs,
} from "./engines/engine";

export { CONFIG_NAMESPACE, ConfigError, loadConfig, parseSettings } from "./config";
export type * from "./config";
export { activationSwitch } from "./config/activation";

export { password } from "./password";
export type { AccessHost, OperatorAccess, ProbeParams, WitnessAccess } from "./operator/access";
export { hostAccess } from "./operator/access";
export { PACKAGE_ROOT } from "./packageRoot";
