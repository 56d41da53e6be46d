/*
 * hsm_ops: the operations with keys that stay in the token: random bytes,
 * AES-256-GCM encrypt/decrypt, HMAC-SHA256, ECDSA signatures (PKCS#11
 * v2.40; see hsm.h), with their latency and error metrics.
 */
#include "hsm/hsm.h"
#include "hsm/hsm_internal.h"

#include "common/sr_metrics.h"
#include "common/sr_secret.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static const char *const g_init_names[] = { "C_EncryptInit", "C_DecryptInit", "C_SignInit" };

/* C_EncryptInit, C_DecryptInit or C_SignInit (PKCS#11 v2.40 §5.8, §5.9, §5.11) of key in s. */
static CK_RV op_start(struct hsm *h, CK_SESSION_HANDLE s, enum hsm_op op, CK_MECHANISM *mech,
                      CK_OBJECT_HANDLE key)
{
	switch (op) {
	case HSM_OP_ENCRYPT:
		return h->p11->C_EncryptInit(s, mech, key);
	case HSM_OP_DECRYPT:
		return h->p11->C_DecryptInit(s, mech, key);
	case HSM_OP_SIGN:
		return h->p11->C_SignInit(s, mech, key);
	}
	return CKR_GENERAL_ERROR;
}

/*
 * The single-part C_Encrypt, C_Decrypt or C_Sign of the operation started in
 * s: in (inlen bytes; an empty message still gets a non-NULL pointer, some
 * modules want one) into out (capacity *outlen, then the length written).
 * 0, or -1 with err. CKR_BUFFER_TOO_SMALL leaves the operation active (§5.2),
 * and some modules (SoftHSM2 on CKR_ARGUMENTS_BAD) do so on other errors
 * too: the caller replaces the session whenever this fails.
 */
static int op_run(struct hsm *h, CK_SESSION_HANDLE s, enum hsm_op op, const uint8_t *in,
                  size_t inlen, uint8_t *out, CK_ULONG *outlen, char *err, size_t errlen)
{
	static const char *const names[] = { "C_Encrypt", "C_Decrypt", "C_Sign" };
	CK_BYTE empty = 0;
	CK_BYTE_PTR p = inlen > 0 ? (CK_BYTE_PTR)in : &empty;
	CK_RV rv = CKR_GENERAL_ERROR;

	switch (op) {
	case HSM_OP_ENCRYPT:
		rv = h->p11->C_Encrypt(s, p, (CK_ULONG)inlen, out, outlen);
		break;
	case HSM_OP_DECRYPT:
		rv = h->p11->C_Decrypt(s, p, (CK_ULONG)inlen, out, outlen);
		break;
	case HSM_OP_SIGN:
		rv = h->p11->C_Sign(s, p, (CK_ULONG)inlen, out, outlen);
		break;
	}
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, names[op], rv);
		return -1;
	}
	return 0;
}

int hsm_op_once(struct hsm *h, CK_SESSION_HANDLE s, enum hsm_op op, CK_MECHANISM *mech,
                CK_OBJECT_HANDLE key, const uint8_t *in, size_t inlen, uint8_t *out,
                CK_ULONG *outlen, char *err, size_t errlen)
{
	CK_RV rv = op_start(h, s, op, mech, key);

	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, g_init_names[op], rv);
		return -1;
	}
	return op_run(h, s, op, in, inlen, out, outlen, err, errlen);
}

/*
 * Look the key up (cache first) and start the operation in session s. A
 * cached handle that went stale (the key was destroyed and re-created, e.g.
 * by vaultctl) is forgotten and looked up once more. 0, or -1 with err.
 */
static int op_init_cls(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                       const char *label, enum hsm_op op, CK_MECHANISM *mech, char *err,
                       size_t errlen)
{
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_RV rv = CKR_GENERAL_ERROR;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (hsm_key_handle_cls(h, s, cls, label, &key, err, errlen) != 0)
			return -1;
		rv = op_start(h, s, op, mech, key);
		if (rv != CKR_KEY_HANDLE_INVALID && rv != CKR_OBJECT_HANDLE_INVALID)
			break;
		hsm_key_forget(h, label);
	}
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, g_init_names[op], rv);
		return -1;
	}
	return 0;
}

/* op_init_cls of a secret key (the data keys). */
static int op_init(struct hsm *h, CK_SESSION_HANDLE s, const char *label, enum hsm_op op,
                   CK_MECHANISM *mech, char *err, size_t errlen)
{
	return op_init_cls(h, s, CKO_SECRET_KEY, label, op, mech, err, errlen);
}

/* ---- operations ------------------------------------------------------------- */

/* Operation latency and errors (ops: random, encrypt, decrypt, hmac, ecdsa). The
 * labels name the operation only, never a key label or data. */
static struct sr_metric *g_hsm_latency, *g_hsm_errors;
static pthread_once_t g_hsm_metrics_once = PTHREAD_ONCE_INIT;

static void metrics_init(void)
{
	static const char *const lop[] = { "op", NULL };

	g_hsm_latency = sr_metrics_histogram("strongroom_hsm_operation_duration_seconds",
	                                     "PKCS#11 operation latency, seconds.", lop, NULL, 0);
	g_hsm_errors = sr_metrics_counter("strongroom_hsm_errors_total",
	                                  "PKCS#11 operations that failed.", lop);
}

static void observe(const char *op, const struct timespec *t0, int ret)
{
	pthread_once(&g_hsm_metrics_once, metrics_init);
	sr_metrics_observe(g_hsm_latency, sr_metrics_since(t0), op);
	if (ret != 0)
		sr_metrics_add(g_hsm_errors, 1, op);
}

int hsm_random(struct hsm *h, uint8_t *out, size_t len, char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s;
	CK_RV rv;

	hsm_clrerr(err, errlen);
	if (h == NULL || (out == NULL && len > 0)) {
		hsm_seterr(err, errlen, "hsm_random: bad arguments");
		return -1;
	}
	if (len == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s = hsm_sess_get(h);
	rv = h->p11->C_GenerateRandom(s, out, (CK_ULONG)len);
	hsm_sess_put(h, s, false);
	observe("random", &t0, rv == CKR_OK ? 0 : -1);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_GenerateRandom", rv);
		return -1;
	}
	return 0;
}

/* Fill a GCM mechanism (PKCS#11 v2.40 curr. mech. §2.12.3 CK_GCM_PARAMS). */
static void gcm_mech(CK_GCM_PARAMS *gp, CK_MECHANISM *m, uint8_t *iv, const uint8_t *aad,
                     size_t aad_n)
{
	memset(gp, 0, sizeof(*gp));
	gp->pIv = iv;
	gp->ulIvLen = HSM_GCM_IV_LEN;
	gp->ulIvBits = HSM_GCM_IV_LEN * 8;   /* p11-kit's struct has ulIvBits: 96 */
	gp->pAAD = (CK_BYTE_PTR)aad;
	gp->ulAADLen = (CK_ULONG)aad_n;
	gp->ulTagBits = HSM_GCM_TAG_LEN * 8;
	m->mechanism = CKM_AES_GCM;
	m->pParameter = gp;
	m->ulParameterLen = sizeof(*gp);
}

int hsm_aes_gcm_encrypt(struct hsm *h, const char *key_label, const uint8_t *aad, size_t aad_len,
                        const uint8_t *pt, size_t pt_len, uint8_t iv_out[HSM_GCM_IV_LEN],
                        uint8_t *ct_out, size_t *ct_len, char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech;
	CK_ULONG outlen = 0;
	bool have = false, broken = false;
	int ret = -1;
	CK_RV rv;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hsm_clrerr(err, errlen);
	if (h == NULL || key_label == NULL || (aad == NULL && aad_len > 0) ||
	    (pt == NULL && pt_len > 0) || iv_out == NULL || ct_out == NULL || ct_len == NULL) {
		hsm_seterr(err, errlen, "hsm_aes_gcm_encrypt: bad arguments");
		goto out;
	}
	if (pt_len > SIZE_MAX - HSM_GCM_TAG_LEN || *ct_len < pt_len + HSM_GCM_TAG_LEN) {
		hsm_seterr(err, errlen, "hsm_aes_gcm_encrypt: output buffer too small");
		goto out;
	}
	s = hsm_sess_get(h);
	have = true;
	/* NIST SP 800-38D §8.2.2: RBG-based 96-bit IV, fresh for every message,
	 * from the token's RNG (at most 2^32 messages per key with random IVs). */
	rv = h->p11->C_GenerateRandom(s, iv_out, HSM_GCM_IV_LEN);
	if (rv != CKR_OK) {
		hsm_p11err(err, errlen, "C_GenerateRandom", rv);
		goto out;
	}
	gcm_mech(&gp, &mech, iv_out, aad, aad_len);
	if (op_init(h, s, key_label, HSM_OP_ENCRYPT, &mech, err, errlen) != 0) {
		broken = true;   /* a failed *Init may leave the session unusable */
		goto out;
	}
	outlen = (CK_ULONG)*ct_len;
	if (op_run(h, s, HSM_OP_ENCRYPT, pt, pt_len, ct_out, &outlen, err, errlen) != 0) {
		broken = true;   /* see op_run */
		goto out;
	}
	*ct_len = (size_t)outlen;
	ret = 0;
out:
	observe("encrypt", &t0, ret);
	if (have)
		hsm_sess_put(h, s, broken);
	return ret;
}

int hsm_aes_gcm_decrypt(struct hsm *h, const char *key_label, const uint8_t *aad, size_t aad_len,
                        const uint8_t iv[HSM_GCM_IV_LEN], const uint8_t *ct, size_t ct_len,
                        uint8_t *pt_out, size_t *pt_len, char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	uint8_t ivc[HSM_GCM_IV_LEN];
	uint8_t bounce_small[256];
	uint8_t *bounce = NULL;
	uint8_t *dst = NULL;
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech;
	CK_ULONG outlen = 0;
	bool have = false, broken = false;
	int ret = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hsm_clrerr(err, errlen);
	if (h == NULL || key_label == NULL || (aad == NULL && aad_len > 0) || iv == NULL ||
	    ct == NULL || pt_out == NULL || pt_len == NULL) {
		hsm_seterr(err, errlen, "hsm_aes_gcm_decrypt: bad arguments");
		goto out;
	}
	if (ct_len < HSM_GCM_TAG_LEN) {
		hsm_seterr(err, errlen, "hsm_aes_gcm_decrypt: ciphertext shorter than the tag");
		goto out;
	}
	if (*pt_len < ct_len - HSM_GCM_TAG_LEN) {
		hsm_seterr(err, errlen, "hsm_aes_gcm_decrypt: output buffer too small");
		goto out;
	}
	memcpy(ivc, iv, sizeof(ivc));
	s = hsm_sess_get(h);
	have = true;
	gcm_mech(&gp, &mech, ivc, aad, aad_len);
	if (op_init(h, s, key_label, HSM_OP_DECRYPT, &mech, err, errlen) != 0) {
		broken = true;   /* a failed *Init may leave the session unusable */
		goto out;
	}
	/* SoftHSM2 wants room for ciphertext||tag even though only the
	 * plaintext comes out: when the caller's buffer is exactly the plaintext
	 * size, decrypt into a wiped bounce buffer (stack for card-sized data,
	 * guarded memory otherwise). */
	dst = pt_out;
	if (*pt_len < ct_len) {
		if (ct_len <= sizeof(bounce_small)) {
			dst = bounce_small;
		} else {
			bounce = sr_secret_alloc(ct_len);
			if (bounce == NULL) {
				hsm_seterr(err, errlen,
				           "hsm_aes_gcm_decrypt: out of guarded memory");
				goto out;
			}
			dst = bounce;
		}
		outlen = (CK_ULONG)ct_len;
	} else {
		outlen = (CK_ULONG)*pt_len;
	}
	/* The tag is checked inside the token; on CKR_ENCRYPTED_DATA_INVALID no
	 * plaintext is released (NIST SP 800-38D §7.2). */
	if (op_run(h, s, HSM_OP_DECRYPT, ct, ct_len, dst, &outlen, err, errlen) != 0) {
		broken = true;   /* see op_run */
		goto out;
	}
	if (outlen != ct_len - HSM_GCM_TAG_LEN || outlen > *pt_len) {
		hsm_seterr(err, errlen, "C_Decrypt: unexpected plaintext length");
		goto out;
	}
	if (dst != pt_out)
		memcpy(pt_out, dst, outlen);
	*pt_len = (size_t)outlen;
	ret = 0;
out:
	observe("decrypt", &t0, ret);
	if (have)
		hsm_sess_put(h, s, broken);
	sodium_memzero(bounce_small, sizeof(bounce_small));
	sr_secret_free(bounce);
	if (ret != 0 && pt_out != NULL && pt_len != NULL)
		sodium_memzero(pt_out, *pt_len);
	return ret;
}

int hsm_hmac_sha256(struct hsm *h, const char *key_label, const uint8_t *msg, size_t msg_len,
                    uint8_t mac[32], char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_MECHANISM mech = { CKM_SHA256_HMAC, NULL, 0 };
	CK_ULONG maclen = HSM_MAC_LEN;
	bool have = false, broken = false;
	int ret = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hsm_clrerr(err, errlen);
	if (h == NULL || key_label == NULL || (msg == NULL && msg_len > 0) || mac == NULL) {
		hsm_seterr(err, errlen, "hsm_hmac_sha256: bad arguments");
		goto out;
	}
	s = hsm_sess_get(h);
	have = true;
	/* PCI DSS v4.0 3.5.1.1: keyed cryptographic hash (HMAC-SHA256, RFC 2104)
	 * with a key that never leaves the HSM. */
	if (op_init(h, s, key_label, HSM_OP_SIGN, &mech, err, errlen) != 0) {
		broken = true;   /* a failed *Init may leave the session unusable */
		goto out;
	}
	if (op_run(h, s, HSM_OP_SIGN, msg, msg_len, mac, &maclen, err, errlen) != 0) {
		broken = true;   /* see op_run */
		goto out;
	}
	if (maclen != HSM_MAC_LEN) {
		hsm_seterr(err, errlen, "C_Sign: unexpected MAC length %lu", (unsigned long)maclen);
		goto out;
	}
	ret = 0;
out:
	observe("hmac", &t0, ret);
	if (have)
		hsm_sess_put(h, s, broken);
	return ret;
}

int hsm_ec_sign(struct hsm *h, const char *label, const uint8_t digest[32], uint8_t sig[64],
                char *err, size_t errlen)
{
	struct timespec t0;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	CK_ULONG siglen = 64;
	bool have = false, broken = false;
	int ret = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	hsm_clrerr(err, errlen);
	if (h == NULL || label == NULL || digest == NULL || sig == NULL) {
		hsm_seterr(err, errlen, "hsm_ec_sign: bad arguments");
		goto out;
	}
	s = hsm_sess_get(h);
	have = true;
	/* The private key's handle is cached like the data keys' (every TLS
	 * handshake of a listener signs here, ADR 0118); a stale one is looked
	 * up again (op_init_cls). */
	if (op_init_cls(h, s, CKO_PRIVATE_KEY, label, HSM_OP_SIGN, &mech, err, errlen) != 0) {
		broken = true;
		goto out;
	}
	/* PKCS#11 v2.40 curr. mech. §2.3.7 CKM_ECDSA over a SHA-256 digest: r||s. */
	if (op_run(h, s, HSM_OP_SIGN, digest, 32, sig, &siglen, err, errlen) != 0) {
		broken = true;
		goto out;
	}
	if (siglen != 64) {
		hsm_seterr(err, errlen, "C_Sign: unexpected ECDSA signature length %lu",
		           (unsigned long)siglen);
		goto out;
	}
	ret = 0;
out:
	observe("ecdsa", &t0, ret);
	if (have)
		hsm_sess_put(h, s, broken);
	return ret;
}
