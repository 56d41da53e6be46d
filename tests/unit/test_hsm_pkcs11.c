/*
 * test_hsm_pkcs11: hsm/ against a real SoftHSM2 token made for the run in a
 * temporary directory (SOFTHSM2_CONF points there). Covers AES-256-GCM
 * (NIST SP 800-38D: any change to ciphertext, tag, IV or AAD is rejected; a
 * fresh IV per message), HMAC-SHA256 (PCI DSS v4.0 3.5.1.1), key attributes
 * (invariant 2, docs/invariants.md: sensitive, never extractable), login errors that never
 * show the PIN, token/key lookup by label, and the session pool under
 * concurrent use. Exits 77 (skipped) only when the SoftHSM2 module is absent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hsm/hsm.h"
#include "hsm/hsm_p11.h"
#include "tests/unit/fixture.h"

#define MODULE     FX_SOFTHSM_MODULE
#define TOKEN      "strongroom-test"
#define USER_PIN   "user-pin-7391"
#define SO_PIN     "so-pin-2468"
#define WRONG_PIN  "wrong-pin-5550"
#define POOL       2

static struct fx_softhsm g_t;
static char g_bad_pin[300];
static struct hsm *g_h = NULL;

static int open_global(void)
{
	char err[256] = "";

	if (hsm_open(MODULE, TOKEN, g_t.user_pin, POOL, &g_h, err, sizeof(err)) != 0) {
		fprintf(stderr, "hsm_open: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_setup(void **state)
{
	char err[256] = "";

	(void)state;
	if (fx_softhsm_new(&g_t, "test_hsm_", USER_PIN, SO_PIN) != 0)
		return -1;
	snprintf(g_bad_pin, sizeof(g_bad_pin), "%s/bad-pin", g_t.dir);
	if (fx_write_file(g_bad_pin, WRONG_PIN "\n", 0600) != 0)
		return -1;
	if (hsm_init_token(MODULE, TOKEN, g_t.so_pin, g_t.user_pin, err, sizeof(err)) != 0) {
		fprintf(stderr, "hsm_init_token: %s\n", err);
		return -1;
	}
	if (open_global() != 0)
		return -1;
	if (hsm_generate_aes_key(g_h, HSM_KEY_PAN_ENC, err, sizeof(err)) != 0 ||
	    hsm_generate_hmac_key(g_h, HSM_KEY_FP_HMAC, err, sizeof(err)) != 0 ||
	    hsm_generate_hmac_key(g_h, "fp-hmac-other", err, sizeof(err)) != 0) {
		fprintf(stderr, "keygen: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	hsm_close(g_h);
	g_h = NULL;
	fx_softhsm_free(&g_t);
	return 0;
}

static const uint8_t PT[] = "4242424242424242";
static const uint8_t AAD[] = "pan-enc-v1|tok_abc|mer_123";

static void encrypt_ok(uint8_t iv[HSM_GCM_IV_LEN], uint8_t *ct, size_t *ct_len)
{
	char err[256] = "";
	int r = hsm_aes_gcm_encrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, PT, sizeof(PT) - 1,
	                            iv, ct, ct_len, err, sizeof(err));
	if (r != 0)
		print_error("encrypt: %s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(*ct_len, sizeof(PT) - 1 + HSM_GCM_TAG_LEN);
}

static void test_gcm_round_trip(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[64], pt[64];
	size_t ct_len = sizeof(ct), pt_len = sizeof(pt);
	char err[256] = "";

	(void)state;
	encrypt_ok(iv, ct, &ct_len);
	assert_memory_not_equal(ct, PT, sizeof(PT) - 1);   /* not the plaintext */
	assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, iv, ct,
	                                     ct_len, pt, &pt_len, err, sizeof(err)), 0);
	assert_int_equal(pt_len, sizeof(PT) - 1);
	assert_memory_equal(pt, PT, pt_len);

	/* Output buffer of exactly the plaintext size (hsm.h's contract), small
	 * and large (the module wants room for the tag: bounce buffers). */
	{
		uint8_t exact[sizeof(PT) - 1];
		uint8_t *big = malloc(4096), *bct = malloc(4096 + HSM_GCM_TAG_LEN), *bout = malloc(4096);
		size_t el = sizeof(exact), bl = 4096 + HSM_GCM_TAG_LEN, ol = 4096;

		assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, iv, ct,
		                                     ct_len, exact, &el, err, sizeof(err)), 0);
		assert_int_equal(el, sizeof(exact));
		assert_memory_equal(exact, PT, el);
		assert_non_null(big);
		assert_non_null(bct);
		assert_non_null(bout);
		memset(big, 0x5c, 4096);
		assert_int_equal(hsm_aes_gcm_encrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, big,
		                                     4096, iv, bct, &bl, err, sizeof(err)), 0);
		assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, iv, bct,
		                                     bl, bout, &ol, err, sizeof(err)), 0);
		assert_int_equal(ol, 4096);
		assert_memory_equal(bout, big, 4096);
		free(big);
		free(bct);
		free(bout);
	}

	/* Empty plaintext and no AAD still authenticate. */
	ct_len = sizeof(ct);
	assert_int_equal(hsm_aes_gcm_encrypt(g_h, HSM_KEY_PAN_ENC, NULL, 0, NULL, 0, iv, ct, &ct_len,
	                                     err, sizeof(err)), 0);
	assert_int_equal(ct_len, HSM_GCM_TAG_LEN);
	pt_len = sizeof(pt);
	assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, NULL, 0, iv, ct, ct_len, pt,
	                                     &pt_len, err, sizeof(err)), 0);
	assert_int_equal(pt_len, 0);
}

/* Decrypt must fail and release no plaintext. */
static void expect_decrypt_fails(const uint8_t *aad, size_t aad_len, const uint8_t *iv,
                                 const uint8_t *ct, size_t ct_len)
{
	uint8_t pt[64];
	size_t pt_len = sizeof(pt);
	char err[256] = "";

	memset(pt, 0xAA, sizeof(pt));
	assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, aad, aad_len, iv, ct, ct_len, pt,
	                                     &pt_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CKR_"));
	assert_null(memmem(pt, sizeof(pt), PT, sizeof(PT) - 1));
}

static void test_gcm_tamper(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[64], x[64], xiv[HSM_GCM_IV_LEN], xaad[64];
	size_t ct_len = sizeof(ct);

	(void)state;
	encrypt_ok(iv, ct, &ct_len);

	memcpy(x, ct, ct_len);
	x[3] ^= 0x01;                               /* ciphertext byte */
	expect_decrypt_fails(AAD, sizeof(AAD) - 1, iv, x, ct_len);

	memcpy(x, ct, ct_len);
	x[ct_len - 1] ^= 0x80;                      /* tag byte */
	expect_decrypt_fails(AAD, sizeof(AAD) - 1, iv, x, ct_len);

	memcpy(xiv, iv, sizeof(xiv));
	xiv[0] ^= 0x01;                             /* IV byte */
	expect_decrypt_fails(AAD, sizeof(AAD) - 1, xiv, ct, ct_len);

	memcpy(xaad, AAD, sizeof(AAD) - 1);
	xaad[sizeof(AAD) - 2] ^= 0x01;              /* AAD: another merchant/token */
	expect_decrypt_fails(xaad, sizeof(AAD) - 1, iv, ct, ct_len);
	expect_decrypt_fails(NULL, 0, iv, ct, ct_len);  /* AAD dropped */

	expect_decrypt_fails(AAD, sizeof(AAD) - 1, iv, ct, ct_len - 1);  /* truncated */

	/* The untouched message still decrypts (the failures broke nothing). */
	{
		uint8_t pt[64];
		size_t pt_len = sizeof(pt);
		char err[256] = "";
		assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, iv,
		                                     ct, ct_len, pt, &pt_len, err, sizeof(err)), 0);
		assert_memory_equal(pt, PT, sizeof(PT) - 1);
	}
}

static void test_gcm_fresh_iv(void **state)
{
	uint8_t iv1[HSM_GCM_IV_LEN], iv2[HSM_GCM_IV_LEN], ct1[64], ct2[64];
	size_t l1 = sizeof(ct1), l2 = sizeof(ct2);

	(void)state;
	encrypt_ok(iv1, ct1, &l1);
	encrypt_ok(iv2, ct2, &l2);
	assert_int_equal(l1, l2);
	assert_memory_not_equal(iv1, iv2, HSM_GCM_IV_LEN);
	assert_memory_not_equal(ct1, ct2, l1);
}

static void test_gcm_buffer_checks(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[64], pt[64];
	size_t ct_len = sizeof(PT) - 1 + HSM_GCM_TAG_LEN - 1, pt_len;
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_aes_gcm_encrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, PT,
	                                     sizeof(PT) - 1, iv, ct, &ct_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too small"));
	ct_len = sizeof(ct);
	encrypt_ok(iv, ct, &ct_len);
	pt_len = ct_len - HSM_GCM_TAG_LEN - 1;
	assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, iv, ct,
	                                     ct_len, pt, &pt_len, err, sizeof(err)), -1);
	pt_len = sizeof(pt);
	assert_int_equal(hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, AAD, sizeof(AAD) - 1, iv, ct,
	                                     HSM_GCM_TAG_LEN - 1, pt, &pt_len, err, sizeof(err)), -1);
}

static void test_hmac(void **state)
{
	static const uint8_t m1[] = "4242424242424242", m2[] = "4242424242424241";
	uint8_t a[32], b[32], c[32], d[32], zero[32];
	char err[256] = "";

	(void)state;
	memset(zero, 0, sizeof(zero));
	assert_int_equal(hsm_hmac_sha256(g_h, HSM_KEY_FP_HMAC, m1, sizeof(m1) - 1, a, err,
	                                 sizeof(err)), 0);
	assert_int_equal(hsm_hmac_sha256(g_h, HSM_KEY_FP_HMAC, m1, sizeof(m1) - 1, b, err,
	                                 sizeof(err)), 0);
	assert_memory_equal(a, b, 32);                      /* deterministic */
	assert_memory_not_equal(a, zero, 32);
	assert_int_equal(hsm_hmac_sha256(g_h, HSM_KEY_FP_HMAC, m2, sizeof(m2) - 1, c, err,
	                                 sizeof(err)), 0);
	assert_memory_not_equal(a, c, 32);                  /* another message */
	assert_int_equal(hsm_hmac_sha256(g_h, "fp-hmac-other", m1, sizeof(m1) - 1, d, err,
	                                 sizeof(err)), 0);
	assert_memory_not_equal(a, d, 32);                  /* another key */
}

/* Each key does only what its attributes allow (CKA_ENCRYPT / CKA_SIGN). */
static void test_key_usage_separation(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[64], mac[32];
	size_t ct_len = sizeof(ct);
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_hmac_sha256(g_h, HSM_KEY_PAN_ENC, PT, sizeof(PT) - 1, mac, err,
	                                 sizeof(err)), -1);
	assert_non_null(strstr(err, "CKR_"));
	assert_int_equal(hsm_aes_gcm_encrypt(g_h, HSM_KEY_FP_HMAC, NULL, 0, PT, sizeof(PT) - 1, iv,
	                                     ct, &ct_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CKR_"));
}

static void check_key(const char *label, unsigned long type)
{
	struct hsm_key_info ki;
	char err[256] = "";

	memset(&ki, 0xff, sizeof(ki));
	assert_int_equal(hsm_key_info(g_h, label, &ki, err, sizeof(err)), 0);
	assert_true(ki.found);
	assert_true(ki.sensitive);
	assert_false(ki.extractable);
	assert_true(ki.always_sensitive);
	assert_true(ki.never_extractable);
	assert_int_equal(ki.key_type, type);
	assert_int_equal(ki.value_len, 32);
}

static void test_key_attributes(void **state)
{
	struct hsm_key_info ki;
	char err[256] = "";

	(void)state;
	check_key(HSM_KEY_PAN_ENC, CKK_AES);
	check_key(HSM_KEY_FP_HMAC, CKK_GENERIC_SECRET);
	memset(&ki, 0xff, sizeof(ki));
	assert_int_equal(hsm_key_info(g_h, "no-such-key", &ki, err, sizeof(err)), 0);
	assert_false(ki.found);
}

static void test_missing_key(void **state)
{
	uint8_t iv[HSM_GCM_IV_LEN], ct[64], mac[32];
	size_t ct_len = sizeof(ct);
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_aes_gcm_encrypt(g_h, "pan-enc-v9", NULL, 0, PT, sizeof(PT) - 1, iv, ct,
	                                     &ct_len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no secret key labelled 'pan-enc-v9'"));
	assert_int_equal(hsm_hmac_sha256(g_h, "fp-hmac-v9", PT, 4, mac, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no secret key labelled"));
}

static void test_duplicate_key_refused(void **state)
{
	char err[256] = "";
	uint8_t iv[HSM_GCM_IV_LEN], ct[64];
	size_t ct_len = sizeof(ct);

	(void)state;
	assert_int_equal(hsm_generate_aes_key(g_h, HSM_KEY_PAN_ENC, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(hsm_generate_hmac_key(g_h, HSM_KEY_FP_HMAC, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already exists"));
	/* Still exactly one key per label: lookups are not ambiguous. */
	encrypt_ok(iv, ct, &ct_len);
}

static void test_init_token_again(void **state)
{
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_init_token(MODULE, TOKEN, g_t.so_pin, g_t.user_pin, err, sizeof(err)), 1);
}

/* Wrong PIN: CKR_PIN_INCORRECT, and neither PIN appears in the message. The
 * shared handle is closed first: login state is per process and token. */
static void test_wrong_pin(void **state)
{
	struct hsm *h = NULL;
	char err[256] = "";

	(void)state;
	hsm_close(g_h);
	g_h = NULL;
	assert_int_equal(hsm_open(MODULE, TOKEN, g_bad_pin, 1, &h, err, sizeof(err)), -1);
	assert_null(h);
	assert_non_null(strstr(err, "CKR_PIN_INCORRECT"));
	assert_null(strstr(err, WRONG_PIN));
	assert_null(strstr(err, USER_PIN));

	/* A PIN file readable by others is refused before any login. */
	assert_int_equal(chmod(g_bad_pin, 0644), 0);
	assert_int_equal(hsm_open(MODULE, TOKEN, g_bad_pin, 1, &h, err, sizeof(err)), -1);
	assert_null(strstr(err, WRONG_PIN));
	assert_non_null(strstr(err, "mode"));

	/* A second handle on a token this process is logged into is refused. */
	assert_int_equal(open_global(), 0);
	assert_int_equal(hsm_open(MODULE, TOKEN, g_t.user_pin, 1, &h, err, sizeof(err)), -1);
	assert_null(h);
	check_key(HSM_KEY_PAN_ENC, CKK_AES);   /* the first handle is unharmed */
}

static void test_unknown_token(void **state)
{
	struct hsm *h = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_open(MODULE, "no-such-token", g_t.user_pin, 1, &h, err, sizeof(err)), -1);
	assert_null(h);
	assert_non_null(strstr(err, "no-such-token"));
	/* A prefix of the label is another label (32-byte blank-padded compare). */
	assert_int_equal(hsm_open(MODULE, "strongroom", g_t.user_pin, 1, &h, err, sizeof(err)), -1);
	assert_int_equal(hsm_open(MODULE, "strongroom-test-and-more-than-32-bytes", g_t.user_pin, 1,
	                          &h, err, sizeof(err)), -1);
	assert_int_equal(hsm_open("/nonexistent/libpkcs11.so", TOKEN, g_t.user_pin, 1, &h, err,
	                          sizeof(err)), -1);
	assert_int_equal(hsm_open(MODULE, TOKEN, g_t.user_pin, 0, &h, err, sizeof(err)), -1);
}

static void test_random(void **state)
{
	uint8_t a[32], b[32];
	char err[256] = "";

	(void)state;
	assert_int_equal(hsm_random(g_h, a, sizeof(a), err, sizeof(err)), 0);
	assert_int_equal(hsm_random(g_h, b, sizeof(b), err, sizeof(err)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_rv_str(void **state)
{
	(void)state;
	assert_string_equal(hsm_rv_str(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT: the PIN is incorrect");
	assert_non_null(strstr(hsm_rv_str(CKR_ENCRYPTED_DATA_INVALID), "CKR_ENCRYPTED_DATA_INVALID: "));
	assert_non_null(strstr(hsm_rv_str(CKR_FUNCTION_REJECTED), "CKR_FUNCTION_REJECTED: "));
	assert_non_null(strstr(hsm_rv_str(CKR_VENDOR_DEFINED + 5), "CKR_VENDOR_DEFINED"));
	assert_non_null(strstr(hsm_rv_str(0x7777UL), "CKR_UNKNOWN"));
}

/* docs/development.md pitfall: a forked child must re-initialise the module; hsm_open
 * in the child does that and works, and the parent's handle is unharmed. */
static void test_fork_child_reopens(void **state)
{
	pid_t pid;
	int status = 0;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct hsm *h = NULL;
		uint8_t iv[HSM_GCM_IV_LEN], ct[64], pt[64];
		size_t ct_len = sizeof(ct), pt_len = sizeof(pt);
		char err[256] = "";
		int rc = 0;

		if (hsm_open(MODULE, TOKEN, g_t.user_pin, 1, &h, err, sizeof(err)) != 0)
			rc = 10;
		else if (hsm_aes_gcm_encrypt(h, HSM_KEY_PAN_ENC, NULL, 0, PT, sizeof(PT) - 1, iv, ct,
		                             &ct_len, err, sizeof(err)) != 0 ||
		         hsm_aes_gcm_decrypt(h, HSM_KEY_PAN_ENC, NULL, 0, iv, ct, ct_len, pt, &pt_len,
		                             err, sizeof(err)) != 0 ||
		         memcmp(pt, PT, sizeof(PT) - 1) != 0)
			rc = 11;
		if (rc != 0)
			fprintf(stderr, "child: %s\n", err);
		hsm_close(h);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	check_key(HSM_KEY_PAN_ENC, CKK_AES);
}

#define THREADS 4
#define ROUNDS  200

static void *worker(void *arg)
{
	long id = (long)arg;
	long failures = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		uint8_t pt[32], out[32], iv[HSM_GCM_IV_LEN], ct[64], aad[16];
		size_t ct_len = sizeof(ct), out_len = sizeof(out);
		char err[256] = "";

		memset(pt, (int)(id * 31 + i), sizeof(pt));
		snprintf((char *)aad, sizeof(aad), "t%ld-%d", id, i);
		if (hsm_aes_gcm_encrypt(g_h, HSM_KEY_PAN_ENC, aad, strlen((char *)aad), pt, sizeof(pt),
		                        iv, ct, &ct_len, err, sizeof(err)) != 0 ||
		    hsm_aes_gcm_decrypt(g_h, HSM_KEY_PAN_ENC, aad, strlen((char *)aad), iv, ct, ct_len,
		                        out, &out_len, err, sizeof(err)) != 0 ||
		    out_len != sizeof(pt) || memcmp(out, pt, sizeof(pt)) != 0) {
			if (failures++ == 0)
				fprintf(stderr, "worker %ld: %s\n", id, err);
		}
	}
	return (void *)failures;
}

static void test_concurrency(void **state)
{
	pthread_t t[THREADS];
	long total = 0;
	long i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (i = 0; i < THREADS; i++) {
		void *r = NULL;
		assert_int_equal(pthread_join(t[i], &r), 0);
		total += (long)r;
	}
	assert_int_equal(total, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_round_trip),
		cmocka_unit_test(test_gcm_tamper),
		cmocka_unit_test(test_gcm_fresh_iv),
		cmocka_unit_test(test_gcm_buffer_checks),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_key_usage_separation),
		cmocka_unit_test(test_key_attributes),
		cmocka_unit_test(test_missing_key),
		cmocka_unit_test(test_duplicate_key_refused),
		cmocka_unit_test(test_init_token_again),
		cmocka_unit_test(test_wrong_pin),
		cmocka_unit_test(test_unknown_token),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_rv_str),
		cmocka_unit_test(test_fork_child_reopens),
		cmocka_unit_test(test_concurrency),
	};

	if (!fx_softhsm_present("test_hsm_pkcs11"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
