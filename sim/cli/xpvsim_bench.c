/*
 * xpvsim bench CONFIG... [--seed N] [--frontend NAME] [--repeat N]
 *
 * Runs each configuration --repeat times (default 3) and prints, per
 * workload, the simulated IOPS and MB/s, notifications per command and the
 * host CPU time per simulated command (median of the repeats). CPU time is
 * read here, around whole runs, never inside the simulator. Every repeat
 * must be clean and identical (the same trace hash).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/cli/simcfg.h"
#include "sim/cli/xpvsim.h"

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Totals over every vscsi host of a run. */
struct bench_totals {
	uint64_t commands, notifies, interrupts;
};

static void bench_totals(const struct pvscsi_run_result *res,
			 struct bench_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < res->nr_hosts; i++) {
		t->commands += res->hosts[i].guest.commands;
		t->notifies += res->hosts[i].fut.notifies_sent;
		t->interrupts += res->hosts[i].fut.interrupts;
	}
}

/* The config's file name without directory and ".cfg". */
static void bench_name(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t len = strlen(base);

	if (len > 4 && strcmp(base + len - 4, ".cfg") == 0)
		len -= 4;
	snprintf(out, n, "%.*s", (int)len, base);
}

/* One line per workload; the per-command columns (the whole run's) on the
 * config's first line. */
static void bench_rows(const char *path, const struct simcfg *cfg,
		       const struct pvscsi_run_result *res, double cpu)
{
	struct bench_totals t;
	char name[64];
	double per_cmd;

	bench_totals(res, &t);
	bench_name(path, name, sizeof(name));
	per_cmd = t.commands ? 1.0 / (double)t.commands : 0;
	for (unsigned w = 0; w < res->nr_workloads; w++) {
		const struct sg_work_stats *st = &res->works[w];
		const struct simcfg_workload *c = &cfg->workloads[w];
		double s = st->last_ns > st->first_ns
				   ? (double)(st->last_ns - st->first_ns) / 1e9
				   : 0;

		printf("%-26s %-9s %6uK %3u %8" PRIu64 " %9.0f %9.1f", name,
		       simcfg_pattern_name(c->pattern), c->block / 1024,
		       c->depth, st->ops, s > 0 ? (double)st->ops / s : 0,
		       s > 0 ? (double)st->bytes / s / 1e6 : 0);
		if (w == 0)
			printf(" %9" PRIu64 " %7.3f %7.3f %9.2f\n", t.commands,
			       (double)t.notifies * per_cmd,
			       (double)t.interrupts * per_cmd,
			       cpu * per_cmd * 1e6);
		else
			printf("\n");
	}
}

/* Runs one configuration a->repeat times; 0, 1 (checkers or determinism
 * failed) or 2 (error). */
static int bench_config(const struct xpvsim_args *a, const char *path)
{
	struct pvscsi_run_options opt;
	struct pvscsi_run_result first, res;
	double cpu[XPVSIM_MAX_REPEAT];
	struct simcfg *cfg;
	char err[512];
	int rc = 0;

	xpvsim_run_options(a, &opt);
	if (simcfg_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s\n", err);
		return 2;
	}
	for (unsigned r = 0; r < a->repeat && rc == 0; r++) {
		double t0 = cpu_seconds();

		if (pvscsi_run(cfg, &opt, &res, err, sizeof(err)) != 0) {
			fprintf(stderr, "xpvsim: %s: %s\n", path, err);
			rc = 2;
			break;
		}
		cpu[r] = cpu_seconds() - t0;
		if (res.violations_total) {
			pvscsi_run_print(stderr, cfg, &res);
			rc = 1;
		} else if (r > 0 && res.trace_hash != first.trace_hash) {
			fprintf(stderr, "xpvsim: %s: run %u differs from run 1 "
					"(trace %016" PRIx64 " vs %016" PRIx64
					")\n",
				path, r + 1, res.trace_hash, first.trace_hash);
			rc = 1;
		}
		if (r == 0)
			first = res;
		else
			pvscsi_run_result_free(&res);
	}
	if (rc == 0) {
		qsort(cpu, a->repeat, sizeof(cpu[0]), cmp_double);
		bench_rows(path, cfg, &first, cpu[a->repeat / 2]);
	}
	if (a->repeat > 0 && rc != 2)
		pvscsi_run_result_free(&first);
	simcfg_free(cfg);
	return rc;
}

int xpvsim_bench(const struct xpvsim_args *a)
{
	int worst = 0;

	printf("xpvsim bench: frontend %s; per command: notifications to the "
	       "backend,\ninterrupts taken, host CPU (median of %" PRIu64
	       " runs, whole run / commands)\n",
	       a->frontend ? a->frontend : "xpv-scsifront", a->repeat);
	printf("%-26s %-9s %7s %3s %8s %9s %9s %9s %7s %7s %9s\n", "config",
	       "pattern", "block", "qd", "I/Os", "sim IOPS", "sim MB/s",
	       "commands", "notify", "irq", "CPU us");
	for (unsigned i = 0; i < a->nr_configs; i++) {
		int rc = bench_config(a, a->configs[i]);

		worst = rc > worst ? rc : worst;
		if (rc == 2)
			break;
	}
	return worst;
}
