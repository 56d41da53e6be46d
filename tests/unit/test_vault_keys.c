/*
 * test_vault_keys: key versions and the re-encryption job (issue 7, ADR 0074)
 * against a real SoftHSM2 token and a scratch database made for the run in
 * the dev PostgreSQL cluster (SR_TEST_PG_PORT, default 55432) with every
 * vault migration applied (migrations/migrate.sh). Skipped (all tests) when
 * no PostgreSQL answers; exits 77 when the SoftHSM2 module is absent.
 *  - key_versions: seeded v1 current; make_current moves the old one to
 *    previous; exactly one current per purpose; retire only a previous one.
 *  - vaultd's cache: a rotation is seen within a second.
 *  - Re-encryption: records under pan-enc-v1 / fp-hmac-v1 move to v2 in
 *    batches with a cursor (stop half-way and resume), the PAN and CVC still
 *    decrypt under the new version with the same token (AAD unchanged), the
 *    old fingerprint is kept in fingerprint_prev, each decryption is in the
 *    audit chain (which still verifies), a record that does not decrypt is
 *    counted as failed and stays; in_use counts what still needs a key.
 *  - Deduplication across the fingerprint rotation (vault_store_card_find).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/sr_db.h"
#include "common/sr_secret.h"
#include "hsm/hsm.h"
#include "tests/unit/fixture.h"
#include "vault/audit/vault_audit.h"
#include "vault/crypto/vault_crypto.h"
#include "vault/crypto/vault_keys.h"
#include "vault/store/vault_store.h"

#define LABEL  "strongroom-keys-test"
#define MER    "mer_keystest"
#define PAN    "4242424242424242"

static char g_db[64];
static struct fx_softhsm g_t;
static struct hsm *g_h = NULL;
static struct sr_db_pool *g_pool = NULL;
static PGconn *g_c = NULL;

static int group_setup(void **state)
{
	char err[256] = "";
	int rc;

	(void)state;
	if (fx_softhsm_new(&g_t, "test_vault_keys_", "keys-user-pin-1", "keys-so-pin-2") != 0)
		return -1;
	if (hsm_init_token(FX_SOFTHSM_MODULE, LABEL, g_t.so_pin, g_t.user_pin, err, sizeof err) < 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, LABEL, g_t.user_pin, 2, &g_h, err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_h, "pan-enc-v1", err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_h, "pan-enc-v2", err, sizeof err) != 0 ||
	    hsm_generate_hmac_key(g_h, "fp-hmac-v1", err, sizeof err) != 0 ||
	    hsm_generate_hmac_key(g_h, "fp-hmac-v2", err, sizeof err) != 0 ||
	    hsm_generate_hmac_key(g_h, HSM_KEY_AUDIT_HMAC, err, sizeof err) != 0) {
		fprintf(stderr, "hsm setup: %s\n", err);
		return -1;
	}
	/* A scratch database with the vault's migrations. */
	rc = fx_pg_create(g_db, sizeof g_db, "sr_keys_test", "vault");
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	g_pool = fx_pg_pool(g_db, 2, err, sizeof err);
	if (g_pool == NULL)
		return -1;
	g_c = sr_db_acquire(g_pool);
	return sr_db_exec(g_c, "INSERT INTO merchants (id, publishable_key_sha256) VALUES ('" MER "', "
	                  "repeat('a', 64))") == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (g_pool != NULL) {
		sr_db_release(g_pool, g_c);
		sr_db_pool_free(g_pool);
	}
	fx_pg_drop(g_db);
	hsm_close(g_h);
	fx_softhsm_free(&g_t);
	return 0;
}

#define NEED_DB() do { if (g_c == NULL) skip(); } while (0)

/* A token under the given labels, like vault_tokens_create (with a CVC when cvc). */
static void make_token(const char *id, const char *pan_label, const char *fp_label, bool cvc,
                       const char *customer)
{
	struct vault_token_row r;
	char err[256] = "";

	memset(&r, 0, sizeof r);
	snprintf(r.id, sizeof r.id, "%s", id);
	snprintf(r.merchant_id, sizeof r.merchant_id, "%s", MER);
	snprintf(r.brand, sizeof r.brand, "visa");
	memcpy(r.last4, "4242", 5);
	r.exp_month = 12;
	r.exp_year = 2030;
	snprintf(r.key_version, sizeof r.key_version, "%s", pan_label);
	snprintf(r.fp_version, sizeof r.fp_version, "%s", fp_label);
	r.created_at = 1700000000;
	if (customer != NULL)
		snprintf(r.customer, sizeof r.customer, "%s", customer);
	assert_int_equal(vault_crypto_fingerprint(g_h, fp_label, MER, PAN, strlen(PAN),
	                                          r.fingerprint, err, sizeof err), 0);
	r.pan_ct_len = sizeof r.pan_ct;
	assert_int_equal(vault_crypto_encrypt_pan(g_h, pan_label, id, MER, PAN, strlen(PAN),
	                                          r.pan_iv, r.pan_ct, &r.pan_ct_len, err,
	                                          sizeof err), 0);
	if (cvc) {
		r.cvc_ct_len = sizeof r.cvc_ct;
		assert_int_equal(vault_crypto_encrypt_cvc(g_h, pan_label, id, MER, "123", 3, r.cvc_iv,
		                                          r.cvc_ct, &r.cvc_ct_len, err, sizeof err),
		                 0);
		r.has_cvc = true;
		r.cvc_expires_at = 1900000000;
	}
	if (vault_store_token_insert(g_c, &r, err, sizeof err) != 0)
		fail_msg("insert: %s", err);
}

static void test_versions_and_cache(void **state)
{
	struct vault_key_labels l;
	struct vault_keys *k = vault_keys_new();
	char err[256] = "", st[16];
	int cur = 0, next = 0;

	(void)state;
	assert_non_null(k);
	NEED_DB();
	assert_int_equal(vault_keys_read(g_c, &l, err, sizeof err), 0);
	assert_string_equal(l.pan, "pan-enc-v1");
	assert_string_equal(l.fp, "fp-hmac-v1");
	assert_string_equal(l.fp_prev, "");
	assert_int_equal(vault_keys_current(k, g_pool, &l, err, sizeof err), 0);
	assert_string_equal(l.pan, "pan-enc-v1");
	assert_int_equal(vault_keys_versions(g_c, "pan-enc", &cur, &next, err, sizeof err), 0);
	assert_int_equal(cur, 1);
	assert_int_equal(next, 2);
	/* Old records first (before the rotation). */
	make_token("tok_keys000000000000000001", "pan-enc-v1", "fp-hmac-v1", true, NULL);
	make_token("tok_keys000000000000000002", "pan-enc-v1", "fp-hmac-v1", false, NULL);
	make_token("card_keys000000000000000003", "pan-enc-v1", "fp-hmac-v1", false, "cus_a");
	make_token("tok_keys000000000000000004", "pan-enc-v1", "fp-hmac-v1", false, NULL);
	make_token("tok_keys000000000000000005", "pan-enc-v1", "fp-hmac-v1", true, NULL);
	/* Rotate both purposes. */
	assert_int_equal(vault_keys_make_current(g_c, "pan-enc", 2, "ABCDEF", err, sizeof err), 0);
	assert_int_equal(vault_keys_make_current(g_c, "fp-hmac", 2, "012345", err, sizeof err), 0);
	/* Bad KCV text, an existing version: refused, nothing changes. */
	assert_int_equal(vault_keys_make_current(g_c, "pan-enc", 3, "xyz", err, sizeof err), -1);
	assert_int_equal(vault_keys_make_current(g_c, "pan-enc", 2, "ABCDEF", err, sizeof err), -1);
	assert_int_equal(vault_keys_state(g_c, "pan-enc-v1", st, err, sizeof err), 1);
	assert_string_equal(st, "previous");
	assert_int_equal(vault_keys_state(g_c, "pan-enc-v2", st, err, sizeof err), 1);
	assert_string_equal(st, "current");
	assert_int_equal(vault_keys_state(g_c, "pan-enc-v9", st, err, sizeof err), 0);
	/* The cache answers v1 for at most a second, then v2. */
	sleep(1);
	usleep(100000);
	assert_int_equal(vault_keys_current(k, g_pool, &l, err, sizeof err), 0);
	assert_string_equal(l.pan, "pan-enc-v2");
	assert_string_equal(l.fp, "fp-hmac-v2");
	assert_string_equal(l.fp_prev, "fp-hmac-v1");
	vault_keys_free(k);
}

static void test_dedup_across_fp_rotation(void **state)
{
	struct vault_token_row row;
	char err[256] = "", fp2[VAULT_FP_LEN + 1], fp1[VAULT_FP_LEN + 1];

	(void)state;
	NEED_DB();
	/* A token made after the rotation: fingerprint under v2, previous under v1. */
	assert_int_equal(vault_crypto_fingerprint(g_h, "fp-hmac-v2", MER, PAN, strlen(PAN), fp2,
	                                          err, sizeof err), 0);
	assert_int_equal(vault_crypto_fingerprint(g_h, "fp-hmac-v1", MER, PAN, strlen(PAN), fp1,
	                                          err, sizeof err), 0);
	assert_string_not_equal(fp1, fp2);
	/* The card saved before (fingerprint v1) is found by either. */
	assert_int_equal(vault_store_card_find(g_c, MER, "cus_a", fp2, fp1, &row, err, sizeof err),
	                 1);
	assert_string_equal(row.id, "card_keys000000000000000003");
	/* Without the previous fingerprint it is not (what the rotation scheme fixes). */
	assert_int_equal(vault_store_card_find(g_c, MER, "cus_a", fp2, NULL, &row, err, sizeof err),
	                 0);
	assert_int_equal(vault_store_card_find(g_c, MER, "cus_a", fp2, "", &row, err, sizeof err),
	                 0);
}

static void test_reencrypt_resumable(void **state)
{
	struct vault_reencrypt_stats st = { 0, 0, 0 };
	struct vault_key_labels cur;
	struct vault_token_row row;
	struct vault_audit_report rep;
	char err[256] = "", cursor[128] = "", fp2[VAULT_FP_LEN + 1];
	char *pan = NULL, *cvc = NULL;
	size_t pan_len = 0, cvc_len = 0;
	int n;

	(void)state;
	NEED_DB();
	assert_int_equal(vault_keys_read(g_c, &cur, err, sizeof err), 0);
	assert_int_equal(vault_keys_outdated(g_c, &cur, err, sizeof err), 5);
	assert_int_equal(vault_keys_in_use(g_c, "pan-enc-v1", err, sizeof err), 5);
	/* A record whose ciphertext does not open (altered): counted, kept. */
	assert_int_equal(sr_db_exec(g_c, "UPDATE tokens SET pan_ct = set_byte(pan_ct, 0, "
	                            "get_byte(pan_ct, 0) # 1) WHERE id = "
	                            "'tok_keys000000000000000004'"), 0);
	/* Two batches of two, then "crash": the cursor is lost. */
	n = vault_keys_reencrypt_batch(g_c, g_h, &cur, 2, cursor, sizeof cursor, &st, err,
	                               sizeof err);
	assert_int_equal(n, 2);
	assert_int_equal(st.moved, 2);
	assert_int_equal(vault_keys_outdated(g_c, &cur, err, sizeof err), 3);
	/* Resume from the start: what moved is not selected again. */
	cursor[0] = '\0';
	while ((n = vault_keys_reencrypt_batch(g_c, g_h, &cur, 2, cursor, sizeof cursor, &st, err,
	                                       sizeof err)) > 0)
		;
	assert_int_equal(n, 0);
	assert_int_equal(st.moved, 4);
	assert_int_equal(st.failed, 1);
	assert_int_equal(vault_keys_outdated(g_c, &cur, err, sizeof err), 1);
	assert_int_equal(vault_keys_in_use(g_c, "pan-enc-v1", err, sizeof err), 1);
	/* Same token, new version; PAN and CVC decrypt with the unchanged AAD. */
	assert_int_equal(vault_store_token_get(g_c, "tok_keys000000000000000001", &row, err,
	                                       sizeof err), 1);
	assert_string_equal(row.key_version, "pan-enc-v2");
	assert_string_equal(row.fp_version, "fp-hmac-v2");
	assert_int_equal(vault_crypto_decrypt_pan(g_h, row.key_version, row.id, MER, row.pan_iv,
	                                          row.pan_ct, row.pan_ct_len, &pan, &pan_len, err,
	                                          sizeof err), 0);
	assert_string_equal(pan, PAN);
	assert_true(row.has_cvc);
	assert_int_equal(vault_crypto_decrypt_cvc(g_h, row.key_version, row.id, MER, row.cvc_iv,
	                                          row.cvc_ct, row.cvc_ct_len, &cvc, &cvc_len, err,
	                                          sizeof err), 0);
	assert_string_equal(cvc, "123");
	sr_secret_free(pan);
	sr_secret_free(cvc);
	pan = NULL;
	/* The old key no longer opens it. */
	assert_int_equal(vault_crypto_decrypt_pan(g_h, "pan-enc-v1", row.id, MER, row.pan_iv,
	                                          row.pan_ct, row.pan_ct_len, &pan, &pan_len, err,
	                                          sizeof err), -1);
	/* Re-fingerprinted, the old fingerprint kept for deduplication. */
	assert_int_equal(vault_crypto_fingerprint(g_h, "fp-hmac-v2", MER, PAN, strlen(PAN), fp2,
	                                          err, sizeof err), 0);
	assert_string_equal(row.fingerprint, fp2);
	assert_int_equal(strlen(row.fingerprint_prev), VAULT_FP_LEN);
	/* The saved card, found by the new fingerprint alone now. */
	assert_int_equal(vault_store_card_find(g_c, MER, "cus_a", fp2, NULL, &row, err, sizeof err),
	                 1);
	/* Every decryption audited (4 decrypted + 1 failed + ...), chain intact. */
	assert_int_equal(vault_audit_verify(g_c, g_h, &rep, err, sizeof err), 0);
	assert_true(rep.records >= 5);
	/* The head's MAC and count verified; the process's first append signed a checkpoint. */
	assert_true(rep.checkpoints >= 1);
	assert_true(rep.last_checkpoint >= 1);
	/* Retire: a current key never; a previous one (state only here). */
	assert_int_equal(vault_keys_mark_retired(g_c, "pan-enc-v2", err, sizeof err), -1);
	assert_int_equal(vault_keys_mark_retired(g_c, "fp-hmac-v1", err, sizeof err), 0);
	assert_int_equal(vault_keys_mark_retired(g_c, "fp-hmac-v1", err, sizeof err), -1);
	assert_int_equal(vault_keys_read(g_c, &cur, err, sizeof err), 0);
	assert_string_equal(cur.fp_prev, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_and_cache),
		cmocka_unit_test(test_dedup_across_fp_rotation),
		cmocka_unit_test(test_reencrypt_resumable),
	};

	if (!fx_softhsm_present("test_vault_keys"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
