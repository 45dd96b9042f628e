/*
 * Domains and page frames: creation rules, page properties, the frame
 * index behind sim_page_lookup, audits at destroy, silent teardown.
 */
#include <string.h>

#include "xen_test.h"

START_TEST(test_domain_create_get_destroy)
{
	struct xt t;
	struct sim_domain *d;

	xt_init(&t);
	ck_assert_int_eq(sim_domain_create(t.sim, GUEST_ID, "dup", &d),
			 -EEXIST);
	ck_assert_ptr_eq(sim_domain_get(t.sim, GUEST_ID), t.guest);
	ck_assert_ptr_eq(sim_domain_get(t.sim, 0), t.dom0);
	ck_assert_ptr_null(sim_domain_get(t.sim, 42));
	ck_assert_uint_eq(sim_domain_id(t.guest), GUEST_ID);
	ck_assert_ptr_eq(sim_domain_sim(t.guest), t.sim);
	sim_domain_destroy(t.guest);
	ck_assert_ptr_null(sim_domain_get(t.sim, GUEST_ID));
	ck_assert_uint_eq(sim_violations_total(t.sim), 0);
	/* The id is free again. */
	ck_assert_int_eq(sim_domain_create(t.sim, GUEST_ID, "again", &d), 0);
	xt_fini(&t);
}
END_TEST

START_TEST(test_page_properties)
{
	struct xt t;
	struct sim_page *a, *b;
	uint8_t *d;
	static const uint8_t zero[4096];

	xt_init(&t);
	a = sim_page_alloc(t.guest);
	b = sim_page_alloc(t.guest);
	ck_assert_ptr_nonnull(a);
	d = sim_page_data(a);
	ck_assert_uint_eq((uintptr_t)d % 4096, 0);
	ck_assert_mem_eq(d, zero, sizeof(zero));
	ck_assert_ptr_eq(sim_page_owner(a), t.guest);
	ck_assert_uint_ne(sim_page_gfn(a), sim_page_gfn(b));
	ck_assert_ptr_ne(sim_page_data(a), sim_page_data(b));
	memset(d, 0xff, 4096); /* the whole frame is ours */
	sim_page_free(a);
	sim_page_free(b);
	sim_page_free(NULL);
	xt_fini_clean(&t);
}
END_TEST

START_TEST(test_page_lookup)
{
	struct xt t;
	struct sim_page *pg[64];
	uint8_t *d;
	int local;

	xt_init(&t);
	for (int i = 0; i < 64; i++)
		pg[i] = sim_page_alloc(i % 2 ? t.guest : t.dom0);
	for (int i = 0; i < 64; i++) {
		d = sim_page_data(pg[i]);
		ck_assert_ptr_eq(sim_page_lookup(t.sim, d), pg[i]);
		ck_assert_ptr_eq(sim_page_lookup(t.sim, d + 4095), pg[i]);
		ck_assert_ptr_ne(sim_page_lookup(t.sim, d + 4096), pg[i]);
		ck_assert_ptr_ne(sim_page_lookup(t.sim, d - 1), pg[i]);
	}
	ck_assert_ptr_null(sim_page_lookup(t.sim, &local));
	ck_assert_ptr_null(sim_page_lookup(t.sim, NULL));
	d = sim_page_data(pg[5]);
	sim_page_free(pg[5]);
	ck_assert_ptr_null(sim_page_lookup(t.sim, d));
	for (int i = 0; i < 64; i++)
		if (i != 5)
			sim_page_free(pg[i]);
	xt_fini(&t);
}
END_TEST

START_TEST(test_page_leak_at_destroy)
{
	struct xt t;

	xt_init(&t);
	ck_assert_ptr_nonnull(sim_page_alloc(t.guest));
	ck_assert_ptr_nonnull(sim_page_alloc(t.guest));
	sim_domain_destroy(t.guest);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_PAGE_LEAK), 2);
	ck_assert_uint_eq(sim_violations_total(t.sim), 2);
	xt_fini(&t);
}
END_TEST

START_TEST(test_teardown_is_silent)
{
	struct sim_config cfg;
	struct sim *sim;
	struct sim_domain *d;
	uint32_t port;

	/* Everything left behind is freed by sim_destroy without verdicts
	 * (the harness audits when it wants verdicts); LeakSanitizer checks
	 * that nothing is lost. */
	sim_config_default(&cfg, 3);
	sim = sim_create(&cfg);
	ck_assert_int_eq(sim_domain_create(sim, 5, "leaky", &d), 0);
	xt_grant(d, SIM_DOMID_DOM0, sim_page_alloc(d), true);
	ck_assert_int_eq(sim_evtchn_alloc_unbound(d, 0, &port), 0);
	ck_assert_uint_eq(sim_violations_total(sim), 0);
	sim_destroy(sim);
}
END_TEST

static Suite *domain_suite(void)
{
	Suite *s = suite_create("xen_domain");
	TCase *tc = tcase_create("domain");

	tcase_add_test(tc, test_domain_create_get_destroy);
	tcase_add_test(tc, test_page_properties);
	tcase_add_test(tc, test_page_lookup);
	tcase_add_test(tc, test_page_leak_at_destroy);
	tcase_add_test(tc, test_teardown_is_silent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(domain_suite());
}
