/*
 * gw_lifecycle: what happens to a payment after it is created (issue 4) —
 * capture (full or partial), cancel (void), refunds, and reconciliation of
 * payments whose outcome is not final yet (processing after a crash,
 * unknown, requires_action). Used by the handlers and by the workers.
 *
 * Concurrency: every operation locks the payment row with SELECT ... FOR
 * UPDATE (waiting at most 2 s, ADR 0020) in one transaction that also holds
 * the PSP call and the state write (payment, event, outbox: invariant 7,
 * docs/invariants.md). A concurrent
 * operation on the same payment is refused with 409 concurrent_update and
 * writes nothing; once the winner has committed, a second operation sees the
 * new state and is refused with 409 and a state-specific code. PSP calls
 * carry stable idempotency keys ("<pay>-capture", "<pay>-cancel", the refund
 * id, the payment id), so a retry after a lost answer never acts twice.
 */
#ifndef GW_LIFECYCLE_H
#define GW_LIFECYCLE_H
#include "gateway/payments/gw_payment.h"
#include "gateway/api/gw_request.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "gateway/vault_client/gw_vault_client.h"

struct gw_app;

enum gw_lc_rc {
	GW_LC_OK = 0,        /* done; out filled */
	GW_LC_REFUSED,       /* a definite refusal (err filled); an idempotent response may save it */
	GW_LC_RETRY,         /* nothing was done (err filled: lock conflict, PSP unreachable or its
	                        answer lost); must not be saved: a retry may execute */
	GW_LC_INTERNAL,      /* our failure (err filled: 500) */
};

/**
 * Capture amount (-1: the whole authorized amount; 1..amount: partial, the
 * rest is released) of an authorized payment. out: the payment afterwards.
 * Refusals: 404 resource_missing; 400 amount_too_large; 409 concurrent_update,
 * payment_already_captured, payment_voided, payment_failed,
 * payment_not_authorized, psp_refused.
 */
enum gw_lc_rc gw_lifecycle_capture(struct gw_app *app, const char *request_id,
                                   const char *merchant, const char *payment_id, long long amount,
                                   struct gw_payment *out, struct gw_error *err);

/**
 * Void an authorized payment (manual cancel, or the auto-void worker with
 * reason "expired"). reason NULL or duplicate | fraudulent |
 * requested_by_customer | abandoned | expired, forwarded to the PSP (ADR
 * 0108). Refusals as capture, plus payment_already_voided. Capture and
 * cancel answered by the PSP without confirming them: GW_LC_OK with out's
 * status unknown (reconciled by gw_lifecycle_reconcile).
 */
enum gw_lc_rc gw_lifecycle_cancel(struct gw_app *app, const char *request_id,
                                  const char *merchant, const char *payment_id, const char *reason,
                                  struct gw_payment *out, struct gw_error *err);

/**
 * Refund amount (-1: what is left) of a captured payment; reason NULL or
 * duplicate | fraudulent | requested_by_customer. Never more than captured
 * minus refunded minus pending refunds. On GW_LC_OK the refund's status is
 * succeeded, failed (the PSP refused it) or pending (its answer was lost: a
 * worker asks again with the same key). Refusals: 404; 400
 * refund_amount_too_large; 409 concurrent_update, payment_not_captured,
 * payment_voided, payment_failed, payment_already_refunded, payment_disputed.
 */
enum gw_lc_rc gw_lifecycle_refund(struct gw_app *app, const char *request_id,
                                  const char *merchant, const char *payment_id, long long amount,
                                  const char *reason, const char *metadata, struct gw_refund *out,
                                  struct gw_error *err);

/** Worker: ask again for a pending refund (same PSP key). @return as above. */
enum gw_lc_rc gw_lifecycle_refund_resolve(struct gw_app *app, const char *request_id,
                                          const char *merchant, const char *refund_id);

/**
 * Resolve a payment that is not final: processing (its gatewayd died during
 * the PSP call) or unknown — by authorizing again through the vault with the
 * same PSP idempotency key (the payment id: the vault replays its record or
 * asks the PSP, never charging twice); requires_action — by reading the
 * PSP's status (3-D Secure completed or not), failing it with
 * authentication_expired after three_ds_expiry_s. out may be NULL.
 */
enum gw_lc_rc gw_lifecycle_reconcile(struct gw_app *app, const char *request_id,
                                     const char *merchant, const char *payment_id,
                                     long long three_ds_expiry_s, struct gw_payment *out);

/**
 * Apply the vault's authorization answer (or its absence) to p: the
 * normalized outcome, references, card, failure code. Never guesses: an
 * answer that may not have reached the PSP's result is `unknown`.
 * GW_VAULT_NOT_SENT (nothing reached the PSP) makes p canceled with
 * failure_code not_sent: an outage is not a card failure (issue 16).
 * recovering: p was already sent once, so "not sent now" proves nothing and
 * leaves p unchanged.
 */
void gw_lifecycle_apply_auth(struct gw_payment *p, enum gw_vault_rc vrc,
                             const struct gw_vault_auth_result *res, int recovering);

#endif
