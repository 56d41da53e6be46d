/*
 * gw_page: the query parameters every list takes (issue 19), as Stripe's
 * lists (https://docs.stripe.com/api/pagination): limit (1..100, default
 * 10), starting_after, ending_before (an object id; at most one of them),
 * created[gte], created[lte] (UNIX seconds). Shared by every list endpoint;
 * the statements are in gateway/store/gw_store_lists.h.
 */
#ifndef GW_PAGE_H
#define GW_PAGE_H
#include <stdbool.h>

#include "gateway/store/gw_store_lists.h"

struct sr_http_request;

/**
 * Parse req's list parameters into p (its cursors point into req's query).
 * A cursor must have the shape id_ok accepts; otherwise the cursor is
 * answered as not found (400 resource_missing naming it), as an id of
 * another merchant is, so a cursor never tells whose it is. Other errors
 * are 400 invalid_request_error naming the parameter: limit_invalid,
 * created_invalid, parameters_exclusive (both cursors). No value is echoed.
 * @return 0, or -1 after replying.
 */
int gw_page_parse(struct sr_http_request *req, bool (*id_ok)(const char *s), struct gw_page *p);

/** Reply 400 resource_missing for the page's cursor ("starting_after" or "ending_before"). */
void gw_page_cursor_missing(struct sr_http_request *req, const struct gw_page *p);

/**
 * Reply 200 {"object":"list","url":url,"data":data,"has_more"} (data stolen),
 * or 500 when data is NULL.
 */
void gw_page_reply(struct sr_http_request *req, const char *url, json_t *data, int has_more);

#endif
