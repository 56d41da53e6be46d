/*
 * hsm_transcript: the signed, hash-chained key ceremony transcript (issue 7,
 * ADR 0071; PCI DSS v4.0 3.6.1, 3.7.1, 3.7.6, 3.7.7).
 *
 * One JSON object a line, serialised canonically (jansson, compact, keys
 * sorted), with the members
 *   seq     1, 2, 3, ... (position in the file)
 *   prev    hex SHA-256 of the previous line's bytes (no newline); 64 zeros first
 *   when    UTC time, RFC 3339 ("2026-11-22T01:02:03Z")
 *   who     the person acting; role: ceremony-master, custodian or witness
 *   action  what happened ("signer-created", "custodian-authenticated", ...)
 *   what    details: key label, mechanism, attributes, KCV (never key bytes)
 *   hsm_serial  the token's serial number
 *   signer  label of the signing key (HSM_KEY_CEREMONY_SIGN)
 *   sig     hex r||s: ECDSA P-256 over SHA-256 of the line without "sig",
 *           made by C_Sign in the HSM
 * Verification needs only the signer's public key (SubjectPublicKeyInfo PEM)
 * and OpenSSL's libcrypto, not the HSM.
 */
#ifndef HSM_TRANSCRIPT_H
#define HSM_TRANSCRIPT_H
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct hsm;

/**
 * Append one signed line to the transcript at path (created mode 0600;
 * exclusive flock while reading the tail and writing; fsync'd).
 * @param what borrowed JSON object (may be NULL): the step's details.
 * @return 0, or -1 with err. Never writes secrets: callers pass KCVs, not keys.
 */
int hsm_transcript_append(struct hsm *h, const char *path, const char *who, const char *role,
                          const char *action, json_t *what, char *err, size_t errlen);

struct hsm_transcript_report {
	long lines;       /* lines verified before the first bad one (all, when intact) */
	long first_bad;   /* 1-based line number of the first bad line, 0 when intact */
	char reason[160]; /* why it is bad */
	char head[65];    /* hex SHA-256 of the last line (write it on the paper record) */
};

/**
 * Verify the transcript at path with the public key in pubkey_pem (PEM
 * SubjectPublicKeyInfo, P-256): canonical form, sequence, hash chain and
 * every signature, in that order per line, so the first altered, removed,
 * inserted or reordered line is the one named.
 * @return 0 intact, 1 tampered (rep->first_bad, rep->reason), -1 error (err).
 */
int hsm_transcript_verify(const char *path, const char *pubkey_pem,
                          struct hsm_transcript_report *rep, char *err, size_t errlen);

/** Write a P-256 public key (uncompressed point 04||X||Y) as a PEM
 *  SubjectPublicKeyInfo file (RFC 5480). 0, or -1 with err. */
int hsm_transcript_write_pubkey(const uint8_t point[65], const char *path, char *err,
                                size_t errlen);

#endif
