// What probe.sh reports of one host's server (scripts/remote/postgres/probe.sh).

export interface ReplicationRow {
  applicationName: string;
  state: string;
  syncState: string;
  sentLsn: string | null;
  replayLsn: string | null;
  lagBytes: number | null;
  replayLagSeconds: number | null;
  /** Seconds since the standby last answered (it does at least every 10 s while connected). */
  replyAgeSeconds?: number | null;
}

export interface SlotState {
  name: string;
  active: boolean;
  /** reserved | extended | unreserved | lost */
  walStatus: string | null;
  retainedBytes: number | null;
  /** Bytes the primary can still write before the slot is lost (null: no bound). */
  safeWalBytes: number | null;
}

export interface Probe {
  dataDir: boolean;
  running: boolean;
  acceptsConnections: boolean;
  inRecovery: boolean | null;
  fenced: boolean;
  timeline: number | null;
  currentLsn?: string | null;
  receiveLsn?: string | null;
  replayLsn?: string | null;
  replayAgeSeconds?: number | null;
  walReceiver?: string | null;
  replication: ReplicationRow[];
  slot: SlotState | null;
  synchronousStandbyNames?: string;
}
