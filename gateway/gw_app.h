/*
 * gw_app: the gatewayd application context handed to every handler as
 * req->app (struct sr_http_request). Immutable after start-up except through
 * the thread-safe objects it points to.
 */
#ifndef GW_APP_H
#define GW_APP_H
#include <jansson.h>
#include "gateway/api/gw_source.h"

struct sr_db_pool;
struct gw_vault_client;
struct gw_ratelimit;

struct gw_app {
	struct sr_db_pool *db;          /* connections as role gateway */
	struct gw_vault_client *vault;  /* mTLS client for the vault internal listener */
	json_t *cfg;                    /* the loaded config (borrowed by handlers) */
	struct gw_ratelimit *ratelimit; /* per merchant and endpoint, once authenticated
	                                 * (issue 4, ADR 0109); NULL: off */
	struct gw_ratelimit *ratelimit_ip; /* per client address and endpoint, before
	                                    * authentication (ADR 0109); NULL: off */
	unsigned char *webhook_key;     /* issue 5: seals webhook signing secrets (ADR 0100); NULL: webhooks off */
	struct gw_cidr trusted_proxies[GW_CIDR_MAX]; /* issue 28: whose X-Forwarded-For is
	                                              * read (ADR 0119) */
	size_t n_trusted_proxies;       /* 0: the client is always the TCP peer */
	char instance_id[32];           /* issue 16: owner of this process's claims (gw_instance, ADR 0113) */
};

#endif
