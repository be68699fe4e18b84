// A Pulumi program of your own with a gpmirror pair in it: its settings from this stack's
// `gpmirror:*` config, checked by gpmirror's parser; two hosts on this machine; PostgreSQL
// streaming between them. Your own resources would sit beside it.
import * as pulumi from "@pulumi/pulumi";
import { LocalHosts, MasterMirror, PostgresEngine, loadConfig, password } from "gpmirror";

// Every gpmirror:* setting of the stack, with gpmirror's defaults; a bad one stops the
// preview with its name and the fix, before anything is created.
const settings = loadConfig();
if (!settings.local) {
  throw new pulumi.RunError("this example builds local hosts: set gpmirror:platform to local");
}

const hosts = new LocalHosts("db-hosts", {
  stack: settings.stack,
  settings: settings.local,
  primaryDbPort: settings.primaryDbPort,
  standbyDbPort: settings.standbyDbPort,
});

const db = new MasterMirror("db", {
  primary: hosts.primary,
  standby: hosts.standby,
  engine: new PostgresEngine(),
  replication: settings.replication,
  // The given one (gpmirror:replicationPassword, a secret) or one generated once and kept.
  replicationPassword: password("db-replication-password", settings.replication.password, {}),
  ssh: hosts,
});

export const clientEndpoint = db.clientEndpoint;
export const primary = db.primary;
export const standby = db.standby;
export const replication = db.replication;
export const operatorAccess = db.operatorAccess;
