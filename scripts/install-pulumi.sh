#!/usr/bin/env bash
# Builds the Pulumi engine pieces gpmirror needs from Go modules (Pulumi's installer downloads
# binaries, which this project cannot rely on), and installs them where the engine finds them
# without downloading:
#   $PULUMI_HOME/bin/pulumi                    the CLI, github.com/pulumi/pulumi/pkg/v3 cmd/pulumi
#   $PULUMI_HOME/bin/pulumi-language-nodejs    gpmirror's Node.js language host (engine/cmd)
#   $PULUMI_HOME/plugins/resource-command-v<V>/pulumi-resource-command
#                                              gpmirror's command provider (engine/cmd), at the
#                                              version @pulumi/command in package.json declares
# Versions are pinned in engine/go.mod and package.json. Skips what is already built from the
# same sources. Usage: scripts/install-pulumi.sh [--force]
set -euo pipefail
# shellcheck source=scripts/pulumi-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/pulumi-env.sh"
cd "$GPMIRROR_ROOT"

say() { printf '[install-pulumi] %s\n' "$*" >&2; }

command -v go >/dev/null || { say "Go is required (https://go.dev/dl, or Debian's golang-go >= 1.26)"; exit 1; }

cli_version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' engine/go.mod)"
command_version="$(node -p 'require("./node_modules/@pulumi/command/package.json").version' 2>/dev/null || true)"
if [ -z "$command_version" ]; then
  command_version="$(node -p 'require("./package.json").dependencies["@pulumi/command"]')"
fi
[ -n "$cli_version" ] || { say "cannot read the pulumi/pkg/v3 version from engine/go.mod"; exit 1; }

# One stamp for all pieces: the versions and every source file that goes into them.
stamp_dir="$PULUMI_HOME/.gpmirror-build"
sources_hash="$( { echo "$cli_version $command_version $(go version)"; find engine -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -not -name '*_test.go' | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1)"
plugin_dir="$PULUMI_HOME/plugins/resource-command-v$command_version"
if [ "${1:-}" != "--force" ] && [ -f "$stamp_dir/stamp" ] && [ "$(cat "$stamp_dir/stamp")" = "$sources_hash" ] \
  && [ -x "$PULUMI_HOME/bin/pulumi" ] && [ -x "$PULUMI_HOME/bin/pulumi-language-nodejs" ] \
  && [ -x "$plugin_dir/pulumi-resource-command" ]; then
  say "engine pieces already built (pulumi $cli_version, command provider $command_version); nothing to do"
  exit 0
fi

mkdir -p "$PULUMI_HOME/bin" "$plugin_dir" "$stamp_dir"
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
start=$(date +%s)
say "building the pulumi CLI $cli_version from github.com/pulumi/pulumi/pkg/v3 (first build downloads modules and takes several minutes)"
(cd engine && go build -o "$PULUMI_HOME/bin/pulumi" \
  -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
  github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
say "building the Node.js language host"
(cd engine && go build -o "$PULUMI_HOME/bin/pulumi-language-nodejs" ./cmd/pulumi-language-nodejs)
say "building the command provider v$command_version"
(cd engine && go build -ldflags "-X main.version=$command_version" -o "$plugin_dir/pulumi-resource-command" ./cmd/pulumi-resource-command)
# The plugin cache counts a plugin as installed only without a .partial marker and with a
# lock file beside it.
rm -f "$plugin_dir.partial"
touch "$plugin_dir.lock"
echo "$sources_hash" >"$stamp_dir/stamp"
say "done in $(($(date +%s) - start)) s: $("$PULUMI_HOME/bin/pulumi" version)"
