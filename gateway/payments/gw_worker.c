/*
 * gw_worker: lifecycle background work (see gw_worker.h).
 */
#include "gateway/payments/gw_worker.h"
#include "gateway/payments/gw_idempotency.h"
#include "gateway/gw_app.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/audit/gw_audit_spool.h"
#include "gateway/payments/gw_lifecycle.h"
#include "gateway/store/gw_store_lifecycle.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 50
#define IDEM_RETENTION_S (24LL * 3600) /* Stripe: keys are kept at least 24 hours */

struct gw_worker {
	struct gw_app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

/* Audit a state change the worker made (actor "worker"; PCI DSS v4.0 10.2.2). */
static void audit_change(struct gw_app *app, const struct gw_due *d, const char *action,
                         const struct gw_payment *p)
{
	struct gw_audit_record rec;
	PGconn *conn = NULL;

	memset(&rec, 0, sizeof rec);
	rec.merchant_id = d->merchant_id;
	rec.role = "worker";
	rec.action = action;
	rec.target = d->id;
	rec.provider = p != NULL ? p->connector : NULL;
	rec.result = "success";
	rec.reason = p != NULL ? gw_status_str(p->status) : NULL;
	conn = sr_db_acquire(app->db);
	if (gw_audit_append(conn, &rec) != 0)
		sr_log(SR_LOG_ERROR, NULL, "audit.append_failed", "{s:s}", "action", action);
	sr_db_release(app->db, conn);
}

/* Reconcile each due payment; audit those whose status changed. */
static void reconcile_all(struct gw_app *app, const struct gw_due *due, int n, enum gw_status was,
                          long long tds_expiry)
{
	struct gw_payment p;
	int i;

	for (i = 0; i < n; i++)
		if (gw_lifecycle_reconcile(app, NULL, due[i].merchant_id, due[i].id, tds_expiry, &p) ==
		    GW_LC_OK && p.status != was)
			audit_change(app, &due[i], "worker reconcile", &p);
}

static int scan(struct gw_app *app, enum gw_status st, long long age, struct gw_due *due)
{
	PGconn *conn = sr_db_acquire(app->db);
	int n = gw_store_payments_due(conn, st, age, due, BATCH);

	sr_db_release(app->db, conn);
	return n;
}

void gw_worker_round(struct gw_app *app, int sweep)
{
	struct gw_due due[BATCH];
	struct gw_error err;
	struct gw_payment pay;
	long long void_after = sr_config_int(app->cfg, "auto_void_after_s", 7LL * 86400);
	long long tds_expiry = sr_config_int(app->cfg, "three_ds_expiry_s", 900);
	long long lease = sr_config_int(app->cfg, "idempotency_lease_s", GW_IDEM_LEASE_S);
	PGconn *conn = NULL;
	long long swept;
	int n, i;

	/* Keys a request gave up on while the database was away. */
	gw_idem_retry_releases(app);
	/* Auto-void: uncaptured authorizations past the window. */
	n = scan(app, GW_ST_AUTHORIZED, void_after, due);
	for (i = 0; i < n; i++)
		if (gw_lifecycle_cancel(app, NULL, due[i].merchant_id, due[i].id, "expired", &pay, &err) ==
		    GW_LC_OK) {
			sr_log(SR_LOG_INFO, NULL, "worker.auto_voided", "{s:s}", "payment", due[i].id);
			audit_change(app, &due[i], "worker auto-void", &pay);
		}
	/* Outcomes not final yet. */
	n = scan(app, GW_ST_UNKNOWN, 1, due);
	reconcile_all(app, due, n, GW_ST_UNKNOWN, tds_expiry);
	n = scan(app, GW_ST_PROCESSING, lease, due);
	reconcile_all(app, due, n, GW_ST_PROCESSING, tds_expiry);
	n = scan(app, GW_ST_REQUIRES_ACTION, 0, due);
	reconcile_all(app, due, n, GW_ST_REQUIRES_ACTION, tds_expiry);
	/* Audit records spooled during a database outage (issue 16). */
	conn = sr_db_acquire(app->db);
	(void)gw_audit_spool_drain(conn);
	sr_db_release(app->db, conn);
	/* Refunds whose answer was lost. */
	conn = sr_db_acquire(app->db);
	n = gw_store_refunds_due(conn, 1, due, BATCH);
	sr_db_release(app->db, conn);
	for (i = 0; i < n; i++)
		gw_lifecycle_refund_resolve(app, NULL, due[i].merchant_id, due[i].id);
	if (sweep) {
		conn = sr_db_acquire(app->db);
		swept = gw_store_idem_sweep(conn, IDEM_RETENTION_S);
		sr_db_release(app->db, conn);
		if (swept > 0)
			sr_log(SR_LOG_INFO, NULL, "worker.idempotency_swept", "{s:I}", "keys", (json_int_t)swept);
	}
}

static void *run(void *arg)
{
	struct gw_worker *w = arg;
	long long interval = sr_config_int(w->app->cfg, "worker_interval_ms", 1000);
	struct timespec until;
	time_t last_sweep = 0;
	int stop = 0;

	while (!stop) {
		time_t now = time(NULL);
		int sweep = now - last_sweep >= 60;

		if (sweep)
			last_sweep = now;
		gw_worker_round(w->app, sweep);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)(interval / 1000);
		until.tv_nsec += (long)(interval % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->lock);
		while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
			;
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

struct gw_worker *gw_worker_start(struct gw_app *app)
{
	struct gw_worker *w = calloc(1, sizeof *w);

	if (w == NULL)
		return NULL;
	w->app = app;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		return NULL;
	}
	return w;
}

void gw_worker_stop(struct gw_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
