// SPDX-License-Identifier: MIT
/*
 * usbfront lifecycle: probe (num-ports, usb-ver), the vusb handshake
 * (protocol.md 2.3: both rings and one event channel published in one
 * transaction, every conn request posted, own state straight to
 * Connected), the conn ring's plug and unplug events, the root hub's
 * ports, suspend/resume and teardown. See usbfront.h.
 *
 * xenstore is never touched with uf->lock held (it may sleep in a
 * kernel). The xenbus callbacks are serialised by the environment.
 */
#include <xpv/xs_parse.h>

#include "usbfront_priv.h"

#define XS_RETRIES 8

static void set_state(struct usbfront *uf, enum xpv_xenbus_state state)
{
	uf->state = state;
	xpv_xenbus_switch_state(uf->dev, state);
}

static void emit(struct usbfront *uf, enum usbfront_event ev)
{
	if (uf->up.event)
		uf->up.event(uf->up.arg, ev);
}

/* ---- root hub --------------------------------------------------------------- */

static void port_mark(struct uf_batch *b, xpv_u8 port)
{
	b->ports_changed |= 1u << port;
}

/* The port lost its device: everything but power goes, the upper layer is
 * told through C_CONNECTION. */
static void port_disconnect(struct usbfront *uf, xpv_u8 port,
			    struct uf_batch *b)
{
	struct uf_port *p = &uf->ports[port];

	if (p->status & USBFRONT_PORT_CONNECTION) {
		p->change |= USBFRONT_PORT_C_CONNECTION;
		port_mark(b, port);
	}
	p->status &= USBFRONT_PORT_POWER;
	p->speed = XPV_USBIF_SPEED_NONE;
	p->reset_end_ns = p->resume_end_ns = 0;
}

static void port_connect(struct usbfront *uf, xpv_u8 port, xpv_u8 speed,
			 struct uf_batch *b)
{
	struct uf_port *p = &uf->ports[port];

	/* A plug over a plugged port: the old device is gone. */
	port_disconnect(uf, port, b);
	p->speed = speed;
	p->status |= USBFRONT_PORT_CONNECTION;
	if (speed == XPV_USBIF_SPEED_LOW)
		p->status |= USBFRONT_PORT_LOW_SPEED;
	else if (speed == XPV_USBIF_SPEED_HIGH)
		p->status |= USBFRONT_PORT_HIGH_SPEED;
	p->change |= USBFRONT_PORT_C_CONNECTION;
	port_mark(b, port);
}

static void hub_arm(struct usbfront *uf)
{
	xpv_u64 now = xpv_time_ns(uf->dev), next = 0;

	for (xpv_u8 i = 1; i <= uf->num_ports; i++) {
		const struct uf_port *p = &uf->ports[i];

		if (p->reset_end_ns && (!next || p->reset_end_ns < next))
			next = p->reset_end_ns;
		if (p->resume_end_ns && (!next || p->resume_end_ns < next))
			next = p->resume_end_ns;
	}
	if (next)
		xpv_timer_arm(uf->hub_timer, next > now ? next - now : 0);
}

/* Timer (atomic) context: port resets and resumes that are due. */
static void hub_timer_fn(void *arg)
{
	struct usbfront *uf = arg;
	struct uf_batch b = { 0 };
	xpv_u64 now;

	xpv_lock_acquire(uf->lock);
	now = xpv_time_ns(uf->dev);
	for (xpv_u8 i = 1; i <= uf->num_ports; i++) {
		struct uf_port *p = &uf->ports[i];

		if (p->reset_end_ns && p->reset_end_ns <= now) {
			p->reset_end_ns = 0;
			p->status &= (xpv_u16)~USBFRONT_PORT_RESET;
			if (p->status & USBFRONT_PORT_CONNECTION)
				p->status |= USBFRONT_PORT_ENABLE;
			p->change |= USBFRONT_PORT_C_RESET;
			port_mark(&b, i);
		}
		if (p->resume_end_ns && p->resume_end_ns <= now) {
			p->resume_end_ns = 0;
			p->status &= (xpv_u16)~USBFRONT_PORT_SUSPEND;
			p->change |= USBFRONT_PORT_C_SUSPEND;
			port_mark(&b, i);
		}
	}
	hub_arm(uf);
	xpv_lock_release(uf->lock);
	uf_batch_run(uf, &b);
}

xpv_u8 usbfront_num_ports(const struct usbfront *uf)
{
	return uf->num_ports;
}

xpv_u8 usbfront_usb_version(const struct usbfront *uf)
{
	return uf->usb_ver;
}

int usbfront_port_status(struct usbfront *uf, xpv_u8 port, xpv_u16 *status,
			 xpv_u16 *change)
{
	if (port == 0 || port > uf->num_ports)
		return -XPV_EINVAL;
	xpv_lock_acquire(uf->lock);
	*status = uf->ports[port].status;
	*change = uf->ports[port].change;
	xpv_lock_release(uf->lock);
	return 0;
}

static int port_set(struct usbfront *uf, struct uf_port *p,
		    enum usbfront_port_feature f)
{
	xpv_u64 now = xpv_time_ns(uf->dev);

	switch (f) {
	case USBFRONT_FEAT_RESET:
		if (!(p->status & USBFRONT_PORT_CONNECTION))
			return 0; /* nothing to reset: as xen-hcd */
		p->status |= USBFRONT_PORT_RESET;
		p->status &= (xpv_u16)~(USBFRONT_PORT_ENABLE |
					USBFRONT_PORT_SUSPEND);
		p->resume_end_ns = 0;
		p->reset_end_ns = now + USBFRONT_PORT_RESET_NS;
		hub_arm(uf);
		return 0;
	case USBFRONT_FEAT_SUSPEND:
		if (p->status & USBFRONT_PORT_ENABLE)
			p->status |= USBFRONT_PORT_SUSPEND;
		return 0;
	case USBFRONT_FEAT_POWER:
		p->status |= USBFRONT_PORT_POWER;
		return 0;
	default:
		return -XPV_EINVAL;
	}
}

static int port_clear(struct usbfront *uf, struct uf_port *p,
		      enum usbfront_port_feature f)
{
	switch (f) {
	case USBFRONT_FEAT_ENABLE:
		p->status &= (xpv_u16)~USBFRONT_PORT_ENABLE;
		return 0;
	case USBFRONT_FEAT_SUSPEND:
		if ((p->status & USBFRONT_PORT_SUSPEND) && !p->resume_end_ns) {
			p->resume_end_ns = xpv_time_ns(uf->dev) +
					   USBFRONT_PORT_RESUME_NS;
			hub_arm(uf);
		}
		return 0;
	case USBFRONT_FEAT_POWER:
		p->status &= (xpv_u16)~(USBFRONT_PORT_POWER |
					USBFRONT_PORT_ENABLE |
					USBFRONT_PORT_SUSPEND);
		return 0;
	case USBFRONT_FEAT_C_CONNECTION:
		p->change &= (xpv_u16)~USBFRONT_PORT_C_CONNECTION;
		return 0;
	case USBFRONT_FEAT_C_ENABLE:
		p->change &= (xpv_u16)~USBFRONT_PORT_C_ENABLE;
		return 0;
	case USBFRONT_FEAT_C_SUSPEND:
		p->change &= (xpv_u16)~USBFRONT_PORT_C_SUSPEND;
		return 0;
	case USBFRONT_FEAT_C_RESET:
		p->change &= (xpv_u16)~USBFRONT_PORT_C_RESET;
		return 0;
	default:
		return -XPV_EINVAL;
	}
}

int usbfront_port_feature(struct usbfront *uf, xpv_u8 port,
			  enum usbfront_port_feature feature, xpv_bool set)
{
	int err;

	if (port == 0 || port > uf->num_ports)
		return -XPV_EINVAL;
	xpv_lock_acquire(uf->lock);
	if (set)
		err = port_set(uf, &uf->ports[port], feature);
	else
		err = port_clear(uf, &uf->ports[port], feature);
	xpv_lock_release(uf->lock);
	return err;
}

/* ---- the conn ring ----------------------------------------------------------- */

/* Post conn request `id`: the backend answers it with the next event. */
static void conn_post(struct usbfront *uf, xpv_u16 id)
{
	struct xpv_usbif_conn_request req = { .id = id };
	int err = xpv_front_ring_put(&uf->conn_ring, &req);

	/* One request per response taken: the ring has room for it. */
	XPV_ASSERT(err == 0);
}

static void conn_push(struct usbfront *uf)
{
	xpv_bool notify;

	xpv_front_ring_push(&uf->conn_ring, &notify);
	if (notify) {
		uf->st.notifies++;
		xpv_evtchn_notify(uf->dev, uf->port);
	}
}

/* One event; protocol violations put the device in its error state
 * (misbehaviour 16). */
static void conn_event(struct usbfront *uf,
		       const struct xpv_usbif_conn_response *rsp,
		       struct uf_batch *b)
{
	uf->st.conn_events++;
	if (rsp->id >= USBFRONT_CONN_SLOTS) {
		uf_set_error(uf, "conn event with a bad id", b);
		return;
	}
	if (rsp->portnum == 0 || rsp->portnum > uf->num_ports ||
	    rsp->speed > XPV_USBIF_SPEED_HIGH) {
		uf_set_error(uf, "conn event with a bad port or speed", b);
		return;
	}
	if (rsp->speed == XPV_USBIF_SPEED_NONE)
		port_disconnect(uf, rsp->portnum, b);
	else
		port_connect(uf, rsp->portnum, rsp->speed, b);
	conn_post(uf, rsp->id);
}

static void conn_ring_drain(struct usbfront *uf, struct uf_batch *b,
			    xpv_u32 *handled)
{
	xpv_bool more = XPV_TRUE, posted = XPV_FALSE;

	while (more && !uf->error) {
		xpv_u32 ready;

		if (xpv_front_ring_poll(&uf->conn_ring, &ready) != 0) {
			uf_set_error(uf, "conn ring: rsp_prod beyond the "
				     "requests posted", b);
			return;
		}
		for (; ready > 0 && !uf->error; ready--) {
			struct xpv_usbif_conn_response rsp;

			xpv_front_ring_take(&uf->conn_ring, &rsp);
			(*handled)++;
			conn_event(uf, &rsp, b);
			posted = XPV_TRUE;
		}
		if (!uf->error &&
		    xpv_front_ring_final_check(&uf->conn_ring, &more) != 0)
			uf_set_error(uf, "conn ring: rsp_prod beyond the "
				     "requests posted", b);
	}
	if (posted && !uf->error)
		conn_push(uf);
}

/* The event-channel handler, for both rings (late EOI). */
void uf_interrupt(void *arg)
{
	struct usbfront *uf = arg;
	struct uf_batch b = { 0 };
	xpv_evtchn_port port;
	xpv_u32 handled = 0;

	xpv_lock_acquire(uf->lock);
	uf->st.interrupts++;
	port = uf->port;
	if (!uf->error && uf->connected) {
		conn_ring_drain(uf, &b, &handled);
		if (!uf->error)
			uf_urb_ring_drain(uf, &b, &handled);
	}
	if (handled == 0)
		uf->st.spurious++;
	if (uf->draining && (uf->in_flight == 0 || uf->error))
		uf_drain_finish_locked(uf);
	xpv_lock_release(uf->lock);
	xpv_evtchn_eoi(uf->dev, port, handled == 0);
	uf_batch_run(uf, &b);
}

/* ---- rings and event channel ------------------------------------------------ */

static int publish_rings(struct usbfront *uf)
{
	for (int attempt = 0; attempt < XS_RETRIES; attempt++) {
		xpv_xs_txn txn;
		int err = xpv_xs_txn_start(uf->dev, &txn);

		if (err)
			return err;
		err = xpv_xs_write_u32(uf->dev, txn, "urb-ring-ref",
				       uf->urb_ref);
		if (!err)
			err = xpv_xs_write_u32(uf->dev, txn, "conn-ring-ref",
					       uf->conn_ref);
		if (!err)
			err = xpv_xs_write_u32(uf->dev, txn, "event-channel",
					       uf->port);
		if (err) {
			xpv_xs_txn_end(uf->dev, txn, XPV_TRUE);
			return err;
		}
		err = xpv_xs_txn_end(uf->dev, txn, XPV_FALSE);
		if (err != -XPV_EAGAIN)
			return err;
	}
	return -XPV_EAGAIN;
}

/* Ends a ring page's grant and frees it; a page the backend still maps is
 * quarantined (CVE-2022-23040). False then. */
static xpv_bool ring_page_release(struct usbfront *uf, struct xpv_page **page,
				  xpv_grant_ref ref, xpv_bool *granted)
{
	xpv_bool clean = XPV_TRUE;

	if (*granted && xpv_grant_end(uf->dev, ref) != 0) {
		clean = XPV_FALSE;
		xpv_log(uf->dev, XPV_LOG_ERR,
			"backend still maps a ring page: quarantined");
		xpv_page_quarantine(uf->dev, *page);
		*page = XPV_NULL;
	}
	*granted = XPV_FALSE;
	if (*page)
		xpv_page_free(uf->dev, *page);
	*page = XPV_NULL;
	return clean;
}

static xpv_bool rings_teardown(struct usbfront *uf)
{
	xpv_bool clean;

	if (uf->port_open)
		xpv_evtchn_close(uf->dev, uf->port);
	uf->port_open = XPV_FALSE;
	clean = ring_page_release(uf, &uf->urb_page, uf->urb_ref,
				  &uf->urb_granted);
	clean &= ring_page_release(uf, &uf->conn_page, uf->conn_ref,
				   &uf->conn_granted);
	return clean;
}

static int ring_page_setup(struct usbfront *uf, struct xpv_page **page,
			   struct xpv_front_ring *ring, xpv_u32 entry,
			   xpv_u32 req, xpv_u32 rsp, xpv_grant_ref *ref,
			   xpv_bool *granted)
{
	int err = xpv_page_alloc(uf->dev, page);

	if (err)
		return err;
	xpv_front_ring_init(ring, uf->dev, xpv_page_addr(*page), entry, req,
			    rsp);
	err = xpv_grant_access(uf->dev, *page, XPV_GRANT_RW, ref);
	*granted = err == 0;
	return err;
}

static int rings_setup(struct usbfront *uf)
{
	int err = ring_page_setup(uf, &uf->urb_page, &uf->urb_ring,
				  sizeof(union xpv_usbif_urb_entry),
				  sizeof(struct xpv_usbif_urb_request),
				  sizeof(struct xpv_usbif_urb_response),
				  &uf->urb_ref, &uf->urb_granted);

	if (!err)
		err = ring_page_setup(uf, &uf->conn_page, &uf->conn_ring,
				      sizeof(union xpv_usbif_conn_entry),
				      sizeof(struct xpv_usbif_conn_request),
				      sizeof(struct xpv_usbif_conn_response),
				      &uf->conn_ref, &uf->conn_granted);
	if (!err)
		err = xpv_evtchn_alloc(uf->dev, &uf->port);
	if (!err) {
		uf->port_open = XPV_TRUE;
		err = xpv_evtchn_bind(uf->dev, uf->port, uf_interrupt, uf);
	}
	if (!err)
		err = publish_rings(uf);
	if (err)
		rings_teardown(uf);
	return err;
}

/* ---- the handshake ---------------------------------------------------------- */

/* Backend InitWait (or later) while we are Initialising: rings, bounce
 * pages, every conn request posted, Connected (xenhcd_connect). */
static void connect(struct usbfront *uf)
{
	xpv_bool resumed = uf->paused;
	int err = 0;

	if (!uf->bounce_ready)
		err = uf_bounce_alloc(uf);
	if (!err)
		err = rings_setup(uf);
	if (err) {
		xpv_xenbus_fatal(uf->dev, err, "setting up the vusb rings");
		return;
	}
	xpv_lock_acquire(uf->lock);
	for (xpv_u16 id = 0; id < USBFRONT_CONN_SLOTS; id++)
		conn_post(uf, id);
	conn_push(uf);
	uf->connected = XPV_TRUE;
	uf->paused = XPV_FALSE;
	xpv_lock_release(uf->lock);
	set_state(uf, XPV_XENBUS_CONNECTED);
	emit(uf, resumed ? USBFRONT_EV_RESUMED : USBFRONT_EV_CONNECTED);
}

/* Both ends let go: fail what is left, drop the rings, Closed. Process
 * context only. */
static void drained(struct usbfront *uf)
{
	struct uf_batch b = { 0 };

	xpv_lock_acquire(uf->lock);
	if (uf->closed) {
		xpv_lock_release(uf->lock);
		return;
	}
	uf->draining = XPV_FALSE;
	uf->connected = XPV_FALSE;
	uf->closed = XPV_TRUE;
	uf_fail_all(uf, -XPV_ESHUTDOWN, &b);
	for (xpv_u8 p = 1; p <= uf->num_ports; p++)
		port_disconnect(uf, p, &b);
	xpv_lock_release(uf->lock);
	xpv_timer_cancel(uf->drain_timer);
	uf_batch_run(uf, &b);
	rings_teardown(uf);
	set_state(uf, XPV_XENBUS_CLOSED);
	emit(uf, USBFRONT_EV_CLOSED);
}

static void drain_work_run(void *arg)
{
	drained(arg);
}

void uf_drain_finish_locked(struct usbfront *uf)
{
	XPV_ASSERT(uf->draining);
	uf->draining = XPV_FALSE;
	xpv_work_queue(uf->drain_work);
}

static void drain_timeout(void *arg)
{
	struct usbfront *uf = arg;

	xpv_lock_acquire(uf->lock);
	if (uf->draining) {
		xpv_log(uf->dev, XPV_LOG_WARN, "%u URBs did not drain",
			(unsigned)uf->in_flight);
		uf_drain_finish_locked(uf);
	}
	xpv_lock_release(uf->lock);
}

static void be_closing(struct usbfront *uf, enum xpv_xenbus_state be)
{
	xpv_bool now;

	if (uf->closed)
		return;
	xpv_lock_acquire(uf->lock);
	uf->closing = XPV_TRUE;
	now = be == XPV_XENBUS_CLOSED || uf->in_flight == 0 || uf->error ||
	      !uf->connected;
	uf->draining = !now;
	xpv_lock_release(uf->lock);
	if (now)
		drained(uf);
	else
		xpv_timer_arm(uf->drain_timer, UF_DRAIN_TIMEOUT_NS);
}

static void be_unknown(struct usbfront *uf)
{
	enum xpv_xenbus_state st;
	int err = xpv_xs_read_state(uf->dev, XPV_XS_OTHER, &st);

	if (err == -XPV_ERANGE || err == -XPV_EINVAL)
		xpv_xenbus_fatal(uf->dev, -XPV_EPROTO,
				 "backend wrote an unknown state");
}

void usbfront_otherend_changed(struct usbfront *uf,
			       enum xpv_xenbus_state be)
{
	switch (be) {
	case XPV_XENBUS_UNKNOWN:
		be_unknown(uf);
		break;
	case XPV_XENBUS_INITIALISING:
		break;
	case XPV_XENBUS_INITWAIT:
	case XPV_XENBUS_INITIALISED:
	case XPV_XENBUS_CONNECTED:
		if (uf->state == XPV_XENBUS_INITIALISING && !uf->closing)
			connect(uf);
		break;
	case XPV_XENBUS_CLOSING:
	case XPV_XENBUS_CLOSED:
		be_closing(uf, be);
		break;
	case XPV_XENBUS_RECONFIGURING:
	case XPV_XENBUS_RECONFIGURED:
		break; /* vusb has no reconfiguration */
	}
}

/* ---- lifecycle --------------------------------------------------------------- */

static void uf_free(struct usbfront *uf)
{
	uf_slots_free(uf);
	if (uf->retry_timer)
		xpv_timer_free(uf->dev, uf->retry_timer);
	if (uf->hub_timer)
		xpv_timer_free(uf->dev, uf->hub_timer);
	if (uf->drain_timer)
		xpv_timer_free(uf->dev, uf->drain_timer);
	if (uf->drain_work)
		xpv_work_free(uf->dev, uf->drain_work);
	if (uf->lock)
		xpv_lock_free(uf->dev, uf->lock);
	xpv_mem_free(uf->dev, uf, sizeof(*uf));
}

/* num-ports (1..31) and usb-ver (1..2), strictly (misbehaviour 15). */
static int read_params(struct usbfront *uf)
{
	xpv_u32 ports, ver;
	int err = xpv_xs_read_u32(uf->dev, XPV_XS_NO_TXN, XPV_XS_OTHER,
				  "num-ports", 1, USBFRONT_MAX_PORTS, &ports);

	if (err) {
		xpv_xenbus_fatal(uf->dev, err, "reading num-ports");
		return err;
	}
	err = xpv_xs_read_u32(uf->dev, XPV_XS_NO_TXN, XPV_XS_OTHER, "usb-ver",
			      1, 2, &ver);
	if (err) {
		xpv_xenbus_fatal(uf->dev, err, "reading usb-ver");
		return err;
	}
	uf->num_ports = (xpv_u8)ports;
	uf->usb_ver = (xpv_u8)ver;
	return 0;
}

static int alloc_parts(struct usbfront *uf)
{
	int err = xpv_lock_alloc(uf->dev, &uf->lock);

	if (!err)
		err = xpv_timer_alloc(uf->dev, uf_retry_timer, uf,
				      &uf->retry_timer);
	if (!err)
		err = xpv_timer_alloc(uf->dev, hub_timer_fn, uf,
				      &uf->hub_timer);
	if (!err)
		err = xpv_timer_alloc(uf->dev, drain_timeout, uf,
				      &uf->drain_timer);
	if (!err)
		err = xpv_work_alloc(uf->dev, drain_work_run, uf,
				     &uf->drain_work);
	if (!err)
		err = uf_slots_init(uf);
	return err;
}

int usbfront_probe(struct xpv_dev *dev, const struct usbfront_upper *up,
		   struct usbfront **out)
{
	struct usbfront *uf;
	int err = xpv_mem_alloc(dev, sizeof(*uf), (void **)&uf);

	if (err)
		return err;
	XPV_ASSERT(up->giveback != XPV_NULL);
	uf->dev = dev;
	uf->up = *up;
	uf->state = XPV_XENBUS_INITIALISING;
	err = read_params(uf);
	if (!err) {
		err = alloc_parts(uf);
		if (err)
			xpv_xenbus_fatal(dev, err, "allocating usbfront");
	}
	if (err) {
		uf_free(uf);
		return err;
	}
	for (xpv_u8 p = 1; p <= uf->num_ports; p++)
		uf->ports[p].status = USBFRONT_PORT_POWER;
	*out = uf;
	return 0;
}

int usbfront_suspend(struct usbfront *uf)
{
	xpv_lock_acquire(uf->lock);
	uf->paused = XPV_TRUE;
	xpv_lock_release(uf->lock);
	return 0;
}

/* After a restore the old backend is gone: URBs fail, ports drop their
 * devices, and the rings are built again once the new backend waits. */
int usbfront_resume(struct usbfront *uf)
{
	struct uf_batch b = { 0 };

	xpv_lock_acquire(uf->lock);
	uf->paused = XPV_TRUE;
	uf->connected = XPV_FALSE;
	uf_fail_all(uf, -XPV_ESHUTDOWN, &b);
	uf_forget_stale(uf);
	for (xpv_u8 p = 1; p <= uf->num_ports; p++)
		port_disconnect(uf, p, &b);
	xpv_lock_release(uf->lock);
	uf_batch_run(uf, &b);
	if (!rings_teardown(uf)) {
		struct uf_batch e = { 0 };

		xpv_lock_acquire(uf->lock);
		uf_set_error(uf, "old backend kept a ring mapped", &e);
		xpv_lock_release(uf->lock);
		uf_batch_run(uf, &e);
	}
	set_state(uf, XPV_XENBUS_INITIALISING);
	return 0;
}

void usbfront_close(struct usbfront *uf)
{
	xpv_lock_acquire(uf->lock);
	uf->closing = XPV_TRUE;
	xpv_lock_release(uf->lock);
	if (!uf->closed)
		set_state(uf, XPV_XENBUS_CLOSING);
}

void usbfront_remove(struct usbfront *uf)
{
	struct uf_batch b = { 0 };

	xpv_lock_acquire(uf->lock);
	uf->closing = XPV_TRUE;
	uf->connected = XPV_FALSE;
	uf->draining = XPV_FALSE;
	uf_fail_all(uf, -XPV_ESHUTDOWN, &b);
	xpv_lock_release(uf->lock);
	xpv_timer_cancel(uf->drain_timer);
	xpv_timer_cancel(uf->retry_timer);
	xpv_timer_cancel(uf->hub_timer);
	xpv_work_free(uf->dev, uf->drain_work);
	uf->drain_work = XPV_NULL;
	uf_batch_run(uf, &b);
	rings_teardown(uf);
	uf_free(uf);
}
