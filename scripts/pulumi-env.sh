# shellcheck shell=bash
# Sourced by gpmirror's scripts: which Pulumi runs, and the settings of the local stack.
#
# A Pulumi you installed yourself (Pulumi's installer: `pulumi` on PATH or ~/.pulumi/bin) is
# used as it is: your PULUMI_HOME, Pulumi's normal plugin downloads. Without one, the project
# uses its own engine under .pulumi-home (scripts/install-pulumi.sh: the CLI built from Go
# modules, and Pulumi's official language host and command provider), run offline.
# GPMIRROR_PULUMI=user|project forces one or the other.
gpm_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GPMIRROR_ROOT="$gpm_root"
gpm_project_home="$gpm_root/.pulumi-home"

# The user's own CLI, if any: not the one this project builds.
gpm_user_pulumi() {
  local candidate
  for candidate in "$(command -v pulumi 2>/dev/null || true)" "$HOME/.pulumi/bin/pulumi"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    case "$(readlink -f "$candidate")" in "$(readlink -f "$gpm_project_home" 2>/dev/null || echo "$gpm_project_home")"/*) continue ;; esac
    printf '%s\n' "$candidate"
    return 0
  done
  return 1
}

if [ -z "${GPMIRROR_PULUMI:-}" ]; then
  if gpm_user_pulumi >/dev/null; then GPMIRROR_PULUMI=user; else GPMIRROR_PULUMI=project; fi
fi
export GPMIRROR_PULUMI
case "$GPMIRROR_PULUMI" in
  user)
    GPMIRROR_PULUMI_CLI="$(gpm_user_pulumi)" || {
      echo "GPMIRROR_PULUMI=user, but no pulumi on PATH or in ~/.pulumi/bin" >&2
      return 1 2>/dev/null || exit 1
    }
    export GPMIRROR_PULUMI_CLI
    export PATH="$(dirname "$GPMIRROR_PULUMI_CLI"):$gpm_root/node_modules/.bin:$PATH"
    ;;
  project)
    export PULUMI_HOME="${PULUMI_HOME:-$gpm_project_home}"
    export GPMIRROR_PULUMI_CLI="$PULUMI_HOME/bin/pulumi"
    export PATH="$PULUMI_HOME/bin:$gpm_root/node_modules/.bin:$PATH"
    # No update check and no plugin downloads: the plugins come from install-pulumi.sh.
    export PULUMI_SKIP_UPDATE_CHECK=true
    export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
    export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
    ;;
  *)
    echo "GPMIRROR_PULUMI must be user or project, got '$GPMIRROR_PULUMI'" >&2
    return 1 2>/dev/null || exit 1
    ;;
esac
[ -x /usr/local/go/bin/go ] && export PATH="$PATH:/usr/local/go/bin"
# The program is type-checked by `npm test` (tsc), not at every `pulumi up`: ts-node's check
# took 4-6 s of each run, and an activation's RTO waits for the program to start.
export PULUMI_NODEJS_TRANSPILE_ONLY="${PULUMI_NODEJS_TRANSPILE_ONLY:-true}"
# The local stack keeps its state in a file backend under the checkout and encrypts secrets
# with a passphrase generated once for this checkout, unless the caller set a backend or
# passphrase (e.g. `pulumi login` to your own backend and PULUMI_BACKEND_URL).
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$gpm_project_home/state}"
case "$PULUMI_BACKEND_URL" in file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;; esac
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  if [ ! -s "$gpm_project_home/passphrase" ]; then
    mkdir -p "$gpm_project_home"
    (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$gpm_project_home/passphrase")
  fi
  export PULUMI_CONFIG_PASSPHRASE_FILE="$gpm_project_home/passphrase"
fi
