/*
 * The recorder on small hand-driven simulations: each file is read back
 * with libpcap and checked record by record against docs/trace-format.md
 * (link type, nanosecond timestamps equal to simulated time, sequence
 * numbers, payload fields), including the document's example byte for
 * byte, ring publications and event indices seen through the page,
 * event-channel binds, sends and late EOIs with the delivery each
 * scheduled, and closes, and the trace hash being the same with and
 * without recording.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/io/ring.h>
#include <xen/io/vscsiif.h>

#include "check_main.h"
#include "sim/core/fault.h"
#include "sim/trace/trace_pcap.h"
#include "sim/xen/xen.h"
#include "sim/xenstore/xenstore.h"
#include "trace_test.h"

#define GUEST ((sim_domid)1)

struct fx {
	struct sim *sim;
	struct sim_domain *dom0, *guest;
	FILE *f;
};

static void fx_init(struct fx *x, bool record)
{
	struct sim_config cfg;

	sim_config_default(&cfg, 5);
	x->sim = sim_create(&cfg);
	ck_assert_int_eq(
	    sim_domain_create(x->sim, SIM_DOMID_DOM0, "dom0", &x->dom0), 0);
	ck_assert_int_eq(sim_domain_create(x->sim, GUEST, "guest", &x->guest),
			 0);
	x->f = NULL;
	if (record) {
		x->f = tmpfile();
		ck_assert_ptr_nonnull(x->f);
		ck_assert_int_eq(sim_recorder_attach(x->sim, x->f), 0);
	}
}

/* Ends the recording and reads it back; the sim stays. */
static void fx_read(struct fx *x, struct tt_file *t)
{
	ck_assert_int_eq(sim_recorder_detach(x->sim), 0);
	tt_read(x->f, t);
	x->f = NULL;
	tt_check_framing(t);
}

/* The records of one type, in order. */
static size_t of_type(const struct tt_file *t, uint8_t type,
		      const struct tt_rec **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		if (t->recs[i].type == type && n < max)
			out[n++] = &t->recs[i];
	return n;
}

START_TEST(doc_example_bytes)
{
	/* docs/trace-format.md, "Example". */
	/* clang-format off */
	static const uint8_t want[64] = {
		0x58, 0x50, 0x56, 0x54, 0x01, 0x30, 0x20, 0x00, /* XPVT v1 48 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* seq 0 */
		0x40, 0x42, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, /* 1 ms */
		0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, /* dom0, 32 */
		0x14, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, /* 20, 4 */
		'/', 'l', 'o', 'c', 'a', 'l', '/', 'd', 'o', 'm', 'a', 'i',
		'n', '/', '1', '/', 'n', 'a', 'm', 'e',
		'd', 'e', 's', 'k',
	};
	/* clang-format on */
	struct sim_config cfg;
	struct sim *sim;
	struct sim_xs *xs;
	struct tt_file t;
	FILE *f = tmpfile();

	sim_config_default(&cfg, 1);
	sim = sim_create(&cfg);
	xs = sim_xs(sim);
	ck_assert_int_eq(sim_recorder_attach(sim, f), 0);
	sim_run_until(sim, 1000000);
	ck_assert_int_eq(
	    sim_xs_write(xs, 0, 0, "/local/domain/1/name", "desk", 4), 0);
	ck_assert_int_eq(sim_recorder_detach(sim), 0);
	tt_read(f, &t);
	tt_check_framing(&t);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(t.recs[0].ts_ns, 1000000);
	ck_assert_uint_eq(t.recs[0].caplen, sizeof(want));
	ck_assert_mem_eq(t.recs[0].data, want, sizeof(want));
	tt_free(&t);
	sim_destroy(sim);
}
END_TEST

/* A bound pair of ports: guest `gp` <-> dom0 `bp`, dom0's with a
 * handler that counts. */
static unsigned deliveries;

static void count_event(struct sim *sim, void *arg, uint32_t port)
{
	deliveries++;
}

static void bind_pair(struct fx *x, uint32_t *gp, uint32_t *bp)
{
	ck_assert_int_eq(sim_evtchn_alloc_unbound(x->guest, 0, gp), 0);
	ck_assert_int_eq(sim_evtchn_bind_interdomain(x->dom0, GUEST, *gp, bp),
			 0);
	ck_assert_int_eq(
	    sim_evtchn_set_handler(x->dom0, *bp, count_event, NULL, false), 0);
}

START_TEST(xenstore_and_events)
{
	struct fx x;
	struct tt_file t;
	const struct tt_rec *r[4];
	uint32_t gp, bp;

	fx_init(&x, true);
	bind_pair(&x, &gp, &bp);
	sim_run_until(x.sim, 5000);
	ck_assert_int_eq(sim_xs_write(sim_xs(x.sim), 0, 0,
				      "/local/domain/1/device/vbd/0/state", "4",
				      1),
			 0);
	deliveries = 0;
	ck_assert_int_eq(sim_evtchn_send(x.guest, gp), 0);
	sim_run(x.sim);
	ck_assert_uint_eq(deliveries, 1);
	fx_read(&x, &t);

	ck_assert_uint_eq(of_type(&t, SIM_REC_XS_WRITE, r, 4), 1);
	ck_assert_uint_eq(r[0]->domid, 0);
	ck_assert_uint_eq(r[0]->time_ns, 5000);
	ck_assert_uint_eq(tt_u16(r[0]->payload), 34);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 4), 1);
	ck_assert_mem_eq(r[0]->payload + 8,
			 "/local/domain/1/device/vbd/0/state4", 35);
	/* The state write also has its own record, right after it. */
	ck_assert_uint_eq(of_type(&t, SIM_REC_XENBUS_STATE, r + 1, 3), 1);
	ck_assert_uint_eq(r[1]->seq, r[0]->seq + 1);
	ck_assert_uint_eq(tt_u32(r[1]->payload), 4); /* Connected */
	ck_assert_uint_eq(tt_u16(r[1]->payload + 4), 34);

	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_SEND, r, 4), 1);
	ck_assert_uint_eq(r[0]->domid, GUEST);
	ck_assert_uint_eq(r[0]->time_ns, 5000);
	ck_assert_uint_eq(tt_u32(r[0]->payload), gp);
	ck_assert_uint_eq(tt_u16(r[0]->payload + 4), 0);
	ck_assert_uint_eq(r[0]->payload[6], 0); /* sent */
	ck_assert_uint_eq(tt_u32(r[0]->payload + 8), bp);
	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_DELIVER, r + 1, 3), 1);
	ck_assert_uint_eq(r[1]->domid, 0);
	/* Delivered after the configured latency (2 us + jitter). */
	ck_assert_uint_ge(r[1]->time_ns, 5000 + 2000);
	ck_assert_uint_eq(tt_u32(r[1]->payload), bp);
	ck_assert_uint_eq(tt_u16(r[1]->payload + 4), GUEST);
	ck_assert_uint_eq(tt_u32(r[1]->payload + 8), gp);
	tt_free(&t);
	ck_assert_int_eq(sim_evtchn_close(x.dom0, bp), 0);
	ck_assert_int_eq(sim_evtchn_close(x.guest, gp), 0);
	sim_destroy(x.sim);
}
END_TEST

/* An EVTCHN_SEND of the 24-byte layout: its delivery time and flags. */
static void check_send(const struct tt_rec *r, uint8_t outcome,
		       uint64_t deliver_at_ns, uint8_t flags)
{
	ck_assert_uint_eq(r->payload_len, 24);
	ck_assert_uint_eq(r->payload[6], outcome);
	ck_assert_uint_eq(tt_u64(r->payload + 12), deliver_at_ns);
	ck_assert_uint_eq(r->payload[20], flags);
	ck_assert_uint_eq(r->payload[21], 0); /* reserved */
	ck_assert_uint_eq(tt_u16(r->payload + 22), 0);
}

/* BIND, CLOSE (and DELIVER): port, remote domid, 0, remote port. */
static void check_pair(const struct tt_rec *r, sim_domid dom, uint32_t port,
		       sim_domid remote, uint32_t remote_port)
{
	ck_assert_uint_eq(r->payload_len, 12);
	ck_assert_uint_eq(r->domid, dom);
	ck_assert_uint_eq(tt_u32(r->payload), port);
	ck_assert_uint_eq(tt_u16(r->payload + 4), remote);
	ck_assert_uint_eq(tt_u16(r->payload + 6), 0);
	ck_assert_uint_eq(tt_u32(r->payload + 8), remote_port);
}

/* What a replay needs of event channels: dom0's bind; a send that
 * scheduled a delivery says when (the DELIVER's time), a send while one
 * is due scheduled none, a stormed delivery is flagged (it repeats);
 * dom0's close names its peer, the guest's send after it is dropped and
 * its own close has no peer. */
START_TEST(evtchn_bind_send_close)
{
	struct fx x;
	struct tt_file t;
	const struct tt_rec *send[8], *dl[8], *r[8];
	uint32_t gp, bp;

	fx_init(&x, true);
	sim_run_until(x.sim, 1000);
	bind_pair(&x, &gp, &bp);
	deliveries = 0;
	ck_assert_int_eq(sim_evtchn_send(x.guest, gp), 0);
	ck_assert_int_eq(sim_evtchn_send(x.guest, gp), 0);
	sim_run(x.sim);
	ck_assert_uint_eq(deliveries, 1);
	/* The next delivery scheduled storms. */
	sim_fault_countdown(sim_faults(x.sim), SIM_FAULT_EVTCHN_STORM, 1,
			    false);
	ck_assert_int_eq(sim_evtchn_send(x.guest, gp), 0);
	sim_run(x.sim);
	ck_assert_uint_eq(deliveries, 3);
	ck_assert_int_eq(sim_evtchn_close(x.dom0, bp), 0);
	ck_assert_int_eq(sim_evtchn_send(x.guest, gp), 0);
	ck_assert_int_eq(sim_evtchn_close(x.guest, gp), 0);
	fx_read(&x, &t);

	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_BIND, r, 8), 1);
	check_pair(r[0], 0, bp, GUEST, gp);
	ck_assert_uint_eq(r[0]->time_ns, 1000);
	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_SEND, send, 8), 4);
	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_DELIVER, dl, 8), 3);
	check_send(send[0], 0, dl[0]->time_ns, SIM_REC_SEND_SCHEDULED);
	ck_assert_uint_ge(dl[0]->time_ns, 1000 + 2000); /* the latency */
	check_send(send[1], 0, 0, 0);
	check_send(send[2], 0, dl[1]->time_ns,
		   SIM_REC_SEND_SCHEDULED | SIM_REC_SEND_STORM);
	ck_assert_uint_gt(dl[2]->time_ns, dl[1]->time_ns); /* the repeat */
	check_send(send[3], 1, 0, 0);
	ck_assert_uint_eq(tt_u16(send[3]->payload + 4), SIM_REC_DOMID_NONE);

	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_CLOSE, r, 8), 2);
	check_pair(r[0], 0, bp, GUEST, gp);
	check_pair(r[1], GUEST, gp, SIM_REC_DOMID_NONE, 0);
	ck_assert_uint_gt(r[1]->seq, send[3]->seq);
	tt_free(&t);
	sim_destroy(x.sim);
}
END_TEST

/* Late EOI (dom0's handler takes events as the backend models do): a
 * send while the EOI is outstanding schedules nothing; the EOI makes that
 * event's delivery due and says when; an EOI with nothing pending
 * schedules none. EOI records name the port and no remote. */
START_TEST(evtchn_late_eoi)
{
	struct fx x;
	struct tt_file t;
	const struct tt_rec *send[4], *dl[4], *eoi[4];
	uint32_t gp, bp;

	fx_init(&x, true);
	ck_assert_int_eq(sim_evtchn_alloc_unbound(x.guest, 0, &gp), 0);
	ck_assert_int_eq(sim_evtchn_bind_interdomain(x.dom0, GUEST, gp, &bp),
			 0);
	ck_assert_int_eq(
	    sim_evtchn_set_handler(x.dom0, bp, count_event, NULL, true), 0);
	deliveries = 0;
	ck_assert_int_eq(sim_evtchn_send(x.guest, gp), 0);
	sim_run(x.sim);
	ck_assert_int_eq(sim_evtchn_send(x.guest, gp), 0);
	sim_run(x.sim);
	ck_assert_uint_eq(deliveries, 1); /* the EOI is outstanding */
	ck_assert_int_eq(sim_evtchn_eoi(x.dom0, bp), 0);
	sim_run(x.sim);
	ck_assert_uint_eq(deliveries, 2);
	ck_assert_int_eq(sim_evtchn_eoi(x.dom0, bp), 0);
	sim_run(x.sim);
	ck_assert_uint_eq(deliveries, 2);
	ck_assert_int_eq(sim_evtchn_close(x.dom0, bp), 0);
	ck_assert_int_eq(sim_evtchn_close(x.guest, gp), 0);
	fx_read(&x, &t);

	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_SEND, send, 4), 2);
	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_DELIVER, dl, 4), 2);
	ck_assert_uint_eq(of_type(&t, SIM_REC_EVTCHN_EOI, eoi, 4), 2);
	check_send(send[0], 0, dl[0]->time_ns, SIM_REC_SEND_SCHEDULED);
	check_send(send[1], 0, 0, 0);
	check_send(eoi[0], 0, dl[1]->time_ns, SIM_REC_SEND_SCHEDULED);
	ck_assert_uint_lt(eoi[0]->seq, dl[1]->seq);
	check_send(eoi[1], 0, 0, 0);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_uint_eq(eoi[i]->domid, 0);
		ck_assert_uint_eq(tt_u32(eoi[i]->payload), bp);
		ck_assert_uint_eq(tt_u16(eoi[i]->payload + 4),
				  SIM_REC_DOMID_NONE);
		ck_assert_uint_eq(tt_u32(eoi[i]->payload + 8), 0);
	}
	tt_free(&t);
	sim_destroy(x.sim);
}
END_TEST

/* ---- a vscsiif ring driven by hand ---- */

struct ring_fx {
	struct sim_page *pg;
	vscsiif_sring_t *s;
	uint32_t ref;
	struct sim_grant_map *map;
};

static void ring_setup(struct fx *x, struct ring_fx *rf, uint32_t pre)
{
	rf->pg = sim_page_alloc(x->guest);
	rf->s = sim_page_data(rf->pg);
	SHARED_RING_INIT(rf->s);
	/* Requests the frontend posted before the backend came. */
	for (uint32_t i = 0; i < pre; i++)
		rf->s->ring[i].req.rqid = (uint16_t)(100 + i);
	rf->s->req_prod = pre;
	ck_assert_int_eq(sim_gnttab_claim(x->guest, &rf->ref), 0);
	ck_assert_int_eq(sim_gnttab_grant(x->guest, rf->ref, 0, rf->pg, false),
			 0);
	ck_assert_int_eq(
	    sim_gnttab_map(x->dom0, GUEST, rf->ref, true, &rf->map), 0);
	struct sim_rec_ring d = {
	    .kind = SIM_REC_RING_VSCSIIF,
	    .map = rf->map,
	    .req_prod = &rf->s->req_prod,
	    .rsp_prod = &rf->s->rsp_prod,
	    .req_event = &rf->s->req_event,
	    .rsp_event = &rf->s->rsp_event,
	    .entries = rf->s->ring,
	    .entry_size = sizeof(rf->s->ring[0]),
	    .nr_ents = __RING_SIZE(rf->s, 4096),
	    .gref = rf->ref,
	    .frontend = GUEST,
	    .backend = 0,
	    .frontend_path = "/local/domain/1/device/vscsi/0",
	    .backend_path = "/local/domain/0/backend/vscsi/1/0",
	};
	sim_rec_ring_attach(x->sim, &d);
}

static void ring_teardown(struct fx *x, struct ring_fx *rf)
{
	if (rf->map)
		sim_gnttab_unmap(rf->map);
	ck_assert_int_eq(sim_gnttab_try_end(x->guest, rf->ref), 0);
	sim_gnttab_release(x->guest, rf->ref);
	sim_page_free(rf->pg);
}

/* The frontend's way to publish: the slot, then req_prod, both through
 * the shared-memory observer first (as the sim contract does). */
static void front_publish(struct fx *x, struct ring_fx *rf, uint16_t rqid)
{
	RING_IDX i = rf->s->req_prod;
	vscsiif_request_t *slot = &rf->s->ring[i % 16].req;

	sim_shm_store(x->sim, slot, sizeof(*slot));
	memset(slot, 0, sizeof(*slot));
	slot->rqid = rqid;
	slot->act = VSCSIIF_ACT_SCSI_CDB;
	sim_shm_store(x->sim, &rf->s->req_prod, 4);
	rf->s->req_prod = i + 1;
}

static void back_respond(struct fx *x, struct ring_fx *rf, uint16_t rqid)
{
	RING_IDX i = rf->s->rsp_prod;

	memset(&rf->s->ring[i % 16], 0, sizeof(rf->s->ring[0]));
	rf->s->ring[i % 16].rsp.rqid = rqid;
	rf->s->ring[i % 16].rsp.rslt = 0x77;
	rf->s->rsp_prod = i + 1;
	sim_rec_ring_pushed(x->sim);
}

static void check_entry(const struct tt_rec *r, uint8_t dir, uint32_t idx,
			uint32_t prod, uint16_t rqid, sim_domid dom)
{
	ck_assert_uint_eq(r->domid, dom);
	ck_assert_uint_eq(tt_u16(r->payload), 1); /* ring_id */
	ck_assert_uint_eq(r->payload[2], SIM_REC_RING_VSCSIIF);
	ck_assert_uint_eq(r->payload[3], dir);
	ck_assert_uint_eq(tt_u32(r->payload + 4), idx);
	ck_assert_uint_eq(tt_u32(r->payload + 8), idx % 16);
	ck_assert_uint_eq(tt_u32(r->payload + 12), prod);
	ck_assert_uint_eq(tt_u32(r->payload + 16), 252);
	ck_assert_uint_eq(r->payload_len, 20 + 252);
	/* rqid is the first field of requests and responses alike. */
	ck_assert_uint_eq(tt_u16(r->payload + 20), rqid);
}

START_TEST(ring_publications)
{
	struct fx x;
	struct ring_fx rf;
	struct tt_file t;
	const struct tt_rec *r[16];
	size_t n;

	fx_init(&x, true);
	sim_run_until(x.sim, 1000);
	ring_setup(&x, &rf, 1);
	sim_run_until(x.sim, 2000);
	front_publish(&x, &rf, 7);
	front_publish(&x, &rf, 8);
	sim_run_until(x.sim, 3000); /* the clock moving flushes them */
	back_respond(&x, &rf, 7);
	sim_run_until(x.sim, 4000);
	/* A hostile producer: rsp_prod far beyond the ring. */
	rf.s->rsp_prod += 1000;
	sim_run_until(x.sim, 5000);
	sim_gnttab_unmap(rf.map);
	rf.map = NULL;
	fx_read(&x, &t);

	ck_assert_uint_eq(of_type(&t, SIM_REC_RING_ATTACH, r, 16), 1);
	ck_assert_uint_eq(r[0]->time_ns, 1000);
	ck_assert_uint_eq(tt_u16(r[0]->payload), 1);
	ck_assert_uint_eq(tt_u16(r[0]->payload + 4), GUEST);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 8), rf.ref);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 12), 16);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 16), 252);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 20), 1); /* req_prod */
	ck_assert_uint_eq(tt_u16(r[0]->payload + 28), 30);
	ck_assert_uint_eq(tt_u16(r[0]->payload + 30), 33);
	ck_assert_mem_eq(r[0]->payload + 32, "/local/domain/1/device/vscsi/0",
			 30);

	n = of_type(&t, SIM_REC_RING_ENTRY, r, 16);
	ck_assert_uint_eq(n, 4);
	check_entry(r[0], SIM_REC_REQUEST, 0, 1, 100, GUEST);
	ck_assert_uint_eq(r[0]->flags, SIM_REC_F_BEFORE_ATTACH);
	ck_assert_uint_eq(r[0]->time_ns, 1000);
	/* Two publications: the second store flushed the first. */
	check_entry(r[1], SIM_REC_REQUEST, 1, 2, 7, GUEST);
	check_entry(r[2], SIM_REC_REQUEST, 2, 3, 8, GUEST);
	ck_assert_uint_eq(r[1]->flags, 0);
	ck_assert_uint_eq(r[1]->time_ns, 2000); /* when published */
	ck_assert_uint_eq(r[2]->time_ns, 2000);
	check_entry(r[3], SIM_REC_RESPONSE, 0, 1, 7, 0);
	ck_assert_uint_eq(r[3]->time_ns, 3000);
	ck_assert_uint_eq(
	    tt_u32(r[3]->payload + 20 + offsetof(vscsiif_response_t, rslt)),
	    0x77);

	ck_assert_uint_eq(of_type(&t, SIM_REC_RING_INDEX, r, 16), 1);
	ck_assert_uint_eq(r[0]->time_ns, 4000);
	ck_assert_uint_eq(r[0]->payload[3], SIM_REC_RESPONSE);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 4), 1);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 8), 1001);

	ck_assert_uint_eq(of_type(&t, SIM_REC_RING_DETACH, r, 16), 1);
	ck_assert_uint_eq(r[0]->time_ns, 5000);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 4), 3);
	ck_assert_uint_eq(tt_u32(r[0]->payload + 8), 1001);
	ck_assert_uint_eq(of_type(&t, SIM_REC_GNT_MAP, r, 16), 1);
	ck_assert_uint_eq(of_type(&t, SIM_REC_GNT_UNMAP, r, 16), 1);
	tt_free(&t);
	ring_teardown(&x, &rf);
	sim_destroy(x.sim);
}
END_TEST

/* RING_EVENT: ring, kind, which, old, new. */
static void check_event(const struct tt_rec *r, uint8_t which, uint32_t old,
			uint32_t new_idx, sim_domid writer, uint64_t time_ns)
{
	ck_assert_uint_eq(r->payload_len, 12);
	ck_assert_uint_eq(r->domid, writer);
	ck_assert_uint_eq(r->time_ns, time_ns);
	ck_assert_uint_eq(tt_u16(r->payload), 1); /* ring_id */
	ck_assert_uint_eq(r->payload[2], SIM_REC_RING_VSCSIIF);
	ck_assert_uint_eq(r->payload[3], which);
	ck_assert_uint_eq(tt_u32(r->payload + 4), old);
	ck_assert_uint_eq(tt_u32(r->payload + 8), new_idx);
}

/* The event indices: the backend's req_event writes and the frontend's
 * rsp_event store, each recorded by the writer at the time of the write
 * (the next flush point), from the last value recorded; writes between
 * two flush points are one record, a value written again none. */
START_TEST(ring_event_indices)
{
	struct fx x;
	struct ring_fx rf;
	struct tt_file t;
	const struct tt_rec *r[8];

	fx_init(&x, true);
	ring_setup(&x, &rf, 0); /* SHARED_RING_INIT: both indices 1 */
	sim_run_until(x.sim, 1000);
	rf.s->req_event = 5; /* the backend */
	sim_run_until(x.sim, 2000);
	sim_shm_store(x.sim, &rf.s->rsp_event, 4); /* the frontend */
	rf.s->rsp_event = 9;
	sim_run_until(x.sim, 3000);
	rf.s->req_event = 6;
	rf.s->req_event = 7;
	sim_run_until(x.sim, 4000);
	rf.s->req_event = 7;
	sim_run_until(x.sim, 5000);
	sim_gnttab_unmap(rf.map);
	rf.map = NULL;
	fx_read(&x, &t);

	ck_assert_uint_eq(of_type(&t, SIM_REC_RING_EVENT, r, 8), 3);
	check_event(r[0], SIM_REC_REQ_EVENT, 1, 5, 0, 1000);
	check_event(r[1], SIM_REC_RSP_EVENT, 1, 9, GUEST, 2000);
	check_event(r[2], SIM_REC_REQ_EVENT, 5, 7, 0, 3000);
	tt_free(&t);
	ring_teardown(&x, &rf);
	sim_destroy(x.sim);
}
END_TEST

/* The same steps, recorded or not, give the same trace hash. */
static uint64_t hash_of_steps(bool record)
{
	struct fx x;
	struct ring_fx rf;
	struct tt_file t;
	uint32_t gp, bp;
	uint64_t h;

	fx_init(&x, record);
	bind_pair(&x, &gp, &bp);
	ring_setup(&x, &rf, 0);
	front_publish(&x, &rf, 1);
	sim_evtchn_send(x.guest, gp);
	sim_run(x.sim);
	back_respond(&x, &rf, 1);
	sim_xs_write(sim_xs(x.sim), 0, 0, "/local/domain/0/x", "y", 1);
	sim_run(x.sim);
	ring_teardown(&x, &rf);
	sim_evtchn_close(x.dom0, bp);
	sim_evtchn_close(x.guest, gp);
	h = sim_trace_hash(x.sim);
	if (record) {
		fx_read(&x, &t);
		ck_assert_uint_gt(t.n, 8);
		tt_free(&t);
	}
	sim_destroy(x.sim);
	return h;
}

START_TEST(hash_unchanged)
{
	ck_assert_uint_eq(hash_of_steps(true), hash_of_steps(false));
}
END_TEST

START_TEST(attach_errors)
{
	struct fx x;
	char buf[64];
	FILE *mem = fmemopen(buf, sizeof(buf), "w");
	FILE *f = tmpfile();

	fx_init(&x, false);
	ck_assert_int_eq(sim_recorder_attach(x.sim, mem), -EBADF);
	ck_assert(!sim_recorder_attached(x.sim));
	ck_assert_int_eq(sim_recorder_attach(x.sim, f), 0);
	ck_assert_int_eq(sim_recorder_attach(x.sim, f), -EEXIST);
	/* sim_destroy ends an attached recorder and its file is whole. */
	sim_destroy(x.sim);
	fclose(mem);
	struct tt_file t;

	tt_read(f, &t);
	tt_check_framing(&t);
	ck_assert_uint_eq(t.n, 0);
	tt_free(&t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("trace_pcap");
	TCase *tc = tcase_create("recorder");

	tcase_add_test(tc, doc_example_bytes);
	tcase_add_test(tc, xenstore_and_events);
	tcase_add_test(tc, evtchn_bind_send_close);
	tcase_add_test(tc, evtchn_late_eoi);
	tcase_add_test(tc, ring_publications);
	tcase_add_test(tc, ring_event_indices);
	tcase_add_test(tc, hash_unchanged);
	tcase_add_test(tc, attach_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
