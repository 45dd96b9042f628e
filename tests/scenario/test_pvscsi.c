/*
 * Scenario tests: whole simulated PVSCSI guests (sim/run) driving the
 * reference frontend through the frontend-under-test interface, against
 * the scsiback model and disks on image files. Each test is a
 * configuration as a user would write it, plus what must come out.
 * Every run must leave the checkers clean and end by itself.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "tmpdir.h"
#include "sim/run/pvscsi_run.h"
#include "drivers/scsifront/scsifront.h"

static char dir[64];

static void dir_setup(void)
{
	xpv_tmpdir_make(dir, sizeof(dir), "scenario");
}

static void dir_teardown(void)
{
	xpv_tmpdir_remove(dir);
}

#define TARGETS                                                               \
	"sim_scsi_targets = [ 'name=d0, type=disk, image=d0.img, size=16M',"  \
	" 'name=d1, type=disk, image=d1.img, size=8M, block_size=4096',"      \
	" 'name=cd, type=cdrom, image=cd.iso, size=2M' ]\n"

/* Run cfg text; the result must be clean and must have ended by itself. */
static void run_text(const char *text, struct pvscsi_run_result *res)
{
	struct pvscsi_run_options opt = { .frontend = NULL };
	struct simcfg *cfg;
	char err[512];

	if (simcfg_load_string(text, "scenario", dir, &cfg, err, sizeof(err)))
		ck_abort_msg("config: %s", err);
	ck_assert_msg(pvscsi_run(cfg, &opt, res, err, sizeof(err)) == 0,
		      "run: %s", err);
	if (res->violations_total)
		pvscsi_run_print(stderr, cfg, res);
	simcfg_free(cfg);
}

static void expect_clean(const struct pvscsi_run_result *res)
{
	ck_assert_msg(res->violations_total == 0, "checkers: %s",
		      res->report ? res->report : "");
	ck_assert_msg(!res->time_limit_hit && !res->stalled,
		      "run did not end by itself");
	ck_assert_uint_eq(res->violations[SIM_CHECK_LIVENESS], 0);
	ck_assert_uint_eq(res->blocks_audit_bad, 0);
}

START_TEST(connect_and_scan_two_luns)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0', 'cd, 0:0:1:0' ]\n", &res);
	expect_clean(&res);
	ck_assert_uint_eq(res.nr_hosts, 1);
	ck_assert(res.hosts[0].connected);
	ck_assert(res.hosts[0].closed);
	ck_assert_uint_eq(res.hosts[0].nr_luns, 2);
	ck_assert(res.hosts[0].luns[0].scanned && res.hosts[0].luns[1].scanned);
	ck_assert_uint_eq(res.hosts[0].luns[0].type, 0);
	ck_assert_uint_eq(res.hosts[0].luns[0].blocks, 16u << 11);
	ck_assert_uint_eq(res.hosts[0].luns[0].block_size, 512);
	ck_assert_uint_eq(res.hosts[0].luns[1].type, 5);
	ck_assert_uint_eq(res.hosts[0].luns[1].block_size, 2048);
	ck_assert_uint_eq(res.hosts[0].luns[1].blocks, 1024);
	pvscsi_run_result_free(&res);
}
END_TEST

START_TEST(random_rw_depth16_indirect_verified)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=256K, depth=16, ops=300, span=4M, verify=1' ]\n",
		 &res);
	expect_clean(&res);
	ck_assert_uint_eq(res.works[0].ops, 300);
	ck_assert_uint_eq(res.works[0].ok, 300);
	ck_assert_uint_gt(res.works[0].verified_bytes, 1u << 20);
	/* 256 KiB = 64 segments > 26: every data command is indirect. */
	ck_assert_uint_ge(res.hosts[0].fut.indirect, 300);
	ck_assert_uint_gt(res.blocks_audited, 1000);
	pvscsi_run_result_free(&res);
}
END_TEST

/* A 1 MiB I/O is more than one command can carry (512 KiB at 128
 * segments): the guest splits it, and every part is written and read back. */
START_TEST(large_io_split_into_commands)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=seqwrite, "
			 "block=1M, depth=4, ops=8', 'lun=0:0:0:0, "
			 "pattern=seqread, block=1M, depth=4, ops=8, "
			 "start=50ms' ]\n",
		 &res);
	expect_clean(&res);
	for (int w = 0; w < 2; w++) {
		ck_assert_uint_eq(res.works[w].ops, 8);
		ck_assert_uint_eq(res.works[w].ok, 8);
		ck_assert_uint_eq(res.works[w].bytes, 8u << 20);
	}
	ck_assert_uint_eq(res.works[1].verified_bytes, 8u << 20);
	ck_assert_uint_eq(res.blocks_audited, 8u << 11);
	/* Scan commands plus exactly two per I/O. */
	ck_assert_uint_ge(res.hosts[0].guest.commands, 32);
	ck_assert_uint_le(res.hosts[0].guest.commands, 32 + 8);
	pvscsi_run_result_free(&res);
}
END_TEST

/* Any feature-sg-grant the configuration allows (up to 65535) works: the
 * frontend clamps it to what it supports. (The model once asserted a
 * limit of its own below that; found by fuzz_scsifront_xenbus.) */
START_TEST(feature_sg_grant_above_what_the_frontend_takes)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_scsiback = 'sg_grant=65535'\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=1M, depth=4, ops=20, span=4M' ]\n",
		 &res);
	expect_clean(&res);
	ck_assert_uint_eq(res.works[0].ok, 20);
	pvscsi_run_result_free(&res);
}
END_TEST

/* A write whose grants could not all be claimed is never published; its
 * bounce pages, which carry its data, are later granted writable for a
 * read. The frontend must say the data is discarded (found by xpvsim
 * sweep: seed 81 of examples/pvscsi-workload.cfg). */
START_TEST(unpublished_write_leaves_no_outbound_data)
{
	struct pvscsi_run_result res;

	run_text("sim_scsi_targets = [ 'name=data, type=disk, "
		 "image=w.img, size=256M' ]\n"
		 "vscsi = [ 'data, 0:0:0:0' ]\n"
		 "sim_scsiback = 'sg_grant=128, service_min=20us, "
		 "service_max=200us, per_kib=1us'\n"
		 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, block=128K, "
		 "depth=16, ops=1, verify=1, span=64M', 'lun=0:0:0:0, "
		 "pattern=seqread, block=1M, depth=2, ops=1', "
		 "'lun=0:0:0:0, pattern=abort-reset, ops=1, start=60ms' ]\n"
		 "sim_seed = 81\n"
		 "sim_faults = \"alloc=1000,grant-claim=100000,xs-enomem=10000,"
		 "evtchn-delay=1000,evtchn-storm=100,be-dup-rsp=100,"
		 "be-residual=100000,be-rslt-bits=10000,be-hold-grant=100,"
		 "be-xs-values=1000\"\n"
		 "sim_time_limit = \"60s\"\n",
		 &res);
	expect_clean(&res);
	pvscsi_run_result_free(&res);
}
END_TEST

/* Allocating the bounce pages fails part-way, and the backend says
 * Connected again: the second attempt must keep what the first got (it
 * once allocated every slot afresh and leaked the first pages; found by
 * xpvsim sweep: seed 265 of examples/pvscsi-hotplug.cfg). */
START_TEST(bounce_allocation_retried_without_leaking)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=4K, depth=4, ops=1' ]\n"
			 "sim_seed = 265\n"
			 "sim_faults = \"alloc=1000,be-bad-state=100000\"\n"
			 "sim_time_limit = \"120s\"\n",
		 &res);
	expect_clean(&res);
	pvscsi_run_result_free(&res);
}
END_TEST

START_TEST(lun_hot_add_and_remove_during_io)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_timeline = [ '2ms lun-add 0:0:2:0 d1',"
			 " '12ms lun-remove 0:0:2:0' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=4K, depth=8, ops=3000, span=1M, verify=1',"
			 " 'lun=0:0:2:0, pattern=randwrite, block=8K, depth=4,"
			 " ops=100000, start=3ms' ]\n",
		 &res);
	expect_clean(&res);
	ck_assert_uint_eq(res.hosts[0].nr_luns, 2);
	ck_assert(res.hosts[0].luns[1].scanned);
	ck_assert_uint_eq(res.hosts[0].luns[1].block_size, 4096);
	ck_assert_uint_ge(res.hosts[0].guest.luns_removed, 1);
	ck_assert_uint_eq(res.works[0].ok, 3000);
	/* Writes to the removed LUN ran until it went; the ones that
	 * completed are on its image (audited), the rest failed. */
	ck_assert_uint_gt(res.works[1].ok, 0);
	ck_assert_uint_lt(res.works[1].ops, 100000);
	pvscsi_run_result_free(&res);
}
END_TEST

/* Eight abort-reset rounds while a depth-8 verified workload runs. */
static void abort_reset_run(const char *extra, struct pvscsi_run_result *res)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n%s"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=abort-reset, "
			 "ops=8', 'lun=0:0:0:0, pattern=randrw, block=4K, "
			 "depth=8, ops=2000, verify=1, span=1M' ]\n",
		 extra);
	run_text(text, res);
	expect_clean(res);
}

/* Linux xen-scsiback (over LIO) never answers a command an abort or LUN
 * reset takes down, and keeps its pages mapped: the backend model's
 * default. The frontend completes such commands itself, quarantines their
 * pages, and goes on with fewer ring entries. */
START_TEST(abort_and_reset)
{
	struct pvscsi_run_result res;

	abort_reset_run("", &res);
	ck_assert_uint_eq(res.works[0].resets_ok + res.works[0].resets_failed,
			  8);
	ck_assert_uint_gt(res.works[0].resets_ok, 0);
	ck_assert_uint_eq(res.works[0].aborts_ok + res.works[0].aborts_failed,
			  8);
	ck_assert_uint_gt(res.works[0].aborts_ok, 0);
	ck_assert_uint_eq(res.works[1].ok, 2000);
	ck_assert(!res.hosts[0].front_error);
	ck_assert_uint_gt(res.hosts[0].fut.abandoned, 0);
	ck_assert_uint_eq(res.hosts[0].fut.late_answers, 0);
	ck_assert_uint_ge(res.quarantined, res.hosts[0].fut.abandoned);
	pvscsi_run_result_free(&res);
}
END_TEST

/* A LUN reset takes down more held pages than the quarantine budget: the
 * device enters its error state while the reset's own answer is being
 * handled (once a double release of the TMR's slot; found by
 * fuzz_scsifront). */
START_TEST(reset_beyond_the_quarantine_budget)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=512K, depth=16, ops=200, span=16M', "
			 "'lun=0:0:0:0, pattern=abort-reset, ops=4, "
			 "start=1ms' ]\n",
		 &res);
	expect_clean(&res);
	ck_assert(res.hosts[0].front_error);
	ck_assert_uint_gt(res.quarantined, SCSIFRONT_QUARANTINE_MAX_PAGES);
	pvscsi_run_result_free(&res);
}
END_TEST

/* A backend that answers the victims first (host ABORT / RESET), then the
 * TMR: nothing is given up on and nothing quarantined. */
START_TEST(abort_and_reset_victims_answered)
{
	struct pvscsi_run_result res;

	abort_reset_run("sim_scsiback = 'tmr_victims=answer'\n", &res);
	ck_assert_uint_eq(res.works[0].resets_ok, 8);
	ck_assert_uint_gt(res.works[0].aborts_ok, 0);
	ck_assert_uint_eq(res.works[1].ok + res.works[1].failed, 2000);
	ck_assert_uint_eq(res.hosts[0].fut.abandoned, 0);
	ck_assert_uint_eq(res.quarantined, 0);
	pvscsi_run_result_free(&res);
}
END_TEST

START_TEST(suspend_resume_with_io_in_flight)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0', 'd1, 0:0:1:0' ]\n"
			 "sim_timeline = [ '3ms suspend', '9ms suspend' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=64K, depth=16, ops=1500, span=2M, verify=1' ]\n",
		 &res);
	expect_clean(&res);
	ck_assert(res.hosts[0].resumed);
	ck_assert(!res.hosts[0].front_error);
	ck_assert_uint_eq(res.hosts[0].nr_luns, 2);
	/* Commands in flight at each suspend came back with host RESET and
	 * were retried; every one ended. */
	ck_assert_uint_gt(res.works[0].retried, 0);
	ck_assert_uint_eq(res.works[0].ok + res.works[0].failed, 1500);
	pvscsi_run_result_free(&res);
}
END_TEST

START_TEST(orderly_close_with_io_in_flight)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_timeline = [ '2ms close' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randwrite, "
			 "block=32K, depth=16, ops=100000' ]\n",
		 &res);
	expect_clean(&res);
	ck_assert(res.hosts[0].closed);
	ck_assert_uint_gt(res.works[0].ok, 0);
	ck_assert_uint_eq(res.quarantined, 0);
	pvscsi_run_result_free(&res);
}
END_TEST

START_TEST(disorderly_teardown_with_io_in_flight)
{
	struct pvscsi_run_result res;

	run_text(TARGETS "vscsi = [ 'd0, 0:0:0:0' ]\n"
			 "sim_timeline = [ '2ms destroy' ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=32K, depth=16, ops=100000, span=4M, "
			 "verify=1' ]\n",
		 &res);
	/* Clean: nothing leaked, every command completed once (the ones in
	 * flight failed), nothing delivered for the failures. */
	expect_clean(&res);
	ck_assert_uint_gt(res.works[0].failed, 0);
	ck_assert_uint_eq(res.hosts[0].guest.commands,
			  res.hosts[0].guest.completed);
	pvscsi_run_result_free(&res);
}
END_TEST

/* ---- backend misbehaviour (protocol.md §5.1), one run per case ---------- */

enum reaction { NONE, ERROR_STATE, CLAMP, QUARANTINE, LATE_IGNORED };

struct misbehaviour {
	const char *faults;
	const char *extra; /* more config, e.g. a timeline */
	enum reaction reaction;
	bool maybe_idle;   /* the backend may find no chance to inject */
};

static const struct misbehaviour cases[] = {
	{ "be-rsp-overflow=20000", "", ERROR_STATE, false },     /* #1 */
	{ "be-rsp-rewrite=200000", "", NONE, false },            /* #2 */
	{ "be-req-rewrite=200000", "", NONE, false },            /* #3 */
	{ "be-bad-id=20000", "", ERROR_STATE, false },           /* #4 */
	{ "be-dup-rsp=20000", "", ERROR_STATE, false },          /* #5 */
	{ "be-stale-id=20000", "", ERROR_STATE, false },         /* #5 */
	{ "be-sense-len=200000", "", CLAMP, false },             /* #8 */
	{ "be-residual=200000", "", CLAMP, false },              /* #8 */
	{ "be-rslt-bits=200000", "", CLAMP, false },             /* #9 */
	{ "be-hold-grant=20000", "", QUARANTINE, false },        /* #10, #11 */
	{ "be-hold-ring=1000000", "", QUARANTINE, false },       /* #12 */
	{ "evtchn-storm=100000", "", NONE, true },              /* #13 */
	{ "be-xs-values=1000000", "", NONE, false },             /* #15 */
	{ "be-bad-state=300000", "", NONE, false },              /* #18 */
	/* TMR answers come 30 s late: the run lasts until they arrive. */
	{ "be-late-tmr=1000000", "abort", LATE_IGNORED, false }, /* #19 */
	{ "be-no-answer=2000", "", NONE, false },                /* #20 */
	{ "be-remove-after-resume=1000000", "suspend", NONE, false }, /* #21 */
	{ "be-garbage=1000000", "", NONE, false },               /* #22 */
};

START_TEST(backend_misbehaviour)
{
	const struct misbehaviour *m = &cases[_i];
	struct pvscsi_run_result res;
	char text[2048];

	snprintf(text, sizeof(text),
		 TARGETS "vscsi = [ 'd0, 0:0:0:0', 'cd, 0:0:1:0' ]\n"
			 "sim_faults = \"%s\"\n"
			 "sim_time_limit = \"60s\"\n"
			 "sim_timeline = [ %s ]\n"
			 "sim_workloads = [ 'lun=0:0:0:0, pattern=randrw, "
			 "block=64K, depth=16, ops=600, span=2M, verify=1'%s ]\n",
		 m->faults,
		 strcmp(m->extra, "suspend") == 0 ? "'3ms suspend'"
		 : strcmp(m->extra, "abort") == 0 ? "'40s close'"
						   : "",
		 strcmp(m->extra, "abort") == 0
			 ? ", 'lun=0:0:0:0, pattern=abort-reset, ops=2'"
			 : "");
	run_text(text, &res);
	/* Whatever the backend did: no crash, no hang, no leak, no double
	 * completion, no data for a failed command, nothing corrupt. */
	expect_clean(&res);
	ck_assert_msg(m->maybe_idle || res.hosts[0].be_misbehaved > 0,
		      "%s never injected", m->faults);
	switch (m->reaction) {
	case ERROR_STATE:
		ck_assert_msg(res.hosts[0].front_error, "%s: no error state",
			      m->faults);
		break;
	case CLAMP:
		ck_assert_msg(res.hosts[0].fut.clamped > 0, "%s: not clamped",
			      m->faults);
		ck_assert(!res.hosts[0].front_error);
		break;
	case QUARANTINE:
		ck_assert_msg(res.quarantined > 0, "%s: nothing quarantined",
			      m->faults);
		break;
	case LATE_IGNORED:
		ck_assert_msg(res.hosts[0].fut.late_answers > 0,
			      "%s: no late answer seen", m->faults);
		ck_assert(!res.hosts[0].front_error);
		break;
	case NONE:
		break;
	}
	pvscsi_run_result_free(&res);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pvscsi scenarios");
	TCase *tc = tcase_create("scenario");

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, connect_and_scan_two_luns);
	tcase_add_test(tc, random_rw_depth16_indirect_verified);
	tcase_add_test(tc, large_io_split_into_commands);
	tcase_add_test(tc, feature_sg_grant_above_what_the_frontend_takes);
	tcase_add_test(tc, unpublished_write_leaves_no_outbound_data);
	tcase_add_test(tc, bounce_allocation_retried_without_leaking);
	tcase_add_test(tc, lun_hot_add_and_remove_during_io);
	tcase_add_test(tc, abort_and_reset);
	tcase_add_test(tc, abort_and_reset_victims_answered);
	tcase_add_test(tc, reset_beyond_the_quarantine_budget);
	tcase_add_test(tc, suspend_resume_with_io_in_flight);
	tcase_add_test(tc, orderly_close_with_io_in_flight);
	tcase_add_test(tc, disorderly_teardown_with_io_in_flight);
	tcase_add_loop_test(tc, backend_misbehaviour, 0,
			    sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
