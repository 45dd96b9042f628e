/*
 * PVUSB against a hostile backend: one test per vusb row of the
 * misbehaviour list (protocol.md 5.1), each injected once at a known
 * point by the qusb model (sim/backends/usbback.h) and met by the
 * reaction drivers/usbfront/usbfront.h documents. Every test asserts the
 * injection happened (usbback_stats.misbehaved[class], or the fault
 * plan's count for the event-channel classes sim/xen injects), the
 * reaction, that every URB came back exactly once (the fixture's
 * exactly-once marks, audited at teardown), and that every checker is
 * clean (none of these cases should trip one: the right reaction to each
 * is one the checkers accept).
 *
 * Injection: a countdown ("be-bad-id@1") installed right before the
 * operation it must hit, where which value the backend makes up does not
 * change the reaction; a scripted decider (usbback_config.decider, the
 * hook fuzz targets use) where the table names the value (which bad
 * state, which bogus xenstore value), so each row is one exact case.
 *
 * protocol.md 5.1 row: misbehaviour
 *     test: injection -> expected reaction
 *
 *  1: rsp_prod beyond the responses made
 *     urb_response: be-rsp-overflow@1 -> error state, URB -108, new -108
 *  2: response slot rewritten after publication
 *     urb_response: be-rsp-rewrite@1 -> copied once: URB right, no
 *     double fetch
 *  3: request slot rewritten after the backend copied it
 *     urb_response: be-req-rewrite@1 -> never read back: URB right
 *  4: response id >= ring size
 *     urb_response: be-bad-id@1 -> error state, URB -108
 *  5: duplicate response; response for an id not in flight
 *     urb_response: be-dup-rsp@1, be-stale-id@1 -> more responses than
 *     outstanding (ring.c): error state, URB -108, given back once
 *  6: operation mismatch: blkif only (a usbif response has no operation)
 *  7: actual_length negative or past the buffer
 *     urb_response: be-usb-actual scripted negative / too long ->
 *     clamped to 0 / to the length, counted, no error state;
 *     iso_packet: on a frame descriptor -> that packet clamped
 *  8: sense_len, residual_len: vscsiif only
 *  9: unknown status
 *     urb_response: be-usb-status@1 -> -108, no data, no error state;
 *     iso_packet: on a frame descriptor -> that packet -108
 * 10: data grant kept mapped after the response
 *     urb_response: be-hold-grant@1 -> page quarantined, URB -108,
 *     error state
 * 11: grant mapped between a "mapped?" check and the revoke: covered by
 *     row 10's test. The simulated grant table's only revoke is the
 *     atomic try-revoke, with no separate check to race, so no injection
 *     can place a mapping in between.
 * 12: ring pages kept mapped at disconnect
 *     hold_ring: be-hold-ring scripted both / urb / conn at Closing ->
 *     ring pages quarantined, Closed, no leak (at resume:
 *     test_pvusb.c resume_with_rings_still_mapped)
 * 13: event storm, delayed events
 *     evtchn_storm: evtchn-storm=300000, seed 11 -> spurious events
 *     counted, every transfer right; evtchn_delay: evtchn-delay=300000,
 *     seed 11 -> every transfer right, later (liveness). "No EOI after a
 *     protocol error" is not observable through fut.h.
 * 14: backend reads unrelated data in granted pages: not reachable.
 *     usbfront grants only bounce pages of its own (never guest memory)
 *     and the model has no class that reads past a segment.
 * 15: bad num-ports / usb-ver
 *     xs_values: be-xs-values scripted values -> probe fails, error
 *     node, Closing (xen-hcd's xenbus_dev_fatal)
 * 16: conn event with port 0, port > num-ports, speed > 3
 *     conn_event: be-conn-bad scripted each -> error state, port empty
 * 17: conn ring rsp_prod overflow
 *     conn_event: be-conn-overflow@1 -> error state
 * 18: Closed without Closing, Connected again, Reconfiguring,
 *     Reconfigured, InitWait after Connected, unknown state
 *     bad_state: be-bad-state scripted each, after Connected ->
 *     Closed: missed Closing, the frontend closes; 4, 7, 8, 2: ignored,
 *     the device works; 9..255: fatal (error node, Closing, Closed)
 * 19: answer for a request the frontend gave up on
 *     unlink_never_answered: be-no-answer@1 on the unlink -> URB back
 *     once (-104) at the unlink timeout; the late answer is ignored
 * 20: request never answered
 *     urb_never_answered: be-no-answer@1 -> the upper layer unlinks, the
 *     URB back once (-104) at the unlink timeout; I/O goes on
 * 21: device removed right after a resume, before any I/O
 *     remove_after_resume: be-remove-after-resume@1 -> half connected,
 *     ports empty, URBs refused; removal releases everything
 * 22: garbage in padding and reserved fields
 *     urb_response: be-garbage@1 -> never interpreted: URB as without;
 *     garbage_start_frame: a control response's garbage start_frame
 *     does not reach the upper layer (regression: usbfront once passed
 *     it on)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pvusb_fixture.h"
#include "sim/devices/usb_audio.h"
#include "sim/devices/usb_hid.h"
#include "sim/xenstore/xenstore.h"

#define ADDR	    PV_ADDR(1)
#define XS_FE_ERROR "/local/domain/1/error/device/vusb/0/error"

/* ---- a scripted misbehaviour source ----------------------------------------
 */

/* Hits the nth consultation of one class once armed, and answers the
 * model's draws from a list (then 0): the value a row names. */
struct script {
	struct sim_fault_decider d;
	enum sim_fault cls;
	uint64_t nth, seen;
	bool armed;
	const uint64_t *draws;
	unsigned ndraws, next;
};

static bool script_hit(void *arg, enum sim_fault f)
{
	struct script *s = arg;

	if (!s->armed || f != s->cls)
		return false;
	return ++s->seen == s->nth;
}

static uint64_t script_draw(void *arg, uint64_t bound)
{
	struct script *s = arg;
	uint64_t v = s->next < s->ndraws ? s->draws[s->next++] : 0;

	ck_assert_uint_lt(v, bound);
	return v;
}

static const struct sim_fault_decider *
script_init(struct script *s, enum sim_fault cls, uint64_t nth,
	    const uint64_t *draws, unsigned ndraws)
{
	memset(s, 0, sizeof(*s));
	s->cls = cls;
	s->nth = nth;
	s->draws = draws;
	s->ndraws = ndraws;
	s->d.hit = script_hit;
	s->d.draw = script_draw;
	s->d.arg = s;
	return &s->d;
}

/* ---- the guest
 * ----------------------------------------------------------------- */

/* One key, far beyond any test's end: the interrupt endpoint NAKs. */
static const struct sim_usb_hid_key_event late_key[] = {
    {100000 * PV_MS, 0, 0x04},
};

static struct sim_usb_device *keyboard(void)
{
	struct sim_usb_device *d;
	char err[256];

	ck_assert_int_eq(sim_usb_hid_keyboard_new(SIM_USB_SPEED_FULL, late_key,
						  1, &d, err, sizeof(err)),
			 0);
	return d;
}

/* A connected guest, the keyboard on port 1 (enumerated if plugged). */
static void guest(struct pv *p, const struct sim_fault_decider *d,
		  const char *faults, bool plugged)
{
	struct pv_config cfg;

	pv_config_default(&cfg);
	cfg.dev[1] = keyboard();
	cfg.decider = d;
	cfg.faults = faults;
	pv_start_cfg(p, &cfg);
	if (plugged)
		pv_plug(p, 1, 3);
}

static uint64_t misbehaved(const struct pv *p, enum sim_fault f)
{
	return pv_be_stats(p).misbehaved[f];
}

static int fe_state(struct pv *p)
{
	int st = -1;

	ck_assert_int_eq(sim_xenbus_read_state(sim_xs(p->sim), 0, PV_FE, &st),
			 0);
	return st;
}

static bool fe_error_node(struct pv *p)
{
	char *v = NULL;
	unsigned len;
	int err = sim_xs_read(sim_xs(p->sim), 0, 0, XS_FE_ERROR, &v, &len);

	free(v);
	return err == 0;
}

static uint32_t quarantined(struct pv *p)
{
	struct sim_gnttab_stats gs;

	sim_gnttab_stats(sim_domain_get(p->sim, PV_GUEST), &gs);
	return gs.quarantined;
}

/* The error state as usbfront.h has it: reported once, sticky, new URBs
 * refused with -ESHUTDOWN, the port shows nothing connected. */
static void expect_error_state(struct pv *p)
{
	uint16_t st, ch;
	struct turb u;
	uint8_t b[18];

	ck_assert(pv_in_error(p));
	ck_assert_uint_eq(p->errors, 1);
	pv_ctrl_urb(&u, 1, ADDR, 0x80, 6, 0x0100, 0, b, sizeof(b));
	ck_assert_int_eq(pv_submit(p, &u), -ESHUTDOWN);
	ck_assert_int_eq(fut_usb_port_status(p->fut, 1, &st, &ch), 0);
	ck_assert(!(st & FUT_USB_PORT_CONNECTION));
}

/* Still working: a GET_DESCRIPTOR(DEVICE) comes back right. */
static void expect_working(struct pv *p)
{
	uint8_t b[18];
	uint32_t n;

	ck_assert(!pv_in_error(p));
	ck_assert_uint_eq(p->errors, 0);
	ck_assert_int_eq(pv_ctrl(p, 1, ADDR, 0x80, 6, 0x0100, 0, b, 18, &n), 0);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(b[1], 1);
}

/* After an error the guest still closes the device; then teardown. */
static void close_and_teardown(struct pv *p)
{
	if (p->fut)
		fut_close(p->fut);
	sim_run_until(p->sim, sim_now(p->sim) + 1000 * PV_MS);
	pv_teardown(p, PV_NO_CHECK);
}

/* ---- rows 1-5, 7, 9, 10, 22: one URB response
 * ---------------------------------- */

enum reaction {
	R_ERROR,      /* error state; the URB back with `status` */
	R_NONE,	      /* nothing visible: the URB as without it */
	R_CLAMP,      /* status 0, actual clamped to `actual` */
	R_STATUS,     /* the URB back with `status`, no error state */
	R_QUARANTINE, /* its page quarantined, URB -108, error state */
};

struct rsp_case {
	const char *name;
	enum sim_fault cls;
	const char *plan;  /* a countdown, or NULL: scripted */
	uint64_t draws[2]; /* scripted values */
	unsigned ndraws;
	enum reaction reaction;
	int status;
	uint32_t actual;
};

/* clang-format off */
static const struct rsp_case rsp_cases[] = {
	{ "1 rsp_prod overflow", SIM_FAULT_BE_RSP_OVERFLOW,
	  "be-rsp-overflow@1", { 0 }, 0, R_ERROR, -ESHUTDOWN, 0 },
	{ "2 response rewritten", SIM_FAULT_BE_RSP_REWRITE,
	  "be-rsp-rewrite@1", { 0 }, 0, R_NONE, 0, 18 },
	{ "3 request rewritten", SIM_FAULT_BE_REQ_REWRITE,
	  "be-req-rewrite@1", { 0 }, 0, R_NONE, 0, 18 },
	{ "4 bad id", SIM_FAULT_BE_BAD_ID,
	  "be-bad-id@1", { 0 }, 0, R_ERROR, -ESHUTDOWN, 0 },
	/* The extra response is published with the real one: more
	 * responses than requests outstanding, caught before either is
	 * taken (drivers/core/ring.c), so the URB fails with the rest. */
	{ "5 duplicate", SIM_FAULT_BE_DUP_RSP,
	  "be-dup-rsp@1", { 0 }, 0, R_ERROR, -ESHUTDOWN, 0 },
	{ "5 stale id", SIM_FAULT_BE_STALE_ID,
	  "be-stale-id@1", { 0 }, 0, R_ERROR, -ESHUTDOWN, 0 },
	/* ub_bad_actual: draw 0 negative (then its magnitude), 1 past the
	 * buffer (then by how much). */
	{ "7 actual negative", SIM_FAULT_BE_USB_ACTUAL,
	  NULL, { 0, 77 }, 2, R_CLAMP, 0, 0 },
	{ "7 actual too long", SIM_FAULT_BE_USB_ACTUAL,
	  NULL, { 1, 4000 }, 2, R_CLAMP, 0, 18 },
	{ "9 unknown status", SIM_FAULT_BE_USB_STATUS,
	  "be-usb-status@1", { 0 }, 0, R_STATUS, -ESHUTDOWN, 0 },
	{ "10 grant kept mapped", SIM_FAULT_BE_HOLD_GRANT,
	  "be-hold-grant@1", { 0 }, 0, R_QUARANTINE, -ESHUTDOWN, 0 },
	{ "22 garbage", SIM_FAULT_BE_GARBAGE,
	  "be-garbage@1", { 0 }, 0, R_NONE, 0, 18 },
};
/* clang-format on */

static void rsp_expect(struct pv *p, const struct rsp_case *c,
		       const struct turb *u, const uint8_t *got,
		       const uint8_t *ref)
{
	ck_assert_int_eq(u->status, c->status);
	ck_assert_uint_eq(u->actual, c->actual);
	switch (c->reaction) {
	case R_ERROR:
		expect_error_state(p);
		break;
	case R_QUARANTINE:
		ck_assert_uint_ge(quarantined(p), 1);
		expect_error_state(p);
		break;
	case R_NONE:
		/* Non-iso: error_count means nothing (protocol.md 5.1
		 * #22: never interpreted). start_frame: see
		 * garbage_start_frame below. */
		ck_assert_uint_eq(u->error_count, 0);
		ck_assert_mem_eq(got, ref, 18);
		expect_working(p);
		break;
	case R_CLAMP:
		ck_assert_uint_ge(pv_fe_stats(p).clamped, 1);
		expect_working(p);
		break;
	case R_STATUS:
		/* A failed transfer delivers no data (usbfront.h). */
		for (unsigned i = 0; i < 18; i++)
			ck_assert_uint_eq(got[i], 0xee);
		expect_working(p);
		break;
	}
}

START_TEST(urb_response)
{
	const struct rsp_case *c = &rsp_cases[_i];
	uint8_t ref[18], got[18];
	struct script s;
	struct turb u;
	struct pv p;

	fprintf(stderr, "row %s\n", c->name);
	guest(&p,
	      c->plan ? NULL : script_init(&s, c->cls, 1, c->draws, c->ndraws),
	      NULL, true);
	ck_assert_int_eq(
	    pv_ctrl(&p, 1, ADDR, 0x80, 6, 0x0100, 0, ref, 18, NULL), 0);
	/* The next response (or request) is the one. */
	if (c->plan)
		pv_faults(&p, c->plan);
	else
		s.armed = true;
	memset(got, 0xee, sizeof(got));
	pv_ctrl_urb(&u, 1, ADDR, 0x80, 6, 0x0100, 0, got, 18);
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	pv_wait(&p, &u);
	ck_assert_uint_eq(misbehaved(&p, c->cls), 1);
	rsp_expect(&p, c, &u, got, ref);
	sim_run_until(p.sim, sim_now(p.sim) + 10 * PV_MS);
	ck_assert_uint_eq(pv_fe_stats(&p).error,
			  c->reaction == R_ERROR ||
			      c->reaction == R_QUARANTINE);
	close_and_teardown(&p);
}
END_TEST

/* Row 22: be-garbage puts a non-zero start_frame in a control response,
 * a field only iso gives a meaning (usbback.h; usbfront.h marks
 * usbfront_urb.start_frame "iso"). Regression test: usbfront's urb_done
 * once copied it into every URB, so the garbage reached the upper layer. */
START_TEST(garbage_start_frame)
{
	uint8_t got[18];
	struct turb u;
	struct pv p;

	guest(&p, NULL, NULL, true);
	pv_faults(&p, "be-garbage@1");
	pv_ctrl_urb(&u, 1, ADDR, 0x80, 6, 0x0100, 0, got, 18);
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	pv_wait(&p, &u);
	ck_assert_uint_eq(misbehaved(&p, SIM_FAULT_BE_GARBAGE), 1);
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(u.error_count, 0);
	pv_finish(&p); /* everything else is right: clean up first */
	ck_assert_msg(u.start_frame == 0,
		      "garbage start_frame %u of a control response "
		      "given to the upper layer",
		      u.start_frame);
}
END_TEST

/* ---- rows 7 and 9 on an iso frame descriptor
 * ------------------------------------ */

/* A microphone URB of 4 packets; its first packet's descriptor gets a
 * bogus actual_length (negative) or status: that packet alone is
 * clamped to 0 bytes or reported -108, the URB and the others are as
 * usual. */
START_TEST(iso_packet)
{
	static const uint64_t neg[] = {0, 5};
	enum sim_fault cls =
	    _i == 0 ? SIM_FAULT_BE_USB_ACTUAL : SIM_FAULT_BE_USB_STATUS;
	struct fut_usb_iso_packet pk[4];
	uint8_t buf[4 * SIM_USB_AUDIO_PACKET];
	struct sim_usb_device *audio;
	struct pv_config cfg;
	struct script s;
	char err[256];
	struct turb u;
	struct pv p;

	ck_assert_int_eq(
	    sim_usb_audio_new(SIM_USB_SPEED_FULL, &audio, err, sizeof(err)), 0);
	pv_config_default(&cfg);
	cfg.dev[1] = audio;
	cfg.decider = script_init(&s, cls, 1, neg, 2);
	pv_start_cfg(&p, &cfg);
	pv_plug(&p, 1, 1);
	pv_set_interface(&p, 1, SIM_USB_AUDIO_MIC_IFACE, 1);
	s.armed = true; /* the first consultation: packet 0's descriptor */
	pv_iso_urb(&u, 1, SIM_USB_AUDIO_EP_IN, true, buf, pk, 4,
		   SIM_USB_AUDIO_PACKET, 1);
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	pv_wait(&p, &u);
	ck_assert_uint_eq(misbehaved(&p, cls), 1);
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(pk[0].actual, _i == 0 ? 0 : SIM_USB_AUDIO_PACKET);
	ck_assert_int_eq(pk[0].status, _i == 0 ? 0 : -ESHUTDOWN);
	for (int i = 1; i < 4; i++) {
		ck_assert_uint_eq(pk[i].actual, SIM_USB_AUDIO_PACKET);
		ck_assert_int_eq(pk[i].status, 0);
	}
	if (_i == 0)
		ck_assert_uint_ge(pv_fe_stats(&p).clamped, 1);
	ck_assert(!pv_in_error(&p));
	pv_finish(&p);
}
END_TEST

/* ---- rows 16 and 17: the conn ring
 * ------------------------------------------------ */

struct conn_case {
	const char *name;
	enum sim_fault cls;
	uint64_t draws[2]; /* ub_inject_conn_content: which, then value */
	unsigned ndraws;
};

/* clang-format off */
static const struct conn_case conn_cases[] = {
	{ "16 port 0", SIM_FAULT_BE_CONN_BAD, { 0 }, 1 },
	{ "16 port past num-ports", SIM_FAULT_BE_CONN_BAD, { 1, 0 }, 2 },
	{ "16 speed 4", SIM_FAULT_BE_CONN_BAD, { 2, 0 }, 2 },
	{ "17 conn rsp_prod overflow", SIM_FAULT_BE_CONN_OVERFLOW, { 0 }, 0 },
};
/* clang-format on */

/* The plug's conn event is the one. */
START_TEST(conn_event)
{
	const struct conn_case *c = &conn_cases[_i];
	struct script s;
	struct pv p;

	fprintf(stderr, "row %s\n", c->name);
	guest(&p, script_init(&s, c->cls, 1, c->draws, c->ndraws), NULL, false);
	s.armed = true;
	pv_attach(&p, 1);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * PV_MS);
	ck_assert_uint_eq(misbehaved(&p, c->cls), 1);
	expect_error_state(&p);
	close_and_teardown(&p);
}
END_TEST

/* ---- row 15: bad xenstore values
 * ---------------------------------------------------- */

struct xs_case {
	const char *name;
	uint64_t draws[2]; /* ub_inject_xs_config: key, then value index */
};

/* clang-format off */
static const struct xs_case xs_cases[] = {
	{ "num-ports 0", { 0, 0 } },
	{ "num-ports 32", { 0, 1 } },
	{ "num-ports 4x", { 0, 3 } },
	{ "usb-ver 3", { 1, 1 } },
	{ "usb-ver empty", { 1, 4 } },
};
/* clang-format on */

/* The backend rewrites a value after reading its own: the frontend's
 * probe reads it, fails (xen-hcd: xenbus_dev_fatal) and never connects. */
START_TEST(xs_values)
{
	struct pv_config cfg;
	struct script s;
	struct pv p;

	fprintf(stderr, "row 15 %s\n", xs_cases[_i].name);
	pv_config_default(&cfg);
	cfg.dev[1] = keyboard();
	cfg.decider =
	    script_init(&s, SIM_FAULT_BE_XS_VALUES, 1, xs_cases[_i].draws, 2);
	s.armed = true;
	cfg.connect_may_fail = true;
	pv_start_cfg(&p, &cfg);
	ck_assert_uint_eq(misbehaved(&p, SIM_FAULT_BE_XS_VALUES), 1);
	ck_assert_int_lt(p.create_err, 0);
	ck_assert_ptr_null(p.fut);
	ck_assert_uint_eq(p.connected, 0);
	ck_assert(fe_error_node(&p));
	ck_assert_int_eq(fe_state(&p), 5);
	pv_teardown(&p, PV_NO_CHECK);
}
END_TEST

/* ---- row 18: out-of-sequence backend states
 * --------------------------------------- */

enum state_reaction {
	S_CLOSED,  /* Closed without Closing: a missed Closing */
	S_IGNORED, /* nothing changes; the device works */
	S_FATAL,   /* an unknown state: xenbus_dev_fatal */
};

struct state_case {
	const char *name;
	uint64_t draws[2]; /* ub_inject_bad_state: index, then offset */
	enum state_reaction reaction;
};

/* clang-format off */
static const struct state_case state_cases[] = {
	{ "Closed", { 0 }, S_CLOSED },
	{ "Connected again", { 1 }, S_IGNORED },
	{ "Reconfiguring", { 2 }, S_IGNORED },
	{ "Reconfigured", { 3 }, S_IGNORED },
	{ "InitWait after Connected", { 4 }, S_IGNORED },
	{ "9", { 5, 0 }, S_FATAL },
	{ "255", { 5, 246 }, S_FATAL },
};
/* clang-format on */

/* Right after the backend's Connected (its second state change). */
START_TEST(bad_state)
{
	const struct state_case *c = &state_cases[_i];
	struct pv_config cfg;
	struct script s;
	struct pv p;

	fprintf(stderr, "row 18 %s\n", c->name);
	pv_config_default(&cfg);
	cfg.dev[1] = keyboard();
	cfg.decider = script_init(&s, SIM_FAULT_BE_BAD_STATE, 2, c->draws, 2);
	s.armed = true;
	pv_start_cfg(&p, &cfg);
	sim_run_until(p.sim, sim_now(p.sim) + 100 * PV_MS);
	ck_assert_uint_eq(misbehaved(&p, SIM_FAULT_BE_BAD_STATE), 1);
	switch (c->reaction) {
	case S_CLOSED:
		ck_assert_uint_eq(p.closed, 1);
		ck_assert_int_eq(fe_state(&p), 6);
		ck_assert(!fe_error_node(&p));
		break;
	case S_IGNORED:
		ck_assert_int_eq(fe_state(&p), 4);
		pv_plug(&p, 1, 3);
		expect_working(&p);
		break;
	case S_FATAL:
		/* error node and Closing; the backend follows to Closing,
		 * so the frontend ends Closed. */
		ck_assert(fe_error_node(&p));
		ck_assert_uint_eq(p.closed, 1);
		ck_assert_int_eq(fe_state(&p), 6);
		ck_assert(!pv_in_error(&p));
		break;
	}
	close_and_teardown(&p);
}
END_TEST

/* ---- row 12: ring pages kept mapped at close
 * -------------------------------------- */

/* ub_inject_hold_ring: 0 both rings, 1 the URB ring, 2 the conn ring. */
START_TEST(hold_ring)
{
	static const uint32_t pages[] = {2, 1, 1};
	const uint64_t which[] = {(uint64_t)_i};
	struct script s;
	struct pv p;

	guest(&p, script_init(&s, SIM_FAULT_BE_HOLD_RING, 1, which, 1), NULL,
	      true);
	s.armed = true; /* the first disconnect: Closing */
	fut_close(p.fut);
	sim_run_until(p.sim, sim_now(p.sim) + 1000 * PV_MS);
	ck_assert_uint_eq(misbehaved(&p, SIM_FAULT_BE_HOLD_RING), 1);
	ck_assert_uint_eq(p.closed, 1);
	ck_assert_int_eq(fe_state(&p), 6);
	ck_assert_uint_eq(quarantined(&p), pages[_i]);
	pv_teardown(&p, PV_NO_CHECK);
}
END_TEST

/* ---- row 13: event storms and delays
 * ------------------------------------------------ */

/* Enumeration and a string of control transfers under the fault, with
 * a fixed seed: every one right. */
static void io_under(const char *plan, enum sim_fault cls, struct pv *p)
{
	guest(p, NULL, NULL, false);
	pv_faults(p, plan);
	pv_plug(p, 1, 3);
	for (int i = 0; i < 20; i++)
		expect_working(p);
	ck_assert_uint_gt(sim_fault_injected(sim_faults(p->sim), cls), 0);
}

START_TEST(evtchn_storm)
{
	struct pv p;

	io_under("evtchn-storm=300000", SIM_FAULT_EVTCHN_STORM, &p);
	ck_assert_uint_gt(pv_fe_stats(&p).spurious, 0);
	pv_finish(&p);
}
END_TEST

START_TEST(evtchn_delay)
{
	struct pv p;

	io_under("evtchn-delay=300000", SIM_FAULT_EVTCHN_DELAY, &p);
	pv_finish(&p);
}
END_TEST

/* ---- rows 19 and 20: requests never answered
 * ---------------------------------------- */

/* Row 20: a control request the backend drops. The upper layer gives up
 * (usb_kill_urb after its timeout) and unlinks it; the backend answers
 * the unlink (nothing matched) but never the URB, so the frontend's own
 * unlink timeout gives it back: once, -ECONNRESET. I/O goes on. */
START_TEST(urb_never_answered)
{
	struct turb u;
	uint8_t b[18];
	struct pv p;

	guest(&p, NULL, NULL, true);
	pv_faults(&p, "be-no-answer@1");
	pv_ctrl_urb(&u, 1, ADDR, 0x80, 6, 0x0100, 0, b, sizeof(b));
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 100 * PV_MS);
	ck_assert(!u.back);
	ck_assert_uint_eq(misbehaved(&p, SIM_FAULT_BE_NO_ANSWER), 1);
	ck_assert_int_eq(fut_usb_unlink(p.fut, u.tag), 0);
	pv_wait(&p, &u);
	ck_assert_int_eq(u.status, -ECONNRESET);
	expect_working(&p);
	pv_finish(&p);
}
END_TEST

/* Row 19: the unlink itself is dropped. The frontend gives the URB back
 * after its unlink timeout (-ECONNRESET) and forgets both ids; when the
 * backend answers the URB at last (the device unplugged: -EPROTO), the
 * late answer is recognised and ignored: no error state, no second
 * giveback. */
START_TEST(unlink_never_answered)
{
	uint64_t proto;
	struct turb u;
	uint8_t r[8];
	struct pv p;

	guest(&p, NULL, NULL, true);
	pv_int_urb(&u, 1, 1, r, sizeof(r), 10);
	ck_assert_int_eq(pv_submit(&p, &u), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 30 * PV_MS); /* NAKed */
	ck_assert(!u.back);
	pv_faults(&p, "be-no-answer@1");
	ck_assert_int_eq(fut_usb_unlink(p.fut, u.tag), 0);
	pv_wait(&p, &u);
	ck_assert_int_eq(u.status, -ECONNRESET);
	ck_assert_uint_eq(misbehaved(&p, SIM_FAULT_BE_NO_ANSWER), 1);
	ck_assert_uint_eq(pv_be_stats(&p).in_flight, 1); /* still there */
	proto = pv_be_stats(&p).status[USBBACK_ST_PROTO];
	pv_detach(&p, 1);
	sim_run_until(p.sim, sim_now(p.sim) + 20 * PV_MS);
	ck_assert_uint_eq(pv_be_stats(&p).status[USBBACK_ST_PROTO], proto + 1);
	ck_assert_uint_eq(pv_be_stats(&p).in_flight, 0);
	ck_assert(!pv_in_error(&p));
	ck_assert_uint_eq(p.done, p.submitted);
	pv_finish(&p);
}
END_TEST

/* ---- row 21: removed right after a resume
 * ------------------------------------------- */

/* Save/restore; the new backend removes its directory right after
 * mapping the new rings, before answering anything (XSA-465's shape).
 * The frontend is left half connected (its state Connected, rings
 * nobody serves, no port reported): it must refuse URBs and let the
 * device be removed (fut_destroy) releasing everything. */
START_TEST(remove_after_resume)
{
	uint16_t st, ch;
	struct turb u;
	uint8_t b[18];
	struct pv p;

	guest(&p, NULL, NULL, true);
	ck_assert_int_eq(fut_suspend(p.fut), 0);
	pv_faults(&p, "be-remove-after-resume@1");
	pv_backend_restart(&p, true);
	ck_assert_int_eq(fut_resume(p.fut), 0);
	sim_run_until(p.sim, sim_now(p.sim) + 50 * PV_MS);
	ck_assert_uint_eq(misbehaved(&p, SIM_FAULT_BE_REMOVE_AFTER_RESUME), 1);
	ck_assert(pv_be_stats(&p).unregistered);
	/* Connected to rings nobody serves; the keyboard's conn event
	 * never came, so the port is empty and URBs are refused. */
	ck_assert_int_eq(fe_state(&p), 4);
	ck_assert(!pv_in_error(&p));
	ck_assert_int_eq(fut_usb_port_status(p.fut, 1, &st, &ch), 0);
	ck_assert(!(st & FUT_USB_PORT_CONNECTION));
	pv_ctrl_urb(&u, 1, 0, 0x80, 6, 0x0100, 0, b, 18);
	ck_assert_int_eq(pv_submit(&p, &u), -ENODEV);
	pv_teardown(&p, PV_NO_CHECK);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pvusb_misbehave");
	TCase *tc = tcase_create("misbehave");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, urb_response, 0,
			    sizeof(rsp_cases) / sizeof(rsp_cases[0]));
	tcase_add_test(tc, garbage_start_frame);
	tcase_add_loop_test(tc, iso_packet, 0, 2);
	tcase_add_loop_test(tc, conn_event, 0,
			    sizeof(conn_cases) / sizeof(conn_cases[0]));
	tcase_add_loop_test(tc, xs_values, 0,
			    sizeof(xs_cases) / sizeof(xs_cases[0]));
	tcase_add_loop_test(tc, bad_state, 0,
			    sizeof(state_cases) / sizeof(state_cases[0]));
	tcase_add_loop_test(tc, hold_ring, 0, 3);
	tcase_add_test(tc, evtchn_storm);
	tcase_add_test(tc, evtchn_delay);
	tcase_add_test(tc, urb_never_answered);
	tcase_add_test(tc, unlink_never_answered);
	tcase_add_test(tc, remove_after_resume);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
