# shellcheck shell=bash
# Sourced by gpmirror's scripts: the Pulumi engine this project builds, run offline.
# Everything lives under the project (.pulumi-home) unless the caller already chose.
gpm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GPMIRROR_ROOT="$gpm_root"
export PULUMI_HOME="${PULUMI_HOME:-$gpm_root/.pulumi-home}"
export PATH="$PULUMI_HOME/bin:$gpm_root/node_modules/.bin:$PATH"
[ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"
# No update check and no plugin downloads: this machine builds its own engine pieces.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
# The program is type-checked by `npm test` (tsc), not at every `pulumi up`: ts-node's check
# took 4-6 s of each run, and an activation's RTO waits for the program to start.
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
# The local stack keeps its state in a file backend and encrypts secrets with a passphrase
# generated once for this checkout, unless the caller set a backend or passphrase.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PULUMI_HOME/state}"
case "$PULUMI_BACKEND_URL" in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$PULUMI_HOME/passphrase" ]; then
    mkdir -p "$PULUMI_HOME"
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$PULUMI_HOME/passphrase")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PULUMI_HOME/passphrase"
fi
