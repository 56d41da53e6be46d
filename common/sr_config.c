/*
 * sr_config: daemon configuration as a JSON object file (jansson).
 * Unknown keys are errors (a typo must never silently disable a control).
 */
#include "common/sr_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Optimal string alignment distance of a and b (Levenshtein plus swapped
 * neighbours), capped: lengths above 63 count as far. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[64][64];

	if (la > 63 || lb > 63)
		return (size_t)-1;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The allowed key closest to key when it is a near miss (at most 2 edits,
 * and fewer than a third of the key's length), else NULL. */
static const char *nearest_key(const char *const *allowed, const char *key)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, limit = strlen(key) / 3, i;

	if (limit > 2)
		limit = 2;
	for (i = 0; allowed != NULL && allowed[i] != NULL; i++) {
		size_t d = edit_distance(allowed[i], key);

		if (d < best_d) {
			best_d = d;
			best = allowed[i];
		}
	}
	return best_d <= limit && best_d > 0 ? best : NULL;
}

json_t *sr_config_load(const char *path, const char *const *allowed, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *cfg = NULL;
	json_t *ret = NULL;
	const char *key = NULL;
	json_t *val = NULL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL) {
		seterr(err, errlen, "config: no path given");
		goto out;
	}
	cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (cfg == NULL && jerr.line < 1) {
		/* Not a JSON error: the file itself (missing, unreadable). */
		seterr(err, errlen, "%s: cannot read the configuration file: %s", path,
		       access(path, R_OK) != 0 ? strerror(errno) : jerr.text);
		goto out;
	}
	if (cfg == NULL) {
		/* Config files hold no secrets (secrets come from *_file paths),
		 * so jansson's message is fine here. */
		seterr(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(cfg)) {
		seterr(err, errlen, "%s:1: top level must be a JSON object", path);
		goto out;
	}
	json_object_foreach(cfg, key, val) {
		size_t i;
		int known = 0;

		(void)val;
		for (i = 0; allowed != NULL && allowed[i] != NULL; i++) {
			if (strcmp(allowed[i], key) == 0) {
				known = 1;
				break;
			}
		}
		if (!known) {
			const char *near = nearest_key(allowed, key);

			seterr(err, errlen, "%s:%d: unknown key '%s'%s%s%s", path,
			       sr_config_key_line(path, key), key, near != NULL ? " (did you mean '" : "",
			       near != NULL ? near : "", near != NULL ? "'?)" : "");
			goto out;
		}
	}
	ret = cfg;
	cfg = NULL;
out:
	json_decref(cfg);
	return ret;
}

const char *sr_config_str(const json_t *cfg, const char *key, const char *def)
{
	json_t *v = json_object_get(cfg, key);

	if (!json_is_string(v))
		return def;
	return json_string_value(v);
}

long long sr_config_int(const json_t *cfg, const char *key, long long def)
{
	json_t *v = json_object_get(cfg, key);

	if (!json_is_integer(v))
		return def;
	return (long long)json_integer_value(v);
}

/* Read a whole (small) file; NULL on error. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = NULL;
	char *buf = NULL;
	char *ret = NULL;
	long n;

	f = fopen(path, "rbe");
	if (f == NULL)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 16L * 1024 * 1024 ||
	    fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf == NULL)
		goto out;
	*len = fread(buf, 1, (size_t)n, f);
	buf[*len] = '\0';
	ret = buf;
	buf = NULL;
out:
	free(buf);
	if (f != NULL)
		fclose(f);
	return ret;
}

int sr_config_key_line(const char *path, const char *key)
{
	char *text = NULL;
	size_t len = 0, i = 0;
	int line = 1;
	int depth = 0;
	int found = 0;

	if (path == NULL || key == NULL)
		return 0;
	text = slurp(path, &len);
	if (text == NULL)
		return 0;
	while (i < len && !found) {
		char c = text[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '{' || c == '[') {
			depth++;
			i++;
		} else if (c == '}' || c == ']') {
			depth--;
			i++;
		} else if (c == '"') {
			size_t start = i;
			int tok_line = line;
			size_t j;

			/* The string token, escapes included (jansson accepted the
			 * file, so it is terminated and has no raw newline). */
			i++;
			while (i < len && text[i] != '"') {
				if (text[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			i++;
			if (depth != 1)
				continue;
			j = i;
			while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' ||
			                   text[j] == '\n'))
				j++;
			if (j < len && text[j] == ':') {
				json_t *k = json_loadb(text + start, i - start, JSON_DECODE_ANY, NULL);

				if (json_is_string(k) && strcmp(json_string_value(k), key) == 0) {
					line = tok_line;
					found = 1;
				}
				json_decref(k);
			}
		} else {
			i++;
		}
	}
	free(text);
	return found ? line : 0;
}

void sr_config_error(char *err, size_t errlen, const char *path, const char *key,
                     const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	int line = sr_config_key_line(path, key);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line > 0)
		seterr(err, errlen, "%s:%d: %s: %s", path != NULL ? path : "config", line, key, msg);
	else
		seterr(err, errlen, "%s: %s: %s", path != NULL ? path : "config", key != NULL ? key : "",
		       msg);
}
