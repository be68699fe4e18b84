#!/usr/bin/env bash
# fence: make sure the old primary can no longer accept writes, before the standby is
# promoted. Stops the server and leaves the data directory unable to start as a primary
# (standby.signal with no primary_conninfo, and a marker that re-protection reads), never
# deleting anything. Runs on the old primary's host as its OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      GPM_FENCE_ACTION: clean (switchover: a fast shutdown, which sends the last WAL to the
#      standby first) or immediate (failover)
# Prints: {"stopped": bool, "wasRunning": bool, "lastCheckpointLsn": "X/Y"|null, "fenced": true}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=fence
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup
gpm_need_match GPM_FENCE_ACTION '^(clean|immediate)$' "how to stop the old primary: clean or immediate"

was_running=false
if gpm_pg_running; then
  was_running=true
  mode=fast
  [[ "$GPM_FENCE_ACTION" == clean ]] || mode=immediate
  gpm_log "stopping the old primary on $DATA_DIR (-m $mode)"
  "$PG_BIN/pg_ctl" stop -D "$DATA_DIR" -m "$mode" -w -t 60 >&2 ||
    "$PG_BIN/pg_ctl" stop -D "$DATA_DIR" -m immediate -w -t 30 >&2 ||
    gpm_die "could not stop the server on $DATA_DIR; it may still accept writes"
fi
gpm_pg_running && gpm_die "the server on $DATA_DIR is still running"

checkpoint=""
if [[ -f "$DATA_DIR/PG_VERSION" ]]; then
  checkpoint="$("$PG_BIN/pg_controldata" -D "$DATA_DIR" | sed -n 's/^Latest checkpoint location: *//p')"
  # standby.signal without primary_conninfo: a start by hand waits in recovery, read-only.
  : >"$DATA_DIR/standby.signal"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$DATA_DIR/$GPM_FENCE_MARKER"
  gpm_log "fenced $DATA_DIR (last checkpoint $checkpoint); it cannot start as a primary"
fi
jq -cn --argjson was "$was_running" --arg cp "$checkpoint" \
  '{stopped: true, wasRunning: $was, lastCheckpointLsn: (if $cp == "" then null else $cp end), fenced: true}'
