#!/usr/bin/env bash
# access: WAL retention and the walsender timeout on the master (and its standby's copy of
# postgresql.conf), with gpconfig and a reload. gpinitstandby makes no replication slot:
# only wal_keep_size (wal_keep_segments on 6) lets an absent standby catch up. The standby
# is synchronous, so a hung one holds commits until wal_sender_timeout ends its walsender.
# gpinitstandby writes the pg_hba.conf entries for the standby itself.
# Runs on the primary host as gpadmin.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT]
#      GPM_WAL_KEEP_SIZE (e.g. 1GB) GPM_WAL_SENDER_TIMEOUT_SECONDS
# Prints: {"walKeepSetting","walKeepValue","walKeepBytes","walSenderTimeoutMs","changed"}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=access
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_match GPM_WAL_KEEP_SIZE '^[0-9]+(kB|MB|GB|TB)$' "WAL kept for the standby, e.g. 1GB"
gpm_need_match GPM_WAL_SENDER_TIMEOUT_SECONDS '^[0-9]{1,5}$' "wal_sender_timeout in seconds"
gpm_gp_setup
gpm_master_up || gpm_die "the master does not accept connections on port $DB_PORT; run the primary step first"

# A size such as 64MB or 1GB in MB (rounded up).
size_mb() {
  [[ "$1" =~ ^([0-9]+)(kB|MB|GB|TB)$ ]] || gpm_die "not a size: '$1'"
  local n="${BASH_REMATCH[1]}"
  case "${BASH_REMATCH[2]}" in
    kB) echo $(((n + 1023) / 1024)) ;;
    MB) echo "$n" ;;
    GB) echo $((n * 1024)) ;;
    TB) echo $((n * 1024 * 1024)) ;;
  esac
}

keep_mb="$(size_mb "$GPM_WAL_KEEP_SIZE")"
if [[ "$WAL_KEEP_SETTING" == wal_keep_segments ]]; then
  seg_mb="$(size_mb "$(gpm_psql -c 'SHOW wal_segment_size')")"
  want_keep=$(((keep_mb + seg_mb - 1) / seg_mb))
  keep_bytes=$((want_keep * seg_mb * 1048576))
else
  want_keep="$keep_mb"
  keep_bytes=$((keep_mb * 1048576))
fi
want_timeout_ms=$((10#$GPM_WAL_SENDER_TIMEOUT_SECONDS * 1000))

setting() { gpm_psql -v "n=$1" <<<"SELECT setting FROM pg_settings WHERE name = :'n';"; }

changed=false
if [[ "$(setting "$WAL_KEEP_SETTING")" != "$want_keep" ]]; then
  gpm_run_utility "$HOME/gpAdminLogs/gpmirror-gpconfig.out" gpconfig -c "$WAL_KEEP_SETTING" -v "$want_keep" "$ONLY_FLAG"
  ((UTIL_RC == 0)) || gpm_die_utility "gpconfig -c $WAL_KEEP_SETTING"
  changed=true
fi
if [[ "$(setting wal_sender_timeout)" != "$want_timeout_ms" ]]; then
  gpm_run_utility "$HOME/gpAdminLogs/gpmirror-gpconfig.out" gpconfig -c wal_sender_timeout -v "${GPM_WAL_SENDER_TIMEOUT_SECONDS}s" "$ONLY_FLAG"
  ((UTIL_RC == 0)) || gpm_die_utility "gpconfig -c wal_sender_timeout"
  changed=true
fi
if [[ "$changed" == true ]]; then
  gpm_run_utility "$HOME/gpAdminLogs/gpmirror-gpstop.out" gpstop -u -a
  ((UTIL_RC == 0)) || gpm_die_utility "gpstop -u"
  for _ in 1 2 3 4 5; do
    [[ "$(setting "$WAL_KEEP_SETTING")" == "$want_keep" && "$(setting wal_sender_timeout)" == "$want_timeout_ms" ]] && break
    sleep 1
  done
  # gpconfig -s can report another session's value: SHOW on the master is the truth.
  [[ "$(setting "$WAL_KEEP_SETTING")" == "$want_keep" ]] ||
    gpm_die "$WAL_KEEP_SETTING is $(setting "$WAL_KEEP_SETTING") after gpconfig and a reload, not $want_keep: a later line in postgresql.conf or postgresql.auto.conf overrides it"
  [[ "$(setting wal_sender_timeout)" == "$want_timeout_ms" ]] ||
    gpm_die "wal_sender_timeout is $(setting wal_sender_timeout) ms after gpconfig and a reload, not $want_timeout_ms: a later line overrides it"
fi
gpm_log "$WAL_KEEP_SETTING=$want_keep ($keep_bytes bytes kept for an absent standby), wal_sender_timeout=${want_timeout_ms}ms"
printf '{"walKeepSetting":%s,"walKeepValue":%s,"walKeepBytes":%s,"walSenderTimeoutMs":%s,"changed":%s}\n' \
  "$(gpm_json_str "$WAL_KEEP_SETTING")" "$want_keep" "$keep_bytes" "$want_timeout_ms" "$changed"
