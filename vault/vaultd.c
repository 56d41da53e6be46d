/*
 * vaultd: the CDE daemon (docs/architecture.md). Two HTTPS listeners (public
 * tokenization, internal mTLS API for the gateway), the HSM, the vault
 * database, mTLS egress to the PSP, and a sweeper deleting expired CVCs.
 *
 *   vaultd --config FILE        run in the foreground, JSON logs on stderr
 *   vaultd --check-config FILE  load and validate the configuration, exit 0/1
 *                               (also: vaultd --config FILE --check-config)
 *   vaultd --help | --version
 *
 * Secrets (database password, HSM PIN, PSP key) come only from files named in
 * the configuration (invariant 10, docs/invariants.md, PCI DSS v4.0 8.3.2).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "common/sr_admin.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_version.h"
#include "hsm/hsm.h"
#include "vault/connectors/connector.h"
#include "vault/connectors/adyen/adyen.h"
#include "vault/connectors/stripe/stripe.h"
#include "vault/vault_app.h"
#include "vault/vaultd_config.h"
#include "vault/crypto/vault_hsm_watch.h"
#include "vault/connectors/vault_egress.h"
#include "vault/connectors/vault_psp_platform.h"
#include "vault/connectors/vault_route.h"
#include "vault/api/vault_pkcache.h"
#include "vault/audit/vault_audit.h"
#include "vault/tokens/vault_token_writer.h"
#include "vault/api/vault_ratelimit.h"
#include "vault/crypto/vault_keys.h"
#include "vault/crypto/vault_tls_key.h"
#include "vault/store/vault_store.h"

#define MAX_BODY_PUBLIC   (8 * 1024)
#define MAX_BODY_INTERNAL (16 * 1024)


/* Public routes: browsers and merchant front ends (pk_ auth). */
static const struct sr_route public_routes[] = {
	{ .method = "POST", .pattern = "/v1/tokens", .handler = vault_handle_tokens_create },
	/* Browser: CORS preflight, strongroom.js, hosted card fields (issue 6). */
	{ .method = "OPTIONS", .pattern = "/v1/tokens", .handler = vault_handle_tokens_preflight },
	{ .method = "GET", .pattern = "/v1/strongroom.js", .handler = vault_handle_strongroom_js },
	{ .method = "GET", .pattern = "/v1/elements/card", .handler = vault_handle_elements_card },
	{ .method = "GET", .pattern = "/v1/elements/card.js", .handler = vault_handle_elements_asset },
	{ .method = "GET", .pattern = "/v1/elements/card.css", .handler = vault_handle_elements_asset },
};

/* Internal routes: the gateway only, over mutual TLS (invariant 5, docs/invariants.md). */
static const struct sr_route internal_routes[] = {
	{ .method = "GET",  .pattern = "/v1/tokens/{}",     .handler = vault_handle_token_get },
	{ .method = "POST", .pattern = "/v1/authorizations", .handler = vault_handle_authorize },
	{ .method = "PUT",  .pattern = "/v1/merchants/{}",  .handler = vault_handle_merchant_put },
	/* token lifecycle (issue 3) */
	{ .method = "DELETE", .pattern = "/v1/tokens/{}",   .handler = vault_handle_token_delete },
	{ .method = "POST",   .pattern = "/v1/cards",       .handler = vault_handle_cards_create },
	{ .method = "GET",    .pattern = "/v1/cards/{}",    .handler = vault_handle_card_get },
	{ .method = "DELETE", .pattern = "/v1/cards/{}",    .handler = vault_handle_card_delete },
	{ .method = "GET",    .pattern = "/v1/customers/{}/cards", .handler = vault_handle_customer_cards },
	{ .method = "DELETE", .pattern = "/v1/customers/{}", .handler = vault_handle_customer_delete },
	/* payment operations (issue 4) */
	{ .method = "POST", .pattern = "/v1/payment_operations", .handler = vault_handle_payment_ops },
	{ .method = "POST", .pattern = "/v1/dispute_operations", .handler = vault_handle_dispute_ops },
	/* per-merchant PSP credentials and PSP webhooks (issue 5) */
	{ .method = "PUT",    .pattern = "/v1/psp_credentials/{}", .handler = vault_handle_psp_credentials_put },
	{ .method = "GET",    .pattern = "/v1/psp_credentials",    .handler = vault_handle_psp_credentials_list },
	{ .method = "DELETE", .pattern = "/v1/psp_credentials/{}", .handler = vault_handle_psp_credentials_delete },
	{ .method = "POST",   .pattern = "/v1/psp_webhooks/{}",    .handler = vault_handle_psp_webhook },
	/* routing (issue 5) */
	{ .method = "GET", .pattern = "/v1/routing", .handler = vault_handle_routing_get },
	{ .method = "PUT", .pattern = "/v1/routing", .handler = vault_handle_routing_put },
};


static void usage(FILE *f)
{
	fprintf(f,
	        "NAME\n"
	        "    vaultd - Strongroom card vault (cardholder data environment)\n"
	        "\n"
	        "SYNOPSIS\n"
	        "    vaultd --config FILE\n"
	        "    vaultd --check-config FILE   (or: vaultd --config FILE --check-config)\n"
	        "    vaultd --help | --version\n"
	        "\n"
	        "DESCRIPTION\n"
	        "    Runs the vault in the foreground: the public tokenization listener,\n"
	        "    the internal mutual-TLS listener for the gateway, the HSM (PKCS#11),\n"
	        "    mTLS egress to the PSP, the CVC sweeper. Logs one JSON object per\n"
	        "    line on stderr. An admin listener (admin_listen:admin_port, TLS with\n"
	        "    tls_cert_internal) serves GET /healthz, /readyz and /metrics.\n"
	        "\n"
	        "OPTIONS\n"
	        "    --config FILE        the JSON configuration; every key, default and\n"
	        "                         unit is in docs/configuration.md\n"
	        "    --check-config       validate the configuration and the files it names\n"
	        "                         (secrets: owner-only mode); errors name the file,\n"
	        "                         line and key\n"
	        "    --help               this text\n"
	        "    --version            the release and the git commit it was built from\n"
	        "\n"
	        "SIGNALS\n"
	        "    SIGTERM, SIGINT      stop accepting, finish requests in flight (at most\n"
	        "                         shutdown_grace_seconds), exit 0\n"
	        "    SIGHUP               reload the listeners' TLS certificates (their keys: HSM)\n"
	        "\n"
	        "ENVIRONMENT\n"
	        "    SOFTHSM2_CONF           SoftHSM2's configuration file (dev/test)\n"
	        "    CREDENTIALS_DIRECTORY   relative secret paths (*_key, *_file) resolve\n"
	        "                            against it (systemd LoadCredential=)\n"
	        "\n"
	        "EXIT STATUS\n"
	        "    0 clean shutdown or valid configuration, 1 failure, 2 usage error\n");
}


/* ---- sweeper: expired CVCs (PCI DSS 3.3.1.2) and expired tokens ---- */

struct sweeper {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool started;
	struct sr_db_pool *db;
	long long interval;
};

static void *sweeper_main(void *arg)
{
	struct sweeper *s = arg;
	struct timespec deadline;
	char err[256];
	PGconn *db = NULL;
	long long n;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		pthread_mutex_unlock(&s->mu);
		db = sr_db_acquire(s->db);
		n = vault_store_sweep_cvc(db, err, sizeof err);
		sr_db_release(s->db, db);
		db = NULL;
		if (n < 0)
			sr_log(SR_LOG_ERROR, NULL, "cvc.sweep_failed", "{s:s}", "error", err);
		else if (n > 0)
			sr_log(SR_LOG_INFO, NULL, "cvc.swept", "{s:I}", "count", (json_int_t)n);
		/* Issue 3: expired tokens are deleted on this schedule, whether
		 * or not anyone reads them (the row and its ciphertext go). */
		db = sr_db_acquire(s->db);
		n = vault_store_sweep_expired(db, err, sizeof err);
		sr_db_release(s->db, db);
		db = NULL;
		if (n < 0)
			sr_log(SR_LOG_ERROR, NULL, "token.sweep_failed", "{s:s}", "error", err);
		else if (n > 0)
			sr_log(SR_LOG_INFO, NULL, "token.expired_deleted", "{s:I}", "count",
			       (json_int_t)n);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += s->interval;
		pthread_mutex_lock(&s->mu);
		while (!s->stop &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static int sweeper_start(struct sweeper *s, struct sr_db_pool *db, long long interval)
{
	pthread_condattr_t ca;

	s->db = db;
	s->interval = interval;
	s->stop = false;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, sweeper_main, s) != 0)
		return -1;
	s->started = true;
	return 0;
}

static void sweeper_stop(struct sweeper *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	s->started = false;
}

/* ---- start-up checks ---- */

/* invariant 2, docs/invariants.md: the keys exist, are sensitive, never extractable, and
 * of the right type and size; otherwise vaultd refuses to start.
 * wrappable (hsm_keys_wrappable, ADR 0073): the keys may instead be
 * CKA_EXTRACTABLE (made by vaultctl keys generate --wrappable or restored by
 * vaultctl keys restore: they leave the token only wrapped under a split
 * transport key), still CKA_SENSITIVE, and CKA_WRAP_WITH_TRUSTED (ADR 0104:
 * only a transport key the Security Officer marked trusted wraps them; an
 * extractable key without it is refused, anyone with the user PIN could
 * export it); SoftHSM2 sets no CKA_VALUE_LEN on an unwrapped key, so 0
 * (unknown) is accepted for an unwrapped (not CKA_LOCAL) key: the restore
 * checked its length and compared its KCV with the original's. */
static int check_key(struct hsm *h, const char *label, unsigned long want_type, bool wrappable,
                     char *msg, size_t msglen)
{
	struct hsm_key_info ki;
	char err[256];

	memset(&ki, 0, sizeof ki);
	if (hsm_key_info(h, label, &ki, err, sizeof err) != 0) {
		snprintf(msg, msglen, "hsm: key %s: %s", label, err);
		return -1;
	}
	if (!ki.found) {
		snprintf(msg, msglen, "hsm: key %s not found on the token (run vaultctl keys create)",
		         label);
		return -1;
	}
	if (!ki.sensitive || (!wrappable && (ki.extractable || !ki.never_extractable))) {
		snprintf(msg, msglen, "hsm: key %s must be CKA_SENSITIVE and never extractable%s",
		         label, wrappable ? "" : " (hsm_keys_wrappable is false)");
		return -1;
	}
	if (ki.extractable && !ki.wrap_with_trusted) {
		snprintf(msg, msglen, "hsm: key %s is extractable without CKA_WRAP_WITH_TRUSTED "
		         "(rotate it to a new --wrappable version, ADR 0104)", label);
		return -1;
	}
	if (ki.key_type != want_type ||
	    (ki.value_len != 32 &&
	     !(wrappable && ki.extractable && ki.value_len == 0 && !ki.local))) {
		snprintf(msg, msglen, "hsm: key %s has the wrong type or size", label);
		return -1;
	}
	return 0;
}

/* /readyz: every key the vault needs answers an operation (issue 16). */
static int hsm_ready(void *arg, char *why, size_t whylen)
{
	return vault_hsm_check(arg, why, whylen);
}

/*
 * The platform's PSP secrets out of the vault database, each opened inside
 * the HSM (ADR 0120): out[0] Stripe's API key (required), out[1] its webhook
 * secret, out[2] Adyen's API key (required when the adyen connector is
 * configured), out[3] its HMAC key; NULL when not loaded. Each in guarded
 * memory, freed by the caller with sr_secret_free. 0, or -1 with msg naming
 * the missing secret and the vaultctl command that loads it (never a value).
 */
static int platform_secrets(struct sr_db_pool *pool, struct hsm *h, const struct vaultd_config *c,
                            char *out[4], char *msg, size_t msglen)
{
	static const char *const want[4][2] = {
		{ "stripe", VAULT_PSP_PLATFORM_API_KEY }, { "stripe", VAULT_PSP_PLATFORM_WEBHOOK },
		{ "adyen", VAULT_PSP_PLATFORM_API_KEY }, { "adyen", VAULT_PSP_PLATFORM_WEBHOOK },
	};
	PGconn *db = sr_db_acquire(pool);
	char err[384] = "";
	int i, r = 0, ret = -1;

	if (db == NULL) {
		snprintf(msg, msglen, "platform PSP secrets: no database connection");
		return -1;
	}
	for (i = 0; i < 4; i++) {
		if (i >= 2 && c->psp_adyen_merchant_account == NULL)
			break;
		r = vault_psp_platform_load(db, h, want[i][0], want[i][1], &out[i], NULL, err,
		                            sizeof err);
		if (r < 0) {
			snprintf(msg, msglen, "platform PSP secrets: %s", err);
			goto out;
		}
		if (r == 0 && (i == 0 || i == 2)) {
			snprintf(msg, msglen, "the platform's %s %s is not loaded: run vaultctl --config "
			         "<vaultd.json> psp load %s %s FILE with two custodians (ADR 0120)",
			         want[i][0], want[i][1], want[i][0], want[i][1]);
			goto out;
		}
	}
	ret = 0;
out:
	sr_db_release(pool, db);
	return ret;
}

static int run(const struct vaultd_config *c)
{
	struct vault_app app;
	struct vault_hsm_watch *hsm_watch = NULL;
	struct sweeper sweeper;
	struct vault_connector connector;
	bool connector_ok = false;
	struct vault_connector adyen;
	bool adyen_ok = false;
	struct vault_routing routing;
	bool routing_ok = false;
	struct sr_db_pool *db = NULL;
	struct hsm *h = NULL;
	struct vault_egress *eg = NULL;
	struct sr_http_server *pub = NULL;
	struct sr_http_server *internal = NULL;
	struct sr_http_server *admin_srv = NULL;
	/* ADR 0118: the listeners' keys sign in the HSM (the public key and
	 * the internal key, the admin listener serving the internal identity). */
	struct vault_tls_signer sign_pub, sign_int, sign_egress;
	struct sr_admin admin;
	struct vault_keys *keys = NULL;
	struct vault_key_labels labels;
	char allow[300];
	char allow_adyen[300];
	const char *allowlist[3] = { allow, NULL, NULL };
	char *psp[4] = { NULL, NULL, NULL, NULL };   /* platform PSP secrets, guarded */
	char msg[512] = "";
	char err[512] = "";
	sigset_t sigs;
	int sig = 0;
	int ret = 1;
	int i;

	memset(&app, 0, sizeof app);
	memset(&sweeper, 0, sizeof sweeper);
	memset(&connector, 0, sizeof connector);
	memset(&adyen, 0, sizeof adyen);
	memset(&routing, 0, sizeof routing);
	memset(&admin, 0, sizeof admin);

	/* Signals are taken by sigwait in this thread only: block them before
	 * any thread starts so every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* PCI DSS 3.3.1 / 3.5.1: no core dumps, no ptrace of the process
	 * that holds plaintext card data. */
	if (sr_secret_harden_process() != 0) {
		snprintf(msg, sizeof msg, "cannot harden the process (core dumps / ptrace)");
		goto out;
	}

	db = sr_db_pool_new(c->db_host, c->db_port, c->db_name, c->db_user, c->db_password_file,
	                    (size_t)(2 * c->threads + 1), err, sizeof err);
	if (db == NULL) {
		snprintf(msg, sizeof msg, "database: %s", err);
		goto out;
	}
	/* vaultd never forks: PKCS#11 is initialised in the final process. */
	if (hsm_open(c->pkcs11_module, c->hsm_token_label, c->hsm_pin_file,
	             (size_t)c->hsm_sessions, &h, err, sizeof err) != 0) {
		snprintf(msg, sizeof msg, "hsm: %s", err);
		goto out;
	}
	/* The current key versions (key_versions, ADR 0074): rotation changes
	 * them while vaultd runs; at start they must be on the token. */
	keys = vault_keys_new();
	if (keys == NULL || vault_keys_current(keys, db, &labels, err, sizeof err) != 0) {
		snprintf(msg, sizeof msg, "%s", keys == NULL ? "out of memory" : err);
		goto out;
	}
	if (check_key(h, labels.pan, CKK_AES, c->hsm_keys_wrappable, msg, sizeof msg) != 0 ||
	    check_key(h, labels.fp, CKK_GENERIC_SECRET, c->hsm_keys_wrappable, msg,
	              sizeof msg) != 0 ||
	    check_key(h, HSM_KEY_AUDIT_HMAC, CKK_GENERIC_SECRET, c->hsm_keys_wrappable, msg,
	              sizeof msg) != 0)
		goto out;

	if (vault_tls_signer_init(&sign_pub, h, "public") != 0 ||
	    vault_tls_signer_init(&sign_int, h, "internal") != 0 ||
	    vault_tls_signer_init(&sign_egress, h, "egress") != 0) {
		snprintf(msg, sizeof msg, "cannot set up the TLS key signers");
		goto out;
	}
	/* The platform's PSP secrets, opened from their sealed form into guarded
	 * memory (ADR 0120); the connectors keep their own copies. */
	if (platform_secrets(db, h, c, psp, msg, sizeof msg) != 0)
		goto out;

	snprintf(allow, sizeof allow, "%s:%lld", c->psp_stripe_host, c->psp_stripe_port);
	if (c->psp_adyen_merchant_account != NULL) {
		/* Egress allowlist: the Adyen endpoint too (PCI DSS 1.4.2 / 1.3.2). */
		snprintf(allow_adyen, sizeof allow_adyen, "%s:%lld", c->psp_adyen_host, c->psp_adyen_port);
		allowlist[1] = allow_adyen;
	}
	{
		struct vault_egress_config ec = {
			.ca_file = c->psp_ca,
			.cert_file = c->psp_client_cert,
			.signer = &sign_egress.signer,
			.allowlist = allowlist,
			.timeout_ms = (unsigned)c->psp_timeout_ms,
		};

		eg = vault_egress_new(&ec, err, sizeof err);
		if (eg == NULL) {
			snprintf(msg, sizeof msg, "egress: %s", err);
			goto out;
		}
	}
	{
		struct stripe_config sc = {
			.host = c->psp_stripe_host,
			/* "": resolve psp_stripe_host by DNS. */
			.addr = c->psp_stripe_addr[0] != '\0' ? c->psp_stripe_addr : NULL,
			.port = (unsigned)c->psp_stripe_port,
			.api_key = psp[0],
			.webhook_secret = psp[1],
		};

		if (vault_stripe_init(&connector, &sc, err, sizeof err) != 0) {
			snprintf(msg, sizeof msg, "stripe connector: %s", err);
			goto out;
		}
		connector_ok = true;
	}
	if (c->psp_adyen_merchant_account != NULL) {
		struct adyen_config ac = {
			.host = c->psp_adyen_host,
			.addr = c->psp_adyen_addr[0] != '\0' ? c->psp_adyen_addr : NULL,
			.port = (unsigned)c->psp_adyen_port,
			.api_key = psp[2],
			.merchant_account = c->psp_adyen_merchant_account,
			.hmac_key = psp[3],
			.return_url = c->psp_adyen_return_url,
		};

		if (vault_adyen_init(&adyen, &ac, err, sizeof err) != 0) {
			snprintf(msg, sizeof msg, "adyen connector: %s", err);
			goto out;
		}
		adyen_ok = true;
	}
	for (i = 0; i < 4; i++) {    /* the connectors hold their own copies */
		sr_secret_free(psp[i]);
		psp[i] = NULL;
	}

	app.db = db;
	app.hsm = h;
	app.keys = keys;
	app.egress = eg;
	app.connector = &connector;
	app.connectors[app.n_connectors++] = &connector;
	if (adyen_ok)
		app.connectors[app.n_connectors++] = &adyen;
	if (vault_routing_init(&routing, &app, c->routing_countries, c->routing_regions,
	                       c->routing_default, err, sizeof err) != 0) {
		snprintf(msg, sizeof msg, "routing: %s", err);
		goto out;
	}
	routing_ok = true;
	app.routing = &routing;
	app.psp_retry_max = (int)c->psp_retry_max;
	app.psp_retry_backoff_ms = (unsigned)c->psp_retry_backoff_ms;
	app.gateway_peer = c->gateway_peer;
	app.cvc_ttl_seconds = c->cvc_ttl_seconds;
	app.rl_ip = vault_ratelimit_new((double)c->rl_ip_rate / 60.0, (double)c->rl_ip_burst, 8192);
	app.rl_key = vault_ratelimit_new((double)c->rl_key_rate / 60.0, (double)c->rl_key_burst,
	                                 4096);
	app.pkcache = vault_pkcache_new(1024);
	/* ADR 0101: up to 64 rows per transaction (more wait for the next). */
	app.tokens = vault_token_writer_new(db, VAULT_TOKEN_BATCH_MAX);
	if (app.rl_ip == NULL || app.rl_key == NULL || app.pkcache == NULL || app.tokens == NULL) {
		snprintf(msg, sizeof msg, "cannot allocate the rate limiters and token writer");
		goto out;
	}

	{
		struct sr_http_config pc = {
			.bind_addr = c->public_listen,
			.port = (uint16_t)c->public_port,
			.cert_file = c->tls_cert_public,
			.signer = &sign_pub.signer,
			.client_ca_file = NULL,
			.peer_name = NULL,
			.max_body = MAX_BODY_PUBLIC,
			/* ADR 0102: browsers' tokenize requests, one thread per connection. */
			.max_connections = (unsigned)c->public_max_connections,
			.routes = public_routes,
			.n_routes = sizeof public_routes / sizeof public_routes[0],
			.app = &app,
			.name = "vault-public",
			.max_per_ip = c->limits.max_per_ip,
			.accept_rate = c->limits.accept_rate,
			.accept_burst = c->limits.accept_burst,
			.handshake_timeout_s = c->limits.handshake_timeout_s,
		};

		pub = sr_http_start(&pc, err, sizeof err);
		if (pub == NULL) {
			snprintf(msg, sizeof msg, "public listener: %s", err);
			goto out;
		}
	}
	{
		/* invariant 5, docs/invariants.md: mutual TLS, only the gateway's identity. */
		struct sr_http_config ic = {
			.bind_addr = c->internal_listen,
			.port = (uint16_t)c->internal_port,
			.cert_file = c->tls_cert_internal,
			.signer = &sign_int.signer,
			.client_ca_file = c->client_ca,
			.peer_name = c->gateway_peer,
			.max_body = MAX_BODY_INTERNAL,
			.threads = (unsigned)c->threads,
			.routes = internal_routes,
			.n_routes = sizeof internal_routes / sizeof internal_routes[0],
			.app = &app,
			.name = "vault-internal",
			/* Nothing the gateway sends may carry a card number: the
			 * customer reference, ids, credentials, PSP webhooks are
			 * refused in any PAN shape before they are stored or a token
			 * is spent (ADR 0106). */
			.refuse_pan = 1,
			/* ADR 0109: the gateway is the only client (mutual TLS,
			 * nftables); its connections must not meet a per-address
			 * cap. The handshake deadline applies. */
			.max_per_ip = 100000,
			.accept_rate = 1000000,
			.accept_burst = 1000000,
			.handshake_timeout_s = c->limits.handshake_timeout_s,
		};

		internal = sr_http_start(&ic, err, sizeof err);
		if (internal == NULL) {
			snprintf(msg, sizeof msg, "internal listener: %s", err);
			goto out;
		}
	}
	if (c->admin_port != 0) {
		/* ADR 0051: loopback admin listener, TLS with the internal
		 * certificate, health/readiness/metrics only. */
		struct sr_http_config ac = {
			.bind_addr = c->admin_listen,
			.port = (uint16_t)c->admin_port,
			.cert_file = c->tls_cert_internal,
			.signer = &sign_int.signer,
			.max_body = 1024,
			.threads = 1,
			.routes = SR_ADMIN_ROUTES,
			.n_routes = SR_ADMIN_N_ROUTES,
			.app = &admin,
			.name = "vault-admin",
			.max_per_ip = c->limits.max_per_ip,
			.accept_rate = c->limits.accept_rate,
			.accept_burst = c->limits.accept_burst,
			.handshake_timeout_s = c->limits.handshake_timeout_s,
		};

		admin.db = db;
		admin.cert_files[0] = c->tls_cert_public;
		admin.cert_files[1] = c->tls_cert_internal;
		admin.cert_files[2] = c->psp_client_cert;
		admin.cert_min_days = c->readyz_cert_min_days;
		admin.checks[0].name = "hsm";
		admin.checks[0].fn = hsm_ready;
		admin.checks[0].arg = &app;
		admin.n_checks = 1;
		sr_admin_watch_db_pool(db, "vault");
		admin_srv = sr_http_start(&ac, err, sizeof err);
		if (admin_srv == NULL) {
			snprintf(msg, sizeof msg, "admin listener: %s", err);
			goto out;
		}
	}
	if (sweeper_start(&sweeper, db, c->sweep_interval_seconds) != 0) {
		snprintf(msg, sizeof msg, "cannot start the CVC sweeper thread");
		goto out;
	}
	/* Issue 16: the keys are checked every second and the HSM re-opened
	 * when they stop working (a token restored, an HSM rebooted). */
	hsm_watch = vault_hsm_watch_start(&app, 1000);
	if (hsm_watch == NULL) {
		snprintf(msg, sizeof msg, "cannot start the HSM watchdog");
		goto out;
	}

	sr_log(SR_LOG_INFO, NULL, "vaultd.started",
	       "{s:s, s:I, s:s, s:I, s:s, s:s, s:I}",
	       "public", c->public_listen, "public_port", (json_int_t)c->public_port,
	       "internal", c->internal_listen, "internal_port", (json_int_t)c->internal_port,
	       "gateway_peer", c->gateway_peer, "psp", allow,
	       "cvc_ttl_seconds", (json_int_t)c->cvc_ttl_seconds);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP) {
			/* ADR 0052: renewed certificates without a restart. */
			sr_http_reload(pub, err, sizeof err);
			sr_http_reload(internal, err, sizeof err);
			sr_http_reload(admin_srv, err, sizeof err);
		}
	}
	sr_log(SR_LOG_INFO, NULL, "vaultd.stopping", "{s:s}", "signal",
	       sig == SIGTERM ? "SIGTERM" : "SIGINT");
	/* ADR 0051: finish in-flight requests, bounded; both listeners drain
	 * concurrently in effect (the second wait starts after the first, but
	 * both stopped accepting before either waits). */
	{
		unsigned grace = (unsigned)c->shutdown_grace_seconds * 1000u;

		sr_http_drain(internal, 0);
		sr_http_drain(pub, grace);
		sr_http_drain(internal, grace);
	}
	ret = 0;
out:
	if (ret != 0 && msg[0] != '\0') {
		sr_log(SR_LOG_ERROR, NULL, "vaultd.start_failed", "{s:s}", "error", msg);
		fprintf(stderr, "vaultd: %s\n", msg);
	}
	/* Stop accepting first, then background work, then the resources. */
	sr_http_stop(admin_srv);
	sr_http_stop(pub);
	sr_http_stop(internal);
	sweeper_stop(&sweeper);
	vault_hsm_watch_stop(hsm_watch);
	if (connector_ok)
		vault_stripe_free(&connector);
	if (adyen_ok)
		vault_adyen_free(&adyen);
	if (routing_ok)
		vault_routing_free(&routing);
	vault_egress_free(eg);
	for (i = 0; i < 4; i++)
		sr_secret_free(psp[i]);
	vault_ratelimit_free(app.rl_ip);
	vault_ratelimit_free(app.rl_key);
	vault_pkcache_free(app.pkcache);
	vault_token_writer_free(app.tokens);
	hsm_close(h);
	vault_keys_free(keys);
	sr_db_pool_free(db);
	if (ret == 0)
		sr_log(SR_LOG_INFO, NULL, "vaultd.stopped", NULL);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", optional_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, SR_OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct vaultd_config c;
	const char *path = NULL;
	bool check_only = false;
	json_t *cfg = NULL;
	char err[512] = "";
	int opt;
	int ret = 1;

	sr_log_init("vaultd");
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			if (optarg != NULL)
				path = optarg;
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case SR_OPT_VERSION:
			return sr_version_print("vaultd");
		default:
			usage(stderr);
			return 2;
		}
	}
	/* --check-config FILE, --check-config=FILE or --config FILE --check-config */
	if (check_only && path == NULL && optind == argc - 1)
		path = argv[optind++];
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	cfg = sr_config_load(path, vaultd_config_keys, err, sizeof err);
	if (cfg == NULL) {
		fprintf(stderr, "vaultd: %s\n", err);
		goto out;
	}
	if (vaultd_config_read(cfg, path, &c, err, sizeof err) != 0) {
		fprintf(stderr, "vaultd: %s\n", err);
		goto out;
	}
	if (check_only) {
		printf("vaultd: %s: configuration OK\n", path);
		ret = 0;
		goto out;
	}
	ret = run(&c);
out:
	json_decref(cfg);
	return ret;
}
