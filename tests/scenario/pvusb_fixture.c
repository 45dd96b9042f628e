/*
 * The PVUSB scenario fixture (pvusb_fixture.h): toolstack, backend model,
 * frontend under test and the guest USB core's side of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pvusb_fixture.h"
#include "sim/xenstore/xenstore.h"

/* ---- the guest's side, through the frontend-under-test interface -------- */

static void cb_giveback(void *arg, uint64_t tag,
			const struct fut_usb_result *res)
{
	struct pv *p = arg;
	struct turb **pp = &p->out, *t;

	sim_check_request_done(p->sim, tag);
	while (*pp && (*pp)->tag != tag)
		pp = &(*pp)->next;
	if (!*pp) {
		/* The checker has it (twice or never submitted). */
		p->unknown_givebacks++;
		return;
	}
	t = *pp;
	*pp = t->next;
	t->next = NULL;
	t->status = res->status;
	t->actual = res->actual;
	t->error_count = res->error_count;
	t->start_frame = res->start_frame;
	t->back_ns = sim_now(p->sim);
	t->back = true;
	p->done++;
}

static void cb_port_changed(void *arg, uint8_t port)
{
	(void)port;
	((struct pv *)arg)->port_changes++;
}

static void cb_connected(void *arg)
{
	((struct pv *)arg)->connected++;
}

static void cb_resumed(void *arg)
{
	((struct pv *)arg)->resumed++;
}

static void cb_error(void *arg)
{
	((struct pv *)arg)->errors++;
}

static void cb_closed(void *arg)
{
	((struct pv *)arg)->closed++;
}

int pv_submit(struct pv *p, struct turb *t)
{
	struct fut_usb_urb u = {
	    .tag = ++p->next_tag,
	    .port = t->port,
	    .devaddr = t->devaddr,
	    .ep = t->ep,
	    .in = t->in,
	    .type = t->type,
	    .flags = t->flags,
	    .interval = t->interval,
	    .data = t->buf,
	    .len = t->len,
	    .packets = t->packets,
	    .npackets = t->npackets,
	};
	int err;

	ck_assert_ptr_nonnull(p->fut);
	memcpy(u.setup, t->setup, sizeof(u.setup));
	t->tag = u.tag;
	t->back = false;
	t->submit_ns = sim_now(p->sim);
	/* Out first: fut.h never gives back from inside submit, but the
	 * list must hold it whatever the frontend does. */
	t->next = p->out;
	p->out = t;
	err = fut_usb_submit(p->fut, &u);
	if (err) {
		p->out = t->next;
		t->next = NULL;
		return err;
	}
	sim_check_request_begin(p->sim, t->tag);
	p->submitted++;
	return 0;
}

void pv_wait(struct pv *p, struct turb *t)
{
	uint64_t end = sim_now(p->sim) + 10000 * PV_MS;

	while (!t->back && sim_now(p->sim) < end)
		sim_run_until(p->sim, sim_now(p->sim) + PV_MS);
	ck_assert_msg(t->back, "URB %llu not back", (unsigned long long)t->tag);
}

bool pv_wait_all(struct pv *p, uint64_t ns)
{
	uint64_t end = sim_now(p->sim) + ns;

	while (p->out && sim_now(p->sim) < end)
		sim_run_until(p->sim, sim_now(p->sim) + PV_MS);
	return p->out == NULL;
}

void pv_ctrl_urb(struct turb *u, uint8_t port, uint8_t addr, uint8_t type,
		 uint8_t req, uint16_t value, uint16_t index, void *buf,
		 uint16_t len)
{
	memset(u, 0, sizeof(*u));
	u->port = port;
	u->devaddr = addr;
	u->type = FUT_USB_CTRL;
	u->in = (type & 0x80) != 0;
	u->setup[0] = type;
	u->setup[1] = req;
	u->setup[2] = (uint8_t)value;
	u->setup[3] = (uint8_t)(value >> 8);
	u->setup[4] = (uint8_t)index;
	u->setup[5] = (uint8_t)(index >> 8);
	u->setup[6] = (uint8_t)len;
	u->setup[7] = (uint8_t)(len >> 8);
	u->buf = buf;
	u->len = len;
}

int pv_ctrl(struct pv *p, uint8_t port, uint8_t addr, uint8_t type, uint8_t req,
	    uint16_t value, uint16_t index, void *buf, uint16_t len,
	    uint32_t *actual)
{
	struct turb u;

	pv_ctrl_urb(&u, port, addr, type, req, value, index, buf, len);
	ck_assert_int_eq(pv_submit(p, &u), 0);
	pv_wait(p, &u);
	if (actual)
		*actual = u.actual;
	return u.status;
}

void pv_int_urb(struct turb *u, uint8_t port, uint8_t ep, void *buf,
		uint32_t len, uint16_t interval)
{
	memset(u, 0, sizeof(*u));
	u->port = port;
	u->devaddr = PV_ADDR(port);
	u->ep = ep;
	u->in = true;
	u->type = FUT_USB_INT;
	u->interval = interval;
	u->buf = buf;
	u->len = len;
}

void pv_bulk_urb(struct turb *u, uint8_t port, uint8_t ep, bool in, void *buf,
		 uint32_t len)
{
	memset(u, 0, sizeof(*u));
	u->port = port;
	u->devaddr = PV_ADDR(port);
	u->ep = ep;
	u->in = in;
	u->type = FUT_USB_BULK;
	u->buf = buf;
	u->len = len;
}

void pv_iso_urb(struct turb *u, uint8_t port, uint8_t ep, bool in, void *buf,
		struct fut_usb_iso_packet *packets, uint32_t npackets,
		uint32_t each, uint16_t interval)
{
	memset(u, 0, sizeof(*u));
	u->port = port;
	u->devaddr = PV_ADDR(port);
	u->ep = ep;
	u->in = in;
	u->type = FUT_USB_ISO;
	u->interval = interval;
	u->buf = buf;
	u->len = npackets * each;
	u->packets = packets;
	u->npackets = npackets;
	for (uint32_t i = 0; i < npackets; i++) {
		packets[i].offset = i * each;
		packets[i].length = each;
		/* Poison: giveback must set both. */
		packets[i].actual = 0xdeadbeef;
		packets[i].status = 1;
	}
}

int pv_bulk(struct pv *p, uint8_t port, uint8_t ep, bool in, void *buf,
	    uint32_t len, uint32_t *actual)
{
	struct turb u;

	pv_bulk_urb(&u, port, ep, in, buf, len);
	ck_assert_int_eq(pv_submit(p, &u), 0);
	pv_wait(p, &u);
	if (actual)
		*actual = u.actual;
	return u.status;
}

/* ---- the hub driver ------------------------------------------------------ */

void pv_port_reset(struct pv *p, uint8_t port)
{
	uint16_t st, ch;

	ck_assert_int_eq(fut_usb_port_status(p->fut, port, &st, &ch), 0);
	ck_assert(st & FUT_USB_PORT_CONNECTION);
	ck_assert(ch & FUT_USB_C_CONNECTION);
	fut_usb_port_feature(p->fut, port, FUT_USB_FEAT_C_CONNECTION, false);
	fut_usb_port_feature(p->fut, port, FUT_USB_FEAT_RESET, true);
	sim_run_until(p->sim, sim_now(p->sim) + 20 * PV_MS);
	fut_usb_port_status(p->fut, port, &st, &ch);
	ck_assert(st & FUT_USB_PORT_ENABLE);
	ck_assert(ch & FUT_USB_C_RESET);
	fut_usb_port_feature(p->fut, port, FUT_USB_FEAT_C_RESET, false);
}

void pv_enumerate(struct pv *p, uint8_t port, uint8_t iclass)
{
	uint8_t dev[18], cfg[256], addr = PV_ADDR(port);
	uint16_t total;
	uint32_t n;

	ck_assert_int_eq(pv_ctrl(p, port, 0, 0x80, 6, 0x0100, 0, dev, 8, &n),
			 0);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(dev[1], 1); /* DEVICE */
	ck_assert_int_eq(pv_ctrl(p, port, 0, 0x00, 5, addr, 0, NULL, 0, NULL),
			 0);
	ck_assert_int_eq(
	    pv_ctrl(p, port, addr, 0x80, 6, 0x0100, 0, dev, 18, &n), 0);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(dev[0], 18);
	ck_assert_int_eq(pv_ctrl(p, port, addr, 0x80, 6, 0x0200, 0, cfg, 9, &n),
			 0);
	ck_assert_uint_eq(cfg[1], 2); /* CONFIGURATION */
	total = (uint16_t)(cfg[2] | cfg[3] << 8);
	ck_assert_uint_le(total, sizeof(cfg));
	ck_assert_int_eq(
	    pv_ctrl(p, port, addr, 0x80, 6, 0x0200, 0, cfg, total, &n), 0);
	ck_assert_uint_eq(n, total);
	ck_assert_uint_eq(cfg[9 + 5], iclass);
	ck_assert_int_eq(
	    pv_ctrl(p, port, addr, 0x00, 9, cfg[5], 0, NULL, 0, NULL), 0);
}

void pv_plug(struct pv *p, uint8_t port, uint8_t iclass)
{
	pv_attach(p, port);
	sim_run_until(p->sim, sim_now(p->sim) + 10 * PV_MS);
	pv_port_reset(p, port);
	pv_enumerate(p, port, iclass);
}

void pv_set_interface(struct pv *p, uint8_t port, uint16_t iface, uint16_t alt)
{
	ck_assert_int_eq(pv_ctrl(p, port, PV_ADDR(port), 0x01, 11, alt, iface,
				 NULL, 0, NULL),
			 0);
}

/* ---- the toolstack --------------------------------------------------------
 */

void pv_xs_put(struct pv *p, const char *dir, const char *key, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	ck_assert_int_eq(sim_xs_write(sim_xs(p->sim), 0, 0, path, val,
				      (unsigned)strlen(val)),
			 0);
}

const char *pv_busid(unsigned port, char *buf)
{
	snprintf(buf, 16, "3-1.%u", port + 4);
	return buf;
}

static void port_key(unsigned port, char *key, size_t len)
{
	snprintf(key, len, "port/%u", port);
}

void pv_attach(struct pv *p, unsigned port)
{
	char key[16], busid[16];

	ck_assert(port >= 1 && port <= p->cfg.num_ports);
	port_key(port, key, sizeof(key));
	pv_xs_put(p, PV_BE, key, pv_busid(port, busid));
}

void pv_detach(struct pv *p, unsigned port)
{
	char key[16];

	port_key(port, key, sizeof(key));
	pv_xs_put(p, PV_BE, key, "");
}

/* libxl__domain_make's part: the guest's home, readable by it, with an
 * error/ directory it owns (where xenbus_dev_fatal writes). */
static void toolstack_domain(struct pv *p)
{
	struct sim_xs *xs = sim_xs(p->sim);
	struct xs_permissions ro[2] = {{0, XS_PERM_NONE},
				       {PV_GUEST, XS_PERM_READ}};
	struct xs_permissions rw[2] = {{PV_GUEST, XS_PERM_NONE},
				       {0, XS_PERM_READ}};
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", PV_GUEST);
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, path), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, path, ro, 2), 0);
	snprintf(path, sizeof(path), "/local/domain/%u/error", PV_GUEST);
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, path), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, path, rw, 2), 0);
}

/* libxl__device_usbctrl_add_xenstore for cfg's version and ports. */
static void toolstack_add(struct pv *p)
{
	struct sim_xs *xs = sim_xs(p->sim);
	struct xs_permissions fe_perms[2] = {{PV_GUEST, XS_PERM_NONE},
					     {0, XS_PERM_READ}};
	struct xs_permissions be_perms[2] = {{0, XS_PERM_NONE},
					     {PV_GUEST, XS_PERM_READ}};
	char val[16];

	toolstack_domain(p);
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, PV_FE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, PV_FE, fe_perms, 2), 0);
	pv_xs_put(p, PV_FE, "backend", PV_BE);
	pv_xs_put(p, PV_FE, "backend-id", "0");
	pv_xs_put(p, PV_FE, "state", "1");
	ck_assert_int_eq(sim_xs_mkdir(xs, 0, 0, PV_BE), 0);
	ck_assert_int_eq(sim_xs_set_perms(xs, 0, 0, PV_BE, be_perms, 2), 0);
	pv_xs_put(p, PV_BE, "frontend", PV_FE);
	pv_xs_put(p, PV_BE, "frontend-id", "1");
	pv_xs_put(p, PV_BE, "online", "1");
	pv_xs_put(p, PV_BE, "state", "1");
	pv_xs_put(p, PV_BE, "type", "qusb");
	snprintf(val, sizeof(val), "%u", p->cfg.usb_ver);
	pv_xs_put(p, PV_BE, "usb-ver", val);
	snprintf(val, sizeof(val), "%u", p->cfg.num_ports);
	pv_xs_put(p, PV_BE, "num-ports", val);
	pv_xs_put(p, PV_BE, "port", "");
	for (unsigned i = 1; i <= p->cfg.num_ports; i++) {
		char key[16];

		port_key(i, key, sizeof(key));
		pv_xs_put(p, PV_BE, key, "");
	}
}

static struct sim_usb_device *lookup(void *arg, const char *busid)
{
	struct pv *p = arg;
	char want[16];

	for (unsigned i = 1; i <= p->cfg.num_ports; i++)
		if (strcmp(busid, pv_busid(i, want)) == 0)
			return p->cfg.dev[i];
	return NULL;
}

void pv_config_default(struct pv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 11;
	cfg->usb_ver = 2;
	cfg->num_ports = 2;
}

void pv_faults(struct pv *p, const char *spec)
{
	char err[256];

	ck_assert_msg(sim_fault_plan_parse(sim_faults(p->sim), spec, err,
					   sizeof(err)) == 0,
		      "fault plan '%s': %s", spec, err);
}

static void backend_create(struct pv *p)
{
	struct usbback_config *bc = &p->bc;

	usbback_config_default(bc);
	bc->sim = p->sim;
	bc->self = 0;
	bc->frontend = PV_GUEST;
	bc->path = PV_BE;
	bc->frontend_path = PV_FE;
	bc->lookup = lookup;
	bc->lookup_arg = p;
	bc->decider = p->cfg.decider;
	ck_assert_int_eq(usbback_create(bc, &p->ub), 0);
}

void pv_backend_restart(struct pv *p, bool restored)
{
	if (p->ub)
		usbback_destroy(p->ub);
	p->ub = NULL;
	pv_xs_put(p, PV_BE, "state", "1");
	p->bc.restored = restored;
	ck_assert_int_eq(usbback_create(&p->bc, &p->ub), 0);
}

static void frontend_create(struct pv *p)
{
	const struct fut_env env = {
	    .sim = p->sim,
	    .guest = PV_GUEST,
	    .backend = 0,
	    .frontend_path = PV_FE,
	    .backend_path = PV_BE,
	    .log = getenv("PVUSB_LOG") ? stderr : NULL,
	    .log_level = 3,
	};
	const struct fut_callbacks cb = {
	    .connected = cb_connected,
	    .resumed = cb_resumed,
	    .error = cb_error,
	    .closed = cb_closed,
	    .usb_giveback = cb_giveback,
	    .usb_port_changed = cb_port_changed,
	    .arg = p,
	};

	p->create_err =
	    fut_create(fut_find("xpv-usbfront"), &env, &cb, &p->fut);
	if (p->create_err)
		p->fut = NULL;
}

void pv_start_cfg(struct pv *p, const struct pv_config *cfg)
{
	struct sim_config sc;
	struct sim_domain *d;

	ck_assert(cfg->num_ports >= 1 && cfg->num_ports <= PV_MAX_PORTS);
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	sim_config_default(&sc, cfg->seed);
	p->sim = sim_create(&sc);
	ck_assert_int_eq(sim_domain_create(p->sim, 0, "dom0", &d), 0);
	ck_assert_int_eq(sim_domain_create(p->sim, PV_GUEST, "guest", &d), 0);
	toolstack_add(p);
	if (cfg->faults)
		pv_faults(p, cfg->faults);
	backend_create(p);
	frontend_create(p);
	sim_run_until(p->sim, 10 * PV_MS);
	if (!cfg->connect_may_fail) {
		ck_assert_int_eq(p->create_err, 0);
		ck_assert_uint_eq(p->connected, 1);
	}
}

void pv_start(struct pv *p, struct sim_usb_device *dev)
{
	struct pv_config cfg;

	pv_config_default(&cfg);
	cfg.dev[1] = dev;
	pv_start_cfg(p, &cfg);
}

/* ---- state ------------------------------------------------------------------
 */

bool pv_in_error(struct pv *p)
{
	return pv_fe_stats(p).error;
}

unsigned pv_in_flight(const struct pv *p)
{
	unsigned n = 0;

	for (const struct turb *t = p->out; t; t = t->next)
		n++;
	return n;
}

struct usbback_stats pv_be_stats(const struct pv *p)
{
	struct usbback_stats st;

	ck_assert_ptr_nonnull(p->ub);
	usbback_stats(p->ub, &st);
	return st;
}

struct fut_stats pv_fe_stats(struct pv *p)
{
	struct fut_stats st;

	memset(&st, 0, sizeof(st));
	if (p->fut)
		fut_stats(p->fut, &st);
	return st;
}

/* ---- the end
 * ------------------------------------------------------------------ */

void pv_finish(struct pv *p)
{
	struct usbback_stats st;

	fut_close(p->fut);
	sim_run_until(p->sim, sim_now(p->sim) + 1000 * PV_MS);
	st = pv_be_stats(p);
	ck_assert_int_eq(st.state, 6);
	ck_assert_uint_eq(st.in_flight, 0);
	ck_assert_uint_eq(pv_in_flight(p), 0);
	pv_teardown(p, PV_NO_CHECK);
}

/* Every checker clean but `expect`, which must have tripped. */
static void checks_expect(struct pv *p, int expect)
{
	for (int c = 0; c < SIM_CHECK__COUNT; c++) {
		uint64_t n = sim_violations(p->sim, (enum sim_check)c);

		if (c == expect)
			ck_assert_msg(n > 0, "checker %s did not trip",
				      sim_check_name((enum sim_check)c));
		else
			ck_assert_msg(n == 0, "checker %s: %llu violations",
				      sim_check_name((enum sim_check)c),
				      (unsigned long long)n);
	}
}

void pv_teardown(struct pv *p, int expect)
{
	if (p->ub)
		usbback_destroy(p->ub);
	p->ub = NULL;
	if (p->fut)
		fut_destroy(p->fut); /* gives back what is still out */
	p->fut = NULL;
	for (unsigned i = 1; i <= PV_MAX_PORTS; i++)
		if (p->cfg.dev[i])
			sim_usb_device_free(p->cfg.dev[i]);
	sim_domain_audit(sim_domain_get(p->sim, PV_GUEST), "teardown");
	sim_check_requests_audit(p->sim, "teardown");
	sim_check_report(p->sim, stderr);
	ck_assert_msg(p->out == NULL, "%u URBs never given back",
		      pv_in_flight(p));
	ck_assert_uint_eq(p->unknown_givebacks, 0);
	ck_assert_uint_eq(p->done, p->submitted);
	checks_expect(p, expect);
	sim_destroy(p->sim);
	p->sim = NULL;
}
