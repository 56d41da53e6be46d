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
 * and reply with its status and JSON (saved cards with their metadata and
 * without the vault's internal "merchant" field, gw_cards_reply). 502 api_error vault_unavailable when
 * the vault cannot be reached or answers 5xx; 502 too (and an error log)
 * should its answer ever contain a card-number-like value.
 */
void gw_cards_relay(struct sr_http_request *req, const char *merchant, const char *method,
                    const char *path, json_t *body);

/**
 * The vault's answer to method path for merchant: 0 with *status (200..499)
 * and *resp (a new reference, checked to hold nothing PAN-like), or -1
 * after replying 502 vault_unavailable (as gw_cards_relay).
 */
int gw_cards_vault_call(struct sr_http_request *req, const char *merchant, const char *method,
                        const char *path, json_t *body, long *status, json_t **resp);

struct gw_error;

/**
 * Merge metadata parameter v (borrowed, as gw_metadata_apply with update
 * true) into saved card card_id's metadata of merchant, under the row's
 * lock; customer is the card's customer reference (ADR 0128).
 * @return 0, or -1 with *err filled (400 as gw_metadata_parse, or 500).
 */
int gw_cards_metadata_merge(struct sr_http_request *req, const char *merchant,
                            const char *card_id, const char *customer, const json_t *v,
                            struct gw_error *err);

/**
 * Reply status and resp (stolen), a vault answer of gw_cards_vault_call,
 * each saved card in it (a card, or a list's cards) with its "metadata"
 * (the gateway's card_metadata, {} when none; ADR 0128). 500 when the
 * metadata cannot be read.
 */
void gw_cards_reply(struct sr_http_request *req, const char *merchant, long status, json_t *resp);

/**
 * gw_cards_relay, and @return the status replied; *out (when out is not
 * NULL) a new reference to the vault's answer when it was relayed, else NULL.
 */
unsigned gw_cards_relay_status(struct sr_http_request *req, const char *merchant,
                               const char *method, const char *path, json_t *body,
                               json_t **out);

/**
 * Check a customer reference of the card routes (ADR 0128): a reference
 * shaped like a customer object's id (gw_customer_id_ok) must be one of
 * merchant's customers, else 404 resource_missing naming "customer" is
 * replied (another merchant's customer is answered like a missing one);
 * any other reference is a label of the saved cards alone, as before
 * customers were objects. @return 0 go on, -1 replied.
 */
int gw_cards_customer_check(struct sr_http_request *req, const char *merchant, const char *ref);

#endif
