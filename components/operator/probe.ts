// What probe.sh reports of one host's server (scripts/remote/postgres/probe.sh;
// scripts/remote/greenplum/probe.sh prints the same shape and the Greenplum fields below).

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
  /** Greenplum primary: WAL kept for a standby that is away (wal_keep_size; no slot does). */
  walKeepBytes?: number | null;
  /** Greenplum primary: the standby gp_segment_configuration registers (content -1, role m). */
  registeredStandby?: RegisteredStandby | null;
  /** Greenplum standby: where it resumes replay, from its control file. */
  resumeLsn?: string | null;
  /** Greenplum standby: its log says the primary removed WAL it needs (it can never catch up). */
  walRemoved?: boolean;
}

export interface RegisteredStandby {
  hostname: string;
  address: string;
  port: number;
  dataDir: string;
  /** u or d; a dead standby stays u: only pg_stat_replication tells. */
  status: string;
}
