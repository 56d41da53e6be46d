/*
 * gw_return_url: the merchant's return_url of a payment (issue 19 item 3,
 * ADR 0131): where the PSP sends the cardholder's browser back after a
 * 3-D Secure challenge, as Stripe's PaymentIntent return_url
 * (https://docs.stripe.com/api/payment_intents/confirm#confirm_payment_intent-return_url).
 * It is a value the merchant gives and the browser follows, so it is
 * checked like a boundary: an absolute https URL (RFC 3986 section 4.3),
 * parsed by libcurl's URL API, of at most GW_RETURN_URL_MAX bytes, of the
 * characters RFC 3986 allows, with no user information, and no card number
 * however often it is percent-encoded (PCI DSS v4.0 3.2.1, sr_panscan). A
 * gateway in test mode ("mode": "test") also takes http://localhost,
 * http://127.0.0.1 and http://[::1] for a merchant's development server.
 */
#ifndef GW_RETURN_URL_H
#define GW_RETURN_URL_H
#include <stdbool.h>
#include <stddef.h>

#include "gateway/api/gw_request.h"

#define GW_RETURN_URL_MAX 1024      /* bytes of the merchant's return_url */
#define GW_RETURN_URL_PSP_MAX 1100  /* with "payment=pay_..." appended (gw_return_url_for_psp) */

/**
 * Check the return_url s (len bytes, not NUL-terminated necessarily).
 * allow_loopback_http: the gateway is in test mode. Errors (400
 * invalid_request_error, param "return_url", the URL never in the message):
 * pan_not_allowed (a card number, in any shape, in s or in s percent-decoded
 * up to four times), return_url_invalid (anything else). @return 0, or -1
 * with *err filled (static strings).
 */
int gw_return_url_check(const char *s, size_t len, bool allow_loopback_http, struct gw_error *err);

/**
 * The URL the PSP sends the browser to: return_url (checked by
 * gw_return_url_check) with "payment=<payment_id>" appended to its query, as
 * Stripe appends payment_intent=pi_... (before any fragment; libcurl's
 * CURLU_APPENDQUERY). Deterministic, so a reconciliation re-sends the same
 * parameters. out: GW_RETURN_URL_PSP_MAX + 1 bytes at least.
 * @return 0, or -1 (outlen too small, out of memory, or a URL libcurl refuses).
 */
int gw_return_url_for_psp(const char *return_url, const char *payment_id, char *out, size_t outlen);

#endif
