/*
 * Checks the configuration reader's value parsers (simcfg_parse_duration,
 * simcfg_parse_size, simcfg_parse_vdev) against their documented syntax on
 * any string, and that a value written back in canonical form parses to
 * the same value.
 *
 * Input (fuzz_input.h): which parser (one of 3), then the rest of the
 * input is the string (up to 63 bytes).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sim/cli/simcfg.h"

#include "fuzz_input.h"
#include "fuzz_target.h"

#define VALUE_MAX 63
#define UNTOUCHED 0x5a5a5a5a5a5a5a5aull

/* The n bytes at s as decimal digits (at least one), without overflow. */
static bool digits(const char *s, size_t n, uint64_t *v)
{
	*v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9' ||
		    __builtin_mul_overflow(*v, 10, v) ||
		    __builtin_add_overflow(*v, (uint64_t)(s[i] - '0'), v))
			return false;
	return true;
}

/* simcfg.h: "0", or digits with a unit ns, us, ms, s. */
static bool duration_ok(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
	    {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
	size_t n = strspn(s, "0123456789");
	uint64_t v;

	if (!digits(s, n, &v))
		return false;
	if (!s[n]) {
		*ns = 0;
		return v == 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(s + n, units[i].unit) == 0)
			return !__builtin_mul_overflow(v, units[i].mult, ns);
	return false;
}

/* simcfg.h: digits with an optional binary suffix K, M, G, T. */
static bool size_ok(const char *s, uint64_t *bytes)
{
	static const char suffixes[] = "KkMmGgTt";
	size_t n = strspn(s, "0123456789");
	const char *at;
	unsigned shift;
	uint64_t v;

	if (!digits(s, n, &v))
		return false;
	if (!s[n]) {
		*bytes = v;
		return true;
	}
	at = strchr(suffixes, s[n]);
	if (!at || s[n + 1])
		return false;
	shift = 10 * (unsigned)((at - suffixes) / 2 + 1);
	if (v > UINT64_MAX >> shift)
		return false;
	*bytes = v << shift;
	return true;
}

/* simcfg.h: "h:c:t:l", decimal, each 0..65535. */
static bool vdev_ok(const char *s, struct simcfg_vdev *vd)
{
	uint16_t *f[4] = {&vd->host, &vd->channel, &vd->id, &vd->lun};
	uint64_t v;

	for (int i = 0; i < 4; i++) {
		size_t n = strspn(s, "0123456789");

		if (!digits(s, n, &v) || v > UINT16_MAX)
			return false;
		if (s[n] != (i < 3 ? ':' : '\0'))
			return false;
		*f[i] = (uint16_t)v;
		s += n + 1;
	}
	return true;
}

static void check_u64(const char *what, int (*parse)(const char *, uint64_t *),
		      bool (*spec)(const char *, uint64_t *), const char *s,
		      const char *unit)
{
	uint64_t got = UNTOUCHED, want = 0, back = UNTOUCHED;
	int rc = parse(s, &got);
	char buf[32];

	if ((rc == 0) != spec(s, &want))
		fuzz_fail(what,
			  "%s: parser says %s, the syntax says the "
			  "opposite",
			  fuzz_quote(s), rc ? "invalid" : "valid");
	if (rc != 0) {
		if (got != UNTOUCHED)
			fuzz_fail(what, "%s refused but wrote %" PRIu64,
				  fuzz_quote(s), got);
		return;
	}
	if (got != want)
		fuzz_fail(what, "%s gave %" PRIu64 ", want %" PRIu64,
			  fuzz_quote(s), got, want);
	snprintf(buf, sizeof(buf), "%" PRIu64 "%s", got, unit);
	if (parse(buf, &back) != 0 || back != got)
		fuzz_fail(what,
			  "%s gave %" PRIu64 ", but \"%s\" gives %" PRIu64,
			  fuzz_quote(s), got, buf, back);
}

static void check_vdev(const char *s)
{
	struct simcfg_vdev got, want, back, untouched;
	char buf[32];
	int rc;

	memset(&untouched, 0x5a, sizeof(untouched));
	got = untouched;
	rc = simcfg_parse_vdev(s, &got);
	if ((rc == 0) != vdev_ok(s, &want))
		fuzz_fail("simcfg-vdev",
			  "%s: parser says %s, the syntax says "
			  "the opposite",
			  fuzz_quote(s), rc ? "invalid" : "valid");
	if (rc != 0) {
		if (memcmp(&got, &untouched, sizeof(got)) != 0)
			fuzz_fail("simcfg-vdev", "%s refused but written",
				  fuzz_quote(s));
		return;
	}
	if (memcmp(&got, &want, sizeof(got)) != 0)
		fuzz_fail("simcfg-vdev", "%s parsed to %u:%u:%u:%u",
			  fuzz_quote(s), got.host, got.channel, got.id,
			  got.lun);
	snprintf(buf, sizeof(buf), "%u:%u:%u:%u", got.host, got.channel, got.id,
		 got.lun);
	if (simcfg_parse_vdev(buf, &back) != 0 ||
	    memcmp(&got, &back, sizeof(got)) != 0)
		fuzz_fail("simcfg-vdev", "\"%s\" does not parse back", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	char s[VALUE_MAX + 1];
	const uint8_t *rest;
	size_t which, len;

	fuzz_input_init(&in, data, size);
	which = fuzz_pick(&in, 3);
	rest = fuzz_rest(&in, &len);
	if (len > VALUE_MAX)
		len = VALUE_MAX;
	memcpy(s, rest, len);
	s[len] = '\0';
	if (which == 0)
		check_u64("simcfg-duration", simcfg_parse_duration, duration_ok,
			  s, "ns");
	else if (which == 1)
		check_u64("simcfg-size", simcfg_parse_size, size_ok, s, "");
	else
		check_vdev(s);
	return 0;
}
