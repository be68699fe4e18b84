# status.sh: what `npm run status` shows of automatic failover on this master host: its agent
# (state file, and whether its supervisor runs), the leader key's holder and its lease's time
# left, and the health of each etcd member, read with this host's etcd certificate. Reads
# only; sent after common.sh and lib.sh. Parameters:
#   GPM_AUTO_DIR     this host's directory for etcd and the agent
#   GPM_AUTO_PREFIX  the stack's etcd key prefix (/gpmirror/<stack>)
#   GPM_AUTO_ENDPOINTS  etcd's client URLs, comma-separated: on the witness, which has no
#                    agent (whose agent.json names them on a master); optional
# Prints: {"agent": state.json|null, "agentRunning": bool, "endpoints": [...],
#   "members": [{"endpoint","health","took","error"}]|null, "leader": {"holder","leaseId" (decimal text),
#   "ttlSeconds","grantedTtlSeconds"}|null, "etcdError": string|null}
GPM_TAG=gpmirror-auto-status
gpm_need_match GPM_AUTO_DIR '^/[A-Za-z0-9_./-]+$' "absolute directory"
gpm_need_match GPM_AUTO_PREFIX '^/[A-Za-z0-9_./-]+$' "etcd key prefix"
agent_dir="$GPM_AUTO_DIR/agent"
tls="$GPM_AUTO_DIR/etcd/tls"

agent=null
if [[ -f "$agent_dir/state.json" ]] && jq -e . "$agent_dir/state.json" >/dev/null 2>&1; then
  agent="$(jq -c . "$agent_dir/state.json")"
fi
running=false
auto_running "$agent_dir/agent.pid" && running=true
endpoints='[]'
[[ -f "$agent_dir/agent.json" ]] && endpoints="$(jq -c '.endpoints // []' "$agent_dir/agent.json")"
if [[ -n "${GPM_AUTO_ENDPOINTS:-}" ]]; then
  gpm_need_match GPM_AUTO_ENDPOINTS '^https://[A-Za-z0-9:/.,-]+$' "etcd client URLs"
  endpoints="$(jq -cn --arg e "$GPM_AUTO_ENDPOINTS" '$e | split(",")')"
fi

members=null leader=null etcd_error=null
if ! command -v etcdctl >/dev/null; then
  etcd_error='"etcdctl is not installed on this host (Debian/Ubuntu: apt-get install etcd-client)"'
elif [[ "$endpoints" == '[]' || ! -f "$tls/host.key" ]]; then
  etcd_error='"no etcd member or agent configured on this host"'
else
  ctl=(etcdctl "--endpoints=$(jq -r 'join(",")' <<<"$endpoints")" "--cacert=$tls/ca.crt"
    "--cert=$tls/host.crt" "--key=$tls/host.key" --dial-timeout=1s --command-timeout=2s)
  # Exits non-zero when a member is unhealthy; its JSON still lists every member.
  health="$(ETCDCTL_API=3 timeout 10 "${ctl[@]}" -w json endpoint health 2>/dev/null || true)"
  if jq -e 'type == "array"' <<<"$health" >/dev/null 2>&1; then
    members="$(jq -c 'map({endpoint, health, took, error: (.error // null)})' <<<"$health")"
  fi
  # -w fields: the lease id in decimal as etcd sent it (JSON numbers lose its low digits).
  if got="$(ETCDCTL_API=3 timeout 10 "${ctl[@]}" -w fields get "$GPM_AUTO_PREFIX/leader" 2>&1)"; then
    holder="$(sed -n 's/^"Value" : "\(.*\)"$/\1/p' <<<"$got")"
    lease="$(sed -n 's/^"Lease" : \([0-9]*\)$/\1/p' <<<"$got")"
    ttl=null granted=null
    if [[ "$lease" =~ ^[1-9][0-9]*$ ]]; then
      if live="$(ETCDCTL_API=3 timeout 10 "${ctl[@]}" -w json lease timetolive "$(printf '%x' "$lease")" 2>/dev/null)"; then
        ttl="$(jq '.ttl // null' <<<"$live")"
        granted="$(jq '.["granted-ttl"] // null' <<<"$live")"
      fi
    fi
    leader="$(jq -cn --arg h "$holder" --arg l "$lease" --argjson t "$ttl" --argjson g "$granted" \
      '{holder: (if $h == "" then null else $h end), leaseId: (if $l == "" then null else $l end), ttlSeconds: $t, grantedTtlSeconds: $g}')"
  else
    etcd_error="$(jq -cn --arg e "$(tail -n 1 <<<"$got")" '$e')"
  fi
fi
jq -cn --argjson agent "$agent" --argjson running "$running" --argjson endpoints "$endpoints" \
  --argjson members "$members" --argjson leader "$leader" --argjson err "$etcd_error" \
  '{agent: $agent, agentRunning: $running, endpoints: $endpoints, members: $members, leader: $leader, etcdError: $err}'
