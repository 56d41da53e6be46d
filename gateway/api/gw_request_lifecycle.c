/*
 * gw_request_lifecycle: input validation for the lifecycle endpoints.
 */
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/payments/gw_payment.h"

#include <string.h>

static int fail(struct gw_error *err, const char *code, const char *message, const char *param)
{
	if (err != NULL) {
		err->status = 400;
		err->type = "invalid_request_error";
		err->code = code;
		err->message = message;
		err->param = param;
	}
	return -1;
}

bool gw_id_shape_ok(const char *s, const char *prefix)
{
	size_t p, n, i;

	if (s == NULL || prefix == NULL)
		return false;
	p = strlen(prefix);
	if (strncmp(s, prefix, p) != 0)
		return false;
	n = strnlen(s + p, GW_ID_CHARS + 1);
	if (n != GW_ID_CHARS)
		return false;
	for (i = p; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Common checks: an object, only the allowed keys (a card number was refused
 * at dispatch, common/sr_http_screen.c). */
static int check_object(const json_t *body, const char *const *allowed, struct gw_error *err)
{
	const char *key = NULL;
	json_t *val = NULL;
	size_t i;

	if (!json_is_object(body))
		return fail(err, "parameter_invalid_type", "The request body must be a JSON object.", NULL);
	json_object_foreach((json_t *)body, key, val) {
		bool known = false;

		(void)val;
		for (i = 0; allowed[i] != NULL; i++)
			known = known || strcmp(allowed[i], key) == 0;
		if (!known) {
			gw_error_unknown_param(err, key);
			return -1;
		}
	}
	return 0;
}

static int parse_amount(const json_t *body, long long *amount, struct gw_error *err)
{
	const json_t *v = json_object_get(body, "amount");

	*amount = -1;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return fail(err, "parameter_invalid_type",
		            "amount must be an integer in the currency's minor unit.", "amount");
	if (json_integer_value(v) < 1 || json_integer_value(v) > GW_AMOUNT_MAX)
		return fail(err, "amount_invalid", "amount must be between 1 and 99999999.", "amount");
	*amount = (long long)json_integer_value(v);
	return 0;
}

static int parse_reason(const json_t *body, const char *const *allowed, char reason[32],
                        struct gw_error *err)
{
	const json_t *v = json_object_get(body, "reason");
	const char *s = NULL;
	size_t i;

	reason[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fail(err, "parameter_invalid_type", "reason must be a string.", "reason");
	s = json_string_value(v);
	for (i = 0; allowed[i] != NULL; i++) {
		if (strcmp(allowed[i], s) == 0) {
			gw_strlcpy(reason, allowed[i], 32);
			return 0;
		}
	}
	return fail(err, "reason_invalid", "reason is not one of the documented values.", "reason");
}

int gw_capture_request_parse(const json_t *body, long long *amount, struct gw_error *err)
{
	static const char *const KEYS[] = { "amount", NULL };

	*amount = -1;
	if (body == NULL)
		return 0;
	if (check_object(body, KEYS, err) != 0)
		return -1;
	return parse_amount(body, amount, err);
}

int gw_cancel_request_parse(const json_t *body, char reason[32], struct gw_error *err)
{
	static const char *const KEYS[] = { "reason", NULL };
	static const char *const REASONS[] = {
		"duplicate", "fraudulent", "requested_by_customer", "abandoned", NULL
	};

	reason[0] = '\0';
	if (body == NULL)
		return 0;
	if (check_object(body, KEYS, err) != 0)
		return -1;
	return parse_reason(body, REASONS, reason, err);
}

int gw_refund_request_parse(const json_t *body, long long *amount, char reason[32],
                            char *metadata, struct gw_error *err)
{
	static const char *const KEYS[] = { "amount", "reason", "metadata", NULL };
	static const char *const REASONS[] = {
		"duplicate", "fraudulent", "requested_by_customer", NULL
	};

	*amount = -1;
	reason[0] = '\0';
	metadata[0] = '\0';
	if (body == NULL)
		return 0;
	if (check_object(body, KEYS, err) != 0)
		return -1;
	if (parse_amount(body, amount, err) != 0)
		return -1;
	if (parse_reason(body, REASONS, reason, err) != 0)
		return -1;
	return gw_metadata_parse(json_object_get(body, "metadata"), metadata,
	                         GW_METADATA_JSON_MAX + 1, err);
}

long long gw_query_uint(const char *s)
{
	long long v = 0;
	size_t n, i;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n == 0 || n > 12)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}
