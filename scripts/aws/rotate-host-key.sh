#!/bin/bash
# Installed by user data as /usr/local/sbin/gpmirror-rotate-host-key (root, run through one
# sudo rule by the first-contact step). Replaces sshd's bootstrap ed25519 host key, which
# came in user data, with one generated here, once; later runs change nothing. Prints the
# current public key as one JSON line {"hostKey":"ssh-ed25519 AAAA..."}. sudo resets the
# environment, so GPM_SSH_DIR and GPM_STATE_DIR (for tests) cannot be set through it.
set -euo pipefail
ssh_dir="${GPM_SSH_DIR:-/etc/ssh}"
state_dir="${GPM_STATE_DIR:-/var/lib/gpmirror}"
key="$ssh_dir/ssh_host_ed25519_key"
marker="$state_dir/host-key.rotated"
if [ ! -e "$marker" ]; then
  umask 077
  tmp=$(mktemp -d "$ssh_dir/.gpmirror-key.XXXXXX")
  ssh-keygen -q -t ed25519 -N '' -C "gpmirror-$(hostname)" -f "$tmp/key" </dev/null
  chmod 644 "$tmp/key.pub"
  # The private key first: until the marker exists a crash here only means another rotation.
  mv -f "$tmp/key" "$key"
  mv -f "$tmp/key.pub" "$key.pub"
  rmdir "$tmp"
  mkdir -p "$state_dir"
  touch "$marker"
  echo "rotated the bootstrap host key" >&2
  # New connections get the new key; the session that asked keeps running.
  if [ -z "${GPM_SSH_DIR:-}" ]; then systemctl reload sshd 2>/dev/null || systemctl reload ssh; fi
fi
# A key line is "type base64": nothing in it needs escaping in JSON.
printf '{"hostKey":"%s"}\n' "$(cut -d' ' -f1,2 "$key.pub")"
