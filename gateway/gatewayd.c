/*
 * gatewayd: the merchant payment API (application zone). Handles tokens only,
 * never a PAN (invariant 1, docs/invariants.md): links common/, libcurl and libpq only — no
 * PKCS#11, mbedTLS or vault/ code.
 *
 *   gatewayd --config FILE [--check-config]
 *   gatewayd --help
 */
#include "gateway/gw_app.h"
#include "gateway/gw_config.h"
#include "gateway/gw_instance.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/vault_client/gw_vault_client.h"
#include "common/sr_admin.h"
#include "gateway/payments/gw_worker.h"
#include "gateway/events/gw_dispatcher.h"
#include "gateway/events/gw_webhook.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/audit/gw_audit_spool.h"
#include "gateway/api/gw_ratelimit.h"
#include "gateway/api/gw_route.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_metrics.h"
#include "common/sr_secret.h"
#include "common/sr_version.h"

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
GW_ROUTE(gw_handle_refunds_list, GW_PERM_READ, "GET /v1/refunds")
GW_ROUTE(gw_handle_payment_refunds_list, GW_PERM_READ, "GET /v1/payments/{}/refunds")
GW_ROUTE(gw_handle_refund_cancel, GW_PERM_REFUNDS, "POST /v1/refunds/{}/cancel")
GW_ROUTE(gw_handle_disputes_list, GW_PERM_READ, "GET /v1/disputes")
GW_ROUTE(gw_handle_dispute_get, GW_PERM_READ, "GET /v1/disputes/{}")
GW_ROUTE(gw_handle_dispute_update, GW_PERM_PAYMENTS, "POST /v1/disputes/{}")
GW_ROUTE(gw_handle_dispute_close, GW_PERM_PAYMENTS, "POST /v1/disputes/{}/close")
GW_ROUTE(gw_handle_events_list, GW_PERM_READ, "GET /v1/events")
GW_ROUTE(gw_handle_event_get, GW_PERM_READ, "GET /v1/events/{}")
GW_ROUTE(gw_handle_customers_create, GW_PERM_PAYMENTS, "POST /v1/customers")
GW_ROUTE(gw_handle_customers_list, GW_PERM_READ, "GET /v1/customers")
GW_ROUTE(gw_handle_customer_get, GW_PERM_READ, "GET /v1/customers/{}")
GW_ROUTE(gw_handle_customer_update, GW_PERM_PAYMENTS, "POST /v1/customers/{}")
GW_ROUTE(gw_handle_customer_delete, GW_PERM_PAYMENTS, "DELETE /v1/customers/{}")
GW_ROUTE(gw_handle_customer_cards_create, GW_PERM_PAYMENTS, "POST /v1/customers/{}/cards")
GW_ROUTE(gw_handle_customer_cards_list, GW_PERM_READ, "GET /v1/customers/{}/cards")
GW_ROUTE(gw_handle_card_get, GW_PERM_READ, "GET /v1/cards/{}")
GW_ROUTE(gw_handle_card_delete, GW_PERM_PAYMENTS, "DELETE /v1/cards/{}")
GW_ROUTE(gw_handle_card_update, GW_PERM_PAYMENTS, "POST /v1/cards/{}")
GW_ROUTE(gw_handle_webhook_endpoints_create, GW_PERM_ADMIN, "POST /v1/webhook_endpoints")
GW_ROUTE(gw_handle_webhook_endpoints_list, GW_PERM_READ, "GET /v1/webhook_endpoints")
GW_ROUTE(gw_handle_webhook_endpoint_get, GW_PERM_READ, "GET /v1/webhook_endpoints/{}")
GW_ROUTE(gw_handle_webhook_endpoint_delete, GW_PERM_ADMIN, "DELETE /v1/webhook_endpoints/{}")
GW_ROUTE(gw_handle_webhook_endpoint_update, GW_PERM_ADMIN, "POST /v1/webhook_endpoints/{}")
GW_ROUTE(gw_handle_webhook_endpoint_roll, GW_PERM_ADMIN, "POST /v1/webhook_endpoints/{}/roll_secret")
GW_ROUTE(gw_handle_webhook_deliveries_list, GW_PERM_READ, "GET /v1/webhook_endpoints/{}/deliveries")
GW_ROUTE(gw_handle_event_redeliver, GW_PERM_ADMIN, "POST /v1/events/{}/redeliver")
GW_ROUTE(gw_handle_psp_credentials_put, GW_PERM_ADMIN, "PUT /v1/psp_credentials/{}")
GW_ROUTE(gw_handle_psp_credentials_list, GW_PERM_ADMIN, "GET /v1/psp_credentials")
GW_ROUTE(gw_handle_psp_credentials_delete, GW_PERM_ADMIN, "DELETE /v1/psp_credentials/{}")
/* No API key: the PSP's signature, verified by the vault; rate-limited as one bucket. */
GW_ROUTE(gw_handle_psp_webhooks_receive, 0, "POST /v1/psp_webhooks/{}")
GW_ROUTE(gw_handle_routing_get, GW_PERM_READ, "GET /v1/routing")
GW_ROUTE(gw_handle_routing_put, GW_PERM_ADMIN, "PUT /v1/routing")
GW_ROUTE(gw_handle_test_helper_3ds, GW_PERM_PAYMENTS, "POST /v1/test_helpers/payments/{}/3ds")

/* The API at a glance (one routing table of designated initializers). */
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
	/* issue 19: lists and events */
	{ .method = "GET", .pattern = "/v1/refunds", .handler = gw_handle_refunds_list_route },
	{ .method = "GET", .pattern = "/v1/payments/{}/refunds", .handler = gw_handle_payment_refunds_list_route },
	{ .method = "POST", .pattern = "/v1/refunds/{}/cancel", .handler = gw_handle_refund_cancel_route },
	/* disputes as objects (issue 19, ADR 0132) */
	{ .method = "GET", .pattern = "/v1/disputes", .handler = gw_handle_disputes_list_route },
	{ .method = "GET", .pattern = "/v1/disputes/{}", .handler = gw_handle_dispute_get_route },
	{ .method = "POST", .pattern = "/v1/disputes/{}", .handler = gw_handle_dispute_update_route },
	{ .method = "POST", .pattern = "/v1/disputes/{}/close", .handler = gw_handle_dispute_close_route },
	{ .method = "GET", .pattern = "/v1/events", .handler = gw_handle_events_list_route },
	{ .method = "GET", .pattern = "/v1/events/{}", .handler = gw_handle_event_get_route },
	/* customers as objects (issue 19, ADR 0128) */
	{ .method = "POST", .pattern = "/v1/customers", .handler = gw_handle_customers_create_route },
	{ .method = "GET", .pattern = "/v1/customers", .handler = gw_handle_customers_list_route },
	{ .method = "GET", .pattern = "/v1/customers/{}", .handler = gw_handle_customer_get_route },
	{ .method = "POST", .pattern = "/v1/customers/{}", .handler = gw_handle_customer_update_route },
	{ .method = "DELETE", .pattern = "/v1/customers/{}", .handler = gw_handle_customer_delete_route },
	/* saved cards (issue 3), relayed to the vault */
	{ .method = "POST", .pattern = "/v1/customers/{}/cards", .handler = gw_handle_customer_cards_create_route },
	{ .method = "GET", .pattern = "/v1/customers/{}/cards", .handler = gw_handle_customer_cards_list_route },
	{ .method = "GET", .pattern = "/v1/cards/{}", .handler = gw_handle_card_get_route },
	{ .method = "DELETE", .pattern = "/v1/cards/{}", .handler = gw_handle_card_delete_route },
	{ .method = "POST", .pattern = "/v1/cards/{}", .handler = gw_handle_card_update_route },
	/* issue 5: webhooks to merchants */
	{ .method = "POST", .pattern = "/v1/webhook_endpoints", .handler = gw_handle_webhook_endpoints_create_route },
	{ .method = "GET", .pattern = "/v1/webhook_endpoints", .handler = gw_handle_webhook_endpoints_list_route },
	{ .method = "GET", .pattern = "/v1/webhook_endpoints/{}", .handler = gw_handle_webhook_endpoint_get_route },
	{ .method = "DELETE", .pattern = "/v1/webhook_endpoints/{}", .handler = gw_handle_webhook_endpoint_delete_route },
	{ .method = "POST", .pattern = "/v1/webhook_endpoints/{}", .handler = gw_handle_webhook_endpoint_update_route },
	{ .method = "POST", .pattern = "/v1/webhook_endpoints/{}/roll_secret", .handler = gw_handle_webhook_endpoint_roll_route },
	{ .method = "GET", .pattern = "/v1/webhook_endpoints/{}/deliveries", .handler = gw_handle_webhook_deliveries_list_route },
	{ .method = "POST", .pattern = "/v1/events/{}/redeliver", .handler = gw_handle_event_redeliver_route },
	/* issue 5: per-merchant PSP credentials (to the vault) and webhooks from PSPs */
	{ .method = "PUT", .pattern = "/v1/psp_credentials/{}", .handler = gw_handle_psp_credentials_put_route },
	{ .method = "GET", .pattern = "/v1/psp_credentials", .handler = gw_handle_psp_credentials_list_route },
	{ .method = "DELETE", .pattern = "/v1/psp_credentials/{}", .handler = gw_handle_psp_credentials_delete_route },
	{ .method = "POST", .pattern = "/v1/psp_webhooks/{}", .handler = gw_handle_psp_webhooks_receive_route },
	/* routing (issue 5) */
	{ .method = "GET", .pattern = "/v1/routing", .handler = gw_handle_routing_get_route },
	{ .method = "PUT", .pattern = "/v1/routing", .handler = gw_handle_routing_put_route },
	/* Test mode only: served only in mode "test" (ADR 0131, served_routes). */
	{ .method = "POST", .pattern = "/v1/test_helpers/payments/{}/3ds", .handler = gw_handle_test_helper_3ds_route },
};

/* The routes this gatewayd serves, into out[] (as large as ROUTES): every
 * route, less those under /v1/test_helpers/ unless the gateway is in test
 * mode (ADR 0131). Filtered by path, not by position, so a route added
 * after the test helpers is never the one dropped. @return their number. */
static size_t served_routes(struct sr_route *out, int test_mode)
{
	static const char helpers[] = "/v1/test_helpers/";
	size_t i, n = 0;

	for (i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++)
		if (test_mode || strncmp(ROUTES[i].pattern, helpers, sizeof helpers - 1) != 0)
			out[n++] = ROUTES[i];
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "NAME\n"
	        "    gatewayd - Strongroom merchant payment API (application zone)\n"
	        "\n"
	        "SYNOPSIS\n"
	        "    gatewayd --config FILE [--check-config]\n"
	        "    gatewayd --help | --version\n"
	        "\n"
	        "DESCRIPTION\n"
	        "    Serves the merchant API over HTTPS (tokens only, never a card number),\n"
	        "    calls the vault over mutual TLS, and keeps payments in PostgreSQL.\n"
	        "    Runs in the foreground; logs one JSON object per line on stderr.\n"
	        "    An admin listener (admin_listen:admin_port, TLS with tls_cert) serves\n"
	        "    GET /healthz, /readyz and /metrics (Prometheus text format).\n"
	        "\n"
	        "OPTIONS\n"
	        "    --config FILE    the JSON configuration; every key, default and unit is\n"
	        "                     in docs/configuration.md (unknown keys are errors)\n"
	        "    --check-config   validate the configuration and the files it names;\n"
	        "                     errors name the file, line and key; exit 0 or 1\n"
	        "    --help           this text\n"
	        "    --version        the release and the git commit it was built from\n"
	        "\n"
	        "SIGNALS\n"
	        "    SIGTERM, SIGINT  stop accepting, finish requests in flight (at most\n"
	        "                     shutdown_grace_seconds), exit 0\n"
	        "    SIGHUP           reload the TLS certificates and keys (tls_cert/tls_key)\n"
	        "\n"
	        "ENVIRONMENT\n"
	        "    CREDENTIALS_DIRECTORY  relative secret paths (tls_key, db_password_file,\n"
	        "                     vault_client_key, webhook_secret_key_file) resolve\n"
	        "                     against it (systemd credentials)\n"
	        "\n"
	        "EXIT STATUS\n"
	        "    0 clean shutdown or valid configuration, 1 failure, 2 usage error\n");
}

/* Outbox depth (invariant 7, docs/invariants.md: events wait here until delivered). */
static void collect_outbox(void *arg)
{
	static const char *const none[] = { NULL };
	struct gw_app *app = arg;
	struct sr_metric *g = sr_metrics_gauge("strongroom_outbox_pending",
	                                       "Outbox events not yet delivered.", none);
	/* Never queue a scrape behind payments: skip when the pool is busy
	 * (the gauge keeps its last value). */
	PGconn *c = sr_db_try_acquire(app->db);
	PGresult *r = NULL;

	if (c == NULL)
		return;
	r = PQexecParams(c, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL", 0, NULL, NULL,
	                 NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		sr_metrics_set(g, strtod(PQgetvalue(r, 0, 0), NULL));
	PQclear(r);
	sr_db_release(app->db, c);
}

int main(int argc, char **argv)
{
	static const struct option LONGOPTS[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, SR_OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	int check_only = 0;
	int i;
	json_t *cfg = NULL;
	struct gw_app app;
	struct sr_http_server *srv = NULL;
	struct sr_http_server *admin_srv = NULL;
	struct sr_admin admin;
	struct gw_worker *worker = NULL;
	struct gw_dispatcher *dispatcher = NULL;
	struct gw_instance *instance = NULL;
	struct sr_http_config hcfg;
	static struct sr_route served[sizeof ROUTES / sizeof ROUTES[0]];
	sigset_t sigs;
	char err[512];
	char spool[4096];
	int curl_inited = 0;
	int threads;
	int sig = 0;
	int opt;
	int rc = 1;

	memset(&app, 0, sizeof app);
	memset(&admin, 0, sizeof admin);
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
		case SR_OPT_VERSION:
			return sr_version_print("gatewayd");
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
	if (cfg == NULL ||
	    gw_config_trusted_proxies(cfg, config_path, app.trusted_proxies, GW_CIDR_MAX,
	                              &app.n_trusted_proxies, err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
		goto out;
	}
	if (sr_config_str(cfg, "tls_cert", NULL) == NULL ||
	    access(sr_config_str(cfg, "tls_cert", ""), R_OK) != 0) {
		sr_config_error(err, sizeof err, config_path, "tls_cert", "must name a readable file");
		sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
		goto out;
	}
	/* PCI DSS 3.6.1, 8.3.2: the TLS key and the database password are
	 * secrets: readable by this user, owner-only mode. The key is
	 * required; without a password file libpq authenticates otherwise. */
	for (i = 0; i < 2; i++) {
		const char *key = i == 0 ? "tls_key" : "db_password_file";

		if ((i == 0 && sr_config_str(cfg, key, NULL) == NULL) ||
		    (sr_config_str(cfg, key, NULL) != NULL &&
		     sr_secret_check_file(sr_config_str(cfg, key, ""), NULL, 0, err, sizeof err) != 0)) {
			char e2[512];

			snprintf(e2, sizeof e2, "%s", err);
			sr_config_error(err, sizeof err, config_path, key, "%s",
			                e2[0] != '\0' ? e2 : "is required");
			sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
			goto out;
		}
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
	/* Issue 5: the key sealing webhook signing secrets (ADR 0100). With
	 * --check-config only the file is checked (owner-only), as for tls_key. */
	if (sr_config_str(cfg, "webhook_secret_key_file", NULL) != NULL) {
		const char *kf = sr_config_str(cfg, "webhook_secret_key_file", "");
		char e2[512] = "";

		if (check_only ? sr_secret_check_file(kf, NULL, 0, e2, sizeof e2) != 0
		               : (app.webhook_key = gw_webhook_key_load(kf, e2, sizeof e2)) == NULL) {
			sr_config_error(err, sizeof err, config_path, "webhook_secret_key_file", "%s", e2);
			sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
			goto out;
		}
	}
	/* ADR 0109: per-address limits and the handshake deadline. */
	memset(&hcfg, 0, sizeof hcfg);
	/* Merchants' servers: many concurrent requests from one address; in
	 * the pool an idle connection costs no thread. */
	if (sr_http_config_limits(cfg, config_path, 256, &hcfg, err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
		goto out;
	}
	if (check_only) {
		printf("gatewayd: %s: configuration OK\n", config_path);
		rc = 0;
		goto out;
	}
	/* Issue 16: audit records the database cannot take wait here, durably
	 * (ADR 0114); without it they could only be lost, so do not start. */
	if (gw_config_audit_spool(cfg, spool, sizeof spool) != 0 || gw_audit_spool_open(spool) != 0) {
		sr_config_error(err, sizeof err, config_path, "audit_spool_file",
		                "must name a file gatewayd can create and write");
		sr_log(SR_LOG_ERROR, NULL, "config.invalid", "{s:s}", "error", err);
		goto out;
	}
	/* The gateway holds sk_ keys in flight, its TLS key and the database
	 * password: no core dumps, no ptrace (PCI DSS 3.5.1, 8.3.2). */
	if (sr_secret_harden_process() != 0) {
		sr_log(SR_LOG_ERROR, NULL, "process.harden_failed", NULL);
		goto out;
	}
	/* +1 connection for the lifecycle worker (issue 4), +1 for the webhook
	 * dispatcher (issue 5). */
	app.db = gw_config_db(cfg, (size_t)threads + 2, err, sizeof err);
	if (app.db == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "db.connect_failed", "{s:s}", "error", err);
		goto out;
	}
	/* Issue 16: the owner id of this process's claims, kept alive by a
	 * heartbeat; a dead owner's claims are taken over at once (ADR 0113). */
	instance = gw_instance_start(cfg, app.instance_id, sizeof app.instance_id, err, sizeof err);
	if (instance == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "instance.start_failed", "{s:s}", "error", err);
		goto out;
	}

	/* Block the stop signals in every thread; main waits for them below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	hcfg.bind_addr = sr_config_str(cfg, "listen", "127.0.0.1");
	hcfg.port = (uint16_t)sr_config_int(cfg, "port", 8443);
	hcfg.cert_file = sr_config_str(cfg, "tls_cert", NULL);
	hcfg.key_file = sr_config_str(cfg, "tls_key", NULL);
	hcfg.max_body = 64 * 1024;
	hcfg.threads = (unsigned)threads;
	hcfg.n_routes = served_routes(served, gw_config_test_mode(cfg));
	hcfg.routes = served;
	hcfg.app = &app;
	hcfg.name = "gateway";
	hcfg.refuse_pan = 1; /* no PAN outside the CDE, in any shape (ADR 0106) */
	srv = sr_http_start(&hcfg, err, sizeof err);
	if (srv == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "http.start_failed", "{s:s}", "error", err);
		goto out;
	}
	/* Admin listener (ADR 0051): health, readiness, metrics. */
	if (sr_config_int(cfg, "admin_port", 8447) != 0) {
		struct sr_http_config acfg;

		admin.db = app.db;
		admin.cert_files[0] = hcfg.cert_file;
		admin.cert_files[1] = sr_config_str(cfg, "vault_client_cert", NULL);
		admin.cert_min_days = sr_config_int(cfg, "readyz_cert_min_days", 14);
		sr_admin_watch_db_pool(app.db, "gateway");
		sr_metrics_add_collector(collect_outbox, &app);
		memset(&acfg, 0, sizeof acfg);
		acfg.bind_addr = sr_config_str(cfg, "admin_listen", "127.0.0.1");
		acfg.port = (uint16_t)sr_config_int(cfg, "admin_port", 8447);
		acfg.cert_file = hcfg.cert_file;
		acfg.key_file = hcfg.key_file;
		acfg.max_body = 1024;
		acfg.threads = 1;
		acfg.routes = SR_ADMIN_ROUTES;
		acfg.n_routes = SR_ADMIN_N_ROUTES;
		acfg.app = &admin;
		acfg.name = "gateway-admin";
		acfg.max_per_ip = hcfg.max_per_ip;
		acfg.accept_rate = hcfg.accept_rate;
		acfg.accept_burst = hcfg.accept_burst;
		acfg.handshake_timeout_s = hcfg.handshake_timeout_s;
		admin_srv = sr_http_start(&acfg, err, sizeof err);
		if (admin_srv == NULL) {
			sr_log(SR_LOG_ERROR, NULL, "http.start_failed", "{s:s}", "error", err);
			goto out;
		}
	}
	if (sr_config_int(cfg, "rate_limit_per_s", 2000) > 0) {
		app.ratelimit = gw_ratelimit_new((double)sr_config_int(cfg, "rate_limit_per_s", 2000),
		                                 (double)sr_config_int(cfg, "rate_limit_burst", 4000));
		if (app.ratelimit == NULL)
			goto out;
	}
	if (sr_config_int(cfg, "rate_limit_ip_per_s", 2000) > 0) {
		app.ratelimit_ip = gw_ratelimit_new((double)sr_config_int(cfg, "rate_limit_ip_per_s", 2000),
		                                    (double)sr_config_int(cfg, "rate_limit_ip_burst", 4000));
		if (app.ratelimit_ip == NULL)
			goto out;
	}
	if (sr_config_int(cfg, "workers", 1) != 0) {
		worker = gw_worker_start(&app);
		if (worker == NULL) {
			sr_log(SR_LOG_ERROR, NULL, "worker.start_failed", NULL);
			goto out;
		}
	}
	if (app.webhook_key != NULL && sr_config_int(cfg, "webhook_dispatcher", 1) != 0) {
		dispatcher = gw_dispatcher_start(&app);
		if (dispatcher == NULL) {
			sr_log(SR_LOG_ERROR, NULL, "webhook.dispatcher_start_failed", NULL);
			goto out;
		}
	}
	sr_log(SR_LOG_INFO, NULL, "gatewayd.started", "{s:s, s:i, s:i}", "listen", hcfg.bind_addr,
	       "port", (int)hcfg.port, "threads", threads);
	for (;;) {
		if (sigwait(&sigs, &sig) != 0) {
			sig = 0;
			break;
		}
		if (sig != SIGHUP)
			break;
		/* SIGHUP: renewed certificates, no restart (ADR 0052). */
		sr_http_reload(srv, err, sizeof err);
		sr_http_reload(admin_srv, err, sizeof err);
	}
	sr_log(SR_LOG_INFO, NULL, "gatewayd.stopping", "{s:i}", "signal", sig);
	/* SIGTERM: finish what is in flight, bounded (ADR 0051). A payment
	 * is one transaction (invariant 7), so one cut short by the deadline
	 * is rolled back whole, never half-written. */
	sr_http_drain(srv, (unsigned)sr_config_int(cfg, "shutdown_grace_seconds", 20) * 1000u);
	rc = 0;
out:
	gw_dispatcher_stop(dispatcher);
	gw_worker_stop(worker);
	sr_http_stop(admin_srv);
	sr_http_stop(srv);
	gw_instance_stop(instance); /* nothing of this process acts any more */
	sr_db_pool_free(app.db);
	gw_vault_client_free(app.vault);
	gw_ratelimit_free(app.ratelimit);
	gw_ratelimit_free(app.ratelimit_ip);
	sr_secret_free(app.webhook_key);
	if (curl_inited)
		curl_global_cleanup();
	json_decref(cfg);
	return rc;
}
