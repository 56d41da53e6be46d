/*
 * gw_request: request validation for the merchant API. Card numbers are
 * refused before any of it runs, in every shape, by the one check at
 * dispatch (common/sr_http_screen.c, ADR 0106).
 */
#include "gateway/api/gw_request.h"
#include "gateway/payments/gw_payment.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_panscan.h"
#include "common/sr_util.h"

static void set_err(struct gw_error *err, const char *code, const char *message,
                    const char *param)
{
	if (err == NULL)
		return;
	err->status = 400;
	err->type = "invalid_request_error";
	err->code = code;
	err->message = message;
	err->param = param;
}

bool gw_token_shape_ok(const char *s)
{
	size_t n, i, p;

	if (s == NULL)
		return false;
	if (strncmp(s, "tok_", 4) == 0)
		p = 4;
	else if (strncmp(s, "card_", 5) == 0)
		p = 5;   /* a saved, reusable card (issue 3) */
	else
		return false;
	n = strlen(s + p);
	if (n < 8 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[p + i];

		if (!isascii(c) || !isalnum(c))
			return false;
	}
	return true;
}

/* A key may be named in an error when it is a short identifier: it cannot
 * be card data, and the dispatch screen refused any card number before. */
static bool nameable(const char *k, const char *extra)
{
	size_t i;
	size_t n = strlen(k);

	if (n == 0 || n > GW_METADATA_KEY_MAX || sr_panscan_has_pan(k, n))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];

		if (!(isascii(c) && (isalnum(c) || c == '_' || c == '.' || c == '-' ||
		                     (c != '\0' && strchr(extra, c) != NULL))))
			return false;
	}
	return true;
}

void gw_error_unknown_param(struct gw_error *err, const char *key)
{
	if (err == NULL)
		return;
	if (key != NULL && nameable(key, "[]")) {
		snprintf(err->param_buf, sizeof err->param_buf, "%s", key);
		snprintf(err->message_buf, sizeof err->message_buf, "Received unknown parameter: %s.", key);
		set_err(err, "parameter_unknown", err->message_buf, err->param_buf);
	} else {
		set_err(err, "parameter_unknown", "The request contains an unknown parameter.", NULL);
	}
}

/* Unicode code points in a valid UTF-8 string of n bytes (jansson only
 * hands out valid UTF-8): the bytes that do not continue a sequence. */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t i;
	size_t c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

static void metadata_err(struct gw_error *err, const char *code, const char *message,
                         const char *key)
{
	const char *param = "metadata";

	if (err != NULL && key != NULL && nameable(key, "")) {
		snprintf(err->param_buf, sizeof err->param_buf, "metadata[%s]", key);
		param = err->param_buf;
	}
	set_err(err, code, message, param);
}

int gw_metadata_parse(const json_t *v, char *out, size_t cap, struct gw_error *err)
{
	const char *key = NULL;
	json_t *val = NULL;
	json_t *kept = NULL;
	char *text = NULL;
	size_t klen;
	int rc = -1;

	if (out == NULL || cap < GW_METADATA_JSON_MAX + 1)
		return -1;
	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		metadata_err(err, "parameter_invalid_type",
		             "metadata must be an object of string values.", NULL);
		return -1;
	}
	if (json_object_size(v) > GW_METADATA_KEYS_MAX) {
		metadata_err(err, "metadata_too_many_keys", "metadata can have at most 50 keys.", NULL);
		return -1;
	}
	kept = json_object();
	if (kept == NULL)
		goto internal;
	json_object_foreach((json_t *)v, key, val) {
		klen = strlen(key);
		/* PCI DSS v4.0 3.4.1 / ADR 0106: no card number in merchant text,
		 * the key included (decoded here; the raw body was screened). */
		if (sr_panscan_has_pan(key, klen) ||
		    (json_is_string(val) && sr_panscan_has_pan(json_string_value(val), json_string_length(val)))) {
			set_err(err, "pan_not_allowed",
			        "metadata must never hold a card number; tokenize cards with the vault.",
			        "metadata");
			goto out;
		}
		if (klen == 0 || strpbrk(key, "[]") != NULL) {
			metadata_err(err, "metadata_key_invalid",
			             "metadata keys must be non-empty and must not contain '[' or ']'.", NULL);
			goto out;
		}
		if (utf8_chars(key, klen) > GW_METADATA_KEY_MAX) {
			metadata_err(err, "metadata_key_too_long",
			             "metadata keys can have at most 40 characters.", NULL);
			goto out;
		}
		if (json_is_null(val))
			continue;
		if (!json_is_string(val)) {
			metadata_err(err, "parameter_invalid_type", "metadata values must be strings.", key);
			goto out;
		}
		if (utf8_chars(json_string_value(val), json_string_length(val)) > GW_METADATA_VALUE_MAX) {
			metadata_err(err, "metadata_value_too_long",
			             "metadata values can have at most 500 characters.", key);
			goto out;
		}
		if (json_string_length(val) == 0)
			continue;
		if (json_object_set(kept, key, val) != 0)
			goto internal;
	}
	if (json_object_size(kept) == 0) {
		rc = 0;
		goto out;
	}
	text = json_dumps(kept, JSON_COMPACT);
	if (text == NULL)
		goto internal;
	if (strlen(text) > GW_METADATA_JSON_MAX) {
		metadata_err(err, "metadata_too_large",
		             "metadata is too large (at most 32 KiB as JSON).", NULL);
		goto out;
	}
	memcpy(out, text, strlen(text) + 1);
	rc = 0;
	goto out;
internal:
	set_err(err, "api_error", "An internal error occurred.", NULL);
	if (err != NULL) {
		err->status = 500;
		err->type = "api_error";
	}
out:
	free(text);
	json_decref(kept);
	return rc;
}

/* statement_descriptor(_suffix): what the cardholder's statement shows,
 * forwarded to the PSP (Stripe's statement_descriptor(_suffix), Adyen's
 * shopperStatement). out has room for SR_STATEMENT_DESCRIPTOR_MAX + 1. */
static int parse_descriptor(const json_t *body, const char *name, size_t min_len, char out[24],
                            struct gw_error *err)
{
	const json_t *v = json_object_get(body, name);

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		set_err(err, "parameter_invalid_type", "A statement descriptor must be a string.", name);
		return -1;
	}
	if (!sr_statement_descriptor_ok(json_string_value(v), json_string_length(v), min_len)) {
		set_err(err, "statement_descriptor_invalid",
		        min_len > 1 ? "statement_descriptor must be 5 to 22 characters with at least one "
		                      "letter, of letters, digits, spaces and . , _ - ? + /."
		                    : "statement_descriptor_suffix must be 1 to 22 characters with at least "
		                      "one letter, of letters, digits, spaces and . , _ - ? + /.",
		        name);
		return -1;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* ISO 4217 alphabetic codes accepted by this deployment. */
static const char *const CURRENCIES[] = {
	"usd", "eur", "gbp", "jpy", "chf", "cad", "aud", "sek", "nok", "dkk", "pln", "czk", NULL,
};

static const char *const PAYMENT_FIELDS[] = {
	"amount", "currency", "payment_method", "capture_method", "description", "metadata",
	"statement_descriptor", "statement_descriptor_suffix", "return_url", "setup_future_usage",
	"off_session", NULL,
};

/* Stored credentials (issue 19 item 7, ADR 0133), Stripe's parameters
 * (https://docs.stripe.com/api/payment_intents/create): setup_future_usage
 * on_session|off_session, off_session a boolean. Both name a saved card
 * (card_...): a single-use tok_ is never kept for later, and a
 * merchant-initiated payment is only ever made with a card the customer
 * saved. off_session sets nothing up, so not both. */
static int parse_stored_credential(const json_t *body, struct gw_payment_request *out,
                                   struct gw_error *err)
{
	const json_t *v = json_object_get(body, "setup_future_usage");
	const bool saved = strncmp(out->payment_method, "card_", 5) == 0;

	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || (strcmp(json_string_value(v), "on_session") != 0 &&
		                           strcmp(json_string_value(v), "off_session") != 0)) {
			set_err(err, "parameter_invalid_string",
			        "setup_future_usage must be on_session or off_session.", "setup_future_usage");
			return -1;
		}
		gw_strlcpy(out->setup_future_usage, json_string_value(v), sizeof out->setup_future_usage);
	}
	v = json_object_get(body, "off_session");
	if (v != NULL && !json_is_boolean(v)) {
		set_err(err, "parameter_invalid_type", "off_session must be a boolean.", "off_session");
		return -1;
	}
	out->off_session = json_is_true(v);
	if ((out->off_session || out->setup_future_usage[0] != '\0') && !saved) {
		set_err(err, "saved_card_required",
		        "off_session and setup_future_usage need a saved card (card_...): save the card "
		        "under a customer first (POST /v1/customers/{id}/cards).",
		        out->off_session ? "off_session" : "setup_future_usage");
		return -1;
	}
	if (out->off_session && out->setup_future_usage[0] != '\0') {
		set_err(err, "parameter_invalid_string",
		        "setup_future_usage cannot be used with off_session=true.", "setup_future_usage");
		return -1;
	}
	return 0;
}

int gw_payment_request_parse(const json_t *body, struct gw_payment_request *out,
                             struct gw_error *err)
{
	const char *key = NULL;
	json_t *val = NULL;
	json_t *v = NULL;
	const char *s = NULL;
	char cur[4];
	size_t i;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	if (!json_is_object(body)) {
		set_err(err, "parameter_invalid_type", "The request body must be a JSON object.", NULL);
		return -1;
	}
	/* A card number anywhere in the request was refused at dispatch
	 * (common/sr_http_screen.c), before this parser runs. */
	json_object_foreach((json_t *)body, key, val) {
		bool known = false;

		(void)val;
		for (i = 0; PAYMENT_FIELDS[i] != NULL; i++)
			if (strcmp(PAYMENT_FIELDS[i], key) == 0)
				known = true;
		if (!known) {
			gw_error_unknown_param(err, key);
			return -1;
		}
	}

	v = json_object_get(body, "amount");
	if (v == NULL) {
		set_err(err, "parameter_missing", "Missing required parameter: amount.", "amount");
		return -1;
	}
	if (!json_is_integer(v)) {
		set_err(err, "parameter_invalid_type",
		        "amount must be an integer in the currency's minor unit.", "amount");
		return -1;
	}
	if (json_integer_value(v) < 1 || json_integer_value(v) > GW_AMOUNT_MAX) {
		set_err(err, "amount_invalid", "amount must be between 1 and 99999999.", "amount");
		return -1;
	}
	out->amount = (long long)json_integer_value(v);

	v = json_object_get(body, "currency");
	if (v == NULL) {
		set_err(err, "parameter_missing", "Missing required parameter: currency.", "currency");
		return -1;
	}
	if (!json_is_string(v)) {
		set_err(err, "parameter_invalid_type", "currency must be a string.", "currency");
		return -1;
	}
	s = json_string_value(v);
	if (json_string_length(v) != 3) {
		set_err(err, "currency_invalid", "currency must be a supported ISO 4217 code.", "currency");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isascii(c) || !isalpha(c)) {
			set_err(err, "currency_invalid", "currency must be a supported ISO 4217 code.",
			        "currency");
			return -1;
		}
		cur[i] = (char)tolower(c);
	}
	cur[3] = '\0';
	for (i = 0; CURRENCIES[i] != NULL; i++)
		if (strcmp(CURRENCIES[i], cur) == 0)
			break;
	if (CURRENCIES[i] == NULL) {
		set_err(err, "currency_invalid", "currency must be a supported ISO 4217 code.", "currency");
		return -1;
	}
	memcpy(out->currency, cur, sizeof cur);

	v = json_object_get(body, "payment_method");
	if (v == NULL) {
		set_err(err, "parameter_missing", "Missing required parameter: payment_method.",
		        "payment_method");
		return -1;
	}
	if (!json_is_string(v)) {
		set_err(err, "parameter_invalid_type", "payment_method must be a token id string.",
		        "payment_method");
		return -1;
	}
	if (!gw_token_shape_ok(json_string_value(v))) {
		set_err(err, "payment_method_invalid",
		        "payment_method must be a token id (tok_... or card_...) from the vault.", "payment_method");
		return -1;
	}
	gw_strlcpy(out->payment_method, json_string_value(v), sizeof out->payment_method);

	v = json_object_get(body, "capture_method");
	if (v == NULL) {
		gw_strlcpy(out->capture_method, "automatic", sizeof out->capture_method);
	} else if (!json_is_string(v)) {
		set_err(err, "parameter_invalid_type", "capture_method must be a string.", "capture_method");
		return -1;
	} else if (strcmp(json_string_value(v), "automatic") == 0 ||
	           strcmp(json_string_value(v), "manual") == 0) {
		gw_strlcpy(out->capture_method, json_string_value(v), sizeof out->capture_method);
	} else {
		set_err(err, "capture_method_invalid", "capture_method must be automatic or manual.",
		        "capture_method");
		return -1;
	}

	v = json_object_get(body, "description");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			set_err(err, "parameter_invalid_type", "description must be a string.", "description");
			return -1;
		}
		if (json_string_length(v) > GW_DESCRIPTION_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			set_err(err, "description_too_long",
			        "description must be at most 500 bytes of text.", "description");
			return -1;
		}
		gw_strlcpy(out->description, json_string_value(v), sizeof out->description);
		out->has_description = true;
	}
	if (parse_descriptor(body, "statement_descriptor", 5, out->statement_descriptor, err) != 0 ||
	    parse_descriptor(body, "statement_descriptor_suffix", 1, out->statement_descriptor_suffix,
	                     err) != 0)
		return -1;
	v = json_object_get(body, "return_url");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			set_err(err, "parameter_invalid_type", "return_url must be a string.", "return_url");
			return -1;
		}
		out->return_url = json_string_value(v);
		out->return_url_len = json_string_length(v);
	}
	if (parse_stored_credential(body, out, err) != 0)
		return -1;
	return gw_metadata_parse(json_object_get(body, "metadata"), out->metadata,
	                         sizeof out->metadata, err);
}
