/*
 * Unit tests of vault/vault_crypto against a real SoftHSM2 token made for the
 * run in a temporary directory: PAN/CVC round trip, AAD binding to token and
 * merchant (invariant 2, docs/invariants.md), tamper detection, and per-merchant keyed
 * fingerprints (PCI DSS v4.0 3.5.1.1). Exits 77 (skipped) only when the
 * SoftHSM2 module is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/sr_secret.h"
#include "hsm/hsm.h"
#include "tests/unit/fixture.h"
#include "vault/crypto/vault_crypto.h"

#define LABEL    "vault-crypto-test"
#define TOK_A    "tok_AAAAAAAAAAAAAAAAAAAAAA"
#define TOK_B    "tok_BBBBBBBBBBBBBBBBBBBBBB"
#define MER_A    "mer_alpha"
#define MER_B    "mer_bravo"
#define PAN      "4242424242424242"

static struct fx_softhsm g_t;
static struct hsm *g_h = NULL;

static int setup(void **state)
{
	char err[256] = "";

	(void)state;
	if (fx_softhsm_new(&g_t, "test_vault_crypto_", "test-user-pin-1", "test-so-pin-2") != 0)
		return -1;
	if (hsm_init_token(FX_SOFTHSM_MODULE, LABEL, g_t.so_pin, g_t.user_pin, err, sizeof err) < 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, LABEL, g_t.user_pin, 2, &g_h, err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_h, HSM_KEY_PAN_ENC, err, sizeof err) != 0 ||
	    hsm_generate_hmac_key(g_h, HSM_KEY_FP_HMAC, err, sizeof err) != 0) {
		fprintf(stderr, "hsm setup: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hsm_close(g_h);
	g_h = NULL;
	fx_softhsm_free(&g_t);
	return 0;
}

static void encrypt_pan(const char *tok, const char *mer, uint8_t iv[HSM_GCM_IV_LEN],
                        uint8_t *ct, size_t *ct_len)
{
	char err[256] = "";
	int rc;

	*ct_len = VAULT_PAN_CT_MAX;
	rc = vault_crypto_encrypt_pan(g_h, HSM_KEY_PAN_ENC, tok, mer, PAN, strlen(PAN), iv, ct,
	                              ct_len, err, sizeof err);
	if (rc != 0)
		fail_msg("encrypt: %s", err);
	assert_int_equal(*ct_len, strlen(PAN) + HSM_GCM_TAG_LEN);
	/* no plaintext in the ciphertext */
	assert_null(memmem(ct, *ct_len, PAN, strlen(PAN)));
	assert_null(memmem(ct, *ct_len, "4242", 4));
}

static void test_pan_round_trip(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[VAULT_PAN_CT_MAX];
	size_t ct_len = 0;
	char *pan = NULL;
	size_t pan_len = 0;
	char err[256] = "";

	(void)state;
	encrypt_pan(TOK_A, MER_A, iv, ct, &ct_len);
	assert_int_equal(vault_crypto_decrypt_pan(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_A, iv, ct,
	                                          ct_len, &pan, &pan_len, err, sizeof err), 0);
	assert_non_null(pan);
	assert_int_equal(pan_len, strlen(PAN));
	assert_string_equal(pan, PAN);
	sr_secret_free(pan);
}

static void test_aad_binding(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[VAULT_PAN_CT_MAX];
	size_t ct_len = 0;
	char *pan = NULL;
	size_t pan_len = 0;
	char err[256] = "";

	(void)state;
	encrypt_pan(TOK_A, MER_A, iv, ct, &ct_len);
	/* another token */
	assert_int_equal(vault_crypto_decrypt_pan(g_h, VAULT_KEY_VERSION_PAN, TOK_B, MER_A, iv, ct,
	                                          ct_len, &pan, &pan_len, err, sizeof err), -1);
	assert_null(pan);
	assert_null(strstr(err, "4242"));
	/* another merchant */
	assert_int_equal(vault_crypto_decrypt_pan(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_B, iv, ct,
	                                          ct_len, &pan, &pan_len, err, sizeof err), -1);
	assert_null(pan);
	/* the CVC domain cannot open a PAN ciphertext */
	assert_int_equal(vault_crypto_decrypt_cvc(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_A, iv, ct,
	                                          ct_len, &pan, &pan_len, err, sizeof err), -1);
	/* an unknown key version */
	assert_int_equal(vault_crypto_decrypt_pan(g_h, "pan-enc-v9", TOK_A, MER_A, iv, ct, ct_len,
	                                          &pan, &pan_len, err, sizeof err), -1);
	/* a flipped ciphertext bit, a flipped IV bit */
	ct[0] ^= 1;
	assert_int_equal(vault_crypto_decrypt_pan(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_A, iv, ct,
	                                          ct_len, &pan, &pan_len, err, sizeof err), -1);
	ct[0] ^= 1;
	iv[3] ^= 0x80;
	assert_int_equal(vault_crypto_decrypt_pan(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_A, iv, ct,
	                                          ct_len, &pan, &pan_len, err, sizeof err), -1);
	iv[3] ^= 0x80;
	/* and the untouched one still opens */
	assert_int_equal(vault_crypto_decrypt_pan(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_A, iv, ct,
	                                          ct_len, &pan, &pan_len, err, sizeof err), 0);
	sr_secret_free(pan);
	/* ids that could make two bindings collide are refused */
	ct_len = sizeof ct;
	assert_int_equal(vault_crypto_encrypt_pan(g_h, HSM_KEY_PAN_ENC, "tok_a|mer_b", MER_A, PAN,
	                                          strlen(PAN), iv, ct, &ct_len, err, sizeof err),
	                 -1);
	/* key labels outside "pan-enc-vN" are refused (ADR 0074) */
	ct_len = sizeof ct;
	assert_int_equal(vault_crypto_encrypt_pan(g_h, "fp-hmac-v1", TOK_A, MER_A, PAN, strlen(PAN),
	                                          iv, ct, &ct_len, err, sizeof err), -1);
	ct_len = sizeof ct;
	assert_int_equal(vault_crypto_encrypt_pan(g_h, "pan-enc-v0", TOK_A, MER_A, PAN, strlen(PAN),
	                                          iv, ct, &ct_len, err, sizeof err), -1);
	ct_len = sizeof ct;
	assert_int_equal(vault_crypto_encrypt_pan(g_h, "pan-enc-v1x", TOK_A, MER_A, PAN, strlen(PAN),
	                                          iv, ct, &ct_len, err, sizeof err), -1);
	assert_int_equal(vault_crypto_decrypt_pan(g_h, "pan-enc-v", TOK_A, MER_A, iv, ct, ct_len,
	                                          &pan, &pan_len, err, sizeof err), -1);
}

static void test_fresh_iv(void **state)
{
	uint8_t iv1[HSM_GCM_IV_LEN], iv2[HSM_GCM_IV_LEN];
	uint8_t ct1[VAULT_PAN_CT_MAX], ct2[VAULT_PAN_CT_MAX];
	size_t l1 = 0, l2 = 0;

	(void)state;
	encrypt_pan(TOK_A, MER_A, iv1, ct1, &l1);
	encrypt_pan(TOK_A, MER_A, iv2, ct2, &l2);
	assert_memory_not_equal(iv1, iv2, HSM_GCM_IV_LEN);
	assert_memory_not_equal(ct1, ct2, l1);
}

static void test_cvc_round_trip(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[VAULT_CVC_CT_MAX];
	size_t ct_len = sizeof ct;
	char *cvc = NULL;
	size_t cvc_len = 0;
	char err[256] = "";

	(void)state;
	assert_int_equal(vault_crypto_encrypt_cvc(g_h, HSM_KEY_PAN_ENC, TOK_A, MER_A, "1234", 4, iv,
	                                          ct, &ct_len, err, sizeof err), 0);
	assert_int_equal(ct_len, 4 + HSM_GCM_TAG_LEN);
	assert_int_equal(vault_crypto_decrypt_cvc(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_A, iv, ct,
	                                          ct_len, &cvc, &cvc_len, err, sizeof err), 0);
	assert_string_equal(cvc, "1234");
	sr_secret_free(cvc);
	cvc = NULL;
	assert_int_equal(vault_crypto_decrypt_cvc(g_h, VAULT_KEY_VERSION_PAN, TOK_B, MER_A, iv, ct,
	                                          ct_len, &cvc, &cvc_len, err, sizeof err), -1);
	assert_int_equal(vault_crypto_decrypt_pan(g_h, VAULT_KEY_VERSION_PAN, TOK_A, MER_A, iv, ct,
	                                          ct_len, &cvc, &cvc_len, err, sizeof err), -1);
	assert_null(cvc);
}

static void test_fingerprint(void **state)
{
	char a1[VAULT_FP_LEN + 1], a2[VAULT_FP_LEN + 1], b[VAULT_FP_LEN + 1], other[VAULT_FP_LEN + 1];
	char err[256] = "";
	size_t i;

	(void)state;
	assert_int_equal(vault_crypto_fingerprint(g_h, HSM_KEY_FP_HMAC, MER_A, PAN, strlen(PAN), a1,
	                                          err, sizeof err), 0);
	assert_int_equal(vault_crypto_fingerprint(g_h, HSM_KEY_FP_HMAC, MER_A, PAN, strlen(PAN), a2,
	                                          err, sizeof err), 0);
	assert_int_equal(vault_crypto_fingerprint(g_h, HSM_KEY_FP_HMAC, MER_B, PAN, strlen(PAN), b,
	                                          err, sizeof err), 0);
	assert_int_equal(vault_crypto_fingerprint(g_h, HSM_KEY_FP_HMAC, MER_A, "5555555555554444",
	                                          16, other, err, sizeof err), 0);
	assert_int_equal(strlen(a1), VAULT_FP_LEN);
	assert_int_equal(strncmp(a1, "fp_", 3), 0);
	for (i = 3; i < VAULT_FP_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a1[i]));
	assert_string_equal(a1, a2);            /* same merchant + PAN */
	assert_string_not_equal(a1, b);         /* per merchant */
	assert_string_not_equal(a1, other);     /* per PAN */
	assert_null(strstr(a1, "4242"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pan_round_trip),
		cmocka_unit_test(test_aad_binding),
		cmocka_unit_test(test_fresh_iv),
		cmocka_unit_test(test_cvc_round_trip),
		cmocka_unit_test(test_fingerprint),
	};

	if (!fx_softhsm_present("test_vault_crypto"))
		return 77;
	return cmocka_run_group_tests(tests, setup, teardown);
}
