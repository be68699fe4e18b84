#!/usr/bin/env bash
# Quick start: installs what is missing, then brings the local stack up end to end: two hosts
# on this machine, a PostgreSQL primary, and a standby streaming WAL from it.
# Usage: scripts/local-up.sh [stack]   (default stack: local)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stack="${1:-local}"
bash "$root/scripts/setup.sh"
source "$root/scripts/pulumi-env.sh"
cd "$root"
pulumi login --non-interactive "$PULUMI_BACKEND_URL" >/dev/null
pulumi stack select --create --non-interactive "$stack" >/dev/null
pulumi up --yes --non-interactive --skip-preview
pulumi stack output --json
