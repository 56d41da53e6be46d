/*
 * hsm_timestamp: RFC 3161 time stamps of the ceremony transcript's head (see
 * hsm_timestamp.h, ADR 0117), with OpenSSL's TS implementation (libcrypto);
 * nothing here parses ASN.1 by hand.
 */
#include "hsm/ceremonies/hsm_timestamp.h"
#include "hsm/ceremonies/hsm_transcript.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <sodium.h>

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

/* 32 bytes from 64 hex digits. 0, or -1. */
static int head_bytes(const char *hex, uint8_t out[32])
{
	size_t got = 0;

	if (hex == NULL || strlen(hex) != 64 ||
	    sodium_hex2bin(out, 32, hex, 64, NULL, &got, NULL) != 0 || got != 32)
		return -1;
	return 0;
}

int hsm_ts_query(const char *transcript, const char *out, char head[65], char *err,
                 size_t errlen)
{
	TS_REQ *req = NULL;
	TS_MSG_IMPRINT *mi = NULL;
	X509_ALGOR *alg = NULL;
	ASN1_INTEGER *nonce = NULL;
	BIGNUM *bn = NULL;
	BIO *b = NULL;
	uint8_t digest[32], rnd[8];
	long lines = 0;
	int ret = -1;

	if (hsm_transcript_head(transcript, head, &lines, err, errlen) != 0)
		return -1;
	if (lines == 0) {
		seterr(err, errlen, "time stamp: the transcript is empty: nothing to stamp");
		return -1;
	}
	if (head_bytes(head, digest) != 0 || RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto fail;
	req = TS_REQ_new();
	mi = TS_MSG_IMPRINT_new();
	alg = X509_ALGOR_new();
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (req == NULL || mi == NULL || alg == NULL || bn == NULL ||
	    (nonce = BN_to_ASN1_INTEGER(bn, NULL)) == NULL || TS_REQ_set_version(req, 1) != 1 ||
	    X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) != 1 ||
	    TS_MSG_IMPRINT_set_algo(mi, alg) != 1 || TS_MSG_IMPRINT_set_msg(mi, digest, 32) != 1 ||
	    TS_REQ_set_msg_imprint(req, mi) != 1 || TS_REQ_set_nonce(req, nonce) != 1 ||
	    TS_REQ_set_cert_req(req, 1) != 1)
		goto fail;
	b = BIO_new_file(out, "wb");
	if (b == NULL || i2d_TS_REQ_bio(b, req) != 1 || BIO_flush(b) != 1) {
		seterr(err, errlen, "time stamp: %s: cannot write the query", out);
		goto out;
	}
	ret = 0;
	goto out;
fail:
	seterr(err, errlen, "time stamp: cannot build the query (libcrypto)");
out:
	BIO_free(b);
	BN_free(bn);
	ASN1_INTEGER_free(nonce);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	return ret;
}

/* genTime as RFC 3339 UTC (seconds; a fraction is dropped). */
static int gen_time(const TS_TST_INFO *tst, char out[32])
{
	const ASN1_GENERALIZEDTIME *t = TS_TST_INFO_get_time(tst);
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0 ? 0 : -1;
}

/* Verify resp with ctx's flags; a store from tsa_ca when not NULL. 1 good. */
static int verify_resp(TS_RESP *resp, TS_VERIFY_CTX *ctx, const char *tsa_ca)
{
	if (tsa_ca != NULL) {
		X509_STORE *st = X509_STORE_new();

		if (st == NULL || X509_STORE_load_file(st, tsa_ca) != 1) {
			X509_STORE_free(st);
			return 0;
		}
		TS_VERIFY_CTX_set_store(ctx, st);   /* ctx owns it */
		TS_VERIFY_CTX_add_flags(ctx, TS_VFY_SIGNATURE);
	}
	return TS_RESP_verify_response(ctx, resp) == 1;
}

/* SHA-256 (hex) of the first certificate in the PEM file. 0, or -1. */
static int ca_fingerprint(const char *pem, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *x = NULL;
	FILE *f = fopen(pem, "r");

	if (f == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32) {
		X509_free(x);
		return -1;
	}
	X509_free(x);
	sodium_bin2hex(out, 65, md, 32);
	return 0;
}

int hsm_ts_accept(const char *transcript, const char *query, const char *reply,
                  const char *tsa_ca, const char *tsa_name, json_t **what_out, char *err,
                  size_t errlen)
{
	TS_REQ *req = NULL;
	TS_RESP *resp = NULL;
	TS_VERIFY_CTX *ctx = NULL;
	TS_TST_INFO *tst = NULL;
	const ASN1_OCTET_STRING *imp = NULL;
	BIGNUM *bn = NULL;
	BIO *bq = NULL, *br = NULL;
	unsigned char *der = NULL;
	char head[65], when[32], capath[65], policy[80] = "", *serial = NULL, *b64 = NULL;
	uint8_t hb[32];
	long lines = 0;
	int derlen, ret = -1;

	if (transcript == NULL || query == NULL || reply == NULL || tsa_ca == NULL ||
	    tsa_name == NULL || what_out == NULL) {
		seterr(err, errlen, "time stamp: bad arguments");
		return -1;
	}
	if (hsm_transcript_head(transcript, head, &lines, err, errlen) != 0)
		return -1;
	if ((bq = BIO_new_file(query, "rb")) == NULL || (req = d2i_TS_REQ_bio(bq, NULL)) == NULL ||
	    (br = BIO_new_file(reply, "rb")) == NULL || (resp = d2i_TS_RESP_bio(br, NULL)) == NULL) {
		seterr(err, errlen, "time stamp: the query or the reply is not DER RFC 3161");
		ret = 1;
		goto out;
	}
	imp = TS_MSG_IMPRINT_get_msg(TS_REQ_get_msg_imprint(req));
	if (head_bytes(head, hb) != 0 || imp == NULL || ASN1_STRING_length(imp) != 32 ||
	    memcmp(ASN1_STRING_get0_data(imp), hb, 32) != 0) {
		seterr(err, errlen, "time stamp: the query does not stamp the transcript's head "
		       "(a line was added since): make a new query");
		ret = 1;
		goto out;
	}
	/* RFC 3161 section 2.4.2: status granted, imprint and nonce as asked,
	 * signed by a certificate for timeStamping chaining to the TSA's CA. */
	ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
	if (ctx == NULL || !verify_resp(resp, ctx, tsa_ca)) {
		seterr(err, errlen, "time stamp: the reply does not verify (status, imprint, nonce, "
		       "or the TSA's signature against %s)", tsa_ca);
		ret = 1;
		goto out;
	}
	tst = TS_RESP_get_tst_info(resp);
	if (tst == NULL || gen_time(tst, when) != 0 || ca_fingerprint(tsa_ca, capath) != 0 ||
	    (bn = ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(tst), NULL)) == NULL ||
	    (serial = BN_bn2hex(bn)) == NULL ||
	    OBJ_obj2txt(policy, sizeof(policy), TS_TST_INFO_get_policy_id(tst), 1) <= 0 ||
	    (derlen = i2d_TS_RESP(resp, &der)) <= 0) {
		seterr(err, errlen, "time stamp: cannot read the reply's time, serial or policy");
		goto out;
	}
	b64 = malloc(sodium_base64_ENCODED_LEN((size_t)derlen, sodium_base64_VARIANT_ORIGINAL));
	if (b64 == NULL)
		goto out;
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN((size_t)derlen,
	                                                 sodium_base64_VARIANT_ORIGINAL),
	                  der, (size_t)derlen, sodium_base64_VARIANT_ORIGINAL);
	*what_out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "source", "rfc3161",
	                      "tsa", tsa_name, "stamped_head", head, "hash", "SHA-256", "gen_time",
	                      when, "serial", serial, "policy", policy, "tsa_ca_sha256", capath,
	                      "response", b64);
	if (*what_out == NULL) {
		seterr(err, errlen, "time stamp: out of memory");
		goto out;
	}
	ret = 0;
out:
	BIO_free(bq);
	BIO_free(br);
	TS_REQ_free(req);
	TS_RESP_free(resp);
	TS_VERIFY_CTX_free(ctx);
	BN_free(bn);
	OPENSSL_free(serial);
	OPENSSL_free(der);
	free(b64);
	return ret;
}

int hsm_ts_check(const json_t *what, const char *prev, const char *tsa_ca, char *why,
                 size_t whylen)
{
	const char *b64 = json_string_value(json_object_get(what, "response"));
	const char *gt = json_string_value(json_object_get(what, "gen_time"));
	const char *sh = json_string_value(json_object_get(what, "stamped_head"));
	TS_VERIFY_CTX *ctx = NULL;
	TS_RESP *resp = NULL;
	unsigned char *der = NULL, *imp = NULL;
	const unsigned char *p = NULL;
	char when[32];
	size_t cap, derlen = 0;
	int ok = 0;

	if (b64 == NULL || gt == NULL || sh == NULL || strcmp(sh, prev) != 0) {
		seterr(why, whylen, "time stamp: not the head this line chains to");
		return 0;
	}
	cap = strlen(b64);
	der = malloc(cap + 1);
	imp = OPENSSL_malloc(32);
	if (der == NULL || imp == NULL ||
	    sodium_base642bin(der, cap, b64, cap, NULL, &derlen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    head_bytes(prev, imp) != 0) {
		seterr(why, whylen, "time stamp: the response is not base64");
		goto out;
	}
	p = der;
	resp = d2i_TS_RESP(NULL, &p, (long)derlen);
	ctx = TS_VERIFY_CTX_new();
	if (resp == NULL || ctx == NULL) {
		seterr(why, whylen, "time stamp: the response is not DER RFC 3161");
		goto out;
	}
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_IMPRINT);
	TS_VERIFY_CTX_set_imprint(ctx, imp, 32);   /* ctx owns imp */
	imp = NULL;
	if (!verify_resp(resp, ctx, tsa_ca)) {
		seterr(why, whylen, "time stamp: the TSA's token does not stamp this head%s",
		       tsa_ca != NULL ? " or is not signed by the TSA" : "");
		goto out;
	}
	if (gen_time(TS_RESP_get_tst_info(resp), when) != 0 || strcmp(when, gt) != 0) {
		seterr(why, whylen, "time stamp: gen_time is not the TSA's time");
		goto out;
	}
	ok = 1;
out:
	free(der);
	OPENSSL_free(imp);
	TS_RESP_free(resp);
	TS_VERIFY_CTX_free(ctx);
	return ok;
}
