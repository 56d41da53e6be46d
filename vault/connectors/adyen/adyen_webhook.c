/*
 * adyen_webhook: Adyen's notifications (webhooks) for the adyen connector:
 * the account a notification names, the payment it names, and its events,
 * each item verified with its HMAC signature
 * (https://docs.adyen.com/development-resources/webhooks/verify-hmac-signatures;
 * ADR 0090, 0096, 0107). Split from adyen.c, which sends the requests.
 */
#include "vault/connectors/adyen/adyen.h"
#include "vault/connectors/adyen/adyen_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <mbedtls/md.h>
#include <sodium.h>

#include "common/sr_log.h"
#include "common/sr_secret.h"

/* eventCode -> event kind when success is "true" / "false" (webhooks). */
static const struct {
	const char *event_code;
	enum vault_psp_event_kind on_success;
	enum vault_psp_event_kind on_failure;
} k_events[] = {
	{ "AUTHORISATION", VAULT_EV_AUTHORIZATION_SUCCEEDED, VAULT_EV_AUTHORIZATION_FAILED },
	{ "CAPTURE", VAULT_EV_CAPTURE_SUCCEEDED, VAULT_EV_CAPTURE_FAILED },
	{ "CAPTURE_FAILED", VAULT_EV_CAPTURE_FAILED, VAULT_EV_OTHER },
	{ "CANCELLATION", VAULT_EV_CANCEL_SUCCEEDED, VAULT_EV_OTHER },
	{ "REFUND", VAULT_EV_REFUND_SUCCEEDED, VAULT_EV_REFUND_FAILED },
	{ "REFUND_FAILED", VAULT_EV_REFUND_FAILED, VAULT_EV_OTHER },
	{ "CHARGEBACK", VAULT_EV_DISPUTE_CREATED, VAULT_EV_OTHER },
	{ "NOTIFICATION_OF_CHARGEBACK", VAULT_EV_DISPUTE_CREATED, VAULT_EV_OTHER },
};

/* A notification item's string field, "" when absent (the signing string
 * uses empty strings for absent fields). */
static const char *item_str(const json_t *item, const char *name)
{
	const char *s = json_string_value(json_object_get(item, name));

	return s != NULL ? s : "";
}

int vault_adyen_item_hmac(const char *hex_key, const struct json_t *item, char *out, size_t cap)
{
	const json_t *amount = json_object_get(item, "amount");
	const json_t *value = json_object_get(amount, "value");
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	unsigned char *key = NULL;
	unsigned char mac[32];
	char *msg = NULL;
	char vbuf[32] = "";
	size_t key_cap = 0;
	size_t key_len = 0;
	size_t mlen = 0;
	int n = 0;
	int ret = -1;

	if (hex_key == NULL || !json_is_object(item) || out == NULL || md == NULL
	    || cap < sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	if (value != NULL && !json_is_integer(value))
		return -1;
	key_cap = strlen(hex_key) / 2 + 1;
	key = sr_secret_alloc(key_cap);
	if (key == NULL || key_cap < 2
	    || sodium_hex2bin(key, key_cap, hex_key, strlen(hex_key), NULL, &key_len, NULL) != 0
	    || key_len == 0)
		goto out;
	mlen = 1024;
	msg = malloc(mlen);
	if (msg == NULL)
		goto out;
	/* An absent value is an empty field, not "0". */
	if (value != NULL)
		snprintf(vbuf, sizeof vbuf, "%lld", (long long)json_integer_value(value));
	n = snprintf(msg, mlen, "%s:%s:%s:%s:%s:%s:%s:%s",
	             item_str(item, "pspReference"), item_str(item, "originalReference"),
	             item_str(item, "merchantAccountCode"), item_str(item, "merchantReference"),
	             vbuf, item_str(amount, "currency"), item_str(item, "eventCode"),
	             item_str(item, "success"));
	if (n < 0 || (size_t)n >= mlen)
		goto out;
	if (mbedtls_md_hmac(md, key, key_len, (const unsigned char *)msg, (size_t)n, mac) != 0)
		goto out;
	sodium_bin2base64(out, cap, mac, sizeof mac, sodium_base64_VARIANT_ORIGINAL);
	ret = 0;
out:
	sodium_memzero(mac, sizeof mac);
	sr_secret_free(key);
	free(msg);
	return ret;
}

/* notificationItems[i].NotificationRequestItem, or NULL. */
static const json_t *notification_item(const json_t *root, size_t i)
{
	const json_t *items = json_object_get(root, "notificationItems");

	return json_object_get(json_array_get(items, i), "NotificationRequestItem");
}

int adyen_webhook_account(const struct vault_connector *self, const char *body, size_t len,
                          char *account, size_t cap)
{
	json_t *root = NULL;
	const json_t *item = NULL;
	const char *acct = NULL;
	int ret = -1;

	(void)self;
	if (account == NULL || cap == 0 || body == NULL)
		return -1;
	account[0] = '\0';
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(json_object_get(root, "notificationItems")))
		goto out;
	item = notification_item(root, 0);
	if (!json_is_object(item))
		goto out;
	acct = json_string_value(json_object_get(item, "merchantAccountCode"));
	if (acct != NULL && strlen(acct) < cap && strpbrk(acct, "\r\n\"\\") == NULL)
		snprintf(account, cap, "%s", acct);
	ret = 0;
out:
	json_decref(root);
	return ret;
}

/* The webhook_payment hook: item 0's payment, as adyen_webhook_events reads it. */
int adyen_webhook_payment(const struct vault_connector *self, const char *body, size_t len,
                          char *ref, size_t cap)
{
	json_t *root = NULL;
	const json_t *item = NULL;
	const char *orig = NULL;

	(void)self;
	if (ref == NULL || cap == 0)
		return -1;
	ref[0] = '\0';
	root = body != NULL ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	item = notification_item(root, 0);
	orig = item_str(item, "originalReference");
	if (vault_psp_ident_copy(ref, cap, orig[0] != '\0' ? orig : item_str(item, "pspReference")) != 0)
		ref[0] = '\0';
	json_decref(root);
	return 0;
}

/* "2026-11-22T01:02:03+01:00" (ISO 8601 with offset or Z) -> unix seconds; 0 when unparsable. */
static long long parse_event_date(const char *s)
{
	struct tm tm;
	int y = 0, mo = 0, d = 0, hh = 0, mm = 0, ss = 0, oh = 0, om = 0;
	char sign = 'Z';
	long long t = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &hh, &mm, &ss) != 6
	    || strlen(s) < 19)
		return 0;
	s += 19;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (*s == '+' || *s == '-') {
		sign = *s;
		if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2)
			return 0;
	} else if (*s != 'Z') {
		return 0;
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = (long long)timegm(&tm);
	if (sign == '+')
		t -= oh * 3600 + om * 60;
	else if (sign == '-')
		t += oh * 3600 + om * 60;
	return t;
}

int adyen_webhook_events(const struct vault_connector *self, const char *secret,
                         const char *signature, const char *body, size_t len, long long now,
                         struct vault_psp_event *ev, size_t max, size_t *n, char *err,
                         size_t errlen)
{
	const struct adyen_state *st = self != NULL ? self->cfg : NULL;
	const char *key = secret != NULL ? secret : st != NULL ? st->hmac_key : NULL;
	json_t *root = NULL;
	const json_t *items = NULL;
	const json_t *item = NULL;
	const char *sig = NULL;
	const char *code = NULL;
	const char *success = NULL;
	const char *orig = NULL;
	const char *psp = NULL;
	const char *cur = NULL;
	char want[64];
	size_t count = 0;
	size_t i = 0;
	size_t k = 0;
	int ret = -3;

	(void)signature;  /* Adyen signs each item, not the delivery */
	(void)now;        /* no timestamp tolerance in Adyen's scheme */
	if (n != NULL)
		*n = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (body == NULL || ev == NULL || n == NULL) {
		vault_connector_seterr(err, errlen, "adyen: malformed notification");
		return -3;
	}
	if (key == NULL || key[0] == '\0') {
		vault_connector_seterr(err, errlen, "adyen: no HMAC key to verify with");
		return -1;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	items = json_object_get(root, "notificationItems");
	count = json_array_size(items);
	if (!json_is_array(items) || count == 0 || count > max) {
		vault_connector_seterr(err, errlen, "adyen: malformed notification (notificationItems)");
		goto out;
	}
	/* Every item must verify before any is used. */
	for (i = 0; i < count; i++) {
		item = notification_item(root, i);
		if (!json_is_object(item) || json_string_value(json_object_get(item, "pspReference")) == NULL
		    || json_string_value(json_object_get(item, "eventCode")) == NULL
		    || json_string_value(json_object_get(item, "success")) == NULL) {
			vault_connector_seterr(err, errlen, "adyen: malformed notification item");
			goto out;
		}
		sig = json_string_value(json_object_get(json_object_get(item, "additionalData"),
		                                        "hmacSignature"));
		if (vault_adyen_item_hmac(key, item, want, sizeof want) != 0) {
			vault_connector_seterr(err, errlen, "adyen: notification item cannot be verified");
			goto out;
		}
		/* Constant-time compare of the base64 texts (same length first). */
		if (sig == NULL || strlen(sig) != strlen(want) || sodium_memcmp(sig, want, strlen(want)) != 0) {
			vault_connector_seterr(err, errlen, "adyen: bad notification HMAC");
			ret = -1;
			goto out;
		}
	}
	for (i = 0; i < count; i++) {
		struct vault_psp_event *e = &ev[i];

		item = notification_item(root, i);
		memset(e, 0, sizeof *e);
		code = item_str(item, "eventCode");
		success = item_str(item, "success");
		psp = item_str(item, "pspReference");
		orig = item_str(item, "originalReference");
		e->kind = VAULT_EV_OTHER;
		for (k = 0; k < sizeof k_events / sizeof k_events[0]; k++)
			if (strcmp(k_events[k].event_code, code) == 0)
				e->kind = strcmp(success, "true") == 0 ? k_events[k].on_success
				                                       : k_events[k].on_failure;
		if (snprintf(e->event_id, sizeof e->event_id, "%s:%s:%s", code, psp, success)
		    >= (int)sizeof e->event_id) {
			vault_connector_seterr(err, errlen, "adyen: notification identifiers too long");
			goto out;
		}
		/* The payment: originalReference for modifications, else pspReference. */
		if (vault_psp_ident_copy(e->psp_reference, sizeof e->psp_reference, orig[0] != '\0' ? orig : psp) != 0) {
			vault_connector_seterr(err, errlen, "adyen: malformed pspReference");
			goto out;
		}
		if (e->kind == VAULT_EV_REFUND_SUCCEEDED || e->kind == VAULT_EV_REFUND_FAILED
		    || e->kind == VAULT_EV_DISPUTE_CREATED || e->kind == VAULT_EV_CAPTURE_SUCCEEDED
		    || e->kind == VAULT_EV_CAPTURE_FAILED)
			(void)vault_psp_ident_copy(e->reference, sizeof e->reference, psp);
		e->amount = (long long)json_integer_value(json_object_get(json_object_get(item, "amount"),
		                                                          "value"));
		cur = item_str(json_object_get(item, "amount"), "currency");
		if (strlen(cur) == 3)
			for (k = 0; k < 3; k++)
				e->currency[k] = (char)(cur[k] >= 'A' && cur[k] <= 'Z' ? cur[k] - 'A' + 'a' : cur[k]);
		if (e->kind == VAULT_EV_AUTHORIZATION_FAILED)
			snprintf(e->failure_code, sizeof e->failure_code, "%s",
			         adyen_refusal_by_reason(item_str(item, "reason")));
		else if (e->kind == VAULT_EV_CAPTURE_FAILED || e->kind == VAULT_EV_REFUND_FAILED)
			snprintf(e->failure_code, sizeof e->failure_code, "processing_error");
		e->created = parse_event_date(json_string_value(json_object_get(item, "eventDate")));
	}
	*n = count;
	ret = 0;
out:
	if (ret != 0)
		memset(ev, 0, sizeof *ev * (count > 0 && count <= max ? count : 1));
	json_decref(root);
	return ret;
}

