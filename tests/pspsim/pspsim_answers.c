/*
 * pspsim_answers: what the simulator's modification endpoints (Stripe's
 * capture, cancel and refund; Adyen's captures, cancels and refunds) were
 * asked, and a fault that makes their 200/201 answer contradict the request
 * (issue 15: the PSP's answer is checked, not assumed). Test and demo only.
 *
 *   POST /_sim/contradict {"next": N, "field": "status"|"amount"|"id"|"currency"}
 *        the next N successful modification answers (either dialect) are
 *        rewritten after their effect: "status" a state the operation does
 *        not lead to (Stripe capture: requires_payment_method with
 *        amount_received 0; cancel: requires_capture; refund: pending;
 *        Adyen: "failed"), "amount" the amount minus one, "id" another
 *        object's id, "currency" another currency. The rewritten answer is
 *        the one saved under the Idempotency-Key, as a PSP replays its saved
 *        answer.
 *   GET  /_sim/received   the last modification requests' reasons:
 *        {"data":[{"path","cancellation_reason","reason","merchantRefundReason"}]}
 *        (null when absent), oldest first.
 */
#include "tests/pspsim/pspsim.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/sr_log.h"

#define SEEN_MAX 32

static struct {
	pthread_mutex_t lock;
	long long next;         /* answers left to contradict */
	char field[16];         /* "status" | "amount" | "id" | "currency" */
	json_t *seen;           /* array of {"path", reasons...}, at most SEEN_MAX */
} g_ans = { PTHREAD_MUTEX_INITIALIZER, 0, "", NULL };

/* Which modification path is this: 0 capture, 1 cancel, 2 refund, -1 none. */
static int mod_kind(const char *path)
{
	size_t n = strlen(path);

	if (strcmp(path, "/v1/refunds") == 0 || (n > 8 && strcmp(path + n - 8, "/refunds") == 0))
		return 2;
	if ((n > 8 && strcmp(path + n - 8, "/capture") == 0)
	    || (n > 9 && strcmp(path + n - 9, "/captures") == 0))
		return 0;
	if ((n > 7 && strcmp(path + n - 7, "/cancel") == 0)
	    || (n > 8 && strcmp(path + n - 8, "/cancels") == 0))
		return 1;
	return -1;
}

/* A reason parameter of req (Stripe: form; Adyen: JSON body) or NULL. */
static const char *reason_of(const struct sr_http_request *req, const char *name)
{
	const json_t *src = req->form != NULL ? req->form : req->json;

	return json_string_value(json_object_get(src, name));
}

static void note_request(const struct sr_http_request *req)
{
	json_t *row = json_pack("{s:s, s:s?, s:s?, s:s?}", "path", req->path,
	                        "cancellation_reason", reason_of(req, "cancellation_reason"),
	                        "reason", reason_of(req, "reason"),
	                        "merchantRefundReason", reason_of(req, "merchantRefundReason"));

	if (row == NULL)
		return;
	if (g_ans.seen == NULL)
		g_ans.seen = json_array();
	if (json_array_size(g_ans.seen) >= SEEN_MAX)
		json_array_remove(g_ans.seen, 0);
	json_array_append_new(g_ans.seen, row);
}

/* Rewrite body (a Stripe PaymentIntent or Refund, or an Adyen modification answer). */
static void contradict(json_t *body, int kind, const char *field)
{
	json_t *amount = json_object_get(body, "amount");
	bool adyen = json_object_get(body, "paymentPspReference") != NULL;
	const char *amount_key = kind == 0 ? "amount_received" : "amount";

	if (strcmp(field, "status") == 0) {
		json_object_set_new(body, "status", json_string(adyen ? "failed"
		                    : kind == 0 ? "requires_payment_method"
		                    : kind == 1 ? "requires_capture" : "pending"));
		if (!adyen && kind == 0)
			json_object_set_new(body, "amount_received", json_integer(0));
	} else if (strcmp(field, "amount") == 0) {
		if (adyen && json_is_object(amount))
			json_object_set_new(amount, "value", json_integer(json_integer_value(
			                    json_object_get(amount, "value")) - 1));
		else if (!adyen)
			json_object_set_new(body, amount_key, json_integer(json_integer_value(
			                    json_object_get(body, amount_key)) - 1));
	} else if (strcmp(field, "id") == 0) {
		json_object_set_new(body, adyen ? "paymentPspReference" : kind == 2 ? "payment_intent" : "id",
		                    json_string(adyen ? "9999999999999999" : "pi_0therIntent000000"));
	} else if (strcmp(field, "currency") == 0) {
		if (adyen && json_is_object(amount))
			json_object_set_new(amount, "currency", json_string("JPY"));
		else if (!adyen)
			json_object_set_new(body, "currency", json_string("jpy"));
	}
}

void pspsim_answer_hook(const struct sr_http_request *req, unsigned status, json_t *body)
{
	int kind = mod_kind(req->path);

	if (kind < 0 || (status != 200 && status != 201) || body == NULL)
		return;
	pthread_mutex_lock(&g_ans.lock);
	note_request(req);
	if (g_ans.next > 0) {
		g_ans.next--;
		contradict(body, kind, g_ans.field);
		sr_log(SR_LOG_WARN, req->request_id, "pspsim.answer_contradicted", "{s:s, s:s}",
		       "path", req->path, "field", g_ans.field);
	}
	pthread_mutex_unlock(&g_ans.lock);
}

void pspsim_h_contradict(struct sr_http_request *req)
{
	static const char *const fields[] = { "status", "amount", "id", "currency", NULL };
	const json_t *n = json_object_get(req->json, "next");
	const char *f = json_string_value(json_object_get(req->json, "field"));
	size_t i = 0;
	bool ok = false;

	for (i = 0; f != NULL && fields[i] != NULL; i++)
		ok = ok || strcmp(f, fields[i]) == 0;
	if (!json_is_object(req->json) || !json_is_integer(n) || json_integer_value(n) < 0 || !ok) {
		sr_http_reply_error(req, 400, "invalid_request_error", "parameter_invalid",
		                    "Expected {\"next\":int,\"field\":\"status|amount|id|currency\"}.", NULL);
		return;
	}
	pthread_mutex_lock(&g_ans.lock);
	g_ans.next = json_integer_value(n);
	snprintf(g_ans.field, sizeof g_ans.field, "%s", f);
	pthread_mutex_unlock(&g_ans.lock);
	sr_http_reply_json(req, 200, json_pack("{s:I, s:s}", "next", (json_int_t)json_integer_value(n),
	                                       "field", f));
}

void pspsim_h_received(struct sr_http_request *req)
{
	json_t *data = NULL;

	pthread_mutex_lock(&g_ans.lock);
	data = g_ans.seen != NULL ? json_deep_copy(g_ans.seen) : json_array();
	pthread_mutex_unlock(&g_ans.lock);
	sr_http_reply_json(req, 200, json_pack("{s:o}", "data", data));
}

void pspsim_answers_free(void)
{
	pthread_mutex_lock(&g_ans.lock);
	json_decref(g_ans.seen);
	g_ans.seen = NULL;
	pthread_mutex_unlock(&g_ans.lock);
}
