/* Fault-plan validation for the selftest's command line. */
#include <stdio.h>

#include "sim/core/fault.h"

int xpv_selftest_check_faults(const char *spec);
int xpv_selftest_check_faults(const char *spec)
{
	struct sim_config sc;
	char err[160];
	int rc;

	sim_config_default(&sc, 0);
	struct sim *sim = sim_create(&sc);
	rc = sim_fault_plan_parse(sim_faults(sim), spec, err, sizeof(err));
	if (rc)
		fprintf(stderr, "xpv-selftest: --faults: %s\n", err);
	sim_destroy(sim);
	return rc;
}
