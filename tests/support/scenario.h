/*
 * One whole simulated run of the test protocol: a toolstack writes the
 * xenstore nodes, the test backend (domain 0) and test frontend (domain 1)
 * connect over xenbus, a workload pushes N requests through the ring with
 * Q in flight, then both ends close and every checker audits the guest.
 * Used by the integration tests and by the xpv-selftest tool.
 */
#ifndef XPV_TESTS_SCENARIO_H
#define XPV_TESTS_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/check/check.h"
#include "testfront.h"

struct scenario_config {
	uint64_t seed;
	uint64_t requests;
	uint32_t depth;             /* requests kept in flight */
	const char *faults;         /* fault plan spec, or NULL */
	bool swarm;                 /* draw the fault plan from the seed */
	struct testfront_breaks breaks;
	uint64_t hold_mapping_nth;  /* hostile backend knobs, see testback.h */
	uint64_t duplicate_nth;
	FILE *log;                  /* frontend log lines, or NULL */
	FILE *trace;                /* every trace record, or NULL */
};

struct scenario_result {
	char faults[256];           /* the plan in force, as printed */
	int start_error;            /* frontend start failed with this */
	bool connected, closed, front_error;
	uint64_t submitted, completed_ok, completed_err;
	uint64_t backend_requests;
	uint64_t events, sim_time_ns;
	uint64_t trace_hash;
	uint64_t violations[SIM_CHECK__COUNT];
	uint64_t violations_total;
	uint32_t quarantined;       /* grant ledger after teardown */
	uint64_t revoke_while_mapped;
};

void scenario_config_default(struct scenario_config *cfg, uint64_t seed);
/* Runs to the end; report (may be NULL) gets the checker messages. */
void scenario_run(const struct scenario_config *cfg,
		  struct scenario_result *res, FILE *report);

#endif /* XPV_TESTS_SCENARIO_H */
