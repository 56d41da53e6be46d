/*
 * vault_token_writer: group commit of token inserts (vault_token_writer.h).
 */
#include "vault/tokens/vault_token_writer.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/sr_db.h"
#include "common/sr_gc.h"
#include "vault/store/vault_store.h"

struct vault_token_writer {
	struct sr_db_pool *pool;
	struct sr_gc *gc;
	const struct vault_token_row **rows;   /* the batch being written (max_batch) */
};

/* One caller's row, on its stack while it waits in sr_gc_submit. */
struct writer_item {
	const struct vault_token_row *row;
	int rc;          /* vault_token_writer_insert's result for this row */
	char *err;
	size_t errlen;
};

/* sr_gc_batch_fn: the leader's thread writes items[0..n). */
static int write_batch(void *arg, void *const *items, size_t n)
{
	struct vault_token_writer *w = arg;
	struct writer_item *it = NULL;
	char err[256] = "";
	PGconn *db = NULL;
	size_t i;
	int rc;

	db = sr_db_acquire(w->pool);
	if (n == 1) {
		/* Alone (or retried alone after a failed batch): autocommit. */
		it = items[0];
		rc = vault_store_token_insert(db, it->row, it->err, it->errlen);
		sr_db_release(w->pool, db);
		it->rc = rc;
		return rc == 0 ? SR_GC_OK : SR_GC_FAILED;
	}
	for (i = 0; i < n; i++)
		w->rows[i] = ((struct writer_item *)items[i])->row;
	rc = vault_store_token_insert_batch(db, w->rows, n, err, sizeof err);
	sr_db_release(w->pool, db);
	for (i = 0; i < n; i++) {
		it = items[i];
		it->rc = rc == 0 ? 0 : -1;
		if (rc != 0)
			snprintf(it->err, it->errlen, "%s", err);
	}
	return rc == 0 ? SR_GC_OK : rc == -1 ? SR_GC_RETRY : SR_GC_FAILED;
}

struct vault_token_writer *vault_token_writer_new(struct sr_db_pool *pool, size_t max_batch)
{
	struct vault_token_writer *w = NULL;

	if (pool == NULL || max_batch == 0)
		return NULL;
	w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->pool = pool;
	w->rows = calloc(max_batch, sizeof *w->rows);
	w->gc = sr_gc_new("tokens", write_batch, w, max_batch);
	if (w->rows == NULL || w->gc == NULL) {
		vault_token_writer_free(w);
		return NULL;
	}
	return w;
}

void vault_token_writer_free(struct vault_token_writer *w)
{
	if (w == NULL)
		return;
	sr_gc_free(w->gc);
	free(w->rows);
	free(w);
}

int vault_token_writer_insert(struct vault_token_writer *w, const struct vault_token_row *row,
                              char *err, size_t errlen)
{
	struct writer_item item = { row, -1, err, errlen };

	if (w == NULL || row == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "token writer: bad arguments");
		return -1;
	}
	(void)sr_gc_submit(w->gc, &item);
	return item.rc == 0 || item.rc == -3 ? item.rc : -1;
}

void vault_token_writer_stats(struct vault_token_writer *w, unsigned long long *batches,
                              unsigned long long *rows)
{
	*batches = *rows = 0;
	if (w != NULL)
		sr_gc_stats(w->gc, batches, rows);
}
