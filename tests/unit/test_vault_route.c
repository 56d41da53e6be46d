/*
 * Routing (issue 5, ADR 0091): configuration checks and the route choice's
 * precedence — the merchant's override, then the card's issuing country,
 * then the merchant's region, then the default — and the secondary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "vault/connectors/connector.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_route.h"

static struct vault_connector g_stripe = { .name = "stripe" };
static struct vault_connector g_adyen = { .name = "adyen" };

static void app_init(struct vault_app *app)
{
	memset(app, 0, sizeof *app);
	app->connector = &g_stripe;
	app->connectors[0] = &g_stripe;
	app->connectors[1] = &g_adyen;
	app->n_connectors = 2;
}

static void test_config_checks(void **state)
{
	struct vault_app app;
	struct vault_routing r;
	json_t *ok_c = json_pack("{s:s, s:s}", "US", "stripe", "DE", "adyen");
	json_t *ok_r = json_pack("{s:s}", "eu", "adyen");
	json_t *bad_name = json_pack("{s:s}", "US", "paypal");
	json_t *bad_key = json_pack("{s:s}", "usa", "stripe");
	json_t *bad_region = json_pack("{s:s}", "EU", "adyen");
	json_t *bad_val = json_pack("{s:i}", "US", 1);
	json_t *not_obj = json_pack("[s]", "stripe");
	char err[256];

	(void)state;
	app_init(&app);
	assert_int_equal(vault_routing_init(&r, &app, ok_c, ok_r, "stripe", err, sizeof err), 0);
	vault_routing_free(&r);
	assert_int_equal(vault_routing_init(&r, &app, NULL, NULL, "adyen", err, sizeof err), 0);
	vault_routing_free(&r);
	assert_int_equal(vault_routing_init(&r, &app, bad_name, NULL, "stripe", err, sizeof err), -1);
	assert_non_null(strstr(err, "routing_countries"));
	assert_int_equal(vault_routing_init(&r, &app, bad_key, NULL, "stripe", err, sizeof err), -1);
	assert_int_equal(vault_routing_init(&r, &app, bad_val, NULL, "stripe", err, sizeof err), -1);
	assert_int_equal(vault_routing_init(&r, &app, not_obj, NULL, "stripe", err, sizeof err), -1);
	assert_int_equal(vault_routing_init(&r, &app, NULL, bad_region, "stripe", err, sizeof err), -1);
	assert_non_null(strstr(err, "routing_regions"));
	assert_int_equal(vault_routing_init(&r, &app, NULL, NULL, "paypal", err, sizeof err), -1);
	assert_int_equal(vault_routing_init(&r, &app, NULL, NULL, NULL, err, sizeof err), -1);
	json_decref(ok_c);
	json_decref(ok_r);
	json_decref(bad_name);
	json_decref(bad_key);
	json_decref(bad_region);
	json_decref(bad_val);
	json_decref(not_obj);
}

static void test_precedence(void **state)
{
	struct vault_app app;
	struct vault_routing r;
	struct vault_merchant_routing m;
	struct vault_route rt;
	json_t *c = json_pack("{s:s, s:s}", "US", "stripe", "DE", "adyen");
	json_t *g = json_pack("{s:s, s:s}", "us", "stripe", "eu", "adyen");
	char err[256];

	(void)state;
	app_init(&app);
	assert_int_equal(vault_routing_init(&r, &app, c, g, "stripe", err, sizeof err), 0);
	app.routing = &r;
	memset(&m, 0, sizeof m);

	/* Country. */
	assert_int_equal(vault_route_choose(&app, &r, "DE", &m, &rt), 0);
	assert_ptr_equal(rt.primary, &g_adyen);
	assert_string_equal(rt.reason, "country");
	assert_string_equal(rt.country, "DE");
	assert_null(rt.secondary);
	/* Unmapped country, no region: default. */
	assert_int_equal(vault_route_choose(&app, &r, "JP", &m, &rt), 0);
	assert_ptr_equal(rt.primary, &g_stripe);
	assert_string_equal(rt.reason, "default");
	/* Region for a card the table does not know; the country beats it. */
	strcpy(m.region, "eu");
	assert_int_equal(vault_route_choose(&app, &r, "", &m, &rt), 0);
	assert_ptr_equal(rt.primary, &g_adyen);
	assert_string_equal(rt.reason, "region");
	assert_int_equal(vault_route_choose(&app, &r, "US", &m, &rt), 0);
	assert_ptr_equal(rt.primary, &g_stripe);
	assert_string_equal(rt.reason, "country");
	/* The override beats both; the secondary is offered. */
	strcpy(m.primary, "stripe");
	strcpy(m.secondary, "adyen");
	assert_int_equal(vault_route_choose(&app, &r, "DE", &m, &rt), 0);
	assert_ptr_equal(rt.primary, &g_stripe);
	assert_string_equal(rt.reason, "override");
	assert_ptr_equal(rt.secondary, &g_adyen);
	/* A secondary equal to the chosen primary is no failover. */
	strcpy(m.primary, "");
	assert_int_equal(vault_route_choose(&app, &r, "DE", &m, &rt), 0);
	assert_ptr_equal(rt.primary, &g_adyen);
	assert_null(rt.secondary);
	/* Connectors no longer configured are ignored. */
	strcpy(m.primary, "paypal");
	strcpy(m.secondary, "paypal");
	assert_int_equal(vault_route_choose(&app, &r, "US", &m, &rt), 0);
	assert_ptr_equal(rt.primary, &g_stripe);
	assert_string_equal(rt.reason, "country");
	assert_null(rt.secondary);
	/* No merchant routing at all. */
	assert_int_equal(vault_route_choose(&app, &r, NULL, NULL, &rt), 0);
	assert_string_equal(rt.reason, "default");
	vault_routing_free(&r);
	json_decref(c);
	json_decref(g);
}

static void test_routing_json(void **state)
{
	struct vault_app app;
	struct vault_routing r;
	struct vault_merchant_routing m;
	json_t *g = json_pack("{s:s}", "eu", "adyen");
	json_t *o = NULL;
	char err[256];

	(void)state;
	app_init(&app);
	assert_int_equal(vault_routing_init(&r, &app, NULL, g, "stripe", err, sizeof err), 0);
	app.routing = &r;
	memset(&m, 0, sizeof m);
	strcpy(m.primary, "adyen");
	o = vault_routing_json(&app, &m);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "primary")), "adyen");
	assert_true(json_is_null(json_object_get(o, "secondary")));
	assert_true(json_is_null(json_object_get(o, "region")));
	assert_int_equal(json_array_size(json_object_get(o, "connectors")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "regions"), 0)), "eu");
	json_decref(o);
	vault_routing_free(&r);
	json_decref(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_routing_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
