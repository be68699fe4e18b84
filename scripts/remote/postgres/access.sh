#!/usr/bin/env bash
# access: replication role, pg_hba entries for the standby's address only (replication, and
# pg_rewind's connection to the postgres database), replication slot.
# Runs on the primary as the host's OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      GPM_REPL_USER GPM_REPL_PASSWORD (secret: read from the environment only, sent to
#      psql on stdin, never printed) GPM_STANDBY_ADDRESS GPM_SLOT_NAME
#      [GPM_OPERATOR_USER GPM_OPERATOR_PASSWORD (secret) GPM_OPERATOR_CIDRS: a login for the
#      operator tools (status, drill) from those networks only, member of pg_monitor, owner
#      of the database gpmirror_drill]
# Prints: {"role","slot","hbaChanged","slotCreated","roleCreated","operator"}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=access
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup
gpm_need_match GPM_REPL_USER '^[a-z_][a-z0-9_]{0,62}$' "replication role name: lower-case letters, digits, _"
gpm_need GPM_REPL_PASSWORD "password of the replication role"
gpm_need_address GPM_STANDBY_ADDRESS "address the standby connects from"
gpm_need_match GPM_SLOT_NAME '^[a-z0-9_]{1,63}$' "physical replication slot name: lower-case letters, digits, _"
[[ "$GPM_REPL_PASSWORD" != *$'\n'* ]] || gpm_die "GPM_REPL_PASSWORD must not contain a newline"
gpm_operator_params

gpm_pg_running || gpm_die "PostgreSQL is not running on $DATA_DIR; run primary.sh first"
gpm_wait_ready 30 || gpm_die "PostgreSQL on $DATA_DIR does not accept connections"
[[ "$(gpm_psql -c 'SELECT pg_is_in_recovery()')" == f ]] || gpm_die "the server on $DATA_DIR is a standby, not the primary"

user="$GPM_REPL_USER"
slot="$GPM_SLOT_NAME"

# 1. Role. The password goes through psql's stdin; psql's own messages are not shown on
# failure, since an error message could quote the statement and so the secret.
role_exists="$(gpm_psql -v "r=$user" <<<"SELECT count(*) FROM pg_roles WHERE rolname = :'r';")"
role_created=false
if [[ "$role_exists" == 0 ]]; then
  gpm_log "creating replication role $user"
  gpm_psql -v "r=$user" <<<'CREATE ROLE :"r" LOGIN REPLICATION;' >/dev/null
  role_created=true
else
  attrs="$(gpm_psql -v "r=$user" <<<"SELECT rolcanlogin AND rolreplication FROM pg_roles WHERE rolname = :'r';")"
  if [[ "$attrs" != t ]]; then
    gpm_log "giving role $user LOGIN REPLICATION"
    gpm_psql -v "r=$user" <<<'ALTER ROLE :"r" LOGIN REPLICATION;' >/dev/null
  fi
fi
# set_password ROLE PASSWORD: through psql's stdin, never logged.
set_password() {
  if ! {
    printf 'SET log_statement = %s;\n' "'none'"
    printf 'ALTER ROLE "%s" PASSWORD %s;\n' "$1" "$(gpm_sql_quote "$2")"
  } | gpm_psql >/dev/null 2>&1; then
    gpm_die "setting the password of role $1 failed (psql's message is withheld because it could contain the password)"
  fi
}
set_password "$user" "$GPM_REPL_PASSWORD"
# pg_rewind (re-protection of a fenced old primary) reads the primary's files through these
# functions: no more than a replication role already reads with a base backup.
gpm_psql -v "r=$user" <<'SQL' >/dev/null
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean) TO :"r";
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO :"r";
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO :"r";
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO :"r";
SQL
gpm_log "role $user has LOGIN REPLICATION, the given password, and what pg_rewind reads with"

if [[ -n "$OPERATOR" ]]; then
  gpm_psql -v "r=$OPERATOR" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I LOGIN', :'r') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'r') \gexec
SELECT format('GRANT pg_monitor TO %I', :'r') \gexec
SELECT format('CREATE DATABASE gpmirror_drill OWNER %I', :'r')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'gpmirror_drill') \gexec
SQL
  set_password "$OPERATOR" "$GPM_OPERATOR_PASSWORD"
  gpm_log "operator role $OPERATOR (pg_monitor, owner of gpmirror_drill) from ${OPERATOR_CIDRS[*]:-nowhere}"
fi

# 2. pg_hba.conf: our block first, so that it wins over initdb's generic lines.
hba="$(gpm_psql -c 'SHOW hba_file')"
[[ -f "$hba" ]] || gpm_die "pg_hba.conf not found at $hba"
if [[ "$GPM_STANDBY_ADDRESS" == *:* ]]; then
  cidr="$GPM_STANDBY_ADDRESS/128"
else
  cidr="$GPM_STANDBY_ADDRESS/32"
fi
hba_changed=false
if {
  printf '# BEGIN gpmirror (managed block: replication from the standby, the operator tools)\n'
  printf 'host replication %s %s scram-sha-256\n' "$user" "$cidr"
  printf 'host postgres %s %s scram-sha-256\n' "$user" "$cidr"
  # The standby's copy of this file comes from its base backup: it admits the old
  # primary's address the same way after an activation.
  for c in "${OPERATOR_CIDRS[@]}"; do
    printf 'host all %s %s scram-sha-256\n' "$OPERATOR" "$c"
  done
  printf '# END gpmirror\n'
  awk '/^# BEGIN gpmirror/{skip=1; next} /^# END gpmirror/{skip=0; next} !skip' "$hba"
} | gpm_write_if_changed "$hba" 0600; then
  hba_changed=true
  gpm_log "pg_hba.conf block changed: host replication $user $cidr scram-sha-256; reloading"
  reload_ok="$(gpm_psql -c 'SELECT pg_reload_conf()')"
  [[ "$reload_ok" == t ]] || gpm_die "pg_reload_conf() failed"
  sleep 1
  bad="$(gpm_psql -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")"
  [[ "$bad" == 0 ]] || gpm_die "pg_hba.conf ($hba) has errors; see pg_hba_file_rules"
else
  gpm_log "pg_hba.conf block already in place"
fi

# A freshly promoted primary writes its new timeline into pg_control only at its next
# checkpoint, and pg_rewind (re-protection of the old primary) reads the source's timeline
# from there: before that checkpoint it rewinds from the wrong point, and the result does not
# start. So the checkpoint is taken here, before any standby is built, not during activation.
control_tli="$(gpm_psql -c 'SELECT timeline_id FROM pg_control_checkpoint()')"
current_tli="$(gpm_psql -c "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int")"
if [[ "$control_tli" != "$current_tli" ]]; then
  gpm_log "timeline $current_tli is not in pg_control yet (it says $control_tli): checkpoint"
  gpm_psql -c 'CHECKPOINT' >/dev/null
fi

# 3. Physical replication slot, reserving WAL from now on.
slot_created=false
slot_exists="$(gpm_psql -v "s=$slot" <<<"SELECT count(*) FROM pg_replication_slots WHERE slot_name = :'s';")"
if [[ "$slot_exists" == 0 ]]; then
  gpm_log "creating physical replication slot $slot"
  gpm_psql -v "s=$slot" <<<"SELECT pg_create_physical_replication_slot(:'s', true);" >/dev/null
  slot_created=true
else
  slot_type="$(gpm_psql -v "s=$slot" <<<"SELECT slot_type FROM pg_replication_slots WHERE slot_name = :'s';")"
  [[ "$slot_type" == physical ]] || gpm_die "slot $slot exists but is $slot_type, not physical"
  wal_status="$(gpm_psql -v "s=$slot" <<<"SELECT coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = :'s';")"
  if [[ "$wal_status" == lost ]]; then
    # Past max_slot_wal_keep_size the slot was invalidated: it holds nothing any more. A new
    # one reserves WAL from now on, for the standby's new snapshot (standby.sh rebuilds it).
    gpm_log "replication slot $slot lost the standby's WAL (wal_status lost); dropping and creating it again"
    gpm_psql -v "s=$slot" <<<"SELECT pg_drop_replication_slot(:'s');" >/dev/null
    gpm_psql -v "s=$slot" <<<"SELECT pg_create_physical_replication_slot(:'s', true);" >/dev/null
    slot_created=true
  else
    gpm_log "replication slot $slot already exists"
  fi
fi

jq -cn --arg role "$user" --arg slot "$slot" --argjson hbaChanged "$hba_changed" \
  --argjson slotCreated "$slot_created" --argjson roleCreated "$role_created" --arg operator "$OPERATOR" \
  '{role: $role, slot: $slot, hbaChanged: $hbaChanged, slotCreated: $slotCreated, roleCreated: $roleCreated,
    operator: $operator}'
