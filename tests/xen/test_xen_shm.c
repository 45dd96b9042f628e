/*
 * The shared-memory observer: double fetch, publication, ranges across
 * frames, access after the last grant ended, untracked memory.
 */
#include <stdint.h>

#include "xen_test.h"

/* One guest page for the observer to watch. */
struct shm {
	struct xt t;
	struct sim_page *pg;
	uint8_t *d;
};

static void shm_init(struct shm *s)
{
	xt_init(&s->t);
	s->pg = sim_page_alloc(s->t.guest);
	ck_assert_ptr_nonnull(s->pg);
	s->d = sim_page_data(s->pg);
}

static void shm_fini(struct shm *s)
{
	sim_page_free(s->pg);
	xt_fini(&s->t);
}

static uint64_t double_fetches(const struct xt *t)
{
	return xt_v(t, SIM_CHECK_DOUBLE_FETCH);
}

/* Fetch len bytes at off in the page: the double fetches seen so far. */
static uint64_t fetch(struct shm *s, size_t off, size_t len)
{
	sim_shm_fetch(s->t.sim, s->d + off, len);
	return double_fetches(&s->t);
}

static uint64_t after_end(const struct xt *t)
{
	return xt_v(t, SIM_CHECK_GRANT_AFTER_END);
}

START_TEST(test_double_fetch_detected)
{
	struct shm s;

	shm_init(&s);
	ck_assert_uint_eq(fetch(&s, 64, 8), 0);
	ck_assert_uint_eq(fetch(&s, 72, 8), 0); /* adjacent, not overlapping */
	/* One byte of overlap is enough; one verdict per call. */
	ck_assert_uint_eq(fetch(&s, 79, 4), 1);
	ck_assert_uint_eq(fetch(&s, 0, 4096), 2);
	ck_assert_uint_eq(sim_shm_double_fetches(s.t.sim), 2);
	/* Stores are not fetches. */
	sim_shm_store(s.t.sim, s.d, 64);
	ck_assert_uint_eq(double_fetches(&s.t), 2);
	shm_fini(&s);
}
END_TEST

START_TEST(test_publish_resets)
{
	struct shm s;

	shm_init(&s);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(fetch(&s, 100, 36), 0);
		sim_shm_publish(s.t.sim, s.d + 100, 36);
	}
	/* A partial publication leaves the rest fetched. */
	ck_assert_uint_eq(fetch(&s, 100, 36), 0);
	sim_shm_publish(s.t.sim, s.d + 100, 35);
	ck_assert_uint_eq(fetch(&s, 100, 35), 0);
	sim_shm_publish(s.t.sim, s.d + 100, 35);
	ck_assert_uint_eq(fetch(&s, 100, 36), 1);
	shm_fini(&s);
}
END_TEST

START_TEST(test_word_boundaries)
{
	/* Bitmap words hold 64 bytes: exercise every edge around one. Each
	 * step is a fetch and the double fetches seen after it. */
	static const struct {
		size_t off, len;
		uint64_t seen;
	} step[] = {
		{ 63, 1, 0 },  { 64, 64, 0 },  { 128, 1, 0 }, { 4095, 1, 0 },
		{ 127, 1, 1 }, { 4095, 1, 2 }, { 62, 1, 2 },  { 129, 3966, 2 },
	};
	struct shm s;

	shm_init(&s);
	for (unsigned i = 0; i < sizeof(step) / sizeof(step[0]); i++)
		ck_assert_uint_eq(fetch(&s, step[i].off, step[i].len),
				  step[i].seen);
	shm_fini(&s);
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
	ck_assert_uint_eq(double_fetches(&t), 0);
	sim_shm_fetch(t.sim, hi + 3, 1);
	ck_assert_uint_eq(double_fetches(&t), 1);
	sim_shm_fetch(t.sim, lo + 4092, 1);
	ck_assert_uint_eq(double_fetches(&t), 2);
	sim_shm_fetch(t.sim, hi + 4, 4);
	sim_shm_fetch(t.sim, lo + 4088, 4);
	ck_assert_uint_eq(double_fetches(&t), 2);
	/* Publication across the same boundary clears both sides. */
	sim_shm_publish(t.sim, lo + 4092, span);
	sim_shm_fetch(t.sim, hi, 4);
	sim_shm_fetch(t.sim, lo + 4092, 4);
	ck_assert_uint_eq(double_fetches(&t), 2);
	sim_page_free(a);
	sim_page_free(b);
	xt_fini(&t);
}
END_TEST

START_TEST(test_after_end_detected)
{
	struct shm s;
	struct sim_page *never;
	uint32_t ref;

	shm_init(&s);
	never = sim_page_alloc(s.t.guest);
	ref = xt_grant(s.t.guest, SIM_DOMID_DOM0, s.pg, false);
	sim_shm_store(s.t.sim, s.d, 16);
	sim_shm_fetch(s.t.sim, s.d, 16);
	ck_assert_uint_eq(after_end(&s.t), 0);
	ck_assert_int_eq(sim_gnttab_try_end(s.t.guest, ref), 0);
	sim_shm_fetch(s.t.sim, s.d + 16, 16);
	ck_assert_uint_eq(after_end(&s.t), 1);
	sim_shm_store(s.t.sim, s.d, 8000); /* one verdict per call */
	ck_assert_uint_eq(after_end(&s.t), 2);
	/* Publishing is the backend's act, never a verdict. */
	sim_shm_publish(s.t.sim, s.d, 4096);
	ck_assert_uint_eq(after_end(&s.t), 2);
	/* Granted again: shared again. */
	ref = xt_grant(s.t.guest, SIM_DOMID_DOM0, s.pg, true);
	sim_shm_fetch(s.t.sim, s.d, 16);
	ck_assert_uint_eq(after_end(&s.t), 2);
	/* A frame never granted is not "after end". */
	sim_shm_store(s.t.sim, sim_page_data(never), 16);
	ck_assert_uint_eq(after_end(&s.t), 2);
	ck_assert_int_eq(sim_gnttab_try_end(s.t.guest, ref), 0);
	sim_page_free(never);
	ck_assert_uint_eq(double_fetches(&s.t), 0);
	shm_fini(&s);
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
	return xpv_check_run(shm_suite());
}
