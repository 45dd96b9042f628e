/*
 * The replay player; see player.h. The trace is read as the replay goes,
 * into a queue holding the records between the two cursors: the next
 * record the replay must make again (gpos: the guest side's, and the
 * deliveries and watch firings both sides' actions bring) and the next
 * Dom0 record to play (dpos). Dom0's record at dpos is played when gpos
 * has passed it and its time has come.
 */
#include "player_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore_lib.h>

#include "sim/trace/trace_pcap.h"
#include "sim/trace/trace_read.h"
#include "sim/xenstore/xenstore.h"

/* The shared ring page of every ring kind (Xen's DEFINE_RING_TYPES):
 * req_prod, req_event, rsp_prod, rsp_event, then entries at byte 64. */
#define SRING_REQ_PROD	0
#define SRING_REQ_EVENT 4
#define SRING_RSP_PROD	8
#define SRING_RSP_EVENT 12
#define SRING_ENTRIES	64
#define PAGE_BYTES	4096u

enum role {
	ROLE_SKIP,  /* what does not replay (Dom0's watches), or RUN */
	ROLE_GUEST, /* the guest side did it, or the simulator did it to
		     * either side: the replay must do it too */
	ROLE_DOM0,  /* Dom0 did it: the player does it */
};

struct item {
	struct trace_rec rec; /* pointers into raw */
	uint8_t *raw;	      /* owned; NULL for ROLE_SKIP */
	enum role role;
};

/* A grant Dom0 mapped in the replay. */
struct pmap {
	sim_domid granter;
	uint32_t ref;
	bool writable;
	struct sim_grant_map *map;
};

/* A client of the store Dom0's watches belonged to (a model's libxenstore
 * handle): its watch events are taken together by one notification
 * event, as sim/xenstore/xs_mock.c delivers them. */
struct pclient {
	struct replay_player *p;
	uint32_t id;	       /* as recorded; 0: callbacks run in the event */
	unsigned watches;      /* registered now */
	sim_event_id notify;   /* pending notification, or 0 */
	struct pclient *next;
};

/* A ring Dom0 attached, by its id in the file. */
struct pring {
	uint8_t *page; /* NULL: not attached */
	const struct sim_grant_map *map;
	uint32_t nr_ents, entry_size;
};

struct replay_player {
	char *path;
	struct trace_reader *rd;
	bool eof;
	struct replay_run run;
	char *frontend, *faults, *config_path, *config_text;

	/* Records [qbase, qbase + qlen) of the file, at q[qoff..]. */
	struct item *q;
	size_t qoff, qlen, qcap;
	uint64_t qbase;
	uint64_t gpos, dpos;

	struct sim *sim;
	struct sim_domain *dom0;
	sim_domid dom0id, guestid;
	struct sim_rec_sink tee;
	bool has_tee, attached;
	sim_event_id poll_ev;
	struct pclient *clients; /* Dom0's xenstore clients */
	const char *own_token;	 /* Dom0 watches the run makes itself */
	uint64_t ahead_ns; /* the last time poll_ahead scheduled */

	struct pmap *maps;
	size_t nmaps, cmaps;
	struct pring *rings;
	size_t nrings;

	bool diverged, read_error;
	struct replay_result st;
};

/* ---- reading the trace into the queue -------------------------------------- */

static void rebase(struct trace_bytes *b, const uint8_t *from, uint8_t *to)
{
	if (b->p)
		b->p = to + (b->p - from);
}

/* Points the decoded fields the player uses at its own copy. */
static void rebase_rec(struct trace_rec *r, uint8_t *raw)
{
	const uint8_t *old = r->raw;

	rebase(&r->payload, old, raw);
	switch (r->kind) {
	case SIM_REC_RING_ATTACH:
		rebase(&r->u.ring_attach.fe_path, old, raw);
		rebase(&r->u.ring_attach.be_path, old, raw);
		break;
	case SIM_REC_RING_ENTRY:
		rebase(&r->u.ring_entry.entry, old, raw);
		break;
	case SIM_REC_DATA:
		rebase(&r->u.data.bytes, old, raw);
		break;
	case SIM_REC_XS_WRITE:
		rebase(&r->u.xs_write.path, old, raw);
		rebase(&r->u.xs_write.value, old, raw);
		break;
	case SIM_REC_XS_MKDIR:
	case SIM_REC_XS_RM:
		rebase(&r->u.xs_path.path, old, raw);
		break;
	case SIM_REC_XS_SET_PERMS:
		rebase(&r->u.xs_set_perms.path, old, raw);
		rebase(&r->u.xs_set_perms.perms, old, raw);
		break;
	case SIM_REC_XS_WATCH:
	case SIM_REC_XS_UNWATCH:
		rebase(&r->u.xs_watch.path, old, raw);
		rebase(&r->u.xs_watch.token, old, raw);
		break;
	default:
		break;
	}
	r->raw = raw;
}

/* Who did it, from the header and the first payload bytes alone (so the
 * replay's own records, seen raw, are judged the same way). */
static enum role role_of(int type, unsigned domid, const uint8_t *payload,
			 size_t len, sim_domid dom0, sim_domid guest)
{
	bool is_guest = domid == guest, is_dom0 = domid == dom0;

	switch (type) {
	case SIM_REC_RING_ENTRY:
	case SIM_REC_RING_INDEX:
	case SIM_REC_RING_EVENT:
		/* Byte 3: direction, or which event index. A request or
		 * rsp_event is the frontend's, the rest the backend's. */
		if (len < 4)
			return ROLE_SKIP;
		if (payload[3] == 0 && type != SIM_REC_RING_EVENT)
			return is_guest ? ROLE_GUEST : ROLE_SKIP;
		if (type == SIM_REC_RING_EVENT && payload[3] == 1)
			return is_guest ? ROLE_GUEST : ROLE_SKIP;
		return is_dom0 ? ROLE_DOM0 : ROLE_SKIP;
	case SIM_REC_EVTCHN_DELIVER:
		/* Deliveries follow from sends and EOIs both sides made, at
		 * the times recorded: each side's, compared. */
		return is_guest || is_dom0 ? ROLE_GUEST : ROLE_SKIP;
	case SIM_REC_XS_WATCH_FIRE:
		/* Firings follow from the watches and writes of both sides,
		 * which the replay makes again. */
		return is_guest || is_dom0 ? ROLE_GUEST : ROLE_SKIP;
	case SIM_REC_XS_WATCH:
	case SIM_REC_XS_UNWATCH:
	case SIM_REC_EVTCHN_SEND:
	case SIM_REC_EVTCHN_EOI:
	case SIM_REC_EVTCHN_BIND:
	case SIM_REC_EVTCHN_CLOSE:
	case SIM_REC_XS_WRITE:
	case SIM_REC_XS_MKDIR:
	case SIM_REC_XS_RM:
	case SIM_REC_XS_SET_PERMS:
		return is_guest ? ROLE_GUEST : is_dom0 ? ROLE_DOM0 : ROLE_SKIP;
	case SIM_REC_GNT_GRANT:
	case SIM_REC_GNT_END:
		return is_guest ? ROLE_GUEST : ROLE_SKIP;
	case SIM_REC_GNT_MAP:
	case SIM_REC_GNT_UNMAP:
	case SIM_REC_RING_ATTACH:
	case SIM_REC_DATA:
		return is_dom0 ? ROLE_DOM0 : ROLE_SKIP;
	default:
		/* Xenbus states follow from writes, RING_DETACH from an
		 * unmap; RUN describes. */
		return ROLE_SKIP;
	}
}

static void set_read_error(struct replay_player *p, const char *msg)
{
	if (p->diverged)
		return;
	p->diverged = p->read_error = true;
	snprintf(p->st.divergence, sizeof(p->st.divergence), "%s", msg);
	if (p->sim)
		sim_stop(p->sim);
}

static void queue_push(struct replay_player *p, const struct item *it)
{
	if (p->qoff && p->qoff >= p->qlen) {
		memmove(p->q, p->q + p->qoff, p->qlen * sizeof(*p->q));
		p->qoff = 0;
	}
	if (p->qoff + p->qlen == p->qcap) {
		p->qcap = p->qcap ? 2 * p->qcap : 256;
		p->q = realloc(p->q, p->qcap * sizeof(*p->q));
		SIM_ASSERT(p->q);
	}
	p->q[p->qoff + p->qlen++] = *it;
}

/* Sends recorded before replays were possible carry no delivery. */
static bool replayable(const struct trace_rec *r)
{
	return r->kind != SIM_REC_EVTCHN_SEND || r->payload_len >= 24;
}

static void poll_ahead(struct replay_player *p, uint64_t t);

static bool read_one(struct replay_player *p)
{
	struct trace_rec r;
	struct item it = { 0 };
	int rc;

	if (p->eof)
		return false;
	rc = trace_reader_next(p->rd, &r);
	if (rc != 1) {
		p->eof = true;
		if (rc < 0)
			set_read_error(p, trace_reader_error(p->rd));
		return false;
	}
	p->st.records++;
	if (!replayable(&r)) {
		char m[REPLAY_MSG_MAX];

		snprintf(m, sizeof(m),
			 "%s: record %" PRIu64 " (byte offset %" PRIu64
			 "): an event send without its delivery time: the "
			 "trace was written before replays were possible; "
			 "record the run again",
			 p->path, r.index, r.offset);
		p->eof = true;
		set_read_error(p, m);
		return false;
	}
	it.rec = r;
	/* A type this reader does not know is not played (its fields were
	 * not decoded), as the format asks of readers. */
	it.role = r.kind == TRACE_REC_UNKNOWN
			  ? ROLE_SKIP
			  : role_of(r.type, r.domid, r.payload.p, r.payload.len,
				    p->dom0id, p->guestid);
	if (it.role != ROLE_SKIP) {
		it.raw = sim_xmalloc(r.caplen);
		memcpy(it.raw, r.raw, r.caplen);
		rebase_rec(&it.rec, it.raw);
	}
	queue_push(p, &it);
	if (it.role == ROLE_DOM0)
		poll_ahead(p, r.time_ns);
	return true;
}

/* Record number i of the file, read as far as needed; NULL past the end.
 * Reading on may move the queue: a pointer from here is good until the
 * next item_at or seek_role. */
static struct item *item_at(struct replay_player *p, uint64_t i)
{
	SIM_ASSERT(i >= p->qbase);
	while (i >= p->qbase + p->qlen)
		if (!read_one(p))
			return NULL;
	return &p->q[p->qoff + (i - p->qbase)];
}

/* Moves *pos to the next record of role, reading on; false at the end. */
static bool seek_role(struct replay_player *p, uint64_t *pos, enum role role)
{
	struct item *it;

	while ((it = item_at(p, *pos)) && it->role != role)
		(*pos)++;
	return it != NULL;
}

/* Records behind both cursors are done with; the queue reads on to
 * READ_AHEAD records past the further cursor, so Dom0's polls are
 * scheduled early (poll_ahead). */
#define READ_AHEAD 512u

static void queue_trim(struct replay_player *p)
{
	uint64_t keep = p->gpos < p->dpos ? p->gpos : p->dpos;
	uint64_t far = p->gpos > p->dpos ? p->gpos : p->dpos;

	while (p->qlen && p->qbase < keep) {
		free(p->q[p->qoff].raw);
		p->qoff++;
		p->qlen--;
		p->qbase++;
	}
	while (p->qbase + p->qlen < far + READ_AHEAD && read_one(p))
		;
}

/* ---- differences ------------------------------------------------------------------ */

static void diverge(struct replay_player *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void diverge(struct replay_player *p, const char *fmt, ...)
{
	char m[REPLAY_MSG_MAX - 64];
	va_list ap;

	if (p->diverged)
		return;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	p->diverged = true;
	snprintf(p->st.divergence, sizeof(p->st.divergence),
		 "divergence at %" PRIu64 ".%09" PRIu64 " s: %s",
		 sim_now(p->sim) / 1000000000u, sim_now(p->sim) % 1000000000u,
		 m);
	sim_stop(p->sim);
}

static void what_of(const struct item *it, char *out, size_t len)
{
	replay_describe_rec(it->rec.type, it->rec.domid, it->rec.payload.p,
			    it->rec.payload.len, out, len);
}

/* ---- the comparing sink ------------------------------------------------------------ */

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static unsigned le16(const uint8_t *b)
{
	return (unsigned)b[0] | (unsigned)b[1] << 8;
}

/* One record the replay made, raw as the recorder built it. */
struct got {
	int type;
	unsigned domid, flags;
	uint64_t time_ns;
	const uint8_t *payload;
	size_t len;
};

static void compare(struct replay_player *p, const struct item *e,
		    const struct got *g)
{
	const struct trace_rec *r = &e->rec;
	char what[256], how[256];

	what_of(e, what, sizeof(what));
	if (g->type != r->type || g->domid != r->domid) {
		char gw[256];

		replay_describe_rec(g->type, g->domid, g->payload, g->len, gw,
				    sizeof(gw));
		diverge(p, "trace record %" PRIu64 ": expected %s, got %s",
			r->index, what, gw);
		return;
	}
	if (g->len != r->payload.len ||
	    memcmp(g->payload, r->payload.p, g->len) != 0) {
		replay_describe_diff(r->type, r->payload.p, r->payload.len,
				     g->payload, g->len, how, sizeof(how));
		diverge(p, "trace record %" PRIu64 ": %s: %s", r->index, what,
			how);
		return;
	}
	if (g->flags != r->flags) {
		diverge(p, "trace record %" PRIu64 ": %s: field flags: "
			   "expected %#x, got %#x",
			r->index, what, r->flags, g->flags);
		return;
	}
	if (g->time_ns != r->time_ns)
		diverge(p, "trace record %" PRIu64 ": %s: field time: expected "
			   "%" PRIu64 " ns, got %" PRIu64 " ns",
			r->index, what, r->time_ns, g->time_ns);
}

static void match(struct replay_player *p, const struct got *g)
{
	struct item *e;

	if (!seek_role(p, &p->gpos, ROLE_GUEST)) {
		char gw[256];

		if (p->diverged)
			return; /* the trace broke off */
		replay_describe_rec(g->type, g->domid, g->payload, g->len, gw,
				    sizeof(gw));
		diverge(p, "the trace has no more records to compare, got %s",
			gw);
		return;
	}
	e = item_at(p, p->gpos);
	compare(p, e, g);
	if (p->diverged)
		return;
	p->st.compared++;
	/* The ring entries compared are the frontend's requests. */
	p->st.requests += e->rec.type == SIM_REC_RING_ENTRY;
	p->gpos++;
	queue_trim(p);
}

static int sink_write(void *ctx, uint64_t time_ns, const void *rec, size_t len)
{
	struct replay_player *p = ctx;
	const uint8_t *b = rec;
	struct got g;
	int r = p->has_tee ? p->tee.write(p->tee.ctx, time_ns, rec, len) : 0;

	SIM_ASSERT(len >= SIM_REC_HDR_LEN); /* the recorder's own records */
	if (p->diverged || !p->attached)
		return r;
	g.type = b[5];
	g.time_ns = le64(b + 16);
	g.domid = le16(b + 24);
	g.flags = le16(b + 26);
	g.payload = b + SIM_REC_HDR_LEN;
	g.len = len - SIM_REC_HDR_LEN;
	if (role_of(g.type, g.domid, g.payload, g.len, p->dom0id,
		    p->guestid) == ROLE_GUEST)
		match(p, &g);
	return r;
}

static int sink_close(void *ctx)
{
	struct replay_player *p = ctx;

	return p->has_tee ? p->tee.close(p->tee.ctx) : 0;
}

/* ---- Dom0's actions ------------------------------------------------------------------ */

static char *cstr(const struct trace_bytes *b)
{
	char *s = sim_xmalloc(b->len + 1);

	memcpy(s, b->p, b->len);
	s[b->len] = '\0';
	return s;
}

static struct pmap *map_find(struct replay_player *p, sim_domid granter,
			     uint32_t ref, int writable)
{
	for (size_t i = p->nmaps; i-- > 0;) {
		struct pmap *m = &p->maps[i];

		if (m->granter == granter && m->ref == ref &&
		    (writable < 0 || m->writable == (writable != 0)))
			return m;
	}
	return NULL;
}

static void play_map(struct replay_player *p, const struct trace_rec *r)
{
	struct sim_grant_map *map = NULL;
	int rc = sim_gnttab_map(p->dom0, r->u.gnt_map.granter_domid,
				r->u.gnt_map.ref, r->u.gnt_map.writable, &map);

	if (rc != r->u.gnt_map.result) {
		diverge(p, "trace record %" PRIu64 ": Dom0's map of grant ref "
			   "%u of dom%u: recorded result %d, the replay's %d",
			r->index, r->u.gnt_map.ref, r->u.gnt_map.granter_domid,
			r->u.gnt_map.result, rc);
		if (rc == 0)
			sim_gnttab_unmap(map);
		return;
	}
	if (rc)
		return;
	if (p->nmaps == p->cmaps) {
		p->cmaps = p->cmaps ? 2 * p->cmaps : 16;
		p->maps = realloc(p->maps, p->cmaps * sizeof(*p->maps));
		SIM_ASSERT(p->maps);
	}
	p->maps[p->nmaps++] = (struct pmap){ r->u.gnt_map.granter_domid,
					     r->u.gnt_map.ref,
					     r->u.gnt_map.writable, map };
}

static void forget_ring_page(struct replay_player *p, const uint8_t *page)
{
	for (size_t i = 0; i < p->nrings; i++)
		if (p->rings[i].page == page)
			p->rings[i].page = NULL;
}

static void play_unmap(struct replay_player *p, const struct trace_rec *r)
{
	struct pmap *m = map_find(p, r->u.gnt_unmap.granter_domid,
				  r->u.gnt_unmap.ref, r->u.gnt_unmap.writable);

	if (!m) {
		diverge(p, "trace record %" PRIu64 ": Dom0 unmaps grant ref "
			   "%u of dom%u, which the replay never mapped",
			r->index, r->u.gnt_unmap.ref,
			r->u.gnt_unmap.granter_domid);
		return;
	}
	forget_ring_page(p, sim_grant_map_addr(m->map));
	sim_gnttab_unmap(m->map);
	*m = p->maps[--p->nmaps];
}

static struct pring *ring_of(struct replay_player *p, uint16_t id)
{
	if (id >= p->nrings) {
		size_t n = (size_t)id + 16;

		p->rings = realloc(p->rings, n * sizeof(*p->rings));
		SIM_ASSERT(p->rings);
		memset(p->rings + p->nrings, 0,
		       (n - p->nrings) * sizeof(*p->rings));
		p->nrings = n;
	}
	return &p->rings[id];
}

static void play_attach(struct replay_player *p, const struct trace_rec *r)
{
	typeof(r->u.ring_attach) const *a = &r->u.ring_attach;
	struct pmap *m = map_find(p, a->fe_domid, a->gref, -1);
	struct pring *ring = ring_of(p, a->ring_id);
	struct sim_rec_ring d;
	char *fe, *be;
	uint8_t *page;

	if (!m || (uint64_t)a->nr_ents * a->entry_size >
			  PAGE_BYTES - SRING_ENTRIES) {
		diverge(p, "trace record %" PRIu64 ": ring %u: Dom0 attaches "
			   "ring-ref %u, which it has not mapped (or which "
			   "does not fit a page)",
			r->index, a->ring_id, a->gref);
		return;
	}
	page = sim_grant_map_addr(m->map);
	*ring = (struct pring){ page, m->map, a->nr_ents, a->entry_size };
	fe = cstr(&a->fe_path);
	be = cstr(&a->be_path);
	d = (struct sim_rec_ring){
		.kind = (enum sim_rec_ring_kind)a->kind,
		.map = m->map,
		.req_prod = (uint32_t *)(page + SRING_REQ_PROD),
		.rsp_prod = (uint32_t *)(page + SRING_RSP_PROD),
		.req_event = (uint32_t *)(page + SRING_REQ_EVENT),
		.rsp_event = (uint32_t *)(page + SRING_RSP_EVENT),
		.entries = page + SRING_ENTRIES,
		.entry_size = a->entry_size,
		.nr_ents = a->nr_ents,
		.gref = a->gref,
		.frontend = a->fe_domid,
		.backend = p->dom0id,
		.frontend_path = fe,
		.backend_path = be,
	};
	sim_rec_ring_attach(p->sim, &d);
	free(fe);
	free(be);
}

static struct pring *attached_ring(struct replay_player *p,
				   const struct trace_rec *r, uint16_t id)
{
	struct pring *ring = id < p->nrings ? &p->rings[id] : NULL;

	if (ring && ring->page)
		return ring;
	diverge(p, "trace record %" PRIu64 ": ring %u is not attached in "
		   "the replay", r->index, id);
	return NULL;
}

static void store_idx(uint8_t *page, unsigned off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(page + off), v, __ATOMIC_RELEASE);
}

/* A response entry; the last of its publication moves rsp_prod. A slot
 * rewritten after its publication (be-rsp-rewrite) changes silently, as
 * the model's did: not announced to the double-fetch observer. */
static void play_entry(struct replay_player *p, const struct trace_rec *r)
{
	typeof(r->u.ring_entry) const *e = &r->u.ring_entry;
	struct pring *ring = attached_ring(p, r, e->ring_id);
	uint8_t *slot;

	if (!ring)
		return;
	if (e->entry_size != ring->entry_size ||
	    e->slot >= ring->nr_ents) {
		diverge(p, "trace record %" PRIu64 ": a response that does "
			   "not fit ring %u", r->index, e->ring_id);
		return;
	}
	slot = ring->page + SRING_ENTRIES + (size_t)e->slot * e->entry_size;
	memcpy(slot, e->entry.p, e->entry_size);
	if (r->flags & SIM_REC_F_REWRITTEN) {
		sim_rec_ring_rewritten(p->sim, ring->map, e->idx);
		return;
	}
	/* New contents, as the models announce theirs (double fetches). */
	sim_shm_publish(p->sim, slot, e->entry_size);
	if (e->idx + 1 == e->prod) {
		store_idx(ring->page, SRING_RSP_PROD, e->prod);
		sim_rec_ring_pushed(p->sim);
	}
}

static void play_index(struct replay_player *p, const struct trace_rec *r)
{
	struct pring *ring = attached_ring(p, r, r->u.ring_index.ring_id);

	if (!ring)
		return;
	store_idx(ring->page, SRING_RSP_PROD, r->u.ring_index.new_prod);
	sim_rec_ring_pushed(p->sim);
}

static void play_req_event(struct replay_player *p, const struct trace_rec *r)
{
	struct pring *ring = attached_ring(p, r, r->u.ring_event.ring_id);

	if (!ring)
		return;
	store_idx(ring->page, SRING_REQ_EVENT, r->u.ring_event.new_idx);
	sim_rec_flush(p->sim);
}

/* Bytes Dom0 wrote into a granted page go in; bytes it read must be
 * what the replayed guest has there. */
static void play_data(struct replay_player *p, const struct trace_rec *r)
{
	typeof(r->u.data) const *d = &r->u.data;
	struct pmap *m = map_find(p, d->granter_domid, d->ref, -1);
	uint8_t *at;

	if (!m || (uint64_t)d->offset + d->bytes.len > PAGE_BYTES) {
		diverge(p, "trace record %" PRIu64 ": Dom0 moves data through "
			   "grant ref %u of dom%u, which the replay has not "
			   "mapped", r->index, d->ref, d->granter_domid);
		return;
	}
	at = (uint8_t *)sim_grant_map_addr(m->map) + d->offset;
	sim_rec_data(p->sim, p->dom0id, d->granter_domid, d->ref,
		     d->to_granted, (enum sim_rec_data_kind)d->what, d->offset,
		     d->bytes.p, (uint32_t)d->bytes.len);
	if (d->to_granted) {
		memcpy(at, d->bytes.p, d->bytes.len);
		sim_shm_publish(p->sim, at, (uint32_t)d->bytes.len);
		return;
	}
	p->st.data_checked++;
	for (size_t k = 0; k < d->bytes.len; k++) {
		if (at[k] == d->bytes.p[k])
			continue;
		diverge(p, "trace record %" PRIu64 ": data Dom0 read from "
			   "grant ref %u of dom%u: byte %zu (page offset %zu): "
			   "expected %#x, got %#x",
			r->index, d->ref, d->granter_domid, k, d->offset + k,
			d->bytes.p[k], at[k]);
		return;
	}
}

static void step(struct replay_player *p, bool triggered);

/* The player's end of an event channel takes events as the backend models
 * did, with late EOI (the EOIs are the recorded ones, play_kick), and acts
 * on them at once, as a model's handler did: what the recording shows
 * Dom0 doing right after this delivery is played in it. */
static void on_event(struct sim *sim, void *arg, uint32_t port)
{
	(void)sim;
	(void)port;
	step(arg, true);
}

/* ---- Dom0's watches ------------------------------------------------------------------ */

static void client_notify(struct sim *sim, void *arg)
{
	struct pclient *c = arg;

	(void)sim;
	c->notify = 0;
	step(c->p, true);
}

/* A watch event for one of the models' watches: taken by the client's
 * notification, one for all the events before it runs (xs_mock.c's
 * notify_kick); a watch of no client reacts in the event itself. */
static void on_watch(struct sim *sim, void *arg, const char *path,
		     const char *token)
{
	struct pclient *c = arg;

	(void)path;
	(void)token;
	if (c->id == 0) {
		step(c->p, true);
		return;
	}
	if (!c->notify)
		c->notify = sim_schedule(sim, 0, client_notify, c,
					 "replay-dom0-notify");
}

static struct pclient *client_of(struct replay_player *p, uint32_t id)
{
	struct pclient *c;

	for (c = p->clients; c && c->id != id; c = c->next)
		;
	if (c)
		return c;
	c = sim_xcalloc(1, sizeof(*c));
	c->p = p;
	c->id = id;
	c->next = p->clients;
	p->clients = c;
	return c;
}

/* A watch Dom0 registered or removed. The run's own (its token named by
 * replay_own_watches) it makes itself in the replay too. */
static void play_watch(struct replay_player *p, const struct trace_rec *r)
{
	typeof(r->u.xs_watch) const *w = &r->u.xs_watch;
	struct pclient *c = client_of(p, w->client);
	bool add = r->kind == SIM_REC_XS_WATCH;
	char *path = cstr(&w->path), *token = cstr(&w->token);
	int rc = 0;

	if (!p->own_token || strcmp(token, p->own_token) != 0) {
		rc = add ? sim_xs_watch_client(sim_xs(p->sim), p->dom0id, path,
					       token, on_watch, c, c->id)
			 : sim_xs_unwatch(sim_xs(p->sim), p->dom0id, path,
					  token, c);
	}
	if (rc) {
		char shown[REPLAY_SHOWN];

		replay_printable(shown, sizeof(shown), (const uint8_t *)path,
				 strlen(path));
		diverge(p, "trace record %" PRIu64 ": Dom0's %s of %s failed "
			   "in the replay (%s)",
			r->index, add ? "watch" : "unwatch", shown,
			strerror(-rc));
	} else if (add)
		c->watches++;
	else if (c->watches && --c->watches == 0 && c->notify) {
		/* Its handle closed: nothing more to notify. */
		sim_cancel(p->sim, c->notify);
		c->notify = 0;
	}
	free(path);
	free(token);
}

static void play_evtchn(struct replay_player *p, const struct trace_rec *r)
{
	typeof(r->u.evtchn_deliver) const *e = &r->u.evtchn_deliver;
	uint32_t port = 0;
	int rc;

	if (r->kind == SIM_REC_EVTCHN_CLOSE) {
		rc = sim_evtchn_close(p->dom0, e->port);
	} else {
		rc = sim_evtchn_bind_interdomain(p->dom0, e->remote_domid,
						 e->remote_port, &port);
		if (rc == 0 && port != e->port)
			rc = -EXDEV;
		if (rc == 0)
			rc = sim_evtchn_set_handler(p->dom0, port, on_event, p,
						    true);
	}
	if (rc)
		diverge(p, "trace record %" PRIu64 ": Dom0's event-channel %s "
			   "of port %u failed in the replay (%s)",
			r->index,
			r->kind == SIM_REC_EVTCHN_CLOSE ? "close" : "bind",
			e->port, rc == -EXDEV ? "another port number"
					      : strerror(-rc));
}

/* A send or an EOI of Dom0's: the delivery it made due is the recorded
 * one, not a draw of the models' random stream. */
static void play_kick(struct replay_player *p, const struct trace_rec *r)
{
	typeof(r->u.evtchn_send) const *s = &r->u.evtchn_send;
	struct sim_rec_delivery dl = {
		s->deliver_at_ns, (s->delivery_flags & SIM_REC_SEND_STORM) != 0
	};
	bool due = s->delivery_flags & SIM_REC_SEND_SCHEDULED;
	bool eoi = r->kind == SIM_REC_EVTCHN_EOI;
	int rc = eoi ? sim_evtchn_eoi_replayed(p->dom0, s->port,
					       due ? &dl : NULL)
		     : sim_evtchn_send_replayed(p->dom0, s->port,
						due ? &dl : NULL);

	if (rc)
		diverge(p, "trace record %" PRIu64 ": Dom0's event %s on "
			   "port %u: %s",
			r->index, eoi ? "EOI" : "send", s->port,
			rc < 0 ? "no such port in the replay"
			: due  ? "the port cannot take the recorded delivery"
			       : "the port would take a delivery the "
				 "recording did not make");
}

static void play_xs(struct replay_player *p, const struct trace_rec *r)
{
	struct sim_xs *xs = sim_xs(p->sim);
	struct xs_permissions perms[64];
	char *path;
	int rc;

	switch (r->kind) {
	case SIM_REC_XS_WRITE:
		path = cstr(&r->u.xs_write.path);
		rc = sim_xs_write(xs, p->dom0id, 0, path,
				  r->u.xs_write.value.p,
				  (unsigned)r->u.xs_write.value.len);
		break;
	case SIM_REC_XS_MKDIR:
		path = cstr(&r->u.xs_path.path);
		rc = sim_xs_mkdir(xs, p->dom0id, 0, path);
		break;
	case SIM_REC_XS_RM:
		path = cstr(&r->u.xs_path.path);
		rc = sim_xs_rm(xs, p->dom0id, 0, path);
		break;
	default:
		path = cstr(&r->u.xs_set_perms.path);
		rc = -E2BIG;
		if (r->u.xs_set_perms.nperms <= 64) {
			for (unsigned i = 0; i < r->u.xs_set_perms.nperms;
			     i++) {
				uint16_t dom;
				uint8_t bits;

				trace_rec_perm(r, i, &dom, &bits);
				perms[i] = (struct xs_permissions){ dom, bits };
			}
			rc = sim_xs_set_perms(xs, p->dom0id, 0, path, perms,
					      r->u.xs_set_perms.nperms);
		}
		break;
	}
	if (rc) {
		char shown[REPLAY_SHOWN];

		replay_printable(shown, sizeof(shown), (const uint8_t *)path,
				 strlen(path));
		diverge(p, "trace record %" PRIu64 ": Dom0's xenstore change "
			   "of %s failed in the replay (%s)",
			r->index, shown, strerror(-rc));
	}
	free(path);
}

static void play(struct replay_player *p, const struct trace_rec *r)
{
	switch (r->kind) {
	case SIM_REC_GNT_MAP:
		play_map(p, r);
		break;
	case SIM_REC_GNT_UNMAP:
		play_unmap(p, r);
		break;
	case SIM_REC_RING_ATTACH:
		play_attach(p, r);
		break;
	case SIM_REC_RING_ENTRY:
		play_entry(p, r);
		break;
	case SIM_REC_RING_INDEX:
		play_index(p, r);
		break;
	case SIM_REC_RING_EVENT:
		play_req_event(p, r);
		break;
	case SIM_REC_DATA:
		play_data(p, r);
		break;
	case SIM_REC_EVTCHN_BIND:
	case SIM_REC_EVTCHN_CLOSE:
		play_evtchn(p, r);
		break;
	case SIM_REC_EVTCHN_SEND:
	case SIM_REC_EVTCHN_EOI:
		play_kick(p, r);
		break;
	case SIM_REC_XS_WATCH:
	case SIM_REC_XS_UNWATCH:
		play_watch(p, r);
		break;
	default:
		play_xs(p, r);
		break;
	}
	p->st.played++;
}

/* ---- when Dom0 acts ------------------------------------------------------------------- */

/* A Dom0 record whose guest records came after its time. */
static void late(struct replay_player *p, const struct item *it)
{
	char what[256];

	what_of(it, what, sizeof(what));
	diverge(p, "trace record %" PRIu64 ": Dom0's %s (recorded at %" PRIu64
		   " ns) waited for the frontend until now",
		it->rec.index, what, it->rec.time_ns);
}

/* Whether every guest record before Dom0's record at dpos was seen. */
static bool gate_open(struct replay_player *p)
{
	return !seek_role(p, &p->gpos, ROLE_GUEST) || p->gpos > p->dpos;
}

/* Plays every due record; the next Dom0 record, or NULL at the end. */
static struct item *play_due(struct replay_player *p)
{
	while (!p->diverged && seek_role(p, &p->dpos, ROLE_DOM0)) {
		bool open = gate_open(p);
		struct item *it = item_at(p, p->dpos);

		if (it->rec.time_ns > sim_now(p->sim) || !open)
			return it; /* its time, or a guest record, to come */
		if (it->rec.time_ns < sim_now(p->sim)) {
			late(p, it);
			return NULL;
		}
		play(p, &it->rec);
		p->dpos++;
		queue_trim(p);
	}
	return NULL;
}

static void poll_event(struct sim *sim, void *arg);

static void arm(struct replay_player *p, uint64_t at)
{
	uint64_t now = sim_now(p->sim);

	if (p->poll_ev)
		sim_cancel(p->sim, p->poll_ev);
	p->poll_ev = sim_schedule(p->sim, at > now ? at - now : 0, poll_event,
				  p, "replay-dom0");
}

/* Dom0's next record waits for the guest record at gpos: while other
 * events are due now the guest may still make it, so Dom0 looks again
 * after them. After them it can only come from the run's end (teardown
 * acts outside events) or late, which the comparison reports (a record
 * never made, replay_finish). */
static void wait_for_guest(struct replay_player *p)
{
	uint64_t t;

	if (sim_next_event_time(p->sim, &t) && t == sim_now(p->sim))
		arm(p, sim_now(p->sim));
}

static bool notify_pending(const struct replay_player *p)
{
	for (const struct pclient *c = p->clients; c; c = c->next)
		if (c->notify)
			return true;
	return false;
}

/* Plays what is due. Dom0 acted on its own events: a delivery to its port
 * (on_event), a watch notification (client_notify), or a timer of its own
 * (the polls at its records' times). A poll leaves the playing to a
 * notification already due: the model reacted there. */
static void step(struct replay_player *p, bool triggered)
{
	struct item *next;

	/* Publications made since the last record are the guest's too. */
	sim_rec_flush(p->sim);
	if (!triggered && notify_pending(p))
		return;
	next = play_due(p);
	if (next && !p->diverged && next->rec.time_ns <= sim_now(p->sim))
		wait_for_guest(p);
}

static void ahead_event(struct sim *sim, void *arg)
{
	(void)sim;
	step(arg, false);
}

/* A poll at the time t of a Dom0 record, scheduled as soon as the record
 * is read: as early as the replay knows of it, which is where the model
 * scheduled its own event as long as the model did so before the guest's
 * last record before it (polls scheduled later, when that guest record is
 * seen, are the triggers' own: step). The cursors read each Dom0 record at
 * the latest when the one before it is played, so its poll is always in
 * the queue before time passes it. */
static void poll_ahead(struct replay_player *p, uint64_t t)
{
	uint64_t now, to;

	if (!p->attached || t == p->ahead_ns)
		return;
	now = sim_now(p->sim);
	if (t <= now)
		return; /* due now: the step or sync reading it plays it */
	if (sim_clock_moving(p->sim, &to) && to > t)
		t = to; /* late already: the comparison will tell */
	p->ahead_ns = t;
	sim_schedule(p->sim, t - now, ahead_event, p, "replay-dom0");
}

static void poll_event(struct sim *sim, void *arg)
{
	struct replay_player *p = arg;

	(void)sim;
	p->poll_ev = 0;
	step(p, false);
}

void replay_sync(struct replay_player *p)
{
	struct item *next;

	if (!p->attached || p->diverged)
		return;
	sim_rec_flush(p->sim);
	next = play_due(p);
	if (next && !p->diverged && !p->poll_ev &&
	    next->rec.time_ns <= sim_now(p->sim))
		arm(p, sim_now(p->sim));
}

void replay_own_watches(struct replay_player *p, const char *token)
{
	p->own_token = token;
}

bool replay_diverged(const struct replay_player *p)
{
	return p->diverged;
}

/* ---- opening, attaching, finishing -------------------------------------------------- */

static char *bytes_dup(const struct trace_bytes *b)
{
	return b->len || b->p ? cstr(b) : NULL;
}

/* The RUN record's strings name things in messages and options: printable
 * ASCII only (the configuration text is the configuration reader's to
 * judge). */
static const char *unprintable_string(const struct trace_rec *run)
{
	static const struct {
		size_t off;
		const char *name;
	} s[] = {
	    {offsetof(struct trace_rec, u.run.frontend), "frontend name"},
	    {offsetof(struct trace_rec, u.run.faults), "fault plan"},
	    {offsetof(struct trace_rec, u.run.config_path),
	     "configuration path"},
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		const struct trace_bytes *b =
		    (const void *)((const char *)run + s[i].off);

		for (size_t k = 0; k < b->len; k++)
			if (b->p[k] < 0x20 || b->p[k] >= 0x7f)
				return s[i].name;
	}
	return NULL;
}

static int take_run(struct replay_player *p, const struct trace_rec *run,
		    const char *text, size_t len, char *err, size_t errlen)
{
	const char *bad = unprintable_string(run);

	if (bad) {
		snprintf(err, errlen, "%s: record %" PRIu64 " (byte offset %"
				      PRIu64 "): the RUN record's %s is not "
				      "printable text",
			 p->path, run->index, run->offset, bad);
		return -1;
	}
	if (run->u.run.flags & SIM_REC_RUN_F_CONFIG_ABSENT) {
		snprintf(err, errlen, "%s: the RUN record carries no "
				      "configuration text: it cannot be "
				      "replayed", p->path);
		return -1;
	}
	p->frontend = bytes_dup(&run->u.run.frontend);
	p->faults = run->u.run.faults.len ? cstr(&run->u.run.faults) : NULL;
	p->config_path = bytes_dup(&run->u.run.config_path);
	p->config_text = sim_xmalloc(len + 1);
	memcpy(p->config_text, text, len);
	p->config_text[len] = '\0';
	p->run = (struct replay_run){
		.kind = run->u.run.kind,
		.seed = run->u.run.seed,
		.ops_limit = run->u.run.ops_limit,
		.time_limit_ns = run->u.run.time_limit_ns,
		.swarm = (run->u.run.flags & SIM_REC_RUN_F_SWARM) != 0,
		.frontend = p->frontend ? p->frontend : "",
		.faults = p->faults,
		.config_path = p->config_path ? p->config_path : "",
		.config_text = p->config_text,
		.config_len = len,
	};
	return 0;
}

static int replay_start(struct replay_player *p, struct replay_player **out,
			char *err, size_t errlen);

int replay_open(const char *path, struct replay_player **out, char *err,
		size_t errlen)
{
	struct replay_player *p = sim_xcalloc(1, sizeof(*p));

	p->path = sim_xstrdup(path);
	p->rd = trace_reader_open(path, err, errlen);
	if (!p->rd) {
		replay_close(p);
		return -1;
	}
	return replay_start(p, out, err, errlen);
}

int replay_fopen(FILE *f, const char *name, struct replay_player **out,
		 char *err, size_t errlen)
{
	struct replay_player *p = sim_xcalloc(1, sizeof(*p));

	p->path = sim_xstrdup(name);
	p->rd = trace_reader_fopen(f, name, err, errlen);
	if (!p->rd) {
		replay_close(p);
		return -1;
	}
	return replay_start(p, out, err, errlen);
}

/* The RUN record read from a fresh reader. */
static int replay_start(struct replay_player *p, struct replay_player **out,
			char *err, size_t errlen)
{
	struct trace_rec run;
	const char *text;
	size_t len;

	if (trace_reader_gather_config(p->rd, &run, &text, &len) != 0) {
		snprintf(err, errlen, "%s (a replay needs the RUN record of "
				      "`xpvsim run --trace`)",
			 trace_reader_error(p->rd));
		replay_close(p);
		return -1;
	}
	if (take_run(p, &run, text, len, err, errlen)) {
		replay_close(p);
		return -1;
	}
	p->qbase = p->gpos = p->dpos = trace_reader_records(p->rd);
	p->st.records = p->qbase;
	*out = p;
	return 0;
}

const struct replay_run *replay_run_info(const struct replay_player *p)
{
	return &p->run;
}

int replay_attach(struct replay_player *p, struct sim *sim, sim_domid dom0,
		  sim_domid guest, FILE *tee, char *err, size_t errlen)
{
	struct sim_rec_sink sink = { sink_write, sink_close, p };
	int r;

	SIM_ASSERT(!p->sim);
	p->sim = sim;
	p->dom0id = dom0;
	p->guestid = guest;
	p->dom0 = sim_domain_get(sim, dom0);
	SIM_ASSERT(p->dom0 && sim_domain_get(sim, guest));
	if (tee) {
		r = sim_rec_pcap_sink(tee, 0, &p->tee);
		if (r) {
			snprintf(err, errlen, "cannot record the replay: %s",
				 strerror(-r));
			return -1;
		}
		p->has_tee = true;
	}
	r = sim_recorder_start(sim, &sink);
	if (r) {
		snprintf(err, errlen, "cannot attach the replay: %s",
			 strerror(-r));
		if (p->has_tee)
			p->tee.close(p->tee.ctx);
		p->has_tee = false;
		return -1;
	}
	p->attached = true;
	/* Reads the first Dom0 record: a poll at its time. */
	if (seek_role(p, &p->dpos, ROLE_DOM0) &&
	    item_at(p, p->dpos)->rec.time_ns <= sim_now(sim))
		arm(p, sim_now(sim));
	return 0;
}

/* Guest records the replay never made. */
static void check_rest(struct replay_player *p)
{
	char what[256];
	struct item *g;

	if (p->diverged || !seek_role(p, &p->gpos, ROLE_GUEST))
		return;
	g = item_at(p, p->gpos);
	what_of(g, what, sizeof(what));
	diverge(p, "trace record %" PRIu64 ": the replay ended before the "
		   "frontend made %s (recorded at %" PRIu64 " ns)",
		g->rec.index, what, g->rec.time_ns);
}

int replay_finish(struct replay_player *p, struct replay_result *res,
		  char *err, size_t errlen)
{
	int rc = 0;

	if (p->attached) {
		/* Flushes what the guest published last. */
		int r = sim_recorder_stop(p->sim);

		p->attached = false;
		if (r) {
			snprintf(err, errlen, "writing the replay's trace "
					      "failed: %s", strerror(-r));
			rc = -1;
		}
	}
	if (p->poll_ev && p->sim)
		sim_cancel(p->sim, p->poll_ev);
	p->poll_ev = 0;
	for (struct pclient *c = p->clients; c && p->sim; c = c->next)
		if (c->notify)
			sim_cancel(p->sim, c->notify);
	check_rest(p);
	while (!p->diverged && seek_role(p, &p->dpos, ROLE_DOM0)) {
		p->st.not_played++;
		p->dpos++;
	}
	*res = p->st;
	res->identical = !p->diverged;
	res->read_error = p->read_error;
	return rc;
}

void replay_close(struct replay_player *p)
{
	if (!p)
		return;
	if (p->attached)
		sim_recorder_stop(p->sim);
	while (p->qlen) {
		free(p->q[p->qoff++].raw);
		p->qlen--;
	}
	free(p->q);
	/* Mappings went with the simulation (sim_destroy). */
	free(p->maps);
	free(p->rings);
	while (p->clients) {
		struct pclient *c = p->clients;

		p->clients = c->next;
		free(c);
	}
	if (p->rd)
		trace_reader_close(p->rd);
	free(p->frontend);
	free(p->faults);
	free(p->config_path);
	free(p->config_text);
	free(p->path);
	free(p);
}
