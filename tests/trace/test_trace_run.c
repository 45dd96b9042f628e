/*
 * Whole runs recorded (pvscsi_run / pvusb_run with trace_pcap): the
 * examples a user would record, each on fresh images in a scratch
 * directory. The same seed gives the same bytes and another seed other
 * bytes; recording leaves the trace hash alone; the ring records agree
 * with the backend models' own counts, and every recorded response
 * answers a request recorded before it on the same ring.
 */
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "sim/run/pvscsi_run.h"
#include "sim/run/pvusb_run.h"
#include "tmpdir.h"
#include "trace_test.h"

struct outcome {
	uint8_t *bytes; /* the file; NULL when not recorded */
	size_t len;
	uint64_t trace_hash;
	/* The backend models' counts, summed over devices. */
	uint64_t be_requests, be_responses, be_conn_events;
	uint64_t violations;
};

static char *slurp(FILE *f, size_t *len)
{
	char *buf;
	long n;

	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void run_scsi(const struct simcfg *cfg, uint64_t seed, FILE *pcap,
		     struct outcome *o)
{
	struct pvscsi_run_options opt = {.seed = seed, .has_seed = true};
	struct pvscsi_run_result res;
	char err[512];

	opt.trace_pcap = pcap;
	ck_assert_msg(pvscsi_run(cfg, &opt, &res, err, sizeof(err)) == 0,
		      "run: %s", err);
	o->trace_hash = res.trace_hash;
	o->violations = res.violations_total;
	for (unsigned i = 0; i < res.nr_hosts; i++) {
		o->be_requests += res.hosts[i].be_requests;
		o->be_responses += res.hosts[i].be_responses;
	}
	pvscsi_run_result_free(&res);
}

static void run_usb(const struct simcfg *cfg, uint64_t seed, FILE *pcap,
		    struct outcome *o)
{
	struct pvusb_run_options opt = {.seed = seed, .has_seed = true};
	struct pvusb_run_result res;
	char err[512];

	opt.trace_pcap = pcap;
	ck_assert_msg(pvusb_run(cfg, &opt, &res, err, sizeof(err)) == 0,
		      "run: %s", err);
	o->trace_hash = res.trace_hash;
	o->violations = res.violations_total;
	for (unsigned i = 0; i < res.nr_ctrls; i++) {
		o->be_requests += res.ctrls[i].be_requests;
		o->be_responses += res.ctrls[i].be_responses;
		o->be_conn_events += res.ctrls[i].be_conn_events;
	}
	pvusb_run_result_free(&res);
}

/* examples/<name> with seed, on fresh images; recorded when record (the
 * file's bytes in o, and decoded into t when t is not NULL). */
static void run_example(const char *name, uint64_t seed, bool record,
			struct outcome *o, struct tt_file *t)
{
	char path[512], dir[64], err[512];
	struct simcfg *cfg;
	FILE *src, *pcap = NULL;
	size_t len;
	char *text;

	memset(o, 0, sizeof(*o));
	snprintf(path, sizeof(path), "%s/%s", XPV_EXAMPLES, name);
	src = fopen(path, "r");
	ck_assert_ptr_nonnull(src);
	text = slurp(src, &len);
	fclose(src);
	xpv_tmpdir_make(dir, sizeof(dir), "trace");
	if (simcfg_load_string(text, name, dir, &cfg, err, sizeof(err)))
		ck_abort_msg("config: %s", err);
	free(text);
	if (record)
		ck_assert_ptr_nonnull(pcap = tmpfile());
	if (cfg->nr_usbctrls)
		run_usb(cfg, seed, pcap, o);
	else
		run_scsi(cfg, seed, pcap, o);
	simcfg_free(cfg);
	xpv_tmpdir_remove(dir);
	ck_assert_uint_eq(o->violations, 0);
	if (!pcap)
		return;
	o->bytes = (uint8_t *)slurp(pcap, &o->len);
	if (t) {
		tt_read(pcap, t); /* closes it */
		tt_check_framing(t);
	} else {
		fclose(pcap);
	}
}

/* ---- ring records against the models ---- */

struct ring_tally {
	uint64_t entries[4][2]; /* [kind][direction] */
	uint64_t orphans;	/* responses to no outstanding request */
	uint64_t attaches, detaches, index_moves;
};

/* Every ring kind starts its entries with a 16-bit id (rqid / id) that a
 * response echoes from its request. */
static void tally_rings(const struct tt_file *t, struct ring_tally *rt)
{
	/* Outstanding request ids of the ring attached last per kind:
	 * within a kind rings of one device follow each other. */
	static uint16_t open[4][65536];

	memset(rt, 0, sizeof(*rt));
	memset(open, 0, sizeof(open));
	for (size_t i = 0; i < t->n; i++) {
		const struct tt_rec *r = &t->recs[i];
		const uint8_t *p = r->payload;

		if (r->type == SIM_REC_RING_ATTACH) {
			ck_assert_uint_ge(p[2], 1);
			ck_assert_uint_le(p[2], 3);
			memset(open[p[2]], 0, sizeof(open[p[2]]));
			rt->attaches++;
		} else if (r->type == SIM_REC_RING_DETACH) {
			rt->detaches++;
		} else if (r->type == SIM_REC_RING_INDEX) {
			rt->index_moves++;
		} else if (r->type == SIM_REC_RING_ENTRY) {
			uint8_t kind = p[2], dir = p[3];
			uint16_t id = tt_u16(p + 20);

			ck_assert_uint_le(kind, 3);
			ck_assert_uint_le(dir, 1);
			ck_assert_uint_eq(r->payload_len, 20 + tt_u32(p + 16));
			rt->entries[kind][dir]++;
			if (dir == SIM_REC_REQUEST)
				open[kind][id]++;
			else if (open[kind][id])
				open[kind][id]--;
			else
				rt->orphans++;
		}
	}
}

static void outcome_free(struct outcome *o)
{
	free(o->bytes);
	o->bytes = NULL;
}

static void check_example(const char *name)
{
	struct outcome a, b, c, plain;
	struct tt_file t;

	run_example(name, 3, true, &a, &t);
	run_example(name, 3, true, &b, NULL);
	run_example(name, 4, true, &c, NULL);
	run_example(name, 3, false, &plain, NULL);
	ck_assert_uint_gt(a.len, 24);
	ck_assert_msg(a.len == b.len && memcmp(a.bytes, b.bytes, a.len) == 0,
		      "%s: seed 3 twice gave different files", name);
	ck_assert_msg(a.len != c.len || memcmp(a.bytes, c.bytes, a.len) != 0,
		      "%s: seeds 3 and 4 gave the same file", name);
	ck_assert_uint_eq(a.trace_hash, plain.trace_hash);
	ck_assert_uint_eq(a.trace_hash, b.trace_hash);
	outcome_free(&b);
	outcome_free(&c);

	struct ring_tally rt;

	tally_rings(&t, &rt);
	ck_assert_uint_gt(rt.attaches, 0);
	ck_assert_uint_eq(rt.detaches, rt.attaches);
	ck_assert_uint_eq(rt.index_moves, 0); /* honest backend, no faults */
	ck_assert_uint_eq(rt.orphans, 0);
	if (strstr(name, "pvusb")) {
		ck_assert_uint_eq(rt.entries[SIM_REC_RING_VSCSIIF][0], 0);
		ck_assert_uint_eq(rt.entries[SIM_REC_RING_USBIF_URB][0],
				  a.be_requests);
		ck_assert_uint_eq(rt.entries[SIM_REC_RING_USBIF_URB][1],
				  a.be_responses);
		ck_assert_uint_eq(rt.entries[SIM_REC_RING_USBIF_CONN][1],
				  a.be_conn_events);
		ck_assert_uint_gt(a.be_conn_events, 0);
	} else {
		ck_assert_uint_eq(rt.entries[SIM_REC_RING_USBIF_URB][0], 0);
		ck_assert_uint_eq(rt.entries[SIM_REC_RING_VSCSIIF][0],
				  a.be_requests);
		ck_assert_uint_eq(rt.entries[SIM_REC_RING_VSCSIIF][1],
				  a.be_responses);
	}
	ck_assert_uint_gt(a.be_responses, 0);
	tt_free(&t);
	outcome_free(&a);
}

START_TEST(pvscsi_hotplug)
{
	check_example("pvscsi-hotplug.cfg");
}
END_TEST

START_TEST(pvusb_desk)
{
	check_example("pvusb-desk.cfg");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("trace_run");
	TCase *tc = tcase_create("examples");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, pvscsi_hotplug);
	tcase_add_test(tc, pvusb_desk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
