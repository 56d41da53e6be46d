/*
 * gw_handlers: the merchant API endpoints, one file per endpoint under
 * gateway/api/. Each is an sr_http_handler (req->app is struct gw_app).
 */
#ifndef GW_HANDLERS_H
#define GW_HANDLERS_H

struct sr_http_request;

/** POST /v1/payments (gateway/api/gw_payments_create.c). */
void gw_handle_payments_create(struct sr_http_request *req);

/** GET /v1/payments/{id} (gateway/api/gw_payments_get.c). */
void gw_handle_payments_get(struct sr_http_request *req);

/** POST /v1/test_helpers/payments/{id}/3ds: test mode only (gw_test_helper_3ds.c, ADR 0131). */
void gw_handle_test_helper_3ds(struct sr_http_request *req);

/* Saved cards (issue 3), relayed to the vault: gateway/customers/gw_cards.h. */
/** POST /v1/cards/{id}: a saved card's metadata (gateway/api/gw_card_update.c). */
void gw_handle_card_update(struct sr_http_request *req);
/** POST /v1/customers (gateway/api/gw_customers_create.c). */
void gw_handle_customers_create(struct sr_http_request *req);
/** GET /v1/customers (gateway/api/gw_customers_list.c). */
void gw_handle_customers_list(struct sr_http_request *req);
/** GET /v1/customers/{id} (gateway/api/gw_customer_get.c). */
void gw_handle_customer_get(struct sr_http_request *req);
/** POST /v1/customers/{id} (gateway/api/gw_customer_update.c). */
void gw_handle_customer_update(struct sr_http_request *req);
/** DELETE /v1/customers/{id} (gateway/api/gw_customer_delete.c). */
void gw_handle_customer_delete(struct sr_http_request *req);
/** POST /v1/customers/{customer}/cards (gateway/api/gw_customer_cards_create.c). */
void gw_handle_customer_cards_create(struct sr_http_request *req);
/** GET /v1/customers/{customer}/cards (gateway/api/gw_customer_cards_list.c). */
void gw_handle_customer_cards_list(struct sr_http_request *req);
/** GET /v1/cards/{id} (gateway/api/gw_card_get.c). */
void gw_handle_card_get(struct sr_http_request *req);
/** DELETE /v1/cards/{id} (gateway/api/gw_card_delete.c). */
void gw_handle_card_delete(struct sr_http_request *req);
/** GET /v1/routing: the merchant's routing (issue 5), relayed from the vault. */
void gw_handle_routing_get(struct sr_http_request *req);
/** PUT /v1/routing {"region","primary","secondary"}: set it (admin role), relayed to the vault. */
void gw_handle_routing_put(struct sr_http_request *req);
/* Issue 4: the lifecycle (one file per endpoint). */
/** POST /v1/payments/{id}/capture (gw_payments_capture.c). */
void gw_handle_payments_capture(struct sr_http_request *req);
/** POST /v1/payments/{id}/cancel (gw_payments_cancel.c). */
void gw_handle_payments_cancel(struct sr_http_request *req);
/** POST /v1/payments/{id}/refunds (gw_refunds_create.c). */
void gw_handle_refunds_create(struct sr_http_request *req);
/** GET /v1/refunds/{id} (gw_refunds_get.c). */
void gw_handle_refunds_get(struct sr_http_request *req);
/** GET /v1/payments (gw_payments_list.c). */
void gw_handle_payments_list(struct sr_http_request *req);
/** GET /v1/payments/{id}/events (gw_payment_events_list.c). */
void gw_handle_payment_events_list(struct sr_http_request *req);
/* Issue 19: lists (gw_page.h) and events. */
/** GET /v1/disputes (gw_disputes_list.c, ADR 0132). */
void gw_handle_disputes_list(struct sr_http_request *req);
/** GET /v1/disputes/{id} (gw_dispute_get.c). */
void gw_handle_dispute_get(struct sr_http_request *req);
/** POST /v1/disputes/{id}: evidence, submit (gw_dispute_update.c). */
void gw_handle_dispute_update(struct sr_http_request *req);
/** POST /v1/disputes/{id}/close: the merchant accepts the dispute (gw_dispute_close.c). */
void gw_handle_dispute_close(struct sr_http_request *req);
/** GET /v1/refunds (gw_refunds_list.c). */
void gw_handle_refunds_list(struct sr_http_request *req);
/** GET /v1/payments/{id}/refunds (gw_payment_refunds_list.c). */
void gw_handle_payment_refunds_list(struct sr_http_request *req);
/** POST /v1/refunds/{id}/cancel: refused, no PSP can (gw_refund_cancel.c). */
void gw_handle_refund_cancel(struct sr_http_request *req);
/** GET /v1/events (gw_events_list.c). */
void gw_handle_events_list(struct sr_http_request *req);
/** GET /v1/events/{id} (gw_event_get.c). */
void gw_handle_event_get(struct sr_http_request *req);
/* Issue 5: webhooks to merchants (one file per endpoint). */
/** POST /v1/webhook_endpoints (gw_webhook_endpoints_create.c). */
void gw_handle_webhook_endpoints_create(struct sr_http_request *req);
/** GET /v1/webhook_endpoints (gw_webhook_endpoints_list.c). */
void gw_handle_webhook_endpoints_list(struct sr_http_request *req);
/** GET /v1/webhook_endpoints/{id} (gw_webhook_endpoint_get.c). */
void gw_handle_webhook_endpoint_get(struct sr_http_request *req);
/** POST /v1/webhook_endpoints/{id} (gw_webhook_endpoint_update.c, ADR 0129). */
void gw_handle_webhook_endpoint_update(struct sr_http_request *req);
/** POST /v1/webhook_endpoints/{id}/roll_secret (gw_webhook_endpoint_roll.c, ADR 0129). */
void gw_handle_webhook_endpoint_roll(struct sr_http_request *req);
/** DELETE /v1/webhook_endpoints/{id} (gw_webhook_endpoint_delete.c). */
void gw_handle_webhook_endpoint_delete(struct sr_http_request *req);
/** GET /v1/webhook_endpoints/{id}/deliveries (gw_webhook_deliveries_list.c). */
void gw_handle_webhook_deliveries_list(struct sr_http_request *req);
/** POST /v1/events/{id}/redeliver (gw_event_redeliver.c). */
void gw_handle_event_redeliver(struct sr_http_request *req);
/* Issue 5: per-merchant PSP credentials (admin role, relayed to the vault) and PSP webhooks. */
/** PUT /v1/psp_credentials/{connector} (gw_psp_credentials_put.c). */
void gw_handle_psp_credentials_put(struct sr_http_request *req);
/** GET /v1/psp_credentials (gw_psp_credentials_list.c). */
void gw_handle_psp_credentials_list(struct sr_http_request *req);
/** DELETE /v1/psp_credentials/{connector} (gw_psp_credentials_delete.c). */
void gw_handle_psp_credentials_delete(struct sr_http_request *req);
/** POST /v1/psp_webhooks/{connector}: no API key, the PSP's signature (gw_psp_webhooks_receive.c). */
void gw_handle_psp_webhooks_receive(struct sr_http_request *req);
/** Whether s has a connector name's shape: [a-z][a-z0-9_]{0,31} (1) or not (0). */
int gw_psp_connector_name_ok(const char *s);

#endif
