/*
 * gw_dispute: the dispute model, its JSON, evidence and events (gw_dispute.h).
 */
#include "gateway/disputes/gw_dispute.h"
#include "gateway/api/gw_request.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/payments/gw_ledger.h"
#include "gateway/store/gw_store.h"
#include "common/sr_panscan.h"

#include <stdio.h>
#include <string.h>

/* Stripe's evidence fields that are text (https://docs.stripe.com/api/disputes/update);
 * its file fields are left out: Strongroom keeps no files. */
static const char *const EVIDENCE_FIELDS[] = {
	"access_activity_log", "billing_address", "cancellation_policy_disclosure",
	"cancellation_rebuttal", "customer_email_address", "customer_name", "customer_purchase_ip",
	"duplicate_charge_explanation", "duplicate_charge_id", "product_description",
	"refund_policy_disclosure", "refund_refusal_explanation", "service_date",
	"shipping_address", "shipping_carrier", "shipping_date", "shipping_tracking_number",
	"uncategorized_text", NULL,
};

static const char *const REASONS[] = {
	"bank_cannot_process", "check_returned", "credit_not_processed", "customer_initiated",
	"debit_not_authorized", "duplicate", "fraudulent", "general", "incorrect_account_details",
	"insufficient_funds", "noncompliant", "product_not_received", "product_unacceptable",
	"subscription_canceled", "unrecognized", NULL,
};

void gw_dispute_clear(struct gw_dispute *d)
{
	if (d == NULL)
		return;
	json_decref(d->evidence);
	d->evidence = NULL;
}

bool gw_dispute_id_ok(const char *s)
{
	return gw_id_shape_ok(s, "du_");
}

bool gw_dispute_closed(const char *status)
{
	return status != NULL && (strcmp(status, "won") == 0 || strcmp(status, "lost") == 0 ||
	                          strcmp(status, "warning_closed") == 0);
}

const char *gw_dispute_reason(const char *psp_reason)
{
	size_t i;

	for (i = 0; psp_reason != NULL && REASONS[i] != NULL; i++)
		if (strcmp(REASONS[i], psp_reason) == 0)
			return REASONS[i];
	return "general";
}

json_t *gw_dispute_to_json(const struct gw_dispute *d)
{
	json_t *ev = json_object();
	const json_t *v = NULL;
	size_t i;

	if (ev == NULL)
		return NULL;
	for (i = 0; EVIDENCE_FIELDS[i] != NULL; i++) {
		v = d->evidence != NULL ? json_object_get(d->evidence, EVIDENCE_FIELDS[i]) : NULL;
		if (json_object_set_new(ev, EVIDENCE_FIELDS[i],
		                        json_is_string(v) ? json_copy((json_t *)v) : json_null()) != 0) {
			json_decref(ev);
			return NULL;
		}
	}
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:{s:o, s:b, s:b, s:i}, s:b, s:b, "
	                 "s:I}",
	                 "id", d->id, "object", "dispute", "amount", (json_int_t)d->amount,
	                 "currency", d->currency, "payment", d->payment_id, "reason", d->reason,
	                 "status", d->status, "evidence", ev, "evidence_details",
	                 "due_by", d->due_by > 0 ? json_integer(d->due_by) : json_null(),
	                 "has_evidence", d->evidence != NULL && json_object_size(d->evidence) > 0,
	                 "past_due", 0, "submission_count", d->submission_count,
	                 "is_charge_refundable", 0, "livemode", 0, "created", (json_int_t)d->created);
}

static void set_err(struct gw_error *err, const char *code, const char *message, const char *field)
{
	memset(err, 0, sizeof *err);
	err->status = 400;
	err->type = "invalid_request_error";
	err->code = code;
	err->message = message;
	err->param = "evidence";
	if (field != NULL) {
		snprintf(err->param_buf, sizeof err->param_buf, "evidence[%s]", field);
		err->param = err->param_buf;
	}
}

/* The known field named key (static), or NULL. */
static const char *evidence_field(const char *key)
{
	size_t i;

	for (i = 0; EVIDENCE_FIELDS[i] != NULL; i++)
		if (strcmp(EVIDENCE_FIELDS[i], key) == 0)
			return EVIDENCE_FIELDS[i];
	return NULL;
}

static size_t utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

int gw_dispute_update_parse(const json_t *body, json_t *evidence, bool *submit,
                            struct gw_error *err)
{
	const char *key = NULL;
	const char *field = NULL;
	const json_t *ev = NULL, *sub = NULL;
	json_t *val = NULL;
	size_t n;

	*submit = false;
	if (body != NULL && !json_is_object(body)) {
		set_err(err, "parameter_invalid_type", "The body must be a JSON object.", NULL);
		err->param = NULL;
		return -1;
	}
	json_object_foreach((json_t *)body, key, val) {
		if (strcmp(key, "evidence") != 0 && strcmp(key, "submit") != 0) {
			gw_error_unknown_param(err, key);
			return -1;
		}
	}
	sub = json_object_get(body, "submit");
	if (sub != NULL && !json_is_boolean(sub)) {
		set_err(err, "parameter_invalid_type", "submit must be true or false.", NULL);
		err->param = "submit";
		return -1;
	}
	*submit = json_is_true(sub);
	ev = json_object_get(body, "evidence");
	if (ev == NULL || json_is_null(ev))
		return 0;
	if (!json_is_object(ev)) {
		set_err(err, "parameter_invalid_type", "evidence must be an object of strings.", NULL);
		return -1;
	}
	/* Every value checked before any is merged: a refused body changes nothing. */
	json_object_foreach((json_t *)ev, key, val) {
		field = evidence_field(key);
		if (field == NULL) {
			gw_error_unknown_param(err, "evidence");
			/* Name the field only when it is a short identifier (never echo anything else). */
			if (strspn(key, "abcdefghijklmnopqrstuvwxyz_") == strlen(key) && strlen(key) <= 40) {
				snprintf(err->param_buf, sizeof err->param_buf, "evidence[%s]", key);
				snprintf(err->message_buf, sizeof err->message_buf,
				         "Received unknown parameter: evidence[%s].", key);
				err->param = err->param_buf;
				err->message = err->message_buf;
			}
			return -1;
		}
		if (json_is_null(val))
			continue;
		if (!json_is_string(val)) {
			set_err(err, "parameter_invalid_type", "Each evidence field must be a string.", field);
			return -1;
		}
		n = json_string_length(val);
		if (sr_panscan_has_pan(json_string_value(val), n)) {
			set_err(err, "pan_not_allowed",
			        "Evidence must not contain a card number.", field);
			return -1;
		}
		if (strlen(json_string_value(val)) != n ||
		    utf8_chars(json_string_value(val), n) > GW_DISPUTE_EVIDENCE_MAX) {
			set_err(err, "evidence_too_long",
			        "An evidence field has at most 20000 characters and no NUL.", field);
			return -1;
		}
	}
	json_object_foreach((json_t *)ev, key, val) {
		if (json_is_null(val) || json_string_length(val) == 0) {
			(void)json_object_del(evidence, key);
			continue;
		}
		if (json_object_set(evidence, key, val) != 0) {
			set_err(err, "internal_error", "An internal error occurred.", NULL);
			err->status = 500;
			err->type = "api_error";
			return -1;
		}
	}
	return 0;
}

int gw_dispute_event_in_tx(PGconn *conn, const struct gw_dispute *d, const char *type,
                           const json_t *before)
{
	const struct gw_req_ctx *ctx = gw_req_ctx();
	bool merchant_request = ctx->merchant[0] != '\0' && ctx->request_id[0] != '\0';
	json_t *now = gw_dispute_to_json(d);
	json_t *prev = NULL;
	json_t *data = NULL;
	int rc = -1;

	if (now == NULL)
		goto out;
	if (before != NULL) {
		prev = gw_ledger_previous(before, now);
		if (prev == NULL)
			goto out;
		data = json_pack("{s:O, s:O}", "object", now, "previous_attributes", prev);
	} else {
		data = json_pack("{s:O}", "object", now);
	}
	if (data == NULL)
		goto out;
	rc = gw_store_event_append(conn, d->payment_id, type, d->payment_status, d->payment_status,
	                           data, merchant_request ? ctx->request_id : NULL,
	                           merchant_request && ctx->request_idem_key[0] != '\0'
	                           ? ctx->request_idem_key : NULL);
out:
	json_decref(now);
	json_decref(prev);
	json_decref(data);
	return rc;
}
