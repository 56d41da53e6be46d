/*
 * Attack suite, issue 28 item 4 (ADR 0120): the platform's PSP secrets
 * sealed in the vault database. The attacker holds a copy of the database
 * (or can write to it) but not the HSM that sealed the rows: what he holds
 * must decrypt to nothing. A row opened elsewhere (another connector or
 * name: the AAD), under another key of the same token, or with another
 * token altogether (same labels, different keys) does not open; the
 * ciphertext holds no byte string of the value; rotation moves the rows and
 * keeps the old key in use until they are moved. A SoftHSM2 token of its own
 * and a scratch database with the vault's migrations (skipped without
 * PostgreSQL).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_secret.h"
#include "hsm/hsm.h"
#include "tests/unit/fixture.h"
#include "vault/connectors/vault_psp_platform.h"
#include "vault/crypto/vault_keys.h"

#define LABEL   "atk28-platform"
#define OTHER   "atk28-other-hsm"
#define SK      "sk_live_platformSecretKey0123456789"
#define WHSEC   "whsec_platformEndpointSecret42"
#define AHMAC   "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"

static struct fx_softhsm g_t;
static char g_db[64];
static struct hsm *g_h = NULL;     /* the vault's token */
static struct hsm *g_x = NULL;     /* another token: same labels, other keys */
static struct sr_db_pool *g_pool = NULL;
static PGconn *g_c = NULL;

static int group_setup(void **state)
{
	char err[256] = "";
	int rc;

	(void)state;
	if (fx_softhsm_new(&g_t, "test_vault_attack_28_", "atk28-user-pin", "atk28-so-pin") != 0)
		return -1;
	if (hsm_init_token(FX_SOFTHSM_MODULE, LABEL, g_t.so_pin, g_t.user_pin, err, sizeof err) < 0 ||
	    hsm_init_token(FX_SOFTHSM_MODULE, OTHER, g_t.so_pin, g_t.user_pin, err, sizeof err) < 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, LABEL, g_t.user_pin, 2, &g_h, err, sizeof err) != 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, OTHER, g_t.user_pin, 1, &g_x, err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_h, "pan-enc-v1", err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_h, "pan-enc-v2", err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_x, "pan-enc-v1", err, sizeof err) != 0) {
		fprintf(stderr, "hsm setup: %s\n", err);
		return -1;
	}
	rc = fx_pg_create(g_db, sizeof g_db, "atk28_test", "vault");
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	g_pool = fx_pg_pool(g_db, 1, err, sizeof err);
	if (g_pool == NULL)
		return -1;
	g_c = sr_db_acquire(g_pool);
	return 0;
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
	hsm_close(g_x);
	fx_softhsm_free(&g_t);
	return 0;
}

/* Load (connector, name) with h: the rc; the value compared when expected. */
static int load_is(struct hsm *h, const char *connector, const char *name, const char *expect)
{
	char err[256] = "";
	char *v = NULL;
	size_t n = 0;
	int rc = vault_psp_platform_load(g_c, h, connector, name, &v, &n, err, sizeof err);

	if (rc == 1 && expect != NULL && (n != strlen(expect) || strcmp(v, expect) != 0))
		rc = 99;
	if (rc == -1)
		assert_null(strstr(err, SK));   /* errors never carry the value */
	sr_secret_free(v);
	return rc;
}

static void test_values_checked(void **state)
{
	char err[256];

	(void)state;
	assert_true(vault_psp_platform_value_ok("stripe", "api_key", SK));
	assert_true(vault_psp_platform_value_ok("adyen", "webhook_secret", AHMAC));
	assert_false(vault_psp_platform_value_ok("adyen", "webhook_secret", WHSEC));  /* not hex */
	assert_false(vault_psp_platform_value_ok("adyen", "webhook_secret", "0123456789abcdef"));
	assert_false(vault_psp_platform_value_ok("stripe", "api_key", "short"));
	assert_false(vault_psp_platform_value_ok("stripe", "api_key", "sk_live with space"));
	assert_false(vault_psp_platform_value_ok("paypal", "api_key", SK));
	assert_false(vault_psp_platform_value_ok("stripe", "password", SK));
	if (g_pool == NULL)
		skip();
	assert_int_equal(vault_psp_platform_put(g_c, g_h, "pan-enc-v1", "stripe", "api_key", "short",
	                                        "dev-a,dev-b", err, sizeof err), -1);
	assert_int_equal(vault_psp_platform_put(g_c, g_h, "pan-enc-v1'--", "stripe", "api_key", SK,
	                                        "dev-a,dev-b", err, sizeof err), -1);
	assert_int_equal(load_is(g_h, "stripe", "api_key", NULL), 0);  /* nothing stored */
}

static void test_sealed_blob_decrypts_to_nothing_elsewhere(void **state)
{
	char err[256];
	json_t *list = NULL;
	char *dump = NULL;
	PGresult *res = NULL;

	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(vault_psp_platform_put(g_c, g_h, "pan-enc-v1", "stripe", "api_key", SK,
	                                        "dev-a,dev-b", err, sizeof err), 0);
	assert_int_equal(vault_psp_platform_put(g_c, g_h, "pan-enc-v1", "stripe", "webhook_secret",
	                                        WHSEC, "dev-a,dev-b", err, sizeof err), 0);
	assert_int_equal(vault_psp_platform_put(g_c, g_h, "pan-enc-v1", "adyen", "webhook_secret",
	                                        AHMAC, "dev-a,dev-b", err, sizeof err), 0);
	assert_int_equal(load_is(g_h, "stripe", "api_key", SK), 1);
	assert_int_equal(load_is(g_h, "stripe", "webhook_secret", WHSEC), 1);
	/* The listing shows last4 and who loaded it, never a value. */
	list = vault_psp_platform_list(g_c, err, sizeof err);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 3);
	dump = json_dumps(list, JSON_COMPACT);
	assert_non_null(strstr(dump, "\"last4\":\"6789\""));
	assert_null(strstr(dump, SK));
	assert_null(strstr(dump, "platformSecret"));
	free(dump);
	json_decref(list);
	/* What a copy of the database holds: no byte string of the value. */
	res = PQexec(g_c, "SELECT ciphertext FROM psp_platform_secrets WHERE name = 'api_key'");
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_null(memmem(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0), "platformSecret",
	                   14));
	PQclear(res);
	/* Another HSM (same label, another key): the blob alone opens nowhere. */
	assert_int_equal(load_is(g_x, "stripe", "api_key", NULL), -1);
	/* Another key of the same token. */
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_platform_secrets SET key_version = 'pan-enc-v2' "
	                                 "WHERE connector = 'stripe' AND name = 'api_key'"), 0);
	assert_int_equal(load_is(g_h, "stripe", "api_key", NULL), -1);
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_platform_secrets SET key_version = 'pan-enc-v1' "
	                                 "WHERE connector = 'stripe' AND name = 'api_key'"), 0);
	/* Moved to another connector or name: the AAD does not match. */
	assert_int_equal(sr_db_exec(g_c, "INSERT INTO psp_platform_secrets (connector, name, "
	                                 "key_version, iv, ciphertext, last4, loaded_by) SELECT "
	                                 "'adyen', 'api_key', key_version, iv, ciphertext, last4, "
	                                 "loaded_by FROM psp_platform_secrets WHERE connector = "
	                                 "'stripe' AND name = 'api_key'"), 0);
	assert_int_equal(load_is(g_h, "adyen", "api_key", NULL), -1);
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_platform_secrets SET (iv, ciphertext) = "
	                                 "(SELECT iv, ciphertext FROM psp_platform_secrets WHERE "
	                                 "connector = 'stripe' AND name = 'api_key') WHERE connector = "
	                                 "'stripe' AND name = 'webhook_secret'"), 0);
	assert_int_equal(load_is(g_h, "stripe", "webhook_secret", NULL), -1);
	assert_int_equal(sr_db_exec(g_c, "DELETE FROM psp_platform_secrets WHERE name = "
	                                 "'webhook_secret' AND connector = 'stripe' OR "
	                                 "(connector = 'adyen' AND name = 'api_key')"), 0);
}

static void test_rotation_moves_platform_secrets(void **state)
{
	struct vault_key_labels cur = { "pan-enc-v2", "fp-hmac-v1", "" };
	struct vault_reencrypt_stats st = { 0, 0, 0 };
	char err[256];

	(void)state;
	if (g_pool == NULL)
		skip();
	/* Rows on v1 (the previous test left two) keep v1 in use. */
	assert_int_equal(vault_keys_in_use(g_c, "pan-enc-v1", err, sizeof err), 2);
	assert_int_equal(vault_keys_outdated(g_c, &cur, err, sizeof err), 2);
	assert_int_equal(vault_psp_platform_reseal(g_c, g_h, &cur, &st, err, sizeof err), 2);
	assert_int_equal(st.moved, 2);
	assert_int_equal(vault_keys_in_use(g_c, "pan-enc-v1", err, sizeof err), 0);
	assert_int_equal(vault_keys_outdated(g_c, &cur, err, sizeof err), 0);
	assert_int_equal(load_is(g_h, "stripe", "api_key", SK), 1);
	assert_int_equal(load_is(g_h, "adyen", "webhook_secret", AHMAC), 1);
	/* Nothing left to move. */
	assert_int_equal(vault_psp_platform_reseal(g_c, g_h, &cur, &st, err, sizeof err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_checked),
		cmocka_unit_test(test_sealed_blob_decrypts_to_nothing_elsewhere),
		cmocka_unit_test(test_rotation_moves_platform_secrets),
	};

	if (!fx_softhsm_present("test_vault_attack_28_psp_platform"))
		return 77;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
