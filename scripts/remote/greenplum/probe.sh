#!/usr/bin/env bash
# probe: what this host's Greenplum master (coordinator) really is right now, read-only, in
# the Probe shape of the PostgreSQL probe (components/operator/probe.ts) for the status and
# the drill. Roles and registration come from gp_segment_configuration (content -1), the
# truth about the standby from pg_stat_replication on the master (a standby the catalog
# registers `u` may be dead: only its absence there shows it), and, on the standby's host,
# from its own control file and log ("requested WAL segment ... has already been removed":
# it can never catch up). No slot holds WAL for the standby: wal_keep_size (wal_keep_segments
# on 6) does, reported as walKeepBytes.
# A standby master refuses connections (hot_standby off): its role comes from its standby
# marker file (standby.signal on 7, recovery.conf on 6) and its running postmaster.
# Runs on either host as gpadmin.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT]
#      GPM_PEER_NAME GPM_PEER_ADDRESS: the other host of the pair; the standby's walsender
#        (application_name gp_walreceiver) is reported under GPM_PEER_NAME when the catalog
#        registers the standby at GPM_PEER_ADDRESS
# Prints: {"dataDir","running","acceptsConnections","inRecovery","fenced","timeline",
#   "currentLsn","receiveLsn","replayLsn","replayAgeSeconds","walReceiver",
#   "replication":[{"applicationName","state","syncState","sentLsn","replayLsn","lagBytes",
#     "replayLagSeconds","replyAgeSeconds"}],"slot":null,"synchronousStandbyNames",
#   "gpVersion", and on the primary "walKeepBytes","registeredStandby":{"hostname","address",
#   "port","dataDir","status"}|null, elsewhere "resumeLsn","walRemoved"}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=probe
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need GPM_PEER_NAME "the other host's name in the pair"
gpm_need_host GPM_PEER_ADDRESS "the other host's address"
gpm_gp_setup

# A JSON number (integer or float as psql prints it), or null.
json_float() {
  if [[ "$1" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then printf '%s' "$1"; else printf 'null'; fi
}
# A JSON string, or null when empty.
json_str_or_null() {
  if [[ -n "$1" ]]; then gpm_json_str "$1"; else printf 'null'; fi
}

has_dir=false
[[ -f "$DATA_DIR/PG_VERSION" ]] && has_dir=true
# Greenplum's fence is the old master's directory moved aside (activate.sh).
fenced=false
if [[ "$has_dir" == false ]] && compgen -G "$DATA_DIR.gpmirror-fenced-*" >/dev/null; then
  fenced=true
fi
running=false
gpm_postmaster_running "$DATA_DIR" && running=true
in_recovery="$(gpm_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null || true)"

if [[ "$in_recovery" == f ]]; then
  # The primary master: its walsenders, its catalog, its WAL retention.
  cur="$(gpm_psql -c "SELECT $CUR_LSN_FN")"
  walfile="$(gpm_psql -c "SELECT $WALFILE_FN($CUR_LSN_FN)")"
  timeline=null
  [[ "$walfile" =~ ^[0-9A-Fa-f]{24}$ ]] && timeline=$((16#${walfile:0:8}))
  if [[ "$GP_FLAVOR" == gp6 ]]; then
    # PostgreSQL 9.4 underneath: no replay_lag and no reply_time.
    lag_sql=NULL age_sql=NULL
  else
    lag_sql='extract(epoch FROM replay_lag)::float8'
    age_sql='extract(epoch FROM clock_timestamp() - reply_time)::float8'
  fi
  repl_sql="SELECT application_name, state, sync_state, $COL_SENT, $COL_REPLAY, $LSN_DIFF_FN($CUR_LSN_FN, $COL_REPLAY)::bigint, $lag_sql, $age_sql FROM pg_stat_replication ORDER BY application_name, state"
  repl_rows="$(gpm_psql -F '|' -c "$repl_sql")"
  reg="$(gpm_psql -F '|' -c "SELECT hostname, address, port, datadir, status FROM gp_segment_configuration WHERE content = -1 AND role = 'm'")"
  registered=null
  walreceiver_name=gp_walreceiver
  if [[ -n "$reg" ]]; then
    IFS='|' read -r r_host r_addr r_port r_dir r_status <<<"$reg"
    registered="$(printf '{"hostname":%s,"address":%s,"port":%s,"dataDir":%s,"status":%s}' \
      "$(gpm_json_str "$r_host")" "$(gpm_json_str "$r_addr")" "$(gpm_json_num "$r_port")" \
      "$(gpm_json_str "$r_dir")" "$(gpm_json_str "$r_status")")"
    # Greenplum has one standby master; its walsender is the peer's when the catalog puts it there.
    if [[ "$r_host" == "$GPM_PEER_ADDRESS" || "$r_addr" == "$GPM_PEER_ADDRESS" ]]; then
      walreceiver_name="$GPM_PEER_NAME"
    fi
  fi
  replication=""
  while IFS='|' read -r app state sync sent replay lag lag_s age_s; do
    [[ -n "$app$state" ]] || continue
    [[ "$app" == gp_walreceiver ]] && app="$walreceiver_name"
    replication+="${replication:+,}$(printf '{"applicationName":%s,"state":%s,"syncState":%s,"sentLsn":%s,"replayLsn":%s,"lagBytes":%s,"replayLagSeconds":%s,"replyAgeSeconds":%s}' \
      "$(gpm_json_str "$app")" "$(gpm_json_str "$state")" "$(gpm_json_str "$sync")" \
      "$(json_str_or_null "$sent")" "$(json_str_or_null "$replay")" "$(gpm_json_num "$lag")" \
      "$(json_float "$lag_s")" "$(json_float "$age_s")")"
  done <<<"$repl_rows"
  keep_bytes="$(gpm_wal_keep_bytes)"
  sync_names="$(gpm_psql -c "SELECT current_setting('synchronous_standby_names')")"
  printf '{"dataDir":true,"running":true,"acceptsConnections":true,"inRecovery":false,"fenced":false,"timeline":%s,"currentLsn":%s,"receiveLsn":null,"replayLsn":null,"replayAgeSeconds":null,"walReceiver":null,"replication":[%s],"slot":null,"synchronousStandbyNames":%s,"walKeepBytes":%s,"registeredStandby":%s,"gpVersion":%s}\n' \
    "$timeline" "$(json_str_or_null "$cur")" "$replication" "$(gpm_json_str "$sync_names")" \
    "$(gpm_json_num "$keep_bytes")" "$registered" "$(gpm_json_str "$GP_VERSION")"
  exit 0
fi

# Not an open primary: a standby (it refuses connections), a stopped master, or nothing.
# The same look at the directory as the standby and verify steps take over ssh.
look="$(bash -c "$GPM_STANDBY_PROBE" probe "$DATA_DIR" "$STANDBY_MARKER" "$ENV_FILE")"
marker=false
[[ "$look" == *"marker=yes"* ]] && marker=true
accepts=false
in_rec=null
if [[ "$in_recovery" == t ]]; then
  accepts=true in_rec=true
elif [[ "$marker" == true ]]; then
  in_rec=true
fi
timeline=null
resume=""
wal_removed=false
if [[ -f "$DATA_DIR/global/pg_control" ]]; then
  tl="$(pg_controldata "$DATA_DIR" 2>/dev/null | sed -n "s/^Latest checkpoint's TimeLineID: *//p" || true)"
  [[ "$tl" =~ ^[0-9]+$ ]] && timeline="$tl"
fi
if [[ "$marker" == true ]]; then
  [[ "$look" =~ needsFrom=([0-9A-Fa-f]+/[0-9A-Fa-f]+) ]] && resume="${BASH_REMATCH[1]}"
  [[ "$look" == *"walRemoved=yes"* ]] && wal_removed=true
fi
printf '{"dataDir":%s,"running":%s,"acceptsConnections":%s,"inRecovery":%s,"fenced":%s,"timeline":%s,"currentLsn":null,"receiveLsn":null,"replayLsn":null,"replayAgeSeconds":null,"walReceiver":null,"replication":[],"slot":null,"resumeLsn":%s,"walRemoved":%s,"gpVersion":%s}\n' \
  "$has_dir" "$running" "$accepts" "$in_rec" "$fenced" "$timeline" "$(json_str_or_null "$resume")" \
  "$wal_removed" "$(gpm_json_str "$GP_VERSION")"
