/*
 * OPTIONS /v1/tokens (public listener): the CORS preflight a browser sends
 * before a cross-origin POST with Authorization and a JSON body (Fetch
 * standard, CORS protocol). A preflight carries no credentials, so the
 * question is only "is this origin registered by some merchant?"; the POST
 * itself then checks the origin against the key's own merchant.
 *
 * Registered: 204 with Access-Control-Allow-Origin (exact echo, never "*"),
 * -Methods POST, -Headers Authorization, Content-Type, -Max-Age 600.
 * Otherwise 403 origin_not_allowed without any Access-Control-* header.
 */
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/elements/vault_origin.h"

void vault_handle_tokens_preflight(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	const char *origin = NULL;
	const char *method = sr_http_header(req, "Access-Control-Request-Method");
	char err[256];
	PGconn *db = NULL;
	int rc = 0;

	if (!vault_cors_cross_origin(req, &origin)) {
		/* Same origin or no Origin at all: nothing to allow. */
		sr_http_reply_raw(req, 204, "text/plain", NULL, 0);
		return;
	}
	if (method == NULL || strcmp(method, "POST") != 0 || !vault_origin_valid(origin)) {
		sr_http_reply_error(req, 403, "invalid_request_error", "origin_not_allowed",
		                    "This origin may not call this endpoint.", NULL);
		return;
	}
	db = sr_db_acquire(app->db);
	rc = vault_store_origin_known(db, origin, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc < 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return;
	}
	if (rc == 0) {
		sr_log(SR_LOG_INFO, req->request_id, "cors.preflight_refused", NULL);
		sr_http_reply_error(req, 403, "invalid_request_error", "origin_not_allowed",
		                    "This origin may not call this endpoint.", NULL);
		return;
	}
	vault_cors_allow(req, origin);
	sr_http_add_header(req, "Access-Control-Allow-Methods", "POST");
	sr_http_add_header(req, "Access-Control-Allow-Headers", "Authorization, Content-Type");
	sr_http_add_header(req, "Access-Control-Max-Age", "600");
	sr_http_reply_raw(req, 204, "text/plain", NULL, 0);
}
