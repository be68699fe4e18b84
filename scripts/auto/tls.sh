#!/usr/bin/env bash
# tls.sh: the etcd CA and certificates of automatic failover, made once where Pulumi runs.
#   GPM_TLS_DIR   absolute directory (created 0700); keys are kept there, never printed
#   GPM_MEMBERS   name=address pairs, comma-separated (e.g. primary=10.208.0.11,...)
# Each member gets a server+client certificate for its address; the agents use their host's
# member certificate as client certificate. A member whose address changed gets a new one;
# the CA is kept. Prints one JSON line: the directory and the public CA certificate.
set -euo pipefail
die() {
  printf '[auto-tls] ERROR: %s\n' "$*" >&2
  exit 1
}
: "${GPM_TLS_DIR:?GPM_TLS_DIR is required}"
: "${GPM_MEMBERS:?GPM_MEMBERS is required}"
[[ "$GPM_TLS_DIR" =~ ^/[A-Za-z0-9_./-]+$ ]] || die "GPM_TLS_DIR must be an absolute path, got '$GPM_TLS_DIR'"
command -v openssl >/dev/null || die "openssl is required (apt-get install openssl)"
umask 077
mkdir -p "$GPM_TLS_DIR"
cd "$GPM_TLS_DIR"
if [[ ! -f ca.key || ! -f ca.crt ]]; then
  printf '[auto-tls] making the CA in %s\n' "$GPM_TLS_DIR" >&2
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=gpmirror etcd CA" -out ca.crt 2>/dev/null
fi
IFS=',' read -ra members <<<"$GPM_MEMBERS"
for m in "${members[@]}"; do
  name="${m%%=*}" address="${m#*=}"
  [[ "$name" =~ ^[a-z0-9-]{1,40}$ ]] || die "member name '$name' must match [a-z0-9-]"
  [[ "$address" =~ ^[A-Za-z0-9.:-]+$ ]] || die "member address '$address' is not an address"
  if [[ "$address" =~ ^[0-9.]+$ ]]; then san="IP:$address,IP:127.0.0.1"; else san="DNS:$address,IP:127.0.0.1"; fi
  if [[ -f "$name.crt" && -f "$name.key" && -f "$name.san" ]] && [[ "$(cat "$name.san")" == "$san" ]]; then
    continue
  fi
  printf '[auto-tls] certificate for %s (%s)\n' "$name" "$san" >&2
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key" 2>/dev/null
  openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  printf '%s' "$san" >"$name.san"
  rm -f "$name.csr" "$name.ext"
done
jq -cn --arg dir "$GPM_TLS_DIR" --arg ca "$(cat ca.crt)" '{dir: $dir, caCert: $ca}'
