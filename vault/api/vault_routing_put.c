/*
 * PUT /v1/routing (internal listener, mTLS peer = the gateway). Header
 * Strongroom-Merchant. Body {"region","primary","secondary"}: each a string
 * or null (absent: null), replacing the merchant's routing (issue 5, ADR
 * 0091). region must be one of vaultd's routing_regions; primary and
 * secondary configured connectors, different from each other. No card data.
 * 200 the routing as GET /v1/routing; 400 invalid_request_error
 * parameter_invalid (param names the field); 404 for an unknown merchant.
 */
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_route.h"
#include "vault/store/vault_store_route.h"

/* field as a string into dst (NULL/absent: ""); 0, or -1 if not a string or too long. */
static int take(const json_t *o, const char *field, char *dst, size_t cap)
{
	const json_t *v = json_object_get(o, field);

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

void vault_handle_routing_put(struct sr_http_request *req)
{
	static const char *const keys[] = { "region", "primary", "secondary", NULL };
	struct vault_app *app = req->app;
	struct vault_merchant_routing m;
	const char *merchant = NULL;
	const char *key = NULL;
	const char *bad = NULL;
	json_t *v = NULL;
	char err[256];
	PGconn *db = NULL;
	size_t i;
	int rc;

	memset(&m, 0, sizeof m);
	if (!vault_require_gateway(req))
		return;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		return;
	if (!json_is_object(req->json)) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "A JSON object body is required.", NULL);
		return;
	}
	json_object_foreach(req->json, key, v) {
		bool known = false;

		for (i = 0; keys[i] != NULL; i++)
			known = known || strcmp(key, keys[i]) == 0;
		if (!known) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
			                    "The request contains an unknown parameter.", NULL);
			return;
		}
	}
	if (take(req->json, "region", m.region, sizeof m.region) != 0 ||
	    (m.region[0] != '\0' && (!vault_region_valid(m.region) || app->routing == NULL ||
	                             json_object_get(app->routing->regions, m.region) == NULL)))
		bad = "region";
	else if (take(req->json, "primary", m.primary, sizeof m.primary) != 0 ||
	         (m.primary[0] != '\0' && vault_connector_find(app, m.primary) == NULL))
		bad = "primary";
	else if (take(req->json, "secondary", m.secondary, sizeof m.secondary) != 0 ||
	         (m.secondary[0] != '\0' && (vault_connector_find(app, m.secondary) == NULL ||
	                                     strcmp(m.secondary, m.primary) == 0)))
		bad = "secondary";
	if (bad != NULL) {
		/* Never echo the rejected value. */
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    strcmp(bad, "region") == 0
		                    ? "region must be null or one of the configured regions."
		                    : "primary and secondary must be null or configured connectors, "
		                      "different from each other.", bad);
		return;
	}
	db = sr_db_acquire(app->db);
	rc = vault_store_merchant_routing_put(db, merchant, &m, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	if (rc == 0) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing", "No such merchant.",
		                    NULL);
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "routing.updated", "{s:s, s:s, s:s, s:s, s:s}", "merchant",
	       merchant, "region", m.region, "primary", m.primary, "secondary", m.secondary, "peer",
	       req->peer != NULL ? req->peer : "");
	sr_http_reply_json(req, 200, vault_routing_json(app, &m));
}
