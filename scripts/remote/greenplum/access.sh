#!/usr/bin/env bash
# access: WAL retention for the standby on the master (and its standby's copy of
# postgresql.conf), with gpconfig and a reload; and the operator tools' database login.
# gpinitstandby makes no replication slot: only wal_keep_size (wal_keep_segments on 6) lets
# an absent standby catch up. The standby is synchronous, so a hung one holds commits until
# wal_sender_timeout ends its walsender. gpinitstandby writes the pg_hba.conf entries for the
# standby itself.
# Operator login (when GPM_OPERATOR_USER is set; the same contract as the PostgreSQL engine's):
# a LOGIN role with the given password (member of pg_monitor where it exists: Greenplum 6 has
# none), owner of the database gpmirror_drill, and one `host all <role> <cidr> md5` line per
# operator network in pg_hba.conf. md5 because it works on every version: Greenplum 6 stores
# md5 hashes, and on 7 and Cloudberry the md5 method also accepts a SCRAM-stored password.
# The lines carry a `# gpmirror-managed` tag each instead of BEGIN/END comment lines:
# gpinitstandby inserts its own entries after the file's leading comment lines, which would
# put them inside a block at the top (and the next rewrite would drop them). The same lines
# go into the registered standby's pg_hba.conf over SSH: gpinitstandby copied the master's
# file once (pg_basebackup) and nothing updates the copy, so without this a promoted standby
# would refuse the operator until the next access step. `gpstop -u` then reloads the master
# and the standby (it signals every instance in the catalog).
# Runs on the primary host as gpadmin.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT]
#      GPM_WAL_KEEP_SIZE (e.g. 1GB) GPM_WAL_SENDER_TIMEOUT_SECONDS
#      [GPM_STANDBY_ADDRESS GPM_STANDBY_DATA_DIR GPM_STANDBY_SSH_PORT=22: the standby whose
#      pg_hba.conf gets the operator lines when the catalog has it registered]
#      [GPM_OPERATOR_USER GPM_OPERATOR_PASSWORD (secret: read from the environment only, sent
#      to psql on stdin, never printed) GPM_OPERATOR_CIDRS]
# Prints: {"walKeepSetting","walKeepValue","walKeepBytes","walSenderTimeoutMs","changed",
#          "operator","hbaChanged","standbyHba"}
#   standbyHba: changed | unchanged | none (no standby registered, or no operator lines
#   needed there) | unreachable (its host did not answer: the next access step retries)
# shellcheck disable=SC1091,SC2034,SC2016 # lib.sh is prepended by the caller; it reads GPM_TAG; remote text in single quotes
set -euo pipefail
GPM_TAG=access
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_match GPM_WAL_KEEP_SIZE '^[0-9]+(kB|MB|GB|TB)$' "WAL kept for the standby, e.g. 1GB"
gpm_need_match GPM_WAL_SENDER_TIMEOUT_SECONDS '^[0-9]{1,5}$' "wal_sender_timeout in seconds"
gpm_operator_params
GPM_STANDBY_SSH_PORT="${GPM_STANDBY_SSH_PORT:-22}"
gpm_need_port GPM_STANDBY_SSH_PORT "SSH port of the standby host"
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

# 1. The operator login. Statements go through psql's stdin with the names as psql
# variables (no \gexec: Greenplum 6's psql predates it). The password's statement is not
# logged (log_statement off for that session) and psql's messages are withheld on failure,
# since an error message could quote the statement and so the secret.
hba_changed=false standby_hba=none
if [[ -n "$OPERATOR" ]]; then
  count() { gpm_psql -v "r=$OPERATOR" <<<"$1"; }
  if [[ "$(count "SELECT count(*) FROM pg_roles WHERE rolname = :'r';")" == 0 ]]; then
    gpm_log "creating the operator role $OPERATOR"
    gpm_psql -v "r=$OPERATOR" <<<'CREATE ROLE :"r" LOGIN;' >/dev/null
  else
    gpm_psql -v "r=$OPERATOR" <<<'ALTER ROLE :"r" LOGIN;' >/dev/null
  fi
  if [[ "$(count "SELECT count(*) FROM pg_roles WHERE rolname = 'pg_monitor';")" == 1 ]]; then
    gpm_psql -v "r=$OPERATOR" <<<'GRANT pg_monitor TO :"r";' >/dev/null
  else
    gpm_log "no pg_monitor role on Greenplum $GP_VERSION: $OPERATOR gets no monitoring grant (the status reads the hosts over SSH)"
  fi
  if [[ "$(count "SELECT count(*) FROM pg_database WHERE datname = 'gpmirror_drill';")" == 0 ]]; then
    gpm_log "creating the database gpmirror_drill owned by $OPERATOR"
    gpm_psql -v "r=$OPERATOR" <<<'CREATE DATABASE gpmirror_drill OWNER :"r";' >/dev/null
  fi
  quoted_password="'${GPM_OPERATOR_PASSWORD//\'/\'\'}'"
  if ! {
    printf "SET log_statement = 'none';\n"
    printf 'ALTER ROLE "%s" PASSWORD %s;\n' "$OPERATOR" "$quoted_password"
  } | gpm_psql >/dev/null 2>&1; then
    gpm_die "setting the password of role $OPERATOR failed (psql's message is withheld because it could contain the password)"
  fi
  unset quoted_password
  gpm_log "operator role $OPERATOR (owner of gpmirror_drill) from ${OPERATOR_CIDRS[*]:-nowhere}"
fi

# 2. pg_hba.conf: the tagged operator lines first (so that no broader line before them
# decides for the operator), every other line kept as it is. Run here and on the standby.
HBA_TAG='# gpmirror-managed'
HBA_EDIT='
set -eu
file="$1" tag="$2"
shift 2
[[ -f "$file" ]] || { echo "missing=$file"; exit 0; }
tmp="$(mktemp "$file.gpmirror.XXXXXX")"
{
  for line in "$@"; do printf "%s %s\n" "$line" "$tag"; done
  grep -vF -- "$tag" "$file" || true
} >"$tmp"
chmod 0600 "$tmp"
if cmp -s "$tmp" "$file"; then rm -f "$tmp"; echo changed=no; else mv -f "$tmp" "$file"; echo changed=yes; fi
'
hba_lines=()
for c in "${OPERATOR_CIDRS[@]}"; do hba_lines+=("host all $OPERATOR $c md5"); done
out="$(bash -c "$HBA_EDIT" hba-edit "$DATA_DIR/pg_hba.conf" "$HBA_TAG" "${hba_lines[@]}")"
[[ "$out" != missing=* ]] || gpm_die "no pg_hba.conf in $DATA_DIR"
if [[ "$out" == *changed=yes* ]]; then
  hba_changed=true
  gpm_log "pg_hba.conf on the master: ${#hba_lines[@]} operator line(s) ${hba_lines[*]:+(${hba_lines[*]})}"
  if [[ "$GP_FLAVOR" != gp6 ]]; then
    bad="$(gpm_psql -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")"
    [[ "$bad" == 0 ]] || gpm_die "pg_hba.conf in $DATA_DIR has errors; see pg_hba_file_rules"
  fi
fi
# The registered standby (the catalog's row, at the pair's standby host and directory).
s_row="$(gpm_psql -F '|' -c "SELECT dbid, hostname, address, port, datadir FROM gp_segment_configuration WHERE content = -1 AND role = 'm'")"
if [[ -n "$s_row" && -n "${GPM_STANDBY_ADDRESS:-}" && -n "${GPM_STANDBY_DATA_DIR:-}" ]]; then
  IFS='|' read -r _ s_hostname s_address _ s_dir <<<"$s_row"
  if [[ ("$s_hostname" == "$GPM_STANDBY_ADDRESS" || "$s_address" == "$GPM_STANDBY_ADDRESS") && "${s_dir%/}" == "${GPM_STANDBY_DATA_DIR%/}" ]]; then
    if out="$(gpm_ssh "$GPM_STANDBY_ADDRESS" "$GPM_STANDBY_SSH_PORT" 60 "$HBA_EDIT" "${s_dir%/}/pg_hba.conf" "$HBA_TAG" "${hba_lines[@]}")"; then
      case "$out" in
        *changed=yes*)
          standby_hba=changed
          gpm_log "pg_hba.conf on the standby ($GPM_STANDBY_ADDRESS:${s_dir%/}): the same operator lines, so they hold after an activation"
          ;;
        *changed=no*) standby_hba=unchanged ;;
        *) gpm_log "WARNING: no pg_hba.conf in ${s_dir%/} on the standby host; gpinitstandby will copy the master's" ;;
      esac
    else
      standby_hba=unreachable
      gpm_log "WARNING: the standby host $GPM_STANDBY_ADDRESS did not answer over SSH: its pg_hba.conf may lack the operator lines (a promoted standby gets them from its next access step)"
    fi
  else
    gpm_log "the registered standby ($s_hostname:${s_dir%/}) is not the pair's standby; its pg_hba.conf is left to gpinitstandby"
  fi
fi

# 3. WAL retention.
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
# 4. One reload of the master and its standby when anything changed.
if [[ "$changed" == true || "$hba_changed" == true || "$standby_hba" == changed ]]; then
  gpm_run_utility "$HOME/gpAdminLogs/gpmirror-gpstop.out" gpstop -u -a
  if ((UTIL_RC != 0)); then
    # It fails when any instance does not reload (a stopped standby reads its files when it
    # starts): the master's own reload is what this step needs, and is checked below.
    gpm_log "WARNING: gpstop -u exited $UTIL_RC (an instance that is not running cannot reload); reloading the master itself"
    [[ "$(gpm_psql -c 'SELECT pg_reload_conf()')" == t ]] || gpm_die_utility "gpstop -u"
  fi
fi
if [[ "$changed" == true ]]; then
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
printf '{"walKeepSetting":%s,"walKeepValue":%s,"walKeepBytes":%s,"walSenderTimeoutMs":%s,"changed":%s,"operator":%s,"hbaChanged":%s,"standbyHba":%s}\n' \
  "$(gpm_json_str "$WAL_KEEP_SETTING")" "$want_keep" "$keep_bytes" "$want_timeout_ms" "$changed" \
  "$(gpm_json_str "$OPERATOR")" "$hba_changed" "$(gpm_json_str "$standby_hba")"
