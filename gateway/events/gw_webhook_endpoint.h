/*
 * gw_webhook_endpoint: creating a merchant's webhook endpoint (issue 5),
 * shared by POST /v1/webhook_endpoints and `gatewayctl webhooks add`.
 */
#ifndef GW_WEBHOOK_ENDPOINT_H
#define GW_WEBHOOK_ENDPOINT_H
#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <jansson.h>

#include "gateway/events/gw_webhook.h"

/**
 * Validate url (gw_webhook_url_check) and events (a JSON array of 1..16
 * distinct merchant event names or "*"), generate the endpoint id ("we_" +
 * 128 random bits) and its signing secret ("whsec_" + 256 random bits from
 * libsodium's CSPRNG), seal the secret under key (ADR 0100) and insert.
 * On success *out is the endpoint JSON with "secret" added: the only time the
 * secret leaves the gateway (the caller shows it once). The plaintext secret
 * is wiped here.
 * @return 0; 1 invalid input (*why: a fixed message that never echoes the
 * input, *param: "url" or "enabled_events"); -1 internal error.
 */
int gw_webhook_endpoint_create(PGconn *conn, const uint8_t key[GW_WEBHOOK_KEY_BYTES],
                               const char *merchant_id, const char *url, const json_t *events,
                               bool allow_private, json_t **out, const char **why,
                               const char **param);

/** The longest overlap of a secret roll, in seconds (24 hours, as Stripe's). */
#define GW_WEBHOOK_ROLL_MAX_S 86400

/**
 * Update the merchant's endpoint id from body (a JSON object whose keys the
 * caller checked: url, enabled_events, disabled, description): url and
 * enabled_events checked exactly as on creation (gw_webhook_url_check,
 * 1..16 distinct filters), disabled a boolean (status "disabled" /
 * "enabled": a disabled endpoint is sent nothing, its pending deliveries
 * wait), description a string of at most 500 characters or null (cleared).
 * As Stripe's POST /v1/webhook_endpoints/{id}. *out: the endpoint JSON.
 * @return 0; 1 invalid input (*why a fixed message that never echoes the
 * input, *param the parameter); 2 not found (another merchant's, deleted);
 * -1 internal error.
 */
int gw_webhook_endpoint_update(PGconn *conn, const char *merchant_id, const char *id,
                               const json_t *body, bool allow_private, json_t **out,
                               const char **why, const char **param);

/**
 * Roll endpoint id's signing secret: a new "whsec_" + 256 CSPRNG bits,
 * sealed under key (ADR 0100); the current secret keeps signing beside it
 * (a second v1= in Strongroom-Signature) for expires_in seconds
 * (0..GW_WEBHOOK_ROLL_MAX_S; 0: it stops now), then only the new one signs
 * (ADR 0129). *out: the endpoint JSON with "secret" (shown this once) and
 * "previous_secret_expires". The plaintext is wiped here.
 * @return 0, 1 not found (another merchant's, deleted), -1.
 */
int gw_webhook_endpoint_roll(PGconn *conn, const uint8_t key[GW_WEBHOOK_KEY_BYTES],
                             const char *merchant_id, const char *id, long long expires_in,
                             json_t **out);

#endif
