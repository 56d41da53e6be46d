/*
 * pspsim: a PSP simulator speaking Stripe's wire format (form-encoded
 * requests, JSON answers, Idempotency-Key) over mutual TLS. Test and demo
 * only: never shipped in production units (docs/development.md).
 *
 * Outcomes follow Stripe's published test cards (the table in docs/development.md,
 * https://docs.stripe.com/testing). State lives in memory behind one mutex
 * and, with state_dir, in a journal written before each answer
 * (pspsim_store.c, ADR 0115): a restart, even after kill -9, keeps every
 * answered intent, refund and idempotency record. A card number is only
 * read for its test outcome: never kept, logged or returned (brand, last4).
 *
 *   pspsim --config FILE
 *
 * Config keys: listen ("127.0.0.1"), port (8446; 0 lets the kernel choose),
 * tls_cert, tls_key, client_ca, peer_name ("vault-egress.strongroom.internal"),
 * api_key_file, threads (4), public_host, challenge_port, state_dir.
 *
 * challenge_port (issue 6): a second HTTPS listener, without client
 * certificates, for the cardholder's browser: GET /3ds/{pi} is the 3-D Secure
 * challenge page the redirect_to_url points at, POST /3ds/{pi}/complete its
 * button. When it is set, redirect URLs use this port.
 *
 * This file is main: configuration, listeners, signals. The Stripe
 * dialect's endpoints are in pspsim_stripe.c (what they share in
 * pspsim_stripe_util.c), its 3-D Secure in pspsim_3ds.c, its /_sim
 * endpoints in pspsim_control.c; the Adyen dialect in pspsim_adyen.c (its
 * state in pspsim_adyen_state.c).
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_config.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "common/sr_version.h"
#include "tests/pspsim/pspsim_keys.h"
#include "tests/pspsim/pspsim_sim.h"
#include "tests/pspsim/pspsim_store.h"
#include "tests/pspsim/pspsim_stripe.h"
#include "tests/pspsim/pspsim_webhooks.h"
#include "tests/pspsim/pspsim.h"

/* ------------------------------------------------------------------ */
/* main                                                                */

static void usage(FILE *f)
{
	fprintf(f,
	        "NAME\n"
	        "    pspsim - PSP simulator (Stripe wire format) over mutual TLS; test/demo only\n"
	        "\n"
	        "SYNOPSIS\n"
	        "    pspsim --config FILE [--check-config]\n"
	        "    pspsim --help\n"
	        "\n"
	        "DESCRIPTION\n"
	        "    Answers the vault's connector like the PSP would, with outcomes chosen by\n"
	        "    the test card number. Logs JSON lines on stderr, each with the caller's\n"
	        "    X-Request-Id as request_id (correlation across gateway, vault, PSP).\n"
	        "    --check-config validates the configuration and exits 0 or 1.\n"
	        "    SIGTERM/SIGINT stop it. Exit status: 0 ok, 1 failure, 2 usage.\n"
	        "\n"
	        "Config (JSON object; unknown keys are errors):\n"
	        "  listen        bind address (default \"127.0.0.1\")\n"
	        "  port          TCP port (default 8446; 0: kernel chooses, logged)\n"
	        "  tls_cert      server certificate chain, PEM (required)\n"
	        "  tls_key       server key, PEM (required)\n"
	        "  client_ca     CA the client certificate must chain to (required)\n"
	        "  peer_name     DNS name the client certificate must carry\n"
	        "                (default \"vault-egress.strongroom.internal\")\n"
	        "  api_key_file  file holding the Bearer API key, mode 0600 (required)\n"
	        "  threads       worker threads (default 4)\n"
	        "  public_host   host name used in 3-D Secure redirect URLs\n"
	        "  challenge_port  port of the cardholder's 3-D Secure page (TLS, no client\n"
	        "                certificate: GET /3ds/{id}, POST /3ds/{id}/complete); 0: off\n"
	        "                (default \"psp.strongroom.test\")\n"
	        "  challenge_port  port of a second listener without client certificates\n"
	        "                for browsers: GET /3ds/{id} challenge page (default: none)\n"
	        "  webhook_url   base URL of the gateway's PSP webhook ingress, e.g.\n"
	        "                https://gateway.strongroom.test:8443 (issue 5; default: none,\n"
	        "                no webhooks are sent)\n"
	        "  webhook_addr  address to connect to for webhook_url's host (default: DNS)\n"
	        "  webhook_ca    CA the gateway's certificate must chain to\n"
	        "  webhook_secret_file  the Stripe endpoint secret (whsec_...), mode 0600\n"
	        "  adyen_api_key_file      the Adyen dialect's X-API-Key, mode 0600 (optional:\n"
	        "                without it the Adyen routes answer 404)\n"
	        "  adyen_merchant_account  the only merchantAccount the Adyen dialect accepts\n"
	        "  adyen_hmac_key_file     the Adyen notification HMAC key (hex), mode 0600:\n"
	        "                with webhook_url, Adyen notifications are sent too\n"
	        "  state_dir     directory (created, mode 0700) of the journal: every change\n"
	        "                is written and fdatasync'd before its answer, replayed at\n"
	        "                start, so a restart (even kill -9) keeps what was answered;\n"
	        "                one pspsim per directory (default: none, memory only)\n"
	        "\n"
	        "Endpoints: POST /v1/payment_methods, POST /v1/payment_intents,\n"
	        "GET /v1/payment_intents/{id}, POST /v1/payment_intents/{id}/capture|cancel,\n"
	        "POST /v1/refunds, GET /v1/account, GET /_sim/stats, POST /_sim/payment_intents/{id}/3ds\n"
	        "(complete 3-D Secure), POST /_sim/faults {\"drop_next\",\"delay_ms\"},\n"
	        "GET /_sim/webhooks (sent), POST /_sim/webhooks/replay {\"event\",\"times\"},\n"
	        "POST /_sim/api_keys {\"key\"} (accept a merchant's own key),\n"
	        "POST /_sim/contradict {\"next\",\"field\"}, GET /_sim/received (issue 15),\n"
	        "GET /_sim/intents[?created_gte=unix] (every intent and Adyen payment with its\n"
	        "amounts, status, idempotency key, refunds; issue 16).\n"
	        "Webhooks sent (signed, Stripe-Signature): 3-D Secure results\n"
	        "(payment_intent.succeeded | amount_capturable_updated | payment_failed),\n"
	        "charge.refunded, and charge.dispute.created 1.5 s after a 4000000000000259\n"
	        "payment succeeds.\n"
	        "Adyen (tests/pspsim/pspsim_adyen.c): POST /v71/payments,\n"
	        "POST /v71/payments/{psp}/captures|cancels|refunds, GET /v71/payments/{psp}\n"
	        "(simulator stand-in), POST /_sim/adyen/payments/{psp}/3ds,\n"
	        "POST /_sim/adyen/faults {\"unavailable\",\"drop_next\",\"delay_ms\"}.\n"
	        "Adyen notifications sent (HMAC-signed items): AUTHORISATION after 3-D Secure,\n"
	        "CAPTURE, CANCELLATION, REFUND after the modification, CHARGEBACK 1.5 s after\n"
	        "a 4000000000000259 payment is captured; listed and replayed as\n"
	        "\"<eventCode>:<pspReference>:<success>\".\n");
}

int main(int argc, char **argv)
{
	static const char *const keys[] = {
		"listen", "port", "tls_cert", "tls_key", "client_ca", "peer_name", "api_key_file",
		"threads", "public_host", "challenge_port",
		"webhook_url", "webhook_addr", "webhook_ca", "webhook_secret_file",
		"adyen_api_key_file", "adyen_merchant_account", "adyen_hmac_key_file", "state_dir", NULL
	};
	struct sim sim;
	struct sr_http_config hc;
	struct sr_http_server *srv = NULL;
	struct sr_http_server *chal = NULL;
	struct sr_route *all_routes = NULL;
	long long chal_port = 0;
	json_t *cfg = NULL;
	char *key = NULL;
	const char *path = NULL;
	char err[512] = "";
	size_t key_len = 0;
	long long port = 0;
	long long threads = 0;
	sigset_t sigs;
	int sig = 0;
	int i = 0;
	int ret = 1;
	bool lock_ok = false;
	bool check_only = false;

	memset(&sim, 0, sizeof sim);
	sr_log_init("pspsim");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			return sr_version_print("pspsim");
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check_only = true;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.sodium_init_failed", NULL);
		goto out;
	}
	cfg = sr_config_load(path, keys, err, sizeof err);
	if (cfg == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
		goto out;
	}
	port = sr_config_int(cfg, "port", 8446);
	threads = sr_config_int(cfg, "threads", 4);
	if (port < 0 || port > 65535 || threads < 1 || threads > 256) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", "port or threads out of range");
		goto out;
	}
	if (sr_config_str(cfg, "tls_cert", NULL) == NULL || sr_config_str(cfg, "tls_key", NULL) == NULL
	    || sr_config_str(cfg, "client_ca", NULL) == NULL || sr_config_str(cfg, "api_key_file", NULL) == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error",
		       "tls_cert, tls_key, client_ca and api_key_file are required");
		goto out;
	}
	key = sr_secret_read_file(sr_config_str(cfg, "api_key_file", NULL), &key_len, err, sizeof err);
	if (key == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
		goto out;
	}
	sr_sha256_hex(key, key_len, sim.key_hash);
	psim_store_fingerprint_key(key, key_len);
	sr_secret_free(key);
	key = NULL;
	/* Issue 5: signed Stripe webhooks to the gateway, when configured. */
	if (sr_config_str(cfg, "webhook_url", NULL) != NULL && !check_only) {
		if (sr_config_str(cfg, "webhook_secret_file", NULL) == NULL ||
		    psim_wh_stripe_init(sr_config_str(cfg, "webhook_secret_file", NULL), err,
		                        sizeof err) != 0 ||
		    psim_wh_init(sr_config_str(cfg, "webhook_url", NULL),
		                 sr_config_str(cfg, "webhook_addr", NULL),
		                 sr_config_str(cfg, "webhook_ca", NULL), err, sizeof err) != 0) {
			sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error",
			       err[0] != '\0' ? err : "webhook_secret_file is required with webhook_url");
			goto out;
		}
		/* Adyen notifications too, when the HMAC key is configured. */
		if (sr_config_str(cfg, "adyen_hmac_key_file", NULL) != NULL &&
		    psim_wh_adyen_init(sr_config_str(cfg, "adyen_hmac_key_file", NULL), err,
		                       sizeof err) != 0) {
			sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
			goto out;
		}
	}
	if (check_only) {
		printf("pspsim: %s: configuration OK\n", path);
		ret = 0;
		goto out;
	}
	snprintf(sim.public_host, sizeof sim.public_host, "%s",
	         sr_config_str(cfg, "public_host", "psp.strongroom.test"));
	/* Issue 16: the journal (state_dir) is replayed before any state is used. */
	if (psim_store_open(sr_config_str(cfg, "state_dir", NULL), err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.state_error", "{s:s}", "error", err);
		goto out;
	}
	if (sr_config_str(cfg, "adyen_api_key_file", NULL) != NULL &&
	    pspsim_adyen_init(sr_config_str(cfg, "adyen_api_key_file", NULL),
	                      sr_config_str(cfg, "adyen_merchant_account", NULL), sim.public_host,
	                      err, sizeof err) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.config_error", "{s:s}", "error", err);
		goto out;
	}
	if (pthread_mutex_init(&sim.lock, NULL) != 0)
		goto out;
	lock_ok = true;
	sim.pms = json_object();
	sim.intents = json_object();
	sim.meta = json_object();
	sim.idem = json_object();
	if (sim.pms == NULL || sim.intents == NULL || sim.meta == NULL || sim.idem == NULL)
		goto out;
	if (pspsim_load(&sim) != 0) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.state_error", "{s:s}", "error",
		       "a journal record of the Stripe dialect or a key is malformed");
		goto out;
	}
	psim_store_loaded_free();

	/* Signals are taken by sigwait below, in this thread only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	memset(&hc, 0, sizeof hc);
	hc.bind_addr = sr_config_str(cfg, "listen", "127.0.0.1");
	hc.port = (uint16_t)port;
	hc.cert_file = sr_config_str(cfg, "tls_cert", NULL);
	hc.key_file = sr_config_str(cfg, "tls_key", NULL);
	hc.client_ca_file = sr_config_str(cfg, "client_ca", NULL);
	hc.peer_name = sr_config_str(cfg, "peer_name", "vault-egress.strongroom.internal");
	hc.threads = (unsigned)threads;
	/* Both dialects on the one mTLS listener: Stripe's routes (/v1, then
	 * /_sim), then Adyen's. */
	hc.n_routes = pspsim_stripe_n_routes + pspsim_control_n_routes + pspsim_adyen_n_routes +
	              pspsim_dispute_n_routes;
	all_routes = calloc(hc.n_routes, sizeof *all_routes);
	if (all_routes == NULL)
		goto out;
	memcpy(all_routes, pspsim_stripe_routes, pspsim_stripe_n_routes * sizeof *all_routes);
	memcpy(all_routes + pspsim_stripe_n_routes, pspsim_control_routes,
	       pspsim_control_n_routes * sizeof *all_routes);
	memcpy(all_routes + pspsim_stripe_n_routes + pspsim_control_n_routes, pspsim_adyen_routes,
	       pspsim_adyen_n_routes * sizeof *all_routes);
	memcpy(all_routes + hc.n_routes - pspsim_dispute_n_routes, pspsim_dispute_routes,
	       pspsim_dispute_n_routes * sizeof *all_routes);
	hc.routes = all_routes;
	hc.app = &sim;
	hc.name = "pspsim";
	hc.accept_form = 1;   /* Stripe's API is form-encoded; the 3-D Secure page posts a form */
	srv = sr_http_start(&hc, err, sizeof err);
	if (srv == NULL) {
		sr_log(SR_LOG_ERROR, NULL, "pspsim.listen_failed", "{s:s}", "error", err);
		goto out;
	}
	sim.port = sr_http_port(srv);
	chal_port = sr_config_int(cfg, "challenge_port", -1);
	if (chal_port >= 0) {
		struct sr_http_config cc = hc;

		if (chal_port > 65535)
			goto out;
		cc.port = (uint16_t)chal_port;
		cc.client_ca_file = NULL;
		cc.peer_name = NULL;
		cc.routes = pspsim_challenge_routes;
		cc.n_routes = pspsim_challenge_n_routes;
		cc.name = "pspsim-challenge";
		chal = sr_http_start(&cc, err, sizeof err);
		if (chal == NULL) {
			sr_log(SR_LOG_ERROR, NULL, "pspsim.listen_failed", "{s:s}", "error", err);
			goto out;
		}
		sim.challenge_port = sr_http_port(chal);
	}
	pspsim_adyen_set_redirect_port(sim.challenge_port != 0 ? sim.challenge_port : sim.port);
	sr_log(SR_LOG_INFO, NULL, "pspsim.listening", "{s:s, s:i, s:s}", "listen", hc.bind_addr,
	       "port", (int)sim.port, "peer_name", hc.peer_name);
	do {
		if (sigwait(&sigs, &sig) != 0)
			break;
	} while (sig != SIGINT && sig != SIGTERM);
	sr_log(SR_LOG_INFO, NULL, "pspsim.stopping", "{s:i}", "signal", sig);
	ret = 0;
out:
	sr_http_stop(chal);
	sr_http_stop(srv);
	psim_wh_stop();
	psim_store_close();
	free(all_routes);
	pspsim_adyen_free();
	sr_secret_free(key);
	json_decref(sim.pms);
	json_decref(sim.intents);
	json_decref(sim.meta);
	json_decref(sim.idem);
	pspsim_answers_free();
	pspsim_disputes_free();
	json_decref(cfg);
	if (lock_ok)
		pthread_mutex_destroy(&sim.lock);
	return ret;
}

