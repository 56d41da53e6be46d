/*
 * gw_store: the gateway database statements (libpq, PQexecParams only —
 * PCI DSS v4.0 6.2.4: no SQL built from input). One file per statement
 * group: gw_store_merchants.c, gw_store_payments.c, gw_store_events.c,
 * gw_store_idempotency.c. Connections come from sr_db (role gateway); the
 * caller owns transactions (sr_db_exec BEGIN/COMMIT).
 *
 * Return convention unless stated: 0 success, 1 not found / conflict,
 * -1 database error (logged without parameters, which may be key hashes).
 */
#ifndef GW_STORE_H
#define GW_STORE_H
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

#include "gateway/payments/gw_payment.h"

/* ---- merchants + API keys (gw_store_merchants.c) ---- */

/** Insert a merchant row. */
int gw_store_merchant_insert(PGconn *conn, const char *id, const char *name);

/**
 * Insert an API key: kind "publishable"|"secret", key_sha256 64 hex chars,
 * key_prefix the display prefix (e.g. "sk_test_ab12"). Only the hash is stored
 * (PCI DSS v4.0 8.3.2).
 */
int gw_store_api_key_insert(PGconn *conn, const char *merchant_id, const char *kind,
                            const char *key_sha256, const char *key_prefix);

/**
 * All merchants as a new JSON array of {"id","name","created","keys":[{"kind",
 * "prefix","created","revoked"}]}, or NULL on error.
 */
json_t *gw_store_merchant_list(PGconn *conn);

/* ---- payments (gw_store_payments.c) ---- */

/** Insert p (version 1). Fills p->created/updated from the database. */
int gw_store_payment_insert(PGconn *conn, struct gw_payment *p);

/**
 * Load payment id owned by merchant_id into out. Another merchant's payment is
 * "not found" (1). @param for_update lock the row (SELECT ... FOR UPDATE).
 */
int gw_store_payment_get(PGconn *conn, const char *id, const char *merchant_id,
                         int for_update, struct gw_payment *out);

/**
 * Write p's mutable fields (status, card, amount_captured, failure_*,
 * psp_reference, connector) if the row still has version p->version and status
 * expected_from (optimistic concurrency). On success p->version is the new
 * version and p->updated is set. @return 0, 1 (version/status conflict), -1.
 */
int gw_store_payment_update(PGconn *conn, struct gw_payment *p, enum gw_status expected_from);

/* ---- events + outbox (gw_store_events.c) ---- */

/**
 * Append a payment event and its outbox row in one statement (docs/invariants.md, invariant
 * 7; the caller's transaction also holds the payment write). type is the
 * internal type, e.g. "payment.created"; the Event's type is its merchant
 * name (gw_webhook_event_name) when it has one. The event's public id is
 * "evt_" + 128 bits from libsodium's CSPRNG (ADR 0129). from may be NULL;
 * data is the Event's data (borrowed): {"object", "previous_attributes"?}.
 * request_id / idempotency_key: the merchant request that caused the event
 * (Stripe's Event.request), or NULL (PSP webhook, worker, reconciliation);
 * idempotency_key may be NULL. @return 0 or -1.
 */
int gw_store_event_append(PGconn *conn, const char *payment_id, const char *type,
                          const char *from, const char *to, const json_t *data,
                          const char *request_id, const char *idempotency_key);

/* ---- idempotency keys (gw_store_idempotency.c) ---- */

/**
 * Read an existing record. request_sha256 receives 64 hex + NUL; *status_code
 * is 0 while in progress; *body is malloc'd (caller frees) or NULL.
 * @return 0, 1 (gone), -1.
 */
int gw_store_idem_get(PGconn *conn, const char *merchant_id, const char *key,
                      char request_sha256[65], int *status_code, char **body);

/** Record the final response of a claimed key. */
int gw_store_idem_complete(PGconn *conn, const char *merchant_id, const char *key,
                           int status_code, const char *body);

/**
 * Give up an in-progress claim without saving a response: a claim with no
 * payment is deleted (nothing was executed: a retry runs afresh); a claim
 * linked to a payment is kept and its lease ends now, so that the next retry
 * takes it over at once and answers the payment as it is (ADR 0023).
 * @return 0, or -1 (database error, logged).
 */
int gw_store_idem_release(PGconn *conn, const char *merchant_id, const char *key);

/* ---- browser origins (gw_store_merchant_pk.c, issue 6) ---- */

/**
 * The SHA-256 hex of merchant_id's active (not revoked) publishable key,
 * needed to re-register the merchant with the vault (PUT /v1/merchants/{id}).
 * @param out capacity 65. @return 1 found, 0 no such merchant/key, -1 error.
 */
int gw_store_publishable_key_hash(PGconn *conn, const char *merchant_id, char *out);

/* ---- shared helpers (gw_store_payments.c) ---- */

/* The payment columns, in the order gw_store_row_to_payment reads them. */
#define GW_STORE_PAYMENT_COLS \
	"id, merchant_id, amount, currency, status, capture_method, payment_method, " \
	"description, card_brand, card_last4, amount_captured, failure_code, failure_message, " \
	"psp_reference, connector, redirect_url, version, extract(epoch FROM created_at)::bigint, " \
	"extract(epoch FROM updated_at)::bigint, amount_refunded, route_reason, metadata::text, " \
	"coalesce(statement_descriptor, ''), coalesce(statement_descriptor_suffix, ''), " \
	"coalesce(return_url, '')"

/** Fill p from row of res (selected with GW_STORE_PAYMENT_COLS). @return 0 or -1. */
int gw_store_row_to_payment(PGresult *res, int row, struct gw_payment *p);

/** Log a failed statement: event name and SQLSTATE only (never parameters). */
void gw_store_log_error(const char *event, PGresult *res);

/**
 * Run one parameterized INSERT/UPDATE/DELETE expected to touch one row.
 * @return 0 one row, 1 none (a conflict or no match), -1 error (logged as event).
 */
int gw_store_exec_one(PGconn *conn, const char *sql, int nparams, const char *const *params,
                      const char *event);

#endif
