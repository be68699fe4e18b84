# stop.sh: run on a host you run (platform existing) when its stack is destroyed: stops its
# failover agent or its etcd member, the supervisor first so that nothing starts it again. An
# agent left running would fail over a pair nobody manages. The directory is kept (etcd's
# data, the logs): a user's host is not emptied by destroy. Parameters:
#   GPM_AUTO_DIR   this host's directory for etcd and the agent
#   GPM_AUTO_PART  agent | etcd
GPM_TAG=gpmirror-auto-stop
gpm_need_match GPM_AUTO_DIR '^/[A-Za-z0-9_./-]+$' "absolute directory"
gpm_need_match GPM_AUTO_PART '^(agent|etcd)$' "agent or etcd"
pidfile="$GPM_AUTO_DIR/$GPM_AUTO_PART/$GPM_AUTO_PART.pid"
action=none
if auto_running "$pidfile"; then
  auto_stop "$pidfile"
  gpm_log "stopped the $GPM_AUTO_PART under its supervisor"
  action=stopped
fi
jq -cn --arg action "$action" --arg part "$GPM_AUTO_PART" '{part: $part, action: $action}'
