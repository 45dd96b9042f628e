/*
 * Crashes on purpose when the input starts with "CANARY", proving that an
 * engine, its instrumentation and the crash reporting notice a crash.
 *
 * The magic is compared half a byte at a time, each step a separate
 * branch after a volatile store, so the compiler cannot merge the steps
 * into one wide compare or a memcmp. Every matching nibble is then new
 * coverage that a coverage-guided engine keeps and builds on: 12 steps of
 * 1 in 16, found within seconds by AFL++ without comparison tracing and by
 * libFuzzer (whose comparison tracing helps further). A whole byte per
 * step was too slow for AFL++'s havoc stage (about 10 s per byte).
 * The regression test replays corpus/regressions/canary and expects every
 * input there to crash (abort(): a crash in every build, sanitizers or
 * not).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_target.h"

#define MAGIC	  "CANARY"
#define MAGIC_LEN (sizeof(MAGIC) - 1)

static volatile unsigned matched; /* nibbles matched so far */

/* Nibble n of the input against nibble n of the magic. */
static __attribute__((noinline)) bool nibble_ok(const uint8_t *data, unsigned n)
{
	unsigned shift = n % 2 ? 0 : 4;

	if (((data[n / 2] >> shift) & 0xf) !=
	    (((unsigned char)MAGIC[n / 2] >> shift) & 0xf))
		return false;
	matched = n + 1;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < MAGIC_LEN)
		return 0;
	matched = 0;
	/* Unrolled on purpose: one branch per step (see above). */
	if (!nibble_ok(data, 0) || !nibble_ok(data, 1) || !nibble_ok(data, 2))
		return 0;
	if (!nibble_ok(data, 3) || !nibble_ok(data, 4) || !nibble_ok(data, 5))
		return 0;
	if (!nibble_ok(data, 6) || !nibble_ok(data, 7) || !nibble_ok(data, 8))
		return 0;
	if (!nibble_ok(data, 9) || !nibble_ok(data, 10) || !nibble_ok(data, 11))
		return 0;
	fprintf(stderr, "fuzz_canary: magic \"" MAGIC "\" found, aborting on "
			"purpose\n");
	abort();
}
