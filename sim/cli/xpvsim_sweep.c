/*
 * xpvsim sweep CONFIG [--from A] [--to B] [--faults SPEC] [--ops-limit N]
 *                     [--shrink] [--seed-independent options...]
 *
 * Runs the configuration once per seed A..B (default 1..100), each with a
 * fault plan drawn from its seed (swarm testing; --faults gives one plan to
 * every seed instead), and lists every seed whose checkers failed with the
 * command that reproduces it. --shrink then makes each failure smaller
 * while it still fails the same checker: fault classes are dropped one at
 * a time, then the I/O count of every workload (PVUSB: every device's
 * ops) is halved, and the smallest reproduction is printed. Exit status 1
 * if any seed failed.
 *
 * Faults make error handling run its course (command timeout 1 s, abort
 * and reset timeouts 5 s, the toolstack's close timeout 10 s), so every
 * run may last SWEEP_MIN_TIME simulated whatever the config's limit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/check/check.h"
#include "sim/core/fault.h"
#include "sim/cli/simcfg.h"
#include "sim/cli/xpvsim.h"

#define PLAN_MAX (SIM_FAULT_PLAN_MAX + 1)
#define SWEEP_MIN_TIME (120ull * 1000 * 1000 * 1000)

/* One run's verdict: -1 clean, else the first checker that fired; -2 when
 * the run could not be set up (the message is printed). */
struct verdict {
	int check;
	uint64_t violations;
	char faults[PLAN_MAX];
};

/* The verdict's checker fields from a run's counts. A backend that lied
 * about data (answered one request with another's response, or a length
 * that was not the device's) can make the guest see wrong data on its
 * own: data-corrupt then does not count, as in the fuzz sessions. */
static void verdict_of(struct verdict *v, const char *faults,
		       const uint64_t *violations, uint64_t total,
		       bool backend_lied)
{
	snprintf(v->faults, sizeof(v->faults), "%s", faults);
	v->violations = total;
	if (backend_lied)
		v->violations -= violations[SIM_CHECK_DATA_CORRUPT];
	for (int c = 0; c < SIM_CHECK__COUNT && v->violations; c++)
		if (violations[c] &&
		    !(backend_lied && c == SIM_CHECK_DATA_CORRUPT)) {
			v->check = c;
			break;
		}
}

static int run_pvscsi(const struct xpvsim_args *a, const struct simcfg *cfg,
		      uint64_t seed, const char *faults, uint64_t ops_limit,
		      struct verdict *v, char *err, size_t errlen)
{
	struct pvscsi_run_options opt;
	struct pvscsi_run_result res;

	xpvsim_run_options(a, &opt);
	opt.seed = seed;
	opt.has_seed = true;
	opt.faults = faults;
	opt.swarm = faults == NULL;
	opt.ops_limit = ops_limit;
	opt.min_time_limit_ns = SWEEP_MIN_TIME;
	bool lied = false;

	if (pvscsi_run(cfg, &opt, &res, err, errlen) != 0)
		return -1;
	for (unsigned i = 0; i < res.nr_hosts; i++)
		lied = lied || res.hosts[i].be_misattributed;
	verdict_of(v, res.faults, res.violations, res.violations_total, lied);
	pvscsi_run_result_free(&res);
	return 0;
}

static int run_pvusb(const struct xpvsim_args *a, const struct simcfg *cfg,
		     uint64_t seed, const char *faults, uint64_t ops_limit,
		     struct verdict *v, char *err, size_t errlen)
{
	struct pvusb_run_options opt;
	struct pvusb_run_result res;

	xpvsim_usb_run_options(a, &opt);
	opt.seed = seed;
	opt.has_seed = true;
	opt.faults = faults;
	opt.swarm = faults == NULL;
	opt.ops_limit = ops_limit;
	opt.min_time_limit_ns = SWEEP_MIN_TIME;
	bool lied = false;

	if (pvusb_run(cfg, &opt, &res, err, errlen) != 0)
		return -1;
	for (unsigned i = 0; i < res.nr_ctrls; i++)
		lied = lied || res.ctrls[i].be_misattributed;
	verdict_of(v, res.faults, res.violations, res.violations_total, lied);
	pvusb_run_result_free(&res);
	return 0;
}

/* One run of either kind (a configuration with usbctrl is PVUSB). */
static void run_one(const struct xpvsim_args *a, const struct simcfg *cfg,
		    uint64_t seed, const char *faults, uint64_t ops_limit,
		    struct verdict *v)
{
	char err[512];
	int e;

	v->check = -1;
	v->violations = 0;
	v->faults[0] = '\0';
	if (cfg->nr_usbctrls)
		e = run_pvusb(a, cfg, seed, faults, ops_limit, v, err,
			      sizeof(err));
	else
		e = run_pvscsi(a, cfg, seed, faults, ops_limit, v, err,
			       sizeof(err));
	if (e) {
		fprintf(stderr, "xpvsim: %s: %s\n", a->config, err);
		v->check = -2;
	}
}

/* The plan without its item number skip ("a=1,b=2" without 0: "b=2");
 * "none" when nothing is left. Returns false if there is no such item. */
static bool plan_without(const char *plan, unsigned skip, char *out,
			 size_t len)
{
	char copy[PLAN_MAX];
	char *save = NULL;
	unsigned i = 0;
	bool found = false;

	snprintf(copy, sizeof(copy), "%s", plan);
	out[0] = '\0';
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save), i++) {
		if (i == skip) {
			found = true;
			continue;
		}
		snprintf(out + strlen(out), len - strlen(out), "%s%s",
			 out[0] ? "," : "", t);
	}
	if (!out[0])
		snprintf(out, len, "none");
	return found && strcmp(plan, "none") != 0;
}

/* The largest op count of a workload (PVSCSI) or device (PVUSB). */
static uint64_t max_ops(const struct simcfg *cfg)
{
	uint64_t m = 1;

	for (unsigned i = 0; i < cfg->nr_workloads; i++)
		if (cfg->workloads[i].ops > m)
			m = cfg->workloads[i].ops;
	for (unsigned i = 0; i < cfg->nr_usb_devices; i++)
		if (cfg->usb_devices[i].ops > m)
			m = cfg->usb_devices[i].ops;
	return m;
}

/* Smaller while the same checker fires: fewer fault classes, then fewer
 * I/Os. Prints the result. */
static void shrink(const struct xpvsim_args *a, const struct simcfg *cfg,
		   uint64_t seed, const struct verdict *first)
{
	char plan[PLAN_MAX], trial[PLAN_MAX];
	uint64_t limit = a->ops_limit ? a->ops_limit : max_ops(cfg);
	unsigned runs = 0;
	struct verdict v;

	snprintf(plan, sizeof(plan), "%s", first->faults);
	/* Bounded: each accepted step removes one item of a finite plan. */
	for (unsigned i = 0; plan_without(plan, i, trial, sizeof(trial));) {
		run_one(a, cfg, seed, trial, limit, &v);
		runs++;
		if (v.check == first->check)
			snprintf(plan, sizeof(plan), "%s", trial);
		else
			i++;
	}
	/* Bounded: the limit halves each time. */
	while (limit > 1) {
		run_one(a, cfg, seed, plan, limit / 2, &v);
		runs++;
		if (v.check != first->check)
			break;
		limit /= 2;
	}
	printf("  shrunk in %u runs (still %s):\n    ", runs,
	       sim_check_name(first->check));
	xpvsim_print_reproduce(stdout, a->config, seed, plan, limit,
			       a->frontend, true);
}

int xpvsim_sweep(const struct xpvsim_args *a)
{
	struct simcfg *cfg;
	char err[512];
	uint64_t failed = 0, n = 0;

	if (simcfg_load(a->config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s\n", err);
		return 2;
	}
	for (uint64_t seed = a->from; seed <= a->to; seed++, n++) {
		struct verdict v;

		run_one(a, cfg, seed, a->faults, a->ops_limit, &v);
		if (v.check == -2) {
			simcfg_free(cfg);
			return 2;
		}
		if (v.check >= 0) {
			failed++;
			printf("seed %" PRIu64 ": %s (%" PRIu64
			       " violations), faults %s\n  ",
			       seed, sim_check_name(v.check), v.violations,
			       v.faults);
			xpvsim_print_reproduce(stdout, a->config, seed,
					       v.faults, a->ops_limit,
					       a->frontend, true);
			if (a->shrink)
				shrink(a, cfg, seed, &v);
		}
		if (seed == UINT64_MAX)
			break;
	}
	printf("swept %" PRIu64 " seeds of %s: %" PRIu64 " failed\n", n,
	       a->config, failed);
	simcfg_free(cfg);
	return failed ? 1 : 0;
}
