#!/usr/bin/env bash
# standby: base backup of the online primary through a replication slot, then WAL
# streaming. Runs on the standby host as its OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      GPM_PRIMARY_ADDRESS GPM_PRIMARY_PORT GPM_REPL_USER GPM_REPL_PASSWORD (secret)
#      GPM_SLOT_NAME [GPM_APPLICATION_NAME, default GPM_STANDBY_NAME]
#      [GPM_LOG_FILE=<parent of data dir>/standby.log] [GPM_PGPASS_FILE=<parent>/pgpass]
#      [GPM_MAX_SLOT_WAL_KEEP_SIZE=1GB] [GPM_WAL_KEEP_SIZE=256MB]
#      [GPM_BASEBACKUP_MAX_RATE: pg_basebackup --max-rate, e.g. 50M; default unlimited]
#      [GPM_CATCH_UP_CHECK_SECONDS=20: how long an existing standby is watched for "the WAL I
#       need is gone" (a lost slot); then it is moved aside as <dir>.lost-<time> and rebuilt]
#      [GPM_REPROTECT=rewind|snapshot: how a fenced old primary becomes the standby: pg_rewind
#       onto the new primary's timeline (a fresh snapshot when that fails), or always a snapshot]
# Prints: {"created","rewound","divergedAt","rewindError","started","restarted","reloaded","running","movedAside",
#   "applicationName","logFile"}
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

REPROTECT="${GPM_REPROTECT:-rewind}"
GPM_REPROTECT="$REPROTECT"
gpm_need_match GPM_REPROTECT '^(rewind|snapshot)$' "re-protection method: rewind or snapshot"
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

# take_base_backup: a fresh snapshot of the online primary through the slot, made in
# $TMP_DIR and renamed to $DATA_DIR only once complete (with the completion marker).
take_base_backup() {
  gpm_log "taking a base backup from $GPM_PRIMARY_ADDRESS:$GPM_PRIMARY_PORT through slot $GPM_SLOT_NAME into $TMP_DIR ..."
  PGPASSFILE="$PGPASS" "$PG_BIN/pg_basebackup" \
    -d "host=$(gpm_conninfo_quote "$GPM_PRIMARY_ADDRESS") port=$GPM_PRIMARY_PORT user=$(gpm_conninfo_quote "$GPM_REPL_USER") passfile=$(gpm_conninfo_quote "$PGPASS") connect_timeout=10" \
    -D "$TMP_DIR" -X stream -S "$GPM_SLOT_NAME" -c fast --no-password --no-clean "${rate_opt[@]}" \
    --progress --verbose >&2 ||
    gpm_die "pg_basebackup failed; the partial copy stays in $TMP_DIR and is moved aside on the next run"
  drop_upstream_settings "$TMP_DIR"
  rm -f "$TMP_DIR/$MARKER_NAME" "$TMP_DIR/postmaster.pid" "$TMP_DIR/postmaster.opts"
  : >"$TMP_DIR/standby.signal"
  printf 'base backup from %s:%s via slot %s completed %s\n' "$GPM_PRIMARY_ADDRESS" "$GPM_PRIMARY_PORT" \
    "$GPM_SLOT_NAME" "$(gpm_utc_stamp)" >"$TMP_DIR/$MARKER_NAME"
  sync -f "$TMP_DIR/$MARKER_NAME" 2>/dev/null || sync
  mv "$TMP_DIR" "$DATA_DIR"
  created=true
  gpm_log "base backup complete; $DATA_DIR is a standby"
}

# drop_upstream_settings DIR: a copy of the primary brings the primary's postgresql.auto.conf;
# primary_conninfo and primary_slot_name come from gpmirror.conf only (pg_basebackup -R or a
# copied line could carry a password into postgresql.auto.conf).
drop_upstream_settings() {
  [[ -f "$1/postgresql.auto.conf" ]] || return 0
  sed -i -E '/^[[:space:]]*(primary_conninfo|primary_slot_name)[[:space:]]*=/d' "$1/postgresql.auto.conf"
}

# rewind_fenced: pg_rewind the fenced old primary onto the new primary's timeline: only the
# blocks changed since the timelines split are copied, instead of the whole database. Its own
# writes after the split (never seen by the new primary) are discarded. Returns non-zero when
# pg_rewind fails; the directory is then fenced again for the caller to move aside.
rewound=false
diverged=""
rewind_error=""
REWIND_NOTE="$DATA_DIR.rewinding"
rewind_fenced() {
  local out="$HOST_DIR/pg_rewind.log"
  # pg_rewind first finishes a killed server's crash recovery in single-user mode, which
  # refuses standby mode: standby.signal goes for that time. The fence marker stays until
  # pg_rewind replaces the directory's files, so gpmirror never starts it as a primary.
  rm -f "$DATA_DIR/standby.signal"
  # A rewind cut short leaves a directory that only a fresh snapshot can replace: this note,
  # outside the directory (pg_rewind removes what the source lacks), says so to the next run.
  date -u +%Y-%m-%dT%H:%M:%SZ >"$REWIND_NOTE"
  gpm_log "rewinding the fenced old primary $DATA_DIR onto $GPM_PRIMARY_ADDRESS:$GPM_PRIMARY_PORT's timeline (pg_rewind; log $out) ..."
  if ! PGPASSFILE="$PGPASS" "$PG_BIN/pg_rewind" --target-pgdata="$DATA_DIR" \
    --source-server="$conninfo dbname=postgres" --progress >"$out" 2>&1; then
    gpm_log "pg_rewind failed; its last lines:"
    tail -n 5 "$out" | sed 's/^/  /' >&2
    rewind_error="$(grep -E '^pg_rewind: (error|fatal)' "$out" | tail -n 1 || true)"
    rewind_error="${rewind_error:-$(tail -n 1 "$out")}"
    rm -f "$REWIND_NOTE"
    : >"$DATA_DIR/standby.signal"
    [[ -f "$DATA_DIR/$GPM_FENCE_MARKER" ]] || date -u +%Y-%m-%dT%H:%M:%SZ >"$DATA_DIR/$GPM_FENCE_MARKER"
    return 1
  fi
  diverged="$(sed -n 's/.*servers diverged at WAL location \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$out" | head -n 1)"
  drop_upstream_settings "$DATA_DIR"
  # A standby needs no slot of its own (access.sh creates one when it is promoted); the old
  # primary's slot would only hold WAL back on it.
  rm -rf "${DATA_DIR:?}/pg_replslot/"*
  rm -f "$DATA_DIR/$GPM_FENCE_MARKER"
  : >"$DATA_DIR/standby.signal"
  printf 'rewound onto %s:%s (diverged at %s) %s\n' "$GPM_PRIMARY_ADDRESS" "$GPM_PRIMARY_PORT" \
    "${diverged:-none}" "$(gpm_utc_stamp)" >"$DATA_DIR/$MARKER_NAME"
  sync -f "$DATA_DIR/$MARKER_NAME" 2>/dev/null || sync
  rm -f "$REWIND_NOTE"
  rewound=true
  if [[ -n "$diverged" ]]; then
    gpm_log "rewound; the timelines split at $diverged, and $DATA_DIR follows the new primary now"
  else
    gpm_log "no rewind was needed (the old primary stopped where the new timeline begins)"
  fi
}

# stop_leftover_basebackup: ends a pg_basebackup of an interrupted earlier run that still
# writes into $TMP_DIR (it would hold the slot, and the new copy would fail).
stop_leftover_basebackup() {
  local pids=() pid args i
  for pid in $(pgrep -u "$(id -u)" -x pg_basebackup || true); do
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ " $args" == *" -D $TMP_DIR "* ]] && pids+=("$pid")
  done
  ((${#pids[@]})) || return 0
  gpm_log "stopping pg_basebackup ${pids[*]} of an interrupted earlier run (it writes into $TMP_DIR)"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "${pids[@]}" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

created=false
fenced=false
[[ -f "$DATA_DIR/$GPM_FENCE_MARKER" ]] && fenced=true
if [[ -f "$REWIND_NOTE" ]]; then
  # pg_rewind was cut short (its run was killed): the directory may be half old, half new.
  if [[ -e "$DATA_DIR" ]]; then
    stop_if_running "$DATA_DIR"
    move_aside "$DATA_DIR" "was being rewound when an earlier run was cut short" rewind-interrupted
  fi
  rm -f "$REWIND_NOTE"
  fenced=false
fi
if [[ "$fenced" == false && -f "$DATA_DIR/PG_VERSION" && -f "$DATA_DIR/$MARKER_NAME" && ! -f "$DATA_DIR/standby.signal" ]]; then
  gpm_die "$DATA_DIR was a standby and has been promoted (no standby.signal): it is a primary now. Refusing to replace it; re-protect it as a standby by hand (pg_rewind) or move it away first"
fi

# A fenced directory was the old primary: it may hold writes the new primary never saw, so it
# is moved aside and replaced by a fresh snapshot of the new primary (re-protection).
if [[ "$fenced" == false && -f "$DATA_DIR/PG_VERSION" && -f "$DATA_DIR/standby.signal" && -f "$DATA_DIR/$MARKER_NAME" ]]; then
  gpm_log "$DATA_DIR is a complete standby; checking its settings"
else
  # Leftovers of an interrupted earlier run are moved aside, never reused; a pg_basebackup of
  # that run that still writes into it (its session was cut) is stopped first.
  stop_leftover_basebackup
  if [[ -e "$TMP_DIR" ]]; then
    move_aside "$TMP_DIR" "is an unfinished base backup from an earlier run"
  fi
  if [[ -e "$DATA_DIR" ]]; then
    if [[ -d "$DATA_DIR" && -z "$(ls -A "$DATA_DIR")" ]]; then
      rmdir "$DATA_DIR"
    else
      stop_if_running "$DATA_DIR"
      if [[ "$fenced" == true ]]; then
        if [[ "$REPROTECT" == rewind ]] && rewind_fenced; then
          :
        else
          move_aside "$DATA_DIR" "is the fenced old primary" fenced
        fi
      else
        move_aside "$DATA_DIR" "is not a complete standby (no PG_VERSION, standby.signal or completion marker)"
      fi
    fi
  fi
  [[ "$rewound" == true ]] || take_base_backup
fi

# What a standby logs when the primary no longer has the WAL it needs: only a new snapshot helps.
LOST_WAL_RE='requested WAL segment [0-9A-F]+ has already been removed|can no longer get changes from replication slot|slot has been invalidated'

run_standby() {
  gpm_apply_config "$(standby_settings)" "$LOG_FILE"
  gpm_start "$LOG_FILE"
  if gpm_wait_ready 60; then
    [[ "$(gpm_psql -c 'SELECT pg_is_in_recovery()')" == t ]] || gpm_die "the server on $DATA_DIR is not in recovery"
    gpm_log "standby running on $LISTEN_ADDRESS:$DB_PORT (application_name $GPM_APPLICATION_NAME, log $LOG_FILE)"
  else
    gpm_log "WARNING: the standby's postmaster runs but does not accept connections yet (not consistent; primary away?); see $LOG_FILE"
  fi
}

# cannot_catch_up LOG_OFFSET: 0 when, during this run (the log after LOG_OFFSET), the standby
# was told that the WAL it needs is gone (its slot lost it: max_slot_wal_keep_size), and it
# does not stream steadily. Decided within GPM_CATCH_UP_CHECK_SECONDS (default 20).
cannot_catch_up() {
  local offset="$1" limit="${GPM_CATCH_UP_CHECK_SECONDS:-20}" i streak=0 status
  [[ "$limit" =~ ^[0-9]+$ ]] || gpm_die "GPM_CATCH_UP_CHECK_SECONDS must be a whole number"
  for ((i = 0; i < limit; i++)); do
    if tail -c +"$((offset + 1))" "$LOG_FILE" 2>/dev/null | grep -qE "$LOST_WAL_RE"; then
      return 0
    fi
    status="$(gpm_psql -c 'SELECT status FROM pg_stat_wal_receiver' 2>/dev/null || true)"
    if [[ "$status" == streaming ]]; then
      streak=$((streak + 1))
      ((streak < 3)) || return 1
    else
      streak=0
    fi
    sleep 1
  done
  return 1
}

log_offset="$(stat -c %s "$LOG_FILE" 2>/dev/null || echo 0)"
if [[ "$rewound" == true ]] && ! (run_standby); then
  # Tried in a subshell: a rewound directory that does not start (pg_rewind's checks passed,
  # recovery still refused it) is kept aside and replaced by a fresh snapshot.
  stop_if_running "$DATA_DIR"
  move_aside "$DATA_DIR" "was rewound but does not start as a standby (see $LOG_FILE)" rewound
  rewound=false
  rewind_error="the rewound directory did not start as a standby"
  diverged=""
  take_base_backup
fi
run_standby
if [[ "$created" == false ]] && cannot_catch_up "$log_offset"; then
  gpm_log "the primary no longer has the WAL this standby needs (its log: $(tail -c +"$((log_offset + 1))" "$LOG_FILE" | grep -oE "$LOST_WAL_RE" | tail -n 1)); it must be rebuilt"
  stop_if_running "$DATA_DIR"
  move_aside "$DATA_DIR" "cannot catch up (the primary removed the WAL it needs)" lost
  take_base_backup
  run_standby
fi

moved_aside=""
if ((${#moved[@]})); then
  moved_aside="$(IFS=,; printf '%s' "${moved[*]}")"
fi
jq -cn --argjson created "$created" --argjson rewound "$rewound" --arg diverged "$diverged" \
  --arg rewindError "$rewind_error" \
  --argjson started "$GPM_STARTED" \
  --argjson restarted "$GPM_RESTARTED" --argjson reloaded "$GPM_RELOADED" \
  --arg movedAside "$moved_aside" --arg app "$GPM_APPLICATION_NAME" --arg log "$LOG_FILE" \
  '{created: $created, rewound: $rewound, divergedAt: (if $diverged == "" then null else $diverged end),
    rewindError: (if $rewindError == "" then null else $rewindError end),
    started: $started, restarted: $restarted, reloaded: $reloaded, running: true,
    movedAside: $movedAside, applicationName: $app, logFile: $log}'
