#!/usr/bin/env bash
# primary: the Greenplum master (coordinator) running on this host as the catalog's primary.
# An existing system is only checked. With GPM_INITIALIZE_SYSTEM=true and no system yet,
# gpinitsystem creates one with the segment hosts given (they must trust this host over SSH).
# Runs on the primary host as gpadmin.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT] GPM_SELF_ADDRESS
#      [GPM_INITIALIZE_SYSTEM=false] [GPM_SEGMENT_HOSTS] [GPM_SEGMENT_DATA_DIR]
#      [GPM_SEGMENTS_PER_HOST=1] [GPM_SEGMENT_PORT_BASE=6000]
# Prints: {"running":true,"initialized","started","dbid","hostname","segments","gpVersion"}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=primary
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_host GPM_SELF_ADDRESS "this host's address"
gpm_need_bool GPM_INITIALIZE_SYSTEM "create a Greenplum system when there is none"
gpm_gp_setup

initialized=false
started=false
if ! gpm_master_up; then
  if gpm_postmaster_running "$DATA_DIR"; then
    gpm_die "a postmaster runs on $DATA_DIR but does not accept connections as a primary on port $DB_PORT (a standby, or still starting); if this host's standby was activated elsewhere, this host is no longer the primary"
  fi
  [[ "$GPM_INITIALIZE_SYSTEM" == true ]] ||
    gpm_die "no Greenplum master accepts connections on port $DB_PORT of $(hostname) ($DATA_DIR): start it with gpstart -a, or check dbPort and the primary's dataDir (set greenplum.initializeSystem true to have gpmirror create a system)"
  if [[ -f "$DATA_DIR/PG_VERSION" ]]; then
    gpm_log "the system in $DATA_DIR is stopped; starting it (gpstart -a)"
    gpm_run_utility "$HOME/gpAdminLogs/gpmirror-gpstart.out" gpstart -a -d "$DATA_DIR"
    gpm_master_up || gpm_die_utility "gpstart"
    started=true
  else
    gpm_need_match GPM_SEGMENT_HOSTS '^[A-Za-z0-9][A-Za-z0-9. -]*$' "segment hosts for gpinitsystem"
    gpm_need_abs GPM_SEGMENT_DATA_DIR "parent of the segment data directories"
    GPM_SEGMENTS_PER_HOST="${GPM_SEGMENTS_PER_HOST:-1}"
    gpm_need_match GPM_SEGMENTS_PER_HOST '^[1-9][0-9]?$' "segments per host"
    GPM_SEGMENT_PORT_BASE="${GPM_SEGMENT_PORT_BASE:-6000}"
    gpm_need_port GPM_SEGMENT_PORT_BASE "first segment port"
    base="$(basename "$DATA_DIR")"
    [[ "$base" =~ ^([A-Za-z0-9_]+)-1$ ]] ||
      gpm_die "gpinitsystem names the master's directory <prefix>-1 (e.g. /data/coordinator/gpseg-1); the primary's dataDir ends in '$base'"
    prefix="${BASH_REMATCH[1]}"
    parent="$(dirname "$DATA_DIR")"
    mkdir -p "$parent" "$HOME/gpAdminLogs"
    work="$HOME/gpAdminLogs/gpmirror-gpinitsystem"
    mkdir -p "$work"
    tr ' ' '\n' <<<"$GPM_SEGMENT_HOSTS" | grep -v '^$' >"$work/hostfile"
    dirs=""
    for ((i = 0; i < GPM_SEGMENTS_PER_HOST; i++)); do dirs+=" $GPM_SEGMENT_DATA_DIR"; done
    cat >"$work/gpinitsystem_config" <<CONF
ARRAY_NAME="gpmirror"
SEG_PREFIX=$prefix
PORT_BASE=$GPM_SEGMENT_PORT_BASE
declare -a DATA_DIRECTORY=(${dirs# })
${INIT_PREFIX}_HOSTNAME=$GPM_SELF_ADDRESS
${INIT_PREFIX}_DIRECTORY=$parent
${INIT_PREFIX}_PORT=$DB_PORT
TRUSTED_SHELL=ssh
ENCODING=UNICODE
CONF
    gpm_log "no system yet: gpinitsystem with segment hosts $GPM_SEGMENT_HOSTS"
    # Exit 1 means warnings; the catalog says whether it worked.
    gpm_run_utility "$work/gpinitsystem.out" gpinitsystem -a -c "$work/gpinitsystem_config" -h "$work/hostfile"
    gpm_master_up || gpm_die_utility "gpinitsystem"
    initialized=true
  fi
fi

row="$(gpm_psql -F '|' -c "SELECT dbid, port, datadir, hostname FROM gp_segment_configuration WHERE content = -1 AND role = 'p'")"
IFS='|' read -r dbid port datadir hostname <<<"$row"
[[ "$port" == "$DB_PORT" && "${datadir%/}" == "$DATA_DIR" ]] ||
  gpm_die "the catalog's primary master is $hostname:$port $datadir, not this host's $DB_PORT $DATA_DIR: check dbPort and the primary's dataDir"
segments="$(gpm_psql -c "SELECT count(*) FROM gp_segment_configuration WHERE content >= 0 AND role = 'p'")"
gpm_log "master dbid $dbid on $hostname:$port ($datadir), $segments primary segments"
printf '{"running":true,"initialized":%s,"started":%s,"dbid":%s,"hostname":%s,"segments":%s,"gpVersion":%s}\n' \
  "$initialized" "$started" "$(gpm_json_num "$dbid")" "$(gpm_json_str "$hostname")" \
  "$(gpm_json_num "$segments")" "$(gpm_json_str "$GP_VERSION")"
