/*
 * Every misbehaviour the scsiback model can inject (protocol.md 5.1), and
 * the only place it consults the fault plan. Each sb_inject_* call is one
 * consultation of one class, so a countdown ("fail the Nth") picks exactly
 * one response, request or step; the details of a hit (which bogus value,
 * which bits) come from the backend domain's random stream. A decider in the
 * config (a fuzz target) replaces both. scsiback.h lists
 * the injection points. To add a class: a SIM_FAULT_BE_* in fault.h, a
 * function here, one call at its point.
 */
#include "scsiback_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "../trace/trace.h"

static bool sb_hit(struct scsiback *sb, enum sim_fault f)
{
	if (!sim_fault_decide(sb->sim, sb->cfg.decider, f,
			      sb->cfg.self))
		return false;
	sb->st.misbehaved[f]++;
	sim_trace(sb->sim, "scsiback-inject", f, sb->st.responses);
	return true;
}

uint64_t sb_draw(struct scsiback *sb, uint64_t bound)
{
	return sim_fault_draw(sb->sim, sb->cfg.decider, sb->cfg.self,
			      bound);
}

static void sb_random_bytes(struct scsiback *sb, void *p, size_t len)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)sb_draw(sb, 256);
}

/* ---- response contents --------------------------------------------------- */

static void sb_rslt_bits(struct scsiback *sb, vscsiif_response_t *rsp)
{
	uint32_t rslt = (uint32_t)rsp->rslt;
	uint32_t v = 1 + (uint32_t)sb_draw(sb, 255);

	switch (sb_draw(sb, 3)) {
	case 0: /* driver byte of the old encoding */
		rslt |= v << 24;
		break;
	case 1: /* message byte, never defined for vscsiif */
		rslt |= v << 8;
		break;
	default: /* a host byte past XEN_VSCSIIF_RSLT_HOST_TRANSPORT_MARGINAL */
		rslt = (rslt & ~0xff0000u) | (uint32_t)(21 + sb_draw(sb, 235))
						 << 16;
		break;
	}
	rsp->rslt = (int32_t)rslt;
}

/* An rqid past the ring's slot numbers that no request the frontend may
 * still be waiting for carries (a frontend tagging its ids could have
 * issued any of them): so the frontend cannot take the response for
 * another request's, and must reject it. The drawn value, or the next
 * that qualifies. */
static uint16_t sb_bad_rqid(struct scsiback *sb, uint16_t own)
{
	RING_IDX slots = RING_SIZE(&sb->ring);
	uint32_t span = 0x10000 - slots;
	uint32_t id = (uint32_t)sb_draw(sb, span);

	for (uint32_t tries = 0; tries < span; tries++, id = (id + 1) % span) {
		uint16_t rqid = (uint16_t)(slots + id);

		if (rqid != own && !sb_rqid_awaited(sb, rqid))
			return rqid;
	}
	return (uint16_t)(slots + id); /* unreachable: few are awaited */
}

void sb_inject_rsp_content(struct scsiback *sb, vscsiif_response_t *rsp,
			   uint32_t data_len)
{
	if (sb_hit(sb, SIM_FAULT_BE_BAD_ID))
		rsp->rqid = sb_bad_rqid(sb, rsp->rqid);
	if (sb_hit(sb, SIM_FAULT_BE_SENSE_LEN))
		rsp->sense_len =
		    (uint8_t)(VSCSIIF_SENSE_BUFFERSIZE + 1 +
			      sb_draw(sb, 255 - VSCSIIF_SENSE_BUFFERSIZE));
	if (sb_hit(sb, SIM_FAULT_BE_RESIDUAL))
		rsp->residual_len =
		    data_len + 1 + (uint32_t)sb_draw(sb, 1u << 20);
	if (sb_hit(sb, SIM_FAULT_BE_RSLT_BITS))
		sb_rslt_bits(sb, rsp);
	if (sb_hit(sb, SIM_FAULT_BE_GARBAGE)) {
		unsigned used = rsp->sense_len < VSCSIIF_SENSE_BUFFERSIZE
				    ? rsp->sense_len
				    : VSCSIIF_SENSE_BUFFERSIZE;

		rsp->act = (uint8_t)(1 + sb_draw(sb, 255));
		sb_random_bytes(sb, rsp->sense_buffer + used,
				VSCSIIF_SENSE_BUFFERSIZE - used);
		sb_random_bytes(sb, rsp->reserved, sizeof(rsp->reserved));
	}
}

/* ---- after publication --------------------------------------------------- */

static void sb_rewrite_fire(struct sim *sim, void *arg)
{
	struct sb_rewrite *rw = arg, **pp = &rw->sb->rewrites;
	struct scsiback *sb = rw->sb;
	vscsiif_response_t *slot;

	while (*pp != rw)
		pp = &(*pp)->next;
	*pp = rw->next;
	/* Unpublished on purpose: a frontend reading the slot again is
	 * caught as a double fetch. */
	slot = RING_GET_RESPONSE(&sb->ring, rw->idx);
	slot->rqid ^= (uint16_t)(1 + sb_draw(sb, 0xffff));
	slot->rslt ^= (int32_t)(1 + sb_draw(sb, 0x7fffffff));
	sim_trace(sim, "scsiback-rewrite", rw->idx, slot->rqid);
	sim_rec_ring_rewritten(sim, sb->ring_map, rw->idx);
	free(rw);
}

static void sb_rewrite_later(struct scsiback *sb, RING_IDX idx)
{
	struct sb_rewrite *rw = sim_xcalloc(1, sizeof(*rw));
	uint64_t window = 2 * sim_config(sb->sim)->evtchn_latency_ns;

	rw->sb = sb;
	rw->idx = idx;
	rw->next = sb->rewrites;
	sb->rewrites = rw;
	rw->ev = sim_schedule(sb->sim, 1 + sb_draw(sb, window ? window : 1),
			      sb_rewrite_fire, rw, "scsiback-rewrite");
}

void sb_rewrites_cancel(struct scsiback *sb)
{
	while (sb->rewrites) {
		struct sb_rewrite *rw = sb->rewrites;

		sb->rewrites = rw->next;
		sim_cancel(sb->sim, rw->ev);
		free(rw);
	}
}

/* An rqid not in service: the most recently answered one that is free,
 * else the lowest free slot number. */
static uint16_t sb_stale_rqid(struct scsiback *sb, uint16_t just)
{
	unsigned n = sb->nhistory < SB_HISTORY ? sb->nhistory : SB_HISTORY;

	for (unsigned i = 1; i <= n; i++) {
		uint16_t id = sb->history[(sb->nhistory - i) % SB_HISTORY];

		if (id != just && !sb_rqid_in_service(sb, id))
			return id;
	}
	for (uint16_t id = 0; id < RING_SIZE(&sb->ring); id++)
		if (!sb_rqid_in_service(sb, id))
			return id;
	return just;
}

void sb_inject_rsp_published(struct scsiback *sb, RING_IDX idx,
			     const vscsiif_response_t *rsp)
{
	if (sb_hit(sb, SIM_FAULT_BE_RSP_REWRITE) && sb_ring_connected(sb))
		sb_rewrite_later(sb, idx);
	if (sb_hit(sb, SIM_FAULT_BE_DUP_RSP))
		sb_ring_put(sb, rsp);
	if (sb_hit(sb, SIM_FAULT_BE_STALE_ID)) {
		vscsiif_response_t stale;

		memset(&stale, 0, sizeof(stale));
		stale.rqid = sb_stale_rqid(sb, rsp->rqid);
		sb_ring_put(sb, &stale);
	}
	if (sb_hit(sb, SIM_FAULT_BE_RSP_OVERFLOW) && sb_ring_connected(sb)) {
		RING_IDX slots = RING_SIZE(&sb->ring);

		wmb();
		sb->ring.sring->rsp_prod = sb->ring.rsp_prod_pvt + slots + 1 +
					   (RING_IDX)sb_draw(sb, 0x7fff0000);
		sb->st.notifies++;
		sim_evtchn_send(sb->dom, sb->port);
	}
}

/* ---- requests ------------------------------------------------------------ */

void sb_inject_req_rewrite(struct scsiback *sb, RING_IDX idx)
{
	/* After the copy, unpublished: only a frontend reading its request
	 * back can notice. */
	if (sb_hit(sb, SIM_FAULT_BE_REQ_REWRITE))
		sb_random_bytes(sb, RING_GET_REQUEST(&sb->ring, idx),
				sizeof(vscsiif_request_t));
}

bool sb_inject_no_answer(struct scsiback *sb)
{
	return sb_hit(sb, SIM_FAULT_BE_NO_ANSWER);
}

bool sb_inject_late_tmr(struct scsiback *sb)
{
	return sb_hit(sb, SIM_FAULT_BE_LATE_TMR);
}

bool sb_inject_hold_grant(struct scsiback *sb)
{
	return sb_hit(sb, SIM_FAULT_BE_HOLD_GRANT);
}

bool sb_inject_hold_ring(struct scsiback *sb)
{
	return sb_hit(sb, SIM_FAULT_BE_HOLD_RING);
}

/* ---- xenstore ------------------------------------------------------------ */

const char *sb_inject_sg_grant(struct scsiback *sb)
{
	static const char *const bogus[] = {
	    "4294967295",	    "-1", "12abc", "0",
	    "99999999999999999999", "",	  " 128",  "0x80",
	};

	if (!sb_hit(sb, SIM_FAULT_BE_XS_VALUES))
		return NULL;
	return bogus[sb_draw(sb, sizeof(bogus) / sizeof(bogus[0]))];
}

static bool sb_name_taken(char **names, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* A dev-N the frontend will see in state 3, with a v-dev it cannot
 * parse (scsifront skips it). */
void sb_inject_bogus_dev(struct scsiback *sb, char **names, unsigned n)
{
	static const char *const bogus[] = {
	    "1:2:3",   "0:0:x:0",   "",		"0:0:0:4294967296",
	    "a:b:c:d", "0:0:0:0:0", "-1:0:0:0", "0:0:0:0 ",
	};
	char ent[SB_ENT_MAX], rel[2 * SB_ENT_MAX];
	unsigned k = 0;

	if (!sb_hit(sb, SIM_FAULT_BE_XS_VALUES))
		return;
	do
		snprintf(ent, sizeof(ent), "dev-%u", k++);
	while (names && sb_name_taken(names, n, ent) && k <= n);
	snprintf(rel, sizeof(rel), "vscsi-devs/%s/p-dev", ent);
	sb_write_key(sb, rel, "0:0:0:0");
	snprintf(rel, sizeof(rel), "vscsi-devs/%s/v-dev", ent);
	sb_write_key(sb, rel,
		     bogus[sb_draw(sb, sizeof(bogus) / sizeof(bogus[0]))]);
	snprintf(rel, sizeof(rel), "vscsi-devs/%s/state", ent);
	sb_write_key(sb, rel, "3");
}

void sb_inject_bad_state(struct scsiback *sb)
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

	if (!sb_hit(sb, SIM_FAULT_BE_BAD_STATE))
		return;
	s = states[sb_draw(sb, sizeof(states) / sizeof(states[0]))];
	if (s == 9)
		s += (int)sb_draw(sb, 247);
	sb_write_state(sb, s);
}

bool sb_inject_remove_after_resume(struct scsiback *sb)
{
	if (!sb_hit(sb, SIM_FAULT_BE_REMOVE_AFTER_RESUME))
		return false;
	/* dom0 may: the toolstack's removal, at the worst moment (XSA-465).
	 * Our own watch then unregisters the device. */
	xs_rm(sb->xs, XBT_NULL, sb->path);
	return true;
}
