/*
 * GET /v1/elements/card?pk=pk_...&origin=https://shop.example (public
 * listener): the hosted card fields, the page a merchant's checkout frames
 * (strongroom.js creates the iframe). Card number, expiry and CVC are typed
 * here, on the vault's origin, and posted by this page straight to
 * POST /v1/tokens; the merchant's page only ever receives the token (PCI DSS
 * v4.0 SAQ A eligibility; 6.4.3).
 *
 * origin is the merchant page's origin. It must be registered for the
 * merchant owning pk (vault/elements/vault_origin.h); the page is then served with
 *   Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self';
 *     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors <origin>
 * so the browser lets only that origin frame it, and the page's script
 * (card.js) sends its postMessages to exactly that origin and accepts
 * messages only from it. Otherwise (unknown key, unregistered or malformed
 * origin): 403 and frame-ancestors 'none'. The HTML is static; nothing from
 * the query is written into it.
 */
#include <stdio.h>
#include <string.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_util.h"
#include "vault/vault_app.h"
#include "vault/elements/vault_origin.h"
#include "vault/elements/vault_static.h"
#include "vault/tokens/vault_token.h"

#define CSP_BASE "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " \
                 "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors "

static const char k_refused[] =
	"<!doctype html><meta charset=utf-8><title>Card fields unavailable</title>"
	"<p>These card fields are not available for this page.</p>\n";

static void refuse(struct sr_http_request *req, const char *why)
{
	sr_log(SR_LOG_INFO, req->request_id, "elements.refused", "{s:s}", "reason", why);
	sr_http_add_header(req, "Content-Security-Policy", CSP_BASE "'none'");
	sr_http_reply_raw(req, 403, "text/html; charset=utf-8", k_refused, sizeof k_refused - 1);
}

void vault_handle_elements_card(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	const struct vault_static_file *f = vault_static_find("card.html");
	const char *pk = sr_http_query(req, "pk");
	const char *origin = sr_http_query(req, "origin");
	char csp[sizeof CSP_BASE + VAULT_ORIGIN_MAX + 1];
	char mid[VAULT_MERCHANT_ID_MAX + 1];
	char hash[65];
	char err[256];
	PGconn *db = NULL;
	int rc = 0;

	if (f == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "Unrecognized request URL.", NULL);
		return;
	}
	if (pk == NULL || strncmp(pk, "pk_", 3) != 0 || strlen(pk) > 256) {
		refuse(req, "publishable_key");
		return;
	}
	/* Checked before the database and before it reaches a header. */
	if (!vault_origin_valid(origin)) {
		refuse(req, "origin_malformed");
		return;
	}
	sr_sha256_hex(pk, strlen(pk), hash);
	db = sr_db_acquire(app->db);
	rc = vault_store_merchant_origin_by_pk(db, hash, origin, mid, sizeof mid, err, sizeof err);
	sr_db_release(app->db, db);
	if (rc == -1) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
		sr_http_reply_error(req, 500, "api_error", "internal_error",
		                    "An internal error occurred.", NULL);
		return;
	}
	if (rc == -2) {
		refuse(req, "publishable_key");
		return;
	}
	if (rc == 0) {
		sr_log(SR_LOG_WARN, req->request_id, "elements.origin_refused", "{s:s}", "merchant", mid);
		refuse(req, "origin_not_registered");
		return;
	}
	/* PCI DSS 6.4.3 / 11.6.1: only the merchant's registered page may frame
	 * the fields; scripts and connections only from the vault itself. */
	snprintf(csp, sizeof csp, "%s%s", CSP_BASE, origin);
	sr_http_add_header(req, "Content-Security-Policy", csp);
	sr_http_add_header(req, "Referrer-Policy", "no-referrer");
	sr_log(SR_LOG_INFO, req->request_id, "elements.served", "{s:s}", "merchant", mid);
	sr_http_reply_raw(req, 200, "text/html; charset=utf-8", f->data, f->len);
}
