/*
 * POST /v1/payments/{id}/refunds {"amount"?, "reason"?} (issue 4): 201 with
 * the refund object (status succeeded, failed or pending). Full or partial,
 * several per payment, never more than captured (gw_lifecycle_refund).
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

void gw_handle_refunds_create(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_refund r;
	struct gw_error err;
	struct gw_idem idem;
	char merchant[72];
	char reason[32];
	char metadata[GW_METADATA_JSON_MAX + 1];
	long long amount = -1;
	enum gw_lc_rc rc;

	memset(&idem, 0, sizeof idem);
	memset(&err, 0, sizeof err);
	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (!gw_id_shape_ok(req->params[0], "pay_")) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such payment.", "id");
		return;
	}
	if (gw_refund_request_parse(req->json, &amount, reason, metadata, &err) != 0) {
		sr_log(SR_LOG_INFO, req->request_id, "refund.request_invalid", "{s:s}", "code", err.code);
		sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
		return;
	}
	if (!gw_idem_begin(app, req, merchant, &idem))
		return;
	rc = gw_lifecycle_refund(app, req->request_id, merchant, req->params[0], amount,
	                         reason[0] != '\0' ? reason : NULL, metadata, &r, &err);
	gw_reply_lifecycle(app, req, &idem, rc, &err, 201, rc == GW_LC_OK ? gw_refund_to_json(&r) : NULL);
}
