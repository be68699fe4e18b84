#!/usr/bin/env bash
# activate: promote the standby to a primary (fencing the old primary is the caller's
# job, done before this runs). Runs on the standby host as its OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      [GPM_LOG_FILE=<parent of data dir>/standby.log] [GPM_TIMEOUT_SECONDS=60]
# Prints: {"promoted": true, "wasAlreadyPrimary": bool, "timeline": N}
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
[[ -f "$DATA_DIR/PG_VERSION" ]] || gpm_die "GPM_DATA_DIR $DATA_DIR is not a PostgreSQL data directory"

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

tli_hex="$(gpm_psql -c 'SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)')"
[[ "$tli_hex" =~ ^[0-9A-Fa-f]{8}$ ]] || gpm_die "could not read the timeline (got '$tli_hex')"
timeline=$((16#$tli_hex))
gpm_log "primary on timeline $timeline"
jq -cn --argjson was "$was_primary" --argjson tli "$timeline" \
  '{promoted: true, wasAlreadyPrimary: $was, timeline: $tli}'
