/*
 * vaultctl audit verify: walk the PAN decryption audit chain
 * (vault/audit/vault_audit.h).
 */
#include "vault/ctl/vaultctl.h"
#include "vault/audit/vault_audit.h"

#include <stdio.h>

/* PCI DSS v4.0 10.3.2 / 10.7: detect any change to the decryption audit. */
int cmd_audit_verify(const struct opts *o)
{
	struct vault_audit_report rep;
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	json_error_t jerr;
	PGconn *db = NULL;
	char port[16];
	char err[512] = "";
	const json_t *jp = NULL;
	int ret = EXIT_OP;
	int rc;

	if (o->config == NULL) {
		fprintf(stderr, "vaultctl: audit verify needs --config (vaultd's configuration)\n");
		return EXIT_USAGE;
	}
	cfg = json_load_file(o->config, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(cfg)) {
		fprintf(stderr, "vaultctl: %s: line %d: %s\n", o->config, jerr.line, jerr.text);
		goto out;
	}
	jp = json_object_get(cfg, "db_port");
	if (json_is_integer(jp))
		snprintf(port, sizeof port, "%lld", (long long)json_integer_value(jp));
	else
		snprintf(port, sizeof port, "%s", json_is_string(jp) ? json_string_value(jp) : "5432");
#define CFG(k, d) (json_is_string(json_object_get(cfg, k)) ? \
	json_string_value(json_object_get(cfg, k)) : (d))
	pool = sr_db_pool_new(CFG("db_host", "127.0.0.1"), port, CFG("db_name", "vault"),
	                      CFG("db_user", "vault"), CFG("db_password_file", NULL), 1, err,
	                      sizeof err);
	if (pool == NULL) {
		fprintf(stderr, "vaultctl: database: %s\n", err);
		goto out;
	}
	if (hsm_open(CFG("pkcs11_module", o->module), CFG("hsm_token_label", o->label),
	             CFG("hsm_pin_file", o->pin_file), 1, &h, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: hsm: %s\n", err);
		goto out;
	}
#undef CFG
	db = sr_db_acquire(pool);
	rc = vault_audit_verify(db, h, &rep, err, sizeof err);
	sr_db_release(pool, db);
	if (rc < 0) {
		fprintf(stderr, "vaultctl: audit verify: %s\n", err);
		goto out;
	}
	if (rc == 1) {
		printf("audit chain BROKEN at record %lld: %s (%lld records before it verified)\n",
		       rep.first_bad, rep.reason, rep.records);
		ret = EXIT_TAMPERED;
		goto out;
	}
	printf("audit chain intact: %lld records verified\n", rep.records);
	ret = EXIT_OK;
out:
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}
