/*
 * vault_psp_creds: merchants' PSP credentials under the HSM (vault_psp_creds.h).
 *
 * Plaintext layout (only ever in guarded memory):
 *   api_key 0x00 merchant_account 0x00 webhook_secret [0x00 webhook_pending]
 * (each may be empty; the fourth field, a webhook secret the PSP has not yet
 * shown it uses (ADR 0107), only when there is one)
 * sealed with AES-256-GCM inside the HSM, AAD
 *   "strongroom/psp-cred/v1|<merchant>|<connector>"
 */
#include "vault/connectors/vault_psp_creds.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "hsm/hsm.h"
#include "vault/tokens/vault_token.h"

#define AAD_DOMAIN     "strongroom/psp-cred/v1"
#define ACCOUNT_DOMAIN "strongroom/psp-account/v1"
#define BLOB_MAX       (3 * VAULT_PSP_SECRET_MAX + VAULT_PSP_ACCOUNT_MAX + 3)
#define CT_MAX         (BLOB_MAX + HSM_GCM_TAG_LEN)

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

bool vault_psp_secret_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	if (n < VAULT_PSP_SECRET_MIN || n > VAULT_PSP_SECRET_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

bool vault_psp_account_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	if (n < VAULT_PSP_ACCOUNT_MIN || n > VAULT_PSP_ACCOUNT_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

bool vault_psp_connector_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return false;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static int make_aad(char *aad, size_t cap, const char *merchant, const char *connector,
                    size_t *len)
{
	int n;

	if (!vault_merchant_id_valid(merchant) || !vault_psp_connector_ok(connector))
		return -1;
	n = snprintf(aad, cap, "%s|%s|%s", AAD_DOMAIN, merchant, connector);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* Whether s is "<prefix><n>", n a version number 1..99999 (key_versions'
 * label shape, migration vault/0040): labels read from the database are
 * checked before they reach the HSM. */
static bool label_ok(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);
	size_t n = s != NULL ? strlen(s) : 0;
	size_t i;

	if (n <= pl || n > pl + 5 || n > VAULT_KEY_LABEL_MAX || strncmp(s, prefix, pl) != 0 ||
	    s[pl] < '1' || s[pl] > '9')
		return false;
	for (i = pl + 1; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool vault_psp_label_ok(const char *s, const char *prefix)
{
	return label_ok(s, prefix);
}

/* HMAC-SHA256 (HSM key `label`) of ACCOUNT_DOMAIN 0x00 connector 0x00
 * account, as hex. */
static int account_hmac(struct hsm *h, const char *label, const char *connector,
                        const char *account, char hex[65], char *err, size_t errlen)
{
	uint8_t msg[sizeof ACCOUNT_DOMAIN + 34 + VAULT_PSP_ACCOUNT_MAX + 1];
	uint8_t mac[32];
	char herr[256];
	size_t dl = strlen(ACCOUNT_DOMAIN);
	size_t cl = strlen(connector);
	size_t al = strlen(account);
	size_t n = 0;

	if (!label_ok(label, "fp-hmac-v") || cl > 32 || al > VAULT_PSP_ACCOUNT_MAX) {
		seterr(err, errlen, "account lookup: bad arguments");
		return -1;
	}
	memcpy(msg, ACCOUNT_DOMAIN, dl);
	n = dl;
	msg[n++] = 0x00;
	memcpy(msg + n, connector, cl);
	n += cl;
	msg[n++] = 0x00;
	memcpy(msg + n, account, al);
	n += al;
	if (hsm_hmac_sha256(h, label, msg, n, mac, herr, sizeof herr) != 0) {
		seterr(err, errlen, "account lookup: %s", herr);
		return -1;
	}
	sr_hex(mac, 32, hex);
	hex[64] = '\0';
	return 0;
}

/* The last 4 characters of s into out[5], or NULL when s is NULL. */
static const char *last4(const char *s, char out[5])
{
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	if (n < 4)
		return NULL;
	memcpy(out, s + n - 4, 4);
	out[4] = '\0';
	return out;
}

/* Whether another merchant registered `hex` (made under `label`) for
 * connector. 1 yes, 0 no, -1 error. */
static int account_taken(PGconn *db, const char *connector, const char *hex, const char *label,
                         const char *merchant, char *err, size_t errlen)
{
	const char *params[4] = { connector, hex, label, merchant };
	PGresult *res = PQexecParams(db,
	    "SELECT 1 FROM psp_credentials WHERE connector = $1 AND account_hmac = $2 "
	    "AND account_hmac_key = $3 AND merchant_id <> $4", 4, NULL, params, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		seterr(err, errlen, "psp account lookup failed (%s)", sqlstate(res));
	else
		rc = PQntuples(res) > 0 ? 1 : 0;
	PQclear(res);
	return rc;
}

int vault_psp_creds_put(PGconn *db, struct hsm *h, const struct vault_key_labels *keys,
                        const char *merchant, const char *connector, const char *api_key,
                        const char *merchant_account, const char *webhook_secret,
                        const char *webhook_pending, char *err, size_t errlen)
{
	const char *params[11];
	int lengths[11] = { 0 };
	int formats[11] = { 0 };
	char aad[160];
	char herr[256];
	char hmac_hex[65];
	char prev_hex[65];
	char l_api[5], l_acct[5], l_wh[5];
	uint8_t iv[HSM_GCM_IV_LEN];
	uint8_t ct[CT_MAX];
	size_t ct_len = sizeof ct;
	size_t aad_len = 0;
	size_t la = api_key != NULL ? strlen(api_key) : 0;
	size_t lm = merchant_account != NULL ? strlen(merchant_account) : 0;
	size_t lw = webhook_secret != NULL ? strlen(webhook_secret) : 0;
	size_t lp = webhook_pending != NULL ? strlen(webhook_pending) : 0;
	size_t blen = la + lm + lw + 2 + (lp > 0 ? lp + 1 : 0);
	char *blob = NULL;
	PGresult *res = NULL;
	const char *st = NULL;
	int rc = -1, t;

	if (db == NULL || h == NULL || keys == NULL || !label_ok(keys->pan, "pan-enc-v") ||
	    !label_ok(keys->fp, "fp-hmac-v") ||
	    (keys->fp_prev[0] != '\0' && !label_ok(keys->fp_prev, "fp-hmac-v")) ||
	    make_aad(aad, sizeof aad, merchant, connector, &aad_len) != 0 ||
	    (api_key == NULL && merchant_account == NULL && webhook_secret == NULL &&
	     webhook_pending == NULL) ||
	    (webhook_pending != NULL && !vault_psp_secret_ok(webhook_pending)) ||
	    (api_key != NULL && !vault_psp_secret_ok(api_key)) ||
	    (webhook_secret != NULL && !vault_psp_secret_ok(webhook_secret)) ||
	    (merchant_account != NULL && !vault_psp_account_ok(merchant_account))) {
		seterr(err, errlen, "psp credentials: bad arguments");
		goto out;
	}
	if (merchant_account != NULL) {
		if (account_hmac(h, keys->fp, connector, merchant_account, hmac_hex, err, errlen) != 0)
			goto out;
		/* ADR 0074/0095: during an fp-hmac transition a row still carries
		 * the previous key's HMAC, which the unique index cannot compare
		 * with this one. */
		if (keys->fp_prev[0] != '\0') {
			if (account_hmac(h, keys->fp_prev, connector, merchant_account, prev_hex, err,
			                 errlen) != 0) {
				if (err == NULL || strstr(err, "no secret key labelled") == NULL)
					goto out;   /* a bad label or an HSM failure stays an error */
				/* Retired meanwhile (labels cached up to 1 s, ADR 0074):
				 * retirement needs every row re-sealed first, so no row
				 * carries its HMAC; as in vault_psp_creds_find_account. */
				sr_log(SR_LOG_WARN, NULL, "psp_credentials.previous_key_unusable",
				       "{s:s, s:s}", "key", keys->fp_prev, "error", err);
				if (err != NULL && errlen > 0)
					err[0] = '\0';
			} else {
				t = account_taken(db, connector, prev_hex, keys->fp_prev, merchant, err,
				                  errlen);
				if (t != 0) {
					rc = t;
					goto out;
				}
			}
		}
	}
	blob = sr_secret_alloc(blen);
	if (blob == NULL) {
		seterr(err, errlen, "psp credentials: out of guarded memory");
		goto out;
	}
	memcpy(blob, la > 0 ? api_key : "", la);
	blob[la] = '\0';
	memcpy(blob + la + 1, lm > 0 ? merchant_account : "", lm);
	blob[la + 1 + lm] = '\0';
	memcpy(blob + la + lm + 2, lw > 0 ? webhook_secret : "", lw);
	if (lp > 0) {
		blob[la + lm + 2 + lw] = '\0';
		memcpy(blob + la + lm + lw + 3, webhook_pending, lp);
	}
	/* invariant 2, docs/invariants.md applied to credentials / PCI DSS 3.5.1, 8.6.3:
	 * AES-256-GCM inside the HSM under the current pan-enc key (ADR 0074);
	 * the AAD binds the row (ADR 0095). */
	if (hsm_aes_gcm_encrypt(h, keys->pan, (const uint8_t *)aad, aad_len,
	                        (const uint8_t *)blob, blen, iv, ct, &ct_len, herr, sizeof herr) != 0) {
		seterr(err, errlen, "psp credentials encrypt: %s", herr);
		goto out;
	}
	params[0] = merchant;
	params[1] = connector;
	params[2] = keys->pan;
	params[3] = (const char *)iv;
	lengths[3] = HSM_GCM_IV_LEN;
	formats[3] = 1;
	params[4] = (const char *)ct;
	lengths[4] = (int)ct_len;
	formats[4] = 1;
	params[5] = last4(api_key, l_api);
	params[6] = last4(merchant_account, l_acct);
	/* What the merchant last submitted, and whether the PSP showed it uses it. */
	params[7] = last4(webhook_pending != NULL ? webhook_pending : webhook_secret, l_wh);
	params[8] = merchant_account != NULL ? hmac_hex : NULL;
	params[9] = merchant_account != NULL ? keys->fp : NULL;
	params[10] = webhook_pending != NULL ? "pending" : webhook_secret != NULL ? "active" : NULL;
	res = PQexecParams(db,
	                   "INSERT INTO psp_credentials (merchant_id, connector, key_version, iv, ciphertext, "
	                   "api_key_last4, merchant_account_last4, webhook_secret_last4, account_hmac, "
	                   "account_hmac_key, webhook_secret_status) "
	                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
	                   "ON CONFLICT (merchant_id, connector) DO UPDATE SET key_version = EXCLUDED.key_version, "
	                   "iv = EXCLUDED.iv, ciphertext = EXCLUDED.ciphertext, "
	                   "api_key_last4 = EXCLUDED.api_key_last4, "
	                   "merchant_account_last4 = EXCLUDED.merchant_account_last4, "
	                   "webhook_secret_last4 = EXCLUDED.webhook_secret_last4, "
	                   "account_hmac = EXCLUDED.account_hmac, "
	                   "account_hmac_key = EXCLUDED.account_hmac_key, "
	                   "webhook_secret_status = EXCLUDED.webhook_secret_status, updated_at = now()",
	                   11, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		st = sqlstate(res);
		if (strcmp(st, "23505") == 0) {
			rc = 1;         /* unique (connector, account_hmac): another merchant's */
			goto out;
		}
		if (strcmp(st, "23503") == 0) {
			rc = 2;         /* no such merchant */
			goto out;
		}
		seterr(err, errlen, "psp credentials store failed (%s)", st);
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	sr_secret_free(blob);
	sodium_memzero(ct, sizeof ct);
	sodium_memzero(hmac_hex, sizeof hmac_hex);
	sodium_memzero(prev_hex, sizeof prev_hex);
	return rc;
}

/* Open a sealed row under its own key `label` into out (guarded memory);
 * *pt_len: the plaintext's length (the blob, NUL-terminated after it).
 * 0, or -1 with err (never a value). */
static int unseal(struct hsm *h, const char *label, const char *aad, size_t aad_len,
                  const uint8_t *iv, const uint8_t *ct, size_t ct_len,
                  struct vault_psp_creds_held *out, size_t *pt_len, char *err, size_t errlen)
{
	char herr[256];
	size_t n = 0, a = 0, m = 0, w = 0;
	char *blob = NULL;
	int rc = -1;

	if (!label_ok(label, "pan-enc-v") || ct_len <= HSM_GCM_TAG_LEN || ct_len > CT_MAX) {
		seterr(err, errlen, "psp credentials: unexpected stored row");
		goto out;
	}
	n = ct_len - HSM_GCM_TAG_LEN;
	blob = sr_secret_alloc(n + 1);
	if (blob == NULL) {
		seterr(err, errlen, "psp credentials: out of guarded memory");
		goto out;
	}
	if (hsm_aes_gcm_decrypt(h, label, (const uint8_t *)aad, aad_len, iv, ct, ct_len,
	                        (uint8_t *)blob, &n, herr, sizeof herr) != 0) {
		seterr(err, errlen, "psp credentials decrypt: %s", herr);
		goto out;
	}
	blob[n] = '\0';
	a = strnlen(blob, n);
	if (a >= n) {
		seterr(err, errlen, "psp credentials: malformed plaintext");
		goto out;
	}
	m = strnlen(blob + a + 1, n - a - 1);
	if (a + 1 + m >= n) {
		seterr(err, errlen, "psp credentials: malformed plaintext");
		goto out;
	}
	/* The webhook secret, then optionally 0x00 and a non-empty pending one. */
	w = strnlen(blob + a + m + 2, n - a - m - 2);
	if (a + m + 2 + w < n && (a + m + 3 + w >= n ||
	                          memchr(blob + a + m + w + 3, '\0', n - a - m - w - 3) != NULL)) {
		seterr(err, errlen, "psp credentials: malformed plaintext");
		goto out;
	}
	out->creds.api_key = a > 0 ? blob : NULL;
	out->creds.merchant_account = m > 0 ? blob + a + 1 : NULL;
	out->creds.webhook_secret = w > 0 ? blob + a + m + 2 : NULL;
	out->webhook_pending = a + m + 2 + w < n ? blob + a + m + w + 3 : NULL;
	out->blob = blob;
	blob = NULL;
	*pt_len = n;
	rc = 0;
out:
	sr_secret_free(blob);
	return rc;
}

int vault_psp_creds_load(PGconn *db, struct hsm *h, const char *merchant, const char *connector,
                         struct vault_psp_creds_held *out, char *err, size_t errlen)
{
	const char *params[2] = { merchant, connector };
	char aad[160];
	char label[VAULT_KEY_LABEL_MAX + 1];
	size_t aad_len = 0;
	size_t pt_len = 0;
	int kl = 0;
	PGresult *res = NULL;
	int rc = -1;

	if (out != NULL)
		memset(out, 0, sizeof *out);
	if (db == NULL || h == NULL || out == NULL ||
	    make_aad(aad, sizeof aad, merchant, connector, &aad_len) != 0) {
		seterr(err, errlen, "psp credentials: bad arguments");
		goto out;
	}
	res = PQexecParams(db,
	                   "SELECT key_version, iv, ciphertext FROM psp_credentials "
	                   "WHERE merchant_id = $1 AND connector = $2",
	                   2, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		seterr(err, errlen, "psp credentials lookup failed (%s)", sqlstate(res));
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	/* The row names its key (ADR 0074): any pan-enc-vN the HSM still holds. */
	kl = PQgetlength(res, 0, 0);
	if (kl <= 0 || kl > VAULT_KEY_LABEL_MAX || PQgetlength(res, 0, 1) != HSM_GCM_IV_LEN) {
		seterr(err, errlen, "psp credentials: unexpected stored row");
		goto out;
	}
	memcpy(label, PQgetvalue(res, 0, 0), (size_t)kl);
	label[kl] = '\0';
	if (unseal(h, label, aad, aad_len, (const uint8_t *)PQgetvalue(res, 0, 1),
	           (const uint8_t *)PQgetvalue(res, 0, 2), (size_t)PQgetlength(res, 0, 2), out,
	           &pt_len, err, errlen) != 0)
		goto out;
	rc = 1;
out:
	PQclear(res);
	return rc;
}

void vault_psp_creds_release(struct vault_psp_creds_held *held)
{
	if (held == NULL)
		return;
	sr_secret_free(held->blob);    /* wipes */
	memset(held, 0, sizeof *held);
}

int vault_psp_creds_find_account(PGconn *db, struct hsm *h, const struct vault_key_labels *keys,
                                 const char *connector, const char *account, char *merchant_out,
                                 size_t cap, char *err, size_t errlen)
{
	const char *params[5];
	char hex[65];
	char prev_hex[65];
	bool transition = false;
	PGresult *res = NULL;
	int rc = -1;

	if (merchant_out != NULL && cap > 0)
		merchant_out[0] = '\0';
	if (db == NULL || h == NULL || keys == NULL || merchant_out == NULL ||
	    !vault_psp_connector_ok(connector)) {
		seterr(err, errlen, "psp credentials: bad arguments");
		goto out;
	}
	if (!vault_psp_account_ok(account)) {
		rc = 0;         /* no registration can have this shape */
		goto out;
	}
	if (account_hmac(h, keys->fp, connector, account, hex, err, errlen) != 0)
		goto out;
	/* ADR 0074's fingerprint transition, for accounts: rows not yet
	 * re-sealed still carry the previous fp-hmac key's HMAC. */
	transition = keys->fp_prev[0] != '\0';
	if (transition && account_hmac(h, keys->fp_prev, connector, account, prev_hex, err,
	                               errlen) != 0) {
		if (err == NULL || strstr(err, "no secret key labelled") == NULL)
			goto out;   /* a bad label or an HSM failure stays an error */
		/* Retired meanwhile (vaultd's labels are cached up to 1 s, ADR
		 * 0074): retirement needs every row re-sealed first, so no row can
		 * still carry its HMAC. Not needed, not fatal (as for fingerprints). */
		sr_log(SR_LOG_WARN, NULL, "psp_credentials.previous_key_unusable", "{s:s, s:s}",
		       "key", keys->fp_prev, "error", err);
		transition = false;
		if (err != NULL && errlen > 0)
			err[0] = '\0';
	}
	params[0] = connector;
	params[1] = hex;
	params[2] = keys->fp;
	params[3] = transition ? prev_hex : NULL;
	params[4] = transition ? keys->fp_prev : NULL;
	res = PQexecParams(db,
	                   "SELECT merchant_id FROM psp_credentials WHERE connector = $1 AND "
	                   "((account_hmac = $2 AND account_hmac_key = $3) OR "
	                   "(account_hmac = $4 AND account_hmac_key = $5)) "
	                   "ORDER BY (account_hmac_key = $3) DESC LIMIT 1",
	                   5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		seterr(err, errlen, "psp account lookup failed (%s)", sqlstate(res));
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = 0;
		goto out;
	}
	snprintf(merchant_out, cap, "%s", PQgetvalue(res, 0, 0));
	rc = 1;
out:
	PQclear(res);
	return rc;
}

static json_t *col_or_null(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

json_t *vault_psp_creds_list(PGconn *db, const char *merchant, char *err, size_t errlen)
{
	const char *params[1] = { merchant };
	PGresult *res = NULL;
	json_t *arr = NULL;
	json_t *ret = NULL;
	int i;

	res = PQexecParams(db,
	                   "SELECT connector, api_key_last4, merchant_account_last4, webhook_secret_last4, "
	                   "extract(epoch FROM created_at)::bigint, extract(epoch FROM updated_at)::bigint, "
	                   "webhook_secret_status "
	                   "FROM psp_credentials WHERE merchant_id = $1 ORDER BY connector",
	                   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		seterr(err, errlen, "psp credentials list failed (%s)", sqlstate(res));
		goto out;
	}
	arr = json_array();
	if (arr == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o, s:o, s:I, s:I}",
		                          "connector", PQgetvalue(res, i, 0),
		                          "api_key_last4", col_or_null(res, i, 1),
		                          "merchant_account_last4", col_or_null(res, i, 2),
		                          "webhook_secret_last4", col_or_null(res, i, 3),
		                          "webhook_secret_status", col_or_null(res, i, 6),
		                          "created", (json_int_t)strtoll(PQgetvalue(res, i, 4), NULL, 10),
		                          "updated", (json_int_t)strtoll(PQgetvalue(res, i, 5), NULL, 10))) != 0)
			goto out;
	}
	ret = arr;
	arr = NULL;
out:
	json_decref(arr);
	PQclear(res);
	return ret;
}

int vault_psp_creds_delete(PGconn *db, const char *merchant, const char *connector, char *err,
                           size_t errlen)
{
	const char *params[2] = { merchant, connector };
	PGresult *res = NULL;
	int rc = -1;

	res = PQexecParams(db, "DELETE FROM psp_credentials WHERE merchant_id = $1 AND connector = $2",
	                   2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		seterr(err, errlen, "psp credentials delete failed (%s)", sqlstate(res));
		goto out;
	}
	rc = strcmp(PQcmdTuples(res), "0") == 0 ? 0 : 1;
out:
	PQclear(res);
	return rc;
}

/* ---- vaultctl keys reencrypt: credentials onto the current keys --------- */

struct cred_row {
	char merchant[VAULT_MERCHANT_ID_MAX + 1];
	char connector[33];
	char key_version[VAULT_KEY_LABEL_MAX + 1];
	uint8_t iv[HSM_GCM_IV_LEN];
	uint8_t ct[CT_MAX];
	size_t ct_len;
};

static int text_col(PGresult *res, int i, int col, char *dst, size_t cap)
{
	int n = PQgetlength(res, i, col);

	if (n <= 0 || (size_t)n >= cap)
		return -1;
	memcpy(dst, PQgetvalue(res, i, col), (size_t)n);
	dst[n] = '\0';
	return 0;
}

/* Re-seal one row. 1 moved, 0 skipped (changed meanwhile), 2 failed (did
 * not open, or the new account HMAC collides), -1 error. */
static int reseal_one(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                      const struct cred_row *r, char *err, size_t errlen)
{
	struct vault_psp_creds_held held = { { NULL, NULL, NULL }, NULL, NULL };
	const char *params[8];
	int lengths[8] = { 0 }, formats[8] = { 0 };
	char aad[160], herr[256], hex[65];
	uint8_t iv[HSM_GCM_IV_LEN], ct[CT_MAX];
	size_t aad_len = 0, pt_len = 0, ct_len = sizeof ct;
	PGresult *res = NULL;
	const char *result = "failed";
	int rc = -1;

	if (make_aad(aad, sizeof aad, r->merchant, r->connector, &aad_len) != 0 ||
	    unseal(h, r->key_version, aad, aad_len, r->iv, r->ct, r->ct_len, &held, &pt_len, herr,
	           sizeof herr) != 0) {
		rc = 2;
		goto out;
	}
	/* Same plaintext, same AAD, the current key (ADR 0074, 0095). */
	if (hsm_aes_gcm_encrypt(h, cur->pan, (const uint8_t *)aad, aad_len,
	                        (const uint8_t *)held.blob, pt_len, iv, ct, &ct_len, herr,
	                        sizeof herr) != 0) {
		seterr(err, errlen, "psp credentials encrypt: %s", herr);
		goto out;
	}
	if (held.creds.merchant_account != NULL &&
	    account_hmac(h, cur->fp, r->connector, held.creds.merchant_account, hex, err,
	                 errlen) != 0)
		goto out;
	params[0] = r->merchant;
	params[1] = r->connector;
	params[2] = cur->pan;
	params[3] = (const char *)iv;
	lengths[3] = HSM_GCM_IV_LEN;
	formats[3] = 1;
	params[4] = (const char *)ct;
	lengths[4] = (int)ct_len;
	formats[4] = 1;
	params[5] = held.creds.merchant_account != NULL ? hex : NULL;
	params[6] = (const char *)r->ct;
	lengths[6] = (int)r->ct_len;
	formats[6] = 1;
	params[7] = cur->fp;
	vault_psp_creds_release(&held);
	/* Only over the ciphertext that was read: a re-registration meanwhile
	 * (already on the current keys) wins. */
	res = PQexecParams(db,
	    "UPDATE psp_credentials SET key_version = $3, iv = $4::bytea, ciphertext = $5::bytea, "
	    "account_hmac = $6, account_hmac_key = CASE WHEN $6::text IS NULL THEN NULL ELSE $8 END "
	    "WHERE merchant_id = $1 AND connector = $2 AND ciphertext = $7::bytea",
	    8, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		if (strcmp(sqlstate(res), "23505") == 0) {
			rc = 2;         /* the account is another merchant's under the new key */
			goto out;
		}
		seterr(err, errlen, "psp credentials re-seal failed (%s)", sqlstate(res));
		goto out;
	}
	rc = strcmp(PQcmdTuples(res), "1") == 0 ? 1 : 0;
	result = rc == 1 ? "resealed" : "skipped";
out:
	if (rc >= 0)
		/* Credentials are not PANs (no PAN audit record): one event per row,
		 * who and where only, never a value (PCI DSS v4.0 10.2.1.2 for the
		 * administrator action as a whole is the ceremony transcript). */
		sr_log(rc == 2 ? SR_LOG_WARN : SR_LOG_INFO, NULL, "psp_credentials.resealed",
		       "{s:s, s:s, s:s, s:s, s:s}", "merchant", r->merchant, "connector",
		       r->connector, "from", r->key_version, "to", cur->pan, "result", result);
	PQclear(res);
	vault_psp_creds_release(&held);
	sodium_memzero(ct, sizeof ct);
	sodium_memzero(hex, sizeof hex);
	return rc;
}

int vault_psp_creds_reseal_batch(PGconn *db, struct hsm *h, const struct vault_key_labels *cur,
                                 int batch, char *cursor_merchant, size_t cm_cap,
                                 char *cursor_connector, size_t cc_cap,
                                 struct vault_reencrypt_stats *st, char *err, size_t errlen)
{
	char lim[16];
	const char *params[5] = { cursor_merchant, cursor_connector, cur->pan, cur->fp, lim };
	struct cred_row *rows = NULL;
	PGresult *res = NULL;
	int i, n = 0, ret = -1;

	if (db == NULL || h == NULL || cur == NULL || st == NULL || batch <= 0 ||
	    !label_ok(cur->pan, "pan-enc-v") || !label_ok(cur->fp, "fp-hmac-v")) {
		seterr(err, errlen, "psp credentials: bad arguments");
		return -1;
	}
	snprintf(lim, sizeof lim, "%d", batch);
	res = PQexecParams(db,
	    "SELECT merchant_id, connector, key_version, iv, ciphertext FROM psp_credentials "
	    "WHERE (merchant_id, connector) > ($1, $2) AND (key_version <> $3 OR "
	    "account_hmac_key <> $4) ORDER BY merchant_id, connector LIMIT $5::integer",
	    5, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		seterr(err, errlen, "psp credentials re-seal select failed (%s)", sqlstate(res));
		goto out;
	}
	n = PQntuples(res);
	rows = calloc((size_t)(n > 0 ? n : 1), sizeof(*rows));
	if (rows == NULL) {
		seterr(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct cred_row *r = &rows[i];
		int cl = PQgetlength(res, i, 4);

		if (text_col(res, i, 0, r->merchant, sizeof r->merchant) != 0 ||
		    text_col(res, i, 1, r->connector, sizeof r->connector) != 0 ||
		    text_col(res, i, 2, r->key_version, sizeof r->key_version) != 0 ||
		    PQgetlength(res, i, 3) != HSM_GCM_IV_LEN || cl <= 0 || (size_t)cl > sizeof r->ct) {
			seterr(err, errlen, "psp credentials re-seal: malformed row");
			goto out;
		}
		memcpy(r->iv, PQgetvalue(res, i, 3), HSM_GCM_IV_LEN);
		memcpy(r->ct, PQgetvalue(res, i, 4), (size_t)cl);
		r->ct_len = (size_t)cl;
	}
	PQclear(res);
	res = NULL;
	for (i = 0; i < n; i++) {
		int r = reseal_one(db, h, cur, &rows[i], err, errlen);

		if (r < 0)
			goto out;
		if (r == 1)
			st->moved++;
		else if (r == 0)
			st->skipped++;
		else
			st->failed++;
		snprintf(cursor_merchant, cm_cap, "%s", rows[i].merchant);
		snprintf(cursor_connector, cc_cap, "%s", rows[i].connector);
	}
	ret = n;
out:
	PQclear(res);
	if (rows != NULL) {
		sodium_memzero(rows, sizeof(*rows) * (size_t)(n > 0 ? n : 1));
		free(rows);
	}
	return ret;
}
