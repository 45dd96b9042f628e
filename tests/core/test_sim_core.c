/* Event queue, run loop bounds, seeded randomness and the trace hash. */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>

#include "sim/core/sim.h"

static struct sim *new_sim(uint64_t seed)
{
	struct sim_config cfg;
	sim_config_default(&cfg, seed);
	return sim_create(&cfg);
}

struct recorder {
	int order[64];
	uint64_t when[64];
	int n;
};

struct rec_arg {
	struct recorder *rec;
	int tag;
};

static void record(struct sim *sim, void *arg)
{
	struct rec_arg *a = arg;
	a->rec->when[a->rec->n] = sim_now(sim);
	a->rec->order[a->rec->n++] = a->tag;
}

START_TEST(equal_times_run_fifo)
{
	struct sim *sim = new_sim(1);
	struct recorder rec = { 0 };
	struct rec_arg args[10];

	for (int i = 0; i < 10; i++) {
		args[i] = (struct rec_arg){ &rec, i };
		sim_schedule(sim, 500, record, &args[i], "rec");
	}
	ck_assert_int_eq(sim_run(sim), SIM_RUN_IDLE);
	ck_assert_int_eq(rec.n, 10);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(rec.order[i], i);
		ck_assert_uint_eq(rec.when[i], 500);
	}
	sim_destroy(sim);
}
END_TEST

START_TEST(time_order_and_cancel)
{
	struct sim *sim = new_sim(1);
	struct recorder rec = { 0 };
	struct rec_arg a[4] = { { &rec, 0 }, { &rec, 1 }, { &rec, 2 },
				{ &rec, 3 } };

	sim_schedule(sim, 300, record, &a[0], "rec");
	sim_event_id id = sim_schedule(sim, 100, record, &a[1], "rec");
	sim_schedule(sim, 200, record, &a[2], "rec");
	sim_schedule(sim, 50, record, &a[3], "rec");
	ck_assert(sim_cancel(sim, id));
	ck_assert(!sim_cancel(sim, id));
	ck_assert_uint_eq(sim_pending(sim), 3);
	sim_run(sim);
	ck_assert_int_eq(rec.n, 3);
	ck_assert_int_eq(rec.order[0], 3);
	ck_assert_int_eq(rec.order[1], 2);
	ck_assert_int_eq(rec.order[2], 0);
	ck_assert_uint_eq(sim_now(sim), 300);
	sim_destroy(sim);
}
END_TEST

static void reschedule_forever(struct sim *sim, void *arg)
{
	sim_schedule(sim, 10, reschedule_forever, arg, "loop");
}

START_TEST(run_bounds)
{
	struct sim_config cfg;
	sim_config_default(&cfg, 1);
	cfg.max_events = 1000;
	struct sim *sim = sim_create(&cfg);

	sim_schedule(sim, 0, reschedule_forever, NULL, "loop");
	ck_assert_int_eq(sim_run(sim), SIM_RUN_EVENT_LIMIT);
	ck_assert_uint_eq(sim_events_run(sim), 1000);
	sim_destroy(sim);

	sim_config_default(&cfg, 1);
	cfg.max_time_ns = 5000;
	sim = sim_create(&cfg);
	sim_schedule(sim, 0, reschedule_forever, NULL, "loop");
	ck_assert_int_eq(sim_run(sim), SIM_RUN_TIME_LIMIT);
	ck_assert_uint_le(sim_now(sim), 5000);
	sim_destroy(sim);
}
END_TEST

START_TEST(run_until_advances_clock)
{
	struct sim *sim = new_sim(1);
	struct recorder rec = { 0 };
	struct rec_arg a = { &rec, 7 };

	sim_schedule(sim, 2000, record, &a, "rec");
	ck_assert_int_eq(sim_run_until(sim, 1000), SIM_RUN_IDLE);
	ck_assert_uint_eq(sim_now(sim), 1000);
	ck_assert_int_eq(rec.n, 0);
	sim_run_until(sim, 2000);
	ck_assert_int_eq(rec.n, 1);
	ck_assert_uint_eq(sim_now(sim), 2000);
	sim_destroy(sim);
}
END_TEST

START_TEST(rng_is_seeded)
{
	struct sim_rng a, b, c;
	sim_rng_seed(&a, 42);
	sim_rng_seed(&b, 42);
	sim_rng_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t x = sim_rng_next(&a);
		ck_assert_uint_eq(x, sim_rng_next(&b));
		differ += x != sim_rng_next(&c);
	}
	ck_assert_int_gt(differ, 95);
	/* below() stays in range and hits every value of a small range */
	int seen[7] = { 0 };
	for (int i = 0; i < 7000; i++) {
		uint64_t v = sim_rng_below(&a, 7);
		ck_assert_uint_lt(v, 7);
		seen[v]++;
	}
	for (int i = 0; i < 7; i++)
		ck_assert_int_gt(seen[i], 800);
	ck_assert_uint_eq(sim_rng_below(&a, 0), 0);
	ck_assert(!sim_rng_chance(&a, 0));
	ck_assert(sim_rng_chance(&a, 1000000));
}
END_TEST

static void random_events(struct sim *sim, void *arg)
{
	int *left = arg;
	if ((*left)-- > 0)
		sim_schedule(sim, sim_rng_below(sim_rng(sim), 1000),
			     random_events, arg, "rand");
}

static uint64_t hash_of_run(uint64_t seed)
{
	struct sim *sim = new_sim(seed);
	int left = 500;
	sim_schedule(sim, 0, random_events, &left, "rand");
	sim_trace(sim, "custom", 1, 2);
	sim_run(sim);
	uint64_t h = sim_trace_hash(sim);
	ck_assert_uint_gt(sim_trace_records(sim), 500);
	sim_destroy(sim);
	return h;
}

START_TEST(trace_hash_names_the_run)
{
	ck_assert_uint_eq(hash_of_run(7), hash_of_run(7));
	ck_assert_uint_ne(hash_of_run(7), hash_of_run(8));
}
END_TEST

static int destroyed_order[2], destroyed_n;
static void destroy_a(void *p)
{
	destroyed_order[destroyed_n++] = 1;
}
static void destroy_b(void *p)
{
	destroyed_order[destroyed_n++] = 2;
}

START_TEST(parts_destroyed_last_first)
{
	struct sim *sim = new_sim(1);
	int a, b;
	destroyed_n = 0;
	sim_attach(sim, SIM_PART_XEN, &a, destroy_a);
	sim_attach(sim, SIM_PART_XS, &b, destroy_b);
	ck_assert_ptr_eq(sim_part(sim, SIM_PART_XEN), &a);
	sim_destroy(sim);
	ck_assert_int_eq(destroyed_n, 2);
	ck_assert_int_eq(destroyed_order[0], 2);
	ck_assert_int_eq(destroyed_order[1], 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, equal_times_run_fifo);
	tcase_add_test(tc, time_order_and_cancel);
	tcase_add_test(tc, run_bounds);
	tcase_add_test(tc, run_until_advances_clock);
	tcase_add_test(tc, rng_is_seeded);
	tcase_add_test(tc, trace_hash_names_the_run);
	tcase_add_test(tc, parts_destroyed_last_first);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
