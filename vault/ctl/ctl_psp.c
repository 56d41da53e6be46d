/*
 * vaultctl: the platform's PSP secrets (issue 28, ADR 0120).
 *   psp load CONNECTOR NAME FILE   seal FILE's value in the HSM under dual control
 *   psp list                       what is loaded: last 4 characters, key, who, when
 * Both need --config (vaultd's configuration: its database and HSM).
 */
#include "vault/ctl/vaultctl.h"
#include "vault/connectors/vault_psp_platform.h"
#include "vault/crypto/vault_keys.h"
#include "common/sr_secret.h"

#include <stdio.h>
#include <string.h>

/*
 * psp load CONNECTOR NAME FILE: the value in FILE (one line, mode 0600, read
 * into guarded memory) sealed inside the HSM under the current pan-enc key
 * and stored in the vault database, after two different custodians approved
 * the request (PCI DSS v4.0 3.6.1.2, 3.7.6, 8.6.3). The request, every
 * refusal and the load are on the signed ceremony transcript, with the last 4
 * characters only. vaultd reads it at its next start.
 */
int cmd_psp_load(const struct opts *o, const char *connector, const char *name, const char *file)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	char err[512] = "", who[2 * HSM_CUSTODIAN_NAME_MAX + 2], l4[5] = "";
	struct vault_key_labels cur;
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	char *value = NULL;
	size_t len = 0;
	int r, ret;

	if (!vault_psp_platform_name_ok(connector, name)) {
		fprintf(stderr, "vaultctl: psp load stripe|adyen api_key|webhook_secret FILE\n");
		return EXIT_USAGE;
	}
	/* Checked before anyone is asked to approve it; never echoed. */
	value = sr_secret_read_file(file, &len, err, sizeof err);
	if (value == NULL) {
		fprintf(stderr, "vaultctl: psp load: %s\n", err);
		return EXIT_USAGE;
	}
	if (!vault_psp_platform_value_ok(connector, name, value)) {
		fprintf(stderr, "vaultctl: psp load: %s: the value must be one line of 8..256 visible "
		        "ASCII characters%s\n", file,
		        strcmp(connector, "adyen") == 0 && strcmp(name, VAULT_PSP_PLATFORM_WEBHOOK) == 0
		        ? " (Adyen's HMAC key: hex, at least 32 digits)" : "");
		sr_secret_free(value);
		return EXIT_USAGE;
	}
	memcpy(l4, value + len - 4, 4);
	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	if (vault_keys_read(db, &cur, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: psp load: %s\n", err);
		goto out;
	}
	r = dual_control(h, o, "psp-secret-load-requested",
	                 json_pack("{s:s, s:s, s:s, s:s}", "connector", connector, "name", name,
	                           "last4", l4, "key", cur.pan), names);
	if (r != EXIT_OK) {
		ret = r;
		goto out;
	}
	snprintf(who, sizeof who, "%s,%s", names[0], names[1]);
	if (vault_psp_platform_put(db, h, cur.pan, connector, name, value, who, err,
	                           sizeof err) != 0) {
		fprintf(stderr, "vaultctl: psp load: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "psp-secret-loaded",
	           json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s,s]}", "connector", connector, "name",
	                     name, "last4", l4, "sealed_under", cur.pan, "effective",
	                     "vaultd's next start", "custodians", names[0], names[1])) != 0)
		goto out;
	printf("%s %s ...%s sealed under %s; vaultd uses it from its next start. Destroy the "
	       "file %s now (shred -u)\n", connector, name, l4, cur.pan, file);
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	sr_secret_free(value);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}

/* psp list: one JSON object per line, never a value. */
int cmd_psp_list(const struct opts *o)
{
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL, *list = NULL, *row = NULL;
	PGconn *db = NULL;
	char err[512] = "";
	size_t i;
	int ret;

	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	list = vault_psp_platform_list(db, err, sizeof err);
	if (list == NULL) {
		fprintf(stderr, "vaultctl: psp list: %s\n", err);
		goto out;
	}
	json_array_foreach(list, i, row) {
		char *line = json_dumps(row, JSON_COMPACT);

		if (line == NULL)
			goto out;
		printf("%s\n", line);
		free(line);
	}
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	json_decref(list);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}
