#!/usr/bin/env bash
# The Pulumi engine gpmirror runs with.
#
# With a Pulumi you installed (see scripts/pulumi-env.sh) there is nothing to do: your CLI
# and Pulumi's normal plugin handling are used.
#
# Without one (a machine that cannot run Pulumi's installer), the engine goes under
# $PULUMI_HOME (.pulumi-home), where Pulumi finds it without downloading:
#   bin/pulumi                    the CLI, built from github.com/pulumi/pulumi/pkg/v3 (engine/go.mod)
#   bin/pulumi-language-nodejs    Pulumi's official Node.js language host   } from the archive in
#   plugins/resource-command-v<V>/pulumi-resource-command                    } GPMIRROR_PULUMI_PLUGINS
#                                 Pulumi's official command provider, at the version of
#                                 @pulumi/command in package.json
# GPMIRROR_PULUMI_PLUGINS: the official plugins' archive (pulumi-official-plugins.tar.xz, or the
# directory it unpacks to); default ../shared/pulumi-plugins/ beside the checkout.
# Skips what is already in place. Usage: scripts/install-pulumi.sh [--force]
set -euo pipefail
# shellcheck source=scripts/pulumi-env.sh
source "$(dirname "${BASH_SOURCE[0]}")/pulumi-env.sh"
cd "$GPMIRROR_ROOT"

say() { printf '[install-pulumi] %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

if [ "$GPMIRROR_PULUMI" = user ]; then
  say "using your Pulumi: $GPMIRROR_PULUMI_CLI ($("$GPMIRROR_PULUMI_CLI" version 2>/dev/null || echo 'version unknown')); plugins come through Pulumi's own plugin handling"
  exit 0
fi

force=false
[ "${1:-}" = "--force" ] && force=true
command_version="$(node -p 'require("./package.json").dependencies["@pulumi/command"]')"
cli_version="$(awk '$1 == "github.com/pulumi/pulumi/pkg/v3" { print $2 }' engine/go.mod)"
[ -n "$cli_version" ] || die "cannot read the pulumi/pkg/v3 version from engine/go.mod"
stamp_dir="$PULUMI_HOME/.gpmirror-build"
mkdir -p "$PULUMI_HOME/bin" "$stamp_dir"

# --- the CLI ------------------------------------------------------------------------------
build_cli() {
  command -v go >/dev/null ||
    die "no Pulumi here and no Go to build one: install Pulumi (https://www.pulumi.com/docs/install/), or Go 1.26 (https://go.dev/dl)"
  local sources_hash
  sources_hash="$( { echo "$cli_version $(go version)"; sha256sum engine/go.mod engine/go.sum engine/tools.go; } | sha256sum | cut -d' ' -f1)"
  if ! $force && [ -x "$PULUMI_HOME/bin/pulumi" ] && [ "$(cat "$stamp_dir/cli" 2>/dev/null)" = "$sources_hash" ]; then
    say "pulumi CLI $cli_version already built"
    return
  fi
  local start=$SECONDS
  say "building the pulumi CLI $cli_version from github.com/pulumi/pulumi/pkg/v3 (the first build downloads modules and takes several minutes)"
  (cd engine && GOFLAGS="${GOFLAGS:-} -mod=readonly" go build -o "$PULUMI_HOME/bin/pulumi" \
    -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$cli_version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  echo "$sources_hash" >"$stamp_dir/cli"
  say "pulumi CLI built in $((SECONDS - start)) s"
}

# --- Pulumi's official plugins ----------------------------------------------------------
# The version a plugin binary was built as, from Go's build information (-X ...Version=V).
built_version() {
  go version -m "$1" 2>/dev/null | sed -n 's/.*-X [^ ]*\/version\.Version=v\{0,1\}\([0-9][0-9.]*\).*/\1/p' | head -n 1
}

# Where the official plugins come from; checked before anything is built.
plugin_source() {
  local source="${GPMIRROR_PULUMI_PLUGINS:-$GPMIRROR_ROOT/../shared/pulumi-plugins}"
  [ -d "$source" ] && [ -f "$source/pulumi-official-plugins.tar.xz" ] && source="$source/pulumi-official-plugins.tar.xz"
  [ -e "$source" ] ||
    die "Pulumi's official language host and command provider are needed and there is no Pulumi here to fetch them. Install Pulumi (https://www.pulumi.com/docs/install/: it brings both), or set GPMIRROR_PULUMI_PLUGINS to pulumi-official-plugins.tar.xz or the directory it unpacks to (looked for: $source)"
  printf '%s\n' "$source"
}

install_plugins() {
  local source="$1"
  local plugin_dir="$PULUMI_HOME/plugins/resource-command-v$command_version"
  local archive_hash=""
  if [ -f "$source" ]; then archive_hash="$(sha256sum "$source" | cut -d' ' -f1)"; fi
  local want="$archive_hash $command_version $source"
  if ! $force && [ -x "$PULUMI_HOME/bin/pulumi-language-nodejs" ] && [ -x "$plugin_dir/pulumi-resource-command" ] &&
    [ "$(cat "$stamp_dir/plugins" 2>/dev/null)" = "$want" ]; then
    say "Pulumi's official plugins already installed (command provider $command_version)"
    return
  fi
  local dir="$source" tmp=""
  if [ -f "$source" ]; then
    tmp="$(mktemp -d)"
    tar -xJf "$source" -C "$tmp"
    dir="$(dirname "$(find "$tmp" -name pulumi-resource-command -type f | head -n 1)")"
  fi
  [ -x "$dir/pulumi-resource-command" ] && [ -x "$dir/pulumi-language-nodejs" ] ||
    die "$source holds no pulumi-resource-command and pulumi-language-nodejs"
  local got
  got="$(built_version "$dir/pulumi-resource-command")"
  if command -v go >/dev/null && [ "$got" != "$command_version" ]; then
    die "$source has command provider ${got:-of unknown version}, but package.json pins @pulumi/command $command_version: use the matching plugin archive"
  fi
  rm -rf "$plugin_dir" "$plugin_dir.partial"
  mkdir -p "$plugin_dir"
  install -m 0755 "$dir/pulumi-resource-command" "$plugin_dir/pulumi-resource-command"
  install -m 0755 "$dir/pulumi-language-nodejs" "$PULUMI_HOME/bin/pulumi-language-nodejs"
  cp "$dir"/LICENSE* "$plugin_dir/" 2>/dev/null || true
  # The plugin cache counts a plugin as installed only with a lock file beside its directory.
  touch "$plugin_dir.lock"
  [ -z "$tmp" ] || rm -rf "$tmp"
  echo "$want" >"$stamp_dir/plugins"
  say "installed Pulumi's official language host $("$PULUMI_HOME/bin/pulumi-language-nodejs" --version 2>/dev/null) and command provider $command_version"
}

plugins="$(plugin_source)"
build_cli
install_plugins "$plugins"
say "ready: $("$PULUMI_HOME/bin/pulumi" version)"
