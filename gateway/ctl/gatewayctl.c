/*
 * gatewayctl: gateway administration (app host).
 *
 *   gatewayctl --config FILE merchant create --name NAME [--origin ORIGIN]...
 *   gatewayctl --config FILE merchant origins --id MERCHANT [--origin ORIGIN]...
 *   gatewayctl --config FILE merchant list
 *   gatewayctl --config FILE key create --merchant ID --role ROLE
 *   gatewayctl --config FILE key roll --key-id N [--expires-in DURATION]
 *   gatewayctl --config FILE key allow --key-id N --source CIDR[,CIDR...]|any
 *   gatewayctl --config FILE key revoke --key-id N
 *   gatewayctl --config FILE key list --merchant ID
 *   gatewayctl --config FILE audit verify
 *   gatewayctl --config FILE webhooks add --merchant ID --url URL --event EVENT...
 *   gatewayctl --config FILE webhooks list --merchant ID
 *   gatewayctl --config FILE webhooks delete --merchant ID --id ENDPOINT
 *   gatewayctl --help
 *
 * "merchant create" makes the merchant, a publishable (pk_) and a secret (sk_)
 * key — only their SHA-256 is stored (PCI DSS v4.0 8.3.2) — registers the pk_
 * hash with the vault over mutual TLS, and prints the keys once as JSON.
 * "--origin https://shop.example" (repeatable) registers the browser origins
 * of the merchant's payment pages with the vault: only they may frame the
 * hosted card fields and call POST /v1/tokens from a browser (issue 6).
 * "merchant origins" replaces them (none given: removes them all).
 */
#include "gateway/audit/gw_audit.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_source.h"
#include "gateway/store/gw_store_keys.h"
#include "gateway/gw_config.h"
#include "gateway/store/gw_store.h"
#include "gateway/vault_client/gw_vault_client.h"
#include "gateway/store/gw_store_webhooks.h"
#include "gateway/events/gw_webhook_endpoint.h"
#include "common/sr_config.h"
#include "common/sr_db.h"
#include "common/sr_log.h"
#include "common/sr_secret.h"
#include "common/sr_util.h"
#include "common/sr_version.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

static void usage(FILE *f)
{
	fprintf(f,
	        "NAME\n"
	        "    gatewayctl - Strongroom gateway administration (application host)\n"
	        "\n"
	        "SYNOPSIS\n"
	        "    gatewayctl --config FILE merchant create --name NAME [--origin ORIGIN]...\n"
	        "    gatewayctl --config FILE merchant origins --id MERCHANT [--origin ORIGIN]...\n"
	        "    gatewayctl --config FILE merchant list\n"
	        "    gatewayctl --config FILE key create --merchant ID --role ROLE\n"
	        "    gatewayctl --config FILE key roll --key-id N [--expires-in DURATION]\n"
	        "    gatewayctl --config FILE key allow --key-id N --source CIDR[,CIDR...]|any\n"
	        "    gatewayctl --config FILE key revoke --key-id N\n"
	        "    gatewayctl --config FILE key list --merchant ID\n"
	        "    gatewayctl --config FILE audit verify\n"
	        "    gatewayctl --config FILE audit anchor --transcript-head HEX --lines N\n"
	        "    gatewayctl --config FILE audit anchors\n"
	        "    gatewayctl --config FILE webhooks add --merchant ID --url URL --event EVENT...\n"
	        "    gatewayctl --config FILE webhooks list --merchant ID\n"
	        "    gatewayctl --config FILE webhooks delete --merchant ID --id ENDPOINT\n"
	        "    gatewayctl --help [merchant create|merchant origins|merchant list]\n"
	        "\n"
	        "COMMANDS\n"
	        "    merchant create  create a merchant with a publishable and a secret key,\n"
	        "                     register it with the vault, print the keys once\n"
	        "    merchant origins replace the merchant's registered browser origins\n"
	        "                     with the --origin values (none: remove them all)\n"
	        "    merchant list    list merchants and their key prefixes as JSON\n"
	        "    key create       a new secret key with ROLE (admin, payments, finance,\n"
	        "                     read_only); prints {\"id\",\"secret_key\",\"role\"} once\n"
	        "    key roll         replace key N by a new one (same merchant, role and\n"
	        "                     allowed sources); the old one keeps working for\n"
	        "                     --expires-in (default 24h; 0: stops at once)\n"
	        "    key allow        key N may be used only from the --source networks\n"
	        "                     (IPv4 and IPv6, at most 64; \"any\": from anywhere);\n"
	        "                     prints them in canonical form\n"
	        "    key revoke       refuse key N from now on\n"
	        "    key list         the merchant's keys (prefixes, roles, expiry, allowed\n"
	        "                     sources, last use and its address; never keys)\n"
	        "    audit verify     check the audit chain; prints the first altered, removed\n"
	        "                     or reordered record; exit 0 intact, 1 not, 2 usage/error\n"
	        "    audit anchor     record a key ceremony transcript's head (vaultctl ceremony\n"
	        "                     verify prints it) in the audit chain, out of the vault\n"
	        "                     host's reach (ADR 0117)\n"
	        "    audit anchors    the anchored transcript heads as JSON\n"
	        "    webhooks add     register a webhook endpoint (https URL) for the --event\n"
	        "                     names (or \"*\"); prints it with its signing secret\n"
	        "                     \"whsec_...\" once (needs webhook_secret_key_file)\n"
	        "    webhooks list    the merchant's endpoints (never a secret)\n"
	        "    webhooks delete  stop sending events to endpoint --id\n"
	        "\n"
	        "OPTIONS\n"
	        "    --config FILE    gatewayd's configuration (db_* and vault_* keys are used;\n"
	        "                     see docs/configuration.md)\n"
	        "    --name NAME      the merchant's display name (merchant create)\n"
	        "    --id MERCHANT    the merchant (merchant origins)\n"
	        "    --origin ORIGIN  a payment page's origin, e.g. https://shop.example\n"
	        "                     (http:// only for localhost and 127.0.0.1): it may\n"
	        "                     frame the vault's card fields and tokenize from a\n"
	        "                     browser. Repeatable, at most 16.\n"
	        "    --merchant ID    the merchant (key create, key list)\n"
	        "    --role ROLE      admin, payments, finance or read_only (key create)\n"
	        "    --key-id N       the key (key roll, key allow, key revoke)\n"
	        "    --expires-in D   how long a rolled key keeps working: seconds, or a\n"
	        "                     number with s, m, h or d, at most 30d (key roll;\n"
	        "                     --grace SECONDS is the same)\n"
	        "    --source LIST    addresses or networks ADDRESS/LEN separated by commas,\n"
	        "                     or \"any\" (key allow)\n"
	        "    --url URL        the endpoint's https URL (webhooks add)\n"
	        "    --transcript-head HEX  64 hex digits (audit anchor)\n"
	        "    --lines N        the transcript's line count at that head (audit anchor)\n"
	        "    --event EVENT    a merchant event name, e.g. payment.captured, or \"*\"\n"
	        "                     (webhooks add; repeatable, at most 16)\n"
	        "    --help           this text, or one command's\n"
	        "\n"
	        "EXIT STATUS\n"
	        "    0 ok, 1 operational error, 2 usage error\n");
}

static int command_help(int n, char **args)
{
	if (n >= 2 && strcmp(args[0], "merchant") == 0 && strcmp(args[1], "create") == 0) {
		printf("NAME\n    gatewayctl merchant create - create a merchant and its API keys\n\n"
		       "SYNOPSIS\n    gatewayctl --config FILE merchant create --name NAME\n\n"
		       "DESCRIPTION\n    Creates the merchant, a publishable key (pk_...) and a secret\n"
		       "    key (sk_...); only their SHA-256 is stored (PCI DSS 8.3.2). The pk_\n"
		       "    hash is registered with the vault over mutual TLS. Prints\n"
		       "    {\"id\",\"name\",\"publishable_key\",\"secret_key\"} on stdout: the only\n"
		       "    time the keys are shown.\n");
		return 0;
	}
	if (n >= 2 && strcmp(args[0], "merchant") == 0 && strcmp(args[1], "origins") == 0) {
		printf("NAME\n    gatewayctl merchant origins - set a merchant's browser origins\n\n"
		       "SYNOPSIS\n    gatewayctl --config FILE merchant origins --id MERCHANT "
		       "[--origin ORIGIN]...\n\n"
		       "DESCRIPTION\n    Replaces the origins whose pages may frame the vault's card\n"
		       "    fields and tokenize from a browser (CORS, CSP frame-ancestors) with\n"
		       "    the --origin values; none removes them all. Prints\n"
		       "    {\"id\",\"allowed_origins\"}.\n");
		return 0;
	}
	if (n >= 2 && strcmp(args[0], "merchant") == 0 && strcmp(args[1], "list") == 0) {
		printf("NAME\n    gatewayctl merchant list - list merchants\n\n"
		       "SYNOPSIS\n    gatewayctl --config FILE merchant list\n\n"
		       "DESCRIPTION\n    Prints a JSON array of merchants with their key prefixes\n"
		       "    (never a full key).\n");
		return 0;
	}
	usage(stdout);
	return n == 0 ? 0 : 2;
}

static int merchant_create(const json_t *cfg, const char *name, json_t *origins)
{
	struct sr_db_pool *db = NULL;
	struct gw_vault_client *vc = NULL;
	PGconn *conn = NULL;
	char err[512];
	char id[72];
	char pk[128], sk[128];
	char pk_sha[65], sk_sha[65];
	char pk_disp[16], sk_disp[16];
	json_t *out = NULL;
	enum gw_vault_rc vrc;
	int began = 0;
	int rc = 1;

	if (name == NULL || name[0] == '\0' || strlen(name) > 200) {
		fprintf(stderr, "gatewayctl: --name NAME (1..200 characters) is required\n");
		return 2;
	}
	vc = gw_config_vault(cfg, err, sizeof err);
	if (vc == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		goto out;
	}
	db = gw_config_db(cfg, 1, err, sizeof err);
	if (db == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		goto out;
	}
	if (sr_random_id("mer_", 16, id, sizeof id) != 0 ||
	    gw_auth_key_generate("pk_test_", pk, sizeof pk, pk_sha, pk_disp) != 0 ||
	    gw_auth_key_generate("sk_test_", sk, sizeof sk, sk_sha, sk_disp) != 0) {
		fprintf(stderr, "gatewayctl: key generation failed\n");
		goto out;
	}
	conn = sr_db_acquire(db);
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto dberr;
	began = 1;
	if (gw_store_merchant_insert(conn, id, name) != 0 ||
	    gw_store_api_key_insert(conn, id, "publishable", pk_sha, pk_disp) != 0 ||
	    gw_store_api_key_insert(conn, id, "secret", sk_sha, sk_disp) != 0)
		goto dberr;
	/* Register the pk_ hash with the vault before committing: if the vault
	 * refuses, no half-made merchant is left behind. */
	vrc = json_array_size(origins) > 0
	      ? gw_vault_put_merchant_origins(vc, NULL, id, pk_sha, origins)
	      : gw_vault_put_merchant(vc, NULL, id, pk_sha);
	if (vrc != GW_VAULT_OK) {
		fprintf(stderr, "gatewayctl: registering the merchant with the vault failed (%s)\n",
		        gw_vault_rc_str(vrc));
		goto out;
	}
	if (sr_db_exec(conn, "COMMIT") != 0)
		goto dberr;
	began = 0;
	out = json_pack("{s:s, s:s, s:s, s:s, s:O}", "id", id, "name", name, "publishable_key", pk,
	                "secret_key", sk, "allowed_origins", origins);
	if (out == NULL || json_dumpf(out, stdout, JSON_COMPACT) != 0)
		goto out;
	fputc('\n', stdout);
	fflush(stdout);
	sr_log(SR_LOG_INFO, NULL, "merchant.created", "{s:s, s:s, s:s}", "merchant", id,
	       "publishable_prefix", pk_disp, "secret_prefix", sk_disp);
	rc = 0;
	goto out;
dberr:
	fprintf(stderr, "gatewayctl: database error\n");
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	if (conn != NULL)
		sr_db_release(db, conn);
	if (out != NULL) {
		/* The JSON holds the keys: drop it (jansson frees; strings wiped below). */
		json_decref(out);
	}
	sodium_memzero(pk, sizeof pk);
	sodium_memzero(sk, sizeof sk);
	sr_db_pool_free(db);
	gw_vault_client_free(vc);
	return rc;
}

static int merchant_origins(const json_t *cfg, const char *id, json_t *origins)
{
	struct sr_db_pool *db = NULL;
	struct gw_vault_client *vc = NULL;
	PGconn *conn = NULL;
	json_t *out = NULL;
	char err[512];
	char pk_sha[65];
	enum gw_vault_rc vrc;
	int found = 0;
	int rc = 1;

	if (id == NULL || strncmp(id, "mer_", 4) != 0 || strlen(id) > 68) {
		fprintf(stderr, "gatewayctl: --id MERCHANT (mer_...) is required\n");
		return 2;
	}
	vc = gw_config_vault(cfg, err, sizeof err);
	if (vc == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		goto out;
	}
	db = gw_config_db(cfg, 1, err, sizeof err);
	if (db == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		goto out;
	}
	conn = sr_db_acquire(db);
	found = gw_store_publishable_key_hash(conn, id, pk_sha);
	sr_db_release(db, conn);
	if (found <= 0) {
		fprintf(stderr, "gatewayctl: %s\n", found == 0 ? "no such merchant" : "database error");
		goto out;
	}
	vrc = gw_vault_put_merchant_origins(vc, NULL, id, pk_sha, origins);
	if (vrc != GW_VAULT_OK) {
		fprintf(stderr, "gatewayctl: the vault refused the origins (%s); each must be like "
		        "https://shop.example[:port]\n", gw_vault_rc_str(vrc));
		goto out;
	}
	out = json_pack("{s:s, s:O}", "id", id, "allowed_origins", origins);
	if (out == NULL || json_dumpf(out, stdout, JSON_COMPACT) != 0)
		goto out;
	fputc('\n', stdout);
	sr_log(SR_LOG_INFO, NULL, "merchant.origins_set", "{s:s, s:i}", "merchant", id,
	       "count", (int)json_array_size(origins));
	rc = 0;
out:
	json_decref(out);
	sr_db_pool_free(db);
	gw_vault_client_free(vc);
	return rc;
}

static int merchant_list(const json_t *cfg)
{
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	json_t *list = NULL;
	char err[512];
	int rc = 1;

	db = gw_config_db(cfg, 1, err, sizeof err);
	if (db == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		goto out;
	}
	conn = sr_db_acquire(db);
	list = gw_store_merchant_list(conn);
	sr_db_release(db, conn);
	if (list == NULL) {
		fprintf(stderr, "gatewayctl: database error\n");
		goto out;
	}
	if (json_dumpf(list, stdout, JSON_INDENT(2)) != 0)
		goto out;
	fputc('\n', stdout);
	rc = 0;
out:
	json_decref(list);
	sr_db_pool_free(db);
	return rc;
}

/* Record an operator action in the audit chain (actor: gatewayctl). */
static void audit_op(PGconn *conn, const char *merchant, const char *action, long long key_id,
                     const char *result)
{
	struct gw_audit_record rec;
	char target[48];

	memset(&rec, 0, sizeof rec);
	snprintf(target, sizeof target, "key:%lld", key_id);
	rec.merchant_id = merchant;
	rec.role = "operator";
	rec.action = action;
	rec.target = target;
	rec.result = result;
	rec.status = 0;
	if (gw_audit_append(conn, &rec) != 0)
		fprintf(stderr, "gatewayctl: warning: audit record not written\n");
}

static struct sr_db_pool *open_db(const json_t *cfg)
{
	char err[512];
	struct sr_db_pool *db = gw_config_db(cfg, 1, err, sizeof err);

	if (db == NULL)
		fprintf(stderr, "gatewayctl: %s\n", err);
	return db;
}

static int print_json(json_t *o)
{
	int rc = o != NULL && json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : 1;

	if (rc == 0)
		fputc('\n', stdout);
	fflush(stdout);
	return rc;
}

static int key_create(const json_t *cfg, const char *merchant, const char *role)
{
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	char sk[128], sha[65], disp[16];
	long long id = 0;
	json_t *out = NULL;
	int rc = 1;

	if (merchant == NULL || !gw_role_valid(role)) {
		fprintf(stderr, "gatewayctl: key create needs --merchant ID and --role "
		                "admin|payments|finance|read_only\n");
		return 2;
	}
	if ((db = open_db(cfg)) == NULL)
		return 1;
	if (gw_auth_key_generate("sk_test_", sk, sizeof sk, sha, disp) != 0)
		goto out;
	conn = sr_db_acquire(db);
	if (gw_store_key_insert(conn, merchant, role, sha, disp, &id) != 0) {
		fprintf(stderr, "gatewayctl: database error (unknown merchant?)\n");
		goto out;
	}
	audit_op(conn, merchant, "gatewayctl key create", id, "success");
	out = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "merchant", merchant,
	                "role", role, "secret_key", sk);
	rc = print_json(out);
out:
	json_decref(out);
	sodium_memzero(sk, sizeof sk);
	if (conn != NULL)
		sr_db_release(db, conn);
	sr_db_pool_free(db);
	return rc;
}

static int key_roll(const json_t *cfg, long long old_id, long long grace)
{
	struct sr_db_pool *db = NULL;
	struct gw_key_info ki;
	PGconn *conn = NULL;
	char sk[128], sha[65], disp[16];
	long long id = 0;
	json_t *out = NULL;
	int began = 0;
	int r;
	int rc = 1;

	if (old_id <= 0 || grace < 0 || grace > 30LL * 86400) {
		fprintf(stderr, "gatewayctl: key roll needs --key-id N and --expires-in 0..30d\n");
		return 2;
	}
	if ((db = open_db(cfg)) == NULL)
		return 1;
	if (gw_auth_key_generate("sk_test_", sk, sizeof sk, sha, disp) != 0)
		goto out;
	conn = sr_db_acquire(db);
	if (sr_db_exec(conn, "BEGIN") != 0)
		goto out;
	began = 1;
	r = gw_store_key_roll(conn, old_id, grace, sha, disp, &ki, &id);
	if (r != 0) {
		fprintf(stderr, "gatewayctl: %s\n", r == 1 ? "no such active secret key" : "database error");
		goto out;
	}
	if (sr_db_exec(conn, "COMMIT") != 0)
		goto out;
	began = 0;
	audit_op(conn, ki.merchant_id, "gatewayctl key roll", old_id, "success");
	out = json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:s}", "id", (json_int_t)id, "replaces",
	                (json_int_t)old_id, "merchant", ki.merchant_id, "role", ki.role,
	                "old_key_valid_for_s", (json_int_t)grace, "old_key_expires",
	                (json_int_t)ki.expires, "secret_key", sk);
	rc = print_json(out);
out:
	if (began)
		sr_db_exec(conn, "ROLLBACK");
	json_decref(out);
	sodium_memzero(sk, sizeof sk);
	if (conn != NULL)
		sr_db_release(db, conn);
	sr_db_pool_free(db);
	return rc;
}

/* DURATION: decimal seconds, or a number with s, m, h or d (no sign, no
 * spaces). @return the seconds, or -1 (not a duration or over 30 days). */
static long long parse_duration(const char *s)
{
	static const struct { char unit; long long secs; } UNITS[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	long long n = 0, mult = 1;
	size_t i, len = s != NULL ? strlen(s) : 0;

	if (len == 0 || len > 9)
		return -1;
	for (i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++)
		if (s[len - 1] == UNITS[i].unit) {
			mult = UNITS[i].secs;
			len--;
		}
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	n *= mult;
	return n <= 30LL * 86400 ? n : -1;
}

/* --key-id N: decimal digits only, no sign, space or suffix ("4,5" must not
 * quietly mean key 4). @return N (> 0), or -1. */
static long long parse_key_id(const char *s)
{
	long long n = 0;
	size_t i, len = s != NULL ? strlen(s) : 0;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return n > 0 ? n : -1;
}

/* key allow: the networks key id may be used from (ADR 0119). */
static int key_allow(const json_t *cfg, long long id, const char *sources)
{
	struct gw_cidr list[GW_CIDR_MAX];
	char canon[GW_CIDR_MAX * GW_CIDR_TEXT];
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	json_t *arr = NULL;
	size_t n = 0, bad = 0, i, used = 0;
	int any = sources != NULL && strcmp(sources, "any") == 0;
	int r;

	if (id <= 0 || sources == NULL) {
		fprintf(stderr, "gatewayctl: key allow needs --key-id N and --source CIDR[,CIDR...]|any\n");
		return 2;
	}
	if (!any && gw_cidr_list_parse(sources, list, GW_CIDR_MAX, &n, &bad) != 0) {
		if (bad == GW_CIDR_MAX)
			fprintf(stderr, "gatewayctl: --source: at most %d networks\n", GW_CIDR_MAX);
		else
			fprintf(stderr, "gatewayctl: --source: entry %zu is not an address or a network "
			                "ADDRESS/LEN without host bits\n", bad + 1);
		return 2;
	}
	arr = any ? json_null() : json_array();
	canon[0] = '\0';
	for (i = 0; i < n; i++) {
		char one[GW_CIDR_TEXT];

		if (gw_cidr_format(&list[i], false, one, sizeof one) != 0)
			goto fail;
		used += (size_t)snprintf(canon + used, sizeof canon - used, "%s%s", i > 0 ? "," : "", one);
		json_array_append_new(arr, json_string(one));
	}
	if ((db = open_db(cfg)) == NULL)
		goto fail;
	conn = sr_db_acquire(db);
	r = gw_store_key_allow(conn, id, any ? NULL : canon);
	if (r == 0)
		audit_op(conn, NULL, "gatewayctl key allow", id, "success");
	sr_db_release(db, conn);
	sr_db_pool_free(db);
	if (r != 0) {
		fprintf(stderr, "gatewayctl: %s\n", r == 1 ? "no such unrevoked secret key" : "database error");
		json_decref(arr);
		return 1;
	}
	arr = json_pack("{s:I, s:o}", "id", (json_int_t)id, "allowed_sources", arr);
	r = print_json(arr);
	json_decref(arr);
	return r;
fail:
	json_decref(arr);
	return 1;
}

static int key_revoke(const json_t *cfg, long long id)
{
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	int r;

	if (id <= 0) {
		fprintf(stderr, "gatewayctl: key revoke needs --key-id N\n");
		return 2;
	}
	if ((db = open_db(cfg)) == NULL)
		return 1;
	conn = sr_db_acquire(db);
	r = gw_store_key_revoke(conn, id);
	if (r == 0)
		audit_op(conn, NULL, "gatewayctl key revoke", id, "success");
	sr_db_release(db, conn);
	sr_db_pool_free(db);
	if (r != 0)
		fprintf(stderr, "gatewayctl: %s\n", r == 1 ? "no such unrevoked key" : "database error");
	else
		printf("{\"id\":%lld,\"revoked\":true}\n", id);
	return r == 0 ? 0 : 1;
}

static int key_list(const json_t *cfg, const char *merchant)
{
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	json_t *list = NULL;
	int rc = 1;

	if (merchant == NULL) {
		fprintf(stderr, "gatewayctl: key list needs --merchant ID\n");
		return 2;
	}
	if ((db = open_db(cfg)) == NULL)
		return 1;
	conn = sr_db_acquire(db);
	list = gw_store_key_list(conn, merchant);
	sr_db_release(db, conn);
	rc = print_json(list);
	json_decref(list);
	sr_db_pool_free(db);
	return rc;
}

/* webhooks add: the same checks and secret handling as POST /v1/webhook_endpoints. */
static int webhooks_add(const json_t *cfg, const char *merchant, const char *url, json_t *events)
{
	struct sr_db_pool *db = NULL;
	uint8_t *key = NULL;
	PGconn *conn = NULL;
	json_t *out = NULL;
	const char *why = NULL;
	const char *param = NULL;
	char err[512];
	int rc = 1;
	int r;

	if (merchant == NULL || url == NULL || json_array_size(events) == 0) {
		fprintf(stderr, "gatewayctl: webhooks add needs --merchant ID --url URL --event EVENT\n");
		return 2;
	}
	if (sr_config_str(cfg, "webhook_secret_key_file", NULL) == NULL) {
		fprintf(stderr, "gatewayctl: webhook_secret_key_file is not configured\n");
		return 1;
	}
	key = gw_webhook_key_load(sr_config_str(cfg, "webhook_secret_key_file", ""), err, sizeof err);
	if (key == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		return 1;
	}
	if ((db = open_db(cfg)) == NULL)
		goto out;
	conn = sr_db_acquire(db);
	r = gw_webhook_endpoint_create(conn, key, merchant, url, events,
	                               sr_config_int(cfg, "webhook_allow_private", 0) != 0, &out, &why,
	                               &param);
	sr_db_release(db, conn);
	if (r == 1) {
		fprintf(stderr, "gatewayctl: %s\n", why);
		rc = 2;
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "gatewayctl: database error (unknown merchant?)\n");
		goto out;
	}
	rc = print_json(out);
out:
	json_decref(out);
	sr_db_pool_free(db);
	sr_secret_free(key);
	return rc;
}

static int webhooks_list(const json_t *cfg, const char *merchant)
{
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	json_t *list = NULL;
	int rc;

	if (merchant == NULL) {
		fprintf(stderr, "gatewayctl: webhooks list needs --merchant ID\n");
		return 2;
	}
	if ((db = open_db(cfg)) == NULL)
		return 1;
	conn = sr_db_acquire(db);
	list = gw_store_webhook_endpoint_list(conn, merchant);
	sr_db_release(db, conn);
	rc = print_json(list);
	json_decref(list);
	sr_db_pool_free(db);
	return rc;
}

static int webhooks_delete(const json_t *cfg, const char *merchant, const char *id)
{
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	int r;

	if (merchant == NULL || id == NULL) {
		fprintf(stderr, "gatewayctl: webhooks delete needs --merchant ID --id ENDPOINT\n");
		return 2;
	}
	if ((db = open_db(cfg)) == NULL)
		return 1;
	conn = sr_db_acquire(db);
	r = gw_store_webhook_endpoint_delete(conn, id, merchant);
	sr_db_release(db, conn);
	sr_db_pool_free(db);
	if (r != 0) {
		fprintf(stderr, "gatewayctl: %s\n", r == 1 ? "no such webhook endpoint" : "database error");
		return 1;
	}
	printf("{\"id\": \"%s\", \"deleted\": true}\n", id);
	return 0;
}

static int audit_verify(const json_t *cfg)
{
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	json_t *report = NULL;
	int r;

	if ((db = open_db(cfg)) == NULL)
		return 2;
	conn = sr_db_acquire(db);
	r = gw_audit_verify(conn, &report);
	sr_db_release(db, conn);
	sr_db_pool_free(db);
	if (r < 0) {
		fprintf(stderr, "gatewayctl: database error\n");
		return 2;
	}
	print_json(report);
	json_decref(report);
	return r == 0 ? 0 : 1;
}

#define ANCHOR_ACTION "ceremony transcript anchor"

/*
 * audit anchor: a key ceremony transcript's head (64 hex) and line count as
 * one record of the audit chain (target "transcript-head:HEX;lines:N"): the
 * vault host, which could re-sign its own transcript, cannot rewrite the
 * gateway's database (ADR 0117; PCI DSS v4.0 3.6.1, 10.3.2).
 */
static int audit_anchor(const json_t *cfg, const char *head, long long lines)
{
	struct gw_audit_record rec;
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	char target[96];
	size_t i;
	int r;

	for (i = 0; head != NULL && i < 64 && ((head[i] >= '0' && head[i] <= '9') ||
	                                       (head[i] >= 'a' && head[i] <= 'f')); i++)
		;
	if (head == NULL || i != 64 || head[64] != '\0' || lines < 1 || lines > 100000000) {
		fprintf(stderr, "gatewayctl: audit anchor needs --transcript-head (64 lower-case hex "
		        "digits) and --lines N (1 or more)\n");
		return 2;
	}
	snprintf(target, sizeof target, "transcript-head:%s;lines:%lld", head, lines);
	memset(&rec, 0, sizeof rec);
	rec.role = "operator";
	rec.action = ANCHOR_ACTION;
	rec.target = target;
	rec.result = "success";
	if ((db = open_db(cfg)) == NULL)
		return 1;
	conn = sr_db_acquire(db);
	r = gw_audit_append(conn, &rec);
	sr_db_release(db, conn);
	sr_db_pool_free(db);
	if (r != 0) {
		fprintf(stderr, "gatewayctl: the anchor was not recorded\n");
		return 1;
	}
	printf("{\"seq\": %lld, \"transcript_head\": \"%s\", \"lines\": %lld}\n", rec.seq, head,
	       lines);
	return 0;
}

/* audit anchors: the anchored transcript heads, oldest first, as JSON. */
static int audit_anchors(const json_t *cfg)
{
	const char *params[1] = { ANCHOR_ACTION };
	struct sr_db_pool *db = NULL;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	json_t *out = json_array();
	int i, rc = 1;

	if (out == NULL || (db = open_db(cfg)) == NULL)
		goto done;
	conn = sr_db_acquire(db);
	res = PQexecParams(conn, "SELECT seq, ts, target FROM audit_events WHERE action = $1 "
	                   "ORDER BY seq", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "gatewayctl: database error\n");
		goto done;
	}
	for (i = 0; i < PQntuples(res); i++) {
		char head[65] = "";
		long long lines = 0;

		if (sscanf(PQgetvalue(res, i, 2), "transcript-head:%64[0-9a-f];lines:%lld", head,
		           &lines) != 2)
			continue;
		json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:I}", "seq",
		                                     (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL,
		                                                         10),
		                                     "ts", PQgetvalue(res, i, 1), "transcript_head",
		                                     head, "lines", (json_int_t)lines));
	}
	rc = print_json(out);
done:
	PQclear(res);
	if (conn != NULL)
		sr_db_release(db, conn);
	sr_db_pool_free(db);
	json_decref(out);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option LONGOPTS[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "origin", required_argument, NULL, 'o' },
		{ "id", required_argument, NULL, 'd' },
		{ "merchant", required_argument, NULL, 'm' },
		{ "role", required_argument, NULL, 'r' },
		{ "key-id", required_argument, NULL, 'i' },
		{ "grace", required_argument, NULL, 'g' },
		{ "expires-in", required_argument, NULL, 'g' },
		{ "source", required_argument, NULL, 's' },
		{ "url", required_argument, NULL, 'u' },
		{ "event", required_argument, NULL, 'e' },
		{ "transcript-head", required_argument, NULL, 'H' },
		{ "lines", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, SR_OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	const char *head = NULL;
	long long lines = 0;
	const char *name = NULL;
	const char *id = NULL;
	json_t *origins = json_array();
	json_t *events = json_array();
	const char *url = NULL;
	const char *merchant = NULL;
	const char *role = NULL;
	long long key_id = 0;
	long long grace = 86400;
	const char *sources = NULL;
	json_t *cfg = NULL;
	char err[512];
	int opt;
	int rc = 2;
	int want_help = 0;

	sr_log_init("gatewayctl");
	/* "+"-less getopt_long permutes, so options may follow the subcommand. */
	if (origins == NULL || events == NULL)
		return 1;
	while ((opt = getopt_long(argc, argv, "c:n:o:d:m:r:i:g:s:u:e:H:L:h", LONGOPTS, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'o':
			json_array_append_new(origins, json_string(optarg));
			break;
		case 'd':
			id = optarg;
			break;
		case 'm':
			merchant = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 'i':
			key_id = parse_key_id(optarg); /* -1: refused by each command */
			break;
		case 'g':
			grace = parse_duration(optarg); /* -1: refused by key roll */
			break;
		case 's':
			sources = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'e':
			json_array_append_new(events, json_string(optarg));
			break;
		case 'H':
			head = optarg;
			break;
		case 'L':
			lines = strtoll(optarg, NULL, 10);
			break;
		case 'h':
			want_help = 1;
			break;
		case SR_OPT_VERSION:
			json_decref(origins);
			json_decref(events);
			return sr_version_print("gatewayctl");
		default:
			usage(stderr);
			json_decref(origins);
			json_decref(events);
			return 2;
		}
	}
	if (want_help) {
		json_decref(origins);
		json_decref(events);
		return command_help(argc - optind, argv + optind);
	}
	if (config_path == NULL || argc - optind != 2 ||
	    (strcmp(argv[optind], "merchant") != 0 && strcmp(argv[optind], "key") != 0 &&
	     strcmp(argv[optind], "audit") != 0 && strcmp(argv[optind], "webhooks") != 0)) {
		usage(stderr);
		json_decref(origins);
		json_decref(events);
		return 2;
	}
	cfg = gw_config_load(config_path, err, sizeof err);
	if (cfg == NULL) {
		fprintf(stderr, "gatewayctl: %s\n", err);
		json_decref(origins);
		json_decref(events);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "gatewayctl: libcurl initialisation failed\n");
		json_decref(cfg);
		json_decref(origins);
		json_decref(events);
		return 1;
	}
	if (strcmp(argv[optind], "key") == 0) {
		const char *sub = argv[optind + 1];

		if (strcmp(sub, "create") == 0)
			rc = key_create(cfg, merchant, role);
		else if (strcmp(sub, "roll") == 0)
			rc = key_roll(cfg, key_id, grace);
		else if (strcmp(sub, "allow") == 0)
			rc = key_allow(cfg, key_id, sources);
		else if (strcmp(sub, "revoke") == 0)
			rc = key_revoke(cfg, key_id);
		else if (strcmp(sub, "list") == 0)
			rc = key_list(cfg, merchant);
		else
			usage(stderr);
	} else if (strcmp(argv[optind], "audit") == 0) {
		if (strcmp(argv[optind + 1], "verify") == 0)
			rc = audit_verify(cfg);
		else if (strcmp(argv[optind + 1], "anchor") == 0)
			rc = audit_anchor(cfg, head, lines);
		else if (strcmp(argv[optind + 1], "anchors") == 0)
			rc = audit_anchors(cfg);
		else
			usage(stderr);
	} else if (strcmp(argv[optind], "webhooks") == 0) {
		const char *sub = argv[optind + 1];

		if (strcmp(sub, "add") == 0)
			rc = webhooks_add(cfg, merchant, url, events);
		else if (strcmp(sub, "list") == 0)
			rc = webhooks_list(cfg, merchant);
		else if (strcmp(sub, "delete") == 0)
			rc = webhooks_delete(cfg, merchant, id);
		else
			usage(stderr);
	} else if (strcmp(argv[optind + 1], "create") == 0 && id == NULL) {
		rc = merchant_create(cfg, name, origins);
	} else if (strcmp(argv[optind + 1], "origins") == 0 && name == NULL) {
		rc = merchant_origins(cfg, id, origins);
	} else if (strcmp(argv[optind + 1], "list") == 0 && name == NULL) {
		rc = merchant_list(cfg);
	} else {
		usage(stderr);
		rc = 2;
	}
	curl_global_cleanup();
	json_decref(cfg);
	json_decref(origins);
	json_decref(events);
	return rc;
}
