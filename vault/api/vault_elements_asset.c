/*
 * GET /v1/elements/card.js and GET /v1/elements/card.css (public listener):
 * the hosted card fields' script and style sheet, loaded only by the vault's
 * own page /v1/elements/card (same origin; its CSP allows nothing else).
 * Embedded at build time (vault/elements/vault_static.h). Cached for five minutes.
 */
#include <string.h>

#include "common/sr_http.h"
#include "vault/vault_app.h"
#include "vault/elements/vault_static.h"

void vault_handle_elements_asset(struct sr_http_request *req)
{
	const struct vault_static_file *f = NULL;
	const char *type = NULL;

	if (strcmp(req->path, "/v1/elements/card.js") == 0) {
		f = vault_static_find("card.js");
		type = "text/javascript; charset=utf-8";
	} else if (strcmp(req->path, "/v1/elements/card.css") == 0) {
		f = vault_static_find("card.css");
		type = "text/css; charset=utf-8";
	}
	if (f == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "Unrecognized request URL.", NULL);
		return;
	}
	sr_http_add_header(req, "Cache-Control", "public, max-age=300");
	/* Only the vault's own pages use these. */
	sr_http_add_header(req, "Cross-Origin-Resource-Policy", "same-origin");
	sr_http_reply_raw(req, 200, type, f->data, f->len);
}
