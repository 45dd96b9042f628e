/*
 * Event channels: binding, delivery timing, mask, late EOI, close, the
 * one-delivery-at-a-time rule, and the delay/storm fault injection.
 * The guest allocates an unbound port for dom0, dom0 binds to it; tests
 * send from dom0 and watch the guest's handler (the frontend direction).
 */
#include "xen_test.h"

struct rx {
	unsigned calls;
	uint64_t last_ns;
	uint32_t last_port;
};

static void on_event(struct sim *sim, void *arg, uint32_t port)
{
	struct rx *rx = arg;

	rx->calls++;
	rx->last_ns = sim_now(sim);
	rx->last_port = port;
}

struct chan {
	struct xt t;
	uint32_t gport; /* guest end */
	uint32_t bport; /* dom0 end */
	struct rx rx;
};

/* The guest offers an unbound port to dom0, and dom0 binds to it. */
static void bind_pair(struct xt *t, uint32_t *gport, uint32_t *bport)
{
	ck_assert_int_eq(sim_evtchn_alloc_unbound(t->guest, SIM_DOMID_DOM0,
						  gport), 0);
	ck_assert_uint_ne(*gport, 0);
	ck_assert_int_eq(sim_evtchn_bind_interdomain(t->dom0, GUEST_ID, *gport,
						     bport), 0);
}

static void chan_init_cfg(struct chan *c, const struct sim_config *cfg,
			  bool lateeoi)
{
	xt_init_cfg(&c->t, cfg);
	c->rx = (struct rx){ 0 };
	bind_pair(&c->t, &c->gport, &c->bport);
	ck_assert_int_eq(sim_evtchn_set_handler(c->t.guest, c->gport, on_event,
						&c->rx, lateeoi), 0);
}

/* No jitter: delivery times are exact. */
static void chan_init(struct chan *c, bool lateeoi)
{
	struct sim_config cfg;

	sim_config_default(&cfg, 1);
	cfg.jitter_ns = 0;
	chan_init_cfg(c, &cfg, lateeoi);
}

static void chan_fini(struct chan *c)
{
	ck_assert_int_eq(sim_evtchn_close(c->t.dom0, c->bport), 0);
	ck_assert_int_eq(sim_evtchn_close(c->t.guest, c->gport), 0);
	xt_fini(&c->t);
}

/* Run the simulation dry: how often the guest's handler ran so far. */
static unsigned run_calls(struct chan *c)
{
	sim_run(c->t.sim);
	return c->rx.calls;
}

/* dom0 notifies the guest, then run_calls(). */
static unsigned send_run(struct chan *c)
{
	ck_assert_int_eq(sim_evtchn_send(c->t.dom0, c->bport), 0);
	return run_calls(c);
}

static struct sim_evtchn_stats evstats(const struct sim_domain *d)
{
	struct sim_evtchn_stats st;

	sim_evtchn_stats(d, &st);
	return st;
}

START_TEST(test_deliver_after_latency)
{
	struct chan c;

	chan_init(&c, false);
	ck_assert_uint_eq(evstats(c.t.guest).open, 1);
	ck_assert_uint_eq(evstats(c.t.dom0).open, 1);
	ck_assert_int_eq(sim_evtchn_send(c.t.dom0, c.bport), 0);
	ck_assert(sim_evtchn_is_pending(c.t.guest, c.gport));
	ck_assert_uint_eq(c.rx.calls, 0); /* never synchronous */
	ck_assert_uint_eq(run_calls(&c), 1);
	ck_assert_uint_eq(c.rx.last_ns,
			  sim_config(c.t.sim)->evtchn_latency_ns);
	ck_assert_uint_eq(c.rx.last_port, c.gport);
	ck_assert(!sim_evtchn_is_pending(c.t.guest, c.gport));
	ck_assert_uint_eq(evstats(c.t.dom0).sends, 1);
	ck_assert_uint_eq(evstats(c.t.guest).deliveries, 1);
	/* And the other direction. */
	struct rx brx = { 0 };
	ck_assert_int_eq(sim_evtchn_set_handler(c.t.dom0, c.bport, on_event,
						&brx, false), 0);
	ck_assert_int_eq(sim_evtchn_send(c.t.guest, c.gport), 0);
	sim_run(c.t.sim);
	ck_assert_uint_eq(brx.calls, 1);
	ck_assert_uint_eq(c.rx.calls, 1);
	chan_fini(&c);
}
END_TEST

START_TEST(test_jitter_within_bounds)
{
	struct chan c;
	struct sim_config cfg;
	uint64_t lat, jit, sent;

	sim_config_default(&cfg, 7);
	chan_init_cfg(&c, &cfg, false);
	lat = cfg.evtchn_latency_ns;
	jit = cfg.jitter_ns;
	for (int i = 0; i < 20; i++) {
		sent = sim_now(c.t.sim);
		ck_assert_uint_eq(send_run(&c), (unsigned)i + 1);
		ck_assert_uint_ge(c.rx.last_ns - sent, lat);
		ck_assert_uint_le(c.rx.last_ns - sent, lat + jit);
	}
	chan_fini(&c);
}
END_TEST

START_TEST(test_no_duplicate_deliveries)
{
	struct chan c;

	chan_init(&c, false);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(sim_evtchn_send(c.t.dom0, c.bport), 0);
	ck_assert_uint_eq(sim_pending(c.t.sim), 1);
	ck_assert_uint_eq(run_calls(&c), 1);
	ck_assert_uint_eq(evstats(c.t.dom0).sends, 5);
	ck_assert_uint_eq(evstats(c.t.guest).deliveries, 1);
	chan_fini(&c);
}
END_TEST

START_TEST(test_mask_holds_unmask_delivers)
{
	struct chan c;

	chan_init(&c, false);
	ck_assert_int_eq(sim_evtchn_mask(c.t.guest, c.gport), 0);
	ck_assert_uint_eq(send_run(&c), 0);
	ck_assert(sim_evtchn_is_pending(c.t.guest, c.gport));
	ck_assert_int_eq(sim_evtchn_unmask(c.t.guest, c.gport), 0);
	ck_assert_uint_eq(run_calls(&c), 1);
	ck_assert(!sim_evtchn_is_pending(c.t.guest, c.gport));
	/* Masked after the delivery was scheduled: it is held, too. */
	ck_assert_int_eq(sim_evtchn_send(c.t.dom0, c.bport), 0);
	ck_assert_int_eq(sim_evtchn_mask(c.t.guest, c.gport), 0);
	ck_assert_uint_eq(run_calls(&c), 1);
	ck_assert_int_eq(sim_evtchn_unmask(c.t.guest, c.gport), 0);
	ck_assert_uint_eq(run_calls(&c), 2);
	chan_fini(&c);
}
END_TEST

START_TEST(test_lateeoi_holds_until_eoi)
{
	struct chan c;

	chan_init(&c, true);
	ck_assert_uint_eq(send_run(&c), 1);
	/* No EOI yet: further sends stay pending, undelivered. */
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(send_run(&c), 1);
	ck_assert(sim_evtchn_is_pending(c.t.guest, c.gport));
	uint64_t eoi_ns = sim_now(c.t.sim);
	ck_assert_int_eq(sim_evtchn_eoi(c.t.guest, c.gport), 0);
	ck_assert_uint_eq(run_calls(&c), 2);
	ck_assert_uint_eq(c.rx.last_ns - eoi_ns,
			  sim_config(c.t.sim)->evtchn_latency_ns);
	/* EOI with nothing pending delivers nothing. */
	ck_assert_int_eq(sim_evtchn_eoi(c.t.guest, c.gport), 0);
	ck_assert_uint_eq(run_calls(&c), 2);
	chan_fini(&c);
}
END_TEST

START_TEST(test_close_drops_pending)
{
	struct chan c;
	uint32_t again;

	chan_init(&c, false);
	ck_assert_int_eq(sim_evtchn_send(c.t.dom0, c.bport), 0);
	ck_assert_int_eq(sim_evtchn_close(c.t.guest, c.gport), 0);
	ck_assert_uint_eq(run_calls(&c), 0);
	ck_assert_uint_eq(evstats(c.t.guest).dropped, 1);
	ck_assert_uint_eq(evstats(c.t.guest).open, 0);
	ck_assert_int_eq(sim_evtchn_send(c.t.guest, c.gport), -EINVAL);
	/* dom0's end is unbound now: sends are dropped, not errors. */
	ck_assert_int_eq(sim_evtchn_send(c.t.dom0, c.bport), 0);
	ck_assert_uint_eq(evstats(c.t.dom0).dropped, 1);
	ck_assert_uint_eq(evstats(c.t.dom0).open, 1);
	ck_assert_uint_eq(run_calls(&c), 0);
	/* ... and the guest may bind to it again (Xen keeps it for us). */
	ck_assert_int_eq(sim_evtchn_bind_interdomain(c.t.guest, 0, c.bport,
						     &again), 0);
	ck_assert_int_eq(sim_evtchn_set_handler(c.t.guest, again, on_event,
						&c.rx, false), 0);
	ck_assert_uint_eq(send_run(&c), 1);
	c.gport = again;
	chan_fini(&c);
}
END_TEST

static void close_in_handler(struct sim *sim, void *arg, uint32_t port)
{
	struct chan *c = arg;

	c->rx.calls++;
	ck_assert_int_eq(sim_evtchn_close(c->t.guest, port), 0);
}

START_TEST(test_storm_then_close_in_handler)
{
	struct chan c;

	/* A storm re-raises the port; the handler closes it; the re-raised
	 * delivery must be dropped without touching a stale port. */
	chan_init(&c, false);
	sim_fault_countdown(sim_faults(c.t.sim), SIM_FAULT_EVTCHN_STORM, 1,
			    false);
	ck_assert_int_eq(sim_evtchn_set_handler(c.t.guest, c.gport,
						close_in_handler, &c, false),
			 0);
	ck_assert_uint_eq(send_run(&c), 1);
	ck_assert_uint_eq(evstats(c.t.guest).dropped, 1);
	ck_assert_int_eq(sim_evtchn_close(c.t.dom0, c.bport), 0);
	xt_fini(&c.t);
}
END_TEST

START_TEST(test_storm_injects_spurious_delivery)
{
	struct chan c;
	struct sim_fault_plan *plan;

	chan_init(&c, false);
	plan = sim_faults(c.t.sim);
	sim_fault_countdown(plan, SIM_FAULT_EVTCHN_STORM, 1, false);
	/* One send, two deliveries: the second is spurious. */
	ck_assert_uint_eq(send_run(&c), 2);
	ck_assert_uint_eq(sim_fault_injected(plan, SIM_FAULT_EVTCHN_STORM), 1);
	ck_assert_uint_eq(c.rx.last_ns,
			  2 * sim_config(c.t.sim)->evtchn_latency_ns);
	chan_fini(&c);
}
END_TEST

START_TEST(test_storm_held_by_lateeoi)
{
	struct chan c;
	struct sim_fault_plan *plan;

	chan_init(&c, true);
	plan = sim_faults(c.t.sim);
	/* Every delivery storms: only late EOI bounds the handler calls. */
	sim_fault_set_rate(plan, SIM_FAULT_EVTCHN_STORM, 1000000);
	ck_assert_uint_eq(send_run(&c), 1);
	ck_assert(sim_evtchn_is_pending(c.t.guest, c.gport));
	for (unsigned i = 2; i <= 4; i++) {
		ck_assert_int_eq(sim_evtchn_eoi(c.t.guest, c.gport), 0);
		ck_assert_uint_eq(run_calls(&c), i);
	}
	sim_fault_set_rate(plan, SIM_FAULT_EVTCHN_STORM, 0);
	chan_fini(&c);
}
END_TEST

START_TEST(test_delay_injection)
{
	struct chan c;
	uint64_t lat;

	chan_init(&c, false);
	lat = sim_config(c.t.sim)->evtchn_latency_ns;
	sim_fault_countdown(sim_faults(c.t.sim), SIM_FAULT_EVTCHN_DELAY, 1,
			    false);
	ck_assert_uint_eq(send_run(&c), 1);
	ck_assert_uint_eq(c.rx.last_ns, 1000 * lat);
	/* The countdown is spent: the next delivery is on time. */
	ck_assert_uint_eq(send_run(&c), 2);
	ck_assert_uint_eq(c.rx.last_ns, 1001 * lat);
	chan_fini(&c);
}
END_TEST

START_TEST(test_handler_set_after_send)
{
	struct chan c;
	struct rx rx2 = { 0 };
	uint32_t gport, bport;

	chan_init(&c, false);
	bind_pair(&c.t, &gport, &bport);
	ck_assert_uint_ne(gport, c.gport);
	ck_assert_int_eq(sim_evtchn_send(c.t.dom0, bport), 0);
	sim_run(c.t.sim);
	ck_assert(sim_evtchn_is_pending(c.t.guest, gport));
	ck_assert_int_eq(sim_evtchn_set_handler(c.t.guest, gport, on_event,
						&rx2, false), 0);
	sim_run(c.t.sim);
	ck_assert_uint_eq(rx2.calls, 1);
	ck_assert_uint_eq(c.rx.calls, 0);
	ck_assert_int_eq(sim_evtchn_close(c.t.guest, gport), 0);
	ck_assert_int_eq(sim_evtchn_close(c.t.dom0, bport), 0);
	chan_fini(&c);
}
END_TEST

START_TEST(test_bind_rules_and_leak_audit)
{
	struct xt t;
	struct sim_domain *dom2;
	uint32_t p, q, r;

	xt_init(&t);
	ck_assert_int_eq(sim_domain_create(t.sim, 2, "dom2", &dom2), 0);
	ck_assert_int_eq(sim_evtchn_alloc_unbound(t.guest, 0, &p), 0);
	/* Allocated for dom0: dom2 may not bind. */
	ck_assert_int_eq(sim_evtchn_bind_interdomain(dom2, GUEST_ID, p, &q),
			 -EINVAL);
	ck_assert_int_eq(sim_evtchn_bind_interdomain(t.dom0, 9, p, &q),
			 -ESRCH);
	ck_assert_int_eq(sim_evtchn_bind_interdomain(t.dom0, GUEST_ID, 0, &q),
			 -EINVAL);
	ck_assert_int_eq(sim_evtchn_bind_interdomain(t.dom0, GUEST_ID, p, &q),
			 0);
	/* Already bound. */
	ck_assert_int_eq(sim_evtchn_bind_interdomain(t.dom0, GUEST_ID, p, &r),
			 -EINVAL);
	ck_assert_int_eq(sim_evtchn_send(t.guest, 0), -EINVAL);
	ck_assert_int_eq(sim_evtchn_send(t.guest, 1023), -EINVAL);
	ck_assert_int_eq(sim_evtchn_mask(t.guest, 5000), -EINVAL);
	ck_assert_int_eq(sim_evtchn_alloc_unbound(t.guest, 0, &r), 0);
	sim_domain_audit(t.guest, "test");
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_EVTCHN_LEAK), 2);
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_GRANT_LEAK), 0);
	ck_assert_int_eq(sim_evtchn_close(t.guest, p), 0);
	ck_assert_int_eq(sim_evtchn_close(t.guest, r), 0);
	ck_assert_int_eq(sim_evtchn_close(t.guest, r), -EINVAL);
	sim_domain_audit(t.guest, "test");
	ck_assert_uint_eq(xt_v(&t, SIM_CHECK_EVTCHN_LEAK), 2);
	sim_domain_destroy(dom2);
	xt_fini(&t);
}
END_TEST

START_TEST(test_port_exhaustion)
{
	struct xt t;
	uint32_t p, n = 0;

	xt_init(&t);
	while (sim_evtchn_alloc_unbound(t.guest, 0, &p) == 0)
		n++;
	ck_assert_uint_eq(n, 1023);
	ck_assert_uint_eq(p, 1023);
	/* Teardown closes them all without a report. */
	xt_fini(&t);
}
END_TEST

START_TEST(test_domain_destroy_with_scheduled_delivery)
{
	struct chan c;

	chan_init(&c, false);
	ck_assert_int_eq(sim_evtchn_send(c.t.dom0, c.bport), 0);
	ck_assert_int_eq(sim_evtchn_send(c.t.guest, c.gport), 0);
	sim_domain_destroy(c.t.guest);
	ck_assert_uint_eq(xt_v(&c.t, SIM_CHECK_EVTCHN_LEAK), 1);
	ck_assert_uint_eq(sim_pending(c.t.sim), 0);
	ck_assert_uint_eq(run_calls(&c), 0);
	/* Pending at dom0 but no handler; dom0's end is unbound now. */
	ck_assert_int_eq(sim_evtchn_send(c.t.dom0, c.bport), 0);
	ck_assert_uint_eq(evstats(c.t.dom0).dropped, 1);
	xt_fini(&c.t);
}
END_TEST

static Suite *evtchn_suite(void)
{
	Suite *s = suite_create("xen_evtchn");
	TCase *tc = tcase_create("evtchn");

	tcase_add_test(tc, test_deliver_after_latency);
	tcase_add_test(tc, test_jitter_within_bounds);
	tcase_add_test(tc, test_no_duplicate_deliveries);
	tcase_add_test(tc, test_mask_holds_unmask_delivers);
	tcase_add_test(tc, test_lateeoi_holds_until_eoi);
	tcase_add_test(tc, test_close_drops_pending);
	tcase_add_test(tc, test_storm_then_close_in_handler);
	tcase_add_test(tc, test_storm_injects_spurious_delivery);
	tcase_add_test(tc, test_storm_held_by_lateeoi);
	tcase_add_test(tc, test_delay_injection);
	tcase_add_test(tc, test_handler_set_after_send);
	tcase_add_test(tc, test_bind_rules_and_leak_audit);
	tcase_add_test(tc, test_port_exhaustion);
	tcase_add_test(tc, test_domain_destroy_with_scheduled_delivery);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(evtchn_suite());
}
