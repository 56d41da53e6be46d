/*
 * gw_store_customers: the customers table (issue 19 item 2, gateway
 * migration 0053, ADR 0128). PQexecParams / sr_db_params only (PCI DSS
 * v4.0 6.2.4). Every statement is scoped to the merchant: another
 * merchant's customer is "not found". Return convention as gw_store.h:
 * 0 success, 1 not found, -1 database error (logged by SQLSTATE only).
 */
#ifndef GW_STORE_CUSTOMERS_H
#define GW_STORE_CUSTOMERS_H
#include <libpq-fe.h>
#include <jansson.h>

#include "gateway/customers/gw_customer.h"
#include "gateway/store/gw_store_lists.h"

/** Insert c for merchant_id; fills c->created. */
int gw_store_customer_insert(PGconn *conn, const char *merchant_id, struct gw_customer *c);

/** Load customer id of merchant_id into out; for_update locks the row. */
int gw_store_customer_get(PGconn *conn, const char *id, const char *merchant_id, int for_update,
                          struct gw_customer *out);

/** Write c's email, name, description, metadata and default_source. */
int gw_store_customer_update(PGconn *conn, const char *merchant_id, const struct gw_customer *c);

/** Delete customer id of merchant_id and its cards' metadata, in one
 * statement (after the vault deleted its cards). */
int gw_store_customer_delete(PGconn *conn, const char *id, const char *merchant_id);

/**
 * Make card_id the customer's default_source when it has none (Stripe: a
 * customer's first card becomes its default). 0 set or already had one, -1.
 */
int gw_store_customer_default_init(PGconn *conn, const char *id, const char *merchant_id,
                                   const char *card_id);

/** Unset default_source wherever it is card_id (the card was deleted). 0 or -1. */
int gw_store_customer_default_clear(PGconn *conn, const char *merchant_id, const char *card_id);

/**
 * merchant_id's customers, newest first, one page (gw_store_page_exec), of
 * email only when not NULL (exact match, as Stripe's filter).
 * @return a new JSON array of customer objects (gw_customer_to_json), or NULL
 * on error or when the cursor is not one of this merchant's customers
 * (*cursor_missing = 1).
 */
json_t *gw_store_customer_page(PGconn *conn, const char *merchant_id, const char *email,
                               const struct gw_page *p, int *has_more, int *cursor_missing);

/* ---- metadata of saved cards (table card_metadata) ---- */

/**
 * card_id's metadata of merchant_id into md (capacity GW_METADATA_JSON_MAX
 * + 1; "" when none); for_update locks the row. @return 0 found, 1 none, -1.
 */
int gw_store_card_metadata_get(PGconn *conn, const char *merchant_id, const char *card_id,
                               int for_update, char *md);

/**
 * Set card_id's metadata (md compact JSON object text, "" deletes the row);
 * customer is the card's customer reference. @return 0 or -1.
 */
int gw_store_card_metadata_put(PGconn *conn, const char *merchant_id, const char *card_id,
                               const char *customer, const char *md);

/** Delete card_id's metadata (the card was deleted). @return 0 or -1. */
int gw_store_card_metadata_delete(PGconn *conn, const char *merchant_id, const char *card_id);

/**
 * The metadata of cards (a JSON array of card objects with "id", borrowed)
 * of merchant_id: a new JSON object card id -> metadata object (cards
 * without metadata left out), or NULL on error.
 */
json_t *gw_store_card_metadata_map(PGconn *conn, const char *merchant_id, const json_t *cards);

#endif
