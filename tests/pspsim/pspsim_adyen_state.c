/*
 * pspsim_adyen_state: the Adyen dialect's state (pspsim_adyen_sim.h):
 * set up from the configuration and from the journal at start (kinds
 * "adyen_payment" and "adyen_idem", pspsim_store.h), its counters for GET
 * /_sim/stats, its payments for audits (GET /_sim/intents), freed at exit.
 * The entry points are declared in pspsim.h. Test and demo only.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "tests/pspsim/pspsim.h"
#include "tests/pspsim/pspsim_adyen_sim.h"
#include "tests/pspsim/pspsim_store.h"

struct adyen_sim g_adyen = { .lock = PTHREAD_MUTEX_INITIALIZER };

json_t *pspsim_adyen_stats(void)
{
	json_t *s = NULL;

	pthread_mutex_lock(&g_adyen.lock);
	s = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	              "adyen_payments", (json_int_t)g_adyen.n_payments,
	              "adyen_authorised", (json_int_t)g_adyen.n_authorised,
	              "adyen_unavailable", (json_int_t)g_adyen.n_unavailable,
	              "adyen_replays", (json_int_t)g_adyen.n_replays,
	              "adyen_captures", (json_int_t)g_adyen.n_captures,
	              "adyen_cancels", (json_int_t)g_adyen.n_cancels,
	              "adyen_refunds", (json_int_t)g_adyen.n_refunds,
	              "adyen_dropped", (json_int_t)g_adyen.n_dropped);
	pthread_mutex_unlock(&g_adyen.lock);
	return s;
}

/* Journal records read back at start (pspsim_store.h). */
static int load_payment(const char *id, json_t *v, void *arg)
{
	(void)arg;
	if (!json_is_string(json_object_get(v, "resultCode")) ||
	    !json_is_integer(json_object_get(json_object_get(v, "amount"), "value")))
		return -1;
	if (!json_is_array(json_object_get(v, "modifications")))
		json_object_set_new(v, "modifications", json_array());
	return json_object_set(g_adyen.payments, id, v);
}

static int load_idem(const char *id, json_t *v, void *arg)
{
	(void)arg;
	if (!json_is_string(json_object_get(v, "hash")) || !json_is_integer(json_object_get(v, "status")) ||
	    !json_is_string(json_object_get(v, "body")))
		return -1;
	return json_object_set(g_adyen.idem, id, v);
}

json_t *pspsim_adyen_audit(long long since)
{
	json_t *out = json_array();
	const char *psp = NULL;
	json_t *p = NULL;

	if (out == NULL)
		return NULL;
	pthread_mutex_lock(&g_adyen.lock);
	if (g_adyen.ready) {
		json_object_foreach(g_adyen.payments, psp, p) {
			if (json_integer_value(json_object_get(p, "created")) < since)
				continue;
			json_array_append_new(out, json_pack("{s:s, s:O, s:O, s:O, s:O, s:O?, s:O?, s:O, s:O?, s:O?, s:O?}",
			                      "pspReference", psp, "amount", json_object_get(p, "amount"),
			                      "resultCode", json_object_get(p, "resultCode"),
			                      "captured", json_object_get(p, "captured"),
			                      "refunded", json_object_get(p, "refunded"),
			                      "created", json_object_get(p, "created"),
			                      "idempotency_key", json_object_get(p, "idempotency_key"),
			                      "modifications", json_object_get(p, "modifications"),
			                      "shopperStatement", json_object_get(p, "shopperStatement"),
			                      "networkTxReference", json_object_get(p, "networkTxReference"),
			                      "received", json_object_get(p, "received")));
		}
	}
	pthread_mutex_unlock(&g_adyen.lock);
	return out;
}

int pspsim_adyen_init(const char *api_key_file, const char *merchant_account,
                      const char *public_host, char *err, size_t errlen)
{
	char *key = NULL;
	size_t key_len = 0;

	if (api_key_file == NULL || merchant_account == NULL || strlen(merchant_account) >= sizeof g_adyen.merchant_account) {
		snprintf(err, errlen, "adyen_api_key_file and adyen_merchant_account are required together");
		return -1;
	}
	key = sr_secret_read_file(api_key_file, &key_len, err, errlen);
	if (key == NULL)
		return -1;
	sr_sha256_hex(key, key_len, g_adyen.key_hash);
	sr_secret_free(key);
	snprintf(g_adyen.merchant_account, sizeof g_adyen.merchant_account, "%s", merchant_account);
	snprintf(g_adyen.public_host, sizeof g_adyen.public_host, "%s", public_host);
	g_adyen.payments = json_object();
	g_adyen.idem = json_object();
	if (g_adyen.payments == NULL || g_adyen.idem == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (psim_store_each("adyen_payment", load_payment, NULL) != 0 ||
	    psim_store_each("adyen_idem", load_idem, NULL) != 0) {
		snprintf(err, errlen, "a journal record of the Adyen dialect is malformed");
		return -1;
	}
	g_adyen.ready = true;
	return 0;
}

void pspsim_adyen_set_redirect_port(unsigned port)
{
	g_adyen.redirect_port = port;
}

void pspsim_adyen_free(void)
{
	json_decref(g_adyen.payments);
	json_decref(g_adyen.idem);
	g_adyen.payments = NULL;
	g_adyen.idem = NULL;
	g_adyen.ready = false;
}
