/*
 * The shared-memory observer: double fetch, publication, ranges across
 * frames, access after the last grant ended, untracked memory.
 */
#include <stdint.h>

#include "xen_test.h"

START_TEST(test_double_fetch_detected)
{
	struct xt t;
	struct sim_page *pg;
	uint8_t *d;

	xt_init(&t);
	pg = sim_page_alloc(t.guest);
	d = sim_page_data(pg);
	sim_shm_fetch(t.sim, d + 64, 8);
	sim_shm_fetch(t.sim, d + 72, 8); /* adjacent, not overlapping */
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 0);
	/* One byte of overlap is enough; one verdict per call. */
	sim_shm_fetch(t.sim, d + 79, 4);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 1);
	sim_shm_fetch(t.sim, d, 4096);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 2);
	ck_assert_uint_eq(sim_shm_double_fetches(t.sim), 2);
	/* Stores are not fetches. */
	sim_shm_store(t.sim, d, 64);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 2);
	sim_page_free(pg);
	xt_fini(&t);
}
END_TEST

START_TEST(test_publish_resets)
{
	struct xt t;
	struct sim_page *pg;
	uint8_t *d;

	xt_init(&t);
	pg = sim_page_alloc(t.guest);
	d = sim_page_data(pg);
	for (int i = 0; i < 4; i++) {
		sim_shm_fetch(t.sim, d + 100, 36);
		sim_shm_publish(t.sim, d + 100, 36);
	}
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 0);
	/* A partial publication leaves the rest fetched. */
	sim_shm_fetch(t.sim, d + 100, 36);
	sim_shm_publish(t.sim, d + 100, 35);
	sim_shm_fetch(t.sim, d + 100, 35);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 0);
	sim_shm_publish(t.sim, d + 100, 35);
	sim_shm_fetch(t.sim, d + 100, 36);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 1);
	sim_page_free(pg);
	xt_fini(&t);
}
END_TEST

START_TEST(test_word_boundaries)
{
	struct xt t;
	struct sim_page *pg;
	uint8_t *d;

	/* Bitmap words hold 64 bytes: exercise every edge around one. */
	xt_init(&t);
	pg = sim_page_alloc(t.guest);
	d = sim_page_data(pg);
	sim_shm_fetch(t.sim, d + 63, 1);
	sim_shm_fetch(t.sim, d + 64, 64);
	sim_shm_fetch(t.sim, d + 128, 1);
	sim_shm_fetch(t.sim, d + 4095, 1);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 0);
	sim_shm_fetch(t.sim, d + 127, 1);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 1);
	sim_shm_fetch(t.sim, d + 4095, 1);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 2);
	sim_shm_fetch(t.sim, d + 62, 1);
	sim_shm_fetch(t.sim, d + 129, 3966);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 2);
	sim_page_free(pg);
	xt_fini(&t);
}
END_TEST

START_TEST(test_cross_page)
{
	struct xt t;
	struct sim_page *a, *b, *tmp;
	uint8_t *lo, *hi;
	size_t span;

	xt_init(&t);
	a = sim_page_alloc(t.guest);
	b = sim_page_alloc(t.guest);
	if ((uintptr_t)sim_page_data(a) > (uintptr_t)sim_page_data(b)) {
		tmp = a;
		a = b;
		b = tmp;
	}
	lo = sim_page_data(a);
	hi = sim_page_data(b);
	/* One range from a's last 4 bytes to b's first 4 (whatever lies
	 * between is untracked or another frame; the observer never reads
	 * the bytes, it only walks the addresses). */
	span = (size_t)(hi - lo) + 4 - 4092;
	sim_shm_fetch(t.sim, lo + 4092, span);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 0);
	sim_shm_fetch(t.sim, hi + 3, 1);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 1);
	sim_shm_fetch(t.sim, lo + 4092, 1);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 2);
	sim_shm_fetch(t.sim, hi + 4, 4);
	sim_shm_fetch(t.sim, lo + 4088, 4);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 2);
	/* Publication across the same boundary clears both sides. */
	sim_shm_publish(t.sim, lo + 4092, span);
	sim_shm_fetch(t.sim, hi, 4);
	sim_shm_fetch(t.sim, lo + 4092, 4);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 2);
	sim_page_free(a);
	sim_page_free(b);
	xt_fini(&t);
}
END_TEST

START_TEST(test_after_end_detected)
{
	struct xt t;
	struct sim_page *pg, *never;
	uint32_t ref;
	uint8_t *d;

	xt_init(&t);
	pg = sim_page_alloc(t.guest);
	never = sim_page_alloc(t.guest);
	d = sim_page_data(pg);
	ck_assert_int_eq(sim_gnttab_claim(t.guest, &ref), 0);
	ck_assert_int_eq(sim_gnttab_grant(t.guest, ref, 0, pg, false), 0);
	sim_shm_store(t.sim, d, 16);
	sim_shm_fetch(t.sim, d, 16);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_AFTER_END), 0);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_shm_fetch(t.sim, d + 16, 16);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_AFTER_END), 1);
	sim_shm_store(t.sim, d, 8000); /* one verdict per call */
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_AFTER_END), 2);
	/* Publishing is the backend's act, never a verdict. */
	sim_shm_publish(t.sim, d, 4096);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_AFTER_END), 2);
	/* Granted again: shared again. */
	ck_assert_int_eq(sim_gnttab_claim(t.guest, &ref), 0);
	ck_assert_int_eq(sim_gnttab_grant(t.guest, ref, 0, pg, true), 0);
	sim_shm_fetch(t.sim, d, 16);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_AFTER_END), 2);
	/* A frame never granted is not "after end". */
	sim_shm_store(t.sim, sim_page_data(never), 16);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_AFTER_END), 2);
	ck_assert_int_eq(sim_gnttab_try_end(t.guest, ref), 0);
	sim_page_free(pg);
	sim_page_free(never);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_DOUBLE_FETCH), 0);
	xt_fini(&t);
}
END_TEST

START_TEST(test_untracked_memory_ignored)
{
	struct xt t;
	uint8_t buf[256];
	struct sim *bare;
	struct sim_config cfg;

	xt_init(&t);
	sim_shm_fetch(t.sim, buf, sizeof(buf));
	sim_shm_fetch(t.sim, buf, sizeof(buf));
	sim_shm_store(t.sim, buf, sizeof(buf));
	sim_shm_fetch(t.sim, NULL, 0);
	ck_assert_uint_eq(sim_violations_total(t.sim), 0);
	ck_assert_uint_eq(sim_shm_double_fetches(t.sim), 0);
	xt_fini(&t);
	/* Without a Xen model at all, nothing is observed. */
	sim_config_default(&cfg, 1);
	bare = sim_create(&cfg);
	sim_shm_fetch(bare, buf, 4);
	sim_shm_fetch(bare, buf, 4);
	sim_shm_publish(bare, buf, 4);
	ck_assert_ptr_null(sim_page_lookup(bare, buf));
	ck_assert_uint_eq(sim_shm_double_fetches(bare), 0);
	ck_assert_uint_eq(sim_violations_total(bare), 0);
	sim_destroy(bare);
}
END_TEST

static Suite *shm_suite(void)
{
	Suite *s = suite_create("xen_shm");
	TCase *tc = tcase_create("shm");

	tcase_add_test(tc, test_double_fetch_detected);
	tcase_add_test(tc, test_publish_resets);
	tcase_add_test(tc, test_word_boundaries);
	tcase_add_test(tc, test_cross_page);
	tcase_add_test(tc, test_after_end_detected);
	tcase_add_test(tc, test_untracked_memory_ignored);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xt_main(shm_suite());
}
