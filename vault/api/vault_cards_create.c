/*
 * POST /v1/cards (internal listener, mTLS peer = the gateway): save a card
 * for a merchant's returning customer ("saved payment methods").
 * {"merchant":"mer_...","token":"tok_...","customer":"cus_42","deduplicate":bool?}
 *
 * The single-use tok_ token is consumed (as when it is authorized); its PAN
 * is decrypted in the HSM into guarded memory (audited before use, purpose
 * "card.create": PCI DSS v4.0 10.2.1), re-encrypted under a new random
 * card_ id (AAD binds it: invariant 2, docs/invariants.md), and wiped. A card_ token never
 * holds a CVC (3.3.1.2), so the tok_'s CVC is deleted too.
 *
 * With "deduplicate": true and a card of this merchant's customer with the
 * same keyed fingerprint (PCI DSS 3.5.1.1), that card is returned (200,
 * "deduplicated": true) and nothing is decrypted. Otherwise 201 with the new
 * card ("deduplicated": false). 404 unknown or foreign token, or a
 * deleted customer (checked before and after the insert, ADR 0128); 409
 * token_already_used; 400 for a malformed body (codes as the other handlers).
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "common/sr_db.h"
#include "common/sr_http.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "vault/vault_app.h"
#include "vault/audit/vault_audit.h"
#include "vault/crypto/vault_crypto.h"
#include "vault/crypto/vault_keys.h"
#include "vault/store/vault_store.h"
#include "vault/store/vault_store_customers.h"
#include "vault/tokens/vault_token.h"

struct card_body {
	const char *merchant;
	const char *token;
	const char *customer;
	bool deduplicate;
};

static void bad(struct sr_http_request *req, const char *code, const char *msg, const char *param)
{
	sr_http_reply_error(req, 400, "invalid_request_error", code, msg, param);
}

/* 1 valid; 0 a 400 was sent. */
static int parse_body(struct sr_http_request *req, struct card_body *b)
{
	static const char *const keys[] = { "merchant", "token", "customer", "deduplicate", NULL };
	const json_t *o = req->json;
	const char *key = NULL;
	json_t *val = NULL;
	size_t i;

	memset(b, 0, sizeof *b);
	if (!json_is_object(o)) {
		bad(req, "parameter_missing", "A JSON object body is required.", NULL);
		return 0;
	}
	json_object_foreach((json_t *)o, key, val) {
		bool known = false;

		for (i = 0; keys[i] != NULL; i++)
			known = known || strcmp(key, keys[i]) == 0;
		if (!known) {
			bad(req, "parameter_unknown", "The request contains an unknown parameter.", NULL);
			return 0;
		}
	}
	for (i = 0; i < 3; i++) {
		if (json_object_get(o, keys[i]) == NULL) {
			bad(req, "parameter_missing", "A required parameter is missing.", keys[i]);
			return 0;
		}
	}
	b->merchant = json_string_value(json_object_get(o, "merchant"));
	if (!vault_merchant_id_valid(b->merchant)) {
		bad(req, "parameter_invalid_type", "merchant is not a merchant id.", "merchant");
		return 0;
	}
	/* The gateway (the verified peer) acts for this merchant. */
	sr_http_set_principal(req, b->merchant, NULL);
	b->token = json_string_value(json_object_get(o, "token"));
	if (b->token == NULL) {
		bad(req, "parameter_invalid_type", "token must be a string.", "token");
		return 0;
	}
	b->customer = json_string_value(json_object_get(o, "customer"));
	if (!vault_customer_id_valid(b->customer)) {
		bad(req, "parameter_invalid_type",
		    "customer must be 1 to 64 characters of [0-9A-Za-z_-].", "customer");
		return 0;
	}
	val = json_object_get(o, "deduplicate");
	if (val != NULL && !json_is_boolean(val)) {
		bad(req, "parameter_invalid_type", "deduplicate must be a boolean.", "deduplicate");
		return 0;
	}
	b->deduplicate = json_is_true(val);
	return 1;
}

/* Whether b's customer was deleted (ADR 0128): 1 deleted, 0 not, -1 error
 * (logged). */
static int customer_deleted(struct sr_http_request *req, const struct card_body *b)
{
	struct vault_app *app = req->app;
	char err[256];
	PGconn *db = sr_db_acquire(app->db);
	int rc = vault_store_customer_is_deleted(db, b->merchant, b->customer, err, sizeof err);

	sr_db_release(app->db, db);
	if (rc < 0)
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
	return rc;
}

static void no_customer(struct sr_http_request *req)
{
	sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
	                    "No such customer.", "customer");
}

static void reply_card(struct sr_http_request *req, unsigned status,
                       const struct vault_token_row *card, bool dedup)
{
	json_t *o = vault_token_json(card);

	if (o != NULL)
		json_object_set_new(o, "deduplicated", json_boolean(dedup));
	sr_http_reply_json(req, status, o);
}

void vault_handle_cards_create(struct sr_http_request *req)
{
	struct vault_app *app = req->app;
	struct card_body b;
	struct vault_token_row tok;
	struct vault_token_row card;
	char claim[VAULT_ANY_TOKEN_MAX + 8];
	char *pan = NULL;
	size_t pan_len = 0;
	char err[256];
	struct vault_key_labels labels;
	PGconn *db = NULL;
	int rc;

	memset(&tok, 0, sizeof tok);
	memset(&card, 0, sizeof card);
	if (!vault_require_gateway(req))
		goto out;
	if (!parse_body(req, &b))
		goto out;
	rc = customer_deleted(req, &b);
	if (rc != 0) {
		if (rc > 0)
			no_customer(req);
		else
			goto internal;
		goto out;
	}
	if (!vault_token_id_valid(b.token)) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such token.", "token");
		goto out;
	}
	db = sr_db_acquire(app->db);
	rc = vault_store_token_get(db, b.token, &tok, err, sizeof err);
	sr_db_release(app->db, db);
	db = NULL;
	if (rc < 0)
		goto db_error;
	if (rc == 1 && strcmp(tok.merchant_id, b.merchant) != 0) {
		sr_log(SR_LOG_WARN, req->request_id, "token.foreign_merchant",
		       "{s:s, s:s, s:s, s:s}", "token", tok.id, "merchant", b.merchant,
		       "owner", tok.merchant_id, "operation", "card.create");
		rc = 0;
	}
	if (rc == 0) {
		sr_http_reply_error(req, 404, "invalid_request_error", "resource_missing",
		                    "No such token.", "token");
		goto out;
	}

	if (b.deduplicate) {
		/* PCI DSS 3.5.1.1: the keyed, per-merchant fingerprint finds the
		 * same card without decrypting anything. */
		db = sr_db_acquire(app->db);
		rc = vault_store_card_find(db, b.merchant, b.customer, tok.fingerprint,
		                           tok.fingerprint_prev, &card, err, sizeof err);
		sr_db_release(app->db, db);
		db = NULL;
		if (rc < 0)
			goto db_error;
		if (rc == 1) {
			snprintf(claim, sizeof claim, "card:%s", card.id);
			db = sr_db_acquire(app->db);
			rc = vault_store_token_claim(db, tok.id, claim, err, sizeof err);
			if (rc == 1)
				(void)vault_store_cvc_delete(db, tok.id, err, sizeof err);
			sr_db_release(app->db, db);
			db = NULL;
			if (rc < 0)
				goto db_error;
			if (rc == 0)
				goto used;
			sr_log(SR_LOG_INFO, req->request_id, "card.deduplicated",
			       "{s:s, s:s, s:s, s:s}", "token", tok.id, "card", card.id,
			       "merchant", b.merchant, "last4", card.last4);
			reply_card(req, 200, &card, true);
			goto out;
		}
	}

	memset(&card, 0, sizeof card);
	if (vault_card_token_new(card.id, sizeof card.id) != 0)
		goto internal;
	snprintf(claim, sizeof claim, "card:%s", card.id);
	db = sr_db_acquire(app->db);
	rc = vault_store_token_claim(db, tok.id, claim, err, sizeof err);
	sr_db_release(app->db, db);
	db = NULL;
	if (rc < 0)
		goto db_error;
	if (rc == 0)
		goto used;

	rc = vault_crypto_decrypt_pan(app->hsm, tok.key_version, tok.id, tok.merchant_id,
	                              tok.pan_iv, tok.pan_ct, tok.pan_ct_len, &pan, &pan_len,
	                              err, sizeof err);
	{
		/* PCI DSS v4.0 10.2.1: every decryption audited before use. */
		struct vault_audit_event ev = {
			.token_id = tok.id, .merchant_id = tok.merchant_id, .purpose = "card.create",
			.payment_id = card.id, .connector = "", .peer = req->peer,
			.result = rc == 0 ? "decrypted" : "decrypt_failed",
		};
		char aerr[256];

		db = sr_db_acquire(app->db);
		if (vault_audit_append(db, app->hsm, &ev, aerr, sizeof aerr) < 0) {
			sr_db_release(app->db, db);
			db = NULL;
			sr_log(SR_LOG_ERROR, req->request_id, "audit.append_failed", "{s:s, s:s}",
			       "token", tok.id, "error", aerr);
			goto unclaim;
		}
		sr_db_release(app->db, db);
		db = NULL;
	}
	if (rc != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "pan.decrypt_failed", "{s:s, s:s}",
		       "token", tok.id, "error", err);
		goto unclaim;
	}
	snprintf(card.merchant_id, sizeof card.merchant_id, "%s", tok.merchant_id);
	snprintf(card.brand, sizeof card.brand, "%s", tok.brand);
	memcpy(card.last4, tok.last4, sizeof card.last4);
	card.exp_month = tok.exp_month;
	card.exp_year = tok.exp_year;
	memcpy(card.fingerprint, tok.fingerprint, sizeof card.fingerprint);
	memcpy(card.fingerprint_prev, tok.fingerprint_prev, sizeof card.fingerprint_prev);
	memcpy(card.fp_version, tok.fp_version, sizeof card.fp_version);
	/* ADR 0074: the saved card is encrypted under the current version. */
	if (vault_keys_current(app->keys, app->db, &labels, err, sizeof err) != 0) {
		sr_secret_free(pan);
		pan = NULL;
		sr_log(SR_LOG_ERROR, req->request_id, "keys.error", "{s:s}", "error", err);
		goto unclaim;
	}
	snprintf(card.key_version, sizeof card.key_version, "%s", labels.pan);
	snprintf(card.customer, sizeof card.customer, "%s", b.customer);
	card.created_at = sr_now();
	card.pan_ct_len = sizeof card.pan_ct;
	rc = vault_crypto_encrypt_pan(app->hsm, labels.pan, card.id, card.merchant_id, pan,
	                              pan_len, card.pan_iv, card.pan_ct, &card.pan_ct_len, err,
	                              sizeof err);
	sr_secret_free(pan);
	pan = NULL;
	if (rc != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "hsm.error", "{s:s}", "error", err);
		goto unclaim;
	}
	db = sr_db_acquire(app->db);
	rc = vault_store_token_insert(db, &card, err, sizeof err);
	if (rc == 0 && vault_store_cvc_delete(db, tok.id, err, sizeof err) != 0)
		sr_log(SR_LOG_ERROR, req->request_id, "cvc.delete_failed", "{s:s}", "token", tok.id);
	sr_db_release(app->db, db);
	db = NULL;
	if (rc != 0) {
		sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", card.id,
		       "error", err);
		goto unclaim;
	}
	/* A deletion of the customer may have begun while the card was made:
	 * it recorded the customer before deleting its cards, so checking again
	 * after the insert leaves no card under a deleted customer (ADR 0128). */
	rc = customer_deleted(req, &b);
	if (rc != 0) {
		db = sr_db_acquire(app->db);
		if (vault_store_token_delete(db, card.id, card.merchant_id, err, sizeof err) < 0)
			sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s, s:s}", "token", card.id,
			       "error", err);
		(void)vault_store_token_unclaim(db, tok.id, claim, err, sizeof err);
		sr_db_release(app->db, db);
		db = NULL;
		sr_log(SR_LOG_WARN, req->request_id, "card.customer_deleted", "{s:s, s:s}", "card",
		       card.id, "merchant", card.merchant_id);
		if (rc < 0)
			goto internal;
		no_customer(req);
		goto out;
	}
	sr_log(SR_LOG_INFO, req->request_id, "card.created", "{s:s, s:s, s:s, s:s, s:s}",
	       "token", tok.id, "card", card.id, "merchant", card.merchant_id, "brand", card.brand,
	       "last4", card.last4);
	reply_card(req, 201, &card, false);
	goto out;

used:
	sr_log(SR_LOG_WARN, req->request_id, "token.reuse_refused", "{s:s, s:s}", "token", tok.id,
	       "merchant", b.merchant);
	sr_http_reply_error(req, 409, "invalid_request_error", "token_already_used",
	                    "This single-use token was already used.", "token");
	goto out;
unclaim:
	db = sr_db_acquire(app->db);
	(void)vault_store_token_unclaim(db, tok.id, claim, err, sizeof err);
	sr_db_release(app->db, db);
	db = NULL;
	goto internal;
db_error:
	sr_log(SR_LOG_ERROR, req->request_id, "db.error", "{s:s}", "error", err);
internal:
	sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
	                    NULL);
out:
	sr_secret_free(pan);
	vault_token_row_clear(&tok);
	vault_token_row_clear(&card);
}
