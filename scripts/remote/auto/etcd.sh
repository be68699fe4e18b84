# etcd.sh: one member of the etcd that decides who leads (automatic failover), under its
# supervisor; restarted only when its flags or certificates changed. Parameters:
#   GPM_AUTO_DIR   this host's directory for etcd and the agent (absolute, or ~/...)
#   GPM_ETCD_NAME, GPM_ETCD_ADDRESS   this member
#   GPM_ETCD_CLUSTER  name=https://address:2380,... (all members)
#   GPM_ETCD_TOKEN    initial cluster token
#   GPM_ETCD_HEARTBEAT_MS, GPM_ETCD_ELECTION_MS   etcd's timings (activation.etcdHeartbeatMs,
#     activation.etcdElectionTimeoutMs; checked against the agents' timings by the config)
#   GPM_TLS_CA, GPM_TLS_CERT, GPM_TLS_KEY (secret)
# A member that moved (a new witness host: hosts.witness.address, or the AWS witness instance
# replaced) joins the running cluster: the stale member of its name is removed, it is added at
# its new address, and it starts from a fresh data directory with --initial-cluster-state
# existing (auto_join, lib.sh). The others are not restarted for it: etcd reads the initial
# cluster only when it has no data, so those flags do not count as a change.
GPM_TAG=gpmirror-etcd
gpm_need_match GPM_AUTO_DIR '^/[A-Za-z0-9_./-]+$' "absolute directory"
gpm_need_match GPM_ETCD_NAME '^[a-z0-9-]{1,40}$' "member name"
gpm_need_match GPM_ETCD_ADDRESS '^[A-Za-z0-9.-]+$' "member address"
gpm_need_match GPM_ETCD_CLUSTER '^[a-z0-9=:/.,-]+$' "name=https://address:2380,..."
gpm_need_match GPM_ETCD_TOKEN '^[A-Za-z0-9-]{1,64}$' "cluster token"
gpm_need_match GPM_ETCD_HEARTBEAT_MS '^[0-9]{1,5}$' "milliseconds"
gpm_need_match GPM_ETCD_ELECTION_MS '^[0-9]{1,5}$' "milliseconds"
ETCD="$(command -v etcd || true)"
[[ -n "$ETCD" ]] || gpm_die "etcd is not installed on this host (Debian/Ubuntu: apt-get install etcd-server)"
command -v etcdctl >/dev/null || gpm_die "etcdctl is not installed on this host (Debian/Ubuntu: apt-get install etcd-client)"
DIR="$GPM_AUTO_DIR/etcd"
mkdir -p "$DIR"
chmod 0700 "$DIR"
tls_changed="$(auto_tls "$DIR")"
a="$GPM_ETCD_ADDRESS"
# new: the cluster is being made (or the others cannot be asked); existing: this member
# joins the running cluster. "rejoined" when its membership was replaced just now.
join="$(auto_join "$DIR" "$GPM_ETCD_NAME" "https://$a:2380" "$GPM_ETCD_CLUSTER")"
state=new
[[ "$join" == new ]] || state=existing
initial=(--initial-cluster "$GPM_ETCD_CLUSTER" --initial-cluster-state "$state" --initial-cluster-token "$GPM_ETCD_TOKEN")
flags=(
  --name "$GPM_ETCD_NAME" --data-dir "$DIR/data"
  --listen-client-urls "https://$a:2379,https://127.0.0.1:2379" --advertise-client-urls "https://$a:2379"
  --listen-peer-urls "https://$a:2380" --initial-advertise-peer-urls "https://$a:2380"
  --client-cert-auth --trusted-ca-file "$DIR/tls/ca.crt" --cert-file "$DIR/tls/host.crt" --key-file "$DIR/tls/host.key"
  --peer-client-cert-auth --peer-trusted-ca-file "$DIR/tls/ca.crt" --peer-cert-file "$DIR/tls/host.crt" --peer-key-file "$DIR/tls/host.key"
  # When etcd's leader is lost, nothing is renewed until the others elect a new one: after a
  # randomized 1-2 election timeouts and a vote, so activation.retryWindowMs must be longer
  # (the config checks it, and that leases of the TTL set are granted: 3.4's min TTL is 1.5
  # election timeouts). A change restarts this member (its flags changed).
  --heartbeat-interval "$GPM_ETCD_HEARTBEAT_MS" --election-timeout "$GPM_ETCD_ELECTION_MS"
  --logger zap --log-level warn
  # A member cut off from the others keeps raising its term (3.4 default); when it comes back
  # it forces the leader down, and the election takes longer than the agents' retry window:
  # the new master's agent fences it. Pre-vote keeps a member that cannot win from raising it.
  --pre-vote
)
flags_changed="$(printf '%s\n' "${flags[@]}" | auto_write "$DIR/flags" 0644)"
action=kept
if [[ "$join" == rejoined || -n "$tls_changed$flags_changed" ]] || ! auto_running "$DIR/etcd.pid"; then
  auto_stop "$DIR/etcd.pid"
  # A replaced membership starts from nothing: the old data names the removed member.
  [[ "$join" != rejoined ]] || rm -rf -- "$DIR/data"
  gpm_log "starting etcd member $GPM_ETCD_NAME on $a (initial cluster state $state)"
  auto_start "$DIR" etcd "$ETCD" "${flags[@]}" "${initial[@]}"
  action=started
fi
jq -cn --arg action "$action" --arg join "$join" \
  --arg version "$("$ETCD" --version | head -n 1 | awk '{print $3}')" \
  '{action: $action, membership: $join, version: $version}'
