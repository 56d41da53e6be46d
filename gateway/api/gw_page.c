/*
 * gw_page: list parameters and the list reply (see gw_page.h).
 */
#include "gateway/api/gw_page.h"
#include "gateway/api/gw_request_lifecycle.h"
#include "common/sr_http.h"

#include <string.h>

static void bad(struct sr_http_request *req, const char *code, const char *msg, const char *param)
{
	sr_http_reply_error(req, 400, "invalid_request_error", code, msg, param);
}

void gw_page_cursor_missing(struct sr_http_request *req, const struct gw_page *p)
{
	if (p->ending_before != NULL)
		bad(req, "resource_missing", "ending_before is not one of your objects.", "ending_before");
	else
		bad(req, "resource_missing", "starting_after is not one of your objects.",
		    "starting_after");
}

int gw_page_parse(struct sr_http_request *req, bool (*id_ok)(const char *s), struct gw_page *p)
{
	const char *v = NULL;

	memset(p, 0, sizeof *p);
	p->limit = 10;
	p->created_gte = -1;
	p->created_lte = -1;
	if ((v = sr_http_query(req, "limit")) != NULL) {
		long long n = gw_query_uint(v);

		if (n < 1 || n > 100) {
			bad(req, "limit_invalid", "limit must be an integer between 1 and 100.", "limit");
			return -1;
		}
		p->limit = (int)n;
	}
	if ((v = sr_http_query(req, "created[gte]")) != NULL &&
	    (p->created_gte = gw_query_uint(v)) < 0) {
		bad(req, "created_invalid", "created[gte] must be UNIX seconds.", "created[gte]");
		return -1;
	}
	if ((v = sr_http_query(req, "created[lte]")) != NULL &&
	    (p->created_lte = gw_query_uint(v)) < 0) {
		bad(req, "created_invalid", "created[lte] must be UNIX seconds.", "created[lte]");
		return -1;
	}
	p->starting_after = sr_http_query(req, "starting_after");
	p->ending_before = sr_http_query(req, "ending_before");
	if (p->starting_after != NULL && p->ending_before != NULL) {
		bad(req, "parameters_exclusive", "Give starting_after or ending_before, not both.",
		    "ending_before");
		return -1;
	}
	if ((p->starting_after != NULL && !id_ok(p->starting_after)) ||
	    (p->ending_before != NULL && !id_ok(p->ending_before))) {
		gw_page_cursor_missing(req, p);
		return -1;
	}
	return 0;
}

void gw_page_reply(struct sr_http_request *req, const char *url, json_t *data, int has_more)
{
	if (data == NULL) {
		sr_http_reply_error(req, 500, "api_error", "internal_error", "An internal error occurred.",
		                    NULL);
		return;
	}
	sr_http_reply_json(req, 200, json_pack("{s:s, s:s, s:o, s:b}", "object", "list", "url", url,
	                                       "data", data, "has_more", has_more));
}
