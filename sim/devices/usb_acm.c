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
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_acm.h"

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

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static struct acm *acm_of(const struct sim_usb_device *d)
{
	struct acm *a = sim_usb_device_class_priv(d);

	SIM_ASSERT(a && a->magic == ACM_MAGIC);
	return a;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
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
	put16(n + 2, 0);
	put16(n + 4, ACM_COMM_IFACE);
	put16(n + 6, 2);
	put16(n + 8, a->serial_state | a->events);
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
	l.rate = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		 (uint32_t)p[3] << 24;
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
	uint32_t n = ACM_LINE_CODING_LEN;

	if (x->setup.wValue)
		return SIM_USB_STALL;
	put16(b, (uint16_t)a->line.rate);
	put16(b + 2, (uint16_t)(a->line.rate >> 16));
	b[4] = a->line.stop_bits;
	b[5] = a->line.parity;
	b[6] = a->line.data_bits;
	if (n > x->setup.wLength)
		n = x->setup.wLength;
	if (n)
		memcpy(x->data, b, n);
	x->actual = n;
	return SIM_USB_OK;
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

/* CDC 1.2 5.1.1: the device is a CDC device (class 2) and says so. */
static void build_device_desc(enum sim_usb_speed speed, uint8_t *dev)
{
	memset(dev, 0, 18);
	dev[0] = 18;
	dev[1] = SIM_USB_DT_DEVICE;
	put16(dev + 2, speed == SIM_USB_SPEED_HIGH ? 0x0200 : 0x0110);
	dev[4] = 0x02; /* bDeviceClass: communications */
	dev[7] = 64;   /* bMaxPacketSize0 */
	put16(dev + 8, SIM_USB_ACM_VENDOR);
	put16(dev + 10, SIM_USB_ACM_PRODUCT);
	put16(dev + 12, 0x0100); /* bcdDevice 1.00 */
	dev[14] = 1;		 /* iManufacturer */
	dev[15] = 2;		 /* iProduct */
	dev[16] = 3;		 /* iSerialNumber */
	dev[17] = 1;		 /* bNumConfigurations */
}

static uint8_t *put_iface(uint8_t *p, uint8_t num, uint8_t neps, uint8_t cls,
			  uint8_t sub, uint8_t proto)
{
	p[0] = 9;
	p[1] = SIM_USB_DT_INTERFACE;
	p[2] = num;
	p[4] = neps;
	p[5] = cls;
	p[6] = sub;
	p[7] = proto;
	return p + 9;
}

static uint8_t *put_ep(uint8_t *p, uint8_t addr, enum sim_usb_ep_type type,
		       uint16_t mps, uint8_t interval)
{
	p[0] = 7;
	p[1] = SIM_USB_DT_ENDPOINT;
	p[2] = addr;
	p[3] = type;
	put16(p + 4, mps);
	p[6] = interval;
	return p + 7;
}

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

	memcpy(p, f, sizeof(f));
	return p + sizeof(f);
}

/* One configuration, bus powered (100 mA). */
static void build_config(enum sim_usb_speed speed, uint8_t *c)
{
	bool high = speed == SIM_USB_SPEED_HIGH;
	uint16_t mps = high ? 512 : 64;
	uint8_t *p = c + 9;

	memset(c, 0, ACM_CONFIG_LEN);
	c[0] = 9;
	c[1] = SIM_USB_DT_CONFIG;
	put16(c + 2, ACM_CONFIG_LEN);
	c[4] = 2;    /* bNumInterfaces */
	c[5] = 1;    /* bConfigurationValue */
	c[7] = 0x80; /* bus powered, no remote wakeup */
	c[8] = 50;   /* bMaxPower, 2 mA units */
	p = put_iface(p, ACM_COMM_IFACE, 1, 0x02, 0x02, 0x01);
	p = put_functional(p);
	/* 16 ms either way: 16 frames, or 2^(8-1) microframes. */
	p = put_ep(p, SIM_USB_DIR_IN | SIM_USB_ACM_EP_NOTIFY,
		   SIM_USB_EP_INTERRUPT, ACM_NOTIFY_MPS, high ? 8 : 16);
	p = put_iface(p, ACM_DATA_IFACE, 2, 0x0a, 0x00, 0x00);
	p = put_ep(p, SIM_USB_DIR_IN | SIM_USB_ACM_EP_IN, SIM_USB_EP_BULK, mps,
		   0);
	p = put_ep(p, SIM_USB_ACM_EP_OUT, SIM_USB_EP_BULK, mps, 0);
	SIM_ASSERT(p == c + ACM_CONFIG_LEN);
}

int sim_usb_acm_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		    char *err, size_t errlen)
{
	uint8_t dev[18], config[ACM_CONFIG_LEN];
	struct sim_usb_descriptors desc = {
	    .device = dev,
	    .config = config,
	    .strings = acm_strings,
	    .nstrings = 3,
	};
	struct acm *a;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	if (speed != SIM_USB_SPEED_FULL && speed != SIM_USB_SPEED_HIGH)
		return fail(err, errlen,
			    "usb acm: speed %d: CDC-ACM needs bulk endpoints, "
			    "full or high speed only",
			    (int)speed);
	a = sim_xcalloc(1, sizeof(*a));
	a->magic = ACM_MAGIC;
	a->line = acm_default_line;
	build_device_desc(speed, dev);
	build_config(speed, config);
	rc = sim_usb_device_new(&desc, speed, &acm_class, a, out, err, errlen);
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
