#!/usr/bin/env bash
# Quick start: installs what is missing, then brings a local stack up end to end: hosts on
# this machine, a primary, and a standby streaming WAL from it.
# Usage: scripts/local-up.sh [--engine postgres|greenplum] [stack]
#   postgres (default): stack `local`, two hosts with PostgreSQL.
#   greenplum: stack `local-greenplum` (root), a coordinator, a standby and a segment host
#   with Greenplum (installed from ../shared/greenplum, or GPMIRROR_GREENPLUM_INSTALLER, when
#   greenplum.gphome has none).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
engine=postgres
if [[ "${1:-}" == --engine ]]; then
  engine="${2:-}"
  shift 2 || true
elif [[ "${1:-}" == --engine=* ]]; then
  engine="${1#--engine=}"
  shift
fi
case "$engine" in
  postgres) default_stack=local ;;
  greenplum) default_stack=local-greenplum ;;
  *)
    echo "usage: scripts/local-up.sh [--engine postgres|greenplum] [stack]" >&2
    exit 2
    ;;
esac
stack="${1:-$default_stack}"
bash "$root/scripts/setup.sh"
source "$root/scripts/pulumi-env.sh"
cd "$root"
pulumi login --non-interactive "$PULUMI_BACKEND_URL" >/dev/null
pulumi stack select --create --non-interactive "$stack" >/dev/null
# A stack named otherwise than the stack files gets the engine asked for.
if [[ "$(pulumi config get gpmirror:engine 2>/dev/null || echo postgres)" != "$engine" ]]; then
  pulumi config set gpmirror:engine "$engine" >/dev/null
fi
pulumi up --yes --non-interactive --skip-preview
pulumi stack output --json
