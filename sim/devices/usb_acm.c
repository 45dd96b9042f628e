/*
 * CDC-ACM serial adapter with a loopback plug (usb_acm.h) as a class of
 * the USB device core: the descriptors with the CDC functional
 * descriptors, the PSTN class requests on the communication interface,
 * the loop buffer between bulk OUT and bulk IN, and SERIAL_STATE on the
 * interrupt endpoint.
 *
 * Setup packets and bulk data are the host's and hostile: every field is
 * checked before use, a bad one stalls. The loop is a ring: head is the
 * oldest byte, count bytes follow it (wrapping).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_acm.h"
#include "sim/devices/usb_class.h"

#define ACM_MAGIC	    0x41434d31u /* "ACM1" */
#define ACM_COMM_IFACE	    0
#define ACM_DATA_IFACE	    1
#define ACM_LINE_CODING_LEN 7
#define ACM_NOTIFY_MPS	    16
#define ACM_CS_INTERFACE    0x24 /* CDC 1.2 table 12 */
#define ACM_CONFIG_LEN	    (9 + 9 + 5 + 5 + 4 + 5 + 7 + 9 + 7 + 7)

struct acm {
	uint32_t magic;
	uint8_t loop[SIM_USB_ACM_LOOP_SIZE];
	unsigned head, count;
	struct sim_usb_acm_line_coding line;
	uint8_t control;      /* DTR, RTS */
	uint8_t serial_state; /* DCD, DSR: what the plug makes of DTR */
	bool control_seen;    /* SET_CONTROL_LINE_STATE since the reset */
	bool notify_pending;
	uint8_t events; /* break, overrun: since the last notification */
	struct sim_usb_acm_stats st;
};

static const char *const acm_strings[] = {"xpv", "xpv acm loopback",
					  "XPV-ACM-0001"};

static const struct sim_usb_acm_line_coding acm_default_line = {
    .rate = 9600,
    .stop_bits = 0,
    .parity = 0,
    .data_bits = 8,
};

static struct acm *acm_of(const struct sim_usb_device *d)
{
	struct acm *a = sim_usb_device_class_priv(d);

	SIM_ASSERT(a && a->magic == ACM_MAGIC);
	return a;
}

/* ---- notifications ---- */

static void acm_notify(struct acm *a, uint8_t events)
{
	a->events |= events;
	a->notify_pending = true;
}

/* PSTN 6.5.4: the header of table 30, then the 2-byte UART state. */
static enum sim_usb_status acm_send_notify(struct acm *a,
					   struct sim_usb_xfer *x)
{
	uint8_t *n = x->data;

	if (!a->notify_pending) {
		a->st.naks_notify++;
		return SIM_USB_NAK;
	}
	if (x->len < SIM_USB_ACM_NOTIFY_LEN)
		return SIM_USB_BABBLE;
	n[0] = SIM_USB_DIR_IN | SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE;
	n[1] = SIM_USB_ACM_SERIAL_STATE;
	usb_put_le16(n + 2, 0);
	usb_put_le16(n + 4, ACM_COMM_IFACE);
	usb_put_le16(n + 6, 2);
	usb_put_le16(n + 8, a->serial_state | a->events);
	x->actual = SIM_USB_ACM_NOTIFY_LEN;
	a->events = 0;
	a->notify_pending = false;
	a->st.notifications++;
	return SIM_USB_OK;
}

/* ---- the loop ---- */

static void loop_put(struct acm *a, const uint8_t *p, unsigned n)
{
	unsigned tail = (a->head + a->count) % SIM_USB_ACM_LOOP_SIZE;
	unsigned first = SIM_USB_ACM_LOOP_SIZE - tail;

	SIM_ASSERT(n <= SIM_USB_ACM_LOOP_SIZE - a->count);
	if (first > n)
		first = n;
	memcpy(a->loop + tail, p, first);
	memcpy(a->loop, p + first, n - first);
	a->count += n;
}

static void loop_get(struct acm *a, uint8_t *p, unsigned n)
{
	unsigned first = SIM_USB_ACM_LOOP_SIZE - a->head;

	SIM_ASSERT(n <= a->count);
	if (first > n)
		first = n;
	memcpy(p, a->loop + a->head, first);
	memcpy(p + first, a->loop, n - first);
	a->head = (a->head + n) % SIM_USB_ACM_LOOP_SIZE;
	a->count -= n;
}

/* Whole or not at all; an OUT the loop can never hold waits for an
 * empty loop and then overruns it (usb_acm.h). */
static enum sim_usb_status acm_out(struct acm *a, const struct sim_usb_xfer *x)
{
	unsigned room = SIM_USB_ACM_LOOP_SIZE - a->count;
	unsigned keep = x->len;

	if (x->len > room && (x->len <= SIM_USB_ACM_LOOP_SIZE || a->count)) {
		a->st.naks_out++;
		return SIM_USB_NAK;
	}
	if (keep > room)
		keep = room;
	if (keep)
		loop_put(a, x->data, keep);
	a->st.bytes_out += keep;
	if (keep < x->len) {
		a->st.bytes_lost += x->len - keep;
		acm_notify(a, SIM_USB_ACM_STATE_OVERRUN);
	}
	return SIM_USB_OK;
}

static enum sim_usb_status acm_in(struct acm *a, struct sim_usb_xfer *x)
{
	unsigned n = a->count;

	if (!n) {
		a->st.naks_in++;
		return SIM_USB_NAK;
	}
	if (n > x->len)
		n = x->len;
	if (n)
		loop_get(a, x->data, n);
	x->actual = n;
	a->st.bytes_in += n;
	return SIM_USB_OK;
}

/* The core passes only the three endpoints there are, not halted. */
static enum sim_usb_status acm_data(struct sim_usb_device *d,
				    struct sim_usb_xfer *x)
{
	struct acm *a = acm_of(d);

	if (x->ep == SIM_USB_ACM_EP_NOTIFY) {
		SIM_ASSERT(x->in && x->type == SIM_USB_EP_INTERRUPT);
		return acm_send_notify(a, x);
	}
	SIM_ASSERT(x->type == SIM_USB_EP_BULK &&
		   x->ep == (x->in ? SIM_USB_ACM_EP_IN : SIM_USB_ACM_EP_OUT));
	return x->in ? acm_in(a, x) : acm_out(a, x);
}

/* ---- class requests on the communication interface ---- */

static bool line_ok(const struct sim_usb_acm_line_coding *l)
{
	return l->rate && l->stop_bits <= 2 && l->parity <= 4 &&
	       ((l->data_bits >= 5 && l->data_bits <= 8) || l->data_bits == 16);
}

static enum sim_usb_status acm_set_line(struct acm *a,
					const struct sim_usb_xfer *x)
{
	const uint8_t *p = x->data;
	struct sim_usb_acm_line_coding l;

	if (x->setup.wValue || x->setup.wLength != ACM_LINE_CODING_LEN)
		return SIM_USB_STALL;
	l.rate = usb_get_le32(p);
	l.stop_bits = p[4];
	l.parity = p[5];
	l.data_bits = p[6];
	if (!line_ok(&l))
		return SIM_USB_STALL;
	a->line = l;
	a->st.line_codings++;
	return SIM_USB_OK;
}

static enum sim_usb_status acm_get_line(struct acm *a, struct sim_usb_xfer *x)
{
	uint8_t b[ACM_LINE_CODING_LEN];

	if (x->setup.wValue)
		return SIM_USB_STALL;
	usb_put_le32(b, a->line.rate);
	b[4] = a->line.stop_bits;
	b[5] = a->line.parity;
	b[6] = a->line.data_bits;
	return usb_class_reply(x, b, sizeof(b));
}

/* The plug: DTR drives DCD and DSR. */
static enum sim_usb_status acm_set_control(struct acm *a,
					   const struct sim_usb_setup *s)
{
	uint8_t state;

	if (s->wValue & ~(SIM_USB_ACM_CTRL_DTR | SIM_USB_ACM_CTRL_RTS) ||
	    s->wLength)
		return SIM_USB_STALL;
	a->control = (uint8_t)s->wValue;
	state = a->control & SIM_USB_ACM_CTRL_DTR
		    ? SIM_USB_ACM_STATE_DCD | SIM_USB_ACM_STATE_DSR
		    : 0;
	if (!a->control_seen || state != a->serial_state)
		acm_notify(a, 0);
	a->serial_state = state;
	a->control_seen = true;
	return SIM_USB_OK;
}

/* wValue is the duration in ms (0xffff: until the next SEND_BREAK, 0:
 * end it); the plug brings any break straight back. */
static enum sim_usb_status acm_send_break(struct acm *a,
					  const struct sim_usb_setup *s)
{
	if (s->wLength)
		return SIM_USB_STALL;
	if (s->wValue) {
		a->st.breaks++;
		acm_notify(a, SIM_USB_ACM_STATE_BREAK);
	}
	return SIM_USB_OK;
}

static enum sim_usb_status acm_control(struct sim_usb_device *d,
				       struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	struct acm *a = acm_of(d);
	const uint8_t out = SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE;
	const uint8_t in = SIM_USB_DIR_IN | out;

	if (s->wIndex != ACM_COMM_IFACE)
		return SIM_USB_STALL; /* the data interface has none */
	if (s->bmRequestType == out &&
	    s->bRequest == SIM_USB_ACM_SET_LINE_CODING)
		return acm_set_line(a, x);
	if (s->bmRequestType == in &&
	    s->bRequest == SIM_USB_ACM_GET_LINE_CODING)
		return acm_get_line(a, x);
	if (s->bmRequestType == out &&
	    s->bRequest == SIM_USB_ACM_SET_CONTROL_LINE_STATE)
		return acm_set_control(a, s);
	if (s->bmRequestType == out && s->bRequest == SIM_USB_ACM_SEND_BREAK)
		return acm_send_break(a, s);
	return SIM_USB_STALL;
}

/* A bus reset or a new configuration: an adapter fresh from power-up. */
static void acm_reset(struct sim_usb_device *d)
{
	struct acm *a = acm_of(d);

	a->head = a->count = 0;
	a->line = acm_default_line;
	a->control = a->serial_state = 0;
	a->control_seen = false;
	a->notify_pending = false;
	a->events = 0;
}

static void acm_destroy(struct sim_usb_device *d)
{
	struct acm *a = acm_of(d);

	a->magic = 0;
	free(a);
}

static const struct sim_usb_class acm_class = {
    .name = "acm",
    .control = acm_control,
    .data = acm_data,
    .reset = acm_reset,
    .destroy = acm_destroy,
};

/* ---- construction ---- */

/* CDC 1.2 5.2.3 and PSTN 1.2 5.3: Header (CDC 1.20), Call Management
 * (the host does it: bmCapabilities 0, data on interface 1), ACM
 * (line coding, control lines, serial state; break) and Union. */
static uint8_t *put_functional(uint8_t *p)
{
	static const uint8_t f[] = {
	    5,
	    ACM_CS_INTERFACE,
	    0x00,
	    0x20,
	    0x01,
	    5,
	    ACM_CS_INTERFACE,
	    0x01,
	    0x00,
	    ACM_DATA_IFACE,
	    4,
	    ACM_CS_INTERFACE,
	    0x02,
	    0x06,
	    5,
	    ACM_CS_INTERFACE,
	    0x06,
	    ACM_COMM_IFACE,
	    ACM_DATA_IFACE,
	};

	return usb_desc_bytes(p, f, sizeof(f));
}

/* CDC 1.2 5.1.1: the device is a CDC device (class 2) and says so. One
 * configuration, bus powered (100 mA). */
static void build_config(enum sim_usb_speed speed, uint8_t *c)
{
	bool high = speed == SIM_USB_SPEED_HIGH;
	uint16_t mps = usb_class_bulk_mps(speed);
	uint8_t *p;

	p = usb_desc_config(c, ACM_CONFIG_LEN, 2, 0x80); /* no remote wakeup */
	p = usb_desc_iface(p, ACM_COMM_IFACE, 0, 1, 0x02, 0x02, 0x01);
	p = put_functional(p);
	/* 16 ms either way: 16 frames, or 2^(8-1) microframes. */
	p = usb_desc_ep(p, SIM_USB_DIR_IN | SIM_USB_ACM_EP_NOTIFY,
			SIM_USB_EP_INTERRUPT, ACM_NOTIFY_MPS, high ? 8 : 16);
	p = usb_desc_iface(p, ACM_DATA_IFACE, 0, 2, 0x0a, 0x00, 0x00);
	p = usb_desc_ep(p, SIM_USB_DIR_IN | SIM_USB_ACM_EP_IN, SIM_USB_EP_BULK,
			mps, 0);
	p = usb_desc_ep(p, SIM_USB_ACM_EP_OUT, SIM_USB_EP_BULK, mps, 0);
	SIM_ASSERT(p == c + ACM_CONFIG_LEN);
}

int sim_usb_acm_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		    char *err, size_t errlen)
{
	uint8_t dev[USB_CLASS_DEVICE_LEN], config[ACM_CONFIG_LEN];
	struct acm *a;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	rc = usb_class_need_bulk("acm", "CDC-ACM", speed, err, errlen);
	if (rc)
		return rc;
	a = sim_xcalloc(1, sizeof(*a));
	a->magic = ACM_MAGIC;
	a->line = acm_default_line;
	usb_desc_device(dev, speed, 0x02, SIM_USB_ACM_VENDOR,
			SIM_USB_ACM_PRODUCT);
	build_config(speed, config);
	rc = usb_class_device_new(dev, config, acm_strings, 3, speed,
				  &acm_class, a, out, err, errlen);
	if (rc)
		free(a);
	return rc;
}

void sim_usb_acm_stats(const struct sim_usb_device *d,
		       struct sim_usb_acm_stats *st)
{
	const struct acm *a = acm_of(d);

	*st = a->st;
	st->buffered = a->count;
	st->line = a->line;
	st->control = a->control;
	st->serial_state = a->serial_state;
}
