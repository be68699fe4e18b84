#!/usr/bin/env bash
# Activation: make GPM_NEW_* the active master, safely. Runs on the machine that runs Pulumi
# (a local.Command), because it must keep going when the old primary's host does not answer,
# and reaches both hosts over SSH with bounded timeouts.
#
#   failover    the old primary must be proven gone: its host answers and no postmaster runs.
#               A host that does not answer is not proof (a partition looks the same), and a
#               primary that still accepts connections is alive: both refuse unless forced.
#               Forced: the old primary is fenced first (stopped when reachable, else through
#               the platform), so that two primaries never accept writes.
#   switchover  planned, no data loss: the old primary is stopped cleanly (which sends its last
#               WAL to the standby), the standby replays up to its last checkpoint, then is
#               promoted.
#
# Env (all from the TypeScript side; the key only through the environment, never argv):
#   GPM_ACTIVATION_MODE failover|switchover   GPM_FORCE true|false
#   GPM_MAX_LAG_BYTES   refuse a failover when the standby is further behind, unless forced
#   GPM_TIMEOUT_SECONDS bound on each remote call
#   GPM_{NEW,OLD}_{NAME,ADDRESS,SSH_PORT,USER,HOST_KEY,SSH_KEY} (SSH_KEY: the private key, secret)
#   GPM_NEW_PROBE GPM_NEW_ACTIVATE GPM_OLD_PROBE GPM_OLD_FENCE: the remote scripts' text
#   GPM_PLATFORM_FENCE  optional: "local" fences an unreachable local host via local-hosts.sh
#     (then GPM_STACK GPM_STATE_DIR GPM_LOCAL_MODE GPM_OLD_ROLE are used); "declared": the
#     stack has already fenced it (AWS: a security group with no rules)
# Prints one JSON line: what it found and did. Exits non-zero when it refuses or fails.
set -euo pipefail
say() { printf '[activate] %s\n' "$*" >&2; }
die() {
  printf '[activate] REFUSED: %s\n' "$*" >&2
  exit 1
}
for v in GPM_ACTIVATION_MODE GPM_FORCE GPM_MAX_LAG_BYTES GPM_TIMEOUT_SECONDS \
  GPM_NEW_NAME GPM_NEW_ADDRESS GPM_NEW_SSH_PORT GPM_NEW_USER GPM_NEW_HOST_KEY GPM_NEW_SSH_KEY \
  GPM_OLD_NAME GPM_OLD_ADDRESS GPM_OLD_SSH_PORT GPM_OLD_USER GPM_OLD_HOST_KEY GPM_OLD_SSH_KEY \
  GPM_NEW_PROBE GPM_NEW_ACTIVATE GPM_OLD_PROBE GPM_OLD_FENCE; do
  [[ -n "${!v:-}" ]] || die "$v is required"
done
[[ "$GPM_ACTIVATION_MODE" =~ ^(failover|switchover)$ ]] || die "GPM_ACTIVATION_MODE must be failover or switchover"
[[ "$GPM_FORCE" =~ ^(true|false)$ ]] || die "GPM_FORCE must be true or false"
[[ "$GPM_MAX_LAG_BYTES" =~ ^[0-9]+$ ]] || die "GPM_MAX_LAG_BYTES must be a whole number"
[[ "$GPM_TIMEOUT_SECONDS" =~ ^[0-9]+$ ]] || die "GPM_TIMEOUT_SECONDS must be a whole number"
command -v jq >/dev/null || die "jq is required on the machine that runs Pulumi"
started=$(date +%s%N)

work="$(mktemp -d)"
# One SSH connection per host, reused by every call (each new handshake costs a round trip
# or more); closed on exit.
close_masters() {
  local w
  # An early exit (nothing to activate) does not wait for the old host's answer.
  if [[ -n "${old_probe:-}" ]]; then
    pkill -P "$old_probe" 2>/dev/null || true
    kill "$old_probe" 2>/dev/null || true
  fi
  for w in new old; do
    [[ -S "$work/cm-$w" ]] && ssh -o ControlPath="$work/cm-$w" -O exit x >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap close_masters EXIT
(umask 077 && printf '%s\n' "$GPM_NEW_SSH_KEY" >"$work/new.key" && printf '%s\n' "$GPM_OLD_SSH_KEY" >"$work/old.key")
known_hosts_line() { # ADDRESS PORT KEYS
  local host="$1"
  [[ "$2" == 22 ]] || host="[$1]:$2"
  while IFS= read -r key; do [[ -z "$key" ]] || printf '%s %s\n' "$host" "$key"; done <<<"$3"
}
{
  known_hosts_line "$GPM_NEW_ADDRESS" "$GPM_NEW_SSH_PORT" "$GPM_NEW_HOST_KEY"
  known_hosts_line "$GPM_OLD_ADDRESS" "$GPM_OLD_SSH_PORT" "$GPM_OLD_HOST_KEY"
} >"$work/known_hosts"

# on_host new|old EXPORTS SCRIPT: runs SCRIPT with `bash -s` on the host, bounded in time.
# Exit 255 (ssh) or 124 (timeout) means the host did not answer.
on_host() {
  local which="$1" exports="$2" script="$3" addr port user
  if [[ "$which" == new ]]; then
    addr="$GPM_NEW_ADDRESS" port="$GPM_NEW_SSH_PORT" user="$GPM_NEW_USER"
  else
    addr="$GPM_OLD_ADDRESS" port="$GPM_OLD_SSH_PORT" user="$GPM_OLD_USER"
  fi
  timeout --kill-after=5 "$GPM_TIMEOUT_SECONDS" \
    ssh -i "$work/$which.key" -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=2 \
    -o ControlMaster=auto -o ControlPath="$work/cm-$which" -o ControlPersist=120 \
    -p "$port" "$user@$addr" 'bash -s' <<<"$exports$script"
}
last_json() { tail -n 1; }
lsn_bytes() { # X/Y -> bytes
  local hi="${1%/*}" lo="${1#*/}"
  echo $(((16#$hi << 32) + 16#$lo))
}

# Both hosts are read at once; the old one's answer (or silence) is collected below.
(on_host old "" "$GPM_OLD_PROBE" >"$work/old.json" 2>"$work/old.err"; echo $? >"$work/old.rc") &
old_probe=$!

fence_old() { # clean|immediate
  local out
  out="$(on_host old "export GPM_FENCE_ACTION='$1'"$'\n' "$GPM_OLD_FENCE" | last_json)" ||
    die "fencing $GPM_OLD_NAME failed: the old primary may still accept writes; nothing was promoted"
  printf '%s' "$out"
}

# read_old_probe: collects the old host's answer (or silence) into old_state/old_status.
read_old_probe() {
  wait "$old_probe" || true
  old_status="$(cat "$work/old.rc" 2>/dev/null || echo 1)"
  old_state="$(last_json <"$work/old.json")"
  [[ "$old_status" == 0 ]] || sed 's/^/[old] /' "$work/old.err" >&2
}

# converge_stale_primary: the target is already the primary, and the other host may still run
# as one too: an old primary that was cut off (a partition, a platform fence) rather than
# stopped keeps running, and takes writes again once the network heals. It is on the old
# timeline, so it is stopped and fenced; re-protection then makes it the standby. When the
# other host is on a later timeline, the config names the stale one: refuse. An old primary
# that its agent already stopped (automatic failover) is only marked fenced, as a gone old
# primary is on failover: without the mark re-protection takes it for a promoted standby and
# refuses to replace it. Only a directory without standby.signal was a primary.
stale_fenced=false
converge_stale_primary() {
  read_old_probe
  [[ "$old_status" == 0 && -n "$old_state" ]] || return 0
  if [[ "$(jq -r '.dataDir and .running == false and .fenced == false and .standbySignal == false' <<<"$old_state")" == true ]]; then
    say "$GPM_OLD_NAME holds a stopped old primary: marking it fenced, for re-protection"
    fence_old immediate >/dev/null
    stale_fenced=true
    return 0
  fi
  [[ "$(jq -r '.acceptsConnections and (.inRecovery == false)' <<<"$old_state")" == true ]] || return 0
  local mine theirs
  mine="$(jq -r '.timeline // 0' <<<"$new_state")"
  theirs="$(jq -r '.timeline // 0' <<<"$old_state")"
  ((theirs <= mine)) ||
    die "both hosts run as primaries, and $GPM_OLD_NAME is on a later timeline ($theirs) than $GPM_NEW_NAME ($mine), which activeMaster names: the config points at the stale one. Set activeMaster to the role of $GPM_OLD_NAME, or stop the wrong one by hand"
  say "$GPM_OLD_NAME also runs as a primary (timeline $theirs; $GPM_NEW_NAME is on $mine): stopping and fencing it"
  fence_old immediate >/dev/null
  stale_fenced=true
}

# --- the standby that is to become the primary ---------------------------------------------
new_state="$(on_host new "" "$GPM_NEW_PROBE" | last_json)" ||
  die "cannot read the state of $GPM_NEW_NAME ($GPM_NEW_ADDRESS); activation needs the standby to answer"
if [[ "$(jq -r .dataDir <<<"$new_state")" != true ]]; then
  say "$GPM_NEW_NAME has no data directory yet: a new pair, nothing to activate"
  jq -cn --arg t "$GPM_NEW_NAME" '{activated: false, target: $t, skipped: "new pair"}'
  exit 0
fi
if [[ "$(jq -r .inRecovery <<<"$new_state")" == false ]]; then
  say "$GPM_NEW_NAME is already the primary; nothing to activate"
  converge_stale_primary
  jq -cn --arg t "$GPM_NEW_NAME" --argjson stale "$stale_fenced" \
    '{activated: false, target: $t, alreadyActive: true, stalePrimaryFenced: $stale}'
  exit 0
fi
[[ "$(jq -r .acceptsConnections <<<"$new_state")" == true ]] ||
  die "$GPM_NEW_NAME does not accept connections (not running, or not consistent yet): it cannot be promoted safely"

# --- the old primary: alive, gone, or unknown ----------------------------------------------
read_old_probe
if ((old_status != 0)) || [[ -z "$old_state" ]]; then
  old="unreachable"
elif [[ "$(jq -r '.acceptsConnections and (.inRecovery == false)' <<<"$old_state")" == true ]]; then
  old="alive"
elif [[ "$(jq -r .running <<<"$old_state")" == true ]]; then
  old="not-a-primary"
else
  old="gone"
fi
say "old primary $GPM_OLD_NAME ($GPM_OLD_ADDRESS): $old"

# How far behind the standby is: against the old primary when it answers, else what the
# standby has received but not yet replayed.
replay="$(jq -r .replayLsn <<<"$new_state")"
received="$(jq -r '.receiveLsn // .replayLsn' <<<"$new_state")"
if [[ "$old" == alive ]]; then
  lag=$(($(lsn_bytes "$(jq -r .currentLsn <<<"$old_state")") - $(lsn_bytes "$replay")))
else
  lag=$(($(lsn_bytes "$received") - $(lsn_bytes "$replay")))
fi
((lag >= 0)) || lag=0
age="$(jq -r '.replayAgeSeconds // "null"' <<<"$new_state")"
if [[ "$age" == null ]]; then
  say "standby lag: $lag bytes (no transaction replayed since it started)"
else
  say "standby lag: $lag bytes (last replayed transaction ${age}s ago)"
fi

fence="none"
wait_lsn=""
case "$GPM_ACTIVATION_MODE" in
switchover)
  [[ "$old" == alive ]] ||
    die "a switchover needs the old primary running and reachable, and $GPM_OLD_NAME is $old; use mode failover"
  streaming="$(jq -r --arg a "$GPM_NEW_NAME" '[.replication[] | select(.applicationName == $a and .state == "streaming")] | length' <<<"$old_state")"
  [[ "$streaming" -gt 0 ]] || die "$GPM_NEW_NAME is not streaming from $GPM_OLD_NAME: a switchover could lose data; repair replication first (pulumi up), or fail over"
  say "stopping writes: clean shutdown of $GPM_OLD_NAME"
  fenced="$(fence_old clean)"
  wait_lsn="$(jq -r '.lastCheckpointLsn // ""' <<<"$fenced")"
  fence="stopped-clean"
  ;;
failover)
  # Checked before anything is fenced, so that a refusal leaves the pair as it was.
  if ((lag > GPM_MAX_LAG_BYTES)) && [[ "$GPM_FORCE" != true ]]; then
    die "the standby is $lag bytes behind (bound: activation.maxLagBytes = $GPM_MAX_LAG_BYTES); let it catch up, or set activation.force to true"
  fi
  case "$old" in
  alive)
    [[ "$GPM_FORCE" == true ]] ||
      die "the old primary $GPM_OLD_NAME still accepts connections: promoting now would leave two primaries. For a planned handover set activation.mode to switchover; to fail over anyway set activation.force to true (it is stopped first)"
    fence_old immediate >/dev/null
    fence="stopped-immediate"
    ;;
  unreachable)
    [[ "$GPM_FORCE" == true ]] ||
      die "cannot reach $GPM_OLD_NAME ($GPM_OLD_ADDRESS): that does not prove it is down (a network partition looks the same). Check it, then set activation.force to true to fence it through the platform and promote"
    if [[ "${GPM_PLATFORM_FENCE:-}" == declared ]]; then
      # The platform fence is part of the stack itself (on AWS: the old instance is moved into
      # a security group with no rules before this runs).
      say "$GPM_OLD_NAME is fenced by the platform (declared in the stack)"
      fence="platform"
    elif [[ "${GPM_PLATFORM_FENCE:-}" == local ]]; then
      say "fencing $GPM_OLD_NAME through the platform (its network link is cut)"
      GPM_HOST="$GPM_OLD_ROLE" GPM_MODE="$GPM_LOCAL_MODE" bash scripts/local-hosts.sh fence >&2 ||
        die "the platform fence of $GPM_OLD_NAME failed; nothing was promoted"
      fence="platform"
    else
      say "WARNING: $GPM_OLD_NAME cannot be fenced from here; forced, promoting anyway. Make sure it cannot take writes (stop it or cut its network) before clients return"
    fi
    ;;
  gone | not-a-primary)
    fence_old immediate >/dev/null
    fence="marked"
    ;;
  esac
  ;;
esac

# --- promote --------------------------------------------------------------------------------
exports=""
[[ -z "$wait_lsn" ]] || exports="export GPM_WAIT_FOR_LSN='$wait_lsn'"$'\n'
promoted="$(on_host new "$exports" "$GPM_NEW_ACTIVATE" | last_json)" ||
  die "promoting $GPM_NEW_NAME failed after the old primary was fenced ($fence): no primary accepts writes now; see the messages above, fix, and run pulumi up again"
took_ms=$((($(date +%s%N) - started) / 1000000))
say "$GPM_NEW_NAME is the primary now (timeline $(jq -r .timeline <<<"$promoted")), in ${took_ms} ms"
jq -cn --arg t "$GPM_NEW_NAME" --arg mode "$GPM_ACTIVATION_MODE" --arg old "$old" --arg fence "$fence" \
  --argjson lag "$lag" --argjson age "$age" --argjson p "$promoted" --argjson ms "$took_ms" \
  '{activated: true, target: $t, mode: $mode, oldPrimary: $old, fence: $fence, lagBytes: $lag,
    replayAgeSeconds: $age, timeline: $p.timeline, tookMs: $ms}'
