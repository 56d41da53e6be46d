/*
 * vault_store_stored_cred: the network transaction id kept with a saved
 * card (issue 19 item 7, ADR 0133; table card_network_tx). The id is the
 * scheme's reference of the card's first customer-initiated payment, sent
 * back on its merchant-initiated payments (Visa/Mastercard stored
 * credential framework). Never logged, never sent to the gateway.
 */
#ifndef VAULT_STORE_STORED_CRED_H
#define VAULT_STORE_STORED_CRED_H
#include <stddef.h>
#include <libpq-fe.h>

/**
 * The network transaction id kept for card_id into out[cap] (cap >= 64).
 * @return 1 found, 0 none kept, -1 database error (err filled, no value).
 */
int vault_store_network_tx_get(PGconn *db, const char *card_id, char *out, size_t cap,
                               char *err, size_t errlen);

/**
 * Keep (insert or replace) network_tx_id (checked by the caller with
 * vault_network_tx_id_ok) for card_id, a card_ token, as returned by
 * connector. Runs in the caller's transaction when one is open.
 * @return 0, or -1 (err filled, never the value).
 */
int vault_store_network_tx_put(PGconn *db, const char *card_id, const char *network_tx_id,
                               const char *connector, char *err, size_t errlen);

#endif
