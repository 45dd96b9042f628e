/*
 * The trace reader (sim/trace/trace_read.h): whole recordings of two
 * examples read back (counts per record type against an independent
 * decoding, the RUN record's text against the configuration file, every
 * ring entry on a ring attached before it, and the records a replay
 * needs: event indices, binds and closes, the delivery each send or late
 * EOI made due), a send of the first 12-byte layout, then broken files,
 * each made from a good
 * recording by one precise edit, refused with the exact message naming
 * the record and its byte offset.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sim/cli/simcfg.h"
#include "sim/run/pvscsi_run.h"
#include "sim/run/pvusb_run.h"
#include "sim/trace/trace_pcap.h"
#include "sim/trace/trace_read.h"
#include "tmpdir.h"
#include "trace_test.h"

#define NAME "t.pcap" /* the name the reader is given in messages */

struct buf {
	uint8_t *p;
	size_t len;
};

static void slurp(FILE *f, struct buf *b)
{
	long n;

	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	b->p = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(b->p);
	ck_assert_uint_eq(fread(b->p, 1, (size_t)n, f), (size_t)n);
	b->len = (size_t)n;
}

/* ---- recording the examples ---------------------------------------------- */

static void run(const struct simcfg *cfg, FILE *pcap)
{
	char err[512];

	if (cfg->nr_usbctrls) {
		struct pvusb_run_options opt = {.seed = 7, .has_seed = true};
		struct pvusb_run_result res;

		opt.trace_pcap = pcap;
		ck_assert_msg(pvusb_run(cfg, &opt, &res, err, sizeof(err)) == 0,
			      "run: %s", err);
		pvusb_run_result_free(&res);
	} else {
		struct pvscsi_run_options opt = {.seed = 7, .has_seed = true};
		struct pvscsi_run_result res;

		opt.trace_pcap = pcap;
		ck_assert_msg(pvscsi_run(cfg, &opt, &res, err, sizeof(err)) ==
				  0,
			      "run: %s", err);
		pvscsi_run_result_free(&res);
	}
}

/* examples/<name> copied to a scratch directory (its images made there)
 * and recorded: the trace in trace, the configuration's bytes in text. */
static void record_example(const char *name, struct buf *trace,
			   struct buf *text)
{
	char src[512], path[512], dir[64], err[512];
	struct simcfg *cfg;
	FILE *f, *pcap;

	snprintf(src, sizeof(src), "%s/%s", XPV_EXAMPLES, name);
	ck_assert_ptr_nonnull(f = fopen(src, "rb"));
	slurp(f, text);
	fclose(f);
	xpv_tmpdir_make(dir, sizeof(dir), "traceread");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(text->p, 1, text->len, f), text->len);
	ck_assert_int_eq(fclose(f), 0);
	if (simcfg_load(path, &cfg, err, sizeof(err)))
		ck_abort_msg("config: %s", err);
	ck_assert_ptr_nonnull(pcap = tmpfile());
	run(cfg, pcap);
	simcfg_free(cfg);
	slurp(pcap, trace);
	fclose(pcap);
	xpv_tmpdir_remove(dir);
}

/* The recording of pvscsi-hotplug, made once per process. */
static const struct buf *scsi_trace(void)
{
	static struct buf trace, text;

	if (!trace.p)
		record_example("pvscsi-hotplug.cfg", &trace, &text);
	return &trace;
}

/* ---- reading ------------------------------------------------------------- */

static struct trace_reader *open_buf(const struct buf *b, char *err)
{
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(f);
	if (b->len)
		ck_assert_uint_eq(fwrite(b->p, 1, b->len, f), b->len);
	rewind(f);
	return trace_reader_fopen(f, NAME, err, TRACE_READ_ERR_MAX);
}

struct tally {
	uint64_t per_type[256], unknown, records;
	uint16_t ring_kind[1024]; /* by ring_id, as attached */
	unsigned rings;
};

static void tally_rec(struct tally *t, const struct trace_rec *rec)
{
	t->per_type[rec->type]++;
	t->records++;
	if (rec->kind == TRACE_REC_UNKNOWN)
		t->unknown++;
	if (rec->kind == SIM_REC_RING_ATTACH) {
		ck_assert_uint_lt(t->rings + 1, 1024);
		t->ring_kind[++t->rings] = rec->u.ring_attach.kind;
		ck_assert_uint_eq(rec->u.ring_attach.ring_id, t->rings);
	}
	if (rec->kind == SIM_REC_RING_ENTRY) {
		uint16_t id = rec->u.ring_entry.ring_id;

		ck_assert_uint_ge(id, 1);
		ck_assert_uint_le(id, t->rings);
		ck_assert_uint_eq(rec->u.ring_entry.kind, t->ring_kind[id]);
		ck_assert_uint_eq(rec->u.ring_entry.entry.len,
				  rec->u.ring_entry.entry_size);
	}
}

/* Reads b whole: 0 with the tally, or -1 with the reader's message. */
static int read_all(const struct buf *b, struct tally *t, char *err)
{
	struct trace_reader *r = open_buf(b, err);
	struct trace_rec rec;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!r)
		return -1;
	while ((rc = trace_reader_next(r, &rec)) == 1)
		tally_rec(t, &rec);
	if (rc < 0)
		snprintf(err, TRACE_READ_ERR_MAX, "%s", trace_reader_error(r));
	ck_assert_int_eq(trace_reader_next(r, &rec), rc); /* it stays */
	trace_reader_close(r);
	return rc;
}

/* ---- the records a replay needs ------------------------------------------ */

/* What the event-channel and event-index records of a whole run must
 * agree on, followed record by record. */
struct replay_check {
	struct {
		uint8_t kind;
		uint16_t fe, be;
		bool seen[2];
		uint32_t last[2]; /* per enum sim_rec_event_idx */
	} ring[1024];		  /* by ring_id */
	unsigned rings;
	struct {
		uint16_t dom[2];
		uint32_t port[2];
		bool open;
	} chan[64]; /* interdomain channels, as BINDs made them */
	unsigned nchan;
	struct {
		uint16_t dom;
		uint32_t port;
		uint64_t at_ns;
	} due[64]; /* deliveries sends and EOIs scheduled, not yet seen */
	unsigned ndue;
	struct {
		uint16_t dom;
		uint32_t client;
		char key[256]; /* path, NUL, token */
		size_t keylen;
	} watch[64]; /* watches registered and not removed */
	unsigned nwatch;
	uint64_t client_watches; /* registered by a client of the store */
	uint64_t events[2], binds, closes, eois, scheduled, matched;
};

/* Each RING_EVENT: a ring attached before, its kind, written by the
 * index's owner, moving from where the previous record left it. */
static void rc_ring_event(struct replay_check *c, const struct trace_rec *rec)
{
	const typeof(rec->u.ring_event) *e = &rec->u.ring_event;
	const uint8_t *p = rec->payload.p;
	uint8_t w = e->which;

	ck_assert_uint_eq(e->ring_id, tt_u16(p));
	ck_assert_uint_eq(e->kind, p[2]);
	ck_assert_uint_eq(w, p[3]);
	ck_assert_uint_eq(e->old_idx, tt_u32(p + 4));
	ck_assert_uint_eq(e->new_idx, tt_u32(p + 8));
	ck_assert_uint_ge(e->ring_id, 1);
	ck_assert_uint_le(e->ring_id, c->rings);
	ck_assert_uint_eq(e->kind, c->ring[e->ring_id].kind);
	ck_assert_uint_eq(rec->domid, w == SIM_REC_REQ_EVENT
					  ? c->ring[e->ring_id].be
					  : c->ring[e->ring_id].fe);
	ck_assert_uint_ne(e->old_idx, e->new_idx);
	if (c->ring[e->ring_id].seen[w])
		ck_assert_uint_eq(e->old_idx, c->ring[e->ring_id].last[w]);
	c->ring[e->ring_id].seen[w] = true;
	c->ring[e->ring_id].last[w] = e->new_idx;
	c->events[w]++;
}

/* The open channel with dom's port on one side (*side), or -1. */
static int rc_channel(const struct replay_check *c, uint16_t dom, uint32_t port,
		      unsigned *side)
{
	for (unsigned i = 0; i < c->nchan; i++)
		for (unsigned s = 0; s < 2; s++)
			if (c->chan[i].open && c->chan[i].dom[s] == dom &&
			    c->chan[i].port[s] == port) {
				*side = s;
				return (int)i;
			}
	return -1;
}

/* BIND, CLOSE and DELIVER decode as their bytes say. */
static void rc_check_pair(const struct trace_rec *rec)
{
	const uint8_t *p = rec->payload.p;

	ck_assert_uint_eq(rec->u.evtchn_deliver.port, tt_u32(p));
	ck_assert_uint_eq(rec->u.evtchn_deliver.remote_domid, tt_u16(p + 4));
	ck_assert_uint_eq(rec->u.evtchn_deliver.remote_port, tt_u32(p + 8));
}

/* A bind opens a channel neither of whose ports is in one; a close with
 * a peer ends the channel to that peer, one without ends none. */
static void rc_bind_close(struct replay_check *c, const struct trace_rec *rec)
{
	const typeof(rec->u.evtchn_deliver) *b = &rec->u.evtchn_deliver;
	unsigned side = 0;
	int i = rc_channel(c, rec->domid, b->port, &side);

	rc_check_pair(rec);
	if (rec->kind == SIM_REC_EVTCHN_BIND) {
		ck_assert_int_eq(i, -1);
		ck_assert_int_eq(
		    rc_channel(c, b->remote_domid, b->remote_port, &side), -1);
		ck_assert_uint_lt(c->nchan, 64);
		c->chan[c->nchan].dom[0] = rec->domid;
		c->chan[c->nchan].port[0] = b->port;
		c->chan[c->nchan].dom[1] = b->remote_domid;
		c->chan[c->nchan].port[1] = b->remote_port;
		c->chan[c->nchan++].open = true;
		c->binds++;
		return;
	}
	c->closes++;
	if (b->remote_domid == SIM_REC_DOMID_NONE) {
		ck_assert_int_eq(i, -1);
		ck_assert_uint_eq(b->remote_port, 0);
		return;
	}
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(c->chan[i].dom[!side], b->remote_domid);
	ck_assert_uint_eq(c->chan[i].port[!side], b->remote_port);
	c->chan[i].open = false;
}

/* The delivery a send or an EOI scheduled (no fault plan: no storm),
 * remembered for the receiving port. */
static void rc_due(struct replay_check *c, const struct trace_rec *rec,
		   uint16_t dom, uint32_t port)
{
	const typeof(rec->u.evtchn_send) *s = &rec->u.evtchn_send;
	const uint8_t *p = rec->payload.p;

	ck_assert_uint_eq(rec->payload_len, 24);
	ck_assert_uint_eq(s->deliver_at_ns, tt_u64(p + 12));
	ck_assert_uint_eq(s->delivery_flags, p[20]);
	ck_assert(s->delivery_flags == 0 ||
		  s->delivery_flags == SIM_REC_SEND_SCHEDULED);
	if (!s->delivery_flags)
		return;
	ck_assert_uint_lt(c->ndue, 64);
	c->due[c->ndue].dom = dom;
	c->due[c->ndue].port = port;
	c->due[c->ndue++].at_ns = s->deliver_at_ns;
	c->scheduled++;
}

/* A late EOI names its port and no remote. */
static void rc_eoi(struct replay_check *c, const struct trace_rec *rec)
{
	const typeof(rec->u.evtchn_send) *s = &rec->u.evtchn_send;

	ck_assert_uint_eq(s->port, tt_u32(rec->payload.p));
	ck_assert_uint_eq(s->remote_domid, SIM_REC_DOMID_NONE);
	ck_assert_uint_eq(s->remote_port, 0);
	ck_assert_uint_eq(s->outcome, 0);
	rc_due(c, rec, rec->domid, s->port);
	c->eois++;
}

/* A send reaches the peer of an open channel or, on none, is dropped. */
static void rc_send(struct replay_check *c, const struct trace_rec *rec)
{
	const typeof(rec->u.evtchn_send) *s = &rec->u.evtchn_send;
	unsigned side = 0;
	int i = rc_channel(c, rec->domid, s->port, &side);

	if (s->outcome == 1) {
		ck_assert_int_eq(i, -1);
		ck_assert_uint_eq(s->delivery_flags, 0);
		rc_due(c, rec, 0, 0); /* its bytes, nothing due */
		return;
	}
	ck_assert_int_ge(i, 0);
	ck_assert_uint_eq(c->chan[i].dom[!side], s->remote_domid);
	ck_assert_uint_eq(c->chan[i].port[!side], s->remote_port);
	rc_due(c, rec, s->remote_domid, s->remote_port);
}

/* A delivery on a port a send scheduled one for comes at that time. */
static void rc_deliver(struct replay_check *c, const struct trace_rec *rec)
{
	rc_check_pair(rec);
	for (unsigned i = 0; i < c->ndue; i++) {
		if (c->due[i].dom != rec->domid ||
		    c->due[i].port != rec->u.evtchn_deliver.port)
			continue;
		ck_assert_uint_eq(rec->time_ns, c->due[i].at_ns);
		c->due[i] = c->due[--c->ndue];
		c->matched++;
		return;
	}
}

static size_t watch_key(const struct trace_rec *rec, char *key, size_t cap)
{
	size_t pl = rec->u.xs_watch.path.len, tl = rec->u.xs_watch.token.len;

	ck_assert_uint_le(pl + 1 + tl, cap);
	memcpy(key, rec->u.xs_watch.path.p, pl);
	key[pl] = '\0';
	memcpy(key + pl + 1, rec->u.xs_watch.token.p, tl);
	return pl + 1 + tl;
}

/* Every XS_UNWATCH removes a watch an XS_WATCH of the same domain,
 * client, path and token registered. */
static void rc_watch(struct replay_check *c, const struct trace_rec *rec)
{
	char key[256];
	size_t len = watch_key(rec, key, sizeof(key));
	unsigned i;

	if (rec->kind == SIM_REC_XS_WATCH) {
		ck_assert_uint_lt(c->nwatch, 64);
		c->watch[c->nwatch].dom = rec->domid;
		c->watch[c->nwatch].client = rec->u.xs_watch.client;
		memcpy(c->watch[c->nwatch].key, key, len);
		c->watch[c->nwatch++].keylen = len;
		c->client_watches += rec->u.xs_watch.client != 0;
		return;
	}
	for (i = 0; i < c->nwatch; i++)
		if (c->watch[i].dom == rec->domid &&
		    c->watch[i].client == rec->u.xs_watch.client &&
		    c->watch[i].keylen == len &&
		    memcmp(c->watch[i].key, key, len) == 0)
			break;
	ck_assert_msg(i < c->nwatch, "record %llu: unwatch of no watch",
		      (unsigned long long)rec->index);
	c->watch[i] = c->watch[--c->nwatch];
}

static void rc_rec(struct replay_check *c, const struct trace_rec *rec)
{
	switch (rec->kind) {
	case SIM_REC_RING_ATTACH:
		ck_assert_uint_lt(c->rings + 1, 1024);
		c->ring[++c->rings].kind = rec->u.ring_attach.kind;
		c->ring[c->rings].fe = rec->u.ring_attach.fe_domid;
		c->ring[c->rings].be = rec->u.ring_attach.be_domid;
		break;
	case SIM_REC_RING_EVENT:
		rc_ring_event(c, rec);
		break;
	case SIM_REC_EVTCHN_BIND:
	case SIM_REC_EVTCHN_CLOSE:
		rc_bind_close(c, rec);
		break;
	case SIM_REC_EVTCHN_SEND:
		rc_send(c, rec);
		break;
	case SIM_REC_EVTCHN_EOI:
		rc_eoi(c, rec);
		break;
	case SIM_REC_EVTCHN_DELIVER:
		rc_deliver(c, rec);
		break;
	case SIM_REC_XS_WATCH:
	case SIM_REC_XS_UNWATCH:
		rc_watch(c, rec);
		break;
	}
}

/* A whole run's trace, read for the records a replay needs: both event
 * indices written, channels bound and closed, late EOIs, sends in the
 * 24-byte layout, and every delivery a send or an EOI scheduled came
 * when it said. */
static void check_replay_records(const struct buf *trace)
{
	static struct replay_check c;
	char err[TRACE_READ_ERR_MAX];
	struct trace_reader *r = open_buf(trace, err);
	struct trace_rec rec;
	int rc;

	ck_assert_msg(r != NULL, "%s", err);
	memset(&c, 0, sizeof(c));
	while ((rc = trace_reader_next(r, &rec)) == 1)
		rc_rec(&c, &rec);
	ck_assert_msg(rc == 0, "%s", trace_reader_error(r));
	trace_reader_close(r);
	ck_assert_uint_gt(c.events[SIM_REC_REQ_EVENT], 0);
	ck_assert_uint_gt(c.events[SIM_REC_RSP_EVENT], 0);
	ck_assert_uint_gt(c.binds, 0);
	ck_assert_uint_gt(c.closes, 0);
	ck_assert_uint_gt(c.eois, 0);
	ck_assert_uint_gt(c.client_watches, 0);
	ck_assert_uint_gt(c.scheduled, 0);
	ck_assert_uint_eq(c.matched, c.scheduled);
}

/* ---- whole recordings ---------------------------------------------------- */

static void check_example(const char *name, uint8_t run_kind)
{
	static const uint8_t busy[] = {
	    SIM_REC_RING_ATTACH,  SIM_REC_RING_ENTRY,	  SIM_REC_RING_EVENT,
	    SIM_REC_EVTCHN_SEND,  SIM_REC_EVTCHN_DELIVER, SIM_REC_EVTCHN_BIND,
	    SIM_REC_EVTCHN_CLOSE, SIM_REC_EVTCHN_EOI,	  SIM_REC_GNT_GRANT,
	    SIM_REC_GNT_MAP,	  SIM_REC_DATA,		  SIM_REC_XS_WRITE,
	    SIM_REC_XENBUS_STATE, SIM_REC_XS_WATCH,	  SIM_REC_XS_UNWATCH,
	};
	struct buf trace, text;
	struct tally t;
	struct tt_file tt;
	struct trace_reader *r;
	struct trace_rec run;
	char err[TRACE_READ_ERR_MAX];
	const char *cfg;
	size_t len;
	FILE *f;

	record_example(name, &trace, &text);
	ck_assert_msg(read_all(&trace, &t, err) == 0, "%s", err);
	/* Every kind of event a whole run makes, once at least. */
	ck_assert_uint_eq(t.per_type[SIM_REC_RUN], 1);
	for (unsigned i = 0; i < sizeof(busy) / sizeof(busy[0]); i++)
		ck_assert_msg(t.per_type[busy[i]] > 0, "no record of type %u",
			      busy[i]);
	/* Counts per type against trace_test.h's own decoding. */
	ck_assert_ptr_nonnull(f = fmemopen(trace.p, trace.len, "rb"));
	tt_read(f, &tt);
	ck_assert_uint_eq(t.records, tt.n);
	for (size_t i = 0; i < tt.n; i++)
		t.per_type[tt.recs[i].type]--;
	for (unsigned i = 0; i < 256; i++)
		ck_assert_msg(t.per_type[i] == 0, "type %u miscounted", i);
	tt_free(&tt);
	ck_assert_uint_eq(t.unknown, 0);
	ck_assert_uint_gt(t.rings, 0);
	check_replay_records(&trace);

	/* The RUN record and the configuration text, byte for byte. */
	ck_assert_ptr_nonnull(r = open_buf(&trace, err));
	ck_assert_msg(trace_reader_gather_config(r, &run, &cfg, &len) == 0,
		      "%s", trace_reader_error(r));
	ck_assert_uint_eq(len, text.len);
	ck_assert_mem_eq(cfg, text.p, len);
	ck_assert_uint_eq(cfg[len], '\0');
	ck_assert_uint_eq(run.kind, SIM_REC_RUN);
	ck_assert_uint_eq(run.u.run.kind, run_kind);
	ck_assert_uint_eq(run.u.run.seed, 7);
	ck_assert_uint_eq(run.u.run.config_len, text.len);
	ck_assert_uint_gt(run.u.run.frontend.len, 0);
	ck_assert_uint_eq(trace_reader_records(r), 1); /* no RUN_MORE needed */
	trace_reader_close(r);
	free(trace.p);
	free(text.p);
}

START_TEST(reads_pvscsi_hotplug)
{
	check_example("pvscsi-hotplug.cfg", SIM_REC_RUN_PVSCSI);
}
END_TEST

START_TEST(reads_pvusb_desk)
{
	check_example("pvusb-desk.cfg", SIM_REC_RUN_PVUSB);
}
END_TEST

/* ---- broken files -------------------------------------------------------- */

/* File offset of record n's pcap header in b. */
static size_t rec_off(const struct buf *b, uint64_t n)
{
	size_t off = 24;

	for (uint64_t i = 0; i < n; i++) {
		ck_assert_uint_le(off + 16, b->len);
		off += 16 + tt_u32(b->p + off + 8);
	}
	ck_assert_uint_le(off + 16, b->len);
	return off;
}

/* The xpv record of record n (after its pcap header). */
static uint8_t *xrec(const struct buf *b, uint64_t n)
{
	return b->p + rec_off(b, n) + 16;
}

/* The first record after record 0 of type and for which the
 * predicate holds (NULL: any), in one walk over the file. */
static uint64_t first_where(const struct buf *b, uint8_t type,
			    bool (*pred)(const uint8_t *x))
{
	size_t off = rec_off(b, 1);

	for (uint64_t n = 1;; n++) {
		const uint8_t *x = b->p + off + 16;

		ck_assert_uint_le(off + 16 + SIM_REC_HDR_LEN, b->len);
		if (x[5] == type && (!pred || pred(x)))
			return n;
		off += 16 + tt_u32(b->p + off + 8);
	}
}

static uint64_t first_of(const struct buf *b, uint8_t type)
{
	return first_where(b, type, NULL);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The payload of record n. */
static uint8_t *pay(const struct buf *b, uint64_t n)
{
	return xrec(b, n) + SIM_REC_HDR_LEN;
}

/* Record n's payload cut, or grown with zeros, to len bytes: its pcap
 * lengths and payload_len follow, the records after it move. */
static void resize_payload(struct buf *b, uint64_t n, uint32_t len)
{
	size_t o = rec_off(b, n);
	uint32_t caplen = tt_u32(b->p + o + 8);
	uint32_t old = tt_u32(b->p + o + 16 + 28);
	size_t end = o + 16 + caplen; /* the next record's pcap header */
	size_t start = end - old;     /* the payload's first byte */

	if (len > old) {
		b->p = realloc(b->p, b->len + (len - old));
		ck_assert_ptr_nonnull(b->p);
	}
	memmove(b->p + start + len, b->p + end, b->len - end);
	if (len > old)
		memset(b->p + end, 0, len - old);
	b->len = b->len - old + len;
	put32(b->p + o + 8, caplen - old + len);
	put32(b->p + o + 12, caplen - old + len);
	put32(b->p + o + 16 + 28, len);
}

/* A send after time 0 that scheduled a delivery (x: the record). */
static bool scheduled_after_0(const uint8_t *x)
{
	return tt_u64(x + 16) > 0 &&
	       x[SIM_REC_HDR_LEN + 20] == SIM_REC_SEND_SCHEDULED;
}

static uint64_t first_scheduled_send(const struct buf *b)
{
	return first_where(b, SIM_REC_EVTCHN_SEND, scheduled_after_0);
}

#define WANT(...) snprintf(want, TRACE_READ_ERR_MAX, NAME ": " __VA_ARGS__)

static void empty_file(struct buf *b, char *want)
{
	b->len = 0;
	WANT("record 0 (byte offset 0): not a pcap file (libpcap: truncated "
	     "dump file; tried to read 4 file header bytes, only got 0)");
}

static void pcapng_magic(struct buf *b, char *want)
{
	put32(b->p, 0x0a0d0d0a); /* a pcapng section header block */
	WANT("record 0 (byte offset 0): a pcapng file, want pcap with "
	     "nanosecond timestamps (editcap -F nsecpcap converts it)");
}

static void microsecond_magic(struct buf *b, char *want)
{
	put32(b->p, 0xa1b2c3d4);
	WANT("record 0 (byte offset 0): microsecond timestamps, want "
	     "nanosecond ones (magic a1b23c4d)");
}

static void header_only(struct buf *b, char *want)
{
	b->len = 24;
	WANT("record 0 (byte offset 24): no records (an empty trace)");
}

static void cut_mid_header(struct buf *b, char *want)
{
	size_t o = rec_off(b, 3);

	b->len = o + 5;
	WANT("record 3 (byte offset %zu): file cut short: it ends at byte %zu "
	     "(truncated dump file; tried to read 16 header bytes, only got "
	     "5)",
	     o, o + 5);
}

static void cut_mid_record(struct buf *b, char *want)
{
	size_t o = rec_off(b, 3);
	uint32_t caplen = tt_u32(b->p + o + 8);

	b->len = o + 16 + 10;
	WANT("record 3 (byte offset %zu): file cut short: it ends at byte %zu "
	     "(truncated dump file; tried to read %u captured bytes, only got "
	     "10)",
	     o, o + 26, caplen);
}

static void flip_magic(struct buf *b, char *want)
{
	xrec(b, 2)[0] ^= 0xff; /* 'X' becomes 0xa7 */
	WANT("record 2 (byte offset %zu): bad magic a7 50 56 54, want "
	     "58 50 56 54 (XPVT)",
	     rec_off(b, 2));
}

static void bump_version(struct buf *b, char *want)
{
	xrec(b, 2)[4] = 2;
	WANT("record 2 (byte offset %zu): unknown version 2 (this reader "
	     "knows 1)",
	     rec_off(b, 2));
}

static void payload_too_big(struct buf *b, char *want)
{
	uint8_t *x = xrec(b, 2);
	uint32_t pl = tt_u32(x + 28);

	put32(x + 28, pl + 1);
	WANT("record 2 (byte offset %zu): hdr_len 32 + payload_len %u != "
	     "record length %u",
	     rec_off(b, 2), pl + 1, pl + 32);
}

static void cut_record(struct buf *b, char *want)
{
	size_t o = rec_off(b, 2);
	uint32_t len = tt_u32(b->p + o + 12);

	put32(b->p + o + 12, len + 4); /* len: the record was longer */
	WANT("record 2 (byte offset %zu): record cut: %u of %u bytes "
	     "captured",
	     o, len, len + 4);
}

static void ring_never_attached(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_RING_ENTRY);

	put16(xrec(b, n) + 32, 99);
	WANT("record %llu (byte offset %zu): ring 99 not introduced by a "
	     "RING_ATTACH",
	     (unsigned long long)n, rec_off(b, n));
}

static void entry_size_wrong(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_RING_ENTRY);
	uint8_t *x = xrec(b, n);
	uint32_t size = tt_u32(x + 32 + 16);

	put32(x + 32 + 16, size - 4);
	WANT("record %llu (byte offset %zu): entry_size %u, ring %u has %u",
	     (unsigned long long)n, rec_off(b, n), size - 4, tt_u16(x + 32),
	     size);
}

static void seq_gap(struct buf *b, char *want)
{
	put64(xrec(b, 5) + 8, 6);
	WANT("record 5 (byte offset %zu): seq 6, want 5", rec_off(b, 5));
}

/* Record n and its pcap header both say t ns. */
static void set_time(struct buf *b, uint64_t n, uint64_t t)
{
	size_t o = rec_off(b, n);

	put32(b->p + o, (uint32_t)(t / 1000000000u));
	put32(b->p + o + 4, (uint32_t)(t % 1000000000u));
	put64(b->p + o + 16 + 16, t);
}

static void time_backwards(struct buf *b, char *want)
{
	uint64_t n = 1, t;

	while (tt_u64(xrec(b, n) + 16) == 0)
		n++;
	t = tt_u64(xrec(b, n) + 16);
	set_time(b, n + 1, t - 1);
	WANT("record %llu (byte offset %zu): time goes back from %llu to %llu "
	     "ns",
	     (unsigned long long)n + 1, rec_off(b, n + 1),
	     (unsigned long long)t, (unsigned long long)t - 1);
}

static void time_not_pcap_time(struct buf *b, char *want)
{
	put64(xrec(b, 4) + 16, tt_u64(xrec(b, 4) + 16) + 1);
	WANT("record 4 (byte offset %zu): time_ns %llu differs from the pcap "
	     "time %llu",
	     rec_off(b, 4), (unsigned long long)tt_u64(xrec(b, 4) + 16),
	     (unsigned long long)tt_u64(xrec(b, 4) + 16) - 1);
}

/* A short record (payload under RUN's 48 fixed bytes) retyped RUN. */
static void run_not_first(struct buf *b, char *want)
{
	uint64_t n = 1;

	while (tt_u32(xrec(b, n) + 28) >= 48)
		n++;
	xrec(b, n)[5] = SIM_REC_RUN;
	WANT("record %llu (byte offset %zu): RUN payload of %u bytes, want at "
	     "least 48",
	     (unsigned long long)n, rec_off(b, n), tt_u32(xrec(b, n) + 28));
}

/* EVTCHN_SEND: 12 or 24 bytes, nothing else. */
static void send_between_layouts(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_EVTCHN_SEND);

	resize_payload(b, n, 16);
	WANT("record %llu (byte offset %zu): EVTCHN_SEND payload of 16 bytes, "
	     "want 12 or 24",
	     (unsigned long long)n, rec_off(b, n));
}

static void send_longer(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_EVTCHN_SEND);

	resize_payload(b, n, 28);
	WANT("record %llu (byte offset %zu): EVTCHN_SEND payload of 28 bytes, "
	     "want 12 or 24",
	     (unsigned long long)n, rec_off(b, n));
}

static void send_flag_unknown(struct buf *b, char *want)
{
	uint64_t n = first_scheduled_send(b);

	pay(b, n)[20] |= 0x4;
	WANT("record %llu (byte offset %zu): delivery flags 0x5: unknown bits "
	     "0x4",
	     (unsigned long long)n, rec_off(b, n));
}

static void send_storm_unscheduled(struct buf *b, char *want)
{
	uint64_t n = first_scheduled_send(b);

	pay(b, n)[20] = SIM_REC_SEND_STORM;
	WANT("record %llu (byte offset %zu): delivery flags 0x2: STORM without "
	     "SCHEDULED",
	     (unsigned long long)n, rec_off(b, n));
}

static void send_delivery_before(struct buf *b, char *want)
{
	uint64_t n = first_scheduled_send(b);
	uint64_t t = tt_u64(xrec(b, n) + 16);

	put64(pay(b, n) + 12, t - 1);
	WANT("record %llu (byte offset %zu): deliver_at_ns %llu before the "
	     "record's time %llu",
	     (unsigned long long)n, rec_off(b, n), (unsigned long long)t - 1,
	     (unsigned long long)t);
}

static void send_time_unscheduled(struct buf *b, char *want)
{
	uint64_t n = first_scheduled_send(b);

	pay(b, n)[20] = 0;
	WANT("record %llu (byte offset %zu): deliver_at_ns %llu without "
	     "SCHEDULED",
	     (unsigned long long)n, rec_off(b, n),
	     (unsigned long long)tt_u64(pay(b, n) + 12));
}

static void send_dropped_scheduled(struct buf *b, char *want)
{
	uint64_t n = first_scheduled_send(b);

	pay(b, n)[6] = 1; /* outcome: dropped */
	WANT("record %llu (byte offset %zu): a dropped send with a delivery",
	     (unsigned long long)n, rec_off(b, n));
}

/* RING_EVENT: a ring attached and not detached, of its kind, and an
 * index that is req_event or rsp_event. */
static void event_ring_never_attached(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_RING_EVENT);

	put16(pay(b, n), 99);
	WANT("record %llu (byte offset %zu): ring 99 not introduced by a "
	     "RING_ATTACH",
	     (unsigned long long)n, rec_off(b, n));
}

static void event_kind_wrong(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_RING_EVENT);
	uint8_t kind = pay(b, n)[2];

	pay(b, n)[2] = SIM_REC_RING_USBIF_CONN;
	WANT("record %llu (byte offset %zu): ring %u is of kind %u, the record "
	     "says %u",
	     (unsigned long long)n, rec_off(b, n), tt_u16(pay(b, n)), kind,
	     SIM_REC_RING_USBIF_CONN);
}

static void event_which_bad(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_RING_EVENT);

	pay(b, n)[3] = 2;
	WANT("record %llu (byte offset %zu): which 2 out of range",
	     (unsigned long long)n, rec_off(b, n));
}

/* The last EVTCHN_DELIVER before the first RING_EVENT becomes a
 * RING_DETACH of that ring (the same 12 payload bytes): the next record
 * of the ring uses it after its detach. */
static void event_after_detach(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_RING_EVENT), m = n, next;
	uint16_t id = tt_u16(pay(b, n));
	uint8_t kind = pay(b, n)[2];

	while (xrec(b, --m)[5] != SIM_REC_EVTCHN_DELIVER)
		ck_assert_uint_gt(m, 1);
	ck_assert_uint_gt(m, first_of(b, SIM_REC_RING_ATTACH));
	xrec(b, m)[5] = SIM_REC_RING_DETACH;
	put16(pay(b, m), id);
	pay(b, m)[2] = kind;
	pay(b, m)[3] = 0;
	for (next = m + 1; next < n; next++)
		if (xrec(b, next)[5] >= SIM_REC_RING_DETACH &&
		    xrec(b, next)[5] <= SIM_REC_RING_EVENT &&
		    tt_u16(pay(b, next)) == id)
			break;
	WANT("record %llu (byte offset %zu): ring %u used after its "
	     "RING_DETACH",
	     (unsigned long long)next, rec_off(b, next), id);
}

/* The header flag REWRITTEN: on a response entry only. */
static void rewritten_request(struct buf *b, char *want)
{
	uint64_t n = first_where(b, SIM_REC_RING_ENTRY, NULL);

	while (pay(b, n)[3] != SIM_REC_REQUEST)
		n++;
	put16(xrec(b, n) + 26, SIM_REC_F_REWRITTEN);
	WANT("record %llu (byte offset %zu): flag REWRITTEN on a request",
	     (unsigned long long)n, rec_off(b, n));
}

static void rewritten_send(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_EVTCHN_SEND);

	put16(xrec(b, n) + 26, SIM_REC_F_REWRITTEN);
	WANT("record %llu (byte offset %zu): flag REWRITTEN on a EVTCHN_SEND "
	     "record",
	     (unsigned long long)n, rec_off(b, n));
}

/* EVTCHN_EOI: the 24-byte layout only. */
static void eoi_longer(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_EVTCHN_EOI);

	resize_payload(b, n, 28);
	WANT("record %llu (byte offset %zu): EVTCHN_EOI payload of 28 bytes, "
	     "want 24",
	     (unsigned long long)n, rec_off(b, n));
}

static void eoi_first_layout(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_EVTCHN_EOI);

	resize_payload(b, n, 12);
	WANT("record %llu (byte offset %zu): EVTCHN_EOI payload of 12 bytes, "
	     "want at least 24",
	     (unsigned long long)n, rec_off(b, n));
}

/* The fixed payloads of the new types. */
static void event_short(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_RING_EVENT);

	resize_payload(b, n, 8);
	WANT("record %llu (byte offset %zu): RING_EVENT payload of 8 bytes, "
	     "want at least 12",
	     (unsigned long long)n, rec_off(b, n));
}

static void bind_short(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_EVTCHN_BIND);

	resize_payload(b, n, 8);
	WANT("record %llu (byte offset %zu): EVTCHN_BIND payload of 8 bytes, "
	     "want at least 12",
	     (unsigned long long)n, rec_off(b, n));
}

static void close_short(struct buf *b, char *want)
{
	uint64_t n = first_of(b, SIM_REC_EVTCHN_CLOSE);

	resize_payload(b, n, 11);
	WANT("record %llu (byte offset %zu): EVTCHN_CLOSE payload of 11 bytes, "
	     "want at least 12",
	     (unsigned long long)n, rec_off(b, n));
}

/* A pcap of Ethernet frames, one frame, as libpcap writes it. */
static void foreign_link(struct buf *b, char *want)
{
	static const uint8_t frame[60];
	struct pcap_pkthdr h = {.caplen = sizeof(frame), .len = sizeof(frame)};
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d;
	FILE *f = tmpfile();

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(d = pcap_dump_fopen(p, f));
	pcap_dump((u_char *)d, &h, frame);
	pcap_dump_flush(d);
	free(b->p);
	slurp(f, b);
	pcap_dump_close(d); /* closes f */
	pcap_close(p);
	WANT("record 0 (byte offset 0): foreign pcap: link type 1, want 147 "
	     "(USER0, an xpvsim trace)");
}

static const struct {
	const char *what;
	void (*edit)(struct buf *b, char *want);
} broken[] = {
    {"empty file", empty_file},
    {"pcapng", pcapng_magic},
    {"microsecond pcap", microsecond_magic},
    {"global header only", header_only},
    {"cut in a record header", cut_mid_header},
    {"cut in a record", cut_mid_record},
    {"magic flipped", flip_magic},
    {"version bumped", bump_version},
    {"payload_len too big", payload_too_big},
    {"caplen < len", cut_record},
    {"ring never attached", ring_never_attached},
    {"entry_size not the ring's", entry_size_wrong},
    {"seq gap", seq_gap},
    {"time going backwards", time_backwards},
    {"time_ns not the pcap time", time_not_pcap_time},
    {"RUN after record 0", run_not_first},
    {"foreign link type", foreign_link},
    {"EVTCHN_SEND of 16 bytes", send_between_layouts},
    {"EVTCHN_SEND of 28 bytes", send_longer},
    {"delivery flag unknown", send_flag_unknown},
    {"STORM without SCHEDULED", send_storm_unscheduled},
    {"delivery before the send", send_delivery_before},
    {"delivery time without SCHEDULED", send_time_unscheduled},
    {"dropped send with a delivery", send_dropped_scheduled},
    {"RING_EVENT of a ring never attached", event_ring_never_attached},
    {"RING_EVENT of another kind", event_kind_wrong},
    {"RING_EVENT which 2", event_which_bad},
    {"RING_EVENT after the ring's detach", event_after_detach},
    {"RING_EVENT short", event_short},
    {"EVTCHN_BIND short", bind_short},
    {"EVTCHN_CLOSE short", close_short},
    {"EVTCHN_EOI of 28 bytes", eoi_longer},
    {"EVTCHN_EOI of 12 bytes", eoi_first_layout},
    {"REWRITTEN on a request", rewritten_request},
    {"REWRITTEN on a send", rewritten_send},
};

START_TEST(refuses_broken_file)
{
	const struct buf *good = scsi_trace();
	char want[TRACE_READ_ERR_MAX], err[TRACE_READ_ERR_MAX] = "";
	struct buf b = {malloc(good->len), good->len};
	struct tally t;

	ck_assert_ptr_nonnull(b.p);
	memcpy(b.p, good->p, good->len);
	broken[_i].edit(&b, want);
	ck_assert_msg(read_all(&b, &t, err) == -1, "%s: accepted",
		      broken[_i].what);
	ck_assert_msg(strcmp(err, want) == 0, "%s:\n got  %s\n want %s",
		      broken[_i].what, err, want);
	free(b.p);
}
END_TEST

/* A type the reader does not know is returned with its bytes and the
 * records after it are read as usual; extra header bytes are skipped. */
START_TEST(skips_unknown_type_and_header_bytes)
{
	const struct buf *good = scsi_trace();
	struct buf b = {malloc(good->len + 8), good->len + 8};
	char err[TRACE_READ_ERR_MAX];
	struct tally t, base;
	size_t o;
	uint32_t caplen;

	ck_assert_ptr_nonnull(b.p);
	ck_assert_msg(read_all(good, &base, err) == 0, "%s", err);
	/* Record 2: 8 more header bytes, same payload. */
	o = rec_off(good, 2);
	caplen = tt_u32(good->p + o + 8);
	memcpy(b.p, good->p, o + 16 + 32);
	memset(b.p + o + 16 + 32, 0xee, 8);
	memcpy(b.p + o + 16 + 40, good->p + o + 16 + 32,
	       good->len - (o + 16 + 32));
	put32(b.p + o + 8, caplen + 8);
	put32(b.p + o + 12, caplen + 8);
	put16(b.p + o + 16 + 6, 40);
	/* Record 3: a type from the future. */
	xrec(&b, 3)[5] = 200;
	ck_assert_msg(read_all(&b, &t, err) == 0, "%s", err);
	ck_assert_uint_eq(t.records, base.records);
	ck_assert_uint_eq(t.unknown, 1);
	ck_assert_uint_eq(t.per_type[200], 1);
	free(b.p);
}
END_TEST

/* A send of the first layout (12 bytes, as files written before the
 * delivery was appended have it) is read with no delivery; the rest of
 * the file reads as before. */
START_TEST(reads_first_send_layout)
{
	const struct buf *good = scsi_trace();
	struct buf b = {malloc(good->len), good->len};
	char err[TRACE_READ_ERR_MAX];
	struct trace_reader *r;
	struct trace_rec rec, was;
	struct tally t, base;
	uint64_t n;
	int rc;

	ck_assert_ptr_nonnull(b.p);
	memcpy(b.p, good->p, good->len);
	n = first_scheduled_send(&b);
	ck_assert_msg(read_all(good, &base, err) == 0, "%s", err);
	ck_assert_ptr_nonnull(r = open_buf(good, err));
	while ((rc = trace_reader_next(r, &was)) == 1 && was.index < n)
		;
	ck_assert_int_eq(rc, 1);
	trace_reader_close(r); /* was: its scalar fields only from here */
	ck_assert_uint_eq(was.u.evtchn_send.delivery_flags,
			  SIM_REC_SEND_SCHEDULED);
	ck_assert_uint_gt(was.u.evtchn_send.deliver_at_ns, was.time_ns);

	resize_payload(&b, n, 12);
	ck_assert_uint_eq(b.len, good->len - 12);
	ck_assert_msg(read_all(&b, &t, err) == 0, "%s", err);
	ck_assert_uint_eq(t.records, base.records);
	ck_assert_ptr_nonnull(r = open_buf(&b, err));
	while ((rc = trace_reader_next(r, &rec)) == 1 && rec.index < n)
		;
	ck_assert_int_eq(rc, 1);
	ck_assert_uint_eq(rec.kind, SIM_REC_EVTCHN_SEND);
	ck_assert_uint_eq(rec.payload_len, 12);
	ck_assert_uint_eq(rec.u.evtchn_send.port, was.u.evtchn_send.port);
	ck_assert_uint_eq(rec.u.evtchn_send.remote_domid,
			  was.u.evtchn_send.remote_domid);
	ck_assert_uint_eq(rec.u.evtchn_send.remote_port,
			  was.u.evtchn_send.remote_port);
	ck_assert_uint_eq(rec.u.evtchn_send.outcome, 0);
	ck_assert_uint_eq(rec.u.evtchn_send.delivery_flags, 0);
	ck_assert_uint_eq(rec.u.evtchn_send.deliver_at_ns, 0);
	trace_reader_close(r);
	free(b.p);
}
END_TEST

/* A configuration over one record: RUN then RUN_MORE pieces, joined; the
 * same file with a piece's offset moved is refused. */
START_TEST(gathers_run_more_pieces)
{
	static char text[150000];
	struct sim_rec_run in = {
	    .kind = SIM_REC_RUN_PVUSB,
	    .seed = 5,
	    .frontend = "xpv-usbfront",
	    .config_path = "big.cfg",
	    .config_text = text,
	    .config_len = sizeof(text),
	};
	char err[TRACE_READ_ERR_MAX], want[TRACE_READ_ERR_MAX];
	struct sim_config cfg;
	struct trace_reader *r;
	struct trace_rec run;
	struct sim *sim;
	struct buf b;
	const char *got;
	size_t len;
	uint8_t *x;
	FILE *f;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (char)('a' + i * 7 % 26);
	sim_config_default(&cfg, 1);
	ck_assert_ptr_nonnull(sim = sim_create(&cfg));
	ck_assert_ptr_nonnull(f = tmpfile());
	ck_assert_int_eq(sim_recorder_attach(sim, f), 0);
	sim_rec_run(sim, &in);
	ck_assert_int_eq(sim_recorder_detach(sim), 0);
	sim_destroy(sim);
	slurp(f, &b);
	fclose(f);

	ck_assert_ptr_nonnull(r = open_buf(&b, err));
	ck_assert_msg(trace_reader_gather_config(r, &run, &got, &len) == 0,
		      "%s", trace_reader_error(r));
	ck_assert_uint_eq(trace_reader_records(r), 3); /* RUN + 2 RUN_MORE */
	ck_assert_uint_eq(len, sizeof(text));
	ck_assert_mem_eq(got, text, len);
	ck_assert_uint_eq(run.u.run.seed, 5);
	ck_assert_uint_eq(run.u.run.frontend.len, strlen("xpv-usbfront"));
	ck_assert_mem_eq(run.u.run.frontend.p, "xpv-usbfront",
			 run.u.run.frontend.len);
	trace_reader_close(r);

	x = xrec(&b, 2);
	put32(x + 32, tt_u32(x + 32) + 1);
	ck_assert_int_eq(read_all(&b, &(struct tally){0}, err), -1);
	WANT("record 2 (byte offset %zu): RUN_MORE at offset %u, want %u",
	     rec_off(&b, 2), tt_u32(x + 32), tt_u32(x + 32) - 1);
	ck_assert_str_eq(err, want);
	free(b.p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("trace_read");
	TCase *whole = tcase_create("recordings");
	TCase *bad = tcase_create("broken");

	tcase_set_timeout(whole, 300);
	tcase_add_test(whole, reads_pvscsi_hotplug);
	tcase_add_test(whole, reads_pvusb_desk);
	suite_add_tcase(s, whole);
	tcase_set_timeout(bad, 300);
	tcase_add_loop_test(bad, refuses_broken_file, 0,
			    sizeof(broken) / sizeof(broken[0]));
	tcase_add_test(bad, skips_unknown_type_and_header_bytes);
	tcase_add_test(bad, reads_first_send_layout);
	tcase_add_test(bad, gathers_run_more_pieces);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
