/*
 * gw_store_lifecycle: statements for the payment lifecycle after
 * authorization (issue 4): row locks, refunds, listing, the event timeline,
 * idempotency leases and retention, and the workers' scans. PQexecParams
 * only (PCI DSS v4.0 6.2.4). Return convention as gw_store.h unless stated.
 */
#ifndef GW_STORE_LIFECYCLE_H
#define GW_STORE_LIFECYCLE_H
#include <stddef.h>
#include <libpq-fe.h>
#include <jansson.h>

#include "gateway/payments/gw_payment.h"
#include "gateway/store/gw_store_lists.h"

/* A refund row. Empty strings stand for SQL NULL. */
struct gw_refund {
	char id[72];                 /* "re_..." */
	char payment_id[72];
	char merchant_id[72];
	long long amount;            /* minor units */
	char currency[4];
	char status[16];             /* pending | succeeded | failed */
	char reason[32];             /* duplicate | fraudulent | requested_by_customer | "" */
	char psp_reference[128];
	char failure_code[64];
	long long created;           /* UNIX seconds */
	char metadata[GW_METADATA_JSON_MAX + 1]; /* compact JSON object text; "" = {} (issue 19) */
};

/** Render r as {"id","object":"refund","payment","amount","currency","status","reason",
 *  "failure_code","psp_reference","metadata","created"}. @return new reference or NULL. */
json_t *gw_refund_to_json(const struct gw_refund *r);

/**
 * Lock payment id of merchant_id inside the caller's transaction with
 * SELECT ... FOR UPDATE, waiting at most 2 s (SET LOCAL lock_timeout), and
 * load it into out.
 * @return 0 locked, 1 not found, 2 another transaction held the row for
 * longer than 2 s, -1.
 */
int gw_store_payment_lock(PGconn *conn, const char *id, const char *merchant_id,
                          struct gw_payment *out);

/** Insert r (created filled from the database). */
int gw_store_refund_insert(PGconn *conn, struct gw_refund *r);

/** Update r's status, psp_reference, failure_code. */
int gw_store_refund_update(PGconn *conn, const struct gw_refund *r);

/** Load refund id of merchant_id. @return 0, 1 not found, -1. */
int gw_store_refund_get(PGconn *conn, const char *id, const char *merchant_id,
                        struct gw_refund *out);

/** Sum of payment_id's refunds that are still pending into *sum. */
int gw_store_refund_pending_sum(PGconn *conn, const char *payment_id, long long *sum);

/** Columns gw_store_refund_row reads, of refunds. */
#define GW_STORE_REFUND_COLS \
	"id, payment_id, merchant_id, amount, currency, status, coalesce(reason, ''), " \
	"coalesce(psp_reference, ''), coalesce(failure_code, ''), extract(epoch FROM created_at)::bigint, " \
	"metadata::text"

/** Row of GW_STORE_REFUND_COLS into r. */
void gw_store_refund_row(PGresult *res, int row, struct gw_refund *r);

/* Filters for GET /v1/payments. */
struct gw_payment_filter {
	const char *status;          /* NULL: any */
	struct gw_page page;         /* cursors: payment ids of this merchant */
};

/**
 * merchant_id's payments, newest first ((created_at, id) descending), one
 * page (gw_store_page_exec) matching the filters: a new JSON array of payment
 * objects with at most f->page.limit entries; *has_more tells whether more
 * follow. @return array, or NULL on error; *cursor_missing = 1 when the
 * cursor is not one of this merchant's payments (then NULL).
 */
json_t *gw_store_payment_list(PGconn *conn, const char *merchant_id,
                              const struct gw_payment_filter *f, int *has_more,
                              int *cursor_missing);

/**
 * The event timeline of payment_id: a new JSON array of events
 * (gw_store_event_json) oldest first, or NULL on error.
 */
json_t *gw_store_payment_events(PGconn *conn, const char *payment_id);

/* ---- idempotency (leases, links, retention) ---- */

/**
 * Claim (merchant_id, key) with a lease of lease_s seconds, held by instance
 * owner (gw_instance id, ADR 0113).
 * @return 0 claimed, 1 a row already exists, -1.
 */
int gw_store_idem_claim_lease(PGconn *conn, const char *merchant_id, const char *key,
                              const char *request_sha256, const char *method, const char *path,
                              int lease_s, const char *owner);

/** Link the payment a claimed key created (same transaction as the payment insert). */
int gw_store_idem_link(PGconn *conn, const char *merchant_id, const char *key,
                       const char *payment_id);

/**
 * Delete the in-progress claim of (merchant_id, key) linked to payment_id,
 * which was never sent (issue 16): a retry with the key then executes
 * afresh. Same transaction as the payment's move to canceled.
 * @return 0 deleted, 1 no such claim (answered or taken over), -1.
 */
int gw_store_idem_unlink(PGconn *conn, const char *merchant_id, const char *key,
                         const char *payment_id);

/**
 * Take over an in-progress key whose lease has ended, or whose owner is dead
 * (no heartbeat for GW_INSTANCE_DEAD_S, ADR 0113): renews the lease for
 * owner atomically, so exactly one retry wins. payment_id[72] receives the
 * linked payment ("" when none was created).
 * @return 0 taken over, 1 not (still leased by a live owner, or completed), -1.
 */
int gw_store_idem_takeover(PGconn *conn, const char *merchant_id, const char *key, int lease_s,
                           const char *owner, char payment_id[72]);

/** Delete keys older than retention_s seconds (Stripe keeps them >= 24 h). @return rows or -1. */
long long gw_store_idem_sweep(PGconn *conn, long long retention_s);

/* ---- workers ---- */

/** A payment due for a worker: id and merchant. */
struct gw_due {
	char id[72];
	char merchant_id[72];
};

/**
 * Up to max payments in status whose last update is older than age_s
 * seconds (created_at for 'authorized', the auto-void window), oldest first.
 * @return count, or -1.
 */
int gw_store_payments_due(PGconn *conn, enum gw_status status, long long age_s,
                          struct gw_due *out, int max);

/** Up to max pending refunds older than age_s seconds: (refund id, merchant). @return count or -1. */
int gw_store_refunds_due(PGconn *conn, long long age_s, struct gw_due *out, int max);

#endif
