/*
 * vault_store_route: statements for routing (issue 5): a merchant's own
 * routing (merchant_routing) and the connector, amount and currency of a
 * recorded PSP payment (so that capture, cancel, refund and retrieve go to
 * the connector that authorized it). PQexecParams only.
 */
#ifndef VAULT_STORE_ROUTE_H
#define VAULT_STORE_ROUTE_H
#include <stddef.h>
#include <libpq-fe.h>

#include "vault/connectors/vault_route.h"

/**
 * merchant_id's routing into *m ("" for unset fields).
 * @return 1 found, 0 none (m zeroed), -1 database error (err filled).
 */
int vault_store_merchant_routing_get(PGconn *db, const char *merchant_id,
                                     struct vault_merchant_routing *m, char *err, size_t errlen);

/**
 * Replace merchant_id's routing (upsert); "" or NULL fields are stored as
 * NULL (unset). Values are validated by the caller.
 * @return 1 stored, 0 no such merchant, -1 database error (err filled).
 */
int vault_store_merchant_routing_put(PGconn *db, const char *merchant_id,
                                     const struct vault_merchant_routing *m, char *err, size_t errlen);

/**
 * The authorization of merchant_id whose PSP payment is psp_reference
 * (invariant 6, docs/invariants.md: another merchant's is "none"): its connector
 * (connector[32]), amount (minor units) and currency (currency[4]).
 * @return 1 found, 0 none, -1 database error (err filled).
 */
int vault_store_psp_payment_get(PGconn *db, const char *merchant_id, const char *psp_reference,
                                char connector[32], long long *amount, char currency[4],
                                char *err, size_t errlen);

/**
 * The merchant whose authorization at connector the PSP answered with
 * psp_reference, whoever asks (the PSP webhook path, before anything in the
 * delivery is trusted: issue 15, ADR 0107). Index: migration vault/0045.
 * merchant_out capacity >= 72.
 * @return 1 found (merchant_out set); 0 none; 2 more than one merchant has
 *         it (merchant_out ""); -1 database error (err filled).
 */
int vault_store_psp_payment_merchant(PGconn *db, const char *connector, const char *psp_reference,
                                     char *merchant_out, size_t cap, char *err, size_t errlen);

#endif
