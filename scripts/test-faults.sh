#!/usr/bin/env bash
# The fault suite alone (test/faults/): failures injected into real local hosts (as root).
# GPMIRROR_FAULT_ROUNDS (default 1) sets how many rounds of each primary-killed test run.
set -euo pipefail
# shellcheck source=scripts/pulumi-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/pulumi-env.sh"
cd "$GPMIRROR_ROOT"
jest --runInBand --selectProjects faults "$@"
