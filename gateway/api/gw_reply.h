/*
 * gw_reply: the final reply of a lifecycle handler through the idempotency
 * layer: a done operation or a definite refusal is saved and replayed to
 * retries; an operation that did not happen (lock conflict, PSP unreachable
 * or its answer lost, our failure) releases the key so a retry executes.
 */
#ifndef GW_REPLY_H
#define GW_REPLY_H
#include <jansson.h>

#include "gateway/payments/gw_idempotency.h"
#include "gateway/payments/gw_lifecycle.h"

/**
 * rc GW_LC_OK: send ok_status with body (stolen; NULL -> 500). Otherwise
 * body is released and err is sent: saved for GW_LC_REFUSED, not saved for
 * GW_LC_RETRY and GW_LC_INTERNAL.
 */
void gw_reply_lifecycle(struct gw_app *app, struct sr_http_request *req, struct gw_idem *idem,
                        enum gw_lc_rc rc, const struct gw_error *err, unsigned ok_status,
                        json_t *body);

#endif
