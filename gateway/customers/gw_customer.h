/*
 * gw_customer: customers as objects (issue 19 item 2, ADR 0128), shaped like
 * Stripe's Customer (https://docs.stripe.com/api/customers/object): id
 * "cus_" + 22 base62, email, name, description, metadata, default_source
 * (one of the customer's saved cards, card_ ids of the vault), created.
 * The shopper's details are merchant text: each is screened for card
 * numbers (common/sr_panscan.h, on top of the dispatch screen, ADR 0106)
 * and never stored when one is found.
 */
#ifndef GW_CUSTOMER_H
#define GW_CUSTOMER_H
#include <stdbool.h>
#include <jansson.h>

#include "gateway/api/gw_request.h"

/* Stripe's limits (characters): email 512, name 256; description as a
 * payment's (GW_DESCRIPTION_MAX). Buffers hold 4 UTF-8 bytes per character. */
#define GW_CUSTOMER_EMAIL_MAX 512
#define GW_CUSTOMER_NAME_MAX 256

/* A customer row. "" for a field that is not set (rendered as null). */
struct gw_customer {
	char id[32];                                   /* "cus_" + GW_ID_CHARS */
	char email[GW_CUSTOMER_EMAIL_MAX + 1];         /* printable ASCII */
	char name[GW_CUSTOMER_NAME_MAX * 4 + 1];
	char description[GW_DESCRIPTION_MAX * 4 + 1];
	char metadata[GW_METADATA_JSON_MAX + 1];       /* compact JSON object, "" = {} */
	char default_source[72];                       /* card_ id */
	long long created;                             /* UNIX seconds */
};

/** Whether s is a customer object's id: "cus_" + GW_ID_CHARS of [A-Za-z0-9]. */
bool gw_customer_id_ok(const char *s);

/**
 * Apply a POST /v1/customers (update false) or POST /v1/customers/{id}
 * (update true) body to c, as Stripe does: only the fields given change;
 * "" or null unsets email, name, description or default_source; metadata
 * keys are merged into c's (a "" or null value deletes its key; metadata ""
 * or null deletes all), the result checked by gw_metadata_parse. Fields:
 * email (3..512 printable ASCII with one '@' inside: email_invalid), name
 * (1..256 characters), description (1..500), metadata, and on update only
 * default_source (a card_ id; its ownership is the caller's to check:
 * *default_changed is set when it is given). Errors, 400
 * invalid_request_error naming the parameter, never echoing a value:
 * parameter_invalid_type (the body or a field of the wrong type),
 * parameter_unknown, email_invalid, name_too_long, description_too_long,
 * resource_missing (default_source not a card id), pan_not_allowed (a card
 * number in any field, decoded), metadata's codes.
 * @return 0, or -1 with *err filled (c partly changed: discard it).
 */
int gw_customer_apply(const json_t *body, bool update, struct gw_customer *c,
                      bool *default_changed, struct gw_error *err);

/**
 * Apply a metadata parameter v (borrowed; NULL: absent, nothing changes) to
 * the compact JSON object text md (capacity GW_METADATA_JSON_MAX + 1, ""
 * for none), as Stripe's create (update false: md becomes v) or update
 * (update true: v's keys merged into md, a "" or null value deleting its
 * key); v "" or null empties md. v is checked by gw_metadata_parse (limits,
 * types, card numbers), the result again (at most 50 keys in all).
 * @return 0, or -1 with *err filled (md then undefined).
 */
int gw_metadata_apply(const json_t *v, bool update, char *md, struct gw_error *err);

/**
 * c as Stripe's Customer object: {"id","object":"customer","created","email",
 * "name","description","metadata","default_source"} (unset fields null,
 * metadata {} when empty). @return a new reference, or NULL.
 */
json_t *gw_customer_to_json(const struct gw_customer *c);

#endif
