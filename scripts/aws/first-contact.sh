# shellcheck shell=bash
# The first SSH contact with a new EC2 master (as the OS user, over the connection pinned to
# the one-time bootstrap host key that user data installed): waits until the first-boot
# script has finished, then has the host replace that key with one it generates itself
# (scripts/aws/rotate-host-key.sh, through the one sudo rule user data wrote). The new
# key's public half comes back over this pinned connection, so it is learned without
# trusting anything on first use; its private half never leaves the host.
# Parameters: GPM_TIMEOUT_SECONDS (GPM_BOOT_DIR: tests only). Prints one JSON line {"ready":true,"hostKey":"ssh-ed25519 ..."}.
deadline=$((SECONDS + GPM_TIMEOUT_SECONDS))
boot="${GPM_BOOT_DIR:-/var/lib/gpmirror}"
until [ -e "$boot/user-data.done" ]; do
  # A failure user-data.sh explained (auto-packages.sh: what is missing, and the fix).
  if [ -s "$boot/user-data.error" ]; then
    echo "first boot failed: $(cat "$boot/user-data.error")" >&2
    exit 1
  fi
  if command -v cloud-init >/dev/null && cloud-init status 2>/dev/null | grep -q 'status: error'; then
    echo "first boot failed; see /var/log/gpmirror-user-data.log and cloud-init status --long" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "first boot did not finish within ${GPM_TIMEOUT_SECONDS}s" >&2
    exit 1
  fi
  echo "waiting for first boot to finish" >&2
  sleep 10
done
out=$(sudo -n /usr/local/sbin/gpmirror-rotate-host-key)
if ! [[ "$out" =~ ^\{\"hostKey\":\"(ssh-ed25519\ [A-Za-z0-9+/=]+)\"\}$ ]]; then
  echo "the host did not report a new host key (got '$out')" >&2
  exit 1
fi
printf '{"ready":true,"hostKey":"%s"}\n' "${BASH_REMATCH[1]}"
