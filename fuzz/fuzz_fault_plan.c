/*
 * Checks the fault-plan parser (sim_fault_plan_parse, reached from
 * sim_faults in configs and from --faults) against its documented syntax,
 * and that a plan it accepted survives format and parse unchanged.
 *
 * Input: the spec text itself (cut at a NUL byte, as a C caller sees it).
 * The syntax, from fault.h and docs/config.md: "none", "", or NAME=RATE
 * items separated by commas, NAME a class as sim_fault_name prints it,
 * RATE decimal digits for 0..1000000 per million; at most 1023
 * characters. Empty items (",,") are skipped.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/fault.h"

#include "fuzz_target.h"

#define SPEC_MAX  1023	  /* fault.c's buffer, less the NUL */
#define RATE_MAX  1000000 /* per million */
#define PLAN_TEXT 2048	  /* every class at the longest rate fits */

/* "NAME=RATE" of len bytes, by the rules above. */
static bool item_ok(const char *item, size_t len)
{
	const char *eq = memchr(item, '=', len);
	char name[64];
	unsigned long rate = 0;

	if (!eq || (size_t)(eq - item) >= sizeof(name))
		return false;
	memcpy(name, item, (size_t)(eq - item));
	name[eq - item] = '\0';
	if (sim_fault_from_name(name) < 0)
		return false;
	if (eq + 1 == item + len)
		return false; /* no digits */
	for (const char *p = eq + 1; p < item + len; p++) {
		if (*p < '0' || *p > '9')
			return false;
		rate = rate * 10 + (unsigned long)(*p - '0');
		if (rate > RATE_MAX)
			return false;
	}
	return true;
}

static bool spec_ok(const char *spec)
{
	size_t n = strlen(spec);

	if (strcmp(spec, "none") == 0 || n == 0)
		return true;
	if (n > SPEC_MAX)
		return false;
	while (*spec) {
		size_t len = strcspn(spec, ",");

		if (len && !item_ok(spec, len))
			return false;
		spec += len + (spec[len] == ',');
	}
	return true;
}

static void rates_of(const struct sim_fault_plan *p, uint32_t *rates)
{
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		rates[f] = sim_fault_rate(p, (enum sim_fault)f);
}

/* An accepted plan: rates in range; format then parse is the identity. */
static void check_round_trip(struct sim_fault_plan *p, const char *spec)
{
	uint32_t rates[SIM_FAULT__COUNT], again[SIM_FAULT__COUNT];
	char text[PLAN_TEXT], text2[PLAN_TEXT], err[256] = "";

	rates_of(p, rates);
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		if (rates[f] > RATE_MAX)
			fuzz_fail("fault-rate", "%s gave %s=%u",
				  fuzz_quote(spec),
				  sim_fault_name((enum sim_fault)f), rates[f]);
	sim_fault_plan_format(p, text, sizeof(text));
	if (sim_fault_plan_parse(p, text, err, sizeof(err)) != 0)
		fuzz_fail("fault-round-trip",
			  "%s formatted as \"%s\", which "
			  "does not parse: %s",
			  fuzz_quote(spec), text, err);
	rates_of(p, again);
	if (memcmp(rates, again, sizeof(rates)) != 0)
		fuzz_fail("fault-round-trip",
			  "%s formatted as \"%s\", which "
			  "parses to other rates",
			  fuzz_quote(spec), text);
	sim_fault_plan_format(p, text2, sizeof(text2));
	if (strcmp(text, text2) != 0)
		fuzz_fail("fault-format-stable", "\"%s\" reformatted as \"%s\"",
			  text, text2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = fuzz_strdup(data, size);
	struct sim_config sc;
	struct sim *sim;
	char err[256] = "";
	int rc;

	sim_config_default(&sc, 0);
	sim = sim_create(&sc);
	rc = sim_fault_plan_parse(sim_faults(sim), spec, err, sizeof(err));
	if ((rc == 0) != spec_ok(spec))
		fuzz_fail("fault-syntax",
			  "sim_fault_plan_parse(%s) returned "
			  "%d, the syntax says %s",
			  fuzz_quote(spec), rc,
			  spec_ok(spec) ? "valid" : "invalid");
	if (rc == 0)
		check_round_trip(sim_faults(sim), spec);
	else if (!err[0])
		fuzz_fail("fault-message",
			  "sim_fault_plan_parse(%s) failed "
			  "with an empty message",
			  fuzz_quote(spec));
	sim_destroy(sim);
	free(spec);
	return 0;
}
