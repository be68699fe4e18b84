#!/usr/bin/env bash
# prepare: Greenplum's environment and version on this host, the parent of the data
# directory, and this user's SSH key (for the trust step). Runs on both hosts as gpadmin.
# Env: GPM_GPHOME GPM_GP_ADMIN GPM_DATA_DIR GPM_DB_PORT [GPM_GP_VERSION_HINT=auto]
#      GPM_ROLE (primary|standby) GPM_SELF_ADDRESS [GPM_HOST_KEY_GLOB=/etc/ssh/ssh_host_*_key.pub]
# Prints: {"gpVersion","flavor","envFile","dataDirVar","pgBin","user","names","publicKey","hostKeys"}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=prepare
if ! declare -F gpm_log >/dev/null; then
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_need_match GPM_ROLE '^(primary|standby)$' "role of this host in the pair"
gpm_need_host GPM_SELF_ADDRESS "this host's address"
gpm_gp_setup
for tool in gpinitstandby gpactivatestandby gpstate gpconfig gpstop psql pg_ctl; do
  command -v "$tool" >/dev/null 2>&1 || gpm_die "$tool is not on PATH after sourcing $ENV_FILE: incomplete Greenplum installation"
done
command -v ssh >/dev/null 2>&1 || gpm_die "ssh is not installed: Greenplum's utilities need it between the hosts"

parent="$(dirname "$DATA_DIR")"
if [[ "$GPM_ROLE" == standby ]]; then
  # gpinitstandby needs the parent to exist and the directory itself not to.
  if [[ ! -d "$parent" ]]; then
    gpm_log "creating $parent (gpinitstandby needs the parent of the standby's data directory)"
    mkdir -p "$parent" || gpm_die "cannot create $parent as $GPM_GP_ADMIN: create it (owned by $GPM_GP_ADMIN) or choose another dataDir"
  fi
  [[ -w "$parent" ]] || gpm_die "$parent is not writable by $GPM_GP_ADMIN"
fi

# This user's key, for Greenplum's own ssh between the hosts: an existing one is kept.
mkdir -p "$HOME/.ssh"
chmod 0700 "$HOME/.ssh"
key=""
for k in id_ed25519 id_rsa id_ecdsa; do
  if [[ -f "$HOME/.ssh/$k" && -f "$HOME/.ssh/$k.pub" ]]; then
    key="$HOME/.ssh/$k"
    break
  fi
done
if [[ -z "$key" ]]; then
  key="$HOME/.ssh/id_ed25519"
  gpm_log "creating an SSH key for $GPM_GP_ADMIN at $key"
  ssh-keygen -q -t ed25519 -N '' -C "$GPM_GP_ADMIN@$(hostname) gpmirror" -f "$key" </dev/null >/dev/null
fi
public_key="$(cut -d' ' -f1,2 "$key.pub")"

host_keys=""
glob="${GPM_HOST_KEY_GLOB:-/etc/ssh/ssh_host_*_key.pub}"
for f in $glob; do
  [[ -r "$f" ]] || continue
  host_keys+="$(cut -d' ' -f1,2 "$f")"$'\n'
done
[[ -n "$host_keys" ]] || gpm_die "no readable SSH host key matches $glob on $(hostname)"

# Every name the peer may use for this host: the pair's address, its host names, and the
# names the catalog gives the master (gpactivatestandby reaches the old master by those).
names="$GPM_SELF_ADDRESS $(hostname) $(hostname -f 2>/dev/null || true)"
if [[ "$GPM_ROLE" == primary ]] && gpm_master_up; then
  names+=" $(gpm_psql -c "SELECT hostname || ' ' || address FROM gp_segment_configuration WHERE content = -1 AND role = 'p'" 2>/dev/null || true)"
fi
names="$(tr ' ' '\n' <<<"$names" | grep -E '^[A-Za-z0-9][A-Za-z0-9.:-]*$' | awk '!seen[$0]++' | tr '\n' ' ')"
names="${names% }"

printf '{"gpVersion":%s,"flavor":%s,"envFile":%s,"dataDirVar":%s,"pgBin":%s,"user":%s,"names":%s,"publicKey":%s,"hostKeys":%s}\n' \
  "$(gpm_json_str "$GP_VERSION")" "$(gpm_json_str "$GP_FLAVOR")" "$(gpm_json_str "$ENV_FILE")" \
  "$(gpm_json_str "$DATA_VAR")" "$(gpm_json_str "$(dirname "$(command -v postgres)")")" \
  "$(gpm_json_str "$GPM_GP_ADMIN")" "$(gpm_json_str "$names")" "$(gpm_json_str "$public_key")" \
  "$(gpm_json_str "${host_keys%$'\n'}")"
