/*
 * pspsim_webhooks: the simulated PSP sends webhooks (issue 5). Test code.
 *
 * A generic sender: each event is a body POSTed to a URL with one signature
 * header whose value a signer computes at send time (so a replay carries a
 * fresh timestamp, as the PSPs' own retries do). Deliveries run on one
 * sender thread after an optional delay; every delivery's HTTP status is
 * recorded; an event can be replayed N times on request (synchronously).
 * libcurl, TLS verified against the configured CA; the URL's host name is
 * verified while connecting to the configured address (CURLOPT_RESOLVE).
 *
 * Stripe: events {"id":"evt_...","object":"event","type","created",
 * "api_version","livemode":false,"data":{"object":...}} signed
 * "Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>".
 *
 * Adyen: standard notifications {"live":"false","notificationItems":
 * [{"NotificationRequestItem":{...}}]}, one item per delivery, signed inside
 * the item (additionalData.hmacSignature = base64 HMAC-SHA256 under the
 * hex-decoded key of "pspReference:originalReference:merchantAccountCode:
 * merchantReference:value:currency:eventCode:success"); no signature header.
 */
#ifndef PSPSIM_WEBHOOKS_H
#define PSPSIM_WEBHOOKS_H
#include <stddef.h>
#include <jansson.h>

/** Compute the signature header value for body into value[cap]. @return 0 or -1. */
typedef int (*psim_wh_signer)(const char *body, size_t len, char *value, size_t cap, void *ctx);

/**
 * Start the sender: default url (e.g. "https://gateway.strongroom.test:8443"
 * + path given per event), addr to connect to (NULL: DNS), ca_file (PEM).
 * @return 0, or -1 with err.
 */
int psim_wh_init(const char *base_url, const char *addr, const char *ca_file, char *err,
                 size_t errlen);

/** Whether the sender runs (webhooks configured). */
int psim_wh_enabled(void);

/** Stop the sender thread and free everything (pending deliveries are dropped). */
void psim_wh_stop(void);

/**
 * Queue one event for delivery after delay_ms: POST base_url + path with body
 * (copied) and "header_name: signer(...)" (signer NULL: no signature header,
 * the body is signed inside; header_name may then be NULL). event_id and type
 * are recorded for the listing and replays. @return 0 or -1.
 */
int psim_wh_queue(const char *event_id, const char *type, const char *path, const char *body,
                  const char *header_name, psim_wh_signer signer, void *ctx, long long delay_ms);

/**
 * Deliver event_id again `times` times now (each freshly signed), in order.
 * @return a new JSON array of the HTTP statuses (0: no answer), or NULL when
 * no such event.
 */
json_t *psim_wh_replay(const char *event_id, int times);

/** [{"id","type","path","deliveries":[status,...]}] oldest first. New reference. */
json_t *psim_wh_list(void);

/** Read the Stripe endpoint secret (file, mode 0600). @return 0 or -1 with err. */
int psim_wh_stripe_init(const char *secret_file, char *err, size_t errlen);

/**
 * Send a Stripe event of type with data.object = object (reference stolen)
 * to /v1/psp_webhooks/stripe after delay_ms. No-op (0) when webhooks are not
 * configured. id_out[cap] receives the event id (may be NULL). @return 0 or -1.
 */
int psim_wh_stripe_event(const char *type, json_t *object, long long delay_ms, char *id_out,
                         size_t cap);

/**
 * Read the Adyen notification HMAC key (hex, as Adyen's Customer Area shows
 * it; file, mode 0600), kept decoded in guarded memory. @return 0 or -1 with err.
 */
int psim_wh_adyen_init(const char *hex_key_file, char *err, size_t errlen);

/**
 * Set item's additionalData.hmacSignature: Adyen's HMAC of the item under
 * the decoded key[klen] (a merchant account's own key, issue 15).
 * @return 0, or -1 when item is not an object or key is empty.
 */
int psim_wh_adyen_sign(json_t *item, const unsigned char *key, size_t klen);

/**
 * Send one Adyen notification item (reference stolen; its
 * additionalData.hmacSignature is set here) to /v1/psp_webhooks/adyen after
 * delay_ms. Adyen's items have no id: it is listed and replayed as
 * "<eventCode>:<pspReference>:<success>", the id the vault's connector derives
 * (vault/connectors/adyen/adyen.c). No-op (0) when webhooks or the Adyen key are not
 * configured. id_out[cap] receives the id (may be NULL). @return 0 or -1.
 */
int psim_wh_adyen_notification(json_t *item, long long delay_ms, char *id_out, size_t cap);

#endif
