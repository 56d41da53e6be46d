/*
 * sr_panscan: a byte-at-a-time state machine over the input (see
 * sr_panscan.h for what counts as a finding). No allocation, no recursion,
 * bounded state: any input, of any length, split anywhere, is safe to feed
 * (tests/unit/test_sr_panscan.c feeds random bytes and every split).
 */
#include "common/sr_panscan.h"

#include <string.h>

#include <sodium.h>

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A "word" byte, as in grep's \b: letter, digit or underscore. Bytes >= 0x80
 * are not word bytes: a number next to UTF-8 text is still found. */
static int is_word(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
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

void sr_panscan_init(sr_panscan *s, sr_panscan_fn fn, void *ctx)
{
	memset(s, 0, sizeof *s);
	s->fn = fn;
	s->ctx = ctx;
	s->line = 1;
	s->column = 1;
}

static struct sr_panscan_group *grp(sr_panscan *s, size_t idx)
{
	return &s->g[idx % SR_PANSCAN_MAX_GROUPS];
}

static void end_run(sr_panscan *s)
{
	s->ng = 0;
	s->sep = 0;
	s->pending_sep = 0;
	s->last_hit_end = 0;
}

/* The newest group of the run just ended with a non-word byte (or the end of
 * the input) after it: report the longest finding that ends with it and does
 * not overlap the previous finding. */
static void evaluate(sr_panscan *s)
{
	char buf[19];
	size_t last = s->ng - 1, k, best = 0, total = 0;
	size_t maxk = s->ng < SR_PANSCAN_MAX_GROUPS ? s->ng : SR_PANSCAN_MAX_GROUPS;

	for (k = 1; k <= maxk; k++) {
		size_t first = last + 1 - k, j, n = 0;
		const struct sr_panscan_group *f = grp(s, first);

		if (first + 1 <= s->last_hit_end)
			break; /* would overlap the previous finding */
		if (f->len > 19)
			break;
		if (k >= 2 && (f->len < 3 || f->len > 6 || grp(s, last)->len < 3 || grp(s, last)->len > 6))
			break; /* separated groups hold 3-6 digits each */
		total += f->len;
		if (total > 19)
			break;
		if (!f->left_ok || total < 13)
			continue;
		for (j = first; j <= last; j++) {
			memcpy(buf + n, grp(s, j)->d, grp(s, j)->len);
			n += grp(s, j)->len;
		}
		if (sr_panscan_luhn(buf, n))
			best = k;
	}
	if (best > 0) {
		sr_panscan_hit hit;
		size_t first = last + 1 - best, j, n = 0;
		const struct sr_panscan_group *f = grp(s, first);

		for (j = first; j <= last; j++) {
			memcpy(buf + n, grp(s, j)->d, grp(s, j)->len);
			n += grp(s, j)->len;
		}
		memset(&hit, 0, sizeof hit);
		hit.offset = f->offset;
		hit.line = f->line;
		hit.column = f->column;
		hit.ndigits = n;
		/* PCI DSS 3.4.1: at most the first six and last four digits shown. */
		memcpy(hit.masked, buf, 6);
		memset(hit.masked + 6, '*', n - 10);
		memcpy(hit.masked + n - 4, buf + n - 4, 4);
		hit.masked[n] = '\0';
		s->hits++;
		s->last_hit_end = last + 1;
		if (s->fn)
			s->fn(&hit, s->ctx);
	}
	sodium_memzero(buf, sizeof buf);
}

static void new_group(sr_panscan *s, int left_ok)
{
	struct sr_panscan_group *g = grp(s, s->ng);

	memset(g, 0, sizeof *g);
	g->left_ok = (uint8_t)left_ok;
	g->offset = s->offset;
	g->line = s->line;
	g->column = s->column;
	s->ng++;
	s->in_group = 1;
}

static void step(sr_panscan *s, unsigned char c)
{
	if (is_digit(c)) {
		if (s->in_group) {
			struct sr_panscan_group *g = grp(s, s->ng - 1);
			if (g->len < 19)
				g->d[g->len] = (char)c;
			if (g->len < 20)
				g->len++;
		} else {
			if (s->pending_sep) {
				if (s->sep != 0 && s->sep != s->pending_sep)
					end_run(s); /* mixed separators start a new run */
				else
					s->sep = (char)s->pending_sep;
				s->pending_sep = 0;
				new_group(s, 1);
			} else {
				end_run(s);
				new_group(s, !is_word(s->prev));
			}
			grp(s, s->ng - 1)->d[0] = (char)c;
			grp(s, s->ng - 1)->len = 1;
		}
	} else if (c == ' ' || c == '-') {
		if (s->in_group) {
			s->in_group = 0;
			evaluate(s);
			s->pending_sep = c;
		} else if (s->pending_sep) {
			end_run(s); /* two separators in a row */
		}
	} else {
		if (s->in_group && !is_word(c))
			evaluate(s); /* a letter right after the digits: not a whole word */
		s->in_group = 0;
		end_run(s);
	}
	s->prev = c;
	s->offset++;
	if (c == '\n') {
		s->line++;
		s->column = 1;
	} else {
		s->column++;
	}
}

void sr_panscan_feed(sr_panscan *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		step(s, p[i]);
}

uint64_t sr_panscan_finish(sr_panscan *s)
{
	uint64_t hits;

	if (s->in_group)
		evaluate(s);
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
