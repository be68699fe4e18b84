import * as pulumi from "@pulumi/pulumi";
import { ReplicationSettings } from "../config";
import { Host } from "../host";

/** The two hosts and what replication between them needs, as every step sees them. */
export interface Pair {
  primary: Host;
  standby: Host;
  replication: ReplicationSettings;
  /** The replication role's password; always a secret. */
  replicationPassword: pulumi.Output<string>;
}

/** A step for one host: the script text and its parameters. */
export interface StepScript {
  script: string;
  env: Record<string, pulumi.Input<string>>;
}

/** What an engine must answer for each step of the pair (see ARCHITECTURE.md). */
export interface Engine {
  readonly name: string;
  /** Both hosts: binaries present, directories ready. */
  prepare(pair: Pair, host: Host): StepScript;
  /** The primary running. */
  primary(pair: Pair): StepScript;
  /** Replication role, access for the standby's address only, WAL retention. */
  access(pair: Pair): StepScript;
  /** Snapshot of the online primary, then streaming. */
  standby(pair: Pair): StepScript;
  /** Wait until streaming; report state and lag. */
  verify(pair: Pair): StepScript;
  /** The exact command an operator pastes to promote the standby. */
  activationCommand(
    pair: Pair,
    ssh: SshCommandLine,
    binDir: pulumi.Output<string>,
  ): pulumi.Output<string>;
}

/** How an operator reaches a host from the machine that runs Pulumi. */
export interface SshCommandLine {
  /** e.g. `ssh -i KEY -o UserKnownHostsFile=FILE -p 22 user@host` */
  prefix(host: Host): pulumi.Output<string>;
}
