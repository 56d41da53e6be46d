/*
 * Attack of issue 28 item 1 (ADR 0118; PCI DSS v4.0 3.6.1, 3.7.x): the
 * vault's TLS private keys (roles public, internal, egress) never leave the
 * HSM. Each key is generated as vaultctl tls csr makes it
 * (hsm_generate_ec_signing_key, label tls-ROLE-v1) in a SoftHSM2 token.
 * Then, with every hsm handle closed, an attacker holding the user PIN loads
 * the module on their own and, for every role's private key:
 *  - reads CKA_VALUE: refused (CKR_ATTRIBUTE_SENSITIVE, PKCS#11 v2.40 §4.10);
 *  - wraps it (C_WrapKey, §5.18) under an AES key whose value they chose and
 *    under one the token made, with CKM_AES_KEY_WRAP_PAD: refused
 *    (CKR_KEY_UNEXTRACTABLE);
 *  - turns CKA_EXTRACTABLE on, in place or on a copy: refused.
 * A second test checks what vaultd relies on: the key is found by the
 * certificate's public point within its role only, signs, and is destroyed
 * with its public half after a rotation.
 * Exits 77 (skipped) only when the SoftHSM2 module is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "tests/unit/fixture.h"

#define USER_PIN "user-pin-2828"
#define SO_PIN   "so-pin-2829"
#define TOKEN    "atk-tls"

static struct fx_softhsm g_t;
static void *g_dl = NULL;
static CK_FUNCTION_LIST_PTR g_p11 = NULL;
static const char *const LABELS[] = { "tls-public-v1", "tls-internal-v1", "tls-egress-v1" };
#define NLABELS (sizeof LABELS / sizeof LABELS[0])
static const CK_BYTE KNOWN[32] = { 0x41, 0x54, 0x54, 0x41, 0x43, 0x4b };

static int group_setup(void **state)
{
	struct hsm *h = NULL;
	char err[256] = "";
	size_t i;

	(void)state;
	if (fx_softhsm_new(&g_t, "test_hsm_atk28_", USER_PIN, SO_PIN) != 0 ||
	    hsm_init_token(FX_SOFTHSM_MODULE, TOKEN, g_t.so_pin, g_t.user_pin, err, sizeof err) !=
	            0 ||
	    hsm_open(FX_SOFTHSM_MODULE, TOKEN, g_t.user_pin, 1, &h, err, sizeof err) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	for (i = 0; i < NLABELS; i++) {
		if (hsm_generate_ec_signing_key(h, LABELS[i], err, sizeof err) != 0) {
			fprintf(stderr, "setup %s: %s\n", LABELS[i], err);
			hsm_close(h);
			return -1;
		}
	}
	hsm_close(h);
	return 0;
}

/* The attacker's own copy of the module: no code of the vault involved. */
static void attacker_load(void)
{
	CK_C_GetFunctionList getfl = NULL;

	g_dl = dlopen(FX_SOFTHSM_MODULE, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(g_dl);
	*(void **)(&getfl) = dlsym(g_dl, "C_GetFunctionList");
	assert_non_null(getfl);
	assert_int_equal(getfl(&g_p11), CKR_OK);
	assert_int_equal(g_p11->C_Initialize(NULL), CKR_OK);
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

/* The attacker's session on the token, logged in with the user PIN. */
static CK_SESSION_HANDLE user_session(void)
{
	CK_SLOT_ID slots[8];
	CK_ULONG n = 8, i;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	size_t len = strlen(TOKEN);

	assert_int_equal(g_p11->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	for (i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (g_p11->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    memcmp(ti.label, TOKEN, len) == 0 && ti.label[len] == ' ')
			break;
	}
	assert_true(i < n);
	assert_int_equal(g_p11->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
	                                      NULL, &s), CKR_OK);
	assert_int_equal(g_p11->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)USER_PIN, strlen(USER_PIN)),
	                 CKR_OK);
	return s;
}

static CK_OBJECT_HANDLE find_private(CK_SESSION_HANDLE s, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
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

/* A session AES wrapping key: the attacker's known value, or generated. */
static CK_OBJECT_HANDLE wrapping_key(CK_SESSION_HANDLE s, bool known)
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
		{ CKA_WRAP, &yes, sizeof yes },
		{ known ? CKA_VALUE : CKA_VALUE_LEN, known ? (void *)KNOWN : (void *)&vlen,
		  known ? sizeof KNOWN : sizeof vlen },
	};

	assert_int_equal(known ? g_p11->C_CreateObject(s, t, 5, &k)
	                       : g_p11->C_GenerateKey(s, &gen, t, 5, &k), CKR_OK);
	return k;
}

static void test_tls_private_keys_never_leave_the_hsm(void **state)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE wk[2];
	CK_MECHANISM pad = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	size_t i, w;
	int failures = 0;

	(void)state;
	attacker_load();
	s = user_session();
	wk[0] = wrapping_key(s, true);
	wk[1] = wrapping_key(s, false);
	for (i = 0; i < NLABELS; i++) {
		CK_OBJECT_HANDLE key = find_private(s, LABELS[i]), copy = CK_INVALID_HANDLE;
		CK_BYTE val[256], blob[512];
		CK_ULONG blen;
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE get = { CKA_VALUE, val, sizeof val };
		CK_ATTRIBUTE set_extr = { CKA_EXTRACTABLE, &yes, sizeof yes };
		CK_RV rv;

		rv = g_p11->C_GetAttributeValue(s, key, &get, 1);
		printf("  %-16s C_GetAttributeValue(CKA_VALUE): %s\n", LABELS[i], hsm_rv_str(rv));
		failures += rv != CKR_ATTRIBUTE_SENSITIVE;
		for (w = 0; w < 2; w++) {
			blen = sizeof blob;
			rv = g_p11->C_WrapKey(s, &pad, wk[w], key, blob, &blen);
			printf("  %-16s C_WrapKey(CKM_AES_KEY_WRAP_PAD) under a %s key: %s\n",
			       LABELS[i], w == 0 ? "known-value" : "generated", hsm_rv_str(rv));
			failures += rv != CKR_KEY_UNEXTRACTABLE;
		}
		rv = g_p11->C_SetAttributeValue(s, key, &set_extr, 1);
		failures += rv == CKR_OK;
		rv = g_p11->C_CopyObject(s, key, &set_extr, 1, &copy);
		if (rv == CKR_OK) {
			blen = sizeof blob;
			failures += g_p11->C_WrapKey(s, &pad, wk[0], copy, blob, &blen) == CKR_OK;
			g_p11->C_DestroyObject(s, copy);
		}
	}
	g_p11->C_DestroyObject(s, wk[0]);
	g_p11->C_DestroyObject(s, wk[1]);
	g_p11->C_Logout(s);
	g_p11->C_CloseSession(s);
	assert_int_equal(failures, 0);
}

/* What vaultd and vaultctl tls rely on: lookup by point within a role, sign, destroy. */
static void test_tls_key_lookup_sign_destroy(void **state)
{
	struct hsm *h = NULL;
	char err[256] = "", label[HSM_TLS_LABEL_MAX], labels[4][HSM_TLS_LABEL_MAX];
	uint8_t point[65], digest[32] = { 1, 2, 3 }, sig[64];
	struct hsm_key_info info;
	size_t n = 0;

	(void)state;
	if (hsm_open(FX_SOFTHSM_MODULE, TOKEN, g_t.user_pin, 2, &h, err, sizeof err) != 0)
		fail_msg("hsm_open: %s", err);
	assert_int_equal(hsm_generate_ec_signing_key(h, "tls-internal-v7", err, sizeof err), 0);
	assert_int_equal(hsm_ec_public_point(h, "tls-internal-v7", point, err, sizeof err), 0);
	assert_int_equal(hsm_tls_key_for_point(h, "tls-internal-", point, label, err, sizeof err), 0);
	assert_string_equal(label, "tls-internal-v7");
	/* The internal key is never the public listener's, whatever its point. */
	assert_int_equal(hsm_tls_key_for_point(h, "tls-public-", point, label, err, sizeof err), -1);
	assert_non_null(strstr(err, "matches the certificate"));
	assert_int_equal(hsm_ec_sign(h, "tls-internal-v7", digest, sig, err, sizeof err), 0);
	/* Twice: the second through the cached handle. */
	assert_int_equal(hsm_ec_sign(h, "tls-internal-v7", digest, sig, err, sizeof err), 0);
	assert_int_equal(hsm_private_key_info(h, "tls-internal-v7", &info, err, sizeof err), 0);
	assert_true(info.found && info.sensitive && !info.extractable && info.never_extractable &&
	            info.always_sensitive && info.local);
	/* Rotation: a second key, then the old one destroyed, its cached handle with it. */
	assert_int_equal(hsm_generate_ec_signing_key(h, "tls-internal-v8", err, sizeof err), 0);
	assert_int_equal(hsm_tls_labels(h, "tls-internal-", labels, 4, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);   /* tls-internal-v1 of the attack test too */
	if (hsm_destroy_key_pair(h, "tls-internal-v7", err, sizeof err) != 0)
		fail_msg("hsm_destroy_key_pair: %s", err);
	assert_int_equal(hsm_ec_sign(h, "tls-internal-v7", digest, sig, err, sizeof err), -1);
	assert_int_equal(hsm_tls_key_for_point(h, "tls-internal-", point, label, err, sizeof err), -1);
	assert_int_equal(hsm_tls_labels(h, "tls-internal-", labels, 4, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_true(strcmp(labels[0], "tls-internal-v8") == 0 ||
	            strcmp(labels[1], "tls-internal-v8") == 0);
	assert_int_equal(hsm_destroy_key_pair(h, "tls-internal-v7", err, sizeof err), -1);
	assert_int_equal(hsm_destroy_key_pair(h, "tls-internal-v8", err, sizeof err), 0);
	hsm_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_key_lookup_sign_destroy),
		cmocka_unit_test(test_tls_private_keys_never_leave_the_hsm),
	};

	if (!fx_softhsm_present("test_hsm_attack_28_tls_keys"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
