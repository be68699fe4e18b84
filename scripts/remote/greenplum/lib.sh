# shellcheck shell=bash disable=SC2034,SC2016
# (SC2034: globals read by the calling scripts; SC2016: text meant for another shell)
# Shared helpers of the Greenplum remote scripts.
#
# Delivery: the TypeScript side sends, on the stdin of `bash -s` on the host,
#   export GPM_...='...' lines, then ../common.sh, then this file, then one script.
# This file only defines functions. Progress goes to stderr; stdout is reserved for the one
# JSON line each script prints at its end (printed with printf: Greenplum hosts may lack jq).

if ! declare -F gpm_die >/dev/null; then
  # shellcheck source=../common.sh
  . "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
fi

gpm_need_abs() {
  local name="$1" what="$2"
  gpm_need "$name" "$what"
  local v="${!name}"
  [[ "$v" =~ ^/[A-Za-z0-9_./-]*$ && "/$v/" != */../* && "$v" != / ]] ||
    gpm_die "$name must be a plain absolute path ($what), got '$v'"
}

gpm_need_host() {
  gpm_need_match "$1" '^[A-Za-z0-9][A-Za-z0-9.:-]*$' "$2; a host name or address"
}

gpm_need_bool() {
  local name="$1" what="$2"
  printf -v "$name" '%s' "${!name:-false}"
  [[ "${!name}" == true || "${!name}" == false ]] || gpm_die "$name must be true or false ($what), got '${!name}'"
}

gpm_need_int() {
  local name="$1" what="$2"
  gpm_need_match "$name" '^[0-9]{1,9}$' "$what; a whole number"
}

gpm_utc_stamp() { date -u +%Y%m%dT%H%M%SZ; }

# A JSON string literal of $1: backslash, quote and control characters escaped.
gpm_json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  s="$(printf '%s' "$s" | tr -d '\000-\010\013\014\016-\037')"
  printf '"%s"' "$s"
}

# A JSON number, or null when $1 is not one.
gpm_json_num() {
  if [[ "$1" =~ ^-?[0-9]+$ ]]; then printf '%s' "$1"; else printf 'null'; fi
}

# Names that differ by version (the same table as components/engines/greenplum/versions.ts).
gpm_gp_names() {
  GP_FLAVOR="$1"
  case "$GP_FLAVOR" in
    gp6)
      DATA_VAR=MASTER_DATA_DIRECTORY
      ONLY_FLAG=--masteronly
      WAL_KEEP_SETTING=wal_keep_segments
      STANDBY_MARKER=recovery.conf
      COL_SENT=sent_location COL_FLUSH=flush_location COL_REPLAY=replay_location
      CUR_LSN_FN='pg_current_xlog_location()'
      LSN_DIFF_FN=pg_xlog_location_diff
      WALFILE_FN=pg_xlogfile_name
      INIT_PREFIX=MASTER
      WAL_DIR=pg_xlog
      WALDUMP=pg_xlogdump
      ;;
    gp7 | cloudberry)
      DATA_VAR=COORDINATOR_DATA_DIRECTORY
      ONLY_FLAG=--coordinatoronly
      WAL_KEEP_SETTING=wal_keep_size
      STANDBY_MARKER=standby.signal
      COL_SENT=sent_lsn COL_FLUSH=flush_lsn COL_REPLAY=replay_lsn
      CUR_LSN_FN='pg_current_wal_lsn()'
      LSN_DIFF_FN=pg_wal_lsn_diff
      WALFILE_FN=pg_walfile_name
      INIT_PREFIX=COORDINATOR
      WAL_DIR=pg_wal
      WALDUMP=pg_waldump
      ;;
    *) gpm_die "internal: unknown Greenplum flavor '$GP_FLAVOR'" ;;
  esac
}

# Version from `postgres --gp-version` (the same rules as parseGpVersion in versions.ts).
gpm_gp_flavor_of() {
  local text="$1"
  if [[ "$text" =~ \((Apache\ Cloudberry|Cloudberry\ Database)\)\ ([0-9]+\.[0-9]+(\.[0-9]+)?) ]]; then
    GP_VERSION="${BASH_REMATCH[2]}"
    printf cloudberry
  elif [[ "$text" =~ \(Greenplum\ Database\)\ ([0-9]+)\.([0-9]+(\.[0-9]+)?) ]]; then
    GP_VERSION="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
    case "${BASH_REMATCH[1]}" in
      6) printf gp6 ;;
      7) printf gp7 ;;
      *) return 1 ;;
    esac
  else
    return 1
  fi
}

# Greenplum's environment for this host: checks the admin user, sources the environment
# file, detects the version, and exports the data directory variable and PGPORT.
# Sets DATA_DIR DB_PORT GPHOME_DIR ENV_FILE GP_FLAVOR GP_VERSION GP_VERSION_LINE and the
# names of gpm_gp_names.
gpm_gp_setup() {
  gpm_need_abs GPM_GPHOME "Greenplum installation directory"
  gpm_need_match GPM_GP_ADMIN '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' "Greenplum administrator user"
  gpm_need_abs GPM_DATA_DIR "this host's master (coordinator) data directory"
  gpm_need_port GPM_DB_PORT "this host's master (coordinator) port"
  local hint="${GPM_GP_VERSION_HINT:-auto}"
  [[ "$hint" =~ ^(auto|6|7|cloudberry)$ ]] || gpm_die "GPM_GP_VERSION_HINT must be auto, 6, 7 or cloudberry, got '$hint'"
  [[ "$(id -u)" != 0 ]] || gpm_die "run as the Greenplum administrator ($GPM_GP_ADMIN), not root"
  [[ "$(id -un)" == "$GPM_GP_ADMIN" ]] ||
    gpm_die "logged in as $(id -un), but the Greenplum administrator is $GPM_GP_ADMIN: set the hosts' SSH user to $GPM_GP_ADMIN (or greenplum.adminUser)"
  DATA_DIR="${GPM_DATA_DIR%/}"
  DB_PORT="$GPM_DB_PORT"
  GPHOME_DIR="${GPM_GPHOME%/}"
  if [[ -f "$GPHOME_DIR/cloudberry-env.sh" ]]; then
    ENV_FILE="$GPHOME_DIR/cloudberry-env.sh"
  elif [[ -f "$GPHOME_DIR/greenplum_path.sh" ]]; then
    ENV_FILE="$GPHOME_DIR/greenplum_path.sh"
  else
    gpm_die "neither $GPHOME_DIR/greenplum_path.sh nor $GPHOME_DIR/cloudberry-env.sh exists on $(hostname): set greenplum.gphome to the Greenplum installation directory"
  fi
  # The environment files are not written for set -eu.
  set +eu
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  set -eu
  command -v postgres >/dev/null 2>&1 || gpm_die "$ENV_FILE did not put postgres on PATH (environment not loaded)"
  GP_VERSION_LINE="$(postgres --gp-version 2>&1 || true)"
  local flavor
  flavor="$(gpm_gp_flavor_of "$GP_VERSION_LINE")" ||
    gpm_die "postgres --gp-version printed '$GP_VERSION_LINE': not Greenplum 6, 7 or Apache Cloudberry"
  gpm_gp_flavor_of "$GP_VERSION_LINE" >/dev/null # sets GP_VERSION in this shell
  case "$hint" in
    6) [[ "$flavor" == gp6 ]] || gpm_die "greenplum.version is 6 but this host runs $GP_VERSION_LINE" ;;
    7) [[ "$flavor" == gp7 ]] || gpm_die "greenplum.version is 7 but this host runs $GP_VERSION_LINE" ;;
    cloudberry) [[ "$flavor" == cloudberry ]] || gpm_die "greenplum.version is cloudberry but this host runs $GP_VERSION_LINE" ;;
  esac
  gpm_gp_names "$flavor"
  # Only the variable this version reads, so that a stale one cannot win.
  unset MASTER_DATA_DIRECTORY COORDINATOR_DATA_DIRECTORY PGHOST PGHOSTADDR
  export "$DATA_VAR=$DATA_DIR"
  export PGPORT="$DB_PORT"
  gpm_log "Greenplum $GP_VERSION ($GP_FLAVOR) from $ENV_FILE; $DATA_VAR=$DATA_DIR PGPORT=$PGPORT"
}

# psql on the local master through its socket, unaligned, tuples only.
gpm_psql() {
  psql -X -q -v ON_ERROR_STOP=1 -At -p "$PGPORT" -d postgres "$@"
}

# Bytes of WAL the master keeps for a standby that is away (no slot holds WAL for it):
# wal_keep_size in MB on 7 and Cloudberry; on 6 wal_keep_segments times the WAL segment size
# the server reports (64 MB as Greenplum 6 builds it; read, not assumed).
gpm_wal_keep_bytes() {
  local keep seg
  keep="$(gpm_psql -c "SELECT setting FROM pg_settings WHERE name = '$WAL_KEEP_SETTING'")"
  [[ "$keep" =~ ^[0-9]+$ ]] || gpm_die "$WAL_KEEP_SETTING reads '$keep' on the master, not a whole number"
  if [[ "$WAL_KEEP_SETTING" == wal_keep_segments ]]; then
    seg="$(gpm_psql -c "SELECT setting::bigint * (CASE unit WHEN '8kB' THEN 8192 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END) FROM pg_settings WHERE name = 'wal_segment_size'")"
    [[ "$seg" =~ ^[0-9]+$ ]] || gpm_die "wal_segment_size reads '$seg' on the master"
    echo $((keep * seg))
  else
    echo $((keep * 1048576))
  fi
}

# 0 when the local master accepts connections as a primary.
gpm_master_up() {
  [[ "$(gpm_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null || true)" == f ]]
}

# 0 when process $1 runs: kill -0 also succeeds on a zombie, which a killed postmaster stays
# until it is reaped (1-2 s on a busy host), and a dead master must not pass for a live one.
gpm_pid_alive() {
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null &&
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# 0 when a postmaster runs on directory $1 (its postmaster.pid names a live process).
gpm_postmaster_running() {
  local dir="$1" pid
  [[ -f "$dir/postmaster.pid" ]] || return 1
  pid="$(head -n 1 "$dir/postmaster.pid" 2>/dev/null || true)"
  gpm_pid_alive "$pid"
}

# The what-to-do for a known failure in a utility's output (the same table as
# components/engines/greenplum/errors.ts).
gpm_gp_explain() {
  local out="$1"
  local -a pats=(
    'ssh: connect to host [^ ]+ port [0-9]+: |ssh: Could not resolve hostname |Permission denied \(publickey|Host key verification failed'
    'Standby (coordinator|master) already configured'
    'Data directory already exists on host|(coordinator|master) data directory exists'
    'Parent directory [^ ]+ does not exist'
    'cannot create standby on the same host and port'
    'Unable to ping new standby host'
    'One or more segment hosts are not currently reachable|Unable to proceed while one or more hosts are unreachable'
    '\[FATAL\]:-(Unable to contact|Unknown host) [^ ]+|Unable to get hostname output for [^ ]+'
    'Instance directory [^ ]+ exists on segment instance|(Coordinator|Master) host data directory [^ ]+ already exists'
    'Active postgres process on (coordinator|master)'
    'Force activation required'
    'PGPORT environment variable not set'
    "No module named '?gppylib'?|Environment Variable (COORDINATOR|MASTER)_DATA_DIRECTORY not set"
    'no standby (located|configured)|Standby (coordinator|master) not configured'
    'could not connect to server: Connection refused'
  )
  local -a msgs=(
    "the utility's own ssh failed (the ssh line above). Greenplum's utilities ssh as the administrator without a password to localhost, to the host they run on by its name and to the other host; gpactivatestandby checks the standby with ssh localhost and takes a failure for a standby that does not run, so it asks for -f. Make sshd listen on localhost and on each host's address, then run pulumi up: its trust step checks each of these ssh connections"
    'a standby is already registered in gp_segment_configuration; gpmirror replaces it only when greenplum.allowReplaceStandby is true (gpinitstandby -r -a, then a new gpinitstandby), or remove it yourself with gpinitstandby -r'
    "the standby's data directory already exists on the standby host (often left by an earlier failed run or an old master); move it aside, or set greenplum.moveAsideLeftoverDataDir true so gpmirror renames it with a timestamp"
    "the parent of the standby's data directory does not exist on the standby host; the prepare step creates it, so check that it ran and that the admin user may create it"
    "the standby would use the master's own host and port; set standbyDbPort to another port or use another standby host"
    'gpinitstandby pings the standby host first and got no answer; allow ICMP between the hosts (a security-group rule on AWS) and check the name resolves on the master'
    'one or more segment hosts did not answer, and with -a gpinitstandby stops before it registers the standby (it must add the standby to pg_hba.conf on every segment); bring the segment hosts back (gpstate shows them; ssh from the master to each as the administrator must work) and run pulumi up again'
    'gpinitsystem could not reach a segment host (ping, name resolution, or ssh as the administrator): check greenplum.segmentHosts, allow ICMP and password-less ssh from the primary host to every segment host (gpssh-exkeys), then run pulumi up again'
    'a data directory gpinitsystem would create already exists (left by an earlier run?): run the backout script gpinitsystem left in ~/gpAdminLogs, or move the directory aside on that host, then run pulumi up again'
    "gpactivatestandby found the old master's /tmp/.s.PGSQL.<port>.lock on the old host: either it still runs (stop it first) or it crashed and left the lock; gpmirror removes a stale lock only after seeing the postmaster gone"
    'the standby is not running, so gpactivatestandby needs -f; set activation.force true only when the standby is known to hold every committed transaction'
    'PGPORT was not set for the utility; gpmirror exports it on every call, so the environment file reset it: check greenplum_path.sh'
    "Greenplum's environment was not loaded (greenplum_path.sh or cloudberry-env.sh, and the data directory variable); check greenplum.gphome"
    'no standby is registered in gp_segment_configuration; gpinitstandby -s creates one'
    'the utility could not connect to the master on localhost:$PGPORT; check that the master runs and that greenplum.* and dbPort match it'
  )
  local i
  shopt -s nocasematch
  for i in "${!pats[@]}"; do
    if [[ "$out" =~ ${pats[$i]} ]]; then
      shopt -u nocasematch
      printf '%s' "${msgs[$i]}"
      return 0
    fi
  done
  shopt -u nocasematch
  return 1
}

# The first line of a utility's output where its own ssh failed (gpm_gp_explain's first entry).
gpm_gp_ssh_line() {
  grep -m 1 -oE "(ssh: connect to host [^ ]+ port [0-9]+: |ssh: Could not resolve hostname |Permission denied \(publickey|Host key verification failed).*" <<<"$1" | sed -E "s/[[:space:]']+\$//" || true
}

# gpm_run_utility LOG cmd...: runs a Greenplum utility with stdin closed, its output on
# stderr and in LOG. Sets UTIL_RC and UTIL_OUT (the output). Never fails by itself: the
# caller judges by the catalog, not by the exit code or the log words alone.
gpm_run_utility() {
  local log="$1"
  shift
  mkdir -p "$(dirname "$log")"
  gpm_log "running: $*"
  set +e
  "$@" </dev/null >"$log" 2>&1
  UTIL_RC=$?
  set -e
  UTIL_OUT="$(cat "$log")"
  printf '%s\n' "$UTIL_OUT" | sed 's/^/    | /' >&2
  gpm_log "$1 exited $UTIL_RC (output kept in $log)"
}

# gpm_die_utility WHAT: stop with the utility's known failure explained when there is one.
gpm_die_utility() {
  local what="$1" why
  if why="$(gpm_gp_explain "$UTIL_OUT")"; then
    gpm_die "$what failed (exit $UTIL_RC): $why"
  fi
  gpm_die "$what failed (exit $UTIL_RC); see its output above"
}

# gpm_conninfo_get LINE KEY: the value of KEY in a `primary_conninfo = '...'` line as the
# server writes it: the setting is a quoted string ('' or \' for a quote), and inside it
# pg_basebackup quotes conninfo values that are not plain (host=''gpc-a'' for a name with a
# hyphen; \' and \\ escaped). Prints nothing when KEY is absent.
gpm_conninfo_get() {
  local line="$1" key="$2" v c i n conninfo=""
  v="${line#*=}"
  v="${v#"${v%%[![:space:]]*}"}"
  if [[ "$v" == \'* ]]; then
    n=${#v}
    for ((i = 1; i < n; i++)); do
      c="${v:i:1}"
      if [[ "$c" == "'" && "${v:i+1:1}" == "'" ]] || [[ "$c" == '\' ]]; then
        conninfo+="${v:i+1:1}"
        ((i += 1))
      elif [[ "$c" == "'" ]]; then
        break
      else
        conninfo+="$c"
      fi
    done
  else
    conninfo="${v%%[[:space:]#]*}"
  fi
  # conninfo: key = value pairs; a value is bare, or quoted with \' and \\ escapes.
  local k val
  n=${#conninfo}
  i=0
  while ((i < n)); do
    while ((i < n)) && [[ "${conninfo:i:1}" =~ [[:space:]] ]]; do ((i += 1)); done
    k=""
    while ((i < n)) && [[ "${conninfo:i:1}" != "=" && ! "${conninfo:i:1}" =~ [[:space:]] ]]; do
      k+="${conninfo:i:1}"
      ((i += 1))
    done
    while ((i < n)) && [[ "${conninfo:i:1}" =~ [[:space:]=] ]]; do ((i += 1)); done
    val=""
    if [[ "${conninfo:i:1}" == "'" ]]; then
      ((i += 1))
      while ((i < n)) && [[ "${conninfo:i:1}" != "'" ]]; do
        if [[ "${conninfo:i:1}" == '\' ]]; then ((i += 1)); fi
        val+="${conninfo:i:1}"
        ((i += 1))
      done
      ((i += 1))
    else
      while ((i < n)) && [[ ! "${conninfo:i:1}" =~ [[:space:]] ]]; do
        val+="${conninfo:i:1}"
        ((i += 1))
      done
    fi
    if [[ -n "$k" && "$k" == "$key" ]]; then
      printf '%s' "$val"
      return 0
    fi
  done
  return 0
}

# Options of every ssh between the hosts: never a prompt, bounded connect and silence.
GPM_SSH_OPTS=(-o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3)

# gpm_ssh HOST PORT SECONDS SCRIPT [ARGS...]: runs SCRIPT with bash on HOST as this user,
# arguments passed quoted, bounded by SECONDS. An empty PORT leaves the port to ssh (its
# config, else 22), as Greenplum's own utilities do. Exit 255: no connection; 124: timeout.
gpm_ssh() {
  local host="$1" port="$2" seconds="$3" script="$4"
  shift 4
  local args="" a
  for a in "$@"; do args+=" $(printf '%q' "$a")"; done
  local -a port_opt=()
  [[ -z "$port" ]] || port_opt=(-p "$port")
  timeout --kill-after=5 "$seconds" ssh "${GPM_SSH_OPTS[@]}" "${port_opt[@]}" "$host" \
    "bash -s --$args" <<<"$script"
}

# Looks at a standby data directory on its own host (args: DIR MARKER [ENVFILE]): prints
#   running=<yes|no> marker=<yes|no> exists=<yes|no> walRemoved=<yes|no> [needsFrom=<LSN>]
# needsFrom (with ENVFILE): where the standby resumes, from pg_controldata (its minimum
# recovery point, else its last restartpoint): WAL after it must still be on the master.
GPM_STANDBY_PROBE='
set -u
dir="$1" marker="$2" envfile="${3:-}"
running=no exists=no m=no removed=no needs=""
if [[ -n "$envfile" && -f "$dir/global/pg_control" ]]; then
  cd_out="$(set +eu; . "$envfile" >/dev/null 2>&1; pg_controldata "$dir" 2>/dev/null)"
  needs="$(sed -n "s/^Minimum recovery ending location: *//p" <<<"$cd_out")"
  if [[ -z "$needs" || "$needs" == 0/0 ]]; then needs="$(sed -n "s/^Latest checkpoint.s REDO location: *//p" <<<"$cd_out")"; fi
fi
if [[ -e "$dir" ]]; then exists=yes; fi
if [[ -f "$dir/postmaster.pid" ]]; then
  pid="$(head -n 1 "$dir/postmaster.pid" 2>/dev/null)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && ! grep -q "^State:[[:space:]]*Z" "/proc/$pid/status" 2>/dev/null; then running=yes; fi
fi
if [[ -f "$dir/$marker" ]]; then m=yes; fi
log="$(ls -t "$dir"/log/*.csv "$dir"/pg_log/*.csv 2>/dev/null | head -n 1)"
if [[ -n "$log" ]] && tail -n 400 "$log" | grep -q "requested WAL segment [0-9A-F]* has already been removed"; then removed=yes; fi
echo "running=$running marker=$m exists=$exists walRemoved=$removed${needs:+ needsFrom=$needs}"
'
