/*
 * gw_store_psp_webhooks: statements for webhooks from PSPs (issue 5): the
 * (provider, event id) dedup record (invariant 9, docs/invariants.md) and the lookups an
 * event's effect needs (payment by PSP reference, refund by PSP refund id).
 * PQexecParams only (PCI DSS v4.0 6.2.4). All run inside the caller's
 * transaction. Return convention as gw_store.h unless stated.
 */
#ifndef GW_STORE_PSP_WEBHOOKS_H
#define GW_STORE_PSP_WEBHOOKS_H
#include <libpq-fe.h>

#include "gateway/payments/gw_payment.h"

/**
 * Record event (provider, event_id) as received. merchant_id and
 * psp_reference may be NULL. A concurrent delivery of the same event waits
 * for this transaction (primary key) and then sees it.
 * @return 0 recorded (first delivery), 1 already recorded (a replay), -1.
 */
int gw_store_psp_event_claim(PGconn *conn, const char *provider, const char *event_id,
                             const char *type, const char *merchant_id, const char *psp_reference);

/** Set the recorded event's outcome (applied|no_effect|payment_unknown) and payment (NULL ok). */
int gw_store_psp_event_finish(PGconn *conn, const char *provider, const char *event_id,
                              const char *payment_id, const char *outcome);

/**
 * Lock (SELECT ... FOR UPDATE, waiting) the payment that connector knows as
 * psp_reference, of merchant_id when non-NULL, and load it into out.
 * A payment whose connector is not recorded matches any connector.
 * @return 0 locked, 1 none, -1.
 */
int gw_store_payment_lock_by_psp(PGconn *conn, const char *connector, const char *psp_reference,
                                 const char *merchant_id, struct gw_payment *out);

/**
 * The refund of payment_id a PSP refund event is about: the one with
 * psp_reference = psp_refund (any status) or else the oldest pending one of
 * exactly amount (its PSP answer was lost). Locked. id_out[72].
 * @return 0 found, 1 none, -1.
 */
int gw_store_refund_for_psp(PGconn *conn, const char *payment_id, const char *psp_refund,
                            long long amount, char id_out[72]);

#endif
