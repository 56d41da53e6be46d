/*
 * hsm_witness: ceremony witnesses (issue 17, ADR 0117; PCI DSS v4.0 3.6.1,
 * 3.7.6). A witness is neither ceremony master nor custodian: they cannot
 * authorise a key operation, only attest transcript lines. Like a custodian
 * (hsm_custodian.h) a witness holds a passphrase that derives an Ed25519 key
 * (Argon2id with a per-witness salt, then crypto_sign_seed_keypair); their
 * public key and salt are on the transcript itself, in the signed
 * "witness-enrolled" line, which the new witness attests with that key.
 *
 * A witness's signature of a line is Ed25519 (RFC 8032) over
 *   HSM_WITNESS_DOMAIN || the line's canonical form without "sig" and "witnesses"
 * and sits in the line's "witnesses" array ([{"name":..,"sig":<hex>}]),
 * under the HSM's signature.
 */
#ifndef HSM_WITNESS_H
#define HSM_WITNESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hsm/ceremonies/hsm_custodian.h"

#define HSM_WITNESS_DOMAIN "strongroom/transcript-witness/v1\n"
#define HSM_WITNESS_MAX    4    /* witnesses attesting one command */
#define HSM_WITNESS_PK_LEN 32
#define HSM_WITNESS_SIG_LEN 64

/* A witness ready to attest: their name, public key and secret key. */
struct hsm_witness {
	char name[HSM_CUSTODIAN_NAME_MAX + 1];
	uint8_t pk[HSM_WITNESS_PK_LEN];
	uint8_t *sk;   /* 64 bytes of guarded memory (hsm_witness_clear) */
};

/**
 * Enrol a new witness: a fresh salt, their key derived from pass (pass_len
 * bytes, HSM_CUSTODIAN_PASS_MIN..MAX) into *w; *what_out (new reference) is
 * the enrolment's details for the "witness-enrolled" line: name, pk, salt
 * (hex) and the derivation.
 * @return 0, or -1 with err (never the passphrase).
 */
int hsm_witness_enrol(const char *name, const char *pass, size_t pass_len, struct hsm_witness *w,
                      json_t **what_out, char *err, size_t errlen);

/**
 * Whether name is a witness now: the transcript at path has a
 * "witness-enrolled" line for name and no "witness-removed" line for name
 * after it. The lines' signatures are not checked here (hsm_transcript_verify
 * does); vaultctl uses it to keep custodians and witnesses apart.
 * @return 1 enrolled, 0 not (or no transcript yet), -1 it cannot be read.
 */
int hsm_witness_enrolled(const char *path, const char *name);

/**
 * Whether name was ever enrolled as a witness in the transcript at path,
 * removed since or not. A name is enrolled once, ever (ADR 0117): a second
 * enrolment fails verification, so vaultctl refuses it up front.
 * @return 1 yes, 0 no (or no transcript yet), -1 it cannot be read.
 */
int hsm_witness_ever_enrolled(const char *path, const char *name);

/**
 * Load an enrolled witness: the newest "witness-enrolled" line for name in
 * the transcript at path gives their salt and public key (none after a
 * "witness-removed" line for name); pass must derive that key (compared in
 * constant time).
 * @return 0 (*w set), 1 refused (not enrolled, or the wrong passphrase: one
 *         answer for both), -1 error (err).
 */
int hsm_witness_load(const char *path, const char *name, const char *pass, size_t pass_len,
                     struct hsm_witness *w, char *err, size_t errlen);

/** Wipe and free w's secret key. Safe on a zeroed or cleared w. */
void hsm_witness_clear(struct hsm_witness *w);

/** w's signature of HSM_WITNESS_DOMAIN || canon into sig. */
void hsm_witness_sign(const struct hsm_witness *w, const char *canon,
                      uint8_t sig[HSM_WITNESS_SIG_LEN]);

/** Whether sig is pk's signature of HSM_WITNESS_DOMAIN || canon. */
bool hsm_witness_sig_ok(const uint8_t pk[HSM_WITNESS_PK_LEN], const char *canon,
                        const uint8_t sig[HSM_WITNESS_SIG_LEN]);

#endif
