/*
 * gw_ledger: payment writes as transactions. Every state change writes the
 * payment row, its event and its outbox row in ONE transaction (docs/invariants.md
 * invariant 7), and only along the state machine's edges
 * (gw_payment_transition_allowed), with a row-version check so concurrent
 * updates are serialized (the loser gets a conflict, never a lost update).
 */
#ifndef GW_LEDGER_H
#define GW_LEDGER_H
#include <libpq-fe.h>

#include "gateway/payments/gw_payment.h"

/**
 * Commit p's new state: the caller loaded p (version and status `from`), then
 * set p->status and the changed fields. Writes the update (version check), the
 * event "payment.<new status>" with from/to, and the outbox row in one
 * transaction. @return 0 (p->version updated), 1 refused (illegal transition
 * or the row changed meanwhile: nothing written), -1 database error.
 */
int gw_ledger_transition(PGconn *conn, struct gw_payment *p, enum gw_status from);

/**
 * Insert p (its status must be processing) with event "payment.created" and
 * its outbox row, and link the claimed Idempotency-Key (p->merchant_id,
 * idem_key) to the payment, all in one transaction, so that a retry after a
 * crash finds the payment and resolves it through the vault with the same PSP
 * key (never a second charge). idem_key NULL: no key to link.
 * @return 0 or -1 (rolled back).
 */
int gw_ledger_create_linked(PGconn *conn, struct gw_payment *p, const char *idem_key);

/**
 * Record p (created processing, its status now canceled: never sent to the
 * PSP, issue 16) and, when idem_key is not NULL, delete that Idempotency-Key's
 * claim linked to p, in one transaction: the key's retry executes afresh, and
 * no later takeover or worker sends p behind the merchant's back.
 * @return 0, 1 refused (p changed meanwhile), -1 database error (rolled back:
 * p is still processing and the key still linked).
 */
int gw_ledger_cancel_unsent(PGconn *conn, struct gw_payment *p, const char *idem_key);

/**
 * Inside the caller's open transaction (no BEGIN/COMMIT here): write p's new
 * state with the version check, the event `type` (NULL: "payment.<status>")
 * from `from` to p->status, and its outbox row (invariant 7, docs/invariants.md). A write
 * that keeps the status (e.g. a second partial refund) needs an explicit type.
 * @return 0 (p->version updated), 1 refused (illegal transition or the row
 * changed), -1 database error (the caller rolls back).
 */
int gw_ledger_apply_in_tx(PGconn *conn, struct gw_payment *p, enum gw_status from,
                          const char *type);

/**
 * gw_ledger_apply_in_tx for an event about another object than the payment
 * (Stripe's Event.data.object, ADR 0129): extra (borrowed, NULL: none) is
 * {"refund": {...}} (refund.succeeded / refund.failed) or {"dispute": {...}}
 * (dispute.created), optionally with "previous_attributes" (that object's
 * changed fields with their old values, gw_ledger_previous). The event's
 * data is {"object": that object, "previous_attributes"?}. Without a refund
 * or a dispute, the payment is the object and its previous_attributes are
 * computed. Same return values.
 */
int gw_ledger_apply_in_tx_with(PGconn *conn, struct gw_payment *p, enum gw_status from,
                               const char *type, const json_t *extra);

/**
 * The members of before whose value differs in after, with before's
 * values (Stripe's Event.data.previous_attributes): a new object ({} when
 * nothing changed, or either is not an object), NULL on allocation failure.
 */
json_t *gw_ledger_previous(const json_t *before, const json_t *after);

struct gw_refund;

/**
 * extra for gw_ledger_apply_in_tx_with about refund r (ADR 0129):
 * {"refund": r's JSON, "previous_attributes": the members of before (r's
 * JSON before this change, borrowed) that changed}. @return new reference,
 * NULL on allocation failure.
 */
json_t *gw_refund_event_about(const json_t *before, const struct gw_refund *r);

#endif
