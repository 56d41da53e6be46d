/*
 * vault_crypto: custody of PAN and CVC over the HSM (hsm/hsm.h). The only
 * vault module that asks the HSM to encrypt, decrypt or MAC card data.
 *
 * - PAN and CVC: AES-256-GCM inside the token under HSM_KEY_PAN_ENC
 *   ("pan-enc-v1", CKA_SENSITIVE, not CKA_EXTRACTABLE), 96-bit IV, 128-bit
 *   tag; AAD "strongroom/pan/v1|<token>|<merchant>" (resp. ".../cvc/v1|...")
 *   binds each ciphertext to its token and merchant (invariant 2, docs/invariants.md,
 *   PCI DSS v4.0 3.5.1.2 / 3.5.1.3: strong cryptography, keys in an HSM).
 * - Fingerprint: HMAC-SHA256 under HSM_KEY_FP_HMAC ("fp-hmac-v1") of
 *   "<merchant_id>" 0x00 PAN, rendered "fp_" + lowercase hex of the first
 *   16 bytes (PCI DSS v4.0 3.5.1.1: keyed cryptographic hash of the full PAN,
 *   per merchant so fingerprints cannot be correlated across merchants).
 * - Plaintext coming out of the HSM goes into guarded memory (sr_secret_alloc).
 */
#ifndef VAULT_CRYPTO_H
#define VAULT_CRYPTO_H
#include <stddef.h>
#include <stdint.h>

#include "hsm/hsm.h"

#define VAULT_KEY_VERSION_PAN HSM_KEY_PAN_ENC      /* stored in tokens.key_version */
#define VAULT_PAN_CT_MAX      (19 + HSM_GCM_TAG_LEN)
#define VAULT_CVC_CT_MAX      (4 + HSM_GCM_TAG_LEN)
#define VAULT_FP_LEN          (3 + 32)             /* "fp_" + 32 hex */

struct hsm;

/**
 * Encrypt the PAN for (token, merchant) under key_label ("pan-enc-vN": the
 * current version, vault/crypto/vault_keys.h, ADR 0074).
 * @param iv_out 12 bytes; @param ct_out capacity *ct_len >= pan_len + 16;
 *        on success *ct_len is the ciphertext||tag length.
 * @return 0, or -1 with err (no card data in it).
 */
int vault_crypto_encrypt_pan(struct hsm *h, const char *key_label, const char *token,
                             const char *merchant, const char *pan, size_t pan_len,
                             uint8_t iv_out[HSM_GCM_IV_LEN], uint8_t *ct_out, size_t *ct_len,
                             char *err, size_t errlen);

/**
 * Decrypt a PAN made by vault_crypto_encrypt_pan for the same token and
 * merchant under key_version (any "pan-enc-vN" the token still holds).
 * Fails (-1) for any other token, merchant, key version, or altered
 * IV/ciphertext/tag.
 * @param pan_out receives a NUL-terminated guarded buffer (free with
 *        sr_secret_free, which wipes it); @param pan_len_out its length.
 */
int vault_crypto_decrypt_pan(struct hsm *h, const char *key_version, const char *token,
                             const char *merchant, const uint8_t iv[HSM_GCM_IV_LEN],
                             const uint8_t *ct, size_t ct_len, char **pan_out,
                             size_t *pan_len_out, char *err, size_t errlen);

/** As vault_crypto_encrypt_pan for a CVC (AAD "strongroom/cvc/v1|token|merchant"). */
int vault_crypto_encrypt_cvc(struct hsm *h, const char *key_label, const char *token,
                             const char *merchant, const char *cvc, size_t cvc_len,
                             uint8_t iv_out[HSM_GCM_IV_LEN], uint8_t *ct_out, size_t *ct_len,
                             char *err, size_t errlen);

/** As vault_crypto_decrypt_pan for a CVC. */
int vault_crypto_decrypt_cvc(struct hsm *h, const char *key_version, const char *token,
                             const char *merchant, const uint8_t iv[HSM_GCM_IV_LEN],
                             const uint8_t *ct, size_t ct_len, char **cvc_out,
                             size_t *cvc_len_out, char *err, size_t errlen);

/**
 * Per-merchant PAN fingerprint (PCI DSS v4.0 3.5.1.1) under key_label
 * ("fp-hmac-vN", ADR 0074).
 * @param out receives "fp_" + 32 lowercase hex chars + NUL.
 * @return 0, or -1 with err.
 */
int vault_crypto_fingerprint(struct hsm *h, const char *key_label, const char *merchant,
                             const char *pan, size_t pan_len, char out[VAULT_FP_LEN + 1],
                             char *err, size_t errlen);

#endif
