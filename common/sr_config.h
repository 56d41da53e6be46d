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
 * ("FILE:LINE: ..." or "FILE: unknown key 'x'").
 */
json_t *sr_config_load(const char *path, const char *const *allowed, char *err, size_t errlen);

/** String value of key, or def when absent. Borrowed. */
const char *sr_config_str(const json_t *cfg, const char *key, const char *def);

/** Integer value of key, or def when absent. */
long long sr_config_int(const json_t *cfg, const char *key, long long def);

#endif
