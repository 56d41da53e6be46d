/*
 * vault_keys: current key versions and online rotation (ADR 0074).
 */
#include "vault/crypto/vault_keys.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/sr_db.h"
#include "common/sr_secret.h"
#include "vault/audit/vault_audit.h"
#include "vault/tokens/vault_token.h"

#define REFRESH_NS 1000000000LL   /* re-read key_versions at most once a second */

struct vault_keys {
	pthread_mutex_t mu;
	bool have;
	long long read_at_ns;   /* CLOCK_MONOTONIC */
	struct vault_key_labels cur;
};

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

static void pq_err(char *err, size_t errlen, const char *what, PGresult *res, PGconn *db)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db);

	seterr(err, errlen, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct vault_keys *vault_keys_new(void)
{
	struct vault_keys *k = calloc(1, sizeof(*k));

	if (k != NULL && pthread_mutex_init(&k->mu, NULL) != 0) {
		free(k);
		k = NULL;
	}
	return k;
}

void vault_keys_free(struct vault_keys *k)
{
	if (k == NULL)
		return;
	pthread_mutex_destroy(&k->mu);
	free(k);
}

static void copy_label(char *dst, const char *src)
{
	snprintf(dst, VAULT_KEY_LABEL_MAX + 1, "%s", src);
}

int vault_keys_read(PGconn *db, struct vault_key_labels *out, char *err, size_t errlen)
{
	PGresult *res = NULL;
	int i, rc = -1;

	memset(out, 0, sizeof(*out));
	/* The newest 'previous' fp-hmac key is the one deduplication also
	 * matches (ADR 0074). */
	res = PQexecParams(db,
	    "SELECT purpose, state, label FROM key_versions WHERE state <> 'retired' "
	    "ORDER BY purpose, version DESC", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "key versions", res, db);
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *purpose = PQgetvalue(res, i, 0), *state = PQgetvalue(res, i, 1);
		const char *label = PQgetvalue(res, i, 2);

		if (strcmp(purpose, "pan-enc") == 0 && strcmp(state, "current") == 0)
			copy_label(out->pan, label);
		else if (strcmp(purpose, "fp-hmac") == 0 && strcmp(state, "current") == 0)
			copy_label(out->fp, label);
		else if (strcmp(purpose, "fp-hmac") == 0 && strcmp(state, "previous") == 0 &&
		         out->fp_prev[0] == '\0')
			copy_label(out->fp_prev, label);
	}
	if (out->pan[0] == '\0' || out->fp[0] == '\0') {
		seterr(err, errlen, "key versions: no current pan-enc or fp-hmac key");
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int vault_keys_current(struct vault_keys *k, struct sr_db_pool *pool,
                       struct vault_key_labels *out, char *err, size_t errlen)
{
	struct vault_key_labels fresh;
	PGconn *db = NULL;
	long long t = now_ns();
	int rc;

	pthread_mutex_lock(&k->mu);
	if (k->have && t - k->read_at_ns < REFRESH_NS) {
		*out = k->cur;
		pthread_mutex_unlock(&k->mu);
		return 0;
	}
	pthread_mutex_unlock(&k->mu);
	db = sr_db_acquire(pool);
	rc = db != NULL ? vault_keys_read(db, &fresh, err, errlen) : -1;
	if (db == NULL)
		seterr(err, errlen, "key versions: no database connection");
	sr_db_release(pool, db);
	pthread_mutex_lock(&k->mu);
	if (rc == 0) {
		k->cur = fresh;
		k->have = true;
		k->read_at_ns = t;
	}
	/* Unreachable database: keep encrypting under the last known version. */
	rc = k->have ? 0 : -1;
	*out = k->cur;
	pthread_mutex_unlock(&k->mu);
	return rc;
}

int vault_keys_versions(PGconn *db, const char *purpose, int *current, int *next, char *err,
                        size_t errlen)
{
	const char *params[1] = { purpose };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(db,
	    "SELECT coalesce(max(version) FILTER (WHERE state = 'current'), 0)::text, "
	    "coalesce(max(version), 0)::text FROM key_versions WHERE purpose = $1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pq_err(err, errlen, "key versions", res, db);
		goto out;
	}
	*current = atoi(PQgetvalue(res, 0, 0));
	*next = atoi(PQgetvalue(res, 0, 1)) + 1;
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int vault_keys_make_current(PGconn *db, const char *purpose, int version, const char *kcv,
                            char *err, size_t errlen)
{
	char ver[16];
	const char *params[3] = { purpose, ver, kcv };
	PGresult *res = NULL;
	int rc = -1;

	snprintf(ver, sizeof ver, "%d", version);
	if (sr_db_exec(db, "BEGIN") != 0) {
		seterr(err, errlen, "key versions: BEGIN failed");
		return -1;
	}
	res = PQexecParams(db,
	    "UPDATE key_versions SET state = 'previous', changed_at = now() "
	    "WHERE purpose = $1 AND state = 'current'", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "key versions", res, db);
		goto out;
	}
	PQclear(res);
	res = PQexecParams(db,
	    "INSERT INTO key_versions (label, purpose, version, state, kcv) "
	    "VALUES ($1 || '-v' || $2, $1, $2::integer, 'current', $3)",
	    3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "key versions", res, db);
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (sr_db_exec(db, "COMMIT") != 0) {
		seterr(err, errlen, "key versions: COMMIT failed");
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	if (rc != 0)
		(void)sr_db_exec(db, "ROLLBACK");
	return rc;
}

int vault_keys_state(PGconn *db, const char *label, char state[16], char *err, size_t errlen)
{
	const char *params[1] = { label };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(db, "SELECT state FROM key_versions WHERE label = $1", 1, NULL, params,
	                   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "key versions", res, db);
		goto out;
	}
	rc = PQntuples(res) == 1 ? 1 : 0;
	if (rc == 1)
		snprintf(state, 16, "%s", PQgetvalue(res, 0, 0));
out:
	PQclear(res);
	return rc;
}

static long long count_query(PGconn *db, const char *sql, int n, const char *const *params,
                             char *err, size_t errlen)
{
	PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
	long long c = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		pq_err(err, errlen, "count", res, db);
	else
		c = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return c;
}

long long vault_keys_in_use(PGconn *db, const char *label, char *err, size_t errlen)
{
	const char *params[1] = { label };

	/* Merchants' PSP credentials need their sealing key and the key of their
	 * account HMAC as much as tokens do (ADR 0095 amended); the platform's
	 * PSP secrets their sealing key (ADR 0120). */
	return count_query(db,
	    "SELECT (SELECT count(*) FROM tokens WHERE key_version = $1 OR fp_version = $1) + "
	    "(SELECT count(*) FROM psp_credentials WHERE key_version = $1 OR account_hmac_key = $1) + "
	    "(SELECT count(*) FROM psp_platform_secrets WHERE key_version = $1)",
	    1, params, err, errlen);
}

int vault_keys_mark_retired(PGconn *db, const char *label, char *err, size_t errlen)
{
	const char *params[1] = { label };
	PGresult *res = PQexecParams(db,
	    "UPDATE key_versions SET state = 'retired', changed_at = now() "
	    "WHERE label = $1 AND state = 'previous'", 1, NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		pq_err(err, errlen, "key versions", res, db);
	else if (strcmp(PQcmdTuples(res), "1") != 0)
		seterr(err, errlen, "key versions: %s is not a previous key", label);
	else
		rc = 0;
	PQclear(res);
	return rc;
}

long long vault_keys_outdated(PGconn *db, const struct vault_key_labels *cur, char *err,
                              size_t errlen)
{
	const char *params[2] = { cur->pan, cur->fp };

	return count_query(db,
	    "SELECT (SELECT count(*) FROM tokens WHERE key_version <> $1 OR fp_version <> $2) + "
	    "(SELECT count(*) FROM psp_credentials WHERE key_version <> $1 OR "
	    "account_hmac_key <> $2) + "
	    "(SELECT count(*) FROM psp_platform_secrets WHERE key_version <> $1)",
	    2, params, err, errlen);
}

/* ---- the re-encryption job -------------------------------------------------- */

struct rec {
	char id[VAULT_ANY_TOKEN_MAX + 1];
	char merchant[VAULT_MERCHANT_ID_MAX + 1];
	char key_version[VAULT_KEY_LABEL_MAX + 1];
	char fp_version[VAULT_KEY_LABEL_MAX + 1];
	char fingerprint[VAULT_FP_LEN + 1];
	uint8_t pan_iv[HSM_GCM_IV_LEN], pan_ct[VAULT_PAN_CT_MAX];
	size_t pan_ct_len;
	bool has_cvc;
	uint8_t cvc_iv[HSM_GCM_IV_LEN], cvc_ct[VAULT_CVC_CT_MAX];
	size_t cvc_ct_len;
};

static int field(PGresult *res, int i, int col, char *dst, size_t cap)
{
	int n = PQgetlength(res, i, col);

	if (n < 0 || (size_t)n >= cap)
		return -1;
	memcpy(dst, PQgetvalue(res, i, col), (size_t)n);
	dst[n] = '\0';
	return 0;
}

static int bytes(PGresult *res, int i, int col, uint8_t *dst, size_t cap, size_t *len)
{
	int n = PQgetlength(res, i, col);

	if (n < 0 || (size_t)n > cap)
		return -1;
	memcpy(dst, PQgetvalue(res, i, col), (size_t)n);
	*len = (size_t)n;
	return 0;
}

/* Re-encrypt one record. 1 moved, 0 skipped (changed meanwhile), 2 failed
 * to decrypt (audited), -1 error. */
static int move_one(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                    const struct rec *r, char *err, size_t errlen)
{
	char *pan = NULL, *cvc = NULL;
	size_t pan_len = 0, cvc_len = 0;
	uint8_t piv[HSM_GCM_IV_LEN], pct[VAULT_PAN_CT_MAX], civ[HSM_GCM_IV_LEN],
	        cct[VAULT_CVC_CT_MAX];
	size_t pct_len = sizeof pct, cct_len = sizeof cct;
	char fp[VAULT_FP_LEN + 1], herr[256];
	const char *fp_new = r->fingerprint, *fpv_new = r->fp_version, *fp_prev = NULL;
	const char *params[11];
	int lengths[11] = { 0 }, formats[11] = { 0 };
	PGresult *res = NULL;
	long long seq;
	int rc = -1, drc;

	drc = vault_crypto_decrypt_pan(h, r->key_version, r->id, r->merchant, r->pan_iv, r->pan_ct,
	                               r->pan_ct_len, &pan, &pan_len, herr, sizeof herr);
	if (drc == 0 && r->has_cvc)
		drc = vault_crypto_decrypt_cvc(h, r->key_version, r->id, r->merchant, r->cvc_iv,
		                               r->cvc_ct, r->cvc_ct_len, &cvc, &cvc_len, herr,
		                               sizeof herr);
	{
		/* Issue 3 / PCI DSS v4.0 10.2.1: every decryption of a PAN, the
		 * re-encryption's included, is audited before the plaintext is used. */
		struct vault_audit_event ev = {
			.token_id = r->id, .merchant_id = r->merchant, .purpose = "reencrypt",
			.payment_id = "", .connector = "", .peer = "vaultctl",
			.result = drc == 0 ? "decrypted" : "decrypt_failed",
		};

		seq = vault_audit_append(db, h, &ev, err, errlen);
	}
	if (seq < 0)
		goto out;
	if (drc != 0) {
		rc = 2;
		goto out;
	}
	if (strcmp(r->key_version, cur->pan) == 0 && strcmp(r->fp_version, cur->fp) == 0) {
		rc = 0;
		goto out;
	}
	if (strcmp(r->fp_version, cur->fp) != 0) {
		/* Fingerprint key rotation: the new fingerprint, the old one kept in
		 * fingerprint_prev for deduplication during the transition. */
		if (vault_crypto_fingerprint(h, cur->fp, r->merchant, pan, pan_len, fp, err,
		                             errlen) != 0)
			goto out;
		fp_new = fp;
		fpv_new = cur->fp;
		fp_prev = r->fingerprint;
	}
	if (vault_crypto_encrypt_pan(h, cur->pan, r->id, r->merchant, pan, pan_len, piv, pct,
	                             &pct_len, err, errlen) != 0)
		goto out;
	if (r->has_cvc && vault_crypto_encrypt_cvc(h, cur->pan, r->id, r->merchant, cvc, cvc_len,
	                                           civ, cct, &cct_len, err, errlen) != 0)
		goto out;
	sr_secret_free(pan);
	sr_secret_free(cvc);
	pan = cvc = NULL;
	params[0] = r->id;
	params[1] = cur->pan;
	params[2] = (const char *)piv;
	lengths[2] = HSM_GCM_IV_LEN;
	formats[2] = 1;
	params[3] = (const char *)pct;
	lengths[3] = (int)pct_len;
	formats[3] = 1;
	params[4] = r->has_cvc ? (const char *)civ : NULL;
	lengths[4] = r->has_cvc ? HSM_GCM_IV_LEN : 0;
	formats[4] = 1;
	params[5] = r->has_cvc ? (const char *)cct : NULL;
	lengths[5] = r->has_cvc ? (int)cct_len : 0;
	formats[5] = 1;
	params[6] = fp_new;
	params[7] = fpv_new;
	params[8] = fp_prev;
	params[9] = (const char *)r->pan_ct;
	lengths[9] = (int)r->pan_ct_len;
	formats[9] = 1;
	params[10] = r->has_cvc ? "1" : "0";
	/* Applies only to the ciphertext that was read: a concurrent CVC
	 * deletion (first authorization) or deletion of the token makes it a
	 * no-op, retried in the next pass. */
	res = PQexecParams(db,
	    "UPDATE tokens SET key_version = $2, pan_iv = $3::bytea, pan_ct = $4::bytea, "
	    "cvc_iv = CASE WHEN $11 = '1' THEN $5::bytea END, "
	    "cvc_ct = CASE WHEN $11 = '1' THEN $6::bytea END, "
	    "fingerprint = $7, fp_version = $8, fingerprint_prev = coalesce($9, fingerprint_prev) "
	    "WHERE id = $1 AND pan_ct = $10::bytea AND ((cvc_ct IS NOT NULL) = ($11 = '1'))",
	    11, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "re-encrypt update", res, db);
		goto out;
	}
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
out:
	PQclear(res);
	sr_secret_free(pan);
	sr_secret_free(cvc);
	sodium_memzero(fp, sizeof fp);
	return rc;
}

int vault_keys_reencrypt_batch(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                               int batch, char *cursor, size_t cursor_cap,
                               struct vault_reencrypt_stats *st, char *err, size_t errlen)
{
	char lim[16];
	const char *params[4] = { cursor, cur->pan, cur->fp, lim };
	struct rec *recs = NULL;
	PGresult *res = NULL;
	int i, n = 0, ret = -1;

	snprintf(lim, sizeof lim, "%d", batch);
	res = PQexecParams(db,
	    "SELECT id, merchant_id, key_version, fp_version, fingerprint, pan_iv, pan_ct, "
	    "cvc_iv, cvc_ct FROM tokens WHERE id > $1 AND (key_version <> $2 OR fp_version <> $3) "
	    "ORDER BY id LIMIT $4::integer", 4, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "re-encrypt select", res, db);
		goto out;
	}
	n = PQntuples(res);
	recs = calloc((size_t)(n > 0 ? n : 1), sizeof(*recs));
	if (recs == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct rec *r = &recs[i];
		size_t ivl = 0;

		if (field(res, i, 0, r->id, sizeof r->id) != 0 ||
		    field(res, i, 1, r->merchant, sizeof r->merchant) != 0 ||
		    field(res, i, 2, r->key_version, sizeof r->key_version) != 0 ||
		    field(res, i, 3, r->fp_version, sizeof r->fp_version) != 0 ||
		    field(res, i, 4, r->fingerprint, sizeof r->fingerprint) != 0 ||
		    bytes(res, i, 5, r->pan_iv, sizeof r->pan_iv, &ivl) != 0 || ivl != HSM_GCM_IV_LEN ||
		    bytes(res, i, 6, r->pan_ct, sizeof r->pan_ct, &r->pan_ct_len) != 0) {
			seterr(err, errlen, "re-encrypt: malformed row");
			goto out;
		}
		r->has_cvc = !PQgetisnull(res, i, 8);
		if (r->has_cvc &&
		    (bytes(res, i, 7, r->cvc_iv, sizeof r->cvc_iv, &ivl) != 0 ||
		     ivl != HSM_GCM_IV_LEN ||
		     bytes(res, i, 8, r->cvc_ct, sizeof r->cvc_ct, &r->cvc_ct_len) != 0)) {
			seterr(err, errlen, "re-encrypt: malformed CVC columns");
			goto out;
		}
	}
	PQclear(res);
	res = NULL;
	for (i = 0; i < n; i++) {
		int r = move_one(db, h, cur, &recs[i], err, errlen);

		if (r < 0)
			goto out;
		if (r == 1)
			st->moved++;
		else if (r == 0)
			st->skipped++;
		else
			st->failed++;
		snprintf(cursor, cursor_cap, "%s", recs[i].id);
	}
	ret = n;
out:
	PQclear(res);
	if (recs != NULL) {
		sodium_memzero(recs, sizeof(*recs) * (size_t)(n > 0 ? n : 1));
		free(recs);
	}
	return ret;
}
