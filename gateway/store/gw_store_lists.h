/*
 * gw_store_lists: keyset pagination shared by every list (issue 19) and
 * the lists of refunds and events. Stripe's list contract
 * (https://docs.stripe.com/api/pagination): newest first, at most limit
 * objects, starting_after (the page after an object) or ending_before (the
 * page before it), has_more. PQexecParams only (PCI DSS v4.0 6.2.4).
 * Return convention as gw_store.h unless stated.
 */
#ifndef GW_STORE_LISTS_H
#define GW_STORE_LISTS_H
#include <stdbool.h>
#include <libpq-fe.h>
#include <jansson.h>

/* One page's request, parsed by gw_page_parse (gateway/api/gw_page.h). */
struct gw_page {
	int limit;                   /* 1..100 */
	const char *starting_after;  /* an object id (its shape checked), or NULL */
	const char *ending_before;   /* an object id, or NULL; never both */
	long long created_gte;       /* UNIX seconds; -1: none */
	long long created_lte;       /* -1: none */
};

/** How many days of events GET /v1/events and GET /v1/events/{id} show (Stripe keeps 30). */
#define GW_EVENTS_DAYS 30

/**
 * Run one page's statement. newest holds the statement ordered newest first
 * (created_at DESC, id DESC), oldest the same ordered oldest first; both end
 * with LIMIT $n where params[nparams - 1] is filled here with limit + 1.
 * The oldest-first one runs for ending_before (the rows just newer than the
 * cursor). Each statement checks its cursor itself (a subquery on the
 * cursor's row, scoped to the merchant).
 * @return the result (caller PQclear), rows to read in *n; row i of the page
 * (newest first) is gw_store_page_row(p, *n, i); *has_more set; NULL on
 * error (logged as what).
 */
PGresult *gw_store_page_exec(PGconn *conn, const struct gw_page *p, const char *newest,
                             const char *oldest, int nparams, const char **params, int *n,
                             int *has_more, const char *what);

/** Row of a page result for its i-th object, newest first (see gw_store_page_exec). */
int gw_store_page_row(const struct gw_page *p, int n, int i);

/**
 * Whether cursor is a row of merchant_id: sql selects with $1 = cursor,
 * $2 = merchant_id. @return 0 it is, 1 it is not (or NULL cursor: 0), -1.
 */
int gw_store_cursor_owned(PGconn *conn, const char *sql, const char *cursor,
                          const char *merchant_id);

/**
 * merchant_id's refunds, newest first, of payment_id only when not NULL.
 * @return a new JSON array of refund objects (gw_refund_to_json), or NULL on
 * error or when the cursor is not one of this merchant's refunds
 * (*cursor_missing = 1).
 */
json_t *gw_store_refund_page(PGconn *conn, const char *merchant_id, const char *payment_id,
                             const struct gw_page *p, int *has_more, int *cursor_missing);

/**
 * merchant_id's events of the last GW_EVENTS_DAYS days, newest first; type
 * an exact type or NULL, type_prefix (e.g. "payment.") or NULL, both on the
 * Event's type (refund.succeeded, not the internal payment.refunded).
 * Cursors are event ids (gw_store_event_id_ok): the page is keyset on the
 * cursor's (created, internal sequence), looked up from its id among the
 * merchant's events of the window (ADR 0129). @return a new JSON array of
 * Event objects (GW_STORE_EVENT_OBJECT) or NULL as gw_store_refund_page.
 */
json_t *gw_store_event_page(PGconn *conn, const char *merchant_id, const char *type,
                            const char *type_prefix, const struct gw_page *p, int *has_more,
                            int *cursor_missing);

/**
 * Event evt_id of merchant_id of the last GW_EVENTS_DAYS days into *out (a
 * new reference: the Event object, GW_STORE_EVENT_OBJECT). @return 0, 1 not
 * found (another merchant's, older, or not an event id's shape), -1.
 */
int gw_store_event_get(PGconn *conn, const char *merchant_id, const char *evt_id, json_t **out);

/**
 * Whether s is an event id's shape: "evt_" and 22 to 64 characters of
 * [A-Za-z0-9] (sr_random_id of 16 bytes: 22 base62 characters, 128 bits
 * from libsodium's CSPRNG; rows older than ADR 0129: 64 hex characters).
 * Checked before an id reaches the database, a log or the audit trail.
 */
bool gw_store_event_id_ok(const char *s);

/** The API version an Event names (Stripe's Event.api_version): the date of
 * the event shape's last change (ADR 0129). */
#define GW_API_VERSION "2026-12-07"

/* The Event's data of payment_events row e: {"object": the object the event
 * is about, "previous_attributes"?: its changed fields' old values}. Rows
 * written before ADR 0129 kept the refund / dispute beside the payment:
 * they read as the refund / dispute. */
#define GW_STORE_EVENT_DATA(e) 	"(jsonb_build_object('object', COALESCE(" e ".data->'refund', " e ".data->'dispute', " 	e ".data->'object')) || CASE WHEN " e ".data ? 'previous_attributes' THEN " 	"jsonb_build_object('previous_attributes', " e ".data->'previous_attributes') " 	"ELSE '{}'::jsonb END)"

/* The Event's type of row e: the merchant event name (gw_webhook_event_name),
 * or the internal type when there is none (payment.created). */
#define GW_STORE_EVENT_TYPE(e) "COALESCE(" e ".event_type, " e ".type)"

/**
 * The Event object of payment_events row e as jsonb, as Stripe's Event
 * (https://docs.stripe.com/api/events/object): id, object "event",
 * api_version, created (UNIX seconds), livemode (false: test mode only),
 * pending_webhooks (this event's deliveries not yet succeeded), request
 * ({id, idempotency_key} of the merchant request that caused it, or null),
 * type, data. The one builder of GET /v1/events, GET /v1/events/{id} and
 * the webhook body (gw_store_webhook_claim), so the three are one object.
 */
#define GW_STORE_EVENT_OBJECT(e) 	"jsonb_build_object('id', " e ".public_id, 'object', 'event', 'api_version', '" 	GW_API_VERSION "', 'created', extract(epoch FROM " e ".created_at)::bigint, " 	"'livemode', false, 'pending_webhooks', (SELECT count(*) FROM outbox po " 	"JOIN webhook_deliveries pd ON pd.outbox_id = po.id WHERE po.event_id = " e ".id " 	"AND pd.status <> 'succeeded'), 'request', CASE WHEN " e ".request_id IS NULL THEN NULL " 	"ELSE jsonb_build_object('id', " e ".request_id, 'idempotency_key', " e ".idempotency_key) END, " 	"'type', " GW_STORE_EVENT_TYPE(e) ", 'data', " GW_STORE_EVENT_DATA(e) ")"

/** Columns gw_store_event_json reads (the payment timeline), of payment_events e. */
#define GW_STORE_EVENT_COLS 	"e.public_id, e.type, coalesce(e.from_status, ''), e.to_status, " 	"extract(epoch FROM e.created_at)::bigint, " GW_STORE_EVENT_DATA("e") "::text, e.payment_id"

/**
 * Row of GW_STORE_EVENT_COLS as an entry of a payment's timeline (GET
 * /v1/payments/{id}/events): {"id":"evt_...","object":"payment_event","type"
 * (the internal type, payment.<status>),"payment","from","to","created",
 * "data"}. @return new reference or NULL.
 */
json_t *gw_store_event_json(PGresult *res, int row);

#endif
