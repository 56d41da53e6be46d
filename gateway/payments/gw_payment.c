/*
 * gw_payment: state machine as a table of permitted transitions (in the
 * manner of relayd's table of permitted requests: anything not listed is
 * refused) and the payment JSON rendering.
 */
#include "gateway/payments/gw_payment.h"

#include <string.h>

static const char *const STATUS_NAMES[GW_ST__COUNT] = {
	[GW_ST_PROCESSING] = "processing",
	[GW_ST_REQUIRES_ACTION] = "requires_action",
	[GW_ST_AUTHORIZED] = "authorized",
	[GW_ST_CAPTURED] = "captured",
	[GW_ST_PARTIALLY_REFUNDED] = "partially_refunded",
	[GW_ST_REFUNDED] = "refunded",
	[GW_ST_VOIDED] = "voided",
	[GW_ST_FAILED] = "failed",
	[GW_ST_DISPUTED] = "disputed",
	[GW_ST_UNKNOWN] = "unknown",
	[GW_ST_CANCELED] = "canceled",
};

/*
 * state machine of docs/architecture.md. Rows are "from", listed targets are permitted.
 * - processing: the PSP call is in flight; any PSP outcome, or unknown when
 *   its answer was lost; or canceled when it provably never reached the PSP
 *   (the vault or the PSP unreachable after bounded retries, issue 16): the
 *   card did not fail, nothing was charged, and nothing will be sent later.
 * - requires_action (3-D Secure) -> processing again (customer returned), or
 *   failed (abandoned / expired).
 * - authorized -> captured (full or partial capture) or voided; or unknown
 *   when the PSP answered a capture or cancel without confirming it (issue 15).
 * - captured -> partially_refunded | refunded | disputed.
 * - partially_refunded -> refunded (the rest), or partially_refunded again is a
 *   self-loop and is not a state change; disputed is also possible.
 * - unknown: resolved later by asking the PSP, never by guessing, so it may
 *   become any outcome the PSP reports (voided too: a cancel it confirms).
 * - failed, voided, refunded, canceled: terminal. disputed: terminal here (dispute
 *   outcomes are tracked outside the payment status).
 */
static const struct {
	enum gw_status from;
	enum gw_status to;
} TRANSITIONS[] = {
	{ GW_ST_PROCESSING, GW_ST_REQUIRES_ACTION },
	{ GW_ST_PROCESSING, GW_ST_AUTHORIZED },
	{ GW_ST_PROCESSING, GW_ST_CAPTURED },
	{ GW_ST_PROCESSING, GW_ST_FAILED },
	{ GW_ST_PROCESSING, GW_ST_UNKNOWN },
	{ GW_ST_PROCESSING, GW_ST_CANCELED },
	{ GW_ST_REQUIRES_ACTION, GW_ST_PROCESSING },
	{ GW_ST_REQUIRES_ACTION, GW_ST_FAILED },
	{ GW_ST_AUTHORIZED, GW_ST_CAPTURED },
	{ GW_ST_AUTHORIZED, GW_ST_VOIDED },
	{ GW_ST_AUTHORIZED, GW_ST_UNKNOWN },
	{ GW_ST_CAPTURED, GW_ST_PARTIALLY_REFUNDED },
	{ GW_ST_CAPTURED, GW_ST_REFUNDED },
	{ GW_ST_CAPTURED, GW_ST_DISPUTED },
	{ GW_ST_PARTIALLY_REFUNDED, GW_ST_REFUNDED },
	{ GW_ST_PARTIALLY_REFUNDED, GW_ST_DISPUTED },
	{ GW_ST_UNKNOWN, GW_ST_REQUIRES_ACTION },
	{ GW_ST_UNKNOWN, GW_ST_AUTHORIZED },
	{ GW_ST_UNKNOWN, GW_ST_CAPTURED },
	{ GW_ST_UNKNOWN, GW_ST_FAILED },
	{ GW_ST_UNKNOWN, GW_ST_VOIDED },
};

const char *gw_status_str(enum gw_status st)
{
	if ((int)st < 0 || st >= GW_ST__COUNT)
		return "unknown";
	return STATUS_NAMES[st];
}

int gw_status_parse(const char *s, enum gw_status *out)
{
	int i;

	if (s == NULL || out == NULL)
		return -1;
	for (i = 0; i < GW_ST__COUNT; i++) {
		if (strcmp(STATUS_NAMES[i], s) == 0) {
			*out = (enum gw_status)i;
			return 0;
		}
	}
	return -1;
}

bool gw_payment_transition_allowed(enum gw_status from, enum gw_status to)
{
	size_t i;

	for (i = 0; i < sizeof TRANSITIONS / sizeof TRANSITIONS[0]; i++)
		if (TRANSITIONS[i].from == from && TRANSITIONS[i].to == to)
			return true;
	return false;
}

void gw_strlcpy(char *dst, const char *src, size_t dstlen)
{
	size_t n;

	if (dst == NULL || dstlen == 0)
		return;
	if (src == NULL) {
		dst[0] = '\0';
		return;
	}
	n = strnlen(src, dstlen - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static json_t *str_or_null(const char *s)
{
	return (s != NULL && s[0] != '\0') ? json_string(s) : json_null();
}

json_t *gw_payment_to_json(const struct gw_payment *p)
{
	json_t *o = NULL;
	json_t *card = NULL;
	json_t *next_action = NULL;
	json_t *metadata = NULL;

	if (p == NULL)
		return NULL;
	if (p->card_brand[0] != '\0' || p->card_last4[0] != '\0') {
		/* last4 only: PCI DSS v4.0 3.4.1 (at most BIN and last four shown). */
		card = json_pack("{s:o, s:o}", "brand", str_or_null(p->card_brand),
		                 "last4", str_or_null(p->card_last4));
		if (card == NULL)
			return NULL;
	} else {
		card = json_null();
	}
	if (p->status == GW_ST_REQUIRES_ACTION && p->redirect_url[0] != '\0')
		next_action = json_pack("{s:s, s:{s:s, s:o}}", "type", "redirect_to_url",
		                        "redirect_to_url", "url", p->redirect_url,
		                        "return_url", str_or_null(p->return_url));
	else
		next_action = json_null();
	if (next_action == NULL) {
		json_decref(card);
		return NULL;
	}
	/* Stored as validated JSON text (gw_metadata_parse); {} when none. */
	metadata = p->metadata[0] != '\0' ? json_loads(p->metadata, 0, NULL) : NULL;
	if (!json_is_object(metadata)) {
		json_decref(metadata);
		metadata = json_object();
	}
	if (metadata == NULL) {
		json_decref(card);
		json_decref(next_action);
		return NULL;
	}
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b}",
	              "id", p->id,
	              "object", "payment",
	              "amount", (json_int_t)p->amount,
	              "currency", p->currency,
	              "status", gw_status_str(p->status),
	              "capture_method", p->capture_method,
	              "payment_method", p->payment_method,
	              "description", str_or_null(p->description),
	              "card", card,
	              "amount_captured", (json_int_t)p->amount_captured,
	              "amount_refunded", (json_int_t)p->amount_refunded,
	              "failure_code", str_or_null(p->failure_code),
	              "failure_message", str_or_null(p->failure_message),
	              "psp_reference", str_or_null(p->psp_reference),
	              "connector", str_or_null(p->connector),
	              "route_reason", str_or_null(p->route_reason),
	              "next_action", next_action,
	              "metadata", metadata,
	              "created", (json_int_t)p->created,
	              "livemode", 0);
	if (o != NULL &&
	    (json_object_set_new(o, "statement_descriptor", str_or_null(p->statement_descriptor)) != 0 ||
	     json_object_set_new(o, "statement_descriptor_suffix",
	                         str_or_null(p->statement_descriptor_suffix)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}
