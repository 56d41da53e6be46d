/*
 * gw_handlers: the merchant API endpoints, one file per endpoint under
 * gateway/handlers/. Each is an sr_http_handler (req->app is struct gw_app).
 */
#ifndef GW_HANDLERS_H
#define GW_HANDLERS_H

struct sr_http_request;

/** POST /v1/payments (gateway/handlers/gw_payments_create.c). */
void gw_handle_payments_create(struct sr_http_request *req);

/** GET /v1/payments/{id} (gateway/handlers/gw_payments_get.c). */
void gw_handle_payments_get(struct sr_http_request *req);

#endif
