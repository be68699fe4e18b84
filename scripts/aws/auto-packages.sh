#!/bin/bash
# Automatic failover at first boot: etcd, etcdctl and jq (etcd's members and the steps that
# run them) on the masters and the witness, from the OS's own repositories unless the AMI
# already has them. user-data.sh runs it as root. When they cannot be had, the reason is left
# in $GPM_BOOT_DIR/user-data.error (default /var/lib/gpmirror), which first contact reports
# (first-contact.sh), naming the setting to change. Safe to repeat.
set -euo pipefail
dir="${GPM_BOOT_DIR:-/var/lib/gpmirror}"
missing() {
  local c
  for c in etcd etcdctl jq; do command -v "$c" >/dev/null || printf '%s ' "$c"; done
}
if [ -n "$(missing)" ]; then
  if command -v apt-get >/dev/null; then
    # Debian and Ubuntu: etcd's server and its client are two packages.
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client jq; } || true
  else
    # RHEL's family: jq is in its repositories, etcd only in some (Fedora, added ones).
    pm=$(command -v dnf || command -v yum || true)
    if [ -n "$pm" ]; then
      "$pm" install -y jq || true
      "$pm" install -y etcd || true
    fi
  fi
fi
need=$(missing)
if [ -n "$need" ]; then
  os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -sr)
  msg="automatic failover needs etcd, etcdctl and jq on the masters and the witness: this AMI ($os) lacks ${need% } and its package manager could not install them. Fix: set aws.ami.id (or aws.ami.owner and aws.ami.nameFilter) to an AMI that has them or whose repositories do (Debian, Ubuntu: etcd-server, etcd-client, jq), or pulumi config set gpmirror:activation.automatic false"
  mkdir -p "$dir"
  printf '%s\n' "$msg" >"$dir/user-data.error"
  echo "gpmirror user-data: $msg" >&2
  exit 1
fi
rm -f "$dir/user-data.error"
echo "gpmirror user-data: etcd $(etcd --version | head -n 1 | awk '{print $3}'), etcdctl and jq are installed"
