/*
 * Fuzz target for common/sr_panscan (libFuzzer entry point).
 *
 *   make fuzz-panscan            clang + libFuzzer + ASan/UBSan, runs 60 s
 *
 * Each input is scanned whole and again split at a position taken from its
 * first byte; both scans must report the same findings, each 14-19 digits,
 * masked (only the first six and last four characters are digits).
 * Without libFuzzer (-DSR_FUZZ_STANDALONE) main() replays files given as
 * arguments, for reproducing a crash with any compiler.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sr_panscan.h"

struct acc {
	uint64_t n;
	uint64_t sum; /* offsets and lengths folded together */
};

static void on_hit(const sr_panscan_hit *h, void *ctx)
{
	struct acc *a = ctx;
	size_t i;

	if (h->ndigits < 14 || h->ndigits > 19 || strlen(h->masked) != h->ndigits)
		abort();
	for (i = 6; i + 4 < h->ndigits; i++)
		if (h->masked[i] != '*')
			abort();
	a->n++;
	a->sum = a->sum * 31 + h->offset * 131 + h->ndigits;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acc whole = {0, 0}, split = {0, 0};
	sr_panscan s;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;

	sr_panscan_buffer(data, size, on_hit, &whole);
	sr_panscan_init(&s, on_hit, &split);
	sr_panscan_feed(&s, data, cut);
	sr_panscan_feed(&s, data + cut, size - cut);
	if (sr_panscan_finish(&s) != split.n || whole.n != split.n || whole.sum != split.sum)
		abort();
	return 0;
}

#ifdef SR_FUZZ_STANDALONE
int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (f == NULL) {
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	return 0;
}
#endif
