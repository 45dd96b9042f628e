/*
 * Whole-platform scenarios (tests/support/scenario.h): a test frontend and
 * backend exchange 10,000 requests over a granted ring with an event
 * channel and xenbus handshake, and end with a clean ledger. Then each
 * checker is shown to fire on a frontend that breaks its rule, and two
 * hostile-backend cases show the frontend surviving without violations.
 */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>

#include "scenario.h"

static void run(struct scenario_config *cfg, struct scenario_result *res)
{
	scenario_run(cfg, res, stderr);
}

START_TEST(ten_thousand_requests_clean)
{
	struct scenario_config cfg;
	struct scenario_result res;

	scenario_config_default(&cfg, 1);
	run(&cfg, &res);
	ck_assert_int_eq(res.start_error, 0);
	ck_assert(res.connected);
	ck_assert(res.closed);
	ck_assert(!res.front_error);
	ck_assert_uint_eq(res.submitted, 10000);
	ck_assert_uint_eq(res.completed_ok, 10000);
	ck_assert_uint_eq(res.completed_err, 0);
	ck_assert_uint_eq(res.backend_requests, 10000);
	ck_assert_uint_eq(res.violations_total, 0);
	ck_assert_uint_eq(res.quarantined, 0);
}
END_TEST

START_TEST(seeds_change_the_run_not_the_outcome)
{
	struct scenario_config cfg;
	struct scenario_result a, b, c;

	scenario_config_default(&cfg, 2);
	cfg.requests = 2000;
	run(&cfg, &a);
	run(&cfg, &b);
	cfg.seed = 3;
	run(&cfg, &c);
	ck_assert_uint_eq(a.trace_hash, b.trace_hash);
	ck_assert_uint_eq(a.events, b.events);
	ck_assert_uint_ne(a.trace_hash, c.trace_hash);
	ck_assert_uint_eq(c.completed_ok, 2000);
	ck_assert_uint_eq(a.violations_total + c.violations_total, 0);
}
END_TEST

/* A broken frontend must make its checker fire. */
static void expect_checker(struct testfront_breaks breaks,
			   enum sim_check check)
{
	struct scenario_config cfg;
	struct scenario_result res;

	scenario_config_default(&cfg, 4);
	cfg.requests = 300;
	cfg.breaks = breaks;
	run(&cfg, &res);
	ck_assert_msg(res.violations[check] > 0, "checker %s did not fire",
		      sim_check_name(check));
}

START_TEST(double_completion_is_caught)
{
	expect_checker((struct testfront_breaks){ .double_complete = 1 },
		       SIM_CHECK_COMPLETION_TWICE);
}
END_TEST

START_TEST(missing_completion_is_caught)
{
	expect_checker((struct testfront_breaks){ .drop_completion = 1 },
		       SIM_CHECK_COMPLETION_MISSING);
}
END_TEST

START_TEST(writable_outbound_grant_is_caught)
{
	expect_checker((struct testfront_breaks){ .rw_outbound = 1 },
		       SIM_CHECK_GRANT_RW_OUTBOUND);
}
END_TEST

START_TEST(leaked_grant_is_caught)
{
	expect_checker((struct testfront_breaks){ .leak_grant = 1 },
		       SIM_CHECK_GRANT_LEAK);
}
END_TEST

START_TEST(access_after_revoke_is_caught)
{
	expect_checker((struct testfront_breaks){ .access_after_end = 1 },
		       SIM_CHECK_GRANT_AFTER_END);
}
END_TEST

START_TEST(double_fetch_is_caught)
{
	expect_checker((struct testfront_breaks){ .double_fetch = 1 },
		       SIM_CHECK_DOUBLE_FETCH);
}
END_TEST

START_TEST(sleeping_in_event_handler_is_caught)
{
	expect_checker((struct testfront_breaks){ .sleep_in_handler = 1 },
		       SIM_CHECK_CONTRACT);
}
END_TEST

START_TEST(reuse_after_failed_revoke_is_caught)
{
	struct scenario_config cfg;
	struct scenario_result res;

	scenario_config_default(&cfg, 5);
	cfg.requests = 300;
	cfg.hold_mapping_nth = 10; /* hostile backend keeps one mapping */
	cfg.breaks.reuse_unrevoked = 1;
	run(&cfg, &res);
	ck_assert_uint_ge(res.revoke_while_mapped, 1);
	ck_assert_uint_gt(res.violations[SIM_CHECK_GRANT_REVOKE_REUSE], 0);
}
END_TEST

START_TEST(held_mapping_quarantines_without_violation)
{
	struct scenario_config cfg;
	struct scenario_result res;

	scenario_config_default(&cfg, 5);
	cfg.requests = 300;
	cfg.hold_mapping_nth = 10;
	run(&cfg, &res);
	ck_assert(res.front_error);     /* sticky error state */
	ck_assert(res.closed);          /* and still an orderly close */
	ck_assert_uint_ge(res.revoke_while_mapped, 1);
	ck_assert_uint_eq(res.quarantined, 1);
	ck_assert_uint_gt(res.completed_err, 0);
	ck_assert_uint_eq(res.violations_total, 0);
}
END_TEST

START_TEST(duplicate_response_puts_frontend_in_error)
{
	struct scenario_config cfg;
	struct scenario_result res;

	scenario_config_default(&cfg, 6);
	cfg.requests = 300;
	cfg.duplicate_nth = 20;
	run(&cfg, &res);
	ck_assert(res.front_error);
	ck_assert(res.closed);
	ck_assert_uint_eq(res.violations_total, 0); /* no double completion */
	ck_assert_uint_eq(res.completed_ok + res.completed_err,
			  res.submitted);
}
END_TEST

START_TEST(injected_faults_never_break_the_checkers)
{
	/* Swarm over seeds: whatever the plan does to the frontend (failed
	 * start, EAGAIN, delays), no checker may fire. */
	for (uint64_t seed = 100; seed < 140; seed++) {
		struct scenario_config cfg;
		struct scenario_result res;
		scenario_config_default(&cfg, seed);
		cfg.requests = 200;
		cfg.swarm = true;
		run(&cfg, &res);
		ck_assert_msg(res.violations_total == 0,
			      "seed %llu plan %s: %llu violations",
			      (unsigned long long)seed, res.faults,
			      (unsigned long long)res.violations_total);
		ck_assert_uint_eq(res.completed_ok + res.completed_err,
				  res.submitted);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("platform");
	TCase *tc = tcase_create("scenario");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, ten_thousand_requests_clean);
	tcase_add_test(tc, seeds_change_the_run_not_the_outcome);
	tcase_add_test(tc, double_completion_is_caught);
	tcase_add_test(tc, missing_completion_is_caught);
	tcase_add_test(tc, writable_outbound_grant_is_caught);
	tcase_add_test(tc, leaked_grant_is_caught);
	tcase_add_test(tc, access_after_revoke_is_caught);
	tcase_add_test(tc, double_fetch_is_caught);
	tcase_add_test(tc, sleeping_in_event_handler_is_caught);
	tcase_add_test(tc, reuse_after_failed_revoke_is_caught);
	tcase_add_test(tc, held_mapping_quarantines_without_violation);
	tcase_add_test(tc, duplicate_response_puts_frontend_in_error);
	tcase_add_test(tc, injected_faults_never_break_the_checkers);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
