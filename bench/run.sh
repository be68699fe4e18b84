#!/usr/bin/env bash
# npm run bench -- [--quick] [...]: see bench/run.ts; npm run bench:drills: bench/drills.ts. Needs root (network-namespace hosts are
# the local stack's as root) and pgbench (Debian ships it in the server package, postgresql-15).
set -euo pipefail
# shellcheck source=scripts/pulumi-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/pulumi-env.sh"
cd "$GPMIRROR_ROOT"
if ! compgen -G '/usr/lib/postgresql/*/bin/pgbench' >/dev/null; then
  echo "bench: pgbench is missing; on Debian it comes with the server package: sudo apt-get install -y postgresql (scripts/setup.sh installs it)" >&2
  exit 1
fi
# --drills first: the drill figures with their reports (bench/drills.ts), not the bench.
if [[ "${1:-}" == --drills ]]; then
  shift
  exec ts-node --transpile-only bench/drills.ts "$@"
fi
exec ts-node --transpile-only bench/run.ts "$@"
