/*
 * sr_dbprep: per-connection prepared statements (sr_dbprep.h).
 */
#include "common/sr_dbprep.h"

#include <libpq-events.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREP_MAX 64

struct prep_entry {
	unsigned long hash;     /* FNV-1a of the text */
	char *text;             /* the statement's text (its identity) */
	char name[16];
};

struct prep_cache {
	unsigned n;
	unsigned next_id;
	struct prep_entry e[PREP_MAX];
};

static unsigned long fnv1a(const char *s)
{
	unsigned long h = 2166136261ul;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619ul;
	return h;
}

static void cache_clear(struct prep_cache *c)
{
	unsigned i;

	for (i = 0; i < c->n; i++)
		free(c->e[i].text);
	c->n = 0;
}

/* libpq event procedure: forget the statements on reset, free on finish. */
static int prep_events(PGEventId id, void *info, void *passthrough)
{
	struct prep_cache *c = NULL;

	(void)passthrough;
	if (id == PGEVT_CONNRESET) {
		c = PQinstanceData(((PGEventConnReset *)info)->conn, prep_events);
		if (c != NULL)
			cache_clear(c);   /* a new server session has no statements */
	} else if (id == PGEVT_CONNDESTROY) {
		PGconn *conn = ((PGEventConnDestroy *)info)->conn;

		c = PQinstanceData(conn, prep_events);
		if (c != NULL) {
			cache_clear(c);
			free(c);
		}
	}
	return 1;
}

static struct prep_cache *cache_of(PGconn *conn)
{
	struct prep_cache *c = PQinstanceData(conn, prep_events);

	if (c != NULL)
		return c;
	c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	if (!PQregisterEventProc(conn, prep_events, "sr_dbprep", NULL) ||
	    !PQsetInstanceData(conn, prep_events, c)) {
		free(c);
		return NULL;
	}
	return c;
}

PGresult *sr_db_params(PGconn *conn, const char *sql, int nparams, const Oid *types,
                       const char *const *values, const int *lengths, const int *formats,
                       int result_format)
{
	struct prep_cache *c = NULL;
	struct prep_entry *e = NULL;
	PGresult *res = NULL;
	unsigned long h;
	unsigned i;

	if (conn == NULL || sql == NULL || PQstatus(conn) != CONNECTION_OK ||
	    (c = cache_of(conn)) == NULL)
		goto plain;
	h = fnv1a(sql);
	for (i = 0; i < c->n && e == NULL; i++)
		if (c->e[i].hash == h && strcmp(c->e[i].text, sql) == 0)
			e = &c->e[i];
	if (e == NULL) {
		if (c->n == PREP_MAX)
			goto plain;
		e = &c->e[c->n];
		e->text = strdup(sql);
		if (e->text == NULL)
			goto plain;
		e->hash = h;
		snprintf(e->name, sizeof e->name, "sr_p%u", c->next_id++);
		res = PQprepare(conn, e->name, sql, nparams, types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			/* The same error PQexecParams would have reported. */
			free(e->text);
			e->text = NULL;
			return res;
		}
		PQclear(res);
		c->n++;
	}
	return PQexecPrepared(conn, e->name, nparams, values, lengths, formats, result_format);
plain:
	return PQexecParams(conn, sql, nparams, types, values, lengths, formats, result_format);
}
