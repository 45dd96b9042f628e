/*
 * The fuzzer is the PVUSB backend: through a scripted backend
 * (sim/backends/usbscript.h) the input decides every answer to every
 * request the reference frontend publishes (id, status, actual length,
 * start frame, error count, iso descriptors written back), when each
 * comes and in which order, duplicates, rsp_prod jumps on either ring, and
 * every plug and unplug event (port, speed, id), interleaved with a
 * guest's URBs (control, bulk, interrupt, iso, up to 64 KiB), unlinks,
 * root-hub port operations and a save/restore; every simulator checker is
 * an oracle, and so is the frontend-under-test rule that each accepted
 * URB comes back exactly once, no longer than it was.
 *
 * Input: the controller's num-ports and usb-ver (mostly valid), then one
 * step per group of bytes: an action byte (what happens next) and its
 * details. Hostile variants (a wrong id, a jump, a bogus conn event) need
 * the detail byte's low four bits all set, so random bytes stay mostly
 * well-formed and reach deep paths. When the input runs out the backend
 * turns well-behaved: it answers everything, and every URB must come back
 * (liveness); then the guest closes the device.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "fuzz_session.h"
#include "fuzz_target.h"
#include "sim/backends/usbscript.h"
#include "sim/check/check.h"
#include "sim/fut/fut.h"
#include "sim/xenstore/xenstore.h"

#define GUEST 1
#define FE "/local/domain/1/device/vusb/0"
#define BE "/local/domain/0/backend/vusb/1/0"
#define MS 1000000ull
#define STEPS_MAX 128
#define URBS_MAX 24
#define BUF_MAX 65536
#define PKTS_MAX 8
#define OWED_MAX 64

struct urb_slot {
	bool used; /* accepted, not given back yet */
	uint64_t tag;
	uint32_t len;
	struct fut_usb_iso_packet pk[PKTS_MAX];
};

struct run {
	struct fuzz_input *in;
	struct sim *sim;
	struct fut *fut;
	struct usbscript *be;
	unsigned ports;
	uint64_t next_tag;
	struct urb_slot urbs[URBS_MAX];
	bool have_last;
	usbif_urb_response_t last;
	/* Requests taken and not yet answered under their own id (a
	 * hostile answer may have gone to another id): what the backend
	 * still owes when it turns well-behaved. */
	usbif_urb_request_t owed[OWED_MAX];
	unsigned nowed;
};

static uint8_t bufs[URBS_MAX][BUF_MAX];

/* ---- the guest ------------------------------------------------------------- */

static struct urb_slot *slot_of_tag(struct run *r, uint64_t tag)
{
	for (unsigned i = 0; i < URBS_MAX; i++)
		if (r->urbs[i].used && r->urbs[i].tag == tag)
			return &r->urbs[i];
	return NULL;
}

static void cb_giveback(void *arg, uint64_t tag,
			const struct fut_usb_result *res)
{
	struct run *r = arg;
	struct urb_slot *s = slot_of_tag(r, tag);

	if (!s)
		fuzz_fail("usb-giveback", "URB %llu given back twice or never "
			  "submitted", (unsigned long long)tag);
	if (res->actual > s->len)
		fuzz_fail("usb-actual", "URB %llu: %u bytes back of %u",
			  (unsigned long long)tag, res->actual, s->len);
	s->used = false;
}

static unsigned outstanding(const struct run *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < URBS_MAX; i++)
		n += r->urbs[i].used;
	return n;
}

static uint32_t draw_len(struct fuzz_input *in)
{
	static const uint32_t lens[] = { 0, 8, 18, 64, 512, 4096, 8192,
					 BUF_MAX };

	if (fuzz_bool(in))
		return lens[fuzz_pick(in, sizeof(lens) / sizeof(lens[0]))];
	return (uint32_t)fuzz_range(in, 0, BUF_MAX);
}

static void draw_iso(struct fuzz_input *in, struct fut_usb_urb *u,
		     struct urb_slot *s)
{
	uint32_t n = (uint32_t)fuzz_range(in, 1, PKTS_MAX);
	uint32_t each = u->len / n;

	for (uint32_t i = 0; i < n; i++)
		s->pk[i] = (struct fut_usb_iso_packet){ .offset = i * each,
							.length = each };
	u->packets = s->pk;
	u->npackets = n;
}

static void act_submit(struct run *r)
{
	struct fuzz_input *in = r->in;
	unsigned i = (unsigned)fuzz_pick(in, URBS_MAX);
	struct urb_slot *s = &r->urbs[i];
	struct fut_usb_urb u = { 0 };

	if (s->used)
		return;
	u.tag = ++r->next_tag;
	u.port = (uint8_t)fuzz_range(in, 1, r->ports + 1);
	u.devaddr = (uint8_t)fuzz_pick(in, 4);
	u.ep = (uint8_t)fuzz_pick(in, 4);
	u.type = (enum fut_usb_xfer)fuzz_pick(in, 4);
	u.in = fuzz_bool(in);
	u.flags = fuzz_bool(in) ? FUT_USB_SHORT_NOT_OK : 0;
	u.interval = (uint16_t)fuzz_range(in, 1, 16);
	u.len = draw_len(in);
	u.data = bufs[i];
	if (u.type == FUT_USB_CTRL) {
		fuzz_bytes(in, u.setup, sizeof(u.setup));
		u.ep = 0;
		u.in = (u.setup[0] & 0x80) != 0;
	}
	if (u.type == FUT_USB_ISO)
		draw_iso(in, &u, s);
	s->tag = u.tag;
	s->len = u.len;
	s->used = true; /* before: a giveback may come at once */
	if (fut_usb_submit(r->fut, &u) != 0)
		s->used = false;
}

static void act_unlink(struct run *r)
{
	struct urb_slot *s = &r->urbs[fuzz_pick(r->in, URBS_MAX)];

	if (s->used)
		fut_usb_unlink(r->fut, s->tag);
}

static void act_port(struct run *r)
{
	static const enum fut_usb_port_feature feats[] = {
		FUT_USB_FEAT_RESET, FUT_USB_FEAT_C_CONNECTION,
		FUT_USB_FEAT_C_RESET, FUT_USB_FEAT_SUSPEND,
		FUT_USB_FEAT_ENABLE, FUT_USB_FEAT_POWER,
		FUT_USB_FEAT_C_SUSPEND, FUT_USB_FEAT_C_ENABLE,
	};
	uint8_t port = (uint8_t)fuzz_range(r->in, 0, r->ports + 1);
	enum fut_usb_port_feature f =
		feats[fuzz_pick(r->in, sizeof(feats) / sizeof(feats[0]))];
	uint16_t st, ch;

	fut_usb_port_feature(r->fut, port, f, fuzz_bool(r->in));
	fut_usb_port_status(r->fut, port, &st, &ch);
}

/* ---- the backend -------------------------------------------------------------- */

static bool hostile(struct fuzz_input *in)
{
	return (fuzz_u8(in) & 0x0f) == 0x0f;
}

static int32_t draw_status(struct fuzz_input *in)
{
	static const int32_t st[] = { 0, 0, 0, 0, -32, -71, -75, -19, -108,
				      -22 };

	if (hostile(in))
		return (int32_t)fuzz_u32(in);
	return st[fuzz_pick(in, sizeof(st) / sizeof(st[0]))];
}

/* Data into the buffer segments of an IN request; returns their total. */
static uint32_t fill_in(struct run *r, const usbif_urb_request_t *req)
{
	static uint8_t page[4096];
	uint32_t total = 0;
	unsigned n = req->nr_buffer_segs;

	if (n > USBIF_MAX_SEGMENTS_PER_REQUEST)
		return 0;
	memset(page, 0xa5, sizeof(page));
	for (unsigned i = 0; i < n; i++) {
		if (usbif_pipein(req->pipe))
			usbscript_seg(r->be, req, i, page, true);
		total += req->seg[i].length;
	}
	return total;
}

/* Iso descriptors after the buffer segments: actual and status written
 * back for each packet the segments hold. */
static void fill_iso(struct run *r, const usbif_urb_request_t *req,
		     bool wild)
{
	static uint8_t page[4096];
	unsigned first = req->nr_buffer_segs;
	unsigned n = req->u.isoc.nr_frame_desc_segs;

	if (!usbif_pipeisoc(req->pipe) || first + n >
	    USBIF_MAX_SEGMENTS_PER_REQUEST)
		return;
	for (unsigned i = 0; i < n; i++) {
		unsigned seg = first + i;

		if (usbscript_seg(r->be, req, seg, page, false) != 0)
			continue;
		for (unsigned d = 0; d + 16 <= req->seg[seg].length; d += 16) {
			uint32_t len, v[2];

			memcpy(&len, page + d + 4, 4);
			v[0] = wild ? fuzz_u32(r->in) : len;
			v[1] = wild ? fuzz_u32(r->in) : 0;
			memcpy(page + d + 8, v, sizeof(v));
		}
		usbscript_seg(r->be, req, seg, page, true);
	}
}

static void owe(struct run *r, const usbif_urb_request_t *req)
{
	if (r->nowed < OWED_MAX)
		r->owed[r->nowed++] = *req;
}

/* A response with this id pays the first debt under that id. */
static void paid(struct run *r, uint16_t id)
{
	for (unsigned i = 0; i < r->nowed; i++) {
		if (r->owed[i].id != id)
			continue;
		r->owed[i] = r->owed[--r->nowed];
		return;
	}
}

static void answer(struct run *r, const usbif_urb_request_t *req, bool wild)
{
	struct fuzz_input *in = r->in;
	usbif_urb_response_t rsp = { .id = req->id };
	uint32_t total = fill_in(r, req);

	if (!usbif_pipeunlink(req->pipe)) {
		rsp.status = wild ? draw_status(in) : 0;
		rsp.actual_length = (int32_t)total;
		if (wild && fuzz_bool(in))
			rsp.actual_length = (int32_t)fuzz_u32(in);
		fill_iso(r, req, wild);
		if (usbif_pipeisoc(req->pipe) && wild) {
			rsp.start_frame = fuzz_u16(in);
			rsp.error_count = (int32_t)fuzz_u32(in);
		}
	}
	if (wild && hostile(in))
		rsp.id = fuzz_u16(in);
	paid(r, rsp.id);
	r->last = rsp;
	r->have_last = true;
	/* Unnotified answers wait for the next event, as a backend that
	 * batches does. */
	usbscript_respond(r->be, &rsp, !wild || fuzz_bool(in));
}

static void act_answer(struct run *r)
{
	usbif_urb_request_t req;

	if (!usbscript_request(r->be, &req))
		return;
	owe(r, &req);
	answer(r, &req, true);
}

static void act_conn(struct run *r)
{
	struct fuzz_input *in = r->in;
	uint8_t port = (uint8_t)fuzz_range(in, 1, r->ports);
	uint8_t speed = (uint8_t)fuzz_range(in, 0, 3);
	int id = -1;

	if (hostile(in)) {
		port = fuzz_u8(in);
		speed = fuzz_u8(in);
		if (fuzz_bool(in))
			id = fuzz_u16(in);
	}
	usbscript_conn_event(r->be, port, speed, id);
}

static void act_hostile_ring(struct run *r)
{
	struct fuzz_input *in = r->in;

	if (!hostile(in))
		return;
	switch (fuzz_pick(in, 3)) {
	case 0:
		if (r->have_last) {
			paid(r, r->last.id);
			usbscript_respond(r->be, &r->last, true);
		}
		break;
	case 1:
		usbscript_rsp_jump(r->be, (uint32_t)fuzz_range(in, 1, 64));
		break;
	default:
		usbscript_conn_jump(r->be, (uint32_t)fuzz_range(in, 1, 1024));
		break;
	}
}

static void act_time(struct run *r)
{
	static const uint64_t steps[] = { 100000, MS, 10 * MS, 100 * MS };

	sim_run_until(r->sim, sim_now(r->sim) +
				      steps[fuzz_pick(r->in, 4)]);
}

static void be_state(struct run *r, int state)
{
	sim_xenbus_switch_state(sim_xs(r->sim), 0, BE, state);
	sim_run_until(r->sim, sim_now(r->sim) + MS);
}

/* InitWait; the frontend connects; map its rings; Connected. */
static void be_connect(struct run *r)
{
	be_state(r, 2);
	if (usbscript_connect(r->be) == 0)
		be_state(r, 4);
}

/* A restore: the old backend's mappings go, a new one connects. */
static void act_restore(struct run *r)
{
	if (!hostile(r->in))
		return;
	fut_suspend(r->fut);
	usbscript_disconnect(r->be);
	be_state(r, 1);
	fut_resume(r->fut);
	sim_run_until(r->sim, sim_now(r->sim) + MS);
	be_connect(r);
}

/* ---- the session ------------------------------------------------------------ */

static void xs_put(struct sim *sim, const char *dir, const char *key,
		   const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	sim_xs_write(sim_xs(sim), 0, 0, path, val, (unsigned)strlen(val));
}

/* libxl's usbctrl add, with the input's num-ports and usb-ver. */
static void toolstack(struct run *r)
{
	static const char *const ports[] = { "8", "1", "31", "2", "0", "32",
					     "08", "x" };
	static const char *const vers[] = { "2", "1", "3", "" };
	struct sim_xs *xs = sim_xs(r->sim);
	struct xs_permissions fe_perms[2] = { { GUEST, XS_PERM_NONE },
					      { 0, XS_PERM_READ } };
	struct xs_permissions be_perms[2] = { { 0, XS_PERM_NONE },
					      { GUEST, XS_PERM_READ } };
	size_t pi = hostile(r->in) ? fuzz_pick(r->in, 8) : fuzz_pick(r->in, 4);
	size_t vi = hostile(r->in) ? fuzz_pick(r->in, 4) : fuzz_pick(r->in, 2);

	r->ports = (unsigned)strtoul(ports[pi], NULL, 10);
	if (r->ports == 0 || r->ports > 31)
		r->ports = 8;
	sim_xs_mkdir(xs, 0, 0, FE);
	sim_xs_set_perms(xs, 0, 0, FE, fe_perms, 2);
	xs_put(r->sim, FE, "backend", BE);
	xs_put(r->sim, FE, "backend-id", "0");
	xs_put(r->sim, FE, "state", "1");
	sim_xs_mkdir(xs, 0, 0, BE);
	sim_xs_set_perms(xs, 0, 0, BE, be_perms, 2);
	xs_put(r->sim, BE, "frontend", FE);
	xs_put(r->sim, BE, "frontend-id", "1");
	xs_put(r->sim, BE, "state", "1");
	xs_put(r->sim, BE, "num-ports", ports[pi]);
	xs_put(r->sim, BE, "usb-ver", vers[vi]);
}

/* A device on port 1, reset and enabled: URBs can go at once. */
static void plug_first(struct run *r)
{
	usbscript_conn_event(r->be, 1, USBIF_SPEED_HIGH, -1);
	sim_run_until(r->sim, sim_now(r->sim) + MS);
	fut_usb_port_feature(r->fut, 1, FUT_USB_FEAT_C_CONNECTION, false);
	fut_usb_port_feature(r->fut, 1, FUT_USB_FEAT_RESET, true);
	sim_run_until(r->sim, sim_now(r->sim) + 20 * MS);
}

static void steps(struct run *r)
{
	for (unsigned n = 0; n < STEPS_MAX && !fuzz_exhausted(r->in); n++) {
		switch (fuzz_pick(r->in, 9)) {
		case 0:
		case 1:
			act_submit(r);
			break;
		case 2:
			act_unlink(r);
			break;
		case 3:
			act_port(r);
			break;
		case 4:
		case 5:
			act_answer(r);
			break;
		case 6:
			act_conn(r);
			break;
		case 7:
			act_hostile_ring(r);
			act_restore(r);
			break;
		default:
			act_time(r);
			break;
		}
	}
}

/* The backend turns well-behaved: it answers everything it owes (what it
 * took and answered under another id, or not at all) and everything new,
 * unlinks too, for up to 20 simulated seconds, past the frontend's 5 s
 * unlink timeout. Every URB must be back by then. */
static void settle(struct run *r)
{
	uint64_t end = sim_now(r->sim) + 20000 * MS;
	usbif_urb_request_t req;

	while (outstanding(r) && sim_now(r->sim) < end) {
		while (r->nowed) {
			req = r->owed[r->nowed - 1];
			answer(r, &req, false);
		}
		while (usbscript_request(r->be, &req))
			answer(r, &req, false);
		/* Answers left unnotified are told now. */
		usbscript_notify(r->be);
		sim_run_until(r->sim, sim_now(r->sim) + 10 * MS);
	}
	if (outstanding(r)) {
		struct fut_stats st;

		fut_stats(r->fut, &st);
		fuzz_fail("liveness", "%u URBs not back after the backend "
			  "answered everything for 20 s (frontend %s, "
			  "backend %s)", outstanding(r),
			  st.error ? "in its error state" : "working",
			  usbscript_connected(r->be) ? "connected"
						     : "not connected");
	}
}

static void finish(struct run *r)
{
	fut_close(r->fut);
	be_state(r, 5);
	be_state(r, 6);
	usbscript_destroy(r->be);
	fut_destroy(r->fut);
	sim_domain_audit(sim_domain_get(r->sim, GUEST), "teardown");
	if (sim_violations_total(r->sim)) {
		sim_check_report(r->sim, stderr);
		fuzz_fail("checkers", "%llu violations",
			  (unsigned long long)sim_violations_total(r->sim));
	}
	sim_destroy(r->sim);
	fuzz_session_trace_end();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in;
	struct run r = { .in = &in };
	struct sim_config sc;
	struct sim_domain *d;

	fuzz_session_init();
	fuzz_input_init(&in, data, size);
	sim_config_default(&sc, 1);
	r.sim = sim_create(&sc);
	fuzz_session_trace_begin(r.sim);
	if (getenv("XPV_FUZZ_LOG"))
		sim_trace_log(r.sim, stderr);
	sim_domain_create(r.sim, 0, "dom0", &d);
	sim_domain_create(r.sim, GUEST, "guest", &d);
	toolstack(&r);

	const struct usbscript_config bc = { .sim = r.sim, .self = 0,
					     .frontend = GUEST,
					     .frontend_path = FE };
	const struct fut_env env = { .sim = r.sim, .guest = GUEST,
				     .backend = 0, .frontend_path = FE,
				     .backend_path = BE,
				     .log = getenv("XPV_FUZZ_LOG") ? stderr
								   : NULL,
				     .log_level = 3 };
	const struct fut_callbacks cb = { .usb_giveback = cb_giveback,
					  .arg = &r };

	r.be = usbscript_create(&bc);
	if (fut_create(fut_find("xpv-usbfront"), &env, &cb, &r.fut) != 0) {
		/* A bogus num-ports or usb-ver: probe refused, nothing to run */
		usbscript_destroy(r.be);
		if (sim_violations_total(r.sim))
			fuzz_fail("checkers", "after a refused probe");
		sim_destroy(r.sim);
		fuzz_session_trace_end();
		return 0;
	}
	be_connect(&r);
	plug_first(&r);
	steps(&r);
	settle(&r);
	finish(&r);
	return 0;
}
