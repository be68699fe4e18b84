#!/usr/bin/env bash
# host-check.sh: before a remote step runs on a host, check from the machine that runs Pulumi
# that the host answers SSH within a bound and presents the pinned host key. Pulumi's command
# provider neither bounds the SSH handshake nor names the host or the keys when they do not
# match; this check does both, so every provider build gives the same clear error.
# Runs locally (Pulumi local.Command). Parameters only from the environment:
#   GPM_HOST_NAME       the host's name for messages (e.g. "primary" or its host name)
#   GPM_ADDRESS, GPM_SSH_PORT, GPM_USER
#   GPM_SSH_KEY         the private key SSH logs in with (secret; written to a 0600 file
#                       that is removed on exit, never printed)
#   GPM_HOST_KEY        the pinned public host key line(s)
#   GPM_CONNECT_SECONDS how long to keep trying while the host does not answer (default 60)
#   GPM_FIX             what to tell the user to do about a key that does not match
#   GPM_PROXY_ADDRESS, GPM_PROXY_SSH_PORT, GPM_PROXY_USER, GPM_PROXY_SSH_KEY,
#   GPM_PROXY_HOST_KEY  a bastion to go through (optional)
# Prints one JSON line on stdout: {"host": ..., "fingerprint": ...}; messages on stderr.
set -euo pipefail

die() {
  printf '[host-check] ERROR: %s\n' "$*" >&2
  exit 1
}
: "${GPM_HOST_NAME:?GPM_HOST_NAME is required}"
: "${GPM_ADDRESS:?GPM_ADDRESS is required}"
: "${GPM_SSH_PORT:?GPM_SSH_PORT is required}"
: "${GPM_USER:?GPM_USER is required}"
: "${GPM_SSH_KEY:?GPM_SSH_KEY is required}"
: "${GPM_HOST_KEY:?GPM_HOST_KEY is required (the pinned public host key)}"
connect_seconds="${GPM_CONNECT_SECONDS:-60}"
[[ "$connect_seconds" =~ ^[0-9]+$ && "$connect_seconds" -ge 1 ]] || die "GPM_CONNECT_SECONDS must be a whole number of seconds, got '$connect_seconds'"
[[ "$GPM_SSH_PORT" =~ ^[0-9]+$ ]] || die "GPM_SSH_PORT must be a port number, got '$GPM_SSH_PORT'"
fix="${GPM_FIX:-if the host was rebuilt on purpose, pin its new key; otherwise find out who answers at that address}"

umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# known_hosts entry name as OpenSSH writes it: [addr]:port unless the port is 22.
kh_name() { if [[ "$2" == 22 ]]; then printf '%s' "$1"; else printf '[%s]:%s' "$1" "$2"; fi; }
# pinned KEYLINES -> known_hosts lines for NAME, and the key types (for HostKeyAlgorithms).
pin() {
  local name="$1" lines="$2" line
  while IFS= read -r line; do
    line="${line%%#*}"
    read -r -a f <<<"$line" || true
    [[ ${#f[@]} -ge 2 ]] || continue
    # A known_hosts line (name first) or a public key line (type first).
    if [[ "${f[0]}" == ssh-* || "${f[0]}" == ecdsa-* || "${f[0]}" == sk-* ]]; then
      printf '%s %s %s\n' "$name" "${f[0]}" "${f[1]}"
    else
      printf '%s %s %s\n' "$name" "${f[1]}" "${f[2]:-}"
    fi
  done <<<"$lines"
}
target="$(kh_name "$GPM_ADDRESS" "$GPM_SSH_PORT")"
pin "$target" "$GPM_HOST_KEY" >"$work/known_hosts"
[[ -s "$work/known_hosts" ]] || die "no host key is pinned for $GPM_HOST_NAME ($target): the check never trusts a key on first use"
algorithms="$(awk '{print $2}' "$work/known_hosts" | sort -u | paste -sd, -)"
printf '%s\n' "$GPM_SSH_KEY" >"$work/key"

opts=(-F /dev/null -o BatchMode=yes -o "ConnectTimeout=$(( connect_seconds < 10 ? connect_seconds : 10 ))" -o StrictHostKeyChecking=yes
  -o "UserKnownHostsFile=$work/known_hosts" -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR)
if [[ -n "${GPM_PROXY_ADDRESS:-}" ]]; then
  : "${GPM_PROXY_SSH_KEY:?GPM_PROXY_SSH_KEY is required with GPM_PROXY_ADDRESS}"
  proxy_port="${GPM_PROXY_SSH_PORT:-22}"
  pin "$(kh_name "$GPM_PROXY_ADDRESS" "$proxy_port")" "${GPM_PROXY_HOST_KEY:?GPM_PROXY_HOST_KEY is required with GPM_PROXY_ADDRESS}" >>"$work/known_hosts"
  printf '%s\n' "$GPM_PROXY_SSH_KEY" >"$work/proxy_key"
  opts+=(-o "ProxyCommand=ssh ${opts[*]} -i $work/proxy_key -p $proxy_port -W %h:%p ${GPM_PROXY_USER:-root}@$GPM_PROXY_ADDRESS")
fi
opts+=(-o "HostKeyAlgorithms=$algorithms" -i "$work/key" -p "$GPM_SSH_PORT")

pinned_fingerprints() { ssh-keygen -lf "$work/known_hosts" 2>/dev/null | awk -v n="$target" '$3 == n {printf "%s%s %s", sep, $2, $NF; sep=", "}'; }

deadline=$((SECONDS + connect_seconds))
while :; do
  set +e
  err="$(timeout --kill-after=5 30 ssh "${opts[@]}" "$GPM_USER@$GPM_ADDRESS" true 2>&1 >/dev/null)"
  rc=$?
  set -e
  if [[ $rc -eq 0 ]]; then
    jq -cn --arg host "$GPM_HOST_NAME" --arg fingerprint "$(pinned_fingerprints)" '{host: $host, fingerprint: $fingerprint}'
    exit 0
  fi
  if [[ "$err" == *"REMOTE HOST IDENTIFICATION HAS CHANGED"* || "$err" == *"Host key verification failed"* ]]; then
    offered="$(printf '%s\n' "$err" | grep -o 'SHA256:[A-Za-z0-9+/=]*' | head -n 1 | sed 's/\.$//')"
    offered_type="$(printf '%s\n' "$err" | sed -n 's/.*fingerprint for the \([A-Z0-9-]*\) key sent.*/\1/p' | head -n 1)"
    if [[ -z "$offered" ]]; then
      offered="$(ssh-keyscan -T 5 -p "$GPM_SSH_PORT" -t "${algorithms%%,*}" "$GPM_ADDRESS" 2>/dev/null | ssh-keygen -lf - 2>/dev/null | awk '{print $2}' | head -n 1)"
    fi
    die "host key mismatch: $GPM_HOST_NAME at $GPM_ADDRESS:$GPM_SSH_PORT presented ${offered_type:-its} key ${offered:-(fingerprint unknown)}, but the pinned key is $(pinned_fingerprints). Nothing was run on it. Fix: $fix"
  fi
  if [[ "$err" == *"Permission denied"* ]]; then
    die "$GPM_HOST_NAME at $GPM_ADDRESS:$GPM_SSH_PORT refused the SSH login of $GPM_USER with gpmirror's key: $(printf '%s' "$err" | tail -n 1). Fix: authorize the key for $GPM_USER on that host"
  fi
  if ((SECONDS >= deadline)); then
    die "$GPM_HOST_NAME at $GPM_ADDRESS:$GPM_SSH_PORT did not answer SSH within ${connect_seconds} s ($(printf '%s' "$err" | tail -n 1)). Nothing was run on it. Fix: check that the host is up, that sshd runs, and that this machine can reach it"
  fi
  sleep 2
done
