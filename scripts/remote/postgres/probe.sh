#!/usr/bin/env bash
# probe: what this host's server really is right now, read-only. Used by activation (is the
# old primary alive? how far behind is the standby?) and by the status command.
# Runs on either host as its OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      [GPM_SLOT_NAME: report this slot when the server is a primary]
# Prints: {"dataDir": bool, "running": bool, "acceptsConnections": bool, "inRecovery": bool|null,
#   "fenced": bool, "standbySignal": bool (only when it does not accept connections), "timeline": N|null, "currentLsn", "receiveLsn", "replayLsn",
#   "replayAgeSeconds": N|null, "walReceiver": "streaming"|...|null,
#   "replication": [{"applicationName","state","syncState","sentLsn","replayLsn","lagBytes","replayLagSeconds",
#     "replyAgeSeconds": seconds since the standby last answered}],
#   "slot": {"name","active","walStatus","retainedBytes","safeWalBytes"}|null,
#   "synchronousStandbyNames": "..."}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=probe
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup
slot="${GPM_SLOT_NAME:-}"
[[ -z "$slot" ]] || gpm_need_match GPM_SLOT_NAME '^[a-z0-9_]{1,63}$' "physical replication slot name"

has_dir=false running=false ready=false
[[ -f "$DATA_DIR/PG_VERSION" ]] && has_dir=true
fenced=false
[[ -f "$DATA_DIR/$GPM_FENCE_MARKER" ]] && fenced=true
standby_signal=false
[[ -f "$DATA_DIR/standby.signal" ]] && standby_signal=true
if gpm_pg_running; then
  running=true
  gpm_pg_ready && ready=true
fi

if [[ "$ready" != true ]]; then
  jq -cn --argjson dir "$has_dir" --argjson run "$running" --argjson fenced "$fenced" \
    --argjson sig "$standby_signal" \
    '{dataDir: $dir, running: $run, acceptsConnections: false, inRecovery: null, fenced: $fenced,
      standbySignal: $sig, timeline: null, replication: [], slot: null}'
  exit 0
fi

# One query builds the whole report, so the numbers come from one moment.
gpm_psql -v "slot=$slot" <<'SQL'
WITH me AS (SELECT pg_is_in_recovery() AS rec),
lsn AS (
  SELECT CASE WHEN rec THEN NULL ELSE pg_current_wal_lsn() END AS cur,
         pg_last_wal_receive_lsn() AS rcv, pg_last_wal_replay_lsn() AS rpl
  FROM me),
repl AS (
  SELECT coalesce(json_agg(json_build_object(
    'applicationName', application_name, 'state', state, 'syncState', sync_state,
    'sentLsn', sent_lsn::text, 'replayLsn', replay_lsn::text,
    'lagBytes', pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
    'replayLagSeconds', extract(epoch FROM replay_lag)::float8,
    'replyAgeSeconds', extract(epoch FROM now() - reply_time)::float8)), '[]'::json) AS rows
  FROM pg_stat_replication WHERE NOT (SELECT rec FROM me)),
slot AS (
  SELECT json_build_object('name', slot_name, 'active', active, 'walStatus', wal_status,
    'retainedBytes', CASE WHEN (SELECT rec FROM me) THEN NULL
                     ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint END,
    'safeWalBytes', safe_wal_size) AS s
  FROM pg_replication_slots WHERE slot_name = :'slot')
SELECT json_build_object(
  'dataDir', true, 'running', true, 'acceptsConnections', true,
  'inRecovery', me.rec,
  'fenced', false,
  'timeline', CASE WHEN me.rec THEN (SELECT timeline_id FROM pg_control_checkpoint())
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  'currentLsn', lsn.cur::text, 'receiveLsn', lsn.rcv::text, 'replayLsn', lsn.rpl::text,
  'replayAgeSeconds', CASE WHEN me.rec
    THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END,
  'walReceiver', (SELECT status FROM pg_stat_wal_receiver LIMIT 1),
  'replication', repl.rows,
  'slot', (SELECT s FROM slot),
  'synchronousStandbyNames', current_setting('synchronous_standby_names'))
FROM me, lsn, repl;
SQL
