/*
 * test_hsm_backup: split-knowledge backup and restore (issue 7, ADR 0073)
 * against real SoftHSM2 tokens made for the run in a temporary directory.
 *  - Token A holds backup-capable data keys (pan-enc-v1, fp-hmac-v1,
 *    audit-hmac-v1); a PAN is encrypted (AES-GCM with its AAD) and
 *    fingerprinted there; a 2-of-3 backup is made.
 *  - M = 2 custodians restore into a fresh token B: the PAN ciphertext made
 *    on A decrypts on B, the HMAC is the same, the KCVs are the same.
 *  - M - 1 cannot: restore with one custodian is refused; one component
 *    combined alone gives another transport key (KCV differs) while the
 *    set's two give the recorded one; a fresh token C stays empty.
 *  - Component KCVs: known answer against OpenSSL's AES-256-ECB of a zero
 *    block of the unsealed component.
 *  - Refusals: wrong passphrase, another custodian's component file, a
 *    component of another backup, an altered wrapped key (all or nothing),
 *    a token that is not fresh, malformed documents.
 *  - Only the keys the ceremony names are backed up (ADR 0104): stray secret
 *    objects on the token (a never-extractable key, a generic secret made by
 *    C_CreateObject) do not matter; a named key that cannot be backed up is
 *    refused with its label and the exact reason (absent, not extractable,
 *    extractable without CKA_WRAP_WITH_TRUSTED, a wrong SO PIN), and h is
 *    logged in as the user again afterwards.
 *  - The transport keys are CKA_TRUSTED (set by the SO): the wrap-with-trusted
 *    data keys wrap under them; restored keys come back sensitive, extractable
 *    and CKA_WRAP_WITH_TRUSTED with their real length (256 bits), a user-made
 *    key still cannot wrap them, and they can be backed up again.
 * Exits 77 (skipped) only when the SoftHSM2 module is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "common/sr_secret.h"
#include "hsm/ceremonies/hsm_backup.h"
#include "tests/unit/fixture.h"

#define USER_PIN "user-pin-3391"
#define SO_PIN   "so-pin-8823"

static struct fx_softhsm g_t;
static struct hsm *g_a = NULL, *g_b = NULL, *g_c = NULL;
static json_t *g_backup = NULL;
static json_t *g_comp[3] = { NULL, NULL, NULL };
static struct hsm_backup_holder g_hd[3];

static const char *const LABELS[] = { HSM_KEY_PAN_ENC, HSM_KEY_FP_HMAC, HSM_KEY_AUDIT_HMAC };

static const char PAN[] = "4242424242424242";
static const char AAD[] = "strongroom/pan/v1|tok_abc|mer_1";
static uint8_t g_iv[HSM_GCM_IV_LEN], g_ct[64], g_mac[32];
static size_t g_ct_len = sizeof g_ct;

static void holder(struct hsm_backup_holder *hd, const char *name, const char *pass)
{
	snprintf(hd->name, sizeof hd->name, "%s", name);
	hd->pass = pass;
	hd->pass_len = strlen(pass);
}

static int open_token(const char *label, struct hsm **out)
{
	char err[256] = "";

	if (hsm_init_token(FX_SOFTHSM_MODULE, label, g_t.so_pin, g_t.user_pin, err,
	                   sizeof(err)) != 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, label, g_t.user_pin, 2, out, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup %s: %s\n", label, err);
		return -1;
	}
	return 0;
}

/* The backup spec for labels (n of them) on the fixture's PIN files. */
static struct hsm_backup_spec spec_of(const char *const *labels, size_t n)
{
	struct hsm_backup_spec sp = { labels, n, g_t.so_pin, g_t.user_pin };

	return sp;
}

/*
 * A token secret key made with raw PKCS#11 in h's session: generated
 * (C_GenerateKey AES-256) with the given CKA_EXTRACTABLE and
 * CKA_WRAP_WITH_TRUSTED, or, when stray, a generic secret object of known
 * value (C_CreateObject) as some other tool might leave on the token.
 */
static int raw_key(struct hsm *h, const char *label, CK_BBOOL extr, CK_BBOOL wwt, bool stray)
{
	static const CK_BYTE val[32] = { 1, 2, 3 };
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = stray ? CKK_GENERIC_SECRET : CKK_AES;
	CK_ULONG vlen = 32;
	CK_BBOOL yes = CK_TRUE;
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &extr, sizeof extr },
		{ CKA_WRAP_WITH_TRUSTED, &wwt, sizeof wwt },
		{ CKA_ENCRYPT, &yes, sizeof yes },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ stray ? CKA_VALUE : CKA_VALUE_LEN, stray ? (void *)val : (void *)&vlen,
		  stray ? sizeof val : sizeof vlen },
	};
	CK_RV rv;

	if (hsm_p11_borrow(h, &p11, &s) != 0)
		return -1;
	rv = stray ? p11->C_CreateObject(s, t, 10, &o) : p11->C_GenerateKey(s, &gen, t, 10, &o);
	hsm_p11_return(h, s, false);
	return rv == CKR_OK ? 0 : -1;
}

/* C_WrapKey of label under a session AES key the user makes: the token's answer. */
static CK_RV user_wrap(struct hsm *h, const char *label)
{
	CK_FUNCTION_LIST_PTR p11 = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG vlen = 32, n = 0, blen;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 }, pad = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_OBJECT_HANDLE wk = CK_INVALID_HANDLE, key = CK_INVALID_HANDLE;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_KEY_TYPE, &kt, sizeof kt },
		             { CKA_TOKEN, &no, sizeof no }, { CKA_WRAP, &yes, sizeof yes },
		             { CKA_VALUE_LEN, &vlen, sizeof vlen } };
	CK_ATTRIBUTE f[] = { { CKA_CLASS, &cls, sizeof cls },
		             { CKA_LABEL, (void *)label, strlen(label) } };
	CK_BYTE blob[64];
	CK_RV rv;

	assert_int_equal(hsm_p11_borrow(h, &p11, &s), 0);
	assert_int_equal(p11->C_GenerateKey(s, &gen, t, 5, &wk), CKR_OK);
	assert_int_equal(p11->C_FindObjectsInit(s, f, 2), CKR_OK);
	assert_int_equal(p11->C_FindObjects(s, &key, 1, &n), CKR_OK);
	p11->C_FindObjectsFinal(s);
	assert_int_equal(n, 1);
	blen = sizeof blob;
	rv = p11->C_WrapKey(s, &pad, wk, key, blob, &blen);
	p11->C_DestroyObject(s, wk);
	hsm_p11_return(h, s, false);
	return rv;
}

static int group_setup(void **state)
{
	char err[256] = "";
	struct hsm_backup_spec sp;

	(void)state;
	if (fx_softhsm_new(&g_t, "test_hsm_bk_", USER_PIN, SO_PIN) != 0)
		return -1;
	if (open_token("bk-a", &g_a) != 0 || open_token("bk-b", &g_b) != 0 ||
	    open_token("bk-c", &g_c) != 0)
		return -1;
	if (hsm_generate_wrappable_key(g_a, HSM_KEY_PAN_ENC, true, err, sizeof(err)) != 0 ||
	    hsm_generate_wrappable_key(g_a, HSM_KEY_FP_HMAC, false, err, sizeof(err)) != 0 ||
	    hsm_generate_wrappable_key(g_a, HSM_KEY_AUDIT_HMAC, false, err, sizeof(err)) != 0 ||
	    hsm_aes_gcm_encrypt(g_a, HSM_KEY_PAN_ENC, (const uint8_t *)AAD, strlen(AAD),
	                        (const uint8_t *)PAN, strlen(PAN), g_iv, g_ct, &g_ct_len, err,
	                        sizeof(err)) != 0 ||
	    hsm_hmac_sha256(g_a, HSM_KEY_FP_HMAC, (const uint8_t *)PAN, strlen(PAN), g_mac, err,
	                    sizeof(err)) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	/* Stray secret objects the ceremony does not name: they must not matter. */
	if (hsm_generate_aes_key(g_a, "stray-never-extractable", err, sizeof(err)) != 0 ||
	    raw_key(g_a, "stray-object", CK_TRUE, CK_FALSE, true) != 0) {
		fprintf(stderr, "setup: stray objects: %s\n", err);
		return -1;
	}
	holder(&g_hd[0], "alice", "alice horse battery 1");
	holder(&g_hd[1], "bob", "bob staple correct 22");
	holder(&g_hd[2], "carol", "carol lamp river 333");
	sp = spec_of(LABELS, 3);
	if (hsm_backup_create(g_a, &sp, g_hd, 3, 2, &g_backup, g_comp, err, sizeof(err)) != 0) {
		fprintf(stderr, "setup: backup: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	size_t i;

	(void)state;
	json_decref(g_backup);
	for (i = 0; i < 3; i++)
		json_decref(g_comp[i]);
	hsm_close(g_c);
	hsm_close(g_b);
	hsm_close(g_a);
	fx_softhsm_free(&g_t);
	return 0;
}

static void assert_absent(struct hsm *h, const char *label)
{
	struct hsm_key_info ki;
	char err[256] = "";

	assert_int_equal(hsm_key_info(h, label, &ki, err, sizeof(err)), 0);
	assert_false(ki.found);
}

static void test_backup_document(void **state)
{
	json_t *sets = json_object_get(g_backup, "sets");
	json_t *keys = json_object_get(g_backup, "keys");
	const char *text = NULL;
	char *dump = NULL;
	size_t i;

	(void)state;
	/* C(3,2) = 3 sets, each wraps the 3 keys; no key bytes in the clear. */
	assert_int_equal(json_array_size(sets), 3);
	assert_int_equal(json_array_size(keys), 3);
	for (i = 0; i < 3; i++) {
		json_t *k = json_array_get(keys, i);
		json_t *at = json_object_get(k, "attributes");
		text = json_string_value(json_object_get(k, "kcv"));
		assert_non_null(text);
		assert_int_equal(strlen(text), 6);
		/* Exactly the named keys, in order: the stray objects are not there. */
		assert_string_equal(json_string_value(json_object_get(k, "label")), LABELS[i]);
		assert_int_equal(json_integer_value(json_object_get(k, "version")), 1);
		assert_int_equal(json_integer_value(json_object_get(k, "bits")), 256);
		assert_true(json_is_true(json_object_get(at, "extractable")));
		assert_true(json_is_true(json_object_get(at, "wrap_with_trusted")));
		assert_true(json_is_true(json_object_get(json_array_get(sets, i),
		                                         "transport_trusted")));
		assert_int_equal(json_array_size(json_object_get(json_array_get(sets, i), "wrapped")),
		                 3);
	}
	/* Each custodian holds C(2,1) = 2 components, sealed. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(json_array_size(json_object_get(g_comp[i], "components")), 2);
		dump = json_dumps(g_comp[i], JSON_COMPACT);
		assert_null(strstr(dump, "value"));
		free(dump);
	}
}

static void test_component_kcv_known_answer(void **state)
{
	static const uint8_t zero[16] = { 0 };
	uint8_t *vals = NULL, out[32];
	size_t n = 0, i;
	int outl = 0;
	char err[256] = "", hx[7];
	EVP_CIPHER_CTX *c = NULL;
	json_t *meta = json_object_get(g_comp[0], "components");

	(void)state;
	assert_int_equal(hsm_backup_unseal(g_comp[0], &g_hd[0], &vals, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		c = EVP_CIPHER_CTX_new();
		assert_non_null(c);
		assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_ecb(), NULL, vals + 32 * i, NULL), 1);
		EVP_CIPHER_CTX_set_padding(c, 0);
		assert_int_equal(EVP_EncryptUpdate(c, out, &outl, zero, 16), 1);
		EVP_CIPHER_CTX_free(c);
		snprintf(hx, sizeof hx, "%02X%02X%02X", out[0], out[1], out[2]);
		assert_string_equal(hx, json_string_value(json_object_get(json_array_get(meta, i),
		                                                          "kcv")));
	}
	sr_secret_free(vals);
}

static void test_unseal_refusals(void **state)
{
	struct hsm_backup_holder wrong;
	uint8_t *vals = NULL;
	size_t n = 0;
	char err[256] = "";
	json_t *bad = NULL;

	(void)state;
	holder(&wrong, "alice", "not alices passphrase");
	assert_int_equal(hsm_backup_unseal(g_comp[0], &wrong, &vals, &n, err, sizeof(err)), 1);
	assert_null(vals);
	assert_null(strstr(err, "not alices"));
	/* Bob cannot open Alice's file, even with his own passphrase. */
	assert_int_equal(hsm_backup_unseal(g_comp[0], &g_hd[1], &vals, &n, err, sizeof(err)), 1);
	/* Renaming the file's owner breaks the associated data. */
	bad = json_deep_copy(g_comp[0]);
	json_object_set_new(bad, "custodian", json_string("bob"));
	assert_int_equal(hsm_backup_unseal(bad, &g_hd[1], &vals, &n, err, sizeof(err)), 1);
	json_decref(bad);
	/* Malformed documents. */
	bad = json_pack("{s:s}", "format", "strongroom-key-component/1");
	assert_int_equal(hsm_backup_unseal(bad, &g_hd[0], &vals, &n, err, sizeof(err)), -1);
	json_decref(bad);
	bad = json_deep_copy(g_comp[0]);
	json_object_set_new(json_object_get(bad, "seal"), "salt", json_string("zz"));
	assert_int_equal(hsm_backup_unseal(bad, &g_hd[0], &vals, &n, err, sizeof(err)), -1);
	json_decref(bad);
	bad = json_deep_copy(g_comp[0]);
	json_object_set_new(json_object_get(bad, "seal"), "box", json_string("00ff"));
	assert_int_equal(hsm_backup_unseal(bad, &g_hd[0], &vals, &n, err, sizeof(err)), -1);
	json_decref(bad);
}

/* M - 1 components give another key; M give the recorded transport key. */
static void test_m_minus_one_combination(void **state)
{
	json_t *set1 = json_array_get(json_object_get(g_backup, "sets"), 0);
	uint8_t *va = NULL, *vb = NULL, *both = NULL, kcv[3];
	size_t na = 0, nb = 0;
	char err[256] = "", hx[7];
	const char *want = json_string_value(json_object_get(set1, "transport_kcv"));

	(void)state;
	/* Set 1 is (alice, bob): alice's first and bob's first component. */
	assert_string_equal(json_string_value(json_array_get(json_object_get(set1, "custodians"), 0)),
	                    "alice");
	assert_int_equal(hsm_backup_unseal(g_comp[0], &g_hd[0], &va, &na, err, sizeof(err)), 0);
	assert_int_equal(hsm_backup_unseal(g_comp[1], &g_hd[1], &vb, &nb, err, sizeof(err)), 0);
	both = sr_secret_alloc(64);
	assert_non_null(both);
	memcpy(both, va, 32);
	memcpy(both + 32, vb, 32);
	assert_int_equal(hsm_backup_combine_kcv(g_c, both, 2, kcv, err, sizeof(err)), 0);
	snprintf(hx, sizeof hx, "%02X%02X%02X", kcv[0], kcv[1], kcv[2]);
	assert_string_equal(hx, want);
	assert_int_equal(hsm_backup_combine_kcv(g_c, both, 1, kcv, err, sizeof(err)), 0);
	snprintf(hx, sizeof hx, "%02X%02X%02X", kcv[0], kcv[1], kcv[2]);
	assert_string_not_equal(hx, want);
	/* Order matters too: bob's then alice's is another key. */
	memcpy(both, vb, 32);
	memcpy(both + 32, va, 32);
	assert_int_equal(hsm_backup_combine_kcv(g_c, both, 2, kcv, err, sizeof(err)), 0);
	snprintf(hx, sizeof hx, "%02X%02X%02X", kcv[0], kcv[1], kcv[2]);
	assert_string_not_equal(hx, want);
	sr_secret_free(both);
	sr_secret_free(va);
	sr_secret_free(vb);
}

static void test_restore_refused_below_quorum(void **state)
{
	const json_t *comps[1] = { g_comp[1] };
	json_t *out = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_backup_restore(g_c, g_backup, &g_hd[1], comps, 1, &out, err,
	                                    sizeof(err)), 1);
	assert_null(out);
	assert_non_null(strstr(err, "needs 2"));
	assert_absent(g_c, HSM_KEY_PAN_ENC);
	assert_absent(g_c, HSM_KEY_FP_HMAC);
}

static void test_restore_refusals(void **state)
{
	struct hsm_backup_holder hd[2], wrong;
	const json_t *comps[2];
	json_t *out = NULL, *bad = NULL, *w = NULL;
	char err[256] = "";

	(void)state;
	/* A wrong passphrase for one of the two. */
	holder(&wrong, "carol", "not carols passphrase");
	hd[0] = g_hd[1];
	hd[1] = wrong;
	comps[0] = g_comp[1];
	comps[1] = g_comp[2];
	assert_int_equal(hsm_backup_restore(g_c, g_backup, hd, comps, 2, &out, err, sizeof(err)), 1);
	/* Carol brings bob's file. */
	hd[1] = g_hd[2];
	comps[1] = g_comp[1];
	assert_int_equal(hsm_backup_restore(g_c, g_backup, hd, comps, 2, &out, err, sizeof(err)), 1);
	/* A component file of another backup. */
	bad = json_deep_copy(g_comp[2]);
	json_object_set_new(bad, "backup_id", json_string("0000000000000000"));
	comps[1] = bad;
	assert_int_equal(hsm_backup_restore(g_c, g_backup, hd, comps, 2, &out, err, sizeof(err)), 1);
	json_decref(bad);
	/* An altered wrapped key (the last one): RFC 5649's check fails, and the
	 * keys unwrapped before it are destroyed again (all or nothing). */
	bad = json_deep_copy(g_backup);
	w = json_array_get(json_object_get(json_array_get(json_object_get(bad, "sets"), 2),
	                                   "wrapped"), 2);
	{
		char blob[200];
		snprintf(blob, sizeof blob, "%s", json_string_value(json_object_get(w, "blob")));
		blob[10] = blob[10] == '0' ? '1' : '0';
		json_object_set_new(w, "blob", json_string(blob));
	}
	comps[1] = g_comp[2];
	assert_int_equal(hsm_backup_restore(g_c, bad, hd, comps, 2, &out, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "C_UnwrapKey"));
	json_decref(bad);
	/* An altered transport-key KCV. */
	bad = json_deep_copy(g_backup);
	json_object_set_new(json_array_get(json_object_get(bad, "sets"), 2), "transport_kcv",
	                    json_string("000000"));
	assert_int_equal(hsm_backup_restore(g_c, bad, hd, comps, 2, &out, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "transport key"));
	json_decref(bad);
	/* Malformed backup documents. */
	bad = json_pack("{s:s, s:i}", "format", "strongroom-key-backup/1", "m", 2);
	assert_int_equal(hsm_backup_restore(g_c, bad, hd, comps, 2, &out, err, sizeof(err)), -1);
	json_decref(bad);
	bad = json_deep_copy(g_backup);
	json_object_set_new(bad, "format", json_string("something-else/1"));
	assert_int_equal(hsm_backup_restore(g_c, bad, hd, comps, 2, &out, err, sizeof(err)), -1);
	json_decref(bad);
	assert_null(out);
	assert_absent(g_c, HSM_KEY_PAN_ENC);
	assert_absent(g_c, HSM_KEY_FP_HMAC);
	assert_absent(g_c, HSM_KEY_AUDIT_HMAC);
}

/* M custodians (bob, carol: set 3) restore into B; B decrypts A's ciphertext. */
static void test_restore_with_quorum_decrypts(void **state)
{
	const json_t *comps[2] = { g_comp[2], g_comp[1] };
	struct hsm_backup_holder hd[2] = { g_hd[2], g_hd[1] };
	uint8_t pt[64], mac[32], ka[3], kb[3];
	size_t pt_len = sizeof pt;
	json_t *out = NULL;
	char err[256] = "";
	const char *const *labels = LABELS;
	struct hsm_key_info ki0;
	size_t i;

	(void)state;
	assert_int_equal(hsm_aes_gcm_decrypt(g_b, HSM_KEY_PAN_ENC, (const uint8_t *)AAD,
	                                     strlen(AAD), g_iv, g_ct, g_ct_len, pt, &pt_len, err,
	                                     sizeof(err)), -1);   /* no key yet */
	if (hsm_backup_restore(g_b, g_backup, hd, comps, 2, &out, err, sizeof(err)) != 0)
		fail_msg("restore: %s", err);
	assert_int_equal(json_array_size(out), 3);
	for (i = 0; i < 3; i++) {
		json_t *k = json_array_get(out, i);
		json_t *at = json_object_get(k, "attributes");

		/* The real length and the flags the token reports after unwrapping. */
		assert_string_equal(json_string_value(json_object_get(k, "label")), labels[i]);
		assert_int_equal(json_integer_value(json_object_get(k, "bits")), 256);
		assert_true(json_is_true(json_object_get(at, "sensitive")));
		assert_true(json_is_true(json_object_get(at, "extractable")));
		assert_true(json_is_true(json_object_get(at, "wrap_with_trusted")));
	}
	json_decref(out);
	pt_len = sizeof pt;
	assert_int_equal(hsm_aes_gcm_decrypt(g_b, HSM_KEY_PAN_ENC, (const uint8_t *)AAD,
	                                     strlen(AAD), g_iv, g_ct, g_ct_len, pt, &pt_len, err,
	                                     sizeof(err)), 0);
	assert_int_equal(pt_len, strlen(PAN));
	assert_memory_equal(pt, PAN, pt_len);
	assert_int_equal(hsm_hmac_sha256(g_b, HSM_KEY_FP_HMAC, (const uint8_t *)PAN, strlen(PAN),
	                                 mac, err, sizeof(err)), 0);
	assert_memory_equal(mac, g_mac, 32);
	for (i = 0; i < 3; i++) {
		struct hsm_key_info ki;

		assert_int_equal(hsm_kcv(g_a, labels[i], ka, err, sizeof(err)), 0);
		assert_int_equal(hsm_kcv(g_b, labels[i], kb, err, sizeof(err)), 0);
		assert_memory_equal(ka, kb, 3);
		assert_int_equal(hsm_key_info(g_b, labels[i], &ki, err, sizeof(err)), 0);
		assert_true(ki.sensitive);
		assert_true(ki.extractable);   /* wrap-only: can be backed up again */
		assert_true(ki.wrap_with_trusted);   /* ... only under a trusted key */
		assert_false(ki.local);
		/* As on A: a key the user makes cannot wrap the restored key. */
		assert_int_equal(user_wrap(g_b, labels[i]), CKR_KEY_NOT_WRAPPABLE);
		assert_int_equal(user_wrap(g_a, labels[i]), CKR_KEY_NOT_WRAPPABLE);
	}
	/* B's restored keys back up again; their length (which SoftHSM2 keeps no
	 * CKA_VALUE_LEN for after C_UnwrapKey) is measured: 256 bits. */
	{
		struct hsm_backup_spec sp = spec_of(labels, 3);
		json_t *again = NULL, *c2[3] = { NULL, NULL, NULL };

		assert_int_equal(hsm_key_info(g_b, labels[0], &ki0, err, sizeof(err)), 0);
		assert_int_equal(ki0.value_len, 0);
		assert_int_equal(hsm_backup_create(g_b, &sp, g_hd, 3, 2, &again, c2, err,
		                                   sizeof(err)), 0);
		for (i = 0; i < 3; i++) {
			assert_int_equal(json_integer_value(json_object_get(
			                         json_array_get(json_object_get(again, "keys"), i),
			                         "bits")), 256);
			json_decref(c2[i]);
		}
		json_decref(again);
	}
	/* A second restore into B: the keys exist, refused. */
	assert_int_equal(hsm_backup_restore(g_b, g_backup, hd, comps, 2, &out, err, sizeof(err)),
	                 1);
	assert_non_null(strstr(err, "fresh token"));
}

/* Backup of a key that must not or cannot be backed up: refused, the key and the reason named. */
static void refused(struct hsm *h, const char *label, const char *reason)
{
	struct hsm_backup_spec sp = spec_of(&label, 1);
	json_t *backup = NULL, *comps[3] = { NULL, NULL, NULL };
	char err[512] = "", want[128];

	assert_int_equal(hsm_backup_create(h, &sp, g_hd, 3, 2, &backup, comps, err, sizeof(err)),
	                 -1);
	assert_null(backup);
	assert_null(comps[0]);
	snprintf(want, sizeof want, "'%s'", label);
	if (strstr(err, want) == NULL || strstr(err, reason) == NULL)
		fail_msg("%s: \"%s\" does not say %s and \"%s\"", label, err, want, reason);
}

static void test_backup_refusals_name_key_and_reason(void **state)
{
	struct hsm_backup_spec sp = spec_of(LABELS, 3);
	json_t *backup = NULL, *comps[3] = { NULL, NULL, NULL };
	const char *twice_l[2] = { HSM_KEY_PAN_ENC, HSM_KEY_PAN_ENC };
	char err[512] = "";
	uint8_t kcv[3];

	(void)state;
	/* Made never extractable (keys create / keys generate without --wrappable). */
	assert_int_equal(hsm_generate_aes_key(g_c, "pan-enc-v9", err, sizeof(err)), 0);
	refused(g_c, "pan-enc-v9", "not CKA_EXTRACTABLE");
	/* Extractable but wrappable under any key (made before ADR 0104). */
	assert_int_equal(raw_key(g_c, "pan-enc-v8", CK_TRUE, CK_FALSE, false), 0);
	refused(g_c, "pan-enc-v8", "without CKA_WRAP_WITH_TRUSTED");
	refused(g_c, "fp-hmac-v7", "no secret key with this label");
	/* A stray generic secret on A, named by mistake. */
	refused(g_a, "stray-object", "without CKA_WRAP_WITH_TRUSTED");
	/* A wrong SO PIN: the SO cannot mark the transport keys trusted. */
	{
		char bad[400];

		snprintf(bad, sizeof bad, "%s/wrong-so-pin", g_t.dir);
		assert_int_equal(fx_write_file(bad, "not-the-so-pin\n", 0600), 0);
		sp.so_pin_file = bad;
		assert_int_equal(hsm_backup_create(g_a, &sp, g_hd, 3, 2, &backup, comps, err,
		                                   sizeof(err)), -1);
		assert_non_null(strstr(err, "C_Login (SO)"));
		sp.so_pin_file = g_t.so_pin;
	}
	/* Whatever failed, A is logged in as the user again: its keys work. */
	assert_int_equal(hsm_kcv(g_a, HSM_KEY_PAN_ENC, kcv, err, sizeof(err)), 0);
	/* Bad quorum parameters, a custodian or a key named twice. */
	assert_int_equal(hsm_backup_create(g_a, &sp, g_hd, 3, 1, &backup, comps, err, sizeof(err)),
	                 -1);
	assert_int_equal(hsm_backup_create(g_a, &sp, g_hd, 2, 3, &backup, comps, err, sizeof(err)),
	                 -1);
	{
		struct hsm_backup_holder twice[2] = { g_hd[0], g_hd[0] };
		assert_int_equal(hsm_backup_create(g_a, &sp, twice, 2, 2, &backup, comps, err,
		                                   sizeof(err)), -1);
	}
	sp = spec_of(twice_l, 2);
	assert_int_equal(hsm_backup_create(g_a, &sp, g_hd, 3, 2, &backup, comps, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "named twice"));
	assert_null(backup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_document),
		cmocka_unit_test(test_component_kcv_known_answer),
		cmocka_unit_test(test_unseal_refusals),
		cmocka_unit_test(test_m_minus_one_combination),
		cmocka_unit_test(test_restore_refused_below_quorum),
		cmocka_unit_test(test_restore_refusals),
		cmocka_unit_test(test_restore_with_quorum_decrypts),
		cmocka_unit_test(test_backup_refusals_name_key_and_reason),
	};

	if (!fx_softhsm_present("test_hsm_backup"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
