/*
 * GET /v1/strongroom.js (public listener): the browser library merchants
 * include on their payment pages with its Subresource Integrity hash
 * (PCI DSS v4.0 6.4.3: payment page scripts are authorized and their
 * integrity is assured). Embedded at build time (vault/elements/vault_static.h).
 *
 * The content at this URL never changes for a given release line: merchants
 * pin it with integrity="sha384-...", so it is cacheable for a year and
 * "immutable"; a change ships under a new path (ADR 0030).
 * Access-Control-Allow-Origin: * because <script crossorigin="anonymous">
 * fetches it in CORS mode, which SRI requires for cross-origin scripts; the
 * file is public and no credentials are involved.
 */
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "vault/vault_app.h"
#include "vault/elements/vault_static.h"

void vault_handle_strongroom_js(struct sr_http_request *req)
{
	const struct vault_static_file *f = vault_static_find("strongroom.js");

	if (f == NULL) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "Unrecognized request URL.", NULL);
		return;
	}
	sr_http_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
	sr_http_add_header(req, "Access-Control-Allow-Origin", "*");
	sr_http_add_header(req, "Cross-Origin-Resource-Policy", "cross-origin");
	sr_http_add_header(req, "Strongroom-Integrity", f->sri);
	sr_http_reply_raw(req, 200, "text/javascript; charset=utf-8", f->data, f->len);
}
