/*
 * vault_audit: chained HSM-HMAC audit of PAN decryptions (vault_audit.h).
 */
#include "vault/vault_audit.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/sr_db.h"
#include "hsm/hsm.h"

#define AUDIT_DOMAIN "strongroom/pan-audit/v1"
#define AUDIT_MSG_MAX 4096

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

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Append a length-prefixed field; false when it does not fit. */
static bool put(uint8_t *out, size_t cap, size_t *pos, const void *data, size_t len)
{
	if (len > 0xffffffffu || *pos + 4 + len > cap)
		return false;
	out[(*pos)++] = (uint8_t)(len >> 24);
	out[(*pos)++] = (uint8_t)(len >> 16);
	out[(*pos)++] = (uint8_t)(len >> 8);
	out[(*pos)++] = (uint8_t)len;
	memcpy(out + *pos, data, len);
	*pos += len;
	return true;
}

static bool put_str(uint8_t *out, size_t cap, size_t *pos, const char *s)
{
	return put(out, cap, pos, nz(s), strlen(nz(s)));
}

size_t vault_audit_canonical(long long seq, long long at_us, const struct vault_audit_event *ev,
                             const uint8_t prev_mac[32], uint8_t *out, size_t outcap)
{
	char num[2][24];
	size_t pos = 0;

	snprintf(num[0], sizeof num[0], "%lld", seq);
	snprintf(num[1], sizeof num[1], "%lld", at_us);
	if (!put_str(out, outcap, &pos, AUDIT_DOMAIN) || !put_str(out, outcap, &pos, num[0]) ||
	    !put_str(out, outcap, &pos, num[1]) || !put_str(out, outcap, &pos, ev->token_id) ||
	    !put_str(out, outcap, &pos, ev->merchant_id) ||
	    !put_str(out, outcap, &pos, ev->purpose) ||
	    !put_str(out, outcap, &pos, ev->payment_id) ||
	    !put_str(out, outcap, &pos, ev->connector) || !put_str(out, outcap, &pos, ev->peer) ||
	    !put_str(out, outcap, &pos, ev->result) || !put(out, outcap, &pos, prev_mac, 32))
		return 0;
	return pos;
}

static int mac_record(struct hsm *h, long long seq, long long at_us,
                      const struct vault_audit_event *ev, const uint8_t prev[32],
                      uint8_t mac[32], char *err, size_t errlen)
{
	uint8_t msg[AUDIT_MSG_MAX];
	size_t n = vault_audit_canonical(seq, at_us, ev, prev, msg, sizeof msg);

	if (n == 0) {
		seterr(err, errlen, "audit: record too large");
		return -1;
	}
	/* PCI DSS 10.3.2: the MAC key never leaves the HSM. */
	return hsm_hmac_sha256(h, HSM_KEY_AUDIT_HMAC, msg, n, mac, err, errlen);
}

long long vault_audit_append(PGconn *db, struct hsm *h, const struct vault_audit_event *ev,
                             char *err, size_t errlen)
{
	struct timespec ts;
	uint8_t prev[32];
	uint8_t mac[32];
	char seq_s[24];
	char at_s[24];
	const char *params[10];
	int lengths[10] = { 0 };
	int formats[10] = { 0 };
	PGresult *res = NULL;
	long long seq = 0;
	long long at_us;
	bool in_tx = false;
	long long ret = -1;

	if (sr_db_exec(db, "BEGIN") != 0) {
		seterr(err, errlen, "audit: begin: %s", PQerrorMessage(db));
		goto out;
	}
	in_tx = true;
	/* One writer at a time: the chain has a single order. */
	res = PQexecParams(db, "SELECT seq, mac FROM pan_audit_head FOR UPDATE", 0, NULL, NULL,
	                   NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQgetlength(res, 0, 0) != 8 || PQgetlength(res, 0, 1) != 32) {
		seterr(err, errlen, "audit: head: %s", PQerrorMessage(db));
		goto out;
	}
	{
		const uint8_t *b = (const uint8_t *)PQgetvalue(res, 0, 0);
		unsigned long long v = 0;
		int i;

		for (i = 0; i < 8; i++)
			v = (v << 8) | b[i];
		seq = (long long)v + 1;
	}
	memcpy(prev, PQgetvalue(res, 0, 1), 32);
	PQclear(res);
	res = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	at_us = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
	if (mac_record(h, seq, at_us, ev, prev, mac, err, errlen) != 0)
		goto out;

	snprintf(seq_s, sizeof seq_s, "%lld", seq);
	snprintf(at_s, sizeof at_s, "%lld", at_us);
	params[0] = seq_s;
	params[1] = at_s;
	params[2] = nz(ev->token_id);
	params[3] = nz(ev->merchant_id);
	params[4] = nz(ev->purpose);
	params[5] = nz(ev->payment_id);
	params[6] = nz(ev->connector);
	params[7] = nz(ev->peer);
	params[8] = nz(ev->result);
	params[9] = (const char *)mac;
	lengths[9] = 32;
	formats[9] = 1;
	res = PQexecParams(db,
	    "INSERT INTO pan_audit (seq, at, token_id, merchant_id, purpose, payment_id, "
	    "connector, peer, result, mac) VALUES ($1, 'epoch'::timestamptz + $2::bigint * "
	    "interval '1 microsecond', $3, $4, $5, $6, $7, $8, $9, $10::bytea)",
	    10, NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		seterr(err, errlen, "audit: insert: %s", PQerrorMessage(db));
		goto out;
	}
	PQclear(res);
	res = PQexecParams(db, "UPDATE pan_audit_head SET seq = $1, mac = $2::bytea",
	                   2, NULL, (const char *const[]){ seq_s, (const char *)mac },
	                   (const int[]){ 0, 32 }, (const int[]){ 0, 1 }, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		seterr(err, errlen, "audit: head update: %s", PQerrorMessage(db));
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (sr_db_exec(db, "COMMIT") != 0) {
		in_tx = false;
		seterr(err, errlen, "audit: commit: %s", PQerrorMessage(db));
		goto out;
	}
	in_tx = false;
	ret = seq;
out:
	PQclear(res);
	if (in_tx)
		(void)sr_db_exec(db, "ROLLBACK");
	return ret;
}

int vault_audit_verify(PGconn *db, struct hsm *h, struct vault_audit_report *rep, char *err,
                       size_t errlen)
{
	PGresult *res = NULL;
	PGresult *head = NULL;
	uint8_t prev[32];
	uint8_t mac[32];
	long long expect = 1;
	long long head_seq;
	int rc = -1;
	int i;

	memset(rep, 0, sizeof *rep);
	memset(prev, 0, sizeof prev);
	/* One snapshot for the rows and the head. */
	if (sr_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
		seterr(err, errlen, "audit verify: begin: %s", PQerrorMessage(db));
		goto out;
	}
	/* ORDER BY the column, not the text output column of the same name. */
	res = PQexecParams(db,
	    "SELECT seq::text, (extract(epoch FROM at) * 1000000)::bigint::text, token_id, merchant_id, purpose, payment_id, "
	    "connector, peer, result, mac FROM pan_audit ORDER BY pan_audit.seq",
	    0, NULL, NULL, NULL, NULL, 1);
	head = PQexecParams(db, "SELECT seq::text, mac FROM pan_audit_head", 0, NULL, NULL, NULL,
	                    NULL, 1);
	(void)sr_db_exec(db, "COMMIT");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQresultStatus(head) != PGRES_TUPLES_OK ||
	    PQntuples(head) != 1 || PQgetlength(head, 0, 1) != 32) {
		seterr(err, errlen, "audit verify: query: %s", PQerrorMessage(db));
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++, expect++) {
		struct vault_audit_event ev = {
			.token_id = PQgetvalue(res, i, 2),
			.merchant_id = PQgetvalue(res, i, 3),
			.purpose = PQgetvalue(res, i, 4),
			.payment_id = PQgetvalue(res, i, 5),
			.connector = PQgetvalue(res, i, 6),
			.peer = PQgetvalue(res, i, 7),
			.result = PQgetvalue(res, i, 8),
		};
		long long seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
		long long at_us = strtoll(PQgetvalue(res, i, 1), NULL, 10);

		if (seq != expect) {
			rep->first_bad = expect;
			snprintf(rep->reason, sizeof rep->reason,
			         "record %lld is missing (the next record is %lld): removed or "
			         "renumbered", expect, seq);
			rc = 1;
			goto out;
		}
		if (mac_record(h, seq, at_us, &ev, prev, mac, err, errlen) != 0)
			goto out;
		if (PQgetlength(res, i, 9) != 32 ||
		    sodium_memcmp(mac, PQgetvalue(res, i, 9), 32) != 0) {
			rep->first_bad = seq;
			snprintf(rep->reason, sizeof rep->reason,
			         "record %lld does not match its MAC: altered, reordered, or the "
			         "record before it was changed", seq);
			rc = 1;
			goto out;
		}
		memcpy(prev, mac, 32);
		rep->records++;
	}
	head_seq = strtoll(PQgetvalue(head, 0, 0), NULL, 10);
	if (head_seq != expect - 1 ||
	    (head_seq > 0 && sodium_memcmp(prev, PQgetvalue(head, 0, 1), 32) != 0)) {
		rep->first_bad = expect;
		snprintf(rep->reason, sizeof rep->reason,
		         "the chain ends at record %lld but its head names record %lld: the newest "
		         "records were removed or the head was altered", expect - 1, head_seq);
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	PQclear(head);
	return rc;
}
