/*
 * hsm_timestamp: the ceremony's trusted time from a time-stamping authority
 * (RFC 3161, issue 17, ADR 0117; PCI DSS v4.0 10.6.1 for time from a trusted
 * source). The CDE host need not reach the TSA: vaultctl writes a
 * TimeStampReq over the transcript's head (SHA-256 of its last line), the
 * ceremony master carries it to the TSA the ceremony names and brings back
 * the TimeStampResp, which vaultctl checks (imprint, nonce, the TSA's
 * signature chaining to the TSA CA certificate) and records in a
 * "trusted-time" line whose prev is the stamped head: every line before it
 * existed at the TSA's genTime.
 */
#ifndef HSM_TIMESTAMP_H
#define HSM_TIMESTAMP_H
#include <stddef.h>

#include <jansson.h>

/**
 * Write an RFC 3161 TimeStampReq (DER) to out: SHA-256 messageImprint of
 * the transcript's head, a random 64-bit nonce, certReq true. head gets the
 * stamped head (hex).
 * @return 0, or -1 with err (an empty transcript has no head to stamp).
 */
int hsm_ts_query(const char *transcript, const char *out, char head[65], char *err,
                 size_t errlen);

/**
 * Check the TSA's reply (DER TimeStampResp) to query: granted, the query's
 * imprint and nonce, the TSA's signature and certificate (extended key usage
 * timeStamping) chaining to tsa_ca (PEM), and the imprint still the
 * transcript's head. *what_out (new reference) gets the "trusted-time"
 * line's details: source "rfc3161", tsa (the name the ceremony gave), the
 * stamped head, gen_time, serial, policy, the CA's SHA-256 and the whole
 * response (base64).
 * @return 0; 1 refused (err says why); -1 error (err).
 */
int hsm_ts_accept(const char *transcript, const char *query, const char *reply,
                  const char *tsa_ca, const char *tsa_name, json_t **what_out, char *err,
                  size_t errlen);

/**
 * Check a "trusted-time" line's what (from hsm_ts_accept) against prev, the
 * hex hash the line chains to: the response's imprint is prev and its
 * genTime is what.gen_time; when tsa_ca is not NULL the TSA's signature
 * chains to it too.
 * @return 1 good, 0 bad (why set).
 */
int hsm_ts_check(const json_t *what, const char *prev, const char *tsa_ca, char *why,
                 size_t whylen);

#endif
