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

#endif
