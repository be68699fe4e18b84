#!/usr/bin/env bash
# Writes (create) or removes (destroy) the known_hosts file that the activation command
# names, so that a command pasted by an operator checks the same pinned host keys as
# gpmirror does. Host keys are public; the file holds nothing secret.
# Parameters: GPM_KNOWN_HOSTS_FILE (absolute path), GPM_KNOWN_HOSTS (the lines).
set -euo pipefail
case "${1:-}" in
  create)
    umask 077
    mkdir -p "$(dirname "$GPM_KNOWN_HOSTS_FILE")"
    tmp="$GPM_KNOWN_HOSTS_FILE.tmp.$$"
    printf '%s\n' "$GPM_KNOWN_HOSTS" >"$tmp"
    mv -f "$tmp" "$GPM_KNOWN_HOSTS_FILE"
    echo "wrote $GPM_KNOWN_HOSTS_FILE" >&2
    ;;
  destroy)
    rm -f "$GPM_KNOWN_HOSTS_FILE"
    ;;
  *)
    echo "usage: known-hosts.sh create|destroy" >&2
    exit 2
    ;;
esac
