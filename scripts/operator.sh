#!/usr/bin/env bash
# Runs an operator CLI (scripts/<name>.ts) with the project's engine environment:
#   bash scripts/operator.sh status --stack local [--json]
set -euo pipefail
# shellcheck source=scripts/pulumi-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/pulumi-env.sh"
cd "$GPMIRROR_ROOT"
name="${1:?usage: scripts/operator.sh status|drill|repair [args]}"
shift
[[ "$name" =~ ^[a-z-]+$ && -f "scripts/$name.ts" ]] || { echo "no operator command $name" >&2; exit 1; }
exec ts-node --transpile-only "scripts/$name.ts" "$@"
