/*
 * signer_fixture: a test sr_http_signer (ADR 0118) that keeps a software
 * P-256 key (a fixture PKI's server.key) and counts its calls, with fault
 * switches. vaultd's signer does the same through the HSM
 * (vault/crypto/vault_tls_key.c). Header-only (static); used by
 * tests/unit/test_sr_http_signer.c and
 * tests/attack/test_sr_attack_28_resumption.c.
 */
#ifndef SIGNER_FIXTURE_H
#define SIGNER_FIXTURE_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "common/sr_http.h"

/* The test signer: the key of server.key, its point, counters, a fault switch. */
struct fake {
	gnutls_privkey_t key;
	uint8_t point[65];
	int binds, releases, signs, fail_sign, refuse_bind;
};

static struct fake g_fake;

static int load_fake(struct fake *f, const char *key_file)
{
	gnutls_datum_t d = { NULL, 0 }, x = { NULL, 0 }, y = { NULL, 0 };
	gnutls_ecc_curve_t curve;
	int rc = -1;

	memset(f, 0, sizeof *f);
	if (gnutls_load_file(key_file, &d) < 0 || gnutls_privkey_init(&f->key) < 0 ||
	    gnutls_privkey_import_x509_raw(f->key, &d, GNUTLS_X509_FMT_PEM, NULL, 0) < 0 ||
	    gnutls_privkey_export_ecc_raw2(f->key, &curve, &x, &y, NULL, GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
		goto out;
	f->point[0] = 0x04;
	memcpy(f->point + 1 + 32 - x.size, x.data, x.size);
	memcpy(f->point + 33 + 32 - y.size, y.data, y.size);
	rc = 0;
out:
	gnutls_free(d.data);
	gnutls_free(x.data);
	gnutls_free(y.data);
	return rc;
}

static void *fake_bind(void *ctx, const uint8_t point[65], char *err, size_t errlen)
{
	struct fake *f = ctx;

	f->binds++;
	if (f->refuse_bind || memcmp(point, f->point, 65) != 0) {
		snprintf(err, errlen, "fake: no key for that certificate");
		return NULL;
	}
	return f;
}

static int fake_sign(void *key, const uint8_t digest[32], uint8_t sig[64])
{
	struct fake *f = key;
	gnutls_datum_t h = { (unsigned char *)(uintptr_t)digest, 32 }, s = { NULL, 0 };
	gnutls_datum_t r = { NULL, 0 }, ss = { NULL, 0 };
	const unsigned char *rp, *sp;
	unsigned rn, sn;
	int rc = -1;

	f->signs++;
	if (f->fail_sign)
		return -1;
	if (gnutls_privkey_sign_hash2(f->key, GNUTLS_SIGN_ECDSA_SHA256, 0, &h, &s) < 0 ||
	    gnutls_decode_rs_value(&s, &r, &ss) < 0)
		goto out;
	/* r, s: big-endian integers, maybe with a leading zero, maybe shorter. */
	for (rp = r.data, rn = r.size; rn > 32 && rp[0] == 0; rp++, rn--)
		;
	for (sp = ss.data, sn = ss.size; sn > 32 && sp[0] == 0; sp++, sn--)
		;
	if (rn > 32 || sn > 32)
		goto out;
	memset(sig, 0, 64);
	memcpy(sig + 32 - rn, rp, rn);
	memcpy(sig + 64 - sn, sp, sn);
	rc = 0;
out:
	gnutls_free(s.data);
	gnutls_free(r.data);
	gnutls_free(ss.data);
	return rc;
}

static void fake_release(void *key)
{
	((struct fake *)key)->releases++;
}

static const struct sr_http_signer SIGNER = { fake_bind, fake_sign, fake_release, &g_fake };

#endif
