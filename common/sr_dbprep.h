/*
 * sr_dbprep: PQexecParams through per-connection prepared statements (ADR 0084).
 *
 * PQexecParams sends each statement as an unnamed statement: PostgreSQL
 * parses, analyses and plans it on every call, which the payment path's
 * profile shows as ~40% of the database's CPU time. sr_db_params has the
 * same signature and result; the first call of a statement on a connection
 * prepares it (PQprepare, parameter types inferred exactly as PQexecParams
 * infers them), later calls run it with PQexecPrepared. Parameters stay out
 * of the SQL text as before (PCI DSS v4.0 6.2.4).
 *
 * A statement is recognised by its text (hash, then compared in full).
 * Use it for fixed statements only: every distinct text takes a slot.
 * The per-connection list lives in libpq's instance data (libpq-events):
 * PQreset (a reconnect) empties it, PQfinish frees it. At most 64
 * statements per connection are prepared; others run as PQexecParams.
 */
#ifndef SR_DBPREP_H
#define SR_DBPREP_H
#include <libpq-fe.h>

/**
 * Like PQexecParams(conn, sql, nparams, NULL, values, lengths, formats,
 * result_format) (types inferred), through a prepared statement.
 * @return the result (caller PQclear()s it); NULL only as PQexecParams.
 */
PGresult *sr_db_params(PGconn *conn, const char *sql, int nparams, const Oid *types,
                       const char *const *values, const int *lengths, const int *formats,
                       int result_format);

#endif
