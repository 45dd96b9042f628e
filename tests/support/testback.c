/*
 * Test-only backend; see testback.h. Its ring side is Xen's reference
 * implementation (libxen-dev io/ring.h), so tests that pass here show the
 * frontend ring code interoperates with the macros real backends use.
 */
#include "testback.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/backends/xen_ring.h"
#include "sim/check/check.h"
#include "sim/xenstore/xenstore.h"
#include "testproto.h"

DEFINE_RING_TYPES(xpvt, struct xpvt_request, struct xpvt_response);

struct pending_rsp {
	struct testback *tb;
	struct xpvt_request req;
	struct sim_grant_map *map;
	sim_event_id event;
	struct pending_rsp *next;
};

struct testback {
	struct testback_config cfg;
	struct sim_domain *dom;
	char path[256], fpath[256];
	struct sim_grant_map *ring_map;
	xpvt_back_ring_t ring;
	uint32_t port;
	bool port_bound;
	struct pending_rsp *pending; /* in service, answered by an event */
	struct sim_grant_map *held[8];
	unsigned nr_held;
	struct testback_stats st;
};

static struct sim *tb_sim(const struct testback *tb)
{
	return tb->cfg.sim;
}

static int fe_read_uint(struct testback *tb, const char *key,
			unsigned long long *v)
{
	char p[300];
	snprintf(p, sizeof(p), "%s/%s", tb->fpath, key);
	return sim_xs_read_uint(sim_xs(tb_sim(tb)), tb->cfg.self, 0, p, v);
}

/* ---- answering ---------------------------------------------------------- */

static void push_response(struct testback *tb, const struct xpvt_response *r)
{
	struct xpvt_response *slot =
		RING_GET_RESPONSE(&tb->ring, tb->ring.rsp_prod_pvt);
	int notify;

	/* Whole entry written: no backend bytes leak (XSA-216). */
	memset(slot, 0, sizeof(union xpvt_sring_entry));
	*slot = *r;
	sim_shm_publish(tb_sim(tb), slot, sizeof(*slot));
	tb->ring.rsp_prod_pvt++;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&tb->ring, notify);
	tb->st.responses++;
	if (notify) {
		tb->st.notifies++;
		sim_evtchn_send(tb->dom, tb->port);
	}
}

static int move_data(struct testback *tb, struct pending_rsp *p)
{
	const struct xpvt_request *rq = &p->req;
	bool inbound = rq->op == XPVT_OP_READ; /* backend writes the page */
	uint8_t *data;

	if (sim_gnttab_map(tb->dom, tb->cfg.frontend, rq->gref, inbound,
			   &p->map) != 0)
		return XPVT_STATUS_EIO;
	data = sim_grant_map_addr(p->map);
	for (uint32_t i = 0; i < rq->len; i++) {
		if (inbound)
			data[i] = xpvt_pattern(rq->seq, i);
		else if (data[i] != xpvt_pattern(rq->seq, i))
			return XPVT_STATUS_EIO;
	}
	if (inbound)
		sim_shm_publish(tb_sim(tb), data, rq->len);
	return XPVT_STATUS_OK;
}

static void unlink_pending(struct testback *tb, struct pending_rsp *p)
{
	struct pending_rsp **pp = &tb->pending;
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
}

static void answer(struct sim *sim, void *arg)
{
	struct pending_rsp *p = arg;
	struct testback *tb = p->tb;
	struct xpvt_response rsp = { .id = p->req.id, .seq = p->req.seq };

	unlink_pending(tb, p);
	rsp.status = (int16_t)move_data(tb, p);
	rsp.len = rsp.status == XPVT_STATUS_OK ? p->req.len : 0;
	if (p->map) {
		if (tb->cfg.hold_mapping_nth == tb->st.responses + 1 &&
		    tb->nr_held < 8)
			tb->held[tb->nr_held++] = p->map; /* hostile */
		else
			sim_gnttab_unmap(p->map);
	}
	push_response(tb, &rsp);
	if (tb->cfg.duplicate_nth == tb->st.responses)
		push_response(tb, &rsp); /* hostile */
	free(p);
}

static void take_requests(struct testback *tb)
{
	int more;

	do {
		RING_IDX prod = tb->ring.sring->req_prod;
		rmb();
		if (RING_REQUEST_PROD_OVERFLOW(&tb->ring, prod)) {
			tb->st.ring_halted = true; /* as qusb, scsiback */
			return;
		}
		while (tb->ring.req_cons != prod &&
		       !RING_REQUEST_CONS_OVERFLOW(&tb->ring,
						   tb->ring.req_cons)) {
			struct pending_rsp *p = sim_xcalloc(1, sizeof(*p));
			p->tb = tb;
			RING_COPY_REQUEST(&tb->ring, tb->ring.req_cons, &p->req);
			tb->ring.req_cons++;
			tb->st.requests++;
			uint64_t span = tb->cfg.service_max_ns -
					tb->cfg.service_min_ns;
			p->next = tb->pending;
			tb->pending = p;
			p->event = sim_schedule(
				tb_sim(tb),
				tb->cfg.service_min_ns +
					sim_rng_below(sim_rng_dom(tb_sim(tb),
								  tb->cfg.self),
						      span + 1),
				answer, p, "testback-answer");
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&tb->ring, more);
	} while (more && !tb->st.ring_halted);
}

static void on_event(struct sim *sim, void *arg, uint32_t port)
{
	struct testback *tb = arg;

	if (tb->st.ring_halted)
		return; /* no EOI after a protocol error, as scsiback */
	take_requests(tb);
	if (!tb->st.ring_halted)
		sim_evtchn_eoi(tb->dom, port);
}

/* ---- xenbus -------------------------------------------------------------- */

static int connect_ring(struct testback *tb)
{
	unsigned long long ref, port;
	uint32_t local;
	int err = fe_read_uint(tb, "ring-ref", &ref);

	if (!err)
		err = fe_read_uint(tb, "event-channel", &port);
	if (err || ref > UINT32_MAX || port > UINT32_MAX)
		return err ? err : -EINVAL;
	err = sim_gnttab_map(tb->dom, tb->cfg.frontend, (uint32_t)ref, true,
			     &tb->ring_map);
	if (err)
		return err;
	BACK_RING_INIT(&tb->ring,
		       (xpvt_sring_t *)sim_grant_map_addr(tb->ring_map),
		       XPV_PAGE_SIZE);
	err = sim_evtchn_bind_interdomain(tb->dom, tb->cfg.frontend,
					  (uint32_t)port, &local);
	if (err)
		return err;
	tb->port = local;
	tb->port_bound = true;
	return sim_evtchn_set_handler(tb->dom, local, on_event, tb, true);
}

static void disconnect(struct testback *tb)
{
	while (tb->pending) {
		struct pending_rsp *p = tb->pending;
		tb->pending = p->next;
		sim_cancel(tb_sim(tb), p->event);
		free(p);
	}
	if (tb->port_bound)
		sim_evtchn_close(tb->dom, tb->port);
	tb->port_bound = false;
	if (tb->ring_map)
		sim_gnttab_unmap(tb->ring_map);
	tb->ring_map = NULL;
	tb->st.connected = false;
}

static void frontend_changed(struct sim *sim, void *arg, const char *path,
			     const char *token)
{
	struct testback *tb = arg;
	struct sim_xs *xs = sim_xs(sim);
	int fe;

	if (sim_xenbus_read_state(xs, tb->cfg.self, tb->fpath, &fe) != 0)
		return;
	if (fe == 3 && !tb->st.connected) {
		if (connect_ring(tb) != 0) {
			disconnect(tb);
			sim_xenbus_switch_state(xs, tb->cfg.self, tb->path, 6);
			return;
		}
		tb->st.connected = true;
		sim_xenbus_switch_state(xs, tb->cfg.self, tb->path, 4);
		take_requests(tb); /* anything queued before we looked */
	} else if (fe == 5 || fe == 6) {
		disconnect(tb);
		sim_xenbus_switch_state(xs, tb->cfg.self, tb->path, 6);
	}
}

int testback_create(const struct testback_config *cfg, struct testback **out)
{
	struct testback *tb = sim_xcalloc(1, sizeof(*tb));

	tb->cfg = *cfg;
	tb->dom = sim_domain_get(cfg->sim, cfg->self);
	SIM_ASSERT(tb->dom != NULL);
	SIM_ASSERT(cfg->service_max_ns >= cfg->service_min_ns);
	snprintf(tb->path, sizeof(tb->path), "%s", cfg->path);
	snprintf(tb->fpath, sizeof(tb->fpath), "%s", cfg->frontend_path);
	char wpath[300];
	snprintf(wpath, sizeof(wpath), "%s/state", tb->fpath);
	int err = sim_xs_watch(sim_xs(cfg->sim), cfg->self, wpath, "testback",
			       frontend_changed, tb);
	if (!err)
		err = sim_xenbus_switch_state(sim_xs(cfg->sim), cfg->self,
					      tb->path, 2);
	if (err) {
		testback_destroy(tb);
		return err;
	}
	*out = tb;
	return 0;
}

void testback_stats(const struct testback *tb, struct testback_stats *st)
{
	*st = tb->st;
}

void testback_destroy(struct testback *tb)
{
	char wpath[300];

	snprintf(wpath, sizeof(wpath), "%s/state", tb->fpath);
	sim_xs_unwatch(sim_xs(tb_sim(tb)), tb->cfg.self, wpath, "testback",
		       tb);
	disconnect(tb);
	for (unsigned i = 0; i < tb->nr_held; i++)
		sim_gnttab_unmap(tb->held[i]);
	free(tb);
}
