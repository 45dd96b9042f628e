/*
 * xpvsim replay-bench TRACE... [--repeat N]
 *
 * How fast a replay goes through a trace, in trace records per second of
 * host CPU time, next to the fastest anything can go through the same
 * file: a bare libpcap loop (pcap_next_ex over every record, reading one
 * byte of each). The median of --repeat runs (default 3) of each.
 * Every replay must be identical, or the figure would not be a replay's.
 * CPU time is read here, around whole replays, never inside the
 * simulator.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/cli/simcfg.h"
#include "sim/cli/xpvsim.h"
#include "sim/replay/player.h"
#include "sim/run/run_replay.h"

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

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One pass of the bare loop: records read, or -1. *seconds: CPU time. */
static int64_t pcap_loop_once(const char *path, double *seconds)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	double t0 = cpu_seconds();
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(
	    path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	int64_t n = 0;
	unsigned sum = 0;
	int rc;

	if (!pc) {
		fprintf(stderr, "xpvsim: %s: %s\n", path, errbuf);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		sum += h->caplen ? data[h->caplen - 1] : 0;
		n++;
	}
	pcap_close(pc);
	*seconds = cpu_seconds() - t0;
	if (rc != PCAP_ERROR_BREAK) {
		fprintf(stderr, "xpvsim: %s: read error\n", path);
		return -1;
	}
	/* The sum keeps the byte loop from being optimised away. */
	return sum == 0xffffffffu ? n + 1 : n;
}

/* One whole replay: records of the trace, or -1 (said on stderr). */
static int64_t replay_once(const char *path, double *seconds)
{
	double t0 = cpu_seconds();
	struct replay_player *p;
	struct replay_result res;
	struct simcfg *cfg;
	uint64_t violations;
	char err[REPLAY_MSG_MAX];
	int rc = -1;

	if (replay_open(path, &p, err, sizeof(err))) {
		fprintf(stderr, "xpvsim: %s\n", err);
		return -1;
	}
	if (simcfg_load_string(replay_run_info(p)->config_text,
			       replay_run_info(p)->config_path, NULL, &cfg,
			       err, sizeof(err)) == 0) {
		rc = run_replay(p, cfg, NULL, NULL, &res, &violations, err,
				sizeof(err));
		simcfg_free(cfg);
	}
	replay_close(p);
	*seconds = cpu_seconds() - t0;
	if (rc || !res.identical) {
		fprintf(stderr, "xpvsim: %s: %s\n", path,
			rc ? err : res.divergence);
		return -1;
	}
	return (int64_t)res.records;
}

static int bench_one(const char *path, unsigned repeat)
{
	double loop_s[XPVSIM_MAX_REPEAT], replay_s[XPVSIM_MAX_REPEAT];
	int64_t loop_n = 0, replay_n = 0;
	double loop_rate, replay_rate;

	for (unsigned i = 0; i < repeat; i++) {
		loop_n = pcap_loop_once(path, &loop_s[i]);
		replay_n = replay_once(path, &replay_s[i]);
		if (loop_n < 0 || replay_n < 0)
			return -1;
	}
	if (loop_n != replay_n) {
		fprintf(stderr, "xpvsim: %s: libpcap read %" PRId64
				" records, the replay %" PRId64 "\n",
			path, loop_n, replay_n);
		return -1;
	}
	loop_rate = (double)loop_n / median(loop_s, repeat);
	replay_rate = (double)replay_n / median(replay_s, repeat);
	printf("%-40s %10" PRId64 " %16.0f %14.0f %11.2f%%\n", path, loop_n,
	       loop_rate, replay_rate, 100.0 * replay_rate / loop_rate);
	return 0;
}

int xpvsim_replay_bench(const struct xpvsim_args *a)
{
	int rc = 0;

	printf("%-40s %10s %16s %14s %12s\n", "trace", "records",
	       "libpcap rec/s", "replay rec/s", "replay/loop");
	for (unsigned i = 0; i < a->nr_configs; i++)
		if (bench_one(a->configs[i], (unsigned)a->repeat))
			rc = 1;
	printf("(records per second of host CPU time, median of %u; the "
	       "replay includes reading and checking the trace and running "
	       "the guest side)\n",
	       (unsigned)a->repeat);
	return rc;
}
