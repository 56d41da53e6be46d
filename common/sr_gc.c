/*
 * sr_gc: group commit with a leader taken from the submitters (sr_gc.h).
 */
#include "common/sr_gc.h"
#include "common/sr_metrics.h"

#include <pthread.h>
#include <stdlib.h>

/* One waiting submitter; lives on its stack. It sleeps on its own
 * condition variable, so that the end of a batch wakes only the batch's
 * submitters and the next leader, not every thread queued (a broadcast
 * to dozens of waiters cost more CPU than the batch's database work). */
struct gc_node {
	void *item;
	struct gc_node *next;
	pthread_cond_t cv;
	int rc;
	int done;
};

struct sr_gc {
	const char *name;
	struct sr_metric *m_batches, *m_records;
	pthread_mutex_t mu;
	sr_gc_batch_fn fn;
	void *arg;
	size_t max_batch;
	struct gc_node *head, *tail;   /* queued, not yet taken (arrival order) */
	int busy;                      /* a leader is writing a batch */
	struct gc_node **batch;        /* the leader's batch (max_batch) */
	void **items;                  /* its items, same order */
	unsigned long long batches, records;
};

struct sr_gc *sr_gc_new(const char *name, sr_gc_batch_fn fn, void *arg, size_t max_batch)
{
	static const char *const labels[] = { "chain", NULL };
	struct sr_gc *gc = NULL;

	if (name == NULL || fn == NULL || max_batch == 0)
		return NULL;
	gc = calloc(1, sizeof *gc);
	if (gc == NULL)
		goto fail;
	gc->batch = calloc(max_batch, sizeof *gc->batch);
	gc->items = calloc(max_batch, sizeof *gc->items);
	if (gc->batch == NULL || gc->items == NULL)
		goto fail;
	if (pthread_mutex_init(&gc->mu, NULL) != 0)
		goto fail;
	gc->name = name;
	gc->m_batches = sr_metrics_counter("strongroom_group_commit_batches_total",
	                                   "Group-commit transactions written, per chain (ADR 0083).",
	                                   labels);
	gc->m_records = sr_metrics_counter("strongroom_group_commit_records_total",
	                                   "Records committed by group commit, per chain (ADR 0083).",
	                                   labels);
	gc->fn = fn;
	gc->arg = arg;
	gc->max_batch = max_batch;
	return gc;
fail:
	if (gc != NULL) {
		free(gc->batch);
		free(gc->items);
	}
	free(gc);
	return NULL;
}

void sr_gc_free(struct sr_gc *gc)
{
	if (gc == NULL)
		return;
	pthread_mutex_destroy(&gc->mu);
	free(gc->batch);
	free(gc->items);
	free(gc);
}

/* Leader, without the mutex: write gc->items[0..n); results into batch[i]->rc. */
static void write_batch(struct sr_gc *gc, size_t n)
{
	size_t i;
	int rc = gc->fn(gc->arg, gc->items, n);

	if (rc == SR_GC_RETRY && n > 1) {
		/* Nothing was written: one record per transaction, so that one bad
		 * record fails alone (still in arrival order). */
		for (i = 0; i < n; i++)
			gc->batch[i]->rc = gc->fn(gc->arg, &gc->items[i], 1);
		return;
	}
	for (i = 0; i < n; i++)
		gc->batch[i]->rc = rc;
}

int sr_gc_submit(struct sr_gc *gc, void *item)
{
	struct gc_node me = { .item = item, .next = NULL, .rc = SR_GC_FAILED, .done = 0 };
	size_t n, i, ok;

	if (gc == NULL || pthread_cond_init(&me.cv, NULL) != 0)
		return SR_GC_FAILED;
	pthread_mutex_lock(&gc->mu);
	if (gc->tail != NULL)
		gc->tail->next = &me;
	else
		gc->head = &me;
	gc->tail = &me;
	while (!me.done) {
		if (gc->busy) {
			/* Woken when our record's batch is done, or when we are
			 * the oldest waiter and the leader has finished. */
			pthread_cond_wait(&me.cv, &gc->mu);
			continue;
		}
		/* Lead: take what is queued, oldest first (our own record may be
		 * in a later batch when more than max_batch wait before it). */
		gc->busy = 1;
		for (n = 0; n < gc->max_batch && gc->head != NULL; n++) {
			gc->batch[n] = gc->head;
			gc->items[n] = gc->head->item;
			gc->head = gc->head->next;
		}
		if (gc->head == NULL)
			gc->tail = NULL;
		pthread_mutex_unlock(&gc->mu);
		write_batch(gc, n);
		for (i = 0, ok = 0; i < n; i++)
			ok += gc->batch[i]->rc == SR_GC_OK;
		sr_metrics_add(gc->m_batches, 1, gc->name);
		sr_metrics_add(gc->m_records, (double)ok, gc->name);
		pthread_mutex_lock(&gc->mu);
		for (i = 0; i < n; i++) {
			gc->batch[i]->done = 1;
			if (gc->batch[i] != &me)
				pthread_cond_signal(&gc->batch[i]->cv);
		}
		gc->records += ok;
		gc->batches++;
		gc->busy = 0;
		/* Hand the lead to the oldest waiter (we lead again ourselves
		 * while our own record is still queued). */
		if (me.done && gc->head != NULL)
			pthread_cond_signal(&gc->head->cv);
	}
	pthread_mutex_unlock(&gc->mu);
	pthread_cond_destroy(&me.cv);
	return me.rc;
}

void sr_gc_stats(struct sr_gc *gc, unsigned long long *batches, unsigned long long *records)
{
	pthread_mutex_lock(&gc->mu);
	if (batches != NULL)
		*batches = gc->batches;
	if (records != NULL)
		*records = gc->records;
	pthread_mutex_unlock(&gc->mu);
}
