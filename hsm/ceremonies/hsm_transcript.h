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
 *   hsm     the token's identity as C_GetTokenInfo / C_GetSlotInfo report it:
 *           manufacturer, model, serial, firmware, hardware, slot {...} (ADR 0117)
 *   evidence    (when the ceremony master typed any) {"bags":[..],
 *           "video":[..], "room_access":[..]}: tamper-evident bag numbers and
 *           evidence references
 *   witnesses   (when witnesses attest) [{"name":..,"sig":<hex Ed25519>}]:
 *           see hsm_witness.h
 *   signer  label of the signing key (HSM_KEY_CEREMONY_SIGN)
 *   sig     hex r||s: ECDSA P-256 over SHA-256 of the line without "sig",
 *           made by C_Sign in the HSM
 * Verification needs only the signer's public key (SubjectPublicKeyInfo PEM)
 * and OpenSSL's libcrypto, not the HSM. ADR 0117 describes the format for an
 * independent verifier (hsm/ceremonies/verify_transcript.py is one).
 */
#ifndef HSM_TRANSCRIPT_H
#define HSM_TRANSCRIPT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct hsm;
struct hsm_witness;

/* What every line of one command carries besides its own members. */
struct hsm_transcript_ctx {
	const struct hsm_witness *witnesses; /* [nwitnesses], attesting each line; may be NULL */
	size_t nwitnesses;
	const json_t *evidence;              /* borrowed {"bags","video","room_access"}, or NULL */
};

/**
 * Append one signed line to the transcript at path (created mode 0600;
 * exclusive flock while reading the tail and writing; fsync'd).
 * @param what borrowed JSON object (may be NULL): the step's details.
 * @return 0, or -1 with err. Never writes secrets: callers pass KCVs, not keys.
 */
int hsm_transcript_append(struct hsm *h, const char *path, const char *who, const char *role,
                          const char *action, json_t *what, char *err, size_t errlen);

/**
 * hsm_transcript_append with ctx (may be NULL): the line also carries
 * ctx->evidence and the signatures of ctx->witnesses (ADR 0117).
 * @return 0, or -1 with err.
 */
int hsm_transcript_append_ctx(struct hsm *h, const char *path, const struct hsm_transcript_ctx *ctx,
                              const char *who, const char *role, const char *action, json_t *what,
                              char *err, size_t errlen);

/**
 * The head of the transcript at path: hex SHA-256 of its last line (64
 * zeros when empty) and its line count. Reads; checks nothing else.
 * @return 0, or -1 with err.
 */
int hsm_transcript_head(const char *path, char head[65], long *lines, char *err, size_t errlen);

struct hsm_transcript_report {
	long lines;       /* lines verified before the first bad one (all, when intact) */
	long first_bad;   /* 1-based line number of the first bad line, 0 when intact */
	char reason[160]; /* why it is bad */
	char head[65];    /* hex SHA-256 of the last line (write it on the paper record) */
	long attested;    /* lines carrying at least one witness signature */
	long tsa_times;   /* RFC 3161 time-stamp lines (checked against tsa_ca when given) */
	long clock_readings; /* witness-signed clock readings */
	bool tsa_checked; /* the TSA tokens' signatures were checked against tsa_ca */
	bool anchor_found; /* the anchor given is the hash of one of the lines */
	long anchor_line; /* which */
	long untimed_from; /* first of the lines no trusted-time line follows (ADR 0117:
	                    * each ceremony ends with one); 0 when the last line is one */
};

/* What hsm_transcript_verify_opts checks besides the chain and signatures. */
struct hsm_transcript_verify_opts {
	const char *tsa_ca;  /* PEM CA certificate(s) of the TSAs (NULL: tokens' imprints only) */
	const char *anchor;  /* hex head anchored outside the host (NULL: none) */
	bool allow_untimed;  /* accept lines no trusted-time line follows (reported) */
};

/**
 * Verify the transcript at path with the public key in pubkey_pem (PEM
 * SubjectPublicKeyInfo, P-256): canonical form, sequence, hash chain and
 * every signature, in that order per line, so the first altered, removed,
 * inserted or reordered line is the one named. ADR 0071's checks only: the
 * witnesses, time stamps and trusted time of ADR 0117 need
 * hsm_transcript_verify_opts.
 * @return 0 intact, 1 tampered (rep->first_bad, rep->reason), -1 error (err).
 */
int hsm_transcript_verify(const char *path, const char *pubkey_pem,
                          struct hsm_transcript_report *rep, char *err, size_t errlen);

/**
 * hsm_transcript_verify, and also per line (ADR 0117): every witness
 * signature with the key of that witness's enrolment line (an enrolment
 * must be attested by the new witness); a "trusted-time" line's RFC 3161
 * token must stamp the line's prev (and chain to vo->tsa_ca when given), a
 * witness clock reading must be attested. vo->anchor, when given, must be
 * the hash of one of the lines, else the transcript is reported tampered
 * (first_bad 0 with the reason). A "witness-removed" line ends that
 * witness's enrolment at that line. Each ceremony ends with a trusted time:
 * unless vo->allow_untimed, lines after the last "trusted-time" line
 * (rep->untimed_from..rep->lines) make the transcript refused.
 * @return 0 intact, 1 tampered, 2 intact but its last lines have no trusted
 *         time after them, -1 error (err).
 */
int hsm_transcript_verify_opts(const char *path, const char *pubkey_pem,
                               const struct hsm_transcript_verify_opts *vo,
                               struct hsm_transcript_report *rep, char *err, size_t errlen);

/** Write a P-256 public key (uncompressed point 04||X||Y) as a PEM
 *  SubjectPublicKeyInfo file (RFC 5480). 0, or -1 with err. */
int hsm_transcript_write_pubkey(const uint8_t point[65], const char *path, char *err,
                                size_t errlen);

#endif
