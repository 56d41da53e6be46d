/*
 * PUT /v1/psp_credentials/{connector} (internal listener, mTLS peer = the
 * gateway only) with Strongroom-Merchant: register or replace the
 * merchant's own credentials at that PSP (issue 5).
 *   {"api_key"?, "merchant_account"?, "webhook_secret"?}   (at least one)
 * 200 {"object":"psp_credentials","connector","api_key_last4",
 *      "merchant_account_last4","webhook_secret_last4","webhook_secret_status",
 *      "created","updated"}
 * Values are sealed under the HSM (vault_psp_creds), never logged, never
 * echoed (errors name the parameter only), never returned but their last 4
 * characters. The request body is wiped by sr_http / jansson's allocator.
 *
 * One merchant cannot break another (issue 15, ADR 0107): the platform's
 * own account at the PSP is reserved (409 merchant_account_reserved); an
 * account another merchant registered is refused (409
 * merchant_account_taken); a merchant account or API key is registered only
 * with proof, one read-only call to the PSP with the submitted key
 * (connector prove_credentials): 400 parameter_missing api_key (an account
 * without a key), 400 parameter_missing merchant_account (a PSP that needs
 * one), 400 credentials_unverified (the PSP refused the key for that
 * account), 503 psp_unavailable (the PSP could not be asked; retry).
 * 404 unknown connector. PCI DSS v4.0 3.5.1, 8.6.3.
 *
 * A webhook secret is used only once the PSP showed it signs the account's
 * notifications with it (ADR 0107): for a connector with a test_webhook
 * hook, the vault asks the PSP with the proven key to send a test
 * notification for the account, and the secret is "active" when the
 * notification the PSP reports it sent verifies with it; otherwise it is
 * stored "pending" (never used to verify) while the previous active secret
 * for the same account keeps verifying. Re-submit it once it is configured
 * at the PSP. A PSP without such a call (Stripe) makes it active as before.
 */
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/connectors/vault_psp_creds.h"

/* The row just written, as the API shows it (last4 only). */
static json_t *row_json(PGconn *db, const char *merchant, const char *connector)
{
	json_t *list = NULL;
	json_t *o = NULL;
	size_t i;
	char err[128];

	list = vault_psp_creds_list(db, merchant, err, sizeof err);
	for (i = 0; list != NULL && i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);

		if (strcmp(json_string_value(json_object_get(e, "connector")), connector) == 0) {
			o = json_incref(e);
			json_object_set_new(o, "object", json_string("psp_credentials"));
			break;
		}
	}
	json_decref(list);
	return o;
}

static void reply_taken(struct sr_http_request *req, const char *merchant, const char *connector)
{
	sr_log(SR_LOG_WARN, req->request_id, "psp_credentials.account_taken", "{s:s, s:s}",
	       "merchant", merchant, "connector", connector);
	sr_http_reply_error(req, 409, "invalid_request_error", "merchant_account_taken",
	                    "This merchant account is registered by another merchant.",
	                    "merchant_account");
}

/* Whether the notification body[len] the PSP reports it sent names account
 * and verifies, every item, with secret (ADR 0107). */
static bool test_verifies(const struct vault_connector *c, const char *secret,
                          const char *account, const char *body, size_t len)
{
	struct vault_psp_event ev[16];
	char named[160];
	char err[256];
	size_t n = 0;
	int rc;

	if (c->webhook_events == NULL || c->webhook_account == NULL ||
	    c->webhook_account(c, body, len, named, sizeof named) != 0 || strcmp(named, account) != 0)
		return false;
	rc = c->webhook_events(c, secret, NULL, body, len, (long long)time(NULL), ev, 16, &n, err,
	                       sizeof err);
	sodium_memzero(ev, sizeof ev);
	return rc == 0 && n > 0;
}

/* Whether two secrets are equal (constant time once the lengths are). */
static bool same_secret(const char *a, const char *b)
{
	size_t n = strlen(a);

	return n == strlen(b) && sodium_memcmp(a, b, n) == 0;
}

/*
 * ADR 0107: *active (the secret webhooks verify with) and *pending for a
 * submitted webhook secret `secret` (vals: api_key, merchant_account,
 * webhook_secret; proof: the proven key and account). prev: the row's
 * current credentials, loaded here (release after use). 0, or -1 (reply sent).
 */
static int webhook_secret_state(struct sr_http_request *req, const struct vault_connector *c,
                                const char *merchant, const char *const vals[3],
                                const struct vault_psp_credentials *proof,
                                struct vault_psp_creds_held *prev, const char **active,
                                const char **pending)
{
	struct vault_app *app = req->app;
	const char *result = "untested";
	char *sent = NULL;
	size_t len = 0;
	char err[256];
	PGconn *db = NULL;
	int rc;

	*active = vals[2];
	*pending = NULL;
	if (vals[2] == NULL || c->test_webhook == NULL)
		return 0;   /* no secret, or a PSP that cannot send a test (ADR 0107) */
	*active = NULL;
	*pending = vals[2];
	db = sr_db_acquire(app->db);
	rc = vault_psp_creds_load(db, app->hsm, merchant, c->name, prev, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "psp_credentials.load_failed", "{s:s, s:s}",
		       "connector", c->name, "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return -1;
	}
	/* The previous active secret keeps verifying for the same account. */
	if (rc == 1 && prev->creds.webhook_secret != NULL && vals[1] != NULL &&
	    prev->creds.merchant_account != NULL &&
	    strcmp(prev->creds.merchant_account, vals[1]) == 0) {
		*active = prev->creds.webhook_secret;
		if (same_secret(*active, vals[2])) {
			*pending = NULL;
			result = "unchanged";
		}
	}
	if (*pending != NULL && vals[0] != NULL && vals[1] != NULL) {
		rc = c->test_webhook(c, app->egress, proof, &sent, &len, err, sizeof err);
		result = rc < 0 ? "error" : rc == 1 ? "none_sent" : "not_verified";
		if (rc == 0 && test_verifies(c, vals[2], vals[1], sent, len)) {
			*active = vals[2];
			*pending = NULL;
			result = "verified";
		}
		free(sent);
	}
	/* PCI DSS v4.0 10.2.1.2: which secret verifies this merchant's webhooks. */
	sr_log(*pending == NULL ? SR_LOG_INFO : SR_LOG_WARN, req->request_id,
	       "psp_credentials.webhook_test", "{s:s, s:s, s:s, s:s?}", "merchant", merchant,
	       "connector", c->name, "result", result,
	       "error", strcmp(result, "error") == 0 ? err : NULL);
	return 0;
}

void vault_handle_psp_credentials_put(struct sr_http_request *req)
{
	static const char *const keys[] = { "api_key", "merchant_account", "webhook_secret", NULL };
	struct vault_app *app = req->app;
	const struct vault_connector *c = NULL;
	struct vault_psp_credentials proof;
	struct vault_psp_creds_held prev;
	const char *active = NULL;
	const char *pending = NULL;
	const char *merchant = NULL;
	const char *connector = req->params[0];
	const char *reserved = NULL;
	char owner[80];
	const char *vals[3] = { NULL, NULL, NULL };
	const json_t *o = req->json;
	const char *key = NULL;
	json_t *val = NULL;
	json_t *out = NULL;
	PGconn *db = NULL;
	struct vault_key_labels labels;
	char err[256];
	size_t i;
	int rc;

	memset(&proof, 0, sizeof proof);
	memset(&prev, 0, sizeof prev);
	if (!vault_require_gateway(req))
		return;
	merchant = vault_request_merchant(req);
	if (merchant == NULL)
		return;
	if (!vault_psp_connector_ok(connector) || (c = vault_connector_find(app, connector)) == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such connector.", "connector");
		return;
	}
	if (!json_is_object(o) || json_object_size(o) == 0) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "A JSON object with api_key, merchant_account or webhook_secret is "
		                    "required.", NULL);
		return;
	}
	json_object_foreach((json_t *)o, key, val) {
		int k = -1;

		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(key, keys[i]) == 0)
				k = (int)i;
		if (k < 0) {
			/* The unknown name itself is not echoed either. */
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_unknown",
			                    "The request contains an unknown parameter.", NULL);
			return;
		}
		if (json_is_null(val))
			continue;
		vals[k] = json_string_value(val);
		if (vals[k] == NULL || (k == 1 ? !vault_psp_account_ok(vals[k])
		                               : !vault_psp_secret_ok(vals[k]))) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
			                    k == 1 ? "merchant_account must be 4 to 128 characters of "
			                             "[A-Za-z0-9_.-]."
			                           : "API keys and webhook secrets must be 8 to 256 visible "
			                             "ASCII characters without spaces.", keys[k]);
			return;
		}
	}
	if (vals[0] == NULL && vals[1] == NULL && vals[2] == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "api_key, merchant_account or webhook_secret is required.", NULL);
		return;
	}
	/* ADR 0074, 0095: sealed under the current key versions. */
	if (vault_keys_current(app->keys, app->db, &labels, err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "keys.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	/* ADR 0107: the platform's account is nobody's to register (any case). */
	reserved = c->platform_account != NULL ? c->platform_account(c) : NULL;
	if (vals[1] != NULL && reserved != NULL && strcasecmp(vals[1], reserved) == 0) {
		sr_log(SR_LOG_WARN, req->request_id, "psp_credentials.account_reserved", "{s:s, s:s}",
		       "merchant", merchant, "connector", connector);
		sr_http_reply_error(req, 409, "invalid_request_error", "merchant_account_reserved",
		                    "This merchant account is reserved.", "merchant_account");
		return;
	}
	if (vals[1] != NULL) {
		db = sr_db_acquire(app->db);
		rc = vault_psp_creds_find_account(db, app->hsm, &labels, connector, vals[1], owner,
		                                  sizeof owner, err, sizeof err);
		sr_db_release(app->db, db);
		db = NULL;
		if (rc < 0) {
			sr_log(SR_LOG_ERROR, req->request_id, "psp_credentials.lookup_failed", "{s:s, s:s}",
			       "connector", connector, "error", err);
			sr_http_reply_error(req, 500, "api_error", "internal_error",
			                    "An internal error occurred.", NULL);
			return;
		}
		if (rc == 1 && strcmp(owner, merchant) != 0) {
			reply_taken(req, merchant, connector);
			return;
		}
	}
	/* ADR 0107: an account or key only with the PSP's word that the key
	 * may act for it; no database connection is held meanwhile. */
	if (vals[1] != NULL && vals[0] == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
		                    "A merchant account is registered with the API key that proves it.",
		                    "api_key");
		return;
	}
	if (vals[0] != NULL) {
		proof.api_key = vals[0];
		proof.merchant_account = vals[1];
		proof.webhook_secret = NULL;
		rc = c->prove_credentials != NULL
		     ? c->prove_credentials(c, app->egress, &proof, err, sizeof err) : 1;
		sr_log(rc == 0 ? SR_LOG_INFO : SR_LOG_WARN, req->request_id, "psp_credentials.proof",
		       "{s:s, s:s, s:s, s:s?}", "merchant", merchant, "connector", connector,
		       "result", rc == 0 ? "proven" : rc == 1 ? "refused" : rc == 2 ? "account_missing"
		                                                         : "error",
		       "error", rc < 0 ? err : NULL);
		if (rc == 2) {
			sr_http_reply_error(req, 400, "invalid_request_error", "parameter_missing",
			                    "This PSP needs the merchant account the API key is for.",
			                    "merchant_account");
			return;
		}
		if (rc == 1) {
			sr_http_reply_error(req, 400, "invalid_request_error", "credentials_unverified",
			                    "The PSP did not accept this API key for this merchant account.",
			                    "api_key");
			return;
		}
		if (rc != 0) {
			sr_http_reply_error(req, 503, "api_error", "psp_unavailable",
			                    "The credentials could not be checked with the PSP now. Retry "
			                    "later.", NULL);
			return;
		}
	}
	proof.api_key = vals[0];
	proof.merchant_account = vals[1];
	proof.webhook_secret = NULL;
	if (webhook_secret_state(req, c, merchant, vals, &proof, &prev, &active, &pending) != 0) {
		vault_psp_creds_release(&prev);
		return;
	}
	db = sr_db_acquire(app->db);
	rc = vault_psp_creds_put(db, app->hsm, &labels, merchant, connector, vals[0], vals[1],
	                         active, pending, err, sizeof err);
	vault_psp_creds_release(&prev);
	if (rc == 0)
		out = row_json(db, merchant, connector);
	sr_db_release(app->db, db);
	if (rc == 1) {
		reply_taken(req, merchant, connector);
		return;
	}
	if (rc == 2) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such merchant.", NULL);
		return;
	}
	if (rc != 0 || out == NULL) {
		sr_log(SR_LOG_ERROR, req->request_id, "psp_credentials.store_failed", "{s:s, s:s, s:s}",
		       "merchant", merchant, "connector", connector, "error", rc != 0 ? err : "readback");
		json_decref(out);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	/* PCI DSS v4.0 10.2.1.2 / 10.2.2: who changed which credentials (never values). */
	sr_log(SR_LOG_INFO, req->request_id, "psp_credentials.stored", "{s:s, s:s, s:b, s:b, s:b, s:s}",
	       "merchant", merchant, "connector", connector, "api_key", vals[0] != NULL,
	       "merchant_account", vals[1] != NULL, "webhook_secret", vals[2] != NULL, "peer", req->peer);
	sr_http_reply_json(req, 200, out);
}
