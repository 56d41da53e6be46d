/*
 * sr_metrics: process-wide metrics registry, Prometheus text format 0.0.4
 * (see sr_metrics.h).
 */
#include "common/sr_metrics.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUCKETS 16
#define MAX_COLLECTORS 16

enum kind { K_COUNTER, K_GAUGE, K_HISTOGRAM };

struct series {
	char *values[SR_METRICS_MAX_LABELS];
	double value;                   /* counter / gauge */
	unsigned long long counts[MAX_BUCKETS + 1]; /* histogram, per bucket (not cumulative) */
	double sum;
	unsigned long long count;
	struct series *next;
};

struct sr_metric {
	char *name;
	char *help;
	enum kind kind;
	const char *labels[SR_METRICS_MAX_LABELS];
	size_t nlabels;
	const double *buckets;
	size_t nbuckets;
	pthread_mutex_t mu;
	struct series *series;
	size_t nseries;
	struct sr_metric *next;
};

static const double DEFAULT_BUCKETS[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25, 0.5, 1, 2.5, 5, 10 };

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sr_metric *g_families;
static struct {
	void (*fn)(void *);
	void *arg;
} g_collectors[MAX_COLLECTORS];
static size_t g_ncollectors;
static struct sr_metric *g_dropped;

static int valid_name(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || isdigit((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != ':')
			return 0;
	return 1;
}

static struct sr_metric *family(const char *name, const char *help, enum kind kind,
                                const char *const *labels, const double *buckets,
                                size_t nbuckets)
{
	struct sr_metric *m = NULL;
	size_t n = 0;

	if (!valid_name(name))
		return NULL;
	if (kind == K_COUNTER && (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total") != 0))
		return NULL;
	while (labels != NULL && labels[n] != NULL) {
		if (n >= SR_METRICS_MAX_LABELS || !valid_name(labels[n]) || strcmp(labels[n], "le") == 0)
			return NULL;
		n++;
	}
	if (kind == K_HISTOGRAM) {
		size_t i;

		if (buckets == NULL) {
			buckets = DEFAULT_BUCKETS;
			nbuckets = sizeof DEFAULT_BUCKETS / sizeof DEFAULT_BUCKETS[0];
		}
		if (nbuckets == 0 || nbuckets > MAX_BUCKETS)
			return NULL;
		for (i = 1; i < nbuckets; i++)
			if (!(buckets[i] > buckets[i - 1]))
				return NULL;
	}
	pthread_mutex_lock(&g_mu);
	for (m = g_families; m != NULL; m = m->next)
		if (strcmp(m->name, name) == 0)
			break;
	if (m != NULL) {
		/* Same name, other shape: a programming error; refuse. */
		if (m->kind != kind || m->nlabels != n)
			m = NULL;
		goto out;
	}
	m = calloc(1, sizeof *m);
	if (m == NULL)
		goto out;
	m->name = strdup(name);
	m->help = strdup(help != NULL ? help : "");
	if (m->name == NULL || m->help == NULL) {
		free(m->name);
		free(m->help);
		free(m);
		m = NULL;
		goto out;
	}
	m->kind = kind;
	memcpy(m->labels, labels, n * sizeof *labels);
	m->nlabels = n;
	m->buckets = buckets;
	m->nbuckets = nbuckets;
	pthread_mutex_init(&m->mu, NULL);
	/* Registration order is render order. */
	if (g_families == NULL) {
		g_families = m;
	} else {
		struct sr_metric *t = g_families;
		while (t->next != NULL)
			t = t->next;
		t->next = m;
	}
out:
	pthread_mutex_unlock(&g_mu);
	return m;
}

struct sr_metric *sr_metrics_counter(const char *name, const char *help, const char *const *labels)
{
	return family(name, help, K_COUNTER, labels, NULL, 0);
}

struct sr_metric *sr_metrics_gauge(const char *name, const char *help, const char *const *labels)
{
	return family(name, help, K_GAUGE, labels, NULL, 0);
}

struct sr_metric *sr_metrics_histogram(const char *name, const char *help,
                                       const char *const *labels, const double *buckets,
                                       size_t nbuckets)
{
	return family(name, help, K_HISTOGRAM, labels, buckets, nbuckets);
}

/* invariant 1, docs/invariants.md: a label value that could be a PAN, token or key is
 * never stored. */
static const char *safe_value(const char *v)
{
	static const char *const prefixes[] = { "tok_", "sk_", "pk_", "rk_", "whsec_", NULL };
	size_t i, run = 0;

	if (v == NULL)
		return "";
	for (i = 0; prefixes[i] != NULL; i++)
		if (strncmp(v, prefixes[i], strlen(prefixes[i])) == 0)
			return "redacted";
	for (i = 0; v[i] != '\0'; i++) {
		run = isdigit((unsigned char)v[i]) ? run + 1 : 0;
		if (run >= 12)
			return "redacted";
	}
	if (i > 128)
		return "redacted";
	return v;
}

/* The series for these label values, created if new; NULL when the family
 * is full. Called with m->mu held. */
static struct series *find_series(struct sr_metric *m, const char **vals)
{
	struct series *s = NULL;
	size_t i;

	for (s = m->series; s != NULL; s = s->next) {
		for (i = 0; i < m->nlabels; i++)
			if (strcmp(s->values[i], vals[i]) != 0)
				break;
		if (i == m->nlabels)
			return s;
	}
	if (m->nseries >= SR_METRICS_MAX_SERIES)
		return NULL;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	for (i = 0; i < m->nlabels; i++) {
		s->values[i] = strdup(vals[i]);
		if (s->values[i] == NULL) {
			while (i-- > 0)
				free(s->values[i]);
			free(s);
			return NULL;
		}
	}
	/* Append: series render in first-seen order. */
	if (m->series == NULL) {
		m->series = s;
	} else {
		struct series *t = m->series;
		while (t->next != NULL)
			t = t->next;
		t->next = s;
	}
	m->nseries++;
	return s;
}

static void update(struct sr_metric *m, enum kind want, double v, va_list ap)
{
	const char *vals[SR_METRICS_MAX_LABELS] = { NULL };
	struct series *s = NULL;
	size_t i;
	int dropped = 0;

	if (m == NULL || m->kind != want)
		return;
	for (i = 0; i < m->nlabels; i++)
		vals[i] = safe_value(va_arg(ap, const char *));
	pthread_mutex_lock(&m->mu);
	s = find_series(m, vals);
	if (s == NULL) {
		dropped = 1;
	} else if (want == K_COUNTER) {
		if (v > 0)
			s->value += v;
	} else if (want == K_GAUGE) {
		s->value = v;
	} else {
		for (i = 0; i < m->nbuckets && v > m->buckets[i]; i++)
			;
		s->counts[i]++;
		s->sum += v;
		s->count++;
	}
	pthread_mutex_unlock(&m->mu);
	if (dropped && m != g_dropped)
		sr_metrics_add(g_dropped, 1, m->name);
}

void sr_metrics_add(struct sr_metric *m, double v, ...)
{
	va_list ap;

	va_start(ap, v);
	update(m, K_COUNTER, v, ap);
	va_end(ap);
}

void sr_metrics_set(struct sr_metric *m, double v, ...)
{
	va_list ap;

	va_start(ap, v);
	update(m, K_GAUGE, v, ap);
	va_end(ap);
}

void sr_metrics_observe(struct sr_metric *m, double v, ...)
{
	va_list ap;

	va_start(ap, v);
	update(m, K_HISTOGRAM, v, ap);
	va_end(ap);
}

void sr_metrics_add_collector(void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&g_mu);
	if (fn != NULL && g_ncollectors < MAX_COLLECTORS) {
		g_collectors[g_ncollectors].fn = fn;
		g_collectors[g_ncollectors].arg = arg;
		g_ncollectors++;
	}
	pthread_mutex_unlock(&g_mu);
}

/* A growing output buffer. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void bput(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bput(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = b->cap * 2 + (size_t)n;
			char *np = realloc(b->p, ncap);

			if (np == NULL) {
				b->oom = 1;
				return;
			}
			b->p = np;
			b->cap = ncap;
		}
	}
}

/* Exposition format: label values escape \, " and newline; HELP escapes
 * \ and newline. */
static void bput_escaped(struct buf *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			bput(b, "\\\\");
		else if (*s == '\n')
			bput(b, "\\n");
		else if (quote && *s == '"')
			bput(b, "\\\"");
		else
			bput(b, "%c", *s);
	}
}

static void bput_value(struct buf *b, double v)
{
	if (v == (double)(long long)v && v < 9e15 && v > -9e15)
		bput(b, "%lld", (long long)v);
	else
		bput(b, "%.9g", v);
}

/* name{l1="v1",...[,le="x"]} */
static void bput_labels(struct buf *b, const struct sr_metric *m, const struct series *s,
                        const char *le)
{
	size_t i;

	if (m->nlabels == 0 && le == NULL)
		return;
	bput(b, "{");
	for (i = 0; i < m->nlabels; i++) {
		bput(b, "%s%s=\"", i > 0 ? "," : "", m->labels[i]);
		bput_escaped(b, s->values[i], 1);
		bput(b, "\"");
	}
	if (le != NULL)
		bput(b, "%sle=\"%s\"", m->nlabels > 0 ? "," : "", le);
	bput(b, "}");
}

static void render_family(struct buf *b, struct sr_metric *m)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	const struct series *s = NULL;
	size_t i;

	bput(b, "# HELP %s ", m->name);
	bput_escaped(b, m->help, 0);
	bput(b, "\n# TYPE %s %s\n", m->name, types[m->kind]);
	pthread_mutex_lock(&m->mu);
	for (s = m->series; s != NULL; s = s->next) {
		if (m->kind != K_HISTOGRAM) {
			bput(b, "%s", m->name);
			bput_labels(b, m, s, NULL);
			bput(b, " ");
			bput_value(b, s->value);
			bput(b, "\n");
			continue;
		}
		{
			unsigned long long cum = 0;
			char le[32];

			for (i = 0; i <= m->nbuckets; i++) {
				cum += s->counts[i];
				if (i < m->nbuckets)
					snprintf(le, sizeof le, "%g", m->buckets[i]);
				else
					snprintf(le, sizeof le, "+Inf");
				bput(b, "%s_bucket", m->name);
				bput_labels(b, m, s, le);
				bput(b, " %llu\n", cum);
			}
			bput(b, "%s_sum", m->name);
			bput_labels(b, m, s, NULL);
			bput(b, " ");
			bput_value(b, s->sum);
			bput(b, "\n%s_count", m->name);
			bput_labels(b, m, s, NULL);
			bput(b, " %llu\n", s->count);
		}
	}
	pthread_mutex_unlock(&m->mu);
}

char *sr_metrics_render(size_t *len)
{
	struct buf b = { NULL, 0, 0, 0 };
	struct sr_metric *m = NULL;
	size_t i, n;

	if (g_dropped == NULL) {
		static const char *const l[] = { "family", NULL };

		g_dropped = sr_metrics_counter("strongroom_metrics_series_dropped_total",
		                               "Observations dropped because a family hit its series limit.",
		                               l);
	}
	/* Collectors refresh gauges; they may take locks of their own, so
	 * they run without g_mu held (the table only grows). */
	pthread_mutex_lock(&g_mu);
	n = g_ncollectors;
	pthread_mutex_unlock(&g_mu);
	for (i = 0; i < n; i++)
		g_collectors[i].fn(g_collectors[i].arg);

	b.cap = 4096;
	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	b.p[0] = '\0';
	pthread_mutex_lock(&g_mu);
	m = g_families;
	pthread_mutex_unlock(&g_mu);
	/* Families are only ever appended, never freed. */
	while (m != NULL) {
		render_family(&b, m);
		pthread_mutex_lock(&g_mu);
		m = m->next;
		pthread_mutex_unlock(&g_mu);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	if (len != NULL)
		*len = b.len;
	return b.p;
}

double sr_metrics_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}
