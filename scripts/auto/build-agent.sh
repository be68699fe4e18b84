#!/usr/bin/env bash
# build-agent.sh: builds the failover agent (agent/, its own Go module) where Pulumi runs, once
# per source change. Prints one JSON line: the binary's path and its sha256.
#   GPM_AGENT_OUT  output directory (default $GPMIRROR_ROOT/.agent-build, gitignored)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${GPM_AGENT_OUT:-$root/.agent-build}"
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "[build-agent] ERROR: go is required to build agent/ (see scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$out"
src_sum="$(cd "$root/agent" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)"
bin="$out/gpmirror-agent-$src_sum"
if [[ ! -x "$bin" ]]; then
  echo "[build-agent] building agent/ ($src_sum)" >&2
  (cd "$root/agent" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o "$bin.tmp" .)
  mv -f "$bin.tmp" "$bin"
fi
jq -cn --arg path "$bin" --arg sha256 "$(sha256sum "$bin" | cut -d' ' -f1)" '{path: $path, sha256: $sha256}'
