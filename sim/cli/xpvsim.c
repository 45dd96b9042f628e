/*
 * xpvsim: run a simulated guest described by an xl-style configuration.
 *
 *   xpvsim run CONFIG [--seed N] [--json] [--frontend NAME]
 *                     [--log FILE] [--trace FILE]
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

struct args {
	const char *config, *frontend, *log, *trace;
	uint64_t seed;
	bool has_seed, json;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: xpvsim run CONFIG [--seed N] [--json] [--frontend NAME]\n"
		"                         [--log FILE] [--trace FILE]\n"
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
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(o, "--json") == 0) {
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
		} else if (strcmp(o, "--log") == 0 && v) {
			a->log = v;
			i++;
		} else if (strcmp(o, "--trace") == 0 && v) {
			a->trace = v;
			i++;
		} else if (o[0] != '-' && !a->config) {
			a->config = o;
		} else {
			fprintf(stderr, "xpvsim: unexpected argument '%s'\n", o);
			return -1;
		}
	}
	if (!a->config) {
		fprintf(stderr, "xpvsim: run: no CONFIG given\n");
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
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		usage(stderr);
		return 2;
	}
	if (parse_args(argc, argv, &a) != 0)
		return 2;
	return cmd_run(&a);
}
