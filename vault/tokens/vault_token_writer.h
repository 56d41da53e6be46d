/*
 * vault_token_writer: durable token inserts shared by the request threads
 * (issue 3 speed target, ADR 0101).
 *
 * Each POST /v1/tokens used to commit its own one-row transaction: one WAL
 * flush and one transaction's fixed cost in PostgreSQL per token, which the
 * tokenize profile shows as over half the machine's CPU. The writer queues
 * concurrent inserts on an sr_gc group committer (common/sr_gc.h): the
 * first thread to arrive writes every row queued so far in one multi-row
 * transaction (vault_store_token_insert_batch) while the others wait, and
 * each caller returns only after its own row's COMMIT. A reply therefore
 * still follows its token's durable commit (PCI DSS v4.0 3.5.1: the
 * ciphertext is stored before the token is handed out); only the cost of
 * the commit is shared. Alone, a row is written at once, in a batch of one.
 *
 * A batch that fails before its COMMIT (nothing written) is written again
 * one row per transaction by sr_gc, so one row's legacy number collision
 * or constraint failure fails that row alone.
 */
#ifndef VAULT_TOKEN_WRITER_H
#define VAULT_TOKEN_WRITER_H
#include <stddef.h>

struct sr_db_pool;
struct vault_token_row;
struct vault_token_writer;

/**
 * New writer over pool (borrowed; must outlive the writer). max_batch
 * bounds the rows of one transaction (>= 1). Its metrics are
 * strongroom_group_commit_{batches,records}_total{chain="tokens"}.
 * @return the writer, or NULL (out of memory).
 */
struct vault_token_writer *vault_token_writer_new(struct sr_db_pool *pool, size_t max_batch);

/** Free w (no thread may be inside vault_token_writer_insert). NULL is a no-op. */
void vault_token_writer_free(struct vault_token_writer *w);

/**
 * Insert row (borrowed until return) and wait until it is committed.
 * @return 0 committed; -3 its legacy number collides with another token's
 *         (nothing written: retry with a new one); -1 not written or outcome
 *         unknown (err says which; the caller must not hand the token out).
 */
int vault_token_writer_insert(struct vault_token_writer *w, const struct vault_token_row *row,
                              char *err, size_t errlen);

/** Batches committed and rows in them since vault_token_writer_new. */
void vault_token_writer_stats(struct vault_token_writer *w, unsigned long long *batches,
                              unsigned long long *rows);

#endif
