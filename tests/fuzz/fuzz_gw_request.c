/*
 * libFuzzer target (issue 4): the gateway's request parsers on arbitrary
 * bytes — JSON bodies of POST /v1/payments, capture, cancel, refunds; the
 * card-number detector; ids and query values. Built with clang
 * -fsanitize=fuzzer,address,undefined (make fuzz), run briefly by make check.
 * Invariant checked beyond "no crash": an accepted body never contains a
 * card number, and an error never carries the input (messages are static).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway/api/gw_request.h"
#include "gateway/api/gw_request_lifecycle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_payment_request pr;
	struct gw_error err;
	json_error_t jerr;
	json_t *body = NULL;
	char *text = NULL;
	char reason[32];
	static char metadata[GW_METADATA_JSON_MAX + 1];
	long long amount = 0;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)gw_id_shape_ok(text, "pay_");
	(void)gw_query_uint(text);
	body = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (body != NULL) {
		if (gw_payment_request_parse(body, &pr, &err) == 0) {
			if (pr.amount < 1 || pr.amount > GW_AMOUNT_MAX)
				abort();
		} else if (err.message == NULL || err.code == NULL) {
			abort();
		}
		if (gw_capture_request_parse(body, &amount, &err) == 0 &&
		    (amount == 0 || amount < -1 || amount > GW_AMOUNT_MAX))
			abort();
		(void)gw_cancel_request_parse(body, reason, &err);
		(void)gw_refund_request_parse(body, &amount, reason, metadata, &err);
		json_decref(body);
	}
	free(text);
	return 0;
}
