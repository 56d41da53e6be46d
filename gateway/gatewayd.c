/*
 * gatewayd: the merchant payment API (application zone). Handles tokens only,
 * never a PAN (BRIEF invariant 1): links common/, libcurl and libpq only — no
 * PKCS#11, mbedTLS or vault/ code.
 *
 *   gatewayd --config FILE [--check-config]
 *   gatewayd --help
 */
#include "gateway/gw_app.h"
#include "gateway/gw_config.h"
#include "gateway/gw_handlers.h"
#include "gateway/gw_vault_client.h"
#include "gateway/gw_worker.h"
#include "gateway/gw_audit.h"
#include "gateway/gw_ratelimit.h"
#include "gateway/gw_route.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

/* Every handler runs inside gw_route_run (issue 4): the permission its route
 * needs (checked against the key's role), the rate limit, the audit record. */
GW_ROUTE(gw_handle_payments_create, GW_PERM_PAYMENTS, "POST /v1/payments")
GW_ROUTE(gw_handle_payments_get, GW_PERM_READ, "GET /v1/payments/{}")
GW_ROUTE(gw_handle_payments_list, GW_PERM_READ, "GET /v1/payments")
GW_ROUTE(gw_handle_payments_capture, GW_PERM_PAYMENTS, "POST /v1/payments/{}/capture")
GW_ROUTE(gw_handle_payments_cancel, GW_PERM_PAYMENTS, "POST /v1/payments/{}/cancel")
GW_ROUTE(gw_handle_refunds_create, GW_PERM_REFUNDS, "POST /v1/payments/{}/refunds")
GW_ROUTE(gw_handle_payment_events_list, GW_PERM_READ, "GET /v1/payments/{}/events")
GW_ROUTE(gw_handle_refunds_get, GW_PERM_READ, "GET /v1/refunds/{}")

/* The API at a glance (STYLE.md: one routing table of designated initializers). */
static const struct sr_route ROUTES[] = {
	{ .method = "POST", .pattern = "/v1/payments", .handler = gw_handle_payments_create_route },
	{ .method = "GET", .pattern = "/v1/payments/{}", .handler = gw_handle_payments_get_route },
	/* issue 4: lifecycle */
	{ .method = "GET", .pattern = "/v1/payments", .handler = gw_handle_payments_list_route },
	{ .method = "POST", .pattern = "/v1/payments/{}/capture", .handler = gw_handle_payments_capture_route },
	{ .method = "POST", .pattern = "/v1/payments/{}/cancel", .handler = gw_handle_payments_cancel_route },
	{ .method = "POST", .pattern = "/v1/payments/{}/refunds", .handler = gw_handle_refunds_create_route },
	{ .method = "GET", .pattern = "/v1/payments/{}/events", .handler = gw_handle_payment_events_list_route },
	{ .method = "GET", .pattern = "/v1/refunds/{}", .handler = gw_handle_refunds_get_route },
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: gatewayd --config FILE [--check-config]\n"
	        "       gatewayd --help\n"
	        "\n"
	        "Strongroom merchant payment API (HTTPS). Runs in the foreground and logs\n"
	        "JSON lines to stderr; SIGTERM or SIGINT stops it cleanly.\n"
	        "\n"
	        "  --config FILE    JSON config: listen, port (8443), tls_cert, tls_key,\n"
	        "                   db_host, db_port, db_name, db_user, db_password_file,\n"
	        "                   vault_url, vault_addr, vault_ca, vault_client_cert,\n"
	        "                   vault_client_key, threads (4); issue 4: workers (1),\n"
	        "                   worker_interval_ms (1000), auto_void_after_s (604800),\n"
	        "                   three_ds_expiry_s (900), idempotency_lease_s (60),\n"
	        "                   rate_limit_per_s (2000; 0: off), rate_limit_burst (4000)\n"
	        "  --check-config   validate the config and the files it names, then exit\n"
	        "  --help           this text\n");
}

int main(int argc, char **argv)
{
	static const struct option LONGOPTS[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	int check_only = 0;
	json_t *cfg = NULL;
	struct gw_app app;
	struct sr_http_server *srv = NULL;
	struct gw_worker *worker = NULL;
	struct sr_http_config hcfg;
	sigset_t sigs;
	char err[512];
	int curl_inited = 0;
	int threads;
	int sig = 0;
	int opt;
	int rc = 1;

	memset(&app, 0, sizeof app);
	sr_log_init("gatewayd");
	while ((opt = getopt_long(argc, argv, "c:kh", LONGOPTS, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	cfg = gw_config_load(config_path, err, sizeof err);
	if (cfg == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
		goto out;
	}
	if (sr_config_str(cfg, "tls_cert", NULL) == NULL || sr_config_str(cfg, "tls_key", NULL) == NULL ||
	    access(sr_config_str(cfg, "tls_cert", ""), R_OK) != 0 ||
	    access(sr_config_str(cfg, "tls_key", ""), R_OK) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error",
		       "tls_cert and tls_key must name readable files");
		goto out;
	}
	threads = (int)sr_config_int(cfg, "threads", 4);
	app.cfg = cfg;

	/* libcurl's global state before any thread exists. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		sr_log(SR_LOG_ERROR, NULL, "curl.init_failed", NULL);
		goto out;
	}
	curl_inited = 1;
	app.vault = gw_config_vault(cfg, err, sizeof err);
	if (app.vault == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
		goto out;
	}
	if (check_only) {
		printf("ok\n");
		rc = 0;
		goto out;
	}
	/* +1 connection for the lifecycle worker (issue 4). */
	app.db = gw_config_db(cfg, (size_t)threads + 1, err, sizeof err);
	if (app.db == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "db.connect_failed", "{s:s}", "error", err);
		goto out;
	}

	/* Block the stop signals in every thread; main waits for them below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&hcfg, 0, sizeof hcfg);
	hcfg.bind_addr = sr_config_str(cfg, "listen", "127.0.0.1");
	hcfg.port = (uint16_t)sr_config_int(cfg, "port", 8443);
	hcfg.cert_file = sr_config_str(cfg, "tls_cert", NULL);
	hcfg.key_file = sr_config_str(cfg, "tls_key", NULL);
	hcfg.max_body = 64 * 1024;
	hcfg.threads = (unsigned)threads;
	hcfg.routes = ROUTES;
	hcfg.n_routes = sizeof ROUTES / sizeof ROUTES[0];
	hcfg.app = &app;
	hcfg.name = "gateway";
	srv = sr_http_start(&hcfg, err, sizeof err);
	if (srv == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "http.start_failed", "{s:s}", "error", err);
		goto out;
	}
	if (sr_config_int(cfg, "rate_limit_per_s", 2000) > 0) {
		app.ratelimit = gw_ratelimit_new((double)sr_config_int(cfg, "rate_limit_per_s", 2000),
		                                 (double)sr_config_int(cfg, "rate_limit_burst", 4000));
		if (app.ratelimit == NULL)
			goto out;
	}
	if (sr_config_int(cfg, "workers", 1) != 0) {
		worker = gw_worker_start(&app);
		if (worker == NULL) {
			sr_log(SR_LOG_ERROR, NULL, "worker.start_failed", NULL);
			goto out;
		}
	}
	sr_log(SR_LOG_INFO, NULL, "gatewayd.started", "{s:s, s:i, s:i}", "listen", hcfg.bind_addr,
	       "port", (int)hcfg.port, "threads", threads);
	if (sigwait(&sigs, &sig) != 0)
		sig = 0;
	sr_log(SR_LOG_INFO, NULL, "gatewayd.stopping", "{s:i}", "signal", sig);
	rc = 0;
out:
	gw_worker_stop(worker);
	sr_http_stop(srv);
	sr_db_pool_free(app.db);
	gw_vault_client_free(app.vault);
	gw_ratelimit_free(app.ratelimit);
	if (curl_inited)
		curl_global_cleanup();
	json_decref(cfg);
	return rc;
}
