#!/usr/bin/env bash
# prepare: check the PostgreSQL binaries, create the data dir's parent and the socket dir.
# Runs on both hosts, as the host's OS user. Env (GPM_*): see the checks below.
# Prints: {"pgBin": "...", "pgVersion": "15.x", "user": "...", "dataDir": "...", "socketDir": "..."}
# shellcheck disable=SC1091,SC2034 # lib.sh is prepended by the caller; it reads GPM_TAG
set -euo pipefail
GPM_TAG=prepare
if ! declare -F gpm_log >/dev/null; then
  # Manual run from a checkout; over SSH the caller prepends lib.sh instead.
  # shellcheck source=lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

gpm_common_setup

gpm_log "PostgreSQL binaries in $PG_BIN"
version_line="$("$PG_BIN/pg_ctl" --version)"
pg_version="$(sed -E 's/^[^0-9]*([0-9]+(\.[0-9]+)?).*/\1/' <<<"$version_line")"

for d in "$HOST_DIR" "$SOCKET_DIR"; do
  if [[ ! -d "$d" ]]; then
    gpm_log "creating $d"
    mkdir -p "$d"
  fi
  [[ -w "$d" ]] || gpm_die "$d is not writable by $OS_USER"
done
chmod 0700 "$SOCKET_DIR"
if [[ -e "$DATA_DIR" && ! -d "$DATA_DIR" ]]; then
  gpm_die "GPM_DATA_DIR $DATA_DIR exists and is not a directory"
fi

jq -cn --arg pgBin "$PG_BIN" --arg pgVersion "$pg_version" --arg user "$OS_USER" \
  --arg dataDir "$DATA_DIR" --arg socketDir "$SOCKET_DIR" \
  '{pgBin: $pgBin, pgVersion: $pgVersion, user: $user, dataDir: $dataDir, socketDir: $socketDir}'
