/*
 * sr_http_signer: a listener's private key that lives elsewhere (the vault's
 * HSM, ADR 0118) as a GnuTLS private key whose signing operation calls the
 * daemon's signer (sr_http_signer in sr_http.h). sr_http never sees the key
 * and loads no PKCS#11 module: the daemon that owns the HSM injects the
 * signer. ECDSA P-256 with SHA-256 only (RFC 8446 §4.2.3
 * ecdsa_secp256r1_sha256; RFC 5246 §7.4.1.4.1 ecdsa+sha256 in TLS 1.2).
 */
#include "common/sr_http_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

/* What a GnuTLS key made here carries: the signer and the key it bound. */
struct signer_key {
	const struct sr_http_signer *signer;
	void *key;
};

/* r||s (64 bytes) as the DER Ecdsa-Sig-Value GnuTLS wants (RFC 3279 §2.2.3). */
static int sign_digest(const struct signer_key *sk, const unsigned char *digest, size_t len,
                       gnutls_datum_t *signature)
{
	uint8_t rs[64];
	gnutls_datum_t r = { rs, 32 }, s = { rs + 32, 32 };
	int rc;

	if (len != 32 || sk->signer->sign(sk->key, digest, rs) != 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	rc = gnutls_encode_rs_value(signature, &r, &s);
	return rc < 0 ? GNUTLS_E_PK_SIGN_FAILED : 0;
}

static bool algo_ok(gnutls_sign_algorithm_t algo)
{
	return algo == GNUTLS_SIGN_ECDSA_SHA256 || algo == GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
}

/* gnutls_privkey_sign_hash_func: the SHA-256 digest is already made. */
static int sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
                     unsigned int flags, const gnutls_datum_t *hash, gnutls_datum_t *signature)
{
	(void)key;
	(void)flags;
	if (!algo_ok(algo) && algo != GNUTLS_SIGN_UNKNOWN)
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	return sign_digest(userdata, hash->data, hash->size, signature);
}

/* gnutls_privkey_sign_data_func: TLS 1.3 hands the message; hash it here. */
static int sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
                     unsigned int flags, const gnutls_datum_t *data, gnutls_datum_t *signature)
{
	unsigned char digest[32];

	(void)key;
	(void)flags;
	if (!algo_ok(algo))
		return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data->data, data->size, digest) < 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	return sign_digest(userdata, digest, sizeof digest, signature);
}

/* gnutls_privkey_info_func: an ECDSA P-256 key that signs with SHA-256 only. */
static int info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	(void)key;
	(void)userdata;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return GNUTLS_PK_ECDSA;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return 256;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return algo_ok((gnutls_sign_algorithm_t)GNUTLS_FLAGS_TO_SIGN_ALGO(flags)) ? 1 : 0;
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	return -1;
}

/* gnutls_privkey_deinit_func: give the bound key back to the signer. */
static void deinit(gnutls_privkey_t key, void *userdata)
{
	struct signer_key *sk = userdata;

	(void)key;
	if (sk == NULL)
		return;
	if (sk->signer->release != NULL)
		sk->signer->release(sk->key);
	free(sk);
}

/* The certificate's P-256 point 04||X||Y; -1 for another key type. */
static int cert_point(gnutls_pubkey_t pub, uint8_t point[65])
{
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };
	int ret = -1;

	if (gnutls_pubkey_get_pk_algorithm(pub, NULL) != GNUTLS_PK_ECDSA ||
	    gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y, GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
		goto out;
	if (curve != GNUTLS_ECC_CURVE_SECP256R1 || x.size > 32 || y.size > 32)
		goto out;
	memset(point, 0, 65);
	point[0] = 0x04;
	memcpy(point + 1 + 32 - x.size, x.data, x.size);
	memcpy(point + 33 + 32 - y.size, y.data, y.size);
	ret = 0;
out:
	gnutls_free(x.data);
	gnutls_free(y.data);
	return ret;
}

int sr_http_signer_key(const struct sr_http_signer *signer, gnutls_pubkey_t pub,
                       gnutls_privkey_t *out, char *err, size_t errlen)
{
	struct signer_key *sk = NULL;
	gnutls_privkey_t key = NULL;
	uint8_t point[65];

	*out = NULL;
	if (signer == NULL || signer->bind == NULL || signer->sign == NULL) {
		snprintf(err, errlen, "http: incomplete key signer");
		return -1;
	}
	if (cert_point(pub, point) != 0) {
		snprintf(err, errlen, "http: the certificate's key is not ECDSA P-256");
		return -1;
	}
	sk = calloc(1, sizeof *sk);
	if (sk == NULL) {
		snprintf(err, errlen, "http: out of memory");
		return -1;
	}
	sk->signer = signer;
	sk->key = signer->bind(signer->ctx, point, err, errlen);
	if (sk->key == NULL) {
		free(sk);
		return -1;
	}
	if (gnutls_privkey_init(&key) < 0 ||
	    gnutls_privkey_import_ext4(key, sk, sign_data, sign_hash, NULL, deinit, info,
	                               GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0) {
		snprintf(err, errlen, "http: cannot make a GnuTLS key of the signer");
		if (key != NULL)
			gnutls_privkey_deinit(key);
		deinit(NULL, sk);
		return -1;
	}
	*out = key;
	return 0;
}
