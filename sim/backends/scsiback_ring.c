/*
 * The scsiback model's ring: connect and disconnect, the event handler
 * with late EOI, request intake with the checks of prepare_pending_reqs and
 * scsiback_gnttab_data_map, data movement through grant mappings, task
 * management, and the one function that writes response slots.
 */
#include "scsiback_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../trace/trace.h"

#define SB_DMA_BIDIRECTIONAL 0 /* Linux enum dma_data_direction */
#define SB_DMA_TO_DEVICE     1
#define SB_DMA_FROM_DEVICE   2
#define SB_DMA_NONE	     3
#define SB_REPORT_LUNS	     0xa0
#define SB_OK		     SCSIBACK_BAD__COUNT /* no error reason */

static void sb_on_event(struct sim *sim, void *arg, uint32_t port);

bool sb_ring_connected(const struct scsiback *sb)
{
	return sb->ring_map != NULL;
}

/* ---- responses ----------------------------------------------------------- */

void sb_ring_put(struct scsiback *sb, const vscsiif_response_t *rsp)
{
	vscsiif_response_t *slot;
	int notify;

	if (!sb_ring_connected(sb))
		return;
	slot = RING_GET_RESPONSE(&sb->ring, sb->ring.rsp_prod_pvt);
	/* The whole entry: no backend bytes leak (XSA-216). */
	memset(slot, 0, sizeof(union vscsiif_sring_entry));
	memcpy(slot, rsp, sizeof(*slot));
	sim_shm_publish(sb->sim, slot, sizeof(*slot));
	sb->ring.rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&sb->ring, notify);
	sim_rec_ring_pushed(sb->sim);
	sb->st.responses++;
	sim_trace(sb->sim, "scsiback-rsp", rsp->rqid, (uint32_t)rsp->rslt);
	if (notify) {
		sb->st.notifies++;
		sim_evtchn_send(sb->dom, sb->port);
	}
}

static void sb_respond(struct scsiback *sb, uint16_t rqid, uint32_t rslt,
		       const struct sim_scsi_result *res, uint32_t residual,
		       uint32_t data_len)
{
	vscsiif_response_t rsp;
	RING_IDX idx = sb->ring.rsp_prod_pvt;

	memset(&rsp, 0, sizeof(rsp));
	rsp.rqid = rqid;
	rsp.rslt = (int32_t)rslt;
	rsp.residual_len = residual;
	if (res && res->sense_len) {
		rsp.sense_len = res->sense_len < VSCSIIF_SENSE_BUFFERSIZE
				    ? res->sense_len
				    : VSCSIIF_SENSE_BUFFERSIZE;
		memcpy(rsp.sense_buffer, res->sense, rsp.sense_len);
	}
	sb_inject_rsp_content(sb, &rsp, data_len);
	sb_ring_put(sb, &rsp);
	sb->history[sb->nhistory++ % SB_HISTORY] = rqid;
	sb_inject_rsp_published(sb, idx, &rsp);
}

static uint32_t sb_host(const struct scsiback *sb, enum scsiback_bad why)
{
	bool no_lun = why == SCSIBACK_BAD_NO_LUN;

	if (sb->cfg.old_result_encoding)
		return (no_lun ? SB_DID_NO_CONNECT : SB_DRIVER_ERROR) << 24;
	return (no_lun ? XEN_VSCSIIF_RSLT_HOST_NO_CONNECT
		       : XEN_VSCSIIF_RSLT_HOST_ERROR)
	       << 16;
}

static void sb_answer_bad(struct scsiback *sb, const vscsiif_request_t *rq,
			  enum scsiback_bad why)
{
	sb->st.bad_requests++;
	sb->st.bad[why]++;
	sim_trace(sb->sim, "scsiback-bad", rq->rqid, why);
	sb_respond(sb, rq->rqid, sb_host(sb, why), NULL, 0, 0);
}

/* ---- requests in service ------------------------------------------------- */

static void sb_service_add(struct scsiback *sb, struct sb_req *req)
{
	struct sb_req **pp = &sb->service;

	while (*pp)
		pp = &(*pp)->next;
	req->next = NULL;
	*pp = req;
}

static void sb_service_unlink(struct scsiback *sb, struct sb_req *req)
{
	struct sb_req **pp = &sb->service;

	while (*pp != req)
		pp = &(*pp)->next;
	*pp = req->next;
	req->next = NULL;
}

bool sb_rqid_in_service(const struct scsiback *sb, uint16_t rqid)
{
	for (const struct sb_req *req = sb->service; req; req = req->next)
		if (req->rq.rqid == rqid)
			return true;
	return false;
}

void sb_rqid_unanswered_add(struct scsiback *sb, uint16_t rqid)
{
	sb->unanswered[sb->nunanswered++ % SB_HISTORY] = rqid;
}

bool sb_rqid_awaited(const struct scsiback *sb, uint16_t rqid)
{
	unsigned n = sb->nunanswered < SB_HISTORY ? sb->nunanswered
						  : SB_HISTORY;

	for (unsigned i = 0; i < n; i++)
		if (sb->unanswered[i] == rqid)
			return true;
	return sb_rqid_in_service(sb, rqid);
}

/* Unmaps the data grants, unless be-hold-grant keeps them. */
static void sb_req_release(struct scsiback *sb, struct sb_req *req,
			   bool may_hold)
{
	bool any = false, hold;

	for (unsigned i = 0; req->maps && i < req->nsegs; i++)
		any |= req->maps[i] != NULL;
	hold = any && may_hold && sb_inject_hold_grant(sb);
	for (unsigned i = 0; req->maps && i < req->nsegs; i++) {
		if (!req->maps[i])
			continue;
		if (hold)
			sb_hold_map(sb, req->maps[i]);
		else
			sim_gnttab_unmap(req->maps[i]);
		req->maps[i] = NULL;
	}
}

static void sb_req_free(struct sb_req *req)
{
	free(req->segs);
	free(req->maps);
	free(req);
}

/* ---- data ---------------------------------------------------------------- */

static bool sb_seg_bad(const vscsiif_segment_t *s)
{
	return s->offset >= SB_PAGE || s->length > SB_PAGE ||
	       (unsigned)s->offset + s->length > SB_PAGE;
}

/* Indirect: copy every entry of the SG-list pages once, then unmap them. */
static enum scsiback_bad sb_sg_lists(struct scsiback *sb, struct sb_req *req,
				     unsigned pages)
{
	const vscsiif_segment_t *list = req->rq.seg;
	unsigned total = 0, k = 0;

	for (unsigned i = 0; i < pages; i++) {
		if ((unsigned)list[i].offset + list[i].length > SB_PAGE ||
		    list[i].length % sizeof(vscsiif_segment_t))
			return SCSIBACK_BAD_SG_PAGE;
		total += list[i].length / sizeof(vscsiif_segment_t);
	}
	if (total > sb->cfg.sg_grant)
		return SCSIBACK_BAD_SG_PAGE;
	req->segs = sim_xcalloc(total ? total : 1, sizeof(*req->segs));
	for (unsigned i = 0; i < pages; i++) {
		struct sim_grant_map *map;
		unsigned n = list[i].length / sizeof(vscsiif_segment_t);

		if (!n)
			continue;
		if (sim_gnttab_map(sb->dom, sb->cfg.frontend, list[i].gref,
				   false, &map))
			return SCSIBACK_BAD_GRANT;
		memcpy(req->segs + k,
		       (uint8_t *)sim_grant_map_addr(map) + list[i].offset,
		       list[i].length);
		sim_rec_data(sb->sim, sb->cfg.self, sb->cfg.frontend,
			     list[i].gref, false, SIM_REC_DATA_SEG_LIST,
			     list[i].offset, req->segs + k, list[i].length);
		sim_gnttab_unmap(map);
		k += n;
	}
	req->nsegs = total;
	return SB_OK;
}

static enum scsiback_bad sb_data_map(struct scsiback *sb, struct sb_req *req)
{
	unsigned nr = req->rq.nr_segments & ~VSCSIIF_SG_GRANT;
	bool writable = req->rq.sc_data_direction == SB_DMA_FROM_DEVICE;
	enum scsiback_bad bad = SB_OK;

	if (!nr)
		return SB_OK;
	if (nr > VSCSIIF_SG_TABLESIZE)
		return SCSIBACK_BAD_NR_SEGS;
	if (req->rq.nr_segments & VSCSIIF_SG_GRANT) {
		bad = sb_sg_lists(sb, req, nr);
	} else {
		req->segs = sim_xcalloc(nr, sizeof(*req->segs));
		memcpy(req->segs, req->rq.seg, nr * sizeof(*req->segs));
		req->nsegs = nr;
	}
	for (unsigned i = 0; bad == SB_OK && i < req->nsegs; i++)
		if (sb_seg_bad(&req->segs[i]))
			bad = SCSIBACK_BAD_SEG;
	if (bad != SB_OK)
		return bad;
	req->maps =
	    sim_xcalloc(req->nsegs ? req->nsegs : 1, sizeof(*req->maps));
	for (unsigned i = 0; i < req->nsegs; i++) {
		if (sim_gnttab_map(sb->dom, sb->cfg.frontend, req->segs[i].gref,
				   writable, &req->maps[i])) {
			req->maps[i] = NULL;
			return SCSIBACK_BAD_GRANT;
		}
		req->data_len += req->segs[i].length;
	}
	return SB_OK;
}

/* Data moves are recorded as they happen (DATA records, trace.h). */
static void sb_gather(struct scsiback *sb, const struct sb_req *req,
		      uint8_t *buf)
{
	uint32_t off = 0;

	for (unsigned i = 0; i < req->nsegs; i++) {
		const vscsiif_segment_t *seg = &req->segs[i];
		const uint8_t *p = sim_grant_map_addr(req->maps[i]);

		memcpy(buf + off, p + seg->offset, seg->length);
		sim_rec_data(sb->sim, sb->cfg.self, sb->cfg.frontend,
			     seg->gref, false, SIM_REC_DATA_IO, seg->offset,
			     buf + off, seg->length);
		off += seg->length;
	}
}

static void sb_scatter(struct scsiback *sb, const struct sb_req *req,
		       const uint8_t *buf, uint32_t len)
{
	uint32_t off = 0;

	for (unsigned i = 0; i < req->nsegs && off < len; i++) {
		uint8_t *p = (uint8_t *)sim_grant_map_addr(req->maps[i]) +
			     req->segs[i].offset;
		uint32_t n = req->segs[i].length;

		if (n > len - off)
			n = len - off;
		memcpy(p, buf + off, n);
		sim_shm_publish(sb->sim, p, n);
		sim_rec_data(sb->sim, sb->cfg.self, sb->cfg.frontend,
			     req->segs[i].gref, true, SIM_REC_DATA_IO,
			     req->segs[i].offset, p, n);
		off += n;
	}
}

/* ---- CDBs ---------------------------------------------------------------- */

static enum sim_scsi_dir sb_dir(uint8_t dma)
{
	if (dma == SB_DMA_TO_DEVICE)
		return SIM_SCSI_DIR_TO_DEVICE;
	if (dma == SB_DMA_FROM_DEVICE)
		return SIM_SCSI_DIR_FROM_DEVICE;
	return SIM_SCSI_DIR_NONE;
}

/* The command's completion: execute, move data, answer, release. */
static void sb_cdb_finish(struct scsiback *sb, struct sb_req *req)
{
	enum sim_scsi_dir dir = sb_dir(req->rq.sc_data_direction);
	uint32_t len = dir == SIM_SCSI_DIR_NONE ? 0 : req->data_len;
	uint8_t *buf = len ? sim_xmalloc(len) : NULL;
	struct sim_scsi_cmd cmd = {req->rq.cmnd, req->rq.cmd_len, dir, buf,
				   len};
	struct sim_scsi_result res;
	uint32_t done;

	if (dir == SIM_SCSI_DIR_TO_DEVICE) {
		sb_gather(sb, req, buf);
		sb->st.bytes_out += len;
	}
	if (req->rq.cmnd[0] == SB_REPORT_LUNS)
		sb_report_luns(sb, req, buf,
			       dir == SIM_SCSI_DIR_FROM_DEVICE ? len : 0, &res);
	else
		sim_scsi_target_exec(req->target, &cmd, &res);
	done = res.transferred < len ? res.transferred : len;
	if (dir == SIM_SCSI_DIR_FROM_DEVICE) {
		sb_scatter(sb, req, buf, done);
		sb->st.bytes_in += done;
	}
	sb_req_release(sb, req, true);
	sb_respond(sb, req->rq.rqid, res.status, &res, req->data_len - done,
		   req->data_len);
	free(buf);
}

static void sb_tmr_run(struct scsiback *sb, const vscsiif_request_t *rq);

static void sb_complete_event(struct sim *sim, void *arg)
{
	struct sb_req *req = arg;
	struct scsiback *sb = req->sb;

	req->ev = 0;
	sb_service_unlink(sb, req);
	if (req->tmr)
		sb_tmr_run(sb, &req->rq);
	else
		sb_cdb_finish(sb, req);
	sb_req_free(req);
}

static uint64_t sb_service_ns(struct scsiback *sb, uint32_t data_len)
{
	uint64_t span = sb->cfg.service_max_ns - sb->cfg.service_min_ns;

	return sb->cfg.service_min_ns + sb_draw(sb, span + 1) +
	       sb->cfg.per_kib_ns * data_len / 1024;
}

static void sb_cdb_start(struct scsiback *sb, const vscsiif_request_t *rq,
			 const struct sb_lun *lun)
{
	struct sb_req *req = sim_xcalloc(1, sizeof(*req));
	enum scsiback_bad bad;

	req->sb = sb;
	req->rq = *rq;
	req->target = lun->target;
	/* Bidirectional is valid for Linux; the targets have no such
	 * command. */
	if (rq->sc_data_direction == SB_DMA_BIDIRECTIONAL)
		bad = SCSIBACK_BAD_DIR;
	else if (rq->cmd_len == 0)
		bad = SCSIBACK_BAD_CMD_LEN;
	else
		bad = sb_data_map(sb, req);
	if (bad != SB_OK) {
		sb_req_release(sb, req, false);
		sb_req_free(req);
		sb_answer_bad(sb, rq, bad);
		return;
	}
	sb_service_add(sb, req);
	req->ev = sim_schedule(sb->sim, sb_service_ns(sb, req->data_len),
			       sb_complete_event, req, "scsiback-complete");
}

/* ---- task management ----------------------------------------------------- */

static bool sb_same_lun(const vscsiif_request_t *a, const vscsiif_request_t *b)
{
	return a->channel == b->channel && a->id == b->id && a->lun == b->lun;
}

/* The first CDB in service on rq's LUN (with rqid == want if any). */
static struct sb_req *sb_find(struct scsiback *sb, const vscsiif_request_t *rq,
			      bool any_rqid, uint16_t want)
{
	for (struct sb_req *req = sb->service; req; req = req->next)
		if (!req->tmr && sb_same_lun(&req->rq, rq) &&
		    (any_rqid || req->rq.rqid == want))
			return req;
	return NULL;
}

/* Take a TMR's victim out of service unexecuted: answered with host byte
 * host and unmapped, or (tmr_victims_answered off, LIO's way) dropped
 * silently with its mappings kept. */
static void sb_cancel_answer(struct scsiback *sb, struct sb_req *req,
			     uint32_t host)
{
	sim_cancel(sb->sim, req->ev);
	sb_service_unlink(sb, req);
	if (sb->cfg.tmr_victims_answered) {
		sb_req_release(sb, req, true);
		sb_respond(sb, req->rq.rqid, host << 16, NULL, req->data_len,
			   req->data_len);
	} else {
		for (unsigned i = 0; req->maps && i < req->nsegs; i++)
			if (req->maps[i])
				sb_hold_map(sb, req->maps[i]);
		sb->st.dropped++;
		sb_rqid_unanswered_add(sb, req->rq.rqid);
		sim_trace(sb->sim, "scsiback-drop", req->rq.rqid, host);
	}
	sb_req_free(req);
}

static void sb_tmr_abort(struct scsiback *sb, const vscsiif_request_t *rq)
{
	struct sb_req *victim = sb_find(sb, rq, false, rq->ref_rqid);

	sb->st.tmr_abort++;
	if (!victim) {
		sb_respond(sb, rq->rqid, XEN_VSCSIIF_RSLT_RESET_FAILED, NULL, 0,
			   0);
		return;
	}
	sb->st.aborted++;
	sb_cancel_answer(sb, victim, XEN_VSCSIIF_RSLT_HOST_ABORT);
	sb_respond(sb, rq->rqid, XEN_VSCSIIF_RSLT_RESET_SUCCESS, NULL, 0, 0);
}

static void sb_tmr_reset(struct scsiback *sb, const vscsiif_request_t *rq)
{
	struct sb_lun *lun = sb_lun_find(sb, rq->channel, rq->id, rq->lun);
	struct sb_req *req;

	sb->st.tmr_reset++;
	if (!lun) { /* a late TMR after its LUN went away */
		sb_respond(sb, rq->rqid, XEN_VSCSIIF_RSLT_RESET_FAILED, NULL, 0,
			   0);
		return;
	}
	/* Bounded: each round takes one request out of service. */
	while ((req = sb_find(sb, rq, true, 0)) != NULL) {
		sb->st.reset++;
		sb_cancel_answer(sb, req, XEN_VSCSIIF_RSLT_HOST_RESET);
	}
	sim_scsi_target_reset(lun->target);
	sb_respond(sb, rq->rqid, XEN_VSCSIIF_RSLT_RESET_SUCCESS, NULL, 0, 0);
}

static void sb_tmr_run(struct scsiback *sb, const vscsiif_request_t *rq)
{
	if (rq->act == VSCSIIF_ACT_SCSI_ABORT)
		sb_tmr_abort(sb, rq);
	else
		sb_tmr_reset(sb, rq);
}

static void sb_tmr_start(struct scsiback *sb, const vscsiif_request_t *rq)
{
	struct sb_req *req;

	if (!sb_inject_late_tmr(sb)) {
		sb_tmr_run(sb, rq);
		return;
	}
	req = sim_xcalloc(1, sizeof(*req));
	req->sb = sb;
	req->rq = *rq;
	req->tmr = true;
	sb_service_add(sb, req);
	req->ev = sim_schedule(sb->sim, SCSIBACK_LATE_TMR_NS, sb_complete_event,
			       req, "scsiback-late-tmr");
}

/* ---- intake -------------------------------------------------------------- */

/* prepare_pending_reqs and the act switch of scsiback_do_cmd_fn. */
static void sb_intake(struct scsiback *sb, const vscsiif_request_t *rq)
{
	const struct sb_lun *lun;

	sb->st.requests++;
	sim_trace(sb->sim, "scsiback-req", rq->rqid, rq->act);
	if (sb_inject_no_answer(sb)) {
		sb_rqid_unanswered_add(sb, rq->rqid);
		return;
	}
	lun = sb_lun_find(sb, rq->channel, rq->id, rq->lun);
	if (!lun)
		sb_answer_bad(sb, rq, SCSIBACK_BAD_NO_LUN);
	else if (rq->sc_data_direction > SB_DMA_NONE)
		sb_answer_bad(sb, rq, SCSIBACK_BAD_DIR);
	else if (rq->cmd_len > VSCSIIF_MAX_COMMAND_SIZE)
		sb_answer_bad(sb, rq, SCSIBACK_BAD_CMD_LEN);
	else if (rq->act == VSCSIIF_ACT_SCSI_CDB)
		sb_cdb_start(sb, rq, lun);
	else if (rq->act == VSCSIIF_ACT_SCSI_ABORT ||
		 rq->act == VSCSIIF_ACT_SCSI_RESET)
		sb_tmr_start(sb, rq);
	else
		sb_answer_bad(sb, rq, SCSIBACK_BAD_ACT);
}

/* One pass over what the frontend published; returns slots consumed. */
static unsigned sb_consume(struct scsiback *sb)
{
	vscsiif_back_ring_t *r = &sb->ring;
	RING_IDX prod = r->sring->req_prod;
	unsigned n = 0;

	rmb();
	if (RING_REQUEST_PROD_OVERFLOW(r, prod)) {
		sb->st.ring_halted = true; /* Xen a63c57093b */
		sim_trace(sb->sim, "scsiback-halt", prod, r->rsp_prod_pvt);
		return 0;
	}
	while (r->req_cons != prod && n < RING_SIZE(r) &&
	       !RING_REQUEST_CONS_OVERFLOW(r, r->req_cons)) {
		vscsiif_request_t rq;

		RING_COPY_REQUEST(r, r->req_cons, &rq);
		sb_inject_req_rewrite(sb, r->req_cons);
		r->req_cons++;
		n++;
		sb_intake(sb, &rq);
	}
	return n;
}

void sb_ring_drain(struct scsiback *sb)
{
	int more;

	if (!sb_ring_connected(sb) || sb->st.ring_halted)
		return;
	/* The frontend cannot run while we do, so a pass or two takes all;
	 * the bound covers accounting skewed by hostile extra responses. */
	for (unsigned pass = 0; pass < SB_DRAIN_PASSES; pass++) {
		unsigned n = sb_consume(sb);

		if (sb->st.ring_halted)
			return;
		RING_FINAL_CHECK_FOR_REQUESTS(&sb->ring, more);
		if (!more || !n)
			return;
	}
}

static void sb_on_event(struct sim *sim, void *arg, uint32_t port)
{
	struct scsiback *sb = arg;

	if (sb->st.ring_halted)
		return; /* no EOI after a protocol error (XSA-332) */
	sb_ring_drain(sb);
	if (!sb->st.ring_halted)
		sim_evtchn_eoi(sb->dom, port);
}

/* ---- connect / disconnect ------------------------------------------------ */

/* Tell the recorder (sim/trace) which page is this device's ring. */
static void sb_ring_record(struct scsiback *sb, uint32_t ref)
{
	struct sim_rec_ring ring = {
		.kind = SIM_REC_RING_VSCSIIF,
		.map = sb->ring_map,
		.req_prod = &sb->ring.sring->req_prod,
		.rsp_prod = &sb->ring.sring->rsp_prod,
		.req_event = &sb->ring.sring->req_event,
		.rsp_event = &sb->ring.sring->rsp_event,
		.entries = sb->ring.sring->ring,
		.entry_size = sizeof(union vscsiif_sring_entry),
		.nr_ents = RING_SIZE(&sb->ring),
		.gref = ref,
		.frontend = sb->cfg.frontend,
		.backend = sim_domain_id(sb->dom),
		.frontend_path = sb->fpath,
		.backend_path = sb->path,
	};

	sim_rec_ring_attach(sb->sim, &ring);
}

int sb_ring_connect(struct scsiback *sb, uint32_t ref, uint32_t fe_port)
{
	uint32_t local;
	int r =
	    sim_gnttab_map(sb->dom, sb->cfg.frontend, ref, true, &sb->ring_map);

	if (r) {
		sb->ring_map = NULL;
		return r;
	}
	r = sim_evtchn_bind_interdomain(sb->dom, sb->cfg.frontend, fe_port,
					&local);
	if (!r) {
		r = sim_evtchn_set_handler(sb->dom, local, sb_on_event, sb,
					   true);
		if (r)
			sim_evtchn_close(sb->dom, local);
	}
	if (r) {
		sim_gnttab_unmap(sb->ring_map);
		sb->ring_map = NULL;
		return r;
	}
	BACK_RING_INIT(&sb->ring,
		       (vscsiif_sring_t *)sim_grant_map_addr(sb->ring_map),
		       SB_PAGE);
	sb_ring_record(sb, ref);
	sb->port = local;
	sb->ring_ref = ref;
	sb->fe_port = fe_port;
	sb->st.ring_halted = false;
	sb->nhistory = 0;
	sb->st.connects++;
	return 0;
}

void sb_ring_disconnect(struct scsiback *sb, bool finish, bool may_hold)
{
	/* Bounded: each round takes one request out of service. */
	while (sb->service) {
		struct sb_req *req = sb->service;

		sim_cancel(sb->sim, req->ev);
		sb_service_unlink(sb, req);
		if (finish && req->tmr)
			sb_tmr_run(sb, &req->rq);
		else if (finish)
			sb_cdb_finish(sb, req);
		else
			sb_req_release(sb, req, false);
		sb_req_free(req);
	}
	sb_rewrites_cancel(sb);
	sim_evtchn_close(sb->dom, sb->port);
	if (may_hold && sb_inject_hold_ring(sb))
		sb_hold_map(sb, sb->ring_map);
	else
		sim_gnttab_unmap(sb->ring_map);
	sb->ring_map = NULL;
	memset(&sb->ring, 0, sizeof(sb->ring));
}
