// SPDX-License-Identifier: MIT
/*
 * usbfront I/O: URB submission (bounce pages, grants, the request), the
 * queue for a full ring, unlink, the URB ring's responses and the result
 * policy of usbfront.h. Everything here runs with uf->lock held unless it
 * says otherwise; upper-layer calls are batched and made after the lock is
 * dropped (uf_batch_run).
 */
#include "usbfront_priv.h"

/* ---- slots --------------------------------------------------------------- */

static void unlink_timeout(void *arg);

int uf_slots_init(struct usbfront *uf)
{
	for (xpv_u32 i = 0; i < USBFRONT_URB_SLOTS; i++) {
		struct uf_slot *s = &uf->slot[i];
		int err;

		s->uf = uf;
		s->state = UF_SLOT_FREE;
		err = xpv_timer_alloc(uf->dev, unlink_timeout, s, &s->timer);
		if (err)
			return err;
	}
	return 0;
}

/* Per slot, one page per segment, allocated once at connect. */
int uf_bounce_alloc(struct usbfront *uf)
{
	XPV_ASSERT(!uf->bounce_ready);
	for (xpv_u32 i = 0; i < USBFRONT_URB_SLOTS; i++) {
		struct uf_slot *s = &uf->slot[i];

		for (xpv_u32 p = 0; p < USBFRONT_MAX_SEGS; p++) {
			int err = 0;

			if (!s->page[p])
				err = xpv_page_alloc(uf->dev, &s->page[p]);
			if (err)
				return err;
		}
	}
	uf->bounce_ready = XPV_TRUE;
	return 0;
}

void uf_slots_free(struct usbfront *uf)
{
	for (xpv_u32 i = 0; i < USBFRONT_URB_SLOTS; i++) {
		struct uf_slot *s = &uf->slot[i];

		XPV_ASSERT(s->nr_grants == 0);
		for (xpv_u32 p = 0; p < USBFRONT_MAX_SEGS; p++) {
			if (s->page[p])
				xpv_page_free(uf->dev, s->page[p]);
			s->page[p] = XPV_NULL;
		}
		if (s->timer)
			xpv_timer_free(uf->dev, s->timer);
		s->timer = XPV_NULL;
	}
	uf->bounce_ready = XPV_FALSE;
}

static xpv_u16 slot_index(const struct usbfront *uf, const struct uf_slot *s)
{
	return (xpv_u16)(s - uf->slot);
}

static xpv_u16 slot_id(const struct usbfront *uf, const struct uf_slot *s)
{
	return (xpv_u16)((s->gen << UF_ID_SLOT_BITS) | slot_index(uf, s));
}

static xpv_bool stale_test(const struct uf_slot *s, xpv_u32 gen)
{
	return (s->stale[gen / 8] >> (gen % 8)) & 1u;
}

static void stale_set(struct uf_slot *s, xpv_u32 gen)
{
	XPV_ASSERT(!stale_test(s, gen));
	s->stale[gen / 8] |= (xpv_u8)(1u << (gen % 8));
	s->nr_stale++;
}

static void stale_clear(struct uf_slot *s, xpv_u32 gen)
{
	XPV_ASSERT(stale_test(s, gen) && s->nr_stale > 0);
	s->stale[gen / 8] &= (xpv_u8)~(1u << (gen % 8));
	s->nr_stale--;
}

void uf_forget_stale(struct usbfront *uf)
{
	for (xpv_u32 i = 0; i < USBFRONT_URB_SLOTS; i++) {
		xpv_memset(uf->slot[i].stale, 0, sizeof(uf->slot[i].stale));
		uf->slot[i].nr_stale = 0;
	}
}

/* A slot usable now: free, with all its pages. */
static struct uf_slot *slot_get(struct usbfront *uf)
{
	if (xpv_front_ring_full(&uf->urb_ring))
		return XPV_NULL; /* entries held by requests given up on */
	for (xpv_u32 i = 0; i < USBFRONT_URB_SLOTS; i++)
		if (uf->slot[i].state == UF_SLOT_FREE)
			return &uf->slot[i];
	return XPV_NULL;
}

static void slot_take(struct usbfront *uf, struct uf_slot *s,
		      enum uf_slot_state state)
{
	XPV_ASSERT(s->state == UF_SLOT_FREE && state != UF_SLOT_FREE);
	XPV_ASSERT(s->nr_stale < UF_GENS - 1);
	do
		s->gen = (xpv_u16)((s->gen + 1) % UF_GENS);
	while (stale_test(s, s->gen));
	s->state = state;
	uf->in_flight++;
	XPV_ASSERT(uf->in_flight <= USBFRONT_URB_SLOTS);
}

static xpv_bool slot_has_pages(const struct uf_slot *s)
{
	for (xpv_u32 p = 0; p < USBFRONT_MAX_SEGS; p++)
		if (!s->page[p])
			return XPV_FALSE;
	return XPV_TRUE;
}

/* A slot that lost a page to quarantine, or has no generation left, is
 * never used again. */
static void slot_release(struct usbfront *uf, struct uf_slot *s)
{
	XPV_ASSERT(s->state == UF_SLOT_URB || s->state == UF_SLOT_UNLINK);
	XPV_ASSERT(s->nr_grants == 0 && uf->in_flight > 0);
	uf->in_flight--;
	s->urb = XPV_NULL;
	s->peer = XPV_NULL;
	if (s->nr_stale >= UF_GENS - 1 || !slot_has_pages(s))
		s->state = UF_SLOT_DEAD;
	else
		s->state = UF_SLOT_FREE;
}

static void slot_abandon(struct usbfront *uf, struct uf_slot *s)
{
	stale_set(s, s->gen);
	slot_release(uf, s);
}

/* End every grant of the slot. A page the backend still maps is
 * quarantined and forgotten (the slot dies with it). Returns how many
 * were kept. */
static xpv_u32 slot_end_grants(struct usbfront *uf, struct uf_slot *s)
{
	xpv_u32 kept = 0;

	for (xpv_u32 i = 0; i < s->nr_grants; i++) {
		struct uf_grant *g = &s->grant[i];

		if (xpv_grant_end(uf->dev, g->ref) == 0)
			continue;
		kept++;
		xpv_page_quarantine(uf->dev, g->page);
		for (xpv_u32 p = 0; p < USBFRONT_MAX_SEGS; p++)
			if (s->page[p] == g->page)
				s->page[p] = XPV_NULL;
	}
	s->nr_grants = 0;
	uf->st.quarantined += kept;
	return kept;
}

/* ---- upper-layer calls --------------------------------------------------- */

void uf_batch_done(struct uf_batch *b, struct usbfront_urb *urb)
{
	urb->next = XPV_NULL;
	if (b->done_tail)
		b->done_tail->next = urb;
	else
		b->done_head = urb;
	b->done_tail = urb;
}

/* Lock not held. */
void uf_batch_run(struct usbfront *uf, struct uf_batch *b)
{
	struct usbfront_urb *urb = b->done_head;

	while (urb) {
		struct usbfront_urb *next = urb->next;

		uf->st.completed++;
		if (urb->status != 0)
			uf->st.failed++;
		urb->next = XPV_NULL;
		uf->up.giveback(uf->up.arg, urb);
		urb = next;
	}
	for (xpv_u8 p = 1; p <= USBFRONT_MAX_PORTS; p++)
		if ((b->ports_changed >> p & 1u) && uf->up.port_changed)
			uf->up.port_changed(uf->up.arg, p);
	if (b->error_event && uf->up.event)
		uf->up.event(uf->up.arg, USBFRONT_EV_ERROR);
}

/* ---- the queue of URBs waiting for a slot -------------------------------- */

static void queue_add(struct usbfront *uf, struct usbfront_urb *urb)
{
	urb->next = XPV_NULL;
	if (uf->queue_tail)
		uf->queue_tail->next = urb;
	else
		uf->queue_head = urb;
	uf->queue_tail = urb;
}

static struct usbfront_urb *queue_pop(struct usbfront *uf)
{
	struct usbfront_urb *urb = uf->queue_head;

	if (!urb)
		return XPV_NULL;
	uf->queue_head = urb->next;
	if (!uf->queue_head)
		uf->queue_tail = XPV_NULL;
	urb->next = XPV_NULL;
	return urb;
}

/* Takes urb off the queue; false if it was not there. */
static xpv_bool queue_remove(struct usbfront *uf, struct usbfront_urb *urb)
{
	struct usbfront_urb **pp = &uf->queue_head, *prev = XPV_NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != urb)
			continue;
		*pp = urb->next;
		if (uf->queue_tail == urb)
			uf->queue_tail = prev;
		urb->next = XPV_NULL;
		return XPV_TRUE;
	}
	return XPV_FALSE;
}

/* ---- failing what is in flight ------------------------------------------- */

static void urb_fail(struct usbfront_urb *urb, int status,
		     struct uf_batch *b)
{
	urb->status = status;
	urb->actual = 0;
	urb->error_count = 0;
	for (xpv_u32 i = 0; urb->type == USBFRONT_ISO && i < urb->npackets;
	     i++) {
		urb->packets[i].actual = 0;
		urb->packets[i].status = status;
	}
	uf_batch_done(b, urb);
}

/* Given back without an answer: an unlinked URB reports its unlink. */
static int gone_status(const struct usbfront_urb *urb, int status)
{
	return urb->unlinked ? -USBFRONT_ECONNRESET : status;
}

void uf_fail_all(struct usbfront *uf, int status, struct uf_batch *b)
{
	struct usbfront_urb *urb;

	for (xpv_u32 i = 0; i < USBFRONT_URB_SLOTS; i++) {
		struct uf_slot *s = &uf->slot[i];

		if (s->state != UF_SLOT_URB && s->state != UF_SLOT_UNLINK)
			continue;
		xpv_timer_cancel(s->timer);
		if (s->state == UF_SLOT_URB)
			urb_fail(s->urb, gone_status(s->urb, status), b);
		slot_end_grants(uf, s);
		slot_release(uf, s);
	}
	uf->nr_unlink_wait = 0;
	while ((urb = queue_pop(uf)) != XPV_NULL)
		urb_fail(urb, gone_status(urb, status), b);
	XPV_ASSERT(uf->in_flight == 0);
}

void uf_set_error(struct usbfront *uf, const char *why, struct uf_batch *b)
{
	if (uf->error)
		return;
	uf->error = XPV_TRUE;
	xpv_log(uf->dev, XPV_LOG_ERR, "error state: %s", why);
	uf_fail_all(uf, -XPV_ESHUTDOWN, b);
	for (xpv_u32 i = 0; i < USBFRONT_URB_SLOTS; i++)
		uf->slot[i].state = UF_SLOT_DEAD;
	for (xpv_u8 p = 1; p <= uf->num_ports; p++) {
		struct uf_port *pt = &uf->ports[p];

		if (pt->status & USBFRONT_PORT_CONNECTION) {
			pt->change |= USBFRONT_PORT_C_CONNECTION;
			b->ports_changed |= 1u << p;
		}
		pt->status &= USBFRONT_PORT_POWER;
		pt->reset_end_ns = pt->resume_end_ns = 0;
	}
	b->error_event = XPV_TRUE;
}

/* ---- building requests --------------------------------------------------- */

static xpv_u32 pages_for(xpv_u32 bytes)
{
	return (bytes + XPV_PAGE_SIZE - 1) / XPV_PAGE_SIZE;
}

static xpv_u32 desc_pages(const struct usbfront_urb *urb)
{
	if (urb->type != USBFRONT_ISO)
		return 0;
	return pages_for(urb->npackets * USBFRONT_ISO_DESC_SIZE);
}

static xpv_u32 make_pipe(const struct usbfront_urb *urb)
{
	return (xpv_u32)urb->port |
	       (urb->in ? XPV_USBIF_PIPE_DIR_IN : 0) |
	       (xpv_u32)urb->devaddr << XPV_USBIF_PIPE_DEV_SHIFT |
	       (xpv_u32)urb->ep << XPV_USBIF_PIPE_EP_SHIFT |
	       (xpv_u32)urb->type << XPV_USBIF_PIPE_TYPE_SHIFT;
}

static int slot_grant(struct usbfront *uf, struct uf_slot *s,
		      struct xpv_page *page, enum xpv_grant_access access,
		      struct xpv_usbif_seg *seg, xpv_u32 len)
{
	xpv_grant_ref ref;
	int err = xpv_grant_access(uf->dev, page, access, &ref);

	if (err)
		return err;
	XPV_ASSERT(s->nr_grants < XPV_ARRAY_SIZE(s->grant));
	s->grant[s->nr_grants].ref = ref;
	s->grant[s->nr_grants].page = page;
	s->nr_grants++;
	seg->gref = ref;
	seg->offset = 0;
	seg->length = (xpv_u16)len;
	return 0;
}

/* Outbound data into the slot's first pages; inbound pages stay as they
 * are (the backend overwrites what it reports). */
static void gather(struct usbfront *uf, struct uf_slot *s,
		   const struct usbfront_urb *urb)
{
	const xpv_u8 *src = urb->buf;

	for (xpv_u32 p = 0, off = 0; off < urb->len; p++) {
		xpv_u32 n = XPV_MIN(urb->len - off, (xpv_u32)XPV_PAGE_SIZE);

		xpv_page_write_outbound(uf->dev, s->page[p], 0, src + off, n);
		off += n;
	}
}

/* Frame descriptors into the pages after the buffer's. They are written
 * while the pages are still private (before the grant), so plain stores
 * do; the backend writes actual_length and status back, which are read
 * once the grant has ended (iso_done). Not outbound data: the backend
 * must be able to write them. */
static void put_descs(struct uf_slot *s, const struct usbfront_urb *urb)
{
	for (xpv_u32 i = 0; i < urb->npackets; i++) {
		xpv_u32 d[4] = { urb->packets[i].offset,
				 urb->packets[i].length, 0, 0 };
		xpv_u32 at = i * USBFRONT_ISO_DESC_SIZE;
		struct xpv_page *pg = s->page[s->nr_buf_pages +
					      at / XPV_PAGE_SIZE];
		xpv_u8 *base = xpv_page_addr(pg);

		xpv_memcpy(base + at % XPV_PAGE_SIZE, d, sizeof(d));
	}
}

static int map_urb(struct usbfront *uf, struct uf_slot *s,
		   const struct usbfront_urb *urb,
		   struct xpv_usbif_urb_request *req)
{
	enum xpv_grant_access access = urb->in ? XPV_GRANT_RW : XPV_GRANT_RO;
	xpv_u32 nseg = 0;
	int err;

	s->nr_buf_pages = pages_for(urb->len);
	s->nr_desc_pages = desc_pages(urb);
	XPV_ASSERT(s->nr_buf_pages + s->nr_desc_pages <= USBFRONT_MAX_SEGS);
	if (!urb->in)
		gather(uf, s, urb);
	for (xpv_u32 p = 0; p < s->nr_buf_pages; p++, nseg++) {
		xpv_u32 len = XPV_MIN(urb->len - p * XPV_PAGE_SIZE,
				      (xpv_u32)XPV_PAGE_SIZE);

		err = slot_grant(uf, s, s->page[p], access, &req->seg[nseg],
				 len);
		if (err)
			return err;
	}
	req->nr_buffer_segs = (xpv_u16)s->nr_buf_pages;
	if (s->nr_desc_pages == 0)
		return 0;
	put_descs(s, urb);
	for (xpv_u32 p = 0; p < s->nr_desc_pages; p++, nseg++) {
		xpv_u32 bytes = urb->npackets * USBFRONT_ISO_DESC_SIZE;
		xpv_u32 len = XPV_MIN(bytes - p * XPV_PAGE_SIZE,
				      (xpv_u32)XPV_PAGE_SIZE);

		err = slot_grant(uf, s, s->page[s->nr_buf_pages + p],
				 XPV_GRANT_RW, &req->seg[nseg], len);
		if (err)
			return err;
	}
	req->u.isoc.nr_frame_desc_segs = (xpv_u16)s->nr_desc_pages;
	return 0;
}

static void build_request(const struct usbfront_urb *urb, xpv_u16 id,
			  struct xpv_usbif_urb_request *req)
{
	xpv_memset(req, 0, sizeof(*req));
	req->id = id;
	req->pipe = make_pipe(urb);
	req->transfer_flags = urb->flags & USBFRONT_SHORT_NOT_OK;
	/* Modulo 65,536: the segments are authoritative (usbfront.h). */
	req->buffer_length = (xpv_u16)urb->len;
	switch (urb->type) {
	case USBFRONT_CTRL:
		xpv_memcpy(req->u.ctrl, urb->setup, sizeof(req->u.ctrl));
		break;
	case USBFRONT_INT:
		req->u.intr.interval = urb->interval;
		break;
	case USBFRONT_ISO:
		req->u.isoc.interval = urb->interval;
		req->u.isoc.number_of_packets = (xpv_u16)urb->npackets;
		break;
	case USBFRONT_BULK:
		break;
	}
}

static void push(struct usbfront *uf)
{
	xpv_bool notify;

	xpv_front_ring_push(&uf->urb_ring, &notify);
	if (notify) {
		uf->st.notifies++;
		xpv_evtchn_notify(uf->dev, uf->port);
	}
}

static void outbound_discard(struct usbfront *uf, struct uf_slot *s)
{
	for (xpv_u32 p = 0; p < USBFRONT_MAX_SEGS; p++)
		if (s->page[p])
			xpv_page_outbound_discard(uf->dev, s->page[p]);
}

/* Puts urb on the ring in slot s. -XPV_EBUSY: out of grants (retry
 * later); -XPV_EIO: the backend mapped a grant never published (error
 * state). */
static int send_urb(struct usbfront *uf, struct uf_slot *s,
		    struct usbfront_urb *urb, struct uf_batch *b)
{
	struct xpv_usbif_urb_request req;
	int err;

	slot_take(uf, s, UF_SLOT_URB);
	build_request(urb, slot_id(uf, s), &req);
	err = map_urb(uf, s, urb, &req);
	if (err) {
		/* Never published, yet a backend may guess refs. */
		xpv_u32 kept = slot_end_grants(uf, s);

		outbound_discard(uf, s);
		slot_release(uf, s);
		if (kept) {
			uf_set_error(uf, "backend mapped an unpublished grant",
				     b);
			return -XPV_EIO;
		}
		return -XPV_EBUSY;
	}
	err = xpv_front_ring_put(&uf->urb_ring, &req);
	XPV_ASSERT(err == 0); /* slot_get checked for ring space */
	s->urb = urb;
	s->peer = XPV_NULL;
	s->pipe = req.pipe;
	urb->id = req.id;
	push(uf);
	return 0;
}

static void send_unlink(struct usbfront *uf, struct uf_slot *u,
			struct uf_slot *victim)
{
	struct xpv_usbif_urb_request req;
	int err;

	slot_take(uf, u, UF_SLOT_UNLINK);
	xpv_memset(&req, 0, sizeof(req));
	req.id = slot_id(uf, u);
	req.pipe = victim->pipe | XPV_USBIF_PIPE_UNLINK;
	req.u.unlink.unlink_id = victim->urb->id;
	err = xpv_front_ring_put(&uf->urb_ring, &req);
	XPV_ASSERT(err == 0);
	u->urb = victim->urb;
	u->peer = victim;
	victim->peer = u;
	uf->st.unlinks++;
	push(uf);
}

static xpv_bool port_usable(const struct usbfront *uf, xpv_u8 port)
{
	xpv_u16 want = USBFRONT_PORT_CONNECTION | USBFRONT_PORT_ENABLE;

	return (uf->ports[port].status & want) == want;
}

void uf_kick(struct usbfront *uf, struct uf_batch *b)
{
	struct uf_slot *s;

	while (uf->nr_unlink_wait > 0 && (s = slot_get(uf)) != XPV_NULL) {
		struct uf_slot *victim = uf->unlink_wait[0];

		uf->nr_unlink_wait--;
		for (xpv_u32 i = 0; i < uf->nr_unlink_wait; i++)
			uf->unlink_wait[i] = uf->unlink_wait[i + 1];
		if (victim->state == UF_SLOT_URB && victim->urb->unlinked)
			send_unlink(uf, s, victim);
	}
	while (uf->queue_head && !uf->error &&
	       (s = slot_get(uf)) != XPV_NULL) {
		struct usbfront_urb *urb = queue_pop(uf);

		if (!port_usable(uf, urb->port)) {
			urb_fail(urb, -XPV_ENODEV, b);
			continue;
		}
		if (send_urb(uf, s, urb, b) == -XPV_EBUSY) {
			/* Out of grants: back to the front, retry later. */
			urb->next = uf->queue_head;
			uf->queue_head = urb;
			if (!uf->queue_tail)
				uf->queue_tail = urb;
			xpv_timer_arm(uf->retry_timer, USBFRONT_RETRY_NS);
			return;
		}
	}
	if (uf->queue_head || uf->nr_unlink_wait)
		xpv_timer_arm(uf->retry_timer, USBFRONT_RETRY_NS);
}

/* Timer (atomic) context: the 5 ms retry of xen-hcd. */
void uf_retry_timer(void *arg)
{
	struct usbfront *uf = arg;
	struct uf_batch b = { 0 };

	xpv_lock_acquire(uf->lock);
	if (uf->connected && !uf->paused && !uf->error)
		uf_kick(uf, &b);
	xpv_lock_release(uf->lock);
	uf_batch_run(uf, &b);
}

/* ---- submission and unlink ------------------------------------------------ */

static int check_iso(const struct usbfront_urb *urb)
{
	if (urb->npackets == 0 || !urb->packets ||
	    urb->npackets > USBFRONT_MAX_SEGS * XPV_PAGE_SIZE /
				    USBFRONT_ISO_DESC_SIZE)
		return -XPV_EINVAL;
	for (xpv_u32 i = 0; i < urb->npackets; i++) {
		const struct usbfront_iso_packet *p = &urb->packets[i];

		if (p->offset > urb->len || p->length > urb->len - p->offset)
			return -XPV_EINVAL;
	}
	return 0;
}

static int check_urb(const struct usbfront *uf,
		     const struct usbfront_urb *urb)
{
	if (urb->port == 0 || urb->port > uf->num_ports ||
	    urb->devaddr > 127 || urb->ep > 15 || (urb->len && !urb->buf))
		return -XPV_EINVAL;
	if (urb->len > USBFRONT_MAX_TRANSFER)
		return -XPV_E2BIG;
	switch (urb->type) {
	case USBFRONT_CTRL:
		if (urb->in != ((urb->setup[0] & 0x80) != 0) || urb->ep != 0)
			return -XPV_EINVAL;
		break;
	case USBFRONT_ISO:
		if (check_iso(urb))
			return -XPV_EINVAL;
		break;
	case USBFRONT_INT:
	case USBFRONT_BULK:
		break;
	default:
		return -XPV_EINVAL;
	}
	if (pages_for(urb->len) + desc_pages(urb) > USBFRONT_MAX_SEGS)
		return -XPV_E2BIG;
	return 0;
}

static int submit_locked(struct usbfront *uf, struct usbfront_urb *urb,
			 struct uf_batch *b)
{
	struct uf_slot *s;
	int err = check_urb(uf, urb);

	if (err)
		return err;
	if (uf->error || uf->closing || uf->closed || !uf->connected ||
	    uf->paused)
		return -XPV_ESHUTDOWN;
	if (!port_usable(uf, urb->port))
		return -XPV_ENODEV;
	urb->status = 0;
	urb->actual = 0;
	urb->error_count = 0;
	urb->unlinked = XPV_FALSE;
	urb->next = XPV_NULL;
	uf->st.submitted++;
	s = uf->queue_head ? XPV_NULL : slot_get(uf);
	if (s) {
		err = send_urb(uf, s, urb, b);
		if (err != -XPV_EBUSY)
			return err;
	}
	uf->st.queued_full++;
	queue_add(uf, urb);
	xpv_timer_arm(uf->retry_timer, USBFRONT_RETRY_NS);
	return 0;
}

int usbfront_submit(struct usbfront *uf, struct usbfront_urb *urb)
{
	struct uf_batch b = { 0 };
	int err;

	xpv_lock_acquire(uf->lock);
	err = submit_locked(uf, urb, &b);
	xpv_lock_release(uf->lock);
	uf_batch_run(uf, &b);
	return err;
}

static struct uf_slot *slot_of_urb(struct usbfront *uf,
				   const struct usbfront_urb *urb)
{
	struct uf_slot *s = &uf->slot[urb->id & (USBFRONT_URB_SLOTS - 1)];

	if (s->state == UF_SLOT_URB && s->urb == urb &&
	    slot_id(uf, s) == urb->id)
		return s;
	return XPV_NULL;
}

static int unlink_locked(struct usbfront *uf, struct usbfront_urb *urb,
			 struct uf_batch *b)
{
	struct uf_slot *s, *u;

	if (queue_remove(uf, urb)) {
		urb->unlinked = XPV_TRUE;
		urb_fail(urb, -USBFRONT_ECONNRESET, b);
		uf->st.unlinked++;
		return 0;
	}
	s = slot_of_urb(uf, urb);
	if (!s || urb->unlinked)
		return -XPV_ENOENT;
	urb->unlinked = XPV_TRUE;
	xpv_timer_arm(s->timer, UF_UNLINK_TIMEOUT_NS);
	u = slot_get(uf);
	if (u && uf->nr_unlink_wait == 0) {
		send_unlink(uf, u, s);
		return 0;
	}
	XPV_ASSERT(uf->nr_unlink_wait < XPV_ARRAY_SIZE(uf->unlink_wait));
	uf->unlink_wait[uf->nr_unlink_wait++] = s;
	xpv_timer_arm(uf->retry_timer, USBFRONT_RETRY_NS);
	return 0;
}

int usbfront_unlink(struct usbfront *uf, struct usbfront_urb *urb)
{
	struct uf_batch b = { 0 };
	int err;

	xpv_lock_acquire(uf->lock);
	err = uf->error ? -XPV_ENOENT : unlink_locked(uf, urb, &b);
	xpv_lock_release(uf->lock);
	uf_batch_run(uf, &b);
	return err;
}

/* A request given up on keeps its ring entry until the backend answers
 * it: with every entry lost and nothing in flight, nothing can be sent
 * again. */
static void ring_space_lost(struct usbfront *uf, struct uf_batch *b)
{
	if (xpv_front_ring_full(&uf->urb_ring) && uf->in_flight == 0)
		uf_set_error(uf, "every ring entry is held by a request the "
				 "backend never answered", b);
}

static void unlink_wait_drop(struct usbfront *uf, const struct uf_slot *s)
{
	xpv_u32 j = 0;

	for (xpv_u32 i = 0; i < uf->nr_unlink_wait; i++)
		if (uf->unlink_wait[i] != s)
			uf->unlink_wait[j++] = uf->unlink_wait[i];
	uf->nr_unlink_wait = j;
}

/* Timer (atomic) context: the backend did not answer an unlink in time.
 * The victim is given back and both requests are given up on; their
 * pages, if the backend still maps them, are quarantined. */
static void unlink_timeout(void *arg)
{
	struct uf_slot *s = arg;
	struct usbfront *uf = s->uf;
	struct uf_batch b = { 0 };

	xpv_lock_acquire(uf->lock);
	if (s->state == UF_SLOT_URB && s->urb->unlinked && !uf->error) {
		struct usbfront_urb *urb = s->urb;

		xpv_log(uf->dev, XPV_LOG_WARN,
			"unlink of id %u not answered: given up",
			(unsigned)urb->id);
		unlink_wait_drop(uf, s);
		if (s->peer && s->peer->state == UF_SLOT_UNLINK)
			slot_abandon(uf, s->peer);
		slot_end_grants(uf, s);
		slot_abandon(uf, s);
		urb_fail(urb, -USBFRONT_ECONNRESET, &b);
		uf->st.unlinked++;
		ring_space_lost(uf, &b);
		uf_kick(uf, &b);
	}
	xpv_lock_release(uf->lock);
	uf_batch_run(uf, &b);
}

/* ---- responses ------------------------------------------------------------ */

/* The status policy of usbfront.h. */
static int decode_status(struct usbfront *uf, xpv_s32 status)
{
	switch (status) {
	case XPV_USBIF_STATUS_OK:
	case XPV_USBIF_STATUS_NODEV:
	case XPV_USBIF_STATUS_INVAL:
	case XPV_USBIF_STATUS_STALL:
	case XPV_USBIF_STATUS_IOERROR:
	case XPV_USBIF_STATUS_BABBLE:
	case XPV_USBIF_STATUS_SHUTDOWN:
		return status;
	default:
		uf->st.odd_status++;
		return XPV_USBIF_STATUS_SHUTDOWN;
	}
}

static xpv_u32 clamp_actual(struct usbfront *uf, xpv_s32 actual,
			    xpv_u32 len)
{
	if (actual >= 0 && (xpv_u32)actual <= len)
		return (xpv_u32)actual;
	uf->st.clamped_actual++;
	return actual < 0 ? 0 : len;
}

/* Inbound bytes out of the bounce pages. Their grants have ended: the
 * pages are private again, so plain copies are safe. */
static void scatter(struct uf_slot *s, struct usbfront_urb *urb,
		    xpv_u32 len)
{
	xpv_u8 *dst = urb->buf;

	for (xpv_u32 p = 0, off = 0; off < len; p++) {
		xpv_u32 n = XPV_MIN(len - off, (xpv_u32)XPV_PAGE_SIZE);

		xpv_memcpy(dst + off, xpv_page_addr(s->page[p]), n);
		off += n;
	}
}

/* Iso: per packet actual length and status back from the descriptor
 * pages (private again), clamped; IN data of every packet copied. */
static void iso_done(struct usbfront *uf, struct uf_slot *s,
		     struct usbfront_urb *urb)
{
	for (xpv_u32 i = 0; i < urb->npackets; i++) {
		struct usbfront_iso_packet *p = &urb->packets[i];
		xpv_u32 at = i * USBFRONT_ISO_DESC_SIZE, d[4];
		const xpv_u8 *base = xpv_page_addr(
			s->page[s->nr_buf_pages + at / XPV_PAGE_SIZE]);

		xpv_memcpy(d, base + at % XPV_PAGE_SIZE, sizeof(d));
		p->actual = clamp_actual(uf, (xpv_s32)d[2], p->length);
		p->status = decode_status(uf, (xpv_s32)d[3]);
	}
	if (urb->in && urb->len)
		scatter(s, urb, urb->len);
}

/* Iso that failed as a whole: every packet with the transfer's status and
 * no data. */
static void iso_failed(struct usbfront_urb *urb)
{
	XPV_ASSERT(urb->status != 0);
	for (xpv_u32 i = 0; i < urb->npackets; i++) {
		urb->packets[i].actual = 0;
		urb->packets[i].status = urb->status;
	}
	urb->error_count = urb->npackets;
}

static void urb_done(struct usbfront *uf, struct uf_slot *s,
		     const struct xpv_usbif_urb_response *rsp,
		     struct uf_batch *b)
{
	struct usbfront_urb *urb = s->urb;
	xpv_bool ended = slot_end_grants(uf, s) == 0;

	xpv_timer_cancel(s->timer);
	urb->status = decode_status(uf, rsp->status);
	urb->actual = clamp_actual(uf, rsp->actual_length, urb->len);
	/* A failed transfer moves no data: a backend reporting an error and
	 * data contradicts itself (qusb and the model send 0). */
	if (urb->status != 0 && urb->actual) {
		uf->st.clamped_actual++;
		urb->actual = 0;
	}
	/* Both are iso fields: on other transfers a backend's value means
	 * nothing and does not reach the upper layer. */
	urb->start_frame = urb->type == USBFRONT_ISO ? rsp->start_frame : 0;
	urb->error_count = 0;
	if (!ended) {
		urb->status = -XPV_ESHUTDOWN;
		urb->actual = 0;
	}
	if (urb->type == USBFRONT_ISO && urb->status == 0) {
		urb->error_count = rsp->error_count < 0 ? 0 :
				   XPV_MIN((xpv_u32)rsp->error_count,
					   urb->npackets);
		iso_done(uf, s, urb);
	} else if (urb->type == USBFRONT_ISO) {
		iso_failed(urb);
	} else if (urb->in) {
		scatter(s, urb, urb->actual);
	}
	if (urb->status == 0 && urb->in && urb->actual < urb->len &&
	    (urb->flags & USBFRONT_SHORT_NOT_OK) && urb->type != USBFRONT_ISO) {
		uf->st.short_not_ok++;
		urb->status = -USBFRONT_EREMOTEIO;
	}
	if (urb->unlinked) {
		urb->status = -USBFRONT_ECONNRESET;
		uf->st.unlinked++;
	}
	if (s->peer)
		s->peer->peer = XPV_NULL; /* its unlink outlives it */
	unlink_wait_drop(uf, s);
	slot_release(uf, s);
	uf_batch_done(b, urb);
	if (!ended)
		uf_set_error(uf, "backend kept a data grant mapped", b);
}

static void unlink_done(struct usbfront *uf, struct uf_slot *u)
{
	if (u->peer)
		u->peer->peer = XPV_NULL;
	slot_release(uf, u);
}

static void handle_response(struct usbfront *uf,
			    const struct xpv_usbif_urb_response *rsp,
			    struct uf_batch *b)
{
	struct uf_slot *s = &uf->slot[rsp->id & (USBFRONT_URB_SLOTS - 1)];
	xpv_u32 gen = (xpv_u32)rsp->id >> UF_ID_SLOT_BITS;
	xpv_bool live = s->state == UF_SLOT_URB || s->state == UF_SLOT_UNLINK;

	uf->st.responses++;
	if (live && s->gen == gen) {
		if (s->state == UF_SLOT_URB)
			urb_done(uf, s, rsp, b);
		else
			unlink_done(uf, s);
	} else if (stale_test(s, gen)) {
		stale_clear(s, gen);
		xpv_log(uf->dev, XPV_LOG_INFO,
			"late answer to a request given up on (id %u)",
			(unsigned)rsp->id);
	} else {
		uf_set_error(uf, "response for a request not in flight", b);
	}
}

void uf_urb_ring_drain(struct usbfront *uf, struct uf_batch *b,
		       xpv_u32 *handled)
{
	xpv_bool more = XPV_TRUE;

	while (more && !uf->error) {
		xpv_u32 ready;

		if (xpv_front_ring_poll(&uf->urb_ring, &ready) != 0) {
			uf_set_error(uf, "urb ring: rsp_prod beyond the "
				     "requests sent", b);
			return;
		}
		/* Bounded: poll never reports more than are outstanding. */
		for (; ready > 0 && !uf->error; ready--) {
			struct xpv_usbif_urb_response rsp;

			xpv_front_ring_take(&uf->urb_ring, &rsp);
			(*handled)++;
			handle_response(uf, &rsp, b);
		}
		if (!uf->error &&
		    xpv_front_ring_final_check(&uf->urb_ring, &more) != 0)
			uf_set_error(uf, "urb ring: rsp_prod beyond the "
				     "requests sent", b);
	}
	if (!uf->error)
		uf_kick(uf, b);
}

xpv_bool usbfront_in_error(const struct usbfront *uf)
{
	return uf->error;
}

xpv_u32 usbfront_in_flight(const struct usbfront *uf)
{
	return uf->in_flight;
}

void usbfront_get_stats(const struct usbfront *uf, struct usbfront_stats *st)
{
	*st = uf->st;
}
