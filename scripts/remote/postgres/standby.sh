#!/usr/bin/env bash
# standby: base backup of the online primary through a replication slot, then WAL
# streaming. Runs on the standby host as its OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      GPM_PRIMARY_ADDRESS GPM_PRIMARY_PORT GPM_REPL_USER GPM_REPL_PASSWORD (secret)
#      GPM_SLOT_NAME [GPM_APPLICATION_NAME, default GPM_STANDBY_NAME]
#      [GPM_LOG_FILE=<parent of data dir>/standby.log] [GPM_PGPASS_FILE=<parent>/pgpass]
#      [GPM_MAX_SLOT_WAL_KEEP_SIZE=1GB] [GPM_WAL_KEEP_SIZE=256MB]
#      [GPM_BASEBACKUP_MAX_RATE: pg_basebackup --max-rate, e.g. 50M; default unlimited]
# Prints: {"created","started","restarted","reloaded","running","movedAside","applicationName","logFile"}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=standby
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup
gpm_need_address GPM_PRIMARY_ADDRESS "address of the primary"
gpm_need_port GPM_PRIMARY_PORT "PostgreSQL port of the primary"
gpm_need_match GPM_REPL_USER '^[a-z_][a-z0-9_]{0,62}$' "replication role name"
gpm_need GPM_REPL_PASSWORD "password of the replication role"
gpm_need_match GPM_SLOT_NAME '^[a-z0-9_]{1,63}$' "physical replication slot name"
[[ "$GPM_REPL_PASSWORD" != *$'\n'* ]] || gpm_die "GPM_REPL_PASSWORD must not contain a newline"
if [[ -z "${GPM_APPLICATION_NAME:-}" ]]; then
  gpm_need GPM_STANDBY_NAME "the standby's host name, used as application_name when GPM_APPLICATION_NAME is not set"
  GPM_APPLICATION_NAME="$GPM_STANDBY_NAME"
fi
gpm_need_match GPM_APPLICATION_NAME '^[A-Za-z0-9_.-]{1,63}$' "application_name of the standby: letters, digits, _ . -"
LOG_FILE="${GPM_LOG_FILE:-$HOST_DIR/standby.log}"
GPM_LOG_FILE="$LOG_FILE"
gpm_need_abs GPM_LOG_FILE "server log file"
PGPASS="${GPM_PGPASS_FILE:-$HOST_DIR/pgpass}"
GPM_PGPASS_FILE="$PGPASS"
gpm_need_abs GPM_PGPASS_FILE "pgpass file of the replication connection"

rate_opt=()
if [[ -n "${GPM_BASEBACKUP_MAX_RATE:-}" ]]; then
  gpm_need_match GPM_BASEBACKUP_MAX_RATE '^[0-9]+[kM]?$' "pg_basebackup --max-rate, e.g. 50M"
  rate_opt=(--max-rate="$GPM_BASEBACKUP_MAX_RATE")
fi
MARKER_NAME="gpmirror_standby_complete"
TMP_DIR="$DATA_DIR.basebackup"
mkdir -p "$HOST_DIR" "$SOCKET_DIR"
chmod 0700 "$SOCKET_DIR"

# pgpass (0600): the password never appears on a command line or in a config file.
pgpass_escape() {
  local v="$1"
  v="${v//\\/\\\\}"
  v="${v//:/\\:}"
  printf '%s' "$v"
}
if (
  umask 077
  printf '%s:%s:*:%s:%s\n' "$(pgpass_escape "$GPM_PRIMARY_ADDRESS")" "$GPM_PRIMARY_PORT" \
    "$GPM_REPL_USER" "$(pgpass_escape "$GPM_REPL_PASSWORD")" | gpm_write_if_changed "$PGPASS" 0600
); then
  gpm_log "wrote $PGPASS"
fi

conninfo="host=$(gpm_conninfo_quote "$GPM_PRIMARY_ADDRESS") port=$GPM_PRIMARY_PORT"
conninfo+=" user=$(gpm_conninfo_quote "$GPM_REPL_USER") passfile=$(gpm_conninfo_quote "$PGPASS")"
conninfo+=" application_name=$(gpm_conninfo_quote "$GPM_APPLICATION_NAME") connect_timeout=10"

standby_settings() {
  gpm_common_settings
  cat <<EOT
primary_conninfo = $(gpm_conf_quote "$conninfo")
primary_slot_name = $(gpm_conf_quote "$GPM_SLOT_NAME")
EOT
}

moved=()
# move_aside DIR WHY [KIND]: renamed to $DATA_DIR.<KIND>-<UTC time> (default kind: incomplete).
move_aside() {
  local dir="$1" why="$2" kind="${3:-incomplete}" dest
  dest="$DATA_DIR.$kind-$(gpm_utc_stamp)"
  while [[ -e "$dest" ]]; do
    sleep 1
    dest="$DATA_DIR.$kind-$(gpm_utc_stamp)"
  done
  gpm_log "$dir $why; moving it aside to $dest (kept, never deleted or reused)"
  mv "$dir" "$dest"
  moved+=("$dest")
}

stop_if_running() {
  local dir="$1"
  if [[ -f "$dir/postmaster.pid" ]] && "$PG_BIN/pg_ctl" status -D "$dir" >/dev/null 2>&1; then
    gpm_log "stopping the server running on $dir"
    "$PG_BIN/pg_ctl" stop -D "$dir" -m fast -w -t 60 >/dev/null 2>&1 ||
      "$PG_BIN/pg_ctl" stop -D "$dir" -m immediate -w -t 30 >/dev/null 2>&1 || true
  fi
}

created=false
fenced=false
[[ -f "$DATA_DIR/$GPM_FENCE_MARKER" ]] && fenced=true
if [[ "$fenced" == false && -f "$DATA_DIR/PG_VERSION" && -f "$DATA_DIR/$MARKER_NAME" && ! -f "$DATA_DIR/standby.signal" ]]; then
  gpm_die "$DATA_DIR was a standby and has been promoted (no standby.signal): it is a primary now. Refusing to replace it; re-protect it as a standby by hand (pg_rewind) or move it away first"
fi

# A fenced directory was the old primary: it may hold writes the new primary never saw, so it
# is moved aside and replaced by a fresh snapshot of the new primary (re-protection).
if [[ "$fenced" == false && -f "$DATA_DIR/PG_VERSION" && -f "$DATA_DIR/standby.signal" && -f "$DATA_DIR/$MARKER_NAME" ]]; then
  gpm_log "$DATA_DIR is a complete standby; checking its settings"
else
  # Leftovers of an interrupted earlier run are moved aside, never reused.
  if [[ -e "$TMP_DIR" ]]; then
    move_aside "$TMP_DIR" "is an unfinished base backup from an earlier run"
  fi
  if [[ -e "$DATA_DIR" ]]; then
    if [[ -d "$DATA_DIR" && -z "$(ls -A "$DATA_DIR")" ]]; then
      rmdir "$DATA_DIR"
    else
      stop_if_running "$DATA_DIR"
      if [[ "$fenced" == true ]]; then
        move_aside "$DATA_DIR" "is the fenced old primary" fenced
      else
        move_aside "$DATA_DIR" "is not a complete standby (no PG_VERSION, standby.signal or completion marker)"
      fi
    fi
  fi
  gpm_log "taking a base backup from $GPM_PRIMARY_ADDRESS:$GPM_PRIMARY_PORT through slot $GPM_SLOT_NAME into $TMP_DIR ..."
  PGPASSFILE="$PGPASS" "$PG_BIN/pg_basebackup" \
    -d "host=$(gpm_conninfo_quote "$GPM_PRIMARY_ADDRESS") port=$GPM_PRIMARY_PORT user=$(gpm_conninfo_quote "$GPM_REPL_USER") passfile=$(gpm_conninfo_quote "$PGPASS") connect_timeout=10" \
    -D "$TMP_DIR" -X stream -S "$GPM_SLOT_NAME" -c fast --no-password --no-clean "${rate_opt[@]}" \
    --progress --verbose >&2 ||
    gpm_die "pg_basebackup failed; the partial copy stays in $TMP_DIR and is moved aside on the next run"
  # Settings of our own, not -R: pg_basebackup -R could write a password into
  # postgresql.auto.conf. Drop any primary_conninfo the copy brought along.
  if [[ -f "$TMP_DIR/postgresql.auto.conf" ]]; then
    sed -i -E '/^[[:space:]]*(primary_conninfo|primary_slot_name)[[:space:]]*=/d' "$TMP_DIR/postgresql.auto.conf"
  fi
  rm -f "$TMP_DIR/$MARKER_NAME" "$TMP_DIR/postmaster.pid" "$TMP_DIR/postmaster.opts"
  : >"$TMP_DIR/standby.signal"
  printf 'base backup from %s:%s via slot %s completed %s\n' "$GPM_PRIMARY_ADDRESS" "$GPM_PRIMARY_PORT" \
    "$GPM_SLOT_NAME" "$(gpm_utc_stamp)" >"$TMP_DIR/$MARKER_NAME"
  sync -f "$TMP_DIR/$MARKER_NAME" 2>/dev/null || sync
  mv "$TMP_DIR" "$DATA_DIR"
  created=true
  gpm_log "base backup complete; $DATA_DIR is a standby"
fi

gpm_apply_config "$(standby_settings)" "$LOG_FILE"
gpm_start "$LOG_FILE"
if gpm_wait_ready 60; then
  [[ "$(gpm_psql -c 'SELECT pg_is_in_recovery()')" == t ]] || gpm_die "the server on $DATA_DIR is not in recovery"
  gpm_log "standby running on $LISTEN_ADDRESS:$DB_PORT (application_name $GPM_APPLICATION_NAME, log $LOG_FILE)"
else
  gpm_log "WARNING: the standby's postmaster runs but does not accept connections yet (not consistent; primary away?); see $LOG_FILE"
fi

moved_aside=""
if ((${#moved[@]})); then
  moved_aside="$(IFS=,; printf '%s' "${moved[*]}")"
fi
jq -cn --argjson created "$created" --argjson started "$GPM_STARTED" \
  --argjson restarted "$GPM_RESTARTED" --argjson reloaded "$GPM_RELOADED" \
  --arg movedAside "$moved_aside" --arg app "$GPM_APPLICATION_NAME" --arg log "$LOG_FILE" \
  '{created: $created, started: $started, restarted: $restarted, reloaded: $reloaded, running: true,
    movedAside: $movedAside, applicationName: $app, logFile: $log}'
