/*
 * pspsim_keys: merchants' own API keys at the simulated PSP (issue 5), so a
 * test can prove which key authenticated a call. Only SHA-256 hashes and
 * last 4 characters are kept. Test code (pspsim only). Thread-safe.
 */
#ifndef PSPSIM_KEYS_H
#define PSPSIM_KEYS_H
#include <stdbool.h>
#include <jansson.h>

/** Register key (8..256 visible ASCII). @return 0, or -1 when malformed/full. */
int psim_keys_register(const char *key);

/** Whether key is a registered key (constant-time on the hash); counts the call. */
bool psim_keys_check(const char *key);

/** Count a call made with the platform key. */
void psim_keys_count_platform(void);

/** {"platform": n, "<last4>": n, ...}: calls authenticated per key. New reference. */
json_t *psim_keys_stats(void);

#endif
