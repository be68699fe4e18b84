#!/usr/bin/env bash
# trust: SSH trust between the two hosts as the Greenplum administrator, which Greenplum's
# utilities need (gpinitstandby reaches the standby host, gpactivatestandby the old master).
# Runs on each host after prepare ran on both; the peer's keys come from its prepare result
# (read there over the pinned SSH connection, so no key is taken on first sight).
# Env: GPM_GP_ADMIN GPM_PEER_NAMES (space-separated) GPM_PEER_SSH_PORT GPM_PEER_PUBLIC_KEY
#      GPM_PEER_HOST_KEYS (lines) GPM_SELF_NAMES [GPM_SELF_SSH_PORT=22]
#      [GPM_HOST_KEY_GLOB=/etc/ssh/ssh_host_*_key.pub] [GPM_VERIFY_PEER=false]
# Checks every ssh the utilities need (BatchMode: no prompt): localhost and this host's own
# name; with GPM_VERIFY_PEER=true also the other host, and from it back to this host.
# Prints: {"authorizedKeysChanged","knownHostsChanged","sshConfigChanged","peerVerified"}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=trust
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_match GPM_GP_ADMIN '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' "Greenplum administrator user"
[[ "$(id -un)" == "$GPM_GP_ADMIN" ]] || gpm_die "logged in as $(id -un), not $GPM_GP_ADMIN"
gpm_need_match GPM_PEER_NAMES '^[A-Za-z0-9][A-Za-z0-9.: -]*$' "names of the other host"
gpm_need_match GPM_SELF_NAMES '^[A-Za-z0-9][A-Za-z0-9.: -]*$' "names of this host"
gpm_need_port GPM_PEER_SSH_PORT "SSH port of the other host"
GPM_SELF_SSH_PORT="${GPM_SELF_SSH_PORT:-22}"
gpm_need_port GPM_SELF_SSH_PORT "SSH port of this host"
gpm_need_match GPM_PEER_PUBLIC_KEY '^(ssh-[a-z0-9-]+|ecdsa-[a-z0-9-]+) [A-Za-z0-9+/=]+$' "the other host's public key for $GPM_GP_ADMIN"
gpm_need GPM_PEER_HOST_KEYS "the other host's SSH host keys"
gpm_need_bool GPM_VERIFY_PEER "check ssh to the other host afterwards"
while IFS= read -r line; do
  [[ -z "$line" || "$line" =~ ^(ssh-[a-z0-9-]+|ecdsa-[a-z0-9-]+)\ [A-Za-z0-9+/=]+$ ]] ||
    gpm_die "GPM_PEER_HOST_KEYS holds a line that is not a public host key: '$line'"
done <<<"$GPM_PEER_HOST_KEYS"

ssh_dir="$HOME/.ssh"
mkdir -p "$ssh_dir"
chmod 0700 "$ssh_dir"
own_key=""
for k in id_ed25519 id_rsa id_ecdsa; do
  if [[ -f "$ssh_dir/$k.pub" ]]; then
    own_key="$(cut -d' ' -f1,2 "$ssh_dir/$k.pub")"
    break
  fi
done
[[ -n "$own_key" ]] || gpm_die "no SSH key in $ssh_dir: the prepare step creates one; run it first"
own_host_keys=""
for f in ${GPM_HOST_KEY_GLOB:-/etc/ssh/ssh_host_*_key.pub}; do
  [[ -r "$f" ]] && own_host_keys+="$(cut -d' ' -f1,2 "$f")"$'\n'
done

# patterns NAMES PORT: known_hosts host patterns ([name]:port when the port is not 22).
patterns() {
  local out="" n
  for n in $1; do
    if [[ "$2" == 22 ]]; then out+="$n,"; else out+="[$n]:$2,"; fi
  done
  printf '%s' "${out%,}"
}

# replace_block FILE MODE POSITION(top|bottom): the managed block from stdin; the rest kept.
# Returns 0 when the file changed.
replace_block() {
  local file="$1" mode="$2" where="$3" block tmp
  block="$(cat)"
  touch "$file"
  tmp="$(mktemp "$file.tmp.XXXXXX")"
  {
    if [[ "$where" == top ]]; then printf '%s\n' "$block"; fi
    awk '/^# BEGIN gpmirror/{skip=1; next} /^# END gpmirror/{skip=0; next} !skip' "$file"
    if [[ "$where" == bottom ]]; then printf '%s\n' "$block"; fi
  } >"$tmp"
  chmod "$mode" "$tmp"
  if cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$file"
}

auth_changed=false
if {
  echo "# BEGIN gpmirror (managed: the pair's Greenplum administrator keys)"
  echo "$GPM_PEER_PUBLIC_KEY gpmirror-peer"
  echo "$own_key gpmirror-self"
  echo "# END gpmirror"
} | replace_block "$ssh_dir/authorized_keys" 0600 bottom; then
  auth_changed=true
  gpm_log "authorized_keys: the other host's and this host's keys for $GPM_GP_ADMIN"
fi

known_changed=false
peer_pat="$(patterns "$GPM_PEER_NAMES" "$GPM_PEER_SSH_PORT")"
self_pat="$(patterns "$GPM_SELF_NAMES localhost 127.0.0.1" "$GPM_SELF_SSH_PORT")"
if {
  echo "# BEGIN gpmirror (managed: host keys of the pair, read on each host)"
  while IFS= read -r k; do [[ -n "$k" ]] && echo "$peer_pat $k"; done <<<"$GPM_PEER_HOST_KEYS"
  while IFS= read -r k; do [[ -n "$k" ]] && echo "$self_pat $k"; done <<<"$own_host_keys"
  echo "# END gpmirror"
} | replace_block "$ssh_dir/known_hosts" 0644 bottom; then
  known_changed=true
  gpm_log "known_hosts: host keys of $GPM_PEER_NAMES and of this host"
fi

# ssh_config: first match wins, so ours goes on top. ConnectTimeout bounds the utilities'
# own ssh (gpactivatestandby's lock check has none and waited 134 s on a silent host). This
# host's own names go to its own sshd port, as the utilities reach them.
# 10 s for every flow (a real network may drop a SYN or two: Linux resends after 1 and 3 s,
# and the key exchange follows), except where the activate step already found the other
# host silent and fenced it (lease, fence command, platform, or forced): it runs
# gpactivatestandby with GPMIRROR_PEER_FENCED set, and that utility's check of the old
# master's lock file, which takes a failed ssh for "no lock", fails at once instead of
# waiting out a timeout for the same answer (it waited 2 s of every automatic takeover).
config_changed=false
if {
  echo "# BEGIN gpmirror (managed: the pair's hosts)"
  echo "Match host ${GPM_PEER_NAMES// /,} exec \"printenv GPMIRROR_PEER_FENCED\""
  echo "  ProxyCommand false"
  for block in "$GPM_PEER_NAMES|$GPM_PEER_SSH_PORT" "$GPM_SELF_NAMES localhost 127.0.0.1|$GPM_SELF_SSH_PORT"; do
    echo "Host ${block%|*}"
    echo "  Port ${block#*|}"
    echo "  ConnectTimeout 10"
    echo "  ServerAliveInterval 10"
    echo "  ServerAliveCountMax 3"
  done
  echo "# END gpmirror"
} | replace_block "$ssh_dir/config" 0600 top; then
  config_changed=true
  gpm_log "ssh config: port and connect timeout for $GPM_PEER_NAMES and for this host"
fi

# check_ssh NAME [VIA]: ssh to NAME as the utilities do (no port given: the
# config above; no prompt), directly or from HOST; dies naming the fix.
check_ssh() {
  local name="$1" via="${2:-}" out
  local -a cmd=(ssh "${GPM_SSH_OPTS[@]}" "$name" true)
  local from
  from="$(hostname)"
  if [[ -n "$via" ]]; then
    # On the other host, as the utilities run there (gpactivatestandby on the standby).
    cmd=(ssh "${GPM_SSH_OPTS[@]}" "$via" "ssh -o BatchMode=yes -o ConnectTimeout=10 $(printf '%q' "$name") true")
    from="$via"
  fi
  if out="$(timeout 30 "${cmd[@]}" 2>&1 </dev/null)"; then
    gpm_log "ssh $GPM_GP_ADMIN@$name from $from works without a password"
    return 0
  fi
  out="$(grep -v '^Warning: Permanently added' <<<"$out" | tail -n 2 | tr -s '[:space:]' ' ')"
  out="${out% }"
  gpm_die "ssh from $from to $name as $GPM_GP_ADMIN does not work without a password (${out# }). Greenplum's utilities need it: they ssh to localhost, to the host they run on by its name and to the other host (gpactivatestandby checks the standby with ssh localhost and, when that fails, asks for -f). Make sshd listen on localhost and on each host's address (ListenAddress, or all addresses), let $GPM_GP_ADMIN log in with a key (PubkeyAuthentication yes; its ~/.ssh not group-writable), check that $name resolves on $from, then run pulumi up again"
}

# Every ssh of the utilities on this host, now that this host's keys are in place: to
# localhost and to its own name (the other host's trust step checks the way back).
check_ssh localhost
check_ssh "$(hostname)"

verified=false
if [[ "$GPM_VERIFY_PEER" == true ]]; then
  # The first name is the pair's address, the one gpinitstandby -s is given; and back from
  # the other host, as gpactivatestandby reaches the old master.
  n="${GPM_PEER_NAMES%% *}"
  check_ssh "$n"
  check_ssh "${GPM_SELF_NAMES%% *}" "$n"
  verified=true
fi

printf '{"authorizedKeysChanged":%s,"knownHostsChanged":%s,"sshConfigChanged":%s,"peerVerified":%s}\n' \
  "$auth_changed" "$known_changed" "$config_changed" "$verified"
