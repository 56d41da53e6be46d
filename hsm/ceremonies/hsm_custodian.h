/*
 * hsm_custodian: key custodians and dual control for vaultctl's ceremonies
 * (issue 7, ADR 0072; PCI DSS v4.0 3.6.1.3, 3.7.6, 3.7.8).
 *
 * Custodians file (JSON, mode 0600, owner only):
 *   {"version":1,"custodians":[{"name":"alice","pwhash":"$argon2id$...","added":"..."}]}
 * Each custodian's passphrase is stored only as a libsodium crypto_pwhash_str
 * (Argon2id) hash. Names: 1-32 of [a-z0-9._-]. Passphrases: 12-256 bytes.
 *
 * Credential input: interactive prompts on /dev/tty without echo, or, for
 * scripted runs and tests, a mode-0600 file of lines "NAME\nPASSPHRASE\n",
 * one pair per custodian, read into guarded memory (never argv or environ).
 */
#ifndef HSM_CUSTODIAN_H
#define HSM_CUSTODIAN_H
#include <stdbool.h>
#include <stddef.h>

#define HSM_CUSTODIAN_NAME_MAX 32
#define HSM_CUSTODIAN_PASS_MIN 12
#define HSM_CUSTODIAN_PASS_MAX 256

/** A name custodians may use: 1-32 of [a-z0-9._-]. */
bool hsm_custodian_name_ok(const char *name);

/**
 * Register a custodian: hash pass (crypto_pwhash_str, Argon2id, the
 * "moderate" limits) and add it to the custodians file (created 0600; a file
 * readable by group or others is refused). A name that exists is refused.
 * @return 0, or -1 with err (never the passphrase).
 */
int hsm_custodian_add(const char *path, const char *name, const char *pass, size_t pass_len,
                      char *err, size_t errlen);

/**
 * Remove a registered custodian (ceremony 5). Refused when the name is not
 * registered or fewer than two custodians would remain (dual control).
 * @return 0 removed, 1 refused (err says why), -1 error.
 */
int hsm_custodian_remove(const char *path, const char *name, char *err, size_t errlen);

/**
 * Check a custodian's passphrase. Unknown names and wrong passphrases take
 * the same path (a dummy hash check) and give the same answer.
 * @return 1 authenticated, 0 refused, -1 error (err).
 */
int hsm_custodian_check(const char *path, const char *name, const char *pass, size_t pass_len,
                        char *err, size_t errlen);

/** Source of custodian credentials: NULL input_file means prompt on /dev/tty. */
struct hsm_custodian_input;

/** Open the input (file: mode 0600 required, read whole into guarded memory). */
struct hsm_custodian_input *hsm_custodian_input_open(const char *input_file, char *err,
                                                     size_t errlen);
void hsm_custodian_input_close(struct hsm_custodian_input *in);

/**
 * Next custodian: name into name[HSM_CUSTODIAN_NAME_MAX + 1] (prompted with
 * echo), passphrase into a guarded buffer (prompted without echo) that the
 * caller frees with sr_secret_free. prompt_label says who is asked
 * ("custodian 1"). 0, or -1 with err (input exhausted, no terminal, too long).
 */
int hsm_custodian_next(struct hsm_custodian_input *in, const char *prompt_label,
                       char name[HSM_CUSTODIAN_NAME_MAX + 1], char **pass, size_t *pass_len,
                       char *err, size_t errlen);

#endif
