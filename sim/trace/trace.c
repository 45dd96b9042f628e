/*
 * The recorder (trace.h): encodes docs/trace-format.md records into one
 * buffer and hands each to the sink; watches registered ring pages for
 * producer-index moves. Every public hook first checks for a recorder,
 * then flushes ring publications, then writes its own record, so records
 * come out in the order things happened.
 */
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore_lib.h>

#include "../xenstore/xenstore.h"

#define REC_PATH_MAX  SIM_XS_ABS_PATH_MAX
#define REC_VALUE_MAX SIM_XS_PAYLOAD_MAX
#define REC_ENTRY_MAX 4032u /* a whole page of entries after the header */

struct rec_ring {
	struct sim_rec_ring d; /* paths owned */
	uint16_t id;
	uint32_t last[2]; /* last producer index recorded, per direction */
	uint32_t last_event[2]; /* last req_event, rsp_event recorded */
	struct rec_ring *next;
};

struct sim_recorder {
	struct sim *sim;
	struct sim_rec_sink sink;
	uint64_t seq;
	uint16_t next_ring_id;
	struct rec_ring *rings; /* attach order */
	int err;		/* first error of the sink */
	/* The record being built: payload from SIM_REC_HDR_LEN on. */
	uint8_t buf[SIM_REC_MAX];
	size_t len;
	uint16_t flags;
};

/* ---- building a record ------------------------------------------------ */

static void put_le(struct sim_recorder *rec, uint64_t v, unsigned n)
{
	SIM_ASSERT(rec->len + n <= SIM_REC_MAX);
	for (unsigned i = 0; i < n; i++)
		rec->buf[rec->len++] = (uint8_t)(v >> (8 * i));
}

static void put8(struct sim_recorder *rec, uint8_t v)
{
	put_le(rec, v, 1);
}

static void put16(struct sim_recorder *rec, uint16_t v)
{
	put_le(rec, v, 2);
}

static void put32(struct sim_recorder *rec, uint32_t v)
{
	put_le(rec, v, 4);
}

static void put64(struct sim_recorder *rec, uint64_t v)
{
	put_le(rec, v, 8);
}

static void put_bytes(struct sim_recorder *rec, const void *p, size_t n)
{
	SIM_ASSERT(rec->len + n <= SIM_REC_MAX);
	if (n)
		memcpy(rec->buf + rec->len, p, n);
	rec->len += n;
}

/* A string's length, cut to max (and the record flagged) if longer. */
static uint32_t clamp_len(struct sim_recorder *rec, size_t len, size_t max)
{
	if (len <= max)
		return (uint32_t)len;
	rec->flags |= SIM_REC_F_TRUNCATED;
	return (uint32_t)max;
}

static uint16_t path_len(struct sim_recorder *rec, const char *path)
{
	return (uint16_t)clamp_len(rec, strlen(path), REC_PATH_MAX);
}

static void begin(struct sim_recorder *rec)
{
	rec->len = SIM_REC_HDR_LEN;
	rec->flags = 0;
}

/* Fill the header in front of the payload built since begin() and hand
 * the record to the sink. */
static void emit(struct sim_recorder *rec, enum sim_rec_type type,
		 sim_domid dom)
{
	size_t payload = rec->len - SIM_REC_HDR_LEN;
	size_t end = rec->len;
	int r;

	rec->len = 0;
	put_bytes(rec, "XPVT", 4);
	put8(rec, SIM_REC_VERSION);
	put8(rec, (uint8_t)type);
	put16(rec, SIM_REC_HDR_LEN);
	put64(rec, rec->seq);
	put64(rec, sim_now(rec->sim));
	put16(rec, dom);
	put16(rec, rec->flags);
	put32(rec, (uint32_t)payload);
	SIM_ASSERT(rec->len == SIM_REC_HDR_LEN);
	rec->seq++;
	r = rec->sink.write(rec->sink.ctx, sim_now(rec->sim), rec->buf, end);
	if (r && !rec->err)
		rec->err = r;
}

/* ---- rings -------------------------------------------------------------- */

static uint32_t load_idx(const volatile uint32_t *idx)
{
	return __atomic_load_n(idx, __ATOMIC_ACQUIRE);
}

static sim_domid producer(const struct rec_ring *r, enum sim_rec_dir dir)
{
	return dir == SIM_REC_REQUEST ? r->d.frontend : r->d.backend;
}

static void emit_entry(struct sim_recorder *rec, const struct rec_ring *r,
		       enum sim_rec_dir dir, uint32_t idx, uint32_t prod,
		       uint16_t flags)
{
	uint32_t slot = idx & (r->d.nr_ents - 1);
	const uint8_t *entries = (const uint8_t *)r->d.entries;

	begin(rec);
	rec->flags = flags;
	put16(rec, r->id);
	put8(rec, (uint8_t)r->d.kind);
	put8(rec, (uint8_t)dir);
	put32(rec, idx);
	put32(rec, slot);
	put32(rec, prod);
	put32(rec, r->d.entry_size);
	put_bytes(rec, entries + (size_t)slot * r->d.entry_size,
		  r->d.entry_size);
	emit(rec, SIM_REC_RING_ENTRY, producer(r, dir));
}

static void emit_index(struct sim_recorder *rec, const struct rec_ring *r,
		       enum sim_rec_dir dir, uint32_t old, uint32_t now)
{
	begin(rec);
	put16(rec, r->id);
	put8(rec, (uint8_t)r->d.kind);
	put8(rec, (uint8_t)dir);
	put32(rec, old);
	put32(rec, now);
	emit(rec, SIM_REC_RING_INDEX, producer(r, dir));
}

/* Entries [from, to) as one publication; a move that names no entries
 * (backwards, or more than the ring holds) is a RING_INDEX record. */
static void publish(struct sim_recorder *rec, const struct rec_ring *r,
		    enum sim_rec_dir dir, uint32_t from, uint32_t to,
		    uint16_t flags)
{
	uint32_t n = to - from;

	if (n == 0)
		return;
	if (n > r->d.nr_ents) {
		emit_index(rec, r, dir, from, to);
		return;
	}
	for (uint32_t i = 0; i < n; i++) /* bounded by nr_ents */
		emit_entry(rec, r, dir, from + i, to, flags);
}

static void ring_check(struct sim_recorder *rec, struct rec_ring *r,
		       enum sim_rec_dir dir)
{
	const volatile uint32_t *idx =
	    dir == SIM_REC_REQUEST ? r->d.req_prod : r->d.rsp_prod;
	uint32_t now = load_idx(idx);

	publish(rec, r, dir, r->last[dir], now, 0);
	r->last[dir] = now;
}

static const volatile uint32_t *event_idx(const struct rec_ring *r,
					   enum sim_rec_event_idx which)
{
	return which == SIM_REC_REQ_EVENT ? r->d.req_event : r->d.rsp_event;
}

/* req_event is the backend's to write, rsp_event the frontend's. */
static void event_check(struct sim_recorder *rec, struct rec_ring *r,
			enum sim_rec_event_idx which)
{
	const volatile uint32_t *p = event_idx(r, which);
	uint32_t now;

	if (!p)
		return;
	now = load_idx(p);
	if (now == r->last_event[which])
		return;
	begin(rec);
	put16(rec, r->id);
	put8(rec, (uint8_t)r->d.kind);
	put8(rec, (uint8_t)which);
	put32(rec, r->last_event[which]);
	put32(rec, now);
	emit(rec, SIM_REC_RING_EVENT,
	     which == SIM_REC_REQ_EVENT ? r->d.backend : r->d.frontend);
	r->last_event[which] = now;
}

static void flush_rings(struct sim_recorder *rec)
{
	for (struct rec_ring *r = rec->rings; r; r = r->next) {
		ring_check(rec, r, SIM_REC_REQUEST);
		ring_check(rec, r, SIM_REC_RESPONSE);
		event_check(rec, r, SIM_REC_REQ_EVENT);
		event_check(rec, r, SIM_REC_RSP_EVENT);
	}
}

/* The attached recorder, with ring publications flushed; NULL if none. */
static struct sim_recorder *rec_get(struct sim *sim)
{
	struct sim_recorder *rec = sim_part(sim, SIM_PART_RECORDER);

	if (rec)
		flush_rings(rec);
	return rec;
}

static void put_path_pair(struct sim_recorder *rec, const char *a,
			  const char *b)
{
	uint16_t la = path_len(rec, a), lb = path_len(rec, b);

	put16(rec, la);
	put16(rec, lb);
	put_bytes(rec, a, la);
	put_bytes(rec, b, lb);
}

static bool ring_desc_valid(const struct sim_rec_ring *d)
{
	bool pow2 = d->nr_ents && !(d->nr_ents & (d->nr_ents - 1));

	return d->map && d->req_prod && d->rsp_prod && d->entries && pow2 &&
	       d->entry_size && d->entry_size <= REC_ENTRY_MAX &&
	       d->frontend_path && d->backend_path;
}

void sim_rec_ring_attach(struct sim *sim, const struct sim_rec_ring *ring)
{
	struct sim_recorder *rec = rec_get(sim);
	struct rec_ring *r, **tail;
	uint32_t req, rsp;

	if (!rec)
		return;
	SIM_ASSERT(ring_desc_valid(ring));
	r = sim_xcalloc(1, sizeof(*r));
	r->d = *ring;
	r->d.frontend_path = sim_xstrdup(ring->frontend_path);
	r->d.backend_path = sim_xstrdup(ring->backend_path);
	r->id = ++rec->next_ring_id;
	req = load_idx(ring->req_prod);
	rsp = load_idx(ring->rsp_prod);
	begin(rec);
	put16(rec, r->id);
	put8(rec, (uint8_t)ring->kind);
	put8(rec, 0);
	put16(rec, ring->frontend);
	put16(rec, ring->backend);
	put32(rec, ring->gref);
	put32(rec, ring->nr_ents);
	put32(rec, ring->entry_size);
	put32(rec, req);
	put32(rec, rsp);
	put_path_pair(rec, ring->frontend_path, ring->backend_path);
	emit(rec, SIM_REC_RING_ATTACH, ring->backend);
	/* Requests posted before the backend came (usbif's conn ring). */
	publish(rec, r, SIM_REC_REQUEST, rsp, req, SIM_REC_F_BEFORE_ATTACH);
	r->last[SIM_REC_REQUEST] = req;
	r->last[SIM_REC_RESPONSE] = rsp;
	for (int w = SIM_REC_REQ_EVENT; w <= SIM_REC_RSP_EVENT; w++)
		if (event_idx(r, (enum sim_rec_event_idx)w))
			r->last_event[w] = load_idx(
			    event_idx(r, (enum sim_rec_event_idx)w));
	for (tail = &rec->rings; *tail; tail = &(*tail)->next)
		;
	*tail = r;
}

static void ring_free(struct rec_ring *r)
{
	free((char *)r->d.frontend_path);
	free((char *)r->d.backend_path);
	free(r);
}

void sim_rec_map_gone(struct sim *sim, const struct sim_grant_map *map)
{
	struct sim_recorder *rec = rec_get(sim);
	struct rec_ring **link, *r;

	if (!rec)
		return;
	for (link = &rec->rings; *link && (*link)->d.map != map;
	     link = &(*link)->next)
		;
	r = *link;
	if (!r)
		return;
	begin(rec);
	put16(rec, r->id);
	put8(rec, (uint8_t)r->d.kind);
	put8(rec, 0);
	put32(rec, load_idx(r->d.req_prod));
	put32(rec, load_idx(r->d.rsp_prod));
	emit(rec, SIM_REC_RING_DETACH, r->d.backend);
	*link = r->next;
	ring_free(r);
}

void sim_rec_ring_rewritten(struct sim *sim, const struct sim_grant_map *map,
			    uint32_t idx)
{
	struct sim_recorder *rec = rec_get(sim);
	struct rec_ring *r;

	if (!rec)
		return;
	for (r = rec->rings; r && r->d.map != map; r = r->next)
		;
	if (r)
		emit_entry(rec, r, SIM_REC_RESPONSE, idx,
			   r->last[SIM_REC_RESPONSE], SIM_REC_F_REWRITTEN);
}

void sim_rec_ring_pushed(struct sim *sim)
{
	rec_get(sim);
}

void sim_rec_flush(struct sim *sim)
{
	rec_get(sim);
}

/* ---- event channels ----------------------------------------------------- */

/* The delivery a send or an EOI made due: 8 bytes of time, 4 of flags. */
static void put_delivery(struct sim_recorder *rec,
			 const struct sim_rec_delivery *delivery)
{
	uint8_t flags = 0;

	if (delivery)
		flags = SIM_REC_SEND_SCHEDULED |
			(delivery->storm ? SIM_REC_SEND_STORM : 0);
	put64(rec, delivery ? delivery->at_ns : 0);
	put8(rec, flags);
	put8(rec, 0);
	put16(rec, 0);
}

void sim_rec_evtchn_send(struct sim *sim, sim_domid dom, uint32_t port,
			 bool sent, sim_domid remote, uint32_t remote_port,
			 const struct sim_rec_delivery *delivery)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	begin(rec);
	put32(rec, port);
	put16(rec, sent ? remote : SIM_REC_DOMID_NONE);
	put8(rec, sent ? 0 : 1);
	put8(rec, 0);
	put32(rec, sent ? remote_port : 0);
	/* Appended to the first layout: the delivery this send made due. */
	put_delivery(rec, delivery);
	emit(rec, SIM_REC_EVTCHN_SEND, dom);
}

void sim_rec_evtchn_eoi(struct sim *sim, sim_domid dom, uint32_t port,
			const struct sim_rec_delivery *delivery)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	/* EVTCHN_SEND's layout, with no remote named. */
	begin(rec);
	put32(rec, port);
	put16(rec, SIM_REC_DOMID_NONE);
	put8(rec, 0);
	put8(rec, 0);
	put32(rec, 0);
	put_delivery(rec, delivery);
	emit(rec, SIM_REC_EVTCHN_EOI, dom);
}

/* DELIVER, BIND and CLOSE: the port, then its peer. */
static void evtchn_pair(struct sim *sim, enum sim_rec_type type,
			sim_domid dom, uint32_t port, sim_domid remote,
			uint32_t remote_port)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	begin(rec);
	put32(rec, port);
	put16(rec, remote);
	put16(rec, 0);
	put32(rec, remote == SIM_REC_DOMID_NONE ? 0 : remote_port);
	emit(rec, type, dom);
}

void sim_rec_evtchn_deliver(struct sim *sim, sim_domid dom, uint32_t port,
			    sim_domid remote, uint32_t remote_port)
{
	evtchn_pair(sim, SIM_REC_EVTCHN_DELIVER, dom, port, remote,
		    remote_port);
}

void sim_rec_evtchn_bind(struct sim *sim, sim_domid dom, uint32_t port,
			 sim_domid remote, uint32_t remote_port)
{
	evtchn_pair(sim, SIM_REC_EVTCHN_BIND, dom, port, remote, remote_port);
}

void sim_rec_evtchn_close(struct sim *sim, sim_domid dom, uint32_t port,
			  sim_domid remote, uint32_t remote_port)
{
	evtchn_pair(sim, SIM_REC_EVTCHN_CLOSE, dom, port, remote,
		    remote_port);
}

/* ---- grants ------------------------------------------------------------- */

void sim_rec_gnt_grant(struct sim *sim, sim_domid granter, uint32_t ref,
		       sim_domid peer, bool readonly, uint64_t gfn)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	begin(rec);
	put32(rec, ref);
	put16(rec, peer);
	put8(rec, readonly);
	put8(rec, 0);
	put64(rec, gfn);
	emit(rec, SIM_REC_GNT_GRANT, granter);
}

void sim_rec_gnt_end(struct sim *sim, sim_domid granter, uint32_t ref,
		     int result)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	begin(rec);
	put32(rec, ref);
	put32(rec, (uint32_t)result);
	emit(rec, SIM_REC_GNT_END, granter);
}

void sim_rec_gnt_map(struct sim *sim, sim_domid mapper, sim_domid granter,
		     uint32_t ref, bool writable, int result)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	begin(rec);
	put32(rec, ref);
	put16(rec, granter);
	put8(rec, writable);
	put8(rec, 0);
	put32(rec, (uint32_t)result);
	emit(rec, SIM_REC_GNT_MAP, mapper);
}

void sim_rec_gnt_unmap(struct sim *sim, sim_domid mapper, sim_domid granter,
		       uint32_t ref, bool writable)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	begin(rec);
	put32(rec, ref);
	put16(rec, granter);
	put8(rec, writable);
	put8(rec, 0);
	emit(rec, SIM_REC_GNT_UNMAP, mapper);
}

void sim_rec_gnt_copy(struct sim *sim, sim_domid caller, sim_domid granter,
		      uint32_t ref, bool to_granted, uint16_t offset,
		      uint16_t len, int result)
{
	struct sim_recorder *rec = rec_get(sim);

	if (!rec)
		return;
	begin(rec);
	put32(rec, ref);
	put16(rec, granter);
	put8(rec, to_granted);
	put8(rec, 0);
	put16(rec, offset);
	put16(rec, len);
	put32(rec, (uint32_t)result);
	emit(rec, SIM_REC_GNT_COPY, caller);
}

/* ---- data in granted pages ------------------------------------------------ */

static void emit_data_chunk(struct sim_recorder *rec, sim_domid mover,
			    sim_domid granter, uint32_t ref, bool to_granted,
			    enum sim_rec_data_kind what, uint32_t offset,
			    const uint8_t *bytes, uint32_t len)
{
	SIM_ASSERT(len <= SIM_REC_DATA_CHUNK);
	begin(rec);
	put32(rec, ref);
	put16(rec, granter);
	put8(rec, to_granted);
	put8(rec, (uint8_t)what);
	put32(rec, offset);
	put32(rec, len);
	put_bytes(rec, bytes, len);
	emit(rec, SIM_REC_DATA, mover);
}

void sim_rec_data(struct sim *sim, sim_domid mover, sim_domid granter,
		  uint32_t ref, bool to_granted, enum sim_rec_data_kind what,
		  uint32_t offset, const void *bytes, uint32_t len)
{
	struct sim_recorder *rec = rec_get(sim);
	const uint8_t *b = bytes;

	if (!rec || len == 0)
		return;
	SIM_ASSERT(bytes != NULL && offset <= UINT32_MAX - len);
	/* A move within one page is one record; longer ones are cut into
	 * consecutive chunks (each within the snaplen). */
	while (len) {
		uint32_t n = len < SIM_REC_DATA_CHUNK ? len : SIM_REC_DATA_CHUNK;

		emit_data_chunk(rec, mover, granter, ref, to_granted, what,
				offset, b, n);
		offset += n;
		b += n;
		len -= n;
	}
}

/* ---- the run -------------------------------------------------------------- */

#define RUN_FIXED_LEN 48u  /* RUN payload before its strings */
#define RUN_MORE_FIXED_LEN 8u
#define RUN_FRONTEND_MAX 255u

/* RUN_MORE records for text[from, len). */
static void emit_run_more(struct sim_recorder *rec, const char *text,
			  size_t from, size_t len)
{
	const size_t room = SIM_REC_MAX - SIM_REC_HDR_LEN - RUN_MORE_FIXED_LEN;

	while (from < len) {
		size_t n = len - from < room ? len - from : room;

		begin(rec);
		put32(rec, (uint32_t)from);
		put32(rec, (uint32_t)n);
		put_bytes(rec, text + from, n);
		emit(rec, SIM_REC_RUN_MORE, SIM_REC_DOMID_NONE);
		from += n;
	}
}

static void emit_run(struct sim_recorder *rec, const struct sim_rec_run *run,
		     uint16_t flags, const char *text, size_t len)
{
	const char *faults = run->faults ? run->faults : "";
	const char *path = run->config_path ? run->config_path : "";
	uint16_t fl, ql, pl;
	size_t room, here;

	begin(rec);
	fl = (uint16_t)clamp_len(rec, strlen(run->frontend), RUN_FRONTEND_MAX);
	ql = (uint16_t)clamp_len(rec, strlen(faults), REC_VALUE_MAX);
	pl = path_len(rec, path);
	room = SIM_REC_MAX - SIM_REC_HDR_LEN - RUN_FIXED_LEN - fl - ql - pl;
	here = len < room ? len : room;
	put8(rec, SIM_REC_VERSION);
	put8(rec, (uint8_t)run->kind);
	put16(rec, flags);
	put32(rec, 0);
	put64(rec, run->seed);
	put64(rec, run->ops_limit);
	put64(rec, run->time_limit_ns);
	put16(rec, fl);
	put16(rec, ql);
	put16(rec, pl);
	put16(rec, 0);
	put32(rec, (uint32_t)len);
	put32(rec, (uint32_t)here);
	SIM_ASSERT(rec->len == SIM_REC_HDR_LEN + RUN_FIXED_LEN);
	put_bytes(rec, run->frontend, fl);
	put_bytes(rec, faults, ql);
	put_bytes(rec, path, pl);
	put_bytes(rec, text, here);
	emit(rec, SIM_REC_RUN, SIM_REC_DOMID_NONE);
	emit_run_more(rec, text, here, len);
}

void sim_rec_run(struct sim *sim, const struct sim_rec_run *run)
{
	struct sim_recorder *rec = rec_get(sim);
	uint16_t flags = run->swarm ? SIM_REC_RUN_F_SWARM : 0;
	const char *text = run->config_text;
	size_t len = run->config_len;

	if (!rec)
		return;
	SIM_ASSERT(run->frontend != NULL);
	SIM_ASSERT(run->kind == SIM_REC_RUN_PVSCSI ||
		   run->kind == SIM_REC_RUN_PVUSB);
	if (!text) {
		text = "";
		len = 0;
		flags |= SIM_REC_RUN_F_CONFIG_ABSENT;
	}
	SIM_ASSERT(len <= UINT32_MAX);
	emit_run(rec, run, flags, text, len);
}

/* ---- xenstore ------------------------------------------------------------ */

/* The enum xenbus_state a write of `val` to `path` sets, or -1 when the
 * key is not a state key or the value is not a state. */
static int xenbus_state_of(const char *path, const void *val, unsigned len)
{
	static const char leaf[] = "/state";
	size_t plen = strlen(path), llen = sizeof(leaf) - 1;
	const char *v = val;

	if (plen < llen || strcmp(path + plen - llen, leaf) != 0)
		return -1;
	if (len != 1 || v[0] < '0' || v[0] > '8')
		return -1;
	return v[0] - '0';
}

static void emit_xenbus_state(struct sim_recorder *rec, sim_domid dom,
			      const char *path, int state)
{
	uint16_t pl;

	begin(rec);
	pl = path_len(rec, path);
	put32(rec, (uint32_t)state);
	put16(rec, pl);
	put16(rec, 0);
	put_bytes(rec, path, pl);
	emit(rec, SIM_REC_XENBUS_STATE, dom);
}

void sim_rec_xs_write(struct sim *sim, sim_domid dom, const char *path,
		      const void *val, unsigned len)
{
	struct sim_recorder *rec = rec_get(sim);
	uint16_t pl;
	uint32_t vl;
	int state;

	if (!rec)
		return;
	begin(rec);
	pl = path_len(rec, path);
	vl = clamp_len(rec, len, REC_VALUE_MAX);
	put16(rec, pl);
	put16(rec, 0);
	put32(rec, vl);
	put_bytes(rec, path, pl);
	put_bytes(rec, val, vl);
	emit(rec, SIM_REC_XS_WRITE, dom);
	state = xenbus_state_of(path, val, len);
	if (state >= 0)
		emit_xenbus_state(rec, dom, path, state);
}

static void emit_xs_path(struct sim_recorder *rec, enum sim_rec_type type,
			 sim_domid dom, const char *path)
{
	uint16_t pl;

	begin(rec);
	pl = path_len(rec, path);
	put16(rec, pl);
	put16(rec, 0);
	put_bytes(rec, path, pl);
	emit(rec, type, dom);
}

void sim_rec_xs_mkdir(struct sim *sim, sim_domid dom, const char *path)
{
	struct sim_recorder *rec = rec_get(sim);

	if (rec)
		emit_xs_path(rec, SIM_REC_XS_MKDIR, dom, path);
}

void sim_rec_xs_rm(struct sim *sim, sim_domid dom, const char *path)
{
	struct sim_recorder *rec = rec_get(sim);

	if (rec)
		emit_xs_path(rec, SIM_REC_XS_RM, dom, path);
}

void sim_rec_xs_perms(struct sim *sim, sim_domid dom, const char *path,
		      const struct xs_permissions *perms, unsigned num)
{
	struct sim_recorder *rec = rec_get(sim);
	/* What fits after the longest path; the store allows far fewer. */
	unsigned max = (SIM_REC_MAX - SIM_REC_HDR_LEN - 4 - REC_PATH_MAX) / 4;
	uint16_t pl;

	if (!rec)
		return;
	begin(rec);
	pl = path_len(rec, path);
	num = clamp_len(rec, num, max);
	put16(rec, pl);
	put16(rec, (uint16_t)num);
	put_bytes(rec, path, pl);
	for (unsigned i = 0; i < num; i++) {
		put16(rec, (uint16_t)perms[i].id);
		put8(rec, (uint8_t)perms[i].perms);
		put8(rec, 0);
	}
	emit(rec, SIM_REC_XS_SET_PERMS, dom);
}

/* A watch's record: both lengths, the client when there is one (XS_WATCH,
 * XS_UNWATCH; NULL for a firing), then path and token. */
static void watch_record(struct sim *sim, enum sim_rec_type type,
			 sim_domid dom, const char *path, const char *token,
			 const uint32_t *client)
{
	struct sim_recorder *rec = rec_get(sim);
	uint16_t pl, tl;

	if (!rec)
		return;
	begin(rec);
	pl = path_len(rec, path);
	tl = path_len(rec, token);
	put16(rec, pl);
	put16(rec, tl);
	if (client)
		put32(rec, *client);
	put_bytes(rec, path, pl);
	put_bytes(rec, token, tl);
	emit(rec, type, dom);
}

void sim_rec_xs_watch(struct sim *sim, sim_domid dom, const char *path,
		      const char *token, uint32_t client, bool added)
{
	watch_record(sim, added ? SIM_REC_XS_WATCH : SIM_REC_XS_UNWATCH, dom,
		     path, token, &client);
}

void sim_rec_xs_watch_fire(struct sim *sim, sim_domid dom, const char *path,
			   const char *token)
{
	watch_record(sim, SIM_REC_XS_WATCH_FIRE, dom, path, token, NULL);
}

/* ---- life cycle ------------------------------------------------------- */

static void on_clock(struct sim *sim, void *arg)
{
	flush_rings(arg);
}

/* Flush, close the sink, free; returns the first error. */
static int recorder_end(struct sim_recorder *rec)
{
	int err, r;

	flush_rings(rec);
	sim_set_clock_hook(rec->sim, NULL, NULL);
	while (rec->rings) {
		struct rec_ring *r0 = rec->rings;

		rec->rings = r0->next;
		ring_free(r0);
	}
	r = rec->sink.close ? rec->sink.close(rec->sink.ctx) : 0;
	err = rec->err ? rec->err : r;
	free(rec);
	return err;
}

static void recorder_destroy(void *part)
{
	(void)recorder_end(part);
}

int sim_recorder_start(struct sim *sim, const struct sim_rec_sink *sink)
{
	struct sim_recorder *rec;

	SIM_ASSERT(sink && sink->write);
	if (sim_part(sim, SIM_PART_RECORDER))
		return -EEXIST;
	rec = sim_xcalloc(1, sizeof(*rec));
	rec->sim = sim;
	rec->sink = *sink;
	sim_attach(sim, SIM_PART_RECORDER, rec, recorder_destroy);
	sim_set_clock_hook(sim, on_clock, rec);
	return 0;
}

int sim_recorder_stop(struct sim *sim)
{
	struct sim_recorder *rec = sim_part(sim, SIM_PART_RECORDER);

	if (!rec)
		return 0;
	sim_detach(sim, SIM_PART_RECORDER);
	return recorder_end(rec);
}

bool sim_recorder_attached(const struct sim *sim)
{
	return sim_part(sim, SIM_PART_RECORDER) != NULL;
}

uint64_t sim_recorder_records(const struct sim *sim)
{
	const struct sim_recorder *rec = sim_part(sim, SIM_PART_RECORDER);

	return rec ? rec->seq : 0;
}
