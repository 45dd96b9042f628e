/*
 * Replaying recorded runs (sim/replay/player.h, sim/run/run_replay.h), in
 * process: a run is recorded to a trace from a configuration written to
 * a scratch directory, the directory (configuration and images) is
 * removed, and the trace alone is replayed.
 *
 * Recorded PVSCSI runs (disk, CD-ROM, LUN hotplug, save/restore) and
 * PVUSB runs (storage and keyboard, unplug and replug, save/restore)
 * replay identical, with fault plans and swarm seeds too, and so does
 * the replay's own trace. A response changed in the file makes the
 * frontend's later requests differ, and the replay names the record and
 * the field. Cut traces and traces that are not whole runs are refused
 * with a message, never a crash.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sim/cli/simcfg.h"
#include "sim/replay/player.h"
#include "sim/run/pvscsi_run.h"
#include "sim/run/pvusb_run.h"
#include "sim/run/run_replay.h"
#include "sim/trace/trace_pcap.h"
#include "sim/trace/trace_read.h"
#include "tmpdir.h"

#define PCAP_RECORD_HDR 16u /* a pcap record header, before the xpv one */
#define RING_ENTRY_HDR	20u /* RING_ENTRY payload before the entry bytes */

/* Entry offsets (Xen's vscsiif.h and usbif.h). */
#define VSCSIIF_RSP_RSLT     100u
#define USBIF_URB_RSP_STATUS 4u
#define USBIF_URB_REQ_PIPE   4u
#define USBIF_CONN_RSP_PORT  2u
#define USBIF_CONN_RSP_SPEED 3u
#define USBIF_PIPE_TYPE(p)   ((p) >> 30)
#define USBIF_PIPE_CTRL	     2u
#define USBIF_PIPE_EP(p)     (((p) >> 15) & 0xfu)

/* ---- configurations ------------------------------------------------------
 * Small enough that each run takes a fraction of a second; image paths
 * are relative, so they land in the scratch directory with the file. */

/* A verified random read/write workload on a disk, sequential reads on a
 * CD-ROM, and a second disk hot-added, written and removed. %s: more
 * timeline entries. */
static const char scsi_cfg[] =
    "name = \"rp-scsi\"\n"
    "type = \"pv\"\n"
    "memory = 256\n"
    "sim_scsi_targets = [\n"
    "  'name=disk0, type=disk, image=disk0.img, size=4M',\n"
    "  'name=cd0, type=cdrom, image=cd0.iso, size=1M',\n"
    "  'name=extra, type=disk, image=extra.img, size=2M, block_size=4096',\n"
    "]\n"
    "vscsi = [ 'disk0, 0:0:0:0', 'cd0, 0:0:1:0' ]\n"
    "sim_workloads = [\n"
    "  'lun=0:0:0:0, pattern=randrw, block=4K, depth=4, ops=60, verify=1',\n"
    "  'lun=0:0:1:0, pattern=seqread, block=8K, depth=2, ops=8',\n"
    "  'lun=0:0:2:0, pattern=seqwrite, block=8K, depth=2, ops=12, "
    "start=3ms',\n"
    "]\n"
    "sim_timeline = [ '2ms lun-add 0:0:2:0 extra', "
    "'9ms lun-remove 0:0:2:0'%s ]\n"
    "sim_time_limit = \"1s\"\n";

/* A storage stick written and read back, a keyboard typing; the stick is
 * pulled out and plugged back into its port. %s: more timeline entries. */
static const char usb_cfg[] =
    "name = \"rp-usb\"\n"
    "type = \"pv\"\n"
    "memory = 256\n"
    "usbctrl = [ \"type=qusb,version=2,ports=4\" ]\n"
    "sim_usb_devices = [\n"
    "  'name=stick, hostbus=3, hostaddr=5, class=storage, speed=high, "
    "image=stick.img, size=1M, pattern=seqrw, block=4K, ops=24',\n"
    "  'name=kbd, hostbus=3, hostaddr=6, class=keyboard, speed=low, "
    "keys=xen, keys_at=5ms, key_interval=3ms',\n"
    "]\n"
    "usbdev = [ \"hostbus=3,hostaddr=5,controller=0,port=1\",\n"
    "           \"hostbus=3,hostaddr=6,controller=0,port=2\" ]\n"
    "sim_timeline = [ '20ms usb-detach controller=0,port=1',\n"
    "  '40ms usb-attach hostbus=3,hostaddr=5,controller=0,port=1'%s ]\n"
    "sim_time_limit = \"2s\"\n";

enum run_kind { SCSI, USB };

struct recording {
	enum run_kind kind;
	const char *extra_timeline; /* "" or ", 'AT ACTION ...'" */
	uint64_t seed;
	const char *faults; /* NULL: none */
	bool swarm;
	uint64_t ops_limit;
};

/* ---- files --------------------------------------------------------------- */

/* Every trace of a test lives in one scratch directory of its own. */
struct scratch {
	char dir[64];
};

static void scratch_path(const struct scratch *s, const char *name, char *out,
			 size_t len)
{
	int n = snprintf(out, len, "%s/%s", s->dir, name);

	ck_assert(n > 0 && (size_t)n < len);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "%s: cannot create", path);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	ck_assert_msg(f != NULL, "%s: cannot open", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_bytes(const char *path, const uint8_t *bytes, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "%s: cannot create", path);
	ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* ---- recording ----------------------------------------------------------- */

/* What the recorded run itself found. */
struct recorded {
	uint64_t violations;
	bool connected;		/* the first host or controller */
	bool faulty;		/* with a fault plan */
	uint64_t be_misbehaved; /* the backend's injected faults */
};

static void record_scsi(const struct simcfg *cfg, const struct recording *r,
			FILE *pcap, struct recorded *out)
{
	struct pvscsi_run_options opt = {
	    .seed = r->seed,
	    .has_seed = true,
	    .trace_pcap = pcap,
	    .faults = r->faults,
	    .swarm = r->swarm,
	    .ops_limit = r->ops_limit,
	};
	struct pvscsi_run_result res;
	char err[512];

	ck_assert_msg(pvscsi_run(cfg, &opt, &res, err, sizeof(err)) == 0,
		      "run: %s", err);
	out->violations = res.violations_total;
	out->connected = res.nr_hosts > 0 && res.hosts[0].connected;
	out->be_misbehaved = 0;
	for (unsigned i = 0; i < res.nr_hosts; i++)
		out->be_misbehaved += res.hosts[i].be_misbehaved;
	pvscsi_run_result_free(&res);
}

static void record_usb(const struct simcfg *cfg, const struct recording *r,
		       FILE *pcap, struct recorded *out)
{
	struct pvusb_run_options opt = {
	    .seed = r->seed,
	    .has_seed = true,
	    .trace_pcap = pcap,
	    .faults = r->faults,
	    .swarm = r->swarm,
	    .ops_limit = r->ops_limit,
	};
	struct pvusb_run_result res;
	char err[512];

	ck_assert_msg(pvusb_run(cfg, &opt, &res, err, sizeof(err)) == 0,
		      "run: %s", err);
	out->violations = res.violations_total;
	out->connected = res.nr_ctrls > 0 && res.ctrls[0].connected;
	out->be_misbehaved = 0;
	for (unsigned i = 0; i < res.nr_ctrls; i++)
		out->be_misbehaved += res.ctrls[i].be_misbehaved;
	pvusb_run_result_free(&res);
}

/* Records r to trace: the configuration is written as a file (its RUN
 * record carries the file's text) in a directory of its own with its
 * images, and that directory is removed once the run is over, so a
 * replay has the trace and nothing else. */
static struct recorded record(const struct recording *r, const char *trace)
{
	char dir[64], path[128], text[4096], err[512];
	struct recorded out;
	struct simcfg *cfg;
	FILE *pcap;
	int n;

	n = snprintf(text, sizeof(text), r->kind == SCSI ? scsi_cfg : usb_cfg,
		     r->extra_timeline);
	ck_assert(n > 0 && (size_t)n < sizeof(text));
	xpv_tmpdir_make(dir, sizeof(dir), "replay-cfg");
	snprintf(path, sizeof(path), "%s/guest.cfg", dir);
	write_text(path, text);
	if (simcfg_load(path, &cfg, err, sizeof(err)))
		ck_abort_msg("config: %s", err);
	pcap = fopen(trace, "wb");
	ck_assert_ptr_nonnull(pcap);
	if (r->kind == SCSI)
		record_scsi(cfg, r, pcap, &out);
	else
		record_usb(cfg, r, pcap, &out);
	ck_assert_int_eq(fclose(pcap), 0);
	simcfg_free(cfg);
	xpv_tmpdir_remove(dir);
	out.faulty = r->faults || r->swarm;
	return out;
}

/* Records r, a run without faults: it must connect and stay clean. */
static struct recorded record_clean(const struct recording *r,
				    const char *trace)
{
	struct recorded out = record(r, trace);

	ck_assert_msg(out.connected, "%s: the recorded run never connected",
		      trace);
	ck_assert_uint_eq(out.violations, 0);
	return out;
}

/* ---- replaying ----------------------------------------------------------- */

struct replayed {
	int stage; /* 0 replayed; 1 refused by replay_open; 2 by the run */
	char err[REPLAY_MSG_MAX];
	struct replay_result res;
	uint64_t violations;
	int run_kind; /* the RUN record's */
};

/* Replays trace as `xpvsim replay` does (its own records to tee when
 * tee is not NULL); set-up refusals are results, not failures. */
static void replay(const char *trace, const char *tee, struct replayed *out)
{
	struct replay_player *p;
	struct simcfg *cfg;
	FILE *teef = NULL;

	memset(out, 0, sizeof(*out));
	if (replay_open(trace, &p, out->err, sizeof(out->err))) {
		out->stage = 1;
		return;
	}
	const struct replay_run *run = replay_run_info(p);

	out->run_kind = run->kind;
	if (simcfg_load_string(run->config_text, run->config_path, NULL, &cfg,
			       out->err, sizeof(out->err)))
		ck_abort_msg("the recorded configuration: %s", out->err);
	if (tee)
		ck_assert_ptr_nonnull(teef = fopen(tee, "wb"));
	if (run_replay(p, cfg, teef, NULL, &out->res, &out->violations,
		       out->err, sizeof(out->err)))
		out->stage = 2;
	if (teef)
		ck_assert_int_eq(fclose(teef), 0);
	simcfg_free(cfg);
	replay_close(p);
}

/* What a trace holds that an identical replay accounts for. */
struct trace_counts {
	uint64_t records;
	uint64_t requests;   /* ring entries the frontend published */
	uint64_t data_reads; /* DATA records of bytes Dom0 read */
};

/* trace read whole with the trace reader. */
static void count_records(const char *trace, struct trace_counts *c)
{
	char err[TRACE_READ_ERR_MAX];
	struct trace_reader *rd = trace_reader_open(trace, err, sizeof(err));
	struct trace_rec rec;
	int r;

	ck_assert_msg(rd != NULL, "%s", err);
	memset(c, 0, sizeof(*c));
	while ((r = trace_reader_next(rd, &rec)) == 1) {
		if (rec.kind == SIM_REC_RING_ENTRY &&
		    rec.u.ring_entry.dir == SIM_REC_REQUEST)
			c->requests++;
		if (rec.kind == SIM_REC_DATA && !rec.u.data.to_granted)
			c->data_reads++;
	}
	ck_assert_msg(r == 0, "%s", trace_reader_error(rd));
	c->records = trace_reader_records(rd);
	trace_reader_close(rd);
}

/* What every identical replay must show: the whole file read, Dom0's
 * records played and the guest's compared, every request the frontend
 * published among them and every read of Dom0 checked; for a clean run,
 * requests and reads there were. */
static void assert_identical(const char *trace, const struct replayed *rp,
			     const struct recorded *rec)
{
	const struct replay_result *res = &rp->res;
	struct trace_counts c;

	ck_assert_msg(rp->stage == 0, "%s: refused: %s", trace, rp->err);
	ck_assert_msg(res->identical && !res->read_error,
		      "%s: not identical: %s", trace, res->divergence);
	ck_assert_str_eq(res->divergence, "");
	count_records(trace, &c);
	ck_assert_uint_eq(res->records, c.records);
	ck_assert_uint_eq(res->requests, c.requests);
	ck_assert_uint_eq(res->data_checked, c.data_reads);
	ck_assert_uint_gt(res->played, 0);
	ck_assert_uint_gt(res->compared, res->requests);
	ck_assert_uint_le(res->played + res->compared, res->records);
	if (rec->connected && rec->violations == 0 && !rec->faulty) {
		ck_assert_uint_gt(res->requests, 0);
		ck_assert_uint_gt(res->data_checked, 0);
	}
	/* The replay's checkers watch the guest side only, which the
	 * recorded run's watched as well: they find nothing it did not. */
	ck_assert_uint_le(rp->violations, rec->violations);
}

/* ---- finding and changing records ---------------------------------------- */

/* A RING_ENTRY record of a trace: its number, where its entry's bytes
 * are in the file, and those bytes. */
struct entry_at {
	uint64_t index;
	long entry_offset;
	uint8_t entry[256];
	uint32_t entry_size;
};

static void note_entry(const struct trace_rec *rec, struct entry_at *e)
{
	e->index = rec->index;
	e->entry_offset = (long)(rec->offset + PCAP_RECORD_HDR + rec->hdr_len +
				 RING_ENTRY_HDR);
	e->entry_size = rec->u.ring_entry.entry_size;
	ck_assert_uint_le(e->entry_size, sizeof(e->entry));
	memcpy(e->entry, rec->u.ring_entry.entry.p, e->entry_size);
}

#define MAX_IDS 1024 /* request ids of the runs here: below a ring's size */

/* The nth (from 0) entry of ring kind in direction dir; with req, the
 * last request before it on the same ring with the same 16-bit id (every
 * ring kind starts its entries with it): the request a response answers. */
static void find_entry(const char *trace, uint8_t kind, uint8_t dir,
		       unsigned nth, struct entry_at *e, struct entry_at *req)
{
	static struct entry_at last_req[MAX_IDS]; /* by id; too big a stack */
	static uint16_t ring_of_req[MAX_IDS];
	char err[TRACE_READ_ERR_MAX];
	struct trace_reader *rd = trace_reader_open(trace, err, sizeof(err));
	struct trace_rec rec;
	unsigned seen = 0;

	ck_assert_msg(rd != NULL, "%s", err);
	memset(last_req, 0, sizeof(last_req));
	memset(ring_of_req, 0, sizeof(ring_of_req));
	while (trace_reader_next(rd, &rec) == 1) {
		if (rec.kind != SIM_REC_RING_ENTRY ||
		    rec.u.ring_entry.kind != kind)
			continue;
		uint16_t id = (uint16_t)(rec.u.ring_entry.entry.p[0] |
					 rec.u.ring_entry.entry.p[1] << 8);

		ck_assert_uint_lt(id, MAX_IDS);
		if (rec.u.ring_entry.dir == SIM_REC_REQUEST) {
			note_entry(&rec, &last_req[id]);
			ring_of_req[id] = rec.u.ring_entry.ring_id;
		}
		if (rec.u.ring_entry.dir != dir || seen++ != nth)
			continue;
		note_entry(&rec, e);
		if (req) {
			ck_assert_uint_eq(ring_of_req[id],
					  rec.u.ring_entry.ring_id);
			*req = last_req[id];
		}
		trace_reader_close(rd);
		return;
	}
	ck_abort_msg("%s: no entry %u of ring kind %u, direction %u", trace,
		     nth, kind, dir);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* out: a copy of trace whose bytes at offset are replaced by len bytes. */
static void tamper(const char *trace, const char *out, long offset,
		   const void *bytes, size_t len)
{
	size_t size;
	uint8_t *file = slurp(trace, &size);

	ck_assert_uint_le((size_t)offset + len, size);
	ck_assert_msg(memcmp(file + offset, bytes, len) != 0,
		      "the change changes nothing");
	memcpy(file + offset, bytes, len);
	write_bytes(out, file, size);
	free(file);
}

/* The record number a divergence message names ("trace record N: ..."). */
static uint64_t diverged_record(const char *msg)
{
	const char *at = strstr(msg, "trace record ");

	ck_assert_msg(at != NULL, "no record named: %s", msg);
	return strtoull(at + strlen("trace record "), NULL, 10);
}

/* A replay of a tampered trace: a divergence, not a refusal, reported as
 * `xpvsim replay` prints it ("divergence at S.NNNNNNNNN s: trace record
 * N: ..."), at a record after the changed one; with field, a
 * difference inside a record the frontend did make, named "field F:
 * expected X, got Y". Other changes may make the frontend make another
 * record, or none, where the trace has one. */
static void assert_diverges_after(const char *trace, uint64_t changed,
				  bool field)
{
	struct replayed rp;
	const char *m = rp.res.divergence;

	replay(trace, NULL, &rp);
	ck_assert_msg(rp.stage == 0, "refused: %s", rp.err);
	ck_assert_msg(!rp.res.identical,
		      "the changed response (record %" PRIu64
		      ") went unnoticed",
		      changed);
	ck_assert(!rp.res.read_error);
	ck_assert_msg(strncmp(m, "divergence at ", 14) == 0, "%s", m);
	ck_assert_msg(strstr(m, " s: trace record ") != NULL, "%s", m);
	ck_assert_uint_gt(diverged_record(m), changed);
	if (field)
		ck_assert_msg(strstr(m, ": field ") && strstr(m, ": expected "),
			      "%s: no field named", m);
}

/* ---- whole runs replayed identical --------------------------------------- */

/* Records r, checks the recorded run was clean, replays the trace. */
static void record_and_replay(const struct scratch *s,
			      const struct recording *r, const char *name)
{
	struct recorded rec;
	char trace[128];
	struct replayed rp;

	scratch_path(s, name, trace, sizeof(trace));
	rec = record_clean(r, trace);
	replay(trace, NULL, &rp);
	assert_identical(trace, &rp, &rec);
	ck_assert_int_eq(rp.run_kind, r->kind == SCSI ? SIM_REC_RUN_PVSCSI
						      : SIM_REC_RUN_PVUSB);
}

START_TEST(pvscsi_disk_cdrom_hotplug)
{
	struct recording r = {.kind = SCSI, .extra_timeline = "", .seed = 3};
	struct scratch s;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	record_and_replay(&s, &r, "scsi.pcap");
	r.seed = 4;
	record_and_replay(&s, &r, "scsi4.pcap");
	xpv_tmpdir_remove(s.dir);
}
END_TEST

START_TEST(pvusb_storage_keyboard_replug)
{
	struct recording r = {.kind = USB, .extra_timeline = "", .seed = 3};
	struct scratch s;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	record_and_replay(&s, &r, "usb.pcap");
	r.seed = 4;
	record_and_replay(&s, &r, "usb4.pcap");
	xpv_tmpdir_remove(s.dir);
}
END_TEST

/* A save/restore cycle: the frontend reconnects to a new ring and a new
 * backend (PVSCSI: with the hot-added LUN present; PVUSB: right after
 * the replug). */
START_TEST(save_restore)
{
	struct recording scsi = {
	    .kind = SCSI, .seed = 5, .extra_timeline = ", '6ms suspend'"};
	struct recording usb = {
	    .kind = USB, .seed = 5, .extra_timeline = ", '45ms suspend'"};
	struct scratch s;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	record_and_replay(&s, &scsi, "scsi-suspend.pcap");
	record_and_replay(&s, &usb, "usb-suspend.pcap");
	xpv_tmpdir_remove(s.dir);
}
END_TEST

/* The replay's own trace is a trace of the same run: replayed again it
 * is identical, with the same Dom0 records played and guest records
 * compared, and the second replay's trace is the first's, byte for byte
 * (a replay is a fixed point). */
static void replay_twice(const struct scratch *s, const struct recording *r,
			 const char *name)
{
	char trace[128], tee[160], tee2[160];
	struct replayed first, second;
	uint8_t *bytes, *bytes2;
	size_t len, len2;
	struct recorded rec;
	int n;

	scratch_path(s, name, trace, sizeof(trace));
	n = snprintf(tee, sizeof(tee), "%s.replayed", trace);
	ck_assert(n > 0 && (size_t)n < sizeof(tee));
	n = snprintf(tee2, sizeof(tee2), "%s.replayed2", trace);
	ck_assert(n > 0 && (size_t)n < sizeof(tee2));
	rec = record_clean(r, trace);
	replay(trace, tee, &first);
	assert_identical(trace, &first, &rec);
	replay(tee, tee2, &second);
	assert_identical(tee, &second, &rec);
	ck_assert_uint_eq(second.res.played, first.res.played);
	ck_assert_uint_eq(second.res.compared, first.res.compared);
	ck_assert_uint_eq(second.res.requests, first.res.requests);
	ck_assert_uint_eq(second.res.data_checked, first.res.data_checked);
	bytes = slurp(tee, &len);
	bytes2 = slurp(tee2, &len2);
	ck_assert_msg(len == len2 && memcmp(bytes, bytes2, len) == 0,
		      "%s: replaying the replay's trace gave another trace",
		      name);
	free(bytes);
	free(bytes2);
}

START_TEST(replay_of_a_replay)
{
	struct recording scsi = {.kind = SCSI, .extra_timeline = "", .seed = 6};
	struct recording usb = {
	    .kind = USB, .seed = 6, .extra_timeline = ", '45ms suspend'"};
	struct scratch s;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	replay_twice(&s, &scsi, "scsi.pcap");
	replay_twice(&s, &usb, "usb.pcap");
	xpv_tmpdir_remove(s.dir);
}
END_TEST

/* ---- changed responses --------------------------------------------------- */

/* The low bit of a SCSI command's result: status 1 is no good status,
 * the command failed, and the guest's next commands differ. */
START_TEST(tampered_pvscsi_response)
{
	struct recording r = {.kind = SCSI, .extra_timeline = "", .seed = 3};
	char trace[128], bad[128];
	struct recorded rec;
	struct entry_at rsp;
	struct replayed rp;
	struct scratch s;
	uint8_t rslt0;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	scratch_path(&s, "scsi.pcap", trace, sizeof(trace));
	scratch_path(&s, "bad.pcap", bad, sizeof(bad));
	rec = record_clean(&r, trace);
	find_entry(trace, SIM_REC_RING_VSCSIIF, SIM_REC_RESPONSE, 4, &rsp,
		   NULL);
	rslt0 = rsp.entry[VSCSIIF_RSP_RSLT] ^ 1;
	tamper(trace, bad, rsp.entry_offset + VSCSIIF_RSP_RSLT, &rslt0, 1);
	assert_diverges_after(bad, rsp.index, true);
	/* The untouched trace still replays identical. */
	replay(trace, NULL, &rp);
	assert_identical(trace, &rp, &rec);
	xpv_tmpdir_remove(s.dir);
}
END_TEST

/* PVUSB: the first control transfer of the enumeration stalls (status
 * -32), so the guest's USB stack goes another way; and the first connect
 * is reported on another, empty, port. The replay sees that one at once:
 * the frontend posts its next conn-ring request in the response's slot
 * writing only the id (as Linux's xen-hcd does), so the slot still holds
 * the response's port byte, which is no longer the recorded one. */
START_TEST(tampered_pvusb_responses)
{
	struct recording r = {.kind = USB, .extra_timeline = "", .seed = 3};
	char trace[128], bad[128];
	struct entry_at rsp, req;
	struct scratch s;
	const int32_t stall = -32;
	uint8_t status[4], port4 = 4;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	scratch_path(&s, "usb.pcap", trace, sizeof(trace));
	scratch_path(&s, "bad.pcap", bad, sizeof(bad));
	record_clean(&r, trace);

	find_entry(trace, SIM_REC_RING_USBIF_URB, SIM_REC_RESPONSE, 0, &rsp,
		   &req);
	uint32_t pipe = le32(req.entry + USBIF_URB_REQ_PIPE);

	ck_assert_uint_eq(USBIF_PIPE_TYPE(pipe), USBIF_PIPE_CTRL);
	ck_assert_uint_eq(USBIF_PIPE_EP(pipe), 0);
	ck_assert_uint_eq(le32(rsp.entry + USBIF_URB_RSP_STATUS), 0);
	for (unsigned i = 0; i < 4; i++)
		status[i] = (uint8_t)((uint32_t)stall >> (8 * i));
	tamper(trace, bad, rsp.entry_offset + USBIF_URB_RSP_STATUS, status,
	       sizeof(status));
	assert_diverges_after(bad, rsp.index, false);

	/* The first connect of the conn ring: port 1 or 2, high or low. */
	find_entry(trace, SIM_REC_RING_USBIF_CONN, SIM_REC_RESPONSE, 0, &rsp,
		   NULL);
	ck_assert_uint_ne(rsp.entry[USBIF_CONN_RSP_SPEED], 0);
	ck_assert_uint_le(rsp.entry[USBIF_CONN_RSP_PORT], 2);
	tamper(trace, bad, rsp.entry_offset + USBIF_CONN_RSP_PORT, &port4, 1);
	assert_diverges_after(bad, rsp.index, false);
	xpv_tmpdir_remove(s.dir);
}
END_TEST

/* ---- traces that cannot be replayed -------------------------------------- */

/* Where record n of trace starts in the file, and its pcap length. */
static void record_at(const char *trace, uint64_t n, uint64_t *offset,
		      uint32_t *caplen)
{
	char err[TRACE_READ_ERR_MAX];
	struct trace_reader *rd = trace_reader_open(trace, err, sizeof(err));
	struct trace_rec rec;

	ck_assert_msg(rd != NULL, "%s", err);
	do
		ck_assert_int_eq(trace_reader_next(rd, &rec), 1);
	while (rec.index < n);
	*offset = rec.offset;
	*caplen = rec.caplen;
	trace_reader_close(rd);
}

/* out: the first len bytes of trace. */
static void cut(const char *trace, const char *out, size_t len)
{
	size_t size;
	uint8_t *file = slurp(trace, &size);

	ck_assert_uint_lt(len, size);
	write_bytes(out, file, len);
	free(file);
}

/* "record N (byte offset O)": the reader's way of naming where. */
static void assert_names_record(const char *msg, uint64_t n, uint64_t off)
{
	char want[96];

	snprintf(want, sizeof(want),
		 "record %" PRIu64 " (byte offset %" PRIu64 ")", n, off);
	ck_assert_msg(strstr(msg, want) != NULL, "'%s' does not name %s", msg,
		      want);
}

/* A trace cut in the middle of a record: the replay runs up to there
 * and reports the file's end as a read error naming the record and its
 * offset; cut inside the RUN record or the file header, it is refused
 * before anything runs. */
START_TEST(truncated_trace)
{
	struct recording r = {.kind = SCSI, .extra_timeline = "", .seed = 3};
	char trace[128], cutf[128];
	struct trace_counts c;
	uint64_t mid, off;
	struct replayed rp;
	struct scratch s;
	uint32_t caplen;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	scratch_path(&s, "scsi.pcap", trace, sizeof(trace));
	scratch_path(&s, "cut.pcap", cutf, sizeof(cutf));
	record_clean(&r, trace);
	count_records(trace, &c);
	mid = c.records / 2;
	record_at(trace, mid, &off, &caplen);
	cut(trace, cutf, off + PCAP_RECORD_HDR + caplen / 2);
	replay(cutf, NULL, &rp);
	ck_assert_msg(rp.stage == 0, "refused at once: %s", rp.err);
	ck_assert(rp.res.read_error);
	ck_assert(!rp.res.identical);
	assert_names_record(rp.res.divergence, mid, off);
	ck_assert_uint_le(rp.res.records, mid);
	ck_assert_uint_gt(rp.res.compared, 0);

	/* In the middle of the pcap header of a record. */
	record_at(trace, mid + 1, &off, &caplen);
	cut(trace, cutf, off + PCAP_RECORD_HDR / 2);
	replay(cutf, NULL, &rp);
	ck_assert_msg(rp.stage == 0, "refused at once: %s", rp.err);
	ck_assert(rp.res.read_error && !rp.res.identical);
	assert_names_record(rp.res.divergence, mid + 1, off);

	/* Inside the RUN record, record 0 right after the file header. */
	record_at(trace, 0, &off, &caplen);
	ck_assert_uint_eq(off, 24);
	cut(trace, cutf, off + PCAP_RECORD_HDR + 40);
	replay(cutf, NULL, &rp);
	ck_assert_int_eq(rp.stage, 1);
	assert_names_record(rp.err, 0, 24);

	/* Inside the file header. */
	cut(trace, cutf, 10);
	replay(cutf, NULL, &rp);
	ck_assert_int_eq(rp.stage, 1);
	assert_names_record(rp.err, 0, 0);
	xpv_tmpdir_remove(s.dir);
}
END_TEST

/* Records of a simulation that is not a whole run (as a fuzz session
 * records): no RUN record, nothing to rebuild the guest from. */
static void record_without_run(const char *trace)
{
	struct sim_config cfg;
	struct sim *sim;
	FILE *f;

	sim_config_default(&cfg, 1);
	sim = sim_create(&cfg);
	ck_assert_ptr_nonnull(f = fopen(trace, "wb"));
	ck_assert_int_eq(sim_recorder_attach(sim, f), 0);
	sim_rec_gnt_grant(sim, 1, 8, 0, false, 0x1234);
	sim_rec_gnt_map(sim, 0, 1, 8, true, 0);
	ck_assert_int_eq(sim_recorder_detach(sim), 0);
	sim_destroy(sim);
	ck_assert_int_eq(fclose(f), 0);
}

/* A RUN record whose configuration text could not be read (the recorder
 * flags it absent): nothing to rebuild the guest from either. */
static void record_config_absent(const char *trace)
{
	struct sim_rec_run run = {
	    .kind = SIM_REC_RUN_PVSCSI,
	    .seed = 1,
	    .frontend = "xpv-scsifront",
	    .config_path = "/nonexistent/xpv/gone.cfg",
	    .config_text = NULL,
	};
	struct sim_config cfg;
	struct sim *sim;
	FILE *f;

	sim_config_default(&cfg, 1);
	sim = sim_create(&cfg);
	ck_assert_ptr_nonnull(f = fopen(trace, "wb"));
	ck_assert_int_eq(sim_recorder_attach(sim, f), 0);
	sim_rec_run(sim, &run);
	sim_rec_gnt_grant(sim, 1, 8, 0, false, 0x1234);
	ck_assert_int_eq(sim_recorder_detach(sim), 0);
	sim_destroy(sim);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(not_a_whole_run)
{
	struct trace_counts c;
	char trace[128];
	struct replayed rp;
	struct scratch s;

	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	scratch_path(&s, "norun.pcap", trace, sizeof(trace));
	record_without_run(trace);
	count_records(trace, &c);
	ck_assert_uint_eq(c.records, 2);
	replay(trace, NULL, &rp);
	ck_assert_int_eq(rp.stage, 1);
	ck_assert_msg(strstr(rp.err, trace) && strstr(rp.err, "RUN record"),
		      "%s", rp.err);
	assert_names_record(rp.err, 0, 24);

	scratch_path(&s, "absent.pcap", trace, sizeof(trace));
	record_config_absent(trace);
	replay(trace, NULL, &rp);
	ck_assert_int_eq(rp.stage, 1);
	ck_assert_msg(strstr(rp.err, "no configuration text") != NULL, "%s",
		      rp.err);

	/* Not a pcap file at all. */
	scratch_path(&s, "text.pcap", trace, sizeof(trace));
	write_text(trace, "this is not a trace, it is a sentence of text\n");
	replay(trace, NULL, &rp);
	ck_assert_int_eq(rp.stage, 1);
	assert_names_record(rp.err, 0, 0);
	xpv_tmpdir_remove(s.dir);
}
END_TEST

/* ---- fault plans --------------------------------------------------------- */

/* Fixed plans. With alloc=20000 the frontends fail their probe every
 * time (they allocate much there): a replay of the probe and the
 * teardown; the second plan lets them connect and do their work. */
static const char *const fault_plans_fixed[] = {
    "alloc=20000,grant-claim=20000,evtchn-delay=50000,evtchn-storm=50000,"
    "xs-eagain=50000,be-bad-id=20000",
    "grant-claim=20000,evtchn-delay=50000,evtchn-storm=50000,"
    "xs-eagain=50000,be-bad-id=20000",
};

/* Records and replays r; a run that does not replay identical is added
 * to failures (every plan and seed is tried before the test fails, so
 * the message lists them all). What the recorded run did. */
static struct recorded try_plan(const struct scratch *s,
				const struct recording *r, char *failures,
				size_t len)
{
	char trace[128], name[64];
	struct recorded rec;
	struct replayed rp;

	snprintf(name, sizeof(name), "%s-%s-%" PRIu64 "%s.pcap",
		 r->kind == SCSI ? "scsi" : "usb",
		 r->swarm	       ? "swarm"
		 : r->faults[0] == 'a' ? "plan0"
				       : "plan1",
		 r->seed, r->extra_timeline[0] ? "-suspend" : "");
	scratch_path(s, name, trace, sizeof(trace));
	rec = record(r, trace);
	replay(trace, NULL, &rp);
	if (rp.stage == 0 && rp.res.identical) {
		assert_identical(trace, &rp, &rec);
		return rec;
	}
	size_t used = strlen(failures);

	snprintf(failures + used, len - used, "\n%s seed %" PRIu64 " %s%s: %s",
		 r->kind == SCSI ? "PVSCSI" : "PVUSB", r->seed,
		 r->swarm ? "swarm" : r->faults,
		 r->extra_timeline[0] ? " with suspend" : "",
		 rp.stage ? rp.err : rp.res.divergence);
	return rec;
}

/* A fault-plan run recorded and replayed, and what it did added up. */
struct plan_tally {
	unsigned runs, connected;
	uint64_t misbehaved;
};

static void tally_plan(const struct scratch *s, const struct recording *r,
		       char *failures, size_t len, struct plan_tally *t)
{
	struct recorded rec = try_plan(s, r, failures, len);

	t->runs++;
	t->connected += rec.connected;
	t->misbehaved += rec.be_misbehaved;
}

/* Each kind, three seeds, the fixed plans and a plan drawn from the
 * seed, without and with a save/restore cycle. */
START_TEST(fault_plans)
{
	static const char *const timelines[2][2] = {
	    [SCSI] = {"", ", '6ms suspend'"},
	    [USB] = {"", ", '45ms suspend'"},
	};
	static char failures[16384];
	struct plan_tally fixed = {0}, swarm = {0};
	struct scratch s;

	failures[0] = '\0';
	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	for (int kind = SCSI; kind <= USB; kind++) {
		struct recording r = {.kind = (enum run_kind)kind,
				      .ops_limit = 16};

		for (r.seed = 1; r.seed <= 3; r.seed++) {
			for (int t = 0; t < 2; t++) {
				r.extra_timeline = timelines[kind][t];
				r.swarm = false;
				for (int p = 0; p < 2; p++) {
					r.faults = fault_plans_fixed[p];
					tally_plan(&s, &r, failures,
						   sizeof(failures), &fixed);
				}
				r.faults = NULL;
				r.swarm = true;
				tally_plan(&s, &r, failures, sizeof(failures),
					   &swarm);
			}
		}
	}
	xpv_tmpdir_remove(s.dir);
	/* The plans were not idle: frontends connected under them and the
	 * backends misbehaved. */
	ck_assert_uint_eq(fixed.runs, 24);
	ck_assert_uint_ge(fixed.connected, 12);
	ck_assert_uint_gt(fixed.misbehaved, 0);
	ck_assert_uint_gt(swarm.connected, 0);
	ck_assert_uint_gt(swarm.misbehaved, 0);
	ck_assert_msg(failures[0] == '\0', "not identical:%s", failures);
}
END_TEST

/* Swarm seeds whose replays once diverged at the save/restore: PVUSB 4
 * and 48 (Dom0's reaction to a watch played before the guest's, until
 * Dom0's watches were recorded and replayed with their clients), PVSCSI
 * 21 (a run cut off by its time limit ended earlier in the replay). */
START_TEST(save_restore_regressions)
{
	static const struct {
		enum run_kind kind;
		uint64_t seed;
		const char *timeline;
	} cases[] = {
	    {USB, 4, ", '45ms suspend'"},
	    {USB, 48, ", '45ms suspend'"},
	    {SCSI, 21, ", '6ms suspend'"},
	};
	static char failures[4096];
	struct plan_tally swarm = {0};
	struct scratch s;

	failures[0] = '\0';
	xpv_tmpdir_make(s.dir, sizeof(s.dir), "replay");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct recording r = {.kind = cases[i].kind,
				      .seed = cases[i].seed,
				      .extra_timeline = cases[i].timeline,
				      .swarm = true,
				      .ops_limit = 16};

		tally_plan(&s, &r, failures, sizeof(failures), &swarm);
	}
	xpv_tmpdir_remove(s.dir);
	ck_assert_uint_eq(swarm.runs, 3);
	ck_assert_msg(failures[0] == '\0', "not identical:%s", failures);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("replay");
	TCase *whole = tcase_create("whole runs");
	TCase *bad = tcase_create("changed and broken traces");

	tcase_set_timeout(whole, 300);
	tcase_add_test(whole, pvscsi_disk_cdrom_hotplug);
	tcase_add_test(whole, pvusb_storage_keyboard_replug);
	tcase_add_test(whole, save_restore);
	tcase_add_test(whole, replay_of_a_replay);
	tcase_add_test(whole, fault_plans);
	tcase_add_test(whole, save_restore_regressions);
	suite_add_tcase(s, whole);
	tcase_set_timeout(bad, 300);
	tcase_add_test(bad, tampered_pvscsi_response);
	tcase_add_test(bad, tampered_pvusb_responses);
	tcase_add_test(bad, truncated_trace);
	tcase_add_test(bad, not_a_whole_run);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
