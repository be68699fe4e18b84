#!/bin/bash
# First boot of a gpmirror master on EC2 (cloud-init's runcmd runs it once, as root; the
# cloud-config around it also installs a one-time bootstrap sshd host key before sshd first
# starts, and the script that replaces that key at first contact). It prepares the host the
# way Greenplum's installation guide asks, mounts the data volume chosen by its id, installs
# Greenplum unless the AMI has it, and leaves /var/lib/gpmirror/user-data.done behind; the
# first-contact step waits for that file before any remote step runs. Every step is safe to
# repeat.
#
# gpmirror prepends the parameters as quoted `export GPM_...=` lines (components/hosts/aws/firstBoot.ts):
#   GPM_OS_USER            the OS user (gpadmin): SSH login, owner of the data directory
#   GPM_OS_UID             its fixed UID (and GID), the same on every host of the cluster
#   GPM_AUTHORIZED_KEY     public key gpmirror logs in with
#   GPM_DATA_DIR           the master's data directory; the data volume is mounted at its parent
#   GPM_DATA_VOLUME_ID     the data volume's id (vol-...): the only disk it will mount there;
#                          empty for etcd's witness, which has none
#   GPM_GP_PREINSTALLED    true: the AMI has Greenplum, install nothing
#   GPM_GP_PACKAGE_URL     https:// or s3:// URL of the Greenplum .rpm or .deb
#   GPM_GP_PACKAGE_SHA256  its SHA-256, checked before installing
#   GPM_AUTO_PACKAGES      true (automatic failover): etcd, etcdctl and jq installed unless the
#                          AMI has them (/var/lib/gpmirror/auto-packages.sh, which cloud-config
#                          writes); a failure is left in user-data.error for first contact
set -euo pipefail
exec > >(tee -a /var/log/gpmirror-user-data.log) 2>&1
log() { echo "gpmirror user-data: $*"; }

# --- the OS user, with the key gpmirror logs in with -------------------------------------
# A fixed UID, as on the segment hosts: files on shared or restored volumes keep their owner.
if ! id "$GPM_OS_USER" >/dev/null 2>&1; then
  getent group "$GPM_OS_USER" >/dev/null || groupadd -g "$GPM_OS_UID" "$GPM_OS_USER"
  useradd -m -u "$GPM_OS_UID" -g "$GPM_OS_USER" -s /bin/bash "$GPM_OS_USER"
elif [ "$(id -u "$GPM_OS_USER")" != "$GPM_OS_UID" ]; then
  log "WARNING: $GPM_OS_USER exists with UID $(id -u "$GPM_OS_USER"), not $GPM_OS_UID (the AMI made it); left as it is"
fi
user_home=$(getent passwd "$GPM_OS_USER" | cut -d: -f6)
install -d -m 700 -o "$GPM_OS_USER" -g "$GPM_OS_USER" "$user_home/.ssh"
printf '%s\n' "$GPM_AUTHORIZED_KEY" >"$user_home/.ssh/authorized_keys"
chown "$GPM_OS_USER:$GPM_OS_USER" "$user_home/.ssh/authorized_keys"
chmod 600 "$user_home/.ssh/authorized_keys"

# --- sshd: the pinned host key only, no passwords, room for Greenplum's utilities ---------
# cloud-init installed the bootstrap host key (ssh_keys) before sshd first started; the
# first-contact step has the host replace it (gpmirror-rotate-host-key, the only command the
# OS user may run as root) and learns the new key over the connection pinned to the old.
cat >/etc/sudoers.d/gpmirror-host-key <<SUDO
$GPM_OS_USER ALL=(root) NOPASSWD: /usr/local/sbin/gpmirror-rotate-host-key
SUDO
chmod 440 /etc/sudoers.d/gpmirror-host-key
visudo -cf /etc/sudoers.d/gpmirror-host-key >/dev/null
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
mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
# Installation guide: 3% of memory kept free; absolute dirty limits above 64 GB of memory.
min_free_kbytes=$((mem_kb * 3 / 100))
if [ "$mem_kb" -gt $((64 * 1024 * 1024)) ]; then
  dirty=$'vm.dirty_background_ratio = 0\nvm.dirty_ratio = 0\nvm.dirty_background_bytes = 1610612736\nvm.dirty_bytes = 4294967296'
else
  dirty=$'vm.dirty_background_ratio = 3\nvm.dirty_ratio = 10'
fi
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
vm.min_free_kbytes = $min_free_kbytes
$dirty
SYSCTL
sysctl --system >/dev/null

# --- the rest of the installation guide's host settings ------------------------------------
# systemd-logind must not remove gpadmin's shared memory and semaphores when it logs out.
mkdir -p /etc/systemd/logind.conf.d
printf '[Login]\nRemoveIPC=no\n' >/etc/systemd/logind.conf.d/gpmirror.conf
systemctl restart systemd-logind || true
# Transparent huge pages off, now and at every boot.
for f in /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag; do
  [ -w "$f" ] && echo never >"$f"
done
if command -v grubby >/dev/null; then grubby --update-kernel=ALL --args=transparent_hugepage=never; fi
# SELinux off, as the guide asks (permissive now, disabled from the next boot).
if command -v setenforce >/dev/null && [ "$(getenforce 2>/dev/null)" = Enforcing ]; then setenforce 0; fi
[ -f /etc/selinux/config ] && sed -i -E 's/^SELINUX=.*/SELINUX=disabled/' /etc/selinux/config
# Time from the Amazon Time Sync Service (link-local, needs no egress).
if [ -f /etc/chrony.conf ]; then
  grep -q '^server 169.254.169.123' /etc/chrony.conf ||
    sed -i '1i server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4' /etc/chrony.conf
  systemctl enable --now chronyd && systemctl restart chronyd
else
  log "WARNING: chrony is not installed; install it and point it at 169.254.169.123"
fi

# --- resource limits ----------------------------------------------------------------------
cat >/etc/security/limits.d/99-greenplum.conf <<'LIMITS'
* soft nofile 524288
* hard nofile 524288
* soft nproc 131072
* hard nproc 131072
LIMITS

# --- the data volume, by its id, mounted at the data directory's parent --------------------
# Nitro shows an EBS volume as an NVMe disk whose serial is the volume id without its dash;
# another disk (a local NVMe instance store, say) is never taken for it.
mount_point=$(dirname "$GPM_DATA_DIR")
if [ -n "$GPM_DATA_VOLUME_ID" ]; then
  by_id="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${GPM_DATA_VOLUME_ID//-/}"
  for _ in $(seq 1 120); do # the attachment comes after the instance: wait up to 10 minutes
    [ -b "$by_id" ] && break
    sleep 5
  done
  [ -b "$by_id" ] || { log "data volume $GPM_DATA_VOLUME_ID not attached ($by_id missing)"; exit 1; }
  device=$(readlink -f "$by_id")
  if ! blkid "$device" >/dev/null 2>&1; then
    log "formatting $device ($GPM_DATA_VOLUME_ID, xfs)"
    mkfs.xfs -q "$device"
  fi
  uuid=$(blkid -s UUID -o value "$device")
  mkdir -p "$mount_point"
  # Nothing may write to the root disk under the mount point while the volume is not mounted.
  mountpoint -q "$mount_point" || chattr +i "$mount_point"
  if ! grep -q "UUID=$uuid" /etc/fstab; then
    # Mount options from the installation guide, and deliberately not the one that lets boot
    # go on without the volume: a host whose data volume is missing does not finish booting,
    # rather than run on the root disk.
    echo "UUID=$uuid $mount_point xfs rw,nodev,noatime,inode64,x-systemd.device-timeout=300s 0 2" >>/etc/fstab
  fi
  mountpoint -q "$mount_point" || mount "$mount_point"
  chown "$GPM_OS_USER:$GPM_OS_USER" "$mount_point"
  # Read-ahead 16384 sectors and the deadline scheduler for the data disk (installation guide).
  cat >/etc/udev/rules.d/60-gpmirror-data.rules <<UDEV
ACTION=="add|change", KERNEL=="nvme*n*", ATTRS{serial}=="${GPM_DATA_VOLUME_ID//-/}", ATTR{queue/scheduler}="mq-deadline", ATTR{bdi/read_ahead_kb}="8192"
UDEV
  udevadm control --reload && udevadm trigger --action=change "$device" || true
  blockdev --setra 16384 "$device"
else
  # etcd's witness (automatic failover): no database, no data volume; etcd's directory is
  # on the root disk beside the (unused) data directory.
  install -d -m 755 -o "$GPM_OS_USER" -g "$GPM_OS_USER" "$mount_point"
fi

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

# --- automatic failover: etcd, etcdctl and jq ----------------------------------------------
if [ "$GPM_AUTO_PACKAGES" = "true" ]; then bash /var/lib/gpmirror/auto-packages.sh; fi

mkdir -p /var/lib/gpmirror
touch /var/lib/gpmirror/user-data.done
log "done"
