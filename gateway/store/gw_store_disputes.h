/*
 * gw_store_disputes: the disputes table (issue 19 item 6, ADR 0132).
 * PQexecParams only (PCI DSS v4.0 6.2.4); every read is scoped to the
 * merchant, so another merchant's dispute is "not found", never "forbidden".
 * Return convention as gw_store.h: 0 ok, 1 not found, -1 database error.
 */
#ifndef GW_STORE_DISPUTES_H
#define GW_STORE_DISPUTES_H
#include <libpq-fe.h>
#include <jansson.h>

#include "gateway/disputes/gw_dispute.h"
#include "gateway/store/gw_store_lists.h"

/**
 * Insert d (id, merchant, payment, PSP id, amount, currency, reason, status,
 * due_by set; created and evidence as stored are read back into d) inside
 * the caller's transaction. @return 0, 1 the payment already has this PSP
 * dispute (nothing written), -1.
 */
int gw_store_dispute_insert(PGconn *conn, struct gw_dispute *d);

/**
 * Dispute id of merchant_id into d (with its payment's connector and
 * status); lock: SELECT ... FOR UPDATE of the dispute row (inside the
 * caller's transaction). d's previous evidence is freed first.
 * @return 0, 1 not found (another merchant's too), -1.
 */
int gw_store_dispute_get(PGconn *conn, const char *id, const char *merchant_id, int lock,
                         struct gw_dispute *d);

/**
 * Take dispute id's lease for one PSP call (op_until = now + 60 s) unless
 * another call holds it. @return 0 taken, 1 not found, 2 held by another
 * call, -1.
 */
int gw_store_dispute_claim(PGconn *conn, const char *id, const char *merchant_id);

/** Give dispute id's lease back (op_until NULL). @return 0 or -1. */
int gw_store_dispute_release(PGconn *conn, const char *id);

/**
 * Write d's evidence, status and submission_count, and give its lease back,
 * inside the caller's transaction. @return 0, 1 not found, -1.
 */
int gw_store_dispute_update(PGconn *conn, const struct gw_dispute *d);

/**
 * merchant_id's disputes, newest first, of payment_id only when not NULL,
 * as gw_store_refund_page. @return a new JSON array of dispute objects, or
 * NULL on error or when the cursor is not one of this merchant's disputes
 * (*cursor_missing = 1).
 */
json_t *gw_store_dispute_page(PGconn *conn, const char *merchant_id, const char *payment_id,
                              const struct gw_page *p, int *has_more, int *cursor_missing);

#endif
