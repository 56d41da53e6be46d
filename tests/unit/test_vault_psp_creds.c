/*
 * Unit tests for vault/vault_psp_creds (issue 5, ADR 0095): merchants' PSP
 * credentials sealed under the HSM. A SoftHSM2 token of its own and a
 * throwaway database in the dev PostgreSQL cluster (skipped when no server
 * answers; SR_TEST_PG_PORT overrides 55432), with the real migration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_secret.h"
#include "hsm/hsm.h"
#include "tests/unit/fixture.h"
#include "vault/connectors/vault_psp_creds.h"
#include "vault/store/vault_store_route.h"

#define LABEL  "vault-psp-creds-test"
#define MER_A  "mer_alphaCreds"
#define MER_B  "mer_bravoCreds"
#define KEY_A  "sk_test_alphaSecretKey0001"
#define ACCT_A "acct_1AlphaAccount"
#define WHS_A  "whsec_alphaWebhookSecret9"

/* Key versions (ADR 0074): v1 as issue 5 sealed; v2 after a rotation of
 * both purposes, with fp-hmac-v1 still 'previous'. */
static const struct vault_key_labels K1 = { "pan-enc-v1", "fp-hmac-v1", "" };
static const struct vault_key_labels K2 = { "pan-enc-v2", "fp-hmac-v2", "fp-hmac-v1" };
static const struct vault_key_labels K2_ONLY = { "pan-enc-v2", "fp-hmac-v2", "" };

static struct fx_softhsm g_t;
static char g_db[64];
static struct hsm *g_h = NULL;
static struct sr_db_pool *g_pool = NULL;
static PGconn *g_c = NULL;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = calloc(1, (size_t)n + 1);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* Run a migration file statement by statement (sr_db_exec takes one at a
 * time): statements end with ";" at the end of a line. */
static int run_sql_file(PGconn *c, char *text)
{
	char *p = text;
	char *end = NULL;

	while ((end = strstr(p, ";\n")) != NULL) {
		end[1] = '\0';
		if (sr_db_exec(c, p) != 0) {
			fprintf(stderr, "migration statement failed: %s\n", PQerrorMessage(c));
			return -1;
		}
		p = end + 2;
	}
	return 0;
}

static int setup(void **state)
{
	char err[256] = "";
	char *mig = NULL;
	char *mig41 = NULL;
	char *mig51 = NULL;
	int rc = -1;

	(void)state;
	if (fx_softhsm_new(&g_t, "test_vault_psp_creds_", "test-user-pin-1", "test-so-pin-2") != 0)
		return -1;
	if (hsm_init_token(FX_SOFTHSM_MODULE, LABEL, g_t.so_pin, g_t.user_pin, err, sizeof err) < 0 ||
	    hsm_open(FX_SOFTHSM_MODULE, LABEL, g_t.user_pin, 2, &g_h, err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_h, HSM_KEY_PAN_ENC, err, sizeof err) != 0 ||
	    hsm_generate_hmac_key(g_h, HSM_KEY_FP_HMAC, err, sizeof err) != 0 ||
	    hsm_generate_aes_key(g_h, "pan-enc-v2", err, sizeof err) != 0 ||
	    hsm_generate_hmac_key(g_h, "fp-hmac-v2", err, sizeof err) != 0) {
		fprintf(stderr, "hsm setup: %s\n", err);
		return -1;
	}
	rc = fx_pg_create(g_db, sizeof g_db, "psp_creds_test", NULL);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	g_pool = fx_pg_pool(g_db, 1, err, sizeof err);
	if (g_pool == NULL)
		return -1;
	g_c = sr_db_acquire(g_pool);
	/* The real migration, on a minimal merchants table (and the vault role
	 * it grants to, created when missing). */
	mig = slurp("migrations/vault/0025_psp_credentials.sql");
	mig41 = slurp("migrations/vault/0041_psp_credentials_key_versions.sql");
	mig51 = slurp("migrations/vault/0051_psp_credentials_webhook_status.sql");
	rc = mig != NULL && mig41 != NULL && mig51 != NULL &&
	     sr_db_exec(g_c, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vault') "
	                     "THEN CREATE ROLE vault LOGIN; END IF; END $$") == 0 &&
	     sr_db_exec(g_c, "CREATE TABLE merchants (id text PRIMARY KEY)") == 0 &&
	     sr_db_exec(g_c, "INSERT INTO merchants VALUES ('" MER_A "'), ('" MER_B "')") == 0 &&
	     run_sql_file(g_c, mig) == 0 && run_sql_file(g_c, mig41) == 0 &&
	     run_sql_file(g_c, mig51) == 0 ? 0 : -1;
	free(mig);
	free(mig41);
	free(mig51);
	return rc;
}

/* ADR 0107: a webhook's payment -> its merchant, on migration vault/0045's
 * index over a minimal authorizations table. */
static void test_payment_merchant(void **state)
{
	char *mig = NULL;
	char mer[80];
	char err[256];

	(void)state;
	if (g_pool == NULL)
		skip();
	mig = slurp("migrations/vault/0045_authorizations_psp_reference.sql");
	assert_non_null(mig);
	assert_int_equal(sr_db_exec(g_c, "CREATE TABLE authorizations (merchant_id text NOT NULL, "
	                                 "connector text NOT NULL, psp_reference text, "
	                                 "created_at timestamptz NOT NULL DEFAULT now())"), 0);
	assert_int_equal(run_sql_file(g_c, mig), 0);
	free(mig);
	assert_int_equal(sr_db_exec(g_c, "INSERT INTO authorizations (merchant_id, connector, "
	                                 "psp_reference) VALUES ('" MER_A "', 'stripe', 'pi_a'), "
	                                 "('" MER_A "', 'stripe', 'pi_a'), ('" MER_B "', 'adyen', 'pi_a'), "
	                                 "('" MER_A "', 'stripe', 'pi_dup'), ('" MER_B "', 'stripe', "
	                                 "'pi_dup'), ('" MER_B "', 'stripe', NULL)"), 0);
	assert_int_equal(vault_store_psp_payment_merchant(g_c, "stripe", "pi_a", mer, sizeof mer, err,
	                                                  sizeof err), 1);
	assert_string_equal(mer, MER_A);
	assert_int_equal(vault_store_psp_payment_merchant(g_c, "adyen", "pi_a", mer, sizeof mer, err,
	                                                  sizeof err), 1);
	assert_string_equal(mer, MER_B);        /* per connector */
	assert_int_equal(vault_store_psp_payment_merchant(g_c, "stripe", "pi_dup", mer, sizeof mer,
	                                                  err, sizeof err), 2);
	assert_string_equal(mer, "");           /* two merchants: nobody's */
	assert_int_equal(vault_store_psp_payment_merchant(g_c, "stripe", "pi_none", mer, sizeof mer,
	                                                  err, sizeof err), 0);
	assert_string_equal(mer, "");
	assert_int_equal(vault_store_psp_payment_merchant(g_c, "stripe", "pi_a", mer, 8, err,
	                                                  sizeof err), -1);
}

static int teardown(void **state)
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

static void put_a(void)
{
	char err[256];

	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_A, "stripe", KEY_A, ACCT_A, WHS_A, NULL,
	                                     err, sizeof err), 0);
}

static void test_round_trip(void **state)
{
	struct vault_psp_creds_held held;
	char err[256];

	(void)state;
	if (g_pool == NULL)
		skip();
	put_a();
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), 1);
	assert_string_equal(held.creds.api_key, KEY_A);
	assert_string_equal(held.creds.merchant_account, ACCT_A);
	assert_string_equal(held.creds.webhook_secret, WHS_A);
	vault_psp_creds_release(&held);
	assert_null(held.blob);
	/* Only some values: the others are NULL (the connector's own then). */
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_B, "stripe", NULL, NULL,
	                                     "whsec_bravoOnly12", NULL, err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_B, "stripe", &held, err, sizeof err), 1);
	assert_null(held.creds.api_key);
	assert_null(held.creds.merchant_account);
	assert_string_equal(held.creds.webhook_secret, "whsec_bravoOnly12");
	vault_psp_creds_release(&held);
	/* None registered. */
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "adyen", &held, err, sizeof err), 0);
	assert_null(held.creds.api_key);
}

/* ADR 0107: a pending webhook secret is sealed with the rest, loaded apart
 * from the active one (never used to verify), and the row says "pending". */
static void test_pending_webhook_secret(void **state)
{
	struct vault_psp_creds_held held;
	const char *p[1] = { MER_A };
	PGresult *r = NULL;
	char err[256];

	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_A, "stripe", KEY_A, ACCT_A, WHS_A,
	                                     "whsec_pendingNew1", err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), 1);
	assert_string_equal(held.creds.webhook_secret, WHS_A);
	assert_string_equal(held.webhook_pending, "whsec_pendingNew1");
	assert_string_equal(held.creds.merchant_account, ACCT_A);
	vault_psp_creds_release(&held);
	r = PQexecParams(g_c, "SELECT webhook_secret_status, webhook_secret_last4 FROM psp_credentials "
	                      "WHERE merchant_id = $1 AND connector = 'stripe'", 1, NULL, p, NULL, NULL, 0);
	assert_int_equal(PQntuples(r), 1);
	assert_string_equal(PQgetvalue(r, 0, 0), "pending");
	assert_string_equal(PQgetvalue(r, 0, 1), "New1");
	PQclear(r);
	/* A pending secret without an active one. */
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_A, "stripe", KEY_A, ACCT_A, NULL,
	                                     "whsec_pendingNew1", err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), 1);
	assert_null(held.creds.webhook_secret);
	assert_string_equal(held.webhook_pending, "whsec_pendingNew1");
	vault_psp_creds_release(&held);
	/* Activated: no pending left, the row says "active". */
	put_a();
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), 1);
	assert_null(held.webhook_pending);
	vault_psp_creds_release(&held);
	r = PQexecParams(g_c, "SELECT webhook_secret_status FROM psp_credentials WHERE merchant_id = $1 "
	                      "AND connector = 'stripe'", 1, NULL, p, NULL, NULL, 0);
	assert_string_equal(PQgetvalue(r, 0, 0), "active");
	PQclear(r);
}

static void test_only_ciphertext_and_last4(void **state)
{
	const char *p[1] = { MER_A };
	PGresult *r = NULL;
	json_t *list = NULL;
	char *dump = NULL;
	char err[256];
	int i;

	(void)state;
	if (g_pool == NULL)
		skip();
	put_a();
	r = PQexecParams(g_c, "SELECT ciphertext, api_key_last4, merchant_account_last4, "
	                      "webhook_secret_last4, account_hmac, key_version FROM psp_credentials "
	                      "WHERE merchant_id = $1", 1, NULL, p, NULL, NULL, 1);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	/* No value (nor a 6-character piece of one) in any column. */
	for (i = 0; i < PQnfields(r); i++) {
		assert_null(memmem(PQgetvalue(r, 0, i), (size_t)PQgetlength(r, 0, i), "SecretKey0", 10));
		assert_null(memmem(PQgetvalue(r, 0, i), (size_t)PQgetlength(r, 0, i), "AlphaAcc", 8));
		assert_null(memmem(PQgetvalue(r, 0, i), (size_t)PQgetlength(r, 0, i), "Webhook", 7));
	}
	assert_string_equal(PQgetvalue(r, 0, 1), "0001");
	assert_string_equal(PQgetvalue(r, 0, 3), "ret9");
	assert_string_equal(PQgetvalue(r, 0, 5), HSM_KEY_PAN_ENC);
	PQclear(r);
	list = vault_psp_creds_list(g_c, MER_A, err, sizeof err);
	assert_non_null(list);
	dump = json_dumps(list, 0);
	assert_non_null(strstr(dump, "\"api_key_last4\": \"0001\""));
	assert_null(strstr(dump, "SecretKey"));
	free(dump);
	json_decref(list);
}

static void test_aad_binds_merchant_and_connector(void **state)
{
	struct vault_psp_creds_held held;
	char err[256];

	(void)state;
	if (g_pool == NULL)
		skip();
	put_a();
	(void)vault_psp_creds_delete(g_c, MER_B, "stripe", err, sizeof err);
	/* Move A's sealed row to merchant B: it no longer opens. */
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET merchant_id = '" MER_B "' "
	                                 "WHERE merchant_id = '" MER_A "' AND connector = 'stripe'"), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_B, "stripe", &held, err, sizeof err), -1);
	assert_null(held.blob);
	assert_null(strstr(err, "Secret"));
	/* To another connector: neither. */
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET merchant_id = '" MER_A "', "
	                                 "connector = 'adyen' WHERE merchant_id = '" MER_B "'"), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "adyen", &held, err, sizeof err), -1);
	assert_int_equal(sr_db_exec(g_c, "DELETE FROM psp_credentials"), 0);
	/* One altered ciphertext byte: refused. */
	put_a();
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET ciphertext = "
	                                 "set_byte(ciphertext, 3, get_byte(ciphertext, 3) # 1)"), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), -1);
	assert_int_equal(sr_db_exec(g_c, "DELETE FROM psp_credentials"), 0);
}

static void test_account_lookup_and_uniqueness(void **state)
{
	char mer[80];
	char err[256];

	(void)state;
	if (g_pool == NULL)
		skip();
	put_a();
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K1, "stripe", ACCT_A, mer,
	                                              sizeof mer, err, sizeof err), 1);
	assert_string_equal(mer, MER_A);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K1, "adyen", ACCT_A, mer,
	                                              sizeof mer, err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K1, "stripe", "acct_other", mer,
	                                              sizeof mer, err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K1, "stripe", "bad account", mer,
	                                              sizeof mer, err, sizeof err), 0);
	/* Another merchant cannot register the same account at the same PSP. */
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_B, "stripe", NULL, ACCT_A, NULL, NULL,
	                                     err, sizeof err), 1);
	/* An unknown merchant. */
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, "mer_nobody", "stripe", KEY_A, NULL,
	                                     NULL, NULL, err, sizeof err), 2);
	/* Malformed values are refused before any HSM call. */
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_A, "stripe", "short", NULL, NULL, NULL,
	                                     err, sizeof err), -1);
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_A, "stripe", NULL, NULL, NULL, NULL, err,
	                                     sizeof err), -1);
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_A, "Str|pe", KEY_A, NULL, NULL, NULL, err,
	                                     sizeof err), -1);
	assert_int_equal(vault_psp_creds_delete(g_c, MER_A, "stripe", err, sizeof err), 1);
	assert_int_equal(vault_psp_creds_delete(g_c, MER_A, "stripe", err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K1, "stripe", ACCT_A, mer,
	                                              sizeof mer, err, sizeof err), 0);
}

/* One column of (merchant, connector)'s row as text, into out. */
static void row_col(const char *merchant, const char *col, char *out, size_t cap)
{
	const char *p[1] = { merchant };
	char sql[160];
	PGresult *r = NULL;

	snprintf(sql, sizeof sql, "SELECT coalesce(%s, '') FROM psp_credentials "
	                          "WHERE merchant_id = $1 AND connector = 'stripe'", col);
	r = PQexecParams(g_c, sql, 1, NULL, p, NULL, NULL, 0);
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* After a rotation (ADR 0074): sealed under pan-enc-v2 and loaded back by
 * the row's own key_version; rows still on v1 keep opening. */
static void test_seal_under_v2_and_load(void **state)
{
	struct vault_psp_creds_held held;
	struct vault_key_labels bad = K2;
	char err[256], col[80];

	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(sr_db_exec(g_c, "DELETE FROM psp_credentials"), 0);
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K2, MER_A, "stripe", KEY_A, ACCT_A, WHS_A, NULL,
	                                     err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_B, "stripe", "sk_test_bravoKey1",
	                                     NULL, NULL, NULL, err, sizeof err), 0);
	row_col(MER_A, "key_version", col, sizeof col);
	assert_string_equal(col, "pan-enc-v2");
	row_col(MER_A, "account_hmac_key", col, sizeof col);
	assert_string_equal(col, "fp-hmac-v2");
	row_col(MER_B, "key_version", col, sizeof col);
	assert_string_equal(col, "pan-enc-v1");
	row_col(MER_B, "account_hmac_key", col, sizeof col);
	assert_string_equal(col, "");   /* no account: no HMAC, no HMAC key */
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), 1);
	assert_string_equal(held.creds.api_key, KEY_A);
	assert_string_equal(held.creds.merchant_account, ACCT_A);
	assert_string_equal(held.creds.webhook_secret, WHS_A);
	vault_psp_creds_release(&held);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_B, "stripe", &held, err, sizeof err), 1);
	assert_string_equal(held.creds.api_key, "sk_test_bravoKey1");
	vault_psp_creds_release(&held);
	/* A row relabelled to another version does not open under it. */
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET key_version = 'pan-enc-v1' "
	                                 "WHERE merchant_id = '" MER_A "'"), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), -1);
	assert_null(held.blob);
	/* Nor under a version the HSM does not hold. */
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET key_version = 'pan-enc-v9' "
	                                 "WHERE merchant_id = '" MER_A "'"), 0);
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), -1);
	assert_null(strstr(err, "Secret"));
	/* The migration refuses a label of the wrong shape or purpose. */
	assert_int_not_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET key_version = 'fp-hmac-v1' "
	                                     "WHERE merchant_id = '" MER_A "'"), 0);
	assert_int_not_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET account_hmac_key = NULL "
	                                     "WHERE merchant_id = '" MER_A "'"), 0);
	/* Labels of the wrong shape or purpose are refused before any HSM call. */
	snprintf(bad.pan, sizeof bad.pan, "%s", "fp-hmac-v2");
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &bad, MER_A, "stripe", KEY_A, NULL, NULL, NULL,
	                                     err, sizeof err), -1);
	bad = K2;
	snprintf(bad.fp, sizeof bad.fp, "%s", "fp-hmac-v0");
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &bad, MER_A, "stripe", KEY_A, NULL, NULL, NULL,
	                                     err, sizeof err), -1);
	bad = K2;
	snprintf(bad.fp_prev, sizeof bad.fp_prev, "%s", "pan-enc-v1");
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &bad, MER_A, "stripe", KEY_A, NULL, NULL, NULL,
	                                     err, sizeof err), -1);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &bad, "stripe", ACCT_A, col,
	                                              sizeof col, err, sizeof err), -1);
	assert_int_equal(sr_db_exec(g_c, "DELETE FROM psp_credentials"), 0);
}

/* During an fp-hmac transition (ADR 0074) an account registered under the
 * previous key is still found, and still taken; re-sealing moves the row to
 * the current keys, after which the previous key is no longer needed. */
static void test_find_account_during_fp_transition(void **state)
{
	struct vault_reencrypt_stats st = { 0, 0, 0 };
	struct vault_psp_creds_held held;
	char mer[80], err[256], col[80], cm[80] = "", cc[40] = "";

	(void)state;
	if (g_pool == NULL)
		skip();
	assert_int_equal(sr_db_exec(g_c, "DELETE FROM psp_credentials"), 0);
	put_a();                                        /* under K1 */
	/* Rotated: found through the previous key only. */
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K2, "stripe", ACCT_A, mer,
	                                              sizeof mer, err, sizeof err), 1);
	assert_string_equal(mer, MER_A);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K2_ONLY, "stripe", ACCT_A, mer,
	                                              sizeof mer, err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K2, "stripe", "acct_other", mer,
	                                              sizeof mer, err, sizeof err), 0);
	/* Another merchant cannot take the account with the new key's HMAC. */
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K2, MER_B, "stripe", NULL, ACCT_A, NULL, NULL,
	                                     err, sizeof err), 1);
	/* A row under K1 that is not A's account (B, other account), and one
	 * that no longer opens (tampered), to see skips and failures counted. */
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_B, "stripe", NULL, "acct_bravo01",
	                                     NULL, NULL, err, sizeof err), 0);
	assert_int_equal(vault_psp_creds_put(g_c, g_h, &K1, MER_B, "adyen", "sk_test_bravoAdyen",
	                                     NULL, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(sr_db_exec(g_c, "UPDATE psp_credentials SET ciphertext = "
	                                 "set_byte(ciphertext, 3, get_byte(ciphertext, 3) # 1) "
	                                 "WHERE connector = 'adyen'"), 0);
	/* The re-encryption job's credentials batches (vaultctl keys reencrypt),
	 * two rows at a time. */
	while (vault_psp_creds_reseal_batch(g_c, g_h, &K2, 2, cm, sizeof cm, cc, sizeof cc, &st, err,
	                                    sizeof err) > 0)
		;
	assert_int_equal(st.moved, 2);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.skipped, 0);
	row_col(MER_A, "key_version", col, sizeof col);
	assert_string_equal(col, "pan-enc-v2");
	row_col(MER_A, "account_hmac_key", col, sizeof col);
	assert_string_equal(col, "fp-hmac-v2");
	row_col(MER_B, "account_hmac_key", col, sizeof col);
	assert_string_equal(col, "fp-hmac-v2");
	/* Found under the current key alone now; no longer under v1. */
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K2_ONLY, "stripe", ACCT_A, mer,
	                                              sizeof mer, err, sizeof err), 1);
	assert_string_equal(mer, MER_A);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K2_ONLY, "stripe", "acct_bravo01",
	                                              mer, sizeof mer, err, sizeof err), 1);
	assert_string_equal(mer, MER_B);
	assert_int_equal(vault_psp_creds_find_account(g_c, g_h, &K1, "stripe", ACCT_A, mer,
	                                              sizeof mer, err, sizeof err), 0);
	/* Same values, same AAD: still A's and only A's. */
	assert_int_equal(vault_psp_creds_load(g_c, g_h, MER_A, "stripe", &held, err, sizeof err), 1);
	assert_string_equal(held.creds.api_key, KEY_A);
	assert_string_equal(held.creds.merchant_account, ACCT_A);
	assert_string_equal(held.creds.webhook_secret, WHS_A);
	vault_psp_creds_release(&held);
	/* A second pass finds only the row that does not open. */
	memset(&st, 0, sizeof st);
	cm[0] = cc[0] = '\0';
	assert_int_equal(vault_psp_creds_reseal_batch(g_c, g_h, &K2, 10, cm, sizeof cm, cc,
	                                              sizeof cc, &st, err, sizeof err), 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.moved, 0);
	row_col(MER_B, "key_version", col, sizeof col);
	assert_string_equal(col, "pan-enc-v2");
	assert_int_equal(sr_db_exec(g_c, "DELETE FROM psp_credentials"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_pending_webhook_secret),
		cmocka_unit_test(test_only_ciphertext_and_last4),
		cmocka_unit_test(test_aad_binds_merchant_and_connector),
		cmocka_unit_test(test_account_lookup_and_uniqueness),
		cmocka_unit_test(test_seal_under_v2_and_load),
		cmocka_unit_test(test_find_account_during_fp_transition),
		cmocka_unit_test(test_payment_merchant),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
