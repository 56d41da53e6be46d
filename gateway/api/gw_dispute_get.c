/*
 * GET /v1/disputes/{id} (issue 19 item 6, ADR 0132): a merchant reads its
 * own dispute (Stripe's https://docs.stripe.com/api/disputes/retrieve);
 * another merchant's is indistinguishable from a missing one (404, audited
 * by gw_route as every refusal).
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/disputes/gw_dispute.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store_disputes.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <string.h>

void gw_handle_dispute_get(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_dispute d;
	char merchant[72];
	PGconn *conn = NULL;
	json_t *body = NULL;
	int rc = 1;

	memset(&d, 0, sizeof d);
	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_dispute_id_ok(req->params[0])) {
		gw_strlcpy(gw_req_ctx()->target, req->params[0], sizeof gw_req_ctx()->target);
		conn = sr_db_acquire(app->db);
		rc = gw_store_dispute_get(conn, req->params[0], merchant, 0, &d);
		sr_db_release(app->db, conn);
	}
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such dispute.", "id");
		return;
	}
	body = rc == 0 ? gw_dispute_to_json(&d) : NULL;
	gw_dispute_clear(&d);
	if (body == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, body);
}
