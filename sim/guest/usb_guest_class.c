/*
 * The guest's class drivers other than storage (usb_guest.h): HID boot
 * keyboard and mouse (usbhid's boot path), CDC-ACM serial (cdc-acm),
 * CDC-ECM Ethernet (cdc_ether) and UAC1 audio streaming (snd-usb-audio),
 * each reduced to what checks the path through the frontend: a known
 * workload whose every byte coming back is compared.
 *
 * Each binding's work is a chain of URBs; a failure that is not the
 * guest's own timeout ends the binding (the device is gone, or broken:
 * nothing here retries on a port that may be gone).
 */
#include "usb_guest_impl.h"

#include <stdlib.h>
#include <string.h>

#include "sim/check/check.h"
#include "sim/devices/usb_acm.h"
#include "sim/devices/usb_audio.h"
#include "sim/devices/usb_ecm.h"
#include "sim/devices/usb_hid.h"
#include "sim/devices/usb_replay.h"

#define UG_TYPE_CLASS_IFACE (SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE)
#define UG_TYPE_CLASS_EP    (SIM_USB_TYPE_CLASS | SIM_USB_RECIP_ENDPOINT)
#define UG_PAGE		    4096u
#define UG_SEGS_MAX	    16u	   /* usbif: buffer and descriptor pages */
#define UG_ISO_DESC	    16u	   /* bytes per iso frame descriptor */
#define UG_EMPTY_READS_MAX  64	   /* zero-length reads one serial op takes */
#define UG_ECM_NOTES_MAX    16	   /* notifications before the link is up */
#define UG_ECM_RX_LEN	    1536   /* cdc_ether reads into 1514 or more */
#define UG_ECM_ETHERTYPE    0x88b5 /* IEEE local experimental */

static uint16_t le16(const uint8_t *b)
{
	return (uint16_t)(b[0] | b[1] << 8);
}

static bool set_interface(struct usb_guest *g, struct ug_port *p, uint8_t iface,
			  uint8_t alt, ug_urb_done_fn *done, uint64_t arg)
{
	return ug_control(g, p, SIM_USB_RECIP_INTERFACE,
			  SIM_USB_REQ_SET_INTERFACE, alt, iface, NULL, 0, done,
			  arg);
}

/* Bytes a binding puts in its op i: device, op, position, all mixed, so
 * a misplaced or stale byte differs. */
static void fill_pattern(uint8_t *dst, uint32_t n, int device, uint64_t op)
{
	uint64_t s =
	    ug_mix64((uint64_t)device << 48 ^ op * 0x9e3779b97f4a7c15ull);

	for (uint32_t i = 0; i < n; i++)
		dst[i] = (uint8_t)(ug_mix64(s + i / 8) >> (8 * (i % 8)));
}

/* ---- HID: boot keyboard and mouse -------------------------------------------
 */

int usb_guest_keyboard_script(const struct simcfg_usb_device *d,
			      struct sim_usb_hid_key_event *ev, unsigned max)
{
	unsigned n = (unsigned)strnlen(d->keys, sizeof(d->keys));

	for (unsigned i = 0; i < n; i++) {
		uint8_t k = sim_usb_hid_usage_of_char(d->keys[i]);

		if (!k)
			return -1;
		if (i < max) {
			ev[i].at_ns = d->keys_at_ns + i * d->key_interval_ns;
			ev[i].modifiers = 0;
			ev[i].keycode = k;
		}
	}
	return (int)n;
}

int usb_guest_mouse_script(const struct simcfg_usb_device *d,
			   struct sim_usb_hid_mouse_event *ev, unsigned max)
{
	for (uint32_t j = 0; j < d->moves && j < max; j++) {
		sim_usb_hid_mouse_pattern(j, &ev[j]);
		ev[j].at_ns = d->keys_at_ns + j * d->key_interval_ns;
	}
	return d->moves > INT32_MAX ? -1 : (int)d->moves;
}

struct hid_bind {
	bool mouse;
	bool captured; /* no script: ops reports, contents unchecked */
	uint8_t iface;
	struct ug_ep ep;
	uint8_t last[8]; /* the previous keyboard report */
	unsigned script; /* events the device types */
	uint64_t deadline_ns; /* give up waiting for the script then */
};

/* The reader gives up this long after the script's last event was due
 * (or after it bound, if later), plus a poll per report: a report a
 * backend dropped or misreported never comes, and waiting for it would
 * keep the guest busy for ever. */
#define HID_GRACE_NS	   1000000000ull
#define HID_PER_EVENT_NS 20000000ull /* press and release, 10 ms polls */

static uint64_t hid_deadline(const struct simcfg_usb_device *c,
			     unsigned script, uint64_t bound_ns)
{
	uint64_t last_due = c->keys_at_ns +
			    (script ? script - 1 : 0) * c->key_interval_ns;

	return (last_due > bound_ns ? last_due : bound_ns) + HID_GRACE_NS +
	       script * HID_PER_EVENT_NS;
}

/* A captured device's reader has no script to know when reports are
 * due: it gives up when none came for this long, the longest the replay
 * holds an IN back (the capture's wait, usb_replay.h) and a grace. */
#define HID_CAPTURE_IDLE_NS (SIM_USB_REPLAY_WAIT_MAX_NS + HID_GRACE_NS)

static unsigned hid_script_len(const struct simcfg_usb_device *c)
{
	if (c->cls == SIMCFG_USB_MOUSE)
		return c->moves;
	return (unsigned)strnlen(c->keys, sizeof(c->keys));
}

/* One event arrived: it must be the next of the script. After a gap (a
 * binding that ended with a report possibly lost) the first event may
 * be a later one: those skipped are counted lost. */
static void hid_event(struct usb_guest *g, struct ug_port *p,
		      struct hid_bind *h,
		      bool (*is)(const struct simcfg_usb_device *, unsigned,
				 const uint8_t *),
		      const uint8_t *rep)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ug_dev *d = ug_port_dev(g, p);
	unsigned at = d->hid_next;

	if (d->hid_gap) {
		while (at < h->script && !is(c, at, rep))
			at++;
		d->hid_gap = false;
		if (at < h->script) {
			d->st.keys_lost += at - d->hid_next;
			d->hid_next = at;
		} else {
			at = d->hid_next;
		}
	}
	if (at < h->script && is(c, at, rep)) {
		d->st.keys_seen++;
		d->hid_next = at + 1;
		return;
	}
	sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
		      "usb %s device %d: report %02x %02x %02x is not "
		      "script event %u",
		      h->mouse ? "mouse" : "keyboard", p->info.device, rep[0],
		      rep[1], rep[2], at);
	if (at < h->script)
		d->hid_next = at + 1; /* stay in step with the script */
}

/* rep: modifiers, 0, the usage pressed. */
static bool is_key(const struct simcfg_usb_device *c, unsigned i,
		   const uint8_t *rep)
{
	return sim_usb_hid_usage_of_char(c->keys[i]) == rep[2];
}

static bool is_move(const struct simcfg_usb_device *c, unsigned i,
		    const uint8_t *rep)
{
	struct sim_usb_hid_mouse_event ev;

	(void)c;
	sim_usb_hid_mouse_pattern(i, &ev);
	return rep[0] == ev.buttons && (int8_t)rep[1] == ev.dx &&
	       (int8_t)rep[2] == ev.dy;
}

/* Boot keyboard report: a press is a usage not in the previous one. */
static void keyboard_report(struct usb_guest *g, struct ug_port *p,
			    struct hid_bind *h, const uint8_t *r, uint32_t n)
{
	if (n < 8) {
		sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
			      "usb keyboard device %d: %u-byte boot report",
			      p->info.device, n);
		return;
	}
	for (int i = 2; i < 8; i++) {
		uint8_t k = r[i];

		/* 0: none; 1: ErrorRollOver (HID 1.11 table 12). */
		if (k > 1 && !memchr(h->last + 2, k, 6)) {
			uint8_t rep[3] = {r[0], 0, k};

			hid_event(g, p, h, is_key, rep);
		}
	}
	memcpy(h->last, r, 8);
}

static void hid_read(struct usb_guest *g, struct ug_port *p);

static bool keys_up(const uint8_t *rep)
{
	for (int i = 2; i < 8; i++)
		if (rep[i] > 1)
			return false;
	return true;
}

/* Past the deadline: what has not arrived is lost (keys_lost). Not a
 * verdict here: a backend may drop requests (the reader's last URB was
 * then unlinked unanswered); the run judges lost keys against what its
 * backend did (pvusb_run.c). */
static void hid_give_up(struct usb_guest *g, struct ug_port *p,
			struct hid_bind *h)
{
	struct ug_dev *d = ug_port_dev(g, p);

	d->st.keys_lost += h->script - d->hid_next;
	d->hid_next = h->script;
	ug_bind_stopped(g, p);
}

static void hid_report_done(struct usb_guest *g, struct ug_port *p,
			    struct ug_urb *u, const struct fut_usb_result *res)
{
	struct hid_bind *h = p->cls_state;
	struct ug_dev *d = ug_port_dev(g, p);

	if (res->status) {
		if (h->captured && sim_now(g->sim) >= h->deadline_ns)
			ug_bind_finished(g, p); /* the recording ran out */
		else if (sim_now(g->sim) >= h->deadline_ns &&
			 d->hid_next < h->script)
			hid_give_up(g, p, h); /* unlinked at the deadline */
		else
			ug_bind_stopped(g, p);
		return;
	}
	d->st.reports++;
	d->st.last_ns = sim_now(g->sim);
	if (h->captured) {
		/* A report is an op; what it says is the recording's. */
		ug_op_end(g, p, true, res->actual);
		h->deadline_ns = sim_now(g->sim) + HID_CAPTURE_IDLE_NS;
	} else if (!h->mouse) {
		keyboard_report(g, p, h, u->buf, res->actual);
	} else if (res->actual < 3) {
		sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
			      "usb mouse device %d: %u-byte boot report",
			      p->info.device, res->actual);
	} else {
		hid_event(g, p, h, is_move, u->buf);
	}
	hid_read(g, p);
}


/* The reader keeps one interrupt URB queued until the script is done. */
static void hid_read(struct usb_guest *g, struct ug_port *p)
{
	struct hid_bind *h = p->cls_state;
	struct ug_dev *d = ug_port_dev(g, p);
	uint64_t now = sim_now(g->sim);
	uint64_t deadline = h->deadline_ns;

	/* Done at the last event (a keyboard's: once its key is up); a
	 * captured device's after ops reports. */
	if (h->captured ? ug_ops_done(p) >= ug_port_cfg(g, p)->ops
			: d->hid_next >= h->script &&
				  (h->mouse || keys_up(h->last))) {
		ug_bind_finished(g, p);
		return;
	}
	if (!ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	if (now >= deadline && h->captured) {
		ug_bind_finished(g, p); /* the recording ran out */
		return;
	}
	if (now >= deadline && d->hid_next < h->script) {
		hid_give_up(g, p, h);
		return;
	}
	ug_op_begin(g, p); /* first_ns: when the reader started */
	/* Unlinked at the deadline (then stopped); after the last event
	 * only the key release is awaited, for a grace at most. */
	ug_transfer_timeout(g, p, &h->ep, NULL, 8, hid_report_done, 0,
			    now < deadline ? deadline - now : HID_GRACE_NS);
}

enum { HID_SET_IDLE, HID_SET_PROTOCOL };

static void hid_setup_done(struct usb_guest *g, struct ug_port *p,
			   struct ug_urb *u, const struct fut_usb_result *res)
{
	struct hid_bind *h = p->cls_state;

	/* HID 7.2.4: SET_IDLE is optional for a mouse; a STALL is no
	 * failure. SET_PROTOCOL is required of boot devices, but a capture
	 * of a driver that never sent it (Linux's usbhid keeps the report
	 * protocol) STALLs it: the reader goes on. */
	bool stall_ok = u->arg == HID_SET_IDLE || h->captured;

	if ((res->status && !(res->status == -32 && stall_ok)) ||
	    !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	if (u->arg == HID_SET_IDLE)
		ug_control(g, p, UG_TYPE_CLASS_IFACE, SIM_USB_HID_SET_PROTOCOL,
			   0 /* boot */, h->iface, NULL, 0, hid_setup_done,
			   HID_SET_PROTOCOL);
	else
		hid_read(g, p);
}

static void hid_start(struct usb_guest *g, struct ug_port *p)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct hid_bind *h = sim_xcalloc(1, sizeof(*h));
	int iface = ug_find_iface(p, 3, 1); /* boot subclass */

	p->cls_state = h;
	h->mouse = c->cls == SIMCFG_USB_MOUSE;
	h->captured = p->captured;
	h->script = h->captured ? 0 : hid_script_len(c);
	h->deadline_ns = h->captured
			     ? sim_now(g->sim) + HID_CAPTURE_IDLE_NS
			     : hid_deadline(c, h->script, sim_now(g->sim));
	if (iface < 0 ||
	    !ug_find_ep(p, (uint8_t)iface, 0, SIM_USB_EP_INTERRUPT, true,
			&h->ep) ||
	    !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	h->iface = (uint8_t)iface;
	/* Reports only on change (idle rate 0), in the boot protocol. */
	ug_control(g, p, UG_TYPE_CLASS_IFACE, SIM_USB_HID_SET_IDLE, 0, h->iface,
		   NULL, 0, hid_setup_done, HID_SET_IDLE);
}

static void free_state(struct usb_guest *g, struct ug_port *p)
{
	(void)g;
	free(p->cls_state);
	p->cls_state = NULL;
}

const struct ug_class ug_hid_class = {
    .name = "usbhid",
    .start = hid_start,
    .stop = free_state,
};

/* ---- CDC-ACM serial
 * ------------------------------------------------------------- */

struct ser_bind {
	uint8_t comm;
	struct ug_ep in, out;
	uint8_t *sent; /* the op's bytes */
	uint32_t block, got;
	unsigned empty_reads;
	bool op_active;
};

enum { SER_CODING, SER_LINES };

static void ser_next(struct usb_guest *g, struct ug_port *p);

static void ser_op_failed(struct usb_guest *g, struct ug_port *p)
{
	struct ser_bind *s = p->cls_state;

	s->op_active = false;
	ug_op_end(g, p, false, 0);
	ug_bind_stopped(g, p);
}

static void ser_read_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ser_bind *s = p->cls_state;
	struct ug_dev *d = ug_port_dev(g, p);

	if (res->status ||
	    (res->actual == 0 && ++s->empty_reads > UG_EMPTY_READS_MAX)) {
		ser_op_failed(g, p);
		return;
	}
	if (c->verify && memcmp(u->buf, s->sent + s->got, res->actual) != 0)
		sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
			      "usb serial device %d op %llu: bytes %u..%u "
			      "came back different",
			      p->info.device,
			      (unsigned long long)ug_ops_done(p), s->got,
			      s->got + res->actual);
	else if (c->verify)
		d->st.verified_bytes += res->actual;
	s->got += res->actual;
	if (s->got < s->block) {
		if (ug_may_continue(g, p))
			ug_transfer(g, p, &s->in, NULL, s->block - s->got,
				    ser_read_done, 0);
		else
			ser_op_failed(g, p);
		return;
	}
	s->op_active = false;
	ug_op_end(g, p, true, s->block);
	ser_next(g, p);
}

static void ser_write_done(struct usb_guest *g, struct ug_port *p,
			   struct ug_urb *u, const struct fut_usb_result *res)
{
	struct ser_bind *s = p->cls_state;

	(void)u;
	/* A write that failed may or may not be in the loop: the stream
	 * cannot be compared after it. */
	if (res->status || !ug_may_continue(g, p)) {
		ser_op_failed(g, p);
		return;
	}
	s->got = 0;
	s->empty_reads = 0;
	ug_transfer(g, p, &s->in, NULL, s->block, ser_read_done, 0);
}

static void ser_next(struct usb_guest *g, struct ug_port *p)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ser_bind *s = p->cls_state;

	if (ug_ops_done(p) >= c->ops) {
		ug_bind_finished(g, p);
		return;
	}
	if (!ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	fill_pattern(s->sent, s->block, p->info.device, ug_ops_done(p));
	ug_op_begin(g, p);
	s->op_active = true;
	ug_transfer(g, p, &s->out, s->sent, s->block, ser_write_done, 0);
}

static void ser_setup_done(struct usb_guest *g, struct ug_port *p,
			   struct ug_urb *u, const struct fut_usb_result *res)
{
	struct ser_bind *s = p->cls_state;

	if (res->status || !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	if (u->arg == SER_CODING)
		ug_control(g, p, UG_TYPE_CLASS_IFACE,
			   SIM_USB_ACM_SET_CONTROL_LINE_STATE,
			   SIM_USB_ACM_CTRL_DTR | SIM_USB_ACM_CTRL_RTS, s->comm,
			   NULL, 0, ser_setup_done, SER_LINES);
	else
		ser_next(g, p);
}

static void ser_start(struct usb_guest *g, struct ug_port *p)
{
	/* 115200 8N1 (PSTN 1.2 table 17). */
	static const uint8_t coding[7] = {0x00, 0xc2, 0x01, 0x00, 0, 0, 8};
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ser_bind *s = sim_xcalloc(1, sizeof(*s));
	int comm = ug_find_iface(p, 2, 2), data = ug_find_iface(p, 0x0a, -1);

	p->cls_state = s;
	s->block = c->block;
	if (comm < 0 || data < 0 || c->block == 0 ||
	    c->block > SIM_USB_ACM_LOOP_SIZE ||
	    !ug_find_ep(p, (uint8_t)data, 0, SIM_USB_EP_BULK, true, &s->in) ||
	    !ug_find_ep(p, (uint8_t)data, 0, SIM_USB_EP_BULK, false, &s->out) ||
	    !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	s->comm = (uint8_t)comm;
	s->sent = sim_xmalloc(s->block);
	ug_control(g, p, UG_TYPE_CLASS_IFACE, SIM_USB_ACM_SET_LINE_CODING, 0,
		   s->comm, coding, sizeof(coding), ser_setup_done, SER_CODING);
}

static void ser_stop(struct usb_guest *g, struct ug_port *p)
{
	struct ser_bind *s = p->cls_state;

	if (s->op_active)
		ug_op_end(g, p, false, 0);
	free(s->sent);
	free_state(g, p);
}

const struct ug_class ug_serial_class = {
    .name = "cdc-acm",
    .start = ser_start,
    .stop = ser_stop,
};

/* ---- CDC-ECM Ethernet
 * ----------------------------------------------------------- */

struct eth_bind {
	uint8_t comm, data, mac_index;
	struct ug_ep in, out, notify;
	uint8_t mac[6];
	uint8_t *frame; /* the op's frame as sent */
	uint32_t block;
	unsigned notes;
	bool op_active;
};

enum { ETH_MAC, ETH_ALT, ETH_FILTER };

static void eth_next(struct usb_guest *g, struct ug_port *p);

static int hex_digit(uint16_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* ECM 1.2 5.4: iMACAddress is 12 hex digits, UTF-16LE. */
static bool mac_parse(const uint8_t *s, uint32_t n, uint8_t mac[6])
{
	if (n < 26 || s[0] < 26 || s[1] != SIM_USB_DT_STRING)
		return false;
	for (int i = 0; i < 12; i++) {
		int v = hex_digit(le16(s + 2 + 2 * i));

		if (v < 0)
			return false;
		mac[i / 2] = (uint8_t)(i % 2 ? mac[i / 2] | v : v << 4);
	}
	return true;
}

/* A frame from a made-up peer to the adapter's address goes out; its
 * reflection comes back addressed to us (DIRECTED passes it). */
static void eth_frame(struct eth_bind *e, int device, uint64_t op)
{
	static const uint8_t peer[6] = {0x02, 0x00, 0x00, 'X', 'P', 'V'};

	memcpy(e->frame, peer, 6);
	memcpy(e->frame + 6, e->mac, 6);
	e->frame[12] = UG_ECM_ETHERTYPE >> 8;
	e->frame[13] = UG_ECM_ETHERTYPE & 0xff;
	fill_pattern(e->frame + 14, e->block - 14, device, op);
}

static void eth_op_failed(struct usb_guest *g, struct ug_port *p)
{
	struct eth_bind *e = p->cls_state;

	e->op_active = false;
	ug_op_end(g, p, false, 0);
	ug_bind_stopped(g, p);
}

static void eth_recv_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct eth_bind *e = p->cls_state;
	struct ug_dev *d = ug_port_dev(g, p);
	const uint8_t *r = u->buf;

	if (res->status) {
		eth_op_failed(g, p);
		return;
	}
	if (c->verify) {
		/* The reflector swaps the addresses, nothing else. */
		bool same = res->actual == e->block &&
			    !memcmp(r, e->frame + 6, 6) &&
			    !memcmp(r + 6, e->frame, 6) &&
			    !memcmp(r + 12, e->frame + 12, e->block - 12);

		if (!same)
			sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
				      "usb ethernet device %d op %llu: the "
				      "reflection (%u bytes) differs from the "
				      "%u-byte frame sent",
				      p->info.device,
				      (unsigned long long)ug_ops_done(p),
				      res->actual, e->block);
		else
			d->st.verified_bytes += e->block;
	}
	e->op_active = false;
	ug_op_end(g, p, true, e->block);
	eth_next(g, p);
}

static void eth_sent_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res)
{
	struct eth_bind *e = p->cls_state;

	(void)u;
	if (res->status || !ug_may_continue(g, p)) {
		eth_op_failed(g, p);
		return;
	}
	ug_transfer(g, p, &e->in, NULL, UG_ECM_RX_LEN, eth_recv_done, 0);
}

static void eth_next(struct usb_guest *g, struct ug_port *p)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct eth_bind *e = p->cls_state;

	if (ug_ops_done(p) >= c->ops) {
		ug_bind_finished(g, p);
		return;
	}
	if (!ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	eth_frame(e, p->info.device, ug_ops_done(p));
	ug_op_begin(g, p);
	e->op_active = true;
	ug_transfer(g, p, &e->out, e->frame, e->block, eth_sent_done, 0);
}

/* ECM 1.2 6.3.1: traffic waits for NETWORK_CONNECTION saying connected. */
static void eth_wait_link(struct usb_guest *g, struct ug_port *p,
			  struct eth_bind *e);

static void eth_note_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res)
{
	struct eth_bind *e = p->cls_state;
	const uint8_t *n = u->buf;

	if (res->status || !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	if (res->actual >= 8 && n[0] == 0xa1 &&
	    n[1] == SIM_USB_ECM_NETWORK_CONNECTION && le16(n + 2) == 1) {
		eth_next(g, p);
		return;
	}
	if (++e->notes > UG_ECM_NOTES_MAX) {
		ug_bind_stopped(g, p);
		return;
	}
	eth_wait_link(g, p, e);
}

/* The link-up notification comes at once from a working adapter; one
 * not there in 5 s (a backend that dropped the request) ends the
 * binding. */
#define UG_ECM_LINK_TIMEOUT_NS 5000000000ull

static void eth_wait_link(struct usb_guest *g, struct ug_port *p,
			  struct eth_bind *e)
{
	ug_transfer_timeout(g, p, &e->notify, NULL, 16, eth_note_done, 0,
			    UG_ECM_LINK_TIMEOUT_NS);
}

static void eth_setup_done(struct usb_guest *g, struct ug_port *p,
			   struct ug_urb *u, const struct fut_usb_result *res)
{
	struct eth_bind *e = p->cls_state;

	if (res->status || !ug_may_continue(g, p) ||
	    (u->arg == ETH_MAC && !mac_parse(u->buf, res->actual, e->mac))) {
		ug_bind_stopped(g, p);
		return;
	}
	switch (u->arg) {
	case ETH_MAC:
		set_interface(g, p, e->data, 1, eth_setup_done, ETH_ALT);
		return;
	case ETH_ALT:
		ug_control(g, p, UG_TYPE_CLASS_IFACE,
			   SIM_USB_ECM_SET_PACKET_FILTER,
			   SIM_USB_ECM_FILTER_DEFAULT, e->comm, NULL, 0,
			   eth_setup_done, ETH_FILTER);
		return;
	default:
		eth_wait_link(g, p, e);
	}
}

static void eth_start(struct usb_guest *g, struct ug_port *p)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct eth_bind *e = sim_xcalloc(1, sizeof(*e));
	int comm = ug_find_iface(p, 2, 6), data = ug_find_iface(p, 0x0a, -1);
	const uint8_t *enf = NULL;
	uint8_t enf_len = 0;

	p->cls_state = e;
	e->block = c->block;
	if (comm >= 0)
		enf = ug_find_cs(p, (uint8_t)comm, 0x0f, &enf_len);
	if (!enf || enf_len < 13 || enf[3] == 0 || data < 0 ||
	    c->block < SIM_USB_ECM_FRAME_MIN ||
	    c->block > SIM_USB_ECM_FRAME_MAX ||
	    !ug_find_ep(p, (uint8_t)comm, 0, SIM_USB_EP_INTERRUPT, true,
			&e->notify) ||
	    !ug_find_ep(p, (uint8_t)data, 1, SIM_USB_EP_BULK, true, &e->in) ||
	    !ug_find_ep(p, (uint8_t)data, 1, SIM_USB_EP_BULK, false, &e->out) ||
	    !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	e->comm = (uint8_t)comm;
	e->data = (uint8_t)data;
	e->mac_index = enf[3];
	e->frame = sim_xmalloc(e->block);
	ug_control(g, p, SIM_USB_DIR_IN, SIM_USB_REQ_GET_DESCRIPTOR,
		   (uint16_t)(SIM_USB_DT_STRING << 8 | e->mac_index), p->langid,
		   NULL, 255, eth_setup_done, ETH_MAC);
}

static void eth_stop(struct usb_guest *g, struct ug_port *p)
{
	struct eth_bind *e = p->cls_state;

	if (e->op_active)
		ug_op_end(g, p, false, 0);
	free(e->frame);
	free_state(g, p);
}

const struct ug_class ug_ethernet_class = {
    .name = "cdc_ether",
    .start = eth_start,
    .stop = eth_stop,
};

/* ---- UAC1 audio
 * ------------------------------------------------------------------ */

struct au_bind {
	uint8_t spk, mic;
	struct ug_ep out, in;
	uint32_t packets;	    /* per URB */
	uint64_t out_done, in_done; /* URBs each way, this binding's share */
	bool out_busy, in_busy;
	uint64_t mic_pos; /* the microphone's next sample frame */
};

enum { AU_SPK_ALT, AU_MIC_ALT, AU_SPK_FREQ, AU_MIC_FREQ };

static void au_pump(struct usb_guest *g, struct ug_port *p);

/* The speaker's signal: sample frame k of device `device`. */
static void au_signal(uint8_t *dst, uint64_t k)
{
	uint16_t left = (uint16_t)(k * 3),
		 right = (uint16_t)(k * 7919 ^ 0x5555);

	dst[0] = (uint8_t)left;
	dst[1] = (uint8_t)(left >> 8);
	dst[2] = (uint8_t)right;
	dst[3] = (uint8_t)(right >> 8);
}

static bool mic_packet_ok(const uint8_t *b, uint64_t pos)
{
	for (unsigned f = 0; f < SIM_USB_AUDIO_FRAMES; f++) {
		int16_t l, r;

		sim_usb_audio_mic_sample(pos + f, &l, &r);
		if (le16(b + 4 * f) != (uint16_t)l ||
		    le16(b + 4 * f + 2) != (uint16_t)r)
			return false;
	}
	return true;
}

/* Packets checked one by one: status and length, and for the
 * microphone the samples themselves. */
static bool au_check(struct usb_guest *g, struct ug_port *p, struct au_bind *a,
		     const struct ug_urb *u, bool in)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct ug_dev *d = ug_port_dev(g, p);
	bool all_ok = true;

	for (uint32_t i = 0; i < u->urb.npackets; i++) {
		const struct fut_usb_iso_packet *pk = &u->packets[i];
		const uint8_t *b = u->buf + pk->offset;
		uint64_t pos = a->mic_pos + (uint64_t)i * SIM_USB_AUDIO_FRAMES;

		d->st.iso_packets++;
		if (pk->status || pk->actual != SIM_USB_AUDIO_PACKET) {
			d->st.iso_packets_bad++;
			all_ok = false;
			continue;
		}
		if (!in || !c->verify)
			continue;
		if (mic_packet_ok(b, pos)) {
			d->st.verified_bytes += SIM_USB_AUDIO_PACKET;
			continue;
		}
		sim_violation(g->sim, SIM_CHECK_DATA_CORRUPT,
			      "usb audio device %d: microphone packet at "
			      "sample %llu differs",
			      p->info.device, (unsigned long long)pos);
		all_ok = false;
	}
	return all_ok;
}

static void au_done(struct usb_guest *g, struct ug_port *p, struct ug_urb *u,
		    const struct fut_usb_result *res)
{
	struct au_bind *a = p->cls_state;
	struct ug_dev *d = ug_port_dev(g, p);
	bool in = u->arg != 0, ok;

	if (in)
		a->in_busy = false;
	else
		a->out_busy = false;
	if (res->status) {
		ug_op_end(g, p, false, 0);
		ug_bind_stopped(g, p);
		return;
	}
	ok = au_check(g, p, a, u, in);
	if (in) {
		/* Each packet moves the microphone's clock by 48. */
		a->mic_pos += (uint64_t)u->urb.npackets * SIM_USB_AUDIO_FRAMES;
		a->in_done++;
	} else {
		/* The speaker took every packet of a completed URB. */
		d->st.out_hash =
		    sim_usb_audio_hash(d->st.out_hash, u->buf, u->urb.len);
		a->out_done++;
	}
	ug_op_end(g, p, ok, ok ? u->urb.len : 0);
	au_pump(g, p);
}

#define AU_PACKET_NS	    1000000ull
#define AU_TIMEOUT_SLACK_NS 1000000000ull

static void au_submit(struct usb_guest *g, struct ug_port *p, struct au_bind *a,
		      bool in)
{
	uint32_t len = a->packets * SIM_USB_AUDIO_PACKET;
	struct ug_urb *u = ug_urb_new(g, p, len, a->packets);
	struct ug_dev *d = ug_port_dev(g, p);

	if (!u)
		return;
	u->urb.type = FUT_USB_ISO;
	u->urb.in = in;
	u->urb.ep = (in ? a->in.addr : a->out.addr) & 0x0f;
	u->urb.interval = in ? a->in.interval : a->out.interval;
	for (uint32_t i = 0; i < a->packets; i++) {
		u->packets[i].offset = i * SIM_USB_AUDIO_PACKET;
		u->packets[i].length = SIM_USB_AUDIO_PACKET;
	}
	if (!in) {
		for (uint32_t f = 0; f < len / SIM_USB_AUDIO_FRAME_SIZE; f++)
			au_signal(u->buf + f * SIM_USB_AUDIO_FRAME_SIZE,
				  d->out_pos + f);
		d->out_pos += len / SIM_USB_AUDIO_FRAME_SIZE;
		a->out_busy = true;
	} else {
		a->in_busy = true;
	}
	ug_op_begin(g, p);
	/* The bus schedules iso URBs: one packet a millisecond (both
	 * speeds, usb_audio.h). One that is not back a second after its
	 * last packet was due is unlinked, as a stream stop would. */
	ug_urb_submit(g, u, AU_TIMEOUT_SLACK_NS + a->packets * AU_PACKET_NS,
		      au_done, in);
}

/* Both directions stream side by side, one URB in flight each. */
static void au_pump(struct usb_guest *g, struct ug_port *p)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct au_bind *a = p->cls_state;
	bool more = a->out_done < c->ops || a->in_done < c->ops;

	if (p->over)
		return;
	if (!more && !a->out_busy && !a->in_busy) {
		ug_bind_finished(g, p);
		return;
	}
	if (!ug_may_continue(g, p)) {
		if (!a->out_busy && !a->in_busy)
			ug_bind_stopped(g, p);
		return;
	}
	if (!a->out_busy && a->out_done < c->ops)
		au_submit(g, p, a, false);
	if (!a->in_busy && a->in_done < c->ops && !p->over)
		au_submit(g, p, a, true);
}

static void au_setup_done(struct usb_guest *g, struct ug_port *p,
			  struct ug_urb *u, const struct fut_usb_result *res)
{
	static const uint8_t rate[3] = {SIM_USB_AUDIO_RATE & 0xff,
					(SIM_USB_AUDIO_RATE >> 8) & 0xff,
					SIM_USB_AUDIO_RATE >> 16};
	struct au_bind *a = p->cls_state;

	if (res->status || !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	switch (u->arg) {
	case AU_SPK_ALT:
		set_interface(g, p, a->mic, 1, au_setup_done, AU_MIC_ALT);
		return;
	case AU_MIC_ALT: /* the microphone's clock restarts at 0 */
	case AU_SPK_FREQ:
		ug_control(g, p, UG_TYPE_CLASS_EP, SIM_USB_AUDIO_SET_CUR,
			   SIM_USB_AUDIO_SAMPLING_FREQ << 8,
			   u->arg == AU_MIC_ALT ? a->out.addr : a->in.addr,
			   rate, sizeof(rate), au_setup_done,
			   u->arg == AU_MIC_ALT ? AU_SPK_FREQ : AU_MIC_FREQ);
		return;
	default:
		au_pump(g, p);
	}
}

/* usbif carries at most 16 pages of buffer and frame descriptors. */
static bool au_fits(uint32_t packets)
{
	uint32_t len = packets * SIM_USB_AUDIO_PACKET;
	uint32_t pages = (len + UG_PAGE - 1) / UG_PAGE +
			 (packets * UG_ISO_DESC + UG_PAGE - 1) / UG_PAGE;

	return packets > 0 && len <= UG_SEGS_MAX * UG_PAGE &&
	       pages <= UG_SEGS_MAX;
}

/* The streaming interface whose alternate 1 has an iso endpoint of this
 * direction; -1 if none. */
static int au_stream(const struct ug_port *p, bool in, struct ug_ep *ep)
{
	uint8_t n = p->config[4]; /* bNumInterfaces */

	for (uint8_t i = 0; i < n; i++)
		if (ug_find_ep(p, i, 1, SIM_USB_EP_ISO, in, ep))
			return i;
	return -1;
}

static void au_start(struct usb_guest *g, struct ug_port *p)
{
	const struct simcfg_usb_device *c = ug_port_cfg(g, p);
	struct au_bind *a = sim_xcalloc(1, sizeof(*a));
	int spk = au_stream(p, false, &a->out),
	    mic = au_stream(p, true, &a->in);

	p->cls_state = a;
	if (spk < 0 || mic < 0 || c->block > UINT32_MAX / UG_PAGE ||
	    !au_fits(c->block) || !ug_may_continue(g, p)) {
		ug_bind_stopped(g, p);
		return;
	}
	a->spk = (uint8_t)spk;
	a->mic = (uint8_t)mic;
	a->packets = c->block;
	/* A binding carried over from a resume owes what is left. */
	a->out_done = (ug_ops_done(p) + 1) / 2;
	a->in_done = ug_ops_done(p) / 2;
	set_interface(g, p, a->spk, 1, au_setup_done, AU_SPK_ALT);
}

static void au_stop(struct usb_guest *g, struct ug_port *p)
{
	struct au_bind *a = p->cls_state;

	if (a->out_busy) /* cut short: failed */
		ug_op_end(g, p, false, 0);
	if (a->in_busy)
		ug_op_end(g, p, false, 0);
	free_state(g, p);
}

const struct ug_class ug_audio_class = {
    .name = "snd-usb-audio",
    .start = au_start,
    .stop = au_stop,
};
