/*
 * hsm_custodian: custodians file, passphrase checks, credential input (see
 * hsm_custodian.h, ADR 0072). Passphrases live only in guarded memory
 * (sr_secret_alloc) and as Argon2id hashes; they are never logged, echoed
 * or shown to another custodian.
 */
#include "hsm/ceremonies/hsm_custodian.h"
#include "common/sr_secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

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

bool hsm_custodian_name_ok(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n == 0 || n > HSM_CUSTODIAN_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Load the custodians file; absent file -> empty list when may_be_absent. */
static json_t *load(const char *path, bool may_be_absent, char *err, size_t errlen)
{
	struct stat st;
	json_error_t je;
	json_t *o = NULL;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT && may_be_absent)
			return json_pack("{s:i, s:[]}", "version", 1, "custodians");
		seterr(err, errlen, "custodians: %s: %s", path, strerror(errno));
		return NULL;
	}
	/* PCI DSS v4.0 3.6.1: credential hashes readable by the owner only. */
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		seterr(err, errlen, "custodians: %s must be a regular file of mode 0600", path);
		return NULL;
	}
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(o) || json_integer_value(json_object_get(o, "version")) != 1 ||
	    !json_is_array(json_object_get(o, "custodians"))) {
		json_decref(o);
		seterr(err, errlen, "custodians: %s: not a version 1 custodians file", path);
		return NULL;
	}
	return o;
}

static const char *find_hash(json_t *o, const char *name)
{
	json_t *c = NULL;
	size_t i;

	json_array_foreach(json_object_get(o, "custodians"), i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			return json_string_value(json_object_get(c, "pwhash"));
	}
	return NULL;
}

/* Write o to a 0600 temporary file and rename it over path. 0 or -1. */
static int store(const char *path, json_t *o, char *err, size_t errlen)
{
	char tmp[4096];
	int fd = -1, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		seterr(err, errlen, "custodians: path too long");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0 ||
	    json_dumpfd(o, fd, JSON_INDENT(2) | JSON_SORT_KEYS) != 0 || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0 || rename(tmp, path) != 0) {
		seterr(err, errlen, "custodians: cannot write %s", path);
		unlink(tmp);
	} else {
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int hsm_custodian_remove(const char *path, const char *name, char *err, size_t errlen)
{
	json_t *o = NULL, *list = NULL, *c = NULL;
	size_t i;
	int ret = -1;

	if (path == NULL || !hsm_custodian_name_ok(name)) {
		seterr(err, errlen, "custodians: a name is 1-%d characters of a-z 0-9 . _ -",
		       HSM_CUSTODIAN_NAME_MAX);
		return -1;
	}
	o = load(path, false, err, errlen);
	if (o == NULL)
		return -1;
	list = json_object_get(o, "custodians");
	json_array_foreach(list, i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			break;
	}
	if (i >= json_array_size(list)) {
		seterr(err, errlen, "custodians: '%s' is not registered", name);
		ret = 1;
		goto out;
	}
	/* PCI DSS v4.0 3.7.6: dual control must stay possible. */
	if (json_array_size(list) <= 2) {
		seterr(err, errlen, "custodians: removing '%s' would leave fewer than two", name);
		ret = 1;
		goto out;
	}
	if (json_array_remove(list, i) != 0 || store(path, o, err, errlen) != 0)
		goto out;
	ret = 0;
out:
	json_decref(o);
	return ret;
}

int hsm_custodian_add(const char *path, const char *name, const char *pass, size_t pass_len,
                      char *err, size_t errlen)
{
	char hash[crypto_pwhash_STRBYTES];
	char when[32];
	json_t *o = NULL;
	struct tm tm;
	time_t now;
	int ret = -1;

	if (path == NULL || pass == NULL || !hsm_custodian_name_ok(name)) {
		seterr(err, errlen, "custodians: a name is 1-%d characters of a-z 0-9 . _ -",
		       HSM_CUSTODIAN_NAME_MAX);
		goto out;
	}
	if (pass_len < HSM_CUSTODIAN_PASS_MIN || pass_len > HSM_CUSTODIAN_PASS_MAX) {
		seterr(err, errlen, "custodians: a passphrase is %d to %d bytes long",
		       HSM_CUSTODIAN_PASS_MIN, HSM_CUSTODIAN_PASS_MAX);
		goto out;
	}
	o = load(path, true, err, errlen);
	if (o == NULL)
		goto out;
	if (find_hash(o, name) != NULL) {
		seterr(err, errlen, "custodians: '%s' is registered already", name);
		goto out;
	}
	/* Argon2id (RFC 9106) with libsodium's interactive limits (64 MiB): a stolen file
	 * does not give the passphrases away cheaply. */
	if (crypto_pwhash_str(hash, pass, pass_len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		seterr(err, errlen, "custodians: out of memory hashing the passphrase");
		goto out;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json_array_append_new(json_object_get(o, "custodians"),
	                          json_pack("{s:s, s:s, s:s}", "name", name, "pwhash", hash,
	                                    "added", when)) != 0) {
		seterr(err, errlen, "custodians: out of memory");
		goto out;
	}
	if (store(path, o, err, errlen) != 0)
		goto out;
	ret = 0;
out:
	sodium_memzero(hash, sizeof(hash));
	json_decref(o);
	return ret;
}

int hsm_custodian_check(const char *path, const char *name, const char *pass, size_t pass_len,
                        char *err, size_t errlen)
{
	/* A hash of a random passphrase, checked for unknown names so that they
	 * cost the same time as a wrong passphrase. */
	static char dummy[crypto_pwhash_STRBYTES];
	const char *hash = NULL;
	json_t *o = NULL;
	int ret = -1;
	int ok;

	if (path == NULL || name == NULL || pass == NULL) {
		seterr(err, errlen, "custodians: bad arguments");
		return -1;
	}
	o = load(path, false, err, errlen);
	if (o == NULL)
		return -1;
	hash = hsm_custodian_name_ok(name) ? find_hash(o, name) : NULL;
	if (hash == NULL) {
		if (dummy[0] == '\0') {
			uint8_t r[32];
			randombytes_buf(r, sizeof(r));
			if (crypto_pwhash_str(dummy, (const char *)r, sizeof(r),
			                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
				dummy[0] = '\0';
			sodium_memzero(r, sizeof(r));
		}
		if (dummy[0] != '\0') {
			int same_cost = crypto_pwhash_str_verify(dummy, pass, pass_len);
			(void)same_cost;
		}
		ret = 0;
		goto out;
	}
	ok = crypto_pwhash_str_verify(hash, pass, pass_len) == 0;
	ret = ok ? 1 : 0;
out:
	json_decref(o);
	return ret;
}

struct hsm_custodian_input {
	char *buf;      /* file contents, guarded memory; NULL: prompt on the tty */
	size_t len, pos;
};

struct hsm_custodian_input *hsm_custodian_input_open(const char *input_file, char *err,
                                                     size_t errlen)
{
	struct hsm_custodian_input *in = calloc(1, sizeof(*in));

	if (in == NULL) {
		seterr(err, errlen, "custodians: out of memory");
		return NULL;
	}
	if (input_file != NULL) {
		/* Mode 0600 enforced by sr_secret_read_file (PCI DSS 3.6.1 / 8.3.2). */
		in->buf = sr_secret_read_file(input_file, &in->len, err, errlen);
		if (in->buf == NULL) {
			free(in);
			return NULL;
		}
	}
	return in;
}

void hsm_custodian_input_close(struct hsm_custodian_input *in)
{
	if (in == NULL)
		return;
	sr_secret_free(in->buf);
	free(in);
}

/* Next line of the input file into out (guarded or not), NUL-terminated. */
static int file_line(struct hsm_custodian_input *in, char *out, size_t cap, size_t *len)
{
	size_t n = 0;

	if (in->pos >= in->len)
		return -1;
	while (in->pos < in->len && in->buf[in->pos] != '\n') {
		if (n + 1 >= cap)
			return -1;
		out[n++] = in->buf[in->pos++];
	}
	if (in->pos < in->len)
		in->pos++;   /* the newline */
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	*len = n;
	return 0;
}

/* Prompt on /dev/tty and read one line, echo off when secret. */
static int tty_line(const char *prompt, bool secret, char *out, size_t cap, size_t *len)
{
	struct termios old, quiet;
	bool restore = false;
	FILE *tty = fopen("/dev/tty", "r+");
	int ret = -1;
	size_t n;

	if (tty == NULL)
		return -1;
	fputs(prompt, tty);
	fflush(tty);
	if (secret) {
		if (tcgetattr(fileno(tty), &old) != 0)
			goto out;   /* never read a secret without control of echo */
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		restore = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
		if (!restore)
			goto out;   /* never read a secret with echo on */
	}
	if (fgets(out, (int)cap, tty) == NULL)
		goto out;
	n = strlen(out);
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	else if (n + 1 >= cap)
		goto out;   /* too long */
	*len = n;
	ret = 0;
out:
	if (restore) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		fputs("\n", tty);
	}
	fclose(tty);
	return ret;
}

int hsm_custodian_next(struct hsm_custodian_input *in, const char *prompt_label,
                       char name[HSM_CUSTODIAN_NAME_MAX + 1], char **pass, size_t *pass_len,
                       char *err, size_t errlen)
{
	char prompt[96], nbuf[HSM_CUSTODIAN_NAME_MAX + 2];
	char *p = NULL;
	size_t n = 0;
	int ret = -1;

	if (in == NULL || name == NULL || pass == NULL || pass_len == NULL) {
		seterr(err, errlen, "custodians: bad arguments");
		goto out;
	}
	*pass = NULL;
	p = sr_secret_alloc(HSM_CUSTODIAN_PASS_MAX + 2);
	if (p == NULL) {
		seterr(err, errlen, "custodians: out of guarded memory");
		goto out;
	}
	snprintf(prompt, sizeof(prompt), "%s name: ", prompt_label);
	if ((in->buf != NULL ? file_line(in, nbuf, sizeof(nbuf), &n)
	                     : tty_line(prompt, false, nbuf, sizeof(nbuf), &n)) != 0) {
		seterr(err, errlen, "custodians: no name for %s (input ended, no terminal, or "
		       "longer than %d)", prompt_label, HSM_CUSTODIAN_NAME_MAX);
		goto out;
	}
	snprintf(prompt, sizeof(prompt), "%s passphrase (not echoed): ", prompt_label);
	if ((in->buf != NULL ? file_line(in, p, HSM_CUSTODIAN_PASS_MAX + 2, pass_len)
	                     : tty_line(prompt, true, p, HSM_CUSTODIAN_PASS_MAX + 2, pass_len)) != 0) {
		seterr(err, errlen, "custodians: no passphrase for %s", prompt_label);
		goto out;
	}
	memcpy(name, nbuf, n + 1);
	*pass = p;
	p = NULL;
	ret = 0;
out:
	sr_secret_free(p);
	return ret;
}
