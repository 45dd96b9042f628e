/*
 * Guest USB stand-in, the core; see usb_guest.h. Everything runs from
 * simulator events: URBs come back through the frontend's giveback, root
 * hub news through its port-changed callback (handled from a "hub" event
 * of our own, as Linux's hub_wq does), and timers (URB timeouts, port
 * resets that never end) are simulator events. Class drivers live in
 * usb_guest_storage.c and usb_guest_class.c (usb_guest_impl.h).
 */
#include "usb_guest_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/check/check.h"
#include "sim/devices/usb_audio.h"
#include "sim/trace/usbmon.h"

/* Tags: a mark bit no SCSI guest tag has, the controller, a sequence
 * number and the slot, so they are unique in the run. */
#define UG_TAG_MARK	(1ull << 63)
#define UG_TAG_SEQ_MASK ((1ull << 40) - 1)
/* A port reset that has not ended this long after it was asked for is a
 * failed step (Linux's hub_port_reset waits 5 x 200 ms at most). */
#define UG_RESET_TIMEOUT_NS 1000000000ull
#define UG_ADDR_MAX	    127
#define UG_STRING_LEN	    255
#define UG_CONFIG_MAX	    4096 /* wTotalLength the guest accepts */
#define UG_ECONNRESET	    104
#define UG_EREMOTEIO	    121

enum ug_enum_step {
	E_DEV8,	   /* GET_DESCRIPTOR(device, 8) at address 0 */
	E_ADDR,	   /* SET_ADDRESS */
	E_DEV18,   /* GET_DESCRIPTOR(device, 18) */
	E_CFG9,	   /* the configuration's first 9 bytes */
	E_CFG,	   /* all wTotalLength of it */
	E_LANG,	   /* string 0: the language list */
	E_MANUF,   /* strings (a STALL skips one: they are optional) */
	E_PRODUCT, /* */
	E_SERIAL,  /* */
	E_SETCFG,  /* SET_CONFIGURATION */
};

static void idle_soon(struct usb_guest *g);
static void port_reset_start(struct usb_guest *g, struct ug_port *p);
static void enum_failed(struct usb_guest *g, struct ug_port *p);

uint64_t ug_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint16_t le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

/* The sim_usb_devices entry as configured. */
static const struct simcfg_usb_device *entry_of(const struct usb_guest *g,
						const struct ug_port *p)
{
	int d = p->info.device;

	return d >= 0 && (unsigned)d < g->nr_devs ? &g->cfg->usb_devices[d]
						  : NULL;
}

const struct simcfg_usb_device *ug_port_cfg(const struct usb_guest *g,
					    const struct ug_port *p)
{
	if (p->captured) {
		SIM_ASSERT(entry_of(g, p) &&
			   entry_of(g, p)->cls == SIMCFG_USB_CAPTURE);
		return &p->capture_view;
	}
	return entry_of(g, p);
}

struct ug_dev *ug_port_dev(struct usb_guest *g, const struct ug_port *p)
{
	int d = p->info.device;

	return d >= 0 && (unsigned)d < g->nr_devs ? &g->devs[d] : NULL;
}

/* ---- the URB table ----------------------------------------------------------
 */

static struct ug_urb *urb_find(struct usb_guest *g, uint64_t tag)
{
	struct ug_urb *u = &g->urbs[tag & (UG_MAX_URBS - 1)];

	if ((tag & UG_TAG_MARK) == 0 || !u->used || !u->in_flight ||
	    u->urb.tag != tag)
		return NULL;
	return u;
}

/* The table is full (stale URBs piling up behind a backend that answers
 * nothing): whatever the port was doing ends here. */
static void urb_table_full(struct usb_guest *g, struct ug_port *p)
{
	if (p->info.state == UG_PORT_BOUND)
		ug_bind_stopped(g, p);
	else if (p->info.state == UG_PORT_ENUMERATING) {
		p->enum_tries = 1; /* no retry: nothing to retry with */
		enum_failed(g, p);
	}
}

struct ug_urb *ug_urb_new(struct usb_guest *g, struct ug_port *p, uint32_t len,
			  uint32_t npackets)
{
	for (unsigned i = 0; i < UG_MAX_URBS; i++) {
		struct ug_urb *u = &g->urbs[i];

		if (u->used)
			continue;
		if (u->cap < len) {
			free(u->buf);
			u->buf = sim_xmalloc(len);
			u->cap = len;
		}
		if (u->packets_cap < npackets) {
			free(u->packets);
			u->packets = sim_xcalloc(npackets, sizeof(*u->packets));
			u->packets_cap = npackets;
		}
		u->g = g;
		u->used = true;
		u->in_flight = u->local_fail = u->timed_out = false;
		u->port = p;
		u->bind_gen = p->bind_gen;
		u->done = NULL;
		u->timer = 0;
		memset(&u->urb, 0, sizeof(u->urb));
		u->urb.port = p->num;
		u->urb.devaddr = p->info.address;
		u->urb.data = len ? u->buf : NULL;
		u->urb.len = len;
		u->urb.packets = npackets ? u->packets : NULL;
		u->urb.npackets = npackets;
		return u;
	}
	urb_table_full(g, p);
	return NULL;
}

static void urb_free(struct ug_urb *u)
{
	SIM_ASSERT(u->used && !u->in_flight && !u->timer);
	u->used = false;
	u->local_fail = false;
}

/* A completion for the binding that made the URB; a stale one (the port
 * has had a disconnect or a new device since) is dropped. */
static void urb_complete(struct usb_guest *g, struct ug_urb *u,
			 const struct fut_usb_result *res)
{
	struct ug_port *p = u->port;

	if (u->bind_gen == p->bind_gen && u->done)
		u->done(g, p, u, res);
	urb_free(u);
}

static void fail_event(struct sim *sim, void *arg)
{
	struct usb_guest *g = arg;

	(void)sim;
	g->fail_ev = 0;
	for (unsigned i = 0; i < UG_MAX_URBS; i++) {
		struct ug_urb *u = &g->urbs[i];
		struct fut_usb_result res = {0};

		if (!u->used || !u->local_fail)
			continue;
		u->local_fail = false;
		res.status = u->local_status;
		urb_complete(g, u, &res);
	}
}

/* The guest gives up waiting, as usb_start_wait_urb does: unlink, and
 * the URB comes back -ECONNRESET. */
static void urb_timeout(struct sim *sim, void *arg)
{
	struct ug_urb *u = arg;
	struct usb_guest *g = u->g;
	struct ug_dev *d = ug_port_dev(g, u->port);

	(void)sim;
	SIM_ASSERT(u->used && u->in_flight);
	u->timer = 0;
	u->timed_out = true;
	g->st.timeouts++;
	if (g->fut && fut_usb_unlink(g->fut, u->urb.tag) == 0) {
		g->st.unlinks++;
		if (d)
			d->st.urbs_unlinked++;
	}
}

void ug_urb_submit(struct usb_guest *g, struct ug_urb *u, uint64_t timeout_ns,
		   ug_urb_done_fn *done, uint64_t arg)
{
	struct ug_port *p = u->port;
	struct ug_dev *d = ug_port_dev(g, p);
	int err;

	SIM_ASSERT(u->used && !u->in_flight && u->urb.len <= u->cap);
	u->done = done;
	u->arg = arg;
	u->urb.tag = UG_TAG_MARK | (uint64_t)(g->ctrl & 0x7fff) << 48 |
		     (++g->next_seq & UG_TAG_SEQ_MASK) << 8 |
		     (uint64_t)(u - g->urbs);
	if (u->urb.in && u->urb.len)
		memset(u->buf, UG_POISON, u->urb.len);
	for (uint32_t i = 0; i < u->urb.npackets; i++) {
		u->packets[i].actual = 0;
		u->packets[i].status = 0;
	}
	/* usbmon sees a submission before the controller does, and a
	 * refusal as an error record after it (Linux's usb_hcd_submit_urb). */
	if (g->hooks.usbmon)
		usbmon_submit(g->hooks.usbmon, sim_now(g->sim),
			      g->hooks.usbmon_bus, &u->urb);
	err = g->fut ? fut_usb_submit(g->fut, &u->urb) : -ESHUTDOWN;
	if (err && g->hooks.usbmon)
		usbmon_error(g->hooks.usbmon, sim_now(g->sim),
			     g->hooks.usbmon_bus, &u->urb, err);
	if (err) {
		u->local_fail = true;
		u->local_status = err;
		if (!g->fail_ev)
			g->fail_ev = sim_schedule(g->sim, 0, fail_event, g,
						  "usb-guest-refused");
		return;
	}
	u->in_flight = true;
	p->in_flight++;
	g->st.urbs++;
	if (d)
		d->st.urbs++;
	sim_check_request_begin(g->sim, u->urb.tag);
	if (timeout_ns)
		u->timer = sim_schedule(g->sim, timeout_ns, urb_timeout, u,
					"usb-guest-timeout");
}

bool ug_control(struct usb_guest *g, struct ug_port *p, uint8_t type,
		uint8_t req, uint16_t value, uint16_t index, const void *data,
		uint16_t len, ug_urb_done_fn *done, uint64_t arg)
{
	struct ug_urb *u = ug_urb_new(g, p, len, 0);

	if (!u)
		return false;
	u->urb.type = FUT_USB_CTRL;
	u->urb.in = (type & SIM_USB_DIR_IN) != 0;
	u->urb.setup[0] = type;
	u->urb.setup[1] = req;
	u->urb.setup[2] = (uint8_t)value;
	u->urb.setup[3] = (uint8_t)(value >> 8);
	u->urb.setup[4] = (uint8_t)index;
	u->urb.setup[5] = (uint8_t)(index >> 8);
	u->urb.setup[6] = (uint8_t)len;
	u->urb.setup[7] = (uint8_t)(len >> 8);
	if (!u->urb.in && len)
		memcpy(u->buf, data, len);
	ug_urb_submit(g, u, UG_CTRL_TIMEOUT_NS, done, arg);
	return true;
}

bool ug_transfer(struct usb_guest *g, struct ug_port *p, const struct ug_ep *ep,
		 const void *data, uint32_t len, ug_urb_done_fn *done,
		 uint64_t arg)
{
	/* Interrupt URBs wait for the device as long as it takes. */
	return ug_transfer_timeout(g, p, ep, data, len, done, arg,
				   (ep->attr & 3) == SIM_USB_EP_BULK
					   ? UG_BULK_TIMEOUT_NS
					   : 0);
}

bool ug_transfer_timeout(struct usb_guest *g, struct ug_port *p,
			 const struct ug_ep *ep, const void *data, uint32_t len,
			 ug_urb_done_fn *done, uint64_t arg,
			 uint64_t timeout_ns)
{
	uint8_t type = ep->attr & 3;
	struct ug_urb *u = ug_urb_new(g, p, len, 0);

	SIM_ASSERT(type == SIM_USB_EP_BULK || type == SIM_USB_EP_INTERRUPT);
	if (!u)
		return false;
	u->urb.type = type == SIM_USB_EP_BULK ? FUT_USB_BULK : FUT_USB_INT;
	u->urb.ep = ep->addr & 0x0f;
	u->urb.in = (ep->addr & SIM_USB_DIR_IN) != 0;
	u->urb.interval = ep->interval;
	if (!u->urb.in && len)
		memcpy(u->buf, data, len);
	ug_urb_submit(g, u, timeout_ns, done, arg);
	return true;
}

/* ---- the checkers, on every giveback
 * ----------------------------------------- */

/* Bytes [from, len) of a failed IN URB must still hold the poison. */
static void check_untouched(struct usb_guest *g, const struct ug_urb *u,
			    uint32_t from, int status)
{
	for (uint32_t i = from; i < u->urb.len; i++) {
		if (u->buf[i] != UG_POISON) {
			sim_violation(g->sim, SIM_CHECK_DATA_ON_FAILURE,
				      "usb urb %#llx failed (%d) but its "
				      "buffer was written (byte %u)",
				      (unsigned long long)u->urb.tag, status,
				      i);
			return;
		}
	}
}

/* Overlong completions are reported and clamped in *res, so the class
 * drivers never read past what they asked for. */
static void check_completion(struct usb_guest *g, const struct ug_urb *u,
			     struct fut_usb_result *res)
{
	if (res->actual > u->urb.len) {
		sim_violation(g->sim, SIM_CHECK_COMPLETION_OVERLONG,
			      "usb urb %#llx: actual %u > length %u",
			      (unsigned long long)u->urb.tag, res->actual,
			      u->urb.len);
		res->actual = u->urb.len;
	}
	for (uint32_t i = 0; i < u->urb.npackets; i++) {
		struct fut_usb_iso_packet *pk = &u->packets[i];

		if (pk->actual > pk->length) {
			sim_violation(g->sim, SIM_CHECK_COMPLETION_OVERLONG,
				      "usb urb %#llx packet %u: actual %u > "
				      "length %u",
				      (unsigned long long)u->urb.tag, i,
				      pk->actual, pk->length);
			pk->actual = pk->length;
		}
	}
	if (!u->urb.in || res->status == 0)
		return;
	/* An unlinked URB may have moved data up to its actual length
	 * (usb_unlink_urb's rule), so may a short read the URB refused
	 * (-EREMOTEIO, URB_SHORT_NOT_OK); any other failure moves none
	 * (drivers/usbfront/usbfront.h). */
	if (res->status == -UG_ECONNRESET || res->status == -UG_EREMOTEIO) {
		check_untouched(g, u, res->actual, res->status);
		return;
	}
	if (res->actual != 0)
		sim_violation(g->sim, SIM_CHECK_DATA_ON_FAILURE,
			      "usb urb %#llx failed (%d) with actual %u",
			      (unsigned long long)u->urb.tag, res->status,
			      res->actual);
	check_untouched(g, u, 0, res->status);
}

static void on_giveback(void *arg, uint64_t tag,
			const struct fut_usb_result *res_in)
{
	struct usb_guest *g = arg;
	struct ug_urb *u = urb_find(g, tag);
	struct fut_usb_result res = *res_in;
	struct ug_dev *d;

	sim_check_request_done(g->sim, tag);
	if (!u) {
		sim_violation(g->sim, SIM_CHECK_COMPLETION_UNKNOWN,
			      "usb giveback of urb %#llx not in flight",
			      (unsigned long long)tag);
		return;
	}
	if (u->timer)
		sim_cancel(g->sim, u->timer);
	u->timer = 0;
	u->in_flight = false;
	SIM_ASSERT(u->port->in_flight > 0);
	u->port->in_flight--;
	g->st.completed++;
	if (res.status)
		g->st.failed++;
	d = ug_port_dev(g, u->port);
	if (d && res.status)
		d->st.urbs_failed++;
	else if (d)
		d->st.urbs_ok++;
	check_completion(g, u, &res);
	/* Recorded as the class driver will see it (clamped), before the
	 * driver's completion can submit more. */
	if (g->hooks.usbmon)
		usbmon_complete(g->hooks.usbmon, sim_now(g->sim),
				g->hooks.usbmon_bus, &u->urb, &res);
	urb_complete(g, u, &res);
}

/* Every URB of the port still out is asked back, as Linux's
 * usb_hcd_flush_endpoint does when a device goes away. */
static void port_flush(struct usb_guest *g, struct ug_port *p)
{
	for (unsigned i = 0; i < UG_MAX_URBS && g->fut; i++) {
		struct ug_urb *u = &g->urbs[i];

		if (u->used && u->in_flight && u->port == p &&
		    fut_usb_unlink(g->fut, u->urb.tag) == 0)
			g->st.unlinks++;
	}
}

/* ---- descriptors
 * ---------------------------------------------------------------- */

/* Walks the configuration: calls fn for each descriptor with the
 * interface and alternate it belongs to; stops when fn returns true. */
static const uint8_t *config_walk(const struct ug_port *p,
				  bool (*fn)(const uint8_t *d, uint8_t iface,
					     uint8_t alt, const void *key),
				  const void *key)
{
	uint8_t iface = 0xff, alt = 0;

	for (uint32_t off = 0; off + 2 <= p->config_len;) {
		const uint8_t *d = p->config + off;

		if (d[0] < 2 || off + d[0] > p->config_len)
			return NULL; /* malformed: the rest is not read */
		if (d[1] == SIM_USB_DT_INTERFACE && d[0] >= 9) {
			iface = d[2];
			alt = d[3];
		}
		if (fn(d, iface, alt, key))
			return d;
		off += d[0];
	}
	return NULL;
}

struct ep_key {
	uint8_t iface, alt, type;
	bool in;
};

static bool ep_match(const uint8_t *d, uint8_t iface, uint8_t alt,
		     const void *key)
{
	const struct ep_key *k = key;

	return d[1] == SIM_USB_DT_ENDPOINT && d[0] >= 7 && iface == k->iface &&
	       alt == k->alt && (d[3] & 3) == k->type &&
	       ((d[2] & SIM_USB_DIR_IN) != 0) == k->in;
}

bool ug_find_ep(const struct ug_port *p, uint8_t iface, uint8_t alt,
		uint8_t type, bool in, struct ug_ep *out)
{
	struct ep_key k = {iface, alt, type, in};
	const uint8_t *d = config_walk(p, ep_match, &k);

	if (!d)
		return false;
	out->addr = d[2];
	out->attr = d[3];
	out->mps = le16(d + 4) & 0x7ff;
	out->interval = d[6];
	return true;
}

struct iface_key {
	uint8_t cls;
	int sub;
};

static bool iface_match(const uint8_t *d, uint8_t iface, uint8_t alt,
			const void *key)
{
	const struct iface_key *k = key;

	(void)iface;
	return d[1] == SIM_USB_DT_INTERFACE && d[0] >= 9 && alt == 0 &&
	       d[5] == k->cls && (k->sub < 0 || d[6] == k->sub);
}

int ug_find_iface(const struct ug_port *p, uint8_t cls, int sub)
{
	struct iface_key k = {cls, sub};
	const uint8_t *d = config_walk(p, iface_match, &k);

	return d ? d[2] : -1;
}

struct cs_key {
	uint8_t iface, subtype;
};

static bool cs_match(const uint8_t *d, uint8_t iface, uint8_t alt,
		     const void *key)
{
	const struct cs_key *k = key;

	(void)alt;
	return d[1] == 0x24 && d[0] >= 3 && iface == k->iface &&
	       d[2] == k->subtype;
}

const uint8_t *ug_find_cs(const struct ug_port *p, uint8_t iface,
			  uint8_t subtype, uint8_t *len)
{
	struct cs_key k = {iface, subtype};
	const uint8_t *d = config_walk(p, cs_match, &k);

	if (d)
		*len = d[0];
	return d;
}

/* ---- bindings
 * ------------------------------------------------------------------- */

bool ug_may_continue(const struct usb_guest *g, const struct ug_port *p)
{
	return !g->stopped && !p->over && g->fut &&
	       p->info.state == UG_PORT_BOUND;
}

void ug_bind_finished(struct usb_guest *g, struct ug_port *p)
{
	struct ug_dev *d = ug_port_dev(g, p);

	if (p->over)
		return;
	p->over = true;
	p->finished = true;
	if (d)
		d->st.bindings_finished++;
	idle_soon(g);
}

void ug_bind_stopped(struct usb_guest *g, struct ug_port *p)
{
	p->over = true;
	idle_soon(g);
}

void ug_op_begin(struct usb_guest *g, struct ug_port *p)
{
	struct ug_dev *d = ug_port_dev(g, p);

	if (d && !d->st.first_ns)
		d->st.first_ns = sim_now(g->sim) ? sim_now(g->sim) : 1;
}

void ug_op_end(struct usb_guest *g, struct ug_port *p, bool ok, uint64_t bytes)
{
	struct ug_dev *d = ug_port_dev(g, p);

	p->ops_done++;
	if (!d)
		return;
	d->st.ops++;
	if (ok) {
		d->st.ops_ok++;
		d->st.bytes += bytes;
	} else {
		d->st.ops_failed++;
	}
	d->st.last_ns = sim_now(g->sim);
}

uint64_t ug_ops_done(const struct ug_port *p)
{
	return p->ops_done;
}

/* A captured device with no driver here: enumerated, nothing to do. */
static void none_start(struct usb_guest *g, struct ug_port *p)
{
	ug_bind_finished(g, p);
}

static void none_stop(struct usb_guest *g, struct ug_port *p)
{
	(void)g, (void)p;
}

static const struct ug_class none_class = {
    .name = "none",
    .start = none_start,
    .stop = none_stop,
};

/* What a captured device's first interface (class, subclass, protocol)
 * makes it, as Linux would pick the driver: mass storage over
 * Bulk-Only, HID boot keyboard or mouse, CDC-ACM, CDC-ECM, audio.
 * SIMCFG_USB_CAPTURE: none of those. */
static enum simcfg_usb_class captured_class(const uint8_t *iface)
{
	uint8_t cls = iface[5], sub = iface[6], proto = iface[7];

	switch (cls) {
	case 8:
		return proto == 0x50 ? SIMCFG_USB_STORAGE : SIMCFG_USB_CAPTURE;
	case 3:
		if (sub == 1 && proto == 1)
			return SIMCFG_USB_KEYBOARD;
		if (sub == 1 && proto == 2)
			return SIMCFG_USB_MOUSE;
		return SIMCFG_USB_CAPTURE;
	case 2:
		return sub == 2	  ? SIMCFG_USB_SERIAL
		       : sub == 6 ? SIMCFG_USB_ETHERNET
				  : SIMCFG_USB_CAPTURE;
	case 1:
		return SIMCFG_USB_AUDIO;
	default:
		return SIMCFG_USB_CAPTURE;
	}
}

/* A captured device is seen through the class it turned out to be. */
static void capture_view(struct usb_guest *g, struct ug_port *p,
			 const uint8_t *iface)
{
	const struct simcfg_usb_device *c = entry_of(g, p);
	enum simcfg_usb_class bound;

	p->captured = false;
	if (!c || c->cls != SIMCFG_USB_CAPTURE)
		return;
	bound = captured_class(iface);
	p->captured = true;
	if (bound == SIMCFG_USB_CAPTURE)
		p->capture_view = *c;
	else
		simcfg_usb_capture_binding(c, bound, &p->capture_view);
}

/* Bound by the first interface's class (and subclass, for CDC); the
 * configured class must agree, since the workload is that entry's. */
static const struct ug_class *class_for(const struct simcfg_usb_device *c,
					uint8_t cls, uint8_t sub)
{
	if (c->cls == SIMCFG_USB_CAPTURE) /* no class of its own */
		return &none_class;
	switch (cls) {
	case 8:
		return c->cls == SIMCFG_USB_STORAGE ? &ug_storage_class : NULL;
	case 3:
		return c->cls == SIMCFG_USB_KEYBOARD ||
			       c->cls == SIMCFG_USB_MOUSE
			   ? &ug_hid_class
			   : NULL;
	case 2:
		if (sub == 2 && c->cls == SIMCFG_USB_SERIAL)
			return &ug_serial_class;
		if (sub == 6 && c->cls == SIMCFG_USB_ETHERNET)
			return &ug_ethernet_class;
		return NULL;
	case 1:
		return c->cls == SIMCFG_USB_AUDIO ? &ug_audio_class : NULL;
	default:
		return NULL;
	}
}

static void port_bind(struct usb_guest *g, struct ug_port *p)
{
	const struct simcfg_usb_device *c;
	struct ug_dev *d = ug_port_dev(g, p);
	const uint8_t *i = p->config + 9;

	capture_view(g, p, i);
	c = ug_port_cfg(g, p);
	p->info.iclass = i[5];
	if (d) {
		d->st.enumerations++;
		d->st.vendor = le16(p->dev_desc + 8);
		d->st.product = le16(p->dev_desc + 10);
		d->st.speed = p->speed;
	}
	p->cls = c ? class_for(c, i[5], i[6]) : NULL;
	if (!p->cls) {
		p->info.state = UG_PORT_FAILED;
		idle_soon(g);
		return;
	}
	p->info.state = UG_PORT_BOUND;
	if (d)
		d->st.driver = p->cls->name;
	p->over = p->finished = false;
	p->ops_done = 0;
	/* Interrupted by a resume (one came since that binding began):
	 * the work carries on where it was. */
	if (p->carry.valid && p->carry.device == p->info.device &&
	    p->carry.epoch < g->resume_epoch)
		p->ops_done = p->carry.ops_done;
	p->carry.valid = false;
	p->bind_epoch = g->resume_epoch;
	p->cls->start(g, p);
	idle_soon(g);
}

static void grace_end(struct sim *sim, void *arg)
{
	struct ug_port *p = arg;

	(void)sim;
	p->grace_timer = 0;
	idle_soon(p->g);
}

static void port_unbind(struct usb_guest *g, struct ug_port *p)
{
	struct ug_dev *d = ug_port_dev(g, p);

	if (p->info.state == UG_PORT_BOUND) {
		/* The work done (all of it, or what this disconnect or the
		 * failures before its news cut short) is carried over should
		 * a resume be the cause: a restored guest goes on where it
		 * was. The class's stop fails the op in progress. */
		p->carry.valid = true;
		p->carry.device = p->info.device;
		p->carry.epoch = p->bind_epoch;
		p->carry.ops_done = p->ops_done;
		if (!p->finished) {
			if (d) {
				d->st.unplugged_busy++;
				d->hid_gap = true; /* a report may be lost */
			}
			p->expect_until_ns =
			    sim_now(g->sim) + UG_REBIND_GRACE_NS;
			if (p->grace_timer)
				sim_cancel(g->sim, p->grace_timer);
			p->grace_timer =
			    sim_schedule(g->sim, UG_REBIND_GRACE_NS, grace_end,
					 p, "usb-guest-grace");
		}
		p->cls->stop(g, p);
		p->cls = NULL;
		p->cls_state = NULL;
	}
	p->captured = false;
	port_flush(g, p);
}

/* ---- enumeration
 * ---------------------------------------------------------------- */

static void enum_step(struct usb_guest *g, struct ug_port *p);

static void enum_failed(struct usb_guest *g, struct ug_port *p)
{
	struct ug_dev *d = ug_port_dev(g, p);

	/* One more try after another port reset, as hub_port_init's
	 * retries; then the port is given up. */
	if (p->enum_tries++ == 0) {
		port_reset_start(g, p);
		return;
	}
	p->info.state = UG_PORT_FAILED;
	if (d)
		d->st.enum_failed++;
	idle_soon(g);
}

/* The product string, UTF-16LE, as ASCII ('?' for anything else). */
static void product_name(struct usb_guest *g, struct ug_port *p,
			 const uint8_t *s, uint32_t n)
{
	struct ug_dev *d = ug_port_dev(g, p);
	uint32_t chars;

	if (!d || n < 2 || s[1] != SIM_USB_DT_STRING)
		return;
	if (s[0] < n)
		n = s[0];
	chars = n >= 2 ? (n - 2) / 2 : 0;
	if (chars > sizeof(d->st.product_name) - 1)
		chars = sizeof(d->st.product_name) - 1;
	for (uint32_t i = 0; i < chars; i++) {
		uint16_t c = le16(s + 2 + 2 * i);

		d->st.product_name[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	d->st.product_name[chars] = '\0';
}

/* What one step's answer says; false if it is unusable. */
static bool enum_take(struct usb_guest *g, struct ug_port *p,
		      enum ug_enum_step step, const uint8_t *b, uint32_t n)
{
	switch (step) {
	case E_DEV8:
		return n >= 8 && b[1] == SIM_USB_DT_DEVICE;
	case E_ADDR:
		p->info.address = p->pending_addr;
		return true;
	case E_DEV18:
		if (n != 18 || b[0] != 18 || b[1] != SIM_USB_DT_DEVICE ||
		    b[17] == 0)
			return false;
		memcpy(p->dev_desc, b, 18);
		return true;
	case E_CFG9:
		if (n != 9 || b[1] != SIM_USB_DT_CONFIG || le16(b + 2) < 18 ||
		    le16(b + 2) > UG_CONFIG_MAX)
			return false;
		p->config_len = le16(b + 2);
		return true;
	case E_CFG:
		if (n != p->config_len || le16(b + 2) != p->config_len ||
		    b[9 + 1] != SIM_USB_DT_INTERFACE)
			return false;
		free(p->config);
		p->config = sim_xmalloc(n);
		memcpy(p->config, b, n);
		return true;
	case E_LANG:
		p->langid = n >= 4 ? le16(b + 2) : 0x0409;
		return true;
	case E_PRODUCT:
		product_name(g, p, b, n);
		return true;
	case E_MANUF:
	case E_SERIAL:
	case E_SETCFG:
		return true;
	}
	return false;
}

static void enum_done(struct usb_guest *g, struct ug_port *p, struct ug_urb *u,
		      const struct fut_usb_result *res)
{
	enum ug_enum_step step = (enum ug_enum_step)u->arg;
	bool optional = step >= E_LANG && step <= E_SERIAL;

	if (p->info.state != UG_PORT_ENUMERATING)
		return;
	if (res->status == 0 && !enum_take(g, p, step, u->buf, res->actual)) {
		enum_failed(g, p);
		return;
	}
	if (res->status != 0 && !(optional && res->status == -32)) {
		enum_failed(g, p);
		return;
	}
	if (step == E_SETCFG) {
		port_bind(g, p);
		return;
	}
	p->step = step + 1;
	enum_step(g, p);
}

static uint8_t string_index(const struct ug_port *p, enum ug_enum_step s)
{
	return s == E_MANUF	? p->dev_desc[14]
	       : s == E_PRODUCT ? p->dev_desc[15]
				: p->dev_desc[16];
}

static void enum_step(struct usb_guest *g, struct ug_port *p)
{
	enum ug_enum_step s = (enum ug_enum_step)p->step;
	uint16_t desc = 0;
	uint16_t len = 0;

	switch (s) {
	case E_DEV8:
	case E_DEV18:
		desc = SIM_USB_DT_DEVICE << 8;
		len = s == E_DEV8 ? 8 : 18;
		break;
	case E_ADDR:
		ug_control(g, p, 0x00, SIM_USB_REQ_SET_ADDRESS, p->pending_addr,
			   0, NULL, 0, enum_done, s);
		return;
	case E_CFG9:
	case E_CFG:
		desc = SIM_USB_DT_CONFIG << 8;
		len = s == E_CFG9 ? 9 : p->config_len;
		break;
	case E_LANG:
		ug_control(g, p, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
			   SIM_USB_DT_STRING << 8, 0, NULL, UG_STRING_LEN,
			   enum_done, s);
		return;
	case E_MANUF:
	case E_PRODUCT:
	case E_SERIAL:
		if (!string_index(p, s)) {
			p->step = s + 1;
			enum_step(g, p);
			return;
		}
		ug_control(
		    g, p, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
		    (uint16_t)(SIM_USB_DT_STRING << 8 | string_index(p, s)),
		    p->langid, NULL, UG_STRING_LEN, enum_done, s);
		return;
	case E_SETCFG:
		ug_control(g, p, 0x00, SIM_USB_REQ_SET_CONFIGURATION,
			   p->config[5], 0, NULL, 0, enum_done, s);
		return;
	}
	ug_control(g, p, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, desc, 0, NULL, len,
		   enum_done, s);
}

/* The bus's next free address, round robin as usb_enumerate_device's
 * choose_devnum does. */
static uint8_t address_alloc(struct usb_guest *g, const struct ug_port *self)
{
	for (unsigned n = 0; n < UG_ADDR_MAX; n++) {
		uint8_t a = (uint8_t)(g->next_addr % UG_ADDR_MAX + 1);
		bool used = false;

		g->next_addr = a;
		for (uint8_t i = 1; i <= g->nr_ports; i++)
			used |= &g->ports[i] != self &&
				(g->ports[i].info.address == a ||
				 g->ports[i].pending_addr == a);
		if (!used)
			return a;
	}
	SIM_ASSERT(0); /* 31 ports never use 127 addresses */
	return 0;
}

/* ---- the hub driver
 * ------------------------------------------------------------- */

static void reset_timeout(struct sim *sim, void *arg)
{
	struct ug_port *p = arg;
	struct usb_guest *g = p->g;

	(void)sim;
	p->reset_timer = 0;
	if (p->info.state == UG_PORT_RESETTING)
		enum_failed(g, p);
}

static void port_reset_start(struct usb_guest *g, struct ug_port *p)
{
	p->info.state = UG_PORT_RESETTING;
	p->info.address = 0;
	p->pending_addr = 0;
	g->idle_reported = false;
	if (p->reset_timer)
		sim_cancel(g->sim, p->reset_timer);
	p->reset_timer = sim_schedule(g->sim, UG_RESET_TIMEOUT_NS,
				      reset_timeout, p, "usb-guest-reset");
	g->st.port_resets++;
	if (g->fut)
		fut_usb_port_feature(g->fut, p->num, FUT_USB_FEAT_RESET, true);
}

static uint8_t port_speed(uint16_t status)
{
	if (status & FUT_USB_PORT_LOW_SPEED)
		return SIM_USB_SPEED_LOW;
	if (status & FUT_USB_PORT_HIGH_SPEED)
		return SIM_USB_SPEED_HIGH;
	return SIM_USB_SPEED_FULL;
}

static void port_reset_done(struct usb_guest *g, struct ug_port *p,
			    uint16_t status)
{
	if (p->reset_timer)
		sim_cancel(g->sim, p->reset_timer);
	p->reset_timer = 0;
	if (!(status & FUT_USB_PORT_ENABLE)) {
		enum_failed(g, p);
		return;
	}
	p->speed = port_speed(status);
	p->pending_addr = address_alloc(g, p);
	p->info.state = UG_PORT_ENUMERATING;
	p->step = E_DEV8;
	enum_step(g, p);
}

/* Whatever was on the port is gone. */
static void port_disconnect(struct usb_guest *g, struct ug_port *p)
{
	port_unbind(g, p);
	if (p->reset_timer)
		sim_cancel(g->sim, p->reset_timer);
	p->reset_timer = 0;
	p->bind_gen++;
	free(p->config);
	p->config = NULL;
	p->config_len = 0;
	p->info.state = UG_PORT_EMPTY;
	p->info.device = -1;
	p->info.address = 0;
	p->info.iclass = 0;
	p->pending_addr = 0;
	p->over = p->finished = false;
}

static void port_connected(struct usb_guest *g, struct ug_port *p,
			   uint16_t status)
{
	int d =
	    g->hooks.device_at ? g->hooks.device_at(g->hooks.arg, p->num) : -1;

	g->ever_plugged = true;
	p->info.device = d >= 0 && (unsigned)d < g->nr_devs ? d : -1;
	p->speed = port_speed(status);
	p->enum_tries = 0;
	port_reset_start(g, p);
}

static void hub_port(struct usb_guest *g, struct ug_port *p)
{
	uint16_t st, ch;

	if (fut_usb_port_status(g->fut, p->num, &st, &ch) != 0)
		return;
	if (ch & FUT_USB_C_CONNECTION) {
		fut_usb_port_feature(g->fut, p->num, FUT_USB_FEAT_C_CONNECTION,
				     false);
		/* A reset that ended before this news is the old device's. */
		if (ch & FUT_USB_C_RESET)
			fut_usb_port_feature(g->fut, p->num,
					     FUT_USB_FEAT_C_RESET, false);
		port_disconnect(g, p);
		if (st & FUT_USB_PORT_CONNECTION)
			port_connected(g, p, st);
		return;
	}
	if (ch & FUT_USB_C_ENABLE)
		fut_usb_port_feature(g->fut, p->num, FUT_USB_FEAT_C_ENABLE,
				     false);
	if (ch & FUT_USB_C_SUSPEND)
		fut_usb_port_feature(g->fut, p->num, FUT_USB_FEAT_C_SUSPEND,
				     false);
	if (ch & FUT_USB_C_RESET) {
		fut_usb_port_feature(g->fut, p->num, FUT_USB_FEAT_C_RESET,
				     false);
		if (p->info.state == UG_PORT_RESETTING)
			port_reset_done(g, p, st);
	}
}

static void hub_event(struct sim *sim, void *arg)
{
	struct usb_guest *g = arg;

	(void)sim;
	g->hub_ev = 0;
	if (!g->fut)
		return;
	for (uint8_t i = 1; i <= g->nr_ports; i++) {
		struct ug_port *p = &g->ports[i];

		if (!p->change_pending)
			continue;
		p->change_pending = false;
		hub_port(g, p);
	}
	idle_soon(g);
}

static void hub_soon(struct usb_guest *g)
{
	g->idle_reported = false;
	if (!g->hub_ev)
		g->hub_ev =
		    sim_schedule(g->sim, 0, hub_event, g, "usb-guest-hub");
}

/* Learn the root hub's size (known once the frontend probed) and look at
 * every port, as hub_activate does. */
static void hub_activate(struct usb_guest *g)
{
	uint8_t n = g->fut ? fut_usb_num_ports(g->fut) : 0;

	if (n > SIMCFG_USB_PORTS_MAX)
		n = SIMCFG_USB_PORTS_MAX;
	if (n > g->nr_ports)
		g->nr_ports = n;
	for (uint8_t i = 1; i <= g->nr_ports; i++)
		g->ports[i].change_pending = true;
	hub_soon(g);
}

/* ---- idleness
 * --------------------------------------------------------------------- */

static bool is_idle(const struct usb_guest *g)
{
	if (!g->ever_plugged)
		return false;
	for (uint8_t i = 1; i <= g->nr_ports; i++) {
		const struct ug_port *p = &g->ports[i];

		if (p->info.state == UG_PORT_EMPTY &&
		    sim_now(g->sim) < p->expect_until_ns)
			return false;
		if (p->change_pending || p->info.state == UG_PORT_RESETTING ||
		    p->info.state == UG_PORT_ENUMERATING ||
		    (p->info.state == UG_PORT_BOUND && !p->over))
			return false;
	}
	return true;
}

static void idle_event(struct sim *sim, void *arg)
{
	struct usb_guest *g = arg;

	(void)sim;
	g->idle_ev = 0;
	if (!is_idle(g)) {
		g->idle_reported = false;
		return;
	}
	if (g->idle_reported)
		return;
	g->idle_reported = true;
	if (g->hooks.idle)
		g->hooks.idle(g->hooks.arg);
}

static void idle_soon(struct usb_guest *g)
{
	if (!g->idle_ev)
		g->idle_ev =
		    sim_schedule(g->sim, 0, idle_event, g, "usb-guest-idle");
}

/* ---- fut callbacks
 * ---------------------------------------------------------------- */

static void on_port_changed(void *arg, uint8_t port)
{
	struct usb_guest *g = arg;

	g->st.port_changes++;
	if (port == 0 || port > SIMCFG_USB_PORTS_MAX)
		return;
	if (port > g->nr_ports)
		hub_activate(g); /* the size is known by now */
	if (port > g->nr_ports)
		return;
	g->ports[port].change_pending = true;
	hub_soon(g);
}

static void on_connected(void *arg)
{
	struct usb_guest *g = arg;

	g->st.connected = true;
	hub_activate(g);
}

static void on_resumed(void *arg)
{
	struct usb_guest *g = arg;

	g->st.resumed = true;
	g->resume_epoch++;
	hub_activate(g);
}

static void on_error(void *arg)
{
	struct usb_guest *g = arg;

	g->st.error = true;
	usb_guest_stop(g);
}

static void on_closed(void *arg)
{
	struct usb_guest *g = arg;

	g->st.closed = true;
	if (g->hooks.closed)
		g->hooks.closed(g->hooks.arg);
}

/* ---- public
 * ------------------------------------------------------------------------ */

struct usb_guest *usb_guest_create(struct sim *sim, const struct simcfg *cfg,
				   unsigned ctrl,
				   const struct usb_guest_hooks *hooks)
{
	struct usb_guest *g = sim_xcalloc(1, sizeof(*g));

	SIM_ASSERT(ctrl < cfg->nr_usbctrls);
	g->sim = sim;
	g->cfg = cfg;
	g->ctrl = ctrl;
	g->hooks = *hooks;
	g->nr_devs = cfg->nr_usb_devices;
	g->devs = sim_xcalloc(g->nr_devs ? g->nr_devs : 1, sizeof(*g->devs));
	for (unsigned i = 0; i < g->nr_devs; i++)
		g->devs[i].st.out_hash = SIM_USB_AUDIO_HASH_INIT;
	for (unsigned i = 0; i <= SIMCFG_USB_PORTS_MAX; i++) {
		g->ports[i].g = g;
		g->ports[i].num = (uint8_t)i;
		g->ports[i].info.device = -1;
	}
	return g;
}

void usb_guest_callbacks(struct usb_guest *g, struct fut_callbacks *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->connected = on_connected;
	cb->resumed = on_resumed;
	cb->error = on_error;
	cb->closed = on_closed;
	cb->usb_giveback = on_giveback;
	cb->usb_port_changed = on_port_changed;
	cb->arg = g;
}

void usb_guest_attach(struct usb_guest *g, struct fut *f)
{
	g->fut = f;
}

/* The frontend handed every URB back before it went; what is left is
 * only the guest's own timers. */
void usb_guest_detach(struct usb_guest *g)
{
	g->fut = NULL;
	g->stopped = true;
	for (unsigned i = 0; i < UG_MAX_URBS; i++) {
		struct ug_urb *u = &g->urbs[i];

		if (u->timer)
			sim_cancel(g->sim, u->timer);
		u->timer = 0;
		if (u->used && u->in_flight && u->port->in_flight)
			u->port->in_flight--;
		u->in_flight = false;
	}
}

void usb_guest_stop(struct usb_guest *g)
{
	g->stopped = true;
	for (uint8_t i = 1; i <= g->nr_ports; i++) {
		struct ug_port *p = &g->ports[i];

		if (p->info.state == UG_PORT_BOUND && !p->over &&
		    p->in_flight == 0)
			ug_bind_stopped(g, p);
	}
	/* Interrupt URBs would wait for ever: ask them back (a driver's
	 * disconnect kills its URBs). */
	for (unsigned i = 0; i < UG_MAX_URBS && g->fut; i++) {
		struct ug_urb *u = &g->urbs[i];

		if (u->used && u->in_flight && u->urb.type == FUT_USB_INT &&
		    fut_usb_unlink(g->fut, u->urb.tag) == 0)
			g->st.unlinks++;
	}
	idle_soon(g);
}

void usb_guest_destroy(struct usb_guest *g)
{
	if (g->hub_ev)
		sim_cancel(g->sim, g->hub_ev);
	if (g->idle_ev)
		sim_cancel(g->sim, g->idle_ev);
	if (g->fail_ev)
		sim_cancel(g->sim, g->fail_ev);
	for (uint8_t i = 1; i <= SIMCFG_USB_PORTS_MAX; i++) {
		struct ug_port *p = &g->ports[i];

		if (p->info.state == UG_PORT_BOUND)
			p->cls->stop(g, p);
		if (p->reset_timer)
			sim_cancel(g->sim, p->reset_timer);
		if (p->grace_timer)
			sim_cancel(g->sim, p->grace_timer);
		free(p->config);
	}
	for (unsigned i = 0; i < UG_MAX_URBS; i++) {
		if (g->urbs[i].timer)
			sim_cancel(g->sim, g->urbs[i].timer);
		free(g->urbs[i].buf);
		free(g->urbs[i].packets);
	}
	for (unsigned i = 0; i < g->nr_devs; i++)
		ug_storage_free(&g->devs[i]);
	free(g->devs);
	free(g);
}

void usb_guest_stats(const struct usb_guest *g, struct ug_stats *st)
{
	*st = g->st;
}

void usb_guest_port(const struct usb_guest *g, uint8_t port,
		    struct ug_port_info *out)
{
	SIM_ASSERT(port >= 1 && port <= SIMCFG_USB_PORTS_MAX);
	*out = g->ports[port].info;
}

void usb_guest_device_stats(const struct usb_guest *g, unsigned device,
			    struct ug_device_stats *out)
{
	SIM_ASSERT(device < g->nr_devs);
	*out = g->devs[device].st;
}

void usb_guest_written_blocks(struct usb_guest *g, unsigned device,
			      ug_block_fn *fn, void *arg)
{
	SIM_ASSERT(device < g->nr_devs);
	ug_storage_written_blocks(&g->devs[device], device, fn, arg);
}
