#!/usr/bin/env bash
# Generates an sshd host key pair on the machine that runs Pulumi. An EC2 instance's own
# host key is not known before it boots, so gpmirror makes the key first, installs it on
# the instance through user data and pins its public half: the first SSH connection is
# already checked, never trusted on first use. Prints one JSON line
# {"privateKey": "...", "publicKey": "ssh-ed25519 AAAA..."}; Pulumi keeps it as a secret.
set -euo pipefail
umask 077
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ssh-keygen -q -t ed25519 -N '' -C "${GPM_COMMENT:-gpmirror}" -f "$dir/key" </dev/null
jq -cn --rawfile privateKey "$dir/key" --arg publicKey "$(cut -d' ' -f1,2 "$dir/key.pub")" \
  '{privateKey: $privateKey, publicKey: $publicKey}'
