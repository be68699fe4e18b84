#!/usr/bin/env bash
# supervise.sh PIDFILE LOG CMD...: runs CMD, and again 0.5 s after each exit, until this
# loop gets TERM (then CMD gets it too). The supervisor of etcd and the agent, on namespace
# hosts and on hosts you run alike (no systemd or root needed); after a reboot the start.sh
# that auto_start leaves beside it starts it again; a systemd unit with Restart=always does
# the same (README "Automatic failover").
set -u
pidfile="$1" log="$2"
shift 2
echo "$$" >"$pidfile"
child=""
trap '[[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; rm -f "$pidfile"; exit 0' TERM INT
while :; do
  "$@" >>"$log" 2>&1 &
  child=$!
  wait "$child"
  code=$?
  printf '{"event":"exited","code":%d,"at":%s}\n' "$code" "$(date +%s%3N)" >>"$log"
  sleep 0.5
done
