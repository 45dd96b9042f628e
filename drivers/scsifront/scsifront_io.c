// SPDX-License-Identifier: MIT
/*
 * scsifront I/O path: ring slots, bounce pages and their grants, command
 * and task-management requests, response handling, the error state.
 *
 * Locking: sf->lock covers the ring, the slots and the state flags. Calls
 * into the upper layer are collected in a struct sf_batch and made after
 * the lock is dropped (sf_batch_run).
 */
#include "scsifront_priv.h"

/* ---- slots and bounce pages ---------------------------------------------- */

static void tmr_timeout(void *arg);

int sf_slots_init(struct scsifront *sf)
{
	for (xpv_u32 i = 0; i < SF_RING_SIZE; i++) {
		struct sf_slot *s = &sf->slot[i];
		int err;

		s->sf = sf;
		s->state = SF_SLOT_FREE;
		err = xpv_timer_alloc(sf->dev, tmr_timeout, s, &s->timer);
		if (err)
			return err;
	}
	return 0;
}

static int refill_pages(struct scsifront *sf, struct sf_slot *s);

/* Per slot: one page per segment and one for an indirect segment list,
 * allocated once the segment count is known (at Connected). After a
 * failure only the missing pages are allocated by the next attempt (what
 * exists is kept, and released by sf_slots_free). */
int sf_bounce_alloc(struct scsifront *sf)
{
	XPV_ASSERT(!sf->bounce_ready);
	for (xpv_u32 i = 0; i < SF_RING_SIZE; i++) {
		int err = refill_pages(sf, &sf->slot[i]);

		if (err)
			return err;
	}
	sf->bounce_ready = XPV_TRUE;
	return 0;
}

void sf_slots_free(struct scsifront *sf)
{
	for (xpv_u32 i = 0; i < SF_RING_SIZE; i++) {
		struct sf_slot *s = &sf->slot[i];

		XPV_ASSERT(s->nr_grants == 0);
		for (xpv_u32 p = 0; p < SF_MAX_SEGS; p++) {
			if (s->data[p])
				xpv_page_free(sf->dev, s->data[p]);
			s->data[p] = XPV_NULL;
		}
		if (s->sglist)
			xpv_page_free(sf->dev, s->sglist);
		s->sglist = XPV_NULL;
		if (s->timer)
			xpv_timer_free(sf->dev, s->timer);
		s->timer = XPV_NULL;
	}
}

static struct sf_slot *slot_get(struct scsifront *sf)
{
	for (xpv_u32 i = 0; i < SF_RING_SIZE; i++)
		if (sf->slot[i].state == SF_SLOT_FREE)
			return &sf->slot[i];
	return XPV_NULL;
}

static xpv_u16 slot_id(const struct scsifront *sf, const struct sf_slot *s)
{
	return (xpv_u16)(s - sf->slot);
}

static xpv_u16 slot_rqid(const struct scsifront *sf, const struct sf_slot *s)
{
	return (xpv_u16)((s->gen << SF_RQID_SLOT_BITS) | slot_id(sf, s));
}

static xpv_bool stale_test(const struct sf_slot *s, xpv_u32 gen)
{
	return (s->stale[gen / 8] >> (gen % 8)) & 1u;
}

static void stale_set(struct sf_slot *s, xpv_u32 gen)
{
	XPV_ASSERT(!stale_test(s, gen));
	s->stale[gen / 8] |= (xpv_u8)(1u << (gen % 8));
	s->nr_stale++;
}

static void stale_clear(struct sf_slot *s, xpv_u32 gen)
{
	XPV_ASSERT(stale_test(s, gen) && s->nr_stale > 0);
	s->stale[gen / 8] &= (xpv_u8)~(1u << (gen % 8));
	s->nr_stale--;
}

/* A fresh rqid for the slot's next use. Bounded: a slot with fewer than
 * two generations left is dead (slot_release), so one is found. */
static void slot_next_gen(struct sf_slot *s)
{
	XPV_ASSERT(s->nr_stale < SF_GENS - 1);
	do
		s->gen = (xpv_u16)((s->gen + 1) % SF_GENS);
	while (stale_test(s, s->gen));
}

void sf_forget_stale(struct scsifront *sf)
{
	for (xpv_u32 i = 0; i < SF_RING_SIZE; i++) {
		xpv_memset(sf->slot[i].stale, 0, sizeof(sf->slot[i].stale));
		sf->slot[i].nr_stale = 0;
	}
}

static void slot_take(struct scsifront *sf, struct sf_slot *s,
		      enum sf_slot_state state)
{
	XPV_ASSERT(s->state == SF_SLOT_FREE && state != SF_SLOT_FREE);
	s->state = state;
	s->seq = ++sf->next_seq;
	sf->in_flight++;
	XPV_ASSERT(sf->in_flight <= SF_RING_SIZE);
}

/* A slot that lost a page to quarantine is never used again. */
static xpv_bool slot_complete(const struct scsifront *sf,
			      const struct sf_slot *s)
{
	if (s->sglist == XPV_NULL)
		return XPV_FALSE;
	for (xpv_u32 p = 0; p < sf->max_segs && sf->bounce_ready; p++)
		if (s->data[p] == XPV_NULL)
			return XPV_FALSE;
	return XPV_TRUE;
}

static void slot_release(struct scsifront *sf, struct sf_slot *s)
{
	XPV_ASSERT(s->state != SF_SLOT_FREE && s->state != SF_SLOT_DEAD);
	XPV_ASSERT(s->nr_grants == 0 && sf->in_flight > 0);
	sf->in_flight--;
	s->cmd = XPV_NULL;
	s->cookie = XPV_NULL;
	if (s->nr_stale >= SF_GENS - 1) {
		s->state = SF_SLOT_DEAD;
	} else if (slot_complete(sf, s)) {
		s->state = SF_SLOT_FREE;
	} else {
		s->state = SF_SLOT_REFILL;
		if (!sf->error && !sf->closing)
			xpv_work_queue(sf->refill_work);
	}
}

/* Given up on: the slot is free at once, its rqid stays stale until a late
 * answer (which is then ignored). */
static void slot_abandon(struct scsifront *sf, struct sf_slot *s)
{
	stale_set(s, s->gen);
	sf->st.abandoned++;
	slot_release(sf, s);
}

/* A request given up on keeps its ring entry until the backend answers it,
 * and Linux scsiback never answers a command an abort took down: each such
 * command costs the ring one entry for good. With every entry lost and
 * nothing in flight, no request can ever be sent again. */
static void ring_space_lost(struct scsifront *sf, struct sf_batch *b)
{
	if (xpv_front_ring_full(&sf->ring) && sf->in_flight == 0)
		sf_set_error(sf, "every ring entry is held by a request the "
				 "backend never answered", b);
}

/* Allocate what the slot lost. Process context, lock not held. */
static int refill_pages(struct scsifront *sf, struct sf_slot *s)
{
	int err = 0;

	if (!s->sglist)
		err = xpv_page_alloc(sf->dev, &s->sglist);
	for (xpv_u32 p = 0; !err && p < sf->max_segs; p++)
		if (!s->data[p])
			err = xpv_page_alloc(sf->dev, &s->data[p]);
	return err;
}

/* The refill work. A slot in SF_SLOT_REFILL belongs to it: nothing else
 * touches that slot's pages until it is set free here. */
void sf_refill(void *arg)
{
	struct scsifront *sf = arg;

	for (xpv_u32 i = 0; i < SF_RING_SIZE; i++) {
		struct sf_slot *s = &sf->slot[i];
		xpv_bool want;

		xpv_lock_acquire(sf->lock);
		want = s->state == SF_SLOT_REFILL && !sf->error;
		xpv_lock_release(sf->lock);
		if (!want)
			continue;
		if (refill_pages(sf, s) != 0) {
			xpv_log(sf->dev, XPV_LOG_WARN,
				"no pages to refill slot %u", (unsigned)i);
			continue;
		}
		xpv_lock_acquire(sf->lock);
		if (s->state == SF_SLOT_REFILL) {
			s->state = SF_SLOT_FREE;
			sf->st.refills++;
		}
		xpv_lock_release(sf->lock);
		xpv_log(sf->dev, XPV_LOG_DEBUG, "slot %u has new pages",
			(unsigned)i);
	}
}

static void forget_page(struct sf_slot *s, const struct xpv_page *page)
{
	if (s->sglist == page)
		s->sglist = XPV_NULL;
	for (xpv_u32 p = 0; p < SF_MAX_SEGS; p++)
		if (s->data[p] == page)
			s->data[p] = XPV_NULL;
}

/* End every grant of the slot (atomic try-revoke). A page the backend
 * still maps is quarantined and forgotten. Returns how many were. */
static xpv_u32 slot_end_grants(struct scsifront *sf, struct sf_slot *s)
{
	xpv_u32 kept = 0;

	for (xpv_u32 i = 0; i < s->nr_grants; i++) {
		struct sf_grant *g = &s->grant[i];

		if (xpv_grant_end(sf->dev, g->ref) == 0)
			continue;
		kept++;
		xpv_page_quarantine(sf->dev, g->page);
		forget_page(s, g->page);
	}
	s->nr_grants = 0;
	sf->st.quarantined += kept;
	return kept;
}

static int slot_grant(struct scsifront *sf, struct sf_slot *s,
		      struct xpv_page *page, enum xpv_grant_access access,
		      xpv_grant_ref *ref)
{
	int err = xpv_grant_access(sf->dev, page, access, ref);

	if (err)
		return err;
	XPV_ASSERT(s->nr_grants < XPV_ARRAY_SIZE(s->grant));
	s->grant[s->nr_grants].ref = *ref;
	s->grant[s->nr_grants].page = page;
	s->nr_grants++;
	return 0;
}

/* ---- upper-layer calls --------------------------------------------------- */

static void batch_done(struct sf_batch *b, struct scsifront_cmd *cmd)
{
	XPV_ASSERT(b->nr_done < XPV_ARRAY_SIZE(b->done));
	b->done[b->nr_done++] = cmd;
}

static void batch_tmr(struct sf_batch *b, void *cookie, int result)
{
	XPV_ASSERT(b->nr_tmr < XPV_ARRAY_SIZE(b->tmr_cookie));
	b->tmr_cookie[b->nr_tmr] = cookie;
	b->tmr_result[b->nr_tmr++] = result;
}

void sf_batch_run(struct scsifront *sf, struct sf_batch *b)
{
	for (xpv_u32 i = 0; i < b->nr_done; i++) {
		const struct scsifront_result *r = &b->done[i]->res;

		sf->st.completed++;
		if (r->host != XPV_VSCSIIF_RSLT_HOST_OK || r->status != 0)
			sf->st.failed++;
		sf->up.done(sf->up.arg, b->done[i]);
	}
	for (xpv_u32 i = 0; i < b->nr_tmr; i++)
		if (sf->up.tmr_done)
			sf->up.tmr_done(sf->up.arg, b->tmr_cookie[i],
					b->tmr_result[i]);
	if (b->error_event && sf->up.event)
		sf->up.event(sf->up.arg, SCSIFRONT_EV_ERROR);
}

/* ---- failing what is in flight ------------------------------------------- */

static void fail_cmd(struct scsifront *sf, struct sf_slot *s, xpv_u8 host,
		     struct sf_batch *b)
{
	struct scsifront_cmd *cmd = s->cmd;

	xpv_memset(&cmd->res, 0, sizeof(cmd->res));
	cmd->res.host = host;
	cmd->res.residual = cmd->data_len;
	slot_end_grants(sf, s);
	slot_release(sf, s);
	batch_done(b, cmd);
}

void sf_fail_all(struct scsifront *sf, xpv_u8 host, struct sf_batch *b)
{
	for (xpv_u32 i = 0; i < SF_RING_SIZE; i++) {
		struct sf_slot *s = &sf->slot[i];

		if (s->state == SF_SLOT_CMD) {
			fail_cmd(sf, s, host, b);
		} else if (s->state == SF_SLOT_TMR) {
			xpv_timer_cancel(s->timer);
			batch_tmr(b, s->cookie, -XPV_EIO);
			slot_release(sf, s);
		}
	}
	XPV_ASSERT(sf->in_flight == 0);
}

void sf_set_error(struct scsifront *sf, const char *why, struct sf_batch *b)
{
	if (sf->error)
		return;
	sf->error = XPV_TRUE;
	xpv_log(sf->dev, XPV_LOG_ERR, "error state: %s", why);
	sf_fail_all(sf, XPV_VSCSIIF_RSLT_HOST_ERROR, b);
	b->error_event = XPV_TRUE;
}

/* ---- building requests --------------------------------------------------- */

/* Copy the command's outbound data into its bounce pages, in order. */
static void gather(struct scsifront *sf, struct sf_slot *s,
		   const struct scsifront_cmd *cmd)
{
	xpv_u32 page = 0, off = 0;

	for (xpv_u32 i = 0; i < cmd->nr_bufs; i++) {
		const xpv_u8 *src = cmd->bufs[i].addr;
		xpv_u32 left = cmd->bufs[i].len;

		while (left > 0) {
			xpv_u32 n = XPV_MIN(left, XPV_PAGE_SIZE - off);

			xpv_page_write_outbound(sf->dev, s->data[page], off,
						src, n);
			src += n;
			left -= n;
			off += n;
			if (off == XPV_PAGE_SIZE) {
				page++;
				off = 0;
			}
		}
	}
}

/* Copy len inbound bytes out of the bounce pages. Their grants have
 * ended: the pages are private again and the backend cannot change them,
 * so plain copies are safe. */
static void scatter(struct sf_slot *s, const struct scsifront_cmd *cmd,
		    xpv_u32 len)
{
	xpv_u32 page = 0, off = 0;

	for (xpv_u32 i = 0; i < cmd->nr_bufs && len > 0; i++) {
		xpv_u8 *dst = cmd->bufs[i].addr;
		xpv_u32 left = XPV_MIN(cmd->bufs[i].len, len);

		len -= left;
		while (left > 0) {
			xpv_u32 n = XPV_MIN(left, XPV_PAGE_SIZE - off);
			const xpv_u8 *src = xpv_page_addr(s->data[page]);

			xpv_memcpy(dst, src + off, n);
			dst += n;
			left -= n;
			off += n;
			if (off == XPV_PAGE_SIZE) {
				page++;
				off = 0;
			}
		}
	}
}

/* A request that was prepared but never published: the outbound data in
 * its pages is not going anywhere (pages lost to quarantine are gone). */
static void outbound_discard(struct scsifront *sf, struct sf_slot *s)
{
	for (xpv_u32 p = 0; p < sf->max_segs; p++)
		if (s->data[p])
			xpv_page_outbound_discard(sf->dev, s->data[p]);
	if (s->sglist)
		xpv_page_outbound_discard(sf->dev, s->sglist);
}

/* Grant the data pages (and an indirect list page when the segments do
 * not fit in the request) and describe them in req. */
static int map_data(struct scsifront *sf, struct sf_slot *s,
		    const struct scsifront_cmd *cmd,
		    struct xpv_vscsiif_request *req)
{
	struct xpv_vscsiif_seg seg[SF_MAX_SEGS];
	xpv_u32 nseg = (cmd->data_len + XPV_PAGE_SIZE - 1) / XPV_PAGE_SIZE;
	enum xpv_grant_access access = cmd->dir == XPV_VSCSIIF_DIR_TO_DEVICE
					       ? XPV_GRANT_RO
					       : XPV_GRANT_RW;
	xpv_grant_ref ref;
	int err;

	XPV_ASSERT(nseg <= sf->max_segs);
	if (access == XPV_GRANT_RO)
		gather(sf, s, cmd);
	for (xpv_u32 i = 0; i < nseg; i++) {
		err = slot_grant(sf, s, s->data[i], access, &ref);
		if (err)
			return err;
		seg[i].gref = ref;
		seg[i].offset = 0;
		seg[i].length = (xpv_u16)XPV_MIN(
			XPV_PAGE_SIZE, cmd->data_len - i * XPV_PAGE_SIZE);
	}
	if (nseg <= XPV_VSCSIIF_SG_TABLESIZE) {
		xpv_memcpy(req->seg, seg, nseg * sizeof(seg[0]));
		req->nr_segments = (xpv_u8)nseg;
		return 0;
	}
	/* The list page is outbound data too: the backend only reads it. */
	xpv_page_write_outbound(sf->dev, s->sglist, 0, seg,
				nseg * (xpv_u32)sizeof(seg[0]));
	err = slot_grant(sf, s, s->sglist, XPV_GRANT_RO, &ref);
	if (err)
		return err;
	req->seg[0].gref = ref;
	req->seg[0].offset = 0;
	req->seg[0].length = (xpv_u16)(nseg * sizeof(seg[0]));
	req->nr_segments = (xpv_u8)(XPV_VSCSIIF_SG_GRANT | 1u);
	sf->st.indirect++;
	return 0;
}

static void push(struct scsifront *sf)
{
	xpv_bool notify;

	xpv_front_ring_push(&sf->ring, &notify);
	if (notify) {
		sf->st.notifies++;
		xpv_evtchn_notify(sf->dev, sf->port);
	}
}

static int check_cmd(const struct scsifront *sf,
		     const struct scsifront_cmd *cmd)
{
	xpv_u64 sum = 0;

	if (cmd->cdb_len == 0 || cmd->cdb_len > XPV_VSCSIIF_MAX_COMMAND_SIZE)
		return -XPV_EINVAL;
	if (cmd->id >= SCSIFRONT_MAX_ID || cmd->lun >= SCSIFRONT_MAX_LUN)
		return -XPV_EINVAL;
	if (cmd->dir != XPV_VSCSIIF_DIR_NONE &&
	    cmd->dir != XPV_VSCSIIF_DIR_TO_DEVICE &&
	    cmd->dir != XPV_VSCSIIF_DIR_FROM_DEVICE)
		return -XPV_EINVAL;
	if ((cmd->dir == XPV_VSCSIIF_DIR_NONE) != (cmd->data_len == 0))
		return -XPV_EINVAL;
	for (xpv_u32 i = 0; i < cmd->nr_bufs; i++)
		sum += cmd->bufs[i].len;
	if (sum != cmd->data_len || cmd->data_len > scsifront_max_transfer(sf))
		return -XPV_EINVAL;
	return 0;
}

/* Common refusals for anything that would go on the ring. */
static int ring_usable(const struct scsifront *sf)
{
	if (sf->error || sf->closing || sf->closed)
		return -XPV_EIO;
	if (!sf->connected || sf->paused)
		return -XPV_EBUSY;
	return 0;
}

static int queue_locked(struct scsifront *sf, struct scsifront_cmd *cmd,
			struct sf_batch *b)
{
	struct xpv_vscsiif_request req;
	struct sf_slot *s;
	int err = ring_usable(sf);

	if (!err)
		err = check_cmd(sf, cmd);
	if (err)
		return err;
	s = slot_get(sf);
	if (!s || xpv_front_ring_full(&sf->ring))
		return -XPV_EBUSY; /* see ring_space_lost */
	slot_next_gen(s);
	xpv_memset(&req, 0, sizeof(req));
	req.rqid = slot_rqid(sf, s);
	req.act = XPV_VSCSIIF_ACT_SCSI_CDB;
	req.cmd_len = cmd->cdb_len;
	xpv_memcpy(req.cmnd, cmd->cdb, cmd->cdb_len);
	req.channel = cmd->channel;
	req.id = cmd->id;
	req.lun = cmd->lun;
	req.sc_data_direction = cmd->dir;
	if (cmd->data_len > 0) {
		err = map_data(sf, s, cmd, &req);
		if (err) {
			/* Never published, yet a backend may guess refs. */
			xpv_u32 kept = slot_end_grants(sf, s);

			outbound_discard(sf, s);
			if (kept != 0) {
				sf_set_error(sf, "backend mapped an "
					     "unpublished grant", b);
				return -XPV_EIO;
			}
			return -XPV_EBUSY; /* out of grants: retry later */
		}
	}
	err = xpv_front_ring_put(&sf->ring, &req);
	XPV_ASSERT(err == 0); /* a free slot means ring space */
	slot_take(sf, s, SF_SLOT_CMD);
	s->cmd = cmd;
	cmd->rqid = req.rqid;
	sf->st.queued++;
	push(sf);
	return 0;
}

int scsifront_queue(struct scsifront *sf, struct scsifront_cmd *cmd)
{
	struct sf_batch b = { 0 };
	int err;

	xpv_lock_acquire(sf->lock);
	err = queue_locked(sf, cmd, &b);
	xpv_lock_release(sf->lock);
	sf_batch_run(sf, &b);
	return err;
}

static int tmr_send(struct scsifront *sf, xpv_u8 act,
		    const struct scsifront_cmd *target, xpv_u16 channel,
		    xpv_u16 id, xpv_u16 lun, void *cookie)
{
	struct xpv_vscsiif_request req;
	struct sf_slot *s, *t = XPV_NULL;
	int err = ring_usable(sf);

	if (err)
		return err;
	if (target) {
		t = &sf->slot[target->rqid & (SF_RING_SIZE - 1)];
		if (t->state != SF_SLOT_CMD || t->cmd != target)
			return -XPV_ENOENT;
	}
	s = slot_get(sf);
	if (!s || xpv_front_ring_full(&sf->ring))
		return -XPV_EBUSY; /* see ring_space_lost */
	slot_next_gen(s);
	xpv_memset(&req, 0, sizeof(req));
	req.rqid = slot_rqid(sf, s);
	req.act = act;
	req.channel = channel;
	req.id = id;
	req.lun = lun;
	req.ref_rqid = target ? target->rqid : 0;
	req.sc_data_direction = XPV_VSCSIIF_DIR_NONE;
	err = xpv_front_ring_put(&sf->ring, &req);
	XPV_ASSERT(err == 0);
	slot_take(sf, s, SF_SLOT_TMR);
	s->cookie = cookie;
	s->act = act;
	s->channel = channel;
	s->id = id;
	s->lun = lun;
	s->ref_rqid = req.ref_rqid;
	s->ref_seq = target ? t->seq : 0;
	xpv_timer_arm(s->timer, SCSIFRONT_TMR_TIMEOUT_NS);
	push(sf);
	return 0;
}

int scsifront_abort(struct scsifront *sf, struct scsifront_cmd *cmd,
		    void *cookie)
{
	int err;

	xpv_lock_acquire(sf->lock);
	err = tmr_send(sf, XPV_VSCSIIF_ACT_SCSI_ABORT, cmd, cmd->channel,
		       cmd->id, cmd->lun, cookie);
	if (!err)
		sf->st.aborts++;
	xpv_lock_release(sf->lock);
	return err;
}

int scsifront_reset(struct scsifront *sf, xpv_u16 channel, xpv_u16 id,
		    xpv_u16 lun, void *cookie)
{
	int err;

	xpv_lock_acquire(sf->lock);
	err = tmr_send(sf, XPV_VSCSIIF_ACT_SCSI_RESET, XPV_NULL, channel, id,
		       lun, cookie);
	if (!err)
		sf->st.resets++;
	xpv_lock_release(sf->lock);
	return err;
}

static void tmr_timeout(void *arg)
{
	struct sf_slot *s = arg;
	struct scsifront *sf = s->sf;
	struct sf_batch b = { 0 };

	xpv_lock_acquire(sf->lock);
	if (s->state == SF_SLOT_TMR) {
		batch_tmr(&b, s->cookie, -XPV_ETIMEDOUT);
		slot_abandon(sf, s);
		ring_space_lost(sf, &b);
	}
	xpv_lock_release(sf->lock);
	sf_batch_run(sf, &b);
}

/* ---- responses ------------------------------------------------------------ */

/* The result policy of scsifront.h: bits 24-31 never mean success. */
static xpv_u8 decode_host(struct scsifront *sf, xpv_u32 rslt)
{
	xpv_u32 high = rslt >> 24, host = (rslt >> 16) & 0xffu;

	if (high != 0 || host > XPV_VSCSIIF_RSLT_HOST_MAX) {
		sf->st.odd_result++;
		if (high == XPV_VSCSIIF_RSLT_HOST_NO_CONNECT)
			return XPV_VSCSIIF_RSLT_HOST_NO_CONNECT;
		return XPV_VSCSIIF_RSLT_HOST_ERROR;
	}
	return (xpv_u8)host;
}

static xpv_bool status_good(xpv_u8 status)
{
	return status == 0x00 /* GOOD */ || status == 0x04 /* CONDITION MET */;
}

static void decode_result(struct scsifront *sf,
			  const struct xpv_vscsiif_response *rsp,
			  struct scsifront_cmd *cmd)
{
	struct scsifront_result *r = &cmd->res;

	xpv_memset(r, 0, sizeof(*r));
	r->host = decode_host(sf, (xpv_u32)rsp->rslt);
	r->status = (xpv_u8)XPV_VSCSIIF_RSLT_STATUS(rsp->rslt);
	r->sense_len = rsp->sense_len;
	if (r->sense_len > XPV_VSCSIIF_SENSE_BUFFERSIZE) {
		sf->st.clamped_sense++;
		r->sense_len = XPV_VSCSIIF_SENSE_BUFFERSIZE;
	}
	xpv_memcpy(r->sense, rsp->sense_buffer, r->sense_len);
	r->residual = rsp->residual_len;
	if (r->residual > cmd->data_len) {
		sf->st.clamped_residual++;
		r->residual = cmd->data_len;
	}
}

static void cdb_done(struct scsifront *sf, struct sf_slot *s,
		     const struct xpv_vscsiif_response *rsp,
		     struct sf_batch *b)
{
	struct scsifront_cmd *cmd = s->cmd;
	xpv_bool ended = slot_end_grants(sf, s) == 0;

	decode_result(sf, rsp, cmd);
	if (!ended) {
		cmd->res.host = XPV_VSCSIIF_RSLT_HOST_ERROR;
		cmd->res.residual = cmd->data_len;
	} else if (cmd->dir == XPV_VSCSIIF_DIR_FROM_DEVICE &&
		   cmd->res.host == XPV_VSCSIIF_RSLT_HOST_OK &&
		   status_good(cmd->res.status)) {
		cmd->res.delivered = cmd->data_len - cmd->res.residual;
		scatter(s, cmd, cmd->res.delivered);
	}
	slot_release(sf, s);
	batch_done(b, cmd);
	if (!ended)
		sf_set_error(sf, "backend kept a data grant mapped", b);
}

/* A successful abort or reset means the backend dropped the commands it
 * covers. One it has not answered yet completes now (host ABORT or RESET,
 * nothing delivered) and its slot is free again; pages the backend keeps
 * mapped are quarantined (Linux scsiback never unmaps them), within a
 * budget. */
static void abandon_cmd(struct scsifront *sf, struct sf_slot *c, xpv_u8 host,
			struct sf_batch *b)
{
	struct scsifront_cmd *cmd = c->cmd;

	slot_end_grants(sf, c);
	xpv_memset(&cmd->res, 0, sizeof(cmd->res));
	cmd->res.host = host;
	cmd->res.residual = cmd->data_len;
	slot_abandon(sf, c);
	batch_done(b, cmd);
	if (sf->st.quarantined > SCSIFRONT_QUARANTINE_MAX_PAGES)
		sf_set_error(sf, "backend keeps too many pages mapped", b);
	ring_space_lost(sf, b);
}

void scsifront_host_reset(struct scsifront *sf)
{
	struct sf_batch b = { 0 };

	xpv_lock_acquire(sf->lock);
	sf->st.host_resets++;
	for (xpv_u32 i = 0; i < SF_RING_SIZE && !sf->error; i++) {
		struct sf_slot *s = &sf->slot[i];

		if (s->state == SF_SLOT_CMD) {
			abandon_cmd(sf, s, XPV_VSCSIIF_RSLT_HOST_RESET, &b);
		} else if (s->state == SF_SLOT_TMR) {
			xpv_timer_cancel(s->timer);
			batch_tmr(&b, s->cookie, -XPV_EIO);
			slot_abandon(sf, s);
		}
	}
	ring_space_lost(sf, &b);
	xpv_lock_release(sf->lock);
	sf_batch_run(sf, &b);
}

static void tmr_scope(struct scsifront *sf, const struct sf_slot *t,
		      struct sf_batch *b)
{
	if (t->act == XPV_VSCSIIF_ACT_SCSI_ABORT) {
		struct sf_slot *c = &sf->slot[t->ref_rqid & (SF_RING_SIZE - 1)];

		if (c->state == SF_SLOT_CMD && c->seq == t->ref_seq)
			abandon_cmd(sf, c, XPV_VSCSIIF_RSLT_HOST_ABORT, b);
		return;
	}
	for (xpv_u32 i = 0; i < SF_RING_SIZE && !sf->error; i++) {
		struct sf_slot *c = &sf->slot[i];

		if (c->state == SF_SLOT_CMD && c->seq < t->seq &&
		    c->cmd->channel == t->channel && c->cmd->id == t->id &&
		    c->cmd->lun == t->lun)
			abandon_cmd(sf, c, XPV_VSCSIIF_RSLT_HOST_RESET, b);
	}
}

static void tmr_answered(struct scsifront *sf, struct sf_slot *s,
			 const struct xpv_vscsiif_response *rsp,
			 struct sf_batch *b)
{
	xpv_bool ok = rsp->rslt == XPV_VSCSIIF_RSLT_RESET_SUCCESS;

	XPV_ASSERT(s->state == SF_SLOT_TMR);
	xpv_timer_cancel(s->timer);
	if (ok)
		tmr_scope(sf, s, b);
	/* Taking down its commands can put the device in the error state,
	 * which has already failed this TMR and freed its slot. */
	if (s->state != SF_SLOT_TMR)
		return;
	batch_tmr(b, s->cookie, ok ? 0 : -XPV_EIO);
	slot_release(sf, s);
}

static void handle_response(struct scsifront *sf,
			    const struct xpv_vscsiif_response *rsp,
			    struct sf_batch *b)
{
	struct sf_slot *s = &sf->slot[rsp->rqid & (SF_RING_SIZE - 1)];
	xpv_u32 gen = (xpv_u32)rsp->rqid >> SF_RQID_SLOT_BITS;
	xpv_bool live = s->state == SF_SLOT_CMD || s->state == SF_SLOT_TMR;

	sf->st.responses++;
	if (live && s->gen == gen) {
		if (s->state == SF_SLOT_CMD)
			cdb_done(sf, s, rsp, b);
		else
			tmr_answered(sf, s, rsp, b);
	} else if (stale_test(s, gen)) {
		stale_clear(s, gen);
		sf->st.late_answers++;
		xpv_log(sf->dev, XPV_LOG_INFO,
			"late answer to a request given up on (rqid %u)",
			(unsigned)rsp->rqid);
	} else {
		sf_set_error(sf, "response for a request not in flight", b);
	}
}

static void drain_ring(struct scsifront *sf, struct sf_batch *b,
		       xpv_u32 *handled)
{
	xpv_bool more = XPV_TRUE;

	while (more && !sf->error) {
		xpv_u32 ready;

		if (xpv_front_ring_poll(&sf->ring, &ready) != 0) {
			sf_set_error(sf, "rsp_prod beyond the requests sent",
				     b);
			return;
		}
		/* Bounded: poll never reports more than are outstanding. */
		for (; ready > 0 && !sf->error; ready--) {
			struct xpv_vscsiif_response rsp;

			xpv_front_ring_take(&sf->ring, &rsp);
			(*handled)++;
			handle_response(sf, &rsp, b);
		}
		if (!sf->error &&
		    xpv_front_ring_final_check(&sf->ring, &more) != 0)
			sf_set_error(sf, "rsp_prod beyond the requests sent",
				     b);
	}
}

/* The event-channel handler (late EOI: nothing more is delivered until
 * the EOI at the end, so a storm cannot keep the guest busy). */
void sf_interrupt(void *arg)
{
	struct scsifront *sf = arg;
	struct sf_batch b = { 0 };
	xpv_evtchn_port port;
	xpv_u32 handled = 0;

	xpv_lock_acquire(sf->lock);
	sf->st.interrupts++;
	port = sf->port;
	if (!sf->error && !sf->closed)
		drain_ring(sf, &b, &handled);
	if (handled == 0)
		sf->st.spurious++;
	if (sf->draining && (sf->in_flight == 0 || sf->error))
		sf_drain_finish_locked(sf);
	xpv_lock_release(sf->lock);
	xpv_evtchn_eoi(sf->dev, port, handled == 0);
	sf_batch_run(sf, &b);
}

xpv_bool scsifront_in_error(const struct scsifront *sf)
{
	return sf->error;
}

xpv_u32 scsifront_in_flight(const struct scsifront *sf)
{
	return sf->in_flight;
}

xpv_u32 scsifront_max_transfer(const struct scsifront *sf)
{
	return sf->max_segs * XPV_PAGE_SIZE;
}

void scsifront_get_stats(const struct scsifront *sf,
			 struct scsifront_stats *st)
{
	*st = sf->st;
}
