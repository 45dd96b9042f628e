/*
 * The trace reader (trace_read.h): libpcap frames the file, this file
 * checks and decodes the xpv records of docs/trace-format.md. Each record
 * type has a row in rec_types[] (its name, the fixed part of its payload
 * and a decode function that checks the variable part and the values);
 * the checks that span records (sequence, time, rings, RUN and RUN_MORE)
 * live in the reader's state.
 */
#include "trace_read.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "trace_pcap.h"

#define PCAP_FILE_HDR	 24u  /* the pcap global header */
#define PCAP_REC_HDR	 16u  /* each pcap record header */
#define NAME_MAX_LEN	 200u /* of the file name kept for messages */
#define REC_MAGIC	 "XPVT"
#define XENBUS_STATE_MAX 8u /* Reconfigured */
#define RUN_FIXED	 48u
/* The header flags of the format. */
#define FLAGS_KNOWN                                                            \
	(SIM_REC_F_BEFORE_ATTACH | SIM_REC_F_TRUNCATED | SIM_REC_F_REWRITTEN)
/* EVTCHN_SEND's two layouts: the first, and with the delivery appended. */
#define SEND_LEN_FIRST	  12u
#define SEND_LEN_DELIVERY 24u

struct ring {
	uint8_t kind;
	bool detached;
	uint32_t nr_ents, entry_size;
};

struct trace_reader {
	pcap_t *pcap;
	char name[NAME_MAX_LEN + 1];
	char err[TRACE_READ_ERR_MAX];
	bool failed, at_end;
	uint64_t nrec;	      /* records read: the next record's number */
	uint64_t next_offset; /* file offset of the next pcap record header */
	uint64_t last_time_ns;
	struct ring *rings; /* ring_id - 1 */
	uint32_t nr_rings, rings_cap;
	/* RUN and its configuration text. */
	uint8_t *run_copy; /* record 0's bytes, when it is a RUN record */
	struct trace_rec run;
	char *config;
	uint32_t config_len, config_got;
	bool config_pending, config_done;
};

/* ---- messages ------------------------------------------------------------ */

static int fail_at(struct trace_reader *r, uint64_t index, uint64_t offset,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail_at(struct trace_reader *r, uint64_t index, uint64_t offset,
		   const char *fmt, ...)
{
	size_t n;
	va_list ap;

	snprintf(r->err, sizeof(r->err),
		 "%s: record %" PRIu64 " (byte offset %" PRIu64 "): ", r->name,
		 index, offset);
	n = strlen(r->err);
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - n, fmt, ap);
	va_end(ap);
	r->failed = true;
	return -1;
}

#define fail_rec(r, rec, ...)                                                  \
	fail_at(r, (rec)->index, (rec)->offset, __VA_ARGS__)

/* ---- little-endian fields ------------------------------------------------ */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The next len bytes of the payload from *at into b, or false when the
 * payload is too short. */
static bool take(const struct trace_rec *rec, size_t *at, size_t len,
		 struct trace_bytes *b)
{
	if (len > rec->payload.len - *at)
		return false;
	b->p = rec->payload.p + *at;
	b->len = len;
	*at += len;
	return true;
}

static int too_short(struct trace_reader *r, const struct trace_rec *rec,
		     const char *what)
{
	return fail_rec(r, rec, "payload of %" PRIu32 " bytes too short for %s",
			rec->payload_len, what);
}

static int bad_value(struct trace_reader *r, const struct trace_rec *rec,
		     const char *field, unsigned v)
{
	return fail_rec(r, rec, "%s %u out of range", field, v);
}

/* ---- rings --------------------------------------------------------------- */

static int add_ring(struct trace_reader *r, const struct ring *ring)
{
	if (r->nr_rings == r->rings_cap) {
		uint32_t cap = r->rings_cap ? 2 * r->rings_cap : 16;
		struct ring *n = realloc(r->rings, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->rings = n;
		r->rings_cap = cap;
	}
	r->rings[r->nr_rings++] = *ring;
	return 0;
}

/* The ring a record names, checked: known, not detached, same kind. */
static struct ring *use_ring(struct trace_reader *r,
			     const struct trace_rec *rec, uint16_t id,
			     uint8_t kind)
{
	struct ring *ring;

	if (id == 0 || id > r->nr_rings) {
		fail_rec(r, rec, "ring %u not introduced by a RING_ATTACH", id);
		return NULL;
	}
	ring = &r->rings[id - 1];
	if (ring->detached) {
		fail_rec(r, rec, "ring %u used after its RING_DETACH", id);
		return NULL;
	}
	if (ring->kind != kind) {
		fail_rec(r, rec, "ring %u is of kind %u, the record says %u",
			 id, ring->kind, kind);
		return NULL;
	}
	return ring;
}

static bool ring_kind_ok(uint8_t kind)
{
	return kind >= SIM_REC_RING_VSCSIIF && kind <= SIM_REC_RING_USBIF_CONN;
}

/* ---- decoding, one function per type ------------------------------------- */

static int dec_ring_attach(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.ring_attach) *a = &rec->u.ring_attach;
	const uint8_t *p = rec->payload.p;
	struct ring ring = {0};
	size_t at = 32;

	a->ring_id = le16(p);
	a->kind = p[2];
	a->fe_domid = le16(p + 4);
	a->be_domid = le16(p + 6);
	a->gref = le32(p + 8);
	a->nr_ents = le32(p + 12);
	a->entry_size = le32(p + 16);
	a->req_prod = le32(p + 20);
	a->rsp_prod = le32(p + 24);
	if (!take(rec, &at, le16(p + 28), &a->fe_path) ||
	    !take(rec, &at, le16(p + 30), &a->be_path))
		return too_short(r, rec, "its paths");
	if (!ring_kind_ok(a->kind))
		return bad_value(r, rec, "ring kind", a->kind);
	if (a->ring_id != r->nr_rings + 1)
		return fail_rec(r, rec,
				"ring_id %u attached, want %" PRIu32
				" (ids count from 1, never reused)",
				a->ring_id, r->nr_rings + 1);
	if (a->nr_ents == 0 || (a->nr_ents & (a->nr_ents - 1)))
		return fail_rec(r, rec,
				"nr_ents %" PRIu32 " is not a power of two",
				a->nr_ents);
	if (a->entry_size == 0)
		return fail_rec(r, rec, "entry_size 0");
	ring.kind = a->kind;
	ring.nr_ents = a->nr_ents;
	ring.entry_size = a->entry_size;
	if (add_ring(r, &ring))
		return fail_rec(r, rec, "out of memory for ring %u",
				a->ring_id);
	return 0;
}

static int dec_ring_detach(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.ring_detach) *d = &rec->u.ring_detach;
	const uint8_t *p = rec->payload.p;
	struct ring *ring;

	d->ring_id = le16(p);
	d->kind = p[2];
	d->req_prod = le32(p + 4);
	d->rsp_prod = le32(p + 8);
	ring = use_ring(r, rec, d->ring_id, d->kind);
	if (!ring)
		return -1;
	ring->detached = true;
	return 0;
}

static int dec_ring_entry(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.ring_entry) *e = &rec->u.ring_entry;
	const uint8_t *p = rec->payload.p;
	const struct ring *ring;
	size_t at = 20;

	e->ring_id = le16(p);
	e->kind = p[2];
	e->dir = p[3];
	e->idx = le32(p + 4);
	e->slot = le32(p + 8);
	e->prod = le32(p + 12);
	e->entry_size = le32(p + 16);
	if (!take(rec, &at, e->entry_size, &e->entry))
		return too_short(r, rec, "its entry");
	if (e->dir > SIM_REC_RESPONSE)
		return bad_value(r, rec, "direction", e->dir);
	/* Only a backend's response is recorded rewritten (be-rsp-rewrite). */
	if ((rec->flags & SIM_REC_F_REWRITTEN) && e->dir != SIM_REC_RESPONSE)
		return fail_rec(r, rec, "flag REWRITTEN on a request");
	ring = use_ring(r, rec, e->ring_id, e->kind);
	if (!ring)
		return -1;
	if (e->entry_size != ring->entry_size)
		return fail_rec(r, rec,
				"entry_size %" PRIu32 ", ring %u has %" PRIu32,
				e->entry_size, e->ring_id, ring->entry_size);
	if (e->slot != (e->idx & (ring->nr_ents - 1)))
		return fail_rec(r, rec,
				"slot %" PRIu32 " is not idx %" PRIu32
				" of a ring of %" PRIu32,
				e->slot, e->idx, ring->nr_ents);
	/* The publication covers idx: idx < prod, at most a ring apart. */
	if ((uint32_t)(e->prod - e->idx) - 1 >= ring->nr_ents)
		return fail_rec(r, rec,
				"idx %" PRIu32 " not covered by prod %" PRIu32,
				e->idx, e->prod);
	return 0;
}

static int dec_ring_index(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.ring_index) *x = &rec->u.ring_index;
	const uint8_t *p = rec->payload.p;

	x->ring_id = le16(p);
	x->kind = p[2];
	x->dir = p[3];
	x->old_prod = le32(p + 4);
	x->new_prod = le32(p + 8);
	if (x->dir > SIM_REC_RESPONSE)
		return bad_value(r, rec, "direction", x->dir);
	return use_ring(r, rec, x->ring_id, x->kind) ? 0 : -1;
}

/* A RING_EVENT: an event index of a known ring, as RING_INDEX checks. */
static int dec_ring_event(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.ring_event) *x = &rec->u.ring_event;
	const uint8_t *p = rec->payload.p;

	x->ring_id = le16(p);
	x->kind = p[2];
	x->which = p[3];
	x->old_idx = le32(p + 4);
	x->new_idx = le32(p + 8);
	if (x->which > SIM_REC_RSP_EVENT)
		return bad_value(r, rec, "which", x->which);
	return use_ring(r, rec, x->ring_id, x->kind) ? 0 : -1;
}

/* The delivery a send made due (the 24-byte layout): a replay schedules
 * it instead of drawing, so it must be one a run could have made: known
 * flags, a storm or a time only with a scheduled delivery, that only on
 * a send that reached its peer, and never before the send. */
static int check_send_delivery(struct trace_reader *r,
			       const struct trace_rec *rec)
{
	const typeof(rec->u.evtchn_send) *s = &rec->u.evtchn_send;
	const unsigned known = SIM_REC_SEND_SCHEDULED | SIM_REC_SEND_STORM;

	if (s->delivery_flags & ~known)
		return fail_rec(
		    r, rec, "delivery flags 0x%x: unknown bits 0x%x",
		    (unsigned)s->delivery_flags, s->delivery_flags & ~known);
	if (!(s->delivery_flags & SIM_REC_SEND_SCHEDULED)) {
		if (s->delivery_flags & SIM_REC_SEND_STORM)
			return fail_rec(r, rec,
					"delivery flags 0x%x: STORM without "
					"SCHEDULED",
					(unsigned)s->delivery_flags);
		if (s->deliver_at_ns)
			return fail_rec(r, rec,
					"deliver_at_ns %" PRIu64
					" without SCHEDULED",
					s->deliver_at_ns);
		return 0;
	}
	if (s->outcome != 0)
		return fail_rec(r, rec, "a dropped send with a delivery");
	if (s->deliver_at_ns < rec->time_ns)
		return fail_rec(r, rec,
				"deliver_at_ns %" PRIu64
				" before the record's time %" PRIu64,
				s->deliver_at_ns, rec->time_ns);
	return 0;
}

static int dec_evtchn_send(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.evtchn_send) *s = &rec->u.evtchn_send;
	const uint8_t *p = rec->payload.p;

	/* 12 bytes: files written before the delivery was appended. */
	if (rec->payload_len != SEND_LEN_FIRST &&
	    rec->payload_len != SEND_LEN_DELIVERY)
		return fail_rec(
		    r, rec,
		    "EVTCHN_SEND payload of %" PRIu32 " bytes, want %u or %u",
		    rec->payload_len, SEND_LEN_FIRST, SEND_LEN_DELIVERY);
	s->port = le32(p);
	s->remote_domid = le16(p + 4);
	s->outcome = p[6];
	s->remote_port = le32(p + 8);
	if (s->outcome > 1)
		return bad_value(r, rec, "outcome", s->outcome);
	if (rec->payload_len == SEND_LEN_FIRST)
		return 0;
	s->deliver_at_ns = le64(p + 12);
	s->delivery_flags = p[20];
	return check_send_delivery(r, rec);
}

/* EVTCHN_EOI: a late EOI and the delivery it made due, in EVTCHN_SEND's
 * 24-byte layout (no remote named), decoded into u.evtchn_send. */
static int dec_evtchn_eoi(struct trace_reader *r, struct trace_rec *rec)
{
	if (rec->payload_len != SEND_LEN_DELIVERY)
		return fail_rec(
		    r, rec, "EVTCHN_EOI payload of %" PRIu32 " bytes, want %u",
		    rec->payload_len, SEND_LEN_DELIVERY);
	return dec_evtchn_send(r, rec);
}

/* EVTCHN_DELIVER, EVTCHN_BIND and EVTCHN_CLOSE: a port and its peer. */
static int dec_evtchn_pair(struct trace_reader *r, struct trace_rec *rec)
{
	const uint8_t *p = rec->payload.p;

	(void)r;
	rec->u.evtchn_deliver.port = le32(p);
	rec->u.evtchn_deliver.remote_domid = le16(p + 4);
	rec->u.evtchn_deliver.remote_port = le32(p + 8);
	return 0;
}

static int dec_gnt_grant(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.gnt_grant) *g = &rec->u.gnt_grant;
	const uint8_t *p = rec->payload.p;

	g->ref = le32(p);
	g->peer_domid = le16(p + 4);
	g->readonly = p[6];
	g->gfn = le64(p + 8);
	return g->readonly > 1 ? bad_value(r, rec, "readonly", g->readonly) : 0;
}

static int dec_gnt_end(struct trace_reader *r, struct trace_rec *rec)
{
	(void)r;
	rec->u.gnt_end.ref = le32(rec->payload.p);
	rec->u.gnt_end.result = (int32_t)le32(rec->payload.p + 4);
	return 0;
}

static int dec_gnt_map(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.gnt_map) *m = &rec->u.gnt_map;
	const uint8_t *p = rec->payload.p;

	m->ref = le32(p);
	m->granter_domid = le16(p + 4);
	m->writable = p[6];
	m->result = (int32_t)le32(p + 8);
	return m->writable > 1 ? bad_value(r, rec, "writable", m->writable) : 0;
}

static int dec_gnt_unmap(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.gnt_unmap) *m = &rec->u.gnt_unmap;
	const uint8_t *p = rec->payload.p;

	m->ref = le32(p);
	m->granter_domid = le16(p + 4);
	m->writable = p[6];
	return m->writable > 1 ? bad_value(r, rec, "writable", m->writable) : 0;
}

static int dec_gnt_copy(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.gnt_copy) *c = &rec->u.gnt_copy;
	const uint8_t *p = rec->payload.p;

	c->ref = le32(p);
	c->granter_domid = le16(p + 4);
	c->to_granted = p[6];
	c->offset = le16(p + 8);
	c->length = le16(p + 10);
	c->result = (int32_t)le32(p + 12);
	return c->to_granted > 1
		   ? bad_value(r, rec, "to_granted", c->to_granted)
		   : 0;
}

static int dec_data(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.data) *d = &rec->u.data;
	const uint8_t *p = rec->payload.p;
	size_t at = 16;

	d->ref = le32(p);
	d->granter_domid = le16(p + 4);
	d->to_granted = p[6];
	d->what = p[7];
	d->offset = le32(p + 8);
	if (!take(rec, &at, le32(p + 12), &d->bytes))
		return too_short(r, rec, "its bytes");
	if (d->to_granted > 1)
		return bad_value(r, rec, "to_granted", d->to_granted);
	if (d->what < SIM_REC_DATA_IO || d->what > SIM_REC_DATA_ISO_DESC)
		return bad_value(r, rec, "what", d->what);
	if (d->bytes.len > SIM_REC_DATA_CHUNK)
		return fail_rec(r, rec, "DATA of %zu bytes, more than %u",
				d->bytes.len, SIM_REC_DATA_CHUNK);
	return 0;
}

static int dec_xs_write(struct trace_reader *r, struct trace_rec *rec)
{
	const uint8_t *p = rec->payload.p;
	size_t at = 8;

	if (!take(rec, &at, le16(p), &rec->u.xs_write.path) ||
	    !take(rec, &at, le32(p + 4), &rec->u.xs_write.value))
		return too_short(r, rec, "its path and value");
	return 0;
}

static int dec_xs_path(struct trace_reader *r, struct trace_rec *rec)
{
	size_t at = 4;

	if (!take(rec, &at, le16(rec->payload.p), &rec->u.xs_path.path))
		return too_short(r, rec, "its path");
	return 0;
}

static int dec_xs_set_perms(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.xs_set_perms) *s = &rec->u.xs_set_perms;
	const uint8_t *p = rec->payload.p;
	size_t at = 4;

	s->nperms = le16(p + 2);
	if (!take(rec, &at, le16(p), &s->path) ||
	    !take(rec, &at, 4u * s->nperms, &s->perms))
		return too_short(r, rec, "its path and permissions");
	return 0;
}

static int dec_xs_watch_fire(struct trace_reader *r, struct trace_rec *rec)
{
	const uint8_t *p = rec->payload.p;
	size_t at = 4;

	if (!take(rec, &at, le16(p), &rec->u.xs_watch_fire.path) ||
	    !take(rec, &at, le16(p + 2), &rec->u.xs_watch_fire.token))
		return too_short(r, rec, "its path and token");
	return 0;
}

/* XS_WATCH, XS_UNWATCH: lengths, the client, then path and token. */
static int dec_xs_watch(struct trace_reader *r, struct trace_rec *rec)
{
	const uint8_t *p = rec->payload.p;
	size_t at = 8;

	rec->u.xs_watch.client = le32(p + 4);
	if (!take(rec, &at, le16(p), &rec->u.xs_watch.path) ||
	    !take(rec, &at, le16(p + 2), &rec->u.xs_watch.token))
		return too_short(r, rec, "its path and token");
	return 0;
}

static int dec_xenbus_state(struct trace_reader *r, struct trace_rec *rec)
{
	const uint8_t *p = rec->payload.p;
	size_t at = 8;

	rec->u.xenbus_state.state = le32(p);
	if (!take(rec, &at, le16(p + 4), &rec->u.xenbus_state.path))
		return too_short(r, rec, "its path");
	if (rec->u.xenbus_state.state > XENBUS_STATE_MAX)
		return bad_value(r, rec, "xenbus state",
				 rec->u.xenbus_state.state);
	return 0;
}

/* The RUN fields, without the cross-record checks (also used to decode
 * the reader's own copy of record 0). */
static bool decode_run_fields(struct trace_rec *rec)
{
	typeof(rec->u.run) *u = &rec->u.run;
	const uint8_t *p = rec->payload.p;
	size_t at = RUN_FIXED;

	u->format = p[0];
	u->kind = p[1];
	u->flags = le16(p + 2);
	u->seed = le64(p + 8);
	u->ops_limit = le64(p + 16);
	u->time_limit_ns = le64(p + 24);
	u->config_len = le32(p + 40);
	return take(rec, &at, le16(p + 32), &u->frontend) &&
	       take(rec, &at, le16(p + 34), &u->faults) &&
	       take(rec, &at, le16(p + 36), &u->config_path) &&
	       take(rec, &at, le32(p + 44), &u->config_here);
}

static int keep_run(struct trace_reader *r, const struct trace_rec *rec)
{
	r->run_copy = malloc(rec->caplen);
	r->config = malloc((size_t)rec->u.run.config_len + 1);
	if (!r->run_copy || !r->config)
		return fail_rec(r, rec, "out of memory for the RUN record");
	memcpy(r->run_copy, rec->raw, rec->caplen);
	r->run = *rec;
	r->run.raw = r->run_copy;
	r->run.payload.p = r->run_copy + rec->hdr_len;
	decode_run_fields(&r->run);
	memcpy(r->config, rec->u.run.config_here.p, rec->u.run.config_here.len);
	r->config_len = rec->u.run.config_len;
	r->config_got = (uint32_t)rec->u.run.config_here.len;
	r->config_pending = r->config_got < r->config_len;
	r->config_done = !r->config_pending;
	r->config[r->config_got] = '\0';
	return 0;
}

static int dec_run(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.run) *u = &rec->u.run;

	if (!decode_run_fields(rec))
		return too_short(r, rec, "its strings and text");
	if (rec->index != 0)
		return fail_rec(r, rec, "RUN record not first");
	if (u->format != SIM_REC_VERSION)
		return bad_value(r, rec, "RUN format", u->format);
	if (u->kind < SIM_REC_RUN_PVSCSI || u->kind > SIM_REC_RUN_PVUSB)
		return bad_value(r, rec, "run kind", u->kind);
	if (u->config_len > TRACE_READ_CONFIG_MAX)
		return fail_rec(r, rec, "config_len %" PRIu32 " over %u",
				u->config_len, TRACE_READ_CONFIG_MAX);
	if (u->config_here.len > u->config_len)
		return fail_rec(r, rec,
				"config_here %zu over config_len %" PRIu32,
				u->config_here.len, u->config_len);
	if ((u->flags & SIM_REC_RUN_F_CONFIG_ABSENT) && u->config_len)
		return fail_rec(r, rec,
				"config absent but %" PRIu32 " bytes long",
				u->config_len);
	return keep_run(r, rec);
}

static int dec_run_more(struct trace_reader *r, struct trace_rec *rec)
{
	typeof(rec->u.run_more) *m = &rec->u.run_more;
	size_t at = 8;

	m->offset = le32(rec->payload.p);
	if (!take(rec, &at, le32(rec->payload.p + 4), &m->piece))
		return too_short(r, rec, "its piece");
	if (!r->config_pending)
		return fail_rec(r, rec,
				"RUN_MORE with no configuration text "
				"pending");
	if (m->offset != r->config_got)
		return fail_rec(r, rec,
				"RUN_MORE at offset %" PRIu32 ", want %" PRIu32,
				m->offset, r->config_got);
	if (m->piece.len > r->config_len - r->config_got)
		return fail_rec(
		    r, rec, "RUN_MORE of %zu bytes past config_len %" PRIu32,
		    m->piece.len, r->config_len);
	memcpy(r->config + r->config_got, m->piece.p, m->piece.len);
	r->config_got += (uint32_t)m->piece.len;
	r->config[r->config_got] = '\0';
	r->config_pending = r->config_got < r->config_len;
	r->config_done = !r->config_pending;
	return 0;
}

struct rec_type {
	uint8_t type;
	const char *name;
	uint32_t fixed; /* bytes of the payload before any string */
	int (*decode)(struct trace_reader *r, struct trace_rec *rec);
};

static const struct rec_type rec_types[] = {
    {SIM_REC_RING_ATTACH, "RING_ATTACH", 32, dec_ring_attach},
    {SIM_REC_RING_DETACH, "RING_DETACH", 12, dec_ring_detach},
    {SIM_REC_RING_ENTRY, "RING_ENTRY", 20, dec_ring_entry},
    {SIM_REC_RING_INDEX, "RING_INDEX", 12, dec_ring_index},
    {SIM_REC_RING_EVENT, "RING_EVENT", 12, dec_ring_event},
    {SIM_REC_EVTCHN_SEND, "EVTCHN_SEND", SEND_LEN_FIRST, dec_evtchn_send},
    {SIM_REC_EVTCHN_DELIVER, "EVTCHN_DELIVER", 12, dec_evtchn_pair},
    {SIM_REC_EVTCHN_BIND, "EVTCHN_BIND", 12, dec_evtchn_pair},
    {SIM_REC_EVTCHN_CLOSE, "EVTCHN_CLOSE", 12, dec_evtchn_pair},
    {SIM_REC_EVTCHN_EOI, "EVTCHN_EOI", SEND_LEN_DELIVERY, dec_evtchn_eoi},
    {SIM_REC_GNT_GRANT, "GNT_GRANT", 16, dec_gnt_grant},
    {SIM_REC_GNT_END, "GNT_END", 8, dec_gnt_end},
    {SIM_REC_GNT_MAP, "GNT_MAP", 12, dec_gnt_map},
    {SIM_REC_GNT_UNMAP, "GNT_UNMAP", 8, dec_gnt_unmap},
    {SIM_REC_GNT_COPY, "GNT_COPY", 16, dec_gnt_copy},
    {SIM_REC_DATA, "DATA", 16, dec_data},
    {SIM_REC_XS_WRITE, "XS_WRITE", 8, dec_xs_write},
    {SIM_REC_XS_MKDIR, "XS_MKDIR", 4, dec_xs_path},
    {SIM_REC_XS_RM, "XS_RM", 4, dec_xs_path},
    {SIM_REC_XS_SET_PERMS, "XS_SET_PERMS", 4, dec_xs_set_perms},
    {SIM_REC_XS_WATCH_FIRE, "XS_WATCH_FIRE", 4, dec_xs_watch_fire},
    {SIM_REC_XENBUS_STATE, "XENBUS_STATE", 8, dec_xenbus_state},
    {SIM_REC_XS_WATCH, "XS_WATCH", 8, dec_xs_watch},
    {SIM_REC_XS_UNWATCH, "XS_UNWATCH", 8, dec_xs_watch},
    {SIM_REC_RUN, "RUN", RUN_FIXED, dec_run},
    {SIM_REC_RUN_MORE, "RUN_MORE", 8, dec_run_more},
};

static const struct rec_type *find_type(uint8_t type)
{
	for (size_t i = 0; i < sizeof(rec_types) / sizeof(rec_types[0]); i++)
		if (rec_types[i].type == type)
			return &rec_types[i];
	return NULL;
}

static int decode_payload(struct trace_reader *r, struct trace_rec *rec)
{
	const struct rec_type *t = find_type(rec->type);

	if (!t) {
		rec->kind = TRACE_REC_UNKNOWN;
		return 0;
	}
	rec->kind = t->type;
	if (rec->payload_len < t->fixed)
		return fail_rec(r, rec,
				"%s payload of %" PRIu32
				" bytes, want at least %" PRIu32,
				t->name, rec->payload_len, t->fixed);
	if ((rec->flags & SIM_REC_F_BEFORE_ATTACH) &&
	    rec->type != SIM_REC_RING_ENTRY)
		return fail_rec(r, rec, "flag BEFORE_ATTACH on a %s record",
				t->name);
	if ((rec->flags & SIM_REC_F_REWRITTEN) &&
	    rec->type != SIM_REC_RING_ENTRY)
		return fail_rec(r, rec, "flag REWRITTEN on a %s record",
				t->name);
	if (r->config_pending && rec->type != SIM_REC_RUN_MORE)
		return fail_rec(r, rec,
				"%s record while the configuration "
				"text has %" PRIu32 " of %" PRIu32 " bytes",
				t->name, r->config_got, r->config_len);
	return t->decode(r, rec);
}

/* ---- the record header --------------------------------------------------- */

static int check_header(struct trace_reader *r, struct trace_rec *rec,
			uint32_t len)
{
	const uint8_t *d = rec->raw;

	if (rec->caplen != len)
		return fail_rec(r, rec,
				"record cut: %" PRIu32 " of %" PRIu32
				" bytes captured",
				rec->caplen, len);
	if (rec->caplen < SIM_REC_HDR_LEN)
		return fail_rec(r, rec,
				"record of %" PRIu32
				" bytes, shorter than the %u-byte header",
				rec->caplen, SIM_REC_HDR_LEN);
	if (memcmp(d, REC_MAGIC, 4) != 0)
		return fail_rec(r, rec,
				"bad magic %02x %02x %02x %02x, want "
				"58 50 56 54 (XPVT)",
				d[0], d[1], d[2], d[3]);
	rec->version = d[4];
	rec->type = d[5];
	rec->hdr_len = le16(d + 6);
	rec->seq = le64(d + 8);
	rec->time_ns = le64(d + 16);
	rec->domid = le16(d + 24);
	rec->flags = le16(d + 26);
	rec->payload_len = le32(d + 28);
	if (rec->version != SIM_REC_VERSION)
		return fail_rec(r, rec,
				"unknown version %u (this reader "
				"knows %u)",
				rec->version, SIM_REC_VERSION);
	if (rec->hdr_len < SIM_REC_HDR_LEN || rec->hdr_len > rec->caplen)
		return fail_rec(r, rec, "hdr_len %u outside %u..%" PRIu32,
				rec->hdr_len, SIM_REC_HDR_LEN, rec->caplen);
	if ((uint64_t)rec->hdr_len + rec->payload_len != rec->caplen)
		return fail_rec(r, rec,
				"hdr_len %u + payload_len %" PRIu32
				" != record length %" PRIu32,
				rec->hdr_len, rec->payload_len, rec->caplen);
	rec->payload.p = d + rec->hdr_len;
	rec->payload.len = rec->payload_len;
	return 0;
}

static int check_order(struct trace_reader *r, const struct trace_rec *rec)
{
	if (rec->seq != rec->index)
		return fail_rec(r, rec, "seq %" PRIu64 ", want %" PRIu64,
				rec->seq, rec->index);
	if (rec->time_ns != rec->ts_ns)
		return fail_rec(r, rec,
				"time_ns %" PRIu64
				" differs from the pcap time %" PRIu64,
				rec->time_ns, rec->ts_ns);
	if (rec->time_ns < r->last_time_ns)
		return fail_rec(
		    r, rec, "time goes back from %" PRIu64 " to %" PRIu64 " ns",
		    r->last_time_ns, rec->time_ns);
	if (rec->flags & ~FLAGS_KNOWN)
		return fail_rec(r, rec, "unknown flags 0x%x", rec->flags);
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

static int end_of_file(struct trace_reader *r)
{
	if (r->nrec == 0)
		return fail_at(r, 0, r->next_offset,
			       "no records (an empty trace)");
	if (r->config_pending)
		return fail_at(r, r->nrec, r->next_offset,
			       "file ends with %" PRIu32 " of %" PRIu32
			       " bytes of the configuration text",
			       r->config_got, r->config_len);
	r->at_end = true;
	return 0;
}

static int pcap_failed(struct trace_reader *r)
{
	const char *msg = pcap_geterr(r->pcap);
	long end = ftell(pcap_file(r->pcap));

	if (strncmp(msg, "truncated dump file", 19) == 0 && end >= 0)
		return fail_at(r, r->nrec, r->next_offset,
			       "file cut short: it ends at byte %ld (%s)", end,
			       msg);
	return fail_at(r, r->nrec, r->next_offset, "libpcap: %s", msg);
}

int trace_reader_next(struct trace_reader *r, struct trace_rec *rec)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;

	if (r->failed)
		return -1;
	if (r->at_end)
		return 0;
	rc = pcap_next_ex(r->pcap, &h, &data);
	if (rc == PCAP_ERROR_BREAK)
		return end_of_file(r);
	if (rc != 1)
		return pcap_failed(r);
	memset(rec, 0, sizeof(*rec));
	rec->index = r->nrec;
	rec->offset = r->next_offset;
	rec->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u +
		     (uint64_t)h->ts.tv_usec; /* nanoseconds, as opened */
	rec->caplen = h->caplen;
	rec->raw = data;
	r->next_offset += PCAP_REC_HDR + (uint64_t)h->caplen;
	if (check_header(r, rec, h->len) || check_order(r, rec) ||
	    decode_payload(r, rec))
		return -1;
	r->last_time_ns = rec->time_ns;
	r->nrec++;
	return 1;
}

/* ---- opening and the rest ------------------------------------------------ */

static void set_name(struct trace_reader *r, const char *name)
{
	size_t i;

	snprintf(r->name, sizeof(r->name), "%s", name ? name : "-");
	/* Messages are one printable line whatever the name holds. */
	for (i = 0; r->name[i]; i++)
		if ((unsigned char)r->name[i] < 0x20 || r->name[i] == 0x7f)
			r->name[i] = '?';
}

/* Byte offsets are only those of a classic pcap file, and times only
 * exact with nanosecond ones: libpcap would also take pcapng and
 * microsecond files (and scale their times), so the magic is read first
 * into *magic (0 when the file is shorter). 0, or -1 with f at its start
 * either way. */
static int peek_file_magic(struct trace_reader *r, FILE *f, uint32_t *magic)
{
	uint8_t m[4];
	size_t got = fread(m, 1, sizeof(m), f);

	*magic = got == 4 ? le32(m) : 0;
	if (fseek(f, 0, SEEK_SET) != 0)
		return fail_at(r, 0, 0, "cannot seek back to the start: %s",
			       strerror(errno));
	if (*magic == 0x0a0d0d0a)
		return fail_at(r, 0, 0,
			       "a pcapng file, want pcap with "
			       "nanosecond timestamps (editcap -F nsecpcap "
			       "converts it)");
	return 0;
}

/* What libpcap opened: an xpvsim trace's link type and timestamps. */
static void check_pcap(struct trace_reader *r, uint32_t magic)
{
	if (pcap_datalink(r->pcap) != SIM_REC_PCAP_LINKTYPE)
		fail_at(r, 0, 0,
			"foreign pcap: link type %d, want %d "
			"(USER0, an xpvsim trace)",
			pcap_datalink(r->pcap), SIM_REC_PCAP_LINKTYPE);
	else if (magic == 0xa1b2c3d4 || magic == 0xd4c3b2a1)
		fail_at(r, 0, 0,
			"microsecond timestamps, want nanosecond "
			"ones (magic a1b23c4d)");
}

struct trace_reader *trace_reader_fopen(FILE *f, const char *name, char *err,
					size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE];
	struct trace_reader *r = calloc(1, sizeof(*r));
	uint32_t magic;

	if (!r) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	set_name(r, name);
	if (peek_file_magic(r, f, &magic) == 0)
		r->pcap = pcap_fopen_offline_with_tstamp_precision(
		    f, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
	if (!r->pcap) {
		fclose(f);
		if (!r->failed)
			fail_at(r, 0, 0, "not a pcap file (libpcap: %s)",
				pcap_err);
	} else {
		check_pcap(r, magic);
	}
	if (r->failed) {
		snprintf(err, errlen, "%s", r->err);
		trace_reader_close(r);
		return NULL;
	}
	r->next_offset = PCAP_FILE_HDR;
	return r;
}

struct trace_reader *trace_reader_open(const char *path, char *err,
				       size_t errlen)
{
	FILE *f = fopen(path, "rb");

	if (!f) {
		snprintf(err, errlen, "%s: record 0 (byte offset 0): %s", path,
			 strerror(errno));
		return NULL;
	}
	return trace_reader_fopen(f, path, err, errlen);
}

void trace_reader_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->pcap)
		pcap_close(r->pcap);
	free(r->rings);
	free(r->run_copy);
	free(r->config);
	free(r);
}

const char *trace_reader_error(const struct trace_reader *r)
{
	return r->failed ? r->err : "";
}

uint64_t trace_reader_records(const struct trace_reader *r)
{
	return r->nrec;
}

const char *trace_reader_config(const struct trace_reader *r, size_t *len)
{
	if (!r->config_done)
		return NULL;
	*len = r->config_len;
	return r->config;
}

int trace_reader_gather_config(struct trace_reader *r, struct trace_rec *run,
			       const char **text, size_t *len)
{
	struct trace_rec rec;
	int rc;

	if (r->nrec != 0)
		return fail_at(r, r->nrec, r->next_offset,
			       "configuration gathered after record 0");
	rc = trace_reader_next(r, &rec);
	if (rc == 1 && rec.kind != SIM_REC_RUN)
		return fail_rec(r, &rec, "type %u first, want RUN (%u)",
				rec.type, SIM_REC_RUN);
	while (rc == 1 && !r->config_done)
		rc = trace_reader_next(r, &rec);
	if (rc != 1)
		return rc == 0 ? fail_at(r, r->nrec, r->next_offset,
					 "no RUN record")
			       : -1;
	if (run)
		*run = r->run;
	*text = trace_reader_config(r, len);
	return 0;
}

void trace_rec_perm(const struct trace_rec *rec, unsigned i, uint16_t *domid,
		    uint8_t *perm)
{
	const uint8_t *p = rec->u.xs_set_perms.perms.p + 4u * i;

	*domid = le16(p);
	*perm = p[2];
}
