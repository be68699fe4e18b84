#!/usr/bin/env bash
# primary: the Greenplum master (coordinator) running on this host as the catalog's primary.
# An existing system is only checked (and started with gpstart when it is stopped). With
# GPM_INITIALIZE_SYSTEM=true and no system yet, gpinitsystem creates one with the segment
# hosts given, after gpmirror has checked, before anything is created, that every segment
# host answers ping and password-less ssh, runs the same Greenplum, and has room for its
# segment directories. A system once initialized is never initialized again: a second run
# finds the master up and changes nothing.
# Runs on the primary host as gpadmin.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT] GPM_SELF_ADDRESS
#      [GPM_INITIALIZE_SYSTEM=false] [GPM_SEGMENT_HOSTS] [GPM_SEGMENT_DATA_DIR]
#      [GPM_SEGMENTS_PER_HOST=1] [GPM_SEGMENT_PORT_BASE=6000]
#      [GPM_EXPECTED_SYSTEM_ID]: the system identifier the pair had; when set, gpinitsystem
#      is refused (a missing data directory means a lost volume, not a new pair)
# Prints: {"running":true,"initialized","started","dbid","hostname","segments","gpVersion",
#          "systemIdentifier"} (pg_controldata's, "" when it cannot be read)
# shellcheck disable=SC1091,SC2034,SC2016 # lib.sh is prepended by the caller; it reads GPM_TAG; remote text in single quotes
set -euo pipefail
GPM_TAG=primary
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_host GPM_SELF_ADDRESS "this host's address"
gpm_need_bool GPM_INITIALIZE_SYSTEM "create a Greenplum system when there is none (greenplum.initializeSystem)"
gpm_gp_setup

# gpinitsystem's input, its output, and whether gpmirror's run of it finished
# ("started <time>" until the catalog confirms the system, then "done <time>").
WORK="$HOME/gpAdminLogs/gpmirror-gpinitsystem"
STATE_FILE="$WORK/state"

# What a segment host has (args: SEGMENT_DATA_DIR PREFIX GPHOME), one fact a line:
#   dir=yes|no  writable=yes|no  leftovers=<comma-separated PREFIX<n> directories>
#   version=<postgres --gp-version>
SEGMENT_PROBE='
set -u
dir="$1" prefix="$2" gphome="$3"
d=no w=no left="" ver=""
if [[ -d "$dir" ]]; then
  d=yes
  if [[ -w "$dir" ]]; then w=yes; fi
  for x in "$dir/$prefix"[0-9]*; do
    if [[ -e "$x" ]]; then left+="${left:+,}$x"; fi
  done
fi
if [[ -x "$gphome/bin/postgres" ]]; then
  envfile="$gphome/greenplum_path.sh"
  if [[ -f "$gphome/cloudberry-env.sh" ]]; then envfile="$gphome/cloudberry-env.sh"; fi
  ver="$(set +eu; if [[ -f "$envfile" ]]; then . "$envfile" >/dev/null 2>&1; fi; "$gphome/bin/postgres" --gp-version 2>&1 | head -n 1)"
fi
echo "dir=$d"
echo "writable=$w"
echo "leftovers=$left"
echo "version=$ver"
'

# Every check gpinitsystem makes of the hosts that gpmirror can make first, so that a host
# that is away stops the step with a clear error before anything is created anywhere.
# Sets SEG_HOSTS.
check_segment_hosts() {
  local prefix="$1" h out rc ver left
  read -r -a SEG_HOSTS <<<"$GPM_SEGMENT_HOSTS"
  ((${#SEG_HOSTS[@]} > 0)) || gpm_die "GPM_SEGMENT_HOSTS is empty: set greenplum.segmentHosts"
  local dup
  dup="$(printf '%s\n' "${SEG_HOSTS[@]}" | sort | uniq -d | tr '\n' ' ')"
  [[ -z "$dup" ]] ||
    gpm_die "greenplum.segmentHosts names ${dup% } more than once: gpinitsystem refuses duplicate segment hosts; list each host once (greenplum.segmentsPerHost sets the segments on each)"
  local can_ping=true
  command -v ping >/dev/null 2>&1 || can_ping=false
  [[ "$can_ping" == true ]] || gpm_log "ping is not installed here: gpinitsystem needs it too (it pings every segment host)"
  for h in "${SEG_HOSTS[@]}"; do
    if [[ "$can_ping" == true ]] && ! ping -c 1 -W 5 "$h" >/dev/null 2>&1; then
      gpm_die "segment host $h does not answer ping from $(hostname), and gpinitsystem pings every segment host first ('Unable to contact $h'): check the name in greenplum.segmentHosts resolves here, and allow ICMP from the primary host (a security-group rule on AWS); nothing was created"
    fi
    set +e
    out="$(gpm_ssh "$h" "" 60 "$SEGMENT_PROBE" "$GPM_SEGMENT_DATA_DIR" "$prefix" "$GPHOME_DIR")"
    rc=$?
    set -e
    if ((rc != 0)); then
      gpm_die "segment host $h does not answer ssh as $GPM_GP_ADMIN from $(hostname) without a password (exit $rc; 10 s connect timeout): gpinitsystem runs every step on the segment hosts over ssh, so the primary host's $GPM_GP_ADMIN key must be in $h's authorized_keys and $h's host key in known_hosts here (gpssh-exkeys -h $h does both); nothing was created"
    fi
    ver="$(sed -n 's/^version=//p' <<<"$out")"
    [[ -n "$ver" ]] ||
      gpm_die "$GPHOME_DIR/bin/postgres is missing on segment host $h: install the same Greenplum there, at the same path (greenplum.gphome); nothing was created"
    [[ "$ver" == "$GP_VERSION_LINE" ]] ||
      gpm_die "segment host $h runs '$ver' but this host runs '$GP_VERSION_LINE': gpinitsystem needs the same Greenplum build on every host; nothing was created"
    left="$(sed -n 's/^leftovers=//p' <<<"$out")"
    [[ -z "$left" ]] ||
      gpm_die "segment host $h already has $left (from an earlier gpinitsystem?): gpinitsystem creates these directories and refuses existing ones; run the backout script it left in ~/gpAdminLogs on $(hostname), or move them aside on $h; nothing was created"
    SEG_DIR_STATE["$h"]="$(sed -n 's/^dir=//p' <<<"$out") $(sed -n 's/^writable=//p' <<<"$out")"
  done
}

# The segment data directory on each host: gpinitsystem needs it to exist and be writable.
# Created (mkdir -p) only once every host has passed the checks above.
ensure_segment_dirs() {
  local h
  for h in "${SEG_HOSTS[@]}"; do
    case "${SEG_DIR_STATE[$h]}" in
      "yes yes") ;;
      "yes no") gpm_die "greenplum.segmentDataDir $GPM_SEGMENT_DATA_DIR on segment host $h is not writable by $GPM_GP_ADMIN: chown it to $GPM_GP_ADMIN there" ;;
      *)
        gpm_log "creating $GPM_SEGMENT_DATA_DIR on segment host $h"
        gpm_ssh "$h" "" 60 'mkdir -p -- "$1" && test -w "$1"' "$GPM_SEGMENT_DATA_DIR" ||
          gpm_die "cannot create greenplum.segmentDataDir $GPM_SEGMENT_DATA_DIR on segment host $h as $GPM_GP_ADMIN: create it there, owned by $GPM_GP_ADMIN"
        ;;
    esac
  done
}

# gpinitsystem compares <prefix>_HOSTNAME with `hostname`; when they differ it checks the
# name by ssh from this host to itself, and stops when that fails.
check_self_ssh() {
  [[ "$GPM_SELF_ADDRESS" != "$(hostname)" ]] || return 0
  gpm_ssh "$GPM_SELF_ADDRESS" "" 30 'true' ||
    gpm_die "gpinitsystem checks ${INIT_PREFIX}_HOSTNAME ($GPM_SELF_ADDRESS, the primary's address) by ssh from this host to itself, and $(hostname) cannot ssh to $GPM_SELF_ADDRESS as $GPM_GP_ADMIN without a password: the trust step adds this host's own key to authorized_keys and its host keys to known_hosts; check that it ran (and that sshd listens on port 22 or ~/.ssh/config says otherwise); nothing was created"
}

initialize_system() {
  gpm_need_match GPM_SEGMENT_HOSTS '^[A-Za-z0-9][A-Za-z0-9. -]*$' "segment hosts for gpinitsystem (greenplum.segmentHosts)"
  gpm_need_abs GPM_SEGMENT_DATA_DIR "parent of the segment data directories (greenplum.segmentDataDir)"
  GPM_SEGMENTS_PER_HOST="${GPM_SEGMENTS_PER_HOST:-1}"
  gpm_need_match GPM_SEGMENTS_PER_HOST '^[1-9][0-9]?$' "segments per host (greenplum.segmentsPerHost)"
  GPM_SEGMENT_PORT_BASE="${GPM_SEGMENT_PORT_BASE:-6000}"
  gpm_need_port GPM_SEGMENT_PORT_BASE "first segment port (greenplum.segmentPortBase)"
  local base prefix parent
  base="$(basename "$DATA_DIR")"
  [[ "$base" =~ ^([A-Za-z0-9_]+)-1$ ]] ||
    gpm_die "gpinitsystem names the master's directory <prefix>-1 inside ${INIT_PREFIX}_DIRECTORY (e.g. /data/coordinator/gpseg-1), but the primary's dataDir ends in '$base': set the primary's dataDir to such a path"
  prefix="${BASH_REMATCH[1]}"
  parent="$(dirname "$DATA_DIR")"

  declare -gA SEG_DIR_STATE=()
  check_segment_hosts "$prefix"
  check_self_ssh
  mkdir -p "$parent" "$WORK" ||
    gpm_die "cannot create $parent as $GPM_GP_ADMIN: create it (owned by $GPM_GP_ADMIN) or choose another dataDir for the primary"
  ensure_segment_dirs

  printf '%s\n' "${SEG_HOSTS[@]}" >"$WORK/hostfile"
  local dirs="" i
  for ((i = 0; i < GPM_SEGMENTS_PER_HOST; i++)); do dirs+=" $GPM_SEGMENT_DATA_DIR"; done
  {
    echo "# Written by gpmirror's primary step for gpinitsystem -c (segment hosts in -h hostfile)."
    echo 'ARRAY_NAME="gpmirror"'
    echo "SEG_PREFIX=$prefix"
    echo "PORT_BASE=$GPM_SEGMENT_PORT_BASE"
    echo "declare -a DATA_DIRECTORY=(${dirs# })"
    echo "${INIT_PREFIX}_HOSTNAME=$GPM_SELF_ADDRESS"
    echo "${INIT_PREFIX}_DIRECTORY=$parent"
    echo "${INIT_PREFIX}_PORT=$DB_PORT"
    echo "TRUSTED_SHELL=ssh"
    # Greenplum 6 warns (and so exits 1) when it is missing; 7 no longer reads it.
    [[ "$GP_FLAVOR" != gp6 ]] || echo "CHECK_POINT_SEGMENTS=8"
    echo "ENCODING=UNICODE"
  } >"$WORK/gpinitsystem_config"

  printf 'started %s\n' "$(gpm_utc_stamp)" >"$STATE_FILE"
  gpm_log "no system yet: gpinitsystem with segment hosts ${SEG_HOSTS[*]} ($GPM_SEGMENTS_PER_HOST each)"
  gpm_run_utility "$WORK/gpinitsystem.out" gpinitsystem -a -c "$WORK/gpinitsystem_config" -h "$WORK/hostfile"
  # Exit codes: Greenplum 6: 0 success, 1 completed with warnings, 2 fatal. Greenplum 7 and
  # Cloudberry: 0 success (warnings included), 1 fatal. Then the catalog must agree.
  local rc_ok=false
  case "$GP_FLAVOR" in
    gp6) ((UTIL_RC <= 1)) && rc_ok=true ;;
    *) ((UTIL_RC == 0)) && rc_ok=true ;;
  esac
  if [[ "$rc_ok" != true ]]; then
    local why backout product="Greenplum $GP_VERSION"
    [[ "$GP_FLAVOR" != cloudberry ]] || product="Cloudberry $GP_VERSION"
    why="$(gpm_gp_explain "$UTIL_OUT" || echo "see its output above and $WORK/gpinitsystem.out")"
    backout="$(grep -o 'bash [^ ]*backout_gpinitsystem[^ ]*' <<<"$UTIL_OUT" | tail -n 1 | cut -d' ' -f2 || true)"
    gpm_die "gpinitsystem failed (exit $UTIL_RC, fatal for $product): $why.${backout:+ It may have created part of the system: bash $backout on this host removes it.} pulumi up stops here until $DATA_DIR is gone or the system runs"
  fi
  if ((UTIL_RC != 0)); then
    gpm_log "WARNING: gpinitsystem exited $UTIL_RC: Greenplum 6 completed with warnings; its [WARN] lines:"
    grep '\[WARN\]' <<<"$UTIL_OUT" | sed 's/^/    | /' >&2 || true
  fi
  gpm_master_up ||
    gpm_die "gpinitsystem exited $UTIL_RC but no master accepts connections on port $DB_PORT: see $WORK/gpinitsystem.out"
  local want up
  want=$((${#SEG_HOSTS[@]} * GPM_SEGMENTS_PER_HOST))
  up="$(gpm_psql -c "SELECT count(*) FROM gp_segment_configuration WHERE content >= 0 AND role = 'p' AND status = 'u'")"
  [[ "$up" == "$want" ]] ||
    gpm_die "gpinitsystem exited $UTIL_RC but the catalog has $up primary segments up, not $want (${#SEG_HOSTS[@]} hosts x $GPM_SEGMENTS_PER_HOST): see $WORK/gpinitsystem.out and gpstate -s"
  printf 'done %s\n' "$(gpm_utc_stamp)" >"$STATE_FILE"
}

initialized=false
started=false
if ! gpm_master_up; then
  if gpm_postmaster_running "$DATA_DIR"; then
    gpm_die "a postmaster runs on $DATA_DIR but does not accept connections as a primary on port $DB_PORT (a standby, or still starting); if this host's standby was activated elsewhere, this host is no longer the primary"
  fi
  [[ "$GPM_INITIALIZE_SYSTEM" == true ]] ||
    gpm_die "no Greenplum master accepts connections on port $DB_PORT of $(hostname) ($DATA_DIR): start it with gpstart -a, or check dbPort and the primary's dataDir (set greenplum.initializeSystem true to have gpmirror create a system)"
  if [[ -f "$DATA_DIR/PG_VERSION" ]]; then
    if [[ -f "$STATE_FILE" && "$(cat "$STATE_FILE")" != done* ]]; then
      gpm_die "gpmirror's gpinitsystem run on this host did not finish ($(cat "$STATE_FILE"); output in $WORK/gpinitsystem.out), so $DATA_DIR may be half made: run the backout script gpinitsystem left in ~/gpAdminLogs (bash ~/gpAdminLogs/backout_gpinitsystem_*; it stops and removes what it created on every host), then run pulumi up again"
    fi
    gpm_log "the system in $DATA_DIR is stopped; starting it (gpstart -a)"
    gpm_run_utility "$HOME/gpAdminLogs/gpmirror-gpstart.out" gpstart -a -d "$DATA_DIR"
    gpm_master_up || gpm_die_utility "gpstart"
    started=true
  elif [[ -e "$DATA_DIR" ]]; then
    gpm_die "$DATA_DIR exists but holds no Greenplum system (no PG_VERSION), and gpinitsystem needs it absent: move it aside, or point the primary's dataDir elsewhere"
  else
    [[ -z "${GPM_EXPECTED_SYSTEM_ID:-}" ]] ||
      gpm_die "$DATA_DIR is missing, but this pair had database system $GPM_EXPECTED_SYSTEM_ID: refusing to run gpinitsystem in its place (a lost or unmounted data volume?). Attach the volume that holds it, or restore it; to create a new system on purpose set aws.allowNewDatabaseSystem to true for one update"
    initialize_system
    initialized=true
  fi
fi

row="$(gpm_psql -F '|' -c "SELECT dbid, port, datadir, hostname FROM gp_segment_configuration WHERE content = -1 AND role = 'p'")"
IFS='|' read -r dbid port datadir hostname <<<"$row"
[[ "$port" == "$DB_PORT" && "${datadir%/}" == "$DATA_DIR" ]] ||
  gpm_die "the catalog's primary master is $hostname:$port $datadir, not this host's $DB_PORT $DATA_DIR: check dbPort and the primary's dataDir"
segments="$(gpm_psql -c "SELECT count(*) FROM gp_segment_configuration WHERE content >= 0 AND role = 'p'")"
gpm_log "master dbid $dbid on $hostname:$port ($datadir), $segments primary segments"
sysid="$(pg_controldata "$DATA_DIR" 2>/dev/null | sed -n 's/^Database system identifier: *//p' || true)"
printf '{"running":true,"initialized":%s,"started":%s,"dbid":%s,"hostname":%s,"segments":%s,"gpVersion":%s,"systemIdentifier":%s}\n' \
  "$initialized" "$started" "$(gpm_json_num "$dbid")" "$(gpm_json_str "$hostname")" \
  "$(gpm_json_num "$segments")" "$(gpm_json_str "$GP_VERSION")" "$(gpm_json_str "$sysid")"
