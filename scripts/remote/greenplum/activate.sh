#!/usr/bin/env bash
# activate: make the standby the master, never leaving two masters accepting writes.
# Runs on the STANDBY host as gpadmin. Every call to the old host is bounded (ssh connect
# timeout and `timeout`), so an unreachable old host cannot hang it.
#  1. Proof that the old master is down: its postmaster gone on a host that answers, or the
#     host fenced through the platform (GPM_FENCED_BY_PLATFORM=true, e.g. its instance
#     stopped). An unreachable host is not proof: gpactivatestandby itself promotes after
#     its ssh times out, which would leave a partitioned, running master taking writes.
#     Without proof it refuses unless GPM_FORCE=true; forced, it stops a running old master
#     first.
#  2. Only then a stale /tmp/.s.PGSQL.<port>.lock of the dead master is removed
#     (gpactivatestandby refuses while it exists).
#  3. gpactivatestandby -d DIR -a. A stopped standby (forced only) is started as a standby
#     first, so that it is promoted the normal way; -f only when that cannot be done (Greenplum
#     6), and the promote_trigger_file line -f leaves in postgresql.conf is removed afterwards.
#  4. Checked on the new master: not in recovery, the catalog's primary, accepts a write.
#  5. The old master's data directory is moved aside when its host answers (it would start
#     "in production" on the old timeline) and marked as a standby's, so that a start by hand
#     takes no writes; otherwise re-protection must do it first.
# Segment fence (segment-fence.sh, whose functions this step carries): in a failover where the
# old master is not proven stopped (alive and forced, or unreachable and forced), the segment
# hosts reject the old coordinator's address and end its sessions as soon as that is decided,
# before anything else: cut off from the standby only, it keeps writing into the segments both
# coordinators share. The fence is lifted once the old coordinator is stopped and its data
# directory moved aside (it retries the segments by itself about once a minute); while its
# host does not answer, the fence stays, and the result says so.
# Heal (a second run, this host already the master): the other host is probed; a coordinator
# running there as a primary too is the stale one when it is on an earlier timeline (or the
# same one, with the segments fenced against it): it is stopped with pg_ctl (a gpstop would
# stop the shared segments), its data directory moved aside, and the fence lifted. A later
# timeline there, or no way to tell, is refused. With no coordinator there, a leftover fence
# is lifted.
# Switchover (GPM_ACTIVATION_MODE=switchover, planned, nothing lost): instead of 1 and 2, the
# old master must be alive and the standby streaming from it (else refused: "use mode
# failover"). The old master's coordinator alone is stopped cleanly, `gpstop -a -m -M fast -d
# DIR` on its host (the utility's coordinator-only stop, which Greenplum's own "restore the
# original roles" procedure uses; segments keep running; -M fast because smart waits for
# every session), `pg_ctl stop -m fast` when gpstop cannot; never an immediate stop. A clean
# stop ends with a shutdown checkpoint that the walsender sends to the standby before it
# exits. Its LSN and timeline (pg_controldata on the old host, "shut down" required) are
# awaited on the standby: the standby refuses connections while in recovery (hot_standby is
# off), so the record is looked for in its own WAL files with pg_waldump (pg_xlogdump on 6);
# promotion replays all WAL present there before it ends recovery. Then 3 and 4 as above,
# where the new timeline's switch point (its .history file) is checked to lie past that
# checkpoint, then 5.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT (the standby's) [GPM_GP_VERSION_HINT]
#      GPM_OLD_PRIMARY_ADDRESS GPM_OLD_PRIMARY_PORT GPM_OLD_PRIMARY_DATA_DIR
#      [GPM_OLD_PRIMARY_SSH_PORT=22] [GPM_FORCE=false] [GPM_FENCED_BY_PLATFORM=false]
#      [GPM_OLD_FENCED_BY=command: activation.fenceCommand fenced the unreachable old host;
#       lease: the failover agent runs this step (forced) only after the old coordinator's
#       lease expired and it holds the leader key, and the old one's agent fences its own
#       coordinator before its lease can expire]
#      [GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS=10: ssh's connect timeout toward the old host]
#      [GPM_ACTIVATION_TIMEOUT_SECONDS=900] [GPM_CLIENT_ENDPOINT=<this host>:<port>: reported]
#      [GPM_ACTIVATION_MODE=failover|switchover] [GPM_SWITCHOVER_TIMEOUT_SECONDS=60: bound on
#      the wait for the old master's last WAL on the standby]
#      [GPM_OLD_PRIMARY_NAME] [GPM_SEGMENT_HOSTS GPM_SEGMENTS_PER_HOST GPM_SEGMENT_PORT_BASE]
#      [GPM_SEGMENT_FENCE_COMMAND GPM_SEGMENT_FENCE_TIMEOUT_SECONDS] (segment-fence.sh)
# Prints: {"promoted","wasAlreadyPrimary","forced","mode","oldPrimary","staleLockRemoved",
#          "oldDataDirMovedTo","clientEndpoint","utilityExit","oldCheckpointLsn","switchpoint",
#          "standbyStarted","segmentFence":{"state","decidedAt","fencedAt","ms","hosts","failed",
#          "terminated","lift"},"staleStopped"}
# shellcheck disable=SC1091,SC2034,SC2016 # lib.sh is prepended by the caller; it reads GPM_TAG; remote text in single quotes
set -euo pipefail
GPM_TAG=activate
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi
if ! declare -F gpm_segment_fence >/dev/null; then
  # shellcheck source=segment-fence.sh
  . "$(dirname "${BASH_SOURCE[0]}")/segment-fence.sh"
fi

gpm_need_host GPM_OLD_PRIMARY_ADDRESS "the old master's host"
gpm_need_port GPM_OLD_PRIMARY_PORT "the old master's port"
gpm_need_abs GPM_OLD_PRIMARY_DATA_DIR "the old master's data directory"
GPM_OLD_PRIMARY_SSH_PORT="${GPM_OLD_PRIMARY_SSH_PORT:-22}"
gpm_need_port GPM_OLD_PRIMARY_SSH_PORT "SSH port of the old master's host"
gpm_need_bool GPM_FORCE "activate without proof that the old master is down"
gpm_need_bool GPM_FENCED_BY_PLATFORM "the platform has fenced the old master's host"
GPM_OLD_FENCED_BY="${GPM_OLD_FENCED_BY:-}"
[[ "$GPM_OLD_FENCED_BY" =~ ^(command|lease)?$ ]] || gpm_die "GPM_OLD_FENCED_BY must be command, lease or empty (what fenced the unreachable old master), got '$GPM_OLD_FENCED_BY'"
GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS="${GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS:-10}"
gpm_need_int GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS "ssh's connect timeout toward the old host"
GPM_ACTIVATION_TIMEOUT_SECONDS="${GPM_ACTIVATION_TIMEOUT_SECONDS:-900}"
gpm_need_int GPM_ACTIVATION_TIMEOUT_SECONDS "bound on gpactivatestandby"
GPM_ACTIVATION_MODE="${GPM_ACTIVATION_MODE:-failover}"
gpm_need_match GPM_ACTIVATION_MODE '^(failover|switchover)$' "activation.mode: failover or switchover"
GPM_SWITCHOVER_TIMEOUT_SECONDS="${GPM_SWITCHOVER_TIMEOUT_SECONDS:-60}"
gpm_need_int GPM_SWITCHOVER_TIMEOUT_SECONDS "bound on the switchover's wait for the old master's last WAL"
gpm_gp_setup

OLD="$GPM_OLD_PRIMARY_ADDRESS"
OLD_DIR="${GPM_OLD_PRIMARY_DATA_DIR%/}"
GPM_CLIENT_ENDPOINT="${GPM_CLIENT_ENDPOINT:-$(hostname):$DB_PORT}"
endpoint="$GPM_CLIENT_ENDPOINT"

# On the old host: ACTION check|clear-lock|stop|stop-clean|streaming|fence|role|segments
# DIR PORT ENVFILE [SQL]
# check prints: running=<yes|no> lock=<absent|live|stale> exists=<yes|no>
# role also prints marker=<yes|no> tli=<timeline: the running server's WAL, else pg_controldata>;
# segments prints the rows of SQL (GPM_SEGMENTS_SQL) on its coordinator, then the state line
# streaming also prints streaming=<walsenders of gp_walreceiver in state streaming>;
# stop-clean also prints cluster=<pg_controldata state> checkpoint=<LSN> tli=<timeline>
OLD_PROBE='
set -u
action="$1" dir="$2" port="$3" envfile="$4" sql="${5:-}"
# A killed postmaster stays a zombie until it is reaped (1-2 s here, longer under load): dead.
alive() { [[ "$1" =~ ^[0-9]+$ ]] && [[ -d "/proc/$1" ]] && ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status" 2>/dev/null; }
state() {
  running=no lock=absent exists=no
  [[ -e "$dir" ]] && exists=yes
  if [[ -f "$dir/postmaster.pid" ]] && alive "$(head -n 1 "$dir/postmaster.pid" 2>/dev/null)"; then running=yes; fi
  if [[ -f "/tmp/.s.PGSQL.$port.lock" ]]; then
    if alive "$(head -n 1 "/tmp/.s.PGSQL.$port.lock" 2>/dev/null)"; then lock=live; running=yes; else lock=stale; fi
  fi
}
state
case "$action" in
  check) ;;
  clear-lock)
    [[ "$running" == no ]] || { echo "refused: postmaster running" >&2; exit 3; }
    rm -f "/tmp/.s.PGSQL.$port.lock" "/tmp/.s.PGSQL.$port" ;;
  stop)
    set +u; . "$envfile" >/dev/null 2>&1; set -u
    pg_ctl stop -D "$dir" -m fast -w -t 60 >&2 || pg_ctl stop -D "$dir" -m immediate -w -t 30 >&2 || true ;;
  streaming)
    set +u; . "$envfile" >/dev/null 2>&1; set -u
    n="$(psql -X -q -At -p "$port" -d postgres -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = '"'"'gp_walreceiver'"'"' AND state = '"'"'streaming'"'"'" 2>/dev/null || true)"
    echo "streaming=${n:-none}" ;;
  stop-clean)
    set +u; . "$envfile" >/dev/null 2>&1; set -u
    if [[ "$running" == yes ]]; then
      timeout --kill-after=10 300 gpstop -a -m -M fast -d "$dir" </dev/null >&2 || true
      state
      [[ "$running" == no ]] || pg_ctl stop -D "$dir" -m fast -w -t 120 >&2 || true
    fi
    cd_out="$(pg_controldata "$dir" 2>/dev/null || true)"
    echo "cluster=$(sed -n "s/^Database cluster state: *//p" <<<"$cd_out" | tr " " _)" \
      "checkpoint=$(sed -n "s/^Latest checkpoint location: *//p" <<<"$cd_out")" \
      "tli=$(sed -n "s/^Latest checkpoint.s TimeLineID: *//p" <<<"$cd_out")" ;;
  role)
    set +u; . "$envfile" >/dev/null 2>&1; set -u
    marker=no
    if [[ -f "$dir/standby.signal" || -f "$dir/recovery.conf" ]]; then marker=yes; fi
    tli="$(psql -X -q -At -p "$port" -d postgres -c "$sql" 2>/dev/null || true)"
    if [[ "$tli" =~ ^[0-9A-Fa-f]{24}$ ]]; then tli=$((16#${tli:0:8})); else
      tli="$(pg_controldata "$dir" 2>/dev/null | sed -n "s/^Latest checkpoint.s TimeLineID: *//p")"
    fi
    echo "marker=$marker tli=${tli:-unknown}" ;;
  segments)
    set +u; . "$envfile" >/dev/null 2>&1; set -u
    [[ "$running" == no ]] || psql -X -q -At -F "|" -p "$port" -d postgres -c "$sql" 2>/dev/null || true ;;
  fence)
    [[ "$running" == no ]] || { echo "refused: postmaster running" >&2; exit 3; }
    if [[ "$exists" == yes ]]; then
      dest="$dir.gpmirror-fenced-$(date -u +%Y%m%dT%H%M%SZ)"
      mv -- "$dir" "$dest" && echo "moved=$dest"
      # Marked as a standby, so that starting it by hand brings it up in recovery, taking no
      # writes and dispatching nothing to the segments (6: recovery.conf, 7: standby.signal).
      if [[ "$(cat "$dest/PG_VERSION" 2>/dev/null)" == 9* ]]; then
        [[ -e "$dest/recovery.conf" ]] || echo "standby_mode = on" >"$dest/recovery.conf"
      else
        touch "$dest/standby.signal"
      fi
    fi ;;
esac
state
echo "running=$running lock=$lock exists=$exists"
'
old() {
  # ssh takes the first value of an option: this connect timeout wins over lib.sh's.
  local opts=(-o "ConnectTimeout=$GPM_OLD_SSH_CONNECT_TIMEOUT_SECONDS" "${GPM_SSH_OPTS[@]}")
  local GPM_SSH_OPTS=("${opts[@]}")
  gpm_ssh "$OLD" "$GPM_OLD_PRIMARY_SSH_PORT" 60 "$OLD_PROBE" "$1" "$OLD_DIR" "$OLD_PORT" "$ENV_FILE" "${@:2}"
}
OLD_PORT="$GPM_OLD_PRIMARY_PORT"

result() {
  printf '{"promoted":%s,"wasAlreadyPrimary":%s,"forced":%s,"mode":%s,"oldPrimary":%s,"staleLockRemoved":%s,"oldDataDirMovedTo":%s,"clientEndpoint":%s,"utilityExit":%s,"oldCheckpointLsn":%s,"switchpoint":%s,"standbyStarted":%s,"segmentFence":%s,"staleStopped":%s}\n' \
    "$1" "$2" "$GPM_FORCE" "$(gpm_json_str "$GPM_ACTIVATION_MODE")" "$(gpm_json_str "$proof")" "$stale_removed" \
    "$(gpm_json_str "$moved_to")" "$(gpm_json_str "$endpoint")" "$(gpm_json_num "$utility_rc")" \
    "$(gpm_json_str "$old_checkpoint")" "$(gpm_json_str "$switchpoint")" "$standby_started" \
    "$(segfence_json)" "$stale_stopped"
}
proof="" stale_removed=false moved_to="" utility_rc="" old_checkpoint="" old_tli="" switchpoint=""
stale_stopped=false

# The segment fence against the old coordinator (segment-fence.sh): none, kept (in place when
# this step ends), lifted, or failed (it could fence no segment host).
segfence_state=none segfence_decided="" segfence_at="" segfence_ms="" segfence_lift=""
segfence_hosts=() segfence_failed=() segfence_terminated=""
segfence_json() {
  printf '{"state":%s,"decidedAt":%s,"fencedAt":%s,"ms":%s,"hosts":%s,"failed":%s,"terminated":%s,"lift":%s}' \
    "$(gpm_json_str "$segfence_state")" "$(gpm_json_num "$segfence_decided")" "$(gpm_json_num "$segfence_at")" \
    "$(gpm_json_num "$segfence_ms")" "$(gpm_json_strs "${segfence_hosts[@]}")" \
    "$(gpm_json_strs "${segfence_failed[@]}")" "$(gpm_json_str "$segfence_terminated")" "$(gpm_json_str "$segfence_lift")"
}
# The segments: the old coordinator's catalog when it answers, else the record, else settings.
load_segments() {
  local rows=""
  if [[ "${1:-}" == ask-old ]]; then
    rows="$(old segments "$GPM_SEGMENTS_SQL" 2>/dev/null | grep -F '|' || true)"
  elif [[ "${1:-}" == ask-self ]]; then
    rows="$(gpm_segments_query)"
  fi
  gpm_segments_load "$rows"
}
# fence_segments WHY [ask-old|ask-self]: the segments reject the old coordinator from now on
# (the list loaded again only when told where to ask, or when none is loaded yet).
fence_segments() {
  segfence_decided="$(date +%s%3N)"
  gpm_log "fencing the segments against the old coordinator $OLD ($1) before anything else"
  if [[ -n "${2:-}" || -z "${SEG_SOURCE:-}" ]]; then load_segments "${2:-}"; fi
  gpm_segment_fence fence
  segfence_at="$(date +%s%3N)" segfence_ms="$SEGFENCE_MS" segfence_terminated="$SEGFENCE_TERMINATED"
  segfence_hosts=("${SEGFENCE_DONE[@]}") segfence_failed=("${SEGFENCE_FAILED[@]}")
  if ((${#SEGFENCE_DONE[@]})); then segfence_state=kept; else segfence_state=failed; fi
  segfence_lift="it stays until the old coordinator on $OLD is stopped and its data directory moved aside: a pulumi up with protect true does that once $OLD answers over SSH again, then lifts it (by hand: GPM_SEGMENT_FENCE_ACTION=lift with segment-fence.sh on this host, or sudo nft delete table inet gpmirror_fence on each segment host)"
}
# lift_segments: only once the old coordinator is stopped and cannot restart as a primary.
lift_segments() {
  [[ -n "${SEG_SOURCE:-}" ]] || load_segments ask-self
  gpm_segment_fence lift
  segfence_hosts=("${SEGFENCE_DONE[@]}") segfence_failed=("${SEGFENCE_FAILED[@]}")
  if ((${#SEGFENCE_FAILED[@]} == 0)); then
    segfence_state=lifted segfence_lift=""
  else
    segfence_state=kept
    segfence_lift="lifting failed on some segment host (see failed); remove the rule there by hand: sudo nft delete table inet gpmirror_fence"
  fi
}

# An LSN such as 0/C000060 as one number.
lsn_num() {
  [[ "$1" =~ ^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$ ]] || return 1
  echo $(((16#${BASH_REMATCH[1]} << 32) | 16#${BASH_REMATCH[2]}))
}

# start_standby: the stopped standby started as a standby (not promoted), as gpstart starts a
# standby coordinator; 0 once its postmaster runs and its control file says it is in recovery,
# which is what pg_ctl promote needs. Greenplum 6 starts a standby with other options: -f there.
standby_started=false
start_standby() {
  local i state
  [[ "$GP_FLAVOR" != gp6 ]] || return 1
  gpm_log "the standby's postmaster does not run: starting it as a standby (pg_ctl start) so that gpactivatestandby promotes it without -f"
  mkdir -p "$DATA_DIR/log"
  pg_ctl start -W -D "$DATA_DIR" -l "$DATA_DIR/log/startup.log" -o " -c gp_role=dispatch" >&2 || return 1
  for ((i = 0; i < 120; i++)); do
    if gpm_postmaster_running "$DATA_DIR"; then
      state="$(pg_controldata "$DATA_DIR" 2>/dev/null | sed -n 's/^Database cluster state: *//p')"
      [[ "$state" != "in archive recovery" ]] || return 0
    fi
    sleep 0.5
  done
  gpm_log "the standby did not reach recovery within 60s (see $DATA_DIR/log/startup.log)"
  return 1
}

check_new_master() {
  local i row
  for ((i = 0; i < 60; i++)); do
    gpm_master_up && break
    sleep 1
  done
  gpm_master_up || return 1
  row="$(gpm_psql -F '|' -c "SELECT port, datadir FROM gp_segment_configuration WHERE content = -1 AND role = 'p'")"
  [[ "$row" == "$DB_PORT|$DATA_DIR" || "$row" == "$DB_PORT|$DATA_DIR/" ]] || {
    gpm_log "the catalog's primary master is '$row', not $DB_PORT|$DATA_DIR"
    return 1
  }
  gpm_psql -c "CREATE TEMP TABLE gpmirror_activation_probe (i int) DISTRIBUTED RANDOMLY; INSERT INTO gpmirror_activation_probe VALUES (1);" >/dev/null ||
    {
      gpm_log "the new master does not accept a write"
      return 1
    }
}

# A new pair: the master is initialized after this step (it runs first whenever the active
# master is chosen), so there is nothing to activate yet.
if [[ ! -e "$DATA_DIR" ]]; then
  gpm_log "no data directory at $DATA_DIR yet: a new pair, nothing to activate"
  printf '{"promoted":false,"skipped":"new pair"}\n'
  exit 0
fi

# A running server's current WAL file name: its first 8 hex digits are the timeline.
TLI_SQL="SELECT $WALFILE_FN($CUR_LSN_FN)"
# own_timeline: the timeline this host's running master writes on; fails when unreadable.
own_timeline() {
  local walfile
  walfile="$(gpm_psql -c "$TLI_SQL" 2>/dev/null || true)"
  [[ "$walfile" =~ ^[0-9A-Fa-f]{24}$ ]] || return 1
  echo $((16#${walfile:0:8}))
}

# heal_other: this host is already the master; the other host may run one too (it was cut
# off, not stopped) or hold a leftover segment fence.
heal_other() {
  local probe running exists lock role theirs mine fenced
  set +e
  probe="$(old check)"
  local rc=$?
  set -e
  if ((rc != 0)) || [[ ! "$probe" =~ running=(yes|no)\ lock=(absent|live|stale)\ exists=(yes|no) ]]; then
    load_segments ask-self
    gpm_segment_fence status
    if [[ "${SEGFENCE_DONE[*]}" == *"(present)"* ]]; then
      segfence_state=kept segfence_hosts=("${SEGFENCE_DONE[@]}")
      segfence_lift="the other host $OLD does not answer over SSH, so its coordinator cannot be seen stopped: the fence stays until it answers and pulumi up runs again with protect true"
      gpm_log "the other host $OLD does not answer over SSH: the segment fence against it stays"
    else
      gpm_log "the other host $OLD does not answer over SSH: whether a coordinator runs there cannot be seen"
    fi
    return 0
  fi
  running="${BASH_REMATCH[1]}" lock="${BASH_REMATCH[2]}" exists="${BASH_REMATCH[3]}"
  if [[ "$running" == yes ]]; then
    role="$(old role "$TLI_SQL")" || gpm_die "cannot read the role of the server on $OLD ($OLD_DIR): $role"
    [[ "$role" =~ marker=(yes|no)\ tli=([0-9]+|unknown) ]] || gpm_die "unexpected answer from $OLD: $role"
    if [[ "${BASH_REMATCH[1]}" == yes ]]; then
      gpm_log "the other host $OLD runs a standby ($STANDBY_MARKER present)"
      load_segments ask-self
      lift_segments
      return 0
    fi
    theirs="${BASH_REMATCH[2]}"
    mine="$(own_timeline)" || gpm_die "cannot read this master's timeline"
    load_segments ask-self
    if [[ "$theirs" == unknown ]]; then
      gpm_die "the other host $OLD also runs a coordinator as a primary (no $STANDBY_MARKER in $OLD_DIR), and its timeline cannot be read: not telling which is stale. Stop the wrong one by hand (pg_ctl stop -D DIR -m fast on its host; never gpstop, which stops the shared segments)"
    elif ((theirs > mine)); then
      die_other_is_later "$theirs" "$mine"
    elif ((theirs == mine)); then
      gpm_segment_fence status
      [[ "${SEGFENCE_DONE[*]}" == *"(present)"* ]] ||
        gpm_die "the other host $OLD also runs a coordinator as a primary, on the same timeline ($mine) as this host, and the segments are not fenced against it: not telling which is stale. Stop the wrong one by hand (pg_ctl stop on its host; never gpstop)"
      gpm_log "the other host $OLD runs a coordinator on the same timeline ($mine), and the segments are fenced against it: it is the stale one"
    else
      gpm_log "the other host $OLD also runs a coordinator as a primary, on an earlier timeline ($theirs; this host is on $mine): it is stale"
    fi
    # Fenced first (it may not be yet), then stopped: its host alone, never gpstop.
    if [[ "$segfence_state" == none ]]; then fence_segments "a second live coordinator after a heal" ask-self; fi
    gpm_log "stopping the stale coordinator on $OLD (pg_ctl stop -m fast, then immediate)"
    probe="$(old stop)" || gpm_die "could not stop the stale coordinator on $OLD: $probe"
    [[ "$probe" == *"running=no"* ]] || gpm_die "the stale coordinator on $OLD still runs after pg_ctl stop; the segment fence against it stays"
    stale_stopped=true exists=yes
  fi
  local fence_present=true
  if [[ "$stale_stopped" == false ]]; then
    # No coordinator runs there: a fence left by a forced failover is lifted, once its
    # directory cannot start as a primary again. A directory that would (an old coordinator
    # stopped by a fence command or the platform, never reached to be moved aside) is moved
    # aside when it is on this host's timeline or an earlier one; a later one is refused.
    load_segments ask-self
    gpm_segment_fence status
    if [[ "${SEGFENCE_DONE[*]}" == *"(present)"* ]]; then
      gpm_log "no coordinator runs on $OLD, and the segments are still fenced against it"
    else
      fence_present=false
      [[ "$exists" == yes ]] || return 0
      role="$(old role "$TLI_SQL" 2>/dev/null || true)"
      [[ "$role" =~ marker=no\ tli=([0-9]+) ]] || return 0
      theirs="${BASH_REMATCH[1]}"
      mine="$(own_timeline)" || gpm_die "cannot read this master's timeline"
      ((theirs <= mine)) || die_other_is_later "$theirs" "$mine"
      gpm_log "no coordinator runs on $OLD, but its data directory $OLD_DIR would start as a primary (no $STANDBY_MARKER; timeline $theirs, this host $mine)"
    fi
  fi
  if [[ "$exists" == yes ]]; then
    role="$(old role "$TLI_SQL" 2>/dev/null || true)"
    if [[ "$role" == *marker=no* ]]; then
      fenced="$(old fence)" && [[ "$fenced" =~ moved=([^[:space:]]+) ]] ||
        gpm_die "could not move the stale coordinator's data directory $OLD_DIR aside on $OLD (it would start as a primary again); the segment fence against it stays"
      moved_to="${BASH_REMATCH[1]}"
      gpm_log "moved the stale coordinator's data directory aside on $OLD: $moved_to"
    fi
  fi
  if [[ "$fence_present" == true ]]; then
    [[ -n "${SEG_SOURCE:-}" ]] || load_segments ask-self
    lift_segments
  fi
  if [[ "$lock" == stale ]]; then old clear-lock >/dev/null 2>&1 || true; fi
}

# die_other_is_later THEIRS MINE: the timelines of the other host's and this host's coordinator.
die_other_is_later() {
  gpm_die "the other host $OLD also runs a coordinator as a primary, on a later timeline ($1) than this host ($2), which activeMaster names: the config points at the stale one. Set activeMaster to the role of $OLD, or stop the wrong one by hand (pg_ctl stop on its host; never gpstop)"
}

# refuse_if_other_is_later: this host runs a coordinator as a primary; when the other host runs
# one too on a later timeline, the config names the stale one. Checked before anything else
# (a stale coordinator fenced at the segments also fails check_new_master, for a reason that
# would hide this one).
refuse_if_other_is_later() {
  local probe role mine theirs
  probe="$(old check 2>/dev/null)" && [[ "$probe" == *running=yes* ]] || return 0
  role="$(old role "$TLI_SQL" 2>/dev/null)" && [[ "$role" =~ marker=no\ tli=([0-9]+) ]] || return 0
  theirs="${BASH_REMATCH[1]}"
  mine="$(own_timeline)" || return 0
  ((theirs > mine)) || return 0
  die_other_is_later "$theirs" "$mine"
}

# Already activated (a second run): nothing to promote; a second live coordinator is stopped.
if gpm_master_up && [[ ! -f "$DATA_DIR/$STANDBY_MARKER" ]]; then
  refuse_if_other_is_later
  check_new_master || gpm_die "this host's master runs but is not the catalog's primary, or refuses writes"
  gpm_log "$DATA_DIR is already the master; nothing to promote"
  proof="already-activated"
  heal_other
  result true true
  exit 0
fi
[[ -f "$DATA_DIR/$STANDBY_MARKER" ]] ||
  gpm_die "$DATA_DIR has no $STANDBY_MARKER: it is not a standby (and it is not a running master either)"

# The host and port gpactivatestandby checks come from the standby's primary_conninfo.
conf="$DATA_DIR/postgresql.auto.conf"
[[ "$GP_FLAVOR" == gp6 ]] && conf="$DATA_DIR/recovery.conf"
conninfo="$(grep -E '^[[:space:]]*primary_conninfo' "$conf" 2>/dev/null | tail -n 1 || true)"
OLD_PORT="$GPM_OLD_PRIMARY_PORT"
conn_port="$(gpm_conninfo_get "$conninfo" port)"
if [[ "$conn_port" =~ ^[0-9]{1,5}$ ]]; then OLD_PORT="$conn_port"; fi
conn_host="$(gpm_conninfo_get "$conninfo" host)"
gpm_log "the standby replicates from ${conn_host:-?}:$OLD_PORT (primary_conninfo); the old master is $OLD:$GPM_OLD_PRIMARY_PORT $OLD_DIR"

switchover_refused() {
  gpm_die "switchover refused: $1; a switchover needs the old master running and the standby streaming from it. Use activation.mode failover (with activation.force when the old master may still run)"
}

if [[ "$GPM_ACTIVATION_MODE" == switchover ]]; then
  # 1s. The old master alive, the standby running and streaming from it.
  set +e
  probe="$(old check)"
  probe_rc=$?
  set -e
  if ((probe_rc != 0)) || [[ ! "$probe" =~ running=(yes|no) ]]; then
    switchover_refused "the old master's host $OLD does not answer over SSH"
  fi
  [[ "$probe" == *running=yes* ]] || switchover_refused "the old master does not run on $OLD ($OLD_DIR)"
  gpm_postmaster_running "$DATA_DIR" || switchover_refused "the standby's postmaster does not run on $DATA_DIR"
  streams="$(old streaming || true)"
  [[ "$streams" =~ streaming=([1-9][0-9]*) ]] ||
    switchover_refused "the standby is not streaming from the old master on $OLD (pg_stat_replication there has no gp_walreceiver in state streaming)"
  command -v "$WALDUMP" >/dev/null 2>&1 ||
    switchover_refused "$WALDUMP is not on PATH on this host, so the standby's copy of the old master's last WAL cannot be checked"
  # 2s. Stop the old coordinator cleanly; its shutdown checkpoint is the last WAL it writes.
  gpm_log "switchover: stopping the old master's coordinator on $OLD cleanly (gpstop -m -M fast; segments keep running)"
  stopped="$(old stop-clean)" || gpm_die "could not stop the old master on $OLD cleanly: $stopped"
  [[ "$stopped" == *"running=no"* ]] ||
    gpm_die "the old master on $OLD still runs after gpstop -m and pg_ctl stop -m fast; not activating (nothing was changed on the standby)"
  [[ "$stopped" =~ cluster=([^[:space:]]*)\ checkpoint=([0-9A-Fa-f]+/[0-9A-Fa-f]+)\ tli=([0-9]+) ]] ||
    gpm_die "could not read the old master's last checkpoint with pg_controldata on $OLD (got: $stopped); not activating. It is stopped: start it again with gpstart -a on $OLD, or fail over"
  [[ "${BASH_REMATCH[1]}" == shut_down ]] ||
    gpm_die "the old master on $OLD did not stop cleanly (pg_controldata: ${BASH_REMATCH[1]//_/ }), so its last WAL is unknown; not activating. Start it again with gpstart -a on $OLD, or fail over"
  old_checkpoint="${BASH_REMATCH[2]}" old_tli="${BASH_REMATCH[3]}"
  proof="stopped-for-switchover"
  if [[ "$stopped" == *"lock=stale"* ]]; then
    old clear-lock >/dev/null || gpm_die "could not remove the stale lock on $OLD"
    stale_removed=true
  fi
  # 3s. The shutdown checkpoint in the standby's own WAL.
  gpm_log "waiting until the standby has the old master's shutdown checkpoint $old_checkpoint (timeline $old_tli) ..."
  have_checkpoint() {
    local out
    out="$("$WALDUMP" -p "$DATA_DIR/$WAL_DIR" -t "$old_tli" -s "$old_checkpoint" -n 1 2>/dev/null)" || return 1
    [[ "$out" =~ CHECKPOINT_SHUTDOWN|checkpoint:.*shutdown ]]
  }
  for ((i = 0; i < 10#$GPM_SWITCHOVER_TIMEOUT_SECONDS; i++)); do
    have_checkpoint && break
    sleep 1
  done
  have_checkpoint ||
    gpm_die "the standby does not have the old master's shutdown checkpoint $old_checkpoint after ${GPM_SWITCHOVER_TIMEOUT_SECONDS}s ($WALDUMP on $DATA_DIR/$WAL_DIR): not promoting. The old master on $OLD is stopped cleanly and untouched (nothing was promoted): start it again with gpstart -a on $OLD, or fail over"
  gpm_log "the standby has the old master's last WAL (shutdown checkpoint $old_checkpoint); promotion replays it"
else
# 1. Proof.
set +e
probe="$(old check)"
probe_rc=$?
set -e
if ((probe_rc == 0)) && [[ "$probe" =~ running=(yes|no)\ lock=(absent|live|stale) ]]; then
  running="${BASH_REMATCH[1]}" lock="${BASH_REMATCH[2]}"
  if [[ "$running" == yes ]]; then
    [[ "$GPM_FORCE" == true ]] ||
      gpm_die "the old master still runs on $OLD (postmaster of $OLD_DIR or /tmp/.s.PGSQL.$OLD_PORT.lock held by a live process): activating now would leave two masters accepting writes. Stop it first (gpstop -a -M fast on $OLD), or set activation.force true to have gpmirror stop it"
    fence_segments "it runs and the failover is forced" ask-old
    gpm_log "FORCED: stopping the old master on $OLD before activation"
    probe="$(old stop)" || gpm_die "could not stop the old master on $OLD: $probe"
    [[ "$probe" == *"running=no"* ]] || gpm_die "the old master on $OLD still runs after pg_ctl stop; not activating"
    proof="stopped-by-gpmirror"
  else
    proof="postmaster-gone"
  fi
  # 2. Only now, with the postmaster seen gone: a stale lock of a crashed master.
  if [[ "$probe" == *"lock=stale"* || "$lock" == stale ]]; then
    gpm_log "removing the stale /tmp/.s.PGSQL.$OLD_PORT.lock left on $OLD by a crashed master (its process is gone)"
    old clear-lock >/dev/null || gpm_die "could not remove the stale lock on $OLD"
    stale_removed=true
  fi
elif [[ "$GPM_OLD_FENCED_BY" == command ]]; then
  # activation.fenceCommand, run where Pulumi runs (scripts/activate.sh), succeeded; what it
  # did is the user's, so the segments are fenced too.
  proof="fenced-by-command"
  gpm_log "the old host $OLD does not answer over SSH; activation.fenceCommand has fenced it"
  fence_segments "it does not answer over SSH, and only activation.fenceCommand vouches that it is down"
elif [[ "$GPM_OLD_FENCED_BY" == lease ]]; then
  # The failover agent: the old coordinator's lease expired, and its agent fenced it before
  # that could happen; a coordinator that cannot renew may still be out of reach of its agent's
  # kill (a hung host), so the segments are fenced too.
  proof="fenced-by-lease"
  gpm_log "the old host $OLD does not answer over SSH; its coordinator lost the leader key's lease, which its agent fences it before"
  fence_segments "it does not answer over SSH and its lease expired"
elif [[ "$GPM_FENCED_BY_PLATFORM" == true ]]; then
  proof="fenced-by-platform"
  gpm_log "the old host $OLD does not answer over SSH; the platform has fenced it (its instance stopped through the EC2 API with a forced stop, waited on until stopped, and moved into a security group with no rules), so it cannot take writes"
elif [[ "$GPM_FORCE" == true ]]; then
  proof="unreachable-forced"
  gpm_log "WARNING: FORCED activation without proof: $OLD does not answer over SSH, and an unreachable host may still run a master that takes writes"
  fence_segments "it does not answer over SSH and the failover is forced"
  gpm_log "WARNING: NOT FENCED: the old coordinator's host $OLD itself (it does not answer): its postmaster may still run and take client sessions; where the segment fence holds, their writes fail at the segments. Stop it or cut its clients off"
else
  gpm_die "the old master's host $OLD does not answer over SSH within the timeout: that is not proof its master is down (a partitioned master keeps accepting writes, and gpactivatestandby would promote anyway after its own ssh times out). Fence it through the platform (stop its instance), or set activation.force true if you know it is down"
fi
fi

# 3. gpactivatestandby.
args=(-d "$DATA_DIR" -a)
if ! gpm_postmaster_running "$DATA_DIR"; then
  [[ "$GPM_FORCE" == true ]] ||
    gpm_die "the standby's postmaster does not run on $DATA_DIR, so gpactivatestandby needs -f: set activation.force true only if the standby holds every committed transaction"
  # gpactivatestandby -f starts the coordinator with a promote trigger and connects to it
  # (gpstart -c) while it may still be starting up: under load that failed ("the database
  # system is starting up") and nothing was promoted. Started here as a standby first, it is
  # promoted the normal way (pg_ctl promote, which waits for the end of recovery).
  if start_standby; then
    standby_started=true
  else
    gpm_log "WARNING: could not start the standby as a standby; falling back to gpactivatestandby -f"
    args+=(-f)
  fi
fi
# The old host already found silent and fenced: its check of the old master's lock file
# (over ssh, failure ignored) fails at once instead of waiting 10 s (the trust step's ssh config).
peer_fenced=()
if [[ "$proof" =~ ^(fenced-by-(command|lease|platform)|unreachable-forced)$ ]]; then
  peer_fenced=(env GPMIRROR_PEER_FENCED=1)
fi
gpm_run_utility "$HOME/gpAdminLogs/gpmirror-gpactivatestandby.out" \
  "${peer_fenced[@]}" timeout --kill-after=30 "$GPM_ACTIVATION_TIMEOUT_SECONDS" gpactivatestandby "${args[@]}"
utility_rc="$UTIL_RC"
((UTIL_RC != 124)) || gpm_log "WARNING: gpactivatestandby did not finish within ${GPM_ACTIVATION_TIMEOUT_SECONDS}s"
if [[ " ${args[*]} " == *" -f "* ]] && grep -qE '^[[:space:]]*promote_trigger_file[[:space:]]*=' "$DATA_DIR/postgresql.conf"; then
  gpm_log "removing the promote_trigger_file line gpactivatestandby -f left in postgresql.conf"
  sed -i -E '/^[[:space:]]*promote_trigger_file[[:space:]]*=/d' "$DATA_DIR/postgresql.conf"
  gpm_psql -c 'SELECT pg_reload_conf()' >/dev/null 2>&1 || true
fi

# A refusal before promotion (the standby marker still there, a known cause in the output)
# is reported at once: waiting for a master that was never promoted only hides the cause.
if ((UTIL_RC != 0)) && [[ -f "$DATA_DIR/$STANDBY_MARKER" ]] && why="$(gpm_gp_explain "$UTIL_OUT")"; then
  ssh_line="$(gpm_gp_ssh_line "$UTIL_OUT")"
  gpm_die "gpactivatestandby refused (exit $UTIL_RC) and did not promote $DATA_DIR: $why${ssh_line:+ (its ssh said: $ssh_line)}"
fi
# 4. Judged on the new master, not by the exit code (it has said 2 after promoting).
if ! check_new_master; then
  if [[ -n "$UTIL_OUT" ]] && why="$(gpm_gp_explain "$UTIL_OUT")"; then
    gpm_die "activation failed (gpactivatestandby exit $UTIL_RC): $why"
  fi
  gpm_die "activation failed: gpactivatestandby exited $UTIL_RC and $DATA_DIR is not a master that takes writes; see its output above"
fi
((UTIL_RC == 0)) || gpm_log "WARNING: gpactivatestandby exited $UTIL_RC, but this host is the master and takes writes"
if [[ -n "$old_checkpoint" ]]; then
  # The new timeline starts where replay ended: its .history file's last line is
  # "<parent timeline> <switch point> <reason>".
  hist="$(find "$DATA_DIR/$WAL_DIR" -maxdepth 1 -name '*.history' 2>/dev/null | sort | tail -n 1)"
  line=""
  [[ -z "$hist" ]] || line="$(grep -E '^[0-9]+[[:space:]]+[0-9A-Fa-f]+/[0-9A-Fa-f]+' "$hist" | tail -n 1 || true)"
  parent_tli="" switchpoint=""
  [[ -z "$line" ]] || read -r parent_tli switchpoint _ <<<"$line"
  if [[ -z "${switchpoint:-}" ]]; then
    switchpoint=""
    gpm_log "WARNING: no timeline history file in $DATA_DIR/$WAL_DIR to confirm where the new timeline began"
  elif [[ "$parent_tli" != "$old_tli" ]] || (($(lsn_num "$switchpoint") <= $(lsn_num "$old_checkpoint"))); then
    gpm_log "WARNING: the new timeline began at $switchpoint (from timeline $parent_tli), not past the old master's shutdown checkpoint $old_checkpoint on timeline $old_tli: WAL of the old master may be missing here. Its data directory is kept (moved aside, never deleted)"
  else
    gpm_log "the new timeline began at $switchpoint, past the old master's shutdown checkpoint $old_checkpoint: nothing was lost"
  fi
fi
gpm_log "this host is the master on port $DB_PORT; clients go to $endpoint. Run ANALYZE on the databases when convenient"

# 5. Fence the old data directory when its host answers.
if [[ "$proof" == postmaster-gone || "$proof" == stopped-by-gpmirror || "$proof" == stopped-for-switchover ]]; then
  if fenced="$(old fence)" && [[ "$fenced" =~ moved=([^[:space:]]+) ]]; then
    moved_to="${BASH_REMATCH[1]}"
    gpm_log "moved the old master's data directory aside on $OLD: $moved_to (it would start on the old timeline)"
  else
    gpm_log "WARNING: could not move $OLD_DIR aside on $OLD; re-protection must do it before gpinitstandby"
  fi
else
  gpm_log "the old host is not reachable: its data directory $OLD_DIR must be moved aside before it is re-protected"
fi
if [[ "$segfence_state" == kept ]]; then
  if [[ -n "$moved_to" ]]; then
    lift_segments
  else
    gpm_log "WARNING: the segments stay fenced against $OLD: $segfence_lift"
  fi
fi
((${#segfence_failed[@]} == 0)) || gpm_log "WARNING: NOT FENCED at the segments: ${segfence_failed[*]}"
result true false
