/*
 * Test-only frontend; see testfront.h. Written like a core: contract and
 * ring code only, slot table allocated at connect, request id == slot
 * index, every response validated, sticky error state.
 */
#include "testfront.h"

#include <xpv/front_ring.h>
#include <xpv/xs_parse.h>

#include "testproto.h"

#define NSLOTS XPVT_RING_SIZE
#define XS_RETRIES 8

enum slot_state { SLOT_FREE, SLOT_IN_FLIGHT };

struct tf_slot {
	enum slot_state state;
	struct xpv_page *page;
	xpv_grant_ref gref;
	xpv_bool granted;
	xpv_u64 tag;
	xpv_u8 op;
	xpv_u32 len;
	xpv_u32 seq;
};

struct testfront {
	struct xpv_dev *dev;
	struct testfront_ops ops;
	struct testfront_breaks breaks;
	struct xpv_front_ring ring;
	struct xpv_page *ring_page;
	xpv_grant_ref ring_ref;
	xpv_bool ring_granted;
	xpv_evtchn_port port;
	xpv_bool port_open;
	struct xpv_watch *watch;
	enum xpv_xenbus_state state;
	xpv_bool error;
	xpv_bool closing;
	xpv_u32 in_flight;
	xpv_u32 seq;
	xpv_u64 completions;
	struct tf_slot slot[NSLOTS];
};

static void set_error(struct testfront *tf, const char *why);

/* ---- grants -------------------------------------------------------------- */

/* End a slot's grant. If the backend still maps it, the page must never
 * be reused: quarantine it and leave the slot without a page (never used
 * again; this runs in the event handler, where allocating may not sleep,
 * and the device goes to its error state anyway). */
static int end_slot_grant(struct testfront *tf, struct tf_slot *s)
{
	if (!s->granted)
		return 0;
	if (xpv_grant_end(tf->dev, s->gref) == 0) {
		s->granted = XPV_FALSE;
		return 0;
	}
	if (!tf->breaks.reuse_unrevoked)
		xpv_page_quarantine(tf->dev, s->page);
	else
		xpv_page_free(tf->dev, s->page); /* the defect */
	s->granted = XPV_FALSE;
	s->page = XPV_NULL;
	return -XPV_EBUSY;
}

/* ---- completion ------------------------------------------------------- */

static void complete(struct testfront *tf, struct tf_slot *s, int status,
		     xpv_u32 len)
{
	xpv_u64 nth = tf->completions++;

	XPV_ASSERT(s->state == SLOT_IN_FLIGHT && tf->in_flight > 0);
	s->state = SLOT_FREE;
	tf->in_flight--;
	if (tf->breaks.drop_completion && nth == 0)
		return;
	tf->ops.complete(tf->ops.arg, s->tag, status, len);
	if (tf->breaks.double_complete && nth == 0)
		tf->ops.complete(tf->ops.arg, s->tag, status, len);
}

/* After the grant ended the page is private again: read it as ordinary
 * memory, which the backend can no longer change under us. */
static int check_inbound(struct testfront *tf, struct tf_slot *s,
			 xpv_u32 len)
{
	const xpv_u8 *data = xpv_page_addr(s->page);

	for (xpv_u32 i = 0; i < len; i++)
		if (data[i] != xpvt_pattern(s->seq, i))
			return -XPV_EIO;
	return 0;
}

/* The double-fetch defect: inspect inbound data twice while it is still
 * shared, the pattern XSA-155 is about. */
static void inspect_shared_twice(struct testfront *tf, struct tf_slot *s)
{
	static xpv_u8 data[XPV_PAGE_SIZE];
	const volatile xpv_u8 *src = xpv_page_addr(s->page);

	xpv_shm_fetch(tf->dev, data, src, s->len);
	xpv_shm_fetch(tf->dev, data, src, s->len);
}

static void handle_response(struct testfront *tf,
			    const struct xpvt_response *rsp)
{
	struct tf_slot *s;
	int status;

	if (rsp->id >= NSLOTS || tf->slot[rsp->id].state != SLOT_IN_FLIGHT) {
		set_error(tf, "response for a slot not in flight");
		return;
	}
	s = &tf->slot[rsp->id];
	if (tf->breaks.double_fetch && s->op == XPVT_OP_READ)
		inspect_shared_twice(tf, s);
	if (tf->breaks.leak_grant && tf->completions == 0)
		s->granted = XPV_FALSE; /* the defect: forget the grant */
	if (tf->breaks.sleep_in_handler && tf->completions == 0)
		xpv_xs_write(tf->dev, XPV_XS_NO_TXN, "last-response", "1");
	if (end_slot_grant(tf, s) != 0) {
		complete(tf, s, -XPV_EIO, 0);
		set_error(tf, "backend kept a data grant mapped");
		return;
	}
	status = rsp->status == XPVT_STATUS_OK ? 0 : -XPV_EIO;
	xpv_u32 len = XPV_MIN(rsp->len, s->len); /* never more than asked */
	if (status == 0 && s->op == XPVT_OP_READ)
		status = check_inbound(tf, s, len);
	complete(tf, s, status, status == 0 ? len : 0);
}

/* The event-channel handler: drain the ring, budgeted. */
static void interrupt(void *arg)
{
	struct testfront *tf = arg;
	xpv_u32 handled = 0, ready;
	xpv_bool more = XPV_TRUE;

	while (more && !tf->error && handled < 4 * NSLOTS) {
		if (xpv_front_ring_poll(&tf->ring, &ready) != 0) {
			set_error(tf, "rsp_prod overflow");
			break;
		}
		for (; ready > 0 && !tf->error; ready--, handled++) {
			struct xpvt_response rsp;
			xpv_front_ring_take(&tf->ring, &rsp);
			handle_response(tf, &rsp);
		}
		if (!tf->error &&
		    xpv_front_ring_final_check(&tf->ring, &more) != 0)
			set_error(tf, "rsp_prod overflow");
	}
	xpv_evtchn_eoi(tf->dev, tf->port, handled == 0);
}

static void set_error(struct testfront *tf, const char *why)
{
	if (tf->error)
		return;
	tf->error = XPV_TRUE;
	xpv_log(tf->dev, XPV_LOG_ERR, "error state: %s", why);
	/* Fail everything in flight: a page still mapped is quarantined. */
	for (xpv_u32 i = 0; i < NSLOTS; i++) {
		struct tf_slot *s = &tf->slot[i];
		if (s->state != SLOT_IN_FLIGHT)
			continue;
		end_slot_grant(tf, s);
		complete(tf, s, -XPV_EIO, 0);
	}
}

/* ---- connect and submit --------------------------------------------------- */

static int publish_ring(struct testfront *tf)
{
	for (int attempt = 0; attempt < XS_RETRIES; attempt++) {
		xpv_xs_txn txn;
		int err = xpv_xs_txn_start(tf->dev, &txn);
		if (!err)
			err = xpv_xs_write_u32(tf->dev, txn, "ring-ref",
					       tf->ring_ref);
		if (!err)
			err = xpv_xs_write_u32(tf->dev, txn, "event-channel",
					       tf->port);
		if (err) {
			xpv_xs_txn_end(tf->dev, txn, XPV_TRUE);
			return err;
		}
		err = xpv_xs_txn_end(tf->dev, txn, XPV_FALSE);
		if (err != -XPV_EAGAIN)
			return err;
	}
	return -XPV_EAGAIN;
}

static void backend_changed(void *arg, const char *path)
{
	struct testfront *tf = arg;
	enum xpv_xenbus_state be;

	if (xpv_xs_read_state(tf->dev, XPV_XS_OTHER, &be) != 0)
		be = XPV_XENBUS_UNKNOWN;
	if (be == XPV_XENBUS_CONNECTED &&
	    tf->state == XPV_XENBUS_INITIALISED) {
		tf->state = XPV_XENBUS_CONNECTED;
		xpv_xenbus_switch_state(tf->dev, tf->state);
		if (tf->ops.connected)
			tf->ops.connected(tf->ops.arg);
	} else if (be == XPV_XENBUS_CLOSED && tf->closing &&
		   tf->state != XPV_XENBUS_CLOSED) {
		tf->state = XPV_XENBUS_CLOSED;
		xpv_xenbus_switch_state(tf->dev, tf->state);
		if (tf->ops.closed)
			tf->ops.closed(tf->ops.arg);
	}
}

int testfront_create(struct xpv_dev *dev, const struct testfront_ops *ops,
		     const struct testfront_breaks *breaks,
		     struct testfront **out)
{
	struct testfront *tf;
	int err = xpv_mem_alloc(dev, sizeof(*tf), (void **)&tf);

	if (err)
		return err;
	tf->dev = dev;
	tf->ops = *ops;
	if (breaks)
		tf->breaks = *breaks;
	tf->state = XPV_XENBUS_INITIALISING;
	for (xpv_u32 i = 0; i < NSLOTS && !err; i++)
		err = xpv_page_alloc(dev, &tf->slot[i].page);
	if (!err)
		err = xpv_page_alloc(dev, &tf->ring_page);
	if (err) {
		testfront_destroy(tf);
		return err;
	}
	*out = tf;
	return 0;
}

int testfront_start(struct testfront *tf)
{
	int err;

	xpv_front_ring_init(&tf->ring, tf->dev, xpv_page_addr(tf->ring_page),
			    sizeof(union xpvt_entry),
			    sizeof(struct xpvt_request),
			    sizeof(struct xpvt_response));
	err = xpv_grant_access(tf->dev, tf->ring_page, XPV_GRANT_RW,
			       &tf->ring_ref);
	if (err)
		return err;
	tf->ring_granted = XPV_TRUE;
	err = xpv_evtchn_alloc(tf->dev, &tf->port);
	if (err)
		return err;
	tf->port_open = XPV_TRUE;
	err = xpv_evtchn_bind(tf->dev, tf->port, interrupt, tf);
	if (!err)
		err = publish_ring(tf);
	if (!err)
		err = xpv_xs_watch(tf->dev, XPV_XS_OTHER, "state",
				   backend_changed, tf, &tf->watch);
	if (err)
		return err;
	tf->state = XPV_XENBUS_INITIALISED;
	return xpv_xenbus_switch_state(tf->dev, tf->state);
}

static struct tf_slot *free_slot(struct testfront *tf, xpv_u16 *id)
{
	for (xpv_u16 i = 0; i < NSLOTS; i++)
		if (tf->slot[i].state == SLOT_FREE && tf->slot[i].page) {
			*id = i;
			return &tf->slot[i];
		}
	return XPV_NULL;
}

int testfront_submit(struct testfront *tf, xpv_u64 tag, xpv_u8 op,
		     xpv_u32 len)
{
	struct xpvt_request req;
	struct tf_slot *s;
	xpv_bool notify;
	xpv_u16 id;

	XPV_ASSERT(len <= XPV_PAGE_SIZE);
	XPV_ASSERT(op == XPVT_OP_WRITE || op == XPVT_OP_READ);
	if (tf->error || tf->state != XPV_XENBUS_CONNECTED || tf->closing)
		return -XPV_EIO;
	s = free_slot(tf, &id);
	if (!s || xpv_front_ring_full(&tf->ring))
		return -XPV_EBUSY;
	s->seq = tf->seq++;
	tf->ops.prepare(tf->ops.arg, op, s->page, len, s->seq);
	enum xpv_grant_access access =
		op == XPVT_OP_WRITE && !tf->breaks.rw_outbound ? XPV_GRANT_RO
							       : XPV_GRANT_RW;
	if (xpv_grant_access(tf->dev, s->page, access, &s->gref) != 0)
		return -XPV_EBUSY; /* grant table full: retry later */
	s->granted = XPV_TRUE;
	s->state = SLOT_IN_FLIGHT;
	s->tag = tag;
	s->op = op;
	s->len = len;
	tf->in_flight++;
	xpv_memset(&req, 0, sizeof(req));
	req.id = id;
	req.op = op;
	req.gref = s->gref;
	req.len = len;
	req.seq = s->seq;
	XPV_ASSERT(xpv_front_ring_put(&tf->ring, &req) == 0);
	xpv_front_ring_push(&tf->ring, &notify);
	if (notify)
		xpv_evtchn_notify(tf->dev, tf->port);
	return 0;
}

/* ---- teardown ------------------------------------------------------------- */

void testfront_close(struct testfront *tf)
{
	tf->closing = XPV_TRUE;
	xpv_xenbus_switch_state(tf->dev, XPV_XENBUS_CLOSING);
}

xpv_bool testfront_in_error(const struct testfront *tf)
{
	return tf->error;
}

xpv_u32 testfront_in_flight(const struct testfront *tf)
{
	return tf->in_flight;
}

static void release_ring(struct testfront *tf)
{
	if (tf->port_open)
		xpv_evtchn_close(tf->dev, tf->port);
	tf->port_open = XPV_FALSE;
	if (tf->ring_granted && xpv_grant_end(tf->dev, tf->ring_ref) != 0) {
		xpv_page_quarantine(tf->dev, tf->ring_page);
		tf->ring_page = XPV_NULL;
	}
	tf->ring_granted = XPV_FALSE;
	if (tf->breaks.access_after_end && tf->ring_page)
		xpv_shm_write_idx(tf->dev, &tf->ring.sring->rsp_event, 0);
	if (tf->ring_page)
		xpv_page_free(tf->dev, tf->ring_page);
	tf->ring_page = XPV_NULL;
}

void testfront_destroy(struct testfront *tf)
{
	struct xpv_dev *dev = tf->dev;

	if (tf->watch)
		xpv_xs_unwatch(dev, tf->watch);
	release_ring(tf);
	for (xpv_u32 i = 0; i < NSLOTS; i++) {
		struct tf_slot *s = &tf->slot[i];
		if (s->state == SLOT_IN_FLIGHT)
			complete(tf, s, -XPV_EIO, 0);
		end_slot_grant(tf, s);
		if (s->page)
			xpv_page_free(dev, s->page);
	}
	xpv_mem_free(dev, tf, sizeof(*tf));
}
