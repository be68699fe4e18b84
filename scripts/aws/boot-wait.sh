# shellcheck shell=bash
# Runs on a new EC2 master (over SSH, as the OS user) before any of the pair's steps: waits
# until the first-boot script has finished, so that no step finds a half-prepared host.
# Parameters: GPM_TIMEOUT_SECONDS. Prints one JSON line.
deadline=$((SECONDS + GPM_TIMEOUT_SECONDS))
until [ -e /var/lib/gpmirror/user-data.done ]; do
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
printf '{"ready":true,"kernel":"%s"}\n' "$(uname -r)"
