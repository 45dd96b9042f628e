/*
 * The project's reference PVUSB frontend (drivers/usbfront) behind the
 * frontend-under-test interface: a simulated xenbus device (drivers/os/sim)
 * runs the portable core; this file only translates between fut.h and
 * usbfront.h, as the Linux HCD glue does for the kernel.
 *
 * URBs the core gives back are handed to the harness from an event of
 * their own (at the same simulated time), never from inside a fut call:
 * the core may give back from inside usbfront_submit or usbfront_unlink,
 * which fut.h rules out. At destroy, the ones still waiting are handed
 * over before it returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xpv_sim.h>
#include <usbfront/usbfront.h>

#include "fut_sim.h"

extern const struct fut_ops fut_xpv_usbfront_ops;

struct xuf_urb {
	struct xuf_urb *next; /* live list, then the giveback queue */
	uint64_t tag;
	struct usbfront_urb urb;
	struct usbfront_iso_packet *core_packets;
	struct fut_usb_iso_packet *packets; /* the harness' */
};

struct xuf {
	struct fut base;
	struct fut_callbacks cb;
	struct xpv_dev *dev;
	struct usbfront *uf; /* NULL until probed, and after remove */
	struct xuf_urb *live; /* accepted, not given back by the core */
	struct xuf_urb *back_head, *back_tail; /* given back, not handed */
	sim_event_id back_ev;
	uint64_t submitted, completed, failed;
	struct usbfront_stats last; /* the core's counters at remove */
	bool last_error;
	bool break_done; /* a one-shot deliberate defect happened */
};

static struct xuf *xuf_of(struct fut *f)
{
	return (struct xuf *)f;
}

static struct sim *xuf_sim(const struct xuf *x)
{
	return xpv_sim_dev_sim(x->dev);
}

/* ---- handing URBs back ------------------------------------------------------ */

static void urb_release(struct xuf_urb *u)
{
	free(u->core_packets);
	free(u);
}

static void hand_over(struct xuf *x, struct xuf_urb *u)
{
	struct fut_usb_result res = {
		.status = u->urb.status,
		.actual = u->urb.actual,
		.error_count = u->urb.error_count,
		.start_frame = u->urb.start_frame,
	};

	for (uint32_t i = 0; i < u->urb.npackets; i++) {
		u->packets[i].actual = u->core_packets[i].actual;
		u->packets[i].status = u->core_packets[i].status;
	}
	x->completed++;
	if (res.status)
		x->failed++;
	/* Deliberate defects for the checkers' tests (xpv_sim.h). */
	if (!x->break_done && xpv_sim_get_break() == XPV_BREAK_NEVER_COMPLETE) {
		x->break_done = true;
		urb_release(u);
		return;
	}
	x->cb.usb_giveback(x->cb.arg, u->tag, &res);
	if (!x->break_done && xpv_sim_get_break() == XPV_BREAK_COMPLETE_TWICE) {
		x->break_done = true;
		x->cb.usb_giveback(x->cb.arg, u->tag, &res);
	}
	urb_release(u);
}

static void hand_over_all(struct xuf *x)
{
	while (x->back_head) {
		struct xuf_urb *u = x->back_head;

		x->back_head = u->next;
		if (!x->back_head)
			x->back_tail = NULL;
		hand_over(x, u);
	}
}

static void back_event(struct sim *sim, void *arg)
{
	struct xuf *x = arg;

	(void)sim;
	x->back_ev = 0;
	hand_over_all(x);
}

static void live_remove(struct xuf *x, struct xuf_urb *u)
{
	struct xuf_urb **pp = &x->live;

	while (*pp != u) {
		SIM_ASSERT(*pp != NULL); /* the core gives back what it took */
		pp = &(*pp)->next;
	}
	*pp = u->next;
	u->next = NULL;
}

/* ---- upper-layer callbacks from the core ------------------------------------ */

static void up_giveback(void *arg, struct usbfront_urb *urb)
{
	struct xuf *x = arg;
	struct xuf_urb *u = urb->upper;

	live_remove(x, u);
	if (x->back_tail)
		x->back_tail->next = u;
	else
		x->back_head = u;
	x->back_tail = u;
	if (!x->back_ev)
		x->back_ev = sim_schedule(xuf_sim(x), 0, back_event, x,
					  "fut-usb-giveback");
}

static void up_port_changed(void *arg, xpv_u8 port)
{
	struct xuf *x = arg;

	if (x->cb.usb_port_changed)
		x->cb.usb_port_changed(x->cb.arg, port);
}

static void up_event(void *arg, enum usbfront_event ev)
{
	struct xuf *x = arg;
	void (*fn)(void *) = NULL;

	switch (ev) {
	case USBFRONT_EV_CONNECTED:
		fn = x->cb.connected;
		break;
	case USBFRONT_EV_RESUMED:
		fn = x->cb.resumed;
		break;
	case USBFRONT_EV_ERROR:
		fn = x->cb.error;
		break;
	case USBFRONT_EV_CLOSED:
		fn = x->cb.closed;
		break;
	}
	if (fn)
		fn(x->cb.arg);
}

/* ---- the xenbus driver the simulated device probes -------------------------- */

static int drv_probe(struct xpv_dev *dev, void **priv)
{
	struct xuf *x = xpv_sim_dev_host(dev);
	const struct usbfront_upper up = {
		.giveback = up_giveback,
		.port_changed = up_port_changed,
		.event = up_event,
		.arg = x,
	};
	int err = usbfront_probe(dev, &up, &x->uf);

	*priv = x;
	return err;
}

static void drv_otherend_changed(void *priv, enum xpv_xenbus_state state)
{
	usbfront_otherend_changed(((struct xuf *)priv)->uf, state);
}

static int drv_suspend(void *priv)
{
	return usbfront_suspend(((struct xuf *)priv)->uf);
}

static int drv_resume(void *priv)
{
	return usbfront_resume(((struct xuf *)priv)->uf);
}

static void drv_remove(void *priv)
{
	struct xuf *x = priv;

	usbfront_get_stats(x->uf, &x->last);
	x->last_error = usbfront_in_error(x->uf);
	usbfront_remove(x->uf);
	x->uf = NULL;
}

static const struct xpv_driver xuf_driver = {
	.type = "vusb",
	.probe = drv_probe,
	.otherend_changed = drv_otherend_changed,
	.suspend = drv_suspend,
	.resume = drv_resume,
	.remove = drv_remove,
};

/* ---- fut_ops ------------------------------------------------------------------ */

static int xuf_create(const struct fut_env *env, const struct fut_callbacks *cb,
		      struct fut **out)
{
	struct xuf *x = sim_xcalloc(1, sizeof(*x));
	int err;

	SIM_ASSERT(cb->usb_giveback != NULL);
	x->base.ops = &fut_xpv_usbfront_ops;
	x->cb = *cb;
	err = fut_sim_dev_open(env, x, &xuf_driver, &x->dev);
	if (err) {
		free(x);
		return err;
	}
	*out = &x->base;
	return 0;
}

static struct xuf_urb *urb_new(const struct fut_usb_urb *fu)
{
	struct xuf_urb *u = sim_xcalloc(1, sizeof(*u));
	struct usbfront_urb *urb = &u->urb;

	u->tag = fu->tag;
	urb->port = fu->port;
	urb->devaddr = fu->devaddr;
	urb->ep = fu->ep;
	urb->in = fu->in;
	urb->type = (enum usbfront_xfer_type)fu->type;
	urb->flags = fu->flags & FUT_USB_SHORT_NOT_OK ? USBFRONT_SHORT_NOT_OK
						      : 0;
	memcpy(urb->setup, fu->setup, sizeof(urb->setup));
	urb->interval = fu->interval;
	urb->buf = fu->data;
	urb->len = fu->len;
	urb->upper = u;
	if (fu->npackets && fu->packets) {
		u->packets = fu->packets;
		u->core_packets = sim_xcalloc(fu->npackets,
					      sizeof(*u->core_packets));
		for (uint32_t i = 0; i < fu->npackets; i++) {
			u->core_packets[i].offset = fu->packets[i].offset;
			u->core_packets[i].length = fu->packets[i].length;
		}
		urb->packets = u->core_packets;
		urb->npackets = fu->npackets;
	}
	return u;
}

static int xuf_submit(struct fut *f, const struct fut_usb_urb *fu)
{
	struct xuf *x = xuf_of(f);
	struct xuf_urb *u;
	int err;

	if (!x->uf)
		return -ESHUTDOWN;
	if (fu->type > FUT_USB_BULK)
		return -EINVAL;
	u = urb_new(fu);
	/* On the live list first: the core may give it back at once. */
	u->next = x->live;
	x->live = u;
	err = usbfront_submit(x->uf, &u->urb);
	if (err) {
		live_remove(x, u);
		urb_release(u);
		return err; /* XPV_E* values are Linux errno values */
	}
	x->submitted++;
	return 0;
}

static int xuf_unlink(struct fut *f, uint64_t tag)
{
	struct xuf *x = xuf_of(f);

	if (!x->uf)
		return -ENOENT;
	for (struct xuf_urb *u = x->live; u; u = u->next)
		if (u->tag == tag)
			return usbfront_unlink(x->uf, &u->urb);
	return -ENOENT;
}

static uint8_t xuf_num_ports(struct fut *f)
{
	struct xuf *x = xuf_of(f);

	return x->uf ? usbfront_num_ports(x->uf) : 0;
}

static int xuf_port_status(struct fut *f, uint8_t port, uint16_t *status,
			   uint16_t *change)
{
	struct xuf *x = xuf_of(f);

	if (!x->uf)
		return -ENODEV;
	return usbfront_port_status(x->uf, port, status, change);
}

static int xuf_port_feature(struct fut *f, uint8_t port,
			    enum fut_usb_port_feature feature, bool set)
{
	struct xuf *x = xuf_of(f);

	if (!x->uf)
		return -ENODEV;
	return usbfront_port_feature(x->uf, port,
				     (enum usbfront_port_feature)feature, set);
}

static int xuf_suspend(struct fut *f)
{
	return xpv_sim_dev_suspend(xuf_of(f)->dev);
}

static int xuf_resume(struct fut *f)
{
	return xpv_sim_dev_resume(xuf_of(f)->dev);
}

static void xuf_close(struct fut *f)
{
	struct xuf *x = xuf_of(f);

	if (x->uf)
		usbfront_close(x->uf);
}

static void xuf_destroy(struct fut *f)
{
	struct xuf *x = xuf_of(f);
	struct sim *sim = xuf_sim(x); /* the device goes first */

	xpv_sim_dev_destroy(x->dev); /* remove gives every URB back */
	SIM_ASSERT(x->live == NULL);
	if (x->back_ev)
		sim_cancel(sim, x->back_ev);
	x->back_ev = 0;
	hand_over_all(x);
	free(x);
}

static void xuf_stats(struct fut *f, struct fut_stats *st)
{
	struct xuf *x = xuf_of(f);
	struct usbfront_stats s = x->last;

	if (x->uf)
		usbfront_get_stats(x->uf, &s);
	memset(st, 0, sizeof(*st));
	st->submitted = x->submitted;
	st->completed = x->completed;
	st->failed = x->failed;
	st->notifies_sent = s.notifies;
	st->interrupts = s.interrupts;
	st->spurious = s.spurious;
	st->clamped = s.clamped_actual;
	st->abandoned = s.unlinked;
	st->error = x->uf ? usbfront_in_error(x->uf) : x->last_error;
}

const struct fut_ops fut_xpv_usbfront_ops = {
	.name = "xpv-usbfront",
	.type = "vusb",
	.create = xuf_create,
	.suspend = xuf_suspend,
	.resume = xuf_resume,
	.close = xuf_close,
	.destroy = xuf_destroy,
	.stats = xuf_stats,
	.usb_submit = xuf_submit,
	.usb_unlink = xuf_unlink,
	.usb_num_ports = xuf_num_ports,
	.usb_port_status = xuf_port_status,
	.usb_port_feature = xuf_port_feature,
};
