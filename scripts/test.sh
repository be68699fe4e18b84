#!/usr/bin/env bash
# The whole test suite: the type check, then jest (unit tests with Pulumi's mocks; the
# integration, Greenplum and fault tests on the real engine, with Pulumi's official plugins or
# your own Pulumi). jest prints the closing "N passed, N failed" line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/pulumi-env.sh"
cd "$root"
# `pulumi up` runs the program without type-checking it (pulumi-env.sh): this is where it is.
tsc --noEmit -p .
# The failover agent's own tests (Go; scripts/setup.sh installs it).
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
(cd agent && go test ./...)
jest --runInBand "$@"
