# shellcheck shell=bash
# Helpers of the automatic failover steps (etcd.sh, agent.sh): TLS files and the supervisor.
# Sent after scripts/remote/common.sh; SUPERVISE_TEXT holds supervise.sh's text.

# A witness on hosts you run keeps etcd under its login's home by default (hosts.witness.dir):
# GPM_AUTO_DIR may be ~/...
if [[ "${GPM_AUTO_DIR:-}" == "~/"* ]]; then GPM_AUTO_DIR="$HOME/${GPM_AUTO_DIR#"~/"}"; fi

# auto_write FILE MODE: stdin to FILE (atomically); prints "changed" when its content changed.
auto_write() {
  local file="$1" mode="$2" tmp
  tmp="$(mktemp "$file.XXXXXX")"
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f "$file" ]] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$file"
    echo changed
  fi
}

# auto_tls DIR: the CA, this host's certificate and key (GPM_TLS_*) under DIR/tls.
auto_tls() {
  local dir="$1/tls" changed=""
  gpm_need GPM_TLS_CA "the etcd CA certificate"
  gpm_need GPM_TLS_CERT "this host's etcd certificate"
  gpm_need GPM_TLS_KEY "this host's etcd key (secret)"
  mkdir -p "$dir"
  chmod 0700 "$dir"
  changed+="$(printf '%s\n' "$GPM_TLS_CA" | auto_write "$dir/ca.crt" 0644)"
  changed+="$(printf '%s\n' "$GPM_TLS_CERT" | auto_write "$dir/host.crt" 0644)"
  changed+="$(printf '%s\n' "$GPM_TLS_KEY" | auto_write "$dir/host.key" 0600)"
  [[ -z "$changed" ]] || echo changed
}

# auto_running PIDFILE: 0 when the supervisor in PIDFILE runs.
auto_running() {
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF supervise.sh
}

# auto_stop PIDFILE: stops the supervisor and what it runs (TERM, then KILL after 10 s).
auto_stop() {
  local pidfile="$1" pid i
  auto_running "$pidfile" || return 0
  pid="$(cat "$pidfile")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    [[ -d "/proc/$pid" ]] || return 0
    sleep 0.1
  done
  pkill -KILL -P "$pid" 2>/dev/null || true
  kill -KILL "$pid" 2>/dev/null || true
}

# auto_start DIR NAME CMD...: CMD under the supervisor, detached from this session (logs in
# DIR/NAME.log, pid file DIR/NAME.pid), through DIR/start.sh, which it writes.
auto_start() {
  local dir="$1" name="$2"
  shift 2
  printf '%s\n' "$SUPERVISE_TEXT" | auto_write "$dir/supervise.sh" 0755 >/dev/null
  # The start as a file of its own: what a person or a boot job runs after a reboot (nothing
  # starts them again then; README "Automatic failover on existing hosts").
  {
    printf '#!/usr/bin/env bash\n# Starts %s under its supervisor (after a reboot); nothing when it runs.\nset -euo pipefail\n' "$name"
    printf 'pid="$(cat %q 2>/dev/null || true)"\n' "$dir/$name.pid"
    printf '[[ -n "$pid" ]] && grep -qF supervise.sh "/proc/$pid/cmdline" 2>/dev/null && exit 0\n'
    printf 'setsid nohup bash %q %q %q' "$dir/supervise.sh" "$dir/$name.pid" "$dir/$name.log"
    printf ' %q' "$@"
    printf ' </dev/null >/dev/null 2>&1 &\n'
  } | auto_write "$dir/start.sh" 0700 >/dev/null
  bash "$dir/start.sh"
  local i
  for ((i = 0; i < 50; i++)); do
    auto_running "$dir/$name.pid" && return 0
    sleep 0.1
  done
  gpm_die "$name did not start under its supervisor; see $dir/$name.log"
}

# auto_retry ETCDCTL...: a membership change, tried 3 times 2 s apart (output to stderr): a
# member that just went away may have led etcd, and the others elect a new leader first.
auto_retry() {
  local i
  for i in 1 2 3; do
    ETCDCTL_API=3 "$@" >&2 && return 0
    ((i == 3)) || sleep 2
  done
  return 1
}

# auto_join DIR NAME PEER_URL CLUSTER: this member's place in the running cluster, asked of the
# other members (their client ports, with this host's certificate from DIR/tls). Prints:
#   new       nobody answered, or the cluster lists this member as one of its initial ones,
#             not started yet: the cluster is being made
#   member    the cluster has a member at PEER_URL (this host's data, if any, is that member's)
#   rejoined  it had none (this member moved to this host), or one this host has no data of
#             (a new instance at the old address; etcd must not restart a member's log from
#             nothing), or another one than this host's data names: the stale member of NAME
#             is removed and one at PEER_URL added; the caller starts etcd from a fresh data
#             directory, --initial-cluster-state existing
# The member's id is kept in DIR/member-id. Run again, it changes nothing.
auto_join() {
  local dir="$1" name="$2" peer="$3" cluster="$4" m url eps="" list id stale recorded
  local -a members
  IFS=',' read -ra members <<<"$cluster"
  for m in "${members[@]}"; do
    url="${m#*=}"
    [[ "$url" == "$peer" ]] || eps+="${eps:+,}${url%:2380}:2379"
  done
  local -a ctl=(etcdctl "--endpoints=$eps" "--cacert=$dir/tls/ca.crt" "--cert=$dir/tls/host.crt"
    "--key=$dir/tls/host.key" --dial-timeout=2s --command-timeout=5s)
  # "id, status, name, peer URLs, client URLs, learner": a member added has no name until it
  # starts; one of the initial members has its name at once; client URLs only once it ran.
  if ! list="$(ETCDCTL_API=3 "${ctl[@]}" member list -w simple 2>/dev/null)" || [[ -z "$list" ]]; then
    echo new
    return 0
  fi
  id="$(awk -F', ' -v p="$peer" '$4 == p { print $1 }' <<<"$list")"
  recorded="$(cat "$dir/member-id" 2>/dev/null || true)"
  if [[ -n "$id" && ! -d "$dir/data/member" ]] &&
    awk -F', ' -v p="$peer" '$4 == p && $5 != "" { f = 1 } END { exit !f }' <<<"$list"; then
    gpm_log "removing etcd member $id ($name at $peer ran elsewhere: this host has none of its data)"
    auto_remove "$id" "${ctl[@]}"
    id=""
    list="$(ETCDCTL_API=3 "${ctl[@]}" member list -w simple)"
  fi
  if [[ -n "$id" && ! -d "$dir/data/member" && "$recorded" != "$id" ]]; then
    # One of the initial members, not started yet: the cluster is being made.
    echo new
    return 0
  fi
  if [[ -n "$id" ]]; then
    printf '%s\n' "$id" >"$dir/member-id"
    # Data of another membership (this host was a member before, and was replaced since).
    if [[ -d "$dir/data/member" && -n "$recorded" && "$recorded" != "$id" ]]; then
      echo rejoined
    else
      echo member
    fi
    return 0
  fi
  # The member of this name elsewhere, or one added for this name that never started, at an
  # address that is no longer in the cluster: the host it was on is gone.
  stale="$(awk -F', ' -v n="$name" -v c=",$cluster," '
    ($3 == n || $3 == "") && index(c, "=" $4 ",") == 0 { print $1 }' <<<"$list")"
  for id in $stale; do
    gpm_log "removing etcd member $id (the former $name)"
    auto_remove "$id" "${ctl[@]}"
  done
  gpm_log "adding etcd member $name at $peer"
  # A try that timed out may have been done: the list says.
  auto_retry "${ctl[@]}" member add "$name" "--peer-urls=$peer" || true
  id="$(ETCDCTL_API=3 "${ctl[@]}" member list -w simple | awk -F', ' -v p="$peer" '$4 == p { print $1 }')"
  [[ -n "$id" ]] || gpm_die "could not add $name at $peer to etcd; is a quorum of the others up? ($eps)"
  printf '%s\n' "$id" >"$dir/member-id"
  echo rejoined
}

# auto_remove ID ETCDCTL...: member ID removed (done when etcd no longer lists it).
auto_remove() {
  local id="$1"
  shift
  auto_retry "$@" member remove "$id" || true
  ! ETCDCTL_API=3 "$@" member list -w simple | grep -q "^$id," ||
    gpm_die "could not remove etcd member $id; is a quorum of the other members up?"
}
