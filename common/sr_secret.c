/*
 * sr_secret: secrets read from files into libsodium guarded memory
 * (invariant 10, docs/invariants.md; PCI DSS v4.0 3.6.1, 8.3.2, 8.6.3).
 */
#include "common/sr_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define SR_SECRET_MAX 4096

/* What glibc writes over every freed heap chunk (mallopt M_PERTURB; new
 * allocations get its complement). Any value but 0, which turns it off. */
#define SR_SECRET_FREED_FILL 0xa5

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

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_ok = 0;

static void init_once(void)
{
	g_ok = sodium_init() >= 0;
}

static int ensure_sodium(void)
{
	pthread_once(&g_once, init_once);
	return g_ok ? 0 : -1;
}

/*
 * A cache of small guarded blocks. sodium_malloc costs an mmap, mprotects,
 * an mlock and on free an munmap per call; on a busy multi-threaded vault
 * those system calls (and the TLB shootdowns of munmap/mprotect) dominated
 * tokenization (make bench). Blocks of SR_SECRET_SMALL bytes are therefore
 * kept after use: each is still its own sodium_malloc allocation (guard
 * pages, canary, mlock, MADV_DONTDUMP), wiped with sodium_memzero when it is
 * given back and again when handed out. At most SR_SECRET_CACHE blocks are
 * cached; more are freed as before.
 */
#define SR_SECRET_SMALL 256
#define SR_SECRET_CACHE 256

static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static void *g_cache_all[SR_SECRET_CACHE];   /* every cached block, in use or free */
static size_t g_cache_n;
static void *g_cache_free[SR_SECRET_CACHE];  /* the free ones */
static size_t g_cache_nfree;

void *sr_secret_alloc(size_t len)
{
	void *p = NULL;

	if (ensure_sodium() != 0)
		return NULL;
	if (len <= SR_SECRET_SMALL) {
		pthread_mutex_lock(&g_cache_mu);
		if (g_cache_nfree > 0) {
			p = g_cache_free[--g_cache_nfree];
		} else if (g_cache_n < SR_SECRET_CACHE) {
			p = sodium_malloc(SR_SECRET_SMALL);
			if (p != NULL)
				g_cache_all[g_cache_n++] = p;
		}
		pthread_mutex_unlock(&g_cache_mu);
		if (p != NULL) {
			sodium_memzero(p, SR_SECRET_SMALL);
			return p;
		}
	}
	p = sodium_malloc(len == 0 ? 1 : len);
	if (p != NULL)
		sodium_memzero(p, len == 0 ? 1 : len);
	return p;
}

void sr_secret_free(void *p)
{
	size_t i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&g_cache_mu);
	for (i = 0; i < g_cache_n; i++) {
		if (g_cache_all[i] == p) {
			/* Wiped before it can be reused (PCI DSS 3.3.1 / 3.5.1: no
			 * card data left behind in memory). */
			sodium_memzero(p, SR_SECRET_SMALL);
			g_cache_free[g_cache_nfree++] = p;
			pthread_mutex_unlock(&g_cache_mu);
			return;
		}
	}
	pthread_mutex_unlock(&g_cache_mu);
	/* sodium_free wipes the whole allocation before unmapping it. */
	sodium_free(p);
}

int sr_secret_path(const char *path, char *out, size_t outlen)
{
	const char *dir = NULL;
	int n;

	if (path == NULL || out == NULL || outlen == 0)
		return -1;
	dir = getenv("CREDENTIALS_DIRECTORY");
	if (path[0] != '/' && dir != NULL && dir[0] != '\0')
		n = snprintf(out, outlen, "%s/%s", dir, path);
	else
		n = snprintf(out, outlen, "%s", path);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* PCI DSS 3.6.1 / 8.3.2: secrets readable only by their owner. */
static int check_stat(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((st->st_mode & 077) != 0) {
		seterr(err, errlen, "%s: mode %03o is readable by group or others, refusing (chmod 600)",
		         path, (unsigned)(st->st_mode & 0777));
		return -1;
	}
	return 0;
}

int sr_secret_check_file(const char *path, char *resolved, size_t resolvedlen, char *err,
                         size_t errlen)
{
	char full[4096];
	struct stat st;
	int fd;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (sr_secret_path(path, full, sizeof full) != 0) {
		seterr(err, errlen, "secret file: no path given or path too long");
		return -1;
	}
	if (lstat(full, &st) != 0) {
		seterr(err, errlen, "%s: %s", full, strerror(errno));
		return -1;
	}
	if (check_stat(full, &st, err, errlen) != 0)
		return -1;
	/* Readable by the user running the check (the daemon's user when
	 * --check-config runs as it): opened as sr_secret_read_file opens it. */
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		seterr(err, errlen, "%s: not readable by uid %u: %s", full, (unsigned)geteuid(),
		       strerror(errno));
		return -1;
	}
	close(fd);
	if (resolved != NULL && snprintf(resolved, resolvedlen, "%s", full) >= (int)resolvedlen) {
		seterr(err, errlen, "%s: path too long", full);
		return -1;
	}
	return 0;
}

char *sr_secret_read_file(const char *path, size_t *len_out, char *err, size_t errlen)
{
	char full[4096];
	struct stat st;
	char *buf = NULL;
	char *ret = NULL;
	size_t len = 0;
	int fd = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (sr_secret_path(path, full, sizeof full) != 0) {
		seterr(err, errlen, "secret file: no path given or path too long");
		goto out;
	}
	path = full;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (check_stat(path, &st, err, errlen) != 0)
		goto out;
	if (st.st_size > SR_SECRET_MAX) {
		seterr(err, errlen, "%s: larger than %d bytes", path, SR_SECRET_MAX);
		goto out;
	}
	buf = sr_secret_alloc(SR_SECRET_MAX + 2);
	if (buf == NULL) {
		seterr(err, errlen, "%s: cannot allocate guarded memory", path);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, SR_SECRET_MAX + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SR_SECRET_MAX) {
			seterr(err, errlen, "%s: larger than %d bytes", path, SR_SECRET_MAX);
			goto out;
		}
	}
	/* One trailing newline (LF or CRLF) is file formatting, not secret. */
	if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	ret = buf;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	sr_secret_free(buf);
	return ret;
}

int sr_secret_harden_process(void)
{
	struct rlimit rl = { 0, 0 };
	int rc = 0;

	/* No core dumps and no ptrace attach by same-uid processes: memory holding
	 * PANs/keys never lands on disk (PCI DSS 3.3.1, 3.5.1). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		rc = -1;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		rc = -1;
	/* ADR 0110: what libraries free is overwritten too. The HTTP server's
	 * per-connection pool and GnuTLS's decrypted records hold the raw
	 * request (card number, CVC) and are freed without being wiped; with
	 * this, glibc fills every chunk it takes back (not those it keeps in a
	 * thread's small-chunk cache, flushed with the fill when the thread
	 * ends). The ASan build's allocator ignores mallopt. */
#ifndef __SANITIZE_ADDRESS__
	if (mallopt(M_PERTURB, SR_SECRET_FREED_FILL) != 1)
		rc = -1;
#endif
	if (ensure_sodium() != 0)
		rc = -1;
	return rc;
}
