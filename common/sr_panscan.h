/*
 * sr_panscan: find card numbers (PANs) in arbitrary bytes: files, logs,
 * database dumps. Evidence for PCI DSS v4.0 3.2.1 / 12.5.2 (know where
 * account data is, and where it provably is not) and BRIEF invariant 1.
 *
 * A finding is a Luhn-valid run of 13-19 digits that is a whole word:
 *   - one unseparated run ("4242424242424242"), not preceded or followed by
 *     a letter, digit or '_' (so hex and base62 strings that happen to hold
 *     a run of digits do not match);
 *   - or consecutive groups of 3-6 digits joined by the same single
 *     separator, a space or a hyphen ("4242 4242 4242 4242",
 *     "3782-822463-10005"), 13-19 digits in all, also whole words.
 * Streaming: input may be fed in chunks of any size (a separator or a group
 * may straddle two chunks). Memory is bounded (a few dozen bytes of state),
 * whatever the input; the digits held are wiped by sr_panscan_finish.
 * Findings are reported masked (first 6 and last 4 digits, PCI DSS 3.4.1):
 * the scanner never hands a full PAN to its caller.
 */
#ifndef SR_PANSCAN_H
#define SR_PANSCAN_H
#include <stddef.h>
#include <stdint.h>

#define SR_PANSCAN_MAX_GROUPS 6 /* 19 digits / 3 per group, rounded up */

/** One finding. offset, line and column (1-based) locate its first digit. */
typedef struct sr_panscan_hit {
	uint64_t offset;  /* bytes from the start of the input */
	uint64_t line;    /* 1-based line number */
	uint64_t column;  /* 1-based byte column */
	size_t ndigits;   /* 13..19 */
	char masked[20];  /* e.g. "424242******4242", NUL-terminated */
} sr_panscan_hit;

/** Called once per finding; hit is valid during the call only. */
typedef void (*sr_panscan_fn)(const sr_panscan_hit *hit, void *ctx);

struct sr_panscan_group {
	char d[19];       /* first 19 digits (more mark the group too long) */
	uint8_t len;      /* digits seen, saturating at 20 */
	uint8_t left_ok;  /* preceded by a non-word byte or a separator */
	uint64_t offset, line, column;
};

/** Scanner state: opaque to callers; allocate it anywhere (no heap use). */
typedef struct sr_panscan {
	sr_panscan_fn fn;
	void *ctx;
	struct sr_panscan_group g[SR_PANSCAN_MAX_GROUPS]; /* ring: the run's last groups */
	size_t ng;        /* groups in the current run (may exceed the ring) */
	int in_group;     /* the current group is still growing */
	int pending_sep;  /* a separator follows the last group; not yet confirmed */
	char sep;         /* the run's separator, 0 before the second group */
	uint64_t last_hit_end; /* run index + 1 of the last finding's end group */
	unsigned char prev; /* previous byte (0 at the start) */
	uint64_t offset, line, column; /* position of the next byte */
	uint64_t hits;
} sr_panscan;

/** Start a scan; fn(hit, ctx) is called for every finding. */
void sr_panscan_init(sr_panscan *s, sr_panscan_fn fn, void *ctx);

/** Scan len more bytes (any bytes, including NUL). */
void sr_panscan_feed(sr_panscan *s, const void *buf, size_t len);

/** End of input: report what the last bytes complete, wipe the state.
 * @return the number of findings of the whole scan. */
uint64_t sr_panscan_finish(sr_panscan *s);

/** Convenience: scan one buffer. @return the number of findings. */
uint64_t sr_panscan_buffer(const void *buf, size_t len, sr_panscan_fn fn, void *ctx);

/** Luhn (ISO/IEC 7812-1 annex B) check of n ASCII digits; 0 for n == 0. */
int sr_panscan_luhn(const char *digits, size_t n);

#endif
