/*
 * sr_config: daemon configuration as a JSON object file (jansson).
 * Unknown keys are errors (a typo must never silently disable a control).
 */
#include "common/sr_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
			seterr(err, errlen, "%s:%d: unknown key '%s'", path,
			       sr_config_key_line(path, key), key);
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
