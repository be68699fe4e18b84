# shellcheck shell=bash disable=SC2034
# (SC2034: OPERATOR/OPERATOR_CIDRS are read by the scripts that call gpm_operator_params)
# Helpers every engine's remote scripts share: messages and parameter checks.
#
# Delivery: the TypeScript side sends, on the stdin of `bash -s` on the host, export
# GPM_...='...' lines, then this file, then the engine's lib.sh, then one script
# (components/engines/scriptText.ts). It only defines functions; progress goes to stderr,
# stdout is reserved for the one JSON line each script prints at its end.

GPM_TAG="${GPM_TAG:-gpmirror}"

gpm_log() { printf '[%s] %s\n' "$GPM_TAG" "$*" >&2; }

gpm_die() {
  printf '[%s] ERROR: %s\n' "$GPM_TAG" "$*" >&2
  exit 1
}

# gpm_need VAR "what it is": the variable must be set and non-empty.
gpm_need() {
  local name="$1" what="$2"
  [[ -n "${!name:-}" ]] || gpm_die "$name is required ($what)"
}

gpm_need_port() {
  local name="$1" what="$2"
  gpm_need "$name" "$what"
  local v="${!name}"
  if ! [[ "$v" =~ ^[0-9]{1,5}$ ]] || ((10#$v < 1 || 10#$v > 65535)); then
    gpm_die "$name must be a TCP port 1-65535 ($what), got '$v'"
  fi
}

# gpm_need_match VAR REGEX "what it is"
gpm_need_match() {
  local name="$1" re="$2" what="$3"
  gpm_need "$name" "$what"
  [[ "${!name}" =~ $re ]] || gpm_die "$name is invalid ($what), got '${!name}'"
}

# gpm_operator_params: the optional operator login (GPM_OPERATOR_USER, GPM_OPERATOR_PASSWORD,
# GPM_OPERATOR_CIDRS) checked, into OPERATOR ("" when none) and the array OPERATOR_CIDRS.
gpm_operator_params() {
  OPERATOR="${GPM_OPERATOR_USER:-}"
  OPERATOR_CIDRS=()
  [[ -n "$OPERATOR" ]] || return 0
  gpm_need_match GPM_OPERATOR_USER '^[a-z_][a-z0-9_]{0,62}$' "operator role name"
  gpm_need GPM_OPERATOR_PASSWORD "password of the operator role"
  [[ "$GPM_OPERATOR_PASSWORD" != *$'\n'* ]] || gpm_die "GPM_OPERATOR_PASSWORD must not contain a newline"
  read -r -a OPERATOR_CIDRS <<<"${GPM_OPERATOR_CIDRS:-}"
  local c
  for c in "${OPERATOR_CIDRS[@]}"; do
    [[ "$c" =~ ^[0-9A-Fa-f.:]+/[0-9]{1,3}$ ]] || gpm_die "GPM_OPERATOR_CIDRS: '$c' is not a CIDR"
  done
}
