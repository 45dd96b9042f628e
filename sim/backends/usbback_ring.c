/*
 * The usbback model's rings: connect and disconnect, the event handler
 * with late EOI, the conn ring (queued plug/unplug events, one per posted
 * request), URB intake with qusb's dispatch order, and the one function
 * that writes URB response slots. What happens to a request once it is on
 * its endpoint is usbback_xfer.c's.
 */
#include "usbback_impl.h"

#include <string.h>

#include "../trace/trace.h"

static void ub_on_event(struct sim *sim, void *arg, uint32_t port);

bool ub_ring_connected(const struct usbback *ub)
{
	return ub->urb_map != NULL;
}

void ub_notify(struct usbback *ub)
{
	ub->st.notifies++;
	sim_evtchn_send(ub->dom, ub->port);
}

/* Halted for good: nothing more is taken in, no EOI (XSA-332). */
static void ub_halt(struct usbback *ub, bool conn_ring, RING_IDX prod)
{
	ub->st.ring_halted = true;
	sim_trace(ub->sim, "usbback-halt", prod, conn_ring);
}

/* ---- URB responses ------------------------------------------------------ */

static enum usbback_status ub_status_class(int32_t status)
{
	switch (status) {
	case USBIF_STATUS_OK:
		return USBBACK_ST_OK;
	case USBIF_STATUS_NODEV:
		return USBBACK_ST_NODEV;
	case USBIF_STATUS_INVAL:
		return USBBACK_ST_INVAL;
	case USBIF_STATUS_STALL:
		return USBBACK_ST_STALL;
	case USBIF_STATUS_IOERROR:
		return USBBACK_ST_PROTO;
	case USBIF_STATUS_BABBLE:
		return USBBACK_ST_BABBLE;
	}
	return USBBACK_ST_SHUTDOWN;
}

void ub_urb_put(struct usbback *ub, const usbif_urb_response_t *rsp)
{
	usbif_urb_response_t *slot;
	int notify;

	slot = RING_GET_RESPONSE(&ub->urb, ub->urb.rsp_prod_pvt);
	/* The whole entry: no backend bytes leak (XSA-216). */
	memset(slot, 0, sizeof(union usbif_urb_sring_entry));
	memcpy(slot, rsp, sizeof(*slot));
	sim_shm_publish(ub->sim, slot, sizeof(*slot));
	ub->urb.rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&ub->urb, notify);
	if (ub->urb_lie) { /* be-rsp-overflow: it keeps lying */
		wmb();
		ub->urb.sring->rsp_prod = ub->urb.rsp_prod_pvt + ub->urb_lie;
	}
	sim_rec_ring_pushed(ub->sim);
	ub->st.responses++;
	if (notify)
		ub_notify(ub);
}

void ub_respond(struct usbback *ub, const usbif_urb_request_t *rq,
		int32_t status, uint32_t actual, uint16_t start_frame,
		uint32_t errors)
{
	usbif_urb_response_t rsp;
	RING_IDX idx;
	bool garbage;

	SIM_ASSERT(ub->st.in_flight > 0);
	ub->st.in_flight--;
	ub->st.status[ub_status_class(status)]++;
	sim_trace(ub->sim, "usbback-rsp", rq->id,
		  (uint64_t)(uint32_t)status << 32 | actual);
	if (!ub_ring_connected(ub))
		return;
	memset(&rsp, 0, sizeof(rsp));
	rsp.id = rq->id;
	rsp.start_frame = start_frame;
	rsp.status = status;
	rsp.actual_length = (int32_t)actual;
	rsp.error_count = (int32_t)errors;
	idx = ub->urb.rsp_prod_pvt;
	garbage = ub_inject_rsp_content(ub, rq, &rsp);
	ub_urb_put(ub, &rsp);
	ub->history[ub->nhistory++ % UB_HISTORY] = rq->id;
	ub_inject_rsp_published(ub, idx, &rsp, garbage);
}

/* ---- conn ring ---------------------------------------------------------- */

void ub_conn_queue(struct usbback *ub, unsigned port, uint8_t speed)
{
	struct ub_conn_event *e;

	if (ub->connq_len == USBBACK_CONN_QUEUE_MAX) {
		ub->st.conn_dropped++;
		sim_trace(ub->sim, "usbback-conn-drop", port, speed);
		return;
	}
	e = &ub->connq[(ub->connq_head + ub->connq_len++) %
		       USBBACK_CONN_QUEUE_MAX];
	e->port = (uint8_t)port;
	e->speed = speed;
}

/* One event answers one posted request, echoing its id. */
static void ub_conn_send(struct usbback *ub, const struct ub_conn_event *e)
{
	usbif_conn_back_ring_t *r = &ub->conn;
	usbif_conn_response_t rsp, *slot;
	usbif_conn_request_t rq;
	int notify;

	RING_COPY_REQUEST(r, r->req_cons, &rq);
	r->req_cons++;
	memset(&rsp, 0, sizeof(rsp));
	rsp.id = rq.id;
	rsp.portnum = e->port;
	rsp.speed = e->speed;
	ub_inject_conn_content(ub, &rsp);
	slot = RING_GET_RESPONSE(r, r->rsp_prod_pvt);
	memset(slot, 0, sizeof(union usbif_conn_sring_entry));
	memcpy(slot, &rsp, sizeof(*slot));
	sim_shm_publish(ub->sim, slot, sizeof(*slot));
	r->rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r, notify);
	if (ub->conn_lie) { /* be-conn-overflow: it keeps lying */
		wmb();
		r->sring->rsp_prod = r->rsp_prod_pvt + ub->conn_lie;
	}
	sim_rec_ring_pushed(ub->sim);
	ub->st.conn_events++;
	sim_trace(ub->sim, "usbback-conn", rq.id,
		  (uint64_t)e->port << 8 | e->speed);
	if (notify)
		ub_notify(ub);
	ub_inject_conn_published(ub);
}

/* Queued events go out while the frontend has requests posted; with
 * events left over, req_event asks for a notification at the next post.
 * false: req_prod overflow. */
static bool ub_conn_flush(struct usbback *ub)
{
	usbif_conn_back_ring_t *r = &ub->conn;

	for (unsigned pass = 0; pass < UB_DRAIN_PASSES; pass++) {
		RING_IDX prod = r->sring->req_prod;
		int more;

		rmb();
		if (RING_REQUEST_PROD_OVERFLOW(r, prod)) {
			ub_halt(ub, true, prod);
			return false;
		}
		while (ub->connq_len && r->req_cons != prod &&
		       !RING_REQUEST_CONS_OVERFLOW(r, r->req_cons)) {
			ub_conn_send(ub, &ub->connq[ub->connq_head]);
			ub->connq_head =
			    (ub->connq_head + 1) % USBBACK_CONN_QUEUE_MAX;
			ub->connq_len--;
		}
		if (!ub->connq_len)
			return true;
		RING_FINAL_CHECK_FOR_REQUESTS(r, more);
		if (!more)
			return true;
	}
	return true;
}

/* ---- URB intake and dispatch (qusb usbback_dispatch) ------------------ */

static void ub_setup_parse(const uint8_t *c, struct sim_usb_setup *s)
{
	s->bmRequestType = c[0];
	s->bRequest = c[1];
	s->wValue = (uint16_t)(c[2] | c[3] << 8);
	s->wIndex = (uint16_t)(c[4] | c[5] << 8);
	s->wLength = (uint16_t)(c[6] | c[7] << 8);
}

/* The port a pipe leads to: address 0 names it in the pipe, any other
 * address goes through the table. 0: none. */
static unsigned ub_port_of(const struct usbback *ub, uint32_t pipe)
{
	unsigned addr = usbif_pipedevice(pipe);
	unsigned port = usbif_pipeportnum(pipe);

	if (addr)
		return ub->addr[addr];
	return port >= 1 && port <= ub->nports ? port : 0;
}

/* qusb usbback_process_unlink_req, without its ports[-1] (gap F). */
static void ub_unlink(struct usbback *ub, const usbif_urb_request_t *rq)
{
	unsigned port = ub_port_of(ub, rq->pipe);
	struct ub_req *victim;
	int32_t status = USBIF_STATUS_OK;

	ub->st.unlinks++;
	if (!port) {
		status = USBIF_STATUS_NODEV;
	} else {
		victim = ub_xfer_find(ub, port, rq->u.unlink.unlink_id);
		if (victim) {
			ub->st.unlinked++;
			ub_xfer_cancel(ub, victim, USBIF_STATUS_IOERROR);
		}
	}
	ub_respond(ub, rq, status, 0, 0, 0);
}

/* The routing checks of usbback_check_and_submit and usbback_dispatch:
 * 0, or the status to answer at once. */
static int32_t ub_route(struct usbback *ub, struct ub_req *req)
{
	uint32_t pipe = req->rq.pipe;
	struct sim_usb_setup *s = &req->setup;

	req->type = usbif_pipetype(pipe);
	req->pipe_in = usbif_pipein(pipe);
	req->dev_in = req->pipe_in;
	req->portnum = ub_port_of(ub, pipe);
	if (req->type == USBIF_PIPE_TYPE_CTRL) {
		ub_setup_parse(req->rq.u.ctrl, s);
		req->dev_in = s->bmRequestType & SIM_USB_DIR_IN;
		req->addr0 = usbif_pipedevice(pipe) == 0;
		/* Standard and to the device only (qusb: any bRequest 5). */
		req->set_address = s->bmRequestType == 0 &&
				   s->bRequest == SIM_USB_REQ_SET_ADDRESS;
	} else if (usbif_pipedevice(pipe) == 0) {
		return USBIF_STATUS_NODEV;
	}
	if (!req->portnum || !ub->ports[req->portnum].dev)
		return USBIF_STATUS_NODEV;
	if (req->set_address && s->wValue >= UB_ADDRS)
		return USBIF_STATUS_INVAL; /* qusb indexes with it: gap J */
	if (req->addr0 && !req->set_address &&
	    s->bRequest != SIM_USB_REQ_GET_DESCRIPTOR)
		return USBIF_STATUS_INVAL;
	req->dev = ub->ports[req->portnum].dev;
	return USBIF_STATUS_OK;
}

static void ub_submit(struct usbback *ub, const usbif_urb_request_t *rq)
{
	struct ub_req *req = sim_xcalloc(1, sizeof(*req));
	int32_t status;

	req->ub = ub;
	req->rq = *rq;
	status = ub_route(ub, req);
	if (status == USBIF_STATUS_OK && !ub_xfer_map(ub, req))
		status = USBIF_STATUS_SHUTDOWN;
	if (status != USBIF_STATUS_OK) {
		ub_req_free(req);
		ub_respond(ub, rq, status, 0, 0, 0);
		return;
	}
	ub_xfer_submit(ub, req);
}

static void ub_intake(struct usbback *ub, const usbif_urb_request_t *rq)
{
	ub->st.requests++;
	sim_trace(ub->sim, "usbback-req", rq->id, rq->pipe);
	if (ub_inject_no_answer(ub, rq->id))
		return;
	ub->st.in_flight++;
	ub->taking = true;
	ub->taking_id = rq->id;
	if (usbif_pipeunlink(rq->pipe))
		ub_unlink(ub, rq);
	else
		ub_submit(ub, rq);
	ub->taking = false;
}

/* One pass over what the frontend published; returns slots consumed. */
static unsigned ub_consume(struct usbback *ub)
{
	usbif_urb_back_ring_t *r = &ub->urb;
	RING_IDX prod = r->sring->req_prod;
	unsigned n = 0;

	rmb();
	if (RING_REQUEST_PROD_OVERFLOW(r, prod)) {
		ub_halt(ub, false, prod); /* Xen a63c57093b */
		return 0;
	}
	while (r->req_cons != prod && n < RING_SIZE(r) &&
	       !RING_REQUEST_CONS_OVERFLOW(r, r->req_cons)) {
		usbif_urb_request_t rq;

		RING_COPY_REQUEST(r, r->req_cons, &rq);
		ub_inject_req_rewrite(ub, r->req_cons);
		r->req_cons++;
		n++;
		ub_intake(ub, &rq);
	}
	return n;
}

static void ub_urb_drain(struct usbback *ub)
{
	int more;

	/* The frontend cannot run while we do, so a pass or two takes all;
	 * the bound is for a ring full of unanswered requests. */
	for (unsigned pass = 0; pass < UB_DRAIN_PASSES; pass++) {
		unsigned n = ub_consume(ub);

		if (ub->st.ring_halted)
			return;
		RING_FINAL_CHECK_FOR_REQUESTS(&ub->urb, more);
		if (!more || !n)
			return;
	}
}

void ub_conn_kick(struct usbback *ub)
{
	if (ub_ring_connected(ub) && !ub->st.ring_halted)
		ub_conn_flush(ub);
}

void ub_ring_kick(struct usbback *ub)
{
	if (!ub_ring_connected(ub) || ub->st.ring_halted)
		return;
	if (ub_conn_flush(ub))
		ub_urb_drain(ub);
}

static void ub_on_event(struct sim *sim, void *arg, uint32_t port)
{
	struct usbback *ub = arg;

	(void)sim;
	if (ub->st.ring_halted)
		return; /* no EOI after a protocol error (XSA-332) */
	ub_ring_kick(ub);
	if (!ub->st.ring_halted)
		sim_evtchn_eoi(ub->dom, port);
}

/* ---- connect / disconnect ------------------------------------------------ */

static int ub_bind(struct usbback *ub, uint32_t fe_port, uint32_t *local)
{
	int r = sim_evtchn_bind_interdomain(ub->dom, ub->cfg.frontend, fe_port,
					    local);

	if (r)
		return r;
	r = sim_evtchn_set_handler(ub->dom, *local, ub_on_event, ub, true);
	if (r)
		sim_evtchn_close(ub->dom, *local);
	return r;
}

/* Tell the recorder (sim/trace) which pages are this device's rings. */
static void ub_rings_record(struct usbback *ub, uint32_t urb_ref,
			    uint32_t conn_ref)
{
	struct sim_rec_ring urb = {
		.kind = SIM_REC_RING_USBIF_URB,
		.map = ub->urb_map,
		.req_prod = &ub->urb.sring->req_prod,
		.rsp_prod = &ub->urb.sring->rsp_prod,
		.req_event = &ub->urb.sring->req_event,
		.rsp_event = &ub->urb.sring->rsp_event,
		.entries = ub->urb.sring->ring,
		.entry_size = sizeof(union usbif_urb_sring_entry),
		.nr_ents = RING_SIZE(&ub->urb),
		.gref = urb_ref,
		.frontend = ub->cfg.frontend,
		.backend = sim_domain_id(ub->dom),
		.frontend_path = ub->fpath,
		.backend_path = ub->path,
	};
	struct sim_rec_ring conn = urb;

	conn.kind = SIM_REC_RING_USBIF_CONN;
	conn.map = ub->conn_map;
	conn.req_prod = &ub->conn.sring->req_prod;
	conn.rsp_prod = &ub->conn.sring->rsp_prod;
	conn.req_event = &ub->conn.sring->req_event;
	conn.rsp_event = &ub->conn.sring->rsp_event;
	conn.entries = ub->conn.sring->ring;
	conn.entry_size = sizeof(union usbif_conn_sring_entry);
	conn.nr_ents = RING_SIZE(&ub->conn);
	conn.gref = conn_ref;
	sim_rec_ring_attach(ub->sim, &urb);
	sim_rec_ring_attach(ub->sim, &conn);
}

int ub_ring_connect(struct usbback *ub, uint32_t urb_ref, uint32_t conn_ref,
		    uint32_t fe_port)
{
	struct sim_grant_map *um = NULL, *cm = NULL;
	uint32_t local = 0;
	int r;

	r = sim_gnttab_map(ub->dom, ub->cfg.frontend, urb_ref, true, &um);
	if (r) {
		um = NULL;
	} else {
		r = sim_gnttab_map(ub->dom, ub->cfg.frontend, conn_ref, true,
				   &cm);
		if (r)
			cm = NULL;
	}
	if (!r)
		r = ub_bind(ub, fe_port, &local);
	if (r) {
		if (cm)
			sim_gnttab_unmap(cm);
		if (um)
			sim_gnttab_unmap(um);
		return r;
	}
	ub->urb_map = um;
	ub->conn_map = cm;
	BACK_RING_INIT(&ub->urb, (usbif_urb_sring_t *)sim_grant_map_addr(um),
		       UB_PAGE);
	BACK_RING_INIT(&ub->conn, (usbif_conn_sring_t *)sim_grant_map_addr(cm),
		       UB_PAGE);
	ub_rings_record(ub, urb_ref, conn_ref);
	ub->port = local;
	ub->urb_ref = urb_ref;
	ub->conn_ref = conn_ref;
	ub->fe_port = fe_port;
	ub->st.ring_halted = false;
	ub->nhistory = 0;
	ub->urb_lie = ub->conn_lie = 0;
	ub->st.connects++;
	return 0;
}

void ub_ring_disconnect(struct usbback *ub, bool finish, bool may_hold)
{
	unsigned hold = 0;

	for (unsigned i = 1; i <= ub->nports; i++)
		ub_xfer_cancel_port(ub, i, USBIF_STATUS_SHUTDOWN, finish);
	SIM_ASSERT(ub->st.in_flight == 0);
	ub_rewrites_cancel(ub);
	ub->connq_head = 0;
	ub->connq_len = 0;
	sim_evtchn_close(ub->dom, ub->port);
	if (may_hold)
		hold = ub_inject_hold_ring(ub);
	if (hold & UB_HOLD_URB)
		ub_hold_map(ub, ub->urb_map);
	else
		sim_gnttab_unmap(ub->urb_map);
	if (hold & UB_HOLD_CONN)
		ub_hold_map(ub, ub->conn_map);
	else
		sim_gnttab_unmap(ub->conn_map);
	ub->urb_map = NULL;
	ub->conn_map = NULL;
	memset(&ub->urb, 0, sizeof(ub->urb));
	memset(&ub->conn, 0, sizeof(ub->conn));
}
