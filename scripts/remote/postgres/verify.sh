#!/usr/bin/env bash
# verify: wait until the standby streams from this primary; report state and lag.
# Runs on the primary as the host's OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      GPM_APPLICATION_NAME [GPM_TIMEOUT_SECONDS=120] [GPM_STANDBY_LOG: shown on timeout]
#      [GPM_SLOT_NAME: when set, the slot's state is shown on timeout]
#      [GPM_SYNCHRONOUS=true|false: once the standby streams, make it synchronous (every
#       commit waits until it has flushed it: RPO 0) or asynchronous, and report which]
# Prints: {"state","syncState","sentLsn","replayLsn","replayLagBytes","applicationName","clientAddr"}
# Exits 1 on timeout, saying what it saw.
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=verify
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup
gpm_need_match GPM_APPLICATION_NAME '^[A-Za-z0-9_.-]{1,63}$' "application_name of the standby"
timeout_s="${GPM_TIMEOUT_SECONDS:-120}"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || gpm_die "GPM_TIMEOUT_SECONDS must be a whole number of seconds, got '$timeout_s'"
app="$GPM_APPLICATION_NAME"

gpm_pg_running || gpm_die "PostgreSQL is not running on $DATA_DIR (the primary); see $HOST_DIR/primary.log"

query="SELECT state, sync_state, sent_lsn, replay_lsn,
  pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, coalesce(host(client_addr), 'local')
FROM pg_stat_replication WHERE application_name = :'app'
ORDER BY (state = 'streaming') DESC, backend_start DESC LIMIT 1;"

# Synchronous replication is switched on only here, once the standby streams: set earlier,
# every write (even this tool's own) would wait for a standby that is not there yet. It lives
# in postgresql.auto.conf, which activate.sh resets on a promoted standby.
want_sync="${GPM_SYNCHRONOUS:-false}"
[[ "$want_sync" =~ ^(true|false)$ ]] || gpm_die "GPM_SYNCHRONOUS must be true or false, got '$want_sync'"
sync_applied=false
apply_sync_mode() {
  [[ "$sync_applied" == false ]] || return 0
  sync_applied=true
  local wanted=""
  [[ "$want_sync" == false ]] || wanted="FIRST 1 (\"$app\")"
  [[ "$(gpm_psql -c 'SHOW synchronous_standby_names')" != "$wanted" ]] || return 0
  gpm_log "synchronous_standby_names := '$wanted' (synchronous replication $([[ -n "$wanted" ]] && echo on || echo off))"
  if [[ -n "$wanted" ]]; then
    gpm_psql -v "v=$wanted" <<<"ALTER SYSTEM SET synchronous_standby_names = :'v';" >/dev/null
  else
    gpm_psql -c "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
  fi
  gpm_psql -c "SELECT pg_reload_conf()" >/dev/null
}

start=$(date +%s)
last_report=0
seen="no row in pg_stat_replication with application_name '$app'"
row=""
while :; do
  row="$(gpm_psql -F $'\t' -v "app=$app" <<<"$query" 2>/dev/null || true)"
  state=""; sync_state=""; sent=""; replay=""; lag=""; client=""
  if [[ -n "$row" ]]; then
    IFS=$'\t' read -r state sync_state sent replay lag client <<<"$row"
    seen="state '$state' (sync_state $sync_state, sent $sent, replay ${replay:-none}) from $client"
    if [[ "$state" == streaming && -n "$replay" ]]; then
      apply_sync_mode
      # Synchronous replication is in force once the primary counts this standby as sync.
      [[ "$want_sync" != true || "$sync_state" == sync || "$sync_state" == quorum ]] && break
      seen+=", waiting for sync_state sync"
    fi
  fi
  now=$(date +%s)
  if ((now - start >= timeout_s)); then
    msg="standby '$app' is not streaming after ${timeout_s}s: last seen $seen."
    if [[ -n "${GPM_SLOT_NAME:-}" ]]; then
      slot="$(gpm_psql -F ' ' -v "s=$GPM_SLOT_NAME" <<<"SELECT 'active=' || active, 'restart_lsn=' || coalesce(restart_lsn::text, 'none'), 'wal_status=' || coalesce(wal_status, 'none') FROM pg_replication_slots WHERE slot_name = :'s';" 2>/dev/null || true)"
      msg+=" Slot $GPM_SLOT_NAME: ${slot:-missing}."
    fi
    msg+=" Look at the standby's log"
    [[ -z "${GPM_STANDBY_LOG:-}" ]] || msg+=" ($GPM_STANDBY_LOG on the standby host)"
    msg+=" and at the primary's log (${GPM_PRIMARY_LOG:-$HOST_DIR/primary.log})."
    gpm_die "$msg"
  fi
  if ((now - last_report >= 5)); then
    gpm_log "waiting for '$app' to stream ($((now - start))s/${timeout_s}s): $seen"
    last_report=$now
  fi
  sleep 1
done

gpm_log "standby '$app' is streaming from $client: sent $sent, replayed $replay, lag $lag bytes"
jq -cn --arg state "$state" --arg sync "$sync_state" --arg sent "$sent" --arg replay "$replay" \
  --argjson lag "${lag:-0}" --arg app "$app" --arg client "$client" \
  '{state: $state, syncState: $sync, sentLsn: $sent, replayLsn: $replay, replayLagBytes: $lag,
    applicationName: $app, clientAddr: $client}'
