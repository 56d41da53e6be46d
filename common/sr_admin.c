/*
 * sr_admin: /healthz, /readyz, /metrics for the admin listener (see
 * sr_admin.h, ADR 0051).
 */
#include "common/sr_admin.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

static void handle_healthz(struct sr_http_request *req)
{
	sr_http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

double sr_admin_cert_days_left(const char *pem_file)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_x509_crt_t crt = NULL;
	double days = -1e9;
	time_t exp;

	if (pem_file == NULL || gnutls_load_file(pem_file, &d) < 0)
		goto out;
	if (gnutls_x509_crt_init(&crt) < 0 || gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0)
		goto out;
	exp = gnutls_x509_crt_get_expiration_time(crt);
	if (exp == (time_t)-1)
		goto out;
	days = difftime(exp, time(NULL)) / 86400.0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	gnutls_free(d.data);
	return days;
}

static void handle_readyz(struct sr_http_request *req)
{
	struct sr_admin *a = req->app;
	json_t *checks = json_object();
	json_t *certs = json_object();
	char why[160];
	int ready = 1;
	size_t i;

	if (checks == NULL || certs == NULL) {
		json_decref(checks);
		json_decref(certs);
		sr_http_reply_error(req, 500, "api_error", "internal_error", "Internal error.", NULL);
		return;
	}
	if (a->db != NULL) {
		int ok = sr_db_ping(a->db) == 0;

		json_object_set_new(checks, "database", json_string(ok ? "ok" : "unreachable"));
		ready &= ok;
	}
	for (i = 0; i < a->n_checks; i++) {
		why[0] = '\0';
		if (a->checks[i].fn(a->checks[i].arg, why, sizeof why) == 0) {
			json_object_set_new(checks, a->checks[i].name, json_string("ok"));
		} else {
			json_object_set_new(checks, a->checks[i].name,
			                    json_string(why[0] != '\0' ? why : "failed"));
			ready = 0;
		}
	}
	/* Certificates: expiring within cert_min_days makes the daemon
	 * unready, so an orchestrator alerts before clients fail. */
	for (i = 0; i < SR_ADMIN_MAX_CERTS && a->cert_files[i] != NULL; i++) {
		double days = sr_admin_cert_days_left(a->cert_files[i]);
		int ok = days > (double)a->cert_min_days;

		json_object_set_new(certs, a->cert_files[i],
		                    json_pack("{s:s, s:i}", "status",
		                              days <= -1e8 ? "unreadable" : ok ? "ok" : "expiring",
		                              "days_left", days <= -1e8 ? -1 : (int)days));
		ready &= ok;
	}
	json_object_set_new(checks, "certificates", certs);
	if (!ready)
		sr_log(SR_LOG_WARN, req->request_id, "readyz.unready", NULL);
	sr_http_reply_json(req, ready ? 200 : 503,
	                   json_pack("{s:s, s:o}", "status", ready ? "ready" : "unready",
	                             "checks", checks));
}

static void handle_metrics(struct sr_http_request *req)
{
	size_t len = 0;
	char *text = sr_metrics_render(&len);

	if (text == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "Internal error.", NULL);
		return;
	}
	sr_http_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

const struct sr_route SR_ADMIN_ROUTES[] = {
	{ .method = "GET", .pattern = "/healthz", .handler = handle_healthz },
	{ .method = "GET", .pattern = "/readyz", .handler = handle_readyz },
	{ .method = "GET", .pattern = "/metrics", .handler = handle_metrics },
};
const size_t SR_ADMIN_N_ROUTES = sizeof SR_ADMIN_ROUTES / sizeof SR_ADMIN_ROUTES[0];

struct pool_watch {
	struct sr_db_pool *db;
	const char *name;
};

static void collect_pool(void *arg)
{
	static const char *const labels[] = { "pool", "state", NULL };
	struct pool_watch *w = arg;
	struct sr_metric *g = sr_metrics_gauge("strongroom_db_pool_connections",
	                                       "Database pool connections by state.", labels);
	size_t size = 0, busy = 0;

	sr_db_pool_stats(w->db, &size, &busy);
	sr_metrics_set(g, (double)busy, w->name, "busy");
	sr_metrics_set(g, (double)(size - busy), w->name, "idle");
}

void sr_admin_watch_db_pool(struct sr_db_pool *db, const char *pool_name)
{
	struct pool_watch *w = NULL;

	if (db == NULL)
		return;
	/* Lives as long as the process (collectors are never removed). */
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return;
	w->db = db;
	w->name = pool_name;
	sr_metrics_add_collector(collect_pool, w);
}
