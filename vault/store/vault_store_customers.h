/*
 * vault_store_customers: deleted customers and the destruction of their
 * saved cards (issue 19 item 2, ADR 0128; vault migration 0061). Statements
 * through sr_db_params (PCI DSS v4.0 6.2.4: parameters never in SQL text).
 * err receives a one-line reason (libpq's text, never a parameter value).
 */
#ifndef VAULT_STORE_CUSTOMERS_H
#define VAULT_STORE_CUSTOMERS_H
#include <stddef.h>
#include <libpq-fe.h>

/**
 * Whether customer (a reference as vault_customer_id_valid) of merchant_id
 * was deleted (vault_store_customer_delete). @return 1 deleted, 0 not, -1.
 */
int vault_store_customer_is_deleted(PGconn *db, const char *merchant_id, const char *customer,
                                    char *err, size_t errlen);

/**
 * Delete customer of merchant_id with its saved cards: first record the
 * customer in deleted_customers in a statement of its own (committed before
 * any card is touched, so POST /v1/cards refuses the customer from then on),
 * then delete every card_ token row of the customer, and with the rows the
 * only copies of the PANs' ciphertext (PCI DSS v4.0 3.2.1). Idempotent: a
 * retry after a failure half-way finishes the job.
 * @return the number of cards deleted (0 or more), or -1 (some may remain;
 * the customer stays recorded, so a retry deletes them).
 */
long long vault_store_customer_delete(PGconn *db, const char *merchant_id, const char *customer,
                                      char *err, size_t errlen);

#endif
