/*
 * pspsim_cards: the test cards both dialects share (pspsim.h): docs/development.md's
 * table of outcomes (Stripe's published test cards), digits, Luhn and brand.
 * Test and demo only.
 */
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "tests/pspsim/pspsim.h"

/* The test-card table of docs/development.md (Stripe's published test cards). */
static const struct {
	const char *number;
	enum outcome outcome;
} k_cards[] = {
	{ "4000000000000002", OUT_GENERIC_DECLINE },
	{ "4000000000009995", OUT_INSUFFICIENT_FUNDS },
	{ "4000000000000069", OUT_EXPIRED_CARD },
	{ "4000000000000127", OUT_INCORRECT_CVC },
	{ "4000000000000119", OUT_PROCESSING_ERROR },
	{ "4000000000003220", OUT_3DS_THEN_SUCCEED },
	{ "4000008400001629", OUT_3DS_THEN_DECLINE },
	{ "4000000000000259", OUT_SUCCEED_THEN_DISPUTE },
};

bool pspsim_all_digits(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* ISO/IEC 7812-1 Annex B (Luhn). */
static bool luhn_ok(const char *pan)
{
	size_t n = strlen(pan);
	size_t i = 0;
	int sum = 0;
	int d = 0;

	for (i = 0; i < n; i++) {
		d = pan[n - 1 - i] - '0';
		if (i % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return sum % 10 == 0;
}

const char *pspsim_brand_of(const char *pan)
{
	int p2 = (pan[0] - '0') * 10 + (pan[1] - '0');
	int p4 = p2 * 100 + (pan[2] - '0') * 10 + (pan[3] - '0');

	if (pan[0] == '4')
		return "visa";
	if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
		return "mastercard";
	if (p2 == 34 || p2 == 37)
		return "amex";
	if (p4 == 6011 || p2 == 65)
		return "discover";
	return "unknown";
}

void pspsim_network_tx_id(char out[16])
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
	unsigned char r[12];
	size_t i = 0;

	randombytes_buf(r, sizeof r);
	memcpy(out, "NTI", 3);
	for (i = 0; i < sizeof r; i++)
		out[3 + i] = alphabet[r[i] % (sizeof alphabet - 1)];
	out[15] = '\0';
}

enum outcome pspsim_outcome_of(const char *pan)
{
	size_t i = 0;

	for (i = 0; i < sizeof k_cards / sizeof k_cards[0]; i++)
		if (strcmp(k_cards[i].number, pan) == 0)
			return k_cards[i].outcome;
	return OUT_SUCCEED;
}

bool pspsim_luhn_ok(const char *pan)
{
	/* UnionPay (62) does not require a Luhn check digit: its numbers are
	 * accepted either way, as the network defines. */
	if (pspsim_all_digits(pan) && pan[0] == '6' && pan[1] == '2')
		return true;
	return pspsim_all_digits(pan) && luhn_ok(pan);
}
