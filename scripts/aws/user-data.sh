#!/bin/bash
# First boot of a gpmirror master on EC2 (cloud-init's runcmd runs it once, as root; the
# cloud-config around it also installs the pinned sshd host key, before sshd starts). It prepares the
# host the way Greenplum's installation guide asks, installs Greenplum unless the AMI has
# it, and leaves /var/lib/gpmirror/user-data.done behind; the boot step waits for that file
# before any remote step runs. Every step is safe to repeat.
#
# gpmirror prepends the parameters as quoted `export GPM_...=` lines (components/hosts/aws/firstBoot.ts):
#   GPM_OS_USER            the OS user (gpadmin): SSH login, owner of the data directory
#   GPM_AUTHORIZED_KEY     public key gpmirror logs in with
#   GPM_DATA_DIR           the master's data directory; the data volume is mounted at its parent
#   GPM_GP_PREINSTALLED    true: the AMI has Greenplum, install nothing
#   GPM_GP_PACKAGE_URL     https:// or s3:// URL of the Greenplum .rpm or .deb
#   GPM_GP_PACKAGE_SHA256  its SHA-256, checked before installing
set -euo pipefail
exec > >(tee -a /var/log/gpmirror-user-data.log) 2>&1
log() { echo "gpmirror user-data: $*"; }

# --- the OS user, with the key gpmirror logs in with -------------------------------------
if ! id "$GPM_OS_USER" >/dev/null 2>&1; then
  groupadd -f "$GPM_OS_USER"
  useradd -m -g "$GPM_OS_USER" -s /bin/bash "$GPM_OS_USER"
fi
user_home=$(getent passwd "$GPM_OS_USER" | cut -d: -f6)
install -d -m 700 -o "$GPM_OS_USER" -g "$GPM_OS_USER" "$user_home/.ssh"
printf '%s\n' "$GPM_AUTHORIZED_KEY" >"$user_home/.ssh/authorized_keys"
chown "$GPM_OS_USER:$GPM_OS_USER" "$user_home/.ssh/authorized_keys"
chmod 600 "$user_home/.ssh/authorized_keys"

# --- sshd: the pinned host key only, no passwords, room for Greenplum's utilities ---------
# cloud-init installed the pinned host key (ssh_keys) before sshd first started.
# Only the pinned key is offered: a client that prefers another type would otherwise be
# shown a key nobody pinned. sshd keeps the first value it reads for most settings, so ours
# go first, ahead of any Include.
if ! grep -q '^# gpmirror sshd settings' /etc/ssh/sshd_config; then
  sed -i -E 's/^[[:space:]]*HostKey[[:space:]].*$/# gpmirror: &/' /etc/ssh/sshd_config
  {
    cat <<'SSHD'
# gpmirror sshd settings
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
PermitRootLogin no
# Greenplum's utilities open many sessions at once (installation guide).
MaxStartups 10:30:200
MaxSessions 200
UseDNS no
SSHD
    cat /etc/ssh/sshd_config
  } >/etc/ssh/sshd_config.gpmirror
  chmod 600 /etc/ssh/sshd_config.gpmirror
  mv -f /etc/ssh/sshd_config.gpmirror /etc/ssh/sshd_config
fi
sshd -t
systemctl restart sshd 2>/dev/null || systemctl restart ssh

# --- kernel parameters (installation guide: shared memory, overcommit, network) -----------
page_size=$(getconf PAGE_SIZE)
phys_pages=$(getconf _PHYS_PAGES)
shmall=$((phys_pages / 2))
cat >/etc/sysctl.d/90-greenplum.conf <<SYSCTL
kernel.shmall = $shmall
kernel.shmmax = $((shmall * page_size))
kernel.shmmni = 4096
vm.overcommit_memory = 2
vm.overcommit_ratio = 95
net.ipv4.ip_local_port_range = 10000 65535
kernel.sem = 250 2048000 200 8192
kernel.sysrq = 1
kernel.core_uses_pid = 1
kernel.msgmnb = 65536
kernel.msgmax = 65536
kernel.msgmni = 2048
net.ipv4.tcp_syncookies = 1
net.ipv4.conf.default.accept_source_route = 0
net.ipv4.tcp_max_syn_backlog = 4096
net.ipv4.conf.all.arp_filter = 1
net.ipv4.ipfrag_high_thresh = 41943040
net.ipv4.ipfrag_low_thresh = 31457280
net.ipv4.ipfrag_time = 60
net.core.netdev_max_backlog = 10000
net.core.rmem_max = 2097152
net.core.wmem_max = 2097152
vm.swappiness = 10
vm.zone_reclaim_mode = 0
vm.dirty_expire_centisecs = 500
vm.dirty_writeback_centisecs = 100
vm.dirty_background_ratio = 3
vm.dirty_ratio = 10
SYSCTL
sysctl --system >/dev/null

# --- resource limits ----------------------------------------------------------------------
cat >/etc/security/limits.d/99-greenplum.conf <<'LIMITS'
* soft nofile 524288
* hard nofile 524288
* soft nproc 131072
* hard nproc 131072
LIMITS

# --- the data volume, mounted at the data directory's parent --------------------------------
mount_point=$(dirname "$GPM_DATA_DIR")
root_disk=$(lsblk -no PKNAME "$(findmnt -no SOURCE /)" | head -n1)
data_disk=""
for _ in $(seq 1 60); do # the attached volume may appear a little after boot
  data_disk=$(lsblk -dno NAME,TYPE | awk -v root="$root_disk" '$2 == "disk" && $1 != root { print $1; exit }')
  [ -n "$data_disk" ] && break
  sleep 5
done
[ -n "$data_disk" ] || { log "no data volume found"; exit 1; }
device="/dev/$data_disk"
if ! blkid "$device" >/dev/null 2>&1; then
  log "formatting $device (xfs)"
  mkfs.xfs -q "$device"
fi
uuid=$(blkid -s UUID -o value "$device")
mkdir -p "$mount_point"
if ! grep -q "UUID=$uuid" /etc/fstab; then
  # Mount options from the installation guide; nofail keeps a missing volume from blocking boot.
  echo "UUID=$uuid $mount_point xfs rw,nodev,noatime,inode64,nofail 0 2" >>/etc/fstab
fi
mountpoint -q "$mount_point" || mount "$mount_point"
chown "$GPM_OS_USER:$GPM_OS_USER" "$mount_point"

# --- Greenplum ----------------------------------------------------------------------------
if [ "$GPM_GP_PREINSTALLED" != "true" ]; then
  package="/var/tmp/$(basename "$GPM_GP_PACKAGE_URL")"
  case "$GPM_GP_PACKAGE_URL" in
    s3://*) aws s3 cp --only-show-errors "$GPM_GP_PACKAGE_URL" "$package" ;;
    *) curl -fsSL --retry 5 -o "$package" "$GPM_GP_PACKAGE_URL" ;;
  esac
  echo "$GPM_GP_PACKAGE_SHA256  $package" | sha256sum -c -
  case "$package" in
    *.rpm) if command -v dnf >/dev/null; then dnf install -y "$package"; else yum install -y "$package"; fi ;;
    *.deb) apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" ;;
  esac
  rm -f "$package"
fi
chown -R "$GPM_OS_USER:$GPM_OS_USER" /usr/local/greenplum-db* 2>/dev/null || true

mkdir -p /var/lib/gpmirror
touch /var/lib/gpmirror/user-data.done
log "done"
