/*
 * gw_ledger: payment writes as transactions. Every state change writes the
 * payment row, its event and its outbox row in ONE transaction (BRIEF
 * invariant 7), and only along the state machine's edges
 * (gw_payment_transition_allowed), with a row-version check so concurrent
 * updates are serialized (the loser gets a conflict, never a lost update).
 */
#ifndef GW_LEDGER_H
#define GW_LEDGER_H
#include <libpq-fe.h>

#include "gateway/gw_payment.h"

/**
 * Insert p (its status must be processing) with event "payment.created" and
 * its outbox row, in one transaction. @return 0 or -1 (rolled back).
 */
int gw_ledger_create(PGconn *conn, struct gw_payment *p);

/**
 * Commit p's new state: the caller loaded p (version and status `from`), then
 * set p->status and the changed fields. Writes the update (version check), the
 * event "payment.<new status>" with from/to, and the outbox row in one
 * transaction. @return 0 (p->version updated), 1 refused (illegal transition
 * or the row changed meanwhile: nothing written), -1 database error.
 */
int gw_ledger_transition(PGconn *conn, struct gw_payment *p, enum gw_status from);

#endif
