/*
 * vault_egress_key: the egress client's private key held by a signer (the
 * vault's HSM, ADR 0118) as an mbedTLS 2.28 key: an mbedtls_pk_context
 * whose ECDSA signing operation calls the signer. mbedTLS's documented
 * external-key hook (mbedtls_pk_setup_rsa_alt) takes RSA keys only; an EC
 * key needs its own mbedtls_pk_info_t (mbedtls/pk_internal.h, stable in the
 * 2.28 LTS branch).
 */
#ifndef VAULT_EGRESS_KEY_H
#define VAULT_EGRESS_KEY_H
#include <stddef.h>

#include <mbedtls/pk.h>

#include "common/sr_http.h"

/**
 * Make pk (initialised, empty) the key of the certificate key cert_pk (an
 * ECDSA P-256 public key) whose signatures signer makes: signer->bind is
 * called with the certificate's point, signer->sign for every signature
 * (RFC 5246 §7.4.8 CertificateVerify; a SHA-384 handshake hash is signed as
 * its leftmost 256 bits, as ECDSA on P-256 does, ANSI X9.62 §7.3), and
 * signer->release when pk is freed (mbedtls_pk_free). A probe signature is
 * verified with cert_pk before this returns.
 * @return 0, or -1 with err (not a P-256 certificate, no key bound, probe).
 */
int vault_egress_key_setup(mbedtls_pk_context *pk, mbedtls_pk_context *cert_pk,
                           const struct sr_http_signer *signer, char *err, size_t errlen);

#endif
