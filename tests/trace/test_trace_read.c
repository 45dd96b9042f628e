/*
 * The trace reader (sim/trace/trace_read.h): whole recordings of two
 * examples read back (counts per record type against an independent
 * decoding, the RUN record's text against the configuration file, every
 * ring entry on a ring attached before it), then broken files, each made
 * from a good recording by one precise edit, refused with the exact
 * message naming the record and its byte offset.
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

/* ---- whole recordings ---------------------------------------------------- */

static void check_example(const char *name, uint8_t run_kind)
{
	static const uint8_t busy[] = {
	    SIM_REC_RING_ATTACH,    SIM_REC_RING_ENTRY, SIM_REC_EVTCHN_SEND,
	    SIM_REC_EVTCHN_DELIVER, SIM_REC_GNT_GRANT,	SIM_REC_GNT_MAP,
	    SIM_REC_DATA,	    SIM_REC_XS_WRITE,	SIM_REC_XENBUS_STATE,
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

/* The first record of type, after record 0. */
static uint64_t first_of(const struct buf *b, uint8_t type)
{
	for (uint64_t n = 1;; n++)
		if (xrec(b, n)[5] == type)
			return n;
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
	tcase_add_test(bad, gathers_run_more_pieces);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
