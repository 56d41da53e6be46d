/*
 * vault_app: helpers shared by the vault's handlers.
 */
#include "vault/vault_app.h"

#include <string.h>

#include "common/sr_log.h"

int vault_require_gateway(struct sr_http_request *req)
{
	const struct vault_app *app = req->app;

	/* BRIEF invariant 5: sr_http verified the certificate during the
	 * handshake and again per request; check the identity once more here
	 * so a misconfigured listener can never serve the internal API. */
	if (app == NULL || app->gateway_peer == NULL || req->peer == NULL ||
	    strcmp(req->peer, app->gateway_peer) != 0) {
		sr_log(SR_LOG_WARN, req->request_id, "internal.peer_refused", NULL);
		sr_http_reply_error(req, 403, "authentication_error", "peer_not_allowed",
		                    "This client is not allowed to use the internal API.", NULL);
		return 0;
	}
	return 1;
}
