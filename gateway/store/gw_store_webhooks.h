/*
 * gw_store_webhooks: the statements behind webhooks to merchants (issue 5):
 * endpoints, the fan-out of outbox events into deliveries, claiming due
 * deliveries across gatewayd instances, attempts, listing and redelivery.
 * PQexecParams only (PCI DSS v4.0 6.2.4). Return convention of gw_store.h:
 * 0 success, 1 not found, -1 database error (logged without parameters).
 */
#ifndef GW_STORE_WEBHOOKS_H
#define GW_STORE_WEBHOOKS_H
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <jansson.h>

#include "gateway/events/gw_webhook.h"

/**
 * Insert endpoint id of merchant_id: url, events (JSON array of filter
 * strings, borrowed), sealed secret (bytes) and its display prefix.
 * Returns the endpoint's public JSON (gw_store_webhook_endpoint_get's shape)
 * in *out (new reference). @return 0, -1.
 */
int gw_store_webhook_endpoint_insert(PGconn *conn, const char *id, const char *merchant_id,
                                     const char *url, const json_t *events, const uint8_t *sealed,
                                     size_t sealed_len, const char *secret_prefix, json_t **out);

/**
 * The merchant's live endpoint id as {"id","object":"webhook_endpoint","url",
 * "enabled_events","secret_prefix","created"} (never the secret) in *out.
 * @return 0, 1 (none, deleted, or another merchant's), -1.
 */
int gw_store_webhook_endpoint_get(PGconn *conn, const char *id, const char *merchant_id,
                                  json_t **out);

/** The merchant's live endpoints (oldest first) as a new JSON array, NULL on error. */
json_t *gw_store_webhook_endpoint_list(PGconn *conn, const char *merchant_id);

/**
 * Soft-delete the merchant's endpoint and mark its pending deliveries failed
 * (nothing more is sent to it). @return 0, 1 (not found), -1.
 */
int gw_store_webhook_endpoint_delete(PGconn *conn, const char *id, const char *merchant_id);

/**
 * Update the merchant's live endpoint id: each of url (checked by the
 * caller: gw_webhook_url_check), events (a checked JSON array of filters),
 * status ("enabled" | "disabled") and description ("" clears it) that is
 * not NULL. *out is the endpoint JSON as gw_store_webhook_endpoint_get.
 * @return 0, 1 (not the merchant's, or deleted), -1.
 */
int gw_store_webhook_endpoint_update(PGconn *conn, const char *id, const char *merchant_id,
                                     const char *url, const json_t *events, const char *status,
                                     const char *description, json_t **out);

/**
 * Roll the signing secret of the merchant's live endpoint id: sealed (the
 * new secret sealed by gw_webhook_seal, same AAD) replaces the current one,
 * which keeps signing beside it for expires_in seconds (0: it stops now;
 * an earlier roll's previous secret stops now). *out is the endpoint JSON
 * with "previous_secret_expires" (UNIX seconds, or null).
 * @return 0, 1 (not the merchant's, or deleted), -1.
 */
int gw_store_webhook_endpoint_roll(PGconn *conn, const char *id, const char *merchant_id,
                                   const uint8_t *sealed, size_t sealed_len, const char *prefix,
                                   long long expires_in, json_t **out);

/**
 * Fan out up to max outbox rows not yet handed over (oldest first, rows
 * another instance holds skipped: FOR UPDATE SKIP LOCKED): one pending
 * delivery per (event, live endpoint of the payment's merchant whose filter
 * matches the mapped merchant event), then the outbox row is marked
 * delivered (handed over). Events with no merchant event name are marked too.
 * One statement, so atomic. @return rows handed over (>= 0), or -1.
 */
int gw_store_webhook_fanout(PGconn *conn, int max);

/* A delivery claimed for one attempt. */
struct gw_wh_job {
	long long delivery_id;
	int attempts;              /* attempts made before this one */
	long long age_s;           /* seconds since the retry window started */
	char endpoint_id[72];
	char merchant_id[72];
	char event_id[72];         /* the Event's id, "evt_..." */
	char event_type[40];
	char url[GW_WEBHOOK_URL_MAX + 1];
	uint8_t sealed[GW_WEBHOOK_SEALED_MAX];
	size_t sealed_len;
	/* The previous secret of a roll while it still signs (ADR 0129):
	 * sealed_prev_len 0 when none; it signs only before prev_expires
	 * (UNIX seconds), checked again when the attempt is signed. */
	uint8_t sealed_prev[GW_WEBHOOK_SEALED_MAX];
	size_t sealed_prev_len;
	long long prev_expires;
	char *body;                /* the event JSON (malloc'd; gw_store_webhook_jobs_free) */
};

/**
 * Claim up to max pending deliveries that are due (next_attempt_at <= now,
 * oldest first, skipping rows locked by another instance) for lease_s seconds
 * on behalf of instance owner (NULL: none recorded): their next_attempt_at
 * moves to now + lease_s, so a claim whose owner vanished is retried later,
 * never lost (at once when gw_store_webhook_orphans sees the owner dead).
 * @return jobs claimed (>= 0) or -1.
 */
int gw_store_webhook_claim(PGconn *conn, int lease_s, const char *owner, struct gw_wh_job *jobs,
                           int max);

/**
 * Make pending deliveries whose owner is dead (no heartbeat for
 * GW_INSTANCE_DEAD_S, or deregistered; ADR 0113) due now and ownerless.
 * A delivery is at-least-once: one its dead owner had already sent is sent
 * again (the receiver deduplicates by Strongroom-Event-Id).
 * @return deliveries reclaimed (>= 0) or -1.
 */
int gw_store_webhook_orphans(PGconn *conn);

/** Free the bodies of n jobs. */
void gw_store_webhook_jobs_free(struct gw_wh_job *jobs, int n);

/* The outcome of one attempt. */
struct gw_wh_attempt {
	const char *outcome;       /* success | http_error | network_error */
	long status_code;          /* 0: none */
	long long latency_ms;
	const char *response;      /* truncated body (<= 1 KiB, valid UTF-8) or NULL */
	const char *error;         /* short error text or NULL */
	const char *new_status;    /* pending | succeeded | failed */
	long long retry_in_ms;     /* with pending: delay to the next attempt */
};

/**
 * Record the attempt and move the delivery (attempts + 1, status, next
 * attempt) in one statement; the update applies only if the delivery still
 * has job->attempts attempts (a redelivery or another claim in between wins).
 * @return 0, 1 (delivery moved on meanwhile: attempt recorded only), -1.
 */
int gw_store_webhook_attempt(PGconn *conn, const struct gw_wh_job *job,
                             const struct gw_wh_attempt *a);

/**
 * The deliveries of the merchant's endpoint id (newest first, at most limit),
 * each {"id","object":"webhook_delivery","event","type","endpoint","status",
 * "attempts_count" (in the current retry window),"next_attempt","created","completed","attempts":[{"at"
 * (unix ms),"outcome","status_code","latency_ms","response","error"}]} into
 * *out. @return 0, 1 (no such endpoint of the merchant), -1.
 */
int gw_store_webhook_deliveries(PGconn *conn, const char *endpoint_id, const char *merchant_id,
                                int limit, json_t **out);

/**
 * Redeliver event event_id ("evt_...", gw_store_event_id_ok) of merchant_id: for every live endpoint of
 * the merchant whose filter matches (only endpoint_id when not NULL), reset
 * or create its delivery as pending now, with a fresh retry window (attempts
 * back to 0, so the backoff starts again from the base; the attempt history
 * stays). An attempt in flight meanwhile is recorded but no longer moves the
 * delivery (its claimed attempt count no longer matches).
 * @return the number of deliveries scheduled (>= 0), -2 when the event is not
 * the merchant's (or not a merchant event), -1 on error.
 */
int gw_store_webhook_redeliver(PGconn *conn, const char *event_id, const char *merchant_id,
                               const char *endpoint_id);

/** Number of pending deliveries (a gauge), or -1. */
long long gw_store_webhook_pending(PGconn *conn);

#endif
