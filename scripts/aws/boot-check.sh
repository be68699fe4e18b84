# shellcheck shell=bash
# Runs on an EC2 master (as the OS user, pinned to its own host key) after it was created,
# stopped or changed, before any of the pair's steps: the data directory's parent must be
# the data volume itself (never the root disk under an unmounted mount point).
# Parameters: GPM_DATA_DIR, GPM_DATA_VOLUME_ID (vol-...). Prints one JSON line.
mount_point=$(dirname "$GPM_DATA_DIR")
device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${GPM_DATA_VOLUME_ID//-/}"
want=$(readlink -f "$device" || true)
have=$(findmnt -no SOURCE --target "$mount_point" || true)
target=$(findmnt -no TARGET --target "$mount_point" || true)
if [ -z "$want" ] || [ ! -b "$want" ]; then
  echo "the data volume $GPM_DATA_VOLUME_ID is not attached ($device is missing)" >&2
  exit 1
fi
if [ "$target" != "$mount_point" ] || [ "$(readlink -f "$have")" != "$want" ]; then
  echo "$mount_point is not the data volume $GPM_DATA_VOLUME_ID ($want) but $have mounted at $target: see /var/log/gpmirror-user-data.log and journalctl -b" >&2
  exit 1
fi
# Kernel releases, volume ids and device paths hold nothing that needs escaping in JSON.
printf '{"ready":true,"kernel":"%s","dataVolume":"%s","device":"%s"}\n' \
  "$(uname -r)" "$GPM_DATA_VOLUME_ID" "$want"
