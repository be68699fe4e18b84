#!/usr/bin/env bash
# access: replication role, pg_hba entry for the standby's address only, replication slot.
# Runs on the primary as the host's OS user.
# Env: GPM_DATA_DIR GPM_DB_PORT GPM_LISTEN_ADDRESS [GPM_PG_BIN] [GPM_SOCKET_DIR]
#      GPM_REPL_USER GPM_REPL_PASSWORD (secret: read from the environment only, sent to
#      psql on stdin, never printed) GPM_STANDBY_ADDRESS GPM_SLOT_NAME
# Prints: {"role","slot","hbaChanged","slotCreated","roleCreated"}
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
if ! {
  printf 'SET log_statement = %s;\n' "'none'"
  printf 'ALTER ROLE "%s" PASSWORD %s;\n' "$user" "$(gpm_sql_quote "$GPM_REPL_PASSWORD")"
} | gpm_psql >/dev/null 2>&1; then
  gpm_die "setting the password of role $user failed (psql's message is withheld because it could contain the password)"
fi
gpm_log "role $user has LOGIN REPLICATION and the given password"

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
  printf '# BEGIN gpmirror (managed block: replication from the standby only)\n'
  printf 'host replication %s %s scram-sha-256\n' "$user" "$cidr"
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
  gpm_log "replication slot $slot already exists"
fi

jq -cn --arg role "$user" --arg slot "$slot" --argjson hbaChanged "$hba_changed" \
  --argjson slotCreated "$slot_created" --argjson roleCreated "$role_created" \
  '{role: $role, slot: $slot, hbaChanged: $hbaChanged, slotCreated: $slotCreated, roleCreated: $roleCreated}'
