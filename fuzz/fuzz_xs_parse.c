/*
 * Checks the frontend cores' strict xenstore number parser against the
 * rules of xpv/xs_parse.h on any string and range, and that parsing what
 * xpv_format_u32 wrote gives the value back.
 *
 * Input (fuzz_input.h): min u32, max u32 (swapped if min > max, since
 * min <= max is the caller's promise), a value u32 for the round trip,
 * then the rest of the input is the string a backend wrote (up to 63
 * bytes; the parser gives up after 16 anyway).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xpv/xs_parse.h>

#include "fuzz_input.h"
#include "fuzz_target.h"

#define XS_VALUE_MAX  63
#define XS_DIGITS_MAX 16 /* longest string the parser reads (xs_parse.c) */
#define UNTOUCHED     0xdeadbeefu

/* The contract, written independently of the parser: 1 to 16 decimal
 * digits and nothing else, else -EINVAL; the value within 32 bits and
 * [min, max], else -ERANGE. */
static int expected(const char *s, uint32_t min, uint32_t max, uint32_t *v)
{
	size_t n = strlen(s);
	char *end;
	unsigned long long x;

	if (n == 0 || n > XS_DIGITS_MAX || strspn(s, "0123456789") != n)
		return -XPV_EINVAL;
	/* 16 digits cannot overflow unsigned long long. */
	x = strtoull(s, &end, 10);
	if (x > UINT32_MAX || x < min || x > max)
		return -XPV_ERANGE;
	*v = (uint32_t)x;
	return 0;
}

static void check_parse(const char *s, uint32_t min, uint32_t max)
{
	uint32_t got = UNTOUCHED, want = 0;
	int rc = xpv_parse_u32(s, min, max, &got);
	int want_rc = expected(s, min, max, &want);

	if (rc != want_rc)
		fuzz_fail("xs-parse-contract",
			  "xpv_parse_u32(%s, %" PRIu32 ", %" PRIu32
			  ") returned %d, the contract says %d",
			  fuzz_quote(s), min, max, rc, want_rc);
	if (rc == 0 && got != want)
		fuzz_fail("xs-parse-value",
			  "xpv_parse_u32(%s) gave %" PRIu32 ", want %" PRIu32,
			  fuzz_quote(s), got, want);
	if (rc != 0 && got != UNTOUCHED)
		fuzz_fail("xs-parse-no-output",
			  "xpv_parse_u32(%s) failed (%d) but wrote %" PRIu32,
			  fuzz_quote(s), rc, got);
}

/* format, then parse: the same value, in canonical decimal. */
static void check_round_trip(uint32_t v, uint32_t min, uint32_t max)
{
	char buf[11], want[16];
	xpv_size n = xpv_format_u32(buf, v);
	uint32_t back = UNTOUCHED;
	int rc;

	snprintf(want, sizeof(want), "%" PRIu32, v);
	if (n != strlen(want) || strcmp(buf, want) != 0)
		fuzz_fail("xs-format",
			  "xpv_format_u32(%" PRIu32
			  ") wrote %s (length %zu), want \"%s\"",
			  v, fuzz_quote(buf), (size_t)n, want);
	rc = xpv_parse_u32(buf, 0, UINT32_MAX, &back);
	if (rc != 0 || back != v)
		fuzz_fail("xs-round-trip",
			  "parse(format(%" PRIu32 ")) gave %d and %" PRIu32, v,
			  rc, back);
	rc = xpv_parse_u32(buf, min, max, &back);
	if ((rc == 0) != (v >= min && v <= max))
		fuzz_fail("xs-round-trip-range",
			  "parse(\"%s\", %" PRIu32 ", %" PRIu32 ") returned %d",
			  buf, min, max, rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	char s[XS_VALUE_MAX + 1];
	uint32_t min, max, v;
	const uint8_t *rest;
	size_t len;

	fuzz_input_init(&in, data, size);
	min = fuzz_u32(&in);
	max = fuzz_u32(&in);
	v = fuzz_u32(&in);
	if (min > max) {
		uint32_t t = min;

		min = max;
		max = t;
	}
	rest = fuzz_rest(&in, &len);
	if (len > XS_VALUE_MAX)
		len = XS_VALUE_MAX;
	memcpy(s, rest, len);
	s[len] = '\0';
	check_parse(s, min, max);
	check_round_trip(v, min, max);
	return 0;
}
