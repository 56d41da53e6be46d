/*
 * gw_webhook_endpoint: endpoint creation, update and secret roll (see
 * gw_webhook_endpoint.h).
 */
#include "gateway/events/gw_webhook_endpoint.h"
#include "gateway/store/gw_store_webhooks.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <string.h>

#include <sodium.h>

static int events_check(const json_t *events, const char **why)
{
	size_t i, j;
	json_t *v;

	*why = "enabled_events must be an array of 1 to 16 event names (or \"*\").";
	if (!json_is_array(events) || json_array_size(events) < 1 ||
	    json_array_size(events) > GW_WEBHOOK_MAX_FILTERS)
		return -1;
	json_array_foreach(events, i, v) {
		if (!json_is_string(v) || !gw_webhook_filter_valid(json_string_value(v))) {
			*why = "enabled_events holds an unknown event name.";
			return -1;
		}
		for (j = 0; j < i; j++)
			if (json_equal(v, json_array_get(events, j))) {
				*why = "enabled_events holds a name twice.";
				return -1;
			}
	}
	*why = NULL;
	return 0;
}

int gw_webhook_endpoint_create(PGconn *conn, const uint8_t key[GW_WEBHOOK_KEY_BYTES],
                               const char *merchant_id, const char *url, const json_t *events,
                               bool allow_private, json_t **out, const char **why,
                               const char **param)
{
	uint8_t sealed[GW_WEBHOOK_SEALED_MAX];
	char secret[GW_WEBHOOK_SECRET_MAX];
	char prefix[16];
	char id[40];
	size_t sealed_len = 0;
	int rc = -1;

	*out = NULL;
	*why = NULL;
	*param = NULL;
	if (gw_webhook_url_check(url, allow_private, why) != 0) {
		*param = "url";
		rc = 1;
		goto out;
	}
	if (events_check(events, why) != 0) {
		*param = "enabled_events";
		rc = 1;
		goto out;
	}
	/* 32 CSPRNG bytes: 256-bit signing secret (invariant 3, docs/invariants.md style ids). */
	if (sr_random_id("we_", 16, id, sizeof id) != 0 ||
	    sr_random_id("whsec_", 32, secret, sizeof secret) != 0)
		goto out;
	memcpy(prefix, secret, 10);
	prefix[10] = '\0';
	if (gw_webhook_seal(key, secret, id, merchant_id, sealed, &sealed_len) != 0)
		goto out;
	if (gw_store_webhook_endpoint_insert(conn, id, merchant_id, url, events, sealed, sealed_len,
	                                     prefix, out) != 0)
		goto out;
	json_object_set_new(*out, "secret", json_string(secret));
	sr_log(SR_LOG_INFO, NULL, "webhook.endpoint_created", "{s:s, s:s}", "endpoint", id, "merchant",
	       merchant_id);
	rc = 0;
out:
	sodium_memzero(secret, sizeof secret);
	return rc;
}

int gw_webhook_endpoint_update(PGconn *conn, const char *merchant_id, const char *id,
                               const json_t *body, bool allow_private, json_t **out,
                               const char **why, const char **param)
{
	const json_t *url = json_object_get(body, "url");
	const json_t *events = json_object_get(body, "enabled_events");
	const json_t *disabled = json_object_get(body, "disabled");
	const json_t *desc = json_object_get(body, "description");
	const char *status = NULL;
	int rc;

	*out = NULL;
	*why = NULL;
	*param = NULL;
	/* The create path's checks, the same messages (ADR 0129): an update
	 * never reaches a destination a create would be refused. */
	if (url != NULL &&
	    (!json_is_string(url) || gw_webhook_url_check(json_string_value(url), allow_private, why) != 0)) {
		*why = *why != NULL ? *why : "url must be a string.";
		*param = "url";
		return 1;
	}
	if (events != NULL && events_check(events, why) != 0) {
		*param = "enabled_events";
		return 1;
	}
	if (disabled != NULL && !json_is_boolean(disabled)) {
		*why = "disabled must be true or false.";
		*param = "disabled";
		return 1;
	}
	if (desc != NULL && !json_is_null(desc) &&
	    (!json_is_string(desc) || json_string_length(desc) > 500)) {
		*why = "description must be a string of at most 500 characters.";
		*param = "description";
		return 1;
	}
	if (disabled != NULL)
		status = json_is_true(disabled) ? "disabled" : "enabled";
	rc = gw_store_webhook_endpoint_update(conn, id, merchant_id, json_string_value(url), events,
	                                      status, desc == NULL ? NULL
	                                      : json_is_null(desc) ? "" : json_string_value(desc), out);
	return rc == 1 ? 2 : rc;
}

int gw_webhook_endpoint_roll(PGconn *conn, const uint8_t key[GW_WEBHOOK_KEY_BYTES],
                             const char *merchant_id, const char *id, long long expires_in,
                             json_t **out)
{
	uint8_t sealed[GW_WEBHOOK_SEALED_MAX];
	char secret[GW_WEBHOOK_SECRET_MAX];
	char prefix[16];
	size_t sealed_len = 0;
	int rc = -1;

	*out = NULL;
	if (expires_in < 0 || expires_in > GW_WEBHOOK_ROLL_MAX_S)
		return -1;
	if (sr_random_id("whsec_", 32, secret, sizeof secret) != 0)
		goto out;
	memcpy(prefix, secret, 10);
	prefix[10] = '\0';
	if (gw_webhook_seal(key, secret, id, merchant_id, sealed, &sealed_len) != 0)
		goto out;
	rc = gw_store_webhook_endpoint_roll(conn, id, merchant_id, sealed, sealed_len, prefix,
	                                    expires_in, out);
	if (rc != 0)
		goto out;
	json_object_set_new(*out, "secret", json_string(secret));
	sr_log(SR_LOG_INFO, NULL, "webhook.secret_rolled", "{s:s, s:s, s:I}", "endpoint", id,
	       "merchant", merchant_id, "expires_in", (json_int_t)expires_in);
out:
	sodium_memzero(secret, sizeof secret);
	sodium_memzero(sealed, sizeof sealed);
	return rc;
}
