/*
 * vault_store: SQL of the vault database. One statement per function,
 * parameters by PQexecParams (text for scalars, binary for bytea).
 */
#include "vault/store/vault_store.h"
#include "common/sr_dbprep.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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

/* libpq's message for a failed result, first line only (no parameters are
 * ever included by libpq's error text; ciphertext never is). */
static void pq_err(char *err, size_t errlen, const char *what, PGresult *res, PGconn *db)
{
	const char *m = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db);
	size_t n = strcspn(m != NULL ? m : "", "\n");

	seterr(err, errlen, "%s: %.*s", what, (int)n, m != NULL ? m : "");
}

static bool sqlstate_is(PGresult *res, const char *state)
{
	const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return s != NULL && strcmp(s, state) == 0;
}

static void copy_field(char *dst, size_t cap, PGresult *res, int row, int col)
{
	snprintf(dst, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

int vault_store_merchant_upsert(PGconn *db, const char *id, const char *pk_sha256_hex,
                                char *err, size_t errlen)
{
	const char *params[2] = { id, pk_sha256_hex };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db,
	    "INSERT INTO merchants (id, publishable_key_sha256) VALUES ($1, $2) "
	    "ON CONFLICT (id) DO UPDATE SET publishable_key_sha256 = EXCLUDED.publishable_key_sha256, "
	    "updated_at = now()",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		rc = 0;
	} else if (sqlstate_is(res, "23505")) {
		seterr(err, errlen, "merchant upsert: publishable key registered to another merchant");
		rc = -2;
	} else {
		pq_err(err, errlen, "merchant upsert", res, db);
	}
	PQclear(res);
	return rc;
}

int vault_store_merchant_by_pk_hash(PGconn *db, const char *pk_sha256_hex, char *id_out,
                                    size_t id_cap, char *err, size_t errlen)
{
	const char *params[1] = { pk_sha256_hex };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db, "SELECT id FROM merchants WHERE publishable_key_sha256 = $1",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "merchant lookup", res, db);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	copy_field(id_out, id_cap, res, 0, 0);
	rc = 1;
out:
	PQclear(res);
	return rc;
}

#define TOKEN_INSERT_PARAMS 19
#define TOKEN_INSERT_COLUMNS \
	"INSERT INTO tokens (id, merchant_id, brand, last4, exp_month, exp_year, fingerprint, " \
	"key_version, pan_iv, pan_ct, cvc_iv, cvc_ct, cvc_expires_at, created_at, customer, " \
	"expires_at, legacy_number, fp_version, fingerprint_prev) VALUES "
/* One row's VALUES tuple; %u are its 19 parameter numbers. */
#define TOKEN_INSERT_ROW \
	"($%u, $%u, $%u, $%u, $%u::smallint, $%u::smallint, $%u, $%u, $%u::bytea, $%u::bytea, " \
	"$%u::bytea, $%u::bytea, to_timestamp($%u::bigint), to_timestamp($%u::bigint), $%u, " \
	"to_timestamp($%u::bigint), $%u, $%u, $%u)"
/* One token row as TOKEN_INSERT_ROW's parameters (text scalars, binary
 * bytea); num holds the numbers' text and must outlive the parameters. */
struct token_params {
	char num[5][24];   /* exp_month, exp_year, cvc_expires_at, created_at, expires_at */
	const char *v[TOKEN_INSERT_PARAMS];
	int len[TOKEN_INSERT_PARAMS];
	int fmt[TOKEN_INSERT_PARAMS];
};

static void token_params(struct token_params *p, const struct vault_token_row *r)
{
	memset(p, 0, sizeof *p);
	snprintf(p->num[0], sizeof p->num[0], "%d", r->exp_month);
	snprintf(p->num[1], sizeof p->num[1], "%d", r->exp_year);
	snprintf(p->num[2], sizeof p->num[2], "%lld", r->cvc_expires_at);
	snprintf(p->num[3], sizeof p->num[3], "%lld", r->created_at);
	snprintf(p->num[4], sizeof p->num[4], "%lld", r->expires_at);
	p->v[0] = r->id;
	p->v[1] = r->merchant_id;
	p->v[2] = r->brand;
	p->v[3] = r->last4;
	p->v[4] = p->num[0];
	p->v[5] = p->num[1];
	p->v[6] = r->fingerprint;
	p->v[7] = r->key_version;
	/* bytea as binary parameters */
	p->v[8] = (const char *)r->pan_iv;
	p->len[8] = HSM_GCM_IV_LEN;
	p->fmt[8] = 1;
	p->v[9] = (const char *)r->pan_ct;
	p->len[9] = (int)r->pan_ct_len;
	p->fmt[9] = 1;
	p->v[10] = r->has_cvc ? (const char *)r->cvc_iv : NULL;
	p->len[10] = r->has_cvc ? HSM_GCM_IV_LEN : 0;
	p->fmt[10] = 1;
	p->v[11] = r->has_cvc ? (const char *)r->cvc_ct : NULL;
	p->len[11] = r->has_cvc ? (int)r->cvc_ct_len : 0;
	p->fmt[11] = 1;
	p->v[12] = r->has_cvc ? p->num[2] : NULL;
	p->v[13] = p->num[3];
	p->v[14] = r->customer[0] != '\0' ? r->customer : NULL;
	p->v[15] = r->expires_at > 0 ? p->num[4] : NULL;
	p->v[16] = r->legacy_number[0] != '\0' ? r->legacy_number : NULL;
	p->v[17] = r->fp_version[0] != '\0' ? r->fp_version : "fp-hmac-v1";
	p->v[18] = r->fingerprint_prev[0] != '\0' ? r->fingerprint_prev : NULL;
}

/* The INSERT of n rows into sql (cap bytes): TOKEN_INSERT_ROW n times,
 * numbered from $1. 0, or -1 when it does not fit. */
static int token_insert_sql(char *sql, size_t cap, size_t n)
{
	size_t pos, i;
	int k;

	pos = (size_t)snprintf(sql, cap, "%s", TOKEN_INSERT_COLUMNS);
	for (i = 0; i < n; i++) {
		unsigned b = (unsigned)(i * TOKEN_INSERT_PARAMS);

		if (pos >= cap)
			return -1;
		k = snprintf(sql + pos, cap - pos, "%s" TOKEN_INSERT_ROW, i > 0 ? ", " : "",
		             b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10,
		             b + 11, b + 12, b + 13, b + 14, b + 15, b + 16, b + 17, b + 18, b + 19);
		if (k < 0 || (size_t)k >= cap - pos)
			return -1;
		pos += (size_t)k;
	}
	return 0;
}

int vault_store_token_insert(PGconn *db, const struct vault_token_row *r, char *err,
                             size_t errlen)
{
	char sql[sizeof TOKEN_INSERT_COLUMNS + sizeof TOKEN_INSERT_ROW + 64];
	struct token_params p;
	PGresult *res = NULL;
	int rc = -1;

	if (token_insert_sql(sql, sizeof sql, 1) != 0) {
		seterr(err, errlen, "token insert: statement too large");
		return -1;
	}
	token_params(&p, r);
	res = sr_db_params(db, sql, TOKEN_INSERT_PARAMS, NULL, p.v, p.len, p.fmt, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (sqlstate_is(res, "23505") && r->legacy_number[0] != '\0') {
			seterr(err, errlen, "token insert: legacy number collision");
			rc = -3;
			goto out;
		}
		pq_err(err, errlen, "token insert", res, db);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int vault_store_token_insert_batch(PGconn *db, const struct vault_token_row *const *rows,
                                   size_t n, char *err, size_t errlen)
{
	struct token_params *p = NULL;
	const char **values = NULL;
	int *lengths = NULL, *formats = NULL;
	char *sql = NULL;
	size_t cap = sizeof TOKEN_INSERT_COLUMNS + n * (sizeof TOKEN_INSERT_ROW + 64), i, j;
	PGresult *res = NULL;
	int rc = -1;

	if (db == NULL || rows == NULL || n == 0 || n > VAULT_TOKEN_BATCH_MAX) {
		seterr(err, errlen, "token batch insert: bad arguments");
		return -1;
	}
	p = calloc(n, sizeof *p);
	values = calloc(n * TOKEN_INSERT_PARAMS, sizeof *values);
	lengths = calloc(n * TOKEN_INSERT_PARAMS, sizeof *lengths);
	formats = calloc(n * TOKEN_INSERT_PARAMS, sizeof *formats);
	sql = malloc(cap);
	if (p == NULL || values == NULL || lengths == NULL || formats == NULL || sql == NULL) {
		seterr(err, errlen, "token batch insert: out of memory");
		goto out;
	}
	/* One statement, so one implicit transaction: all rows or none. */
	if (token_insert_sql(sql, cap, n) != 0) {
		seterr(err, errlen, "token batch insert: statement too large");
		goto out;
	}
	for (i = 0; i < n; i++) {
		size_t b = i * TOKEN_INSERT_PARAMS;

		token_params(&p[i], rows[i]);
		for (j = 0; j < TOKEN_INSERT_PARAMS; j++) {
			values[b + j] = p[i].v[j];
			lengths[b + j] = p[i].len[j];
			formats[b + j] = p[i].fmt[j];
		}
	}
	/* Not prepared: its text differs with n (ADR 0101). */
	res = PQexecParams(db, sql, (int)(n * TOKEN_INSERT_PARAMS), NULL, values, lengths, formats,
	                   0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK) {
		rc = 0;
	} else {
		if (sqlstate_is(res, "23505"))
			seterr(err, errlen, "token batch insert: unique violation");
		else
			pq_err(err, errlen, "token batch insert", res, db);
		/* An error reply: the statement rolled back. No reply at all:
		 * it may have committed (outcome unknown). */
		rc = PQstatus(db) == CONNECTION_OK && res != NULL &&
		     PQresultStatus(res) == PGRES_FATAL_ERROR ? -1 : -2;
	}
out:
	PQclear(res);
	free(sql);
	free(formats);
	free(lengths);
	free(values);
	free(p);
	return rc;
}

/* Columns of a token row, in the order fill_row reads them. */
#define TOKEN_COLUMNS \
	"id, merchant_id, brand, last4, exp_month::text, exp_year::text, fingerprint, " \
	"key_version, pan_iv, pan_ct, cvc_iv, cvc_ct, " \
	"extract(epoch FROM cvc_expires_at)::bigint::text, " \
	"extract(epoch FROM created_at)::bigint::text, coalesce(customer, ''), " \
	"coalesce(extract(epoch FROM expires_at)::bigint, 0)::text, " \
	"coalesce(legacy_number, ''), coalesce(used_by, ''), fp_version, " \
	"coalesce(fingerprint_prev, '') "

/* Fill r from binary result row i (TOKEN_COLUMNS). 0, or -1 with err. */
static int fill_row(PGresult *res, int i, struct vault_token_row *r, bool with_ct, char *err,
                    size_t errlen)
{
	size_t n = 0;

	memset(r, 0, sizeof *r);
	/* libpq NUL-terminates every value, binary ones included. */
	copy_field(r->id, sizeof r->id, res, i, 0);
	copy_field(r->merchant_id, sizeof r->merchant_id, res, i, 1);
	copy_field(r->brand, sizeof r->brand, res, i, 2);
	copy_field(r->last4, sizeof r->last4, res, i, 3);
	r->exp_month = atoi(PQgetvalue(res, i, 4));
	r->exp_year = atoi(PQgetvalue(res, i, 5));
	copy_field(r->fingerprint, sizeof r->fingerprint, res, i, 6);
	copy_field(r->key_version, sizeof r->key_version, res, i, 7);
	if (with_ct) {
		if (PQgetlength(res, i, 8) != HSM_GCM_IV_LEN ||
		    PQgetlength(res, i, 9) < 0 || (size_t)PQgetlength(res, i, 9) > sizeof r->pan_ct) {
			seterr(err, errlen, "token get: malformed PAN ciphertext columns");
			return -1;
		}
		memcpy(r->pan_iv, PQgetvalue(res, i, 8), HSM_GCM_IV_LEN);
		r->pan_ct_len = (size_t)PQgetlength(res, i, 9);
		memcpy(r->pan_ct, PQgetvalue(res, i, 9), r->pan_ct_len);
		if (!PQgetisnull(res, i, 10) && !PQgetisnull(res, i, 11) &&
		    !PQgetisnull(res, i, 12)) {
			n = (size_t)PQgetlength(res, i, 11);
			if (PQgetlength(res, i, 10) != HSM_GCM_IV_LEN || n > sizeof r->cvc_ct) {
				seterr(err, errlen, "token get: malformed CVC ciphertext columns");
				return -1;
			}
			memcpy(r->cvc_iv, PQgetvalue(res, i, 10), HSM_GCM_IV_LEN);
			memcpy(r->cvc_ct, PQgetvalue(res, i, 11), n);
			r->cvc_ct_len = n;
			r->cvc_expires_at = strtoll(PQgetvalue(res, i, 12), NULL, 10);
			r->has_cvc = true;
		}
	}
	r->created_at = strtoll(PQgetvalue(res, i, 13), NULL, 10);
	copy_field(r->customer, sizeof r->customer, res, i, 14);
	r->expires_at = strtoll(PQgetvalue(res, i, 15), NULL, 10);
	copy_field(r->legacy_number, sizeof r->legacy_number, res, i, 16);
	copy_field(r->used_by, sizeof r->used_by, res, i, 17);
	copy_field(r->fp_version, sizeof r->fp_version, res, i, 18);
	copy_field(r->fingerprint_prev, sizeof r->fingerprint_prev, res, i, 19);
	return 0;
}

int vault_store_token_get(PGconn *db, const char *id, struct vault_token_row *r, char *err,
                          size_t errlen)
{
	const char *params[1] = { id };
	PGresult *res = NULL;
	int rc = -1;

	memset(r, 0, sizeof *r);
	/* Binary results (bytea as raw bytes); every other column is cast to
	 * text in SQL, whose binary form is its characters. Expired tokens are
	 * refused here too, not only deleted by the sweeper. */
	res = sr_db_params(db,
	    "SELECT " TOKEN_COLUMNS "FROM tokens WHERE (id = $1 OR legacy_number = $1) "
	    "AND (expires_at IS NULL OR expires_at > now())",
	    1, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "token get", res, db);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	if (fill_row(res, 0, r, true, err, errlen) != 0)
		goto out;
	rc = 1;
out:
	if (rc != 1)
		vault_token_row_clear(r);
	PQclear(res);
	return rc;
}

int vault_store_card_find(PGconn *db, const char *merchant_id, const char *customer,
                          const char *fingerprint, const char *fingerprint_prev,
                          struct vault_token_row *r, char *err, size_t errlen)
{
	const char *params[4] = { merchant_id, customer, fingerprint,
		                  fingerprint_prev != NULL && fingerprint_prev[0] != '\0'
		                  ? fingerprint_prev : NULL };
	PGresult *res = NULL;
	int rc = -1;

	memset(r, 0, sizeof *r);
	/* ADR 0074: across a fingerprint key rotation either fingerprint of the
	 * card may equal either fingerprint of the token. */
	res = sr_db_params(db,
	    "SELECT " TOKEN_COLUMNS "FROM tokens WHERE merchant_id = $1 AND customer = $2 "
	    "AND (fingerprint = $3 OR fingerprint = $4 OR fingerprint_prev = $3 "
	    "OR fingerprint_prev = $4) AND (expires_at IS NULL OR expires_at > now()) "
	    "ORDER BY created_at DESC LIMIT 1",
	    4, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "card find", res, db);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	if (fill_row(res, 0, r, false, err, errlen) != 0)
		goto out;
	rc = 1;
out:
	PQclear(res);
	return rc;
}

int vault_store_cards_list(PGconn *db, const char *merchant_id, const char *customer,
                           struct vault_token_row *rows, int max, char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, customer };
	PGresult *res = NULL;
	int rc = -1;
	int i;

	res = sr_db_params(db,
	    "SELECT " TOKEN_COLUMNS "FROM tokens WHERE merchant_id = $1 AND customer = $2 "
	    "AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC, id LIMIT 100",
	    2, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "cards list", res, db);
		goto out;
	}
	for (i = 0; i < PQntuples(res) && i < max; i++) {
		if (fill_row(res, i, &rows[i], false, err, errlen) != 0)
			goto out;
	}
	rc = i;
out:
	PQclear(res);
	return rc;
}

int vault_store_token_claim(PGconn *db, const char *id, const char *idempotency_key,
                            char *err, size_t errlen)
{
	const char *params[2] = { id, idempotency_key };
	PGresult *res = NULL;
	int rc = -1;

	/* Atomic: two concurrent first uses cannot both claim the token. */
	res = sr_db_params(db,
	    "UPDATE tokens SET used_by = $2, used_at = coalesce(used_at, now()) "
	    "WHERE id = $1 AND (used_by IS NULL OR used_by = $2)",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "token claim", res, db);
		goto out;
	}
	rc = strtoll(PQcmdTuples(res), NULL, 10) == 1 ? 1 : 0;
out:
	PQclear(res);
	return rc;
}

int vault_store_token_unclaim(PGconn *db, const char *id, const char *idempotency_key,
                              char *err, size_t errlen)
{
	const char *params[2] = { id, idempotency_key };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db,
	    "UPDATE tokens SET used_by = NULL, used_at = NULL WHERE id = $1 AND used_by = $2",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "token unclaim", res, db);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int vault_store_token_delete(PGconn *db, const char *id, const char *merchant_id,
                             char *err, size_t errlen)
{
	const char *params[2] = { id, merchant_id };
	PGresult *res = NULL;
	int rc = -1;

	/* The row holds the only copy of the ciphertext: deleting it destroys it. */
	res = sr_db_params(db, "DELETE FROM tokens WHERE id = $1 AND merchant_id = $2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "token delete", res, db);
		goto out;
	}
	rc = strtoll(PQcmdTuples(res), NULL, 10) == 1 ? 1 : 0;
out:
	PQclear(res);
	return rc;
}

long long vault_store_sweep_expired(PGconn *db, char *err, size_t errlen)
{
	PGresult *res = NULL;
	long long n = -1;

	res = sr_db_params(db, "DELETE FROM tokens WHERE expires_at <= now()",
	                   0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "token sweep", res, db);
		goto out;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
out:
	PQclear(res);
	return n;
}

static int exec_one_id(PGconn *db, const char *sql, const char *id, const char *what,
                       char *err, size_t errlen)
{
	const char *params[1] = { id };
	PGresult *res = NULL;
	int rc = -1;

	res = sr_db_params(db, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, what, res, db);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int vault_store_cvc_delete(PGconn *db, const char *id, char *err, size_t errlen)
{
	/* PCI DSS 3.3.1.2: SAD not retained after authorization. */
	return exec_one_id(db,
	    "UPDATE tokens SET cvc_iv = NULL, cvc_ct = NULL, cvc_expires_at = NULL "
	    "WHERE id = $1 AND cvc_ct IS NOT NULL",
	    id, "cvc delete", err, errlen);
}

int vault_store_token_touch(PGconn *db, const char *id, char *err, size_t errlen)
{
	return exec_one_id(db, "UPDATE tokens SET last_used_at = now() WHERE id = $1", id,
	                   "token touch", err, errlen);
}

long long vault_store_sweep_cvc(PGconn *db, char *err, size_t errlen)
{
	PGresult *res = NULL;
	long long n = -1;

	/* PCI DSS 3.3.1.2: CVC kept at most cvc_ttl_seconds (invariant 4, docs/invariants.md). */
	res = sr_db_params(db,
	    "UPDATE tokens SET cvc_iv = NULL, cvc_ct = NULL, cvc_expires_at = NULL "
	    "WHERE cvc_ct IS NOT NULL AND cvc_expires_at <= now()",
	    0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "cvc sweep", res, db);
		goto out;
	}
	n = strtoll(PQcmdTuples(res), NULL, 10);
out:
	PQclear(res);
	return n;
}

int vault_store_authorization_get(PGconn *db, const char *merchant_id,
                                  const char *idempotency_key,
                                  struct vault_authorization_row *row, char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, idempotency_key };
	PGresult *res = NULL;
	int rc = -1;

	memset(row, 0, sizeof *row);
	res = sr_db_params(db,
	    "SELECT token_id, amount, currency, capture, status, coalesce(psp_reference, ''), "
	    "coalesce(failure_code, ''), coalesce(failure_message, ''), "
	    "coalesce(redirect_url, ''), connector, coalesce(route_reason, '') "
	    "FROM authorizations WHERE merchant_id = $1 AND idempotency_key = $2",
	    2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pq_err(err, errlen, "authorization get", res, db);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	copy_field(row->token_id, sizeof row->token_id, res, 0, 0);
	row->amount = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	copy_field(row->currency, sizeof row->currency, res, 0, 2);
	row->capture = PQgetvalue(res, 0, 3)[0] == 't';
	copy_field(row->status, sizeof row->status, res, 0, 4);
	copy_field(row->psp_reference, sizeof row->psp_reference, res, 0, 5);
	copy_field(row->failure_code, sizeof row->failure_code, res, 0, 6);
	copy_field(row->failure_message, sizeof row->failure_message, res, 0, 7);
	copy_field(row->redirect_url, sizeof row->redirect_url, res, 0, 8);
	copy_field(row->connector, sizeof row->connector, res, 0, 9);
	copy_field(row->route_reason, sizeof row->route_reason, res, 0, 10);
	rc = 1;
out:
	PQclear(res);
	return rc;
}

static int advisory(PGconn *db, const char *fn, const char *merchant_id,
                    const char *idempotency_key, char *err, size_t errlen)
{
	const char *params[2] = { merchant_id, idempotency_key };
	char sql[160];
	PGresult *res = NULL;
	int rc = -1;

	/* fn is one of two literals below, never input. */
	snprintf(sql, sizeof sql, "SELECT %s(hashtextextended($1 || '|' || $2, 0))", fn);
	res = sr_db_params(db, sql, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		if (err != NULL)
			pq_err(err, errlen, fn, res, db);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int vault_store_authorization_lock(PGconn *db, const char *merchant_id,
                                   const char *idempotency_key, char *err, size_t errlen)
{
	return advisory(db, "pg_advisory_lock", merchant_id, idempotency_key, err, errlen);
}

void vault_store_authorization_unlock(PGconn *db, const char *merchant_id,
                                      const char *idempotency_key)
{
	(void)advisory(db, "pg_advisory_unlock", merchant_id, idempotency_key, NULL, 0);
}

static const char *nullable(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

int vault_store_authorization_put(PGconn *db, const char *merchant_id,
                                  const char *idempotency_key, const char *payment_id,
                                  const char *peer, const struct vault_authorization_row *row,
                                  char *err, size_t errlen)
{
	char amount[32];
	const char *params[15];
	PGresult *res = NULL;
	int rc = -1;

	snprintf(amount, sizeof amount, "%lld", row->amount);
	params[0] = merchant_id;
	params[1] = idempotency_key;
	params[2] = row->token_id;
	params[3] = payment_id;
	params[4] = amount;
	params[5] = row->currency;
	params[6] = row->capture ? "true" : "false";
	params[7] = row->connector;
	params[8] = row->status;
	params[9] = nullable(row->psp_reference);
	params[10] = nullable(row->failure_code);
	params[11] = nullable(row->failure_message);
	params[12] = nullable(row->redirect_url);
	params[13] = peer != NULL ? peer : "";
	params[14] = nullable(row->route_reason);
	res = sr_db_params(db,
	    "INSERT INTO authorizations (merchant_id, idempotency_key, token_id, payment_id, "
	    "amount, currency, capture, connector, status, psp_reference, failure_code, "
	    "failure_message, redirect_url, peer, route_reason) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
	    "ON CONFLICT (merchant_id, idempotency_key) DO UPDATE SET "
	    "status = EXCLUDED.status, psp_reference = EXCLUDED.psp_reference, "
	    "failure_code = EXCLUDED.failure_code, failure_message = EXCLUDED.failure_message, "
	    "redirect_url = EXCLUDED.redirect_url, peer = EXCLUDED.peer, "
	    "attempts = authorizations.attempts + 1, updated_at = now() "
	    "WHERE authorizations.status = 'unknown'",
	    15, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pq_err(err, errlen, "authorization put", res, db);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

void vault_token_row_clear(struct vault_token_row *row)
{
	if (row != NULL)
		sodium_memzero(row, sizeof *row);
}
