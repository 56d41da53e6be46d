/*
 * hsm_custodian_input: each custodian enters their own passphrase (see
 * hsm_custodian.h, ADR 0105): a prompt on /dev/tty without echo, or one
 * mode-0600 file per custodian (vaultctl --secret NAME=FILE) holding one
 * line. No input holds two custodians' secrets. Passphrases are kept in
 * guarded memory only, and never echoed, logged or named in an error.
 */
#include "hsm/ceremonies/hsm_custodian.h"
#include "common/sr_secret.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>

#include <sodium.h>

struct secret {
	char name[HSM_CUSTODIAN_NAME_MAX + 1];
	char *pass;   /* guarded memory */
	size_t len;
	bool used;
};

struct hsm_custodian_input {
	struct secret s[HSM_CUSTODIAN_MAX];
	size_t n;       /* 0: prompt on the terminal */
};

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

/* One secret "NAME=FILE" into s; dev/ino of the file for the same-file check. */
static int read_secret(const char *spec, struct secret *s, dev_t *dev, ino_t *ino, char *err,
                       size_t errlen)
{
	const char *eq = strchr(spec, '=');
	char path[4096];
	struct stat st;
	size_t nlen, i;

	nlen = eq != NULL ? (size_t)(eq - spec) : 0;
	if (eq == NULL || nlen == 0 || nlen > HSM_CUSTODIAN_NAME_MAX || eq[1] == '\0') {
		seterr(err, errlen, "custodians: --secret takes NAME=FILE");
		return -1;
	}
	memcpy(s->name, spec, nlen);
	s->name[nlen] = '\0';
	if (!hsm_custodian_name_ok(s->name)) {
		seterr(err, errlen, "custodians: --secret: a name is 1-%d characters of a-z 0-9 . _ -",
		       HSM_CUSTODIAN_NAME_MAX);
		return -1;
	}
	if (sr_secret_path(eq + 1, path, sizeof(path)) != 0 || stat(path, &st) != 0) {
		seterr(err, errlen, "custodians: %s's secret file cannot be read", s->name);
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	/* Mode 0600, regular file: sr_secret_read_file (PCI DSS v4.0 3.6.1, 8.3.2). */
	s->pass = sr_secret_read_file(eq + 1, &s->len, err, errlen);
	if (s->pass == NULL)
		return -1;
	if (s->len > 0 && s->pass[s->len - 1] == '\r')
		s->len--;
	for (i = 0; i < s->len; i++) {
		if (s->pass[i] == '\n' || s->pass[i] == '\r') {
			seterr(err, errlen, "custodians: %s's secret file holds more than one line: "
			       "one file per custodian, holding their passphrase only", s->name);
			return -1;
		}
	}
	s->pass[s->len] = '\0';
	return 0;
}

struct hsm_custodian_input *hsm_custodian_input_open(const char *const secrets[], size_t n,
                                                     char *err, size_t errlen)
{
	struct hsm_custodian_input *in = calloc(1, sizeof(*in));
	dev_t dev[HSM_CUSTODIAN_MAX];
	ino_t ino[HSM_CUSTODIAN_MAX];
	size_t i, j;

	if (in == NULL) {
		seterr(err, errlen, "custodians: out of memory");
		return NULL;
	}
	if (n > HSM_CUSTODIAN_MAX || (n > 0 && secrets == NULL)) {
		seterr(err, errlen, "custodians: at most %d --secret", HSM_CUSTODIAN_MAX);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (read_secret(secrets[i], &in->s[i], &dev[i], &ino[i], err, errlen) != 0) {
			in->n = i + 1;
			goto fail;
		}
		in->n = i + 1;
		for (j = 0; j < i; j++) {
			if (strcmp(in->s[i].name, in->s[j].name) == 0) {
				seterr(err, errlen, "custodians: --secret names %s twice", in->s[i].name);
				goto fail;
			}
			if (dev[i] == dev[j] && ino[i] == ino[j]) {
				seterr(err, errlen, "custodians: %s and %s give the same secret file: "
				       "each custodian has their own", in->s[j].name, in->s[i].name);
				goto fail;
			}
		}
	}
	return in;
fail:
	hsm_custodian_input_close(in);
	return NULL;
}

void hsm_custodian_input_close(struct hsm_custodian_input *in)
{
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; i < in->n; i++)
		sr_secret_free(in->s[i].pass);
	free(in);
}

size_t hsm_custodian_input_left(const struct hsm_custodian_input *in)
{
	size_t i, left = 0;

	for (i = 0; in != NULL && i < in->n; i++)
		left += in->s[i].used ? 0 : 1;
	return left;
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

/* A copy of s's passphrase in a new guarded buffer. */
static int take(struct secret *s, char **pass, size_t *pass_len)
{
	char *p = sr_secret_alloc(s->len + 1);

	if (p == NULL)
		return -1;
	memcpy(p, s->pass, s->len + 1);
	*pass = p;
	*pass_len = s->len;
	s->used = true;
	return 0;
}

/* A passphrase asked on the terminal (twice when confirm). */
static int ask(const char *who, bool confirm, char **pass, size_t *pass_len, char *err,
               size_t errlen)
{
	char prompt[96];
	char *p = sr_secret_alloc(HSM_CUSTODIAN_PASS_MAX + 2);
	char *again = confirm ? sr_secret_alloc(HSM_CUSTODIAN_PASS_MAX + 2) : NULL;
	size_t n = 0, n2 = 0;
	int ret = -1;

	if (p == NULL || (confirm && again == NULL)) {
		seterr(err, errlen, "custodians: out of guarded memory");
		goto out;
	}
	snprintf(prompt, sizeof(prompt), "%s passphrase (not echoed): ", who);
	if (tty_line(prompt, true, p, HSM_CUSTODIAN_PASS_MAX + 2, &n) != 0) {
		seterr(err, errlen, "custodians: no passphrase for %s (no terminal, or too long)",
		       who);
		goto out;
	}
	if (confirm) {
		snprintf(prompt, sizeof(prompt), "%s passphrase again: ", who);
		if (tty_line(prompt, true, again, HSM_CUSTODIAN_PASS_MAX + 2, &n2) != 0 || n != n2 ||
		    sodium_memcmp(p, again, n) != 0) {
			seterr(err, errlen, "custodians: %s's two entries differ", who);
			goto out;
		}
	}
	*pass = p;
	*pass_len = n;
	p = NULL;
	ret = 0;
out:
	sr_secret_free(p);
	sr_secret_free(again);
	return ret;
}

int hsm_custodian_next(struct hsm_custodian_input *in, const char *prompt_label,
                       char name[HSM_CUSTODIAN_NAME_MAX + 1], char **pass, size_t *pass_len,
                       char *err, size_t errlen)
{
	char prompt[96], nbuf[HSM_CUSTODIAN_NAME_MAX + 2];
	size_t i, n = 0;

	if (in == NULL || name == NULL || pass == NULL || pass_len == NULL ||
	    prompt_label == NULL) {
		seterr(err, errlen, "custodians: bad arguments");
		return -1;
	}
	*pass = NULL;
	if (in->n > 0) {
		for (i = 0; i < in->n && in->s[i].used; i++)
			;
		if (i == in->n) {
			seterr(err, errlen, "custodians: no --secret for %s", prompt_label);
			return -1;
		}
		memcpy(name, in->s[i].name, sizeof(in->s[i].name));
		if (take(&in->s[i], pass, pass_len) != 0) {
			seterr(err, errlen, "custodians: out of guarded memory");
			return -1;
		}
		return 0;
	}
	snprintf(prompt, sizeof(prompt), "%s name: ", prompt_label);
	if (tty_line(prompt, false, nbuf, sizeof(nbuf), &n) != 0) {
		seterr(err, errlen, "custodians: no name for %s (no terminal, or longer than %d)",
		       prompt_label, HSM_CUSTODIAN_NAME_MAX);
		return -1;
	}
	memcpy(name, nbuf, n + 1);
	return ask(prompt_label, false, pass, pass_len, err, errlen);
}

int hsm_custodian_secret_of(struct hsm_custodian_input *in, const char *name, bool confirm,
                            char **pass, size_t *pass_len, char *err, size_t errlen)
{
	size_t i;

	if (in == NULL || !hsm_custodian_name_ok(name) || pass == NULL || pass_len == NULL) {
		seterr(err, errlen, "custodians: bad arguments");
		return -1;
	}
	*pass = NULL;
	if (in->n == 0)
		return ask(name, confirm, pass, pass_len, err, errlen);
	for (i = 0; i < in->n; i++) {
		if (strcmp(in->s[i].name, name) == 0 && !in->s[i].used) {
			if (take(&in->s[i], pass, pass_len) != 0) {
				seterr(err, errlen, "custodians: out of guarded memory");
				return -1;
			}
			return 0;
		}
	}
	seterr(err, errlen, "custodians: no --secret %s=FILE", name);
	return -1;
}
