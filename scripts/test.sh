#!/usr/bin/env bash
# The whole test suite: the Go engine plugins' tests, the type check, then jest (unit tests with Pulumi's
# mocks, and the integration test on the real engine). jest prints the closing
# "N passed, N failed" line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/pulumi-env.sh"
(cd "$root/engine" && go test ./...)
cd "$root"
# `pulumi up` runs the program without type-checking it (pulumi-env.sh): this is where it is.
tsc --noEmit -p .
jest --runInBand "$@"
