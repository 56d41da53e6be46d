/*
 * vault_route: BIN table, routing configuration and the route choice
 * (issue 5, ADR 0091).
 */
#include "vault/connectors/vault_route.h"

#include <stdio.h>
#include <string.h>

#include "vault/connectors/connector.h"
#include "vault/vault_app.h"

/*
 * The shipped BIN table: PAN prefix -> issuing country (ISO 3166-1
 * alpha-2). Longest matching prefix wins. Small on purpose: the test cards
 * of docs/development.md (US), Stripe's published international test cards (whose
 * digits 7..9 carry the ISO 3166-1 numeric country: 4000002760000016
 * Germany, 4000005280000002 Netherlands, ...), and two Mastercard test
 * numbers of our own (5200005280000007 NL, 2223002760000003 DE; Luhn-valid,
 * documented in docs/configuration.md). A production appliance would load
 * a licensed BIN file instead (ADR 0091).
 */
static const struct {
	const char *prefix;
	const char *country;
} k_bins[] = {
	{ "424242", "US" },        /* 4242424242424242 */
	{ "555555", "US" },        /* 5555555555554444 */
	{ "378282", "US" },        /* 378282246310005 */
	{ "400000", "US" },        /* Stripe's 4000 0000 ... test cards */
	{ "400000040", "AT" },     /* Stripe's international test cards: 4000 00 NNN ... */
	{ "400000056", "BE" },
	{ "400000124", "CA" },
	{ "400000250", "FR" },
	{ "400000276", "DE" },
	{ "400000528", "NL" },
	{ "400000724", "ES" },
	{ "400000826", "GB" },
	{ "400000840", "US" },
	{ "520000528", "NL" },     /* ours: 5200005280000007 */
	{ "222300276", "DE" },     /* ours: 2223002760000003 */
};

const char *vault_bin_country(const char *pan, char out[3])
{
	size_t best = 0;
	size_t i = 0;
	size_t n = 0;

	out[0] = '\0';
	if (pan == NULL)
		return out;
	for (i = 0; i < sizeof k_bins / sizeof k_bins[0]; i++) {
		n = strlen(k_bins[i].prefix);
		if (n > best && strncmp(pan, k_bins[i].prefix, n) == 0) {
			best = n;
			memcpy(out, k_bins[i].country, 3);
		}
	}
	return out;
}

int vault_region_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n >= 2 && n <= 8 && strspn(s, "abcdefghijklmnopqrstuvwxyz") == n;
}

static int country_valid(const char *s)
{
	return s != NULL && strlen(s) == 2 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 2;
}

/* Check one mapping object: keys by keyok, values configured connectors. */
static int check_map(const struct vault_app *app, const json_t *map, const char *what,
                     int (*keyok)(const char *), char *err, size_t errlen)
{
	const char *k = NULL;
	json_t *v = NULL;

	if (map == NULL)
		return 0;
	if (!json_is_object(map)) {
		snprintf(err, errlen, "%s must be an object", what);
		return -1;
	}
	json_object_foreach((json_t *)map, k, v) {
		if (!keyok(k)) {
			snprintf(err, errlen, "%s: key \"%.16s\" is not valid", what, k);
			return -1;
		}
		if (!json_is_string(v) || vault_connector_find(app, json_string_value(v)) == NULL) {
			snprintf(err, errlen, "%s: %s names no configured connector", what, k);
			return -1;
		}
	}
	return 0;
}

int vault_routing_init(struct vault_routing *r, const struct vault_app *app, const json_t *countries,
                       const json_t *regions, const char *default_connector,
                       char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	if (check_map(app, countries, "routing_countries", country_valid, err, errlen) != 0
	    || check_map(app, regions, "routing_regions", vault_region_valid, err, errlen) != 0)
		return -1;
	if (default_connector == NULL || vault_connector_find(app, default_connector) == NULL
	    || strlen(default_connector) >= sizeof r->default_connector) {
		snprintf(err, errlen, "routing_default names no configured connector");
		return -1;
	}
	snprintf(r->default_connector, sizeof r->default_connector, "%s", default_connector);
	r->countries = countries != NULL ? json_deep_copy(countries) : json_object();
	r->regions = regions != NULL ? json_deep_copy(regions) : json_object();
	if (r->countries == NULL || r->regions == NULL) {
		vault_routing_free(r);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

void vault_routing_free(struct vault_routing *r)
{
	if (r == NULL)
		return;
	json_decref(r->countries);
	json_decref(r->regions);
	r->countries = NULL;
	r->regions = NULL;
}

int vault_route_choose(const struct vault_app *app, const struct vault_routing *r,
                       const char *country, const struct vault_merchant_routing *m,
                       struct vault_route *out)
{
	const struct vault_connector *c = NULL;

	memset(out, 0, sizeof *out);
	if (country != NULL && strlen(country) == 2)
		memcpy(out->country, country, 3);
	/* 1. The merchant's override. */
	if (m != NULL && m->primary[0] != '\0' && (c = vault_connector_find(app, m->primary)) != NULL) {
		out->primary = c;
		out->reason = "override";
	}
	/* 2. The card's issuing country. */
	if (out->primary == NULL && r != NULL && out->country[0] != '\0'
	    && (c = vault_connector_find(app, json_string_value(json_object_get(r->countries,
	                                                                        out->country)))) != NULL) {
		out->primary = c;
		out->reason = "country";
	}
	/* 3. The merchant's region. */
	if (out->primary == NULL && r != NULL && m != NULL && m->region[0] != '\0'
	    && (c = vault_connector_find(app, json_string_value(json_object_get(r->regions,
	                                                                        m->region)))) != NULL) {
		out->primary = c;
		out->reason = "region";
	}
	/* 4. The default. */
	if (out->primary == NULL) {
		out->primary = r != NULL ? vault_connector_find(app, r->default_connector) : NULL;
		if (out->primary == NULL)
			out->primary = app->connector;
		out->reason = "default";
	}
	if (out->primary == NULL)
		return -1;
	if (m != NULL && m->secondary[0] != '\0') {
		c = vault_connector_find(app, m->secondary);
		out->secondary = c != out->primary ? c : NULL;
	}
	return 0;
}

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *vault_routing_json(const struct vault_app *app, const struct vault_merchant_routing *m)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:[], s:[]}", "object", "routing",
	                      "region", str_or_null(m->region), "primary", str_or_null(m->primary),
	                      "secondary", str_or_null(m->secondary), "connectors", "regions");
	const char *k = NULL;
	json_t *v = NULL;
	size_t i = 0;

	if (o == NULL)
		return NULL;
	for (i = 0; i < app->n_connectors; i++)
		json_array_append_new(json_object_get(o, "connectors"), json_string(app->connectors[i]->name));
	if (app->routing != NULL)
		json_object_foreach(app->routing->regions, k, v)
			json_array_append_new(json_object_get(o, "regions"), json_string(k));
	return o;
}
