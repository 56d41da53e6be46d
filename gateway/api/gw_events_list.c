/*
 * GET /v1/events (issue 19): the merchant's events of the last
 * GW_EVENTS_DAYS (30) days, newest first, as Stripe's GET /v1/events
 * (https://docs.stripe.com/api/events/list): the list parameters of
 * gw_page.h and type, an event type ("payment.captured") or a prefix
 * ending in ".*" ("payment.*").
 * 200 {"object":"list","url":"/v1/events","data":[event...],"has_more"}.
 * A cursor that is not one of the merchant's events of the window is 400
 * resource_missing.
 */
#include "gateway/gw_app.h"
#include "gateway/api/gw_auth.h"
#include "gateway/api/gw_handlers.h"
#include "gateway/api/gw_page.h"
#include "gateway/store/gw_store_lists.h"
#include "common/sr_db.h"
#include "common/sr_http.h"

#include <string.h>

/* Whether s is a type filter: [a-z_] words joined by '.', at most 64
 * characters, optionally ending in ".*". *prefix tells which. */
static bool type_ok(const char *s, bool *prefix)
{
	size_t n = strlen(s), i;
	bool word = false;

	*prefix = n >= 2 && strcmp(s + n - 2, ".*") == 0;
	if (*prefix)
		n -= 1; /* keep the '.', the prefix matched */
	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_')
			word = true;
		else if (s[i] == '.' && word)
			word = false;
		else
			return false;
	}
	return word != *prefix;
}

void gw_handle_events_list(struct sr_http_request *req)
{
	struct gw_app *app = req->app;
	struct gw_page p;
	char merchant[72];
	char prefix[66];
	const char *type = NULL;
	bool is_prefix = false;
	PGconn *conn = NULL;
	json_t *data = NULL;
	int has_more = 0;
	int missing = 0;

	if (gw_auth_merchant(app, req, merchant, sizeof merchant) != 0)
		return;
	if (gw_page_parse(req, gw_store_event_id_ok, &p) != 0)
		return;
	prefix[0] = '\0';
	type = sr_http_query(req, "type");
	if (type != NULL) {
		if (!type_ok(type, &is_prefix)) {
			sr_http_reply_error(req, 400, "invalid_request_error", "type_invalid",
			                    "type must be an event type, or a prefix ending in \".*\".",
			                    "type");
			return;
		}
		if (is_prefix) {
			memcpy(prefix, type, strlen(type) - 1);
			prefix[strlen(type) - 1] = '\0';
			type = NULL;
		}
	}
	conn = sr_db_acquire(app->db);
	data = gw_store_event_page(conn, merchant, type, prefix[0] != '\0' ? prefix : NULL, &p,
	                           &has_more, &missing);
	sr_db_release(app->db, conn);
	if (missing) {
		gw_page_cursor_missing(req, &p);
		return;
	}
	gw_page_reply(req, "/v1/events", data, has_more);
}
