/*
 * A test-only backend for the test protocol, in the backend domain: it
 * follows the frontend over xenbus, maps the ring with the simulated grant
 * table, uses Xen's own io/ring.h macros for its side of the ring, and
 * answers each request after a seeded service time (so answers come back
 * out of order). Misbehaviour knobs let tests play a hostile backend.
 */
#ifndef XPV_TESTS_TESTBACK_H
#define XPV_TESTS_TESTBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/core/sim.h"
#include "sim/xen/xen.h"

struct testback;

struct testback_config {
	struct sim *sim;
	sim_domid self;          /* backend domain */
	sim_domid frontend;      /* frontend domain */
	const char *path;        /* the backend's directory */
	const char *frontend_path;
	uint64_t service_min_ns; /* per-request service time range */
	uint64_t service_max_ns;
	/* Hostile: keep the data grant of the nth request (1-based) mapped
	 * forever; 0: never. */
	uint64_t hold_mapping_nth;
	/* Hostile: answer the nth request (1-based) twice; 0: never. */
	uint64_t duplicate_nth;
};

struct testback_stats {
	uint64_t requests, responses, bad_requests, notifies;
	bool connected, ring_halted;
};

int testback_create(const struct testback_config *cfg, struct testback **out);
void testback_stats(const struct testback *tb, struct testback_stats *st);
/* Unmaps everything still mapped (also held mappings) and frees. */
void testback_destroy(struct testback *tb);

#endif /* XPV_TESTS_TESTBACK_H */
