#!/usr/bin/env bash
# make checkout: start the dev stack if needed (make up starts the example
# merchant checkout too) and print how to open it in a browser. The stack
# keeps running; make down stops it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
scripts/up.sh
set -a; . "$VAR/dev.env"; set +a
spki=$(openssl x509 -in var/pki/vault-public.crt -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A)
spki2=$(openssl x509 -in var/pki/pspsim.crt -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A)
cat <<TXT

Example checkout: $CHECKOUT_URL
  card fields from $VAULT_URL, 3-D Secure challenges from $PSP_CHALLENGE_URL
  The browser must trust the dev CA (var/pki/ca.crt) and resolve psp.strongroom.test
  to 127.0.0.1, e.g.:
    chromium --host-resolver-rules='MAP psp.strongroom.test 127.0.0.1' \\
      --ignore-certificate-errors-spki-list=$spki,$spki2 $CHECKOUT_URL
  Requests the merchant's server received: var/log/checkout-requests.log
  Stop everything with: make down
TXT
