/*
 * The records a replay needs (docs/trace-format.md, RUN, RUN_MORE, DATA):
 * written by the recorder on a hand-driven simulation and read back field
 * by field; then a whole PVSCSI run, recorded: its RUN record carries the
 * configuration file's text as it is on disk, and the DATA records of the
 * guest's reads carry the image's blocks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sim/cli/simcfg.h"
#include "sim/run/pvscsi_run.h"
#include "sim/trace/trace_pcap.h"
#include "tmpdir.h"
#include "trace_test.h"

/* ---- decoding ---------------------------------------------------------- */

struct run_rec {
	uint8_t format, kind;
	uint16_t flags;
	uint64_t seed, ops_limit, time_limit_ns;
	char *frontend, *faults, *config_path;
	char *config; /* every RUN and RUN_MORE piece, joined */
	uint32_t config_len, pieces;
};

static char *dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* The RUN record must be record 0; RUN_MORE records follow it in order. */
static void decode_run(const struct tt_file *t, struct run_rec *run)
{
	const struct tt_rec *r = &t->recs[0];
	const uint8_t *p = r->payload;
	uint16_t fl, ql, pl;
	uint32_t here, got;

	ck_assert_uint_ge(t->n, 1);
	ck_assert_uint_eq(r->type, SIM_REC_RUN);
	ck_assert_uint_eq(r->domid, SIM_REC_DOMID_NONE);
	ck_assert_uint_ge(r->payload_len, 48);
	memset(run, 0, sizeof(*run));
	run->format = p[0];
	run->kind = p[1];
	run->flags = tt_u16(p + 2);
	ck_assert_uint_eq(tt_u32(p + 4), 0);
	run->seed = tt_u64(p + 8);
	run->ops_limit = tt_u64(p + 16);
	run->time_limit_ns = tt_u64(p + 24);
	fl = tt_u16(p + 32);
	ql = tt_u16(p + 34);
	pl = tt_u16(p + 36);
	run->config_len = tt_u32(p + 40);
	here = tt_u32(p + 44);
	ck_assert_uint_eq(r->payload_len, 48u + fl + ql + pl + here);
	run->frontend = dup_n(p + 48, fl);
	run->faults = dup_n(p + 48 + fl, ql);
	run->config_path = dup_n(p + 48 + fl + ql, pl);
	run->config = malloc(run->config_len + 1);
	ck_assert_ptr_nonnull(run->config);
	memcpy(run->config, p + 48 + fl + ql + pl, here);
	got = here;
	run->pieces = 1;
	for (size_t i = 1; i < t->n && got < run->config_len; i++) {
		const struct tt_rec *m = &t->recs[i];

		ck_assert_uint_eq(m->type, SIM_REC_RUN_MORE);
		ck_assert_uint_eq(tt_u32(m->payload), got); /* offset */
		ck_assert_uint_eq(m->payload_len, 8 + tt_u32(m->payload + 4));
		ck_assert_uint_le(got + tt_u32(m->payload + 4),
				  run->config_len);
		memcpy(run->config + got, m->payload + 8,
		       tt_u32(m->payload + 4));
		got += tt_u32(m->payload + 4);
		run->pieces++;
	}
	ck_assert_uint_eq(got, run->config_len);
	run->config[got] = '\0';
}

static void run_rec_free(struct run_rec *run)
{
	free(run->frontend);
	free(run->faults);
	free(run->config_path);
	free(run->config);
}

struct data_rec {
	uint32_t ref, offset, len;
	uint16_t granter, mover;
	uint8_t to_granted, what;
	const uint8_t *bytes;
};

static void decode_data(const struct tt_rec *r, struct data_rec *d)
{
	const uint8_t *p = r->payload;

	ck_assert_uint_eq(r->type, SIM_REC_DATA);
	ck_assert_uint_ge(r->payload_len, 16);
	d->ref = tt_u32(p);
	d->granter = tt_u16(p + 4);
	d->to_granted = p[6];
	d->what = p[7];
	d->offset = tt_u32(p + 8);
	d->len = tt_u32(p + 12);
	d->mover = r->domid;
	d->bytes = p + 16;
	ck_assert_uint_eq(r->payload_len, 16 + d->len);
	ck_assert_uint_le(d->len, SIM_REC_DATA_CHUNK);
}

/* ---- the recorder alone -------------------------------------------------- */

struct fx {
	struct sim *sim;
	FILE *f;
};

static void fx_init(struct fx *x)
{
	struct sim_config cfg;

	sim_config_default(&cfg, 1);
	x->sim = sim_create(&cfg);
	ck_assert_ptr_nonnull(x->f = tmpfile());
	ck_assert_int_eq(sim_recorder_attach(x->sim, x->f), 0);
}

static void fx_read(struct fx *x, struct tt_file *t)
{
	ck_assert_int_eq(sim_recorder_detach(x->sim), 0);
	sim_destroy(x->sim);
	tt_read(x->f, t); /* closes it */
	tt_check_framing(t);
}

START_TEST(run_record_round_trip)
{
	static const char cfg_text[] = "name = \"r\"\nvscsi = [ 'x, 0:0:0:0' ]\n";
	struct sim_rec_run in = {
		.kind = SIM_REC_RUN_PVSCSI, .seed = 0x1122334455667788ull,
		.ops_limit = 9, .time_limit_ns = 200000000ull,
		.frontend = "xpv-scsifront", .faults = "alloc=1000,be-bad-id@3",
		.config_path = "examples/r.cfg", .config_text = cfg_text,
		.config_len = sizeof(cfg_text) - 1,
	};
	struct run_rec out;
	struct tt_file t;
	struct fx x;

	fx_init(&x);
	sim_rec_run(x.sim, &in);
	fx_read(&x, &t);
	ck_assert_uint_eq(t.n, 1);
	decode_run(&t, &out);
	ck_assert_uint_eq(out.format, SIM_REC_VERSION);
	ck_assert_uint_eq(out.kind, SIM_REC_RUN_PVSCSI);
	ck_assert_uint_eq(out.flags, 0);
	ck_assert_uint_eq(out.seed, in.seed);
	ck_assert_uint_eq(out.ops_limit, 9);
	ck_assert_uint_eq(out.time_limit_ns, in.time_limit_ns);
	ck_assert_str_eq(out.frontend, "xpv-scsifront");
	ck_assert_str_eq(out.faults, in.faults);
	ck_assert_str_eq(out.config_path, "examples/r.cfg");
	ck_assert_str_eq(out.config, cfg_text);
	ck_assert_uint_eq(t.recs[0].time_ns, 0);
	run_rec_free(&out);
	tt_free(&t);
}
END_TEST

/* A configuration longer than a record: RUN then RUN_MORE pieces; a swarm
 * plan is a flag; an unreadable file is flagged absent. */
START_TEST(run_record_long_config_and_flags)
{
	size_t len = 150000;
	char *text = malloc(len);
	struct sim_rec_run in = {
		.kind = SIM_REC_RUN_PVUSB, .seed = 5, .swarm = true,
		.frontend = "xpv-usbfront", .config_path = "big.cfg",
		.config_len = len,
	};
	struct run_rec out;
	struct tt_file t;
	struct fx x;

	ck_assert_ptr_nonnull(text);
	for (size_t i = 0; i < len; i++)
		text[i] = (char)('a' + i * 7 % 26);
	in.config_text = text;
	fx_init(&x);
	sim_rec_run(x.sim, &in);
	fx_read(&x, &t);
	decode_run(&t, &out);
	ck_assert_uint_eq(out.pieces, 3); /* 150000 bytes over 64 KiB records */
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(out.flags, SIM_REC_RUN_F_SWARM);
	ck_assert_str_eq(out.faults, "");
	ck_assert_uint_eq(out.config_len, len);
	ck_assert_mem_eq(out.config, text, len);
	run_rec_free(&out);
	tt_free(&t);

	in.config_text = NULL;
	in.config_path = "/nonexistent/xpv/none.cfg";
	in.swarm = false;
	fx_init(&x);
	sim_rec_run(x.sim, &in);
	fx_read(&x, &t);
	decode_run(&t, &out);
	ck_assert_uint_eq(out.flags, SIM_REC_RUN_F_CONFIG_ABSENT);
	ck_assert_uint_eq(out.config_len, 0);
	run_rec_free(&out);
	tt_free(&t);
	free(text);
}
END_TEST

/* Moves longer than a chunk are cut in order; an empty one is nothing. */
START_TEST(data_records_round_trip)
{
	uint8_t bytes[SIM_REC_DATA_CHUNK + 100];
	struct data_rec d;
	struct tt_file t;
	struct fx x;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 13 + 1);
	fx_init(&x);
	sim_rec_data(x.sim, 0, 1, 42, true, SIM_REC_DATA_IO, 512, bytes, 100);
	sim_rec_data(x.sim, 0, 1, 43, false, SIM_REC_DATA_ISO_DESC, 0, bytes,
		     0);
	sim_rec_data(x.sim, 2, 1, 44, false, SIM_REC_DATA_SEG_LIST, 8, bytes,
		     sizeof(bytes));
	fx_read(&x, &t);
	ck_assert_uint_eq(t.n, 3);
	decode_data(&t.recs[0], &d);
	ck_assert_uint_eq(d.ref, 42);
	ck_assert_uint_eq(d.granter, 1);
	ck_assert_uint_eq(d.mover, 0);
	ck_assert_uint_eq(d.to_granted, 1);
	ck_assert_uint_eq(d.what, SIM_REC_DATA_IO);
	ck_assert_uint_eq(d.offset, 512);
	ck_assert_uint_eq(d.len, 100);
	ck_assert_mem_eq(d.bytes, bytes, 100);
	decode_data(&t.recs[1], &d);
	ck_assert_uint_eq(d.ref, 44);
	ck_assert_uint_eq(d.mover, 2);
	ck_assert_uint_eq(d.to_granted, 0);
	ck_assert_uint_eq(d.what, SIM_REC_DATA_SEG_LIST);
	ck_assert_uint_eq(d.offset, 8);
	ck_assert_uint_eq(d.len, SIM_REC_DATA_CHUNK);
	ck_assert_mem_eq(d.bytes, bytes, SIM_REC_DATA_CHUNK);
	decode_data(&t.recs[2], &d);
	ck_assert_uint_eq(d.offset, 8 + SIM_REC_DATA_CHUNK);
	ck_assert_uint_eq(d.len, 100);
	ck_assert_mem_eq(d.bytes, bytes + SIM_REC_DATA_CHUNK, 100);
	tt_free(&t);
}
END_TEST

/* ---- a whole run ------------------------------------------------------------ */

/* A read-only workload over an image the test fills first: every block's
 * bytes are known, so the DATA the backend wrote into the guest's pages
 * can be checked against the file. */
static const char whole_cfg[] =
    "# replay records test\n"
    "name = \"rec\"\n"
    "type = \"pv\"\n"
    "memory = 256\n"
    "sim_scsi_targets = [ 'name=d, type=disk, image=%s/d.img, size=1M' ]\n"
    "vscsi = [ 'd, 0:0:0:0' ]\n"
    "sim_workloads = [ 'lun=0:0:0:0, pattern=randread, block=8K, "
    "depth=4, ops=40' ]\n"
    "sim_time_limit = \"2s\"\n";

#define IMAGE_BYTES (1u << 20)

static uint8_t image_byte(size_t i)
{
	return (uint8_t)((i >> 9) * 31 + (i & 511) * 7 + 3);
}

static void write_image(const char *dir)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/d.img", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	for (size_t i = 0; i < IMAGE_BYTES; i++)
		ck_assert_int_ne(fputc(image_byte(i), f), EOF);
	ck_assert_int_eq(fclose(f), 0);
}

static char *slurp_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Does this DATA chunk equal some 512-byte-aligned run of the image? The
 * chunk is a page's worth of one command's data (8 KiB over pages), so
 * it starts on a block boundary of the image. */
static bool matches_image(const struct data_rec *d)
{
	for (size_t at = 0; at + d->len <= IMAGE_BYTES; at += 512) {
		size_t k = 0;

		while (k < d->len && d->bytes[k] == image_byte(at + k))
			k++;
		if (k == d->len)
			return true;
	}
	return false;
}

START_TEST(whole_run_config_text_and_read_data)
{
	struct pvscsi_run_options opt = {.seed = 6, .has_seed = true};
	struct pvscsi_run_result res;
	char dir[64], path[256], text[1024], err[512];
	size_t disk_len, io_in = 0, unmatched = 0;
	struct simcfg *cfg;
	struct run_rec run;
	struct tt_file t;
	char *disk;
	FILE *f;

	xpv_tmpdir_make(dir, sizeof(dir), "replayrec");
	write_image(dir);
	snprintf(text, sizeof(text), whole_cfg, dir);
	snprintf(path, sizeof(path), "%s/rec.cfg", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	if (simcfg_load(path, &cfg, err, sizeof(err)))
		ck_abort_msg("config: %s", err);
	ck_assert_ptr_nonnull(f = tmpfile());
	opt.trace_pcap = f;
	ck_assert_msg(pvscsi_run(cfg, &opt, &res, err, sizeof(err)) == 0,
		      "run: %s", err);
	ck_assert_uint_eq(res.violations_total, 0);
	pvscsi_run_result_free(&res);
	simcfg_free(cfg);
	disk = slurp_path(path, &disk_len);
	tt_read(f, &t); /* closes it */
	tt_check_framing(&t);

	decode_run(&t, &run);
	ck_assert_uint_eq(run.kind, SIM_REC_RUN_PVSCSI);
	ck_assert_uint_eq(run.seed, 6);
	ck_assert_uint_eq(run.flags, 0);
	ck_assert_str_eq(run.frontend, "xpv-scsifront");
	ck_assert_str_eq(run.config_path, path);
	ck_assert_uint_eq(run.config_len, disk_len);
	ck_assert_mem_eq(run.config, disk, disk_len);
	ck_assert_uint_eq(run.time_limit_ns, 2000000000ull);
	for (size_t i = 0; i < t.n; i++) {
		struct data_rec d;

		if (t.recs[i].type != SIM_REC_DATA)
			continue;
		decode_data(&t.recs[i], &d);
		ck_assert_uint_eq(d.mover, 0); /* dom0's scsiback */
		ck_assert_uint_eq(d.granter, 1);
		ck_assert_uint_eq(d.to_granted, 1); /* reads only */
		if (d.what != SIM_REC_DATA_IO || d.len != 4096)
			continue; /* INQUIRY, READ CAPACITY and friends */
		io_in++;
		unmatched += !matches_image(&d);
	}
	/* 40 reads of 8 KiB, two pages each. */
	ck_assert_uint_ge(io_in, 80);
	ck_assert_uint_eq(unmatched, 0);
	run_rec_free(&run);
	tt_free(&t);
	free(disk);
	xpv_tmpdir_remove(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("trace_replay_records");
	TCase *tc = tcase_create("records");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, run_record_round_trip);
	tcase_add_test(tc, run_record_long_config_and_flags);
	tcase_add_test(tc, data_records_round_trip);
	tcase_add_test(tc, whole_run_config_text_and_read_data);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
