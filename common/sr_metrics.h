/*
 * sr_metrics: a small process-wide metrics registry (counters, gauges,
 * histograms with fixed label names) rendered in the Prometheus text
 * exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Label values must come from closed sets (route patterns, status codes,
 * listener, connector and outcome names). As a second line of defence every
 * label value is checked: one that could carry a card number, token or key
 * (a run of 12+ digits, or a tok_/sk_/pk_/rk_ prefix) is recorded as
 * "redacted" (invariant 1, docs/invariants.md, PCI DSS v4.0 3.4.1). A family holds at most
 * SR_METRICS_MAX_SERIES label combinations; more are dropped and counted in
 * strongroom_metrics_series_dropped_total.
 *
 * Thread-safe: one mutex per family. Families live until process exit.
 */
#ifndef SR_METRICS_H
#define SR_METRICS_H
#include <stddef.h>
#include <time.h>

#define SR_METRICS_MAX_LABELS 4
#define SR_METRICS_MAX_SERIES 512

struct sr_metric;

/**
 * Register (or find, by name) a counter family. name must match
 * [a-zA-Z_:][a-zA-Z0-9_:]* and end in "_total"; labels is a NULL-terminated
 * list of at most SR_METRICS_MAX_LABELS names (NULL for none); pointers are
 * kept (use literals). NULL on a bad name or out of memory.
 */
struct sr_metric *sr_metrics_counter(const char *name, const char *help, const char *const *labels);

/** A gauge family (set to a value; e.g. queue depth). As sr_metrics_counter. */
struct sr_metric *sr_metrics_gauge(const char *name, const char *help, const char *const *labels);

/**
 * A histogram family. buckets: upper bounds in ascending order (seconds for
 * latencies), at most 16, pointer kept; NULL for the default latency
 * buckets 1 ms .. 10 s. "+Inf" is implicit.
 */
struct sr_metric *sr_metrics_histogram(const char *name, const char *help,
                                       const char *const *labels, const double *buckets,
                                       size_t nbuckets);

/**
 * Add v (>= 0) to a counter, set a gauge to v, or observe v in a histogram.
 * The variadic arguments are the label values (const char *), exactly as
 * many as the family has label names. NULL m is a no-op.
 */
void sr_metrics_add(struct sr_metric *m, double v, ...);
void sr_metrics_set(struct sr_metric *m, double v, ...);
void sr_metrics_observe(struct sr_metric *m, double v, ...);

/**
 * Register a collector run before each render (refreshes gauges such as
 * the outbox depth or the database pool usage). At most 16.
 */
void sr_metrics_add_collector(void (*fn)(void *arg), void *arg);

/**
 * Render every family in the text exposition format.
 * @return malloc'd NUL-terminated text (free()), length in *len; NULL on OOM.
 */
char *sr_metrics_render(size_t *len);

/** Seconds elapsed since *t0 (CLOCK_MONOTONIC), for latency observations. */
double sr_metrics_since(const struct timespec *t0);

#endif
