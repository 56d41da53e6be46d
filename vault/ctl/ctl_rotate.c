/*
 * vaultctl: online rotation (ADR 0074): keys rotate, keys reencrypt (tokens,
 * merchants' PSP credentials, the platform's PSP secrets), keys retire; and
 * the database and HSM named in vaultd's configuration (--config).
 */
#include "vault/ctl/vaultctl.h"
#include "vault/crypto/vault_keys.h"
#include "vault/connectors/vault_psp_creds.h"
#include "vault/connectors/vault_psp_platform.h"
#include "vault/tokens/vault_token.h"

#include <stdio.h>
#include <string.h>

/* The database pool and HSM named in vaultd's configuration (--config). */
int open_config(const struct opts *o, size_t sessions, json_t **cfg_out,
                       struct sr_db_pool **pool_out, struct hsm **h_out)
{
	json_error_t jerr;
	json_t *cfg = NULL;
	const json_t *jp = NULL;
	char port[16], err[512] = "";

	if (o->config == NULL) {
		fprintf(stderr, "vaultctl: this command needs --config (vaultd's configuration)\n");
		return EXIT_USAGE;
	}
	cfg = json_load_file(o->config, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(cfg)) {
		fprintf(stderr, "vaultctl: %s: line %d: %s\n", o->config, jerr.line, jerr.text);
		json_decref(cfg);
		return EXIT_OP;
	}
	*cfg_out = cfg;
	jp = json_object_get(cfg, "db_port");
	if (json_is_integer(jp))
		snprintf(port, sizeof port, "%lld", (long long)json_integer_value(jp));
	else
		snprintf(port, sizeof port, "%s", json_is_string(jp) ? json_string_value(jp) : "5432");
#define CFG(k, d) (json_is_string(json_object_get(cfg, k)) ? \
	json_string_value(json_object_get(cfg, k)) : (d))
	*pool_out = sr_db_pool_new(CFG("db_host", "127.0.0.1"), port, CFG("db_name", "vault"),
	                           CFG("db_user", "vault"), CFG("db_password_file", NULL), 1, err,
	                           sizeof err);
	if (*pool_out == NULL) {
		fprintf(stderr, "vaultctl: database: %s\n", err);
		return EXIT_OP;
	}
	if (hsm_open(CFG("pkcs11_module", o->module), CFG("hsm_token_label", o->label),
	             CFG("hsm_pin_file", o->pin_file), sessions, h_out, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: hsm: %s\n", err);
		return EXIT_OP;
	}
#undef CFG
	return EXIT_OK;
}

/*
 * keys rotate PURPOSE: a new version made current under dual control
 * (PCI DSS v4.0 3.6.1, 3.7.4, 3.7.6). vaultd picks it up within a second.
 */
int cmd_keys_rotate(const struct opts *o, const char *purpose)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	char label[32], prev[32], err[512] = "", hx[2 * HSM_KCV_LEN + 1], serial[17];
	struct sr_db_pool *pool = NULL;
	struct hsm_key_info ki;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	bool aes;
	int cur = 0, next = 0, r, ret;

	if (strcmp(purpose, "pan-enc") != 0 && strcmp(purpose, "fp-hmac") != 0) {
		fprintf(stderr, "vaultctl: keys rotate pan-enc|fp-hmac\n");
		return EXIT_USAGE;
	}
	aes = strcmp(purpose, "pan-enc") == 0;
	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	if (vault_keys_versions(db, purpose, &cur, &next, err, sizeof err) != 0 ||
	    hsm_token_serial(h, serial, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys rotate: %s\n", err);
		goto out;
	}
	snprintf(label, sizeof label, "%s-v%d", purpose, next);
	snprintf(prev, sizeof prev, "%s-v%d", purpose, cur);
	if (hsm_key_info(h, label, &ki, err, sizeof err) != 0 || ki.found) {
		fprintf(stderr, "vaultctl: keys rotate: %s\n",
		        ki.found ? "the next version's label exists on the token already" : err);
		goto out;
	}
	r = dual_control(h, o, "rotation-requested",
	                 json_pack("{s:s, s:s, s:s}", "purpose", purpose, "from", prev, "to", label),
	                 names);
	if (r != EXIT_OK) {
		ret = r;
		goto out;
	}
	r = o->wrappable ? hsm_generate_wrappable_key(h, label, aes, err, sizeof err)
	    : aes        ? hsm_generate_aes_key(h, label, err, sizeof err)
	                 : hsm_generate_hmac_key(h, label, err, sizeof err);
	if (r != 0 || hsm_key_info(h, label, &ki, err, sizeof err) != 0 ||
	    hsm_kcv(h, label, kcv, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys rotate: %s\n", err);
		goto out;
	}
	kcv_hex(kcv, hx);
	if (record(h, o, o->master, "ceremony-master", "key-generated",
	           json_pack("{s:s, s:s, s:s, s:{s:b, s:b, s:b, s:b}, s:s, s:[s,s]}", "label",
	                     label, "mechanism",
	                     aes ? "CKM_AES_KEY_GEN" : "CKM_GENERIC_SECRET_KEY_GEN", "key_type",
	                     aes ? "CKK_AES" : "CKK_GENERIC_SECRET", "attributes", "sensitive",
	                     ki.sensitive, "extractable", ki.extractable, "never_extractable",
	                     ki.never_extractable, "token", 1, "kcv", hx, "custodians", names[0],
	                     names[1])) != 0)
		goto out;
	/* The key exists before any vaultd can be told to use it. */
	if (vault_keys_make_current(db, purpose, next, hx, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys rotate: %s (the key exists on the token but is not "
		        "current)\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "key-made-current",
	           json_pack("{s:s, s:s, s:s, s:s}", "label", label, "previous", prev, "kcv", hx,
	                     "effective", "vaultd re-reads key_versions within 1 s")) != 0)
		goto out;
	printf("%s is current (kcv=%s, hsm_serial=%s); %s is previous: it still decrypts "
	       "until vaultctl keys reencrypt has moved every record, then keys retire %s\n",
	       label, hx, serial, prev, prev);
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}

/* keys reencrypt: move every record to the current versions, resumable. */
int cmd_keys_reencrypt(const struct opts *o)
{
	struct vault_reencrypt_stats st = { 0, 0, 0 };
	struct vault_key_labels cur;
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	char err[512] = "", cursor[128], cur_mer[VAULT_MERCHANT_ID_MAX + 1], cur_con[33];
	long long total, left = 0;
	int pass, n, ret;

	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	if (vault_keys_read(db, &cur, err, sizeof err) != 0 ||
	    (total = vault_keys_outdated(db, &cur, err, sizeof err)) < 0) {
		fprintf(stderr, "vaultctl: keys reencrypt: %s\n", err);
		goto out;
	}
	printf("%lld records to move to %s / %s\n", total, cur.pan, cur.fp);
	fflush(stdout);
	if (record(h, o, o->master, "ceremony-master", "reencrypt-started",
	           json_pack("{s:s, s:s, s:I}", "pan_key", cur.pan, "fp_key", cur.fp, "records",
	                     (json_int_t)total)) != 0)
		goto out;
	/* Each record commits on its own: after a crash, run it again. */
	for (pass = 1; pass <= 5; pass++) {
		long long before = st.moved;

		cursor[0] = '\0';
		while ((n = vault_keys_reencrypt_batch(db, h, &cur, o->batch, cursor, sizeof cursor,
		                                       &st, err, sizeof err)) > 0) {
			printf("progress: %lld of %lld moved, %lld skipped, %lld failed\n", st.moved,
			       total, st.skipped, st.failed);
			fflush(stdout);
		}
		if (n < 0) {
			fprintf(stderr, "vaultctl: keys reencrypt: %s (run it again to resume)\n", err);
			goto out;
		}
		/* Merchants' PSP credentials too (ADR 0095 amended): re-sealed under
		 * the current keys, one logged event per row, no value. */
		cur_mer[0] = cur_con[0] = '\0';
		while ((n = vault_psp_creds_reseal_batch(db, h, &cur, o->batch, cur_mer,
		                                         sizeof cur_mer, cur_con, sizeof cur_con, &st,
		                                         err, sizeof err)) > 0) {
			printf("progress: %lld of %lld moved, %lld skipped, %lld failed "
			       "(psp credentials)\n", st.moved, total, st.skipped, st.failed);
			fflush(stdout);
		}
		if (n < 0) {
			fprintf(stderr, "vaultctl: keys reencrypt: %s (run it again to resume)\n", err);
			goto out;
		}
		/* The platform's PSP secrets (ADR 0120): a handful of rows. */
		if (vault_psp_platform_reseal(db, h, &cur, &st, err, sizeof err) < 0) {
			fprintf(stderr, "vaultctl: keys reencrypt: %s (run it again to resume)\n", err);
			goto out;
		}
		left = vault_keys_outdated(db, &cur, err, sizeof err);
		if (left <= 0 || st.moved == before)
			break;
	}
	(void)record(h, o, o->master, "ceremony-master", "reencrypt-finished",
	             json_pack("{s:s, s:s, s:I, s:I, s:I}", "pan_key", cur.pan, "fp_key", cur.fp,
	                       "moved", (json_int_t)st.moved, "failed", (json_int_t)st.failed,
	                       "left", (json_int_t)left));
	if (left != 0) {
		fprintf(stderr, "vaultctl: keys reencrypt: %lld records still on older versions "
		        "(%lld did not decrypt)\n", left, st.failed);
		goto out;
	}
	printf("done: %lld records moved; none left on older versions\n", st.moved);
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}

/*
 * keys retire LABEL: destroy a previous version no record uses, under dual
 * control (PCI DSS v4.0 3.7.5, 3.7.6). A current key or one still in use is
 * refused (exit 4).
 */
int cmd_keys_retire(const struct opts *o, const char *label)
{
	char names[2][HSM_CUSTODIAN_NAME_MAX + 1];
	char state[16] = "", err[512] = "", hx[2 * HSM_KCV_LEN + 1] = "", serial[17];
	struct sr_db_pool *pool = NULL;
	struct hsm *h = NULL;
	json_t *cfg = NULL;
	PGconn *db = NULL;
	uint8_t kcv[HSM_KCV_LEN];
	long long used;
	int r, ret;

	ret = open_config(o, 1, &cfg, &pool, &h);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_OP;
	db = sr_db_acquire(pool);
	r = vault_keys_state(db, label, state, err, sizeof err);
	if (r < 0 || hsm_token_serial(h, serial, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys retire: %s\n", err);
		goto out;
	}
	if (r == 0 || strcmp(state, "previous") != 0) {
		fprintf(stderr, "vaultctl: keys retire: %s is %s; only a previous version can be "
		        "retired\n", label, r == 0 ? "not a known key version" : state);
		ret = r == 0 ? EXIT_USAGE : EXIT_REFUSED;
		goto out;
	}
	used = vault_keys_in_use(db, label, err, sizeof err);
	if (used != 0) {
		if (used < 0)
			fprintf(stderr, "vaultctl: keys retire: %s\n", err);
		else
			fprintf(stderr, "vaultctl: keys retire refused: %lld records still use %s "
			        "(run vaultctl keys reencrypt)\n", used, label);
		if (used > 0)
			(void)record(h, o, o->master, "ceremony-master", "retire-refused",
			             json_pack("{s:s, s:I}", "label", label, "records",
			                       (json_int_t)used));
		ret = used < 0 ? EXIT_OP : EXIT_REFUSED;
		goto out;
	}
	r = dual_control(h, o, "retire-requested",
	                 json_pack("{s:s, s:I}", "label", label, "records", (json_int_t)0), names);
	if (r != EXIT_OK) {
		ret = r;
		goto out;
	}
	if (hsm_kcv(h, label, kcv, err, sizeof err) == 0)
		kcv_hex(kcv, hx);
	r = hsm_key_destroy(h, label, err, sizeof err);
	if (r < 0 || vault_keys_mark_retired(db, label, err, sizeof err) != 0) {
		fprintf(stderr, "vaultctl: keys retire: %s\n", err);
		goto out;
	}
	if (record(h, o, o->master, "ceremony-master", "key-destroyed",
	           json_pack("{s:s, s:s, s:s, s:s, s:[s,s]}", "label", label, "kcv", hx,
	                     "mechanism", r == 1 ? "C_DestroyObject" : "absent already", "state",
	                     "retired", "custodians", names[0], names[1])) != 0)
		goto out;
	printf("%s destroyed (kcv was %s, hsm_serial=%s) and retired\n", label,
	       hx[0] != '\0' ? hx : "-", serial);
	ret = EXIT_OK;
out:
	if (db != NULL)
		sr_db_release(pool, db);
	hsm_close(h);
	sr_db_pool_free(pool);
	json_decref(cfg);
	return ret;
}
