/*
 * gw_psp_events: the effect of one verified PSP webhook event on the
 * gateway's payments (issue 5), exactly once (invariant 9, docs/invariants.md).
 *
 * The vault verified the delivery's signature and normalized it (vault
 * POST /v1/psp_webhooks/{connector}); here, in ONE transaction per event:
 *   1. insert (provider, event id) into psp_webhook_events — a replay finds
 *      the row and changes nothing;
 *   2. lock the payment the event names (connector + PSP reference, and the
 *      merchant when the vault matched one);
 *   3. apply the effect along the state machine, each change with its payment
 *      event and outbox row through gw_ledger (invariant 7):
 *      authorization.succeeded  requires_action -> processing -> captured
 *                               (capture_method automatic) | authorized;
 *                               processing | unknown -> captured | authorized
 *      authorization.failed     requires_action | processing | unknown -> failed
 *      capture.succeeded        authorized -> captured
 *      cancel.succeeded         authorized -> voided
 *      refund.succeeded/failed  the matching pending refund -> succeeded (payment
 *                               partially_refunded | refunded) / failed
 *      dispute.created          captured | partially_refunded -> disputed, a
 *                               dispute object (ADR 0132), events
 *                               "payment.disputed" (dispute.created) and
 *                               dispute.funds_withdrawn about the dispute
 *      anything else, or a payment already past that point: no effect.
 * An event naming no payment we know is recorded (payment_unknown) and
 * acknowledged (ADR 0096).
 */
#ifndef GW_PSP_EVENTS_H
#define GW_PSP_EVENTS_H
#include <libpq-fe.h>
#include <jansson.h>

/**
 * Apply one event {"id","type","psp_reference","reference","amount",
 * "currency","failure_code","created"} (as the vault returns it) from
 * provider (connector name) for merchant (NULL: not known) in one
 * transaction on conn. outcome[24] receives "applied", "no_effect",
 * "payment_unknown" or "duplicate"; payment_id[72] the payment ("" none).
 * @return 0 committed (any outcome), -1 error (rolled back: nothing written,
 * the PSP's retry will apply it).
 */
int gw_psp_event_apply(PGconn *conn, const char *request_id, const char *provider,
                       const char *merchant, const json_t *ev, char outcome[24],
                       char payment_id[72]);

#endif
