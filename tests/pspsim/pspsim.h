/*
 * pspsim: what the simulator's PSP dialects share (pspsim_stripe.c speaks Stripe,
 * pspsim_adyen.c Adyen's Checkout API): the test cards' outcomes (the table in docs/development.md,
 * table, the same for both) and the Adyen dialect's entry points.
 * Test and demo only.
 */
#ifndef PSPSIM_H
#define PSPSIM_H
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/sr_http.h"

enum outcome {
	OUT_SUCCEED,
	OUT_GENERIC_DECLINE,
	OUT_INSUFFICIENT_FUNDS,
	OUT_EXPIRED_CARD,
	OUT_INCORRECT_CVC,
	OUT_PROCESSING_ERROR,
	OUT_3DS_THEN_SUCCEED,
	OUT_3DS_THEN_DECLINE,
	OUT_SUCCEED_THEN_DISPUTE,
};

/** The outcome The test-card table of docs/development.md gives pan (digits); OUT_SUCCEED otherwise. */
enum outcome pspsim_outcome_of(const char *pan);

/** ISO/IEC 7812-1 Luhn check of a digit string (false when not all digits); UnionPay (62) numbers pass without it. */
bool pspsim_luhn_ok(const char *pan);

/**
 * A new network transaction id (issue 19 item 7): "NTI" and 12 random
 * letters and digits, as a scheme returns for a customer-initiated payment
 * that sets the card up for later ones; never digits only, so no scanner
 * takes it for a card number. out: 16 bytes.
 */
void pspsim_network_tx_id(char out[16]);

/** Whether s is one or more ASCII digits (false for NULL). */
bool pspsim_all_digits(const char *s);

/** The brand of pan (at least 4 digits) by its IIN: "visa", "mastercard", "amex", "discover" or "unknown". */
const char *pspsim_brand_of(const char *pan);

/**
 * Set up the Adyen dialect: the X-API-Key is read from api_key_file (its
 * SHA-256 kept, compared in constant time), merchant_account is the only
 * merchantAccount accepted, redirect URLs use public_host:port. Its
 * payments and idempotency records are loaded from the journal
 * (psim_store_open first; kinds "adyen_payment", "adyen_idem").
 * @return 0, or -1 with err.
 */
int pspsim_adyen_init(const char *api_key_file, const char *merchant_account,
                      const char *public_host, char *err, size_t errlen);
/** Port used in RedirectShopper URLs (the challenge listener's, else the API's). */
void pspsim_adyen_set_redirect_port(unsigned port);
/** Free the dialect's state. */
void pspsim_adyen_free(void);
/** Its counters, for GET /_sim/stats (new reference; keys prefixed "adyen_"). */
json_t *pspsim_adyen_stats(void);
/**
 * Its payments created at or after since (Unix seconds), for GET
 * /_sim/intents: [{"pspReference","amount","resultCode","captured",
 * "refunded","created","idempotency_key","modifications":[{"kind",
 * "pspReference","amount","reference"}]}], oldest first (new reference;
 * [] when the dialect is not configured; NULL out of memory).
 */
json_t *pspsim_adyen_audit(long long since);

/** GET /adyen/3ds/{psp} on the challenge listener: the shopper's challenge page. */
void pspsim_adyen_challenge_page(struct sr_http_request *req);
/** POST /adyen/3ds/{psp}/complete [result=authenticate|fail]: the shopper's answer. */
void pspsim_adyen_challenge_complete(struct sr_http_request *req);

/** The dialect's routes (POST /v71/payments, modifications, GET stand-in, /_sim/adyen/...). */
extern const struct sr_route pspsim_adyen_routes[];
extern const size_t pspsim_adyen_n_routes;

/**
 * X-API-Key of an Adyen request (the platform's, or a merchant's registered
 * one); replies 401 as Adyen does when it is not (pspsim_adyen.c).
 */
bool pspsim_adyen_authorized(struct sr_http_request *req);

/**
 * pspsim_disputes.c (ADR 0132): register dispute id of provider ("stripe",
 * "adyen") on payment, needing a response; its routes (Stripe's
 * /v1/disputes/{id}[/close], Adyen's DisputeService v30, GET
 * /_sim/disputes/{id}); free at exit.
 */
void pspsim_dispute_register(const char *provider, const char *id, const char *payment);
extern const struct sr_route pspsim_dispute_routes[];
extern const size_t pspsim_dispute_n_routes;
void pspsim_disputes_free(void);

/**
 * pspsim_answers.c: called by both dialects just before a reply body is
 * saved and sent. For a capture/cancel/refund answered 200/201, note the
 * request's reason fields (GET /_sim/received) and, when the contradict
 * fault is armed, rewrite body in place. body is borrowed.
 */
void pspsim_answer_hook(const struct sr_http_request *req, unsigned status, json_t *body);
/** POST /_sim/contradict {"next","field"}: arm the contradicting-answer fault. */
void pspsim_h_contradict(struct sr_http_request *req);
/** GET /_sim/received: the reasons the last modification requests carried. */
void pspsim_h_received(struct sr_http_request *req);
/** Free what pspsim_answers.c holds. */
void pspsim_answers_free(void);

#endif
