/*
 * drivers/core/ring.c against Xen's own back-ring macros (libxen-dev
 * io/ring.h) on one simulated page: wrap-around of the free-running
 * indices, rsp_prod overflow detection, notification suppression on both
 * sides, and single fetch of each response.
 */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>

#include <xpv/front_ring.h>

#include "os/sim/xpv_sim.h"
#include "sim/backends/xen_ring.h"
#include "sim/check/check.h"
#include "testproto.h"

DEFINE_RING_TYPES(xpvt, struct xpvt_request, struct xpvt_response);

struct fixture {
	struct sim *sim;
	struct xpv_dev *dev;
	struct xpv_page *page;
	struct xpv_front_ring front;
	xpvt_back_ring_t back;
};

static void setup(struct fixture *f)
{
	struct sim_config cfg;
	struct sim_domain *d;
	sim_config_default(&cfg, 1);
	f->sim = sim_create(&cfg);
	ck_assert_int_eq(sim_domain_create(f->sim, 0, "dom0", &d), 0);
	ck_assert_int_eq(sim_domain_create(f->sim, 1, "guest", &d), 0);
	struct xpv_sim_dev_config dc = {
		.sim = f->sim, .guest = 1, .backend = 0,
		.frontend_path = "/local/domain/1/device/t/0",
		.backend_path = "/local/domain/0/backend/t/1/0",
	};
	f->dev = xpv_sim_dev_create(&dc);
	ck_assert_int_eq(xpv_page_alloc(f->dev, &f->page), 0);
	xpv_front_ring_init(&f->front, f->dev, xpv_page_addr(f->page),
			    sizeof(union xpvt_entry),
			    sizeof(struct xpvt_request),
			    sizeof(struct xpvt_response));
	BACK_RING_INIT(&f->back, (xpvt_sring_t *)xpv_page_addr(f->page),
		       4096);
	ck_assert_uint_eq(f->front.nr_slots, RING_SIZE(&f->back));
}

static void teardown(struct fixture *f)
{
	xpv_page_free(f->dev, f->page);
	xpv_sim_dev_destroy(f->dev);
	sim_destroy(f->sim);
}

/* Move both ends to index x, as if x requests had come and gone. */
static void move_indices(struct fixture *f, RING_IDX x)
{
	xpvt_sring_t *s = f->back.sring;
	f->front.req_prod_pvt = f->front.req_prod_pushed = x;
	f->front.rsp_cons = f->front.rsp_prod_seen = x;
	s->req_prod = s->rsp_prod = x;
	s->req_event = s->rsp_event = x + 1;
	f->back.req_cons = f->back.rsp_prod_pvt = x;
}

static void back_answer_all(struct fixture *f, int *notify)
{
	int more = 1;
	*notify = 0;
	while (more) {
		RING_IDX prod = f->back.sring->req_prod;
		rmb();
		ck_assert(!RING_REQUEST_PROD_OVERFLOW(&f->back, prod));
		while (f->back.req_cons != prod) {
			struct xpvt_request rq;
			RING_COPY_REQUEST(&f->back, f->back.req_cons, &rq);
			f->back.req_cons++;
			struct xpvt_response *r = RING_GET_RESPONSE(
				&f->back, f->back.rsp_prod_pvt);
			r->id = rq.id;
			r->seq = rq.seq * 3;
			r->len = rq.len;
			r->status = 0;
			sim_shm_publish(f->sim, r, sizeof(*r));
			f->back.rsp_prod_pvt++;
			int n;
			RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&f->back, n);
			*notify |= n;
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&f->back, more);
	}
}

static void exchange(struct fixture *f, unsigned total)
{
	struct sim_rng rng;
	unsigned sent = 0, got = 0;
	sim_rng_seed(&rng, 5);

	while (got < total) {
		unsigned batch = 1 + (unsigned)sim_rng_below(&rng, 128);
		for (unsigned i = 0; i < batch && sent < total; i++) {
			struct xpvt_request rq = { .id = (uint16_t)(sent & 127),
						   .seq = sent, .len = sent };
			int err = xpv_front_ring_put(&f->front, &rq);
			if (err == -XPV_ENOSPC)
				break;
			ck_assert_int_eq(err, 0);
			sent++;
		}
		xpv_bool notify;
		xpv_front_ring_push(&f->front, &notify);
		int bn;
		back_answer_all(f, &bn);
		xpv_u32 ready;
		ck_assert_int_eq(xpv_front_ring_poll(&f->front, &ready), 0);
		for (; ready; ready--, got++) {
			struct xpvt_response r;
			ck_assert_int_eq(xpv_front_ring_take(&f->front, &r), 0);
			ck_assert_uint_eq(r.seq, got * 3);
			ck_assert_uint_eq(r.len, got);
		}
		ck_assert_uint_eq(xpv_front_ring_outstanding(&f->front), 0);
	}
}

START_TEST(exchange_wraps_slots_and_indices)
{
	struct fixture f;
	setup(&f);
	exchange(&f, 5000); /* ~40 laps of the 128-slot ring */
	move_indices(&f, 0xffffff00u);
	exchange(&f, 1000); /* crosses 2^32 */
	ck_assert_uint_lt(f.front.rsp_cons, 0x1000);
	ck_assert_uint_eq(sim_violations_total(f.sim), 0);
	teardown(&f);
}
END_TEST

START_TEST(rsp_prod_beyond_outstanding_breaks_ring)
{
	struct fixture f;
	setup(&f);
	move_indices(&f, 0xfffffff0u);
	struct xpvt_request rq = { 0 };
	xpv_bool notify;
	xpv_u32 ready;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(xpv_front_ring_put(&f.front, &rq), 0);
	xpv_front_ring_push(&f.front, &notify);
	f.back.sring->rsp_prod = 0xfffffff0u + 3; /* exactly outstanding */
	ck_assert_int_eq(xpv_front_ring_poll(&f.front, &ready), 0);
	ck_assert_uint_eq(ready, 3);
	f.back.sring->rsp_prod = 0xfffffff0u + 4; /* one too many */
	ck_assert_int_eq(xpv_front_ring_poll(&f.front, &ready), -XPV_EPROTO);
	ck_assert_uint_eq(ready, 0);
	/* sticky: nothing works until the ring is rebuilt */
	f.back.sring->rsp_prod = 0xfffffff0u + 3;
	ck_assert_int_eq(xpv_front_ring_poll(&f.front, &ready), -XPV_EPROTO);
	ck_assert_int_eq(xpv_front_ring_put(&f.front, &rq), -XPV_EPROTO);
	xpv_bool more;
	ck_assert_int_eq(xpv_front_ring_final_check(&f.front, &more),
			 -XPV_EPROTO);
	teardown(&f);
}
END_TEST

START_TEST(ring_full_refuses_put)
{
	struct fixture f;
	setup(&f);
	struct xpvt_request rq = { 0 };
	for (unsigned i = 0; i < f.front.nr_slots; i++)
		ck_assert_int_eq(xpv_front_ring_put(&f.front, &rq), 0);
	ck_assert(xpv_front_ring_full(&f.front));
	ck_assert_int_eq(xpv_front_ring_put(&f.front, &rq), -XPV_ENOSPC);
	teardown(&f);
}
END_TEST

START_TEST(frontend_push_notifies_only_when_asked)
{
	struct fixture f;
	setup(&f);
	struct xpvt_request rq = { 0 };
	xpv_bool notify;
	int bnotify;

	xpv_front_ring_put(&f.front, &rq);
	xpv_front_ring_push(&f.front, &notify);
	ck_assert(notify); /* req_event starts at 1 */
	xpv_front_ring_put(&f.front, &rq);
	xpv_front_ring_push(&f.front, &notify);
	ck_assert(!notify); /* backend has not looked yet: suppressed */
	back_answer_all(&f, &bnotify); /* sets req_event = req_cons + 1 */
	xpv_front_ring_put(&f.front, &rq);
	xpv_front_ring_push(&f.front, &notify);
	ck_assert(notify);
	teardown(&f);
}
END_TEST

START_TEST(backend_push_notifies_only_when_asked)
{
	struct fixture f;
	setup(&f);
	struct xpvt_request rq = { 0 };
	xpv_bool notify, more;
	xpv_u32 ready;
	int bnotify;

	xpv_front_ring_put(&f.front, &rq);
	xpv_front_ring_push(&f.front, &notify);
	back_answer_all(&f, &bnotify);
	ck_assert(bnotify); /* rsp_event starts at 1 */
	xpv_front_ring_put(&f.front, &rq);
	xpv_front_ring_push(&f.front, &notify);
	back_answer_all(&f, &bnotify);
	ck_assert(!bnotify); /* frontend has not consumed: suppressed */
	ck_assert_int_eq(xpv_front_ring_poll(&f.front, &ready), 0);
	ck_assert_uint_eq(ready, 2);
	struct xpvt_response r;
	xpv_front_ring_take(&f.front, &r);
	xpv_front_ring_take(&f.front, &r);
	ck_assert_int_eq(xpv_front_ring_final_check(&f.front, &more), 0);
	ck_assert(!more);
	ck_assert_uint_eq(f.back.sring->rsp_event, f.front.rsp_cons + 1);
	xpv_front_ring_put(&f.front, &rq);
	xpv_front_ring_push(&f.front, &notify);
	back_answer_all(&f, &bnotify);
	ck_assert(bnotify); /* asked again by the final check */
	/* final_check sees a response that raced in */
	ck_assert_int_eq(xpv_front_ring_final_check(&f.front, &more), 0);
	ck_assert(more);
	teardown(&f);
}
END_TEST

START_TEST(response_fetched_once_and_double_fetch_caught)
{
	struct fixture f;
	setup(&f);
	struct xpvt_request rq = { 0 };
	struct xpvt_response r;
	xpv_bool notify;
	xpv_u32 ready;
	int bnotify;

	xpv_front_ring_put(&f.front, &rq);
	xpv_front_ring_push(&f.front, &notify);
	back_answer_all(&f, &bnotify);
	xpv_front_ring_poll(&f.front, &ready);
	xpv_front_ring_take(&f.front, &r);
	ck_assert_uint_eq(sim_violations(f.sim, SIM_CHECK_DOUBLE_FETCH), 0);
	/* A frontend that reads the slot again (e.g. to re-check a field)
	 * is what the double-fetch checker exists for. */
	const volatile void *slot = (const volatile uint8_t *)f.front.slots;
	xpv_shm_fetch(f.dev, &r, slot, sizeof(r));
	ck_assert_uint_eq(sim_violations(f.sim, SIM_CHECK_DOUBLE_FETCH), 1);
	teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("front_ring");
	TCase *tc = tcase_create("ring");
	tcase_add_test(tc, exchange_wraps_slots_and_indices);
	tcase_add_test(tc, rsp_prod_beyond_outstanding_breaks_ring);
	tcase_add_test(tc, ring_full_refuses_put);
	tcase_add_test(tc, frontend_push_notifies_only_when_asked);
	tcase_add_test(tc, backend_push_notifies_only_when_asked);
	tcase_add_test(tc, response_fetched_once_and_double_fetch_caught);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
