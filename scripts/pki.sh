#!/usr/bin/env bash
# Dev PKI for the appliance (var/pki/): one appliance CA, server certificates for
# the vault's public and internal listeners, the gateway and pspsim, and client
# certificates for the gateway (to the vault) and the vault's egress (to PSPs).
# ECDSA P-256, SHA-256. Keys mode 0600. Idempotent: existing files are kept.
# Dev only: production certificates come from the operator's PKI.
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

# leaf NAME CN KIND(server|client) SAN...
leaf() {
  local name=$1 cn=$2 kind=$3; shift 3
  local san; san=$(IFS=,; echo "$*")
  [ -s "$DIR/$name.crt" ] && [ -s "$DIR/$name.key" ] && return 0
  newkey "$DIR/$name.key"
  local ext; ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    if [ "$kind" = server ]; then echo "extendedKeyUsage=serverAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    echo "subjectAltName=$san"
  } > "$ext"
  openssl req -new -key "$DIR/$name.key" -subj "/O=Strongroom dev/CN=$cn" -out "$DIR/$name.csr"
  openssl x509 -req -in "$DIR/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
    -CAcreateserial -days "$DAYS" -sha256 -extfile "$ext" -out "$DIR/$name.crt" 2>/dev/null
  rm -f "$ext" "$DIR/$name.csr"
  chmod 0644 "$DIR/$name.crt"
}

LOCAL="DNS:localhost,IP:127.0.0.1"
leaf vault-public   vault.strongroom.test          server "DNS:vault.strongroom.test,$LOCAL"
leaf vault-internal vault-internal.strongroom.test server "DNS:vault-internal.strongroom.test,$LOCAL"
leaf gateway        gateway.strongroom.test        server "DNS:gateway.strongroom.test,$LOCAL"
leaf pspsim         psp.strongroom.test            server "DNS:psp.strongroom.test,$LOCAL"
leaf gateway-client gateway.strongroom.internal    client "DNS:gateway.strongroom.internal"
leaf vault-egress   vault-egress.strongroom.internal client "DNS:vault-egress.strongroom.internal"
chmod 0644 "$DIR/ca.crt"
