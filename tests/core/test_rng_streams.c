/*
 * Independent random streams (sim/core/sim.h "Random streams", fault.h):
 * a domain's stream, and a fault class's stream for one domain, depend on
 * the seed and their key only, never on what other streams drew or on the
 * order in which streams were first used. What a replay without the
 * backend models relies on.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "sim/core/fault.h"

#define GUEST 1
#define BACKEND 0
#define DRAWS 64

static struct sim *new_sim(uint64_t seed)
{
	struct sim_config cfg;

	sim_config_default(&cfg, seed);
	return sim_create(&cfg);
}

static void draw_n(struct sim_rng *rng, uint64_t *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = sim_rng_next(rng);
}

START_TEST(derive_separates_keys_and_seeds)
{
	ck_assert_uint_eq(sim_seed_derive(7, 1), sim_seed_derive(7, 1));
	ck_assert_uint_ne(sim_seed_derive(7, 1), sim_seed_derive(7, 2));
	ck_assert_uint_ne(sim_seed_derive(7, 1), sim_seed_derive(8, 1));
	/* The xor of seed and key alone would make these equal. */
	ck_assert_uint_ne(sim_seed_derive(1, 2), sim_seed_derive(2, 1));
}
END_TEST

/* The guest's stream is the same whether or not, and how much, the
 * backend's and the main stream were drawn from first. */
START_TEST(domain_stream_ignores_other_draws)
{
	struct sim *a = new_sim(11), *b = new_sim(11), *c = new_sim(12);
	uint64_t va[DRAWS], vb[DRAWS], vc[DRAWS], vbe[DRAWS];

	draw_n(sim_rng_dom(a, GUEST), va, DRAWS);
	for (int i = 0; i < 1000; i++) {
		sim_rng_next(sim_rng_dom(b, BACKEND));
		sim_rng_next(sim_rng(b));
		sim_jitter(b, sim_rng_dom(b, 7));
	}
	draw_n(sim_rng_dom(b, GUEST), vb, DRAWS);
	ck_assert_mem_eq(va, vb, sizeof(va));
	/* Another seed, another stream; another domain, another stream. */
	draw_n(sim_rng_dom(c, GUEST), vc, DRAWS);
	ck_assert(memcmp(va, vc, sizeof(va)) != 0);
	draw_n(sim_rng_dom(a, BACKEND), vbe, DRAWS);
	ck_assert(memcmp(va, vbe, sizeof(va)) != 0);
	/* The same object each time: draws continue the stream. */
	ck_assert_ptr_eq(sim_rng_dom(a, GUEST), sim_rng_dom(a, GUEST));
	sim_destroy(a);
	sim_destroy(b);
	sim_destroy(c);
}
END_TEST

/* One class's draws per domain, recorded as a bit string of hits. */
static void hits(struct sim_fault_plan *p, enum sim_fault f, uint16_t dom,
		 bool *out, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = sim_fault_hit_dom(p, f, dom);
}

/* Consulting backend classes, or the backend's side of a shared class,
 * more or less often does not move the guest's fault draws. */
START_TEST(fault_class_streams_are_independent)
{
	struct sim *a = new_sim(5), *b = new_sim(5);
	struct sim_fault_plan *pa = sim_faults(a), *pb = sim_faults(b);
	bool alloc_a[DRAWS], alloc_b[DRAWS], delay_a[DRAWS], delay_b[DRAWS];
	int set = 0;

	for (int i = 0; i < 2; i++) {
		struct sim_fault_plan *p = i ? pb : pa;

		sim_fault_set_rate(p, SIM_FAULT_ALLOC, 500000);
		sim_fault_set_rate(p, SIM_FAULT_EVTCHN_DELAY, 500000);
		sim_fault_set_rate(p, SIM_FAULT_BE_BAD_ID, 500000);
	}
	for (int i = 0; i < DRAWS; i++) {
		alloc_a[i] = sim_fault_hit(pa, SIM_FAULT_ALLOC);
		delay_a[i] = sim_fault_hit_dom(pa, SIM_FAULT_EVTCHN_DELAY,
					       GUEST);
	}
	for (int i = 0; i < DRAWS; i++) {
		bool be[3];

		/* The backend side, interleaved, in b only. */
		hits(pb, SIM_FAULT_BE_BAD_ID, BACKEND, be, 3);
		hits(pb, SIM_FAULT_EVTCHN_DELAY, BACKEND, be, 3);
		alloc_b[i] = sim_fault_hit(pb, SIM_FAULT_ALLOC);
		delay_b[i] = sim_fault_hit_dom(pb, SIM_FAULT_EVTCHN_DELAY,
					       GUEST);
	}
	ck_assert_mem_eq(alloc_a, alloc_b, sizeof(alloc_a));
	ck_assert_mem_eq(delay_a, delay_b, sizeof(delay_a));
	/* At rate 1/2 the pattern has both answers (not a constant). */
	for (int i = 0; i < DRAWS; i++)
		set += alloc_a[i];
	ck_assert_int_gt(set, 0);
	ck_assert_int_lt(set, DRAWS);
	/* Counters stay per class, over all domains. */
	ck_assert_uint_eq(sim_fault_consulted(pb, SIM_FAULT_EVTCHN_DELAY),
			  4 * DRAWS);
	sim_destroy(a);
	sim_destroy(b);
}
END_TEST

/* Two domains consulting one class draw from two streams: the guest's
 * answers are those it gets when it alone consults. */
START_TEST(fault_streams_keyed_by_domain)
{
	struct sim *a = new_sim(9), *b = new_sim(9);
	bool ga[DRAWS], gb[DRAWS], be[DRAWS];

	sim_fault_set_rate(sim_faults(a), SIM_FAULT_XS_EAGAIN, 300000);
	sim_fault_set_rate(sim_faults(b), SIM_FAULT_XS_EAGAIN, 300000);
	hits(sim_faults(a), SIM_FAULT_XS_EAGAIN, GUEST, ga, DRAWS);
	hits(sim_faults(b), SIM_FAULT_XS_EAGAIN, BACKEND, be, DRAWS);
	hits(sim_faults(b), SIM_FAULT_XS_EAGAIN, GUEST, gb, DRAWS);
	ck_assert_mem_eq(ga, gb, sizeof(ga));
	ck_assert(memcmp(ga, be, sizeof(ga)) != 0);
	sim_destroy(a);
	sim_destroy(b);
}
END_TEST

/* A backend model's draws (sim_fault_draw without a decider) come from
 * its own domain's stream, not from the guest workloads' one. */
START_TEST(model_draws_use_the_domain_stream)
{
	struct sim *a = new_sim(3), *b = new_sim(3);
	uint64_t before = 0, after;

	for (int i = 0; i < DRAWS; i++)
		before ^= sim_fault_draw(a, NULL, BACKEND, 1000000) << (i % 40);
	after = sim_rng_next(sim_rng(a));
	ck_assert_uint_eq(after, sim_rng_next(sim_rng(b)));
	for (int i = 0; i < DRAWS; i++)
		before ^= sim_rng_below(sim_rng_dom(b, BACKEND), 1000000)
			  << (i % 40);
	ck_assert_uint_eq(before, 0); /* the same values, xored twice */
	sim_destroy(a);
	sim_destroy(b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("rng_streams");
	TCase *tc = tcase_create("streams");

	tcase_add_test(tc, derive_separates_keys_and_seeds);
	tcase_add_test(tc, domain_stream_ignores_other_draws);
	tcase_add_test(tc, fault_class_streams_are_independent);
	tcase_add_test(tc, fault_streams_keyed_by_domain);
	tcase_add_test(tc, model_draws_use_the_domain_stream);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
