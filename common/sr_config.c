/*
 * sr_config: daemon configuration as a JSON object file (jansson).
 * Unknown keys are errors (a typo must never silently disable a control).
 */
#include "common/sr_config.h"

#include <stdarg.h>
#include <stdio.h>
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
			seterr(err, errlen, "%s: unknown key '%s'", path, key);
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
