# agent.sh: the failover agent beside this master, under its supervisor; restarted only when
# its binary, config or certificates changed. Parameters:
#   GPM_AUTO_DIR      this host's directory for etcd and the agent
#   GPM_AGENT_BIN     the agent binary, copied here before this step
#   GPM_AGENT_CONFIG  agent.json (no secrets: file paths and timings); its "TLSDIR" and
#                     "AUTODIR" and "PGBIN" placeholders are replaced with this host's paths
#   [GPM_PG_BIN]      the server's bin directory (Greenplum: $GPHOME/bin)
#   [GPM_AGENT_PROMOTE]  Greenplum: the engine's activate step with its parameters (no
#                     secrets), written to promote.sh, which the agent runs to promote
#   GPM_TLS_CA, GPM_TLS_CERT, GPM_TLS_KEY (secret)
GPM_TAG=gpmirror-agent
gpm_need_match GPM_AUTO_DIR '^/[A-Za-z0-9_./-]+$' "absolute directory"
gpm_need_match GPM_AGENT_BIN '^/[A-Za-z0-9_./-]+$' "the agent binary's path"
gpm_need GPM_AGENT_CONFIG "the agent's config (JSON)"
[[ -f "$GPM_AGENT_BIN" ]] || gpm_die "the agent binary $GPM_AGENT_BIN is missing (copied by the agent-copy step)"
DIR="$GPM_AUTO_DIR/agent"
mkdir -p "$DIR"
chmod 0700 "$DIR"
tls_changed="$(auto_tls "$DIR")"
bin_changed="$(auto_write "$DIR/gpmirror-agent" 0755 <"$GPM_AGENT_BIN")"
gpm_resolve_pg_bin
config="${GPM_AGENT_CONFIG//TLSDIR/$DIR/tls}"
config="${config//PGBIN/$PG_BIN}"
config="${config//AUTODIR/$DIR}"
if [[ -n "${GPM_AGENT_PROMOTE:-}" ]]; then
  # Read at promotion only: a change does not restart the agent.
  printf '%s\n' "$GPM_AGENT_PROMOTE" | auto_write "$DIR/promote.sh" 0700 >/dev/null
fi
config_changed="$(printf '%s\n' "$config" | auto_write "$DIR/agent.json" 0644)"
"$DIR/gpmirror-agent" -config "$DIR/agent.json" -check >/dev/null
action=kept
if [[ -n "$tls_changed$bin_changed$config_changed" ]] || ! auto_running "$DIR/agent.pid"; then
  # The agent's state file survives a restart: a new agent continues its predecessor's lease.
  auto_stop "$DIR/agent.pid"
  gpm_log "starting the failover agent"
  auto_start "$DIR" agent "$DIR/gpmirror-agent" -config "$DIR/agent.json"
  action=started
fi
jq -cn --arg action "$action" '{action: $action}'
