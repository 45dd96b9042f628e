/*
 * Every misbehaviour the usbback model can inject (protocol.md 5.1), and
 * the only place it consults the fault plan. Each ub_hit is one
 * consultation of one class, so a countdown ("fail the Nth") picks exactly
 * one response, packet, conn event, request or step; the details of a hit
 * (which bogus value, which bits) come from the backend domain's random
 * stream (sim_rng_dom). A decider in the config (a fuzz target) replaces both.
 * usbback.h lists the injection points in order. To add a class: a
 * SIM_FAULT_BE_* appended in fault.h, a function here, one call at its
 * point.
 */
#include "usbback_impl.h"

#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "../trace/trace.h"

static bool ub_hit(struct usbback *ub, enum sim_fault f)
{
	if (!sim_fault_decide(ub->sim, ub->cfg.decider, f,
			      ub->cfg.self))
		return false;
	ub->st.misbehaved[f]++;
	sim_trace(ub->sim, "usbback-inject", f, ub->st.responses);
	return true;
}

uint64_t ub_draw(struct usbback *ub, uint64_t bound)
{
	return sim_fault_draw(ub->sim, ub->cfg.decider, ub->cfg.self,
			      bound);
}

static void ub_random_bytes(struct usbback *ub, void *p, size_t len)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)ub_draw(ub, 256);
}

/* ---- ids ----------------------------------------------------------------- */

/* The frontend may still be waiting for a response with this id: the
 * request being taken in, one dropped by be-no-answer or answered under a
 * be-bad-id, one in flight, or one published and not taken in yet. */
static bool ub_id_awaited(struct usbback *ub, uint16_t id)
{
	const usbif_urb_back_ring_t *r = &ub->urb;
	unsigned n =
	    ub->nunanswered < UB_HISTORY ? ub->nunanswered : UB_HISTORY;
	RING_IDX published; /* requests not yet taken in */

	if (ub->taking && ub->taking_id == id)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (ub->unanswered[i] == id)
			return true;
	for (unsigned p = 1; p <= ub->nports; p++)
		if (ub_xfer_find(ub, p, id))
			return true;
	/* Bounded by the ring whatever req_prod says. */
	published = r->sring->req_prod - r->req_cons;
	if (published > RING_SIZE(r))
		published = RING_SIZE(r);
	for (RING_IDX i = 0; i < published; i++)
		if (RING_GET_REQUEST(r, r->req_cons + i)->id == id)
			return true;
	return false;
}

/* An id past the ring's slot numbers that no request the frontend may
 * still be waiting for carries (a frontend tagging its ids with a
 * generation could have issued any of them): so the frontend cannot take
 * the response for another request's, and must reject it. The drawn
 * value, or the next that qualifies. */
static uint16_t ub_bad_id(struct usbback *ub, uint16_t own)
{
	RING_IDX slots = RING_SIZE(&ub->urb);
	uint32_t span = 0x10000 - slots;
	uint32_t id = (uint32_t)ub_draw(ub, span);

	for (uint32_t tries = 0; tries < span; tries++, id = (id + 1) % span) {
		uint16_t v = (uint16_t)(slots + id);

		if (v != own && !ub_id_awaited(ub, v))
			return v;
	}
	return (uint16_t)(slots + id); /* unreachable: few are awaited */
}

/* An id not awaited: the most recently answered one that is free, else
 * the lowest free slot number. */
static uint16_t ub_stale_id(struct usbback *ub, uint16_t just)
{
	unsigned n = ub->nhistory < UB_HISTORY ? ub->nhistory : UB_HISTORY;

	for (unsigned i = 1; i <= n; i++) {
		uint16_t id = ub->history[(ub->nhistory - i) % UB_HISTORY];

		if (id != just && !ub_id_awaited(ub, id))
			return id;
	}
	for (uint16_t id = 0; id < RING_SIZE(&ub->urb); id++)
		if (id != just && !ub_id_awaited(ub, id))
			return id;
	return just;
}

/* ---- values -------------------------------------------------------------- */

/* The buffer the frontend granted: its segments' lengths. */
static uint32_t ub_rq_len(const usbif_urb_request_t *rq)
{
	unsigned n =
	    rq->nr_buffer_segs < UB_SEGS ? rq->nr_buffer_segs : UB_SEGS;
	uint32_t len = 0;

	for (unsigned i = 0; i < n; i++)
		len += rq->seg[i].length;
	return len;
}

/* Negative, or past len (at most 16 x 65535 + 2^20: no overflow). */
static int32_t ub_bad_actual(struct usbback *ub, uint32_t len)
{
	if (ub_draw(ub, 2) == 0)
		return (int32_t)(-1 - (int64_t)ub_draw(ub, 0x80000000ull));
	return (int32_t)(len + 1 + (uint32_t)ub_draw(ub, 1u << 20));
}

/* A status usbif does not define (protocol.md 2.2: 0, -19, -22, -32,
 * -71, -75, -108): a Linux errno it has no code for, or positive. */
static int32_t ub_bad_status(struct usbback *ub)
{
	static const int32_t odd[] = {
	    -1,	  /* EPERM */
	    -2,	  /* ENOENT */
	    -5,	  /* EIO */
	    -12,  /* ENOMEM */
	    -104, /* ECONNRESET */
	    -110, /* ETIMEDOUT */
	    -115, /* EINPROGRESS */
	    -121, /* EREMOTEIO */
	    INT32_MIN,
	};
	uint64_t k = ub_draw(ub, sizeof(odd) / sizeof(odd[0]) + 1);

	if (k < sizeof(odd) / sizeof(odd[0]))
		return odd[k];
	return (int32_t)(1 + ub_draw(ub, INT32_MAX));
}

/* ---- URB response contents ----------------------------------------------- */

bool ub_inject_rsp_content(struct usbback *ub, const usbif_urb_request_t *rq,
			   usbif_urb_response_t *rsp)
{
	bool iso = usbif_pipeisoc(rq->pipe) && !usbif_pipeunlink(rq->pipe);
	bool garbage = false;

	if (ub_hit(ub, SIM_FAULT_BE_BAD_ID)) {
		rsp->id = ub_bad_id(ub, rq->id);
		/* Its answer never comes under its id: still awaited. */
		ub->unanswered[ub->nunanswered++ % UB_HISTORY] = rq->id;
	}
	if (ub_hit(ub, SIM_FAULT_BE_USB_ACTUAL))
		rsp->actual_length = ub_bad_actual(ub, ub_rq_len(rq));
	if (ub_hit(ub, SIM_FAULT_BE_USB_STATUS))
		rsp->status = ub_bad_status(ub);
	if (ub_hit(ub, SIM_FAULT_BE_GARBAGE)) {
		/* Only iso gives these a meaning. */
		if (!iso) {
			rsp->start_frame = (uint16_t)(1 + ub_draw(ub, 0xffff));
			rsp->error_count =
			    (int32_t)(1 + ub_draw(ub, INT32_MAX));
		}
		garbage = true;
	}
	return garbage;
}

/* ---- after publication --------------------------------------------------- */

static void ub_rewrite_fire(struct sim *sim, void *arg)
{
	struct ub_rewrite *rw = arg, **pp = &rw->ub->rewrites;
	struct usbback *ub = rw->ub;
	usbif_urb_response_t *slot;

	while (*pp != rw)
		pp = &(*pp)->next;
	*pp = rw->next;
	/* Unpublished on purpose: a frontend reading the slot again is
	 * caught as a double fetch. */
	slot = RING_GET_RESPONSE(&ub->urb, rw->idx);
	slot->id ^= (uint16_t)(1 + ub_draw(ub, 0xffff));
	slot->status ^= (int32_t)(1 + ub_draw(ub, INT32_MAX));
	sim_trace(sim, "usbback-rewrite", rw->idx, slot->id);
	sim_rec_ring_rewritten(sim, ub->urb_map, rw->idx);
	free(rw);
}

static void ub_rewrite_later(struct usbback *ub, RING_IDX idx)
{
	struct ub_rewrite *rw = sim_xcalloc(1, sizeof(*rw));
	uint64_t window = 2 * sim_config(ub->sim)->evtchn_latency_ns;

	rw->ub = ub;
	rw->idx = idx;
	rw->next = ub->rewrites;
	ub->rewrites = rw;
	rw->ev = sim_schedule(ub->sim, 1 + ub_draw(ub, window ? window : 1),
			      ub_rewrite_fire, rw, "usbback-rewrite");
}

void ub_rewrites_cancel(struct usbback *ub)
{
	while (ub->rewrites) {
		struct ub_rewrite *rw = ub->rewrites;

		ub->rewrites = rw->next;
		sim_cancel(ub->sim, rw->ev);
		free(rw);
	}
}

void ub_inject_rsp_published(struct usbback *ub, RING_IDX idx,
			     const usbif_urb_response_t *rsp, bool garbage)
{
	if (garbage) {
		/* be-garbage, drawn before: the slot's rest, which ub_urb_put
		 * zeroed, the frontend never reads. */
		uint8_t *slot = (uint8_t *)RING_GET_RESPONSE(&ub->urb, idx);

		ub_random_bytes(ub, slot + sizeof(*rsp),
				sizeof(union usbif_urb_sring_entry) -
				    sizeof(*rsp));
	}
	if (ub_hit(ub, SIM_FAULT_BE_RSP_REWRITE))
		ub_rewrite_later(ub, idx);
	if (ub_hit(ub, SIM_FAULT_BE_DUP_RSP))
		ub_urb_put(ub, rsp);
	if (ub_hit(ub, SIM_FAULT_BE_STALE_ID)) {
		usbif_urb_response_t stale;

		memset(&stale, 0, sizeof(stale));
		stale.id = ub_stale_id(ub, rsp->id);
		ub_urb_put(ub, &stale);
	}
	if (ub_hit(ub, SIM_FAULT_BE_RSP_OVERFLOW)) {
		ub->urb_lie =
		    RING_SIZE(&ub->urb) + 1 + (RING_IDX)ub_draw(ub, 0x7fff0000);
		wmb();
		ub->urb.sring->rsp_prod = ub->urb.rsp_prod_pvt + ub->urb_lie;
		ub_notify(ub);
	}
}

/* ---- iso packets and conn events ----------------------------------------- */

void ub_inject_iso_packet(struct usbback *ub, int32_t *actual, int32_t *status,
			  uint32_t length)
{
	if (ub_hit(ub, SIM_FAULT_BE_USB_ACTUAL))
		*actual = ub_bad_actual(ub, length);
	if (ub_hit(ub, SIM_FAULT_BE_USB_STATUS))
		*status = ub_bad_status(ub);
}

void ub_inject_conn_content(struct usbback *ub, usbif_conn_response_t *rsp)
{
	if (!ub_hit(ub, SIM_FAULT_BE_CONN_BAD))
		return;
	switch (ub_draw(ub, 3)) {
	case 0:
		rsp->portnum = 0;
		break;
	case 1: /* nports <= 31 */
		rsp->portnum =
		    (uint8_t)(ub->nports + 1 + ub_draw(ub, 255 - ub->nports));
		break;
	default:
		rsp->speed = (uint8_t)(USBIF_SPEED_HIGH + 1 +
				       ub_draw(ub, 255 - USBIF_SPEED_HIGH));
		break;
	}
}

void ub_inject_conn_published(struct usbback *ub)
{
	usbif_conn_back_ring_t *r = &ub->conn;

	if (!ub_hit(ub, SIM_FAULT_BE_CONN_OVERFLOW))
		return;
	ub->conn_lie = RING_SIZE(r) + 1 + (RING_IDX)ub_draw(ub, 0x7fff0000);
	wmb();
	r->sring->rsp_prod = r->rsp_prod_pvt + ub->conn_lie;
	ub_notify(ub);
}

/* ---- requests and mappings ----------------------------------------------- */

void ub_inject_req_rewrite(struct usbback *ub, RING_IDX idx)
{
	/* After the copy, unpublished: only a frontend reading its request
	 * back can notice. */
	if (ub_hit(ub, SIM_FAULT_BE_REQ_REWRITE))
		ub_random_bytes(ub, RING_GET_REQUEST(&ub->urb, idx),
				sizeof(usbif_urb_request_t));
}

bool ub_inject_no_answer(struct usbback *ub, uint16_t id)
{
	if (!ub_hit(ub, SIM_FAULT_BE_NO_ANSWER))
		return false;
	ub->unanswered[ub->nunanswered++ % UB_HISTORY] = id;
	return true;
}

bool ub_inject_hold_grant(struct usbback *ub)
{
	return ub_hit(ub, SIM_FAULT_BE_HOLD_GRANT);
}

unsigned ub_inject_hold_ring(struct usbback *ub)
{
	static const unsigned which[] = {
	    UB_HOLD_URB | UB_HOLD_CONN,
	    UB_HOLD_URB,
	    UB_HOLD_CONN,
	};

	if (!ub_hit(ub, SIM_FAULT_BE_HOLD_RING))
		return 0;
	return which[ub_draw(ub, sizeof(which) / sizeof(which[0]))];
}

/* ---- xenstore ------------------------------------------------------------ */

/* After the backend read its config: a value for the frontend to read
 * that no strict parser takes (qusb and xen-hcd: num-ports 1..31,
 * usb-ver 1 or 2). */
void ub_inject_xs_config(struct usbback *ub)
{
	static const char *const ports[] = {
	    "0",   "32",	 "-1", "4x",
	    "",	   " 4",	 "4 ", "99999999999999999999",
	    "0x4", "4294967300",
	};
	static const char *const vers[] = {
	    "0", "3", "-1", "2x", "", " 2", "4294967298", "0x2",
	};

	if (!ub_hit(ub, SIM_FAULT_BE_XS_VALUES))
		return;
	if (ub_draw(ub, 2) == 0)
		ub_write_key(
		    ub, "num-ports",
		    ports[ub_draw(ub, sizeof(ports) / sizeof(ports[0]))]);
	else
		ub_write_key(ub, "usb-ver",
			     vers[ub_draw(ub, sizeof(vers) / sizeof(vers[0]))]);
}

void ub_inject_bad_state(struct usbback *ub)
{
	static const int states[] = {
	    XenbusStateClosed,	      /* without Closing */
	    XenbusStateConnected,     /* repeated */
	    XenbusStateReconfiguring, /* with no change */
	    XenbusStateReconfigured,  /* nothing asked for */
	    XenbusStateInitWait,      /* after Connected */
	    9,			      /* unknown */
	};
	int s;

	if (!ub_hit(ub, SIM_FAULT_BE_BAD_STATE))
		return;
	s = states[ub_draw(ub, sizeof(states) / sizeof(states[0]))];
	if (s == 9)
		s += (int)ub_draw(ub, 247);
	ub_write_state(ub, s);
}

bool ub_inject_remove_after_resume(struct usbback *ub)
{
	if (!ub_hit(ub, SIM_FAULT_BE_REMOVE_AFTER_RESUME))
		return false;
	/* dom0 may: the toolstack's removal, at the worst moment (XSA-465). */
	xs_rm(ub->xs, XBT_NULL, ub->path);
	return true;
}
