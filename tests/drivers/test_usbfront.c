/*
 * usbfront against a hand-driven backend: the test plays Dom0 with Xen's
 * own ring macros (io/usbif.h), so every field the core writes is checked
 * on the wire and every hostile answer (protocol.md 5.1: bad ids,
 * duplicates, unlink answers out of place, rsp_prod overflow, bad conn
 * events, odd status and lengths) is made exactly. The simulator's
 * checkers audit grants, pages and shared-memory reads at teardown.
 */
#include <string.h>

#include "sim/backends/usbscript.h"

#include "check_main.h"
#include "sim/check/check.h"
#include "sim/xenstore/xenstore.h"
#include "usbfront/usbfront.h"
#include "xpv_sim.h"

#define GUEST 1
#define FE "/local/domain/1/device/vusb/0"
#define BE "/local/domain/0/backend/vusb/1/0"
#define MS 1000000ull

struct fx {
	struct sim *sim;
	struct sim_domain *dom0;
	struct xpv_dev *dev;
	struct usbfront *uf;
	int probe_err;
	struct usbscript *be; /* the backend side */
	/* what the upper layer saw */
	struct usbfront_urb *done[64];
	unsigned ndone;
	unsigned port_changes[USBFRONT_MAX_PORTS + 1];
	unsigned events[4];
};

/* ---- the upper layer and the driver adapter -------------------------------- */

static void up_giveback(void *arg, struct usbfront_urb *urb)
{
	struct fx *f = arg;

	ck_assert_uint_lt(f->ndone, 64);
	f->done[f->ndone++] = urb;
}

static void up_port_changed(void *arg, xpv_u8 port)
{
	((struct fx *)arg)->port_changes[port]++;
}

static void up_event(void *arg, enum usbfront_event ev)
{
	((struct fx *)arg)->events[ev]++;
}

static int drv_probe(struct xpv_dev *dev, void **priv)
{
	struct fx *f = xpv_sim_dev_host(dev);
	const struct usbfront_upper up = { up_giveback, up_port_changed,
					   up_event, f };

	f->probe_err = usbfront_probe(dev, &up, &f->uf);
	*priv = f;
	return f->probe_err;
}

static void drv_changed(void *priv, enum xpv_xenbus_state st)
{
	usbfront_otherend_changed(((struct fx *)priv)->uf, st);
}

static int drv_suspend(void *priv)
{
	return usbfront_suspend(((struct fx *)priv)->uf);
}

static int drv_resume(void *priv)
{
	return usbfront_resume(((struct fx *)priv)->uf);
}

static void drv_remove(void *priv)
{
	struct fx *f = priv;

	usbfront_remove(f->uf);
	f->uf = NULL;
}

static const struct xpv_driver drv = { "vusb", drv_probe, drv_changed,
				       drv_suspend, drv_resume, drv_remove };

/* ---- xenstore ---------------------------------------------------------------- */

static void xs_put(struct fx *f, const char *dir, const char *key,
		   const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	ck_assert_int_eq(sim_xs_write(sim_xs(f->sim), 0, 0, path, val,
				      (unsigned)strlen(val)), 0);
}

static unsigned long long fe_uint(struct fx *f, const char *key)
{
	char path[256];
	unsigned long long v = 0;

	snprintf(path, sizeof(path), FE "/%s", key);
	ck_assert_int_eq(sim_xs_read_uint(sim_xs(f->sim), 0, 0, path, &v), 0);
	return v;
}

static void be_state(struct fx *f, int state)
{
	ck_assert_int_eq(sim_xenbus_switch_state(sim_xs(f->sim), 0, BE,
						 state), 0);
	sim_run(f->sim);
}

/* As libxl's usbctrl add, with the given num-ports and usb-ver. */
static void toolstack(struct fx *f, const char *ports, const char *ver)
{
	struct sim_xs *xs = sim_xs(f->sim);
	struct xs_permissions fe_perms[2] = { { GUEST, XS_PERM_NONE },
					      { 0, XS_PERM_READ } };
	struct xs_permissions be_perms[2] = { { 0, XS_PERM_NONE },
					      { GUEST, XS_PERM_READ } };

	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, FE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, FE, fe_perms, 2), 0);
	xs_put(f, FE, "backend", BE);
	xs_put(f, FE, "backend-id", "0");
	xs_put(f, FE, "state", "1");
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, BE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, BE, be_perms, 2), 0);
	xs_put(f, BE, "frontend", FE);
	xs_put(f, BE, "frontend-id", "1");
	xs_put(f, BE, "state", "1");
	xs_put(f, BE, "num-ports", ports);
	xs_put(f, BE, "usb-ver", ver);
}

static void fx_init(struct fx *f, const char *ports, const char *ver)
{
	struct sim_config sc;
	struct sim_domain *guest;

	memset(f, 0, sizeof(*f));
	sim_config_default(&sc, 7);
	f->sim = sim_create(&sc);
	ck_assert_int_eq(sim_domain_create(f->sim, 0, "dom0", &f->dom0), 0);
	ck_assert_int_eq(sim_domain_create(f->sim, GUEST, "guest", &guest),
			 0);
	toolstack(f, ports, ver);
	struct xpv_sim_dev_config dc = { .sim = f->sim, .guest = GUEST,
					 .backend = 0, .frontend_path = FE,
					 .backend_path = BE };
	f->dev = xpv_sim_dev_create(&dc);
	xpv_sim_dev_set_host(f->dev, f);
	xpv_sim_dev_attach(f->dev, &drv);
	sim_run(f->sim);
}

/* ---- the backend: scripted (sim/backends/usbscript.h) -------------------- */

/* InitWait, then map what the frontend published and go Connected. */
static void be_connect(struct fx *f)
{
	const struct usbscript_config sc = { .sim = f->sim, .self = 0,
					     .frontend = GUEST,
					     .frontend_path = FE };

	be_state(f, 2);
	ck_assert_uint_eq(fe_uint(f, "state"), 4);
	if (!f->be)
		f->be = usbscript_create(&sc);
	ck_assert_int_eq(usbscript_connect(f->be), 0);
	be_state(f, 4);
}

static void be_unmap(struct fx *f)
{
	usbscript_destroy(f->be);
	f->be = NULL;
}

/* The next URB-ring request, or false. */
static bool be_req(struct fx *f, usbif_urb_request_t *req)
{
	return usbscript_request(f->be, req);
}

static void be_rsp_raw(struct fx *f, const usbif_urb_response_t *r,
		       bool notify)
{
	usbscript_respond(f->be, r, notify);
	if (notify)
		sim_run(f->sim);
}

static void be_rsp(struct fx *f, uint16_t id, int32_t status,
		   int32_t actual)
{
	usbif_urb_response_t r = { .id = id, .status = status,
				   .actual_length = actual };

	be_rsp_raw(f, &r, true);
}

/* Posted conn requests not yet used. */
static unsigned be_conn_posted(struct fx *f)
{
	return usbscript_conn_posted(f->be);
}

static void be_conn(struct fx *f, uint8_t port, uint8_t speed)
{
	ck_assert_int_eq(usbscript_conn_event(f->be, port, speed, -1), 0);
	sim_run(f->sim);
}

/* Bytes of segment i of req: written (IN) or compared (OUT). */
static void be_seg_io(struct fx *f, const usbif_urb_request_t *req,
		      unsigned i, uint8_t *buf, bool write)
{
	ck_assert_int_eq(usbscript_seg(f->be, req, i, buf, write), 0);
}

/* ---- fixtures ----------------------------------------------------------------- */

/* Connected, a high-speed device on port 1, reset done (enabled). */
static void fx_ready(struct fx *f)
{
	xpv_u16 st, ch;

	fx_init(f, "8", "2");
	ck_assert_int_eq(f->probe_err, 0);
	be_connect(f);
	be_conn(f, 1, USBIF_SPEED_HIGH);
	ck_assert_int_eq(usbfront_port_feature(f->uf, 1, USBFRONT_FEAT_RESET,
					       true), 0);
	sim_run(f->sim);
	ck_assert_int_eq(usbfront_port_status(f->uf, 1, &st, &ch), 0);
	ck_assert(st & USBFRONT_PORT_ENABLE);
}

static void fx_fini(struct fx *f)
{
	be_unmap(f);
	xpv_sim_dev_destroy(f->dev);
	sim_domain_audit(sim_domain_get(f->sim, GUEST), "teardown");
	sim_check_report(f->sim, stderr);
	ck_assert_uint_eq(sim_violations_total(f->sim), 0);
	sim_destroy(f->sim);
}

static void urb_ctrl_in(struct usbfront_urb *u, uint8_t *buf, uint16_t len)
{
	static const uint8_t get_dev_desc[8] = { 0x80, 6, 0, 1, 0, 0, 18, 0 };

	memset(u, 0, sizeof(*u));
	u->port = 1;
	u->type = USBFRONT_CTRL;
	u->in = XPV_TRUE;
	memcpy(u->setup, get_dev_desc, 8);
	u->setup[6] = (uint8_t)len;
	u->buf = buf;
	u->len = len;
}

static void urb_bulk(struct usbfront_urb *u, bool in, uint8_t *buf,
		     uint32_t len)
{
	memset(u, 0, sizeof(*u));
	u->port = 1;
	u->devaddr = 2;
	u->ep = 1;
	u->in = in;
	u->type = USBFRONT_BULK;
	u->buf = buf;
	u->len = len;
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(handshake_posts_every_conn_request)
{
	struct fx f;

	fx_init(&f, "8", "2");
	ck_assert_int_eq(f.probe_err, 0);
	ck_assert_uint_eq(usbfront_num_ports(f.uf), 8);
	ck_assert_uint_eq(usbfront_usb_version(f.uf), 2);
	ck_assert_uint_eq(fe_uint(&f, "state"), 1); /* waits for InitWait */
	be_connect(&f);
	ck_assert_uint_eq(be_conn_posted(&f), USBFRONT_CONN_SLOTS);
	ck_assert_uint_eq(f.events[USBFRONT_EV_CONNECTED], 1);
	fx_fini(&f);
}
END_TEST

/* Misbehaviour 15: num-ports outside 1..31 or usb-ver outside 1..2. */
START_TEST(bad_parameters_are_fatal)
{
	static const char *const cases[][2] = {
		{ "0", "2" }, { "32", "2" }, { "8x", "2" }, { "-1", "2" },
		{ "8", "3" }, { "8", "0" }, { "8", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx f;

		fx_init(&f, cases[i][0], cases[i][1]);
		ck_assert_msg(f.probe_err != 0, "num-ports '%s' usb-ver '%s'",
			      cases[i][0], cases[i][1]);
		xpv_sim_dev_destroy(f.dev);
		ck_assert_uint_eq(sim_violations_total(f.sim), 0);
		sim_destroy(f.sim);
	}
}
END_TEST

START_TEST(plug_reset_and_unplug)
{
	struct fx f;
	xpv_u16 st, ch;

	fx_init(&f, "4", "2");
	be_connect(&f);
	be_conn(&f, 3, USBIF_SPEED_LOW);
	ck_assert_uint_eq(f.port_changes[3], 1);
	ck_assert_uint_eq(be_conn_posted(&f), USBFRONT_CONN_SLOTS); /* again */
	usbfront_port_status(f.uf, 3, &st, &ch);
	ck_assert_uint_eq(st, USBFRONT_PORT_POWER | USBFRONT_PORT_CONNECTION |
				      USBFRONT_PORT_LOW_SPEED);
	ck_assert_uint_eq(ch, USBFRONT_PORT_C_CONNECTION);
	usbfront_port_feature(f.uf, 3, USBFRONT_FEAT_C_CONNECTION, false);
	usbfront_port_feature(f.uf, 3, USBFRONT_FEAT_RESET, true);
	usbfront_port_status(f.uf, 3, &st, &ch);
	ck_assert(st & USBFRONT_PORT_RESET);
	ck_assert(!(st & USBFRONT_PORT_ENABLE));
	sim_run(f.sim);
	ck_assert_uint_ge(sim_now(f.sim), USBFRONT_PORT_RESET_NS);
	usbfront_port_status(f.uf, 3, &st, &ch);
	ck_assert(st & USBFRONT_PORT_ENABLE);
	ck_assert(!(st & USBFRONT_PORT_RESET));
	ck_assert_uint_eq(ch, USBFRONT_PORT_C_RESET);
	ck_assert_uint_eq(f.port_changes[3], 2);
	be_conn(&f, 3, USBIF_SPEED_NONE);
	usbfront_port_status(f.uf, 3, &st, &ch);
	ck_assert_uint_eq(st, USBFRONT_PORT_POWER);
	ck_assert(ch & USBFRONT_PORT_C_CONNECTION);
	ck_assert(!usbfront_in_error(f.uf));
	fx_fini(&f);
}
END_TEST

START_TEST(control_in_on_the_wire)
{
	struct fx f;
	struct usbfront_urb u;
	usbif_urb_request_t req;
	uint8_t buf[18], dev_desc[18];

	for (int i = 0; i < 18; i++)
		dev_desc[i] = (uint8_t)(0x40 + i);
	fx_ready(&f);
	urb_ctrl_in(&u, buf, 18);
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert_uint_eq(usbif_pipeportnum(req.pipe), 1);
	ck_assert(usbif_pipein(req.pipe));
	ck_assert(usbif_pipectrl(req.pipe));
	ck_assert_uint_eq(usbif_pipedevice(req.pipe), 0);
	ck_assert_uint_eq(usbif_pipeendpoint(req.pipe), 0);
	ck_assert(!usbif_pipeunlink(req.pipe));
	ck_assert_uint_eq(req.buffer_length, 18);
	ck_assert_uint_eq(req.nr_buffer_segs, 1);
	ck_assert_uint_eq(req.seg[0].length, 18);
	ck_assert_int_eq(memcmp(req.u.ctrl, u.setup, 8), 0);
	be_seg_io(&f, &req, 0, dev_desc, true);
	be_rsp(&f, req.id, 0, 18);
	ck_assert_uint_eq(f.ndone, 1);
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(u.actual, 18);
	ck_assert_int_eq(memcmp(buf, dev_desc, 18), 0);
	fx_fini(&f);
}
END_TEST

/* Gap D: 65,536 bytes go as sixteen full segments and buffer_length 0. */
START_TEST(bulk_out_of_64k)
{
	static uint8_t data[USBFRONT_MAX_TRANSFER], seen[XPV_PAGE_SIZE];
	struct fx f;
	struct usbfront_urb u, big;
	usbif_urb_request_t req;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 4096);
	fx_ready(&f);
	urb_bulk(&big, false, data, USBFRONT_MAX_TRANSFER + 1);
	ck_assert_int_eq(usbfront_submit(f.uf, &big), -XPV_E2BIG);
	urb_bulk(&u, false, data, USBFRONT_MAX_TRANSFER);
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert(usbif_pipebulk(req.pipe));
	ck_assert(usbif_pipeout(req.pipe));
	ck_assert_uint_eq(usbif_pipedevice(req.pipe), 2);
	ck_assert_uint_eq(usbif_pipeendpoint(req.pipe), 1);
	ck_assert_uint_eq(req.buffer_length, 0);
	ck_assert_uint_eq(req.nr_buffer_segs, 16);
	for (unsigned i = 0; i < 16; i++) {
		ck_assert_uint_eq(req.seg[i].length, XPV_PAGE_SIZE);
		be_seg_io(&f, &req, i, seen, false);
		ck_assert_int_eq(memcmp(seen, data + i * XPV_PAGE_SIZE,
					XPV_PAGE_SIZE), 0);
	}
	/* Outbound data is granted read-only: a writable map is refused. */
	{
		struct sim_grant_map *m;

		ck_assert_int_ne(sim_gnttab_map(f.dom0, GUEST, req.seg[0].gref,
						true, &m), 0);
	}
	be_rsp(&f, req.id, 0, USBFRONT_MAX_TRANSFER);
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(u.actual, USBFRONT_MAX_TRANSFER);
	fx_fini(&f);
}
END_TEST

START_TEST(submit_refusals)
{
	struct fx f;
	struct usbfront_urb u;
	uint8_t buf[8];

	fx_ready(&f);
	urb_bulk(&u, true, buf, 8);
	u.port = 2; /* nothing there */
	ck_assert_int_eq(usbfront_submit(f.uf, &u), -XPV_ENODEV);
	u.port = 9; /* beyond num-ports */
	ck_assert_int_eq(usbfront_submit(f.uf, &u), -XPV_EINVAL);
	urb_bulk(&u, true, buf, 8);
	u.devaddr = 128;
	ck_assert_int_eq(usbfront_submit(f.uf, &u), -XPV_EINVAL);
	urb_ctrl_in(&u, buf, 8);
	u.in = XPV_FALSE; /* disagrees with bmRequestType */
	ck_assert_int_eq(usbfront_submit(f.uf, &u), -XPV_EINVAL);
	ck_assert_uint_eq(f.ndone, 0);
	fx_fini(&f);
}
END_TEST

/* Misbehaviour 7 and 9, and the short-not-ok rule. */
START_TEST(result_policy)
{
	struct fx f;
	struct usbfront_urb u;
	usbif_urb_request_t req;
	uint8_t buf[64];
	struct {
		int32_t status, actual;
		uint16_t flags;
		int want_status;
		uint32_t want_actual;
	} cases[] = {
		{ 0, 64, 0, 0, 64 },
		{ 0, -5, 0, 0, 0 },
		{ 0, 1000, 0, 0, 64 },
		{ -32, 0, 0, -32, 0 },
		{ 5, 3, 0, -108, 0 },  /* a failure delivers no data */
		{ -71, 40, 0, -71, 0 },
		{ -1000, 0, 0, -108, 0 },
		{ 0, 10, USBFRONT_SHORT_NOT_OK, -USBFRONT_EREMOTEIO, 10 },
		{ 0, 64, USBFRONT_SHORT_NOT_OK, 0, 64 },
	};

	fx_ready(&f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		urb_bulk(&u, true, buf, sizeof(buf));
		u.flags = cases[i].flags;
		ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
		ck_assert(be_req(&f, &req));
		be_rsp(&f, req.id, cases[i].status, cases[i].actual);
		ck_assert_msg(u.status == cases[i].want_status &&
				      u.actual == cases[i].want_actual,
			      "case %zu: status %d actual %u", i, u.status,
			      (unsigned)u.actual);
	}
	ck_assert(!usbfront_in_error(f.uf));
	fx_fini(&f);
}
END_TEST

/* Misbehaviour 4 and 5: ids not in flight, duplicates. */
START_TEST(bad_ids_are_an_error_state)
{
	static const uint16_t bogus[] = { 0xffff, 3, 0x1230 };

	for (size_t i = 0; i <= sizeof(bogus) / sizeof(bogus[0]); i++) {
		struct fx f;
		struct usbfront_urb u, v;
		usbif_urb_request_t req;
		uint8_t buf[8], buf2[8];

		fx_ready(&f);
		urb_bulk(&u, true, buf, 8);
		urb_bulk(&v, true, buf2, 8);
		ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
		ck_assert_int_eq(usbfront_submit(f.uf, &v), 0);
		ck_assert(be_req(&f, &req));
		if (i < sizeof(bogus) / sizeof(bogus[0])) {
			be_rsp(&f, bogus[i], 0, 8);
		} else { /* the same answer twice */
			be_rsp(&f, req.id, 0, 8);
			be_rsp(&f, req.id, 0, 8);
		}
		ck_assert(usbfront_in_error(f.uf));
		ck_assert_uint_eq(f.events[USBFRONT_EV_ERROR], 1);
		ck_assert_uint_eq(usbfront_in_flight(f.uf), 0);
		/* Every URB back exactly once; new ones refused. */
		ck_assert_uint_eq(f.ndone, 2);
		ck_assert_int_eq(v.status, -XPV_ESHUTDOWN);
		ck_assert_int_eq(usbfront_submit(f.uf, &u),
				 -XPV_ESHUTDOWN);
		fx_fini(&f);
	}
}
END_TEST

/* Misbehaviour 1 (both rings), 16 and 17. */
START_TEST(ring_and_conn_violations)
{
	for (int i = 0; i < 5; i++) {
		struct fx f;

		fx_ready(&f);
		switch (i) {
		case 0:
			usbscript_rsp_jump(f.be, 5); /* nothing outstanding */
			sim_run(f.sim);
			break;
		case 1:
			be_conn(&f, 0, USBIF_SPEED_FULL);
			break;
		case 2:
			be_conn(&f, 9, USBIF_SPEED_FULL);
			break;
		case 3:
			be_conn(&f, 2, 4);
			break;
		case 4: /* more events than requests posted */
			usbscript_conn_jump(f.be, USBFRONT_CONN_SLOTS + 1);
			sim_run(f.sim);
			break;
		}
		ck_assert_msg(usbfront_in_error(f.uf), "case %d", i);
		fx_fini(&f);
	}
}
END_TEST

START_TEST(unlink_in_flight)
{
	struct fx f;
	struct usbfront_urb u;
	usbif_urb_request_t req, ul;
	uint8_t buf[8];

	fx_ready(&f);
	urb_bulk(&u, true, buf, 8);
	u.type = USBFRONT_INT;
	u.interval = 8;
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert(usbif_pipeint(req.pipe));
	ck_assert_uint_eq(req.u.intr.interval, 8);
	ck_assert_int_eq(usbfront_unlink(f.uf, &u), 0);
	ck_assert_int_eq(usbfront_unlink(f.uf, &u), -XPV_ENOENT);
	ck_assert(be_req(&f, &ul));
	ck_assert(usbif_pipeunlink(ul.pipe));
	ck_assert_uint_eq(ul.pipe & ~USBIF_PIPE_UNLINK, req.pipe);
	ck_assert_uint_eq(ul.u.unlink.unlink_id, req.id);
	ck_assert_uint_eq(f.ndone, 0);
	be_rsp(&f, req.id, USBIF_STATUS_IOERROR, 0); /* qusb: -EPROTO */
	ck_assert_uint_eq(f.ndone, 1);
	ck_assert_int_eq(u.status, -USBFRONT_ECONNRESET);
	be_rsp(&f, ul.id, 0, 0);
	ck_assert(!usbfront_in_error(f.uf));
	/* Gap B: a second answer to the unlink is not in flight. */
	be_rsp(&f, ul.id, 0, 0);
	ck_assert(usbfront_in_error(f.uf));
	fx_fini(&f);
}
END_TEST

/* Misbehaviour 20: the unlink is never answered. The victim comes back
 * after the timeout; late answers to both are ignored. */
START_TEST(unlink_never_answered)
{
	struct fx f;
	struct usbfront_urb u, v;
	usbif_urb_request_t req, ul, r2;
	uint8_t buf[8], buf2[8];

	fx_ready(&f);
	urb_bulk(&u, true, buf, 8);
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert_int_eq(usbfront_unlink(f.uf, &u), 0);
	ck_assert(be_req(&f, &ul));
	sim_run(f.sim);
	ck_assert_uint_ge(sim_now(f.sim), 5000 * MS);
	ck_assert_uint_eq(f.ndone, 1);
	ck_assert_int_eq(u.status, -USBFRONT_ECONNRESET);
	ck_assert_uint_eq(usbfront_in_flight(f.uf), 0);
	/* The slots serve new URBs; late answers change nothing. */
	urb_bulk(&v, true, buf2, 8);
	ck_assert_int_eq(usbfront_submit(f.uf, &v), 0);
	ck_assert(be_req(&f, &r2));
	be_rsp(&f, req.id, 0, 8);
	be_rsp(&f, ul.id, 0, 0);
	ck_assert(!usbfront_in_error(f.uf));
	ck_assert_uint_eq(f.ndone, 1);
	be_rsp(&f, r2.id, 0, 8);
	ck_assert_uint_eq(f.ndone, 2);
	ck_assert_int_eq(v.status, 0);
	fx_fini(&f);
}
END_TEST

/* Sixteen in flight fill the ring: the next waits, in order, and an
 * unlink takes a waiting URB back at once. */
START_TEST(full_ring_queues_in_order)
{
	struct fx f;
	struct usbfront_urb u[19];
	usbif_urb_request_t req[16], r;
	uint8_t buf[19][8];

	fx_ready(&f);
	for (int i = 0; i < 19; i++) {
		urb_bulk(&u[i], true, buf[i], 8);
		ck_assert_int_eq(usbfront_submit(f.uf, &u[i]), 0);
	}
	for (int i = 0; i < 16; i++)
		ck_assert(be_req(&f, &req[i]));
	ck_assert(!be_req(&f, &r));
	ck_assert_int_eq(usbfront_unlink(f.uf, &u[17]), 0);
	ck_assert_uint_eq(f.ndone, 1);
	ck_assert_int_eq(u[17].status, -USBFRONT_ECONNRESET);
	be_rsp(&f, req[0].id, 0, 8);
	ck_assert(be_req(&f, &r)); /* u[16] went out */
	ck_assert_uint_eq(r.id, u[16].id);
	be_rsp(&f, req[1].id, 0, 8);
	ck_assert(be_req(&f, &r)); /* then u[18] */
	ck_assert_uint_eq(r.id, u[18].id);
	fx_fini(&f);
}
END_TEST

START_TEST(iso_frame_descriptors)
{
	struct fx f;
	struct usbfront_urb u;
	struct usbfront_iso_packet pk[4];
	usbif_urb_request_t req;
	uint8_t buf[4 * 192], data[4 * 192];
	uint32_t desc[4][4];
	struct sim_grant_map *m;

	fx_ready(&f);
	memset(&u, 0, sizeof(u));
	u.port = 1;
	u.devaddr = 3;
	u.ep = 2;
	u.in = XPV_TRUE;
	u.type = USBFRONT_ISO;
	u.interval = 1;
	u.buf = buf;
	u.len = sizeof(buf);
	for (int i = 0; i < 4; i++)
		pk[i] = (struct usbfront_iso_packet){ .offset = 192u * i,
						      .length = 192 };
	u.packets = pk;
	u.npackets = 4;
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert(usbif_pipeisoc(req.pipe));
	ck_assert_uint_eq(req.u.isoc.number_of_packets, 4);
	ck_assert_uint_eq(req.u.isoc.nr_frame_desc_segs, 1);
	ck_assert_uint_eq(req.nr_buffer_segs, 1);
	ck_assert_uint_eq(req.seg[1].length, 4 * 16);
	ck_assert_int_eq(sim_gnttab_map(f.dom0, GUEST, req.seg[1].gref, true,
					&m), 0);
	memcpy(desc, sim_grant_map_addr(m), sizeof(desc));
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(desc[i][0], 192u * i);
		ck_assert_uint_eq(desc[i][1], 192);
		desc[i][2] = i == 3 ? 500 : 100 + i; /* 500: clamped */
		desc[i][3] = i == 2 ? (uint32_t)-75 : 0;
	}
	memcpy(sim_grant_map_addr(m), desc, sizeof(desc));
	sim_shm_publish(f.sim, sim_grant_map_addr(m), sizeof(desc));
	sim_gnttab_unmap(m);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	be_seg_io(&f, &req, 0, data, true);
	{
		usbif_urb_response_t r = { .id = req.id, .start_frame = 77,
					   .status = 0,
					   .actual_length = 4 * 192,
					   .error_count = 1 };

		be_rsp_raw(&f, &r, true);
	}
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(u.start_frame, 77);
	ck_assert_uint_eq(u.error_count, 1);
	ck_assert_uint_eq(pk[0].actual, 100);
	ck_assert_uint_eq(pk[3].actual, 192);
	ck_assert_int_eq(pk[2].status, -75);
	ck_assert_int_eq(memcmp(buf, data, sizeof(buf)), 0);
	fx_fini(&f);
}
END_TEST

/* Save/restore (gap C): URBs fail, ports drop their devices, the rings
 * are built again and the backend reports the device once more. */
START_TEST(resume_rebuilds_the_rings)
{
	struct fx f;
	struct usbfront_urb u;
	usbif_urb_request_t req;
	uint8_t buf[8];
	xpv_u16 st, ch;

	fx_ready(&f);
	urb_bulk(&u, true, buf, 8);
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert_int_eq(xpv_sim_dev_suspend(f.dev), 0);
	be_unmap(&f); /* the old backend is gone */
	ck_assert_int_eq(xpv_sim_dev_resume(f.dev), 0);
	sim_run(f.sim);
	ck_assert_uint_eq(f.ndone, 1);
	ck_assert_int_eq(u.status, -XPV_ESHUTDOWN);
	usbfront_port_status(f.uf, 1, &st, &ch);
	ck_assert_uint_eq(st, USBFRONT_PORT_POWER);
	ck_assert(ch & USBFRONT_PORT_C_CONNECTION);
	be_connect(&f);
	ck_assert_uint_eq(f.events[USBFRONT_EV_RESUMED], 1);
	ck_assert_uint_eq(be_conn_posted(&f), USBFRONT_CONN_SLOTS);
	be_conn(&f, 1, USBIF_SPEED_HIGH);
	usbfront_port_status(f.uf, 1, &st, &ch);
	ck_assert(st & USBFRONT_PORT_CONNECTION);
	ck_assert(!usbfront_in_error(f.uf));
	fx_fini(&f);
}
END_TEST

START_TEST(backend_closing_drains_then_closes)
{
	struct fx f;
	struct usbfront_urb u;
	usbif_urb_request_t req;
	uint8_t buf[8];

	fx_ready(&f);
	urb_bulk(&u, true, buf, 8);
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert_int_eq(sim_xenbus_switch_state(sim_xs(f.sim), 0, BE, 5), 0);
	sim_run_until(f.sim, sim_now(f.sim) + 100 * MS);
	ck_assert_uint_eq(fe_uint(&f, "state"), 4); /* waits for the URB */
	be_rsp(&f, req.id, 0, 8);
	ck_assert_int_eq(u.status, 0);
	ck_assert_uint_eq(fe_uint(&f, "state"), 6);
	ck_assert_uint_eq(f.events[USBFRONT_EV_CLOSED], 1);
	fx_fini(&f);
}
END_TEST

/* Misbehaviour 20 at teardown: the URB is never answered; the drain
 * gives up after its timeout and the URB still comes back once. */
START_TEST(backend_closing_without_answers)
{
	struct fx f;
	struct usbfront_urb u;
	usbif_urb_request_t req;
	uint8_t buf[8];

	fx_ready(&f);
	urb_bulk(&u, true, buf, 8);
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	be_state(&f, 5);
	ck_assert_uint_ge(sim_now(f.sim), 5000 * MS);
	ck_assert_uint_eq(fe_uint(&f, "state"), 6);
	ck_assert_uint_eq(f.ndone, 1);
	ck_assert_int_eq(u.status, -XPV_ESHUTDOWN);
	fx_fini(&f);
}
END_TEST

/* Misbehaviour 10: a data grant kept mapped after the answer. */
START_TEST(kept_grant_quarantines_and_errors)
{
	struct fx f;
	struct usbfront_urb u;
	usbif_urb_request_t req;
	struct sim_grant_map *m;
	uint8_t buf[8];

	fx_ready(&f);
	urb_bulk(&u, true, buf, 8);
	ck_assert_int_eq(usbfront_submit(f.uf, &u), 0);
	ck_assert(be_req(&f, &req));
	ck_assert_int_eq(sim_gnttab_map(f.dom0, GUEST, req.seg[0].gref, true,
					&m), 0);
	be_rsp(&f, req.id, 0, 8);
	ck_assert_int_eq(u.status, -XPV_ESHUTDOWN);
	ck_assert(usbfront_in_error(f.uf));
	sim_gnttab_unmap(m);
	fx_fini(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usbfront");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, handshake_posts_every_conn_request);
	tcase_add_test(tc, bad_parameters_are_fatal);
	tcase_add_test(tc, plug_reset_and_unplug);
	tcase_add_test(tc, control_in_on_the_wire);
	tcase_add_test(tc, bulk_out_of_64k);
	tcase_add_test(tc, submit_refusals);
	tcase_add_test(tc, result_policy);
	tcase_add_test(tc, bad_ids_are_an_error_state);
	tcase_add_test(tc, ring_and_conn_violations);
	tcase_add_test(tc, unlink_in_flight);
	tcase_add_test(tc, unlink_never_answered);
	tcase_add_test(tc, full_ring_queues_in_order);
	tcase_add_test(tc, iso_frame_descriptors);
	tcase_add_test(tc, resume_rebuilds_the_rings);
	tcase_add_test(tc, backend_closing_drains_then_closes);
	tcase_add_test(tc, backend_closing_without_answers);
	tcase_add_test(tc, kept_grant_quarantines_and_errors);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
