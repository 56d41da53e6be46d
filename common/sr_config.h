/*
 * sr_config: daemon configuration as a JSON object file (parsed by jansson).
 * Unknown keys are errors, never silently ignored.
 */
#ifndef SR_CONFIG_H
#define SR_CONFIG_H
#include <jansson.h>

/**
 * Load path as a JSON object; every top-level key must be in allowed
 * (NULL-terminated). @return new reference, or NULL with err
 * ("FILE:LINE: ..." for a syntax error, "FILE:LINE: unknown key 'x'" with
 * "(did you mean 'y'?)" when an allowed key is at most 2 edits away, "FILE:
 * cannot read the configuration file: REASON" when it cannot be opened).
 */
json_t *sr_config_load(const char *path, const char *const *allowed, char *err, size_t errlen);

/** String value of key, or def when absent. Borrowed. */
const char *sr_config_str(const json_t *cfg, const char *key, const char *def);

/** Integer value of key, or def when absent. */
long long sr_config_int(const json_t *cfg, const char *key, long long def);

/**
 * Line (1-based) of the top-level key in the JSON object file path, or 0
 * when absent or unreadable. jansson keeps no positions in json_t, so this
 * is a second pass over a file jansson already accepted: a lexer that only
 * tracks strings (with escapes) and nesting depth; candidate key tokens are
 * decoded by jansson itself (JSON_DECODE_ANY) before comparing. ADR 0050.
 */
int sr_config_key_line(const char *path, const char *key);

/**
 * Format a configuration error naming the file, the key's line and the key:
 * "FILE:LINE: KEY: message" ("FILE: KEY: message" when the key is absent,
 * e.g. a required key). Config files hold no secrets, but a message must
 * still not quote a value.
 */
void sr_config_error(char *err, size_t errlen, const char *path, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
