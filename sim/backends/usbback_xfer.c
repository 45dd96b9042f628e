/*
 * A transfer's life in the usbback model, from the mapping of its grants
 * to its answer: the per-endpoint queues (the head is on the bus, the rest
 * wait), attempts at the device with NAK retries, the bus timing of
 * usbback.h, isochronous frame descriptors, and cancellation (unlink,
 * unplug, disconnect). Every timing figure comes from usbback.h.
 */
#include "usbback_impl.h"

#include <stdlib.h>
#include <string.h>

#include "../trace/trace.h"

static void ub_start(struct usbback *ub, struct ub_req *req);

static uint32_t ub_min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint64_t ub_div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static int32_t ub_status(enum sim_usb_status st)
{
	switch (st) {
	case SIM_USB_OK:
		return USBIF_STATUS_OK;
	case SIM_USB_STALL:
		return USBIF_STATUS_STALL;
	case SIM_USB_BABBLE:
		return USBIF_STATUS_BABBLE;
	case SIM_USB_IOERROR:
		return USBIF_STATUS_IOERROR;
	case SIM_USB_NAK: /* where a device may not NAK (control, iso) */
		break;
	}
	return USBIF_STATUS_SHUTDOWN;
}

/* ---- requests and their grants ------------------------------------------- */

static void ub_unmap(struct ub_req *req)
{
	for (unsigned i = 0; i < UB_SEGS; i++) {
		if (req->maps[i])
			sim_gnttab_unmap(req->maps[i]);
		req->maps[i] = NULL;
	}
}

void ub_req_free(struct ub_req *req)
{
	ub_unmap(req);
	free(req->buf);
	free(req->packets);
	free(req);
}

static void *ub_seg_addr(const struct ub_req *req, unsigned i)
{
	return (uint8_t *)sim_grant_map_addr(req->maps[i]) +
	       req->rq.seg[i].offset;
}

/* A move between the guest's segment i (at byte at of it) and the
 * private copy, recorded as it happens (DATA records, trace.h). */
static void ub_rec_data(const struct ub_req *req, unsigned i, uint32_t at,
			bool to_granted, enum sim_rec_data_kind what,
			const void *bytes, uint32_t n)
{
	const struct usbback *ub = req->ub;

	sim_rec_data(ub->sim, ub->cfg.self, ub->cfg.frontend,
		     req->rq.seg[i].gref, to_granted, what,
		     req->rq.seg[i].offset + at, bytes, n);
}

/* OUT data, copied once at intake. */
static void ub_gather(struct ub_req *req)
{
	uint32_t off = 0;

	for (unsigned i = 0; i < req->nbuf; i++) {
		memcpy(req->buf + off, ub_seg_addr(req, i),
		       req->rq.seg[i].length);
		ub_rec_data(req, i, 0, false, SIM_REC_DATA_IO, req->buf + off,
			    req->rq.seg[i].length);
		off += req->rq.seg[i].length;
	}
}

/* IN data: bytes [from, from + len) of the buffer into the guest. */
static void ub_scatter(struct usbback *ub, struct ub_req *req, uint32_t from,
		       uint32_t len)
{
	uint32_t base = 0;

	for (unsigned i = 0; i < req->nbuf && len; i++) {
		uint32_t seg = req->rq.seg[i].length, at, n;
		uint8_t *p;

		if (from >= base + seg) {
			base += seg;
			continue;
		}
		at = from - base;
		n = ub_min32(len, seg - at);
		p = (uint8_t *)ub_seg_addr(req, i) + at;
		memcpy(p, req->buf + from, n);
		sim_shm_publish(ub->sim, p, n);
		ub_rec_data(req, i, at, true, SIM_REC_DATA_IO, p, n);
		ub->st.bytes_in += n;
		from += n;
		len -= n;
		base += seg;
	}
}

/* len bytes at byte pos of the frame descriptor stream (the descriptor
 * segments end to end) into p, or from p when writing. false: the stream
 * ends first. */
static bool ub_desc_io(struct usbback *ub, struct ub_req *req, uint32_t pos,
		       void *p, uint32_t len, bool write)
{
	uint8_t *b = p;

	for (unsigned i = req->nbuf; i < req->nbuf + req->ndesc && len; i++) {
		uint32_t seg = req->rq.seg[i].length, n;
		uint8_t *d;

		if (pos >= seg) {
			pos -= seg;
			continue;
		}
		n = ub_min32(len, seg - pos);
		d = (uint8_t *)ub_seg_addr(req, i) + pos;
		if (write) {
			memcpy(d, b, n);
			sim_shm_publish(ub->sim, d, n);
		} else {
			memcpy(b, d, n);
		}
		ub_rec_data(req, i, pos, write, SIM_REC_DATA_ISO_DESC, b, n);
		b += n;
		len -= n;
		pos = 0;
	}
	return len == 0;
}

/* Offset and length of every packet, read once; each descriptor must lie
 * whole in the stream and its packet in the buffer. */
static bool ub_iso_read(struct usbback *ub, struct ub_req *req)
{
	unsigned n = req->rq.u.isoc.number_of_packets;
	uint32_t stream = 0;

	for (unsigned i = req->nbuf; i < req->nbuf + req->ndesc; i++)
		stream += req->rq.seg[i].length;
	/* Checked before the allocation a hostile count would size. */
	if (!n || n > stream / UB_ISO_DESC)
		return false;
	req->packets = sim_xcalloc(n, sizeof(*req->packets));
	req->npackets = n;
	for (unsigned i = 0; i < n; i++) {
		uint32_t d[UB_ISO_DESC / 4];

		if (!ub_desc_io(ub, req, i * UB_ISO_DESC, d, sizeof(d), false))
			return false;
		if (d[0] > req->len || d[1] > req->len - d[0])
			return false;
		req->packets[i].offset = d[0];
		req->packets[i].length = d[1];
	}
	return true;
}

/* qusb usbback_gnttab_map's checks, plus iso descriptors. */
bool ub_xfer_map(struct usbback *ub, struct ub_req *req)
{
	const usbif_urb_request_t *rq = &req->rq;
	bool iso = req->type == USBIF_PIPE_TYPE_ISOC;
	unsigned n;

	req->nbuf = rq->nr_buffer_segs;
	req->ndesc = iso ? rq->u.isoc.nr_frame_desc_segs : 0;
	n = req->nbuf + req->ndesc;
	if (n > UB_SEGS || (iso && !req->ndesc))
		return false;
	for (unsigned i = 0; i < n; i++)
		if ((unsigned)rq->seg[i].offset + rq->seg[i].length > UB_PAGE)
			return false;
	for (unsigned i = 0; i < n; i++) {
		/* Descriptor pages carry results back: always writable. */
		bool writable = i >= req->nbuf || req->pipe_in;

		if (sim_gnttab_map(ub->dom, ub->cfg.frontend, rq->seg[i].gref,
				   writable, &req->maps[i])) {
			req->maps[i] = NULL;
			return false;
		}
		if (i < req->nbuf)
			req->len += rq->seg[i].length;
	}
	req->buf = sim_xcalloc(req->len ? req->len : 1, 1);
	if (!req->dev_in)
		ub_gather(req);
	return !iso || ub_iso_read(ub, req);
}

/* ---- timing (usbback.h) -------------------------------------------------- */

static bool ub_high_speed(const struct ub_req *req)
{
	return sim_usb_device_speed(req->dev) == SIM_USB_SPEED_HIGH;
}

static uint64_t ub_frame_ns(const struct ub_req *req)
{
	return ub_high_speed(req) ? USBBACK_UFRAME_NS : USBBACK_FRAME_NS;
}

/* The endpoint as the device's active configuration describes it; an
 * endpoint it does not have (the attempt will fail) times as the most
 * frequent one. */
static struct sim_usb_ep_info ub_ep(const struct ub_req *req)
{
	struct sim_usb_ep_info info = {
	    .max_packet = 8, .mult = 1, .interval = 1};

	sim_usb_device_ep(req->dev, usbif_pipeendpoint(req->rq.pipe),
			  req->pipe_in, &info);
	return info;
}

/* Interrupt at low/full speed: bInterval frames; high speed and iso:
 * 2^(bInterval - 1) (micro)frames (USB 2.0 table 9-13). */
static uint64_t ub_interval_ns(const struct ub_req *req)
{
	unsigned b = ub_ep(req).interval;

	if (req->type == USBIF_PIPE_TYPE_INT && !ub_high_speed(req))
		return (uint64_t)(b ? b : 1) * USBBACK_FRAME_NS;
	if (b < 1)
		b = 1;
	if (b > 16)
		b = 16;
	return (1ull << (b - 1)) * ub_frame_ns(req);
}

static uint32_t ub_bulk_bytes_per_frame(const struct ub_req *req)
{
	switch (sim_usb_device_speed(req->dev)) {
	case SIM_USB_SPEED_HIGH:
		return USBBACK_HS_BULK_BYTES_PER_UFRAME;
	case SIM_USB_SPEED_FULL:
		return USBBACK_FS_BULK_BYTES_PER_FRAME;
	case SIM_USB_SPEED_LOW:
		break;
	}
	return USBBACK_LS_BULK_BYTES_PER_FRAME;
}

/* From the attempt the device answered to the end of the transfer. */
static uint64_t ub_bus_ns(const struct ub_req *req)
{
	uint64_t frame = ub_frame_ns(req);
	struct sim_usb_ep_info ep;
	uint64_t chunk, n;

	switch (req->type) {
	case USBIF_PIPE_TYPE_CTRL:
		n = req->setup.wLength ? 3 : 2;
		return n * USBBACK_CTRL_STAGE_FRAMES * frame;
	case USBIF_PIPE_TYPE_BULK:
		n = ub_div_up(req->actual ? req->actual : 1,
			      ub_bulk_bytes_per_frame(req));
		return n * frame;
	case USBIF_PIPE_TYPE_INT:
		ep = ub_ep(req);
		chunk = (uint64_t)ep.max_packet * (ep.mult ? ep.mult : 1);
		n = req->actual ? ub_div_up(req->actual, chunk ? chunk : 1) : 1;
		return (n - 1) * ub_interval_ns(req) + frame;
	}
	return req->npackets * ub_interval_ns(req); /* iso */
}

static uint64_t ub_retry_ns(const struct ub_req *req)
{
	if (req->type == USBIF_PIPE_TYPE_INT)
		return ub_interval_ns(req);
	return USBBACK_BULK_RETRY_FRAMES * ub_frame_ns(req);
}

/* Full/low speed: the 11-bit frame number; high speed: microframes, the
 * same span. */
static uint16_t ub_start_frame(const struct ub_req *req)
{
	uint64_t n = req->first_ns / ub_frame_ns(req);

	return (uint16_t)(n & (ub_high_speed(req) ? 0x3fff : 0x7ff));
}

/* ---- queues -------------------------------------------------------------- */

static struct ub_queue *ub_queue(struct usbback *ub, const struct ub_req *req)
{
	return &ub->ports[req->portnum].q[req->qi];
}

/* Control has one queue whatever its direction (qusb forces endpoint 0). */
static unsigned ub_queue_index(const struct ub_req *req)
{
	if (req->type == USBIF_PIPE_TYPE_CTRL)
		return 0;
	return 1 + 2 * usbif_pipeendpoint(req->rq.pipe) + req->pipe_in;
}

static void ub_unqueue(struct usbback *ub, struct ub_req *req)
{
	struct ub_queue *q = ub_queue(ub, req);
	struct ub_req **pp = &q->head, *prev = NULL;

	while (*pp != req) {
		SIM_ASSERT(*pp != NULL);
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = req->next;
	if (q->tail == req)
		q->tail = prev;
	req->next = NULL;
}

void ub_xfer_submit(struct usbback *ub, struct ub_req *req)
{
	struct ub_queue *q;

	req->qi = ub_queue_index(req);
	q = ub_queue(ub, req);
	req->next = NULL;
	if (q->tail)
		q->tail->next = req;
	else
		q->head = req;
	q->tail = req;
	if (q->head == req)
		ub_start(ub, req);
}

struct ub_req *ub_xfer_find(struct usbback *ub, unsigned port, uint16_t id)
{
	for (unsigned qi = 0; qi < UB_QUEUES; qi++)
		for (struct ub_req *r = ub->ports[port].q[qi].head; r;
		     r = r->next)
			if (r->rq.id == id)
				return r;
	return NULL;
}

/* Unmaps the data grants, unless be-hold-grant keeps them. */
static void ub_release(struct usbback *ub, struct ub_req *req)
{
	bool any = false, hold;

	for (unsigned i = 0; i < UB_SEGS; i++)
		any |= req->maps[i] != NULL;
	hold = any && ub_inject_hold_grant(ub);
	for (unsigned i = 0; i < UB_SEGS; i++) {
		if (!req->maps[i])
			continue;
		if (hold)
			ub_hold_map(ub, req->maps[i]);
		else
			sim_gnttab_unmap(req->maps[i]);
		req->maps[i] = NULL;
	}
}

/* Grants released before the answer, so the frontend can end them. */
static void ub_answer(struct usbback *ub, struct ub_req *req, int32_t status,
		      uint16_t start_frame, uint32_t errors)
{
	ub_release(ub, req);
	ub_respond(ub, &req->rq, status, req->actual, start_frame, errors);
	ub_req_free(req);
}

/* ---- attempts and completion --------------------------------------------- */

static void ub_attempt_event(struct sim *sim, void *arg);
static void ub_complete_event(struct sim *sim, void *arg);

static void ub_start(struct usbback *ub, struct ub_req *req)
{
	uint64_t now = sim_now(ub->sim), frame, delay = 0;

	/* Periodic transfers wait for the next (micro)frame. */
	if (req->type == USBIF_PIPE_TYPE_INT ||
	    req->type == USBIF_PIPE_TYPE_ISOC) {
		frame = ub_frame_ns(req);
		delay = (now / frame + 1) * frame - now;
	}
	req->ev = sim_schedule(ub->sim, delay, ub_attempt_event, req,
			       "usbback-attempt");
}

static enum sim_usb_ep_type ub_ep_type(unsigned pipe_type)
{
	switch (pipe_type) {
	case USBIF_PIPE_TYPE_ISOC:
		return SIM_USB_EP_ISO;
	case USBIF_PIPE_TYPE_INT:
		return SIM_USB_EP_INTERRUPT;
	case USBIF_PIPE_TYPE_CTRL:
		return SIM_USB_EP_CONTROL;
	}
	return SIM_USB_EP_BULK;
}

static void ub_xfer_fill(struct usbback *ub, struct ub_req *req,
			 struct sim_usb_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->type = ub_ep_type(req->type);
	if (x->type != SIM_USB_EP_CONTROL)
		x->ep = (uint8_t)usbif_pipeendpoint(req->rq.pipe);
	x->in = req->dev_in;
	x->setup = req->setup;
	x->data = req->buf;
	x->len = req->len;
	x->packets = req->packets;
	x->npackets = req->npackets;
	x->now_ns = sim_now(ub->sim);
}

/* A frontend talking to address 0 has reset the port, locally (xen-hcd):
 * the device gets the reset it missed (usbback.h). */
static void ub_addr0_reset(struct usbback *ub, struct ub_req *req)
{
	if (sim_usb_device_address(req->dev) || sim_usb_device_config(req->dev))
		ub_port_reset(ub, req->portnum);
}

static void ub_set_address(struct usbback *ub, const struct ub_req *req)
{
	ub_addr_forget(ub, req->portnum);
	if (req->setup.wValue)
		ub->addr[req->setup.wValue] = (uint8_t)req->portnum;
	sim_trace(ub->sim, "usbback-address", req->portnum, req->setup.wValue);
}

/* What the device moved: clamped, and nothing on an error. */
static void ub_took(struct usbback *ub, struct ub_req *req,
		    const struct sim_usb_xfer *x)
{
	req->actual = 0;
	if (req->answer != SIM_USB_OK)
		return;
	if (req->type != USBIF_PIPE_TYPE_ISOC) {
		req->actual = ub_min32(x->actual, req->len);
	} else {
		for (unsigned i = 0; i < req->npackets; i++) {
			struct sim_usb_iso_packet *pk = &req->packets[i];

			pk->actual = ub_min32(pk->actual, pk->length);
			req->actual += pk->actual;
		}
	}
	if (!req->dev_in)
		ub->st.bytes_out += req->actual;
}

static void ub_attempt(struct usbback *ub, struct ub_req *req)
{
	struct sim_usb_xfer x;
	enum sim_usb_status st;

	/* Unplug answers a port's requests before the device goes. */
	SIM_ASSERT(ub->ports[req->portnum].dev == req->dev);
	if (req->addr0)
		ub_addr0_reset(ub, req);
	ub_xfer_fill(ub, req, &x);
	st = sim_usb_device_handle(req->dev, &x);
	if (st == SIM_USB_NAK && (req->type == USBIF_PIPE_TYPE_BULK ||
				  req->type == USBIF_PIPE_TYPE_INT)) {
		ub->st.naks++;
		sim_trace(ub->sim, "usbback-nak", req->rq.id, req->portnum);
		req->ev = sim_schedule(ub->sim, ub_retry_ns(req),
				       ub_attempt_event, req, "usbback-retry");
		return;
	}
	req->answer = st;
	req->answered = true;
	req->first_ns = x.now_ns;
	ub_took(ub, req, &x);
	if (req->set_address && st == SIM_USB_OK)
		ub_set_address(ub, req);
	req->ev =
	    sim_schedule(ub->sim, ub_bus_ns(req) + ub->cfg.device_latency_ns,
			 ub_complete_event, req, "usbback-complete");
}

static void ub_attempt_event(struct sim *sim, void *arg)
{
	struct ub_req *req = arg;

	(void)sim;
	req->ev = 0;
	ub_attempt(req->ub, req);
}

/* Each packet's actual_length and status back into its descriptor, its
 * IN data into the guest; returns the packets in error. */
static uint32_t ub_iso_finish(struct usbback *ub, struct ub_req *req,
			      int32_t status)
{
	uint32_t errors = 0;

	for (unsigned i = 0; i < req->npackets; i++) {
		const struct sim_usb_iso_packet *pk = &req->packets[i];
		int32_t d[2] = {0, status};

		if (status == USBIF_STATUS_OK) {
			d[0] = (int32_t)pk->actual;
			d[1] = ub_status(pk->status);
		}
		errors += d[1] != USBIF_STATUS_OK;
		if (d[0] && req->dev_in && req->pipe_in)
			ub_scatter(ub, req, pk->offset, pk->actual);
		ub_inject_iso_packet(ub, &d[0], &d[1], pk->length);
		ub_desc_io(ub, req, i * UB_ISO_DESC + 8, d, sizeof(d), true);
	}
	ub->st.iso_packets += req->npackets;
	return errors;
}

/* Data back, answered; the endpoint's next request goes on the bus. */
static void ub_finish(struct usbback *ub, struct ub_req *req)
{
	struct ub_queue *q = ub_queue(ub, req);
	int32_t status = ub_status(req->answer);
	uint32_t errors = 0;
	uint16_t frame = 0;

	SIM_ASSERT(q->head == req && req->answered);
	if (req->type == USBIF_PIPE_TYPE_ISOC) {
		errors = ub_iso_finish(ub, req, status);
		frame = ub_start_frame(req);
	} else if (req->dev_in && req->pipe_in) {
		ub_scatter(ub, req, 0, req->actual);
	}
	ub_unqueue(ub, req);
	ub_answer(ub, req, status, frame, errors);
	if (q->head)
		ub_start(ub, q->head);
}

static void ub_complete_event(struct sim *sim, void *arg)
{
	struct ub_req *req = arg;

	(void)sim;
	req->ev = 0;
	ub_finish(req->ub, req);
}

/* ---- cancellation -------------------------------------------------------- */

void ub_xfer_cancel(struct usbback *ub, struct ub_req *req, int32_t status)
{
	struct ub_queue *q = ub_queue(ub, req);
	bool was_head = q->head == req;

	sim_cancel(ub->sim, req->ev);
	ub_unqueue(ub, req);
	req->actual = 0;
	ub_answer(ub, req, status, 0, 0);
	if (was_head && q->head)
		ub_start(ub, q->head);
}

void ub_xfer_cancel_port(struct usbback *ub, unsigned port, int32_t status,
			 bool answer)
{
	for (unsigned qi = 0; qi < UB_QUEUES; qi++) {
		struct ub_queue *q = &ub->ports[port].q[qi];

		/* Bounded: each round takes one request off the queue. */
		while (q->head) {
			struct ub_req *req = q->head;

			sim_cancel(ub->sim, req->ev);
			ub_unqueue(ub, req);
			req->actual = 0;
			if (answer) {
				ub_answer(ub, req, status, 0, 0);
				continue;
			}
			SIM_ASSERT(ub->st.in_flight > 0);
			ub->st.in_flight--;
			sim_trace(ub->sim, "usbback-drop", req->rq.id, port);
			ub_req_free(req);
		}
	}
}
