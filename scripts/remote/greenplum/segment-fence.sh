#!/usr/bin/env bash
# segment-fence: keep a stale coordinator out of the segments, which both coordinators share.
# Runs on the NEW coordinator's host (the standby being activated) as gpadmin; the activate
# step carries this file's functions (common.sh, lib.sh, this file, activate.sh), and it runs
# on its own too:
#   GPM_SEGMENT_FENCE_ACTION=fence|lift|status GPM_OLD_PRIMARY_ADDRESS=... bash segment-fence.sh
# For every segment host (primary and mirror ports):
#   fence   through the admin user's `sudo -n nft` there: a table `inet gpmirror_fence` whose
#           input rule rejects the old coordinator's address(es) on the segment ports with a
#           TCP reset (a reset fails each new attempt at once; a drop hangs its clients about
#           134 s), commented with the old host, so that lift removes exactly it; where that
#           sudo is missing, greenplum.segmentFenceCommand. Then pg_terminate_backend of the
#           old coordinator's sessions on each segment (utility mode): the rule does not end
#           the sessions it already has.
#   lift    the rule with that comment removed (the table too once empty), or the command.
#   status  whether the rule is there.
# Pg_hba.conf cannot do it: a segment authenticates a coordinator's dispatch without it.
# The segment list: the old coordinator's catalog when it answers (GPM_FRESH_SEGMENTS), else
# what the standby step recorded on this host at the last protect (~/.gpmirror/segments),
# else greenplum.segmentHosts x segmentsPerHost from segmentPortBase.
# Env: GPM_OLD_PRIMARY_ADDRESS [GPM_OLD_PRIMARY_NAME] [GPM_SEGMENT_HOSTS GPM_SEGMENTS_PER_HOST
#      GPM_SEGMENT_PORT_BASE] [GPM_SEGMENT_FENCE_COMMAND GPM_SEGMENT_FENCE_TIMEOUT_SECONDS=60]
#      (on its own: GPM_SEGMENT_FENCE_ACTION, and GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT)
# shellcheck disable=SC1091,SC2034,SC2016 # lib.sh is prepended by the caller; globals; remote text in single quotes

# On a segment host: ACTION(nft-fence|nft-lift|nft-status|terminate) OLD PORTS(comma) TAG
SEG_PROBE='
set -u
action="$1" old="$2" ports="$3" tag="$4"
table=gpmirror_fence
v4="" v6=""
if [[ "$old" =~ ^[0-9.]+$ ]]; then v4="$old"
elif [[ "$old" == *:* ]]; then v6="$old"
else
  while read -r a _; do
    if [[ "$a" == *:* ]]; then v6+="${v6:+, }$a"; else v4+="${v4:+, }$a"; fi
  done < <(getent ahosts "$old" | awk "{print \$1}" | sort -u)
fi
[[ -n "$v4$v6" ]] || { echo "error=cannot-resolve"; exit 0; }
nft() { sudo -n /usr/sbin/nft "$@"; }
handles() { nft -a list chain inet "$table" input 2>/dev/null | grep -F "comment \"$tag\"" | sed -n "s/.*# handle \([0-9]*\)\$/\1/p"; }
case "$action" in
  nft-fence)
    nft list tables >/dev/null 2>&1 || { echo "nft=unavailable"; exit 0; }
    if [[ -n "$(handles)" ]]; then echo "nft=present"; exit 0; fi
    {
      echo "add table inet $table"
      echo "add chain inet $table input { type filter hook input priority -10 ; policy accept ; }"
      [[ -z "$v4" ]] || echo "add rule inet $table input ip saddr { $v4 } tcp dport { $ports } reject with tcp reset comment \"$tag\""
      [[ -z "$v6" ]] || echo "add rule inet $table input ip6 saddr { $v6 } tcp dport { $ports } reject with tcp reset comment \"$tag\""
    } | nft -f - >&2 && echo "nft=added" || echo "nft=failed" ;;
  nft-lift)
    nft list tables >/dev/null 2>&1 || { echo "nft=unavailable"; exit 0; }
    h="$(handles)"
    for x in $h; do nft delete rule inet "$table" input handle "$x" >&2 || { echo "nft=failed"; exit 0; }; done
    if nft list table inet "$table" >/dev/null 2>&1 && [[ -z "$(nft list chain inet "$table" input | grep -E "^[[:space:]]+(ip|ip6|tcp) ")" ]]; then
      nft delete table inet "$table" >&2 || true
    fi
    if [[ -n "$h" ]]; then echo "nft=lifted"; else echo "nft=absent"; fi ;;
  nft-status)
    nft list tables >/dev/null 2>&1 || { echo "nft=unavailable"; exit 0; }
    if [[ -n "$(handles)" ]]; then echo "nft=present"; else echo "nft=absent"; fi ;;
  terminate)
    addrs="$v4${v6:+${v4:+, }$v6}"
    list="$(sed -E "s/([^, ]+)/'"'"'\1'"'"'/g" <<<"$addrs")"
    out=""
    for p in ${ports//,/ }; do
      n="$(PGOPTIONS="-c gp_role=utility" psql -X -q -At -p "$p" -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE client_addr IN ($list) AND pid <> pg_backend_pid()" 2>/dev/null)" || n=-
      out+="${out:+,}$p:${n:--}"
    done
    echo "terminated=$out" ;;
esac
'

# gpm_segments_load [ROWS]: SEG_HOSTS (each host once, in order) and SEG_PORTS[host] (comma
# list) from catalog rows (hostname|address|port|role|content), else the recorded file, else
# the settings. SEG_SOURCE says which.
declare -a SEG_HOSTS=()
declare -A SEG_PORTS=()
SEG_SOURCE=""
gpm_segments_load() {
  local rows="${1:-}" h a p role content n base i
  SEG_HOSTS=()
  SEG_PORTS=()
  if [[ -n "$rows" ]]; then
    SEG_SOURCE="catalog of the old coordinator"
  elif [[ -s "$GPM_SEGMENTS_FILE" ]]; then
    rows="$(cat "$GPM_SEGMENTS_FILE")"
    SEG_SOURCE="$GPM_SEGMENTS_FILE (recorded at the last protect)"
  fi
  if [[ -n "$rows" ]]; then
    while IFS='|' read -r h a p role content; do
      [[ "$content" =~ ^[0-9]+$ && "$p" =~ ^[0-9]{1,5}$ ]] || continue
      h="${a:-$h}"
      [[ "$h" =~ ^[A-Za-z0-9][A-Za-z0-9.:-]*$ ]] || continue
      if [[ -z "${SEG_PORTS[$h]+x}" ]]; then
        SEG_HOSTS+=("$h")
        SEG_PORTS[$h]="$p"
      elif [[ ",${SEG_PORTS[$h]}," != *",$p,"* ]]; then
        SEG_PORTS[$h]+=",$p"
      fi
    done <<<"$rows"
    return 0
  fi
  n="${GPM_SEGMENTS_PER_HOST:-}" base="${GPM_SEGMENT_PORT_BASE:-}"
  [[ "$n" =~ ^[0-9]{1,3}$ && "$base" =~ ^[0-9]{1,5}$ ]] || return 0
  SEG_SOURCE="greenplum.segmentHosts, segmentsPerHost and segmentPortBase (no catalog at hand)"
  for h in ${GPM_SEGMENT_HOSTS:-}; do
    [[ "$h" =~ ^[A-Za-z0-9][A-Za-z0-9.:-]*$ ]] || continue
    SEG_HOSTS+=("$h")
    SEG_PORTS[$h]="$base"
    for ((i = 1; i < 10#$n; i++)); do SEG_PORTS[$h]+=",$((10#$base + i))"; done
  done
}

# segment_fence_command ACTION HOST PORTS: greenplum.segmentFenceCommand for one segment host,
# with the old coordinator's identity in its environment and no GPM_* secret.
segment_fence_command() {
  local action="$1" host="$2" ports="$3" rc=0
  (
    cmd="$GPM_SEGMENT_FENCE_COMMAND" bound="${GPM_SEGMENT_FENCE_TIMEOUT_SECONDS:-60}"
    old="$GPM_OLD_PRIMARY_ADDRESS" name="${GPM_OLD_PRIMARY_NAME:-$GPM_OLD_PRIMARY_ADDRESS}"
    for v in "${!GPM_@}"; do unset "$v"; done
    export GPM_FENCE_ACTION="$action" GPM_FENCE_HOST="$name" GPM_FENCE_ADDRESS="$old" \
      GPM_FENCE_SEGMENT_HOST="$host" GPM_FENCE_SEGMENT_PORTS="$ports" GPM_FENCE_REASON=stale-coordinator
    exec timeout --kill-after=5 "$bound" bash -c "$cmd" </dev/null
  ) 2>&1 | sed 's/^/[segment-fence-command] /' >&2 || rc=$?
  return "$rc"
}

# gpm_segment_fence ACTION: fence|lift|status on every segment host. Sets SEGFENCE_DONE
# (hosts done), SEGFENCE_FAILED (what could not be done, one sentence each), SEGFENCE_MS,
# SEGFENCE_TERMINATED (host:port:n,... of the sessions ended).
SEGFENCE_DONE=() SEGFENCE_FAILED=() SEGFENCE_MS="" SEGFENCE_TERMINATED=""
gpm_segment_fence() {
  local action="$1" old="$GPM_OLD_PRIMARY_ADDRESS" t0 h ports out how tag done
  tag="gpmirror: stale coordinator $old"
  case "$action" in fence) done=fenced ;; lift) done=lifted ;; *) done=checked ;; esac
  SEGFENCE_DONE=() SEGFENCE_FAILED=() SEGFENCE_TERMINATED=""
  t0=$(date +%s%N)
  ((${#SEG_HOSTS[@]})) || {
    SEGFENCE_FAILED+=("no segment host is known (no catalog, no $GPM_SEGMENTS_FILE, no greenplum.segmentHosts): nothing was fenced")
    SEGFENCE_MS=$((($(date +%s%N) - t0) / 1000000))
    return 0
  }
  for h in "${SEG_HOSTS[@]}"; do
    ports="${SEG_PORTS[$h]}"
    out="$(gpm_ssh "$h" "" 30 "$SEG_PROBE" "nft-$action" "$old" "$ports" "$tag" 2>&1)" || {
      SEGFENCE_FAILED+=("segment host $h did not answer over SSH: its ports $ports are not $done")
      continue
    }
    how=""
    case "$out" in
      *nft=added* | *nft=present* | *nft=lifted* | *nft=absent*) how="nft (${out##*nft=})" ;;
      *nft=unavailable*)
        if [[ "$action" == status ]]; then
          how="unknown (no sudo -n nft)"
        elif [[ "$action" == lift && -z "${GPM_SEGMENT_FENCE_COMMAND:-}" ]]; then
          how="nothing to lift (no sudo -n nft, no greenplum.segmentFenceCommand: no rule was added)"
        elif [[ -n "${GPM_SEGMENT_FENCE_COMMAND:-}" ]]; then
          if segment_fence_command "$action" "$h" "$ports"; then
            how="greenplum.segmentFenceCommand"
          else
            SEGFENCE_FAILED+=("segment host $h: greenplum.segmentFenceCommand failed for $action (ports $ports)")
            continue
          fi
        else
          SEGFENCE_FAILED+=("segment host $h: the admin user has no sudo -n nft there and greenplum.segmentFenceCommand is not set: ports $ports are not $done")
          continue
        fi
        ;;
      *)
        SEGFENCE_FAILED+=("segment host $h: nft $action failed ($(tr '\n' ' ' <<<"$out"))")
        continue
        ;;
    esac
    if [[ "$action" == fence ]]; then
      out="$(gpm_ssh "$h" "" 30 "$SEG_PROBE" terminate "$old" "$ports" "$tag" 2>&1 || true)"
      [[ "$out" =~ terminated=([^[:space:]]*) ]] && SEGFENCE_TERMINATED+="${SEGFENCE_TERMINATED:+,}$h:${BASH_REMATCH[1]//,/,$h:}"
    fi
    SEGFENCE_DONE+=("$h: $how")
  done
  SEGFENCE_MS=$((($(date +%s%N) - t0) / 1000000))
  gpm_log "segment fence $action against $old: ${#SEGFENCE_DONE[@]} of ${#SEG_HOSTS[@]} segment host(s) in ${SEGFENCE_MS} ms (${SEGFENCE_DONE[*]:-none}); segments from $SEG_SOURCE${SEGFENCE_TERMINATED:+; sessions ended: $SEGFENCE_TERMINATED}"
  local f
  for f in "${SEGFENCE_FAILED[@]}"; do gpm_log "WARNING: $f"; done
}

# gpm_json_strs ITEMS...: a JSON array of strings.
gpm_json_strs() {
  local out="" x
  for x in "$@"; do out+="${out:+,}$(gpm_json_str "$x")"; done
  printf '[%s]' "$out"
}

if [[ -n "${GPM_SEGMENT_FENCE_ACTION:-}" ]]; then
  set -euo pipefail
  GPM_TAG=segment-fence
  if ! declare -F gpm_log >/dev/null; then
    # shellcheck source=lib.sh
    . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  fi
  gpm_need_match GPM_SEGMENT_FENCE_ACTION '^(fence|lift|status)$' "fence, lift or status"
  gpm_need_host GPM_OLD_PRIMARY_ADDRESS "the stale coordinator's host"
  gpm_gp_setup
  gpm_segments_load "$(gpm_segments_query)"
  gpm_segment_fence "$GPM_SEGMENT_FENCE_ACTION"
  printf '{"action":%s,"segmentHosts":%s,"failed":%s,"ms":%s}\n' "$(gpm_json_str "$GPM_SEGMENT_FENCE_ACTION")" \
    "$(gpm_json_strs "${SEGFENCE_DONE[@]}")" "$(gpm_json_strs "${SEGFENCE_FAILED[@]}")" "$(gpm_json_num "$SEGFENCE_MS")"
  ((${#SEGFENCE_FAILED[@]} == 0))
fi
