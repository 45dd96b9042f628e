/*
 * xpvsim: run a simulated guest described by an xl-style configuration.
 *
 *   xpvsim run CONFIG [--seed N] [--json] [--frontend NAME]
 *                     [--log FILE] [--trace FILE]
 *   xpvsim bench CONFIG... [--seed N] [--frontend NAME] [--repeat N]
 *
 * bench runs each configuration --repeat times (default 3) and prints, per
 * workload, the simulated IOPS and MB/s, notifications per command and the
 * host CPU time per simulated command (median of the repeats). CPU time is
 * read here, around whole runs, never inside the simulator.
 *
 * Exit status: 0 when every checker stayed clean, 1 when one failed (the
 * command that reproduces the run is printed), 2 for usage, configuration
 * or set-up errors (the message names file, line and key).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/cli/simcfg.h"
#include "sim/fut/fut.h"
#include "sim/run/pvscsi_run.h"

#define MAX_CONFIGS 64
#define MAX_REPEAT 100

struct args {
	const char *config, *frontend, *log, *trace;
	const char *configs[MAX_CONFIGS]; /* bench */
	unsigned nr_configs;
	uint64_t seed, repeat;
	bool has_seed, json, bench;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: xpvsim run CONFIG [--seed N] [--json] [--frontend NAME]\n"
		"                         [--log FILE] [--trace FILE]\n"
		"       xpvsim bench CONFIG... [--seed N] [--frontend NAME]\n"
		"                              [--repeat N]\n"
		"       xpvsim frontends\n"
		"CONFIG is an xl-style guest configuration (docs/config.md).\n"
		"--json prints the summary described in docs/json.md.\n"
		"Exit status: 0 checkers clean, 1 a checker failed, 2 error.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->bench = strcmp(argv[1], "bench") == 0;
	a->repeat = 3;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a->bench && strcmp(o, "--repeat") == 0 && v) {
			if (parse_u64(v, &a->repeat) || a->repeat == 0 ||
			    a->repeat > MAX_REPEAT) {
				fprintf(stderr, "xpvsim: --repeat: want 1 to "
						"%d: %s\n", MAX_REPEAT, v);
				return -1;
			}
			i++;
		} else if (a->bench && o[0] != '-') {
			if (a->nr_configs == MAX_CONFIGS) {
				fprintf(stderr, "xpvsim: bench: at most %d "
						"configurations\n", MAX_CONFIGS);
				return -1;
			}
			a->configs[a->nr_configs++] = o;
		} else if (!a->bench && strcmp(o, "--json") == 0) {
			a->json = true;
		} else if (strcmp(o, "--seed") == 0 && v) {
			if (parse_u64(v, &a->seed)) {
				fprintf(stderr, "xpvsim: --seed: not a number: "
						"%s\n", v);
				return -1;
			}
			a->has_seed = true;
			i++;
		} else if (strcmp(o, "--frontend") == 0 && v) {
			a->frontend = v;
			i++;
		} else if (!a->bench && strcmp(o, "--log") == 0 && v) {
			a->log = v;
			i++;
		} else if (!a->bench && strcmp(o, "--trace") == 0 && v) {
			a->trace = v;
			i++;
		} else if (o[0] != '-' && !a->config) {
			a->config = o;
		} else {
			fprintf(stderr, "xpvsim: unexpected argument '%s'\n", o);
			return -1;
		}
	}
	if (!a->config && a->nr_configs == 0) {
		fprintf(stderr, "xpvsim: %s: no CONFIG given\n", argv[1]);
		return -1;
	}
	return 0;
}

static FILE *open_out(const char *path)
{
	FILE *f;

	if (!path)
		return NULL;
	if (strcmp(path, "-") == 0)
		return stderr;
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "xpvsim: %s: %s\n", path, strerror(errno));
	return f;
}

static void close_out(FILE *f)
{
	if (f && f != stderr)
		fclose(f);
}

static int cmd_run(const struct args *a)
{
	struct pvscsi_run_options opt = { .seed = a->seed,
					  .has_seed = a->has_seed,
					  .frontend = a->frontend,
					  .log_level = 3 };
	struct pvscsi_run_result res;
	struct simcfg *cfg;
	char err[512];
	int rc;

	if (simcfg_load(a->config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s\n", err);
		return 2;
	}
	opt.log = open_out(a->log);
	opt.trace = open_out(a->trace);
	if (pvscsi_run(cfg, &opt, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s: %s\n", a->config, err);
		rc = 2;
	} else {
		if (a->json)
			pvscsi_run_json(stdout, cfg, &res);
		else
			pvscsi_run_print(stdout, cfg, &res);
		rc = res.violations_total ? 1 : 0;
		if (rc)
			fprintf(stderr,
				"xpvsim: checkers failed; reproduce with:\n"
				"  xpvsim run %s --seed %" PRIu64 "%s%s\n",
				a->config, res.seed,
				a->frontend ? " --frontend " : "",
				a->frontend ? a->frontend : "");
		pvscsi_run_result_free(&res);
	}
	close_out(opt.log);
	close_out(opt.trace);
	simcfg_free(cfg);
	return rc;
}

/* ---- bench ----------------------------------------------------------- */

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
static int bench_config(const struct args *a, const char *path)
{
	struct pvscsi_run_options opt = { .seed = a->seed,
					  .has_seed = a->has_seed,
					  .frontend = a->frontend };
	struct pvscsi_run_result first, res;
	double cpu[MAX_REPEAT];
	struct simcfg *cfg;
	char err[512];
	int rc = 0;

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

static int cmd_bench(const struct args *a)
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

int main(int argc, char **argv)
{
	struct args a;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "frontends") == 0) {
		for (unsigned i = 0; fut_registry[i]; i++)
			printf("%s (%s)\n", fut_registry[i]->name,
			       fut_registry[i]->type);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "run") != 0 &&
			 strcmp(argv[1], "bench") != 0)) {
		usage(stderr);
		return 2;
	}
	if (parse_args(argc, argv, &a) != 0)
		return 2;
	return a.bench ? cmd_bench(&a) : cmd_run(&a);
}
