/*
 * sr_panscan: two byte-at-a-time state machines over the input (see
 * sr_panscan.h for what counts as a finding): a decoder of %XX and JSON
 * escapes, and the chain of digit groups it feeds. No allocation, no
 * recursion beyond one bounded level, bounded state: any input, of any
 * length, split anywhere, is safe to feed (tests/unit/test_sr_panscan.c and
 * tests/fuzz/fuzz_panscan.c feed random bytes and every split).
 */
#include "common/sr_panscan.h"

#include <string.h>

#include <sodium.h>

/*
 * Issuer identification numbers and the lengths each network issues
 * (ISO/IEC 7812-1; the networks' published ranges). A prefix of `digits`
 * digits, between lo and hi inclusive. Numbers of lengths no network issues
 * today are left out on purpose (Visa's retired 13-digit numbers, Maestro
 * below 16 digits): ordinary 12- to 15-digit data (millisecond timestamps,
 * invoice numbers) would match them one time in a thousand (ADR 0106).
 */
static const struct iin {
	uint32_t lo, hi;
	uint8_t digits, minlen, maxlen;
} IIN[] = {
	{ 4, 4, 1, 16, 19 },             /* Visa */
	{ 51, 55, 2, 16, 16 },           /* Mastercard */
	{ 2221, 2720, 4, 16, 16 },       /* Mastercard 2-series */
	{ 34, 34, 2, 15, 15 },           /* American Express */
	{ 37, 37, 2, 15, 15 },
	{ 6011, 6011, 4, 16, 19 },       /* Discover */
	{ 644, 649, 3, 16, 19 },
	{ 65, 65, 2, 16, 19 },
	{ 3528, 3589, 4, 16, 19 },       /* JCB */
	{ 300, 305, 3, 14, 19 },         /* Diners Club International */
	{ 3095, 3095, 4, 14, 19 },
	{ 36, 36, 2, 14, 19 },
	{ 38, 39, 2, 14, 19 },
	{ 62, 62, 2, 16, 19 },           /* UnionPay (and Discover's 622126-622925) */
	{ 8100, 8171, 4, 16, 19 },
	{ 5018, 5018, 4, 16, 19 },       /* Maestro */
	{ 5020, 5020, 4, 16, 19 },
	{ 5038, 5038, 4, 16, 19 },
	{ 5893, 5893, 4, 16, 19 },
	{ 6304, 6304, 4, 16, 19 },
	{ 6759, 6759, 4, 16, 19 },
	{ 6761, 6763, 4, 16, 19 },
	{ 2200, 2204, 4, 16, 19 },       /* Mir */
	/* The networks the vault's brand table knows besides (vault_card.c,
	 * tests/unit/test_vault_card_brands.c checks they stay found); their
	 * ranges inside Visa's 4, Diners' 38, Discover's 65 and UnionPay's 62
	 * are found by those rows already. */
	{ 504175, 504175, 6, 16, 16 },   /* Elo */
	{ 506699, 506778, 6, 16, 16 },
	{ 509000, 509999, 6, 16, 16 },
	{ 636297, 636297, 6, 16, 16 },
	{ 636368, 636368, 6, 16, 16 },
	{ 606282, 606282, 6, 16, 19 },   /* Hipercard */
	{ 9792, 9792, 4, 16, 16 },       /* Troy */
	{ 506099, 506198, 6, 16, 19 },   /* Verve */
	{ 507865, 507964, 6, 16, 19 },
	{ 60, 60, 2, 16, 16 },           /* RuPay */
	{ 508, 508, 3, 16, 16 },
	{ 81, 82, 2, 16, 16 },
};

#define PAN_MIN 14 /* the shortest length in IIN[] */
#define PAN_MAX 19

static int is_digit(unsigned c)
{
	return c >= '0' && c <= '9';
}

static int is_letter(unsigned c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Letters, and control bytes other than white space (binary data: a run of
 * digits between them is no formatted number), end a chain. */
static int breaks_chain(unsigned c)
{
	return is_letter(c) || (c < 0x20 && !(c >= '\t' && c <= '\r')) || c == 0x7f;
}

static int is_hex(unsigned c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned hexval(unsigned c)
{
	return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

int sr_panscan_luhn(const char *digits, size_t n)
{
	unsigned sum = 0;
	int alt = 0;
	size_t i;

	if (n == 0)
		return 0;
	for (i = n; i-- > 0;) {
		unsigned d = (unsigned)(digits[i] - '0');
		if (d > 9)
			return 0;
		if (alt) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		alt = !alt;
	}
	return sum % 10 == 0;
}

int sr_panscan_iin_ok(const char *digits, size_t n)
{
	size_t i, k;

	if (digits == NULL || n < PAN_MIN || n > PAN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_digit((unsigned char)digits[i]))
			return 0;
	for (i = 0; i < sizeof IIN / sizeof IIN[0]; i++) {
		uint32_t p = 0;

		if (n < IIN[i].minlen || n > IIN[i].maxlen)
			continue;
		for (k = 0; k < IIN[i].digits; k++)
			p = p * 10 + (uint32_t)(digits[k] - '0');
		if (p >= IIN[i].lo && p <= IIN[i].hi)
			return 1;
	}
	return 0;
}

void sr_panscan_init(sr_panscan *s, sr_panscan_fn fn, void *ctx)
{
	memset(s, 0, sizeof *s);
	s->fn = fn;
	s->ctx = ctx;
	s->at.line = 1;
	s->at.column = 1;
}

static struct sr_panscan_group *grp(sr_panscan *s, size_t idx)
{
	return &s->g[idx % SR_PANSCAN_MAX_GROUPS];
}

static void end_chain(sr_panscan *s)
{
	s->ng = 0;
	s->sep = 0;
	s->last_hit_end = 0;
}

static void report(sr_panscan *s, const sr_panscan_hit *hit)
{
	s->hits++;
	if (s->fn)
		s->fn(hit, s->ctx);
}

/* The newest group of the chain just ended: the longest finding that ends
 * with it and does not overlap the previous one, into *hit. 1 if any. */
static int best(sr_panscan *s, sr_panscan_hit *hit)
{
	char buf[PAN_MAX];
	size_t last = s->ng - 1, k, found = 0, total = 0;
	size_t maxk = s->ng < SR_PANSCAN_MAX_GROUPS ? s->ng : SR_PANSCAN_MAX_GROUPS;
	int rc = 0;

	for (k = 1; k <= maxk; k++) {
		size_t first = last + 1 - k, j, n = 0;

		if (first + 1 <= s->last_hit_end)
			break; /* would overlap the previous finding */
		if (k >= 2 && (grp(s, first)->len < SR_PANSCAN_GROUP_MIN ||
		               grp(s, last)->len < SR_PANSCAN_GROUP_MIN))
			break; /* "2024-02-16 14:30:41": short groups make no split PAN */
		total += grp(s, first)->len;
		if (total > PAN_MAX)
			break;
		if (total < PAN_MIN)
			continue;
		for (j = first; j <= last; j++) {
			memcpy(buf + n, grp(s, j)->d, grp(s, j)->len);
			n += grp(s, j)->len;
		}
		if (sr_panscan_iin_ok(buf, n) && sr_panscan_luhn(buf, n))
			found = k;
	}
	if (found > 0) {
		size_t first = last + 1 - found, j, n = 0;

		for (j = first; j <= last; j++) {
			memcpy(buf + n, grp(s, j)->d, grp(s, j)->len);
			n += grp(s, j)->len;
		}
		memset(hit, 0, sizeof *hit);
		hit->offset = grp(s, first)->pos.offset;
		hit->line = grp(s, first)->pos.line;
		hit->column = grp(s, first)->pos.column;
		hit->ndigits = n;
		/* PCI DSS 3.4.1: at most the first six and last four digits shown. */
		memcpy(hit->masked, buf, 6);
		memset(hit->masked + 6, '*', n - 10);
		memcpy(hit->masked + n - 4, buf + n - 4, 4);
		hit->masked[n] = '\0';
		s->last_hit_end = last + 1;
		rc = 1;
	}
	sodium_memzero(buf, sizeof buf);
	return rc;
}

/* Findings held back (ended by a hex letter) are reported: the hex run they
 * end in stopped short of a hash's length. */
static void flush_held(sr_panscan *s)
{
	uint8_t i;

	for (i = 0; i < s->nheld; i++)
		report(s, &s->held[i]);
	sodium_memzero(s->held, sizeof s->held);
	s->nheld = 0;
}

/* Whether the hex run so far is a hash or an identifier (long enough, with
 * a letter in it): the digits in it are no finding. */
static int hex_word(const sr_panscan *s)
{
	return s->hexrun >= SR_PANSCAN_HEX_WORD && s->hexletter;
}

/* The next byte c continues the hex run (a hex character, or one '-' between
 * two, as in a UUID) or ends it. */
static void hex_step(sr_panscan *s, unsigned c)
{
	if (is_hex(c)) {
		s->hexrun++;
		s->hexletter |= !is_digit(c);
		s->hexdash = 0;
	} else if (c == '-' && s->hexrun > 0 && !s->hexdash) {
		s->hexrun++;
		s->hexdash = 1;
	} else {
		s->hexrun = 0;
		s->hexletter = 0;
		s->hexdash = 0;
		flush_held(s);
		return;
	}
	if (hex_word(s) && s->nheld > 0) {
		sodium_memzero(s->held, sizeof s->held); /* a hash or a UUID */
		s->nheld = 0;
	}
	if (hex_word(s) && s->ng > 0 && !s->in_group)
		end_chain(s); /* its digit groups are no part of a number either */
}

/* The current group ended before byte c (-1: the end of the input). */
static void group_end(sr_panscan *s, int c)
{
	sr_panscan_hit hit;

	s->in_group = 0;
	if (grp(s, s->ng - 1)->len > PAN_MAX) {
		end_chain(s); /* no PAN, and no part of one */
		return;
	}
	/* s->hexrun counts the hex characters up to the group's last digit.
	 * Digits of a hash or an identifier are no finding, nor part of one:
	 * they start no chain with the groups after them. */
	if (hex_word(s)) {
		end_chain(s);
		return;
	}
	if (!best(s, &hit))
		return;
	if (c >= 0 && ((is_hex((unsigned)c) && !is_digit((unsigned)c)) || (c == '-' && !s->hexdash))) {
		/* "...4111a", "...4111-": held until the hex run ends, a hash, a
		 * UUID or a word. Two findings fit in one run shorter than a
		 * hash, never three. */
		if (s->nheld == sizeof s->held / sizeof s->held[0])
			flush_held(s);
		s->held[s->nheld++] = hit;
	} else {
		report(s, &hit);
	}
	sodium_memzero(&hit, sizeof hit);
}

/* One decoded byte c, whose encoding starts at *pos. */
static void core(sr_panscan *s, unsigned c, const struct sr_panscan_pos *pos)
{
	if (is_digit(c)) {
		struct sr_panscan_group *g = NULL;

		hex_step(s, c);
		if (!s->in_group) {
			g = grp(s, s->ng);
			memset(g, 0, sizeof *g);
			g->pos = *pos;
			s->ng++;
			s->in_group = 1;
			s->sep = 0;
		}
		g = grp(s, s->ng - 1);
		if (g->len < PAN_MAX)
			g->d[g->len] = (char)c;
		if (g->len <= PAN_MAX)
			g->len++;
		return;
	}
	if (!is_hex(c) && !(c == '-' && s->hexrun > 0 && !s->hexdash))
		flush_held(s); /* the run ends: before anything this byte may find */
	if (s->in_group)
		group_end(s, (int)c);
	hex_step(s, c);
	if (breaks_chain(c))
		end_chain(s);
	else if (s->ng > 0 && ++s->sep > SR_PANSCAN_SEP_MAX)
		end_chain(s);
}

static void decode(sr_panscan *s, unsigned c, const struct sr_panscan_pos *pos);

/* Code point cp as the scanner reads it: ASCII as itself, a decimal digit of
 * another script (Unicode general category Nd, the scripts shoppers' keyboards
 * and input methods type) as its ASCII digit, anything else as 0x80 (neither
 * a digit nor a letter). */
static unsigned unicode_digit(uint32_t cp)
{
	static const uint32_t zeros[] = { 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0xFF10 };
	size_t i;

	if (cp < 0x80)
		return cp;
	for (i = 0; i < sizeof zeros / sizeof zeros[0]; i++)
		if (cp >= zeros[i] && cp < zeros[i] + 10)
			return '0' + (cp - zeros[i]);
	return 0x80;
}

/* One byte of text, raw or percent-decoded: a 2- or 3-byte UTF-8 sequence
 * (RFC 3629) is read as its code point (unicode_digit); a broken one as one
 * non-ASCII byte, then the byte that broke it as itself. */
static void utf8(sr_panscan *s, unsigned c, const struct sr_panscan_pos *pos)
{
	if (s->u8need > 0) {
		if ((c & 0xC0) == 0x80) {
			s->u8cp = (s->u8cp << 6) | (c & 0x3F);
			if (--s->u8need == 0)
				core(s, unicode_digit(s->u8cp), &s->u8pos);
			return;
		}
		s->u8need = 0;
		core(s, 0x80, &s->u8pos);
	}
	if (c >= 0xC2 && c <= 0xEF) {
		s->u8need = c >= 0xE0 ? 2 : 1;
		s->u8cp = c & (c >= 0xE0 ? 0x0F : 0x1F);
		s->u8pos = *pos;
		return;
	}
	core(s, c, pos);
}

/* The byte c an escape at *pos decoded to: a '%' or '\\' starts an escape of
 * its own (a value encoded twice, "%2534", or JSON inside a JSON string,
 * "\\\\u0034"), so nesting of any depth is decoded; else it is scanned. */
static void decoded(sr_panscan *s, unsigned c, const struct sr_panscan_pos *pos)
{
	if (c == '%' || c == '\\') {
		s->pend[0] = (unsigned char)c;
		s->ppos[0] = *pos;
		s->npend = 1;
		return;
	}
	utf8(s, c, pos);
}

/* The escape being read is not one: its first byte is itself, the rest is
 * decoded again (it may start an escape of its own). */
static void bail(sr_panscan *s)
{
	unsigned char b[6];
	struct sr_panscan_pos p[6];
	size_t n = s->npend, i;

	memcpy(b, s->pend, n);
	memcpy(p, s->ppos, n * sizeof p[0]);
	s->npend = 0;
	core(s, b[0], &p[0]);
	for (i = 1; i < n; i++)
		decode(s, b[i], &p[i]);
	sodium_memzero(b, sizeof b);
}

static void decode(sr_panscan *s, unsigned c, const struct sr_panscan_pos *pos)
{
	static const char JSON_ESC[] = "bfnrt/\\\"";
	static const char JSON_VAL[] = "\b\f\n\r\t/\\\"";
	unsigned first;
	const char *e;

	if (s->npend == 0) {
		if (c == '%' || c == '\\') {
			s->pend[0] = (unsigned char)c;
			s->ppos[0] = *pos;
			s->npend = 1;
		} else {
			utf8(s, c, pos);
		}
		return;
	}
	s->pend[s->npend] = (unsigned char)c;
	s->ppos[s->npend] = *pos;
	s->npend++;
	first = s->pend[0];
	if (first == '%') { /* RFC 3986 section 2.1 */
		if (!is_hex(c)) {
			bail(s);
		} else if (s->npend == 3) {
			s->npend = 0;
			decoded(s, hexval(s->pend[1]) * 16 + hexval(s->pend[2]), &s->ppos[0]);
		}
		return;
	}
	/* first == '\\': RFC 8259 section 7 */
	if (s->npend == 2) {
		if (c == 'u')
			return;
		e = c != '\0' ? strchr(JSON_ESC, (int)c) : NULL;
		if (e == NULL) {
			bail(s);
			return;
		}
		s->npend = 0;
		decoded(s, (unsigned char)JSON_VAL[e - JSON_ESC], &s->ppos[0]);
		return;
	}
	if (!is_hex(c)) {
		bail(s);
	} else if (s->npend == 6) {
		unsigned cp = (hexval(s->pend[2]) << 12) | (hexval(s->pend[3]) << 8) |
		              (hexval(s->pend[4]) << 4) | hexval(s->pend[5]);

		s->npend = 0;
		/* Beyond ASCII: a digit of another script, else neither a digit
		 * nor a letter. */
		cp = unicode_digit(cp);
		if (cp < 0x80)
			decoded(s, cp, &s->ppos[0]);
		else
			core(s, cp, &s->ppos[0]);
	}
}

void sr_panscan_feed(sr_panscan *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		struct sr_panscan_pos pos = s->at;

		s->at.offset++;
		if (p[i] == '\n') {
			s->at.line++;
			s->at.column = 1;
		} else {
			s->at.column++;
		}
		decode(s, p[i], &pos);
	}
}

uint64_t sr_panscan_finish(sr_panscan *s)
{
	uint64_t hits;

	if (s->npend > 0)
		bail(s);
	if (s->u8need > 0) {
		s->u8need = 0;
		core(s, 0x80, &s->u8pos);
	}
	flush_held(s); /* the run ends; they come first */
	if (s->in_group)
		group_end(s, -1);
	hits = s->hits;
	sodium_memzero(s, sizeof *s); /* the groups held digits */
	return hits;
}

uint64_t sr_panscan_buffer(const void *buf, size_t len, sr_panscan_fn fn, void *ctx)
{
	sr_panscan s;

	sr_panscan_init(&s, fn, ctx);
	sr_panscan_feed(&s, buf, len);
	return sr_panscan_finish(&s);
}

bool sr_panscan_has_pan(const void *s, size_t len)
{
	return s != NULL && sr_panscan_buffer(s, len, NULL, NULL) > 0;
}
