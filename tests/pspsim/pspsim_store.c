/*
 * pspsim_store: the simulator's journal (pspsim_store.h; ADR 0115).
 *
 * Group commit: psim_store_commit appends a request's line to an in-memory
 * buffer under g_st.lock and numbers it; psim_store_wait makes the first
 * waiter the leader, which takes the whole buffer, writes it with one
 * write(2) and one fdatasync(2) outside the lock, and marks every line in
 * it durable; lines committed meanwhile form the next batch. Nobody returns
 * before its own line (and so every earlier one) is on disk.
 */
#include "tests/pspsim/pspsim_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_util.h"

#define JOURNAL "journal.jsonl"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;                        /* the journal, O_APPEND; -1: memory only */
	int lock_fd;                   /* flock'd <dir>/lock */
	char *buf;                     /* committed lines not yet taken by a leader */
	size_t len, cap;
	unsigned long long committed;  /* lines committed (the last one's number) */
	unsigned long long durable;    /* lines written and fdatasync'd */
	unsigned long long syncs;
	bool writing;                  /* a leader is writing a batch */
	json_t *loaded;                /* kind -> {id -> value}, read at open */
	unsigned char fp_key[crypto_generichash_KEYBYTES];
} g_st = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .fd = -1,
           .lock_fd = -1 };

static __thread json_t *t_puts;                 /* this thread's puts since its last commit */
static __thread unsigned long long t_wait;      /* what psim_store_wait waits for */

static void seterr(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
}

/* The journal cannot be written: answering would outrun the record, and a
 * failed fdatasync may have dropped dirty pages, so retrying is unsafe. */
static void die(const char *what)
{
	sr_log(SR_LOG_ERROR, NULL, "pspsim.journal_failed", "{s:s, s:s}", "step", what, "error",
	       strerror(errno));
	_exit(1);
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w = 0;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One journal line: {"put":[{"kind","id","v"}...]}, checked. @return 0 or -1. */
static int apply_line(const json_t *line)
{
	const json_t *puts = json_object_get(line, "put");
	const json_t *p = NULL;
	json_t *kind = NULL;
	const char *k = NULL;
	const char *id = NULL;
	size_t i = 0;

	if (!json_is_array(puts))
		return -1;
	json_array_foreach(puts, i, p) {
		k = json_string_value(json_object_get(p, "kind"));
		id = json_string_value(json_object_get(p, "id"));
		if (k == NULL || id == NULL || json_object_get(p, "v") == NULL)
			return -1;
		kind = json_object_get(g_st.loaded, k);
		if (kind == NULL) {
			kind = json_object();
			if (json_object_set_new(g_st.loaded, k, kind) != 0)
				return -1;
		}
		if (json_object_set(kind, id, json_object_get(p, "v")) != 0)
			return -1;
	}
	return 0;
}

/* Read path into g_st.loaded. A last line that is torn (no newline, or not
 * JSON) was never answered: it is dropped. @return 0 or -1 with err. */
static int replay(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = 0;
	long long lineno = 0;
	json_t *j = NULL;
	json_t *bad = NULL;
	int ret = 0;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		seterr(err, errlen, "cannot read", path);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (bad != NULL) {      /* an unreadable line that was not the last */
			snprintf(err, errlen, "%s: line %lld is not a journal record", path, lineno - 1);
			ret = -1;
			break;
		}
		j = line[n - 1] == '\n' ? json_loadb(line, (size_t)n - 1, 0, NULL) : NULL;
		if (j == NULL || apply_line(j) != 0) {
			bad = json_true();
			json_decref(j);
			continue;
		}
		json_decref(j);
	}
	if (ret == 0 && ferror(f)) {
		seterr(err, errlen, "cannot read", path);
		ret = -1;
	}
	if (ret == 0 && bad != NULL)
		sr_log(SR_LOG_WARN, NULL, "pspsim.journal_torn_tail_dropped", "{s:I}", "line",
		       (json_int_t)lineno);
	json_decref(bad);
	free(line);
	fclose(f);
	return ret;
}

/* Rewrite the journal as one line per object (tmp, fdatasync, rename,
 * directory fsync), then open it for appending. @return 0 or -1 with err. */
static int compact(const char *dir, const char *path, char *err, size_t errlen)
{
	char tmp[4200];
	const char *k = NULL;
	const char *id = NULL;
	json_t *objs = NULL;
	json_t *v = NULL;
	json_t *line = NULL;
	char *s = NULL;
	int fd = -1;
	int dfd = -1;
	int rc = 0;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		seterr(err, errlen, "cannot create", tmp);
		return -1;
	}
	json_object_foreach(g_st.loaded, k, objs) {
		json_object_foreach(objs, id, v) {
			line = json_pack("{s:[{s:s, s:s, s:O}]}", "put", "kind", k, "id", id, "v", v);
			s = line != NULL ? json_dumps(line, JSON_COMPACT) : NULL;
			json_decref(line);
			rc = s == NULL ? -1 : write_all(fd, s, strlen(s));
			if (rc == 0)
				rc = write_all(fd, "\n", 1);
			free(s);
			if (rc != 0)
				break;
		}
		if (rc != 0)
			break;
	}
	if (rc != 0 || fdatasync(fd) != 0 || close(fd) != 0) {
		seterr(err, errlen, "cannot write", tmp);
		if (rc != 0)
			close(fd);
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rename(tmp, path) != 0 || dfd < 0 || fsync(dfd) != 0) {
		seterr(err, errlen, "cannot replace", path);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	g_st.fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (g_st.fd < 0) {
		seterr(err, errlen, "cannot open", path);
		return -1;
	}
	return 0;
}

int psim_store_open(const char *dir, char *err, size_t errlen)
{
	char path[4096];

	g_st.committed = g_st.durable = g_st.syncs = 0;
	if (dir == NULL)
		return 0;
	if (strlen(dir) == 0 || strlen(dir) > 1000) {
		snprintf(err, errlen, "state_dir must be 1 to 1000 characters");
		return -1;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		seterr(err, errlen, "cannot create", dir);
		return -1;
	}
	snprintf(path, sizeof path, "%s/lock", dir);
	g_st.lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (g_st.lock_fd < 0) {
		seterr(err, errlen, "cannot open", path);
		return -1;
	}
	if (flock(g_st.lock_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "state_dir %s is in use by another pspsim", dir);
		return -1;
	}
	g_st.loaded = json_object();
	if (g_st.loaded == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", dir, JOURNAL);
	if (replay(path, err, errlen) != 0 || compact(dir, path, err, errlen) != 0)
		return -1;
	{
		const char *k = NULL;
		json_t *objs = NULL;
		size_t n = 0;

		json_object_foreach(g_st.loaded, k, objs)
			n += json_object_size(objs);
		sr_log(SR_LOG_INFO, NULL, "pspsim.journal_replayed", "{s:s, s:I}", "state_dir", dir,
		       "objects", (json_int_t)n);
	}
	return 0;
}

int psim_store_each(const char *kind, int (*fn)(const char *id, json_t *value, void *arg), void *arg)
{
	const char *id = NULL;
	json_t *v = NULL;
	int rc = 0;

	json_object_foreach(json_object_get(g_st.loaded, kind), id, v) {
		rc = fn(id, v, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void psim_store_loaded_free(void)
{
	json_decref(g_st.loaded);
	g_st.loaded = NULL;
}

void psim_store_put(const char *kind, const char *id, json_t *value)
{
	if (g_st.fd < 0)
		return;
	if (t_puts == NULL)
		t_puts = json_array();
	if (t_puts == NULL ||
	    json_array_append_new(t_puts, json_pack("{s:s, s:s, s:O}", "kind", kind, "id", id,
	                                            "v", value)) != 0)
		die("put");
}

void psim_store_commit(void)
{
	json_t *line = NULL;
	char *s = NULL;
	size_t n = 0;

	if (g_st.fd < 0)
		return;
	if (t_puts != NULL) {
		/* Serialized here, under the caller's state lock: the values as committed. */
		line = json_pack("{s:o}", "put", t_puts);
		t_puts = NULL;
		s = line != NULL ? json_dumps(line, JSON_COMPACT) : NULL;
		json_decref(line);
		if (s == NULL)
			die("serialize");
		n = strlen(s);
	}
	pthread_mutex_lock(&g_st.lock);
	if (s != NULL) {
		if (g_st.len + n + 1 > g_st.cap) {
			size_t cap = (g_st.len + n + 1) * 2;
			char *b = realloc(g_st.buf, cap);

			if (b == NULL)
				die("buffer");
			g_st.buf = b;
			g_st.cap = cap;
		}
		memcpy(g_st.buf + g_st.len, s, n);
		g_st.buf[g_st.len + n] = '\n';
		g_st.len += n + 1;
		g_st.committed++;
	}
	t_wait = g_st.committed;
	pthread_mutex_unlock(&g_st.lock);
	free(s);
}

static void wait_for(unsigned long long target)
{
	char *b = NULL;
	size_t n = 0;
	unsigned long long upto = 0;

	pthread_mutex_lock(&g_st.lock);
	while (g_st.durable < target) {
		if (g_st.writing) {
			pthread_cond_wait(&g_st.cond, &g_st.lock);
			continue;
		}
		/* Leader: everything committed so far, one write and one fdatasync. */
		b = g_st.buf;
		n = g_st.len;
		upto = g_st.committed;
		g_st.buf = NULL;
		g_st.len = g_st.cap = 0;
		g_st.writing = true;
		pthread_mutex_unlock(&g_st.lock);
		if (write_all(g_st.fd, b, n) != 0)
			die("write");
		if (fdatasync(g_st.fd) != 0)
			die("fdatasync");
		free(b);
		pthread_mutex_lock(&g_st.lock);
		g_st.durable = upto;
		g_st.syncs++;
		g_st.writing = false;
		pthread_cond_broadcast(&g_st.cond);
	}
	pthread_mutex_unlock(&g_st.lock);
}

void psim_store_wait(void)
{
	if (g_st.fd < 0)
		return;
	wait_for(t_wait);
	t_wait = 0;
}

void psim_store_sync(void)
{
	unsigned long long target = 0;

	if (g_st.fd < 0)
		return;
	pthread_mutex_lock(&g_st.lock);
	target = g_st.committed;
	pthread_mutex_unlock(&g_st.lock);
	wait_for(target);
}

void psim_store_close(void)
{
	if (g_st.fd >= 0) {
		psim_store_sync();
		close(g_st.fd);
		g_st.fd = -1;
	}
	if (g_st.lock_fd >= 0) {
		close(g_st.lock_fd);    /* releases the flock */
		g_st.lock_fd = -1;
	}
	free(g_st.buf);
	g_st.buf = NULL;
	g_st.len = g_st.cap = 0;
	psim_store_loaded_free();
}

void psim_store_fingerprint_key(const void *key, size_t len)
{
	static const char label[] = "pspsim/idempotency-fingerprint/v1";
	unsigned char k[crypto_generichash_KEYBYTES];

	crypto_generichash(k, sizeof k, key, len, NULL, 0);
	crypto_generichash(g_st.fp_key, sizeof g_st.fp_key, (const unsigned char *)label,
	                   sizeof label - 1, k, sizeof k);
	sodium_memzero(k, sizeof k);
}

void psim_store_fingerprint(const char *method, const char *path, const void *body, size_t len,
                            char hex[65])
{
	crypto_generichash_state st;
	unsigned char d[32];

	crypto_generichash_init(&st, g_st.fp_key, sizeof g_st.fp_key, sizeof d);
	crypto_generichash_update(&st, (const unsigned char *)method, strlen(method) + 1);
	crypto_generichash_update(&st, (const unsigned char *)path, strlen(path) + 1);
	if (body != NULL && len > 0)
		crypto_generichash_update(&st, body, len);
	crypto_generichash_final(&st, d, sizeof d);
	sr_hex(d, sizeof d, hex);
	sodium_memzero(&st, sizeof st);
}

json_t *psim_store_stats(void)
{
	json_t *o = NULL;

	pthread_mutex_lock(&g_st.lock);
	o = json_pack("{s:I, s:I}", "journal_lines", (json_int_t)g_st.committed, "journal_syncs",
	              (json_int_t)g_st.syncs);
	pthread_mutex_unlock(&g_st.lock);
	return o;
}
