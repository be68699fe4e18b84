#!/usr/bin/env bash
# local-hosts.sh: hosts on this machine for the local stack.
#   bash scripts/local-hosts.sh client-key|install-greenplum|create|destroy|fence|heal|partition|join
# Runs locally (Pulumi local.Command), never over SSH. Parameters come only from GPM_*:
#   GPM_STACK           stack name, [a-z0-9-]+ (required)
#   GPM_STATE_DIR       absolute; default /var/lib/gpmirror/$GPM_STACK (root) or
#                       $HOME/.gpmirror/$GPM_STACK
#   GPM_HOST            host role name, [a-z0-9-]+ (create, destroy)
#   GPM_MODE            netns|loopback; default netns as root, loopback otherwise
#   GPM_AUTHORIZED_KEY  public key allowed to log in (create)
#   GPM_PEER_ADDRESS    the other host's address (partition, join: netns only)
#   netns:    GPM_ADDRESS (e.g. 10.201.0.11), GPM_BRIDGE_ADDRESS (e.g. 10.201.0.1/24),
#             GPM_BRIDGE (default gpm-$GPM_STACK, max 15 chars), GPM_SSH_PORT (default 22),
#             GPM_OS_USER (default gpmirror; created with useradd when missing)
#   loopback: GPM_SSH_PORT (required), GPM_ADDRESS (default 127.0.0.1, must be 127.x),
#             GPM_OS_USER (default and only allowed value: the current user)
#   GPM_FLAVOR          postgres (default) | greenplum (netns only): each host also gets a
#                       private mount and UTS namespace (its own /tmp, ~OS user, /etc/hosts,
#                       /etc/ssh and host name $GPM_STACK-$GPM_HOST), sshd on its address and
#                       on 127.0.0.1, and the OS user (the Greenplum administrator) trusted by
#                       every host of the stack over SSH, as Greenplum's utilities need.
#   greenplum:          GPM_CLUSTER_HOSTS ("address name" lines: every host of the stack, for
#                       /etc/hosts), GPM_GPHOME (for the admin user's shell environment)
#                       A segment host (any host but primary and standby) also gets, in its
#                       mount namespace only, a sudoers rule letting the OS user run
#                       /usr/sbin/nft as root (the segment fence; nft there changes only that
#                       host's network namespace).
#   install-greenplum:  GPM_GPHOME; GPM_GREENPLUM_INSTALLER (run as root when
#                       $GPM_GPHOME/greenplum_path.sh is missing)
# Prints one JSON line on stdout; progress goes to stderr.
# create also keeps $GPM_STATE_DIR/known_hosts (one line per host, for ssh -o UserKnownHostsFile=);
# concurrent runs (Pulumi creates both hosts at once) are serialized with flock.
set -euo pipefail

log() { printf '[local-hosts] %s\n' "$*" >&2; }
die() {
  printf '[local-hosts] ERROR: %s\n' "$*" >&2
  exit 1
}

ACTION="${1:-}"
case "$ACTION" in
  create | destroy | client-key | install-greenplum | fence | heal | partition | join) ;;
  *) die "usage: bash scripts/local-hosts.sh create|destroy|client-key|install-greenplum|fence|heal|partition|join (parameters in GPM_* variables)" ;;
esac

command -v jq >/dev/null 2>&1 || die "jq is required (apt-get install jq)"

: "${GPM_STACK:?GPM_STACK is required (stack name, [a-z0-9-])}"
[[ "$GPM_STACK" =~ ^[a-z0-9-]{1,40}$ ]] || die "GPM_STACK must match [a-z0-9-]{1,40}, got '$GPM_STACK'"

if [[ -z "${GPM_STATE_DIR:-}" ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    GPM_STATE_DIR="/var/lib/gpmirror/$GPM_STACK"
  else
    GPM_STATE_DIR="$HOME/.gpmirror/$GPM_STACK"
  fi
fi
[[ "$GPM_STATE_DIR" == /* ]] || die "GPM_STATE_DIR must be an absolute path, got '$GPM_STATE_DIR'"
[[ "$GPM_STATE_DIR" != *"'"* && "$GPM_STATE_DIR" != *' '* && "$GPM_STATE_DIR" != *$'\n'* ]] ||
  die "GPM_STATE_DIR must not contain spaces, quotes or newlines"
[[ "/$GPM_STATE_DIR/" != */../* ]] || die "GPM_STATE_DIR must not contain '..'"
STATE_DIR="${GPM_STATE_DIR%/}"
[[ -n "$STATE_DIR" ]] || die "GPM_STATE_DIR must not be /"

# Pulumi runs the create (and destroy) of both hosts at the same time: the bridge, the OS
# user, known_hosts and "is this the last host" must not race. One lock per state dir
# parent, held on the directory itself so that nothing is left behind. The network faults
# (fence, heal, partition, join) change one link or one host's rules and take no lock: that
# lock is shared by every stack on the machine, and a drill's cut waited seconds behind
# another stack's host creation, which the drill counted as part of its RTO.
lock_parent="$(dirname "$STATE_DIR")"
mkdir -p "$lock_parent"
if command -v flock >/dev/null 2>&1 && [[ ! "$ACTION" =~ ^(fence|heal|partition|join)$ ]]; then
  exec 9<"$lock_parent"
  flock -w 300 9 || die "could not lock $lock_parent within 300 s (another local-hosts.sh run?)"
fi

# ensure_key PATH COMMENT WHAT: an ed25519 key pair at PATH, generated once and kept.
ensure_key() {
  local key="$1" comment="$2" what="$3"
  if [[ ! -f "$key" || ! -f "$key.pub" ]]; then
    log "generating $what ($key)"
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$comment" -f "$key" >/dev/null
  fi
  chmod 0600 "$key"
}

# ---------------------------------------------------------------------------- client-key
if [[ "$ACTION" == client-key ]]; then
  command -v ssh-keygen >/dev/null 2>&1 || die "ssh-keygen is required (apt-get install openssh-client)"
  mkdir -p "$STATE_DIR"
  chmod 0755 "$STATE_DIR"
  key="$STATE_DIR/client_key"
  ensure_key "$key" "gpmirror-$GPM_STACK-client" "the client key pair"
  # The private key stays in its file: the program reads it from there, so no output of this
  # command (which a failure would quote) ever holds it.
  jq -cn --arg publicKey "$(cut -d' ' -f1,2 "$key.pub")" --arg path "$key" '{publicKey: $publicKey, path: $path}'
  exit 0
fi

# --------------------------------------------------------------------- install-greenplum
# Greenplum on this machine, which every local host shares: installed by the installer of a
# Greenplum build when $GPM_GPHOME has none. Prints {"gphome","version","installed"}.
if [[ "$ACTION" == install-greenplum ]]; then
  : "${GPM_GPHOME:?GPM_GPHOME is required (Greenplum installation directory)}"
  [[ "$GPM_GPHOME" =~ ^/[A-Za-z0-9_./-]+$ && "/$GPM_GPHOME/" != */../* ]] ||
    die "GPM_GPHOME must be a plain absolute path, got '$GPM_GPHOME'"
  installed=false
  if [[ ! -f "$GPM_GPHOME/greenplum_path.sh" || ! -x "$GPM_GPHOME/bin/postgres" ]]; then
    installer="${GPM_GREENPLUM_INSTALLER:-}"
    how="install Greenplum into $GPM_GPHOME yourself (greenplum_path.sh and bin/postgres), or point GPMIRROR_GREENPLUM_INSTALLER at an installer such as ../shared/greenplum/install.sh of a checkout beside a Greenplum build"
    [[ -n "$installer" ]] || die "Greenplum is not installed in $GPM_GPHOME (greenplum.gphome) and no installer is known: $how"
    [[ -f "$installer" ]] || die "Greenplum is not installed in $GPM_GPHOME (greenplum.gphome) and the installer $installer does not exist: $how"
    [[ "$(id -u)" == 0 ]] || die "Greenplum is not installed in $GPM_GPHOME: run $installer $GPM_GPHOME as root (it installs Debian packages too)"
    log "installing Greenplum into $GPM_GPHOME with $installer"
    bash "$installer" "$GPM_GPHOME" >&2 9<&- || die "$installer $GPM_GPHOME failed; see its output above"
    installed=true
  fi
  version="$("$GPM_GPHOME/bin/postgres" --gp-version 2>&1 | head -n 1)" ||
    die "$GPM_GPHOME/bin/postgres --gp-version failed: $version"
  log "Greenplum in $GPM_GPHOME: $version"
  jq -cn --arg gphome "$GPM_GPHOME" --arg version "$version" --argjson installed "$installed" \
    '{gphome: $gphome, version: $version, installed: $installed}'
  exit 0
fi

# ---------------------------------------------------------------------- host parameters
: "${GPM_HOST:?GPM_HOST is required (host role name: primary, standby or any [a-z0-9-])}"
[[ "$GPM_HOST" =~ ^[a-z0-9-]{1,40}$ ]] || die "GPM_HOST must match [a-z0-9-]{1,40}, got '$GPM_HOST'"

if [[ -z "${GPM_MODE:-}" ]]; then
  if [[ "$(id -u)" == 0 ]]; then GPM_MODE=netns; else GPM_MODE=loopback; fi
fi
case "$GPM_MODE" in
  netns) [[ "$(id -u)" == 0 ]] || die "GPM_MODE=netns needs root; use GPM_MODE=loopback as an ordinary user" ;;
  loopback) ;;
  *) die "GPM_MODE must be netns or loopback, got '$GPM_MODE'" ;;
esac
FLAVOR="${GPM_FLAVOR:-postgres}"
case "$FLAVOR" in
  postgres) ;;
  greenplum) [[ "$GPM_MODE" == netns ]] || die "GPM_FLAVOR=greenplum needs GPM_MODE=netns (a private /tmp and home per host need root)" ;;
  *) die "GPM_FLAVOR must be postgres or greenplum, got '$FLAVOR'" ;;
esac

NAME="$GPM_STACK-$GPM_HOST"
HASH="$(printf '%s' "$NAME" | sha1sum | cut -c1-10)"
HOSTS_DIR="$STATE_DIR/hosts"
HD="$HOSTS_DIR/$GPM_HOST"
SSH_DIR="$HD/ssh"
META_DIR="$STATE_DIR/meta" # outside the host dir, which the OS user owns
META="$META_DIR/$GPM_HOST.json"
NS="gpm-$NAME"
((${#NS} <= 60)) || NS="gpm-$HASH"
VETH_HOST="gv$HASH" # 12 chars: interface names are at most 15
VETH_NS="gn$HASH"   # renamed to eth0 inside the namespace
default_bridge="gpm-$GPM_STACK"
((${#default_bridge} <= 15)) || default_bridge="gpm-$(printf '%s' "$GPM_STACK" | sha1sum | cut -c1-10)"
BRIDGE="${GPM_BRIDGE:-$default_bridge}"

ipv4_re='^([0-9]{1,3}\.){3}[0-9]{1,3}$'

valid_key() {
  [[ "$1" =~ ^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\ [A-Za-z0-9+/=]+(\ [^[:cntrl:]]*)?$ ]]
}

# 0 when PID is alive and its command line mentions WORD.
pid_runs() {
  local pid="$1" word="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$word"
}

# pid_alive PID: the process runs. A zombie (ended, not yet reaped) does not: some inits reap
# only every second or two, and a postmaster killed just before a destroy is one meanwhile.
pid_alive() {
  [[ -d "/proc/$1" ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# all_gone TENTHS PID...: wait up to TENTHS tenths of a second for every PID to end.
all_gone() {
  local tenths="$1" p i alive
  shift
  for ((i = 0; i < tenths; i++)); do
    alive=0
    for p in "$@"; do pid_alive "$p" && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  return 1
}

# kill_wait PID...: TERM, wait up to 10 s, then KILL and wait up to 10 s more (a process in an
# uninterruptible wait ends only once the call returns, and holds its shared memory till then).
kill_wait() {
  local pids=("$@")
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  all_gone 100 "${pids[@]}" && return 0
  kill -KILL "${pids[@]}" 2>/dev/null || true
  all_gone 100 "${pids[@]}" || log "process(es) $* still ending after SIGKILL"
}

KNOWN_HOSTS="$STATE_DIR/known_hosts"

# known_hosts_set PATTERN [KEYLINE]: drop PATTERN's line, then add "PATTERN KEYLINE" if given.
known_hosts_set() {
  local pattern="$1" keyline="${2:-}" tmp
  [[ -f "$KNOWN_HOSTS" || -n "$keyline" ]] || return 0
  tmp="$(mktemp "$KNOWN_HOSTS.tmp.XXXXXX")"
  if [[ -f "$KNOWN_HOSTS" ]]; then
    awk -v p="$pattern" '$1 != p' "$KNOWN_HOSTS" >"$tmp"
  fi
  [[ -z "$keyline" ]] || printf '%s %s\n' "$pattern" "$keyline" >>"$tmp"
  chmod 0644 "$tmp"
  if [[ -s "$tmp" ]]; then
    mv -f "$tmp" "$KNOWN_HOSTS"
  else
    rm -f "$tmp" "$KNOWN_HOSTS"
  fi
}

# ---------------------------------------------------------------------------- destroy
stop_postgres_under() {
  local dir="$1" pidfile datadir pid i
  [[ -d "$dir" ]] || return 0
  while IFS= read -r pidfile; do
    datadir="$(dirname "$pidfile")"
    pid="$(head -n 1 "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" || continue
    # Only a postmaster whose data dir is this one (its command line or cwd says so).
    if ! pid_runs "$pid" "$datadir" && [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" != "$datadir" ]]; then
      continue
    fi
    log "stopping PostgreSQL $pid on $datadir (fast) ..."
    kill -INT "$pid" 2>/dev/null || true # what pg_ctl stop -m fast sends
    for ((i = 0; i < 300; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    if pid_alive "$pid"; then
      log "PostgreSQL $pid still running; immediate shutdown"
      kill -QUIT "$pid" 2>/dev/null || true # pg_ctl stop -m immediate
      for ((i = 0; i < 100; i++)); do pid_alive "$pid" || break; sleep 0.1; done
    fi
    if pid_alive "$pid"; then
      log "PostgreSQL $pid still running; killing it and its children"
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < <(find "$dir" -maxdepth 4 -name postmaster.pid -type f 2>/dev/null)
}

# Postmasters running in network namespace NS, whatever their data directory (a Greenplum
# host's are in its private home, a path only its own mount namespace shows): a fast
# shutdown each, as stop_postgres_under does, so that none leaves shared memory behind.
stop_postmasters_in_ns() {
  local ns="$1" pid ppid i alive
  local -a masters=()
  while IFS= read -r pid; do
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == postgres ]] && pid_alive "$pid" || continue
    ppid="$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)"
    [[ "$(cat "/proc/$ppid/comm" 2>/dev/null)" != postgres ]] || continue
    masters+=("$pid")
  done < <(ip netns pids "$ns" 2>/dev/null || true)
  ((${#masters[@]})) || return 0
  log "stopping ${#masters[@]} postmaster(s) in namespace $ns (fast)"
  kill -INT "${masters[@]}" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    alive=0
    for pid in "${masters[@]}"; do pid_alive "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  log "postmaster(s) still running after 30 s; immediate shutdown"
  kill -QUIT "${masters[@]}" 2>/dev/null || true
  sleep 2
}

# The System V shared memory of postmasters under DIR that are gone without a clean shutdown
# (kill -9 in a drill or fault test): a postmaster.pid names its segment (line 7: key and id).
# Run once the host's processes are ended: the segment is removed, as PostgreSQL's next start
# would; should a process still be attached, the kernel frees it when that one detaches.
remove_orphan_shm_under() {
  local dir="$1" pidfile pid key id line
  [[ -d "$dir" ]] || return 0
  command -v ipcs >/dev/null 2>&1 || return 0
  while IFS= read -r pidfile; do
    pid="$(sed -n 1p "$pidfile" 2>/dev/null)"
    read -r key id < <(sed -n 7p "$pidfile" 2>/dev/null) || true
    [[ "$key" =~ ^[0-9]+$ && "$id" =~ ^[0-9]+$ ]] || continue
    [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid" && continue
    # ipcs -m: key shmid owner perms bytes nattch
    line="$(ipcs -m | awk -v id="$id" '$2 == id')"
    [[ -n "$line" ]] || continue
    [[ "$(awk '{print $1}' <<<"$line")" == "$(printf '0x%08x' "$key")" ]] || continue
    log "removing shared memory $id left by postmaster $pid ($(dirname "$pidfile")), $(awk '{print $6}' <<<"$line") attached"
    ipcrm -m "$id" 2>/dev/null || true
  done < <(find "$dir" -maxdepth 7 -name postmaster.pid -type f 2>/dev/null)
}

# Processes whose command line has an argument at or under DIR (pg_basebackup -D ...,
# a postmaster -D ..., sshd -f ...).
pids_under() {
  local dir="$1" f pid arg
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"
    pid="${pid%/cmdline}"
    [[ "$pid" != "$$" && "$pid" != "$BASHPID" ]] || continue
    while IFS= read -r -d '' arg; do
      if [[ "$arg" == "$dir" || "$arg" == "$dir/"* || "$arg" == *"=$dir/"* ]]; then
        printf '%s\n' "$pid"
        break
      fi
    done <"$f" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------------------- fence / heal
# fence: what a platform does to a host it cannot log in to (on AWS: stop the instance or cut
# its security group). netns: the host's link is cut, so nobody reaches its PostgreSQL;
# loopback: its postmaster is killed. heal: the link is restored (netns), for partition tests.
if [[ "$ACTION" == fence || "$ACTION" == heal ]]; then
  [[ -f "$META" ]] || die "no host $NAME here ($META missing)"
  mode="$(jq -r '.mode' "$META")"
  veth="$(jq -r '.veth // ""' "$META")"
  state=up
  [[ "$ACTION" == heal ]] || state=down
  if [[ "$mode" == netns ]]; then
    log "setting the link of $NAME ($veth) $state"
    ip link set "$veth" "$state"
  elif [[ "$ACTION" == fence ]]; then
    log "killing the PostgreSQL of $NAME (loopback hosts share one network)"
    mapfile -t pids < <(pids_under "$HD" | sort -u)
    ((${#pids[@]} == 0)) || kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  jq -cn --arg name "$NAME" --arg action "$ACTION" '{name: $name, action: $action}'
  exit 0
fi

# ------------------------------------------------------------------------ partition / join
# partition: this host drops what it sends to GPM_PEER_ADDRESS (a blackhole route in its
# namespace), while this machine still reaches it; run for both hosts, it cuts the network
# between them only. join: the route is removed. For drills and fault tests.
if [[ "$ACTION" == partition || "$ACTION" == join ]]; then
  [[ -f "$META" ]] || die "no host $NAME here ($META missing)"
  [[ "$(jq -r '.mode' "$META")" == netns ]] ||
    die "a partition between hosts needs local.mode netns (loopback hosts share one network)"
  [[ "${GPM_PEER_ADDRESS:-}" =~ $ipv4_re ]] || die "GPM_PEER_ADDRESS must be an IPv4 address, got '${GPM_PEER_ADDRESS:-}'"
  ns="$(jq -r '.namespace' "$META")"
  if [[ "$ACTION" == partition ]]; then
    log "$NAME drops what it sends to $GPM_PEER_ADDRESS"
    ip netns exec "$ns" ip route replace blackhole "$GPM_PEER_ADDRESS/32"
  else
    log "$NAME reaches $GPM_PEER_ADDRESS again"
    ip netns exec "$ns" ip route del blackhole "$GPM_PEER_ADDRESS/32" 2>/dev/null || true
  fi
  jq -cn --arg name "$NAME" --arg action "$ACTION" --arg peer "$GPM_PEER_ADDRESS" \
    '{name: $name, action: $action, peer: $peer}'
  exit 0
fi

if [[ "$ACTION" == destroy ]]; then
  mode="$GPM_MODE" ns="$NS" veth="$VETH_HOST" bridge="$BRIDGE"
  if [[ -f "$META" ]]; then
    mode="$(jq -r '.mode' "$META")"
    ns="$(jq -r '.namespace' "$META")"
    veth="$(jq -r '.veth // ""' "$META")"
    bridge="$(jq -r '.bridge // ""' "$META")"
    kh_pattern="$(jq -r '.knownHostsPattern // ""' "$META")"
    [[ -z "$kh_pattern" ]] || known_hosts_set "$kh_pattern"
  fi
  log "destroying host $NAME ($mode)"
  if [[ "$mode" == netns && -n "$ns" && -e "/run/netns/$ns" ]]; then
    stop_postmasters_in_ns "$ns"
  fi
  stop_postgres_under "$HD"
  if [[ -f "$SSH_DIR/sshd.pid" ]]; then
    pid="$(cat "$SSH_DIR/sshd.pid" 2>/dev/null || true)"
    if pid_runs "$pid" "$SSH_DIR/sshd_config"; then
      log "stopping sshd $pid"
      kill_wait "$pid"
    fi
  fi
  if [[ "$mode" == netns && -n "$ns" ]] && [[ -e "/run/netns/$ns" ]]; then
    mapfile -t left < <(ip netns pids "$ns" 2>/dev/null || true)
    if ((${#left[@]})); then
      log "ending ${#left[@]} process(es) left in namespace $ns"
      kill_wait "${left[@]}"
    fi
  fi
  if [[ -d "$HD" ]]; then
    mapfile -t left < <(pids_under "$HD")
    if ((${#left[@]})); then
      log "ending ${#left[@]} process(es) still using $HD"
      kill_wait "${left[@]}"
    fi
  fi
  remove_orphan_shm_under "$HD"
  if [[ "$mode" == netns ]]; then
    if [[ -n "$veth" ]] && ip link show "$veth" >/dev/null 2>&1; then
      log "deleting veth $veth"
      ip link del "$veth"
    fi
    if [[ -n "$ns" && -e "/run/netns/$ns" ]]; then
      log "deleting namespace $ns"
      ip netns del "$ns"
    fi
  fi
  if [[ -d "$HD" ]]; then
    log "deleting $HD"
    rm -rf -- "$HD"
  fi
  rm -f -- "$META"
  rm -rf -- "$META_DIR/$GPM_HOST.sudoers.d"
  if [[ -d "$META_DIR" ]] && [[ -z "$(ls -A "$META_DIR")" ]]; then
    rmdir "$META_DIR"
  fi
  if [[ -d "$HOSTS_DIR" ]] && [[ -z "$(ls -A "$HOSTS_DIR")" ]]; then
    rmdir "$HOSTS_DIR"
  fi
  if [[ ! -d "$HOSTS_DIR" ]]; then
    if [[ "$mode" == netns && -n "$bridge" ]] && ip link show "$bridge" >/dev/null 2>&1; then
      if [[ -z "$(ip -o link show master "$bridge" 2>/dev/null)" ]]; then
        log "no hosts left; deleting bridge $bridge"
        ip link del "$bridge"
      else
        log "bridge $bridge still has ports; kept"
      fi
    fi
    if [[ -d "$STATE_DIR" ]]; then
      # Only what we made there; a directory with anything else in it is kept.
      rm -f -- "$STATE_DIR/client_key" "$STATE_DIR/client_key.pub" "$STATE_DIR/admin_key" "$STATE_DIR/admin_key.pub"
      [[ -s "$KNOWN_HOSTS" ]] || rm -f -- "$KNOWN_HOSTS"
      if rmdir "$STATE_DIR" 2>/dev/null; then
        log "no hosts left; deleted $STATE_DIR"
      else
        log "kept $STATE_DIR: it holds files gpmirror did not create"
      fi
    fi
  fi
  jq -cn --arg name "$NAME" '{name: $name, destroyed: true}'
  exit 0
fi

# ----------------------------------------------------------------------------- create
: "${GPM_AUTHORIZED_KEY:?GPM_AUTHORIZED_KEY is required (the public key that may log in, e.g. ssh-ed25519 AAAA...)}"
valid_key "$GPM_AUTHORIZED_KEY" || die "GPM_AUTHORIZED_KEY is not a single-line OpenSSH public key"
[[ -x /usr/sbin/sshd ]] || die "/usr/sbin/sshd is missing (apt-get install openssh-server)"
command -v ssh-keygen >/dev/null 2>&1 || die "ssh-keygen is missing (apt-get install openssh-client)"

if [[ "$GPM_MODE" == netns ]]; then
  : "${GPM_ADDRESS:?GPM_ADDRESS is required in netns mode (address of the host, e.g. 10.201.0.11)}"
  : "${GPM_BRIDGE_ADDRESS:?GPM_BRIDGE_ADDRESS is required in netns mode (e.g. 10.201.0.1/24)}"
  [[ "$GPM_ADDRESS" =~ $ipv4_re ]] || die "GPM_ADDRESS must be an IPv4 address, got '$GPM_ADDRESS'"
  [[ "$GPM_BRIDGE_ADDRESS" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] ||
    die "GPM_BRIDGE_ADDRESS must be an IPv4 address with prefix length, e.g. 10.201.0.1/24, got '$GPM_BRIDGE_ADDRESS'"
  [[ "$BRIDGE" =~ ^[A-Za-z0-9_-]{1,15}$ ]] || die "GPM_BRIDGE must be an interface name of at most 15 characters, got '$BRIDGE'"
  command -v ip >/dev/null 2>&1 || die "ip is missing (apt-get install iproute2)"
  ADDRESS="$GPM_ADDRESS"
  PREFIX="${GPM_BRIDGE_ADDRESS#*/}"
  GATEWAY="${GPM_BRIDGE_ADDRESS%/*}"
  [[ "$ADDRESS" != "$GATEWAY" ]] || die "GPM_ADDRESS must differ from the bridge address $GATEWAY"
  SSH_PORT="${GPM_SSH_PORT:-22}"
  OS_USER="${GPM_OS_USER:-gpmirror}"
  [[ "$OS_USER" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "GPM_OS_USER is not a valid user name: '$OS_USER'"
  [[ "$OS_USER" != root ]] || die "GPM_OS_USER must not be root (PostgreSQL refuses to run as root)"
else
  : "${GPM_SSH_PORT:?GPM_SSH_PORT is required in loopback mode (e.g. 22011)}"
  ADDRESS="${GPM_ADDRESS:-127.0.0.1}"
  [[ "$ADDRESS" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "GPM_ADDRESS must be a 127.x address in loopback mode, got '$ADDRESS'"
  SSH_PORT="$GPM_SSH_PORT"
  OS_USER="$(id -un)"
  if [[ -n "${GPM_OS_USER:-}" && "$GPM_OS_USER" != "$OS_USER" ]]; then
    die "GPM_OS_USER=$GPM_OS_USER: in loopback mode the sshd runs unprivileged and can only log in its own user ($OS_USER)"
  fi
  [[ "$OS_USER" != root ]] || die "loopback mode as root is not supported: PostgreSQL refuses to run as root; use GPM_MODE=netns"
fi
if ! [[ "$SSH_PORT" =~ ^[0-9]{1,5}$ ]] || ((SSH_PORT < 1 || SSH_PORT > 65535)); then
  die "GPM_SSH_PORT must be a TCP port, got '$SSH_PORT'"
fi
if [[ "$FLAVOR" == greenplum ]]; then
  ((${#NAME} <= 63)) || die "host name $NAME is longer than 63 characters: use a shorter stack name"
  : "${GPM_GPHOME:?GPM_GPHOME is required for GPM_FLAVOR=greenplum (Greenplum installation directory)}"
  [[ "$GPM_GPHOME" =~ ^/[A-Za-z0-9_./-]+$ && "/$GPM_GPHOME/" != */../* ]] ||
    die "GPM_GPHOME must be a plain absolute path, got '$GPM_GPHOME'"
  : "${GPM_CLUSTER_HOSTS:?GPM_CLUSTER_HOSTS is required for GPM_FLAVOR=greenplum ('address name' lines of every host)}"
  CLUSTER_LINES=""
  while read -r a n extra; do
    [[ -n "$a" ]] || continue
    [[ "$a" =~ $ipv4_re && "$n" =~ ^[a-z0-9][a-z0-9-]{0,62}$ && -z "$extra" ]] ||
      die "GPM_CLUSTER_HOSTS holds '$a $n $extra', not 'address name'"
    CLUSTER_LINES+="$a $n"$'\n'
  done <<<"$GPM_CLUSTER_HOSTS"
  grep -qxF "$ADDRESS $NAME" <<<"$CLUSTER_LINES" || die "GPM_CLUSTER_HOSTS must list this host as '$ADDRESS $NAME'"
  if [[ "$GPM_HOST" != primary && "$GPM_HOST" != standby ]]; then
    # The segment fence: the activation runs sudo -n nft on the segment hosts.
    [[ -x /usr/sbin/nft ]] || die "/usr/sbin/nft is missing (apt-get install nftables): a segment host fences a stale coordinator with it"
    [[ -x /usr/bin/sudo && -d /etc/sudoers.d ]] || die "sudo is missing (apt-get install sudo): the segment fence runs nft through the admin user's sudo"
    SUDOERS_DIR="$META_DIR/$GPM_HOST.sudoers.d"
  fi
fi
SUDOERS_DIR="${SUDOERS_DIR:-}"

# OS user (root mode only).
if [[ "$GPM_MODE" == netns ]] && ! id "$OS_USER" >/dev/null 2>&1; then
  log "creating OS user $OS_USER"
  useradd -m -s /bin/bash "$OS_USER"
fi
if [[ "$GPM_MODE" == netns ]]; then
  # sshd without PAM refuses a locked account ('!' in the shadow file, as useradd leaves
  # it). '*' means: no password can ever match, but key logins are allowed.
  shadow_pw="$(getent shadow "$OS_USER" | cut -d: -f2 || true)"
  if [[ "$shadow_pw" == '!' || "$shadow_pw" == '!!' || "$shadow_pw" == '!*' ]]; then
    log "allowing key logins for $OS_USER (account was locked without a password)"
    usermod -p '*' "$OS_USER"
  fi
fi
OS_GROUP="$(id -gn "$OS_USER")"
ADMIN_HOME=""
if [[ "$FLAVOR" == greenplum ]]; then
  # Each host's home is bound at the user's home in its own mount namespace; Greenplum's
  # directories (set by the stack at /home/<user>/...) live there.
  ADMIN_HOME="$(getent passwd "$OS_USER" | cut -d: -f6)"
  [[ "$ADMIN_HOME" == "/home/$OS_USER" ]] ||
    die "the home of $OS_USER is '$ADMIN_HOME', but local Greenplum hosts need /home/$OS_USER (usermod -d /home/$OS_USER $OS_USER, or another greenplum.adminUser)"
  if [[ ! -d "$ADMIN_HOME" ]]; then
    mkdir -p "$ADMIN_HOME"
    chown "$OS_USER:$OS_GROUP" "$ADMIN_HOME"
  fi
fi

# Directories: the host dir belongs to the OS user; ssh/ belongs to whoever runs sshd.
mkdir -p "$HD" "$SSH_DIR" "$META_DIR"
chmod 0755 "$STATE_DIR" "$HOSTS_DIR" "$META_DIR"
chmod 0700 "$HD"
chmod 0755 "$SSH_DIR"
if [[ "$GPM_MODE" == netns ]]; then
  chown "$OS_USER:$OS_GROUP" "$HD"
  chown root:root "$SSH_DIR"
  # The OS user must be able to reach its home through the state dir.
  d="$STATE_DIR"
  while [[ "$d" != / && -n "$d" ]]; do
    [[ "$(stat -c %a "$d")" =~ [1357]$ ]] || log "WARNING: $d is not world-searchable; $OS_USER may not reach $HD"
    d="$(dirname "$d")"
  done
fi

# Network (netns mode).
if [[ "$GPM_MODE" == netns ]]; then
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "creating bridge $BRIDGE"
    ip link add "$BRIDGE" type bridge
  fi
  if ! ip -o -4 addr show dev "$BRIDGE" | grep -qF " $GPM_BRIDGE_ADDRESS "; then
    log "adding $GPM_BRIDGE_ADDRESS to $BRIDGE"
    ip addr add "$GPM_BRIDGE_ADDRESS" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  if [[ ! -e "/run/netns/$NS" ]]; then
    log "creating namespace $NS"
    ip netns add "$NS"
  fi
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    log "creating veth $VETH_HOST <-> $NS:eth0"
    ip netns exec "$NS" ip link del eth0 >/dev/null 2>&1 || true
    ip link add "$VETH_HOST" type veth peer name "$VETH_NS"
    ip link set "$VETH_NS" netns "$NS"
    ip netns exec "$NS" ip link set "$VETH_NS" name eth0
  fi
  ip link set "$VETH_HOST" master "$BRIDGE"
  ip link set "$VETH_HOST" up
  ip netns exec "$NS" ip link set lo up
  ip netns exec "$NS" ip link set eth0 up
  if ! ip netns exec "$NS" ip -o -4 addr show dev eth0 | grep -qF " $ADDRESS/$PREFIX "; then
    log "adding $ADDRESS/$PREFIX to $NS:eth0"
    ip netns exec "$NS" ip addr flush dev eth0
    ip netns exec "$NS" ip addr add "$ADDRESS/$PREFIX" dev eth0
  fi
  ip netns exec "$NS" ip route replace default via "$GATEWAY" dev eth0
fi

# sshd: host key (generated once), authorized key, config.
HOST_KEY="$SSH_DIR/ssh_host_ed25519_key"
ensure_key "$HOST_KEY" "gpmirror-$NAME" "the host key of $NAME"
printf '%s\n' "$GPM_AUTHORIZED_KEY" >"$SSH_DIR/authorized_keys.tmp"
chmod 0644 "$SSH_DIR/authorized_keys.tmp"
mv -f "$SSH_DIR/authorized_keys.tmp" "$SSH_DIR/authorized_keys"

if [[ "$SSH_PORT" == 22 ]]; then kh_pattern="$ADDRESS"; else kh_pattern="[$ADDRESS]:$SSH_PORT"; fi
if [[ "$FLAVOR" == greenplum ]]; then
  if [[ "$SSH_PORT" == 22 ]]; then kh_pattern+=",$NAME"; else kh_pattern+=",[$NAME]:$SSH_PORT"; fi
fi

# greenplum_host: what a Greenplum host has beyond sshd, in $HD for its mount namespace:
# tmp/ (its /tmp), home/ (~OS user: the stack's admin key, trusted by every host of the
# stack, and the shell environment), etc/hosts (every host of the stack by name), etc/ssh/
# (its own host key where the utilities and the trust step look, known hosts, client config).
greenplum_host() {
  local etc="$HD/etc" home="$HD/home" admin_key="$STATE_DIR/admin_key" pub
  mkdir -p "$HD/tmp" "$etc/ssh" "$home/.ssh"
  chmod 1777 "$HD/tmp"
  chmod 0755 "$etc" "$etc/ssh"
  {
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
    printf '%s' "$CLUSTER_LINES" | tr ' ' '\t'
  } >"$etc/hosts"
  chmod 0644 "$etc/hosts"
  [[ ! -f /etc/ssh/moduli ]] || cp /etc/ssh/moduli "$etc/ssh/moduli"
  cat >"$etc/ssh/ssh_config" <<EOF
# gpmirror local Greenplum host $NAME; generated by scripts/local-hosts.sh.
# Host keys: this host's own (ssh_known_hosts: also as localhost) and every host of the stack.
Host *
    GlobalKnownHostsFile /etc/ssh/ssh_known_hosts $KNOWN_HOSTS
    HashKnownHosts no
    SendEnv LANG LC_*
EOF
  cp "$HOST_KEY.pub" "$etc/ssh/ssh_host_ed25519_key.pub"
  printf 'localhost,127.0.0.1,%s %s\n' "$kh_pattern" "$(cut -d' ' -f1,2 "$HOST_KEY.pub")" >"$etc/ssh/ssh_known_hosts"
  chmod 0644 "$etc/ssh/"*

  ensure_key "$admin_key" "$OS_USER@gpmirror-$GPM_STACK" "the Greenplum administrator's key of the stack"
  pub="$(cut -d' ' -f1,2 "$admin_key.pub")"
  [[ -f "$home/.ssh/id_ed25519" ]] || install -m 0600 "$admin_key" "$home/.ssh/id_ed25519"
  [[ -f "$home/.ssh/id_ed25519.pub" ]] || install -m 0644 "$admin_key.pub" "$home/.ssh/id_ed25519.pub"
  touch "$home/.ssh/authorized_keys"
  grep -qF "$pub" "$home/.ssh/authorized_keys" || printf '%s gpmirror-stack-admin\n' "$pub" >>"$home/.ssh/authorized_keys"
  chmod 0600 "$home/.ssh/authorized_keys"
  # sshd runs commands through a non-login bash, which reads ~/.bashrc; login shells read
  # ~/.profile. Both get Debian's python3 first (the utilities run `#!/usr/bin/env python3`
  # and need its psutil, yaml, psycopg2 and pygresql) and Greenplum's environment.
  cat >"$home/.bashrc" <<EOF
# gpmirror local Greenplum host $NAME; generated by scripts/local-hosts.sh.
PATH="/usr/bin:/bin:/usr/sbin:/sbin\${PATH:+:\$PATH}"
export PATH
if [ -f $GPM_GPHOME/greenplum_path.sh ]; then . $GPM_GPHOME/greenplum_path.sh; fi
EOF
  printf '# gpmirror: login shells get the same environment\n. "$HOME/.bashrc"\n' >"$home/.profile"
  chown "$OS_USER:$OS_GROUP" "$home" "$home/.ssh" "$home/.ssh/"* "$home/.bashrc" "$home/.profile"
  chmod 0755 "$home"
  chmod 0700 "$home/.ssh"
}
[[ "$FLAVOR" != greenplum ]] || greenplum_host

# A segment host's /etc/sudoers.d (bound in its mount namespace only, root's and outside the
# OS user's directories): the OS user may run nft as root, nothing else.
if [[ -n "$SUDOERS_DIR" ]]; then
  mkdir -p "$SUDOERS_DIR"
  chown root:root "$SUDOERS_DIR"
  chmod 0755 "$SUDOERS_DIR"
  printf '# gpmirror local segment host %s: the segment fence (scripts/remote/greenplum/segment-fence.sh)\n%s ALL=(root) NOPASSWD: /usr/sbin/nft\n' \
    "$NAME" "$OS_USER" >"$SUDOERS_DIR/gpmirror-nft.tmp"
  chmod 0440 "$SUDOERS_DIR/gpmirror-nft.tmp"
  if command -v visudo >/dev/null 2>&1; then
    visudo -cqf "$SUDOERS_DIR/gpmirror-nft.tmp" || die "visudo rejected the generated $SUDOERS_DIR/gpmirror-nft"
  fi
  mv -f "$SUDOERS_DIR/gpmirror-nft.tmp" "$SUDOERS_DIR/gpmirror-nft"
fi

CONF="$SSH_DIR/sshd_config"
PIDFILE="$SSH_DIR/sshd.pid"
LISTEN="ListenAddress $ADDRESS:$SSH_PORT"
AUTH_KEYS="$SSH_DIR/authorized_keys"
if [[ "$FLAVOR" == greenplum ]]; then
  # Greenplum's utilities ssh to localhost too, and to many hosts at once.
  LISTEN+=$'\n'"ListenAddress 127.0.0.1:$SSH_PORT"$'\n'"MaxStartups 100"$'\n'"MaxSessions 100"
  AUTH_KEYS+=" .ssh/authorized_keys"
fi
cat >"$CONF.new" <<EOF
# gpmirror local host $NAME ($GPM_MODE); generated by scripts/local-hosts.sh
$LISTEN
HostKey $HOST_KEY
PidFile $PIDFILE
AuthorizedKeysFile $AUTH_KEYS
AllowUsers $OS_USER
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AcceptEnv GPM_* PG* LANG LC_*
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
LogLevel INFO
Subsystem sftp internal-sftp
EOF
if [[ "$(id -u)" == 0 ]]; then
  mkdir -p /run/sshd # sshd's privilege separation directory
  chmod 0755 /run/sshd
fi
/usr/sbin/sshd -t -f "$CONF.new" || die "sshd rejected the generated config $CONF.new"
conf_changed=false
if [[ ! -f "$CONF" ]] || ! cmp -s "$CONF.new" "$CONF"; then
  mv -f "$CONF.new" "$CONF"
  conf_changed=true
else
  rm -f "$CONF.new"
fi

sshd_pid=""
[[ -f "$PIDFILE" ]] && sshd_pid="$(cat "$PIDFILE" 2>/dev/null || true)"
if pid_runs "$sshd_pid" "$CONF"; then
  if [[ "$conf_changed" == true ]]; then
    log "sshd config changed; restarting sshd $sshd_pid"
    kill_wait "$sshd_pid"
    sshd_pid=""
  fi
else
  sshd_pid=""
fi
if [[ -z "$sshd_pid" ]]; then
  rm -f "$PIDFILE"
  if [[ "$FLAVOR" == greenplum ]]; then
    # Its own mount and UTS namespaces: everything started through this sshd (Greenplum's
    # servers and utilities) sees this host's /tmp, home, /etc/hosts, /etc/ssh and name.
    log "starting sshd in $NS on $ADDRESS:$SSH_PORT and 127.0.0.1:$SSH_PORT (host $NAME, private /tmp and ~$OS_USER)"
    # shellcheck disable=SC2016 # $1.. expand in the inner sh
    ip netns exec "$NS" unshare --mount --uts --propagation private sh -c '
      set -e
      hostname "$1"
      mount --bind "$2/tmp" /tmp
      mount --bind "$2/home" "$3"
      mount --bind "$2/etc/hosts" /etc/hosts
      mount --bind "$2/etc/ssh" /etc/ssh
      if [ -n "$6" ]; then mount --bind "$6" /etc/sudoers.d; fi
      exec /usr/sbin/sshd -f "$4" -E "$5"' sh "$NAME" "$HD" "$ADMIN_HOME" "$CONF" "$SSH_DIR/sshd.log" "$SUDOERS_DIR" 9<&-
  elif [[ "$GPM_MODE" == netns ]]; then
    log "starting sshd in $NS on $ADDRESS:$SSH_PORT"
    ip netns exec "$NS" /usr/sbin/sshd -f "$CONF" -E "$SSH_DIR/sshd.log" 9<&- # not the lock
  else
    log "starting sshd on $ADDRESS:$SSH_PORT"
    /usr/sbin/sshd -f "$CONF" -E "$SSH_DIR/sshd.log" 9<&-
  fi
fi

# Wait until the port answers with an SSH banner (from this namespace: the caller's path).
ok=false
for ((i = 0; i < 100; i++)); do
  # shellcheck disable=SC2016 # $0/$1 expand in the inner bash
  if banner="$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"; head -c 7 <&3' "$ADDRESS" "$SSH_PORT" 2>/dev/null)" &&
    [[ "$banner" == SSH-2.0 ]]; then
    ok=true
    break
  fi
  sleep 0.1
done
if [[ "$ok" != true ]]; then
  tail -n 20 "$SSH_DIR/sshd.log" >&2 2>/dev/null || true
  die "sshd of $NAME does not answer on $ADDRESS:$SSH_PORT; see $SSH_DIR/sshd.log"
fi

ns_out=""
[[ "$GPM_MODE" == netns ]] && ns_out="$NS"
veth_out=""
[[ "$GPM_MODE" == netns ]] && veth_out="$VETH_HOST"
bridge_out=""
[[ "$GPM_MODE" == netns ]] && bridge_out="$BRIDGE"
host_key="$(cut -d' ' -f1,2 "$HOST_KEY.pub")"
known_hosts_set "$kh_pattern" "$host_key"
jq -cn --arg mode "$GPM_MODE" --arg namespace "$ns_out" --arg veth "$veth_out" --arg bridge "$bridge_out" \
  --arg kh "$kh_pattern" \
  '{mode: $mode, namespace: $namespace, veth: $veth, bridge: $bridge, knownHostsPattern: $kh}' >"$META"
jq -cn --arg name "$NAME" --arg address "$ADDRESS" --argjson sshPort "$SSH_PORT" --arg user "$OS_USER" \
  --arg hostKey "$host_key" --arg mode "$GPM_MODE" --arg namespace "$ns_out" --arg home "$HD" \
  --arg knownHosts "$KNOWN_HOSTS" --arg adminHome "$ADMIN_HOME" \
  '{name: $name, address: $address, sshPort: $sshPort, user: $user, hostKey: $hostKey, mode: $mode,
    namespace: $namespace, home: $home, knownHosts: $knownHosts, adminHome: $adminHome}'
