/*
 * sr_panscan: the one card number (PAN) detector of both zones: the
 * gateway's check of every request (common/sr_http_screen.c), the vault's
 * check of the fields it keeps in clear, and tools/panscan, the evidence for
 * PCI DSS v4.0 3.2.1 / 12.5.2 (know where account data is, and where it
 * provably is not) and for "no PAN outside the CDE" (ADR 0041, ADR 0106).
 *
 * A finding is a number that one of the networks could have issued, however
 * it is written:
 *   - digits: 12-19 of them with the IIN prefix and a length of a network
 *     (Visa, Mastercard 51-55 and 2221-2720, American Express, Discover,
 *     JCB, Diners Club, UnionPay, Maestro, Mir, Elo, Hipercard, Troy,
 *     Verve, RuPay; the table is in
 *     sr_panscan.c), passing Luhn (ISO/IEC 7812-1 annex B);
 *   - split: consecutive digit groups joined by runs of at most
 *     SR_PANSCAN_SEP_MAX non-alphanumeric bytes each ("4111 1111 ...",
 *     "4111    1111", "4111\t1111", "4111.1111", "4111____1111",
 *     "4111 -/1111", "\"4111\",\"1111\""), each group of at least
 *     SR_PANSCAN_GROUP_MIN digits (dates and times, "2024-02-16 14:30:41",
 *     chain into card-like numbers otherwise); a letter or a control
 *     byte other than white space (binary data) ends the chain, a run of
 *     more than 19 digits is no PAN and ends it too;
 *   - glued: letters, digits of no other group, or '_' around it do not
 *     hide it ("abc4111111111111111x", "pay_4111111111111111");
 *   - encoded: %XX (RFC 3986 percent-encoding) and JSON escapes (\uXXXX,
 *     \t, \n, \/ ..., RFC 8259 section 7) are decoded on the fly, nested
 *     to any depth: a '%' or '\\' an escape decodes to starts an escape
 *     itself ("%2534" twice encoded, "\\\\u0034" JSON inside a JSON string).
 *   - in other decimal digits: full-width (U+FF10..FF19, what Japanese and
 *     Chinese input methods type), Arabic-Indic, Persian, Devanagari,
 *     Bengali and Thai digits count as digits, as UTF-8 (raw or
 *     percent-encoded) or as \uXXXX escapes.
 * One exception keeps hashes and UUIDs from looking like cards: digits
 * inside a run of 32 or more hexadecimal characters (single '-' between
 * them counted too) with at least one letter a-f in it (a SHA-256 or an MD5
 * in hex, a UUID, bytea in a database dump) are not a finding.
 *
 * Streaming: input may be fed in chunks of any size (an escape, a separator
 * or a group may straddle two chunks). Memory is bounded (the state below,
 * about 1 KiB), whatever the input; the digits held are wiped by
 * sr_panscan_finish. Findings are reported masked (first 6 and last 4 digits,
 * PCI DSS 3.4.1): the scanner never hands a full PAN to its caller.
 */
#ifndef SR_PANSCAN_H
#define SR_PANSCAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SR_PANSCAN_MAX_GROUPS 19 /* 19 digits in groups of one */
#define SR_PANSCAN_GROUP_MIN 3 /* digits of each group of a split number */
#define SR_PANSCAN_SEP_MAX 16    /* non-alphanumeric bytes between two groups */
#define SR_PANSCAN_HEX_WORD 32   /* hex runs this long are hashes, not cards */

/** One finding. offset, line and column (1-based) locate its first digit
 * (the first byte of its encoding, for %34 or \u0034) in the input. */
typedef struct sr_panscan_hit {
	uint64_t offset;  /* bytes from the start of the input */
	uint64_t line;    /* 1-based line number */
	uint64_t column;  /* 1-based byte column */
	size_t ndigits;   /* 12..19 */
	char masked[20];  /* e.g. "424242******4242", NUL-terminated */
} sr_panscan_hit;

/** Called once per finding; hit is valid during the call only. */
typedef void (*sr_panscan_fn)(const sr_panscan_hit *hit, void *ctx);

struct sr_panscan_pos {
	uint64_t offset, line, column;
};

struct sr_panscan_group {
	char d[19];       /* first 19 digits (more mark the group too long) */
	uint8_t len;      /* digits seen, saturating at 20 */
	struct sr_panscan_pos pos;
};

/** Scanner state: opaque to callers; allocate it anywhere (no heap use). */
typedef struct sr_panscan {
	sr_panscan_fn fn;
	void *ctx;
	/* the decoder: an escape being read (%XX, \uXXXX, \n ...) */
	unsigned char pend[6];
	struct sr_panscan_pos ppos[6];
	uint8_t npend;
	/* a UTF-8 sequence being read (RFC 3629), raw or percent-decoded */
	uint32_t u8cp;
	uint8_t u8need;   /* continuation bytes still to come */
	struct sr_panscan_pos u8pos;
	/* the chain of digit groups */
	struct sr_panscan_group g[SR_PANSCAN_MAX_GROUPS]; /* ring: the chain's last groups */
	size_t ng;        /* groups in the current chain (may exceed the ring) */
	int in_group;     /* the current group is still growing */
	sr_panscan_hit held[2]; /* findings ended by a hex letter: kept unless the run makes a hash */
	uint8_t nheld;
	unsigned sep;     /* separator bytes since the last group */
	uint64_t hexrun;  /* hexadecimal characters (and single '-') in a row so far */
	uint8_t hexletter; /* the run has a letter a-f */
	uint8_t hexdash;  /* the run's last byte is '-' */
	uint64_t last_hit_end; /* chain index + 1 of the last finding's end group */
	struct sr_panscan_pos at; /* position of the next input byte */
	uint64_t hits;
} sr_panscan;

/** Start a scan; fn(hit, ctx) is called for every finding (fn may be NULL). */
void sr_panscan_init(sr_panscan *s, sr_panscan_fn fn, void *ctx);

/** Scan len more bytes (any bytes, including NUL). */
void sr_panscan_feed(sr_panscan *s, const void *buf, size_t len);

/** End of input: report what the last bytes complete, wipe the state.
 * @return the number of findings of the whole scan. */
uint64_t sr_panscan_finish(sr_panscan *s);

/** Convenience: scan one buffer. @return the number of findings. */
uint64_t sr_panscan_buffer(const void *buf, size_t len, sr_panscan_fn fn, void *ctx);

/** Whether len bytes of s hold a card number in any of the shapes above
 * (the check of one request value, one field). NULL holds none. */
bool sr_panscan_has_pan(const void *s, size_t len);

/** Luhn (ISO/IEC 7812-1 annex B) check of n ASCII digits; 0 for n == 0. */
int sr_panscan_luhn(const char *digits, size_t n);

/** Whether n ASCII digits have the IIN prefix and a length some network
 * issues (the table in sr_panscan.c). 0 for anything else. */
int sr_panscan_iin_ok(const char *digits, size_t n);

#endif
