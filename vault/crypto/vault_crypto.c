/*
 * vault_crypto: PAN/CVC encryption and fingerprints inside the HSM.
 */
#include "vault/crypto/vault_crypto.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_secret.h"
#include "common/sr_util.h"

#define AAD_PAN "strongroom/pan/v1"
#define AAD_CVC "strongroom/cvc/v1"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "<domain>|<token>|<merchant>" into aad; -1 when it does not fit or an id
 * contains the separator (which would make two bindings collide). */
static int make_aad(char *aad, size_t cap, const char *domain, const char *token,
                    const char *merchant, size_t *len_out)
{
	int n;

	if (token == NULL || merchant == NULL || token[0] == '\0' || merchant[0] == '\0' ||
	    strchr(token, '|') != NULL || strchr(merchant, '|') != NULL)
		return -1;
	n = snprintf(aad, cap, "%s|%s|%s", domain, token, merchant);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*len_out = (size_t)n;
	return 0;
}

/* "pan-enc-vN" (N >= 1): a PAN key label of any version (ADR 0074). */
static bool pan_label_ok(const char *label)
{
	size_t i, n;

	if (label == NULL || strncmp(label, "pan-enc-v", 9) != 0)
		return false;
	n = strlen(label);
	if (n == 9 || n > 9 + 6 || label[9] == '0')
		return false;
	for (i = 9; i < n; i++)
		if (label[i] < '0' || label[i] > '9')
			return false;
	return true;
}

static int seal(struct hsm *h, const char *key_label, const char *domain, const char *what,
                const char *token, const char *merchant, const char *pt, size_t pt_len,
                uint8_t iv_out[HSM_GCM_IV_LEN], uint8_t *ct_out, size_t *ct_len,
                char *err, size_t errlen)
{
	char aad[256];
	size_t aad_len = 0;
	char herr[256];

	if (h == NULL || pt == NULL || pt_len == 0 || ct_out == NULL || ct_len == NULL ||
	    *ct_len < pt_len + HSM_GCM_TAG_LEN) {
		seterr(err, errlen, "%s encrypt: bad arguments", what);
		return -1;
	}
	if (!pan_label_ok(key_label)) {
		seterr(err, errlen, "%s encrypt: bad key label", what);
		return -1;
	}
	if (make_aad(aad, sizeof aad, domain, token, merchant, &aad_len) != 0) {
		seterr(err, errlen, "%s encrypt: bad token or merchant id", what);
		return -1;
	}
	/* invariant 2, docs/invariants.md / PCI DSS 3.5.1: AES-256-GCM inside the HSM, AAD
	 * binds the ciphertext to its token and merchant. */
	if (hsm_aes_gcm_encrypt(h, key_label, (const uint8_t *)aad, aad_len,
	                        (const uint8_t *)pt, pt_len, iv_out, ct_out, ct_len,
	                        herr, sizeof herr) != 0) {
		seterr(err, errlen, "%s encrypt: %s", what, herr);
		return -1;
	}
	return 0;
}

static int open_(struct hsm *h, const char *domain, const char *what, const char *key_version,
                 const char *token, const char *merchant, const uint8_t iv[HSM_GCM_IV_LEN],
                 const uint8_t *ct, size_t ct_len, size_t max_pt, char **out, size_t *out_len,
                 char *err, size_t errlen)
{
	char aad[256];
	size_t aad_len = 0;
	char herr[256];
	char *pt = NULL;
	size_t pt_len = 0;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (h == NULL || iv == NULL || ct == NULL || out == NULL || out_len == NULL ||
	    ct_len <= HSM_GCM_TAG_LEN || ct_len > max_pt + HSM_GCM_TAG_LEN) {
		seterr(err, errlen, "%s decrypt: bad arguments", what);
		goto out;
	}
	/* Any version's label (rotation, ADR 0074); the HSM has it or fails. */
	if (!pan_label_ok(key_version)) {
		seterr(err, errlen, "%s decrypt: unknown key version", what);
		goto out;
	}
	if (make_aad(aad, sizeof aad, domain, token, merchant, &aad_len) != 0) {
		seterr(err, errlen, "%s decrypt: bad token or merchant id", what);
		goto out;
	}
	pt_len = ct_len - HSM_GCM_TAG_LEN;
	pt = sr_secret_alloc(pt_len + 1);
	if (pt == NULL) {
		seterr(err, errlen, "%s decrypt: out of guarded memory", what);
		goto out;
	}
	if (hsm_aes_gcm_decrypt(h, key_version, (const uint8_t *)aad, aad_len, iv, ct, ct_len,
	                        (uint8_t *)pt, &pt_len, herr, sizeof herr) != 0) {
		seterr(err, errlen, "%s decrypt: %s", what, herr);
		goto out;
	}
	if (pt_len > max_pt) {
		seterr(err, errlen, "%s decrypt: unexpected plaintext length", what);
		goto out;
	}
	pt[pt_len] = '\0';
	*out = pt;
	*out_len = pt_len;
	pt = NULL;
	rc = 0;
out:
	sr_secret_free(pt);
	return rc;
}

int vault_crypto_encrypt_pan(struct hsm *h, const char *key_label, const char *token,
                             const char *merchant, const char *pan, size_t pan_len,
                             uint8_t iv_out[HSM_GCM_IV_LEN], uint8_t *ct_out, size_t *ct_len,
                             char *err, size_t errlen)
{
	return seal(h, key_label, AAD_PAN, "PAN", token, merchant, pan, pan_len, iv_out, ct_out, ct_len,
	            err, errlen);
}

int vault_crypto_decrypt_pan(struct hsm *h, const char *key_version, const char *token,
                             const char *merchant, const uint8_t iv[HSM_GCM_IV_LEN],
                             const uint8_t *ct, size_t ct_len, char **pan_out,
                             size_t *pan_len_out, char *err, size_t errlen)
{
	return open_(h, AAD_PAN, "PAN", key_version, token, merchant, iv, ct, ct_len, 19,
	             pan_out, pan_len_out, err, errlen);
}

int vault_crypto_encrypt_cvc(struct hsm *h, const char *key_label, const char *token,
                             const char *merchant, const char *cvc, size_t cvc_len,
                             uint8_t iv_out[HSM_GCM_IV_LEN], uint8_t *ct_out, size_t *ct_len,
                             char *err, size_t errlen)
{
	/* PCI DSS 3.3.1.2: CVC held only encrypted, until first authorization. */
	return seal(h, key_label, AAD_CVC, "CVC", token, merchant, cvc, cvc_len, iv_out, ct_out, ct_len,
	            err, errlen);
}

int vault_crypto_decrypt_cvc(struct hsm *h, const char *key_version, const char *token,
                             const char *merchant, const uint8_t iv[HSM_GCM_IV_LEN],
                             const uint8_t *ct, size_t ct_len, char **cvc_out,
                             size_t *cvc_len_out, char *err, size_t errlen)
{
	return open_(h, AAD_CVC, "CVC", key_version, token, merchant, iv, ct, ct_len, 4,
	             cvc_out, cvc_len_out, err, errlen);
}

int vault_crypto_fingerprint(struct hsm *h, const char *key_label, const char *merchant,
                             const char *pan, size_t pan_len, char out[VAULT_FP_LEN + 1],
                             char *err, size_t errlen)
{
	uint8_t mac[32];
	char herr[256];
	uint8_t *msg = NULL;
	size_t mlen = 0;
	size_t msg_len = 0;
	int rc = -1;

	if (h == NULL || key_label == NULL || strncmp(key_label, "fp-hmac-v", 9) != 0 ||
	    merchant == NULL || merchant[0] == '\0' || pan == NULL || pan_len == 0 || out == NULL) {
		seterr(err, errlen, "fingerprint: bad arguments");
		goto out;
	}
	mlen = strlen(merchant);
	msg_len = mlen + 1 + pan_len;
	/* The message holds the PAN: build it in guarded memory. */
	msg = sr_secret_alloc(msg_len);
	if (msg == NULL) {
		seterr(err, errlen, "fingerprint: out of guarded memory");
		goto out;
	}
	memcpy(msg, merchant, mlen);
	msg[mlen] = 0x00;
	memcpy(msg + mlen + 1, pan, pan_len);
	/* PCI DSS 3.5.1.1: keyed cryptographic hash (HMAC-SHA256, key in the
	 * HSM) of the full PAN, scoped per merchant. */
	if (hsm_hmac_sha256(h, key_label, msg, msg_len, mac, herr, sizeof herr) != 0) {
		seterr(err, errlen, "fingerprint: %s", herr);
		goto out;
	}
	memcpy(out, "fp_", 3);
	sr_hex(mac, 16, out + 3);
	rc = 0;
out:
	sodium_memzero(mac, sizeof mac);
	sr_secret_free(msg);
	return rc;
}
