/*
 * vaultctl audit verify: walk the PAN decryption audit chain
 * (vault/audit/vault_audit.h).
 */
#include "vault/ctl/vaultctl.h"
#include "vault/audit/vault_audit.h"

#include <stdio.h>

/*
 * PCI DSS v4.0 10.3.2 / 10.3.4 / 10.7: detect any change to the decryption
 * audit: records, the head's MAC and count, the signed checkpoints (ADR 0111).
 */
int cmd_audit_verify(const struct opts *o)
{
	struct vault_audit_report rep;
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	char err[512] = "";
	int ret;
	int rc;

	if (o->config == NULL) {
		fprintf(stderr, "vaultctl: audit verify needs --config (vaultd's configuration)\n");
		return EXIT_USAGE;
	}
	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	rc = vault_audit_verify(db, h, &rep, err, sizeof err);
	sr_db_release(pool, db);
	if (rc < 0) {
		fprintf(stderr, "vaultctl: audit verify: %s\n", err);
		goto out;
	}
	if (rc == 1) {
		printf("audit chain BROKEN at record %lld: %s (%lld records, %lld checkpoints "
		       "verified)\n", rep.first_bad, rep.reason, rep.records, rep.checkpoints);
		ret = EXIT_TAMPERED;
		goto out;
	}
	printf("audit chain intact: %lld records verified, head MAC and count good, %lld signed "
	       "checkpoints (the newest at record %lld)\n", rep.records, rep.checkpoints,
	       rep.last_checkpoint);
	ret = EXIT_OK;
out:
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}
