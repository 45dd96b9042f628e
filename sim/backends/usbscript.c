/* A scripted PVUSB backend; see usbscript.h. */
#include "usbscript.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../trace/trace.h"
#include "../xenstore/xenstore.h"

struct usbscript {
	struct usbscript_config cfg;
	struct sim_domain *dom;
	struct sim_grant_map *urb_map, *conn_map;
	usbif_urb_back_ring_t urb;
	usbif_conn_back_ring_t conn;
	uint32_t port;
	bool bound;
};

struct usbscript *usbscript_create(const struct usbscript_config *cfg)
{
	struct usbscript *s = sim_xcalloc(1, sizeof(*s));

	s->cfg = *cfg;
	s->dom = sim_domain_get(cfg->sim, cfg->self);
	SIM_ASSERT(s->dom != NULL);
	return s;
}

void usbscript_destroy(struct usbscript *s)
{
	if (!s)
		return;
	usbscript_disconnect(s);
	free(s);
}

bool usbscript_connected(const struct usbscript *s)
{
	return s->urb_map != NULL;
}

static int fe_uint(struct usbscript *s, const char *key, uint32_t *out)
{
	char path[320];
	unsigned long long v;
	int err;

	snprintf(path, sizeof(path), "%s/%s", s->cfg.frontend_path, key);
	err = sim_xs_read_uint(sim_xs(s->cfg.sim), s->cfg.self, 0, path, &v);
	if (err)
		return err;
	if (v > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static void on_event(struct sim *sim, void *arg, uint32_t port)
{
	struct usbscript *s = arg;

	(void)sim;
	sim_evtchn_eoi(s->dom, port);
}

/* The rings for a recording of the session (sim/trace/trace.h), as the
 * usbback model registers its own; the script has no directory of its
 * own, so the backend path is empty. */
static void record_rings(struct usbscript *s, uint32_t urb_ref,
			 uint32_t conn_ref)
{
	struct sim_rec_ring urb = {
		.kind = SIM_REC_RING_USBIF_URB,
		.map = s->urb_map,
		.req_prod = &s->urb.sring->req_prod,
		.rsp_prod = &s->urb.sring->rsp_prod,
		.req_event = &s->urb.sring->req_event,
		.rsp_event = &s->urb.sring->rsp_event,
		.entries = s->urb.sring->ring,
		.entry_size = sizeof(union usbif_urb_sring_entry),
		.nr_ents = RING_SIZE(&s->urb),
		.gref = urb_ref,
		.frontend = s->cfg.frontend,
		.backend = s->cfg.self,
		.frontend_path = s->cfg.frontend_path,
		.backend_path = "",
	};
	struct sim_rec_ring conn = urb;

	conn.kind = SIM_REC_RING_USBIF_CONN;
	conn.map = s->conn_map;
	conn.req_prod = &s->conn.sring->req_prod;
	conn.rsp_prod = &s->conn.sring->rsp_prod;
	conn.req_event = &s->conn.sring->req_event;
	conn.rsp_event = &s->conn.sring->rsp_event;
	conn.entries = s->conn.sring->ring;
	conn.entry_size = sizeof(union usbif_conn_sring_entry);
	conn.nr_ents = RING_SIZE(&s->conn);
	conn.gref = conn_ref;
	sim_rec_ring_attach(s->cfg.sim, &urb);
	sim_rec_ring_attach(s->cfg.sim, &conn);
}

int usbscript_connect(struct usbscript *s)
{
	uint32_t urb_ref, conn_ref, port;
	int err = fe_uint(s, "urb-ring-ref", &urb_ref);

	if (!err)
		err = fe_uint(s, "conn-ring-ref", &conn_ref);
	if (!err)
		err = fe_uint(s, "event-channel", &port);
	if (!err)
		err = sim_gnttab_map(s->dom, s->cfg.frontend, urb_ref, true,
				     &s->urb_map);
	if (!err)
		err = sim_gnttab_map(s->dom, s->cfg.frontend, conn_ref, true,
				     &s->conn_map);
	if (!err)
		err = sim_evtchn_bind_interdomain(s->dom, s->cfg.frontend, port,
						  &s->port);
	if (!err) {
		s->bound = true;
		err = sim_evtchn_set_handler(s->dom, s->port, on_event, s,
					     true);
	}
	if (err) {
		usbscript_disconnect(s);
		return err;
	}
	BACK_RING_INIT(&s->urb,
		       (usbif_urb_sring_t *)sim_grant_map_addr(s->urb_map),
		       4096u);
	BACK_RING_INIT(&s->conn,
		       (usbif_conn_sring_t *)sim_grant_map_addr(s->conn_map),
		       4096u);
	record_rings(s, urb_ref, conn_ref);
	return 0;
}

void usbscript_disconnect(struct usbscript *s)
{
	if (s->bound)
		sim_evtchn_close(s->dom, s->port);
	s->bound = false;
	if (s->urb_map)
		sim_gnttab_unmap(s->urb_map);
	if (s->conn_map)
		sim_gnttab_unmap(s->conn_map);
	s->urb_map = s->conn_map = NULL;
}

void usbscript_notify(struct usbscript *s)
{
	if (s->bound)
		sim_evtchn_send(s->dom, s->port);
}

bool usbscript_request(struct usbscript *s, usbif_urb_request_t *req)
{
	/* A frontend can claim more requests than the ring holds: take
	 * only what a ring can hold, as RING_REQUEST_PROD_OVERFLOW does. */
	if (!usbscript_connected(s) ||
	    !RING_HAS_UNCONSUMED_REQUESTS(&s->urb) ||
	    RING_REQUEST_PROD_OVERFLOW(&s->urb, s->urb.sring->req_prod))
		return false;
	RING_COPY_REQUEST(&s->urb, s->urb.req_cons, req);
	s->urb.req_cons++;
	return true;
}

void usbscript_respond(struct usbscript *s, const usbif_urb_response_t *rsp,
		       bool notify)
{
	usbif_urb_response_t *slot;

	if (!usbscript_connected(s))
		return;
	slot = RING_GET_RESPONSE(&s->urb, s->urb.rsp_prod_pvt);
	/* The whole entry: no backend bytes leak (XSA-216). */
	memset(slot, 0, sizeof(union usbif_urb_sring_entry));
	*slot = *rsp;
	sim_shm_publish(s->cfg.sim, slot, sizeof(*slot));
	s->urb.rsp_prod_pvt++;
	RING_PUSH_RESPONSES(&s->urb);
	sim_rec_ring_pushed(s->cfg.sim);
	if (notify)
		usbscript_notify(s);
}

void usbscript_rsp_jump(struct usbscript *s, uint32_t delta)
{
	if (!usbscript_connected(s))
		return;
	s->urb.sring->rsp_prod = s->urb.rsp_prod_pvt + delta;
	usbscript_notify(s);
}

unsigned usbscript_conn_posted(const struct usbscript *s)
{
	RING_IDX prod;

	if (!usbscript_connected(s))
		return 0;
	prod = s->conn.sring->req_prod;
	/* A frontend's claim beyond the ring counts as nothing posted. */
	if (RING_REQUEST_PROD_OVERFLOW(&s->conn, prod))
		return 0;
	return prod - s->conn.req_cons;
}

int usbscript_conn_event(struct usbscript *s, uint8_t port, uint8_t speed,
			 int id_override)
{
	usbif_conn_request_t req;
	usbif_conn_response_t *slot;

	if (usbscript_conn_posted(s) == 0)
		return -EAGAIN;
	RING_COPY_REQUEST(&s->conn, s->conn.req_cons, &req);
	s->conn.req_cons++;
	slot = RING_GET_RESPONSE(&s->conn, s->conn.rsp_prod_pvt);
	slot->id = id_override >= 0 ? (uint16_t)id_override : req.id;
	slot->portnum = port;
	slot->speed = speed;
	sim_shm_publish(s->cfg.sim, slot, sizeof(*slot));
	s->conn.rsp_prod_pvt++;
	RING_PUSH_RESPONSES(&s->conn);
	sim_rec_ring_pushed(s->cfg.sim);
	usbscript_notify(s);
	return 0;
}

void usbscript_conn_jump(struct usbscript *s, uint32_t delta)
{
	if (!usbscript_connected(s))
		return;
	s->conn.sring->rsp_prod = s->conn.rsp_prod_pvt + delta;
	usbscript_notify(s);
}

int usbscript_seg(struct usbscript *s, const usbif_urb_request_t *req,
		  unsigned i, uint8_t *buf, bool write)
{
	struct sim_grant_map *m;
	uint8_t *page;
	int err;

	if (i >= USBIF_MAX_SEGMENTS_PER_REQUEST ||
	    req->seg[i].offset + req->seg[i].length > 4096u)
		return -EINVAL;
	err = sim_gnttab_map(s->dom, s->cfg.frontend, req->seg[i].gref, write,
			     &m);
	if (err)
		return err;
	page = (uint8_t *)sim_grant_map_addr(m) + req->seg[i].offset;
	if (write) {
		memcpy(page, buf, req->seg[i].length);
		sim_shm_publish(s->cfg.sim, page, req->seg[i].length);
	} else {
		memcpy(buf, page, req->seg[i].length);
	}
	sim_rec_data(s->cfg.sim, s->cfg.self, s->cfg.frontend,
		     req->seg[i].gref, write, SIM_REC_DATA_IO,
		     req->seg[i].offset, page, req->seg[i].length);
	sim_gnttab_unmap(m);
	return 0;
}
