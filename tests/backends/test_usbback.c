/*
 * The usbback model (sim/backends/usbback.h) against a minimal frontend
 * built from simulator primitives: a guest domain with granted urb and
 * conn ring pages, an unbound port, Xen's FRONT_RING macros, and xenstore
 * writes playing both the toolstack and the frontend. Devices are built
 * here from descriptors with sim_usb_device_new: a vendor-class "loop"
 * device with bulk OUT/IN (a FIFO), interrupt IN (NAKs until the test
 * arms it) and an iso OUT/IN pair. Every test ends with the frontend
 * ending each grant it made (each must be unmapped by then), freeing its
 * pages and ports, and the simulator's checkers clean.
 */
#include "check_main.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "sim/backends/usbback.h"
#include "sim/backends/xen_ring.h"
#include <xen/io/usbif.h>
#include <xen/io/xenbus.h>

#include "sim/check/check.h"
#include "sim/xenstore/xenstore.h"

#define GUEST	  ((sim_domid)1)
#define FE	  "/local/domain/1/device/vusb/0"
#define BE	  "/local/domain/0/backend/qusb/1/0"
#define NPORTS	  4
#define NDEV	  3
#define MAX_RSP	  512
#define MAX_CONN  1024
#define MAX_GNT	  256
#define MAX_PORTS 16
#define US	  1000ull
#define MS	  1000000ull
#define EVT	  (2 * US)  /* event-channel latency, no jitter */
#define LAT	  (20 * US) /* device latency */

#define T_ISO  USBIF_PIPE_TYPE_ISOC
#define T_INT  USBIF_PIPE_TYPE_INT
#define T_CTRL USBIF_PIPE_TYPE_CTRL
#define T_BULK USBIF_PIPE_TYPE_BULK

#define EP_BULK 1    /* 0x01 OUT, 0x81 IN */
#define EP_INT	3    /* 0x83 IN */
#define EP_ISO	4    /* 0x04 OUT, 0x84 IN */
#define HALT_ME 0xee /* a bulk OUT starting with it halts the endpoint */

/* ---- the loop device ----------------------------------------------------- */

struct loop {
	uint8_t fifo[65536];
	uint32_t fifo_len;
	bool int_ready;
	uint8_t int_data[8];
	uint8_t iso_out[4096];
	uint32_t iso_out_len;
	unsigned resets;
};

static enum sim_usb_status loop_bulk(struct sim_usb_device *d, struct loop *l,
				     struct sim_usb_xfer *x)
{
	uint32_t n;

	if (!x->in) {
		if (x->len && x->data[0] == HALT_ME) {
			sim_usb_device_halt(d, x->ep, false);
			return SIM_USB_STALL;
		}
		if (x->len > sizeof(l->fifo) - l->fifo_len)
			return SIM_USB_IOERROR;
		memcpy(l->fifo + l->fifo_len, x->data, x->len);
		l->fifo_len += x->len;
		return SIM_USB_OK;
	}
	if (!l->fifo_len)
		return SIM_USB_NAK;
	n = x->len < l->fifo_len ? x->len : l->fifo_len;
	memcpy(x->data, l->fifo, n);
	memmove(l->fifo, l->fifo + n, l->fifo_len - n);
	l->fifo_len -= n;
	x->actual = n;
	return SIM_USB_OK;
}

/* IN: packet i carries bytes i * 16 + j, packet 1 only half full. OUT:
 * every packet's bytes appended to iso_out. */
static enum sim_usb_status loop_iso(struct loop *l, struct sim_usb_xfer *x)
{
	for (unsigned i = 0; i < x->npackets; i++) {
		struct sim_usb_iso_packet *p = &x->packets[i];

		p->status = SIM_USB_OK;
		if (!x->in) {
			if (p->length > sizeof(l->iso_out) - l->iso_out_len)
				return SIM_USB_IOERROR;
			memcpy(l->iso_out + l->iso_out_len, x->data + p->offset,
			       p->length);
			l->iso_out_len += p->length;
			p->actual = p->length;
			continue;
		}
		p->actual = i == 1 ? p->length / 2 : p->length;
		for (uint32_t j = 0; j < p->actual; j++)
			x->data[p->offset + j] = (uint8_t)(i * 16 + j);
	}
	return SIM_USB_OK;
}

static enum sim_usb_status loop_data(struct sim_usb_device *d,
				     struct sim_usb_xfer *x)
{
	struct loop *l = sim_usb_device_class_priv(d);
	uint32_t n;

	switch (x->type) {
	case SIM_USB_EP_BULK:
		return loop_bulk(d, l, x);
	case SIM_USB_EP_ISO:
		return loop_iso(l, x);
	case SIM_USB_EP_INTERRUPT:
		if (!l->int_ready)
			return SIM_USB_NAK;
		n = x->len < 8 ? x->len : 8;
		memcpy(x->data, l->int_data, n);
		x->actual = n;
		l->int_ready = false;
		return SIM_USB_OK;
	case SIM_USB_EP_CONTROL:
		break;
	}
	return SIM_USB_STALL;
}

static void loop_reset(struct sim_usb_device *d)
{
	struct loop *l = sim_usb_device_class_priv(d);

	l->fifo_len = 0;
	l->int_ready = false;
	l->resets++;
}

static const struct sim_usb_class loop_class = {
    .name = "loop",
    .data = loop_data,
    .reset = loop_reset,
};

/* clang-format off */
static const uint8_t dev_desc[18] = {
	18, SIM_USB_DT_DEVICE, 0x00, 0x02,	/* bcdUSB 2.00 */
	0xff, 0, 0, 64,				/* vendor class, mps0 64 */
	0x34, 0x12, 0x78, 0x56, 0x00, 0x01,	/* ids, bcdDevice */
	1, 2, 0, 1,				/* strings, 1 config */
};
/* clang-format on */

#define CFG_LEN (9 + 9 + 5 * 7)

static void config_desc(uint8_t *c, bool hs)
{
	/* clang-format off */
	static const uint8_t head[18] = {
		9, SIM_USB_DT_CONFIG, CFG_LEN, 0, 1, 1, 0, 0x80, 50,
		9, SIM_USB_DT_INTERFACE, 0, 0, 5, 0xff, 0, 0, 0,
	};
	/* clang-format on */
	uint8_t bulk = hs ? 0 : 64, bulk_hi = hs ? 2 : 0;
	const uint8_t eps[5][7] = {
	    {7, SIM_USB_DT_ENDPOINT, 0x01, 2, bulk, bulk_hi, 0},
	    {7, SIM_USB_DT_ENDPOINT, 0x81, 2, bulk, bulk_hi, 0},
	    /* full speed 10 ms; high speed 2^3 microframes = 1 ms */
	    {7, SIM_USB_DT_ENDPOINT, 0x83, 3, 8, 0, hs ? 4 : 10},
	    {7, SIM_USB_DT_ENDPOINT, 0x04, 1, 64, 0, 1},
	    {7, SIM_USB_DT_ENDPOINT, 0x84, 1, 64, 0, 1},
	};

	memcpy(c, head, sizeof(head));
	memcpy(c + sizeof(head), eps, sizeof(eps));
}

/* ---- fixture ------------------------------------------------------------- */

struct gnt {
	uint32_t ref;
	struct sim_page *pg;
};

struct fx {
	struct sim *sim;
	struct sim_domain *dom0, *guest;
	struct usbback_config cfg;
	struct usbback *ub;
	struct sim_usb_device *dev[NDEV]; /* "1-1" full, "1-2" high, "1-3" */
	struct loop loop[NDEV];
	struct gnt gnt[MAX_GNT];
	unsigned ngnt;
	uint32_t ports[MAX_PORTS];
	unsigned nports;
	/* the frontend */
	uint32_t port;
	usbif_urb_front_ring_t urb;
	usbif_conn_front_ring_t conn;
	bool overflow_seen, repost;
	usbif_urb_response_t rsp[MAX_RSP];
	uint64_t rsp_ns[MAX_RSP];
	unsigned nrsp;
	usbif_conn_response_t crsp[MAX_CONN];
	unsigned ncrsp;
};

static const char *const strings[] = {"xpv", "loop"};

static void devices_new(struct fx *f)
{
	static const enum sim_usb_speed speed[NDEV] = {
	    SIM_USB_SPEED_FULL, SIM_USB_SPEED_HIGH, SIM_USB_SPEED_FULL};
	char err[160];

	for (int i = 0; i < NDEV; i++) {
		uint8_t cfg[CFG_LEN];
		struct sim_usb_descriptors d = {dev_desc, cfg, strings, 2};

		config_desc(cfg, speed[i] == SIM_USB_SPEED_HIGH);
		ck_assert_msg(sim_usb_device_new(&d, speed[i], &loop_class,
						 &f->loop[i], &f->dev[i], err,
						 sizeof(err)) == 0,
			      "%s", err);
	}
}

static struct sim_usb_device *lookup(void *arg, const char *busid)
{
	struct fx *f = arg;

	for (int i = 0; i < NDEV; i++) {
		char id[8];

		snprintf(id, sizeof(id), "1-%d", i + 1);
		if (strcmp(busid, id) == 0)
			return f->dev[i];
	}
	return NULL;
}

static void put(struct fx *f, sim_domid who, const char *dir, const char *key,
		const char *val)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	ck_assert_int_eq(
	    sim_xs_write(sim_xs(f->sim), who, 0, p, val, (unsigned)strlen(val)),
	    0);
}

static void be_put(struct fx *f, const char *key, const char *val)
{
	put(f, 0, BE, key, val);
}

static void fe_put(struct fx *f, const char *key, const char *val)
{
	put(f, GUEST, FE, key, val);
}

static void fe_state(struct fx *f, int state)
{
	char v[8];

	snprintf(v, sizeof(v), "%d", state);
	fe_put(f, "state", v);
}

/* The value at dir/key, or "(none)"; static buffer. */
static const char *get(struct fx *f, const char *dir, const char *key)
{
	static char out[160];
	char p[256], *v;
	unsigned len;

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	if (sim_xs_read(sim_xs(f->sim), 0, 0, p, &v, &len))
		return "(none)";
	snprintf(out, sizeof(out), "%s", v);
	free(v);
	return out;
}

static int be_state(struct fx *f)
{
	return atoi(get(f, BE, "state"));
}

/* As libxl__device_usbctrl_add_xenstore: version 2, NPORTS ports. */
static void toolstack_add(struct fx *f)
{
	struct sim_xs *xs = sim_xs(f->sim);
	struct xs_permissions fe_perms[2] = {{GUEST, XS_PERM_NONE},
					     {0, XS_PERM_READ}};
	struct xs_permissions be_perms[2] = {{0, XS_PERM_NONE},
					     {GUEST, XS_PERM_READ}};
	char key[16];

	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, FE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, FE, fe_perms, 2), 0);
	put(f, 0, FE, "backend", BE);
	put(f, 0, FE, "backend-id", "0");
	put(f, 0, FE, "state", "1");
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, BE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, BE, be_perms, 2), 0);
	be_put(f, "frontend", FE);
	be_put(f, "frontend-id", "1");
	be_put(f, "online", "1");
	be_put(f, "state", "1");
	be_put(f, "type", "qusb");
	be_put(f, "usb-ver", "2");
	be_put(f, "num-ports", "4");
	be_put(f, "port", "");
	for (int i = 1; i <= NPORTS; i++) {
		snprintf(key, sizeof(key), "port/%d", i);
		be_put(f, key, "");
	}
}

static void fx_init(struct fx *f, uint64_t seed)
{
	struct sim_config sc;

	memset(f, 0, sizeof(*f));
	sim_config_default(&sc, seed);
	sc.evtchn_latency_ns = EVT;
	sc.jitter_ns = 0; /* exact timing checks */
	f->sim = sim_create(&sc);
	ck_assert_int_eq(sim_domain_create(f->sim, 0, "dom0", &f->dom0), 0);
	ck_assert_int_eq(sim_domain_create(f->sim, GUEST, "guest", &f->guest),
			 0);
	devices_new(f);
	usbback_config_default(&f->cfg);
	f->cfg.sim = f->sim;
	f->cfg.self = 0;
	f->cfg.frontend = GUEST;
	f->cfg.path = BE;
	f->cfg.frontend_path = FE;
	f->cfg.device_latency_ns = LAT;
	f->cfg.lookup = lookup;
	f->cfg.lookup_arg = f;
	f->repost = true;
	toolstack_add(f);
}

static void fx_start(struct fx *f)
{
	ck_assert_int_eq(usbback_create(&f->cfg, &f->ub), 0);
	sim_run(f->sim);
}

static struct usbback_stats stats(struct fx *f)
{
	struct usbback_stats st;

	usbback_stats(f->ub, &st);
	return st;
}

static struct sim_gnttab_stats gstats(struct fx *f)
{
	struct sim_gnttab_stats st;

	sim_gnttab_stats(f->guest, &st);
	return st;
}

/* The backend goes first; then every grant must end (nothing left
 * mapped), the guest frees its pages and ports, and both domains audit
 * clean: no leak, no other violation. */
static void fx_fini(struct fx *f)
{
	usbback_destroy(f->ub);
	for (unsigned i = 0; i < f->ngnt; i++) {
		ck_assert_int_eq(sim_gnttab_try_end(f->guest, f->gnt[i].ref),
				 0);
		sim_page_free(f->gnt[i].pg);
	}
	for (unsigned i = 0; i < f->nports; i++)
		sim_evtchn_close(f->guest, f->ports[i]);
	sim_domain_audit(f->guest, "test end");
	sim_domain_audit(f->dom0, "test end");
	if (sim_violations_total(f->sim))
		sim_check_report(f->sim, stderr);
	ck_assert_uint_eq(sim_violations_total(f->sim), 0);
	sim_destroy(f->sim);
	for (int i = 0; i < NDEV; i++)
		sim_usb_device_free(f->dev[i]);
}

static void run_for(struct fx *f, uint64_t ns)
{
	sim_run_until(f->sim, sim_now(f->sim) + ns);
}

/* ---- the frontend's rings ------------------------------------------------ */

static void fe_urb_responses(struct fx *f)
{
	int more;

	do {
		RING_IDX prod = f->urb.sring->rsp_prod;

		rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&f->urb, prod)) {
			f->overflow_seen = true;
			return;
		}
		while (f->urb.rsp_cons != prod) {
			ck_assert_uint_lt(f->nrsp, MAX_RSP);
			RING_COPY_RESPONSE(&f->urb, f->urb.rsp_cons,
					   &f->rsp[f->nrsp]);
			f->rsp_ns[f->nrsp++] = sim_now(f->sim);
			f->urb.rsp_cons++;
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&f->urb, more);
	} while (more);
}

static void fe_conn_post(struct fx *f, uint16_t id)
{
	RING_GET_REQUEST(&f->conn, f->conn.req_prod_pvt)->id = id;
	f->conn.req_prod_pvt++;
}

static void fe_conn_push(struct fx *f)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->conn, notify);
	if (notify)
		sim_evtchn_send(f->guest, f->port);
}

/* xenhcd_conn_notify: take each event, post its request again. */
static void fe_conn_responses(struct fx *f)
{
	int more;

	do {
		RING_IDX prod = f->conn.sring->rsp_prod;

		rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&f->conn, prod)) {
			f->overflow_seen = true;
			return;
		}
		while (f->conn.rsp_cons != prod) {
			usbif_conn_response_t *r = &f->crsp[f->ncrsp];

			ck_assert_uint_lt(f->ncrsp, MAX_CONN);
			RING_COPY_RESPONSE(&f->conn, f->conn.rsp_cons, r);
			f->ncrsp++;
			f->conn.rsp_cons++;
			if (f->repost)
				fe_conn_post(f, r->id);
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&f->conn, more);
	} while (more);
	fe_conn_push(f);
}

static void fe_event(struct sim *sim, void *arg, uint32_t port)
{
	struct fx *f = arg;

	(void)sim;
	(void)port;
	fe_urb_responses(f);
	fe_conn_responses(f);
}

static uint32_t grant(struct fx *f, struct sim_page *pg, bool readonly)
{
	uint32_t ref;

	ck_assert_uint_lt(f->ngnt, MAX_GNT);
	ck_assert_int_eq(sim_gnttab_claim(f->guest, &ref), 0);
	ck_assert_int_eq(sim_gnttab_grant(f->guest, ref, 0, pg, readonly), 0);
	f->gnt[f->ngnt].ref = ref;
	f->gnt[f->ngnt++].pg = pg;
	return ref;
}

/* A page granted to dom0, filled with a pattern of seed. */
static uint32_t data_page(struct fx *f, struct sim_page **pg, bool readonly,
			  uint8_t seed)
{
	uint8_t *d;

	*pg = sim_page_alloc(f->guest);
	d = sim_page_data(*pg);
	for (int i = 0; i < 4096; i++)
		d[i] = (uint8_t)(seed + i * 7);
	return grant(f, *pg, readonly);
}

static void put_uint(struct fx *f, const char *key, uint32_t v)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", v);
	fe_put(f, key, s);
}

/* xenhcd_setup_rings .. xenhcd_connect: both rings, one port, nconn
 * conn requests posted (ids 0..), then straight to 4. */
static void fe_rings_new(struct fx *f, unsigned nconn)
{
	struct sim_page *up = sim_page_alloc(f->guest);
	struct sim_page *cp = sim_page_alloc(f->guest);
	uint32_t uref = grant(f, up, false), cref = grant(f, cp, false);

	SHARED_RING_INIT((usbif_urb_sring_t *)sim_page_data(up));
	FRONT_RING_INIT(&f->urb, (usbif_urb_sring_t *)sim_page_data(up), 4096);
	SHARED_RING_INIT((usbif_conn_sring_t *)sim_page_data(cp));
	FRONT_RING_INIT(&f->conn, (usbif_conn_sring_t *)sim_page_data(cp),
			4096);
	ck_assert_int_eq(sim_evtchn_alloc_unbound(f->guest, 0, &f->port), 0);
	ck_assert_int_eq(
	    sim_evtchn_set_handler(f->guest, f->port, fe_event, f, false), 0);
	f->ports[f->nports++] = f->port;
	put_uint(f, "urb-ring-ref", uref);
	put_uint(f, "conn-ring-ref", cref);
	put_uint(f, "event-channel", f->port);
	for (unsigned i = 0; i < nconn; i++)
		fe_conn_post(f, (uint16_t)i);
	f->conn.sring->req_prod = f->conn.req_prod_pvt; /* no one to tell */
}

static void fx_connect_n(struct fx *f, unsigned nconn)
{
	fe_rings_new(f, nconn);
	fe_state(f, XenbusStateConnected);
	sim_run(f->sim);
	ck_assert_int_eq(be_state(f), XenbusStateConnected);
	ck_assert(stats(f).connected);
}

static void fx_connect(struct fx *f)
{
	fx_connect_n(f, USB_CONN_RING_SIZE);
}

static void fx_ready(struct fx *f, uint64_t seed)
{
	fx_init(f, seed);
	fx_start(f);
	fx_connect(f);
}

/* The toolstack writes port/<n>. */
static void plug(struct fx *f, int port, const char *busid)
{
	char key[16];

	snprintf(key, sizeof(key), "port/%d", port);
	be_put(f, key, busid);
}

/* ---- requests ------------------------------------------------------------ */

static uint32_t pipe(unsigned type, unsigned port, unsigned addr, unsigned ep,
		     bool in)
{
	return (uint32_t)type << USBIF_PIPE_TYPE_SHIFT |
	       ep << USBIF_PIPE_EP_SHIFT | addr << USBIF_PIPE_DEV_SHIFT |
	       (in ? USBIF_PIPE_DIR : 0) | port;
}

static usbif_urb_request_t req_new(uint16_t id, uint32_t p)
{
	usbif_urb_request_t rq;

	memset(&rq, 0, sizeof(rq));
	rq.id = id;
	rq.pipe = p;
	return rq;
}

static usbif_urb_request_t ctrl(uint16_t id, unsigned port, unsigned addr,
				uint8_t type, uint8_t req, uint16_t value,
				uint16_t index, uint16_t length)
{
	usbif_urb_request_t rq =
	    req_new(id, pipe(T_CTRL, port, addr, 0, type & 0x80));
	uint8_t *c = rq.u.ctrl;

	c[0] = type;
	c[1] = req;
	c[2] = (uint8_t)value;
	c[3] = (uint8_t)(value >> 8);
	c[4] = (uint8_t)index;
	c[5] = (uint8_t)(index >> 8);
	c[6] = (uint8_t)length;
	c[7] = (uint8_t)(length >> 8);
	rq.buffer_length = length;
	return rq;
}

/* seg i of rq: a fresh page, offset off, length len. */
static struct sim_page *seg(struct fx *f, usbif_urb_request_t *rq, unsigned i,
			    bool readonly, uint16_t off, uint16_t len,
			    uint8_t seed)
{
	struct sim_page *pg;

	rq->seg[i].gref = data_page(f, &pg, readonly, seed);
	rq->seg[i].offset = off;
	rq->seg[i].length = len;
	return pg;
}

static void fe_send(struct fx *f, const usbif_urb_request_t *rq)
{
	int notify;

	memcpy(RING_GET_REQUEST(&f->urb, f->urb.req_prod_pvt), rq, sizeof(*rq));
	f->urb.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->urb, notify);
	if (notify)
		sim_evtchn_send(f->guest, f->port);
}

/* The first response with id at index from or later, running the
 * simulation up to a second for it; NULL if none came. */
static const usbif_urb_response_t *wait_rsp(struct fx *f, unsigned from,
					    uint16_t id)
{
	uint64_t end = sim_now(f->sim) + 1000 * MS;

	for (;;) {
		for (unsigned i = from; i < f->nrsp; i++)
			if (f->rsp[i].id == id)
				return &f->rsp[i];
		if (sim_now(f->sim) > end || !sim_step(f->sim))
			return NULL;
	}
}

static const usbif_urb_response_t *cmd(struct fx *f,
				       const usbif_urb_request_t *rq)
{
	unsigned from = f->nrsp;
	const usbif_urb_response_t *r;

	fe_send(f, rq);
	r = wait_rsp(f, from, rq->id);
	ck_assert_msg(r != NULL, "no answer to id %u", rq->id);
	return r;
}

static int32_t status_of(struct fx *f, const usbif_urb_request_t *rq)
{
	return cmd(f, rq)->status;
}

/* Nothing of a request left mapped: only the two rings. */
static void assert_only_rings_mapped(struct fx *f)
{
	ck_assert_uint_eq(gstats(f).mapped, 2);
}

static const usbif_urb_response_t *get_device_desc(struct fx *f, uint16_t id,
						   unsigned port, unsigned addr,
						   struct sim_page **pg)
{
	usbif_urb_request_t rq =
	    ctrl(id, port, addr, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
		 SIM_USB_DT_DEVICE << 8, 0, 18);

	rq.nr_buffer_segs = 1;
	*pg = seg(f, &rq, 0, false, 0, 18, 0);
	return cmd(f, &rq);
}

/* hub_port_init .. usb_set_configuration on port, to address addr. */
static void enumerate(struct fx *f, unsigned port, unsigned addr)
{
	struct sim_page *pg;
	usbif_urb_request_t rq;

	ck_assert_int_eq(get_device_desc(f, 100, port, 0, &pg)->status, 0);
	rq = ctrl(101, port, 0, 0x00, SIM_USB_REQ_SET_ADDRESS, addr, 0, 0);
	ck_assert_int_eq(status_of(f, &rq), 0);
	rq =
	    ctrl(102, port, addr, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 1, 0, 0);
	ck_assert_int_eq(status_of(f, &rq), 0);
}

/* Connected, "1-1" (full speed) on port 1 at address 5 and configured. */
static void fx_enumerated(struct fx *f, uint64_t seed)
{
	fx_init(f, seed);
	plug(f, 1, "1-1");
	fx_start(f);
	fx_connect(f);
	enumerate(f, 1, 5);
	f->nrsp = 0;
}

static usbif_urb_request_t bulk(uint16_t id, unsigned addr, bool in)
{
	return req_new(id, pipe(T_BULK, 1, addr, EP_BULK, in));
}

static usbif_urb_request_t intr_in(struct fx *f, uint16_t id, unsigned addr,
				   struct sim_page **pg)
{
	usbif_urb_request_t rq = req_new(id, pipe(T_INT, 1, addr, EP_INT, 1));

	rq.u.intr.interval = 10;
	rq.nr_buffer_segs = 1;
	*pg = seg(f, &rq, 0, false, 0, 8, 0);
	rq.buffer_length = 8;
	return rq;
}

/* ---- handshake ----------------------------------------------------------- */

START_TEST(handshake_reaches_connected)
{
	struct fx f;

	fx_init(&f, 1);
	fx_start(&f);
	ck_assert_int_eq(be_state(&f), XenbusStateInitWait);
	ck_assert_str_eq(get(&f, BE, "hotplug-status"), "connected");
	ck_assert(!stats(&f).connected);
	fx_connect(&f);
	ck_assert_uint_eq(stats(&f).connects, 1);
	ck_assert_uint_eq(stats(&f).attached, 0);
	assert_only_rings_mapped(&f);
	ck_assert_uint_eq(f.ncrsp, 0); /* nothing plugged */
	/* FE 4 again with the same keys: nothing changes. */
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert_uint_eq(stats(&f).connects, 1);
	fx_fini(&f);
}
END_TEST

static const struct {
	const char *key, *val, *msg;
} bad_configs[] = {
    {"num-ports", "0", "22 reading num-ports"},
    {"num-ports", "32", "22 reading num-ports"},
    {"num-ports", "4x", "22 reading num-ports"},
    {"num-ports", "-1", "22 reading num-ports"},
    {"num-ports", NULL, "2 reading num-ports"},
    {"usb-ver", "0", "22 reading usb-ver"},
    {"usb-ver", "3", "22 reading usb-ver"},
    {"usb-ver", " 2", "22 reading usb-ver"},
    {"usb-ver", NULL, "2 reading usb-ver"},
};

START_TEST(bad_config_is_fatal)
{
	struct fx f;
	char p[128];

	fx_init(&f, 2);
	if (bad_configs[_i].val) {
		be_put(&f, bad_configs[_i].key, bad_configs[_i].val);
	} else {
		snprintf(p, sizeof(p), "%s/%s", BE, bad_configs[_i].key);
		ck_assert_int_eq(sim_xs_rm(sim_xs(f.sim), 0, 0, p), 0);
	}
	fx_start(&f);
	ck_assert_int_eq(be_state(&f), XenbusStateClosing);
	ck_assert_str_eq(
	    get(&f, "/local/domain/0/error/backend/qusb/1/0", "error"),
	    bad_configs[_i].msg);
	ck_assert_uint_eq(stats(&f).fatal_errors, 1);
	ck_assert(stats(&f).unregistered);
	ck_assert_str_eq(get(&f, BE, "hotplug-status"), "(none)");
	/* Unbound: a frontend that connects anyway gets nothing. */
	fe_rings_new(&f, 4);
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(bogus_frontend_keys_are_fatal)
{
	struct fx f;

	fx_init(&f, 3);
	fx_start(&f);
	fe_rings_new(&f, 4);
	fe_put(&f, "conn-ring-ref", "12abc");
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosing);
	ck_assert_str_eq(
	    get(&f, "/local/domain/0/error/backend/qusb/1/0", "error"),
	    "22 reading " FE " rings");
	ck_assert(!stats(&f).connected);
	/* An unmappable conn ring: the urb ring's mapping is undone. */
	fe_put(&f, "conn-ring-ref", "3000");
	fe_state(&f, XenbusStateInitialised);
	sim_run(f.sim);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	/* A port nobody allocated for us. */
	put_uint(&f, "conn-ring-ref", f.gnt[1].ref);
	fe_put(&f, "event-channel", "77");
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	ck_assert_uint_eq(stats(&f).fatal_errors, 3);
	/* A state no frontend may be in. */
	fe_state(&f, XenbusStateReconfiguring);
	sim_run(f.sim);
	ck_assert_uint_eq(stats(&f).fatal_errors, 4);
	fx_fini(&f);
}
END_TEST

/* ---- conn ring ----------------------------------------------------------- */

START_TEST(conn_events_for_plug_and_unplug)
{
	struct fx f;

	fx_init(&f, 4);
	plug(&f, 2, "1-1"); /* before the backend exists */
	fx_start(&f);
	ck_assert_uint_eq(stats(&f).attached, 1);
	fx_connect(&f);
	/* The attached port is announced at connect, with request id 0. */
	ck_assert_uint_eq(f.ncrsp, 1);
	ck_assert_uint_eq(f.crsp[0].id, 0);
	ck_assert_uint_eq(f.crsp[0].portnum, 2);
	ck_assert_uint_eq(f.crsp[0].speed, USBIF_SPEED_FULL);
	plug(&f, 3, "1-2");
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 2);
	ck_assert_uint_eq(f.crsp[1].id, 1);
	ck_assert_uint_eq(f.crsp[1].portnum, 3);
	ck_assert_uint_eq(f.crsp[1].speed, USBIF_SPEED_HIGH);
	plug(&f, 2, "");
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 3);
	ck_assert_uint_eq(f.crsp[2].portnum, 2);
	ck_assert_uint_eq(f.crsp[2].speed, USBIF_SPEED_NONE);
	/* No '-', no such device, a second id on an occupied port, the
	 * same device on two ports: ignored. */
	plug(&f, 1, "11");
	plug(&f, 2, "9-9");
	plug(&f, 3, "1-3");
	plug(&f, 4, "1-2");
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 3);
	ck_assert_uint_eq(stats(&f).plug_refused, 4);
	/* Refused values are not retried on rescans. */
	plug(&f, 3, "1-3");
	be_put(&f, "online", "1");
	sim_run(f.sim);
	ck_assert_uint_eq(stats(&f).plug_refused, 4);
	/* Re-plugged: a port reset, announced again. */
	plug(&f, 2, "1-1");
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 4);
	ck_assert_uint_eq(f.crsp[3].speed, USBIF_SPEED_FULL);
	ck_assert_uint_eq(stats(&f).plugs, 3);
	ck_assert_uint_eq(stats(&f).unplugs, 1);
	ck_assert_uint_eq(stats(&f).conn_events, 4);
	ck_assert_uint_eq(stats(&f).attached, 2);
	fx_fini(&f);
}
END_TEST

START_TEST(conn_events_wait_for_posted_requests)
{
	struct fx f;

	fx_init(&f, 5);
	fx_start(&f);
	f.repost = false;
	fx_connect_n(&f, 1);
	plug(&f, 1, "1-1");
	plug(&f, 2, "1-2");
	plug(&f, 3, "1-3");
	sim_run(f.sim);
	/* One request posted: one event out, the others wait (qusb would
	 * write unposted slots: gap I). */
	ck_assert_uint_eq(f.ncrsp, 1);
	ck_assert_uint_eq(f.crsp[0].portnum, 1);
	ck_assert_uint_eq(stats(&f).conn_queued, 2);
	ck_assert_uint_eq(f.conn.sring->rsp_prod, 1);
	/* Posting two more (ids 7 and 9) lets both out, in order. */
	fe_conn_post(&f, 7);
	fe_conn_post(&f, 9);
	fe_conn_push(&f);
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 3);
	ck_assert_uint_eq(f.crsp[1].id, 7);
	ck_assert_uint_eq(f.crsp[1].portnum, 2);
	ck_assert_uint_eq(f.crsp[2].id, 9);
	ck_assert_uint_eq(f.crsp[2].portnum, 3);
	ck_assert_uint_eq(stats(&f).conn_queued, 0);
	/* Each event carries its own speed: out, in, out while waiting. */
	plug(&f, 1, "");
	sim_run(f.sim);
	plug(&f, 1, "1-1");
	sim_run(f.sim);
	plug(&f, 1, "");
	sim_run(f.sim);
	ck_assert_uint_eq(stats(&f).conn_queued, 3);
	f.repost = true;
	fe_conn_post(&f, 1);
	fe_conn_push(&f);
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 6);
	ck_assert_uint_eq(f.crsp[3].speed, USBIF_SPEED_NONE);
	ck_assert_uint_eq(f.crsp[4].speed, USBIF_SPEED_FULL);
	ck_assert_uint_eq(f.crsp[5].speed, USBIF_SPEED_NONE);
	fx_fini(&f);
}
END_TEST

START_TEST(high_speed_refused_on_usb11)
{
	struct fx f;

	fx_init(&f, 6);
	be_put(&f, "usb-ver", "1");
	fx_start(&f);
	fx_connect(&f);
	plug(&f, 1, "1-2"); /* high speed */
	plug(&f, 2, "1-1");
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 1);
	ck_assert_uint_eq(f.crsp[0].portnum, 2);
	ck_assert_uint_eq(stats(&f).plug_refused, 1);
	ck_assert_uint_eq(stats(&f).attached, 1);
	/* Port 1 has nothing: address 0 there is -ENODEV. */
	{
		usbif_urb_request_t rq = ctrl(
		    1, 1, 0, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x100, 0, 0);
		ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_NODEV);
	}
	fx_fini(&f);
}
END_TEST

/* ---- enumeration (protocol.md 2.5) -------------------------------------- */

START_TEST(enumeration_at_address_0)
{
	struct fx f;
	struct sim_page *pg;
	const usbif_urb_response_t *r;
	usbif_urb_request_t rq;
	const uint8_t *d;
	uint64_t t0;

	fx_init(&f, 7);
	plug(&f, 1, "1-1");
	fx_start(&f);
	fx_connect(&f);
	/* GET_DESCRIPTOR to address 0 reaches the port's device: three
	 * stages of a frame each at full speed. */
	t0 = sim_now(f.sim);
	r = get_device_desc(&f, 1, 1, 0, &pg);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 18);
	ck_assert_int_eq(r->error_count, 0);
	ck_assert_uint_eq(r->start_frame, 0);
	ck_assert_uint_eq(f.rsp_ns[f.nrsp - 1], t0 + EVT + 3 * MS + LAT + EVT);
	d = sim_page_data(pg);
	ck_assert_uint_eq(d[1], SIM_USB_DT_DEVICE);
	ck_assert_uint_eq(d[8] | d[9] << 8, 0x1234); /* idVendor */
	ck_assert_uint_eq(d[18], (uint8_t)(18 * 7)); /* past actual: kept */
	/* SET_ADDRESS: wValue 200 refused (gap J), 7 taken. */
	rq = ctrl(2, 1, 0, 0x00, SIM_USB_REQ_SET_ADDRESS, 200, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_INVAL);
	rq = ctrl(3, 1, 0, 0x00, SIM_USB_REQ_SET_ADDRESS, 7, 0, 0);
	t0 = sim_now(f.sim);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_uint_eq(f.rsp_ns[f.nrsp - 1], t0 + EVT + 2 * MS + LAT + EVT);
	ck_assert_uint_eq(sim_usb_device_address(f.dev[0]), 7);
	ck_assert_int_eq(get_device_desc(&f, 4, 1, 7, &pg)->status, 0);
	/* The pipe's port does not matter once addressed. */
	ck_assert_int_eq(get_device_desc(&f, 5, 3, 7, &pg)->status, 0);
	/* Anything else to address 0: -EINVAL; a vendor bRequest 5 is
	 * not SET_ADDRESS. */
	rq = ctrl(6, 1, 0, 0x80, SIM_USB_REQ_GET_STATUS, 0, 0, 2);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_INVAL);
	rq = ctrl(7, 1, 0, 0x40, SIM_USB_REQ_SET_ADDRESS, 3, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_INVAL);
	/* No device on port 2, port 0 (gap F), past num-ports, unknown
	 * address, bulk to address 0: -ENODEV. */
	rq = ctrl(8, 2, 0, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x100, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_NODEV);
	rq = ctrl(9, 0, 0, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x100, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_NODEV);
	rq = ctrl(10, 5, 0, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x100, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_NODEV);
	rq = ctrl(11, 1, 9, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x100, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_NODEV);
	rq = bulk(12, 0, true);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_NODEV);
	/* A request the device does not know: its STALL. */
	rq = ctrl(13, 1, 7, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x4200, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_STALL);
	/* Moving the device: 7 is gone, 9 works. */
	rq = ctrl(14, 1, 7, 0x00, SIM_USB_REQ_SET_ADDRESS, 9, 0, 0);
	ck_assert_int_eq(status_of(&f, &rq), 0);
	ck_assert_int_eq(get_device_desc(&f, 15, 1, 7, &pg)->status,
			 USBIF_STATUS_NODEV);
	ck_assert_int_eq(get_device_desc(&f, 16, 1, 9, &pg)->status, 0);
	ck_assert_uint_eq(stats(&f).status[USBBACK_ST_NODEV], 6);
	ck_assert_uint_eq(stats(&f).status[USBBACK_ST_INVAL], 3);
	assert_only_rings_mapped(&f);
	fx_fini(&f);
}
END_TEST

/* xen-hcd resets ports locally: address 0 traffic to a configured device
 * gives it the reset it missed, so re-enumeration works. */
START_TEST(address_0_after_local_reset)
{
	struct fx f;
	struct sim_page *pg;
	uint64_t resets;

	fx_enumerated(&f, 8);
	ck_assert_uint_eq(sim_usb_device_config(f.dev[0]), 1);
	resets = stats(&f).port_resets;
	ck_assert_int_eq(get_device_desc(&f, 1, 1, 0, &pg)->status, 0);
	ck_assert_uint_eq(stats(&f).port_resets, resets + 1);
	ck_assert_uint_eq(sim_usb_device_config(f.dev[0]), 0);
	ck_assert_int_eq(get_device_desc(&f, 2, 1, 5, &pg)->status,
			 USBIF_STATUS_NODEV);
	enumerate(&f, 1, 6);
	ck_assert_uint_eq(stats(&f).port_resets, resets + 1);
	ck_assert_uint_eq(sim_usb_device_address(f.dev[0]), 6);
	fx_fini(&f);
}
END_TEST

/* ---- data ---------------------------------------------------------------- */

START_TEST(bulk_out_then_in_loopback)
{
	struct fx f;
	struct sim_page *out[2], *in[2];
	usbif_urb_request_t rq, rin;
	const usbif_urb_response_t *r;
	uint64_t t0;
	uint8_t *d;

	fx_enumerated(&f, 9);
	/* IN first: the FIFO is empty, the device NAKs, the host retries
	 * every frame. */
	rin = bulk(1, 5, true);
	rin.nr_buffer_segs = 2;
	in[0] = seg(&f, &rin, 0, false, 0, 4096, 0);
	in[1] = seg(&f, &rin, 1, false, 100, 4096 - 100, 0);
	fe_send(&f, &rin);
	run_for(&f, 5 * MS);
	ck_assert_uint_eq(f.nrsp, 0);
	ck_assert_uint_ge(stats(&f).naks, 4);
	/* OUT: two segments, one at an offset; 8092 bytes, 7 frames at
	 * 19 x 64 bytes each. */
	rq = bulk(2, 5, false);
	rq.nr_buffer_segs = 2;
	out[0] = seg(&f, &rq, 0, true, 96, 4000, 1);
	out[1] = seg(&f, &rq, 1, true, 0, 4092, 2);
	t0 = sim_now(f.sim);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 8092);
	ck_assert_uint_eq(f.rsp_ns[f.nrsp - 1], t0 + EVT + 7 * MS + LAT + EVT);
	/* The waiting IN gets it on its next retry. */
	r = wait_rsp(&f, 0, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 8092);
	ck_assert_mem_eq(sim_page_data(in[0]),
			 (uint8_t *)sim_page_data(out[0]) + 96, 4000);
	ck_assert_mem_eq((uint8_t *)sim_page_data(in[0]) + 4000,
			 sim_page_data(out[1]), 96);
	ck_assert_mem_eq((uint8_t *)sim_page_data(in[1]) + 100,
			 (uint8_t *)sim_page_data(out[1]) + 96, 4092 - 96);
	d = sim_page_data(in[1]);
	ck_assert_uint_eq(d[99], (uint8_t)(99 * 7)); /* outside the seg */
	ck_assert_uint_eq(stats(&f).bytes_out, 8092);
	ck_assert_uint_eq(stats(&f).bytes_in, 8092 + 18);
	assert_only_rings_mapped(&f);
	fx_fini(&f);
}
END_TEST

START_TEST(bulk_high_speed_timing)
{
	struct fx f;
	usbif_urb_request_t rq;
	const usbif_urb_response_t *r;
	uint64_t t0;

	fx_init(&f, 10);
	plug(&f, 1, "1-2");
	fx_start(&f);
	fx_connect(&f);
	enumerate(&f, 1, 3);
	/* 64 KiB: sixteen full segments (buffer_length wraps to 0, gap D),
	 * ten microframes at 13 x 512 bytes. */
	rq = bulk(1, 3, false);
	rq.nr_buffer_segs = 16;
	for (unsigned i = 0; i < 16; i++)
		seg(&f, &rq, i, true, 0, 4096, (uint8_t)i);
	t0 = sim_now(f.sim);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 65536);
	ck_assert_uint_eq(f.rsp_ns[f.nrsp - 1],
			  t0 + EVT + 10 * USBBACK_UFRAME_NS + LAT + EVT);
	ck_assert_uint_eq(f.loop[1].fifo_len, 65536);
	fx_fini(&f);
}
END_TEST

START_TEST(interrupt_in_naks_until_data)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq;
	const usbif_urb_response_t *r;
	uint64_t t1, first;

	fx_enumerated(&f, 11);
	run_for(&f, 300 * US); /* off a frame boundary */
	rq = intr_in(&f, 1, 5, &pg);
	t1 = sim_now(f.sim) + EVT; /* the backend sees it */
	first = (t1 / MS + 1) * MS;
	fe_send(&f, &rq);
	/* Polled at first, +10, +20 ms (bInterval 10 at full speed). */
	sim_run_until(f.sim, first + 25 * MS);
	ck_assert_uint_eq(f.nrsp, 0);
	ck_assert_uint_eq(stats(&f).naks, 3);
	memcpy(f.loop[0].int_data, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	f.loop[0].int_ready = true;
	r = wait_rsp(&f, 0, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 8);
	/* Taken at first + 30 ms, done at the end of that frame. */
	ck_assert_uint_eq(f.rsp_ns[0], first + 31 * MS + LAT + EVT);
	ck_assert_mem_eq(sim_page_data(pg), "\x01\x02\x03\x04\x05\x06\x07\x08",
			 8);
	ck_assert_uint_eq(stats(&f).naks, 3);
	fx_fini(&f);
}
END_TEST

START_TEST(interrupt_in_high_speed_interval)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq;
	uint64_t first;

	fx_init(&f, 12);
	plug(&f, 1, "1-2");
	fx_start(&f);
	fx_connect(&f);
	enumerate(&f, 1, 5);
	rq = intr_in(&f, 1, 5, &pg);
	first = sim_now(f.sim) + EVT;
	first = (first / USBBACK_UFRAME_NS + 1) * USBBACK_UFRAME_NS;
	fe_send(&f, &rq);
	/* bInterval 4: every 8 microframes (1 ms) from the next one. */
	sim_run_until(f.sim, first + 19 * MS);
	ck_assert_uint_eq(stats(&f).naks, 20);
	sim_run_until(f.sim, first + 20 * MS - 1);
	ck_assert_uint_eq(stats(&f).naks, 20);
	fx_fini(&f);
}
END_TEST

START_TEST(unlink_of_an_inflight_interrupt)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq, un;

	fx_enumerated(&f, 13);
	rq = intr_in(&f, 3, 5, &pg);
	fe_send(&f, &rq);
	run_for(&f, 30 * MS);
	ck_assert_uint_eq(stats(&f).in_flight, 1);
	ck_assert_uint_eq(gstats(&f).mapped, 3); /* its buffer too */
	/* xenhcd_unlink_urb: the victim's pipe with the UNLINK bit. */
	un = req_new(4, rq.pipe | USBIF_PIPE_UNLINK);
	un.u.unlink.unlink_id = 3;
	ck_assert_int_eq(status_of(&f, &un), 0);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_uint_eq(f.rsp[0].id, 3); /* the victim first */
	ck_assert_int_eq(f.rsp[0].status, USBIF_STATUS_IOERROR);
	ck_assert_int_eq(f.rsp[0].actual_length, 0);
	ck_assert_uint_eq(stats(&f).unlinked, 1);
	ck_assert_uint_eq(stats(&f).in_flight, 0);
	assert_only_rings_mapped(&f);
	/* An id nobody has: 0 all the same. Through address 0 and a
	 * port number too; port 0 there is -ENODEV. */
	un.id = 5;
	ck_assert_int_eq(status_of(&f, &un), 0);
	un = req_new(6, pipe(T_CTRL, 1, 0, 0, 0) | USBIF_PIPE_UNLINK);
	ck_assert_int_eq(status_of(&f, &un), 0);
	un = req_new(7, pipe(T_CTRL, 0, 0, 0, 0) | USBIF_PIPE_UNLINK);
	ck_assert_int_eq(status_of(&f, &un), USBIF_STATUS_NODEV);
	ck_assert_uint_eq(stats(&f).unlinks, 4);
	ck_assert_uint_eq(stats(&f).unlinked, 1);
	/* A request waiting behind another on its endpoint: only it
	 * goes; the one on the bus keeps polling. */
	rq = intr_in(&f, 8, 5, &pg);
	fe_send(&f, &rq);
	rq.id = 9;
	fe_send(&f, &rq);
	run_for(&f, 30 * MS);
	un = req_new(10, rq.pipe | USBIF_PIPE_UNLINK);
	un.u.unlink.unlink_id = 9;
	ck_assert_int_eq(status_of(&f, &un), 0);
	ck_assert_uint_eq(f.rsp[f.nrsp - 2].id, 9);
	ck_assert_int_eq(f.rsp[f.nrsp - 2].status, USBIF_STATUS_IOERROR);
	ck_assert_uint_eq(stats(&f).in_flight, 1);
	/* The endpoint still works. */
	f.loop[0].int_ready = true;
	ck_assert_int_eq(wait_rsp(&f, 0, 8)->status, 0);
	fx_fini(&f);
}
END_TEST

START_TEST(unplug_with_urbs_in_flight)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t a, b;

	fx_enumerated(&f, 14);
	f.ncrsp = 0;
	a = intr_in(&f, 1, 5, &pg);
	b = bulk(2, 5, true);
	b.nr_buffer_segs = 1;
	seg(&f, &b, 0, false, 0, 512, 0);
	fe_send(&f, &a);
	fe_send(&f, &b);
	run_for(&f, 20 * MS);
	ck_assert_uint_eq(stats(&f).in_flight, 2);
	plug(&f, 1, "");
	run_for(&f, MS);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_int_eq(f.rsp[0].status, USBIF_STATUS_IOERROR);
	ck_assert_int_eq(f.rsp[1].status, USBIF_STATUS_IOERROR);
	ck_assert_uint_eq(f.ncrsp, 1);
	ck_assert_uint_eq(f.crsp[0].portnum, 1);
	ck_assert_uint_eq(f.crsp[0].speed, USBIF_SPEED_NONE);
	ck_assert_uint_eq(stats(&f).in_flight, 0);
	assert_only_rings_mapped(&f);
	/* Its address is gone with it. */
	a.id = 3;
	ck_assert_int_eq(status_of(&f, &a), USBIF_STATUS_NODEV);
	fx_fini(&f);
}
END_TEST

/* Four 64-byte packets whose descriptors straddle two segments (24 bytes
 * at the end of one page, 40 at the start of the next). */
static usbif_urb_request_t iso_req(struct fx *f, uint16_t id, bool in,
				   struct sim_page **buf,
				   struct sim_page **desc)
{
	usbif_urb_request_t rq = req_new(id, pipe(T_ISO, 1, 5, EP_ISO, in));
	uint8_t tmp[64] = {0};

	rq.nr_buffer_segs = 1;
	*buf = seg(f, &rq, 0, !in, 0, 256, 0x40);
	rq.u.isoc.interval = 1;
	rq.u.isoc.number_of_packets = 4;
	rq.u.isoc.nr_frame_desc_segs = 2;
	desc[0] = seg(f, &rq, 1, false, 4096 - 24, 24, 0);
	desc[1] = seg(f, &rq, 2, false, 0, 40, 0);
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t d[4] = {i * 64, 64, 0xdead, 0xbeef};

		memcpy(tmp + i * 16, d, sizeof(d));
	}
	memcpy((uint8_t *)sim_page_data(desc[0]) + 4096 - 24, tmp, 24);
	memcpy(sim_page_data(desc[1]), tmp + 24, 40);
	return rq;
}

/* Descriptor i's actual_length and status, across the two pages. */
static void iso_result(struct sim_page **desc, unsigned i, int32_t *actual,
		       int32_t *status)
{
	uint8_t tmp[64];
	int32_t d[4];

	memcpy(tmp, (uint8_t *)sim_page_data(desc[0]) + 4096 - 24, 24);
	memcpy(tmp + 24, sim_page_data(desc[1]), 40);
	memcpy(d, tmp + i * 16, sizeof(d));
	*actual = d[2];
	*status = d[3];
}

START_TEST(iso_in_and_out)
{
	struct fx f;
	struct sim_page *buf, *desc[2];
	usbif_urb_request_t rq;
	const usbif_urb_response_t *r;
	uint64_t t1, first;
	int32_t actual, status;
	const uint8_t *d;

	fx_enumerated(&f, 15);
	run_for(&f, 400 * US);
	rq = iso_req(&f, 1, true, &buf, desc);
	t1 = sim_now(f.sim) + EVT;
	first = (t1 / MS + 1) * MS;
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 64 + 32 + 64 + 64);
	ck_assert_int_eq(r->error_count, 0);
	ck_assert_uint_eq(r->start_frame, (first / MS) & 0x7ff);
	/* One packet per frame (bInterval 1 at full speed). */
	ck_assert_uint_eq(f.rsp_ns[0], first + 4 * MS + LAT + EVT);
	for (unsigned i = 0; i < 4; i++) {
		iso_result(desc, i, &actual, &status);
		ck_assert_int_eq(actual, i == 1 ? 32 : 64);
		ck_assert_int_eq(status, 0);
	}
	d = sim_page_data(buf);
	ck_assert_uint_eq(d[0], 0);
	ck_assert_uint_eq(d[63], 63);
	ck_assert_uint_eq(d[64 + 31], 16 + 31);
	ck_assert_uint_eq(d[64 + 32], (uint8_t)(0x40 + 96 * 7)); /* short */
	ck_assert_uint_eq(d[3 * 64 + 5], 48 + 5);
	/* OUT: the device takes every packet's bytes. */
	rq = iso_req(&f, 2, false, &buf, desc);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 256);
	ck_assert_uint_eq(f.loop[0].iso_out_len, 256);
	ck_assert_mem_eq(f.loop[0].iso_out, sim_page_data(buf), 256);
	iso_result(desc, 3, &actual, &status);
	ck_assert_int_eq(actual, 64);
	ck_assert_uint_eq(stats(&f).iso_packets, 8);
	ck_assert_uint_eq(stats(&f).bytes_out, 256);
	assert_only_rings_mapped(&f);
	fx_fini(&f);
}
END_TEST

START_TEST(iso_bad_requests)
{
	struct fx f;
	struct sim_page *buf, *desc[2];
	usbif_urb_request_t rq;
	uint32_t bad[2] = {200, 64};
	uint16_t id = 0;

	fx_enumerated(&f, 16);
	/* No packets; no descriptor segment; descriptors past the
	 * segments; a packet past the buffer; a read-only descriptor
	 * page; 15 buffer + 2 descriptor segments. */
	rq = iso_req(&f, id++, true, &buf, desc);
	rq.u.isoc.number_of_packets = 0;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq = iso_req(&f, id++, true, &buf, desc);
	rq.u.isoc.nr_frame_desc_segs = 0;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq = iso_req(&f, id++, true, &buf, desc);
	rq.u.isoc.number_of_packets = 5;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq = iso_req(&f, id++, true, &buf, desc);
	/* descriptor 2 starts 8 bytes into the second page */
	memcpy((uint8_t *)sim_page_data(desc[1]) + 8, bad, 8);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq = iso_req(&f, id++, true, &buf, desc);
	rq.seg[2].gref = data_page(&f, &buf, true, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq = iso_req(&f, id++, true, &buf, desc);
	rq.nr_buffer_segs = 15;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	ck_assert_uint_eq(stats(&f).status[USBBACK_ST_SHUTDOWN], id);
	assert_only_rings_mapped(&f);
	fx_fini(&f);
}
END_TEST

START_TEST(bad_segments_are_shutdown)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq;
	uint32_t ro;
	uint16_t id = 0;

	fx_enumerated(&f, 17);
	ro = data_page(&f, &pg, true, 0);
	/* 17 segments. */
	rq = bulk(id++, 5, false);
	rq.nr_buffer_segs = 17;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	/* offset + length past the page, offset alone past it. */
	rq = bulk(id++, 5, false);
	rq.nr_buffer_segs = 1;
	seg(&f, &rq, 0, true, 4000, 97, 0);
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq.id = id++;
	rq.seg[0].offset = 4097;
	rq.seg[0].length = 0;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	/* Never granted; read-only for an IN pipe; the second of two. */
	rq = bulk(id++, 5, true);
	rq.nr_buffer_segs = 1;
	rq.seg[0].gref = 4000;
	rq.seg[0].length = 64;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq.id = id++;
	rq.seg[0].gref = ro;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	rq = bulk(id++, 5, true);
	rq.nr_buffer_segs = 2;
	seg(&f, &rq, 0, false, 0, 64, 0);
	rq.seg[1].gref = ro;
	rq.seg[1].length = 64;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_SHUTDOWN);
	ck_assert_uint_eq(stats(&f).status[USBBACK_ST_SHUTDOWN], id);
	assert_only_rings_mapped(&f);
	/* The read-only page serves an OUT pipe. */
	rq = bulk(id, 5, false);
	rq.nr_buffer_segs = 1;
	rq.seg[0].gref = ro;
	rq.seg[0].length = 64;
	ck_assert_int_eq(status_of(&f, &rq), 0);
	fx_fini(&f);
}
END_TEST

START_TEST(clear_halt_after_stall)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq;
	uint8_t *d;

	fx_enumerated(&f, 18);
	rq = bulk(1, 5, false);
	rq.nr_buffer_segs = 1;
	pg = seg(&f, &rq, 0, true, 0, 64, 0);
	d = sim_page_data(pg);
	d[0] = HALT_ME;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_STALL);
	ck_assert(sim_usb_device_halted(f.dev[0], EP_BULK, false));
	d[0] = 0;
	rq.id = 2;
	ck_assert_int_eq(status_of(&f, &rq), USBIF_STATUS_STALL);
	ck_assert_int_eq(cmd(&f, &rq)->actual_length, 0);
	/* CLEAR_FEATURE(ENDPOINT_HALT) on endpoint 0x01. */
	rq = ctrl(3, 1, 5, 0x02, SIM_USB_REQ_CLEAR_FEATURE,
		  SIM_USB_FEATURE_ENDPOINT_HALT, EP_BULK, 0);
	ck_assert_int_eq(status_of(&f, &rq), 0);
	ck_assert(!sim_usb_device_halted(f.dev[0], EP_BULK, false));
	rq = bulk(4, 5, false);
	rq.nr_buffer_segs = 1;
	seg(&f, &rq, 0, true, 0, 64, 0);
	ck_assert_int_eq(status_of(&f, &rq), 0);
	ck_assert_uint_eq(stats(&f).status[USBBACK_ST_STALL], 3);
	fx_fini(&f);
}
END_TEST

/* ---- hostile rings ------------------------------------------------------- */

START_TEST(req_prod_overflow_halts_the_ring)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq;

	fx_enumerated(&f, 19);
	rq = intr_in(&f, 1, 5, &pg);
	fe_send(&f, &rq);
	run_for(&f, 5 * MS);
	f.urb.sring->req_prod += RING_SIZE(&f.urb) + 1;
	sim_evtchn_send(f.guest, f.port);
	run_for(&f, MS);
	ck_assert(stats(&f).ring_halted);
	ck_assert_uint_eq(stats(&f).requests, 4); /* enumeration + 1 */
	/* Halted for good: no EOI, so nothing more is looked at, and no
	 * conn event goes out; the request in flight still completes. */
	plug(&f, 2, "1-3");
	f.loop[0].int_ready = true;
	run_for(&f, 30 * MS);
	ck_assert_uint_eq(stats(&f).requests, 4);
	ck_assert_uint_eq(f.nrsp, 1);
	ck_assert_int_eq(f.rsp[0].status, 0);
	ck_assert_uint_eq(stats(&f).conn_events, 1);
	fx_fini(&f);
}
END_TEST

START_TEST(conn_req_prod_overflow_halts)
{
	struct fx f;

	fx_ready(&f, 20);
	f.conn.sring->req_prod += 1;
	sim_evtchn_send(f.guest, f.port);
	sim_run(f.sim);
	ck_assert(stats(&f).ring_halted);
	fx_fini(&f);
}
END_TEST

/* ---- teardown and resume ------------------------------------------------- */

START_TEST(closing_answers_in_flight)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t a, b;
	struct sim_evtchn_stats es;

	fx_enumerated(&f, 21);
	a = intr_in(&f, 1, 5, &pg);
	b = bulk(2, 5, true);
	b.nr_buffer_segs = 1;
	seg(&f, &b, 0, false, 0, 512, 0);
	fe_send(&f, &a);
	fe_send(&f, &b);
	run_for(&f, 20 * MS);
	ck_assert_uint_eq(stats(&f).in_flight, 2);
	fe_state(&f, XenbusStateClosing);
	run_for(&f, MS);
	fe_urb_responses(&f); /* written before the port closed */
	ck_assert_int_eq(be_state(&f), XenbusStateClosing);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_int_eq(f.rsp[0].status, USBIF_STATUS_SHUTDOWN);
	ck_assert_int_eq(f.rsp[1].status, USBIF_STATUS_SHUTDOWN);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	sim_evtchn_stats(f.dom0, &es);
	ck_assert_uint_eq(es.open, 0);
	fe_state(&f, XenbusStateClosed);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosed);
	ck_assert(!stats(&f).unregistered); /* online = 1 */
	/* Removal: online 0, then Closed again. */
	be_put(&f, "online", "0");
	fe_state(&f, XenbusStateClosing);
	sim_run(f.sim);
	fe_state(&f, XenbusStateClosed);
	sim_run(f.sim);
	ck_assert(stats(&f).unregistered);
	fx_fini(&f);
}
END_TEST

START_TEST(backend_dir_removed_unregisters)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t a;

	fx_enumerated(&f, 24);
	a = intr_in(&f, 1, 5, &pg);
	fe_send(&f, &a);
	run_for(&f, 5 * MS);
	ck_assert_int_eq(sim_xs_rm(sim_xs(f.sim), 0, 0, BE), 0);
	run_for(&f, MS);
	ck_assert(stats(&f).unregistered);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(stats(&f).attached, 0);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	/* Never re-created by a state write. */
	ck_assert_str_eq(get(&f, BE, "state"), "(none)");
	fx_fini(&f);
}
END_TEST

START_TEST(destroy_with_requests_in_flight)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t a;
	struct sim_gnttab_stats gs;

	fx_enumerated(&f, 22);
	a = intr_in(&f, 1, 5, &pg);
	fe_send(&f, &a);
	run_for(&f, 20 * MS);
	ck_assert_uint_eq(stats(&f).in_flight, 1);
	gs = gstats(&f);
	ck_assert_uint_eq(gs.mapped, 3);
	/* fx_fini destroys it first and checks every grant ends. */
	fx_fini(&f);
}
END_TEST

START_TEST(resume_reconnects_to_new_rings)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t a;

	fx_enumerated(&f, 23);
	a = intr_in(&f, 1, 5, &pg);
	fe_send(&f, &a);
	run_for(&f, 20 * MS);
	/* A restored frontend: new rings and port, straight to 4. */
	f.ncrsp = 0;
	fe_rings_new(&f, USB_CONN_RING_SIZE);
	fe_state(&f, XenbusStateConnected);
	run_for(&f, MS);
	ck_assert_int_eq(be_state(&f), XenbusStateConnected);
	ck_assert_uint_eq(stats(&f).connects, 2);
	ck_assert_uint_eq(f.nrsp, 0); /* dropped with the old ring */
	ck_assert_uint_eq(stats(&f).in_flight, 0);
	assert_only_rings_mapped(&f); /* the new ones; old and data gone */
	/* The attached device is announced again and starts afresh. */
	ck_assert_uint_eq(f.ncrsp, 1);
	ck_assert_uint_eq(f.crsp[0].portnum, 1);
	ck_assert_uint_eq(sim_usb_device_address(f.dev[0]), 0);
	ck_assert_int_eq(get_device_desc(&f, 1, 1, 5, &pg)->status,
			 USBIF_STATUS_NODEV);
	enumerate(&f, 1, 5);
	fx_fini(&f);
}
END_TEST

/* ---- robustness ---------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint32_t rnd_pipe(uint64_t *s)
{
	static const unsigned addrs[] = {0, 5, 5, 5, 6, 127};
	static const unsigned eps[] = {0, 1, 1, 3, 4, 15};
	unsigned port = rnd(s) % 4 ? 1 + rnd(s) % 2 : rnd(s) % 6;
	uint32_t p = pipe((unsigned)(rnd(s) % 4), port, addrs[rnd(s) % 6],
			  eps[rnd(s) % 6], rnd(s) & 1);

	return rnd(s) % 16 ? p : p | USBIF_PIPE_UNLINK;
}

/* Random requests: pipes near the devices, random setup packets, flags
 * and segments pointing at a few real grants. No assertion, nothing
 * leaked, the same trace twice. */
static uint64_t random_run(uint64_t seed)
{
	struct fx f;
	uint32_t refs[4];
	struct sim_page *pg;
	uint64_t s = seed * 2654435761u + 1, hash;

	fx_enumerated(&f, seed);
	plug(&f, 2, "1-2");
	run_for(&f, MS);
	for (int i = 0; i < 4; i++)
		refs[i] = data_page(&f, &pg, i & 1, (uint8_t)i);
	for (int n = 0; n < 400; n++) {
		usbif_urb_request_t rq;
		uint8_t *b = (uint8_t *)&rq;

		for (size_t k = 0; k < sizeof(rq); k++)
			b[k] = (uint8_t)rnd(&s);
		rq.pipe = rnd_pipe(&s);
		rq.u.ctrl[1] %= 16; /* bRequest: mostly standard ones */
		rq.u.unlink.unlink_id %= 32;
		rq.id %= 32;
		rq.nr_buffer_segs %= 5;
		rq.u.isoc.nr_frame_desc_segs %= 3;
		for (int k = 0; k < 16; k++) {
			rq.seg[k].gref = refs[rnd(&s) % 4];
			rq.seg[k].offset %= 4200;
			rq.seg[k].length %= 4200;
		}
		if (RING_FULL(&f.urb))
			run_for(&f, 50 * MS);
		if (!RING_FULL(&f.urb))
			fe_send(&f, &rq);
		if (rnd(&s) % 8 == 0)
			run_for(&f, rnd(&s) % (5 * MS));
		if (rnd(&s) % 64 == 0)
			f.loop[rnd(&s) % NDEV].int_ready = true;
	}
	run_for(&f, 100 * MS);
	ck_assert(!f.overflow_seen);
	ck_assert_uint_eq(stats(&f).requests,
			  stats(&f).responses + stats(&f).in_flight);
	hash = sim_trace_hash(f.sim);
	fx_fini(&f);
	return hash;
}

START_TEST(random_requests_never_break_it)
{
	ck_assert_uint_eq(random_run(100 + (uint64_t)_i),
			  random_run(100 + (uint64_t)_i));
}
END_TEST

/* ---- injected misbehaviour (usbback.h "Misbehaviour") -------------------- */

#define BIT(c) (1ull << (c))

static void arm(struct fx *f, enum sim_fault c, uint64_t nth)
{
	sim_fault_countdown(sim_faults(f->sim), c, nth, false);
}

/* fx_fini for a test that provoked n violations on purpose. */
static void fx_fini_expect(struct fx *f, uint64_t n)
{
	usbback_destroy(f->ub);
	for (unsigned i = 0; i < f->ngnt; i++) {
		ck_assert_int_eq(sim_gnttab_try_end(f->guest, f->gnt[i].ref),
				 0);
		sim_page_free(f->gnt[i].pg);
	}
	for (unsigned i = 0; i < f->nports; i++)
		sim_evtchn_close(f->guest, f->ports[i]);
	sim_domain_audit(f->guest, "test end");
	sim_domain_audit(f->dom0, "test end");
	ck_assert_uint_eq(sim_violations_total(f->sim), n);
	sim_destroy(f->sim);
	for (int i = 0; i < NDEV; i++)
		sim_usb_device_free(f->dev[i]);
}

/* Each backend class in mask was injected once, no other. */
static void assert_misbehaved(struct fx *f, uint64_t mask)
{
	struct usbback_stats st = stats(f);

	for (int c = SIM_FAULT_BE_FIRST; c < SIM_FAULT__COUNT; c++)
		ck_assert_msg(st.misbehaved[c] == (mask >> c & 1),
			      "%s injected %llu times", sim_fault_name(c),
			      (unsigned long long)st.misbehaved[c]);
}

static bool status_known(int32_t s)
{
	switch (s) {
	case USBIF_STATUS_OK:
	case USBIF_STATUS_NODEV:
	case USBIF_STATUS_INVAL:
	case USBIF_STATUS_STALL:
	case USBIF_STATUS_IOERROR:
	case USBIF_STATUS_BABBLE:
	case USBIF_STATUS_SHUTDOWN:
		return true;
	}
	return false;
}

/* 64 bytes OUT to the enumerated device: answered 0, 64, a frame on. */
static usbif_urb_request_t bulk_out64(struct fx *f, uint16_t id)
{
	usbif_urb_request_t rq = bulk(id, 5, false);

	rq.nr_buffer_segs = 1;
	seg(f, &rq, 0, true, 0, 64, (uint8_t)id);
	return rq;
}

/* A decider that misbehaves with the classes in `classes` and draws
 * `value` wherever that is in range (else 0). */
struct pick {
	uint64_t classes; /* bit per enum sim_fault */
	uint64_t value;
};

static bool pick_hit(void *arg, enum sim_fault f)
{
	return ((struct pick *)arg)->classes >> f & 1;
}

static uint64_t pick_draw(void *arg, uint64_t bound)
{
	uint64_t v = ((struct pick *)arg)->value;

	return v < bound ? v : 0;
}

static bool slot_rest_zero(struct fx *f, RING_IDX idx)
{
	const uint8_t *b = (const uint8_t *)RING_GET_RESPONSE(&f->urb, idx);

	for (size_t i = sizeof(usbif_urb_response_t);
	     i < sizeof(union usbif_urb_sring_entry); i++)
		if (b[i])
			return false;
	return true;
}

START_TEST(inject_response_contents)
{
	struct fx f;
	usbif_urb_request_t rq;
	const usbif_urb_response_t *r;
	RING_IDX idx;

	fx_enumerated(&f, 40);
	/* be-bad-id: a -ENODEV answer (address 9) under an id past the
	 * ring that no request carries; the rest of it is right. */
	arm(&f, SIM_FAULT_BE_BAD_ID, 1);
	rq = bulk(1, 9, true);
	fe_send(&f, &rq);
	run_for(&f, MS);
	ck_assert_uint_eq(f.nrsp, 1);
	ck_assert_uint_ge(f.rsp[0].id, USB_URB_RING_SIZE);
	ck_assert_int_eq(f.rsp[0].status, USBIF_STATUS_NODEV);
	ck_assert_int_eq(f.rsp[0].actual_length, 0);
	/* be-usb-actual: 64 bytes went out, the answer says < 0 or > 64. */
	arm(&f, SIM_FAULT_BE_USB_ACTUAL, 1);
	rq = bulk_out64(&f, 2);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_msg(r->actual_length < 0 || r->actual_length > 64,
		      "actual_length %d", r->actual_length);
	ck_assert_uint_eq(f.loop[0].fifo_len, 64);
	/* be-usb-status: done, answered with a status usbif lacks. */
	arm(&f, SIM_FAULT_BE_USB_STATUS, 1);
	rq = bulk_out64(&f, 3);
	r = cmd(&f, &rq);
	ck_assert_msg(!status_known(r->status), "status %d", r->status);
	ck_assert_int_eq(r->actual_length, 64);
	ck_assert_uint_eq(f.loop[0].fifo_len, 128);
	/* be-garbage: start_frame and error_count on a bulk answer, random
	 * bytes over the slot's rest; the real fields stay right. */
	idx = f.urb.rsp_cons - 1;
	ck_assert(slot_rest_zero(&f, idx)); /* an honest slot: zeroed */
	arm(&f, SIM_FAULT_BE_GARBAGE, 1);
	rq = bulk_out64(&f, 4);
	r = cmd(&f, &rq);
	ck_assert_uint_eq(r->id, 4);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 64);
	ck_assert_uint_ne(r->start_frame, 0);
	ck_assert_int_ne(r->error_count, 0);
	ck_assert(!slot_rest_zero(&f, idx + 1));
	assert_misbehaved(
	    &f, BIT(SIM_FAULT_BE_BAD_ID) | BIT(SIM_FAULT_BE_USB_ACTUAL) |
		    BIT(SIM_FAULT_BE_USB_STATUS) | BIT(SIM_FAULT_BE_GARBAGE));
	assert_only_rings_mapped(&f);
	fx_fini(&f);
}
END_TEST

/* Misbehaviour #4 must stay detectable: a bad id never names a request
 * the frontend may still wait for: dropped (be-no-answer), in flight,
 * published and not taken in yet, answered under a bad id, or the
 * response's own. */
START_TEST(inject_bad_id_names_no_awaited_request)
{
	struct pick p = {0, 0};
	struct sim_fault_decider d = {pick_hit, pick_draw, &p};
	struct sim_page *pg;
	usbif_urb_request_t rq, b;
	struct fx f;

	fx_init(&f, 41);
	f.cfg.decider = &d;
	plug(&f, 1, "1-1");
	fx_start(&f);
	fx_connect(&f);
	enumerate(&f, 1, 5);
	f.nrsp = 0;
	p.classes = BIT(SIM_FAULT_BE_NO_ANSWER);
	rq = bulk_out64(&f, 100);
	fe_send(&f, &rq);
	run_for(&f, 5 * MS);
	ck_assert_uint_eq(f.nrsp, 0);
	p.classes = 0;
	rq = intr_in(&f, 101, 5, &pg); /* NAKs: stays in flight */
	fe_send(&f, &rq);
	run_for(&f, 5 * MS);
	ck_assert_uint_eq(stats(&f).in_flight, 1);
	/* 102 and 103 published together, both refused at once: 102's
	 * answer draws 100, then skips 100 (dropped), 101 (in flight),
	 * 102 (its own), 103 (not taken in yet). */
	p.classes = BIT(SIM_FAULT_BE_BAD_ID);
	p.value = 100 - USB_URB_RING_SIZE;
	rq = bulk(102, 9, true);
	b = bulk(103, 9, true);
	fe_send(&f, &rq);
	fe_send(&f, &b);
	run_for(&f, 5 * MS);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_uint_eq(f.rsp[0].id, 104);
	/* 103's: 102 is still awaited (its answer came as 104). */
	ck_assert_uint_eq(f.rsp[1].id, 104);
	ck_assert_uint_eq(stats(&f).misbehaved[SIM_FAULT_BE_BAD_ID], 2);
	fx_fini(&f);
}
END_TEST

/* One fixture each: after an extra response the model's rsp_prod_pvt is
 * ahead of req_cons and it takes nothing more in. */
START_TEST(inject_extra_responses)
{
	struct fx f;
	usbif_urb_request_t rq;

	fx_enumerated(&f, 42);
	arm(&f, SIM_FAULT_BE_DUP_RSP, 1);
	rq = bulk_out64(&f, 1);
	cmd(&f, &rq);
	run_for(&f, MS);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_mem_eq(&f.rsp[0], &f.rsp[1], sizeof(f.rsp[0]));
	ck_assert_uint_eq(stats(&f).responses - stats(&f).requests, 1);
	rq = bulk_out64(&f, 2);
	fe_send(&f, &rq);
	run_for(&f, 10 * MS);
	ck_assert_uint_eq(f.nrsp, 2);
	ck_assert_uint_eq(stats(&f).requests, 4); /* enumeration + 1 */
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_DUP_RSP));
	fx_fini(&f);
	/* An answer for id 1, answered before and awaited by nobody. */
	fx_enumerated(&f, 42);
	rq = bulk_out64(&f, 1);
	cmd(&f, &rq);
	arm(&f, SIM_FAULT_BE_STALE_ID, 1);
	rq = bulk_out64(&f, 2);
	cmd(&f, &rq);
	run_for(&f, MS);
	ck_assert_uint_eq(f.nrsp, 3);
	ck_assert_uint_eq(f.rsp[1].id, 2);
	ck_assert_uint_eq(f.rsp[2].id, 1);
	ck_assert_int_eq(f.rsp[2].status, 0);
	ck_assert_int_eq(f.rsp[2].actual_length, 0);
	ck_assert_uint_eq(stats(&f).responses - stats(&f).requests, 1);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_STALE_ID));
	fx_fini(&f);
}
END_TEST

START_TEST(inject_rsp_prod_overflow)
{
	struct fx f;
	usbif_urb_request_t rq;
	RING_IDX prod;

	fx_enumerated(&f, 43);
	arm(&f, SIM_FAULT_BE_RSP_OVERFLOW, 1);
	rq = bulk_out64(&f, 1);
	fe_send(&f, &rq);
	run_for(&f, 10 * MS);
	ck_assert(f.overflow_seen);
	ck_assert_uint_eq(f.nrsp, 0);
	prod = f.urb.sring->rsp_prod;
	ck_assert_uint_gt(prod - f.urb.rsp_cons, RING_SIZE(&f.urb));
	/* It keeps lying: the next answer moves rsp_prod by one. */
	rq = bulk_out64(&f, 2);
	fe_send(&f, &rq);
	run_for(&f, 10 * MS);
	ck_assert_uint_eq(f.urb.sring->rsp_prod, prod + 1);
	ck_assert_uint_eq(stats(&f).responses, 5);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_RSP_OVERFLOW));
	fx_fini(&f);
}
END_TEST

START_TEST(inject_slot_rewrites)
{
	struct fx f;
	usbif_urb_request_t rq;
	usbif_urb_response_t *rslot;
	const usbif_urb_response_t *r;
	RING_IDX idx;

	fx_enumerated(&f, 44);
	/* Request slot scribbled right after the copy (the answer, a frame
	 * later, takes the slot over). */
	arm(&f, SIM_FAULT_BE_REQ_REWRITE, 1);
	idx = f.urb.req_prod_pvt;
	rq = bulk_out64(&f, 1);
	fe_send(&f, &rq);
	run_for(&f, 10 * US);
	ck_assert_uint_eq(stats(&f).in_flight, 1);
	ck_assert(memcmp(RING_GET_REQUEST(&f.urb, idx), &rq, sizeof(rq)) != 0);
	r = wait_rsp(&f, 0, 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->status, 0); /* the copy was used */
	ck_assert_int_eq(r->actual_length, 64);
	ck_assert_uint_eq(f.loop[0].fifo_len, 64);
	/* Response slot rewritten after publication, not republished: a
	 * frontend reading it twice is a double fetch. */
	arm(&f, SIM_FAULT_BE_RSP_REWRITE, 1);
	idx = f.urb.rsp_cons;
	rq = bulk_out64(&f, 2);
	fe_send(&f, &rq);
	for (uint64_t before = stats(&f).responses;
	     stats(&f).responses == before;)
		ck_assert(sim_step(f.sim)); /* up to the publication */
	rslot = RING_GET_RESPONSE(&f.urb, idx);
	ck_assert_uint_eq(rslot->id, 2);
	ck_assert_int_eq(rslot->status, 0);
	sim_shm_fetch(f.sim, rslot, sizeof(*rslot));
	run_for(&f, MS);
	ck_assert_uint_ne(rslot->id, 2);
	ck_assert_int_ne(rslot->status, 0);
	sim_shm_fetch(f.sim, rslot, sizeof(*rslot));
	ck_assert_uint_eq(sim_shm_double_fetches(f.sim), 1);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_REQ_REWRITE) |
				  BIT(SIM_FAULT_BE_RSP_REWRITE));
	fx_fini_expect(&f, 1); /* the double fetch */
}
END_TEST

START_TEST(inject_no_answer_and_hold_grant)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq, un;

	fx_enumerated(&f, 45);
	/* Dropped at intake: never reaches the device, never answered,
	 * nothing of it mapped. */
	arm(&f, SIM_FAULT_BE_NO_ANSWER, 1);
	rq = bulk_out64(&f, 1);
	fe_send(&f, &rq);
	run_for(&f, 10 * MS);
	ck_assert_uint_eq(f.nrsp, 0);
	ck_assert_uint_eq(stats(&f).requests, 4);
	ck_assert_uint_eq(stats(&f).in_flight, 0);
	ck_assert_uint_eq(f.loop[0].fifo_len, 0);
	assert_only_rings_mapped(&f);
	/* Unlinking it finds nothing: 0 all the same. */
	un = req_new(2, rq.pipe | USBIF_PIPE_UNLINK);
	un.u.unlink.unlink_id = 1;
	ck_assert_int_eq(status_of(&f, &un), 0);
	ck_assert_uint_eq(stats(&f).unlinked, 0);
	/* be-hold-grant on a completion: the buffer stays mapped. */
	arm(&f, SIM_FAULT_BE_HOLD_GRANT, 1);
	rq = bulk_out64(&f, 3);
	ck_assert_int_eq(status_of(&f, &rq), 0);
	ck_assert_int_eq(sim_gnttab_try_end(f.guest, rq.seg[0].gref), -EBUSY);
	ck_assert_uint_eq(gstats(&f).mapped, 3);
	/* ... and on a cancellation (unlink). */
	arm(&f, SIM_FAULT_BE_HOLD_GRANT, 1);
	rq = intr_in(&f, 4, 5, &pg);
	fe_send(&f, &rq);
	run_for(&f, 20 * MS);
	un = req_new(5, rq.pipe | USBIF_PIPE_UNLINK);
	un.u.unlink.unlink_id = 4;
	ck_assert_int_eq(status_of(&f, &un), 0);
	ck_assert_int_eq(wait_rsp(&f, 0, 4)->status, USBIF_STATUS_IOERROR);
	ck_assert_uint_eq(gstats(&f).mapped, 4);
	ck_assert_uint_eq(stats(&f).held_maps, 2);
	ck_assert_uint_eq(stats(&f).misbehaved[SIM_FAULT_BE_HOLD_GRANT], 2);
	ck_assert_uint_eq(stats(&f).misbehaved[SIM_FAULT_BE_NO_ANSWER], 1);
	/* Destroy lets go: fx_fini ends every grant. */
	fx_fini(&f);
}
END_TEST

/* Both ring pages (draw 0), the urb ring's (1), the conn ring's (2); 3:
 * the fault plan's countdown, the random stream choosing. */
START_TEST(inject_hold_ring)
{
	struct pick p = {BIT(SIM_FAULT_BE_HOLD_RING), (uint64_t)_i};
	struct sim_fault_decider d = {pick_hit, pick_draw, &p};
	uint32_t urb_ref, conn_ref;
	unsigned held;
	struct fx f;

	fx_init(&f, 46 + (uint64_t)_i);
	if (_i < 3)
		f.cfg.decider = &d;
	fx_start(&f);
	fx_connect(&f);
	urb_ref = f.gnt[0].ref;
	conn_ref = f.gnt[1].ref;
	if (_i == 3)
		arm(&f, SIM_FAULT_BE_HOLD_RING, 1);
	fe_state(&f, XenbusStateClosing);
	sim_run(f.sim);
	ck_assert_int_eq(be_state(&f), XenbusStateClosing);
	ck_assert(!stats(&f).connected);
	held = gstats(&f).mapped;
	ck_assert_uint_eq(stats(&f).held_maps, held);
	ck_assert_uint_eq(stats(&f).misbehaved[SIM_FAULT_BE_HOLD_RING], 1);
	if (_i == 3) {
		ck_assert(held == 1 || held == 2);
	} else {
		ck_assert_uint_eq(held, _i == 0 ? 2 : 1);
		/* try-end only what is held: the others would end. */
		if (_i != 2)
			ck_assert_int_eq(sim_gnttab_try_end(f.guest, urb_ref),
					 -EBUSY);
		if (_i != 1)
			ck_assert_int_eq(sim_gnttab_try_end(f.guest, conn_ref),
					 -EBUSY);
	}
	fx_fini(&f); /* destroy lets go of them */
}
END_TEST

START_TEST(inject_iso_packets)
{
	struct fx f;
	struct sim_page *buf, *desc[2];
	usbif_urb_request_t rq;
	const usbif_urb_response_t *r;
	int32_t actual, status;

	fx_enumerated(&f, 47);
	run_for(&f, 400 * US);
	/* The first consultation is packet 0's descriptor. */
	arm(&f, SIM_FAULT_BE_USB_ACTUAL, 1);
	rq = iso_req(&f, 1, true, &buf, desc);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->actual_length, 64 + 32 + 64 + 64); /* real */
	iso_result(desc, 0, &actual, &status);
	ck_assert_msg(actual < 0 || actual > 64, "actual %d", actual);
	ck_assert_int_eq(status, 0);
	iso_result(desc, 1, &actual, &status);
	ck_assert_int_eq(actual, 32);
	/* The second is packet 1's. */
	arm(&f, SIM_FAULT_BE_USB_STATUS, 2);
	rq = iso_req(&f, 2, true, &buf, desc);
	r = cmd(&f, &rq);
	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(r->error_count, 0);
	iso_result(desc, 0, &actual, &status);
	ck_assert_int_eq(status, 0);
	iso_result(desc, 1, &actual, &status);
	ck_assert_msg(!status_known(status), "status %d", status);
	ck_assert_int_eq(actual, 32);
	iso_result(desc, 2, &actual, &status);
	ck_assert_int_eq(status, 0);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_USB_ACTUAL) |
				  BIT(SIM_FAULT_BE_USB_STATUS));
	fx_fini(&f);
}
END_TEST

/* Port 0 (draw 0), num-ports + 2 (1), speed 6 (2); 3: the countdown. */
START_TEST(inject_conn_bad)
{
	struct pick p = {BIT(SIM_FAULT_BE_CONN_BAD), (uint64_t)_i};
	struct sim_fault_decider d = {pick_hit, pick_draw, &p};
	usbif_conn_response_t c;
	struct fx f;

	fx_init(&f, 50 + (uint64_t)_i);
	if (_i < 3)
		f.cfg.decider = &d;
	fx_start(&f);
	fx_connect(&f);
	if (_i == 3)
		arm(&f, SIM_FAULT_BE_CONN_BAD, 1);
	plug(&f, 2, "1-1");
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 1);
	c = f.crsp[0];
	ck_assert_uint_eq(c.id, 0);
	switch (_i) {
	case 0:
		ck_assert_uint_eq(c.portnum, 0);
		ck_assert_uint_eq(c.speed, USBIF_SPEED_FULL);
		break;
	case 1:
		ck_assert_uint_eq(c.portnum, NPORTS + 2);
		ck_assert_uint_eq(c.speed, USBIF_SPEED_FULL);
		break;
	case 2:
		ck_assert_uint_eq(c.portnum, 2);
		ck_assert_uint_eq(c.speed, 6);
		break;
	default:
		ck_assert_msg((c.portnum == 0 || c.portnum > NPORTS) !=
				  (c.speed > USBIF_SPEED_HIGH),
			      "port %u speed %u", c.portnum, c.speed);
		ck_assert(c.portnum == 2 || c.speed == USBIF_SPEED_FULL);
		break;
	}
	/* The next event is right. */
	p.classes = 0;
	plug(&f, 2, "");
	sim_run(f.sim);
	ck_assert_uint_eq(f.ncrsp, 2);
	ck_assert_uint_eq(f.crsp[1].portnum, 2);
	ck_assert_uint_eq(f.crsp[1].speed, USBIF_SPEED_NONE);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_CONN_BAD));
	fx_fini(&f);
}
END_TEST

START_TEST(inject_conn_overflow)
{
	struct fx f;
	RING_IDX prod;

	fx_ready(&f, 54);
	arm(&f, SIM_FAULT_BE_CONN_OVERFLOW, 1);
	plug(&f, 1, "1-1");
	sim_run(f.sim);
	ck_assert(f.overflow_seen);
	ck_assert_uint_eq(f.ncrsp, 0);
	prod = f.conn.sring->rsp_prod;
	ck_assert_uint_gt(prod - f.conn.rsp_cons, RING_SIZE(&f.conn));
	/* It keeps lying: the next event moves rsp_prod by one. */
	plug(&f, 1, "");
	sim_run(f.sim);
	ck_assert_uint_eq(f.conn.sring->rsp_prod, prod + 1);
	ck_assert_uint_eq(stats(&f).conn_events, 2);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_CONN_OVERFLOW));
	fx_fini(&f);
}
END_TEST

/* A strict decimal in [lo, hi]. */
static bool value_in(const char *v, unsigned lo, unsigned hi)
{
	unsigned long long x = 0;

	if (!*v)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || x > hi)
			return false;
		x = x * 10 + (unsigned)(*v - '0');
	}
	return x >= lo && x <= hi;
}

/* num-ports "0" (draw 0), usb-ver "3" (1); 2: the countdown. */
START_TEST(inject_xs_values)
{
	struct pick p = {BIT(SIM_FAULT_BE_XS_VALUES), (uint64_t)_i};
	struct sim_fault_decider d = {pick_hit, pick_draw, &p};
	char ports[32], ver[32];
	struct fx f;

	fx_init(&f, 55 + (uint64_t)_i);
	if (_i < 2)
		f.cfg.decider = &d;
	else
		arm(&f, SIM_FAULT_BE_XS_VALUES, 1);
	plug(&f, 1, "1-1");
	fx_start(&f);
	ck_assert_int_eq(be_state(&f), XenbusStateInitWait);
	snprintf(ports, sizeof(ports), "%s", get(&f, BE, "num-ports"));
	snprintf(ver, sizeof(ver), "%s", get(&f, BE, "usb-ver"));
	if (_i == 0) {
		ck_assert_str_eq(ports, "0");
		ck_assert_str_eq(ver, "2");
	} else if (_i == 1) {
		ck_assert_str_eq(ports, "4");
		ck_assert_str_eq(ver, "3");
	} else {
		ck_assert_msg(!value_in(ports, 1, 31) != !value_in(ver, 1, 2),
			      "num-ports '%s' usb-ver '%s'", ports, ver);
		ck_assert(!strcmp(ports, "4") || !strcmp(ver, "2"));
	}
	/* The backend goes on with what it read: 4 ports, USB 2.0. */
	p.classes = 0;
	fx_connect(&f);
	ck_assert_uint_eq(f.ncrsp, 1);
	ck_assert_uint_eq(f.crsp[0].portnum, 1);
	enumerate(&f, 1, 5);
	plug(&f, 4, "1-2"); /* high speed on port 4 */
	sim_run(f.sim);
	ck_assert_uint_eq(stats(&f).attached, 2);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_XS_VALUES));
	fx_fini(&f);
}
END_TEST

START_TEST(inject_bad_state)
{
	struct fx f;
	int s;

	fx_init(&f, 60 + (uint64_t)_i);
	arm(&f, SIM_FAULT_BE_BAD_STATE, 1); /* right after InitWait */
	fx_start(&f);
	s = be_state(&f);
	ck_assert_int_eq(s, stats(&f).state);
	ck_assert_msg(s == 6 || s == 4 || s == 7 || s == 8 || s == 2 ||
			  (s >= 9 && s <= 255),
		      "state %d", s);
	/* It connects all the same. */
	fx_connect(&f);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_BAD_STATE));
	fx_fini(&f);
}
END_TEST

START_TEST(inject_remove_after_resume)
{
	struct fx f;
	struct sim_page *pg;
	usbif_urb_request_t rq;

	/* A resume with an URB in flight on the old rings. */
	fx_enumerated(&f, 64);
	rq = intr_in(&f, 1, 5, &pg);
	fe_send(&f, &rq);
	run_for(&f, 20 * MS);
	arm(&f, SIM_FAULT_BE_REMOVE_AFTER_RESUME, 1);
	f.ncrsp = 0;
	fe_rings_new(&f, USB_CONN_RING_SIZE);
	fe_state(&f, XenbusStateConnected);
	run_for(&f, 10 * MS);
	ck_assert_str_eq(get(&f, BE, "state"), "(none)");
	ck_assert(stats(&f).unregistered);
	ck_assert(!stats(&f).connected);
	ck_assert_uint_eq(stats(&f).connects, 2);
	ck_assert_uint_eq(f.nrsp, 0);  /* nothing answered */
	ck_assert_uint_eq(f.ncrsp, 0); /* no conn event either */
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	assert_misbehaved(&f, BIT(SIM_FAULT_BE_REMOVE_AFTER_RESUME));
	fx_fini(&f);
	/* A backend created for a restored guest: its first connection. */
	fx_init(&f, 65);
	f.cfg.restored = true;
	plug(&f, 1, "1-1");
	arm(&f, SIM_FAULT_BE_REMOVE_AFTER_RESUME, 1);
	fx_start(&f);
	fe_rings_new(&f, USB_CONN_RING_SIZE);
	fe_state(&f, XenbusStateConnected);
	sim_run(f.sim);
	ck_assert(stats(&f).unregistered);
	ck_assert_uint_eq(f.ncrsp, 0);
	ck_assert_uint_eq(gstats(&f).mapped, 0);
	fx_fini(&f);
	/* Otherwise a first connection is no resume: not consulted. */
	fx_init(&f, 66);
	arm(&f, SIM_FAULT_BE_REMOVE_AFTER_RESUME, 1);
	fx_start(&f);
	fx_connect(&f);
	ck_assert_uint_eq(sim_fault_consulted(sim_faults(f.sim),
					      SIM_FAULT_BE_REMOVE_AFTER_RESUME),
			  0);
	fx_fini(&f);
}
END_TEST

/* A decider names the class and the value: every answer gets status
 * -ENOMEM (the fourth of the table), and the plan is never consulted. */
START_TEST(decider_one_class)
{
	struct pick p = {0, 3};
	struct sim_fault_decider d = {pick_hit, pick_draw, &p};
	usbif_urb_request_t rq;
	struct fx f;

	fx_init(&f, 67);
	f.cfg.decider = &d;
	plug(&f, 1, "1-1");
	fx_start(&f);
	fx_connect(&f);
	enumerate(&f, 1, 5);
	p.classes = BIT(SIM_FAULT_BE_USB_STATUS);
	rq = bulk_out64(&f, 1);
	ck_assert_int_eq(status_of(&f, &rq), -12);
	rq = bulk(2, 9, true);
	ck_assert_int_eq(status_of(&f, &rq), -12);
	ck_assert_uint_eq(f.loop[0].fifo_len, 64);
	ck_assert_uint_eq(stats(&f).misbehaved[SIM_FAULT_BE_USB_STATUS], 2);
	for (int c = SIM_FAULT_BE_FIRST; c < SIM_FAULT__COUNT; c++)
		ck_assert_uint_eq(sim_fault_consulted(sim_faults(f.sim), c), 0);
	fx_fini(&f);
}
END_TEST

/* ---- random requests with misbehaviour ----------------------------------- */

/* As random_run's requests. */
static void random_req(uint64_t *s, const uint32_t *refs,
		       usbif_urb_request_t *rq)
{
	uint8_t *b = (uint8_t *)rq;

	for (size_t k = 0; k < sizeof(*rq); k++)
		b[k] = (uint8_t)rnd(s);
	rq->pipe = rnd_pipe(s);
	rq->u.ctrl[1] %= 16;
	rq->u.unlink.unlink_id %= 32;
	rq->id %= 32;
	rq->nr_buffer_segs %= 5;
	rq->u.isoc.nr_frame_desc_segs %= 3;
	for (int k = 0; k < 16; k++) {
		rq->seg[k].gref = refs[rnd(s) % 4];
		rq->seg[k].offset %= 4200;
		rq->seg[k].length %= 4200;
	}
}

/* The frontend side of a run: it sends while it sees room, takes every
 * response and conn event it is given, keeps no history. */
static void fe_try_send(struct fx *f, const usbif_urb_request_t *rq)
{
	f->nrsp = 0;
	f->ncrsp = 0;
	if (!RING_FULL(&f->urb))
		fe_send(f, rq);
}

/* xen-hcd's enumeration of port 1 to address 5 (the descriptor into
 * the page granted as ref), answers unchecked. */
static void enumerate_blind(struct fx *f, uint32_t ref)
{
	usbif_urb_request_t rq =
	    ctrl(100, 1, 0, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
		 SIM_USB_DT_DEVICE << 8, 0, 18);

	rq.nr_buffer_segs = 1;
	rq.seg[0].gref = ref;
	rq.seg[0].length = 18;
	fe_try_send(f, &rq);
	rq = ctrl(101, 1, 0, 0x00, SIM_USB_REQ_SET_ADDRESS, 5, 0, 0);
	fe_try_send(f, &rq);
	rq = ctrl(102, 1, 5, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 1, 0, 0);
	fe_try_send(f, &rq);
	run_for(f, 20 * MS);
}

enum plan_kind { PLAN_NONE, PLAN_SOME, PLAN_MANY, PLAN_SWARM };

struct run_out {
	uint64_t hash, misbehaved, consulted;
};

/* Twelve connections (the first, then resumes onto new rings, so a
 * frontend the backend stopped answering gets going again), each
 * enumerating and then sending random requests while port 2 comes and
 * goes; Closing, Closed. Under plan, every backend class misbehaves at
 * the rate (or the seed's swarm plan, xenstore quota refusals off: they
 * would refuse this harness's own writes). fx_fini: nothing leaked, no
 * checker violation. */
static struct run_out inject_run(uint64_t seed, const struct sim_fault_decider *d,
				 enum plan_kind plan)
{
	struct run_out out = {0, 0, 0};
	struct sim_fault_plan *fp;
	struct usbback_stats st;
	struct sim_page *pg;
	uint32_t refs[4];
	uint64_t s = seed * 2654435761u + 1;
	struct fx f;

	fx_init(&f, seed);
	f.cfg.decider = d;
	fp = sim_faults(f.sim);
	if (plan == PLAN_SWARM) {
		sim_fault_plan_draw(fp, seed);
		sim_fault_set_rate(fp, SIM_FAULT_XS_ENOMEM, 0);
	} else if (plan != PLAN_NONE) {
		for (int c = SIM_FAULT_BE_FIRST; c < SIM_FAULT__COUNT; c++)
			sim_fault_set_rate(fp, c,
					   plan == PLAN_SOME ? 30000 : 200000);
	}
	plug(&f, 1, "1-1");
	plug(&f, 2, "1-2");
	fx_start(&f);
	for (int i = 0; i < 4; i++)
		refs[i] = data_page(&f, &pg, i & 1, (uint8_t)i);
	for (int n = 0; n < 600; n++) {
		usbif_urb_request_t rq;

		if (n % 50 == 0) {
			fe_rings_new(&f, USB_CONN_RING_SIZE);
			f.overflow_seen = false;
			fe_state(&f, XenbusStateConnected);
			run_for(&f, MS);
			enumerate_blind(&f, data_page(&f, &pg, false, 0));
		}
		random_req(&s, refs, &rq);
		fe_try_send(&f, &rq);
		if (rnd(&s) % 8 == 0)
			run_for(&f, rnd(&s) % (5 * MS));
		if (rnd(&s) % 64 == 0)
			f.loop[rnd(&s) % NDEV].int_ready = true;
		if (rnd(&s) % 40 == 0)
			plug(&f, 2, rnd(&s) & 1 ? "1-2" : "");
	}
	run_for(&f, 100 * MS);
	fe_state(&f, XenbusStateClosing);
	run_for(&f, 10 * MS);
	fe_state(&f, XenbusStateClosed);
	run_for(&f, 10 * MS);
	st = stats(&f);
	for (int c = SIM_FAULT_BE_FIRST; c < SIM_FAULT__COUNT; c++) {
		out.misbehaved += st.misbehaved[c];
		out.consulted += sim_fault_consulted(fp, c);
	}
	out.hash = sim_trace_hash(f.sim);
	fx_fini(&f);
	return out;
}

/* A decider that says no and draws 0 is a well-behaved backend: the same
 * trace as with no plan at all, and the plan is never consulted. */
START_TEST(decider_well_behaved)
{
	struct pick p = {0, 0};
	struct sim_fault_decider d = {pick_hit, pick_draw, &p};
	struct run_out plain = inject_run(200, NULL, PLAN_NONE);
	struct run_out decided = inject_run(200, &d, PLAN_NONE);

	ck_assert_uint_eq(plain.hash, decided.hash);
	ck_assert_uint_eq(plain.misbehaved, 0);
	ck_assert_uint_eq(decided.misbehaved, 0);
	ck_assert_uint_gt(plain.consulted, 0);
	ck_assert_uint_eq(decided.consulted, 0);
}
END_TEST

/* Every backend class at a rate (3%, 20%), or a swarm plan: the model
 * reaches no assertion, leaks nothing, causes no checker violation, and
 * the run is the same twice. */
START_TEST(random_requests_with_misbehaviour)
{
	static const enum plan_kind plans[] = {PLAN_SOME, PLAN_MANY,
					       PLAN_SWARM};
	enum plan_kind plan = plans[_i % 3];
	struct run_out a = inject_run(300 + (uint64_t)_i, NULL, plan);
	struct run_out b = inject_run(300 + (uint64_t)_i, NULL, plan);

	ck_assert_uint_eq(a.hash, b.hash);
	ck_assert_uint_eq(a.misbehaved, b.misbehaved);
	ck_assert_uint_gt(a.misbehaved, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usbback");
	TCase *tc = tcase_create("usbback");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, handshake_reaches_connected);
	tcase_add_loop_test(tc, bad_config_is_fatal, 0,
			    sizeof(bad_configs) / sizeof(bad_configs[0]));
	tcase_add_test(tc, bogus_frontend_keys_are_fatal);
	tcase_add_test(tc, conn_events_for_plug_and_unplug);
	tcase_add_test(tc, conn_events_wait_for_posted_requests);
	tcase_add_test(tc, high_speed_refused_on_usb11);
	tcase_add_test(tc, enumeration_at_address_0);
	tcase_add_test(tc, address_0_after_local_reset);
	tcase_add_test(tc, bulk_out_then_in_loopback);
	tcase_add_test(tc, bulk_high_speed_timing);
	tcase_add_test(tc, interrupt_in_naks_until_data);
	tcase_add_test(tc, interrupt_in_high_speed_interval);
	tcase_add_test(tc, unlink_of_an_inflight_interrupt);
	tcase_add_test(tc, unplug_with_urbs_in_flight);
	tcase_add_test(tc, iso_in_and_out);
	tcase_add_test(tc, iso_bad_requests);
	tcase_add_test(tc, bad_segments_are_shutdown);
	tcase_add_test(tc, clear_halt_after_stall);
	tcase_add_test(tc, req_prod_overflow_halts_the_ring);
	tcase_add_test(tc, conn_req_prod_overflow_halts);
	tcase_add_test(tc, closing_answers_in_flight);
	tcase_add_test(tc, backend_dir_removed_unregisters);
	tcase_add_test(tc, destroy_with_requests_in_flight);
	tcase_add_test(tc, resume_reconnects_to_new_rings);
	tcase_add_loop_test(tc, random_requests_never_break_it, 0, 4);
	tcase_add_test(tc, inject_response_contents);
	tcase_add_test(tc, inject_bad_id_names_no_awaited_request);
	tcase_add_test(tc, inject_extra_responses);
	tcase_add_test(tc, inject_rsp_prod_overflow);
	tcase_add_test(tc, inject_slot_rewrites);
	tcase_add_test(tc, inject_no_answer_and_hold_grant);
	tcase_add_loop_test(tc, inject_hold_ring, 0, 4);
	tcase_add_test(tc, inject_iso_packets);
	tcase_add_loop_test(tc, inject_conn_bad, 0, 4);
	tcase_add_test(tc, inject_conn_overflow);
	tcase_add_loop_test(tc, inject_xs_values, 0, 3);
	tcase_add_loop_test(tc, inject_bad_state, 0, 4);
	tcase_add_test(tc, inject_remove_after_resume);
	tcase_add_test(tc, decider_one_class);
	tcase_add_test(tc, decider_well_behaved);
	tcase_add_loop_test(tc, random_requests_with_misbehaviour, 0, 6);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
