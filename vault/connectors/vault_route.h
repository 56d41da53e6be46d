/*
 * vault_route: which connector an authorization goes to (issue 5, ADR 0091).
 *
 * A small BIN table compiled into the vault gives the card's issuing country
 * (ISO 3166-1 alpha-2) from the PAN's leading digits (longest prefix wins);
 * vaultd's configuration maps countries and regions to connectors, with a
 * default; each merchant may choose a region, override the primary connector
 * and name a secondary (merchant_routing). Precedence: the merchant's
 * override, then the card's country, then the merchant's region, then the
 * default. The secondary is only ever used when the primary provably did not
 * accept the request (vault_authorize.c).
 */
#ifndef VAULT_ROUTE_H
#define VAULT_ROUTE_H
#include <stddef.h>

#include <jansson.h>

struct vault_app;
struct vault_connector;

/* vaultd's routing configuration (routing_countries, routing_regions, routing_default). */
struct vault_routing {
	json_t *countries;        /* {"US":"stripe","DE":"adyen",...}, owned; may be empty */
	json_t *regions;          /* {"us":"stripe","eu":"adyen",...}, owned; may be empty */
	char default_connector[32];
};

/* A merchant's own routing (merchant_routing row); "" for none. */
struct vault_merchant_routing {
	char region[16];
	char primary[32];
	char secondary[32];
};

/* The route chosen for one authorization. */
struct vault_route {
	const struct vault_connector *primary;   /* never NULL after vault_route_choose */
	const struct vault_connector *secondary; /* NULL: no failover */
	const char *reason;                      /* "override", "country", "region", "default" */
	char country[3];                         /* issuing country, "" when not in the BIN table */
};

/**
 * Issuing country of pan (digits, NUL-terminated; read only, never copied)
 * from the compiled-in BIN table, into out[3]; "" when unknown.
 * @return out.
 */
const char *vault_bin_country(const char *pan, char out[3]);

/**
 * Check and take a routing configuration: countries (object of two
 * uppercase letters -> connector name) and regions (object of 2..8
 * lowercase letters -> connector name) may be NULL; every connector named,
 * and default_connector, must be configured in app. On success r owns new
 * references. @return 0, or -1 with err naming the offending key.
 */
int vault_routing_init(struct vault_routing *r, const struct vault_app *app, const json_t *countries,
                       const json_t *regions, const char *default_connector,
                       char *err, size_t errlen);
/** Drop the references vault_routing_init took. */
void vault_routing_free(struct vault_routing *r);

/**
 * Choose the route for a card of country (may be "") and a merchant's
 * routing (may be NULL). A merchant connector that is not configured is
 * ignored (vault_authorize.c logs route.merchant_connector_missing). @return 0, or -1 when no configured
 * connector could be chosen (configuration error).
 */
int vault_route_choose(const struct vault_app *app, const struct vault_routing *r,
                       const char *country, const struct vault_merchant_routing *m,
                       struct vault_route *out);

/**
 * The public form of a merchant's routing: {"object":"routing","region",
 * "primary","secondary" (null when unset),"connectors":[configured names],
 * "regions":[configured region names]}. New reference or NULL.
 */
json_t *vault_routing_json(const struct vault_app *app, const struct vault_merchant_routing *m);

/** Whether s is a region name (2..8 lowercase letters). */
int vault_region_valid(const char *s);

#endif
