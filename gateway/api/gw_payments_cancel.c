/*
 * POST /v1/payments/{id}/cancel (issue 4). See gw_lifecycle.h for the
 * refusals, the row lock and the PSP idempotency key.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/payments/gw_idempotency.h"
#include "gateway/payments/gw_lifecycle.h"
#include "gateway/api/gw_reply.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

#include <string.h>

void gw_handle_payments_cancel(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_payment p;
	struct gw_error err;
	struct gw_idem idem;
	char merchant[72];
	enum gw_lc_rc rc;
	char reason[32];

	memset(&idem, 0, sizeof idem);
	memset(&err, 0, sizeof err);
	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_id_shape_ok(req->params[0], "pay_")) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	if (gw_cancel_request_parse(req->json, reason, &err) != 0) {
		sr_log(SR_LOG_INFO, req->request_id, "payment.request_invalid", "{s:s}", "code", err.code);
		sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
		return;
	}
	if (!gw_idem_begin(app, req, merchant, &idem))
		return;
	rc = gw_lifecycle_cancel(app, req->request_id, merchant, req->params[0],
	                         reason[0] != '\0' ? reason : NULL, &p, &err);
	gw_reply_lifecycle(app, req, &idem, rc, &err, 200, rc == GW_LC_OK ? gw_payment_to_json(&p) : NULL);
}
