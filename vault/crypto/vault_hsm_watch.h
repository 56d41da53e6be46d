/*
 * vault_hsm_watch: is every key the vault needs usable, and a watchdog that
 * brings the HSM back when it is not (issue 16).
 *
 * A session that answers C_GenerateRandom says nothing about the keys: with
 * the token's files gone, tokenization failed while readiness said "ok", and
 * when they came back vaultd kept failing until it was restarted. Here each
 * key is exercised by the cheapest operation that uses it (its key check
 * value: one AES-ECB block or one HMAC-SHA256 in the token, hsm_kcv), and
 * the watchdog re-opens the token (hsm_recover) when a check fails.
 */
#ifndef VAULT_HSM_WATCH_H
#define VAULT_HSM_WATCH_H
#include <stddef.h>

struct vault_app;
struct vault_hsm_watch;

/**
 * Exercise every key the vault needs now: the current PAN key, the current
 * (and, during a rotation, the previous) fingerprint key, and the audit key
 * (key_versions read through app->keys; PKCS#11 v2.40 §5.8/§5.11 one
 * C_Encrypt or C_Sign each, through hsm_kcv).
 * @return 0; -1 with why = "key <label> unusable"; -2 with why = "key
 *         versions unreadable" (the database); never a key byte.
 */
int vault_hsm_check(struct vault_app *app, char *why, size_t whylen);

/**
 * Start the watchdog thread: every interval_ms it runs vault_hsm_check; on
 * an HSM failure (-1) it logs hsm.unusable (once per outage), calls hsm_recover and
 * checks again, logging hsm.recovered when the keys work again.
 * @return the watchdog, or NULL (thread or memory). Stop with
 *         vault_hsm_watch_stop (joins it; NULL ok).
 */
struct vault_hsm_watch *vault_hsm_watch_start(struct vault_app *app, long long interval_ms);
void vault_hsm_watch_stop(struct vault_hsm_watch *w);

#endif
