/*
 * sr_gc: group commit for an append-only chain (ADR 0083).
 *
 * Many request threads each have one record to append to a chain whose
 * order must be strict (an audit chain: record n carries a hash or MAC over
 * record n-1). Appending one record per transaction serialises every request
 * on one durable COMMIT (one WAL flush) each. sr_gc lets the threads share
 * that cost without a thread of its own: a submitter queues its record; if
 * no batch is being written, it becomes the leader, takes every record
 * queued so far (in arrival order, at most max_batch) and hands them to the
 * batch callback, which links them in that order and commits them in ONE
 * transaction; records that arrive meanwhile form the next batch. Every
 * submitter returns only after its own record's batch has committed (or
 * failed), so no caller is ever told "appended" for a record that is not
 * durable (PCI DSS v4.0 10.2.1, 10.3.2, 10.5.1: no audit record lost).
 *
 * Failure isolation: when a batch of several records fails BEFORE its
 * COMMIT was sent (callback returns SR_GC_RETRY: rolled back, nothing
 * written), the leader writes them again one per transaction so that one
 * bad record cannot fail the others. When the COMMIT's outcome is unknown
 * (SR_GC_FAILED) nobody retries: a retry could duplicate records.
 *
 * A process may use one sr_gc per chain; the callback decides where the
 * records go (the leader's own database connection and HSM session).
 */
#ifndef SR_GC_H
#define SR_GC_H
#include <stddef.h>

/* Batch callback outcomes. */
#define SR_GC_OK      0   /* all n records committed, in order */
#define SR_GC_RETRY  -1   /* nothing written (rolled back): safe to retry one by one */
#define SR_GC_FAILED -2   /* failed, outcome unknown or not retryable: fail all n */

/**
 * Write items[0..n) (n >= 1) to the chain, in this order, in one
 * transaction. Runs on the leader's thread, one batch at a time per sr_gc
 * (the callback never runs concurrently with itself for one sr_gc).
 * @param arg the arg given to sr_gc_new.
 * @return SR_GC_OK, SR_GC_RETRY or SR_GC_FAILED.
 */
typedef int (*sr_gc_batch_fn)(void *arg, void *const *items, size_t n);

struct sr_gc;

/**
 * New group committer. name labels its metrics (a literal, kept):
 * strongroom_group_commit_batches_total{chain=name} and
 * strongroom_group_commit_records_total{chain=name} (records committed; their
 * ratio is the mean batch size). max_batch bounds one transaction's records
 * (>= 1). @return it, or NULL (out of memory).
 */
struct sr_gc *sr_gc_new(const char *name, sr_gc_batch_fn fn, void *arg, size_t max_batch);

/** Free gc (no submitter may be inside sr_gc_submit). NULL is a no-op. */
void sr_gc_free(struct sr_gc *gc);

/**
 * Append item (borrowed until this returns) and wait until it is durable.
 * @return SR_GC_OK when the record's transaction committed, else
 * SR_GC_RETRY or SR_GC_FAILED (the record is not known to be written).
 */
int sr_gc_submit(struct sr_gc *gc, void *item);

/** Counters since sr_gc_new: batches committed and records in them. */
void sr_gc_stats(struct sr_gc *gc, unsigned long long *batches, unsigned long long *records);

#endif
