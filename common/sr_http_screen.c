/*
 * sr_http_screen: the one card number check of a listener that must never
 * receive one (sr_http_config.refuse_pan: the gateway, "no PAN outside the
 * CDE", PCI DSS v4.0 3.2.1). It runs at dispatch, before routing, before any
 * handler, audit record or store, over everything the request carries: the
 * path, every query argument (name and value), every header (name and
 * value) and the body whatever its type (raw bytes: JSON, form or anything
 * else). The detector is common/sr_panscan (every shape, encoding and
 * network; ADR 0106). A refusal is 400 invalid_request_error
 * pan_not_allowed whose param names where ("path", "query:limit",
 * "header:Idempotency-Key", a JSON field path such as "metadata.note",
 * "body"), never what; the only trace is one log line with that param.
 */
#include "common/sr_http_internal.h"
#include "common/sr_log.h"
#include "common/sr_panscan.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define PARAM_MAX 96

struct screen {
	const char *kind;       /* "header" or "query" */
	char param[PARAM_MAX];  /* where the number is; "" while none */
};

/* A name safe to repeat in param: 1..40 of [A-Za-z0-9_-] with at most four
 * digits (a client's header or field name is still client input). */
static int plain_name(const char *s)
{
	size_t i, digits = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 40 || !sr_http_id_char((unsigned char)s[i]))
			return 0;
		digits += s[i] >= '0' && s[i] <= '9';
	}
	return i > 0 && digits <= 4;
}

static enum MHD_Result value_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
	struct screen *sc = cls;

	(void)kind;
	if (key != NULL && sr_panscan_has_pan(key, strlen(key))) {
		snprintf(sc->param, sizeof sc->param, "%s", sc->kind);
		return MHD_NO;
	}
	if (value != NULL && sr_panscan_has_pan(value, strlen(value))) {
		if (key != NULL && plain_name(key))
			snprintf(sc->param, sizeof sc->param, "%s:%s", sc->kind, key);
		else
			snprintf(sc->param, sizeof sc->param, "%s", sc->kind);
		return MHD_NO;
	}
	return MHD_YES;
}

/* The JSON field path of the first value (string, number, key) of v that
 * holds a card number, appended to sc->param at len. 1 if found. */
static int json_where(const json_t *v, struct screen *sc, size_t len)
{
	const char *key = NULL;
	json_t *val = NULL;
	char num[64];
	size_t i;
	int found = 0, n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return sr_panscan_has_pan(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
	case JSON_REAL:
		if (json_is_integer(v))
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else
			snprintf(num, sizeof num, "%.17g", json_real_value(v));
		found = sr_panscan_has_pan(num, strlen(num));
		sodium_memzero(num, sizeof num);
		return found;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, val) {
			if (sr_panscan_has_pan(key, strlen(key))) {
				sc->param[len] = '\0'; /* the key itself: its parent */
				return 1;
			}
			if (!plain_name(key)) {
				/* a key not to repeat: the parent names the place */
				if (!json_where(val, sc, len))
					continue;
				sc->param[len] = '\0';
				return 1;
			}
			n = snprintf(sc->param + len, sizeof sc->param - len, "%s%s", len > 0 ? "." : "", key);
			if (n > 0 && (size_t)n < sizeof sc->param - len && json_where(val, sc, len + (size_t)n))
				return 1;
			sc->param[len] = '\0';
		}
		return 0;
	case JSON_ARRAY:
		json_array_foreach(v, i, val) {
			n = snprintf(sc->param + len, sizeof sc->param - len, "[%zu]", i);
			if (n > 0 && (size_t)n < sizeof sc->param - len && json_where(val, sc, len + (size_t)n))
				return 1;
			sc->param[len] = '\0';
		}
		return 0;
	default:
		return 0;
	}
}

/* Where in the body: a JSON field path when the body is JSON and one value
 * holds the number, else "body" (a form, text, or a number split across
 * JSON values). */
static void body_where(struct req_state *st, struct screen *sc)
{
	json_t *doc = NULL;

	sc->param[0] = '\0';
	doc = json_loadb((const char *)st->body, st->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (doc == NULL || !json_where(doc, sc, 0) || sc->param[0] == '\0')
		snprintf(sc->param, sizeof sc->param, "body");
	json_decref(doc); /* jansson's allocator wipes (sr_http_start) */
}

int sr_http_screen_pan(struct req_state *st)
{
	struct screen sc;

	memset(&sc, 0, sizeof sc);
	if (st->req.path != NULL && sr_panscan_has_pan(st->req.path, strlen(st->req.path))) {
		snprintf(sc.param, sizeof sc.param, "path");
	} else {
		sc.kind = "query";
		MHD_get_connection_values(st->conn, MHD_GET_ARGUMENT_KIND, value_cb, &sc);
		if (sc.param[0] == '\0') {
			sc.kind = "header";
			MHD_get_connection_values(st->conn, MHD_HEADER_KIND, value_cb, &sc);
		}
		if (sc.param[0] == '\0' && st->body != NULL && st->body_len > 0 &&
		    sr_panscan_has_pan(st->body, st->body_len))
			body_where(st, &sc);
	}
	if (sc.param[0] == '\0')
		return 0;
	st->pan_refused = 1;
	sr_log(SR_LOG_WARN, st->req.request_id, "http.pan_refused", "{s:s, s:s}", "listener",
	       st->srv->name, "param", sc.param);
	sr_http_reply_error(&st->req, 400, "invalid_request_error", "pan_not_allowed",
	                    "Card numbers are not accepted by this API: send a token (tok_...), "
	                    "never a card number, in any field, header, query or path.",
	                    sc.param);
	return -1;
}
