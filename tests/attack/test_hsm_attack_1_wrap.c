/*
 * Attack 1 of issue 15 ("keys never leave the HSM", PCI DSS v4.0 3.6.1,
 * 3.5.1.2, 3.7.6): someone holding only the user PIN tries to get a data key
 * out of the token in the clear, against the real SoftHSM2.
 *
 * Every data key label the vault uses (pan-enc, fp-hmac, audit-hmac) is
 * generated the way `vaultctl keys generate` makes it, once as a
 * never-backed-up key (token "atk-plain") and once backup-capable
 * (--wrappable, token "atk-wrap"). Then, with every hsm handle closed, the
 * attacker loads the module on their own, logs in as CKU_USER and, for
 * every key:
 *  - makes a session AES key whose value they know (C_CreateObject with
 *    CKA_VALUE) and one the token generates (C_GenerateKey), both CKA_WRAP,
 *    and asks C_WrapKey with CKM_AES_KEY_WRAP_PAD (RFC 5649) and
 *    CKM_AES_KEY_WRAP (RFC 3394): the token must refuse every time
 *    (CKR_KEY_NOT_WRAPPABLE for a wrap-with-trusted key, CKR_KEY_UNEXTRACTABLE
 *    for a never-extractable one; PKCS#11 v2.40 §5.18 C_WrapKey, §4.10
 *    CKA_WRAP_WITH_TRUSTED);
 *  - tries to make a wrapping key CKA_TRUSTED itself: refused (only the
 *    Security Officer may set CKA_TRUSTED);
 *  - reads CKA_VALUE: refused (CKA_SENSITIVE);
 *  - tries to drop the protection: C_SetAttributeValue and C_CopyObject with
 *    CKA_WRAP_WITH_TRUSTED or CKA_EXTRACTABLE changed: refused.
 * Exits 77 (skipped) only when the SoftHSM2 module is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "tests/unit/fixture.h"

#define USER_PIN "user-pin-7012"
#define SO_PIN   "so-pin-5531"

static struct fx_softhsm g_t;
static void *g_dl = NULL;
static CK_FUNCTION_LIST_PTR g_p11 = NULL;

static const struct {
	const char *label;
	bool aes;
} KEYS[] = {
	{ HSM_KEY_PAN_ENC, true },
	{ HSM_KEY_FP_HMAC, false },
	{ HSM_KEY_AUDIT_HMAC, false },
	{ "pan-enc-v2", true },
	{ "fp-hmac-v2", false },
	{ "audit-hmac-v2", false },
};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

/* The key value the attacker chooses for their wrapping key. */
static const CK_BYTE KNOWN[32] = { 0x41, 0x54, 0x54, 0x41, 0x43, 0x4b, 0x45, 0x52 };

/* Make the token label and its keys as vaultctl keys generate [--wrappable] does. */
static int make_token(const char *label, bool wrappable)
{
	struct hsm *h = NULL;
	char err[256] = "";
	size_t i;
	int rc = 0;

	if (hsm_init_token(FX_SOFTHSM_MODULE, label, g_t.so_pin, g_t.user_pin, err,
	                   sizeof err) != 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, label, g_t.user_pin, 1, &h, err, sizeof err) != 0) {
		fprintf(stderr, "setup %s: %s\n", label, err);
		return -1;
	}
	for (i = 0; i < NKEYS && rc == 0; i++) {
		rc = wrappable ? hsm_generate_wrappable_key(h, KEYS[i].label, KEYS[i].aes, err,
		                                            sizeof err)
		     : KEYS[i].aes ? hsm_generate_aes_key(h, KEYS[i].label, err, sizeof err)
		                   : hsm_generate_hmac_key(h, KEYS[i].label, err, sizeof err);
		if (rc != 0)
			fprintf(stderr, "setup %s %s: %s\n", label, KEYS[i].label, err);
	}
	hsm_close(h);
	return rc;
}

static int group_setup(void **state)
{
	CK_C_GetFunctionList getfl = NULL;

	(void)state;
	if (fx_softhsm_new(&g_t, "test_hsm_atk1_", USER_PIN, SO_PIN) != 0 ||
	    make_token("atk-plain", false) != 0 || make_token("atk-wrap", true) != 0)
		return -1;
	/* The attacker's own copy of the module: no code of the vault involved. */
	g_dl = dlopen(FX_SOFTHSM_MODULE, RTLD_NOW | RTLD_LOCAL);
	if (g_dl == NULL)
		return -1;
	*(void **)(&getfl) = dlsym(g_dl, "C_GetFunctionList");
	if (getfl == NULL || getfl(&g_p11) != CKR_OK || g_p11->C_Initialize(NULL) != CKR_OK)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (g_p11 != NULL)
		g_p11->C_Finalize(NULL);
	if (g_dl != NULL)
		dlclose(g_dl);
	fx_softhsm_free(&g_t);
	return 0;
}

/* A session on token label, logged in with the user PIN only. */
static CK_SESSION_HANDLE user_session(const char *label)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8, i;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	size_t len = strlen(label);

	assert_int_equal(g_p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (g_p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, label, len) == 0 && ti.label[len] == ' ')
			break;
	}
	assert_true(i < n);
	assert_int_equal(g_p11->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
	                                      NULL, &s), CKR_OK);
	assert_int_equal(g_p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)),
	                 CKR_OK);
	return s;
}

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE s, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof cls },
		             { CKA_LABEL, (void *)label, strlen(label) } };
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_ULONG n = 0;

	assert_int_equal(g_p11->C_FindObjectsInit(s, t, 2), CKR_OK);
	assert_int_equal(g_p11->C_FindObjects(s, &o, 1, &n), CKR_OK);
	g_p11->C_FindObjectsFinal(s);
	assert_int_equal(n, 1);
	return o;
}

/* The attacker's session wrapping key: known value (C_CreateObject) or generated. */
static CK_OBJECT_HANDLE attacker_key(CK_SESSION_HANDLE s, bool known, CK_BBOOL trusted,
                                     CK_RV *rv)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ULONG vlen = sizeof KNOWN;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM gen = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_HANDLE k = CK_INVALID_HANDLE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_KEY_TYPE, &kt, sizeof kt },
		{ CKA_TOKEN, &no, sizeof no },
		{ CKA_EXTRACTABLE, &yes, sizeof yes },
		{ CKA_WRAP, &yes, sizeof yes },
		{ CKA_UNWRAP, &yes, sizeof yes },
		{ CKA_TRUSTED, &trusted, sizeof trusted },
		{ known ? CKA_VALUE : CKA_VALUE_LEN, known ? (void *)KNOWN : (void *)&vlen,
		  known ? sizeof KNOWN : sizeof vlen },
	};

	*rv = known ? g_p11->C_CreateObject(s, t, 8, &k) : g_p11->C_GenerateKey(s, &gen, t, 8, &k);
	return *rv == CKR_OK ? k : CK_INVALID_HANDLE;
}

static int g_failures = 0;

/* One wrap attempt: the token must refuse. Prints the outcome either way. */
static void try_wrap(CK_SESSION_HANDLE s, const char *token, const char *label,
                     CK_OBJECT_HANDLE wk, CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mt,
                     const char *how)
{
	CK_MECHANISM mech = { mt, NULL, 0 };
	CK_BYTE blob[64];
	CK_ULONG blen = sizeof blob;
	CK_RV rv = g_p11->C_WrapKey(s, &mech, wk, key, blob, &blen);
	const char *mn = mt == CKM_AES_KEY_WRAP_PAD ? "CKM_AES_KEY_WRAP_PAD" : "CKM_AES_KEY_WRAP";

	if (rv == CKR_KEY_NOT_WRAPPABLE || rv == CKR_KEY_UNEXTRACTABLE) {
		printf("  %s %-13s C_WrapKey(%s) under %s: refused, %s\n", token, label, mn, how,
		       hsm_rv_str(rv));
		return;
	}
	printf("  %s %-13s C_WrapKey(%s) under %s: %s%s\n", token, label, mn, how,
	       hsm_rv_str(rv), rv == CKR_OK ? " -- KEY EXPORTED under a key the attacker knows" : "");
	g_failures++;
}

/* Every attack on every key of one token. */
static void attack_token(const char *token)
{
	CK_SESSION_HANDLE s = user_session(token);
	CK_OBJECT_HANDLE known, gen, key;
	CK_RV rv;
	size_t i;

	known = attacker_key(s, true, CK_FALSE, &rv);
	assert_int_equal(rv, CKR_OK);
	gen = attacker_key(s, false, CK_FALSE, &rv);
	assert_int_equal(rv, CKR_OK);
	/* Only the Security Officer may set CKA_TRUSTED (PKCS#11 v2.40 §4.10). */
	(void)attacker_key(s, true, CK_TRUE, &rv);
	assert_int_equal(rv, CKR_ATTRIBUTE_READ_ONLY);
	(void)attacker_key(s, false, CK_TRUE, &rv);
	assert_int_equal(rv, CKR_ATTRIBUTE_READ_ONLY);

	for (i = 0; i < NKEYS; i++) {
		CK_BYTE val[64];
		CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
		CK_ATTRIBUTE get = { CKA_VALUE, val, sizeof val };
		CK_ATTRIBUTE drop_wwt = { CKA_WRAP_WITH_TRUSTED, &no, sizeof no };
		CK_ATTRIBUTE set_extr = { CKA_EXTRACTABLE, &yes, sizeof yes };
		CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;

		key = find_key(s, KEYS[i].label);
		try_wrap(s, token, KEYS[i].label, known, key, CKM_AES_KEY_WRAP_PAD, "a known-value key");
		try_wrap(s, token, KEYS[i].label, known, key, CKM_AES_KEY_WRAP, "a known-value key");
		try_wrap(s, token, KEYS[i].label, gen, key, CKM_AES_KEY_WRAP_PAD, "a generated key");
		try_wrap(s, token, KEYS[i].label, gen, key, CKM_AES_KEY_WRAP, "a generated key");
		/* CKA_SENSITIVE: the value is never readable. */
		assert_int_equal(g_p11->C_GetAttributeValue(s, key, &get, 1), CKR_ATTRIBUTE_SENSITIVE);
		/* The protection cannot be taken off, in place or on a copy. */
		assert_int_not_equal(g_p11->C_SetAttributeValue(s, key, &drop_wwt, 1), CKR_OK);
		assert_int_not_equal(g_p11->C_SetAttributeValue(s, key, &set_extr, 1), CKR_OK);
		rv = g_p11->C_CopyObject(s, key, &drop_wwt, 1, &copy);
		if (rv == CKR_OK) {
			/* A copy that kept its flags would be harmless; one without must not exist. */
			try_wrap(s, token, KEYS[i].label, known, copy, CKM_AES_KEY_WRAP_PAD,
			         "a known-value key (copy without CKA_WRAP_WITH_TRUSTED)");
			g_p11->C_DestroyObject(s, copy);
		}
		rv = g_p11->C_CopyObject(s, key, &set_extr, 1, &copy);
		if (rv == CKR_OK) {
			try_wrap(s, token, KEYS[i].label, known, copy, CKM_AES_KEY_WRAP_PAD,
			         "a known-value key (copy made extractable)");
			g_p11->C_DestroyObject(s, copy);
		}
	}
	g_p11->C_DestroyObject(s, known);
	g_p11->C_DestroyObject(s, gen);
	g_p11->C_Logout(s);
	g_p11->C_CloseSession(s);
}

/* Keys that are never backed up: CKA_EXTRACTABLE=FALSE, nothing wraps them. */
static void test_never_backed_up_keys_stay_inside(void **state)
{
	(void)state;
	g_failures = 0;
	attack_token("atk-plain");
	assert_int_equal(g_failures, 0);
}

/* Backup-capable keys (--wrappable): only an SO-trusted transport key wraps them. */
static void test_wrappable_keys_refuse_user_wrapping_keys(void **state)
{
	(void)state;
	g_failures = 0;
	attack_token("atk-wrap");
	assert_int_equal(g_failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_backed_up_keys_stay_inside),
		cmocka_unit_test(test_wrappable_keys_refuse_user_wrapping_keys),
	};

	if (!fx_softhsm_present("test_hsm_attack_1_wrap"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
