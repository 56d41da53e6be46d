/*
 * POST /v1/disputes/{id} {"evidence"?: {field: text}, "submit"?: bool}
 * (issue 19 item 6, ADR 0132): the merchant's evidence, sent to the PSP
 * through the vault, as Stripe's https://docs.stripe.com/api/disputes/update
 * (Stripe: staged, or submitted with submit; Adyen: sent when submitted).
 * 200 with the dispute; the errors of gw_dispute_act.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_request.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/disputes/gw_dispute.h"
#include "gateway/payments/gw_payment.h"
#include "common/sr_http.h"

void gw_handle_dispute_update(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_error err;
	char merchant[72];
	json_t *out = NULL;
	unsigned status;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_dispute_id_ok(req->params[0]))
		gw_strlcpy(gw_req_ctx()->target, req->params[0], sizeof gw_req_ctx()->target);
	status = gw_dispute_act(app, req->request_id, merchant, req->params[0], GW_DISPUTE_UPDATE, req->json,
	                        &out, &err);
	if (status == 200)
		sr_http_reply_json(req, 200, out);
	else
		sr_http_reply_error(req, status, err.type, err.code, err.message, err.param);
}
