/* The fault plan (rates, countdowns, swarm draw, text form) and the
 * verdict table with its exactly-once completion checker. */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "sim/check/check.h"
#include "sim/core/fault.h"

static struct sim *new_sim(uint64_t seed)
{
	struct sim_config cfg;
	sim_config_default(&cfg, seed);
	return sim_create(&cfg);
}

START_TEST(plan_starts_empty)
{
	struct sim *sim = new_sim(1);
	struct sim_fault_plan *p = sim_faults(sim);
	char buf[128];

	for (int i = 0; i < 1000; i++)
		ck_assert(!sim_fault_hit(p, SIM_FAULT_ALLOC));
	ck_assert_uint_eq(sim_fault_consulted(p, SIM_FAULT_ALLOC), 1000);
	ck_assert_uint_eq(sim_fault_injected(p, SIM_FAULT_ALLOC), 0);
	sim_fault_plan_format(p, buf, sizeof(buf));
	ck_assert_str_eq(buf, "none");
	sim_destroy(sim);
}
END_TEST

START_TEST(countdown_fails_the_nth)
{
	struct sim *sim = new_sim(1);
	struct sim_fault_plan *p = sim_faults(sim);

	sim_fault_countdown(p, SIM_FAULT_GRANT_CLAIM, 3, false);
	ck_assert(!sim_fault_hit(p, SIM_FAULT_GRANT_CLAIM));
	ck_assert(!sim_fault_hit(p, SIM_FAULT_GRANT_CLAIM));
	ck_assert(sim_fault_hit(p, SIM_FAULT_GRANT_CLAIM));
	for (int i = 0; i < 10; i++)
		ck_assert(!sim_fault_hit(p, SIM_FAULT_GRANT_CLAIM));
	/* other classes are unaffected */
	ck_assert(!sim_fault_hit(p, SIM_FAULT_ALLOC));

	sim_fault_countdown(p, SIM_FAULT_ALLOC, 2, true);
	ck_assert(!sim_fault_hit(p, SIM_FAULT_ALLOC));
	for (int i = 0; i < 10; i++)
		ck_assert(sim_fault_hit(p, SIM_FAULT_ALLOC));
	sim_fault_countdown(p, SIM_FAULT_ALLOC, 0, false);
	ck_assert(!sim_fault_hit(p, SIM_FAULT_ALLOC));
	ck_assert_uint_eq(sim_fault_injected(p, SIM_FAULT_ALLOC), 10);
	sim_destroy(sim);
}
END_TEST

START_TEST(rate_is_roughly_honoured)
{
	struct sim *sim = new_sim(5);
	struct sim_fault_plan *p = sim_faults(sim);
	int hits = 0;

	sim_fault_set_rate(p, SIM_FAULT_XS_EAGAIN, 100000); /* 10% */
	for (int i = 0; i < 20000; i++)
		hits += sim_fault_hit(p, SIM_FAULT_XS_EAGAIN);
	ck_assert_int_gt(hits, 1600);
	ck_assert_int_lt(hits, 2400);
	sim_destroy(sim);
}
END_TEST

START_TEST(swarm_draw_is_a_function_of_the_seed)
{
	struct sim *sim = new_sim(1);
	struct sim_fault_plan *p = sim_faults(sim);
	char a[256], b[256];
	int distinct = 0, nonempty = 0;

	sim_fault_plan_draw(p, 99);
	sim_fault_plan_format(p, a, sizeof(a));
	sim_fault_plan_draw(p, 99);
	sim_fault_plan_format(p, b, sizeof(b));
	ck_assert_str_eq(a, b);
	for (uint64_t seed = 100; seed < 132; seed++) {
		sim_fault_plan_draw(p, seed);
		sim_fault_plan_format(p, b, sizeof(b));
		distinct += strcmp(a, b) != 0;
		nonempty += strcmp(b, "none") != 0;
	}
	ck_assert_int_gt(distinct, 20);
	ck_assert_int_gt(nonempty, 20);
	sim_destroy(sim);
}
END_TEST

/* NAME@N fails exactly the Nth consultation; NAME@N+ that one and every
 * one after; both survive format and parse. */
START_TEST(countdown_items)
{
	struct sim *sim = new_sim(1);
	struct sim_fault_plan *p = sim_faults(sim);
	char buf[256], err[128];
	uint64_t nth;
	bool persistent;

	ck_assert_int_eq(sim_fault_plan_parse(p, "be-bad-id@3,alloc=7,"
					      "alloc@2+", err, sizeof(err)),
			 0);
	ck_assert_uint_eq(sim_fault_rate(p, SIM_FAULT_ALLOC), 7);
	sim_fault_plan_format(p, buf, sizeof(buf));
	ck_assert_str_eq(buf, "alloc=7,alloc@2+,be-bad-id@3");
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(sim_fault_hit(p, SIM_FAULT_BE_BAD_ID), i == 3);
	ck_assert(!sim_fault_countdown_get(p, SIM_FAULT_BE_BAD_ID, &nth,
					   &persistent));
	ck_assert_int_eq(sim_fault_plan_parse(p, "alloc@2+", err, sizeof(err)),
			 0);
	ck_assert(!sim_fault_hit(p, SIM_FAULT_ALLOC));
	for (int i = 2; i <= 6; i++)
		ck_assert(sim_fault_hit(p, SIM_FAULT_ALLOC));
	ck_assert(sim_fault_countdown_get(p, SIM_FAULT_ALLOC, &nth,
					  &persistent));
	ck_assert_uint_eq(nth, 1);
	ck_assert(persistent);

	/* Leading zeros are digits like any (found by the CI campaign: the
	 * parser refused a long run of them). */
	ck_assert_int_eq(sim_fault_plan_parse(p, "xs-eagain@0000000000000000"
					      "002000001", err, sizeof(err)),
			 0);
	ck_assert(sim_fault_countdown_get(p, SIM_FAULT_XS_EAGAIN, &nth,
					  &persistent));
	ck_assert_uint_eq(nth, 2000001);

	const char *bad[] = { "alloc@0", "alloc@", "alloc@+", "alloc@1000000001",
			      "alloc@-1", "alloc@ 3", "alloc@3++", "alloc@3x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(sim_fault_plan_parse(p, bad[i], err,
						      sizeof(err)), -1);
		ck_assert_msg(strstr(err, "1..1000000000") != NULL, "%s: %s",
			      bad[i], err);
	}
	sim_destroy(sim);
}
END_TEST

START_TEST(format_parse_round_trip)
{
	struct sim *sim = new_sim(1);
	struct sim_fault_plan *p = sim_faults(sim);
	char buf[256], err[128];

	ck_assert_int_eq(sim_fault_plan_parse(p, "alloc=1000,xs-eagain=50000",
					      err, sizeof(err)), 0);
	ck_assert_uint_eq(sim_fault_rate(p, SIM_FAULT_ALLOC), 1000);
	ck_assert_uint_eq(sim_fault_rate(p, SIM_FAULT_XS_EAGAIN), 50000);
	sim_fault_plan_format(p, buf, sizeof(buf));
	ck_assert_str_eq(buf, "alloc=1000,xs-eagain=50000");

	ck_assert_int_eq(sim_fault_plan_parse(p, "alloc=1000,bogus=3", err,
					      sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown class 'bogus'"));
	ck_assert_int_eq(sim_fault_plan_parse(p, "alloc", err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "NAME=RATE, NAME@N or NAME@N+"));
	ck_assert_int_eq(sim_fault_plan_parse(p, "alloc=2000000", err,
					      sizeof(err)), -1);
	ck_assert_int_eq(sim_fault_plan_parse(p, "none", err, sizeof(err)),
			 0);
	ck_assert_uint_eq(sim_fault_rate(p, SIM_FAULT_ALLOC), 0);
	sim_destroy(sim);
}
END_TEST

/* Found by fuzz_fault_plan (corpus/regressions/fault_plan): strtoul let
 * space and signs into a rate. Only digits are a rate. */
START_TEST(rate_is_digits_only)
{
	static const char *const bad[] = {
	    "alloc=\r0", "alloc= 5", "alloc=+5", "alloc=-0", "alloc=5 ",
	    "alloc=0x10", "alloc=99999999999999999999",
	};
	struct sim *sim = new_sim(1);
	struct sim_fault_plan *p = sim_faults(sim);
	char err[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(sim_fault_plan_parse(p, bad[i], err,
						   sizeof(err)) == -1,
			      "'%s' accepted", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "rate must be"));
	}
	ck_assert_int_eq(sim_fault_plan_parse(p, "alloc=0001000000", err,
					      sizeof(err)), 0);
	ck_assert_uint_eq(sim_fault_rate(p, SIM_FAULT_ALLOC), 1000000);
	sim_destroy(sim);
}
END_TEST

START_TEST(exactly_once_checker)
{
	struct sim *sim = new_sim(1);

	sim_check_request_begin(sim, 1);
	sim_check_request_begin(sim, 2);
	sim_check_request_begin(sim, 3);
	sim_check_request_done(sim, 1);
	ck_assert_uint_eq(sim_violations_total(sim), 0);
	sim_check_request_done(sim, 1);
	ck_assert_uint_eq(sim_violations(sim, SIM_CHECK_COMPLETION_TWICE), 1);
	sim_check_request_done(sim, 77);
	ck_assert_uint_eq(sim_violations(sim, SIM_CHECK_COMPLETION_UNKNOWN),
			  1);
	sim_check_request_done(sim, 2);
	ck_assert_uint_eq(sim_check_requests_open(sim), 1);
	sim_check_requests_audit(sim, "end");
	ck_assert_uint_eq(sim_violations(sim, SIM_CHECK_COMPLETION_MISSING),
			  1);
	ck_assert_uint_eq(sim_violations_total(sim), 3);

	char *text;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	ck_assert_uint_eq(sim_check_report(sim, f), 3);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "request 3 still open at end"));
	ck_assert_ptr_nonnull(strstr(text, "completed-twice"));
	free(text);
	sim_destroy(sim);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_fault_check");
	TCase *tc = tcase_create("fault");
	tcase_add_test(tc, plan_starts_empty);
	tcase_add_test(tc, countdown_fails_the_nth);
	tcase_add_test(tc, rate_is_roughly_honoured);
	tcase_add_test(tc, swarm_draw_is_a_function_of_the_seed);
	tcase_add_test(tc, format_parse_round_trip);
	tcase_add_test(tc, countdown_items);
	tcase_add_test(tc, rate_is_digits_only);
	tcase_add_test(tc, exactly_once_checker);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
