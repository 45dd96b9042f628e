/*
 * xpvsim: run a simulated guest described by an xl-style configuration.
 *
 *   xpvsim run CONFIG [--seed N] [--json] [--frontend NAME]
 *                     [--log FILE] [--trace FILE] [--trace-text FILE]
 *                     [--usbmon FILE]
 *   xpvsim bench CONFIG... (xpvsim_bench.c)
 *   xpvsim sweep CONFIG ... (xpvsim_sweep.c)
 *   xpvsim replay TRACE [--trace FILE] [--report] (xpvsim_replay.c)
 *   xpvsim replay-bench TRACE... (xpvsim_replay_bench.c)
 *
 * Options of every run: --seed N, --faults SPEC (sim_faults syntax; replaces
 * the config's plan), --swarm (a plan drawn from the seed), --ops-limit N
 * (at most N I/Os per workload).
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
#include "sim/cli/xpvsim.h"
#include "sim/fut/fut.h"
#include <xpv_sim.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: xpvsim run CONFIG [OPTIONS] [--json] [--log FILE]\n"
		"                         [--trace FILE] [--trace-text FILE]\n"
		"                         [--usbmon FILE]\n"
		"       xpvsim bench CONFIG... [OPTIONS] [--repeat N]\n"
		"       xpvsim sweep CONFIG [OPTIONS] [--from N] [--to N]\n"
		"                           [--shrink]\n"
		"       xpvsim replay TRACE [--trace FILE] [--report]\n"
		"       xpvsim replay-bench TRACE... [--repeat N]\n"
		"       xpvsim frontends\n"
		"OPTIONS: --seed N, --frontend NAME, --faults SPEC, --swarm,\n"
		"         --ops-limit N, --min-time DURATION (raise the time\n"
		"         limit to at least this)\n"
		"CONFIG is an xl-style guest configuration (docs/config.md).\n"
		"--json prints the summary described in docs/json.md.\n"
		"--usbmon writes a PVUSB run's USB traffic as a usbmon pcap\n"
		"(Wireshark reads it).\n"
		"--trace records the run as pcap (docs/trace-format.md);\n"
		"--trace-text writes every trace record as text ('-': stderr).\n"
		"sweep runs seeds --from..--to (default 1..100) with a fault plan\n"
		"drawn from each seed and lists the failing ones; --shrink makes\n"
		"each failure smaller (fewer faults, fewer I/Os) while it fails.\n"
		"replay re-drives the frontend of a run recorded with --trace\n"
		"from the trace alone and prints 'identical' or the first\n"
		"divergence (exit 0, 1); --trace records the replay.\n"
		"Exit status: 0 checkers clean, 1 a checker failed, 2 error.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

/* A numeric option's value; -1 with a message if it is not a number. */
static int number(const char *opt, const char *v, uint64_t *out)
{
	if (parse_u64(v, out) == 0)
		return 0;
	fprintf(stderr, "xpvsim: %s: not a number: %s\n", opt, v);
	return -1;
}

/* Options every sub-command takes; 1 if o is one (and consumed v when
 * *used), 0 if not, -1 on a bad value. */
static int common_option(struct xpvsim_args *a, const char *o, const char *v,
			 bool *used)
{
	*used = v != NULL;
	if (strcmp(o, "--swarm") == 0) {
		*used = false;
		a->swarm = true;
		return 1;
	}
	if (!v)
		return 0;
	if (strcmp(o, "--seed") == 0) {
		a->has_seed = true;
		return number(o, v, &a->seed) ? -1 : 1;
	}
	if (strcmp(o, "--ops-limit") == 0)
		return number(o, v, &a->ops_limit) || a->ops_limit == 0 ? -1
									: 1;
	if (strcmp(o, "--min-time") == 0) {
		if (simcfg_parse_duration(v, &a->min_time_ns) == 0)
			return 1;
		fprintf(stderr, "xpvsim: --min-time: not a duration: %s\n",
			v);
		return -1;
	}
	if (strcmp(o, "--frontend") == 0)
		a->frontend = v;
	else if (strcmp(o, "--faults") == 0)
		a->faults = v;
	else
		return 0;
	return 1;
}

/* Options of one sub-command; same return values. */
static int own_option(struct xpvsim_args *a, const char *o, const char *v,
		      bool *used)
{
	bool run = strcmp(a->cmd, "run") == 0;
	bool bench = strcmp(a->cmd, "bench") == 0 ||
		     strcmp(a->cmd, "replay-bench") == 0;
	bool sweep = strcmp(a->cmd, "sweep") == 0;
	bool replay = strcmp(a->cmd, "replay") == 0;

	*used = v != NULL;
	if (run && strcmp(o, "--json") == 0) {
		*used = false;
		a->json = true;
	} else if (replay && strcmp(o, "--report") == 0) {
		*used = false;
		a->report = true;
	} else if (sweep && strcmp(o, "--shrink") == 0) {
		*used = false;
		a->shrink = true;
	} else if (!v) {
		return 0;
	} else if (run && strcmp(o, "--log") == 0) {
		a->log = v;
	} else if ((run || replay) && strcmp(o, "--trace") == 0) {
		a->trace_pcap = v;
	} else if (run && strcmp(o, "--trace-text") == 0) {
		a->trace_text = v;
	} else if (run && strcmp(o, "--usbmon") == 0) {
		a->usbmon = v;
	} else if (bench && strcmp(o, "--repeat") == 0) {
		if (number(o, v, &a->repeat))
			return -1;
		if (a->repeat == 0 || a->repeat > XPVSIM_MAX_REPEAT) {
			fprintf(stderr, "xpvsim: --repeat: want 1 to %d\n",
				XPVSIM_MAX_REPEAT);
			return -1;
		}
	} else if (sweep && strcmp(o, "--from") == 0) {
		return number(o, v, &a->from) ? -1 : 1;
	} else if (sweep && strcmp(o, "--to") == 0) {
		return number(o, v, &a->to) ? -1 : 1;
	} else {
		return 0;
	}
	return 1;
}

static int add_config(struct xpvsim_args *a, const char *path)
{
	if (strcmp(a->cmd, "bench") == 0 ||
	    strcmp(a->cmd, "replay-bench") == 0) {
		if (a->nr_configs == XPVSIM_MAX_CONFIGS) {
			fprintf(stderr, "xpvsim: bench: at most %d "
					"configurations\n", XPVSIM_MAX_CONFIGS);
			return -1;
		}
		a->configs[a->nr_configs++] = path;
		return 0;
	}
	if (a->config) {
		fprintf(stderr, "xpvsim: unexpected argument '%s'\n", path);
		return -1;
	}
	a->config = path;
	return 0;
}

static int parse_args(int argc, char **argv, struct xpvsim_args *a)
{
	memset(a, 0, sizeof(*a));
	a->cmd = argv[1];
	a->repeat = 3;
	a->from = 1;
	a->to = 100;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool used = false;
		int r;

		if (o[0] != '-') {
			if (add_config(a, o))
				return -1;
			continue;
		}
		r = common_option(a, o, v, &used);
		if (r == 0)
			r = own_option(a, o, v, &used);
		if (r < 0)
			return -1;
		if (r == 0) {
			fprintf(stderr, "xpvsim: %s: unknown option '%s'\n",
				a->cmd, o);
			return -1;
		}
		i += used;
	}
	if (!a->config && a->nr_configs == 0) {
		fprintf(stderr, "xpvsim: %s: no CONFIG given\n", a->cmd);
		return -1;
	}
	if (a->from > a->to) {
		fprintf(stderr, "xpvsim: sweep: --from is above --to\n");
		return -1;
	}
	return 0;
}

void xpvsim_run_options(const struct xpvsim_args *a,
			struct pvscsi_run_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->seed = a->seed;
	opt->has_seed = a->has_seed;
	opt->frontend = a->frontend;
	opt->faults = a->faults;
	opt->swarm = a->swarm;
	opt->ops_limit = a->ops_limit;
	opt->min_time_limit_ns = a->min_time_ns;
}

void xpvsim_usb_run_options(const struct xpvsim_args *a,
			    struct pvusb_run_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->seed = a->seed;
	opt->has_seed = a->has_seed;
	opt->frontend = a->frontend;
	opt->faults = a->faults;
	opt->swarm = a->swarm;
	opt->ops_limit = a->ops_limit;
	opt->min_time_limit_ns = a->min_time_ns;
}

void xpvsim_print_reproduce(FILE *out, const char *config, uint64_t seed,
			    const char *faults, uint64_t ops_limit,
			    const char *frontend, bool sweep_time)
{
	fprintf(out, "xpvsim run %s --seed %" PRIu64, config, seed);
	if (faults)
		fprintf(out, " --faults '%s'", faults);
	if (ops_limit)
		fprintf(out, " --ops-limit %" PRIu64, ops_limit);
	if (frontend)
		fprintf(out, " --frontend %s", frontend);
	if (sweep_time)
		fprintf(out, " --min-time 120s");
	fputc('\n', out);
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

static void print_failed(const struct xpvsim_args *a, uint64_t seed,
			 const char *faults)
{
	fprintf(stderr, "xpvsim: checkers failed; reproduce with:\n  ");
	xpvsim_print_reproduce(stderr, a->config, seed, faults, a->ops_limit,
			       a->frontend, false);
}

/* The files a run writes besides its report (NULL: not asked for). */
struct run_files {
	FILE *log, *trace_text; /* text; "-" is stderr */
	FILE *trace_pcap;	/* docs/trace-format.md */
	FILE *usbmon;		/* PVUSB runs only */
};

static int run_pvscsi(const struct xpvsim_args *a, const struct simcfg *cfg,
		      const struct run_files *f)
{
	struct pvscsi_run_options opt;
	struct pvscsi_run_result res;
	char err[512];
	int rc;

	if (f->usbmon) {
		fprintf(stderr, "xpvsim: --usbmon: %s is a PVSCSI guest, "
				"it has no USB traffic\n", a->config);
		return 2;
	}
	xpvsim_run_options(a, &opt);
	opt.log_level = 3;
	opt.log = f->log;
	opt.trace = f->trace_text;
	opt.trace_pcap = f->trace_pcap;
	if (pvscsi_run(cfg, &opt, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s: %s\n", a->config, err);
		return 2;
	}
	if (a->json)
		pvscsi_run_json(stdout, cfg, &res);
	else
		pvscsi_run_print(stdout, cfg, &res);
	rc = res.violations_total ? 1 : 0;
	if (rc)
		print_failed(a, res.seed, res.faults);
	pvscsi_run_result_free(&res);
	return rc;
}

static int run_pvusb(const struct xpvsim_args *a, const struct simcfg *cfg,
		     const struct run_files *f)
{
	struct pvusb_run_options opt;
	struct pvusb_run_result res;
	char err[512];
	int rc;

	xpvsim_usb_run_options(a, &opt);
	opt.log_level = 3;
	opt.log = f->log;
	opt.trace = f->trace_text;
	opt.trace_pcap = f->trace_pcap;
	opt.usbmon = f->usbmon;
	if (pvusb_run(cfg, &opt, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s: %s\n", a->config, err);
		return 2;
	}
	if (a->json)
		pvusb_run_json(stdout, cfg, &res);
	else
		pvusb_run_print(stdout, cfg, &res);
	rc = res.violations_total ? 1 : 0;
	if (rc)
		print_failed(a, res.seed, res.faults);
	pvusb_run_result_free(&res);
	return rc;
}

/* A binary output file, or NULL when not asked for; -1 if it cannot be
 * created (said on stderr). */
static int open_binary(const char *path, FILE **out)
{
	*out = NULL;
	if (!path)
		return 0;
	*out = fopen(path, "wb");
	if (*out)
		return 0;
	fprintf(stderr, "xpvsim: %s: %s\n", path, strerror(errno));
	return -1;
}

/* Closes a binary output; its writer wrote through a stream of its own
 * (trace_pcap.h, usbmon.h), so a failure here is the file's. */
static int close_binary(FILE *f, const char *path)
{
	if (!f || fclose(f) == 0)
		return 0;
	fprintf(stderr, "xpvsim: %s: %s\n", path, strerror(errno));
	return -1;
}

/* A configuration with usbctrl entries is a PVUSB guest, else PVSCSI. */
static int cmd_run(const struct xpvsim_args *a)
{
	struct run_files f = { 0 };
	struct simcfg *cfg;
	char err[512];
	int rc = 2;

	if (simcfg_load(a->config, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "xpvsim: %s\n", err);
		return 2;
	}
	if (open_binary(a->trace_pcap, &f.trace_pcap) == 0 &&
	    open_binary(a->usbmon, &f.usbmon) == 0) {
		f.log = open_out(a->log);
		f.trace_text = open_out(a->trace_text);
		if (cfg->nr_usbctrls)
			rc = run_pvusb(a, cfg, &f);
		else
			rc = run_pvscsi(a, cfg, &f);
		close_out(f.log);
		close_out(f.trace_text);
	}
	/* Both closed, whatever the first says. */
	if (close_binary(f.trace_pcap, a->trace_pcap) +
		    close_binary(f.usbmon, a->usbmon) <
	    0)
		rc = 2;
	simcfg_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct xpvsim_args a;

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
			 strcmp(argv[1], "bench") != 0 &&
			 strcmp(argv[1], "sweep") != 0 &&
			 strcmp(argv[1], "replay") != 0 &&
			 strcmp(argv[1], "replay-bench") != 0)) {
		usage(stderr);
		return 2;
	}
	if (parse_args(argc, argv, &a) != 0)
		return 2;
	/* XPV_BREAK=NAME: a deliberately broken frontend (xpv_sim.h), for
	 * the tests of the checkers and of sweep --shrink. */
	if (getenv("XPV_BREAK")) {
		enum xpv_sim_break b;

		if (xpv_sim_break_parse(getenv("XPV_BREAK"), &b)) {
			fprintf(stderr, "xpvsim: XPV_BREAK: unknown defect "
					"'%s'\n", getenv("XPV_BREAK"));
			return 2;
		}
		xpv_sim_set_break(b);
	}
	if (strcmp(a.cmd, "bench") == 0)
		return xpvsim_bench(&a);
	if (strcmp(a.cmd, "sweep") == 0)
		return xpvsim_sweep(&a);
	if (strcmp(a.cmd, "replay") == 0)
		return xpvsim_replay(&a);
	if (strcmp(a.cmd, "replay-bench") == 0)
		return xpvsim_replay_bench(&a);
	return cmd_run(&a);
}
