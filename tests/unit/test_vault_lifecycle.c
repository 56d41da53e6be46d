/*
 * Unit tests of issue 3's pure modules: card_ ids, customer references,
 * format-preserving legacy numbers, the rate limiter, the audit record's
 * canonical encoding, and the tokenize parser's new options.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>

#include "vault/audit/vault_audit.h"
#include "vault/tokens/vault_card.h"
#include "vault/api/vault_pkcache.h"
#include "vault/api/vault_ratelimit.h"
#include "vault/tokens/vault_token.h"

static void test_card_ids(void **state)
{
	char a[VAULT_CARD_LEN + 1];
	char b[VAULT_CARD_LEN + 1];

	(void)state;
	assert_int_equal(vault_card_token_new(a, sizeof a), 0);
	assert_int_equal(vault_card_token_new(b, sizeof b), 0);
	assert_int_equal(strlen(a), 27);
	assert_memory_equal(a, "card_", 5);
	assert_string_not_equal(a, b);
	assert_true(vault_card_token_id_valid(a));
	assert_false(vault_token_id_valid(a));
	assert_true(vault_any_token_id_valid(a));
	assert_int_equal(vault_card_token_new(a, VAULT_CARD_LEN), -1);  /* too small */
	assert_false(vault_card_token_id_valid("card_short"));
	assert_true(vault_card_token_id_valid("card_0123456789012345678901"));
	assert_false(vault_card_token_id_valid("card_01234567890123456789012")); /* 23 */
	assert_false(vault_card_token_id_valid("card_012345678901234567890-"));
	assert_false(vault_card_token_id_valid("tok_0123456789012345678901"));
	assert_true(vault_any_token_id_valid("tok_0123456789012345678901"));
	assert_false(vault_any_token_id_valid(NULL));
}

static void test_customer_ids(void **state)
{
	(void)state;
	assert_true(vault_customer_id_valid("cus_42"));
	assert_true(vault_customer_id_valid("a-b_C"));
	assert_false(vault_customer_id_valid(""));
	assert_false(vault_customer_id_valid(NULL));
	assert_false(vault_customer_id_valid("a b"));
	assert_false(vault_customer_id_valid("a/b"));
	assert_false(vault_customer_id_valid(
	    "01234567890123456789012345678901234567890123456789012345678901234")); /* 65 */
}

static void check_legacy(const char *pan)
{
	char out[VAULT_LEGACY_MAX + 1];
	size_t n = strlen(pan);
	size_t want = n < 16 ? 16 : n;
	size_t lead = vault_pan_lead_shown(n);
	int i;

	for (i = 0; i < 2000; i++) {
		assert_int_equal(vault_legacy_number_new(pan, n, out, sizeof out), 0);
		assert_int_equal(strlen(out), want);
		assert_memory_equal(out, pan, lead);                /* what may show */
		assert_true(n - lead - 4 >= 6);                     /* 6+ digits hidden */
		assert_memory_equal(out + want - 4, pan + n - 4, 4); /* last4 kept */
		assert_false(vault_luhn_valid(out, want));          /* never a PAN */
		assert_true(vault_legacy_number_valid(out));
	}
}

static void test_legacy_numbers(void **state)
{
	char a[VAULT_LEGACY_MAX + 1];
	char b[VAULT_LEGACY_MAX + 1];
	int same = 0;
	int i;

	(void)state;
	check_legacy("4242424242424242");
	check_legacy("378282246310005");        /* 15 -> 16 digits */
	check_legacy("6200000000000005");
	check_legacy("4000000000000000006");    /* 19 */
	check_legacy("4222222222222");          /* 13 */
	/* Short PANs show fewer leading digits (issue 15, item 9). */
	assert_int_equal(vault_pan_lead_shown(13), 3);
	assert_int_equal(vault_pan_lead_shown(14), 4);
	assert_int_equal(vault_pan_lead_shown(15), 5);
	assert_int_equal(vault_pan_lead_shown(16), 6);
	assert_int_equal(vault_pan_lead_shown(19), 6);
	/* random middle: two draws almost never agree (10^6 space) */
	for (i = 0; i < 100; i++) {
		vault_legacy_number_new("4242424242424242", 16, a, sizeof a);
		vault_legacy_number_new("4242424242424242", 16, b, sizeof b);
		same += strcmp(a, b) == 0;
	}
	assert_true(same < 3);
	assert_int_equal(vault_legacy_number_new("42424242424", 11, a, sizeof a), -1);
	assert_int_equal(vault_legacy_number_new("424242424242424x", 16, a, sizeof a), -1);
	assert_int_equal(vault_legacy_number_new("4242424242424242", 16, a, 10), -1);
	assert_false(vault_legacy_number_valid("4242424242424242"));  /* Luhn-valid: a PAN */
	assert_false(vault_legacy_number_valid("424242424242424"));   /* 15 */
	assert_false(vault_legacy_number_valid("42424242424242a1"));
	assert_false(vault_legacy_number_valid(NULL));
}

static void test_ratelimit(void **state)
{
	struct vault_ratelimit *rl = vault_ratelimit_new(1.0, 3, 64);
	struct vault_ratelimit *off = vault_ratelimit_new(0, 1, 4);
	int i;

	(void)state;
	assert_non_null(rl);
	assert_int_equal(vault_ratelimit_take(rl, "a", 100.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 100.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 100.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 100.0), 1);   /* wait one second */
	assert_int_equal(vault_ratelimit_take(rl, "a", 100.5), 1);   /* half a token */
	assert_int_equal(vault_ratelimit_take(rl, "a", 101.0), 0);   /* refilled */
	assert_int_equal(vault_ratelimit_take(rl, "a", 101.0), 1);
	assert_int_equal(vault_ratelimit_take(rl, "a", 1000.0), 0);  /* capped at burst */
	assert_int_equal(vault_ratelimit_take(rl, "a", 1000.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 1000.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 1000.0), 1);
	/* Another key has its own bucket, and never resets "a"'s. */
	assert_int_equal(vault_ratelimit_take(rl, "b", 1000.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 1000.0), 1);
	for (i = 0; i < 100; i++)
		assert_int_equal(vault_ratelimit_take(off, "x", 1.0), 0); /* disabled */
	assert_int_equal(vault_ratelimit_take(NULL, "x", 1.0), 0);
	vault_ratelimit_free(rl);
	/* One slot: "b" collides with "a" whatever the hash. "a"'s spent bucket
	 * is kept ("b" is admitted untracked); once "a" refilled, "b" takes the
	 * slot. A direct-mapped table gave "a" a fresh burst here. */
	rl = vault_ratelimit_new(1.0, 2, 1);
	assert_non_null(rl);
	assert_int_equal(vault_ratelimit_take(rl, "a", 10.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 10.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 10.0), 1);
	for (i = 0; i < 5; i++)
		assert_int_equal(vault_ratelimit_take(rl, "b", 10.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "a", 10.0), 1);
	assert_int_equal(vault_ratelimit_take(rl, "b", 12.0), 0);   /* "a" full again */
	assert_int_equal(vault_ratelimit_take(rl, "b", 12.0), 0);
	assert_int_equal(vault_ratelimit_take(rl, "b", 12.0), 1);
	vault_ratelimit_free(rl);
	vault_ratelimit_free(off);
	vault_ratelimit_free(NULL);
}

static void test_audit_canonical(void **state)
{
	struct vault_audit_event ev = {
		.token_id = "tok_a", .merchant_id = "mer_b", .purpose = "authorize",
		.payment_id = "pay_c", .connector = "stripe", .peer = "gw", .result = "decrypted",
	};
	struct vault_audit_event ev2 = ev;
	uint8_t prev[32] = { 0 };
	uint8_t a[1024];
	uint8_t b[1024];
	size_t na;
	size_t nb;

	(void)state;
	na = vault_audit_canonical(1, 2, &ev, prev, a, sizeof a);
	assert_true(na > 32);
	/* same record, same bytes */
	assert_int_equal(vault_audit_canonical(1, 2, &ev, prev, b, sizeof b), na);
	assert_memory_equal(a, b, na);
	/* moving a character between fields changes the encoding (length prefixes) */
	ev2.token_id = "tok_";
	ev2.merchant_id = "amer_b";
	nb = vault_audit_canonical(1, 2, &ev2, prev, b, sizeof b);
	assert_true(nb != na || memcmp(a, b, na) != 0);
	/* seq, time and the previous MAC are bound */
	nb = vault_audit_canonical(2, 2, &ev, prev, b, sizeof b);
	assert_true(nb != na || memcmp(a, b, na) != 0);
	nb = vault_audit_canonical(1, 3, &ev, prev, b, sizeof b);
	assert_true(memcmp(a, b, na) != 0);
	prev[31] = 1;
	nb = vault_audit_canonical(1, 2, &ev, prev, b, sizeof b);
	assert_int_equal(nb, na);
	assert_true(memcmp(a, b, na) != 0);
	/* NULL fields are empty strings; too small a buffer fails */
	ev2 = ev;
	ev2.payment_id = NULL;
	assert_true(vault_audit_canonical(1, 2, &ev2, prev, b, sizeof b) > 0);
	assert_int_equal(vault_audit_canonical(1, 2, &ev, prev, b, 40), 0);
}

/* Checkpoint period (ADR 0111): ranges checked, settings unchanged on refusal. */
static void test_audit_checkpoint_settings(void **state)
{
	(void)state;
	assert_int_equal(vault_audit_set_checkpoints(-1, 300), -1);
	assert_int_equal(vault_audit_set_checkpoints(1000, -1), -1);
	assert_int_equal(vault_audit_set_checkpoints(1000000001LL, 300), -1);
	assert_int_equal(vault_audit_set_checkpoints(1000, 31536001LL), -1);
	assert_int_equal(vault_audit_set_checkpoints(0, 0), 0);
	assert_int_equal(vault_audit_set_checkpoints(1000000000LL, 31536000LL), 0);
	assert_int_equal(vault_audit_set_checkpoints(VAULT_AUDIT_CHECKPOINT_RECORDS,
	                                             VAULT_AUDIT_CHECKPOINT_SECONDS), 0);
}

static int parse(const char *json, struct vault_card_input *in, const char **code,
                 const char **param)
{
	json_error_t e;
	json_t *j = json_loads(json, 0, &e);
	int rc;

	assert_non_null(j);
	rc = vault_parse_token_request_at(j, 1700000000, in, code, param);
	json_decref(j);
	return rc;
}

static void test_parse_options(void **state)
{
	struct vault_card_input in;
	const char *code = NULL;
	const char *param = NULL;
	const char *card = "\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2030}";
	char buf[512];

	(void)state;
	snprintf(buf, sizeof buf, "{%s,\"token_format\":\"format_preserving\",\"expires_at\":1700003600}", card);
	assert_int_equal(parse(buf, &in, &code, &param), 0);
	assert_true(in.format_preserving);
	assert_int_equal(in.expires_at, 1700003600);
	vault_card_input_free(&in);
	snprintf(buf, sizeof buf, "{%s,\"token_format\":\"standard\"}", card);
	assert_int_equal(parse(buf, &in, &code, &param), 0);
	assert_false(in.format_preserving);
	assert_int_equal(in.expires_at, 0);
	vault_card_input_free(&in);

	snprintf(buf, sizeof buf, "{%s,\"token_format\":\"fpe\"}", card);
	assert_int_equal(parse(buf, &in, &code, &param), -1);
	assert_string_equal(code, "invalid_token_format");
	assert_string_equal(param, "token_format");
	snprintf(buf, sizeof buf, "{%s,\"token_format\":1}", card);
	assert_int_equal(parse(buf, &in, &code, &param), -1);
	assert_string_equal(code, "parameter_invalid_type");
	snprintf(buf, sizeof buf, "{%s,\"expires_at\":1700000000}", card);  /* = now */
	assert_int_equal(parse(buf, &in, &code, &param), -1);
	assert_string_equal(code, "invalid_expires_at");
	snprintf(buf, sizeof buf, "{%s,\"expires_at\":2100000000}", card);  /* > 10 years */
	assert_int_equal(parse(buf, &in, &code, &param), -1);
	assert_string_equal(code, "invalid_expires_at");
	snprintf(buf, sizeof buf, "{%s,\"expires_at\":1.5e9}", card);
	assert_int_equal(parse(buf, &in, &code, &param), -1);
	assert_string_equal(code, "parameter_invalid_type");
	assert_string_equal(param, "expires_at");
	assert_string_not_equal(vault_card_error_message("invalid_expires_at"),
	                        vault_card_error_message("nonexistent"));
	assert_string_equal(vault_card_error_type("invalid_token_format"), "invalid_request_error");
}

static void test_pkcache(void **state)
{
	const char *h1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	const char *h2 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee";
	struct vault_pkcache *c = vault_pkcache_new(16);
	char mid[80];

	(void)state;
	assert_non_null(c);
	assert_int_equal(vault_pkcache_get(c, h1, 100.0, mid, sizeof mid), 0);
	vault_pkcache_put(c, h1, "mer_a", 100.0);
	assert_int_equal(vault_pkcache_get(c, h1, 101.0, mid, sizeof mid), 1);
	assert_string_equal(mid, "mer_a");
	/* same slot, other hash: no false hit */
	assert_int_equal(vault_pkcache_get(c, h2, 101.0, mid, sizeof mid), 0);
	/* expires */
	assert_int_equal(vault_pkcache_get(c, h1, 100.0 + VAULT_PKCACHE_TTL + 0.1, mid, sizeof mid), 0);
	vault_pkcache_put(c, h1, "mer_a", 200.0);
	vault_pkcache_clear(c);
	assert_int_equal(vault_pkcache_get(c, h1, 201.0, mid, sizeof mid), 0);
	assert_int_equal(vault_pkcache_get(c, "short", 201.0, mid, sizeof mid), 0);
	assert_int_equal(vault_pkcache_get(NULL, h1, 201.0, mid, sizeof mid), 0);
	vault_pkcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_card_ids),
		cmocka_unit_test(test_customer_ids),
		cmocka_unit_test(test_legacy_numbers),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_audit_canonical),
		cmocka_unit_test(test_audit_checkpoint_settings),
		cmocka_unit_test(test_parse_options),
		cmocka_unit_test(test_pkcache),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
