/*
 * gw_reply: lifecycle replies through the idempotency layer.
 */
#include "gateway/api/gw_reply.h"
#include "common/sr_http.h"

void gw_reply_lifecycle(struct gw_app *app, struct sr_http_request *req, struct gw_idem *idem,
                        enum gw_lc_rc rc, const struct gw_error *err, unsigned ok_status,
                        json_t *body)
{
	if (rc == GW_LC_OK && body != NULL) {
		gw_idem_finish(app, req, idem, ok_status, body);
		return;
	}
	json_decref(body);
	if (rc == GW_LC_OK) {
		gw_idem_fail(app, req, idem, 500, "api_error", "internal_error",
		             "An internal error occurred.", NULL);
		return;
	}
	if (rc == GW_LC_REFUSED)
		gw_idem_fail(app, req, idem, err->status, err->type, err->code, err->message, err->param);
	else
		gw_idem_abort(app, req, idem, err->status, err->type, err->code, err->message, err->param);
}
