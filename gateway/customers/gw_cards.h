/*
 * gw_cards: the merchant API of saved cards (issue 3), relayed to the
 * vault's internal API over mutual TLS. The gateway keeps no copy: the
 * vault owns card_ tokens; the gateway authenticates the merchant (sk_),
 * validates shapes, and passes the vault's metadata-only answers through
 * after checking them for anything that looks like a PAN (invariant 1, docs/invariants.md).
 */
#ifndef GW_CARDS_H
#define GW_CARDS_H
#include <stdbool.h>
#include <jansson.h>

struct sr_http_request;

/** A customer reference: 1..64 characters of [0-9A-Za-z_-]. */
bool gw_customer_ok(const char *s);

/** A saved card id: "card_" + 8..64 characters of [0-9A-Za-z]. */
bool gw_card_id_ok(const char *s);

/**
 * Send method path (body borrowed, may be NULL) to the vault for merchant
 * and reply with its status and JSON, less the vault's internal "merchant"
 * field of a card object and of each card of a list. 502 api_error vault_unavailable when
 * the vault cannot be reached or answers 5xx; 502 too (and an error log)
 * should its answer ever contain a card-number-like value.
 */
void gw_cards_relay(struct sr_http_request *req, const char *merchant, const char *method,
                    const char *path, json_t *body);

#endif
