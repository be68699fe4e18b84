#!/usr/bin/env bash
# The whole test suite: the Go engine plugins' tests, then jest (unit tests with Pulumi's
# mocks, and the integration test on the real engine). jest prints the closing
# "N passed, N failed" line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/pulumi-env.sh"
(cd "$root/engine" && go test ./...)
cd "$root"
jest --runInBand "$@"
