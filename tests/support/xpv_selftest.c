/*
 * xpv-selftest: runs the platform scenario (scenario.h) once and prints
 * what a user needs to trust or reproduce it: seed, fault plan, outcome,
 * checker verdicts and the trace hash. Exit status 1 when any checker
 * failed or, without faults, when any request did not complete cleanly;
 * 2 for bad usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xpv-selftest [--seed N] [--requests N] [--depth N]\n"
		"                    [--faults SPEC | --swarm] [--hash-only]\n"
		"                    [--log] [--trace FILE]\n"
		"  SPEC: class=rate-per-million,... (alloc, grant-claim,\n"
		"        evtchn-alloc, xs-eagain, xs-enomem, evtchn-delay,\n"
		"        evtchn-storm, backend)\n");
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (end == s || *end != '\0' || s[0] == '-') {
		fprintf(stderr, "xpv-selftest: %s: '%s' is not a number\n", opt,
			s);
		return -1;
	}
	*out = v;
	return 0;
}

static void print_result(const struct scenario_config *cfg,
			 const struct scenario_result *res)
{
	printf("seed %llu, faults %s\n", (unsigned long long)cfg->seed,
	       res->faults);
	if (res->start_error)
		printf("frontend start failed: %d (injected faults)\n",
		       res->start_error);
	printf("connected %s, closed %s, frontend error state %s\n",
	       res->connected ? "yes" : "no", res->closed ? "yes" : "no",
	       res->front_error ? "yes" : "no");
	printf("requests: %llu submitted, %llu ok, %llu failed\n",
	       (unsigned long long)res->submitted,
	       (unsigned long long)res->completed_ok,
	       (unsigned long long)res->completed_err);
	printf("simulated %llu ns in %llu events\n",
	       (unsigned long long)res->sim_time_ns,
	       (unsigned long long)res->events);
	printf("checker violations: %llu\n",
	       (unsigned long long)res->violations_total);
	printf("trace hash %016llx\n", (unsigned long long)res->trace_hash);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "requests", required_argument, NULL, 'n' },
		{ "depth", required_argument, NULL, 'd' },
		{ "faults", required_argument, NULL, 'f' },
		{ "swarm", no_argument, NULL, 'w' },
		{ "hash-only", no_argument, NULL, 'h' },
		{ "log", no_argument, NULL, 'l' },
		{ "trace", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, '?' },
		{ 0 },
	};
	struct scenario_config cfg;
	struct scenario_result res;
	uint64_t v;
	bool hash_only = false;
	FILE *trace = NULL;
	int c;

	scenario_config_default(&cfg, 1);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64("--seed", optarg, &cfg.seed))
				return 2;
			break;
		case 'n':
			if (parse_u64("--requests", optarg, &cfg.requests))
				return 2;
			break;
		case 'd':
			if (parse_u64("--depth", optarg, &v) || v == 0 ||
			    v > 128) {
				fprintf(stderr, "xpv-selftest: --depth: 1..128\n");
				return 2;
			}
			cfg.depth = (uint32_t)v;
			break;
		case 'f':
			cfg.faults = optarg;
			break;
		case 'w':
			cfg.swarm = true;
			break;
		case 'h':
			hash_only = true;
			break;
		case 'l':
			cfg.log = stdout;
			break;
		case 't':
			trace = fopen(optarg, "w");
			if (!trace) {
				perror(optarg);
				return 2;
			}
			cfg.trace = trace;
			break;
		default:
			usage(c == '?' && optind > 0 ? stdout : stderr);
			return 2;
		}
	}
	if (cfg.faults) {
		/* Validate here so a typo is a usage error, not an abort. */
		extern int xpv_selftest_check_faults(const char *spec);
		if (xpv_selftest_check_faults(cfg.faults))
			return 2;
	}
	scenario_run(&cfg, &res, hash_only ? NULL : stdout);
	if (trace)
		fclose(trace);
	if (hash_only)
		printf("%016llx\n", (unsigned long long)res.trace_hash);
	else
		print_result(&cfg, &res);
	bool clean = !cfg.faults && !cfg.swarm;
	if (res.violations_total ||
	    (clean && res.completed_ok != cfg.requests)) {
		if (!hash_only)
			printf("FAILED: reproduce with: xpv-selftest --seed %llu"
			       "%s%s%s\n",
			       (unsigned long long)cfg.seed,
			       cfg.swarm ? " --swarm" : "",
			       cfg.faults ? " --faults " : "",
			       cfg.faults ? cfg.faults : "");
		return 1;
	}
	return 0;
}
