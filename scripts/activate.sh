#!/usr/bin/env bash
# Activation: make GPM_NEW_* the active master, safely, for every engine. Runs on the machine
# that runs Pulumi (a local.Command), because it must keep going when the old primary's host
# does not answer, and because what fences an unreachable host (a fence agent, the platform's
# API) is reached from here; it reaches both hosts over SSH with bounded timeouts.
# The engine gives the steps (GPM_ENGINE; docs/architecture.md, "Activation"):
#   postgres    probe, fence and promote scripts; every decision below is taken here.
#   greenplum   probe and promote. Decided here: a new pair, an unreachable old coordinator
#               (refused unless forced; forced: activation.fenceCommand and the platform's
#               fence run here first). The promote step on the standby host then takes the
#               rest: gpactivatestandby checks the old coordinator over the admin user's SSH
#               trust from there, and the segment fence, the switchover and the heal need the
#               same trust to the old host and to the segment hosts, which only the cluster's
#               hosts have.
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
#     (GPM_OLD_FENCE: postgres only)
#   GPM_ENGINE          postgres (default) or greenplum
#   GPM_PROMOTE_TIMEOUT_SECONDS  bound on the promote step (default GPM_TIMEOUT_SECONDS)
#   GPM_PLATFORM_FENCE  optional: "local" fences an unreachable local host via local-hosts.sh
#     (then GPM_STACK GPM_STATE_DIR GPM_LOCAL_MODE GPM_OLD_ROLE are used); "declared": the
#     stack has already fenced it (AWS: stopped through the EC2 API, in a security group with
#     no rules; GPM_PLATFORM_FENCE_DONE says what, GPM_PLATFORM_FENCE_GAP what it leaves)
#   GPM_FENCE_COMMAND   optional: run here (bash -c) when a forced failover cannot reach the old
#     primary; it must succeed within GPM_FENCE_TIMEOUT_SECONDS. It gets the old host's
#     identity (GPM_FENCE_HOST, _ADDRESS, _SSH_PORT, _ROLE, _DATA_DIR, _DB_PORT, and the
#     host to be promoted: GPM_FENCE_NEW_HOST, _NEW_ADDRESS) and no GPM_* secret.
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
  GPM_NEW_PROBE GPM_NEW_ACTIVATE GPM_OLD_PROBE; do
  [[ -n "${!v:-}" ]] || die "$v is required"
done
GPM_ENGINE="${GPM_ENGINE:-postgres}"
[[ "$GPM_ENGINE" =~ ^(postgres|greenplum)$ ]] || die "GPM_ENGINE must be postgres or greenplum"
[[ "$GPM_ENGINE" != postgres || -n "${GPM_OLD_FENCE:-}" ]] || die "GPM_OLD_FENCE is required"
GPM_PROMOTE_TIMEOUT_SECONDS="${GPM_PROMOTE_TIMEOUT_SECONDS:-$GPM_TIMEOUT_SECONDS}"
[[ "$GPM_PROMOTE_TIMEOUT_SECONDS" =~ ^[0-9]+$ ]] || die "GPM_PROMOTE_TIMEOUT_SECONDS must be a whole number"
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

# on_host new|old EXPORTS SCRIPT [BOUND]: runs SCRIPT with `bash -s` on the host, bounded in
# time (GPM_TIMEOUT_SECONDS). Exit 255 (ssh) or 124 (timeout) means the host did not answer.
on_host() {
  local which="$1" exports="$2" script="$3" bound="${4:-$GPM_TIMEOUT_SECONDS}" addr port user
  if [[ "$which" == new ]]; then
    addr="$GPM_NEW_ADDRESS" port="$GPM_NEW_SSH_PORT" user="$GPM_NEW_USER"
  else
    addr="$GPM_OLD_ADDRESS" port="$GPM_OLD_SSH_PORT" user="$GPM_OLD_USER"
  fi
  timeout --kill-after=5 "$bound" \
    ssh -i "$work/$which.key" -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=5 -o ServerAliveCountMax=2 \
    -o ControlMaster=auto -o ControlPath="$work/cm-$which" -o ControlPersist=120 \
    -p "$port" "$user@$addr" 'bash -s' <<<"$exports$script"
}
last_json() { tail -n 1; }
json_list() { if (($#)); then printf '%s\n' "$@" | jq -R . | jq -cs .; else echo '[]'; fi; }
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
# other host is on a later timeline, the config names the stale one: refuse.
# A stopped directory that would start as a primary (no standby.signal, no fence marker: a host
# stopped through the platform or a fence command, never reached) is marked the same way, so
# that nothing starts it as a primary and re-protection rewinds it.
stale_fenced=false
converge_stale_primary() {
  read_old_probe
  [[ "$old_status" == 0 && -n "$old_state" ]] || return 0
  local mine theirs what
  if [[ "$(jq -r '.acceptsConnections and (.inRecovery == false)' <<<"$old_state")" == true ]]; then
    what="also runs as a primary"
  elif [[ "$(jq -r '.dataDir and (.running | not) and (.fenced | not) and (.standbySignal == false)' <<<"$old_state")" == true ]]; then
    what="holds a stopped primary's data directory that is not fenced"
  else
    return 0
  fi
  mine="$(jq -r '.timeline // 0' <<<"$new_state")"
  theirs="$(jq -r '.timeline // 0' <<<"$old_state")"
  ((theirs <= mine)) ||
    die "$GPM_OLD_NAME $what, on a later timeline ($theirs) than $GPM_NEW_NAME ($mine), which activeMaster names: the config points at the stale one. Set activeMaster to the role of $GPM_OLD_NAME, or stop the wrong one by hand"
  say "$GPM_OLD_NAME $what (timeline $theirs; $GPM_NEW_NAME is on $mine): stopping and fencing it"
  fence_old immediate >/dev/null
  stale_fenced=true
}

# run_fence_command: the configured fence agent, for an old primary that cannot be reached.
# Its output goes to the log; its environment has the old host's identity and no GPM_* secret
# (nor Pulumi's passphrase or token).
fence_command_ms=""
run_fence_command() {
  local t0 rc=0
  t0=$(date +%s%N)
  say "running activation.fenceCommand for $GPM_OLD_NAME ($GPM_OLD_ADDRESS), at most ${GPM_FENCE_TIMEOUT_SECONDS}s"
  (
    cmd="$GPM_FENCE_COMMAND" bound="$GPM_FENCE_TIMEOUT_SECONDS"
    host="$GPM_OLD_NAME" address="$GPM_OLD_ADDRESS" port="$GPM_OLD_SSH_PORT" role="${GPM_OLD_ROLE:-}"
    dir="${GPM_OLD_DATA_DIR:-}" dbport="${GPM_OLD_DB_PORT:-}" nhost="$GPM_NEW_NAME" naddr="$GPM_NEW_ADDRESS"
    for v in "${!GPM_@}"; do unset "$v"; done
    unset PULUMI_CONFIG_PASSPHRASE PULUMI_CONFIG_PASSPHRASE_FILE PULUMI_ACCESS_TOKEN
    export GPM_FENCE_HOST="$host" GPM_FENCE_ADDRESS="$address" GPM_FENCE_SSH_PORT="$port" \
      GPM_FENCE_ROLE="$role" GPM_FENCE_DATA_DIR="$dir" GPM_FENCE_DB_PORT="$dbport" \
      GPM_FENCE_NEW_HOST="$nhost" GPM_FENCE_NEW_ADDRESS="$naddr" GPM_FENCE_REASON=unreachable
    exec timeout --kill-after=5 "$bound" bash -c "$cmd" </dev/null
  ) 2>&1 | sed 's/^/[fence-command] /' >&2 || rc=$?
  fence_command_ms=$((($(date +%s%N) - t0) / 1000000))
  if ((rc == 124 || rc == 137)); then
    die "activation.fenceCommand did not finish within ${GPM_FENCE_TIMEOUT_SECONDS}s: $GPM_OLD_NAME may still accept writes; nothing was promoted"
  elif ((rc != 0)); then
    die "activation.fenceCommand failed (exit $rc) after ${fence_command_ms} ms: $GPM_OLD_NAME may still accept writes; nothing was promoted"
  fi
  say "activation.fenceCommand fenced $GPM_OLD_NAME in ${fence_command_ms} ms"
}

# classify_old: the old primary from its probe: alive, not-a-primary, gone, or unreachable.
classify_old() {
  if ((old_status != 0)) || [[ -z "$old_state" ]]; then
    old="unreachable"
  elif [[ "$(jq -r '.acceptsConnections and (.inRecovery == false)' <<<"$old_state")" == true ]]; then
    old="alive"
  elif [[ "$(jq -r .running <<<"$old_state")" == true ]]; then
    old="not-a-primary"
  else
    old="gone"
  fi
}

fence="none"
fenced_by=()
not_fenced=()
# fence_unreachable: a failover with the old primary unreachable from here. Refused unless
# forced; forced, every layer there is runs, each required to succeed, before any promotion:
# the fence command, then the platform.
fence_unreachable() {
  [[ "$GPM_FORCE" == true ]] ||
    die "cannot reach $GPM_OLD_NAME ($GPM_OLD_ADDRESS): that does not prove it is down (a network partition looks the same). Check it, then set activation.force to true to fence it through the platform and promote"
  if [[ -n "${GPM_FENCE_COMMAND:-}" ]]; then
    run_fence_command
    fenced_by+=("activation.fenceCommand (exit 0 in ${fence_command_ms} ms)")
    fence="command"
  fi
  if [[ "${GPM_PLATFORM_FENCE:-}" == declared ]]; then
    # The platform fence is part of the stack itself and done before this runs (AWS: the old
    # instance stopped through the EC2 API, in a security group with no rules).
    say "$GPM_OLD_NAME is fenced by the platform (declared in the stack: ${GPM_PLATFORM_FENCE_DONE:-})"
    fenced_by+=("platform: ${GPM_PLATFORM_FENCE_DONE:-declared in the stack}")
    [[ -z "${GPM_PLATFORM_FENCE_GAP:-}" ]] || not_fenced+=("$GPM_PLATFORM_FENCE_GAP")
    fence="platform"
  elif [[ "${GPM_PLATFORM_FENCE:-}" == local ]]; then
    say "fencing $GPM_OLD_NAME through the platform (its network link is cut)"
    GPM_HOST="$GPM_OLD_ROLE" GPM_MODE="$GPM_LOCAL_MODE" bash scripts/local-hosts.sh fence >&2 ||
      die "the platform fence of $GPM_OLD_NAME failed; nothing was promoted"
    fenced_by+=("platform: its network link cut")
    fence="platform"
  fi
}

# activate_greenplum: the Greenplum engine's part (see the top). The promote step prints its
# own findings (oldPrimary, segmentFence, ...), to which the shared fields are added.
activate_greenplum() {
  local exports="" promoted target_master
  target_master="$(jq -r '.acceptsConnections and (.inRecovery == false)' <<<"$new_state")"
  read_old_probe
  classify_old
  say "old coordinator $GPM_OLD_NAME ($GPM_OLD_ADDRESS), seen from here: $old"
  if [[ "$target_master" != true && "$GPM_ACTIVATION_MODE" == failover && "$old" == unreachable ]]; then
    fence_unreachable
    # The promote step takes a layer that held as proof that the old coordinator is down; the
    # segments are fenced anyway when only a fence command vouches for it.
    [[ "$fence" == platform ]] && exports+="export GPM_FENCED_BY_PLATFORM=true"$'\n'
    [[ "$fence" == command ]] && exports+="export GPM_OLD_FENCED_BY=command"$'\n'
    if [[ "$fence" == none ]]; then
      not_fenced+=("the coordinator host $GPM_OLD_NAME ($GPM_OLD_ADDRESS) itself: it could not be reached, and there is neither a platform fence nor activation.fenceCommand. Its postmaster may still run; where the segment fence holds (activation.last.segmentFence), its writes fail at the segments")
    fi
  fi
  exports+="export GPM_FORCE='$GPM_FORCE' GPM_ACTIVATION_MODE='$GPM_ACTIVATION_MODE' GPM_SWITCHOVER_TIMEOUT_SECONDS='$GPM_TIMEOUT_SECONDS'"$'\n'
  promoted="$(on_host new "$exports" "$GPM_NEW_ACTIVATE" "$GPM_PROMOTE_TIMEOUT_SECONDS" | last_json)" ||
    die "the activate step on $GPM_NEW_NAME failed (fence so far: $fence); see its messages above, fix, and run pulumi up again"
  jq -cn --arg t "$GPM_NEW_NAME" --arg mode "$GPM_ACTIVATION_MODE" --arg seen "$old" --arg fence "$fence" \
    --argjson p "$promoted" --argjson ms "$((($(date +%s%N) - started) / 1000000))" \
    --argjson by "$(json_list "${fenced_by[@]}")" --argjson gaps "$(json_list "${not_fenced[@]}")" \
    --argjson lag "$(jq -c --arg a "$GPM_NEW_NAME" '[.replication[]? | select(.applicationName == $a) | .lagBytes][0] // null' <<<"${old_state:-null}")" \
    '$p + {activated: ($p.promoted == true), target: $t, mode: $mode, oldSeenFromPulumi: $seen,
      fence: $fence, fencedBy: $by, notFenced: $gaps, lagBytes: $lag, tookMs: $ms}'
}

# --- the standby that is to become the primary ---------------------------------------------
new_state="$(on_host new "" "$GPM_NEW_PROBE" | last_json)" ||
  die "cannot read the state of $GPM_NEW_NAME ($GPM_NEW_ADDRESS); activation needs the standby to answer"
if [[ "$(jq -r .dataDir <<<"$new_state")" != true ]]; then
  say "$GPM_NEW_NAME has no data directory yet: a new pair, nothing to activate"
  jq -cn --arg t "$GPM_NEW_NAME" '{activated: false, target: $t, skipped: "new pair"}'
  exit 0
fi
if [[ "$GPM_ENGINE" == greenplum ]]; then
  activate_greenplum
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
classify_old
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
  fenced_by+=("stopped over SSH (clean), data directory marked")
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
    fenced_by+=("stopped over SSH (immediate), data directory marked")
    fence="stopped-immediate"
    ;;
  unreachable)
    fence_unreachable
    if [[ -z "${GPM_FENCE_COMMAND:-}" ]]; then
      # What no layer here could do; the same words go to the log and the result.
      if [[ "$fence" == none ]]; then
        not_fenced+=("$GPM_OLD_NAME ($GPM_OLD_ADDRESS) was not fenced at all: it could not be reached, and there is neither a platform fence nor activation.fenceCommand. Its postmaster may still run and take writes from clients that reach it: stop it or cut its network before clients return, or set activation.fenceCommand")
      elif [[ "${GPM_PLATFORM_FENCE:-}" == local ]]; then
        not_fenced+=("the postmaster of $GPM_OLD_NAME was not stopped and its data directory not marked (it could not be reached): it runs cut off until the network heals, and turning protect on stops and fences it")
      fi
    fi
    for gap in "${not_fenced[@]}"; do say "WARNING: not fenced: $gap"; done
    ;;
  gone | not-a-primary)
    fence_old immediate >/dev/null
    fenced_by+=("data directory marked over SSH (no postmaster ran)")
    fence="marked"
    ;;
  esac
  ;;
esac

# --- promote --------------------------------------------------------------------------------
exports=""
[[ -z "$wait_lsn" ]] || exports="export GPM_WAIT_FOR_LSN='$wait_lsn'"$'\n'
promoted="$(on_host new "$exports" "$GPM_NEW_ACTIVATE" "$GPM_PROMOTE_TIMEOUT_SECONDS" | last_json)" ||
  die "promoting $GPM_NEW_NAME failed after the old primary was fenced ($fence): no primary accepts writes now; see the messages above, fix, and run pulumi up again"
took_ms=$((($(date +%s%N) - started) / 1000000))
say "$GPM_NEW_NAME is the primary now (timeline $(jq -r .timeline <<<"$promoted")), in ${took_ms} ms"
jq -cn --arg t "$GPM_NEW_NAME" --arg mode "$GPM_ACTIVATION_MODE" --arg old "$old" --arg fence "$fence" \
  --argjson lag "$lag" --argjson age "$age" --argjson p "$promoted" --argjson ms "$took_ms" \
  --argjson by "$(json_list "${fenced_by[@]}")" --argjson gaps "$(json_list "${not_fenced[@]}")" \
  '{activated: true, target: $t, mode: $mode, oldPrimary: $old, fence: $fence, fencedBy: $by,
    notFenced: $gaps, lagBytes: $lag, replayAgeSeconds: $age, timeline: $p.timeline, tookMs: $ms}'
