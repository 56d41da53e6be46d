/*
 * gw_dispatcher: delivers webhooks to merchants (issue 5), one thread per
 * gatewayd instance. All state is in the database (nothing only in memory:
 * a restart loses nothing). Every webhook_interval_ms it:
 *  - fans out outbox rows into one pending delivery per (event, matching
 *    endpoint) (gw_store_webhook_fanout; SKIP LOCKED between instances);
 *  - makes deliveries held by a dead instance (no heartbeat for
 *    GW_INSTANCE_DEAD_S: killed, restarted) due at once (ADR 0113);
 *  - claims due deliveries one at a time, owned by this instance, with a
 *    lease covering that one attempt (webhook_timeout_ms + 2 s; SKIP LOCKED,
 *    then next_attempt_at moved past the lease: another instance never sends
 *    the same delivery while its live owner may still send it);
 *  - POSTs each event's JSON with libcurl (https only, no redirects, the
 *    resolved address checked against private ranges unless
 *    webhook_allow_private), signed with the endpoint's secret in
 *    Strongroom-Signature (gw_webhook_sign);
 *  - records the attempt (outcome, status code, latency, response truncated
 *    to 1 KiB, error) and logs it; a 2xx succeeds; anything else is retried
 *    after gw_webhook_backoff_ms (webhook_backoff_base_ms,
 *    webhook_backoff_cap_ms) until the next try would start after
 *    webhook_max_age_s from the first: then the delivery is failed.
 * Metrics: strongroom_webhook_delivery_attempts_total{outcome},
 * strongroom_webhook_delivery_duration_seconds{outcome},
 * strongroom_webhook_deliveries_pending.
 */
#ifndef GW_DISPATCHER_H
#define GW_DISPATCHER_H

struct gw_app;
struct gw_dispatcher;

/**
 * Start the thread (config from app->cfg; app->webhook_key must be set).
 * @return handle or NULL.
 */
struct gw_dispatcher *gw_dispatcher_start(struct gw_app *app);

/** Stop and join (wakes the sleeping thread; an attempt in flight finishes). NULL ok. */
void gw_dispatcher_stop(struct gw_dispatcher *d);

/**
 * One round: fan out, reclaim dead owners' deliveries, then claim and send
 * up to 8 deliveries, one claim each.
 * @return deliveries attempted, or -1 on a database error.
 */
int gw_dispatcher_round(struct gw_dispatcher *d);

#endif
