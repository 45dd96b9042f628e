// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * usbfront on Linux: a USB host controller driver (struct hc_driver) around
 * the portable PVUSB core (drivers/usbfront), put on the xenbus as device
 * type "vusb" through the xpv_driver adapter (driver.c).
 *
 * One usb_hcd per xenbus device. Its root hub is the core's: num-ports
 * ports whose status the core keeps and whose features it emulates; every
 * other URB goes to the core as a struct usbfront_urb allocated at enqueue
 * (with the iso packets behind it) and freed at giveback. The glue's own
 * state (struct xpv_usb_hcd) is allocated apart and hcd_priv points to it,
 * because the core is probed first: its usb-ver picks the hc_driver.
 *
 * Calling contexts of the core's upper callbacks on Linux: giveback and
 * port_changed come from the event-channel handler (hard irq, os_linux.c),
 * from the core's timers (softirq), from process context (resume, the
 * closing work item, remove) and from inside usbfront_submit and
 * usbfront_unlink, that is from urb_enqueue and urb_dequeue with this
 * glue's lock held; event comes from the xenwatch thread and from any of
 * these. The core never holds its own lock across a callback. So none of
 * them sleeps or takes the glue's lock.
 *
 * Rules:
 *  - Probe: the core, then usb_create_hcd with the USB 1.1 or 2.0 driver
 *    per usbfront_usb_version(), then usb_add_hcd at once, as xen-hcd
 *    does. Until the backend connects the root hub simply shows empty
 *    powered ports and the core fails URBs with -ESHUTDOWN, so nothing
 *    waits for USBFRONT_EV_CONNECTED and no work item is needed: the
 *    plug events then arrive as port changes. A USB 2.0 root hub says it
 *    has a TT (has_tt), since full- and low-speed devices sit right on its
 *    ports.
 *  - Remove: usb_remove_hcd first, while the core still serves: it
 *    disconnects every device and flushes every endpoint, which unlinks
 *    and waits for each URB; the core gives each back once (the backend's
 *    answer, or its own 5 s unlink timeout). Then usbfront_remove, which finds
 *    nothing left to give back, stops the core's timers and handler, and
 *    only then usb_put_hcd: no callback can reach a freed hcd.
 *  - Completion runs in BH context (HCD_BH): usb_hcd_giveback_urb only
 *    queues the URB, so no completion handler runs inside our callbacks
 *    (it could resubmit, re-entering urb_enqueue under our lock). Linux
 *    wants usb_hcd_unlink_urb_from_ep and usb_hcd_giveback_urb with local
 *    interrupts off (they take plain spin locks also taken from hard irq);
 *    giveback disables them itself, since the core may call it from
 *    softirq or process context with interrupts on.
 *  - urb_enqueue links the URB to its endpoint and hands it to the core
 *    under the glue's lock; urb_dequeue checks the unlink and asks the
 *    core under the same lock. So an unlink never falls between the link
 *    and the submission (which the core would answer -XPV_ENOENT and the
 *    URB would never be cancelled: usb_kill_urb against a resubmitting
 *    completion handler is exactly that case).
 *  - Giveback does not take the lock (it runs inside enqueue and dequeue),
 *    so dequeue may still be asking the core about an URB whose giveback
 *    runs on another CPU. Giveback frees the usbfront_urb with kfree_rcu
 *    after usb_hcd_unlink_urb_from_ep, and dequeue holds rcu_read_lock from
 *    before usb_hcd_check_unlink_urb: an unlink that passed the check
 *    always finds the memory valid, and never another URB at its address.
 *    The core then answers -XPV_ENOENT (already completing): the URB comes
 *    back with the unlink status, which urb->unlinked carries.
 *  - Data: the core copies through its own bounce pages, so it needs only
 *    a kernel virtual address: urb->transfer_buffer. This hc_driver sets
 *    neither HCD_DMA nor an sg_tablesize, so the USB core maps nothing,
 *    usb_alloc_coherent hands out kmalloc memory and usb_sg_init puts one
 *    segment per URB in transfer_buffer (a HIGHMEM page would leave it
 *    NULL: the module refuses HIGHMEM, see scsi_glue.c). The buffer stays
 *    the URB owner's until giveback, so the core may copy from it later
 *    (a queued URB goes out from the retry timer). URBs with num_sgs, or
 *    with data but no transfer_buffer, are refused with -EINVAL; more
 *    than 64 KiB with the core's -E2BIG; more iso packets than 16 pages
 *    of descriptors hold with -EFBIG, before anything is allocated.
 *  - Addressing: the port is the root-hub port the device hangs from (its
 *    own portnum when it sits on the root hub, which is the PVUSB case;
 *    for a device behind a passed-through hub, that hub's root port, the
 *    backend's device then decides). The direction of a control transfer
 *    is bmRequestType's, as the core requires.
 *  - Status: the core's statuses and submission errors are negative Linux
 *    errnos already (asserted below) and pass through unchanged.
 *  - Root hub: port_changed polls the root hub (usb_hcd_poll_rh_status,
 *    safe in any context and a no-op before usb_add_hcd and after
 *    usb_remove_hcd); hub_status_data wakes a suspended root hub when a
 *    change is pending. bus_suspend and bus_resume only track the state:
 *    the core's ports need nothing.
 *  - Events are logged. In the error state, and once the backend has
 *    closed (USBFRONT_EV_CLOSED), the core fails every URB and shows every
 *    port empty, so the hub driver disconnects the devices by itself; the
 *    HCD, with empty ports, stays until the xenbus device is removed.
 *
 * This file does not include Linux's own usbif header: the core's
 * xpv_usbif_* names (drivers/include/xpv/usbif.h) are the only ones used.
 * To extend: anything the core does not offer belongs in usbfront.h first,
 * not here.
 */
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/usb.h>
#include <linux/usb/ch11.h>
#include <linux/usb/hcd.h>
#include <asm/unaligned.h>

#include "../../usbfront/usbfront.h"
#include "xpv_linux.h"
#include "xpv_linux_priv.h"

/* The core's URB statuses are Linux's errnos: passed through as is. */
static_assert(XPV_USBIF_STATUS_NODEV == -ENODEV);
static_assert(XPV_USBIF_STATUS_INVAL == -EINVAL);
static_assert(XPV_USBIF_STATUS_STALL == -EPIPE);
static_assert(XPV_USBIF_STATUS_IOERROR == -EPROTO);
static_assert(XPV_USBIF_STATUS_BABBLE == -EOVERFLOW);
static_assert(XPV_USBIF_STATUS_SHUTDOWN == -ESHUTDOWN);
static_assert(XPV_ESHUTDOWN == ESHUTDOWN);
static_assert(USBFRONT_ECONNRESET == ECONNRESET);
static_assert(USBFRONT_EREMOTEIO == EREMOTEIO);
/* And so are its submission errors (urb_enqueue returns them). */
static_assert(XPV_EINVAL == EINVAL && XPV_E2BIG == E2BIG);
static_assert(XPV_ENODEV == ENODEV && XPV_EIO == EIO);

/* Its port status and change bits are USB 2.0's wPortStatus/wPortChange. */
static_assert(USBFRONT_PORT_CONNECTION == USB_PORT_STAT_CONNECTION);
static_assert(USBFRONT_PORT_ENABLE == USB_PORT_STAT_ENABLE);
static_assert(USBFRONT_PORT_SUSPEND == USB_PORT_STAT_SUSPEND);
static_assert(USBFRONT_PORT_RESET == USB_PORT_STAT_RESET);
static_assert(USBFRONT_PORT_POWER == USB_PORT_STAT_POWER);
static_assert(USBFRONT_PORT_LOW_SPEED == USB_PORT_STAT_LOW_SPEED);
static_assert(USBFRONT_PORT_HIGH_SPEED == USB_PORT_STAT_HIGH_SPEED);
static_assert(USBFRONT_PORT_C_CONNECTION == USB_PORT_STAT_C_CONNECTION);
static_assert(USBFRONT_PORT_C_ENABLE == USB_PORT_STAT_C_ENABLE);
static_assert(USBFRONT_PORT_C_SUSPEND == USB_PORT_STAT_C_SUSPEND);
static_assert(USBFRONT_PORT_C_RESET == USB_PORT_STAT_C_RESET);

/* Its port features are the hub class's feature selectors. */
static_assert(USBFRONT_FEAT_ENABLE == USB_PORT_FEAT_ENABLE);
static_assert(USBFRONT_FEAT_SUSPEND == USB_PORT_FEAT_SUSPEND);
static_assert(USBFRONT_FEAT_RESET == USB_PORT_FEAT_RESET);
static_assert(USBFRONT_FEAT_POWER == USB_PORT_FEAT_POWER);
static_assert(USBFRONT_FEAT_C_CONNECTION == USB_PORT_FEAT_C_CONNECTION);
static_assert(USBFRONT_FEAT_C_ENABLE == USB_PORT_FEAT_C_ENABLE);
static_assert(USBFRONT_FEAT_C_SUSPEND == USB_PORT_FEAT_C_SUSPEND);
static_assert(USBFRONT_FEAT_C_RESET == USB_PORT_FEAT_C_RESET);

/* Its transfer types are Linux's pipe types. */
static_assert(USBFRONT_ISO == PIPE_ISOCHRONOUS);
static_assert(USBFRONT_INT == PIPE_INTERRUPT);
static_assert(USBFRONT_CTRL == PIPE_CONTROL);
static_assert(USBFRONT_BULK == PIPE_BULK);

/* Every port fits the root hub's change bitmap (usb_hcd_poll_rh_status
 * passes 6 bytes, 4 are needed) and the hub descriptor's bitmaps. */
static_assert(USBFRONT_MAX_PORTS <= USB_MAXCHILDREN);

#define XPV_USB_CHANGE_MASK                                              \
	(USBFRONT_PORT_C_CONNECTION | USBFRONT_PORT_C_ENABLE |           \
	 USBFRONT_PORT_C_SUSPEND | USBFRONT_PORT_C_RESET)

/* The most iso packets whose descriptors fit the core's segments. */
#define XPV_USB_MAX_PACKETS \
	(USBFRONT_MAX_SEGS * XPV_PAGE_SIZE / USBFRONT_ISO_DESC_SIZE)

struct xpv_usb_hcd {
	struct usb_hcd *hcd;
	struct usbfront *uf;
	struct device *dev; /* the xenbus device, for logs */
	/* Serialises urb_enqueue's link-and-submit with urb_dequeue's
	 * check-and-unlink (see the rules above). Never taken by the core's
	 * callbacks. */
	spinlock_t lock;
};

/* One URB while the core holds it. Freed with kfree_rcu (see above). */
struct xpv_usb_urb {
	struct usbfront_urb uf;
	struct rcu_head rcu;
	struct usbfront_iso_packet packets[];
};

static struct xpv_usb_hcd *xpv_usb_of(struct usb_hcd *hcd)
{
	return *(struct xpv_usb_hcd **)hcd->hcd_priv;
}

/* ---- upper callbacks from the core -------------------------------------- */

/* Any context, interrupts on or off, possibly inside enqueue or dequeue
 * with h->lock held: takes no lock of ours. */
static void xpv_usb_giveback(void *arg, struct usbfront_urb *u)
{
	struct xpv_usb_hcd *h = arg;
	struct xpv_usb_urb *x = container_of(u, struct xpv_usb_urb, uf);
	struct urb *urb = u->upper;
	int status = u->status;
	unsigned long flags;
	u32 i;

	urb->actual_length = u->actual;
	if (u->type == USBFRONT_ISO) {
		urb->start_frame = u->start_frame;
		urb->error_count = u->error_count;
		for (i = 0; i < u->npackets; i++) {
			urb->iso_frame_desc[i].actual_length =
				x->packets[i].actual;
			urb->iso_frame_desc[i].status = x->packets[i].status;
		}
	}
	local_irq_save(flags);
	WRITE_ONCE(urb->hcpriv, NULL);
	usb_hcd_unlink_urb_from_ep(h->hcd, urb);
	/* After the unlink from the endpoint: a dequeue that still found
	 * the URB linked is inside its RCU read section, so x outlives it. */
	kfree_rcu(x, rcu);
	usb_hcd_giveback_urb(h->hcd, urb, status);
	local_irq_restore(flags);
}

/* Any context. A no-op unless the root hub is registered. */
static void xpv_usb_port_changed(void *arg, xpv_u8 port)
{
	struct xpv_usb_hcd *h = arg;

	usb_hcd_poll_rh_status(h->hcd);
}

/* Any context: only logs. */
static void xpv_usb_event(void *arg, enum usbfront_event ev)
{
	struct xpv_usb_hcd *h = arg;

	switch (ev) {
	case USBFRONT_EV_CONNECTED:
		dev_info(h->dev, "connected: %u ports, USB %s\n",
			 usbfront_num_ports(h->uf),
			 usbfront_usb_version(h->uf) == 2 ? "2.0" : "1.1");
		break;
	case USBFRONT_EV_RESUMED:
		dev_info(h->dev, "reconnected\n");
		break;
	case USBFRONT_EV_ERROR:
		dev_err(h->dev, "protocol error: URBs fail until removal\n");
		break;
	case USBFRONT_EV_CLOSED:
		dev_info(h->dev, "disconnected\n");
		break;
	}
}

/* ---- URBs --------------------------------------------------------------- */

/* The root-hub port the device's route starts at. */
static u8 xpv_usb_root_port(const struct usb_device *udev)
{
	while (udev->parent && udev->parent->parent)
		udev = udev->parent;
	return udev->portnum;
}

/* Refuse what the core cannot describe; the byte sizes it checks itself. */
static int xpv_usb_check(const struct urb *urb)
{
	if (urb->num_sgs ||
	    (urb->transfer_buffer_length && !urb->transfer_buffer))
		return -EINVAL;
	if (usb_pipecontrol(urb->pipe) && !urb->setup_packet)
		return -EINVAL;
	if (!usb_pipeisoc(urb->pipe))
		return 0;
	if (urb->number_of_packets <= 0)
		return -EINVAL;
	/* More descriptors than 16 pages hold: refused before allocating
	 * for them (the core would refuse them too). */
	if (urb->number_of_packets > XPV_USB_MAX_PACKETS)
		return -EFBIG;
	return 0;
}

static void xpv_usb_build(struct xpv_usb_urb *x, struct urb *urb,
			  u32 npackets)
{
	unsigned int pipe = urb->pipe;
	u32 i;

	x->uf = (struct usbfront_urb){
		.port = xpv_usb_root_port(urb->dev),
		.devaddr = (xpv_u8)usb_pipedevice(pipe),
		.ep = (xpv_u8)usb_pipeendpoint(pipe),
		.in = usb_pipein(pipe),
		.type = (enum usbfront_xfer_type)usb_pipetype(pipe),
		.flags = urb->transfer_flags & URB_SHORT_NOT_OK ?
				 USBFRONT_SHORT_NOT_OK : 0,
		.interval = (xpv_u16)clamp_t(int, urb->interval, 0, U16_MAX),
		.buf = urb->transfer_buffer,
		.len = urb->transfer_buffer_length,
		.packets = npackets ? x->packets : NULL,
		.npackets = npackets,
		.upper = urb,
	};
	if (usb_pipecontrol(pipe)) {
		memcpy(x->uf.setup, urb->setup_packet, sizeof(x->uf.setup));
		x->uf.in = (x->uf.setup[0] & USB_DIR_IN) != 0;
	}
	for (i = 0; i < npackets; i++) {
		x->packets[i] = (struct usbfront_iso_packet){
			.offset = urb->iso_frame_desc[i].offset,
			.length = urb->iso_frame_desc[i].length,
		};
	}
}

/* Any context (mem_flags says whether it may sleep): the allocation comes
 * before the lock. 0 promises exactly one giveback. */
static int xpv_usb_urb_enqueue(struct usb_hcd *hcd, struct urb *urb,
			       gfp_t mem_flags)
{
	struct xpv_usb_hcd *h = xpv_usb_of(hcd);
	u32 npackets = 0;
	struct xpv_usb_urb *x;
	unsigned long flags;
	int err = xpv_usb_check(urb);

	if (err)
		return err;
	if (usb_pipeisoc(urb->pipe))
		npackets = urb->number_of_packets;
	x = kmalloc(struct_size(x, packets, npackets), mem_flags);
	if (!x)
		return -ENOMEM;
	xpv_usb_build(x, urb, npackets);

	spin_lock_irqsave(&h->lock, flags);
	err = usb_hcd_link_urb_to_ep(hcd, urb);
	if (!err) {
		WRITE_ONCE(urb->hcpriv, x);
		/* The core may give the URB back before this returns 0. */
		err = usbfront_submit(h->uf, &x->uf);
		if (err) { /* not given back: it was never the core's */
			WRITE_ONCE(urb->hcpriv, NULL);
			usb_hcd_unlink_urb_from_ep(hcd, urb);
		}
	}
	spin_unlock_irqrestore(&h->lock, flags);
	if (err)
		kfree(x); /* nobody else saw it: h->lock covered it all */
	return err;
}

/* Any context. 0: the URB comes back through giveback, with the unlink
 * status; otherwise usb_hcd_check_unlink_urb's error (not linked, or
 * already unlinked). */
static int xpv_usb_urb_dequeue(struct usb_hcd *hcd, struct urb *urb,
			       int status)
{
	struct xpv_usb_hcd *h = xpv_usb_of(hcd);
	struct xpv_usb_urb *x;
	unsigned long flags;
	int err;

	spin_lock_irqsave(&h->lock, flags);
	rcu_read_lock();
	err = usb_hcd_check_unlink_urb(hcd, urb, status);
	if (!err) {
		/* NULL: its giveback has begun. Otherwise the core sends an
		 * unlink, gives a queued URB back now, or answers
		 * -XPV_ENOENT when its giveback has begun: in each case it
		 * comes back once, so the answer needs no handling. */
		x = READ_ONCE(urb->hcpriv);
		if (x)
			usbfront_unlink(h->uf, &x->uf);
	}
	rcu_read_unlock();
	spin_unlock_irqrestore(&h->lock, flags);
	return err;
}

/* Process context, after usb_hcd_flush_endpoint: the core keeps no
 * per-endpoint state and holds none of the endpoint's URBs any more. */
static void xpv_usb_endpoint_disable(struct usb_hcd *hcd,
				     struct usb_host_endpoint *ep)
{
}

/* Neither the core nor usbif knows the backend's frame counter: a
 * free-running 1 kHz count, as a full-speed bus's 11-bit frame number,
 * moves as drivers that read it expect. */
static int xpv_usb_get_frame_number(struct usb_hcd *hcd)
{
	return (int)(ktime_to_ms(ktime_get()) & 0x7ff);
}

/* ---- root hub ----------------------------------------------------------- */

/* Any context (usb_hcd_poll_rh_status, hcd_bus_suspend). Bit n for port n
 * with a change pending; 0 when there is none. */
static int xpv_usb_hub_status_data(struct usb_hcd *hcd, char *buf)
{
	struct xpv_usb_hcd *h = xpv_usb_of(hcd);
	unsigned int ports = usbfront_num_ports(h->uf);
	int len = ports / 8 + 1;
	bool changed = false;
	unsigned int p;

	memset(buf, 0, len);
	for (p = 1; p <= ports; p++) {
		xpv_u16 status, change;

		if (usbfront_port_status(h->uf, (xpv_u8)p, &status, &change))
			continue;
		if (change & XPV_USB_CHANGE_MASK) {
			buf[p / 8] |= 1 << (p % 8);
			changed = true;
		}
	}
	/* A suspended root hub has no status URB to complete: wake it. */
	if (changed && READ_ONCE(hcd->state) == HC_STATE_SUSPENDED)
		usb_hcd_resume_root_hub(hcd);
	return changed ? len : 0;
}

/*
 * USB 2.0 11.23.2.1. Ports are neither power-switched nor over-current
 * protected as far as the hub driver is concerned (the core emulates the
 * power feature, but turning a port off would not unplug the backend's
 * device). rh_call_control's buffer holds at least a whole struct
 * usb_hub_descriptor; the variable part is written as bytes, in the
 * wire layout: DeviceRemovable (all removable), then PortPwrCtrlMask.
 */
static void xpv_usb_hub_descriptor(struct xpv_usb_hcd *h, char *buf)
{
	struct usb_hub_descriptor *d = (struct usb_hub_descriptor *)buf;
	unsigned int ports = usbfront_num_ports(h->uf);
	unsigned int n = ports / 8 + 1;
	u8 *var = (u8 *)buf + USB_DT_HUB_NONVAR_SIZE;

	memset(buf, 0, USB_DT_HUB_NONVAR_SIZE + 2 * n);
	d->bDescLength = USB_DT_HUB_NONVAR_SIZE + 2 * n;
	d->bDescriptorType = USB_DT_HUB;
	d->bNbrPorts = ports;
	d->wHubCharacteristics = cpu_to_le16(HUB_CHAR_NO_LPSM |
					     HUB_CHAR_NO_OCPM);
	d->bPwrOn2PwrGood = 10; /* 20 ms */
	d->bHubContrCurrent = 0;
	memset(var + n, 0xff, n);
}

static bool xpv_usb_feature(u16 wValue, enum usbfront_port_feature *f)
{
	switch (wValue) {
	case USB_PORT_FEAT_ENABLE:
	case USB_PORT_FEAT_SUSPEND:
	case USB_PORT_FEAT_RESET:
	case USB_PORT_FEAT_POWER:
	case USB_PORT_FEAT_C_CONNECTION:
	case USB_PORT_FEAT_C_ENABLE:
	case USB_PORT_FEAT_C_SUSPEND:
	case USB_PORT_FEAT_C_RESET:
		*f = (enum usbfront_port_feature)wValue; /* asserted above */
		return true;
	default:
		return false;
	}
}

/* Process context (rh_call_control). -EPIPE stalls the request. */
static int xpv_usb_hub_control(struct usb_hcd *hcd, u16 req, u16 wValue,
			       u16 wIndex, char *buf, u16 wLength)
{
	struct xpv_usb_hcd *h = xpv_usb_of(hcd);
	enum usbfront_port_feature f;
	xpv_u16 status, change;

	switch (req) {
	case GetHubDescriptor:
		xpv_usb_hub_descriptor(h, buf);
		return 0;
	case GetHubStatus: /* local power good, no over-current */
		put_unaligned_le32(0, buf);
		return 0;
	case ClearHubFeature:
		if (wValue == C_HUB_LOCAL_POWER || wValue == C_HUB_OVER_CURRENT)
			return 0; /* never set */
		return -EPIPE;
	case GetPortStatus:
		if (wIndex > U8_MAX ||
		    usbfront_port_status(h->uf, (xpv_u8)wIndex, &status,
					 &change))
			return -EPIPE;
		put_unaligned_le16(status, buf);
		put_unaligned_le16(change, buf + 2);
		return 0;
	case SetPortFeature:
	case ClearPortFeature:
		/* wIndex's high byte is a selector (test mode, indicator)
		 * for features the core does not have. */
		if (!xpv_usb_feature(wValue, &f) ||
		    usbfront_port_feature(h->uf, (xpv_u8)(wIndex & 0xff), f,
					  req == SetPortFeature))
			return -EPIPE;
		return 0;
	default: /* SetHubFeature and anything else */
		return -EPIPE;
	}
}

/* The root hub's state is all the core has: nothing to stop or restart.
 * hcd->state tells hub_status_data to wake a suspended root hub. */
static int xpv_usb_bus_suspend(struct usb_hcd *hcd)
{
	WRITE_ONCE(hcd->state, HC_STATE_SUSPENDED);
	return 0;
}

static int xpv_usb_bus_resume(struct usb_hcd *hcd)
{
	WRITE_ONCE(hcd->state, HC_STATE_RUNNING);
	return 0;
}

/* The root hub is polled only when the core reports a change. */
static int xpv_usb_start(struct usb_hcd *hcd)
{
	hcd->uses_new_polling = 1;
	clear_bit(HCD_FLAG_POLL_RH, &hcd->flags);
	hcd->state = HC_STATE_RUNNING;
	return 0;
}

/* From usb_remove_hcd after every device is gone, every URB given back:
 * the core keeps running until usbfront_remove. */
static void xpv_usb_stop(struct usb_hcd *hcd)
{
}

#define XPV_USB_HC_DRIVER(speed, desc)                                   \
	{                                                                \
		.description = "xpv-hcd",                                \
		.product_desc = desc,                                    \
		.hcd_priv_size = sizeof(struct xpv_usb_hcd *),           \
		.flags = (speed) | HCD_BH,                               \
		.start = xpv_usb_start,                                  \
		.stop = xpv_usb_stop,                                    \
		.get_frame_number = xpv_usb_get_frame_number,            \
		.urb_enqueue = xpv_usb_urb_enqueue,                      \
		.urb_dequeue = xpv_usb_urb_dequeue,                      \
		.endpoint_disable = xpv_usb_endpoint_disable,            \
		.hub_status_data = xpv_usb_hub_status_data,              \
		.hub_control = xpv_usb_hub_control,                      \
		.bus_suspend = xpv_usb_bus_suspend,                      \
		.bus_resume = xpv_usb_bus_resume,                        \
	}

static const struct hc_driver xpv_usb11_hc_driver =
	XPV_USB_HC_DRIVER(HCD_USB11, "xpv PVUSB host controller (USB 1.1)");
static const struct hc_driver xpv_usb2_hc_driver =
	XPV_USB_HC_DRIVER(HCD_USB2, "xpv PVUSB host controller (USB 2.0)");

/* ---- xenbus driver (through driver.c's adapter) ------------------------- */

/* The core first (its usb-ver picks the driver), then the HCD, added at
 * once: see the rules at the top. No callback comes before probe returns
 * (the otherend watch starts after it), but h->hcd is set before
 * usb_add_hcd, which already calls hub_control. */
static int xpv_usb_probe(struct xpv_dev *dev, void **priv)
{
	struct usbfront_upper up = {
		.giveback = xpv_usb_giveback,
		.port_changed = xpv_usb_port_changed,
		.event = xpv_usb_event,
	};
	const struct hc_driver *drv;
	struct xpv_usb_hcd *h;
	struct usb_hcd *hcd;
	int err;

	if (usb_disabled())
		return -ENODEV;
	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	spin_lock_init(&h->lock);
	h->dev = &dev->xbdev->dev;
	up.arg = h;
	err = usbfront_probe(dev, &up, &h->uf);
	if (err)
		goto free;
	drv = usbfront_usb_version(h->uf) == 2 ? &xpv_usb2_hc_driver :
						 &xpv_usb11_hc_driver;
	hcd = usb_create_hcd(drv, h->dev, dev_name(h->dev));
	if (!hcd) {
		err = -ENOMEM;
		xpv_xenbus_fatal(dev, err, "creating the USB host controller");
		goto remove;
	}
	*(struct xpv_usb_hcd **)hcd->hcd_priv = h;
	h->hcd = hcd;
	hcd->has_tt = drv == &xpv_usb2_hc_driver;
	err = usb_add_hcd(hcd, 0, 0);
	if (err) {
		xpv_xenbus_fatal(dev, err, "adding the USB host controller");
		goto put;
	}
	*priv = h;
	return 0;
put:
	usb_put_hcd(hcd);
remove:
	usbfront_remove(h->uf);
free:
	kfree(h);
	return err;
}

static void xpv_usb_otherend_changed(void *priv, enum xpv_xenbus_state st)
{
	struct xpv_usb_hcd *h = priv;

	usbfront_otherend_changed(h->uf, st);
}

static int xpv_usb_suspend(void *priv)
{
	struct xpv_usb_hcd *h = priv;

	return usbfront_suspend(h->uf);
}

/* The core fails what was in flight and drops every port (C_CONNECTION),
 * so the hub driver disconnects the devices and enumerates the ones the
 * new backend reports afresh. */
static int xpv_usb_resume(void *priv)
{
	struct xpv_usb_hcd *h = priv;

	return usbfront_resume(h->uf);
}

/* The HCD first, while the core still serves; the core next; the hcd's
 * memory last. See the rules at the top. */
static void xpv_usb_remove(void *priv)
{
	struct xpv_usb_hcd *h = priv;
	struct usb_hcd *hcd = h->hcd;

	usb_remove_hcd(hcd);
	usbfront_remove(h->uf);
	usb_put_hcd(hcd);
	kfree(h);
}

const struct xpv_driver xpv_usbfront_driver = {
	.type = "vusb",
	.probe = xpv_usb_probe,
	.otherend_changed = xpv_usb_otherend_changed,
	.suspend = xpv_usb_suspend,
	.resume = xpv_usb_resume,
	.remove = xpv_usb_remove,
};
