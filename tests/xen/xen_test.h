/*
 * Shared fixture for the sim/xen unit tests: a simulation with a guest
 * (dom1, the granter / frontend side) and dom0 (the backend side), and
 * the steps more than one test file takes to get a test going. A step
 * that only one file needs stays in that file.
 */
#ifndef TESTS_XEN_XEN_TEST_H
#define TESTS_XEN_XEN_TEST_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "check_main.h"
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

/* Tear down a run that must not have found anything wrong. */
static inline void xt_fini_clean(struct xt *t)
{
	ck_assert_uint_eq(sim_violations_total(t->sim), 0);
	xt_fini(t);
}

static inline uint64_t xt_v(const struct xt *t, enum sim_check c)
{
	return sim_violations(t->sim, c);
}

/* Claim a ref in granter's table and grant pg to peer: both must work. */
static inline uint32_t xt_grant(struct sim_domain *granter, sim_domid peer,
				struct sim_page *pg, bool readonly)
{
	uint32_t ref;

	ck_assert_int_eq(sim_gnttab_claim(granter, &ref), 0);
	ck_assert_int_eq(sim_gnttab_grant(granter, ref, peer, pg, readonly), 0);
	return ref;
}

#endif /* TESTS_XEN_XEN_TEST_H */
