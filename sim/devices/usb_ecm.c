/*
 * CDC-ECM Ethernet adapter with a reflector on its network side
 * (usb_ecm.h) as a class of the USB device core: the descriptors with
 * the CDC functional descriptors, SET_ETHERNET_PACKET_FILTER, the link
 * that follows the data interface's alternate setting and its two
 * notifications, and the frame queue between bulk OUT and bulk IN.
 *
 * Setup packets and bulk data are the host's and hostile: every field is
 * checked before use, a bad one stalls or the frame is dropped. The
 * queue is a ring of whole frames: head is the oldest, count follow it
 * (wrapping); sent bytes of the head frame are already on the bus.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_ecm.h"

#define ECM_MAGIC	 0x45434d31u /* "ECM1" */
#define ECM_NOTIFY_MPS	 16
#define ECM_CS_INTERFACE 0x24 /* CDC 1.2 table 12 */
#define ECM_ADDR_LEN	 6
#define ECM_FILTER_BITS	 0x1f
#define ECM_CONFIG_LEN	 (9 + 9 + 5 + 5 + 13 + 7 + 9 + 9 + 7 + 7)

/* Which notification the interrupt endpoint sends next (usb_ecm.h). */
enum ecm_notify {
	ECM_NOTIFY_NONE,
	ECM_NOTIFY_CONNECT,
	ECM_NOTIFY_SPEED,
};

struct ecm_frame {
	uint16_t len;
	uint8_t data[SIM_USB_ECM_FRAME_MAX];
};

struct ecm {
	uint32_t magic;
	uint16_t mps;	  /* bulk wMaxPacketSize at this speed */
	uint32_t bitrate; /* reported in CONNECTION_SPEED_CHANGE */
	struct ecm_frame q[SIM_USB_ECM_QUEUE];
	unsigned head, count;
	uint32_t sent;	  /* of the head frame */
	bool zlp_owed;	  /* the head frame's end went out unterminated */
	uint8_t data_alt; /* as the last reset saw it */
	bool link_up;
	uint16_t filter;
	enum ecm_notify notify;
	struct sim_usb_ecm_stats st;
};

static const char *const ecm_strings[] = {
    "xpv", "xpv ecm reflector", "XPV-ECM-0001", SIM_USB_ECM_MAC_STRING};
static const uint8_t ecm_mac[ECM_ADDR_LEN] = SIM_USB_ECM_MAC;

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

static struct ecm *ecm_of(const struct sim_usb_device *d)
{
	struct ecm *e = sim_usb_device_class_priv(d);

	SIM_ASSERT(e && e->magic == ECM_MAGIC);
	return e;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* ---- notifications ---- */

/* CDC 1.2 6.3 header, then for the speed change the two bit rates
 * (ECM 1.2 6.3.3): what the link does is the same both ways. */
static enum sim_usb_status ecm_send_notify(struct ecm *e,
					   struct sim_usb_xfer *x)
{
	bool speed = e->notify == ECM_NOTIFY_SPEED;
	uint32_t len = speed ? SIM_USB_ECM_CONNECTION_SPEED_LEN
			     : SIM_USB_ECM_NETWORK_CONNECTION_LEN;
	uint8_t *n = x->data;

	if (e->notify == ECM_NOTIFY_NONE) {
		e->st.naks_notify++;
		return SIM_USB_NAK;
	}
	if (x->len < len)
		return SIM_USB_BABBLE;
	n[0] = SIM_USB_DIR_IN | SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE;
	n[1] = speed ? SIM_USB_ECM_CONNECTION_SPEED_CHANGE
		     : SIM_USB_ECM_NETWORK_CONNECTION;
	put16(n + 2, speed ? 0 : e->link_up);
	put16(n + 4, SIM_USB_ECM_COMM_IFACE);
	put16(n + 6, (uint16_t)(len - 8));
	if (speed) {
		put32(n + 8, e->bitrate);  /* DLBitRate */
		put32(n + 12, e->bitrate); /* ULBitRate */
	}
	x->actual = len;
	e->notify = speed ? ECM_NOTIFY_NONE : ECM_NOTIFY_SPEED;
	e->st.notifications++;
	return SIM_USB_OK;
}

/* ---- the reflector ---- */

static void ecm_flush(struct ecm *e)
{
	e->st.flushed += e->count;
	e->head = e->count = 0;
	e->sent = 0;
	e->zlp_owed = false;
}

/* Would the adapter pass a frame to dst up to the host (usb_ecm.h)? */
static bool ecm_wanted(const struct ecm *e, const uint8_t *dst)
{
	static const uint8_t bcast[ECM_ADDR_LEN] = {0xff, 0xff, 0xff,
						    0xff, 0xff, 0xff};

	if (e->filter & SIM_USB_ECM_FILTER_PROMISCUOUS)
		return true;
	if (!memcmp(dst, bcast, ECM_ADDR_LEN))
		return e->filter & SIM_USB_ECM_FILTER_BROADCAST;
	if (dst[0] & 1) /* the group bit */
		return e->filter & SIM_USB_ECM_FILTER_ALL_MULTICAST;
	return (e->filter & SIM_USB_ECM_FILTER_DIRECTED) &&
	       !memcmp(dst, ecm_mac, ECM_ADDR_LEN);
}

/* One transfer, one frame: reflected into the queue, or dropped. */
static enum sim_usb_status ecm_out(struct ecm *e, const struct sim_usb_xfer *x)
{
	const uint8_t *p = x->data;
	struct ecm_frame *f;

	if (e->count == SIM_USB_ECM_QUEUE) {
		e->st.naks_out++;
		return SIM_USB_NAK;
	}
	if (x->len < SIM_USB_ECM_FRAME_MIN || x->len > SIM_USB_ECM_FRAME_MAX) {
		e->st.dropped++;
		return SIM_USB_OK;
	}
	e->st.frames_out++;
	e->st.bytes_out += x->len;
	if (!ecm_wanted(e, p + ECM_ADDR_LEN)) {
		e->st.filtered++;
		return SIM_USB_OK;
	}
	f = &e->q[(e->head + e->count) % SIM_USB_ECM_QUEUE];
	f->len = (uint16_t)x->len;
	memcpy(f->data, p + ECM_ADDR_LEN, ECM_ADDR_LEN);
	memcpy(f->data + ECM_ADDR_LEN, p, ECM_ADDR_LEN);
	memcpy(f->data + 2 * ECM_ADDR_LEN, p + 2 * ECM_ADDR_LEN,
	       x->len - 2 * ECM_ADDR_LEN);
	e->count++;
	return SIM_USB_OK;
}

static void ecm_pop(struct ecm *e)
{
	SIM_ASSERT(e->count);
	e->head = (e->head + 1) % SIM_USB_ECM_QUEUE;
	e->count--;
	e->sent = 0;
	e->st.frames_in++;
}

/* What fits of the head frame, split only on a packet boundary; the
 * frame's terminating zero-length packet may be left owed (usb_ecm.h). */
static enum sim_usb_status ecm_in(struct ecm *e, struct sim_usb_xfer *x)
{
	const struct ecm_frame *f;
	uint32_t left, n;

	if (e->zlp_owed) {
		e->zlp_owed = false;
		return SIM_USB_OK;
	}
	if (!e->count) {
		e->st.naks_in++;
		return SIM_USB_NAK;
	}
	f = &e->q[e->head];
	SIM_ASSERT(e->sent < f->len);
	left = f->len - e->sent;
	if (left > x->len && (x->len == 0 || x->len % e->mps))
		return SIM_USB_BABBLE; /* a full packet into a partial one */
	n = left < x->len ? left : x->len;
	memcpy(x->data, f->data + e->sent, n);
	x->actual = n;
	e->st.bytes_in += n;
	if (n < left) {
		e->sent += n;
		return SIM_USB_OK;
	}
	e->zlp_owed = n == x->len && n % e->mps == 0;
	ecm_pop(e);
	return SIM_USB_OK;
}

/* The core passes only the three endpoints there are, not halted. */
static enum sim_usb_status ecm_data(struct sim_usb_device *d,
				    struct sim_usb_xfer *x)
{
	struct ecm *e = ecm_of(d);

	if (x->ep == SIM_USB_ECM_EP_NOTIFY) {
		SIM_ASSERT(x->in && x->type == SIM_USB_EP_INTERRUPT);
		return ecm_send_notify(e, x);
	}
	SIM_ASSERT(x->type == SIM_USB_EP_BULK &&
		   x->ep == (x->in ? SIM_USB_ECM_EP_IN : SIM_USB_ECM_EP_OUT));
	return x->in ? ecm_in(e, x) : ecm_out(e, x);
}

/* ---- class requests ---- */

/* SET_ETHERNET_PACKET_FILTER on the communication interface; the rest
 * stall (usb_ecm.h). */
static enum sim_usb_status ecm_control(struct sim_usb_device *d,
				       struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	struct ecm *e = ecm_of(d);

	if (s->bmRequestType !=
		(SIM_USB_TYPE_CLASS | SIM_USB_RECIP_INTERFACE) ||
	    s->bRequest != SIM_USB_ECM_SET_PACKET_FILTER ||
	    s->wIndex != SIM_USB_ECM_COMM_IFACE)
		return SIM_USB_STALL;
	if (s->wLength || (s->wValue & ~ECM_FILTER_BITS))
		return SIM_USB_STALL;
	e->filter = s->wValue;
	e->st.filter_sets++;
	return SIM_USB_OK;
}

/* ---- the link ---- */

/*
 * Every SET_INTERFACE lands here, to either interface, and so do
 * SET_CONFIGURATION and bus resets: only a change of the data
 * interface's alternate moves the link (usb_ecm.h).
 */
static void ecm_reset(struct sim_usb_device *d)
{
	struct ecm *e = ecm_of(d);
	uint8_t alt;

	if (!sim_usb_device_config(d)) {
		ecm_flush(e);
		e->data_alt = 0;
		e->link_up = false;
		e->filter = SIM_USB_ECM_FILTER_DEFAULT;
		e->notify = ECM_NOTIFY_NONE;
		return;
	}
	alt = sim_usb_device_alt(d, SIM_USB_ECM_DATA_IFACE);
	if (alt == e->data_alt)
		return;
	ecm_flush(e);
	e->data_alt = alt;
	e->link_up = alt == 1;
	e->notify = ECM_NOTIFY_CONNECT;
}

/* A new configuration: the filter back to its default, and the host
 * hears the link's state (down: every alternate is 0 again). */
static void ecm_configured(struct sim_usb_device *d, uint8_t config)
{
	struct ecm *e = ecm_of(d);

	if (!config)
		return;
	e->filter = SIM_USB_ECM_FILTER_DEFAULT;
	e->notify = ECM_NOTIFY_CONNECT;
}

static void ecm_destroy(struct sim_usb_device *d)
{
	struct ecm *e = ecm_of(d);

	e->magic = 0;
	free(e);
}

static const struct sim_usb_class ecm_class = {
    .name = "ecm",
    .control = ecm_control,
    .data = ecm_data,
    .reset = ecm_reset,
    .configured = ecm_configured,
    .destroy = ecm_destroy,
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
	put16(dev + 8, SIM_USB_ECM_VENDOR);
	put16(dev + 10, SIM_USB_ECM_PRODUCT);
	put16(dev + 12, 0x0100); /* bcdDevice 1.00 */
	dev[14] = 1;		 /* iManufacturer */
	dev[15] = 2;		 /* iProduct */
	dev[16] = 3;		 /* iSerialNumber */
	dev[17] = 1;		 /* bNumConfigurations */
}

static uint8_t *put_iface(uint8_t *p, uint8_t num, uint8_t alt, uint8_t neps,
			  uint8_t cls, uint8_t sub)
{
	memset(p, 0, 9);
	p[0] = 9;
	p[1] = SIM_USB_DT_INTERFACE;
	p[2] = num;
	p[3] = alt;
	p[4] = neps;
	p[5] = cls;
	p[6] = sub;
	return p + 9; /* protocol 0, no string */
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

/* CDC 1.2 5.2.3: Header (CDC 1.20) and Union (0 controls 1); ECM 1.2
 * 5.4: Ethernet Networking, with no statistics, 1514-byte segments, no
 * multicast filters and no power filters. */
static uint8_t *put_functional(uint8_t *p)
{
	static const uint8_t hdr[] = {5, ECM_CS_INTERFACE, 0x00, 0x20, 0x01};
	static const uint8_t uni[] = {5, ECM_CS_INTERFACE, 0x06,
				      SIM_USB_ECM_COMM_IFACE,
				      SIM_USB_ECM_DATA_IFACE};

	memcpy(p, hdr, sizeof(hdr));
	p += sizeof(hdr);
	memcpy(p, uni, sizeof(uni));
	p += sizeof(uni);
	memset(p, 0, 13);
	p[0] = 13;
	p[1] = ECM_CS_INTERFACE;
	p[2] = 0x0f;
	p[3] = SIM_USB_ECM_MAC_INDEX;
	put16(p + 8, SIM_USB_ECM_FRAME_MAX); /* after bmEthernetStatistics */
	return p + 13;
}

/* One configuration, bus powered (100 mA). */
static void build_config(enum sim_usb_speed speed, uint8_t *c)
{
	bool high = speed == SIM_USB_SPEED_HIGH;
	uint16_t mps = high ? 512 : 64;
	uint8_t *p = c + 9;

	memset(c, 0, ECM_CONFIG_LEN);
	c[0] = 9;
	c[1] = SIM_USB_DT_CONFIG;
	put16(c + 2, ECM_CONFIG_LEN);
	c[4] = 2;    /* bNumInterfaces */
	c[5] = 1;    /* bConfigurationValue */
	c[7] = 0x80; /* bus powered, no remote wakeup */
	c[8] = 50;   /* bMaxPower, 2 mA units */
	p = put_iface(p, SIM_USB_ECM_COMM_IFACE, 0, 1, 0x02, 0x06);
	p = put_functional(p);
	/* 16 ms either way: 16 frames, or 2^(8-1) microframes. */
	p = put_ep(p, SIM_USB_DIR_IN | SIM_USB_ECM_EP_NOTIFY,
		   SIM_USB_EP_INTERRUPT, ECM_NOTIFY_MPS, high ? 8 : 16);
	p = put_iface(p, SIM_USB_ECM_DATA_IFACE, 0, 0, 0x0a, 0x00);
	p = put_iface(p, SIM_USB_ECM_DATA_IFACE, 1, 2, 0x0a, 0x00);
	p = put_ep(p, SIM_USB_DIR_IN | SIM_USB_ECM_EP_IN, SIM_USB_EP_BULK, mps,
		   0);
	p = put_ep(p, SIM_USB_ECM_EP_OUT, SIM_USB_EP_BULK, mps, 0);
	SIM_ASSERT(p == c + ECM_CONFIG_LEN);
}

int sim_usb_ecm_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		    char *err, size_t errlen)
{
	uint8_t dev[18], config[ECM_CONFIG_LEN];
	struct sim_usb_descriptors desc = {
	    .device = dev,
	    .config = config,
	    .strings = ecm_strings,
	    .nstrings = 4,
	};
	struct ecm *e;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	if (speed != SIM_USB_SPEED_FULL && speed != SIM_USB_SPEED_HIGH)
		return fail(err, errlen,
			    "usb ecm: speed %d: CDC-ECM needs bulk endpoints, "
			    "full or high speed only",
			    (int)speed);
	e = sim_xcalloc(1, sizeof(*e));
	e->magic = ECM_MAGIC;
	e->mps = speed == SIM_USB_SPEED_HIGH ? 512 : 64;
	e->bitrate = speed == SIM_USB_SPEED_HIGH ? 100000000 : 10000000;
	e->filter = SIM_USB_ECM_FILTER_DEFAULT;
	build_device_desc(speed, dev);
	build_config(speed, config);
	rc = sim_usb_device_new(&desc, speed, &ecm_class, e, out, err, errlen);
	if (rc)
		free(e);
	return rc;
}

void sim_usb_ecm_stats(const struct sim_usb_device *d,
		       struct sim_usb_ecm_stats *st)
{
	const struct ecm *e = ecm_of(d);

	*st = e->st;
	st->queued = e->count;
	st->filter = e->filter;
	st->link_up = e->link_up;
}
