/*
 * gw_idempotency: Idempotency-Key handling with Stripe's documented semantics
 * (https://docs.stripe.com/api/idempotent_requests) — invariant 8, docs/invariants.md:
 *  - keys are scoped per merchant, 1..255 characters;
 *  - the first request claims the key; its response (success or error, once
 *    execution started) is saved and replayed to retries with the header
 *    "Idempotent-Replayed: true", without re-executing (no second vault/PSP call);
 *  - the same key with a different request is refused (idempotency_key_reused);
 *  - a retry while the first is still executing gets 409 idempotency_key_in_use;
 *  - validation failures happen before the claim and are not saved.
 * Without an Idempotency-Key header nothing is recorded.
 */
#ifndef GW_IDEMPOTENCY_H
#define GW_IDEMPOTENCY_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "gateway/api/gw_request.h"

struct gw_app;
struct sr_http_request;

#define GW_IDEM_KEY_MAX 255
/* Default idempotency_lease_s: how long a LIVE owner may still act on a key
 * after claiming it (the vault token check and the authorization, 30 s each
 * at most, plus 15 s for the database writes; ADR 0113). A dead owner's key
 * is taken over without waiting for it. */
#define GW_IDEM_LEASE_S 75

/**
 * Check an Idempotency-Key value: 1..255 bytes of printable ASCII, with no
 * card number in it (it is stored: invariant 1, docs/invariants.md).
 * @return 0, or -1 with *err: 400 invalid_request_error idempotency_key_too_long,
 * idempotency_key_invalid (the key is never echoed; one holding a card
 * number was refused at dispatch, common/sr_http_screen.c).
 */
int gw_idem_key_check(const char *key, struct gw_error *err);

/**
 * Request fingerprint: SHA-256 hex of method "\n" path "\n" canonical JSON
 * body (json_dumps JSON_SORT_KEYS|JSON_COMPACT; body NULL -> ""). Key order
 * and whitespace do not change it; any value change does.
 * @return 0, or -1 (out of memory).
 */
int gw_idem_fingerprint(const char *method, const char *path, const json_t *body, char out[65]);

/* Per-request state. */
struct gw_idem {
	bool active;              /* a key was given and claimed by this request */
	char merchant_id[72];
	char key[GW_IDEM_KEY_MAX + 1];
	/* Crash recovery (issue 4): the key was still in progress after its
	 * lease (its gatewayd died) and this request took it over. payment_id is
	 * the payment the first attempt created ("" if none: nothing was sent
	 * to the vault, so executing from scratch is safe). */
	bool recovered;
	char payment_id[72];
};

/**
 * Start idempotent execution of req for merchant_id. The claim is owned by
 * this process (app->instance_id) and holds a lease (config
 * idempotency_lease_s, GW_IDEM_LEASE_S); a retry finding the key in progress
 * past its lease, or held by an owner without a heartbeat (killed or
 * restarted, ADR 0113), takes it over atomically (st->recovered) — see
 * struct gw_idem. A key released meanwhile is claimed afresh, never "in use".
 * @return true: proceed (st->active tells whether a key was claimed);
 *         false: a reply was already sent (replay, key misuse, in use, error).
 */
bool gw_idem_begin(struct gw_app *app, struct sr_http_request *req, const char *merchant_id,
                   struct gw_idem *st);

/** Save (when active) and send the final JSON response; body reference stolen. */
void gw_idem_finish(struct gw_app *app, struct sr_http_request *req, struct gw_idem *st,
                    unsigned status, json_t *body);

/**
 * Save (when active) and send an error response in the error shape (README.md, APIs), for
 * errors after execution started (e.g. the token is not the merchant's).
 */
void gw_idem_fail(struct gw_app *app, struct sr_http_request *req, struct gw_idem *st,
                  unsigned status, const char *type, const char *code, const char *message,
                  const char *param);

/**
 * Release the claim (when active) and send an error that is NOT saved: either
 * nothing happened yet (e.g. the vault was unreachable), so a retry may
 * execute; or the outcome of what happened is not recorded (e.g. the write
 * after the PSP answered failed), so the key stays linked to its payment and
 * a retry with it answers the payment as it is then (gw_store_idem_release).
 * An error is never saved as the final answer for a key.
 */
void gw_idem_abort(struct gw_app *app, struct sr_http_request *req, struct gw_idem *st,
                   unsigned status, const char *type, const char *code, const char *message,
                   const char *param);

/**
 * Retry the releases gw_idem_abort could not write (the database was away):
 * called by the worker every round. Thread-safe; a release that fails again
 * stays queued (at most 1,024 are kept; beyond that a key waits for its
 * lease, ADR 0113).
 */
void gw_idem_retry_releases(struct gw_app *app);

#endif
