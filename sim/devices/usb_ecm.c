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
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_class.h"
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

static struct ecm *ecm_of(const struct sim_usb_device *d)
{
	struct ecm *e = sim_usb_device_class_priv(d);

	SIM_ASSERT(e && e->magic == ECM_MAGIC);
	return e;
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
	usb_put_le16(n + 2, speed ? 0 : e->link_up);
	usb_put_le16(n + 4, SIM_USB_ECM_COMM_IFACE);
	usb_put_le16(n + 6, (uint16_t)(len - 8));
	if (speed) {
		usb_put_le32(n + 8, e->bitrate);  /* DLBitRate */
		usb_put_le32(n + 12, e->bitrate); /* ULBitRate */
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

/* CDC 1.2 5.2.3: Header (CDC 1.20) and Union (0 controls 1); ECM 1.2
 * 5.4: Ethernet Networking, with no statistics, 1514-byte segments, no
 * multicast filters and no power filters. */
static uint8_t *put_functional(uint8_t *p)
{
	static const uint8_t hdr[] = {5, ECM_CS_INTERFACE, 0x00, 0x20, 0x01};
	static const uint8_t uni[] = {5, ECM_CS_INTERFACE, 0x06,
				      SIM_USB_ECM_COMM_IFACE,
				      SIM_USB_ECM_DATA_IFACE};

	p = usb_desc_bytes(p, hdr, sizeof(hdr));
	p = usb_desc_bytes(p, uni, sizeof(uni));
	memset(p, 0, 13);
	p[0] = 13;
	p[1] = ECM_CS_INTERFACE;
	p[2] = 0x0f;
	p[3] = SIM_USB_ECM_MAC_INDEX;
	usb_put_le16(p + 8,
		     SIM_USB_ECM_FRAME_MAX); /* after bmEthernetStatistics */
	return p + 13;
}

/* CDC 1.2 5.1.1: the device is a CDC device (class 2) and says so. One
 * configuration, bus powered (100 mA). */
static void build_config(enum sim_usb_speed speed, uint8_t *c)
{
	bool high = speed == SIM_USB_SPEED_HIGH;
	uint16_t mps = usb_class_bulk_mps(speed);
	uint8_t *p;

	p = usb_desc_config(c, ECM_CONFIG_LEN, 2, 0x80); /* no remote wakeup */
	p = usb_desc_iface(p, SIM_USB_ECM_COMM_IFACE, 0, 1, 0x02, 0x06, 0);
	p = put_functional(p);
	/* 16 ms either way: 16 frames, or 2^(8-1) microframes. */
	p = usb_desc_ep(p, SIM_USB_DIR_IN | SIM_USB_ECM_EP_NOTIFY,
			SIM_USB_EP_INTERRUPT, ECM_NOTIFY_MPS, high ? 8 : 16);
	p = usb_desc_iface(p, SIM_USB_ECM_DATA_IFACE, 0, 0, 0x0a, 0x00, 0);
	p = usb_desc_iface(p, SIM_USB_ECM_DATA_IFACE, 1, 2, 0x0a, 0x00, 0);
	p = usb_desc_ep(p, SIM_USB_DIR_IN | SIM_USB_ECM_EP_IN, SIM_USB_EP_BULK,
			mps, 0);
	p = usb_desc_ep(p, SIM_USB_ECM_EP_OUT, SIM_USB_EP_BULK, mps, 0);
	SIM_ASSERT(p == c + ECM_CONFIG_LEN);
}

int sim_usb_ecm_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		    char *err, size_t errlen)
{
	uint8_t dev[USB_CLASS_DEVICE_LEN], config[ECM_CONFIG_LEN];
	struct ecm *e;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	rc = usb_class_need_bulk("ecm", "CDC-ECM", speed, err, errlen);
	if (rc)
		return rc;
	e = sim_xcalloc(1, sizeof(*e));
	e->magic = ECM_MAGIC;
	e->mps = usb_class_bulk_mps(speed);
	e->bitrate = speed == SIM_USB_SPEED_HIGH ? 100000000 : 10000000;
	e->filter = SIM_USB_ECM_FILTER_DEFAULT;
	usb_desc_device(dev, speed, 0x02, SIM_USB_ECM_VENDOR,
			SIM_USB_ECM_PRODUCT);
	build_config(speed, config);
	rc = usb_class_device_new(dev, config, ecm_strings, 4, speed,
				  &ecm_class, e, out, err, errlen);
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
