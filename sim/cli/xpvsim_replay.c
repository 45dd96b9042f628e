/*
 * xpvsim replay FILE [--trace OUT] [--report]: the run a trace recorded, replayed
 * with Dom0 played from the trace alone (sim/replay/player.h) and the
 * guest side rebuilt from its RUN record; prints "identical" or the first
 * divergence (--report: the replayed run's report first). Exit status: 0 identical, 1 a divergence, 2 an unreadable
 * or unreplayable trace (the message names record and byte offset).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cli/simcfg.h"
#include "sim/cli/xpvsim.h"
#include "sim/replay/player.h"
#include "sim/run/run_replay.h"
#include "sim/trace/trace.h"

static const char *faults_of(const struct replay_run *run)
{
	return run->swarm ? "drawn from the seed" : run->faults ? run->faults
								: "none";
}

static void print_verdict(FILE *out, const char *path,
			  const struct replay_run *run,
			  const struct replay_result *res, uint64_t violations)
{
	fprintf(out, "xpvsim replay %s: %s run of %s, seed %" PRIu64
		     ", frontend %s, faults %s\n",
		path, run->kind == SIM_REC_RUN_PVUSB ? "PVUSB" : "PVSCSI",
		run->config_path, run->seed, run->frontend, faults_of(run));
	fprintf(out, "trace records read: %" PRIu64 "; Dom0 records played: %" PRIu64
		     "; guest records compared: %" PRIu64 " (%" PRIu64
		     " ring requests); Dom0 reads of guest data checked: %" PRIu64
		     "\n",
		res->records, res->played, res->compared, res->requests,
		res->data_checked);
	if (!res->identical) {
		fprintf(out, "%s\n", res->divergence);
		return;
	}
	fprintf(out, "guest side checkers: %" PRIu64 " violations%s\n",
		violations, violations ? " (as recorded)" : "");
	fprintf(out, "identical\n");
}

static int replay_loaded(const struct xpvsim_args *a, struct replay_player *p,
			 FILE *tee)
{
	const struct replay_run *run = replay_run_info(p);
	struct replay_result res;
	struct simcfg *cfg;
	uint64_t violations = 0;
	char err[REPLAY_MSG_MAX];

	if (simcfg_load_string(run->config_text, run->config_path, NULL, &cfg,
			       err, sizeof(err))) {
		fprintf(stderr, "xpvsim: %s: the recorded configuration: %s\n",
			a->config, err);
		return 2;
	}
	if (run_replay(p, cfg, tee, a->report ? stdout : NULL, &res,
		       &violations, err, sizeof(err))) {
		fprintf(stderr, "xpvsim: %s: %s\n", a->config, err);
		simcfg_free(cfg);
		return 2;
	}
	simcfg_free(cfg);
	print_verdict(stdout, a->config, run, &res, violations);
	if (res.read_error)
		return 2;
	return res.identical ? 0 : 1;
}

int xpvsim_replay(const struct xpvsim_args *a)
{
	struct replay_player *p;
	char err[REPLAY_MSG_MAX];
	FILE *tee = NULL;
	int rc;

	if (a->has_seed || a->faults || a->swarm || a->ops_limit ||
	    a->frontend || a->min_time_ns) {
		fprintf(stderr, "xpvsim: replay: the seed, fault plan, "
				"frontend and limits come from the trace\n");
		return 2;
	}
	if (replay_open(a->config, &p, err, sizeof(err))) {
		fprintf(stderr, "xpvsim: %s\n", err);
		return 2;
	}
	if (a->trace_pcap && !(tee = fopen(a->trace_pcap, "wb"))) {
		perror(a->trace_pcap);
		replay_close(p);
		return 2;
	}
	rc = replay_loaded(a, p, tee);
	if (tee && fclose(tee) != 0) {
		perror(a->trace_pcap);
		rc = 2;
	}
	replay_close(p);
	return rc;
}
