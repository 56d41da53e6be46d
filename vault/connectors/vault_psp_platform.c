/*
 * vault_psp_platform: the platform's PSP secrets under the HSM
 * (vault_psp_platform.h). One row per (connector, name); the plaintext is
 * the value itself, sealed with AES-256-GCM inside the HSM as merchants'
 * credentials are (ADR 0095), AAD
 *   "strongroom/psp-platform/v1|<connector>|<name>"
 */
#include "vault/connectors/vault_psp_platform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "hsm/hsm.h"
#include "vault/connectors/vault_psp_creds.h"

#define AAD_DOMAIN "strongroom/psp-platform/v1"
#define CT_MAX     (VAULT_PSP_SECRET_MAX + HSM_GCM_TAG_LEN)
#define ROWS_MAX   16      /* 2 connectors x 2 names today; a bound for reseal */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *sqlstate(const PGresult *res)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s != NULL ? s : "none";
}

bool vault_psp_platform_name_ok(const char *connector, const char *name)
{
	return connector != NULL && name != NULL &&
	       (strcmp(connector, "stripe") == 0 || strcmp(connector, "adyen") == 0) &&
	       (strcmp(name, VAULT_PSP_PLATFORM_API_KEY) == 0 ||
	        strcmp(name, VAULT_PSP_PLATFORM_WEBHOOK) == 0);
}

bool vault_psp_platform_value_ok(const char *connector, const char *name, const char *value)
{
	size_t n, i;

	if (!vault_psp_platform_name_ok(connector, name) || !vault_psp_secret_ok(value))
		return false;
	if (strcmp(connector, "adyen") != 0 || strcmp(name, VAULT_PSP_PLATFORM_WEBHOOK) != 0)
		return true;
	n = strlen(value);
	if (n < 32 || n % 2 != 0)
		return false;
	for (i = 0; i < n; i++)
		if (!((value[i] >= '0' && value[i] <= '9') || (value[i] >= 'a' && value[i] <= 'f') ||
		      (value[i] >= 'A' && value[i] <= 'F')))
			return false;
	return true;
}

static int make_aad(char *aad, size_t cap, const char *connector, const char *name, size_t *len)
{
	int n;

	if (!vault_psp_platform_name_ok(connector, name))
		return -1;
	n = snprintf(aad, cap, "%s|%s|%s", AAD_DOMAIN, connector, name);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*len = (size_t)n;
	return 0;
}

int vault_psp_platform_put(PGconn *db, struct hsm *h, const char *pan_label,
                           const char *connector, const char *name, const char *value,
                           const char *loaded_by, char *err, size_t errlen)
{
	const char *params[7];
	int lengths[7] = { 0 }, formats[7] = { 0 };
	char aad[96], herr[256], l4[5];
	uint8_t iv[HSM_GCM_IV_LEN], ct[CT_MAX];
	size_t aad_len = 0, ct_len = sizeof ct, n;
	PGresult *res = NULL;
	int rc = -1;

	if (db == NULL || h == NULL || loaded_by == NULL || loaded_by[0] == '\0' ||
	    !vault_psp_label_ok(pan_label, "pan-enc-v") ||
	    make_aad(aad, sizeof aad, connector, name, &aad_len) != 0 ||
	    !vault_psp_platform_value_ok(connector, name, value)) {
		seterr(err, errlen, "psp platform secret: bad arguments");
		goto out;
	}
	n = strlen(value);
	/* PCI DSS v4.0 3.5.1, 8.6.3: sealed inside the HSM as merchants'
	 * credentials are (ADR 0095); the AAD binds the row (ADR 0120). */
	if (hsm_aes_gcm_encrypt(h, pan_label, (const uint8_t *)aad, aad_len, (const uint8_t *)value,
	                        n, iv, ct, &ct_len, herr, sizeof herr) != 0) {
		seterr(err, errlen, "psp platform secret encrypt: %s", herr);
		goto out;
	}
	memcpy(l4, value + n - 4, 4);
	l4[4] = '\0';
	params[0] = connector;
	params[1] = name;
	params[2] = pan_label;
	params[3] = (const char *)iv;
	lengths[3] = HSM_GCM_IV_LEN;
	formats[3] = 1;
	params[4] = (const char *)ct;
	lengths[4] = (int)ct_len;
	formats[4] = 1;
	params[5] = l4;
	params[6] = loaded_by;
	res = PQexecParams(db,
	                   "INSERT INTO psp_platform_secrets (connector, name, key_version, iv, "
	                   "ciphertext, last4, loaded_by) VALUES ($1, $2, $3, $4, $5, $6, $7) "
	                   "ON CONFLICT (connector, name) DO UPDATE SET key_version = "
	                   "EXCLUDED.key_version, iv = EXCLUDED.iv, ciphertext = EXCLUDED.ciphertext, "
	                   "last4 = EXCLUDED.last4, loaded_by = EXCLUDED.loaded_by, loaded_at = now()",
	                   7, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		seterr(err, errlen, "psp platform secret store failed (%s)", sqlstate(res));
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	sodium_memzero(ct, sizeof ct);
	sodium_memzero(l4, sizeof l4);
	return rc;
}

/* Open one sealed value under key `label` into guarded memory. */
static char *unseal(struct hsm *h, const char *label, const char *connector, const char *name,
                    const uint8_t *iv, const uint8_t *ct, size_t ct_len, size_t *len_out,
                    char *err, size_t errlen)
{
	char aad[96], herr[256];
	size_t aad_len = 0, n;
	char *v = NULL;

	if (!vault_psp_label_ok(label, "pan-enc-v") || ct_len <= HSM_GCM_TAG_LEN ||
	    ct_len > CT_MAX || make_aad(aad, sizeof aad, connector, name, &aad_len) != 0) {
		seterr(err, errlen, "psp platform secret: unexpected stored row");
		return NULL;
	}
	n = ct_len - HSM_GCM_TAG_LEN;
	v = sr_secret_alloc(n + 1);
	if (v == NULL) {
		seterr(err, errlen, "psp platform secret: out of guarded memory");
		return NULL;
	}
	if (hsm_aes_gcm_decrypt(h, label, (const uint8_t *)aad, aad_len, iv, ct, ct_len,
	                        (uint8_t *)v, &n, herr, sizeof herr) != 0) {
		seterr(err, errlen, "psp platform secret %s/%s does not open: %s", connector, name,
		       herr);
		sr_secret_free(v);
		return NULL;
	}
	v[n] = '\0';
	if (!vault_psp_platform_value_ok(connector, name, v)) {
		seterr(err, errlen, "psp platform secret %s/%s: malformed plaintext", connector, name);
		sr_secret_free(v);
		return NULL;
	}
	if (len_out != NULL)
		*len_out = n;
	return v;
}

/* A text column of at most cap - 1 bytes into dst. */
static int text_col(PGresult *res, int i, int col, char *dst, size_t cap)
{
	int n = PQgetlength(res, i, col);

	if (n <= 0 || (size_t)n >= cap)
		return -1;
	memcpy(dst, PQgetvalue(res, i, col), (size_t)n);
	dst[n] = '\0';
	return 0;
}

int vault_psp_platform_load(PGconn *db, struct hsm *h, const char *connector, const char *name,
                            char **out, size_t *len_out, char *err, size_t errlen)
{
	const char *params[2] = { connector, name };
	char label[VAULT_KEY_LABEL_MAX + 1];
	PGresult *res = NULL;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	if (db == NULL || h == NULL || out == NULL || !vault_psp_platform_name_ok(connector, name)) {
		seterr(err, errlen, "psp platform secret: bad arguments");
		goto out;
	}
	res = PQexecParams(db,
	                   "SELECT key_version, iv, ciphertext FROM psp_platform_secrets "
	                   "WHERE connector = $1 AND name = $2", 2, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		seterr(err, errlen, "psp platform secret lookup failed (%s)", sqlstate(res));
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	if (text_col(res, 0, 0, label, sizeof label) != 0 ||
	    PQgetlength(res, 0, 1) != HSM_GCM_IV_LEN) {
		seterr(err, errlen, "psp platform secret: unexpected stored row");
		goto out;
	}
	*out = unseal(h, label, connector, name, (const uint8_t *)PQgetvalue(res, 0, 1),
	              (const uint8_t *)PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2),
	              len_out, err, errlen);
	if (*out != NULL)
		rc = 1;
out:
	PQclear(res);
	return rc;
}

json_t *vault_psp_platform_list(PGconn *db, char *err, size_t errlen)
{
	PGresult *res = PQexec(db,
	                       "SELECT connector, name, last4, key_version, loaded_by, "
	                       "extract(epoch FROM loaded_at)::bigint FROM psp_platform_secrets "
	                       "ORDER BY connector, name");
	json_t *arr = NULL, *ret = NULL;
	int i;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		seterr(err, errlen, "psp platform secrets list failed (%s)", sqlstate(res));
		goto out;
	}
	arr = json_array();
	if (arr == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++)
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}",
		                          "connector", PQgetvalue(res, i, 0),
		                          "name", PQgetvalue(res, i, 1),
		                          "last4", PQgetvalue(res, i, 2),
		                          "key_version", PQgetvalue(res, i, 3),
		                          "loaded_by", PQgetvalue(res, i, 4),
		                          "loaded_at",
		                          (json_int_t)strtoll(PQgetvalue(res, i, 5), NULL, 10))) != 0) {
			seterr(err, errlen, "out of memory");
			goto out;
		}
	ret = arr;
	arr = NULL;
out:
	json_decref(arr);
	PQclear(res);
	return ret;
}

/* Re-seal one row read as (connector, name, label, iv, ct) under cur->pan.
 * 1 moved, 0 skipped (changed meanwhile), 2 failed (did not open), -1 error. */
static int reseal_one(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                      const char *connector, const char *name, const char *label,
                      const uint8_t *old_iv, const uint8_t *old_ct, size_t old_len, char *err,
                      size_t errlen)
{
	const char *params[6];
	int lengths[6] = { 0 }, formats[6] = { 0 };
	char aad[96], herr[256];
	uint8_t iv[HSM_GCM_IV_LEN], ct[CT_MAX];
	size_t aad_len = 0, ct_len = sizeof ct, n = 0;
	PGresult *res = NULL;
	char *v = unseal(h, label, connector, name, old_iv, old_ct, old_len, &n, herr, sizeof herr);
	int rc = -1;

	if (v == NULL) {
		rc = 2;
		goto out;
	}
	if (make_aad(aad, sizeof aad, connector, name, &aad_len) != 0 ||
	    hsm_aes_gcm_encrypt(h, cur->pan, (const uint8_t *)aad, aad_len, (const uint8_t *)v, n,
	                        iv, ct, &ct_len, herr, sizeof herr) != 0) {
		seterr(err, errlen, "psp platform secret encrypt: %s", herr);
		goto out;
	}
	params[0] = connector;
	params[1] = name;
	params[2] = cur->pan;
	params[3] = (const char *)iv;
	lengths[3] = HSM_GCM_IV_LEN;
	formats[3] = 1;
	params[4] = (const char *)ct;
	lengths[4] = (int)ct_len;
	formats[4] = 1;
	params[5] = (const char *)old_ct;
	lengths[5] = (int)old_len;
	formats[5] = 1;
	res = PQexecParams(db,
	                   "UPDATE psp_platform_secrets SET key_version = $3, iv = $4::bytea, "
	                   "ciphertext = $5::bytea WHERE connector = $1 AND name = $2 AND "
	                   "ciphertext = $6::bytea", 6, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		seterr(err, errlen, "psp platform secret re-seal failed (%s)", sqlstate(res));
		goto out;
	}
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
out:
	if (rc >= 0)
		sr_log(rc == 2 ? SR_LOG_WARN : SR_LOG_INFO, NULL, "psp_platform_secret.resealed",
		       "{s:s, s:s, s:s, s:s, s:s}", "connector", connector, "name", name, "from", label,
		       "to", cur->pan, "result", rc == 1 ? "resealed" : rc == 0 ? "skipped" : "failed");
	PQclear(res);
	sr_secret_free(v);
	sodium_memzero(ct, sizeof ct);
	return rc;
}

int vault_psp_platform_reseal(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                              struct vault_reencrypt_stats *st, char *err, size_t errlen)
{
	const char *params[1];
	char connector[33], name[32], label[VAULT_KEY_LABEL_MAX + 1];
	PGresult *res = NULL;
	int i, n = 0, r, ret = -1;

	if (db == NULL || h == NULL || cur == NULL || st == NULL ||
	    !vault_psp_label_ok(cur->pan, "pan-enc-v")) {
		seterr(err, errlen, "psp platform secrets: bad arguments");
		return -1;
	}
	params[0] = cur->pan;
	res = PQexecParams(db,
	                   "SELECT connector, name, key_version, iv, ciphertext FROM "
	                   "psp_platform_secrets WHERE key_version <> $1 ORDER BY connector, name "
	                   "LIMIT 16", 1, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		seterr(err, errlen, "psp platform secrets re-seal select failed (%s)", sqlstate(res));
		goto out;
	}
	n = PQntuples(res);
	for (i = 0; i < n && i < ROWS_MAX; i++) {
		int cl = PQgetlength(res, i, 4);

		if (text_col(res, i, 0, connector, sizeof connector) != 0 ||
		    text_col(res, i, 1, name, sizeof name) != 0 ||
		    text_col(res, i, 2, label, sizeof label) != 0 ||
		    PQgetlength(res, i, 3) != HSM_GCM_IV_LEN || cl <= 0 || cl > CT_MAX) {
			seterr(err, errlen, "psp platform secrets re-seal: malformed row");
			goto out;
		}
		r = reseal_one(db, h, cur, connector, name, label, (const uint8_t *)PQgetvalue(res, i, 3),
		               (const uint8_t *)PQgetvalue(res, i, 4), (size_t)cl, err, errlen);
		if (r < 0)
			goto out;
		if (r == 1)
			st->moved++;
		else if (r == 0)
			st->skipped++;
		else
			st->failed++;
	}
	ret = n;
out:
	PQclear(res);
	return ret;
}
