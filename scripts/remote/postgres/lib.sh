# shellcheck shell=bash disable=SC2034
# (SC2034: the GPM_STARTED/... globals are read by the scripts that call these functions)
# Shared helpers of the PostgreSQL remote scripts.
#
# Delivery: the TypeScript side sends, on the stdin of `bash -s` on the host,
#   export GPM_...='...' lines, then ../common.sh, then this file, then one script.
# So this file only defines functions and sets no options; the scripts call the
# functions and never source this file themselves (except, for a manual run from a
# checkout, through the guarded fallback at the top of each script, and this file's below).
#
# Every function prints progress on stderr only; stdout is reserved for the one JSON line
# that each script prints at its end.

if ! declare -F gpm_die >/dev/null; then
  # shellcheck source=../common.sh
  . "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
fi

# Written into a data directory by fence.sh: this was a primary that another host replaced.
# Such a directory never starts as a primary again; re-protection moves it aside.
GPM_FENCE_MARKER=gpmirror.fenced

# gpm_need_abs VAR "what it is": set, absolute, without newlines or '..' components.
gpm_need_abs() {
  local name="$1" what="$2"
  gpm_need "$name" "$what"
  local v="${!name}"
  [[ "$v" == /* ]] || gpm_die "$name must be an absolute path ($what), got '$v'"
  [[ "$v" != *$'\n'* && "$v" != *"'"* ]] || gpm_die "$name must not contain newlines or single quotes"
  [[ "/$v/" != */../* ]] || gpm_die "$name must not contain '..' ($what)"
}

gpm_need_address() {
  local name="$1" what="$2"
  gpm_need_match "$name" '^[0-9A-Fa-f.:]+$' "$what; an IPv4 or IPv6 address"
}

gpm_require_cmd() {
  command -v "$1" >/dev/null 2>&1 || gpm_die "'$1' is not installed on $(hostname 2>/dev/null || echo this host) ($2)"
}

# Resolve the PostgreSQL bin dir into PG_BIN: GPM_PG_BIN, else the newest
# /usr/lib/postgresql/*/bin, else `pg_config --bindir`, else the dir of pg_ctl on PATH.
gpm_resolve_pg_bin() {
  local candidate=""
  if [[ -n "${GPM_PG_BIN:-}" ]]; then
    gpm_need_abs GPM_PG_BIN "PostgreSQL bin directory"
    candidate="$GPM_PG_BIN"
  else
    local d
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [[ -n "$d" && -x "$d/pg_ctl" ]]; then
      candidate="$d"
    elif command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/pg_ctl" ]]; then
      candidate="$(pg_config --bindir)"
    elif command -v pg_ctl >/dev/null 2>&1; then
      candidate="$(dirname "$(command -v pg_ctl)")"
    fi
  fi
  [[ -n "$candidate" ]] ||
    gpm_die "PostgreSQL is not installed: no /usr/lib/postgresql/*/bin, no pg_config, no pg_ctl on PATH; install it or set GPM_PG_BIN to its bin directory"
  local b
  for b in initdb pg_ctl pg_basebackup psql pg_isready; do
    [[ -x "$candidate/$b" ]] ||
      gpm_die "$candidate/$b not found or not executable: set GPM_PG_BIN to the bin directory of a complete PostgreSQL server installation"
  done
  PG_BIN="$candidate"
}

# Validate the parameters common to the server scripts and set:
#   DATA_DIR DB_PORT LISTEN_ADDRESS SOCKET_DIR HOST_DIR PG_BIN OS_USER
gpm_common_setup() {
  gpm_need_abs GPM_DATA_DIR "absolute path of the data directory"
  [[ "$GPM_DATA_DIR" != "/" ]] || gpm_die "GPM_DATA_DIR must not be /"
  gpm_need_port GPM_DB_PORT "PostgreSQL port"
  gpm_need_address GPM_LISTEN_ADDRESS "address PostgreSQL listens on"
  DATA_DIR="${GPM_DATA_DIR%/}"
  DB_PORT="$GPM_DB_PORT"
  LISTEN_ADDRESS="$GPM_LISTEN_ADDRESS"
  HOST_DIR="$(dirname "$DATA_DIR")"
  if [[ -n "${GPM_SOCKET_DIR:-}" ]]; then
    gpm_need_abs GPM_SOCKET_DIR "unix socket directory"
    SOCKET_DIR="${GPM_SOCKET_DIR%/}"
  else
    SOCKET_DIR="$HOST_DIR/run"
  fi
  [[ "$(id -u)" != "0" ]] || gpm_die "run this script as the host's OS user, not root (PostgreSQL refuses to run as root)"
  OS_USER="$(id -un)"
  gpm_resolve_pg_bin
  gpm_require_cmd jq "needed to print the JSON result; install the jq package"
}

# Where the local server listens: the port and socket dir of the running postmaster
# (postmaster.pid) when there is one, so that a server whose configured port is about to
# change is still reached. Sets PG_CONN_PORT and PG_CONN_HOST.
gpm_conn_target() {
  PG_CONN_PORT="$DB_PORT"
  PG_CONN_HOST="$SOCKET_DIR"
  if [[ -f "$DATA_DIR/postmaster.pid" ]]; then
    local p s
    p="$(sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null || true)"
    s="$(sed -n 5p "$DATA_DIR/postmaster.pid" 2>/dev/null || true)"
    [[ "$p" =~ ^[0-9]+$ ]] && PG_CONN_PORT="$p"
    [[ "$s" == /* ]] && PG_CONN_HOST="$s"
  fi
  return 0
}

# psql on the local server through the unix socket, as the OS user.
gpm_psql() {
  gpm_conn_target
  "$PG_BIN/psql" -h "$PG_CONN_HOST" -p "$PG_CONN_PORT" -U "$OS_USER" -d postgres -X -q -v ON_ERROR_STOP=1 -At "$@"
}

# 0 when a postmaster runs on DATA_DIR.
gpm_pg_running() {
  [[ -f "$DATA_DIR/PG_VERSION" ]] || return 1
  "$PG_BIN/pg_ctl" status -D "$DATA_DIR" >/dev/null 2>&1
}

# 0 when the local server accepts connections.
gpm_pg_ready() {
  gpm_conn_target
  "$PG_BIN/pg_isready" -q -h "$PG_CONN_HOST" -p "$PG_CONN_PORT" -d postgres >/dev/null 2>&1
}

# Quote a value as a postgresql.conf string literal.
gpm_conf_quote() {
  local v="$1"
  v="${v//\\/\\\\}"
  v="${v//\'/\'\'}"
  printf "'%s'" "$v"
}

# Quote a value for a libpq conninfo string.
gpm_conninfo_quote() {
  local v="$1"
  v="${v//\\/\\\\}"
  v="${v//\'/\\\'}"
  printf "'%s'" "$v"
}

# Quote a value as an SQL string literal (standard_conforming_strings is on).
gpm_sql_quote() {
  local v="$1"
  printf "'%s'" "${v//\'/\'\'}"
}

# gpm_write_if_changed FILE MODE: write stdin to FILE atomically when it differs.
# Returns 0 when the file was written, 1 when it was already the same.
gpm_write_if_changed() {
  local file="$1" mode="$2" tmp
  tmp="$(mktemp "$file.tmp.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$file" ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$file"
  return 0
}

# The settings both roles share, so that a promoted standby is a complete primary.
# Output: lines of postgresql.conf.
gpm_common_settings() {
  local max_slot_keep="${GPM_MAX_SLOT_WAL_KEEP_SIZE:-1GB}"
  local wal_keep="${GPM_WAL_KEEP_SIZE:-256MB}"
  [[ "$max_slot_keep" =~ ^(-1|[0-9]+(kB|MB|GB|TB)?)$ ]] ||
    gpm_die "GPM_MAX_SLOT_WAL_KEEP_SIZE must be -1 or a size such as 1GB, got '$max_slot_keep'"
  [[ "$wal_keep" =~ ^[0-9]+(kB|MB|GB|TB)?$ ]] ||
    gpm_die "GPM_WAL_KEEP_SIZE must be a size such as 256MB, got '$wal_keep'"
  cat <<EOF
# Managed by gpmirror: rewritten on every run, do not edit (put your own settings in
# postgresql.conf above the include line, or in postgresql.auto.conf).
listen_addresses = $(gpm_conf_quote "$LISTEN_ADDRESS")
port = $DB_PORT
unix_socket_directories = $(gpm_conf_quote "$SOCKET_DIR")
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_log_hints = on
hot_standby = on
password_encryption = 'scram-sha-256'
max_slot_wal_keep_size = $(gpm_conf_quote "$max_slot_keep")
wal_keep_size = $(gpm_conf_quote "$wal_keep")
logging_collector = off
EOF
}

# Make postgresql.conf include gpmirror.conf (appended once, at the end, so ours win
# over earlier lines of postgresql.conf).
gpm_ensure_include() {
  local conf="$DATA_DIR/postgresql.conf"
  [[ -f "$conf" ]] || gpm_die "$conf is missing"
  if ! grep -qE "^[[:space:]]*include_if_exists[[:space:]]*=?[[:space:]]*'gpmirror.conf'" "$conf"; then
    printf "\n# gpmirror settings (managed file)\ninclude_if_exists = 'gpmirror.conf'\n" >>"$conf"
    return 0
  fi
  return 1
}

# gpm_start LOGFILE: start the server when it is not running. Sets GPM_STARTED=true/false.
# pg_ctl -w can time out on a standby whose primary is away, so the result is judged by
# the postmaster's presence, not by pg_ctl's exit code.
gpm_start() {
  local log="$1"
  GPM_STARTED=false
  if gpm_pg_running; then
    return 0
  fi
  [[ ! -f "$DATA_DIR/$GPM_FENCE_MARKER" ]] ||
    gpm_die "$DATA_DIR was fenced when the other host took over ($(cat "$DATA_DIR/$GPM_FENCE_MARKER")); it becomes a standby again through re-protection, never a primary"
  mkdir -p "$SOCKET_DIR"
  chmod 0700 "$SOCKET_DIR"
  # A stale postmaster.pid from a killed server is handled by pg_ctl/postgres itself.
  gpm_log "starting PostgreSQL on $LISTEN_ADDRESS:$DB_PORT (data $DATA_DIR, log $log) ..."
  if ! "$PG_BIN/pg_ctl" start -D "$DATA_DIR" -l "$log" -w -t 60 >/dev/null 2>&1; then
    gpm_log "pg_ctl start did not confirm readiness within 60 s; checking the postmaster ..."
  fi
  local i
  for i in $(seq 1 30); do
    if gpm_pg_running; then
      GPM_STARTED=true
      return 0
    fi
    sleep 1
  done
  gpm_log "last lines of $log:"
  tail -n 20 "$log" >&2 || true
  gpm_die "PostgreSQL did not start on $DATA_DIR; see $log"
}

# gpm_apply_config CONTENT LOGFILE: write gpmirror.conf; when the server runs and the file
# changed, reload it, and restart when a changed setting needs a restart.
# Sets GPM_CONF_CHANGED GPM_RELOADED GPM_RESTARTED (true/false).
gpm_apply_config() {
  local content="$1" log="$2"
  GPM_CONF_CHANGED=false
  GPM_RELOADED=false
  GPM_RESTARTED=false
  if gpm_ensure_include; then
    GPM_CONF_CHANGED=true
  fi
  if printf '%s\n' "$content" | gpm_write_if_changed "$DATA_DIR/gpmirror.conf" 0600; then
    GPM_CONF_CHANGED=true
  fi
  if [[ "$GPM_CONF_CHANGED" == true ]] && gpm_pg_running; then
    gpm_log "settings changed; reloading the running server ..."
    "$PG_BIN/pg_ctl" reload -D "$DATA_DIR" >/dev/null
    GPM_RELOADED=true
    local pending="" i
    for i in 1 2 3; do
      sleep 1
      pending="$(gpm_psql -c "SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart" 2>/dev/null || echo "?")"
      [[ -z "$pending" ]] || break
    done
    if [[ -n "$pending" ]]; then
      gpm_log "settings that need a restart changed (${pending}); restarting (fast) ..."
      "$PG_BIN/pg_ctl" restart -D "$DATA_DIR" -m fast -l "$log" -w -t 60 >/dev/null 2>&1 ||
        gpm_log "pg_ctl restart did not confirm readiness; checking the postmaster ..."
      for i in $(seq 1 30); do
        gpm_pg_running && break
        sleep 1
      done
      gpm_pg_running || gpm_die "PostgreSQL did not come back after the restart; see $log"
      GPM_RESTARTED=true
    fi
  fi
}

# Wait until the local server accepts connections (a hot standby does once consistent).
gpm_wait_ready() {
  local seconds="$1" i
  for ((i = 0; i < seconds; i++)); do
    gpm_pg_ready && return 0
    sleep 1
  done
  return 1
}

gpm_utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }
