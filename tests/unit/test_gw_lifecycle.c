/*
 * Unit tests (issue 4): lifecycle request parsers (every negative case), the
 * state machine edges the lifecycle relies on, role permissions, the audit
 * record hash (canonical form, chaining), and the rate limiter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gateway/audit/gw_audit.h"
#include "gateway/payments/gw_lifecycle.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/api/gw_ratelimit.h"
#include "gateway/api/gw_request_lifecycle.h"

static json_t *J(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	assert_non_null(v);
	return v;
}

static void capture_expect(const char *text, int rc, long long amount, const char *code)
{
	struct gw_error err;
	json_t *b = text != NULL ? J(text) : NULL;
	long long a = 0;

	memset(&err, 0, sizeof err);
	assert_int_equal(gw_capture_request_parse(b, &a, &err), rc);
	if (rc == 0) {
		assert_int_equal(a, amount);
	} else {
		assert_string_equal(err.code, code);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.type, "invalid_request_error");
	}
	json_decref(b);
}

static void test_capture_parse(void **state)
{
	(void)state;
	capture_expect(NULL, 0, -1, NULL);
	capture_expect("{}", 0, -1, NULL);
	capture_expect("{\"amount\":1}", 0, 1, NULL);
	capture_expect("{\"amount\":99999999}", 0, 99999999, NULL);
	capture_expect("[]", -1, 0, "parameter_invalid_type");
	capture_expect("\"x\"", -1, 0, "parameter_invalid_type");
	capture_expect("{\"amount\":0}", -1, 0, "amount_invalid");
	capture_expect("{\"amount\":-5}", -1, 0, "amount_invalid");
	capture_expect("{\"amount\":100000000}", -1, 0, "amount_invalid");
	capture_expect("{\"amount\":1.5}", -1, 0, "parameter_invalid_type");
	capture_expect("{\"amount\":\"100\"}", -1, 0, "parameter_invalid_type");
	capture_expect("{\"amount\":null}", -1, 0, "parameter_invalid_type");
	capture_expect("{\"amount\":100,\"x\":1}", -1, 0, "parameter_unknown");
}

static void test_refund_parse(void **state)
{
	struct gw_error err;
	char reason[32];
	static char md[GW_METADATA_JSON_MAX + 1];
	long long a = 0;
	json_t *b = NULL;

	(void)state;
	assert_int_equal(gw_refund_request_parse(NULL, &a, reason, md, &err), 0);
	assert_int_equal(a, -1);
	assert_string_equal(reason, "");
	b = J("{\"amount\":50,\"reason\":\"fraudulent\"}");
	assert_int_equal(gw_refund_request_parse(b, &a, reason, md, &err), 0);
	assert_int_equal(a, 50);
	assert_string_equal(reason, "fraudulent");
	json_decref(b);
	b = J("{\"reason\":\"abandoned\"}"); /* a cancel reason, not a refund reason */
	assert_int_equal(gw_refund_request_parse(b, &a, reason, md, &err), -1);
	assert_string_equal(err.code, "reason_invalid");
	json_decref(b);
	b = J("{\"reason\":5}");
	assert_int_equal(gw_refund_request_parse(b, &a, reason, md, &err), -1);
	assert_string_equal(err.code, "parameter_invalid_type");
	json_decref(b);
	b = J("{\"amount\":0}");
	assert_int_equal(gw_refund_request_parse(b, &a, reason, md, &err), -1);
	assert_string_equal(err.code, "amount_invalid");
	json_decref(b);
	/* metadata (issue 19), validated as on payments */
	b = J("{\"metadata\":{\"rma\":\"R-77\"}}");
	assert_int_equal(gw_refund_request_parse(b, &a, reason, md, &err), 0);
	assert_string_equal(md, "{\"rma\":\"R-77\"}");
	json_decref(b);
	b = J("{\"metadata\":{\"rma\":7}}");
	assert_int_equal(gw_refund_request_parse(b, &a, reason, md, &err), -1);
	assert_string_equal(err.param, "metadata[rma]");
	json_decref(b);
}

static void test_cancel_parse(void **state)
{
	struct gw_error err;
	char reason[32];
	json_t *b = NULL;

	(void)state;
	assert_int_equal(gw_cancel_request_parse(NULL, reason, &err), 0);
	b = J("{\"reason\":\"abandoned\"}");
	assert_int_equal(gw_cancel_request_parse(b, reason, &err), 0);
	assert_string_equal(reason, "abandoned");
	json_decref(b);
	b = J("{\"amount\":5}");
	assert_int_equal(gw_cancel_request_parse(b, reason, &err), -1);
	assert_string_equal(err.code, "parameter_unknown");
	json_decref(b);
	b = J("{\"reason\":\"whim\"}");
	assert_int_equal(gw_cancel_request_parse(b, reason, &err), -1);
	assert_string_equal(err.code, "reason_invalid");
	json_decref(b);
}

static void test_ids_and_query(void **state)
{
	(void)state;
	assert_true(gw_id_shape_ok("pay_abcdEFGH1234abcdEFGH12", "pay_"));
	assert_true(gw_id_shape_ok("re_abcdefghijklmnopqrstuv", "re_"));
	assert_false(gw_id_shape_ok("pay_abcdEFGH1234", "pay_"));   /* 12, not 22 */
	assert_false(gw_id_shape_ok("pay_abcdEFGH1234abcdEFGH123", "pay_"));
	assert_false(gw_id_shape_ok("pay_abc", "pay_"));
	assert_false(gw_id_shape_ok("re_abcdefghijklmnopqrstuv", "pay_"));
	assert_false(gw_id_shape_ok("pay_abcdefghijklmnopqrstu-", "pay_"));
	assert_false(gw_id_shape_ok("pay_4242424242424242'--", "pay_"));
	assert_false(gw_id_shape_ok(NULL, "pay_"));
	assert_int_equal(gw_query_uint("0"), 0);
	assert_int_equal(gw_query_uint("1700000000"), 1700000000LL);
	assert_int_equal(gw_query_uint(""), -1);
	assert_int_equal(gw_query_uint("-1"), -1);
	assert_int_equal(gw_query_uint("1e3"), -1);
	assert_int_equal(gw_query_uint(" 1"), -1);
	assert_int_equal(gw_query_uint("1234567890123"), -1);
	assert_int_equal(gw_query_uint(NULL), -1);
}

static void test_lifecycle_edges(void **state)
{
	(void)state;
	assert_true(gw_payment_transition_allowed(GW_ST_AUTHORIZED, GW_ST_CAPTURED));
	assert_true(gw_payment_transition_allowed(GW_ST_AUTHORIZED, GW_ST_VOIDED));
	assert_true(gw_payment_transition_allowed(GW_ST_CAPTURED, GW_ST_PARTIALLY_REFUNDED));
	assert_true(gw_payment_transition_allowed(GW_ST_PARTIALLY_REFUNDED, GW_ST_REFUNDED));
	assert_true(gw_payment_transition_allowed(GW_ST_REQUIRES_ACTION, GW_ST_PROCESSING));
	assert_false(gw_payment_transition_allowed(GW_ST_FAILED, GW_ST_CAPTURED));
	assert_false(gw_payment_transition_allowed(GW_ST_CAPTURED, GW_ST_VOIDED));
	assert_false(gw_payment_transition_allowed(GW_ST_VOIDED, GW_ST_CAPTURED));
	assert_false(gw_payment_transition_allowed(GW_ST_REFUNDED, GW_ST_PARTIALLY_REFUNDED));
	assert_false(gw_payment_transition_allowed(GW_ST_AUTHORIZED, GW_ST_REFUNDED));
}

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(gw_role_perms("admin"),
	                 GW_PERM_READ | GW_PERM_PAYMENTS | GW_PERM_REFUNDS | GW_PERM_ADMIN);
	assert_false(gw_role_perms("payments") & GW_PERM_ADMIN);
	assert_false(gw_role_perms("finance") & GW_PERM_ADMIN);
	assert_false(gw_role_perms("read_only") & GW_PERM_ADMIN);
	assert_int_equal(gw_role_perms("payments"), GW_PERM_READ | GW_PERM_PAYMENTS);
	assert_int_equal(gw_role_perms("finance"), GW_PERM_READ | GW_PERM_REFUNDS);
	assert_int_equal(gw_role_perms("read_only"), GW_PERM_READ);
	assert_int_equal(gw_role_perms("root"), 0);
	assert_int_equal(gw_role_perms(""), 0);
	assert_int_equal(gw_role_perms(NULL), 0);
	assert_false(gw_role_perms("payments") & GW_PERM_REFUNDS);
	assert_false(gw_role_perms("finance") & GW_PERM_PAYMENTS);
	/* Issue 5: only admin keys manage PSP credentials. */
	assert_false(gw_role_perms("payments") & GW_PERM_ADMIN);
	assert_false(gw_role_perms("finance") & GW_PERM_ADMIN);
	assert_false(gw_role_perms("read_only") & GW_PERM_ADMIN);
	assert_true(gw_role_valid("read_only"));
	assert_false(gw_role_valid("ADMIN"));
}

static void test_audit_hash(void **state)
{
	struct gw_audit_record r;
	char h1[65], h2[65], h3[65];
	const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";

	(void)state;
	memset(&r, 0, sizeof r);
	r.seq = 7;
	strcpy(r.ts, "2026-01-01T00:00:00.000001Z");
	r.merchant_id = "mer_abc";
	r.key_id = 3;
	r.role = "finance";
	r.action = "POST /v1/payments/{}/refunds";
	r.target = "pay_abcdefgh";
	r.result = "refused";
	r.status = 403;
	r.reason = "insufficient_role";
	assert_int_equal(gw_audit_hash(&r, zero, h1), 0);
	assert_int_equal(strlen(h1), 64);
	assert_int_equal(gw_audit_hash(&r, zero, h2), 0);
	assert_string_equal(h1, h2);                  /* deterministic */
	r.status = 200;
	assert_int_equal(gw_audit_hash(&r, zero, h3), 0);
	assert_string_not_equal(h1, h3);              /* any field changes it */
	r.status = 403;
	assert_int_equal(gw_audit_hash(&r, h3, h2), 0);
	assert_string_not_equal(h1, h2);              /* chained to the previous hash */
	r.seq = 8;
	assert_int_equal(gw_audit_hash(&r, zero, h2), 0);
	assert_string_not_equal(h1, h2);              /* its position too */
	r.seq = 7;
	r.reason = NULL;
	assert_int_equal(gw_audit_hash(&r, zero, h2), 0);
	assert_string_not_equal(h1, h2);
}

static void test_ratelimit(void **state)
{
	struct gw_ratelimit *rl = gw_ratelimit_new(1.0, 2.0);

	(void)state;
	assert_non_null(rl);
	assert_int_equal(gw_ratelimit_take(rl, "k1", "POST /v1/payments"), 0);
	assert_int_equal(gw_ratelimit_take(rl, "k1", "POST /v1/payments"), 0);
	assert_true(gw_ratelimit_take(rl, "k1", "POST /v1/payments") >= 1);
	assert_int_equal(gw_ratelimit_take(rl, "k2", "POST /v1/payments"), 0);
	assert_int_equal(gw_ratelimit_take(rl, "k1", "GET /v1/payments"), 0);
	gw_ratelimit_free(rl);
	assert_null(gw_ratelimit_new(0, 1));
	assert_null(gw_ratelimit_new(1, 0.5));
	assert_int_equal(gw_ratelimit_take(NULL, "k", "e"), 0);
}

static void test_apply_auth(void **state)
{
	struct gw_vault_auth_result res;
	struct gw_payment p;

	(void)state;
	memset(&res, 0, sizeof res);
	memset(&p, 0, sizeof p);
	p.amount = 900;
	p.status = GW_ST_PROCESSING;
	strcpy(res.status, "captured");
	strcpy(res.psp_reference, "pi_1");
	strcpy(res.connector, "stripe");
	gw_lifecycle_apply_auth(&p, GW_VAULT_OK, &res, 0);
	assert_int_equal(p.status, GW_ST_CAPTURED);
	assert_int_equal(p.amount_captured, 900);
	assert_string_equal(p.psp_reference, "pi_1");

	p.status = GW_ST_PROCESSING;
	strcpy(res.status, "settled"); /* not a status we know: never guessed */
	gw_lifecycle_apply_auth(&p, GW_VAULT_OK, &res, 0);
	assert_int_equal(p.status, GW_ST_UNKNOWN);

	p.status = GW_ST_PROCESSING;
	strcpy(res.status, "requires_action");
	strcpy(res.redirect_url, "javascript:alert(1)"); /* only https URLs are shown */
	gw_lifecycle_apply_auth(&p, GW_VAULT_OK, &res, 0);
	assert_int_equal(p.status, GW_ST_REQUIRES_ACTION);
	assert_string_equal(p.redirect_url, "");

	p.status = GW_ST_PROCESSING;
	gw_lifecycle_apply_auth(&p, GW_VAULT_LOST, &res, 0);
	assert_int_equal(p.status, GW_ST_UNKNOWN);         /* lost: unknown, never failed */

	p.status = GW_ST_PROCESSING;
	gw_lifecycle_apply_auth(&p, GW_VAULT_NOT_SENT, &res, 0);
	assert_int_equal(p.status, GW_ST_CANCELED);        /* provably not sent: no card failure */
	assert_string_equal(p.failure_code, "not_sent");

	p.status = GW_ST_PROCESSING;
	gw_lifecycle_apply_auth(&p, GW_VAULT_REJECTED, &res, 0);
	assert_int_equal(p.status, GW_ST_FAILED);          /* the vault refused it */
	assert_string_equal(p.failure_code, "processing_error");

	/* Recovering (an earlier attempt may have reached the PSP): "not sent
	 * now" proves nothing, so nothing changes. */
	memset(&p, 0, sizeof p);
	p.status = GW_ST_UNKNOWN;
	gw_lifecycle_apply_auth(&p, GW_VAULT_NOT_SENT, &res, 1);
	assert_int_equal(p.status, GW_ST_UNKNOWN);
	p.status = GW_ST_PROCESSING;
	gw_lifecycle_apply_auth(&p, GW_VAULT_NOT_SENT, &res, 1);
	assert_int_equal(p.status, GW_ST_PROCESSING);
	gw_lifecycle_apply_auth(&p, GW_VAULT_ERROR, &res, 1);
	assert_int_equal(p.status, GW_ST_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_parse),
		cmocka_unit_test(test_refund_parse),
		cmocka_unit_test(test_cancel_parse),
		cmocka_unit_test(test_ids_and_query),
		cmocka_unit_test(test_lifecycle_edges),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_audit_hash),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_apply_auth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
