#!/usr/bin/env bash
# standby: a standby master registered in the catalog and streaming, made with gpinitstandby.
# Runs on the PRIMARY host as gpadmin (gpinitstandby runs on the active master and reaches
# the standby host over SSH itself).
#   no standby registered             -> gpinitstandby -s HOST -S DIR -P PORT -a
#   registered here, stopped           -> gpinitstandby -n -a
#   registered elsewhere, or it can never catch up (its WAL was removed)
#                                      -> gpinitstandby -r -a, then -s (only with
#                                         GPM_ALLOW_REPLACE_STANDBY=true)
# A leftover data directory on the standby host is renamed with a timestamp when
# GPM_MOVE_ASIDE_LEFTOVER=true, otherwise the step stops. Success is judged by the catalog
# and gp_stat_replication, not by the utility's log words.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT]
#      GPM_STANDBY_ADDRESS GPM_STANDBY_PORT GPM_STANDBY_DATA_DIR [GPM_STANDBY_SSH_PORT=22]
#      [GPM_ALLOW_REPLACE_STANDBY=false] [GPM_MOVE_ASIDE_LEFTOVER=false] [GPM_TIMEOUT_SECONDS=120]
# Prints: {"action","dbid","host","port","dataDir","state","syncState","movedAside"}
# shellcheck disable=SC1091,SC2034,SC2016 # lib.sh is prepended by the caller; it reads GPM_TAG; remote text in single quotes
set -euo pipefail
GPM_TAG=standby
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_host GPM_STANDBY_ADDRESS "the standby host, as gpinitstandby -s gets it"
gpm_need_port GPM_STANDBY_PORT "the standby's port"
gpm_need_abs GPM_STANDBY_DATA_DIR "the standby's data directory"
GPM_STANDBY_SSH_PORT="${GPM_STANDBY_SSH_PORT:-22}"
gpm_need_port GPM_STANDBY_SSH_PORT "SSH port of the standby host"
gpm_need_bool GPM_ALLOW_REPLACE_STANDBY "replace a standby registered elsewhere or unable to catch up"
gpm_need_bool GPM_MOVE_ASIDE_LEFTOVER "rename a leftover standby data directory"
GPM_TIMEOUT_SECONDS="${GPM_TIMEOUT_SECONDS:-120}"
gpm_need_int GPM_TIMEOUT_SECONDS "seconds to wait for streaming"
gpm_gp_setup
gpm_master_up || gpm_die "the master does not accept connections on port $DB_PORT; run the primary step first"

S_HOST="$GPM_STANDBY_ADDRESS"
S_PORT="$GPM_STANDBY_PORT"
S_DIR="${GPM_STANDBY_DATA_DIR%/}"
LOGS="$HOME/gpAdminLogs"

read_row() {
  local row
  row="$(gpm_psql -F '|' -c "SELECT dbid, hostname, address, port, datadir FROM gp_segment_configuration WHERE content = -1 AND role = 'm'")"
  R_DBID="" R_HOSTNAME="" R_ADDRESS="" R_PORT="" R_DIR=""
  [[ -z "$row" ]] || IFS='|' read -r R_DBID R_HOSTNAME R_ADDRESS R_PORT R_DIR <<<"$row"
  R_DIR="${R_DIR%/}"
}
row_matches() {
  [[ -n "$R_DBID" && ("$R_HOSTNAME" == "$S_HOST" || "$R_ADDRESS" == "$S_HOST") && "$R_PORT" == "$S_PORT" && "$R_DIR" == "$S_DIR" ]]
}
# The standby's walsender on this master (pg_stat_replication here is the master's own).
read_repl() {
  local row
  row="$(gpm_psql -F '|' -c "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = 'gp_walreceiver' ORDER BY (state = 'streaming') DESC LIMIT 1" 2>/dev/null || true)"
  REPL_STATE="" REPL_SYNC=""
  [[ -z "$row" ]] || IFS='|' read -r REPL_STATE REPL_SYNC <<<"$row"
}
wait_streaming() {
  local i
  for ((i = 0; i < $1; i++)); do
    read_repl
    [[ "$REPL_STATE" == streaming ]] && return 0
    sleep 1
  done
  return 1
}
# The standby's data directory, seen on its host: P_RUNNING P_MARKER P_EXISTS P_WALREMOVED.
probe() {
  local out
  out="$(gpm_ssh "$S_HOST" "$GPM_STANDBY_SSH_PORT" 60 "$GPM_STANDBY_PROBE" "$1" "$STANDBY_MARKER")" ||
    gpm_die "cannot reach the standby host $S_HOST over SSH as $GPM_GP_ADMIN (needed by gpinitstandby too): check the trust step and the network"
  [[ "$out" =~ running=(yes|no)\ marker=(yes|no)\ exists=(yes|no)\ walRemoved=(yes|no) ]] ||
    gpm_die "unexpected answer from the standby host: $out"
  P_RUNNING="${BASH_REMATCH[1]}" P_MARKER="${BASH_REMATCH[2]}" P_EXISTS="${BASH_REMATCH[3]}" P_WALREMOVED="${BASH_REMATCH[4]}"
}

moved_aside=""
remove_standby() {
  local why="$1"
  [[ "$GPM_ALLOW_REPLACE_STANDBY" == true ]] ||
    gpm_die "$why. gpmirror replaces a registered standby only when greenplum.allowReplaceStandby is true (it runs gpinitstandby -r -a, which deletes the standby's data directory, then gpinitstandby -s)"
  gpm_log "$why; removing it (gpinitstandby -r -a)"
  gpm_run_utility "$LOGS/gpmirror-gpinitstandby-remove.out" gpinitstandby -r -a
  read_row
  [[ -z "$R_DBID" ]] || gpm_die_utility "gpinitstandby -r"
}

create_standby() {
  probe "$S_DIR"
  if [[ "$P_EXISTS" == yes ]]; then
    [[ "$P_RUNNING" == no ]] ||
      gpm_die "a postmaster runs on $S_DIR on $S_HOST although the catalog registers no standby there: stop it yourself (it may be an old master) before gpmirror creates the standby"
    [[ "$GPM_MOVE_ASIDE_LEFTOVER" == true ]] ||
      gpm_die "$S_DIR already exists on $S_HOST and gpinitstandby needs it absent: move it aside, or set greenplum.moveAsideLeftoverDataDir true"
    local dest
    dest="$S_DIR.gpmirror-moved-$(gpm_utc_stamp)"
    gpm_log "moving the leftover $S_DIR on $S_HOST aside to $dest (kept, never deleted)"
    gpm_ssh "$S_HOST" "$GPM_STANDBY_SSH_PORT" 60 'mv -- "$1" "$2"' "$S_DIR" "$dest" ||
      gpm_die "could not move $S_DIR aside on $S_HOST"
    moved_aside="$dest"
  fi
  gpm_ssh "$S_HOST" "$GPM_STANDBY_SSH_PORT" 60 'mkdir -p -- "$1"' "$(dirname "$S_DIR")" ||
    gpm_die "could not create $(dirname "$S_DIR") on $S_HOST"
  gpm_run_utility "$LOGS/gpmirror-gpinitstandby.out" gpinitstandby -s "$S_HOST" -S "$S_DIR" -P "$S_PORT" -a
  read_row
  if ! row_matches; then
    gpm_die_utility "gpinitstandby -s $S_HOST -S $S_DIR -P $S_PORT"
  fi
  ((UTIL_RC == 0)) || gpm_log "WARNING: gpinitstandby exited $UTIL_RC, but the catalog registers the standby; going on by the catalog"
}

action=none
read_row
if [[ -z "$R_DBID" ]]; then
  gpm_log "no standby registered; creating it on $S_HOST:$S_PORT $S_DIR"
  create_standby
  action=created
elif ! row_matches; then
  remove_standby "the registered standby is $R_HOSTNAME:$R_PORT $R_DIR (dbid $R_DBID), not $S_HOST:$S_PORT $S_DIR as configured"
  create_standby
  action=replaced
else
  read_repl
  if [[ "$REPL_STATE" == streaming || "$REPL_STATE" == catchup ]]; then
    gpm_log "standby dbid $R_DBID on $S_HOST:$S_PORT is $REPL_STATE ($REPL_SYNC)"
  else
    probe "$S_DIR"
    if [[ "$P_RUNNING" == no && "$P_WALREMOVED" == no ]]; then
      gpm_log "standby dbid $R_DBID is registered but not running; starting it (gpinitstandby -n)"
      gpm_run_utility "$LOGS/gpmirror-gpinitstandby-n.out" gpinitstandby -n -a
      ((UTIL_RC == 0)) || gpm_die_utility "gpinitstandby -n"
      action=started
      if ! wait_streaming 30; then
        probe "$S_DIR"
      fi
    fi
    if [[ "$REPL_STATE" != streaming && "$P_WALREMOVED" == yes ]]; then
      remove_standby "the standby on $S_HOST asks for WAL the master has already removed (\"requested WAL segment ... has already been removed\" in its log): it can never catch up and must be rebuilt"
      create_standby
      action=replaced
    fi
  fi
fi

if ! wait_streaming "$GPM_TIMEOUT_SECONDS"; then
  gpm_die "the standby on $S_HOST:$S_PORT is registered (catalog) but not streaming after ${GPM_TIMEOUT_SECONDS}s (no gp_walreceiver in pg_stat_replication): look at $S_DIR/log on $S_HOST; gpstate -f would still say 'Standby host passive'"
fi
read_row
gpm_log "standby dbid $R_DBID on $S_HOST:$S_PORT is $REPL_STATE ($REPL_SYNC); action: $action"

# The segments, recorded on both master hosts: an activation on the standby host fences them
# against this coordinator when it cannot ask it (hot_standby is off: the standby has no
# catalog to read).
segments="$(gpm_segments_query)"
# (GPM_SEGMENTS_FILE's path, in each host's own home)
record='f="$HOME/.gpmirror/segments"; mkdir -p -- "${f%/*}" && printf "%s\n" "$1" >"$f.tmp" && mv -f -- "$f.tmp" "$f"'
if [[ -z "$segments" ]]; then
  gpm_log "WARNING: gp_segment_configuration lists no segment; nothing recorded for a segment fence"
elif ! bash -c "$record" record "$segments" ||
  ! gpm_ssh "$S_HOST" "$GPM_STANDBY_SSH_PORT" 30 "$record" "$segments" >/dev/null; then
  gpm_log "WARNING: could not record the segments in $GPM_SEGMENTS_FILE on both master hosts; an activation falls back to greenplum.segmentHosts"
fi
printf '{"action":%s,"dbid":%s,"host":%s,"port":%s,"dataDir":%s,"state":%s,"syncState":%s,"movedAside":%s}\n' \
  "$(gpm_json_str "$action")" "$(gpm_json_num "$R_DBID")" "$(gpm_json_str "$S_HOST")" "$S_PORT" \
  "$(gpm_json_str "$S_DIR")" "$(gpm_json_str "$REPL_STATE")" "$(gpm_json_str "$REPL_SYNC")" \
  "$(gpm_json_str "$moved_aside")"
