/*
 * vault_store_ops: statements for operations on existing PSP payments
 * (issue 4: capture, cancel, refund, retrieve). PQexecParams only.
 */
#ifndef VAULT_STORE_OPS_H
#define VAULT_STORE_OPS_H
#include <stddef.h>
#include <libpq-fe.h>

/**
 * Whether psp_reference is the PSP payment of one of merchant_id's recorded
 * authorizations (BRIEF invariant 6 extended to payments: a merchant acts
 * only on its own). @return 1 yes, 0 no, -1 database error (err filled).
 */
int vault_store_psp_reference_owned(PGconn *db, const char *merchant_id, const char *psp_reference,
                                    char *err, size_t errlen);

#endif
