/*
 * POST /v1/refunds/{id}/cancel (issue 19): refused, documented (ADR 0125).
 * Stripe cancels only a refund whose status is requires_action
 * (https://docs.stripe.com/api/refunds/cancel), which card refunds never
 * reach; Adyen has no cancel for a refund (only for a payment,
 * /payments/{pspReference}/cancels). No connector can undo a refund once
 * sent, so the merchant's own refund is 400 refund_cancel_unsupported and
 * another merchant's (or a missing one) is 404, as GET /v1/refunds/{id}.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

void gw_handle_refund_cancel(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_refund r;
	char merchant[72];
	PGconn *conn = NULL;
	int rc = 1;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_id_shape_ok(req->params[0], "re_")) {
		conn = sr_db_acquire(app->db);
		rc = gw_store_refund_get(conn, req->params[0], merchant, &r);
		sr_db_release(app->db, conn);
	}
	if (rc == 1) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such refund.", "id");
		return;
	}
	if (rc != 0) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_error(req, 400, "invalid_request_error", "refund_cancel_unsupported",
	                    "This refund cannot be canceled: the payment service providers this "
	                    "gateway connects to cannot cancel a card refund once it is sent.",
	                    "id");
}
