/*
 * gw_request_lifecycle: validation of the lifecycle endpoints' input
 * (issue 4): capture, cancel and refund bodies, list query strings, ids in
 * paths. Errors are 400 invalid_request_error with static strings; nothing
 * submitted is ever echoed (a rejected field may hold a card number).
 */
#ifndef GW_REQUEST_LIFECYCLE_H
#define GW_REQUEST_LIFECYCLE_H
#include <stdbool.h>
#include <jansson.h>

#include "gateway/api/gw_request.h"

/* Characters after the prefix of the gateway's ids: sr_random_id of 16
 * bytes in base62 (pay_, re_, we_). */
#define GW_ID_CHARS 22

/** Whether s is exactly one of the gateway's ids: prefix ("pay_", "re_",
 * "we_") followed by GW_ID_CHARS characters of [A-Za-z0-9]. Checked before a
 * path id is audited, logged, sent to the database or stored (ADR 0106). */
bool gw_id_shape_ok(const char *s, const char *prefix);

/**
 * POST /v1/payments/{id}/capture body: NULL (no body) or {"amount"?}.
 * *amount = -1 when absent (capture everything), else 1..GW_AMOUNT_MAX.
 * Codes: parameter_invalid_type, parameter_unknown, amount_invalid.
 */
int gw_capture_request_parse(const json_t *body, long long *amount, struct gw_error *err);

/**
 * POST /v1/payments/{id}/cancel body: NULL or {"reason"?} with reason one of
 * duplicate, fraudulent, requested_by_customer, abandoned. reason[32] ("" absent).
 */
int gw_cancel_request_parse(const json_t *body, char reason[32], struct gw_error *err);

/**
 * POST /v1/payments/{id}/refunds body: NULL or {"amount"?, "reason"?,
 * "metadata"?}: amount -1 when absent (refund what is left); reason one of
 * duplicate, fraudulent, requested_by_customer ("" absent); metadata as
 * gw_metadata_parse into metadata (capacity GW_METADATA_JSON_MAX + 1, ""
 * when absent). Codes as capture, plus reason_invalid and metadata's.
 */
int gw_refund_request_parse(const json_t *body, long long *amount, char reason[32],
                            char *metadata, struct gw_error *err);

/**
 * A non-negative decimal query value of at most 12 digits (no sign, no
 * spaces). @return value or -1.
 */
long long gw_query_uint(const char *s);

#endif
