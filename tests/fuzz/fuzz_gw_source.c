/*
 * libFuzzer target (issue 28, ADR 0119): the gateway's CIDR and
 * X-Forwarded-For parsers (gw_source) on arbitrary bytes. The input is
 * split at its first newline: before it a peer address, after it an
 * X-Forwarded-For value; the whole input is also read as an allow-list.
 * Invariants beyond "no crash": every network accepted prints in a
 * canonical form that parses back to the same network; a client address
 * found lies in no trusted proxy unless every hop was one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/api/gw_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct gw_cidr *c)
{
	char text[GW_CIDR_TEXT];
	struct gw_cidr back;

	if (gw_cidr_format(c, false, text, sizeof text) != 0 || gw_cidr_parse(text, &back) != 0 ||
	    back.prefix != c->prefix || memcmp(back.addr, c->addr, sizeof back.addr) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_cidr list[GW_CIDR_MAX];
	struct gw_cidr trusted[2];
	struct gw_cidr c;
	size_t n = 0, bad = 0, i, nt = 0;
	char *text = NULL;
	char *nl = NULL;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (gw_cidr_list_parse(text, list, GW_CIDR_MAX, &n, &bad) == 0) {
		for (i = 0; i < n; i++)
			roundtrip(&list[i]);
	} else if (n != 0 || bad > GW_CIDR_MAX) {
		abort();
	}
	if (gw_cidr_parse(text, &c) == 0)
		roundtrip(&c);
	if (gw_cidr_list_parse("10.0.0.0/8,::ffff:192.0.2.1,2001:db8::/32", trusted, 2, &nt, &bad) != -1)
		abort(); /* three entries into two slots */
	if (gw_cidr_list_parse("10.0.0.0/8,::ffff:192.0.2.1", trusted, 2, &nt, &bad) != 0)
		abort();
	nl = strchr(text, '\n');
	if (nl != NULL)
		*nl = '\0';
	if (gw_source_client(text, nl != NULL ? nl + 1 : NULL, trusted, nt, &c) == 0) {
		if (c.prefix != 128)
			abort();
		roundtrip(&c);
	}
	free(text);
	return 0;
}
