/*
 * POST /v1/payments: create and confirm a payment for a vault token.
 *
 * Flow: authenticate (sk_) -> validate the body (no PAN anywhere, docs/invariants.md
 * invariant 1) -> claim the Idempotency-Key (invariant 8) -> check the token
 * belongs to this merchant with the vault (invariant 6; nothing is created
 * for a foreign or unknown token) -> insert the payment as 'processing' with
 * its event and outbox row (invariant 7) -> ask the vault to authorize (the
 * PSP idempotency key is the payment id, stable across retries) -> commit the
 * outcome along the state machine -> save and send 201 with the payment.
 * A failed payment is still 201: the payment exists, its status tells.
 * Nothing reached the PSP even after bounded retries (an outage, issue 16):
 * the payment is recorded canceled (not_sent), the key's claim is freed, and
 * the merchant gets 503 psp_unavailable with Retry-After (ADR 0114).
 */
#include "gateway/gw_app.h"
#include "gateway/gw_config.h"
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/payments/gw_idempotency.h"
#include "gateway/payments/gw_ledger.h"
#include "gateway/payments/gw_lifecycle.h"
#include "gateway/payments/gw_payment.h"
#include "gateway/payments/gw_return_url.h"
#include "gateway/api/gw_request.h"
#include "gateway/store/gw_store.h"
#include "gateway/vault_client/gw_vault_client.h"
#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_util.h"

#include <errno.h>
#include <string.h>
#include <time.h>

/* Authorization attempts while nothing reaches the PSP, and the first delay
 * (doubled each time): at most 3 attempts, 600 ms of waiting (ADR 0114). */
#define AUTH_ATTEMPTS 3
#define AUTH_BACKOFF_MS 200

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void gw_handle_payments_create(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_payment_request rq;
	struct gw_payment p;
	struct gw_error err;
	struct gw_idem idem;
	struct gw_vault_card card;
	struct gw_vault_auth_request arq;
	struct gw_vault_auth_result ares;
	char merchant[72];
	char psp_return_url[GW_RETURN_URL_PSP_MAX + 1] = "";
	PGconn *conn = NULL;
	json_t *body = NULL;
	enum gw_vault_rc vrc;
	int attempt;
	int r;

	memset(&idem, 0, sizeof idem);
	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (req->json == NULL) {
		sr_http_reply_error(req, 400, "invalid_request_error", "invalid_json",
		                    "The request body must be JSON (Content-Type: application/json).",
		                    NULL);
		return;
	}
	/* Validation first: a rejected body is neither stored, hashed nor logged. */
	if (gw_payment_request_parse(req->json, &rq, &err) != 0) {
		sr_log(SR_LOG_INFO, req->request_id, "payment.request_invalid", "{s:s}", "code", err.code);
		sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
		return;
	}
	/* return_url (issue 19 item 3): http to the loopback host only on a
	 * gateway in test mode (ADR 0131). */
	if (rq.return_url != NULL &&
	    gw_return_url_check(rq.return_url, rq.return_url_len,
	                        gw_config_test_mode(app->cfg), &err) != 0) {
		sr_log(SR_LOG_INFO, req->request_id, "payment.request_invalid", "{s:s}", "code", err.code);
		sr_http_reply_error(req, err.status, err.type, err.code, err.message, err.param);
		return;
	}
	if (!gw_idem_begin(app, req, merchant, &idem))
		return;
	if (idem.recovered && idem.payment_id[0] != '\0') {
		/* The audit record names the payment this request answers. */
		gw_strlcpy(gw_req_ctx()->target, idem.payment_id, sizeof gw_req_ctx()->target);
		/* Crash recovery (issue 4): the first attempt created this payment
		 * and may have reached the PSP. Learn the outcome through the vault
		 * with the same PSP key (it replays; never a second charge). */
		if (gw_lifecycle_reconcile(app, req->request_id, merchant, idem.payment_id, 0, &p) !=
		    GW_LC_OK) {
			/* Nothing runs for the key any more: say so, and end its
			 * lease now (the key stays linked to the payment), so the
			 * next retry tries again at once instead of getting "in use"
			 * for a whole lease (issue 16). */
			gw_idem_abort(app, req, &idem, 502, "api_error", "payment_outcome_unavailable",
			              "The payment for this Idempotency-Key exists, but its outcome could not "
			              "be learned now; retry with the same Idempotency-Key.", NULL);
			return;
		}
		body = gw_payment_to_json(&p);
		if (body == NULL)
			goto internal;
		gw_idem_finish(app, req, &idem, 201, body);
		return;
	}

	/* Invariant 6: the token must be this merchant's; ask before writing. */
	vrc = gw_vault_get_token(app->vault, req->request_id, merchant, rq.payment_method, &card);
	if (vrc == GW_VAULT_NOT_FOUND) {
		gw_idem_fail(app, req, &idem, 400, "invalid_request_error", "resource_missing",
		             "No such token.", "payment_method");
		return;
	}
	if (vrc == GW_VAULT_OK && card.used) {
		/* Issue 3: tok_ tokens are single-use (as Stripe's); no payment. */
		gw_idem_fail(app, req, &idem, 400, "invalid_request_error", "token_already_used",
		             "This single-use token was already used; tokenize the card again or "
		             "pay with a saved card (card_...).", "payment_method");
		return;
	}
	if (vrc != GW_VAULT_OK) {
		sr_log(SR_LOG_ERROR, req->request_id, "vault.token_check_failed", "{s:s}", "outcome",
		       gw_vault_rc_str(vrc));
		gw_idem_abort(app, req, &idem, 502, "api_error", "vault_unavailable",
		              "The card vault is unavailable; no payment was created. Retry later.", NULL);
		return;
	}

	memset(&p, 0, sizeof p);
	if (sr_random_id("pay_", 16, p.id, sizeof p.id) != 0)
		goto internal;
	gw_strlcpy(gw_req_ctx()->target, p.id, sizeof gw_req_ctx()->target);
	gw_strlcpy(p.merchant_id, merchant, sizeof p.merchant_id);
	p.amount = rq.amount;
	gw_strlcpy(p.currency, rq.currency, sizeof p.currency);
	p.status = GW_ST_PROCESSING;
	gw_strlcpy(p.capture_method, rq.capture_method, sizeof p.capture_method);
	gw_strlcpy(p.payment_method, rq.payment_method, sizeof p.payment_method);
	gw_strlcpy(p.description, rq.description, sizeof p.description);
	gw_strlcpy(p.metadata, rq.metadata, sizeof p.metadata);
	gw_strlcpy(p.statement_descriptor, rq.statement_descriptor, sizeof p.statement_descriptor);
	gw_strlcpy(p.statement_descriptor_suffix, rq.statement_descriptor_suffix,
	           sizeof p.statement_descriptor_suffix);
	if (rq.return_url != NULL)
		gw_strlcpy(p.return_url, rq.return_url, sizeof p.return_url);
	if (p.return_url[0] != '\0' && gw_return_url_for_psp(p.return_url, p.id, psp_return_url,
	                                                     sizeof psp_return_url) != 0)
		goto internal;
	gw_strlcpy(p.card_brand, card.brand, sizeof p.card_brand);
	gw_strlcpy(p.card_last4, card.last4, sizeof p.card_last4);

	conn = sr_db_acquire(app->db);
	r = gw_ledger_create_linked(conn, &p, idem.active ? idem.key : NULL);
	sr_db_release(app->db, conn);
	conn = NULL;
	if (r != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "payment.create_failed", NULL);
		gw_idem_abort(app, req, &idem, 500, "api_error", "internal_error",
		              "An internal error occurred; no payment was created.", NULL);
		return;
	}
	sr_log(SR_LOG_INFO, req->request_id, "payment.created", "{s:s, s:s, s:s, s:I, s:s}",
	       "payment", p.id, "merchant", merchant, "token", p.payment_method,
	       "amount", (json_int_t)p.amount, "currency", p.currency);

	memset(&arq, 0, sizeof arq);
	arq.merchant = merchant;
	arq.token = p.payment_method;
	arq.payment_id = p.id;
	arq.amount = p.amount;
	arq.currency = p.currency;
	arq.capture = strcmp(p.capture_method, "automatic") == 0;
	arq.idempotency_key = p.id; /* stable: a retry of this payment never charges twice */
	arq.statement_descriptor = p.statement_descriptor;
	arq.statement_descriptor_suffix = p.statement_descriptor_suffix;
	arq.return_url = psp_return_url;
	/* Stored credentials (ADR 0133): the vault keeps the network
	 * transaction id; the gateway only passes the merchant's flags. */
	arq.setup_future_usage = rq.setup_future_usage;
	arq.off_session = rq.off_session;
	/* Issue 16: nothing reached the PSP (the vault unreachable, or it
	 * answered psp_unavailable): retry a bounded number of times; always
	 * safe, the PSP key is the same. */
	for (attempt = 0;; attempt++) {
		vrc = gw_vault_authorize(app->vault, req->request_id, &arq, &ares);
		if (vrc != GW_VAULT_NOT_SENT || attempt + 1 >= AUTH_ATTEMPTS)
			break;
		sr_log(SR_LOG_WARN, req->request_id, "payment.authorize_retry", "{s:s, s:i, s:i}",
		       "payment", p.id, "attempt", attempt + 1, "delay_ms", AUTH_BACKOFF_MS << attempt);
		sleep_ms(AUTH_BACKOFF_MS << attempt);
	}
	gw_lifecycle_apply_auth(&p, vrc, &ares, 0);
	gw_strlcpy(gw_req_ctx()->provider, p.connector, sizeof gw_req_ctx()->provider);

	conn = sr_db_acquire(app->db);
	/* Never sent (canceled): not a card failure; recorded with the key's
	 * claim freed in one transaction. */
	if (p.status == GW_ST_CANCELED)
		r = gw_ledger_cancel_unsent(conn, &p, idem.active ? idem.key : NULL);
	else
		r = gw_ledger_transition(conn, &p, GW_ST_PROCESSING);
	if (r == 1) {
		/* Someone (e.g. a webhook) moved it first: report the stored truth. */
		r = gw_store_payment_get(conn, p.id, merchant, 0, &p);
	}
	sr_db_release(app->db, conn);
	conn = NULL;
	if (r != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "payment.update_failed", "{s:s, s:s}",
		       "payment", p.id, "vault_outcome", gw_vault_rc_str(vrc));
		/* The PSP may have answered, but its outcome is not recorded: never
		 * save this error for the key. The key stays linked to the payment;
		 * a retry with it answers the payment as it is then (issue 16). */
		gw_idem_abort(app, req, &idem, 500, "api_error", "internal_error",
		              "An internal error occurred after the payment was sent; retry with the "
		              "same Idempotency-Key to get its outcome.", NULL);
		return;
	}
	if (p.status == GW_ST_CANCELED) {
		sr_log(SR_LOG_WARN, req->request_id, "payment.not_sent", "{s:s, s:i}", "payment", p.id,
		       "attempts", attempt + 1);
		idem.active = false; /* the claim is deleted: nothing is saved for the key */
		sr_http_add_header(req, "Retry-After", "1");
		sr_http_reply_error(req, 503, "api_error", "psp_unavailable",
		                    "The payment processor could not be reached; the payment was not "
		                    "attempted and nothing was charged. Retry later (with or without the "
		                    "same Idempotency-Key).", NULL);
		return;
	}
	sr_log(p.status == GW_ST_FAILED || p.status == GW_ST_UNKNOWN ? SR_LOG_WARN : SR_LOG_INFO,
	       req->request_id, "payment.outcome", "{s:s, s:s, s:s, s:s, s:s}",
	       "payment", p.id, "status", gw_status_str(p.status),
	       "failure_code", p.failure_code, "last4", p.card_last4,
	       "vault_outcome", gw_vault_rc_str(vrc));
	body = gw_payment_to_json(&p);
	if (body == NULL)
		goto internal; /* the payment is recorded: a retry answers it */
	gw_idem_finish(app, req, &idem, 201, body);
	return;
internal:
	gw_idem_abort(app, req, &idem, 500, "api_error", "internal_error",
	              "An internal error occurred.", NULL);
}
