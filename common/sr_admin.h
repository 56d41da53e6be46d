/*
 * sr_admin: the operators' endpoints every daemon serves on its admin
 * listener (ADR 0051): loopback by default, TLS with the daemon's server
 * certificate, no client authentication, nothing secret in any answer.
 *
 *   GET /healthz  200 {"status":"ok"} while the process serves HTTP
 *   GET /readyz   200 {"status":"ready","checks":{...}} or 503 "unready":
 *                 database reachable (a fresh "SELECT 1", reconnecting a
 *                 broken connection), the daemon's own checks (the vault's
 *                 HSM session), every configured certificate valid for more
 *                 than cert_min_days days
 *   GET /metrics  sr_metrics_render(), text/plain; version=0.0.4
 *
 * Route table: SR_ADMIN_ROUTES, with sr_http_config.app = struct sr_admin *.
 */
#ifndef SR_ADMIN_H
#define SR_ADMIN_H
#include <stddef.h>

#include "common/sr_http.h"

struct sr_db_pool;

#define SR_ADMIN_MAX_CHECKS 4
#define SR_ADMIN_MAX_CERTS 8

/** A readiness check: 0 when ready; otherwise -1 and a short reason
 *  (no secret, no input) in why. */
typedef int (*sr_admin_check_fn)(void *arg, char *why, size_t whylen);

struct sr_admin {
	struct sr_db_pool *db;                       /* NULL: no database check */
	const char *cert_files[SR_ADMIN_MAX_CERTS];  /* PEM files; NULL-terminated if fewer */
	long long cert_min_days;                     /* readyz fails below this many days */
	struct {
		const char *name;                    /* e.g. "hsm" */
		sr_admin_check_fn fn;
		void *arg;
	} checks[SR_ADMIN_MAX_CHECKS];
	size_t n_checks;
};

extern const struct sr_route SR_ADMIN_ROUTES[];
extern const size_t SR_ADMIN_N_ROUTES;

/**
 * Days until the first certificate in the PEM file expires (negative when
 * expired); -1e9 when unreadable. Used by /readyz and tests.
 */
double sr_admin_cert_days_left(const char *pem_file);

/**
 * Register the database pool gauges (strongroom_db_pool_connections{pool,
 * state="busy"|"idle"}) refreshed at each render. pool_name is kept.
 */
void sr_admin_watch_db_pool(struct sr_db_pool *db, const char *pool_name);

#endif
