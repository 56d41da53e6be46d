/*
 * gw_customer: the customer object and its request bodies (gw_customer.h).
 */
#include "gateway/customers/gw_customer.h"
#include "gateway/customers/gw_cards.h"
#include "gateway/api/gw_request_lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sr_panscan.h"

bool gw_customer_id_ok(const char *s)
{
	return gw_id_shape_ok(s, "cus_");
}

static int bad(struct gw_error *err, const char *code, const char *message, const char *param)
{
	err->status = 400;
	err->type = "invalid_request_error";
	err->code = code;
	err->message = message;
	err->param = param;
	return -1;
}

/* Unicode code points of a valid UTF-8 string (jansson hands out only valid UTF-8). */
static size_t utf8_chars(const char *s)
{
	size_t c = 0;

	for (; *s != '\0'; s++)
		c += ((unsigned char)*s & 0xC0) != 0x80;
	return c;
}

/* Whether text holds a control character (C0 or DEL). */
static bool has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	}
	return false;
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	size_t n = strlen(s);
	size_t i;

	if (n < 3 || n > GW_CUSTOMER_EMAIL_MAX || at == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return false;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	}
	return true;
}

/* A text field: absent (nothing), null or "" (unset), or a string of at
 * most max characters copied into out[cap]. */
static int text_field(const json_t *body, const char *name, size_t max, char *out, size_t cap,
                      const char *too_long, const char *too_long_msg, struct gw_error *err)
{
	const json_t *v = json_object_get(body, name);
	const char *s = NULL;

	if (v == NULL)
		return 0;
	if (json_is_null(v)) {
		out[0] = '\0';
		return 0;
	}
	if (!json_is_string(v))
		return bad(err, "parameter_invalid_type", "The parameter must be a string.", name);
	s = json_string_value(v);
	/* PCI DSS v4.0 3.4.1 / ADR 0106: decoded, so an escaped digit is seen too. */
	if (sr_panscan_has_pan(s, json_string_length(v)))
		return bad(err, "pan_not_allowed",
		           "A customer's details must never hold a card number; save cards as tokens.",
		           name);
	if (strlen(s) != json_string_length(v) || has_control(s))
		return bad(err, "parameter_invalid_type", "The parameter holds a control character.",
		           name);
	if (utf8_chars(s) > max || strlen(s) >= cap)
		return bad(err, too_long, too_long_msg, name);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* Merge patch (validated) into the stored metadata text md; result through
 * gw_metadata_parse into md. */
static int metadata_merge(const json_t *patch, char *md, struct gw_error *err)
{
	json_t *cur = md[0] != '\0' ? json_loads(md, 0, NULL) : json_object();
	const char *key = NULL;
	json_t *val = NULL;
	int rc;

	if (!json_is_object(cur)) {
		json_decref(cur);
		return bad(err, "metadata_invalid", "The stored metadata is unreadable.", "metadata");
	}
	json_object_foreach((json_t *)patch, key, val) {
		if (json_is_null(val) || json_string_length(val) == 0)
			json_object_del(cur, key);
		else
			json_object_set(cur, key, val);
	}
	rc = gw_metadata_parse(cur, md, GW_METADATA_JSON_MAX + 1, err);
	json_decref(cur);
	return rc;
}

int gw_metadata_apply(const json_t *v, bool update, char *md, struct gw_error *err)
{
	char *tmp = NULL;
	int rc;

	if (v == NULL)
		return 0;
	if (json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0)) {
		md[0] = '\0';   /* Stripe: metadata "" unsets every key */
		return 0;
	}
	tmp = malloc(GW_METADATA_JSON_MAX + 1);
	if (tmp == NULL) {
		bad(err, "internal_error", "An internal error occurred.", NULL);
		err->status = 500;
		err->type = "api_error";
		return -1;
	}
	/* Every given key and value checked (limits, types, card numbers). */
	rc = gw_metadata_parse(v, tmp, GW_METADATA_JSON_MAX + 1, err);
	if (rc == 0)
		rc = update ? metadata_merge(v, md, err) : (memcpy(md, tmp, strlen(tmp) + 1), 0);
	free(tmp);
	return rc;
}

int gw_customer_apply(const json_t *body, bool update, struct gw_customer *c,
                      bool *default_changed, struct gw_error *err)
{
	static const char *const known[] = { "email", "name", "description", "metadata",
	                                     "default_source", NULL };
	const char *key = NULL;
	const json_t *v = NULL;
	size_t i;

	*default_changed = false;
	if (body == NULL)
		return 0;   /* no body: nothing given (Stripe creates an empty customer) */
	if (!json_is_object(body))
		return bad(err, "parameter_invalid_type", "The request body must be a JSON object.",
		           NULL);
	json_object_foreach((json_t *)body, key, v) {
		bool ok = false;

		for (i = 0; known[i] != NULL; i++)
			ok = ok || (strcmp(key, known[i]) == 0 && (update || i < 4));
		if (!ok) {
			gw_error_unknown_param(err, key);
			return -1;
		}
	}
	v = json_object_get(body, "email");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return bad(err, "parameter_invalid_type", "email must be a string.", "email");
		if (sr_panscan_has_pan(json_string_value(v), json_string_length(v)))
			return bad(err, "pan_not_allowed",
			           "A customer's details must never hold a card number.", "email");
		if (json_string_length(v) > 0 && !email_ok(json_string_value(v)))
			return bad(err, "email_invalid", "email must be an email address.", "email");
	}
	if (text_field(body, "email", GW_CUSTOMER_EMAIL_MAX, c->email, sizeof c->email,
	               "email_invalid", "email must be an email address.", err) != 0 ||
	    text_field(body, "name", GW_CUSTOMER_NAME_MAX, c->name, sizeof c->name, "name_too_long",
	               "name can have at most 256 characters.", err) != 0 ||
	    text_field(body, "description", GW_DESCRIPTION_MAX, c->description,
	               sizeof c->description, "description_too_long",
	               "description can have at most 500 characters.", err) != 0 ||
	    gw_metadata_apply(json_object_get(body, "metadata"), update, c->metadata, err) != 0)
		return -1;
	v = json_object_get(body, "default_source");
	if (v != NULL) {
		if (!json_is_null(v) && !json_is_string(v))
			return bad(err, "parameter_invalid_type", "default_source must be a card id.",
			           "default_source");
		if (json_string_length(v) > 0 && !gw_card_id_ok(json_string_value(v)))
			return bad(err, "resource_missing",
			           "default_source is not one of this customer's cards.", "default_source");
		snprintf(c->default_source, sizeof c->default_source, "%s",
		         json_is_string(v) ? json_string_value(v) : "");
		*default_changed = true;
	}
	return 0;
}

static json_t *str_or_null(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

json_t *gw_customer_to_json(const struct gw_customer *c)
{
	json_t *md = c->metadata[0] != '\0' ? json_loads(c->metadata, 0, NULL) : json_object();

	if (!json_is_object(md)) {
		json_decref(md);
		md = json_object();
	}
	return json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "id", c->id, "object",
	                 "customer", "created", (json_int_t)c->created, "email",
	                 str_or_null(c->email), "name", str_or_null(c->name), "description",
	                 str_or_null(c->description), "metadata", md, "default_source",
	                 str_or_null(c->default_source));
}
