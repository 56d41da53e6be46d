/*
 * vaultd_config: vaultd's configuration, read and checked (docs/configuration.md
 * lists every key, its default and unit).
 */
#ifndef VAULT_VAULTD_CONFIG_H
#define VAULT_VAULTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/sr_http.h"

/* The keys vaultd accepts; NULL-terminated (sr_config_load refuses others). */
extern const char *const vaultd_config_keys[];

struct vaultd_config {
	const char *public_listen, *internal_listen;
	long long public_port, internal_port;
	/* The listeners' certificates; their keys are in the HSM (ADR 0118). */
	const char *tls_cert_public, *tls_cert_internal;
	const char *client_ca, *gateway_peer;
	const char *db_host, *db_name, *db_user, *db_password_file;
	char db_port[16];
	const char *pkcs11_module, *hsm_token_label, *hsm_pin_file;
	long long hsm_sessions;
	bool hsm_keys_wrappable;   /* ADR 0073: backup-capable (wrap-only extractable) keys */
	const char *psp_ca, *psp_client_cert;   /* the egress key is in the HSM (ADR 0118) */
	/* The platform's PSP secrets are sealed in the vault database (ADR 0120). */
	const char *psp_stripe_host, *psp_stripe_addr;
	long long psp_stripe_port;
	long long threads, public_max_connections, cvc_ttl_seconds, sweep_interval_seconds;
	const char *admin_listen;
	long long admin_port, shutdown_grace_seconds, readyz_cert_min_days;
	long long rl_ip_rate, rl_ip_burst, rl_key_rate, rl_key_burst;
	struct sr_http_config limits;   /* ADR 0109: only the per-address limits are set */
	const char *psp_adyen_host, *psp_adyen_addr;
	/* Set: the adyen connector is configured (its secrets sealed, ADR 0120). */
	const char *psp_adyen_merchant_account, *psp_adyen_return_url;
	long long psp_adyen_port;
	const json_t *routing_countries, *routing_regions;   /* borrowed from the loaded config */
	const char *routing_default;
	long long psp_retry_max, psp_retry_backoff_ms, psp_timeout_ms;
};

/*
 * vaultd_config_read - fill c from the loaded configuration cfg (read from
 * path, named in errors). Strings in c are borrowed from cfg and live as
 * long as it does. Secrets are not read here, only their file names: secrets
 * come from files or systemd credentials, never the environment or the
 * command line (PCI DSS v4.0 8.3.2).
 * @return 0, or -1 with msg naming the file and key.
 */
int vaultd_config_read(const json_t *cfg, const char *path, struct vaultd_config *c, char *msg,
                       size_t msglen);

#endif
