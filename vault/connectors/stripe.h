/*
 * stripe: the connector for Stripe's published API (form-encoded
 * POST /v1/payment_methods, then POST /v1/payment_intents with confirm=true
 * and an Idempotency-Key), spoken to pspsim in development.
 */
#ifndef VAULT_CONNECTOR_STRIPE_H
#define VAULT_CONNECTOR_STRIPE_H
#include <stddef.h>
#include "vault/connector.h"

struct stripe_config {
	const char *host;          /* DNS name in the PSP's certificate and the allowlist, e.g. "psp.strongroom.test" */
	const char *addr;          /* IP to connect to, or NULL to resolve host */
	unsigned port;             /* e.g. 8446 */
	const char *api_key_file;  /* the PSP secret key (file, mode 0600); held in guarded memory */
};

/** Fill *out (name "stripe", authorize, cfg). @return 0, or -1 with err. */
int vault_stripe_init(struct vault_connector *out, const struct stripe_config *cfg,
                      char *err, size_t errlen);
/** Wipe the key and free what vault_stripe_init allocated. */
void vault_stripe_free(struct vault_connector *c);

/**
 * Map one Stripe response (HTTP status + JSON body of POST /v1/payment_intents)
 * to a normalized result. Exposed for unit tests. @return 0, or -1 when the
 * body is not a Stripe answer (then res->status = VAULT_AUTH_UNKNOWN).
 */
int vault_stripe_map_intent(int http_status, const char *body, struct vault_auth_result *res);

#endif
