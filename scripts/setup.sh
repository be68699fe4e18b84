#!/usr/bin/env bash
# Brings this machine to what gpmirror needs, installing only what is missing:
#   Debian packages (PostgreSQL, OpenSSH server, iproute2, jq; nftables and sudo for the
#   local Greenplum stack's segment fence), the npm dependencies
#   (including Node.js 22, pinned as an npm package), and the Pulumi engine pieces.
# Safe to run again: each part is skipped when already in place.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
say() { printf '[setup] %s\n' "$*" >&2; }
# Go's own install location, when the machine has one (it is not always on PATH).
[ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"

# --- system packages -------------------------------------------------------------------
missing=()
have_pg() { compgen -G '/usr/lib/postgresql/*/bin/pg_basebackup' >/dev/null; }
have_pg || missing+=(postgresql)
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null || missing+=(openssh-client)
command -v ip >/dev/null || missing+=(iproute2)
command -v jq >/dev/null || missing+=(jq)
command -v ps >/dev/null || missing+=(procps)
# The local Greenplum stack's segment hosts fence a stale coordinator with nft, through sudo.
[ -x /usr/sbin/nft ] || missing+=(nftables)
[ -x /usr/bin/sudo ] || missing+=(sudo)
command -v go >/dev/null || missing+=(golang-go)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v etcdctl >/dev/null || missing+=(etcd-client)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing packages: ${missing[*]}"
    say "install them with: sudo apt-get install -y ${missing[*]}   (then run this again)"
    exit 1
  fi
  say "installing ${missing[*]} from Debian's archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # policy-rc.d keeps the packages from starting their own services: gpmirror starts its own.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  rm -f /usr/sbin/policy-rc.d
else
  say "system packages present"
fi

# --- npm dependencies (and Node.js 22 with them) ------------------------------------------
stamp="node_modules/.gpmirror-lock-hash"
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
  say "npm dependencies present"
else
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
  echo "$lock_hash" >"$stamp"
fi
node22="$root/node_modules/.bin/node"
"$node22" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)' ||
  { say "node_modules/.bin/node is not Node.js 22+; run: rm -rf node_modules && npm ci"; exit 1; }

# --- the Pulumi engine ------------------------------------------------------------------
bash scripts/install-pulumi.sh

# --- Greenplum (the local Greenplum stack and its suites) -----------------------------------
# Installed from the Greenplum build beside this checkout (../shared/greenplum/install.sh, or
# GPMIRROR_GREENPLUM_INSTALLER), as root; it also installs the Debian packages Greenplum's
# utilities need (python3-psutil, -yaml, -psycopg2, -pygresql, iputils-ping, rsync, ...).
# Without it the Greenplum suites say so, and fail under CI=true.
gp_home=/usr/local/greenplum-db
gp_installer="${GPMIRROR_GREENPLUM_INSTALLER:-$root/../shared/greenplum/install.sh}"
if [ -f "$gp_home/greenplum_path.sh" ]; then
  say "Greenplum present in $gp_home"
elif [ "$(id -u)" -eq 0 ] && [ -f "$gp_installer" ]; then
  say "installing Greenplum into $gp_home with $gp_installer"
  bash "$gp_installer" "$gp_home" >&2
else
  say "Greenplum is not installed in $gp_home and no installer was found at $gp_installer (as root): the Greenplum suites will not run"
fi
