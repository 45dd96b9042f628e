/*
 * See fuzz_session.h. The scratch directory is the only state kept across
 * sessions; each session creates and destroys its own simulator.
 */
#include "fuzz_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <xpv_sim.h>
#include "fuzz_target.h"
#include "sim/cli/simcfg.h"
#include "sim/trace/trace_pcap.h"

static char dir[256];
static FILE *trace_file; /* XPV_FUZZ_TRACE's, open during a session */

FILE *fuzz_session_trace_file(void)
{
	const char *path = getenv("XPV_FUZZ_TRACE");

	if (!path || !*path)
		return NULL;
	if (!trace_file && !(trace_file = fopen(path, "wb"))) {
		perror(path);
		abort();
	}
	return trace_file;
}

void fuzz_session_trace_begin(struct sim *sim)
{
	FILE *f = fuzz_session_trace_file();

	if (f && sim_recorder_attach_flags(sim, f, SIM_REC_PCAP_FLUSH_EACH))
		fuzz_fail("session-trace", "cannot record to XPV_FUZZ_TRACE");
}

void fuzz_session_trace_end(void)
{
	if (trace_file)
		fclose(trace_file); /* the next session rewrites it */
	trace_file = NULL;
}

/* Only what sessions create: the image files directly in dir. */
static void remove_dir(void)
{
	static const char *const images[] = { "d0.img", "d1.img", "cd.iso" };
	char path[300];

	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, images[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* XPV_BREAK=NAME makes the frontend misbehave on purpose (xpv_sim.h), so
 * a test can show that each oracle fires. */
static void break_from_env(void)
{
	const char *name = getenv("XPV_BREAK");
	enum xpv_sim_break b;

	if (!name)
		return;
	if (xpv_sim_break_parse(name, &b)) {
		fprintf(stderr, "XPV_BREAK: unknown defect '%s'\n", name);
		abort();
	}
	xpv_sim_set_break(b);
}

/* Every session builds and tears down a whole simulator, a few hundred
 * KiB of tables: glibc would give that memory back to the kernel at each
 * teardown and take it again, page fault by page fault, at the next set-up
 * (a fifth of a session's time). Keep it. Sanitizer builds have their own
 * allocator and ignore this. */
static void keep_heap(void)
{
#ifdef __GLIBC__
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
#endif
}

void fuzz_session_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	keep_heap();
	break_from_env();
}

const char *fuzz_session_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (dir[0])
		return dir;
	snprintf(dir, sizeof(dir), "%s/xpv-fuzz.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("fuzz session: mkdtemp");
		abort();
	}
	atexit(remove_dir);
	return dir;
}

/* The configuration of the text: parsed once while the text stays the
 * same (a campaign's inputs mostly share their header, and parsing was a
 * twentieth of a session). pvscsi_run never changes a config. */
static const struct simcfg *config_of(const char *text)
{
	static char *last_text;
	static struct simcfg *last;
	char err[512];

	if (last_text && strcmp(last_text, text) == 0)
		return last;
	simcfg_free(last);
	free(last_text);
	last = NULL;
	last_text = NULL;
	/* The text is the target's own: a refusal is a bug in the target. */
	if (simcfg_load_string(text, "fuzz.cfg", NULL, &last, err,
			       sizeof(err)))
		fuzz_fail("session-config", "%s\n%s", err, text);
	last_text = strdup(text);
	if (!last_text)
		abort();
	return last;
}

static bool backend_lied(const struct pvscsi_run_result *res)
{
	for (unsigned i = 0; i < res->nr_hosts; i++)
		if (res->hosts[i].be_misattributed)
			return true;
	return false;
}

void fuzz_session_run(const char *config_text,
		      const struct pvscsi_run_options *base,
		      void (*check)(const struct pvscsi_run_result *res))
{
	struct pvscsi_run_options opt = *base;

	fuzz_session_init();
	struct pvscsi_run_result res;
	const struct simcfg *cfg = config_of(config_text);
	char err[512];

	opt.seed = 1; /* the input decides; the seed only fills gaps */
	opt.has_seed = true;
	opt.log = NULL;
	opt.trace = NULL;
	/* XPV_FUZZ_LOG=1: the frontend's log and every trace record on
	 * stderr, to see why an input fails. */
	if (getenv("XPV_FUZZ_LOG")) {
		opt.log = stderr;
		opt.log_level = 3;
		opt.trace = stderr;
	}
	opt.trace_pcap = fuzz_session_trace_file();
	opt.trace_flags = SIM_REC_PCAP_FLUSH_EACH;

	if (pvscsi_run(cfg, &opt, &res, err, sizeof(err)))
		fuzz_fail("session-setup", "%s", err);
	fuzz_session_trace_end();
	if (backend_lied(&res)) {
		/* A backend that answered a request with another's response
		 * can make the guest believe a write or read succeeded that
		 * it never did: data mismatches are then its doing. Every
		 * other oracle still holds. */
		res.violations_total -= res.violations[SIM_CHECK_DATA_CORRUPT];
		res.violations[SIM_CHECK_DATA_CORRUPT] = 0;
	}
	if (res.violations_total || res.time_limit_hit)
		pvscsi_run_print(stderr, cfg, &res);
	if (res.violations_total)
		fuzz_fail("checkers", "%llu violations\n%s",
			  (unsigned long long)res.violations_total,
			  res.report ? res.report : "");
	/* A stall with nothing outstanding is allowed (a backend can always
	 * refuse to connect); still busy at the limit means a livelock. */
	if (res.time_limit_hit)
		fuzz_fail("liveness", "still busy when the time limit came "
			  "(%.6f s simulated, %llu events)",
			  (double)res.sim_time_ns / 1e9,
			  (unsigned long long)res.events);
	if (check)
		check(&res);
	pvscsi_run_result_free(&res);
}
