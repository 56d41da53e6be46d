/*
 * vault_audit: chained HSM-HMAC audit of PAN decryptions (vault_audit.h).
 */
#include "vault/audit/vault_audit.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "common/sr_db.h"
#include "common/sr_dbprep.h"
#include "common/sr_gc.h"
#include "common/sr_log.h"
#include "hsm/hsm.h"

#define AUDIT_DOMAIN "strongroom/pan-audit/v1"
#define HEAD_DOMAIN "strongroom/pan-audit-head/v1"
#define CHECKPOINT_DOMAIN "strongroom/pan-audit-checkpoint/v1"
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

/*
 * The head's MAC (at_us NULL) or a checkpoint's: HMAC in the HSM over the
 * domain, seq, records, [at_us,] and the chain MAC of record seq, encoded as
 * the records are (vault_audit.h).
 */
static int mac_seal(struct hsm *h, const char *domain, long long seq, long long records,
                    const long long *at_us, const uint8_t chain_mac[32], uint8_t out[32],
                    char *err, size_t errlen)
{
	uint8_t msg[256];
	char num[3][24];
	size_t pos = 0;

	snprintf(num[0], sizeof num[0], "%lld", seq);
	snprintf(num[1], sizeof num[1], "%lld", records);
	snprintf(num[2], sizeof num[2], "%lld", at_us != NULL ? *at_us : 0);
	if (!put_str(msg, sizeof msg, &pos, domain) || !put_str(msg, sizeof msg, &pos, num[0]) ||
	    !put_str(msg, sizeof msg, &pos, num[1]) ||
	    (at_us != NULL && !put_str(msg, sizeof msg, &pos, num[2])) ||
	    !put(msg, sizeof msg, &pos, chain_mac, 32)) {
		seterr(err, errlen, "audit: seal too large");
		return -1;
	}
	return hsm_hmac_sha256(h, HSM_KEY_AUDIT_HMAC, msg, pos, out, err, errlen);
}

/* A big-endian int8 column in binary format. */
static long long be64(const char *p)
{
	const uint8_t *b = (const uint8_t *)p;
	unsigned long long v = 0;
	int j;

	for (j = 0; j < 8; j++)
		v = (v << 8) | b[j];
	return (long long)v;
}

/* Checkpoint period and this process's last checkpoint (ADR 0111). */
static pthread_mutex_t g_cp_mu = PTHREAD_MUTEX_INITIALIZER;
static long long g_cp_records = VAULT_AUDIT_CHECKPOINT_RECORDS;
static long long g_cp_seconds = VAULT_AUDIT_CHECKPOINT_SECONDS;
static long long g_cp_last = -1;       /* CLOCK_MONOTONIC seconds; -1: none yet */

int vault_audit_set_checkpoints(long long records, long long seconds)
{
	if (records < 0 || records > 1000000000LL || seconds < 0 || seconds > 31536000LL)
		return -1;
	pthread_mutex_lock(&g_cp_mu);
	g_cp_records = records;
	g_cp_seconds = seconds;
	pthread_mutex_unlock(&g_cp_mu);
	return 0;
}

static long long mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* Whether moving the head from old_seq to new_seq writes a checkpoint. */
static bool checkpoint_due(long long old_seq, long long new_seq, long long now)
{
	bool due;

	pthread_mutex_lock(&g_cp_mu);
	due = g_cp_last < 0 ||
	      (g_cp_records > 0 && new_seq / g_cp_records > old_seq / g_cp_records) ||
	      (g_cp_seconds > 0 && now - g_cp_last >= g_cp_seconds);
	pthread_mutex_unlock(&g_cp_mu);
	return due;
}

static void checkpoint_written(long long now)
{
	pthread_mutex_lock(&g_cp_mu);
	g_cp_last = now;
	pthread_mutex_unlock(&g_cp_mu);
}

/*
 * Check the locked head before extending it (fail closed: a chain whose
 * head was rewritten outside vaultd is not extended, so an append cannot
 * make a shortened chain's head valid again). A head without head_mac is
 * accepted only while no checkpoint exists: a head written before
 * migration 0050. 0 good, -1 error or refused (err).
 */
static int head_check(PGconn *db, struct hsm *h, const PGresult *head, long long seq,
                      long long records, char *err, size_t errlen)
{
	uint8_t want[32];
	PGresult *res;
	bool none;

	if (records != seq) {
		seterr(err, errlen, "audit: pan_audit_head counts %lld records at seq %lld: "
		       "altered; appends refused (vaultctl audit verify)", records, seq);
		return -1;
	}
	if (PQgetisnull(head, 0, 3)) {
		res = sr_db_params(db, "SELECT EXISTS (SELECT 1 FROM pan_audit_checkpoint)", 0, NULL,
		                   NULL, NULL, NULL, 0);
		none = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		       strcmp(PQgetvalue(res, 0, 0), "f") == 0;
		PQclear(res);
		if (!none)
			seterr(err, errlen, "audit: pan_audit_head has no MAC: altered; appends "
			       "refused (vaultctl audit verify)");
		return none ? 0 : -1;
	}
	if (mac_seal(h, HEAD_DOMAIN, seq, records, NULL, (const uint8_t *)PQgetvalue(head, 0, 1),
	             want, err, errlen) != 0)
		return -1;
	if (PQgetlength(head, 0, 3) != 32 || sodium_memcmp(want, PQgetvalue(head, 0, 3), 32) != 0) {
		seterr(err, errlen, "audit: pan_audit_head fails its MAC: altered; appends refused "
		       "(vaultctl audit verify)");
		return -1;
	}
	return 0;
}

/* Columns of one pan_audit row in the INSERT below. */
#define AUDIT_COLS 10
/* Records per transaction (ADR 0083): 64 x 10 parameters at most. */
#define AUDIT_MAX_BATCH 64

/* One decryption waiting for the group commit, with its submitter's resources. */
struct audit_item {
	PGconn *db;
	struct hsm *h;
	const struct vault_audit_event *ev;
	long long seq;          /* out: its seq */
	char *err;
	size_t errlen;
};

/* "($1, 'epoch' + $2 us, $3..$9, $10::bytea)" for rows 0..n-1; 0 or -1. */
static int values_list(char *sql, size_t cap, size_t n)
{
	size_t pos = 0, r;
	int k;

	for (r = 0; r < n; r++) {
		unsigned b = (unsigned)(r * AUDIT_COLS);

		k = snprintf(sql + pos, cap - pos,
		             "%s($%u::bigint, 'epoch'::timestamptz + $%u::bigint * interval '1 microsecond', "
		             "$%u, $%u, $%u, $%u, $%u, $%u, $%u, $%u::bytea)",
		             r > 0 ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8,
		             b + 9, b + 10);
		if (k < 0 || (size_t)k >= cap - pos)
			return -1;
		pos += (size_t)k;
	}
	return 0;
}

/* Every item's err gets the batch's error text. */
static void batch_err(void *const *items, size_t n, const char *msg)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct audit_item *it = items[i];

		seterr(it->err, it->errlen, "%s", msg);
	}
}

/*
 * Insert the signed checkpoint of the head at record seq_num (decimal text)
 * with its chain MAC, at at_us (decimal UNIX microseconds, the record's
 * time), in the open transaction; its MAC goes to sig. 0 or -1 (err).
 */
static int write_checkpoint(PGconn *db, struct hsm *h, const char *seq_num, long long records,
                            const char *at_us, const uint8_t chain_mac[32], uint8_t sig[32],
                            char *err, size_t errlen)
{
	long long at = strtoll(at_us, NULL, 10);
	char rec_num[24];
	PGresult *res;
	int rc;

	snprintf(rec_num, sizeof rec_num, "%lld", records);
	if (mac_seal(h, CHECKPOINT_DOMAIN, strtoll(seq_num, NULL, 10), records, &at, chain_mac, sig,
	             err, errlen) != 0)
		return -1;
	res = sr_db_params(db, "INSERT INTO pan_audit_checkpoint (seq, records, mac, at, sig) "
	                   "VALUES ($1, $2, $3::bytea, 'epoch'::timestamptz + $4::bigint * "
	                   "interval '1 microsecond', $5::bytea)", 5, NULL,
	                   (const char *const[]){ seq_num, rec_num, (const char *)chain_mac, at_us,
	                                          (const char *)sig },
	                   (const int[]){ 0, 0, 32, 0, 32 }, (const int[]){ 0, 0, 1, 0, 1 }, 0);
	rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		seterr(err, errlen, "audit: checkpoint: %s", PQerrorMessage(db));
	PQclear(res);
	return rc;
}

/*
 * The group commit's batch (sr_gc_batch_fn): lock the head, MAC each record
 * in the HSM chained to the one before it (arrival order), insert them all
 * and move the head, in one transaction on the first submitter's connection
 * (it waits in sr_gc_submit until we return). One HMAC per record as
 * before; one durable COMMIT per batch.
 */
static int append_batch(void *arg, void *const *items, size_t n)
{
	const struct audit_item *first = items[0];
	PGconn *db = first->db;
	struct hsm *h = first->h;
	struct timespec ts;
	uint8_t prev[32];
	uint8_t (*mac)[32] = NULL;
	char (*num)[2][24] = NULL;     /* seq, at_us per record */
	const char **params = NULL;
	int *lengths = NULL, *formats = NULL;
	char *sql = NULL;
	size_t sqlcap = 256 + n * 192, i;
	char err[256] = "";
	PGresult *res = NULL;
	long long seq = 0, old_seq = 0, records = 0, now = 0;
	uint8_t head_mac[32], cp_sig[32];
	char rec_num[24];
	bool in_tx = false, checkpoint = false;
	int k;
	int ret = SR_GC_RETRY;

	(void)arg;
	if (n == 0 || n > AUDIT_MAX_BATCH || db == NULL)
		return SR_GC_FAILED;
	mac = calloc(n, sizeof *mac);
	num = calloc(n, sizeof *num);
	params = calloc(n * AUDIT_COLS, sizeof *params);
	lengths = calloc(n * AUDIT_COLS, sizeof *lengths);
	formats = calloc(n * AUDIT_COLS, sizeof *formats);
	sql = malloc(sqlcap);
	if (mac == NULL || num == NULL || params == NULL || lengths == NULL || formats == NULL ||
	    sql == NULL) {
		snprintf(err, sizeof err, "audit: out of memory");
		goto out;
	}
	if (sr_db_exec(db, "BEGIN") != 0) {
		snprintf(err, sizeof err, "audit: begin: %s", PQerrorMessage(db));
		goto out;
	}
	in_tx = true;
	/* One writer at a time (also across vaultd instances): one chain order. */
	res = sr_db_params(db, "SELECT seq, mac, records, head_mac FROM pan_audit_head FOR UPDATE",
	                   0, NULL, NULL, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQgetlength(res, 0, 0) != 8 || PQgetlength(res, 0, 1) != 32 ||
	    PQgetlength(res, 0, 2) != 8) {
		snprintf(err, sizeof err, "audit: head: %s", PQerrorMessage(db));
		goto out;
	}
	seq = be64(PQgetvalue(res, 0, 0));
	records = be64(PQgetvalue(res, 0, 2));
	if (head_check(db, h, res, seq, records, err, sizeof err) != 0) {
		ret = SR_GC_FAILED;
		goto out;
	}
	old_seq = seq++;
	memcpy(prev, PQgetvalue(res, 0, 1), 32);
	PQclear(res);
	res = NULL;

	for (i = 0; i < n; i++) {
		struct audit_item *it = items[i];
		const char **p = params + i * AUDIT_COLS;
		long long at_us;

		clock_gettime(CLOCK_REALTIME, &ts);
		at_us = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
		it->seq = seq + (long long)i;
		if (mac_record(h, it->seq, at_us, it->ev, i == 0 ? prev : mac[i - 1], mac[i], err,
		               sizeof err) != 0)
			goto out;
		snprintf(num[i][0], sizeof num[i][0], "%lld", it->seq);
		snprintf(num[i][1], sizeof num[i][1], "%lld", at_us);
		p[0] = num[i][0];
		p[1] = num[i][1];
		p[2] = nz(it->ev->token_id);
		p[3] = nz(it->ev->merchant_id);
		p[4] = nz(it->ev->purpose);
		p[5] = nz(it->ev->payment_id);
		p[6] = nz(it->ev->connector);
		p[7] = nz(it->ev->peer);
		p[8] = nz(it->ev->result);
		p[9] = (const char *)mac[i];
		lengths[i * AUDIT_COLS + 9] = 32;
		formats[i * AUDIT_COLS + 9] = 1;
	}
	k = snprintf(sql, sqlcap, "%s", "INSERT INTO pan_audit (seq, at, token_id, merchant_id, "
	             "purpose, payment_id, connector, peer, result, mac) VALUES ");
	if (k < 0 || (size_t)k >= sqlcap || values_list(sql + k, sqlcap - (size_t)k, n) != 0) {
		snprintf(err, sizeof err, "audit: statement too large");
		goto out;
	}
	res = PQexecParams(db, sql, (int)(n * AUDIT_COLS), NULL, params, lengths, formats, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, sizeof err, "audit: insert: %s", PQerrorMessage(db));
		goto out;
	}
	PQclear(res);
	records += (long long)n;
	snprintf(rec_num, sizeof rec_num, "%lld", records);
	if (mac_seal(h, HEAD_DOMAIN, old_seq + (long long)n, records, NULL, mac[n - 1], head_mac,
	             err, sizeof err) != 0) {
		res = NULL;
		goto out;
	}
	res = sr_db_params(db, "UPDATE pan_audit_head SET seq = $1, mac = $2::bytea, records = $3, "
	                   "head_mac = $4::bytea", 4, NULL,
	                   (const char *const[]){ num[n - 1][0], (const char *)mac[n - 1], rec_num,
	                                          (const char *)head_mac },
	                   (const int[]){ 0, 32, 0, 32 }, (const int[]){ 0, 1, 0, 1 }, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, sizeof err, "audit: head update: %s", PQerrorMessage(db));
		goto out;
	}
	PQclear(res);
	res = NULL;
	now = mono_seconds();
	checkpoint = checkpoint_due(old_seq, old_seq + (long long)n, now);
	if (checkpoint && write_checkpoint(db, h, num[n - 1][0], records, num[n - 1][1], mac[n - 1],
	                                   cp_sig, err, sizeof err) != 0)
		goto out;
	res = PQexecParams(db, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	in_tx = false;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* An error reply means rolled back (safe to retry); a lost
		 * connection leaves the outcome unknown (never retried). */
		snprintf(err, sizeof err, "audit: commit: %s", PQerrorMessage(db));
		ret = PQstatus(db) == CONNECTION_OK ? SR_GC_RETRY : SR_GC_FAILED;
		goto out;
	}
	ret = SR_GC_OK;
	if (checkpoint) {
		long long at_us = strtoll(num[n - 1][1], NULL, 10);
		time_t secs = (time_t)(at_us / 1000000);
		char hex[2][65], at[40], day[24];
		struct tm tm;

		checkpoint_written(now);
		sodium_bin2hex(hex[0], sizeof hex[0], mac[n - 1], 32);
		sodium_bin2hex(hex[1], sizeof hex[1], cp_sig, 32);
		/* RFC 3339 UTC with microseconds, the value MACed: a bare 16-digit
		 * microsecond count could look like a card number to a log scanner. */
		gmtime_r(&secs, &tm);
		strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(at, sizeof at, "%s.%06lldZ", day, at_us % 1000000);
		/* The off-host copy (PCI DSS 10.3.3): MACs only, never a key byte. */
		sr_log(SR_LOG_INFO, NULL, "pan_audit.checkpoint", "{s:I, s:I, s:s, s:s, s:s}",
		       "seq", (json_int_t)(old_seq + (long long)n), "records", (json_int_t)records,
		       "at", at, "mac", hex[0], "sig", hex[1]);
	}
out:
	PQclear(res);
	if (in_tx)
		(void)sr_db_exec(db, "ROLLBACK");
	if (ret != SR_GC_OK)
		batch_err(items, n, err);
	if (mac != NULL)
		sodium_memzero(mac, n * sizeof *mac);
	free(sql);
	free(formats);
	free(lengths);
	free(params);
	free(num);
	free(mac);
	return ret;
}

static struct sr_gc *g_gc;
static pthread_once_t g_gc_once = PTHREAD_ONCE_INIT;

static void gc_init(void)
{
	g_gc = sr_gc_new("pan_audit", append_batch, NULL, AUDIT_MAX_BATCH);
}

long long vault_audit_append(PGconn *db, struct hsm *h, const struct vault_audit_event *ev,
                             char *err, size_t errlen)
{
	struct audit_item item = { db, h, ev, 0, err, errlen };
	void *one = &item;
	int rc;

	if (db == NULL || h == NULL || ev == NULL) {
		seterr(err, errlen, "audit: bad arguments");
		return -1;
	}
	pthread_once(&g_gc_once, gc_init);
	/* Fail closed: we return a seq only once the record is durable. */
	rc = g_gc != NULL ? sr_gc_submit(g_gc, &item) : append_batch(NULL, &one, 1);
	return rc == SR_GC_OK ? item.seq : -1;
}

void vault_audit_stats(unsigned long long *batches, unsigned long long *records)
{
	*batches = *records = 0;
	pthread_once(&g_gc_once, gc_init);
	if (g_gc != NULL)
		sr_gc_stats(g_gc, batches, records);
}

/* Add one finding to the report ("; " between them); the first bad seq is the lowest. */
static void finding(struct vault_audit_report *rep, long long bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finding(struct vault_audit_report *rep, long long bad, const char *fmt, ...)
{
	size_t len = strlen(rep->reason);
	va_list ap;

	if (rep->first_bad == 0 || bad < rep->first_bad)
		rep->first_bad = bad;
	if (len > 0 && len + 2 < sizeof rep->reason) {
		memcpy(rep->reason + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(rep->reason + len, sizeof rep->reason - len, fmt, ap);
	va_end(ap);
}

/*
 * Every checkpoint (ckp: seq, records, at_us, mac, sig) against the chain
 * whose records 1..last verified (res row k is record k+1). -1 HSM error.
 */
static int check_checkpoints(struct hsm *h, const PGresult *ckp, const PGresult *res,
                             long long last, struct vault_audit_report *rep, char *err,
                             size_t errlen)
{
	long long beyond = 0;
	uint8_t want[32];
	int i;

	for (i = 0; i < PQntuples(ckp); i++) {
		long long seq = strtoll(PQgetvalue(ckp, i, 0), NULL, 10);
		long long records = strtoll(PQgetvalue(ckp, i, 1), NULL, 10);
		long long at_us = strtoll(PQgetvalue(ckp, i, 2), NULL, 10);
		const char *mac = PQgetvalue(ckp, i, 3);

		if (PQgetlength(ckp, i, 3) != 32 || PQgetlength(ckp, i, 4) != 32) {
			seterr(err, errlen, "audit verify: checkpoint %lld malformed", seq);
			return -1;
		}
		if (mac_seal(h, CHECKPOINT_DOMAIN, seq, records, &at_us, (const uint8_t *)mac, want,
		             err, errlen) != 0)
			return -1;
		if (sodium_memcmp(want, PQgetvalue(ckp, i, 4), 32) != 0) {
			finding(rep, seq, "checkpoint at seq %lld: MAC invalid (forged or altered)", seq);
			continue;
		}
		rep->checkpoints++;
		rep->last_checkpoint = seq;
		if (seq > last)
			beyond = seq;
		else if (sodium_memcmp(mac, PQgetvalue(res, (int)(seq - 1), 9), 32) != 0)
			finding(rep, seq, "record %lld differs from the checkpoint signed at seq %lld: "
			        "the chain was rewritten after it", seq, seq);
	}
	if (beyond > 0)
		finding(rep, last + 1, "records %lld-%lld missing after record %lld: a checkpoint "
		        "signed at seq %lld counts %lld records (records after the newest checkpoint "
		        "are covered by the head only)", last + 1, beyond, last, beyond, beyond);
	return 0;
}

/* The head (seq, mac, records, head_mac) against the chain of last records ending in prev. */
static int check_head(struct hsm *h, const PGresult *head, long long last, const uint8_t prev[32],
                      struct vault_audit_report *rep, char *err, size_t errlen)
{
	long long seq = strtoll(PQgetvalue(head, 0, 0), NULL, 10);
	long long records = strtoll(PQgetvalue(head, 0, 2), NULL, 10);
	const char *mac = PQgetvalue(head, 0, 1);
	uint8_t want[32];

	if (PQgetisnull(head, 0, 3)) {
		if (seq != 0 || records != 0 || last != 0)
			finding(rep, last + 1, "head MAC missing: the head is not authenticated "
			        "(altered, or not yet rewritten by vaultd since migration 0050)");
		return 0;
	}
	if (mac_seal(h, HEAD_DOMAIN, seq, records, NULL, (const uint8_t *)mac, want, err,
	             errlen) != 0)
		return -1;
	if (PQgetlength(head, 0, 3) != 32 || sodium_memcmp(want, PQgetvalue(head, 0, 3), 32) != 0) {
		finding(rep, last + 1, "head MAC invalid: the head (record %lld, count %lld) was "
		        "rewritten outside vaultd", seq, records);
		return 0;
	}
	if (records > last)
		finding(rep, last + 1, "count %lld but %lld records: records %lld-%lld missing",
		        records, last, last + 1, records);
	else if (records != last || seq != last || (last > 0 && sodium_memcmp(prev, mac, 32) != 0))
		finding(rep, last + 1, "the chain ends at record %lld but its head names record %lld "
		        "(count %lld)", last, seq, records);
	return 0;
}

int vault_audit_verify(PGconn *db, struct hsm *h, struct vault_audit_report *rep, char *err,
                       size_t errlen)
{
	PGresult *res = NULL;
	PGresult *head = NULL;
	PGresult *ckp = NULL;
	uint8_t prev[32];
	uint8_t mac[32];
	long long expect = 1;
	int rc = -1;
	int i;

	memset(rep, 0, sizeof *rep);
	memset(prev, 0, sizeof prev);
	/* One snapshot for the rows, the checkpoints and the head. */
	if (sr_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0) {
		seterr(err, errlen, "audit verify: begin: %s", PQerrorMessage(db));
		goto out;
	}
	/* ORDER BY the column, not the text output column of the same name. */
	res = PQexecParams(db,
	    "SELECT seq::text, (extract(epoch FROM at) * 1000000)::bigint::text, token_id, merchant_id, purpose, payment_id, "
	    "connector, peer, result, mac FROM pan_audit ORDER BY pan_audit.seq",
	    0, NULL, NULL, NULL, NULL, 1);
	head = PQexecParams(db, "SELECT seq::text, mac, records::text, head_mac FROM pan_audit_head",
	                    0, NULL, NULL, NULL, NULL, 1);
	ckp = PQexecParams(db,
	    "SELECT seq::text, records::text, (extract(epoch FROM at) * 1000000)::bigint::text, mac, sig "
	    "FROM pan_audit_checkpoint ORDER BY pan_audit_checkpoint.seq",
	    0, NULL, NULL, NULL, NULL, 1);
	(void)sr_db_exec(db, "COMMIT");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQresultStatus(head) != PGRES_TUPLES_OK ||
	    PQresultStatus(ckp) != PGRES_TUPLES_OK || PQntuples(head) != 1 ||
	    PQgetlength(head, 0, 1) != 32) {
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
	if (check_checkpoints(h, ckp, res, expect - 1, rep, err, errlen) != 0 ||
	    check_head(h, head, expect - 1, prev, rep, err, errlen) != 0)
		goto out;
	rc = rep->first_bad != 0 ? 1 : 0;
out:
	PQclear(res);
	PQclear(head);
	PQclear(ckp);
	return rc;
}
