/*
 * sr_db: a fixed pool of libpq connections shared by a daemon's threads.
 * Parameterized SQL only (PQexecParams); never build SQL from input.
 */
#ifndef SR_DB_H
#define SR_DB_H
#include <stddef.h>
#include <libpq-fe.h>

struct sr_db_pool;

/**
 * Open size connections with PQconnectdbParams to host/port/dbname/user;
 * the password is read from password_file (sr_secret_read_file) and wiped.
 * password_file may be NULL (trust/peer auth).
 * @return pool, or NULL with err filled (libpq's message, no password).
 */
struct sr_db_pool *sr_db_pool_new(const char *host, const char *port, const char *dbname,
                                  const char *user, const char *password_file, size_t size,
                                  char *err, size_t errlen);

/** Borrow a connection (blocks until one is free); reconnects a broken one. */
PGconn *sr_db_acquire(struct sr_db_pool *pool);

/**
 * Borrow a connection only if one is free now (for probes and metrics
 * collectors, which must not queue behind requests); NULL otherwise.
 * Reconnects a broken one like sr_db_acquire.
 */
PGconn *sr_db_try_acquire(struct sr_db_pool *pool);

/** Give a connection back. If a transaction was left open it is rolled back. */
void sr_db_release(struct sr_db_pool *pool, PGconn *conn);

void sr_db_pool_free(struct sr_db_pool *pool);

/**
 * Readiness probe: borrow a connection without waiting (-1 when all are
 * busy, which means the pool is in use, hence reported as reachable: 0),
 * run "SELECT 1"; on failure reset the connection once (the server may have
 * restarted) and retry. @return 0 reachable, -1 not.
 */
int sr_db_ping(struct sr_db_pool *pool);

/** Pool usage snapshot: connections in total and borrowed. */
void sr_db_pool_stats(struct sr_db_pool *pool, size_t *size, size_t *busy);

/** Run "BEGIN"/"COMMIT"/"ROLLBACK" (or any parameterless command). 0 or -1. */
int sr_db_exec(PGconn *conn, const char *sql);

#endif
