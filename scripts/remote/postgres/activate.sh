#!/usr/bin/env bash
# activate: promote the standby to a primary (fencing the old primary is the caller's
# job, done before this runs). Runs on the standby host as its OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      [GPM_LOG_FILE=<parent of data dir>/standby.log] [GPM_TIMEOUT_SECONDS=60]
#      [GPM_WAIT_FOR_LSN: switchover: promote only once WAL up to this LSN is replayed]
# Prints: {"promoted": bool, "wasAlreadyPrimary": bool, "timeline": N, "replayLsn"}
#   or, when there is no data directory yet (a new pair): {"promoted": false, "skipped": "..."}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=activate
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup
LOG_FILE="${GPM_LOG_FILE:-$HOST_DIR/standby.log}"
timeout_s="${GPM_TIMEOUT_SECONDS:-60}"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || gpm_die "GPM_TIMEOUT_SECONDS must be a whole number of seconds, got '$timeout_s'"
if [[ ! -e "$DATA_DIR" ]]; then
  gpm_log "no data directory at $DATA_DIR yet: a new pair, nothing to activate"
  jq -cn '{promoted: false, wasAlreadyPrimary: false, skipped: "no data directory yet"}'
  exit 0
fi
[[ -f "$DATA_DIR/PG_VERSION" ]] || gpm_die "GPM_DATA_DIR $DATA_DIR is not a PostgreSQL data directory"
wait_lsn="${GPM_WAIT_FOR_LSN:-}"
[[ -z "$wait_lsn" ]] || gpm_need_match GPM_WAIT_FOR_LSN '^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$' "an LSN such as 0/3000060"

if ! gpm_pg_running; then
  gpm_log "the server on $DATA_DIR is not running; starting it first"
  gpm_start "$LOG_FILE"
fi
gpm_wait_ready "$timeout_s" ||
  gpm_die "the server on $DATA_DIR does not accept connections (a standby that is not consistent yet cannot be promoted safely); see $LOG_FILE"

was_primary=false
if [[ "$(gpm_psql -c 'SELECT pg_is_in_recovery()')" == f ]]; then
  was_primary=true
  gpm_log "$DATA_DIR is already a primary; nothing to do"
else
  if [[ -n "$wait_lsn" ]]; then
    gpm_log "waiting until the standby has replayed the old primary's last WAL ($wait_lsn) ..."
    for ((i = 0; i < timeout_s; i++)); do
      [[ "$(gpm_psql -v "l=$wait_lsn" <<<"SELECT pg_last_wal_replay_lsn() >= :'l'::pg_lsn;")" == t ]] && break
      sleep 1
    done
    [[ "$(gpm_psql -v "l=$wait_lsn" <<<"SELECT pg_last_wal_replay_lsn() >= :'l'::pg_lsn;")" == t ]] ||
      gpm_die "the standby has not replayed up to $wait_lsn within ${timeout_s}s: not promoting (the old primary is stopped and fenced; start it again by removing its fence, or force a failover)"
  fi
  gpm_log "promoting the standby on $DATA_DIR ..."
  "$PG_BIN/pg_ctl" promote -D "$DATA_DIR" -w -t "$timeout_s" >&2 ||
    gpm_log "pg_ctl promote did not confirm; checking pg_is_in_recovery() ..."
  for ((i = 0; i < timeout_s; i++)); do
    [[ "$(gpm_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null || echo t)" == f ]] && break
    sleep 1
  done
  [[ "$(gpm_psql -c 'SELECT pg_is_in_recovery()')" == f ]] ||
    gpm_die "the server on $DATA_DIR is still in recovery ${timeout_s}s after promote; see $LOG_FILE"
fi

# A promoted standby has no standby of its own yet: carrying the old primary's synchronous
# setting, every commit would wait for nobody. It runs asynchronously until re-protection
# (verify.sh) makes its new standby synchronous again.
if [[ -n "$(gpm_psql -c 'SHOW synchronous_standby_names')" ]]; then
  gpm_log "no standby yet: synchronous replication off until re-protection"
  gpm_psql -c "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
  gpm_psql -c "SELECT pg_reload_conf()" >/dev/null
fi

tli_hex="$(gpm_psql -c 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')"
[[ "$tli_hex" =~ ^[0-9A-Fa-f]{8}$ ]] || gpm_die "could not read the timeline (got '$tli_hex')"
timeline=$((16#$tli_hex))
gpm_log "primary on timeline $timeline"
replay="$(gpm_psql -c 'SELECT pg_current_wal_lsn()')"
jq -cn --argjson was "$was_primary" --argjson tli "$timeline" --arg lsn "$replay" \
  '{promoted: ($was | not), wasAlreadyPrimary: $was, timeline: $tli, currentLsn: $lsn}'
