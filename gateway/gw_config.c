/*
 * gw_config: gateway configuration (see gw_config.h).
 */
#include "gateway/gw_config.h"
#include "gateway/api/gw_source.h"
#include "gateway/vault_client/gw_vault_client.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const GW_CONFIG_KEYS[] = {
	"listen", "port", "tls_cert", "tls_key", "db_host", "db_port", "db_name", "db_user",
	"db_password_file", "vault_url", "vault_addr", "vault_ca", "vault_client_cert",
	"vault_client_key", "threads",
	"admin_listen", "admin_port", "shutdown_grace_seconds", "readyz_cert_min_days",
	/* issue 4: lifecycle workers, idempotency lease */
	"workers", "worker_interval_ms", "auto_void_after_s", "three_ds_expiry_s",
	"idempotency_lease_s", "rate_limit_per_s", "rate_limit_burst",
	"rate_limit_ip_per_s", "rate_limit_ip_burst",
	/* issue 5: webhooks to merchants */
	"webhook_secret_key_file", "webhook_dispatcher", "webhook_interval_ms",
	"webhook_backoff_base_ms", "webhook_backoff_cap_ms", "webhook_max_age_s",
	"webhook_timeout_ms", "webhook_allow_private", "webhook_ca",
	/* issue 16: audit records waiting for the database */
	"audit_spool_file",
	/* issue 28: proxies whose X-Forwarded-For is believed (ADR 0119) */
	"trusted_proxies",
	/* issue 19: the test helpers, return_url to http://localhost (ADR 0131) */
	"mode", "challenge_ca", "challenge_addr",
	SR_HTTP_LIMIT_KEYS, /* issue 15: hostile clients (ADR 0109) */
	NULL,
};

/* Integer keys of issue 4 and their ranges. */
static const struct {
	const char *key;
	long long lo, hi;
} INT_KEYS[] = {
	{ "workers", 0, 1 },
	{ "worker_interval_ms", 50, 600000 },
	{ "auto_void_after_s", 1, 30LL * 86400 },
	{ "three_ds_expiry_s", 1, 86400 },
	{ "idempotency_lease_s", 1, 3600 },
	{ "rate_limit_per_s", 0, 1000000 },
	{ "rate_limit_burst", 1, 1000000 },
	{ "rate_limit_ip_per_s", 0, 1000000 },
	{ "rate_limit_ip_burst", 1, 1000000 },
	{ "webhook_dispatcher", 0, 1 },
	{ "webhook_interval_ms", 50, 600000 },
	{ "webhook_backoff_base_ms", 10, 86400000 },
	{ "webhook_backoff_cap_ms", 10, 7LL * 86400000 },
	{ "webhook_max_age_s", 1, 30LL * 86400 },
	{ "webhook_timeout_ms", 100, 120000 },
	{ "webhook_allow_private", 0, 1 },
};

static const char *const STRING_KEYS[] = {
	"listen", "tls_cert", "tls_key", "db_host", "db_name", "db_user", "db_password_file",
	"vault_url", "vault_addr", "vault_ca", "vault_client_cert", "vault_client_key",
	"admin_listen", "webhook_secret_key_file", "webhook_ca", "audit_spool_file",
	"mode", "challenge_ca", "challenge_addr", NULL,
};

static const char *const REQUIRED_KEYS[] = {
	"vault_ca", "vault_client_cert", "vault_client_key", NULL,
};

bool gw_config_test_mode(const json_t *cfg)
{
	return strcmp(sr_config_str(cfg, "mode", "live"), "test") == 0;
}

json_t *gw_config_load(const char *path, char *err, size_t errlen)
{
	json_t *cfg = NULL;
	json_t *ret = NULL;
	json_t *v = NULL;
	size_t i;

	cfg = sr_config_load(path, GW_CONFIG_KEYS, err, errlen);
	if (cfg == NULL)
		goto out;
	for (i = 0; STRING_KEYS[i] != NULL; i++) {
		v = json_object_get(cfg, STRING_KEYS[i]);
		if (v != NULL && !json_is_string(v)) {
			sr_config_error(err, errlen, path, STRING_KEYS[i], "must be a string");
			goto out;
		}
	}
	for (i = 0; REQUIRED_KEYS[i] != NULL; i++) {
		if (sr_config_str(cfg, REQUIRED_KEYS[i], NULL) == NULL) {
			sr_config_error(err, errlen, path, REQUIRED_KEYS[i], "is required");
			goto out;
		}
	}
	v = json_object_get(cfg, "mode");
	if (v != NULL && (!json_is_string(v) || (strcmp(json_string_value(v), "live") != 0 &&
	                                         strcmp(json_string_value(v), "test") != 0))) {
		sr_config_error(err, errlen, path, "mode", "must be \"live\" or \"test\"");
		goto out;
	}
	v = json_object_get(cfg, "port");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
	                  json_integer_value(v) > 65535)) {
		sr_config_error(err, errlen, path, "port", "must be an integer 1..65535");
		goto out;
	}
	v = json_object_get(cfg, "db_port");
	if (v != NULL && !json_is_integer(v) && !json_is_string(v)) {
		sr_config_error(err, errlen, path, "db_port", "must be an integer");
		goto out;
	}
	v = json_object_get(cfg, "admin_port");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	                  json_integer_value(v) > 65535)) {
		sr_config_error(err, errlen, path, "admin_port", "must be an integer 0..65535 (0: no admin listener)");
		goto out;
	}
	v = json_object_get(cfg, "shutdown_grace_seconds");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	                  json_integer_value(v) > 3600)) {
		sr_config_error(err, errlen, path, "shutdown_grace_seconds", "must be an integer 0..3600");
		goto out;
	}
	v = json_object_get(cfg, "readyz_cert_min_days");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	                  json_integer_value(v) > 3650)) {
		sr_config_error(err, errlen, path, "readyz_cert_min_days", "must be an integer 0..3650");
		goto out;
	}
	v = json_object_get(cfg, "threads");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 1 ||
	                  json_integer_value(v) > 256)) {
		sr_config_error(err, errlen, path, "threads", "must be an integer 1..256");
		goto out;
	}
	for (i = 0; i < sizeof INT_KEYS / sizeof INT_KEYS[0]; i++) {
		v = json_object_get(cfg, INT_KEYS[i].key);
		if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < INT_KEYS[i].lo ||
		                  json_integer_value(v) > INT_KEYS[i].hi)) {
			snprintf(err, errlen, "%s: '%s' must be an integer %lld..%lld", path, INT_KEYS[i].key,
			         INT_KEYS[i].lo, INT_KEYS[i].hi);
			goto out;
		}
	}
	{
		struct gw_cidr tp[GW_CIDR_MAX];
		size_t ntp;

		if (gw_config_trusted_proxies(cfg, path, tp, GW_CIDR_MAX, &ntp, err, errlen) != 0)
			goto out;
	}
	ret = cfg;
	cfg = NULL;
out:
	json_decref(cfg);
	return ret;
}

/* Whether trusted proxy network c holds every IPv4 or every IPv6 address:
 * every client would then be a trusted proxy and write its own source into
 * X-Forwarded-For (ADR 0119). */
static bool trusts_everyone(const struct gw_cidr *c)
{
	struct gw_cidr lo, hi;

	if (c->prefix == 0)
		return true;
	return gw_addr_parse("0.0.0.0", &lo) == 0 && gw_addr_parse("255.255.255.255", &hi) == 0 &&
	       gw_cidr_contains(c, &lo) && gw_cidr_contains(c, &hi);
}

int gw_config_trusted_proxies(const json_t *cfg, const char *path, struct gw_cidr *out,
                              size_t max, size_t *n, char *err, size_t errlen)
{
	json_t *v = json_object_get(cfg, "trusted_proxies");
	json_t *e = NULL;
	size_t i;

	*n = 0;
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max) {
		sr_config_error(err, errlen, path, "trusted_proxies",
		                "must be an array of at most %zu networks", max);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || gw_cidr_parse(json_string_value(e), &out[i]) != 0) {
			sr_config_error(err, errlen, path, "trusted_proxies",
			                "entry %zu is not an address or a network ADDRESS/LEN "
			                "without host bits", i);
			return -1;
		}
		if (trusts_everyone(&out[i])) {
			sr_config_error(err, errlen, path, "trusted_proxies",
			                "entry %zu holds every address: list the proxies' own "
			                "addresses", i);
			return -1;
		}
	}
	*n = json_array_size(v);
	return 0;
}

struct sr_db_pool *gw_config_db(const json_t *cfg, size_t pool_size, char *err, size_t errlen)
{
	char port[16];
	json_t *v = json_object_get(cfg, "db_port");

	if (json_is_string(v))
		snprintf(port, sizeof port, "%s", json_string_value(v));
	else
		snprintf(port, sizeof port, "%lld", sr_config_int(cfg, "db_port", 55432));
	return sr_db_pool_new(sr_config_str(cfg, "db_host", "127.0.0.1"), port,
	                      sr_config_str(cfg, "db_name", "gateway"),
	                      sr_config_str(cfg, "db_user", "gateway"),
	                      sr_config_str(cfg, "db_password_file", NULL), pool_size, err, errlen);
}

struct gw_vault_client *gw_config_vault(const json_t *cfg, char *err, size_t errlen)
{
	struct gw_vault_config vcfg = {
		.url = sr_config_str(cfg, "vault_url", "https://vault-internal.strongroom.test:8445"),
		.addr = sr_config_str(cfg, "vault_addr", "127.0.0.1"),
		.ca_file = sr_config_str(cfg, "vault_ca", NULL),
		.cert_file = sr_config_str(cfg, "vault_client_cert", NULL),
		.key_file = sr_config_str(cfg, "vault_client_key", NULL),
		.connect_timeout_ms = 5000,
		.timeout_ms = 30000,
	};
	size_t i;
	/* The key (a secret) is checked apart (sr_secret). */
	const char *files[2] = { vcfg.ca_file, vcfg.cert_file };
	char e[384];

	if (vcfg.key_file == NULL) {
		snprintf(err, errlen, "vault client: vault_client_key is required");
		return NULL;
	}
	/* Named here, before the client checks it again (sr_secret). */
	if (sr_secret_check_file(vcfg.key_file, NULL, 0, e, sizeof e) != 0) {
		snprintf(err, errlen, "vault client: vault_client_key: %s", e);
		return NULL;
	}
	for (i = 0; i < 2; i++) {
		if (files[i] == NULL || access(files[i], R_OK) != 0) {
			snprintf(err, errlen, "vault client: cannot read %s",
			         files[i] != NULL ? files[i] : "(missing path)");
			return NULL;
		}
	}
	return gw_vault_client_new(&vcfg, err, errlen);
}

int gw_config_audit_spool(const json_t *cfg, char *out, size_t outlen)
{
	const char *path = sr_config_str(cfg, "audit_spool_file", NULL);
	const char *state = getenv("STATE_DIRECTORY");
	int n;

	if (path != NULL && path[0] != '\0')
		n = snprintf(out, outlen, "%s", path);
	else if (state != NULL && state[0] != '\0')
		n = snprintf(out, outlen, "%.*s/audit.spool", (int)strcspn(state, ":"), state);
	else
		n = snprintf(out, outlen, "var/lib/gatewayd/audit.spool");
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}
