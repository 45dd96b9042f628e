/*
 * Shared fixture for the sim/xen unit tests: a simulation with a guest
 * (dom1, the granter / frontend side) and dom0 (the backend side).
 */
#ifndef TESTS_XEN_XEN_TEST_H
#define TESTS_XEN_XEN_TEST_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "sim/check/check.h"
#include "sim/core/fault.h"
#include "sim/core/sim.h"
#include "sim/xen/xen.h"

#define GUEST_ID ((sim_domid)1)

struct xt {
	struct sim *sim;
	struct sim_domain *dom0;
	struct sim_domain *guest;
};

static inline void xt_init_cfg(struct xt *t, const struct sim_config *cfg)
{
	t->sim = sim_create(cfg);
	ck_assert_ptr_nonnull(t->sim);
	ck_assert_int_eq(sim_domain_create(t->sim, SIM_DOMID_DOM0, "dom0",
					   &t->dom0), 0);
	ck_assert_int_eq(sim_domain_create(t->sim, GUEST_ID, "guest",
					   &t->guest), 0);
}

static inline void xt_init(struct xt *t)
{
	struct sim_config cfg;

	sim_config_default(&cfg, 1);
	xt_init_cfg(t, &cfg);
}

static inline void xt_fini(struct xt *t)
{
	sim_destroy(t->sim);
}

static inline uint64_t xt_v(const struct xt *t, enum sim_check c)
{
	return sim_violations(t->sim, c);
}

/* Runs every suite in one runner; the exit status is the failure count. */
static inline int xt_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* TESTS_XEN_XEN_TEST_H */
