#!/usr/bin/env bash
# etcd-election.sh: how long no lease can be renewed when etcd's leader member is killed,
# under CPU load: what activation.retryWindowMs must cover (README "Automatic failover").
# Starts a 3-member etcd on loopback addresses (TLS, etcd.sh's timing flags), a lease probe
# (the agent's client, renewing like a leading agent), and BURNERS `yes` processes; kills the
# leader member ROUNDS times and prints, per round, the longest time from the send of the
# last successful renewal to the answer of the next one (what the agent's watchdog compares
# with the retry window). Run as root, under the machine's heavy lock. Settings (env):
#   ELECTION_MS (1000)  HEARTBEAT_MS (100)  ROUNDS (6)  BURNERS (2)  NET (127.0.208)
#   RENEW_MS (500) and TTL_S (8): the probe's renew interval and lease TTL (the profile's)
#   SETTLE_S (8): seconds after a kill before the round's gap is read (well above the election)
# The last line is a summary: count, min, median, p90 and max of the rounds' longest gaps.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
election="${ELECTION_MS:-1000}" heartbeat="${HEARTBEAT_MS:-100}" rounds="${ROUNDS:-6}"
burners="${BURNERS:-2}" net="${NET:-127.0.208}" renew="${RENEW_MS:-500}" ttl="${TTL_S:-8}"
settle="${SETTLE_S:-8}"
for v in "$election" "$heartbeat" "$rounds" "$burners" "$renew" "$ttl" "$settle"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "ELECTION_MS, HEARTBEAT_MS, ROUNDS, BURNERS, RENEW_MS, TTL_S and SETTLE_S must be whole numbers" >&2; exit 1; }
done
[[ "$net" =~ ^127\.[0-9]+\.[0-9]+$ ]] || { echo "NET must be a loopback /24 such as 127.0.208, got '$net'" >&2; exit 1; }
work="$(mktemp -d /tmp/gpm-etcd-election.XXXXXX)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
names=(m1 m2 m3)
addr() { echo "$net.$((11 + $1))"; }
cluster="" endpoints=""
for i in 0 1 2; do
  cluster+="${cluster:+,}${names[$i]}=https://$(addr "$i"):2380"
  endpoints+="${endpoints:+,}\"https://$(addr "$i"):2379\""
done
GPM_TLS_DIR="$work/tls" GPM_MEMBERS="m1=$(addr 0),m2=$(addr 1),m3=$(addr 2)" \
  bash "$root/scripts/auto/tls.sh" >/dev/null
tls="$work/tls"
declare -A etcd_pid
start_member() {
  local i="$1" a
  a="$(addr "$i")"
  etcd --name "${names[$i]}" --data-dir "$work/${names[$i]}" \
    --listen-client-urls "https://$a:2379" --advertise-client-urls "https://$a:2379" \
    --listen-peer-urls "https://$a:2380" --initial-advertise-peer-urls "https://$a:2380" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token gpm-election-bench \
    --client-cert-auth --trusted-ca-file "$tls/ca.crt" --cert-file "$tls/${names[$i]}.crt" --key-file "$tls/${names[$i]}.key" \
    --peer-client-cert-auth --peer-trusted-ca-file "$tls/ca.crt" --peer-cert-file "$tls/${names[$i]}.crt" --peer-key-file "$tls/${names[$i]}.key" \
    --heartbeat-interval "$heartbeat" --election-timeout "$election" --pre-vote --logger zap --log-level error \
    >>"$work/${names[$i]}.log" 2>&1 &
  etcd_pid[$i]=$!
  pids+=("$!")
}
ctl() { ETCDCTL_API=3 etcdctl --cacert "$tls/ca.crt" --cert "$tls/m1.crt" --key "$tls/m1.key" --dial-timeout 1s --command-timeout 2s "$@"; }
# leader_index: the member that says it leads, when all three are up and agree.
leader_index() {
  local i out id lead found=""
  for i in 0 1 2; do
    out="$(ctl --endpoints "https://$(addr "$i"):2379" -w fields endpoint status 2>/dev/null)" || return 1
    id="$(sed -n 's/^"MemberID" : //p' <<<"$out")" lead="$(sed -n 's/^"Leader" : //p' <<<"$out")"
    [[ -n "$id" && "$id" == "$lead" ]] && found="$i"
  done
  [[ -n "$found" ]] && echo "$found"
}
wait_leader() {
  local n
  for ((n = 0; n < 300; n++)); do
    leader_index && return 0
    sleep 0.1
  done
  echo "etcd has no leader with all members up; see $work/*.log" >&2
  return 1
}
for i in 0 1 2; do start_member "$i"; done
wait_leader >/dev/null
agent="$(bash "$root/scripts/auto/build-agent.sh" | jq -r .path)"
cat >"$work/probe.json" <<JSON
{"name":"probe","peer":"none","prefix":"/bench","endpoints":[$endpoints],
 "caCert":"$tls/ca.crt","cert":"$tls/m1.crt","key":"$tls/m1.key",
 "leaseTtlSeconds":$ttl,"renewIntervalMs":$renew,"retryWindowMs":$((renew * 3)),
 "pgBin":"/nonexistent","dataDir":"/nonexistent","socketDir":"/nonexistent","port":1,"stateFile":"$work/state"}
JSON
"$agent" -config "$work/probe.json" -lease-probe >"$work/probe.log" 2>&1 &
pids+=("$!")
probe_pid=$!
for ((i = 0; i < burners; i++)); do
  yes >/dev/null &
  pids+=("$!")
done
sleep 3
printf '{"electionTimeoutMs":%s,"heartbeatMs":%s,"burners":%s,"renewMs":%s,"ttlS":%s}\n' \
  "$election" "$heartbeat" "$burners" "$renew" "$ttl"
gaps=()
for ((r = 1; r <= rounds; r++)); do
  lead="$(wait_leader)"
  sleep 2
  t_kill="$(date +%s%3N)"
  kill -KILL "${etcd_pid[$lead]}"
  wait "${etcd_pid[$lead]}" 2>/dev/null || true
  sleep "$settle"
  # The longest renewal gap answered after the kill, and when that answer came.
  gap="$(jq -rs --argjson t "$t_kill" '[.[] | select(.event == "renewal-gap" and .at > $t)] | max_by(.gapMs) // {} | "\(.gapMs // "none") \(.at // 0)"' "$work/probe.log")"
  printf '{"round":%s,"killed":"%s","longestRenewalGapMs":"%s","killToRenewalMs":%s}\n' \
    "$r" "${names[$lead]}" "${gap% *}" "$(( ${gap#* } > 0 ? ${gap#* } - t_kill : 0 ))"
  [[ "${gap% *}" == none ]] || gaps+=("${gap% *}")
  start_member "$lead"
  sleep 3
done
kill -TERM "$probe_pid"
sleep 1
grep -E 'probe-(stopped|lease-lost|failed)' "$work/probe.log" || true
printf '%s\n' "${gaps[@]}" | jq -cs --argjson rounds "$rounds" 'sort as $g | ($g | length) as $n
  | {summary: true, rounds: $rounds, gaps: $n, minMs: $g[0], medianMs: $g[($n / 2 | floor)],
     p90Ms: $g[(($n * 9 / 10) | floor)], maxMs: $g[-1]}'
