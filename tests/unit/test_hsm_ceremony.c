/*
 * test_hsm_ceremony: key ceremonies (issue 7) against a real SoftHSM2 token
 * made for the run in a temporary directory.
 *  - Key check values (ADR 0070): known-answer tests. A known AES-256 key and a
 *    known HMAC key are imported into the scratch token as *session* objects
 *    (gone when the test ends) and hsm_kcv must equal what OpenSSL's libcrypto
 *    computes from the same bytes; also: SoftHSM2 refuses CKM_AES_CMAC on a key
 *    with CKA_ENCRYPT only (why the KCV is AES-ECB of a zero block).
 *  - The signed transcript (ADR 0071): appended lines verify with the public
 *    key only; an edited, removed, swapped, re-formatted or truncated line,
 *    or another signer's key, is named as the first bad line.
 *  Custodians (ADRs 0072, 0105): tests/unit/test_hsm_custodian.c.
 * Exits 77 (skipped) only when the SoftHSM2 module is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "common/sr_secret.h"
#include "hsm/ceremonies/hsm_transcript.h"
#include "hsm/ceremonies/hsm_witness.h"
#include "tests/unit/fixture.h"

#define TOKEN    "strongroom-cer"
#define USER_PIN "user-pin-8812"
#define SO_PIN   "so-pin-4471"

static struct fx_softhsm g_t;
static struct hsm *g_h = NULL;
static void *g_dl = NULL;
static CK_FUNCTION_LIST_PTR g_p11 = NULL;
static CK_SESSION_HANDLE g_s = CK_INVALID_HANDLE;

/* The known test key (bytes 00..1f), used for AES-256 and for HMAC. */
static const uint8_t KNOWN_KEY[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

/* A raw PKCS#11 session of our own on the test token, to import the known
 * keys as session objects (they are visible to hsm's sessions: §4.4.1). */
static int raw_session(void)
{
	CK_C_GetFunctionList getfl = NULL;
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16, i;
	CK_RV rv;

	g_dl = dlopen(FX_SOFTHSM_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (g_dl == NULL)
		return -1;
	*(void **)(&getfl) = dlsym(g_dl, "C_GetFunctionList");
	if (getfl == NULL || getfl(&g_p11) != CKR_OK)
		return -1;
	rv = g_p11->C_Initialize(NULL);   /* hsm_open did it already */
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return -1;
	if (g_p11->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -1;
	for (i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (g_p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, TOKEN, strlen(TOKEN)) == 0 && ti.label[strlen(TOKEN)] == ' ')
			return g_p11->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
			                            NULL, &g_s) == CKR_OK ? 0 : -1;
	}
	return -1;
}

/* Import KNOWN_KEY as a session object: AES (CKA_ENCRYPT only, like the data
 * keys) or generic secret (CKA_SIGN only, like the HMAC keys). */
static CK_OBJECT_HANDLE import_known(const char *label, CK_KEY_TYPE kt)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL enc = kt == CKK_AES ? CK_TRUE : CK_FALSE;
	CK_BBOOL sign = kt == CKK_AES ? CK_FALSE : CK_TRUE;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_TOKEN, &no, sizeof(no) },   /* session object: gone after the test */
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &enc, sizeof(enc) },
		{ CKA_DECRYPT, &enc, sizeof(enc) },
		{ CKA_SIGN, &sign, sizeof(sign) },
		{ CKA_VERIFY, &sign, sizeof(sign) },
		{ CKA_VALUE, (void *)KNOWN_KEY, sizeof(KNOWN_KEY) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};

	assert_int_equal(g_p11->C_CreateObject(g_s, t, sizeof(t) / sizeof(t[0]), &obj), CKR_OK);
	return obj;
}

static int group_setup(void **state)
{
	char err[256] = "";

	(void)state;
	if (fx_softhsm_new(&g_t, "test_hsm_cer_", USER_PIN, SO_PIN) != 0)
		return -1;
	if (hsm_init_token(FX_SOFTHSM_MODULE, TOKEN, g_t.so_pin, g_t.user_pin, err,
	                   sizeof(err)) != 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, TOKEN, g_t.user_pin, 2, &g_h, err, sizeof(err)) != 0 ||
	    hsm_generate_ec_signing_key(g_h, HSM_KEY_CEREMONY_SIGN, err, sizeof(err)) != 0 ||
	    hsm_generate_aes_key(g_h, HSM_KEY_PAN_ENC, err, sizeof(err)) != 0 ||
	    hsm_generate_hmac_key(g_h, HSM_KEY_FP_HMAC, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return raw_session();
}

static int group_teardown(void **state)
{
	(void)state;
	if (g_p11 != NULL && g_s != CK_INVALID_HANDLE)
		g_p11->C_CloseSession(g_s);
	hsm_close(g_h);   /* the last user: C_Finalize */
	g_h = NULL;
	if (g_dl != NULL)
		dlclose(g_dl);
	fx_softhsm_free(&g_t);
	return 0;
}

/* ---- key check values ---------------------------------------------------- */

static void test_kcv_aes_known_answer(void **state)
{
	static const uint8_t zero[16] = { 0 };
	uint8_t want[32], got[HSM_KCV_LEN];
	int outl = 0;
	char err[256] = "";
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	(void)state;
	import_known("kat-aes", CKK_AES);
	/* OpenSSL: AES-256-ECB of one zero block under the known key. */
	assert_non_null(c);
	assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, KNOWN_KEY, NULL), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_EncryptUpdate(c, want, &outl, zero, sizeof(zero)), 1);
	assert_int_equal(outl, 16);
	EVP_CIPHER_CTX_free(c);
	assert_int_equal(hsm_kcv(g_h, "kat-aes", got, err, sizeof(err)), 0);
	assert_memory_equal(got, want, HSM_KCV_LEN);
	/* Pinned: AES-256(key 00..1f, 0^128) = f29000b6... (so a change in both
	 * implementations at once would still be caught). */
	assert_int_equal(got[0], 0xf2);
	assert_int_equal(got[1], 0x90);
	assert_int_equal(got[2], 0x00);
}

static void test_kcv_hmac_known_answer(void **state)
{
	static const uint8_t zero[16] = { 0 };
	uint8_t want[32], got[HSM_KCV_LEN];
	unsigned int wl = sizeof(want);
	char err[256] = "";

	(void)state;
	import_known("kat-hmac", CKK_GENERIC_SECRET);
	assert_non_null(HMAC(EVP_sha256(), KNOWN_KEY, sizeof(KNOWN_KEY), zero, sizeof(zero), want,
	                     &wl));
	assert_int_equal(hsm_kcv(g_h, "kat-hmac", got, err, sizeof(err)), 0);
	assert_memory_equal(got, want, HSM_KCV_LEN);
}

/* The KCV of a generated key is stable, and differs between keys. */
static void test_kcv_stable(void **state)
{
	uint8_t a[HSM_KCV_LEN], b[HSM_KCV_LEN], f[HSM_KCV_LEN];
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_kcv(g_h, HSM_KEY_PAN_ENC, a, err, sizeof(err)), 0);
	assert_int_equal(hsm_kcv(g_h, HSM_KEY_PAN_ENC, b, err, sizeof(err)), 0);
	assert_memory_equal(a, b, HSM_KCV_LEN);
	assert_int_equal(hsm_kcv(g_h, HSM_KEY_FP_HMAC, f, err, sizeof(err)), 0);
	assert_memory_not_equal(a, f, HSM_KCV_LEN);
	assert_int_equal(hsm_kcv(g_h, "no-such-key", a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no secret key"));
}

/* Why the KCV is AES-ECB and not AES-CMAC: SoftHSM2 does CMAC through C_Sign,
 * which a key with CKA_ENCRYPT only (the data keys) is not allowed to do. */
static void test_cmac_needs_sign(void **state)
{
	CK_OBJECT_HANDLE k = import_known("kat-aes-cmac", CKK_AES);
	CK_MECHANISM m = { CKM_AES_CMAC, NULL, 0 };
	CK_RV rv;

	(void)state;
	rv = g_p11->C_SignInit(g_s, &m, k);
	assert_int_not_equal(rv, CKR_OK);
	print_message("C_SignInit(CKM_AES_CMAC) on an encrypt-only key: %s\n", hsm_rv_str(rv));
}

/* ---- transcript ------------------------------------------------------------ */

static char g_tr[320], g_pub[320];

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b = NULL;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = calloc(1, (size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return b;
}

static void spit(const char *path, const char *text)
{
	assert_int_equal(fx_write_file(path, text, 0600), 0);
}

/* Split into lines (pointers into buf, which is modified). */
static int lines_of(char *buf, char **lines, int max)
{
	int n = 0;
	char *p = buf, *nl;

	while (*p != '\0' && n < max && (nl = strchr(p, '\n')) != NULL) {
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

static void join_to(const char *path, char **lines, int n)
{
	size_t cap = 1, i;
	char *out;

	for (i = 0; i < (size_t)n; i++)
		cap += strlen(lines[i]) + 1;
	out = calloc(1, cap);
	assert_non_null(out);
	for (i = 0; i < (size_t)n; i++) {
		strcat(out, lines[i]);
		strcat(out, "\n");
	}
	spit(path, out);
	free(out);
}

static long verify(const char *path, const char *pub, char *reason, size_t rlen)
{
	struct hsm_transcript_report rep;
	char err[256] = "";
	int r = hsm_transcript_verify(path, pub, &rep, err, sizeof(err));

	assert_int_not_equal(r, -1);
	if (reason != NULL)
		snprintf(reason, rlen, "%s", rep.reason);
	return r == 0 ? 0 : rep.first_bad;
}

static int tr_setup(void **state)
{
	uint8_t point[65];
	char err[256] = "";
	int i;

	(void)state;
	snprintf(g_tr, sizeof(g_tr), "%s/transcript.jsonl", g_t.dir);
	snprintf(g_pub, sizeof(g_pub), "%s/signer.pem", g_t.dir);
	unlink(g_tr);
	if (hsm_ec_public_point(g_h, HSM_KEY_CEREMONY_SIGN, point, err, sizeof(err)) != 0 ||
	    hsm_transcript_write_pubkey(point, g_pub, err, sizeof(err)) != 0)
		return -1;
	for (i = 1; i <= 5; i++) {
		json_t *what = json_pack("{s:s, s:i}", "label", "pan-enc-v1", "step", i);
		int r = hsm_transcript_append(g_h, g_tr, i % 2 ? "alice" : "bob", "custodian",
		                              "step", what, err, sizeof(err));
		json_decref(what);
		if (r != 0) {
			fprintf(stderr, "append: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void test_transcript_intact(void **state)
{
	struct hsm_transcript_report rep;
	char err[256] = "";
	char *b = NULL, *l[8];

	(void)state;
	assert_int_equal(hsm_transcript_verify(g_tr, g_pub, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.lines, 5);
	assert_int_equal(strlen(rep.head), 64);
	b = slurp(g_tr);
	assert_int_equal(lines_of(b, l, 8), 5);
	assert_non_null(strstr(l[0], "\"seq\":1,"));
	assert_non_null(strstr(l[0], "\"prev\":\"0000000000000000"));
	assert_non_null(strstr(l[4], "\"hsm_serial\":\""));
	assert_non_null(strstr(l[4], "\"signer\":\"ceremony-sign-v1\""));
	free(b);
}

/* ADR 0117: lines no trusted-time line follows are refused unless allowed;
 * a witness-signed clock reading closes them; a removed witness attests
 * nothing after their removal. */
static void test_transcript_untimed_and_removed(void **state)
{
	struct hsm_transcript_verify_opts vo = { NULL, NULL, false };
	struct hsm_transcript_report rep;
	struct hsm_transcript_ctx ctx = { NULL, 1, NULL };
	struct hsm_witness w;
	json_t *what = NULL;
	char err[256] = "";
	const char *pass = "wendy watches closely 3";

	(void)state;
	assert_int_equal(hsm_transcript_verify_opts(g_tr, g_pub, &vo, &rep, err, sizeof(err)), 2);
	assert_int_equal(rep.untimed_from, 1);
	assert_int_equal(rep.lines, 5);
	/* The library's plain check (ADR 0071) and an explicit allowance accept it. */
	assert_int_equal(hsm_transcript_verify(g_tr, g_pub, &rep, err, sizeof(err)), 0);
	vo.allow_untimed = true;
	assert_int_equal(hsm_transcript_verify_opts(g_tr, g_pub, &vo, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.untimed_from, 1);
	vo.allow_untimed = false;
	/* A witness, and their clock reading closing lines 1-6. */
	assert_int_equal(hsm_witness_enrol("wendy", pass, strlen(pass), &w, &what, err, sizeof(err)), 0);
	ctx.witnesses = &w;
	assert_int_equal(hsm_transcript_append_ctx(g_h, g_tr, &ctx, "m", "ceremony-master",
	                                           "witness-enrolled", what, err, sizeof(err)), 0);
	json_decref(what);
	what = json_pack("{s:s, s:s}", "source", "witness-clock-reading", "reading",
	                 "2026-12-07T18:00:00Z");
	assert_int_equal(hsm_transcript_append_ctx(g_h, g_tr, &ctx, "wendy", "witness",
	                                           "trusted-time", what, err, sizeof(err)), 0);
	json_decref(what);
	assert_int_equal(hsm_transcript_verify_opts(g_tr, g_pub, &vo, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.untimed_from, 0);
	/* Removed (line 8): lines 8- are untimed again; a line wendy attests after it is tampering. */
	what = json_pack("{s:s}", "name", "wendy");
	assert_int_equal(hsm_transcript_append(g_h, g_tr, "m", "ceremony-master", "witness-removed",
	                                       what, err, sizeof(err)), 0);
	assert_int_equal(hsm_transcript_verify_opts(g_tr, g_pub, &vo, &rep, err, sizeof(err)), 2);
	assert_int_equal(rep.untimed_from, 8);
	assert_int_equal(hsm_transcript_append_ctx(g_h, g_tr, &ctx, "m", "ceremony-master",
	                                           "keys-listed", NULL, err, sizeof(err)), 0);
	assert_int_equal(hsm_transcript_verify_opts(g_tr, g_pub, &vo, &rep, err, sizeof(err)), 1);
	assert_int_equal(rep.first_bad, 9);
	assert_non_null(strstr(rep.reason, "not enrolled"));
	/* Removing someone who is not a witness is refused too. */
	unlink(g_tr);
	assert_int_equal(hsm_transcript_append(g_h, g_tr, "m", "ceremony-master", "witness-removed",
	                                       what, err, sizeof(err)), 0);
	assert_int_equal(hsm_transcript_verify_opts(g_tr, g_pub, &vo, &rep, err, sizeof(err)), 1);
	assert_int_equal(rep.first_bad, 1);
	json_decref(what);
	hsm_witness_clear(&w);
}

static void test_transcript_edit_named(void **state)
{
	char path[340], reason[160];
	char *b = slurp(g_tr), *l[8], *p;

	(void)state;
	snprintf(path, sizeof(path), "%s/edited.jsonl", g_t.dir);
	assert_int_equal(lines_of(b, l, 8), 5);
	/* Same length, still canonical JSON: "alice" -> "alicf" on line 3. */
	p = strstr(l[2], "\"alice\"");
	assert_non_null(p);
	p[5] = 'f';
	join_to(path, l, 5);
	assert_int_equal(verify(path, g_pub, reason, sizeof(reason)), 3);
	assert_non_null(strstr(reason, "signature"));
	/* A changed KCV-like detail deep in "what" on the first line. */
	p[5] = 'e';
	p = strstr(l[0], "\"step\":1");
	assert_non_null(p);
	p[7] = '7';
	join_to(path, l, 5);
	assert_int_equal(verify(path, g_pub, NULL, 0), 1);
	free(b);
}

static void test_transcript_delete_named(void **state)
{
	char path[340], reason[160];
	char *b = slurp(g_tr), *l[8], *k[8];

	(void)state;
	snprintf(path, sizeof(path), "%s/deleted.jsonl", g_t.dir);
	assert_int_equal(lines_of(b, l, 8), 5);
	k[0] = l[0];
	k[1] = l[2];
	k[2] = l[3];
	k[3] = l[4];
	join_to(path, k, 4);
	assert_int_equal(verify(path, g_pub, reason, sizeof(reason)), 2);
	assert_non_null(strstr(reason, "removed"));
	/* The first line removed. */
	join_to(path, l + 1, 4);
	assert_int_equal(verify(path, g_pub, NULL, 0), 1);
	free(b);
}

static void test_transcript_swap_named(void **state)
{
	char path[340];
	char *b = slurp(g_tr), *l[8], *t;

	(void)state;
	snprintf(path, sizeof(path), "%s/swapped.jsonl", g_t.dir);
	assert_int_equal(lines_of(b, l, 8), 5);
	t = l[3];
	l[3] = l[2];
	l[2] = t;
	join_to(path, l, 5);
	assert_int_equal(verify(path, g_pub, NULL, 0), 3);
	free(b);
}

static void test_transcript_format_and_truncation(void **state)
{
	char path[340], reason[160];
	char *b = slurp(g_tr), *l[8], *sp = NULL, *o = NULL;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/format.jsonl", g_t.dir);
	assert_int_equal(lines_of(b, l, 8), 5);
	/* Whitespace added to line 4: same JSON value, not the signed bytes. */
	n = strlen(l[3]);
	sp = calloc(1, n + 2);
	assert_non_null(sp);
	sp[0] = '{';
	sp[1] = ' ';
	memcpy(sp + 2, l[3] + 1, n - 1);
	o = l[3];
	l[3] = sp;
	join_to(path, l, 5);
	assert_int_equal(verify(path, g_pub, reason, sizeof(reason)), 4);
	assert_non_null(strstr(reason, "canonical"));
	l[3] = o;
	/* Last line cut short (no newline). */
	join_to(path, l, 5);
	{
		int fd = open(path, O_WRONLY);
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(ftruncate(fd, st.st_size - 10), 0);
		close(fd);
	}
	assert_int_equal(verify(path, g_pub, NULL, 0), 5);
	/* Empty file. */
	spit(path, "");
	assert_int_equal(verify(path, g_pub, NULL, 0), 1);
	/* Not JSON. */
	spit(path, "hello\n");
	assert_int_equal(verify(path, g_pub, NULL, 0), 1);
	free(sp);
	free(b);
}

/* Verification with another P-256 key fails at line 1; a PEM that is not a
 * P-256 key is an error, not a pass. */
static void test_transcript_other_key(void **state)
{
	char pem[340], err[256] = "";
	struct hsm_transcript_report rep;
	uint8_t point[65];

	(void)state;
	snprintf(pem, sizeof(pem), "%s/other.pem", g_t.dir);
	assert_int_equal(hsm_generate_ec_signing_key(g_h, "other-signer", err, sizeof(err)), 0);
	assert_int_equal(hsm_ec_public_point(g_h, "other-signer", point, err, sizeof(err)), 0);
	assert_int_equal(hsm_transcript_write_pubkey(point, pem, err, sizeof(err)), 0);
	assert_int_equal(verify(g_tr, pem, NULL, 0), 1);
	/* A signer that exists is not generated twice. */
	assert_int_equal(hsm_generate_ec_signing_key(g_h, "other-signer", err, sizeof(err)), -1);
	spit(pem, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	assert_int_equal(hsm_transcript_verify(g_tr, pem, &rep, err, sizeof(err)), -1);
	/* A point not on the curve is refused for export. */
	memset(point + 1, 0x11, 64);
	assert_int_equal(hsm_transcript_write_pubkey(point, pem, err, sizeof(err)), -1);
}

/* The signing key is sensitive and cannot be read out. */
static void test_signer_attributes(void **state)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE f[2] = { { CKA_CLASS, &cls, sizeof(cls) },
		              { CKA_LABEL, (void *)HSM_KEY_CEREMONY_SIGN,
		                strlen(HSM_KEY_CEREMONY_SIGN) } };
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
	CK_ULONG n = 0;
	CK_BBOOL sens = CK_FALSE, extr = CK_TRUE, sign = CK_FALSE, dec = CK_TRUE;
	CK_ATTRIBUTE a[4] = { { CKA_SENSITIVE, &sens, sizeof(sens) },
		              { CKA_EXTRACTABLE, &extr, sizeof(extr) },
		              { CKA_SIGN, &sign, sizeof(sign) },
		              { CKA_DECRYPT, &dec, sizeof(dec) } };
	uint8_t buf[64];
	CK_ATTRIBUTE v = { CKA_VALUE, buf, sizeof(buf) };

	(void)state;
	assert_int_equal(g_p11->C_FindObjectsInit(g_s, f, 2), CKR_OK);
	assert_int_equal(g_p11->C_FindObjects(g_s, &k, 1, &n), CKR_OK);
	g_p11->C_FindObjectsFinal(g_s);
	assert_int_equal(n, 1);
	assert_int_equal(g_p11->C_GetAttributeValue(g_s, k, a, 4), CKR_OK);
	assert_true(sens == CK_TRUE && extr == CK_FALSE && sign == CK_TRUE && dec == CK_FALSE);
	assert_int_equal(g_p11->C_GetAttributeValue(g_s, k, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kcv_aes_known_answer),
		cmocka_unit_test(test_kcv_hmac_known_answer),
		cmocka_unit_test(test_kcv_stable),
		cmocka_unit_test(test_cmac_needs_sign),
		cmocka_unit_test_setup(test_transcript_intact, tr_setup),
		cmocka_unit_test(test_transcript_edit_named),
		cmocka_unit_test(test_transcript_delete_named),
		cmocka_unit_test(test_transcript_swap_named),
		cmocka_unit_test(test_transcript_format_and_truncation),
		cmocka_unit_test(test_transcript_other_key),
		cmocka_unit_test(test_signer_attributes),
		cmocka_unit_test_setup(test_transcript_untimed_and_removed, tr_setup),
	};

	if (!fx_softhsm_present("test_hsm_ceremony"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
