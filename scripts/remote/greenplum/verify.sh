#!/usr/bin/env bash
# verify: the standby streams and has replayed what the master had written when this step
# began; reports state, sync state, lag, and how much more WAL the master can write before
# the standby could no longer catch up (no slot holds WAL for it: only wal_keep_size does).
# gpstate and gp_segment_configuration cannot tell (a dead standby stays "Standby host
# passive" and status u), so this reads pg_stat_replication on the master and, when the
# standby is not there, the standby's own host.
# Runs on the primary host as gpadmin.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT]
#      GPM_STANDBY_ADDRESS GPM_STANDBY_DATA_DIR [GPM_STANDBY_SSH_PORT=22] [GPM_TIMEOUT_SECONDS=120]
# Prints: {"state","syncState","sentLsn","flushLsn","replayLsn","replayLagBytes","walKeepBytes",
#          "walHeadroomBytes","health","gpstateStandbyStatus"}
# Exits 1 on timeout with the standby's health: stopped, broken, or lost (must be rebuilt).
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=verify
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_host GPM_STANDBY_ADDRESS "the standby host"
gpm_need_abs GPM_STANDBY_DATA_DIR "the standby's data directory"
GPM_STANDBY_SSH_PORT="${GPM_STANDBY_SSH_PORT:-22}"
gpm_need_port GPM_STANDBY_SSH_PORT "SSH port of the standby host"
GPM_TIMEOUT_SECONDS="${GPM_TIMEOUT_SECONDS:-120}"
gpm_need_int GPM_TIMEOUT_SECONDS "seconds to wait for streaming"
gpm_gp_setup
gpm_master_up || gpm_die "the master does not accept connections on port $DB_PORT"

registered="$(gpm_psql -c "SELECT count(*) FROM gp_segment_configuration WHERE content = -1 AND role = 'm'")"
[[ "$registered" == 1 ]] || gpm_die "no standby is registered in gp_segment_configuration; the standby step creates it"

keep_bytes="$(gpm_wal_keep_bytes)"

target="$(gpm_psql -c "SELECT $CUR_LSN_FN")"
query="SELECT state, sync_state, $COL_SENT, $COL_FLUSH, $COL_REPLAY,
  $LSN_DIFF_FN($CUR_LSN_FN, $COL_REPLAY)::bigint,
  $LSN_DIFF_FN($CUR_LSN_FN, $COL_FLUSH)::bigint,
  $LSN_DIFF_FN($COL_REPLAY, '$target')::bigint
FROM pg_stat_replication WHERE application_name = 'gp_walreceiver'
ORDER BY (state = 'streaming') DESC LIMIT 1"

start=$(date +%s)
last=0
seen="no gp_walreceiver in pg_stat_replication"
while :; do
  row="$(gpm_psql -F '|' -c "$query" 2>/dev/null || true)"
  state="" sync="" sent="" flush="" replay="" lag="" behind="" past=""
  if [[ -n "$row" ]]; then
    IFS='|' read -r state sync sent flush replay lag behind past <<<"$row"
    seen="state $state ($sync), sent $sent, replayed $replay"
    [[ "$state" == streaming && "$past" =~ ^[0-9]+$ ]] && break
  fi
  now=$(date +%s)
  if ((now - start >= GPM_TIMEOUT_SECONDS)); then
    health=broken
    probe="$(gpm_ssh "$GPM_STANDBY_ADDRESS" "$GPM_STANDBY_SSH_PORT" 60 "$GPM_STANDBY_PROBE" "${GPM_STANDBY_DATA_DIR%/}" "$STANDBY_MARKER" "$ENV_FILE" || echo unreachable)"
    # How much more WAL the master can write before this standby could not catch up.
    headroom_note=""
    if [[ "$probe" =~ needsFrom=([0-9A-Fa-f]+/[0-9A-Fa-f]+) ]]; then
      needs="${BASH_REMATCH[1]}"
      behind="$(gpm_psql -c "SELECT $LSN_DIFF_FN($CUR_LSN_FN, '$needs')::bigint" 2>/dev/null || true)"
      if [[ "$behind" =~ ^-?[0-9]+$ ]]; then
        headroom_note=" The standby resumes from $needs, $behind bytes behind the master; $WAL_KEEP_SETTING keeps $keep_bytes, so the master can write about $((keep_bytes - behind)) more bytes of WAL before the standby is lost."
      fi
    fi
    case "$probe" in
      unreachable) health=unreachable ;;
      *walRemoved=yes*) health=lost ;;
      *running=no*) health=stopped ;;
    esac
    case "$health" in
      lost) gpm_die "standby LOST: its log says the requested WAL segment has already been removed on the master, so it can never catch up and must be rebuilt: set greenplum.allowReplaceStandby true, then run pulumi up if that changed the setting (it runs the standby step again), else npm run repair -- --stack <stack>; gpinitstandby -r -a removes the standby and DELETES its data directory (nothing is moved aside), then gpinitstandby -s makes a new one. Last seen: $seen" ;;
      stopped) gpm_die "standby STOPPED: its postmaster does not run on $GPM_STANDBY_ADDRESS (the catalog still says status u); npm run repair -- --stack <stack> starts it with gpinitstandby -n (a pulumi up with unchanged settings runs nothing).$headroom_note Last seen: $seen" ;;
      unreachable) gpm_die "standby UNREACHABLE: $GPM_STANDBY_ADDRESS does not answer over SSH and does not stream. Last seen: $seen" ;;
      *) gpm_die "standby BROKEN: its postmaster runs but it is not streaming after ${GPM_TIMEOUT_SECONDS}s (last seen: $seen);$headroom_note look at ${GPM_STANDBY_DATA_DIR%/}/log on $GPM_STANDBY_ADDRESS" ;;
    esac
  fi
  if ((now - last >= 5)); then
    gpm_log "waiting for the standby to stream and replay up to $target ($((now - start))s/${GPM_TIMEOUT_SECONDS}s): $seen"
    last=$now
  fi
  sleep 1
done

headroom=$((keep_bytes - behind))
# What gpstate says, for people used to it; it is not what the state above is judged by.
gpstate_status="$(timeout 60 gpstate -f </dev/null 2>/dev/null | sed -n 's/.*Standby status *= *//p' | head -n 1 || true)"
gpm_log "standby streaming ($sync): sent $sent, replayed $replay, lag $lag bytes; the master can write $headroom more bytes of WAL before the standby could not catch up"
printf '{"state":%s,"syncState":%s,"sentLsn":%s,"flushLsn":%s,"replayLsn":%s,"replayLagBytes":%s,"walKeepBytes":%s,"walHeadroomBytes":%s,"health":"streaming","gpstateStandbyStatus":%s}\n' \
  "$(gpm_json_str "$state")" "$(gpm_json_str "$sync")" "$(gpm_json_str "$sent")" \
  "$(gpm_json_str "$flush")" "$(gpm_json_str "$replay")" "$(gpm_json_num "$lag")" \
  "$(gpm_json_num "$keep_bytes")" "$(gpm_json_num "$headroom")" "$(gpm_json_str "$gpstate_status")"
