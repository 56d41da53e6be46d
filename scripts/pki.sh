#!/usr/bin/env bash
# Dev PKI for the appliance (var/pki/): one appliance CA, server certificates for
# the vault's public and internal listeners, the gateway and pspsim, and client
# certificates for the gateway (to the vault), the vault's egress (to PSPs) and
# the tests' pspsim control client.
# ECDSA P-256, SHA-256. Keys mode 0600. Idempotent: existing files are kept.
# Dev only: production certificates come from the operator's PKI.
#   scripts/pki.sh DIR          the CA and the file-key certificates
#   scripts/pki.sh DIR vault    the vault's listener certificates: their keys
#                               are generated in the HSM (SoftHSM2 here), the
#                               CA signs the requests `vaultctl tls csr` makes
#                               (ADR 0118); needs the token and SR_VAULTCTL,
#                               vaultctl with its options (split on blanks)
set -euo pipefail
DIR=${1:-var/pki}
DAYS=${SR_PKI_DAYS:-825}
mkdir -p "$DIR"
chmod 0700 "$DIR"
umask 077

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 0600 "$1"; }

if [ ! -s "$DIR/ca.crt" ] || [ ! -s "$DIR/ca.key" ]; then
  newkey "$DIR/ca.key"
  openssl req -x509 -new -key "$DIR/ca.key" -sha256 -days 3650 \
    -subj "/O=Strongroom dev/CN=Strongroom appliance CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$DIR/ca.crt"
fi

# sign_csr CSR NAME KIND SAN OUT: the CA's certificate for a request.
sign_csr() {
  local ext; ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    if [ "$3" = server ]; then echo "extendedKeyUsage=serverAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    echo "subjectAltName=$4"
  } > "$ext"
  openssl x509 -req -in "$1" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
    -CAcreateserial -days "$DAYS" -sha256 -extfile "$ext" -out "$5" 2>/dev/null
  rm -f "$ext"
}

# hsm_leaf NAME ROLE CN KIND SAN...: a certificate whose key is in the HSM
# (ADR 0118): kept while an HSM key of ROLE signs for it, else a new request
# from the HSM, signed by the CA, installed by vaultctl (which checks it).
hsm_leaf() {
  local name=$1 role=$2 cn=$3 kind=$4; shift 4
  local san; san=$(IFS=,; echo "$*")
  rm -f "$DIR/$name.key"   # a key file of the CDE's from an older stack
  if [ -s "$DIR/$name.crt" ] &&
     $SR_VAULTCTL tls install "$role" "$DIR/$name.crt" --out "$DIR/$name.crt" >/dev/null 2>&1; then
    return 0
  fi
  $SR_VAULTCTL tls csr "$role" --org "Strongroom dev" --cn "$cn" --out "$DIR/$name.csr" >/dev/null
  sign_csr "$DIR/$name.csr" "$name" "$kind" "$san" "$DIR/$name.crt.new"
  $SR_VAULTCTL tls install "$role" "$DIR/$name.crt.new" --out "$DIR/$name.crt" >/dev/null
  rm -f "$DIR/$name.csr" "$DIR/$name.crt.new"
  chmod 0644 "$DIR/$name.crt"
}

# leaf NAME CN KIND(server|client) SAN...: a certificate and its key file.
leaf() {
  local name=$1 cn=$2 kind=$3; shift 3
  local san; san=$(IFS=,; echo "$*")
  [ -s "$DIR/$name.crt" ] && [ -s "$DIR/$name.key" ] && return 0
  newkey "$DIR/$name.key"
  openssl req -new -key "$DIR/$name.key" -subj "/O=Strongroom dev/CN=$cn" -out "$DIR/$name.csr"
  sign_csr "$DIR/$name.csr" "$name" "$kind" "$san" "$DIR/$name.crt"
  rm -f "$DIR/$name.csr"
  chmod 0644 "$DIR/$name.crt"
}

LOCAL="DNS:localhost,IP:127.0.0.1"
if [ "${2:-}" = vault ]; then
  hsm_leaf vault-public   public   vault.strongroom.test          server "DNS:vault.strongroom.test,$LOCAL"
  hsm_leaf vault-internal internal vault-internal.strongroom.test server "DNS:vault-internal.strongroom.test,$LOCAL"
  hsm_leaf vault-egress   egress   vault-egress.strongroom.internal client "DNS:vault-egress.strongroom.internal"
  exit 0
fi
leaf gateway        gateway.strongroom.test        server "DNS:gateway.strongroom.test,$LOCAL"
leaf pspsim         psp.strongroom.test            server "DNS:psp.strongroom.test,$LOCAL"
leaf gateway-client gateway.strongroom.internal    client "DNS:gateway.strongroom.internal"
# Tests and the demo reach pspsim's control endpoints (/_sim) as the vault's
# egress identity would: a file key of their own, never the vault's (its key
# is in the HSM, ADR 0118). pspsim is a test double; no PSP trusts this CA.
leaf psp-control    vault-egress.strongroom.internal client "DNS:vault-egress.strongroom.internal"
chmod 0644 "$DIR/ca.crt"
