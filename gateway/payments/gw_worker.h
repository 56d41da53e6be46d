/*
 * gw_worker: gatewayd's background worker (issue 4), one thread per
 * instance; several instances on one database cooperate through row locks
 * (SELECT ... FOR UPDATE NOWAIT: a payment another instance is working on is
 * skipped this round). Every worker_interval_ms it:
 *  - voids authorizations older than auto_void_after_s (reason "expired");
 *  - reconciles payments whose outcome is not final: unknown, processing
 *    past the idempotency lease (a crashed instance), requires_action
 *    (3-D Secure completed at the PSP, or expired after three_ds_expiry_s);
 *  - asks again for refunds still pending (same PSP key);
 *  - about once a minute, deletes idempotency keys older than 24 hours.
 */
#ifndef GW_WORKER_H
#define GW_WORKER_H

struct gw_app;
struct gw_worker;

/** Start the thread (config from app->cfg). @return handle or NULL. */
struct gw_worker *gw_worker_start(struct gw_app *app);

/** Stop and join (prompt: wakes the sleeping thread). NULL ok. */
void gw_worker_stop(struct gw_worker *w);

/** Run one round synchronously (tests, and the thread's body). */
void gw_worker_round(struct gw_app *app, int sweep);

#endif
