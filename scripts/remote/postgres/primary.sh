#!/usr/bin/env bash
# primary: initialize (once, with data checksums) and run the primary.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      [GPM_LOG_FILE=<parent of data dir>/primary.log]
#      [GPM_MAX_SLOT_WAL_KEEP_SIZE=1GB] [GPM_WAL_KEEP_SIZE=256MB]
#      [GPM_EXPECTED_SYSTEM_ID]: the system identifier the pair had; when set, a missing or
#      empty data directory is refused (never initialized), and so is another system's
# Prints: {"initialized","started","restarted","reloaded","running","systemIdentifier","serverVersion","logFile"}
#   initialized/started/restarted/reloaded say what THIS run did.
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=primary
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup
LOG_FILE="${GPM_LOG_FILE:-$HOST_DIR/primary.log}"
GPM_LOG_FILE="$LOG_FILE"
gpm_need_abs GPM_LOG_FILE "server log file"

mkdir -p "$HOST_DIR" "$SOCKET_DIR"
chmod 0700 "$SOCKET_DIR"

initialized=false
EXPECTED_SYSTEM_ID="${GPM_EXPECTED_SYSTEM_ID:-}"
if [[ ! -f "$DATA_DIR/PG_VERSION" ]]; then
  if [[ -d "$DATA_DIR" ]] && [[ -n "$(ls -A "$DATA_DIR")" ]]; then
    gpm_die "GPM_DATA_DIR $DATA_DIR is not empty but has no PG_VERSION: not a PostgreSQL data directory; move it away (it is never deleted by gpmirror)"
  fi
  [[ -z "$EXPECTED_SYSTEM_ID" ]] ||
    gpm_die "$DATA_DIR is empty, but this pair had database system $EXPECTED_SYSTEM_ID: refusing to initialize a new, empty one in its place (a lost or unmounted data volume?). Attach the volume that holds it, or restore it; to start a new system on purpose set aws.allowNewDatabaseSystem to true for one update"
  gpm_log "initializing a new cluster in $DATA_DIR (data checksums on, superuser $OS_USER) ..."
  "$PG_BIN/initdb" -D "$DATA_DIR" --data-checksums --username="$OS_USER" \
    --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >&2
  initialized=true
fi

if [[ -n "$EXPECTED_SYSTEM_ID" ]]; then
  found="$("$PG_BIN/pg_controldata" "$DATA_DIR" | sed -n 's/^Database system identifier: *//p')"
  [[ "$found" == "$EXPECTED_SYSTEM_ID" ]] ||
    gpm_die "$DATA_DIR holds database system '$found', not this pair's $EXPECTED_SYSTEM_ID: another system's data directory (the wrong volume?); refusing to run it as the primary"
fi

[[ ! -f "$DATA_DIR/standby.signal" ]] ||
  gpm_die "$DATA_DIR has standby.signal: it is a standby, not a primary; refusing to treat it as the primary"

gpm_apply_config "$(gpm_common_settings)" "$LOG_FILE"
gpm_start "$LOG_FILE"
gpm_wait_ready 60 || gpm_die "PostgreSQL runs but does not accept connections; see $LOG_FILE"

in_recovery="$(gpm_psql -c 'SELECT pg_is_in_recovery()')"
[[ "$in_recovery" == "f" ]] || gpm_die "the server on $DATA_DIR is in recovery (a standby?); expected a primary"
sysid="$(gpm_psql -c 'SELECT system_identifier FROM pg_control_system()')"
server_version="$(gpm_psql -c "SELECT split_part(current_setting('server_version'), ' ', 1)")"
checksums="$(gpm_psql -c 'SHOW data_checksums')"
hints="$(gpm_psql -c 'SHOW wal_log_hints')"
if [[ "$checksums" != on && "$hints" != on ]]; then
  gpm_log "WARNING: neither data_checksums nor wal_log_hints is on yet; pg_rewind will not work until a restart"
fi
gpm_log "primary $server_version running on $LISTEN_ADDRESS:$DB_PORT, system identifier $sysid"

jq -cn --argjson initialized "$initialized" --argjson started "$GPM_STARTED" \
  --argjson restarted "$GPM_RESTARTED" --argjson reloaded "$GPM_RELOADED" \
  --arg sysid "$sysid" --arg version "$server_version" --arg log "$LOG_FILE" \
  '{initialized: $initialized, started: $started, restarted: $restarted, reloaded: $reloaded,
    running: true, systemIdentifier: $sysid, serverVersion: $version, logFile: $log}'
