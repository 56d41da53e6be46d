/*
 * gw_config: the configuration shared by gatewayd and gatewayctl (one JSON
 * file, sr_config; unknown keys are errors). Paths are relative to the
 * working directory (the repo root in the dev stack).
 *
 * Keys: listen ("127.0.0.1"), port (8443), tls_cert, tls_key, db_host
 * ("127.0.0.1"), db_port (55432), db_name ("gateway"), db_user ("gateway"),
 * db_password_file (optional), vault_url
 * ("https://vault-internal.strongroom.test:8445"), vault_addr ("127.0.0.1"),
 * vault_ca, vault_client_cert, vault_client_key, threads (4);
 * issue 4: workers (1: run the lifecycle workers; 0: not), worker_interval_ms
 * (1000), auto_void_after_s (604800: uncaptured authorizations are voided
 * after 7 days), three_ds_expiry_s (900: abandoned challenges fail),
 * idempotency_lease_s (75: a live owner's in-progress key is taken over
 * after this; a dead owner's at once, ADR 0113); issue 28: trusted_proxies
 * (none: X-Forwarded-For is never read; ADR 0119); issue 19: mode ("live";
 * "test": the dev stack's POST /v1/test_helpers/payments/{id}/3ds and
 * return_url to http://localhost, ADR 0131), challenge_ca (the CA the test
 * helper trusts for the PSP's challenge page; none: the system's),
 * challenge_addr (the address it connects to for the challenge host; none: DNS).
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct sr_db_pool;
struct gw_vault_client;
struct gw_cidr;

/** NULL-terminated list of the allowed keys. */
extern const char *const GW_CONFIG_KEYS[];

/** Whether cfg sets "mode": "test" (the dev stack; "live" by default, ADR 0131). */
bool gw_config_test_mode(const json_t *cfg);

/** Load and check path (types, required keys, port range). NULL + err on failure. */
json_t *gw_config_load(const char *path, char *err, size_t errlen);

/** Open the database pool (pool_size connections) from cfg. NULL + err. */
struct sr_db_pool *gw_config_db(const json_t *cfg, size_t pool_size, char *err, size_t errlen);

/** Create the vault client from cfg. NULL + err. */
struct gw_vault_client *gw_config_vault(const json_t *cfg, char *err, size_t errlen);

/**
 * The audit spool's path (issue 16, gw_audit_spool.h) into out[outlen]:
 * audit_spool_file; else $STATE_DIRECTORY/audit.spool (systemd's
 * StateDirectory=, its first entry); else var/lib/gatewayd/audit.spool
 * (relative to the working directory, as in the development stack).
 * @return 0, or -1 (does not fit).
 */
int gw_config_audit_spool(const json_t *cfg, char *out, size_t outlen);

/**
 * The trusted proxies of cfg (trusted_proxies: a JSON array of addresses or
 * networks ADDRESS/LEN, gw_cidr_parse) into out[max]; *n their count (0
 * when absent: X-Forwarded-For is never read, ADR 0119). path names the
 * file in messages. @return 0, or -1 with err naming the key and the
 * entry's index (never its value).
 */
int gw_config_trusted_proxies(const json_t *cfg, const char *path, struct gw_cidr *out,
                              size_t max, size_t *n, char *err, size_t errlen);

#endif
