/*
 * Checks the fault-plan parser (sim_fault_plan_parse, reached from
 * sim_faults in configs and from --faults) against its documented syntax,
 * and that a plan it accepted survives format and parse unchanged.
 *
 * Input: the spec text itself (cut at a NUL byte, as a C caller sees it).
 * The syntax, from fault.h and docs/config.md: "none", "", or items
 * separated by commas, each NAME=RATE, NAME@N or NAME@N+: NAME a class as
 * sim_fault_name prints it, RATE decimal digits for 0..1000000 per
 * million, N decimal digits for 1..1000000000; at most
 * SIM_FAULT_PLAN_MAX characters. Empty items (",,") are skipped.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/fault.h"

#include "fuzz_target.h"

#define RATE_MAX  1000000 /* per million */
#define PLAN_TEXT 4096	  /* every class at the longest rate and count */

/* Digits only, [lo, hi], between p and end. */
static bool number_ok(const char *p, const char *end, unsigned long lo,
		      unsigned long hi)
{
	unsigned long v = 0;

	if (p == end)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > hi)
			return false;
	}
	return v >= lo;
}

/* One item of len bytes, by the rules above. */
static bool item_ok(const char *item, size_t len)
{
	const char *end = item + len;
	const char *sep = item;
	char name[64];

	while (sep < end && *sep != '=' && *sep != '@')
		sep++;
	if (sep == end || (size_t)(sep - item) >= sizeof(name))
		return false;
	memcpy(name, item, (size_t)(sep - item));
	name[sep - item] = '\0';
	if (sim_fault_from_name(name) < 0)
		return false;
	if (*sep == '=')
		return number_ok(sep + 1, end, 0, RATE_MAX);
	if (end > sep + 1 && end[-1] == '+')
		end--;
	return number_ok(sep + 1, end, 1, SIM_FAULT_NTH_MAX);
}

static bool spec_ok(const char *spec)
{
	size_t n = strlen(spec);

	if (strcmp(spec, "none") == 0 || n == 0)
		return true;
	if (n > SIM_FAULT_PLAN_MAX)
		return false;
	while (*spec) {
		size_t len = strcspn(spec, ",");

		if (len && !item_ok(spec, len))
			return false;
		spec += len + (spec[len] == ',');
	}
	return true;
}

/* What a plan holds: a rate and a countdown per class. */
struct plan_state {
	uint32_t rate[SIM_FAULT__COUNT];
	uint64_t nth[SIM_FAULT__COUNT]; /* 0: no countdown */
	bool persistent[SIM_FAULT__COUNT];
};

static void state_of(const struct sim_fault_plan *p, struct plan_state *st)
{
	memset(st, 0, sizeof(*st));
	for (int f = 0; f < SIM_FAULT__COUNT; f++) {
		st->rate[f] = sim_fault_rate(p, (enum sim_fault)f);
		if (!sim_fault_countdown_get(p, (enum sim_fault)f, &st->nth[f],
					     &st->persistent[f]))
			st->nth[f] = 0;
	}
}

/* An accepted plan: rates and counts in range; format then parse is the
 * identity. */
static void check_round_trip(struct sim_fault_plan *p, const char *spec)
{
	struct plan_state st, again;
	char text[PLAN_TEXT], text2[PLAN_TEXT], err[256] = "";

	state_of(p, &st);
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		if (st.rate[f] > RATE_MAX || st.nth[f] > SIM_FAULT_NTH_MAX)
			fuzz_fail("fault-rate", "%s gave %s=%u, @%llu",
				  fuzz_quote(spec),
				  sim_fault_name((enum sim_fault)f), st.rate[f],
				  (unsigned long long)st.nth[f]);
	sim_fault_plan_format(p, text, sizeof(text));
	if (sim_fault_plan_parse(p, text, err, sizeof(err)) != 0)
		fuzz_fail("fault-round-trip",
			  "%s formatted as \"%s\", which "
			  "does not parse: %s",
			  fuzz_quote(spec), text, err);
	state_of(p, &again);
	if (memcmp(&st, &again, sizeof(st)) != 0)
		fuzz_fail("fault-round-trip",
			  "%s formatted as \"%s\", which "
			  "parses to another plan",
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
