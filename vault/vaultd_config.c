/*
 * vaultd_config: vaultd's configuration, read and checked. See
 * vaultd_config.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sr_config.h"
#include "common/sr_http.h"
#include "common/sr_secret.h"
#include "vault/audit/vault_audit.h"
#include "vault/vaultd_config.h"

const char *const vaultd_config_keys[] = {
	"public_listen", "public_port", "internal_listen", "internal_port",
	"tls_cert_public", "tls_key_public", "tls_cert_internal", "tls_key_internal",
	"client_ca", "gateway_peer",
	"db_host", "db_port", "db_name", "db_user", "db_password_file",
	"pkcs11_module", "hsm_token_label", "hsm_pin_file", "hsm_sessions",
	"hsm_keys_wrappable",
	"psp_ca", "psp_client_cert", "psp_client_key",
	"psp_stripe_host", "psp_stripe_addr", "psp_stripe_port",
	"threads", "public_max_connections", "cvc_ttl_seconds", "sweep_interval_seconds",
	"admin_listen", "admin_port", "shutdown_grace_seconds", "readyz_cert_min_days",
	"rate_limit_ip_per_minute", "rate_limit_ip_burst",
	"rate_limit_key_per_minute", "rate_limit_key_burst",
	/* issue 5: the Adyen connector, routing, retries */
	"psp_adyen_host", "psp_adyen_addr", "psp_adyen_port",
	"psp_adyen_merchant_account", "psp_adyen_return_url",
	"routing_countries", "routing_regions", "routing_default",
	"psp_retry_max", "psp_retry_backoff_ms", "psp_timeout_ms",
	/* issue 15: signed checkpoints of the decryption audit (ADR 0111) */
	"audit_checkpoint_records", "audit_checkpoint_seconds",
	SR_HTTP_LIMIT_KEYS, /* issue 15: hostile clients (ADR 0109) */
	/* Removed (issue 28, ADR 0120): known only to be refused with a message
	 * naming the vaultctl command that replaces them. */
	"psp_stripe_api_key_file", "psp_stripe_webhook_secret_file", "psp_adyen_api_key_file",
	"psp_adyen_hmac_key_file",
	NULL,
};

/* The plaintext PSP secret settings issue 28 removed, and what replaces each
 * (ADR 0120): vaultctl psp load CONNECTOR NAME FILE under dual control. */
static const char *const removed_psp_files[][3] = {
	{ "psp_stripe_api_key_file", "stripe", "api_key" },
	{ "psp_stripe_webhook_secret_file", "stripe", "webhook_secret" },
	{ "psp_adyen_api_key_file", "adyen", "api_key" },
	{ "psp_adyen_hmac_key_file", "adyen", "webhook_secret" },
};

int vaultd_config_read(const json_t *cfg, const char *path, struct vaultd_config *c, char *msg,
                       size_t msglen)
{
	static const char *const required[] = {
		"tls_cert_public", "tls_cert_internal",
		"client_ca", "db_name", "db_user", "pkcs11_module", "hsm_token_label",
		"hsm_pin_file", "psp_ca", "psp_client_cert", NULL,
	};
	static const char *const files[] = {
		"tls_cert_public", "tls_cert_internal", "client_ca", "pkcs11_module", "psp_ca",
		"psp_client_cert", NULL,
	};
	/* PCI DSS 3.6.1 / 8.3.2: secrets are owner-only files (sr_secret). */
	static const char *const secrets[] = {
		"db_password_file", "hsm_pin_file", NULL,
	};
	/* Private-key files of the CDE's TLS roles: refused (ADR 0118). */
	static const char *const cde_key_files[] = { "tls_key_public", "tls_key_internal",
		                                     "psp_client_key", NULL };
	/* Objects (connector maps); every other key is a string or an integer. */
	static const char *const objects[] = { "routing_countries", "routing_regions", NULL };
	const json_t *jport = NULL;
	long long hsm_keys_wrappable;
	size_t i;

	memset(c, 0, sizeof *c);
	/* PCI DSS v4.0 3.5.1, 8.6.3: no PSP secret in a file (ADR 0120). */
	for (i = 0; i < sizeof removed_psp_files / sizeof removed_psp_files[0]; i++)
		if (json_object_get(cfg, removed_psp_files[i][0]) != NULL) {
			sr_config_error(msg, msglen, path, removed_psp_files[i][0],
			                "is removed: the platform's PSP secrets are sealed in the HSM "
			                "(ADR 0120); delete the setting and the file, after loading its "
			                "value with: vaultctl --config %s psp load %s %s FILE (two "
			                "custodians, hsm/ceremonies/psp-platform-secrets.md)", path,
			                removed_psp_files[i][1], removed_psp_files[i][2]);
			return -1;
		}
	for (i = 0; vaultd_config_keys[i] != NULL; i++) {
		const json_t *v = json_object_get(cfg, vaultd_config_keys[i]);
		bool obj = false;
		size_t k;

		for (k = 0; objects[k] != NULL; k++)
			obj = obj || strcmp(objects[k], vaultd_config_keys[i]) == 0;
		if (obj) {
			if (v != NULL && !json_is_object(v)) {
				sr_config_error(msg, msglen, path, vaultd_config_keys[i],
				                "must be an object of names to connector names");
				return -1;
			}
			continue;
		}
		if (v != NULL && !json_is_string(v) && !json_is_integer(v)) {
			sr_config_error(msg, msglen, path, vaultd_config_keys[i],
			                "must be a string or an integer");
			return -1;
		}
	}
	/* ADR 0118 (PCI DSS v4.0 3.6.1.2, 3.7.x): the CDE's TLS private keys are
	 * generated and used in the HSM only; a configuration naming a key file
	 * for one of them is refused, whatever the file holds. */
	for (i = 0; cde_key_files[i] != NULL; i++) {
		if (json_object_get(cfg, cde_key_files[i]) != NULL) {
			sr_config_error(msg, msglen, path, cde_key_files[i],
			                "names a private-key file, but the vault's TLS keys live in the "
			                "HSM only (vaultctl tls csr, ADR 0118): remove the setting");
			return -1;
		}
	}
	for (i = 0; required[i] != NULL; i++) {
		if (!json_is_string(json_object_get(cfg, required[i])) ||
		    json_string_length(json_object_get(cfg, required[i])) == 0) {
			sr_config_error(msg, msglen, path, required[i], "is required (a non-empty string)");
			return -1;
		}
	}
	for (i = 0; files[i] != NULL; i++) {
		const char *p = sr_config_str(cfg, files[i], NULL);

		if (p != NULL && access(p, R_OK) != 0) {
			sr_config_error(msg, msglen, path, files[i], "cannot read %s: %s", p,
			                strerror(errno));
			return -1;
		}
	}
	for (i = 0; secrets[i] != NULL; i++) {
		const char *p = sr_config_str(cfg, secrets[i], NULL);
		char e[384];

		if (p != NULL && sr_secret_check_file(p, NULL, 0, e, sizeof e) != 0) {
			sr_config_error(msg, msglen, path, secrets[i], "%s", e);
			return -1;
		}
	}
	c->public_listen = sr_config_str(cfg, "public_listen", "127.0.0.1");
	c->public_port = sr_config_int(cfg, "public_port", 8444);
	c->internal_listen = sr_config_str(cfg, "internal_listen", "127.0.0.1");
	c->internal_port = sr_config_int(cfg, "internal_port", 8445);
	c->tls_cert_public = sr_config_str(cfg, "tls_cert_public", NULL);
	c->tls_cert_internal = sr_config_str(cfg, "tls_cert_internal", NULL);
	c->client_ca = sr_config_str(cfg, "client_ca", NULL);
	c->gateway_peer = sr_config_str(cfg, "gateway_peer", "gateway.strongroom.internal");
	c->db_host = sr_config_str(cfg, "db_host", "127.0.0.1");
	c->db_name = sr_config_str(cfg, "db_name", NULL);
	c->db_user = sr_config_str(cfg, "db_user", NULL);
	c->db_password_file = sr_config_str(cfg, "db_password_file", NULL);
	/* db_port as a string ("55432") or an integer (55432). */
	jport = json_object_get(cfg, "db_port");
	if (json_is_integer(jport))
		snprintf(c->db_port, sizeof c->db_port, "%lld", (long long)json_integer_value(jport));
	else
		snprintf(c->db_port, sizeof c->db_port, "%s", sr_config_str(cfg, "db_port", "5432"));
	c->pkcs11_module = sr_config_str(cfg, "pkcs11_module", NULL);
	c->hsm_token_label = sr_config_str(cfg, "hsm_token_label", NULL);
	c->hsm_pin_file = sr_config_str(cfg, "hsm_pin_file", NULL);
	c->hsm_sessions = sr_config_int(cfg, "hsm_sessions", 4);
	hsm_keys_wrappable = sr_config_int(cfg, "hsm_keys_wrappable", 0);
	c->hsm_keys_wrappable = hsm_keys_wrappable == 1;
	c->psp_ca = sr_config_str(cfg, "psp_ca", NULL);
	c->psp_client_cert = sr_config_str(cfg, "psp_client_cert", NULL);
	c->psp_stripe_host = sr_config_str(cfg, "psp_stripe_host", "psp.strongroom.test");
	c->psp_stripe_addr = sr_config_str(cfg, "psp_stripe_addr", "127.0.0.1");
	c->psp_stripe_port = sr_config_int(cfg, "psp_stripe_port", 8446);
	c->threads = sr_config_int(cfg, "threads", 4);
	c->public_max_connections = sr_config_int(cfg, "public_max_connections", 256);
	c->cvc_ttl_seconds = sr_config_int(cfg, "cvc_ttl_seconds", 3540);
	c->sweep_interval_seconds = sr_config_int(cfg, "sweep_interval_seconds", 60);
	c->admin_listen = sr_config_str(cfg, "admin_listen", "127.0.0.1");
	c->admin_port = sr_config_int(cfg, "admin_port", 8448);
	c->shutdown_grace_seconds = sr_config_int(cfg, "shutdown_grace_seconds", 20);
	c->readyz_cert_min_days = sr_config_int(cfg, "readyz_cert_min_days", 14);
	c->rl_ip_rate = sr_config_int(cfg, "rate_limit_ip_per_minute", 1200);
	c->rl_ip_burst = sr_config_int(cfg, "rate_limit_ip_burst", 40);
	c->rl_key_rate = sr_config_int(cfg, "rate_limit_key_per_minute", 6000);
	c->rl_key_burst = sr_config_int(cfg, "rate_limit_key_burst", 200);
	if (c->rl_ip_rate < 0 || c->rl_key_rate < 0 || c->rl_ip_burst < 1 ||
	    c->rl_key_burst < 1 || c->rl_ip_rate > 10000000 || c->rl_key_rate > 10000000 ||
	    c->rl_ip_burst > 10000000 || c->rl_key_burst > 10000000) {
		snprintf(msg, msglen, "config: rate limits: per_minute 0..10000000, burst 1..10000000");
		return -1;
	}
	/* Browsers: a few connections each, some behind one address. */
	if (sr_http_config_limits(cfg, path, 64, &c->limits, msg, msglen) != 0)
		return -1;

	{
		static const char *const ports[] = { "public_port", "internal_port", "psp_stripe_port",
		                                     NULL };
		const long long vals[] = { c->public_port, c->internal_port, c->psp_stripe_port };

		for (i = 0; ports[i] != NULL; i++) {
			if (vals[i] < 1 || vals[i] > 65535) {
				sr_config_error(msg, msglen, path, ports[i], "must be 1..65535");
				return -1;
			}
		}
	}
	if (c->admin_port < 0 || c->admin_port > 65535) {
		sr_config_error(msg, msglen, path, "admin_port", "must be 0..65535 (0: no admin listener)");
		return -1;
	}
	if (c->shutdown_grace_seconds < 0 || c->shutdown_grace_seconds > 3600) {
		sr_config_error(msg, msglen, path, "shutdown_grace_seconds", "must be 0..3600");
		return -1;
	}
	if (c->readyz_cert_min_days < 0 || c->readyz_cert_min_days > 3650) {
		sr_config_error(msg, msglen, path, "readyz_cert_min_days", "must be 0..3650");
		return -1;
	}
	if (hsm_keys_wrappable != 0 && hsm_keys_wrappable != 1) {
		sr_config_error(msg, msglen, path, "hsm_keys_wrappable", "must be 0 or 1");
		return -1;
	}
	if (c->public_port == c->internal_port && strcmp(c->public_listen, c->internal_listen) == 0) {
		snprintf(msg, msglen, "config: public and internal listeners must differ");
		return -1;
	}
	if (c->threads < 1 || c->threads > 64) {
		sr_config_error(msg, msglen, path, "threads", "must be 1..64");
		return -1;
	}
	if (c->public_max_connections < 1 || c->public_max_connections > 4096) {
		sr_config_error(msg, msglen, path, "public_max_connections", "must be 1..4096");
		return -1;
	}
	if (c->hsm_sessions < 1 || c->hsm_sessions > 64) {
		sr_config_error(msg, msglen, path, "hsm_sessions", "must be 1..64");
		return -1;
	}
	/* PCI DSS 3.3.1.2 / invariant 4, docs/invariants.md: a CVC is kept at most one hour,
	 * counting the sweeper's interval: it may run that long after expiry. */
	if (c->cvc_ttl_seconds < 1 || c->cvc_ttl_seconds > 3599) {
		sr_config_error(msg, msglen, path, "cvc_ttl_seconds", "must be 1..3599");
		return -1;
	}
	if (c->sweep_interval_seconds < 1 ||
	    c->cvc_ttl_seconds + c->sweep_interval_seconds > 3600) {
		sr_config_error(msg, msglen, path, "sweep_interval_seconds",
		                "must be >= 1, and cvc_ttl_seconds + sweep_interval_seconds <= 3600");
		return -1;
	}
	{
		/* ADR 0111: signed checkpoints of the decryption audit. */
		long long cp_records = sr_config_int(cfg, "audit_checkpoint_records",
		                                     VAULT_AUDIT_CHECKPOINT_RECORDS);
		long long cp_seconds = sr_config_int(cfg, "audit_checkpoint_seconds",
		                                     VAULT_AUDIT_CHECKPOINT_SECONDS);

		if (cp_records < 0 || cp_records > 1000000000LL) {
			sr_config_error(msg, msglen, path, "audit_checkpoint_records",
			                "must be 0..1000000000 (0: not by count)");
			return -1;
		}
		if (cp_seconds < 0 || cp_seconds > 31536000LL ||
		    vault_audit_set_checkpoints(cp_records, cp_seconds) != 0) {
			sr_config_error(msg, msglen, path, "audit_checkpoint_seconds",
			                "must be 0..31536000 (0: not by time)");
			return -1;
		}
	}
	if (c->gateway_peer[0] == '\0' || c->psp_stripe_host[0] == '\0') {
		snprintf(msg, msglen, "config: gateway_peer and psp_stripe_host must be non-empty");
		return -1;
	}

	/* issue 5: the Adyen connector, configured when the platform's merchant
	 * account is set; its secrets are sealed in the vault database (ADR 0120). */
	c->psp_adyen_host = sr_config_str(cfg, "psp_adyen_host", "psp.strongroom.test");
	c->psp_adyen_addr = sr_config_str(cfg, "psp_adyen_addr", "");
	c->psp_adyen_port = sr_config_int(cfg, "psp_adyen_port", 443);
	c->psp_adyen_merchant_account = sr_config_str(cfg, "psp_adyen_merchant_account", NULL);
	c->psp_adyen_return_url = sr_config_str(cfg, "psp_adyen_return_url", NULL);
	if (c->psp_adyen_merchant_account != NULL &&
	    (c->psp_adyen_merchant_account[0] == '\0' || c->psp_adyen_host[0] == '\0' ||
	     c->psp_adyen_port < 1 || c->psp_adyen_port > 65535)) {
		sr_config_error(msg, msglen, path, "psp_adyen_merchant_account",
		                "must be non-empty, with psp_adyen_host and psp_adyen_port 1..65535");
		return -1;
	}
	c->routing_countries = json_object_get(cfg, "routing_countries");
	c->routing_regions = json_object_get(cfg, "routing_regions");
	c->routing_default = sr_config_str(cfg, "routing_default", "stripe");
	{
		/* Every connector named must be configured (checked again in run()). */
		const json_t *maps[] = { c->routing_countries, c->routing_regions };
		const char *names[] = { "routing_countries", "routing_regions" };
		const char *k = NULL;
		json_t *v = NULL;
		size_t m;

		for (m = 0; m < 2; m++) {
			json_object_foreach((json_t *)maps[m], k, v) {
				const char *n = json_string_value(v);

				if (n == NULL || !(strcmp(n, "stripe") == 0 ||
				                   (strcmp(n, "adyen") == 0 && c->psp_adyen_merchant_account != NULL))) {
					sr_config_error(msg, msglen, path, names[m],
					                "\"%.16s\" must name a configured connector (stripe, adyen)", k);
					return -1;
				}
			}
		}
		if (!(strcmp(c->routing_default, "stripe") == 0 ||
		      (strcmp(c->routing_default, "adyen") == 0 && c->psp_adyen_merchant_account != NULL))) {
			sr_config_error(msg, msglen, path, "routing_default", "must name a configured connector");
			return -1;
		}
	}
	c->psp_retry_max = sr_config_int(cfg, "psp_retry_max", 2);
	c->psp_retry_backoff_ms = sr_config_int(cfg, "psp_retry_backoff_ms", 100);
	if (c->psp_retry_max < 0 || c->psp_retry_max > 10) {
		sr_config_error(msg, msglen, path, "psp_retry_max", "must be 0..10");
		return -1;
	}
	c->psp_timeout_ms = sr_config_int(cfg, "psp_timeout_ms", 10000);
	if (c->psp_timeout_ms < 100 || c->psp_timeout_ms > 120000) {
		sr_config_error(msg, msglen, path, "psp_timeout_ms", "must be 100..120000");
		return -1;
	}
	if (c->psp_retry_backoff_ms < 1 || c->psp_retry_backoff_ms > 5000) {
		sr_config_error(msg, msglen, path, "psp_retry_backoff_ms", "must be 1..5000");
		return -1;
	}
	return 0;
}
