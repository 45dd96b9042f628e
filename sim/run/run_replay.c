/*
 * A recorded run replayed; see run_replay.h.
 */
#include "run_replay.h"

#include <string.h>

#include "pvscsi_run.h"
#include "pvusb_run.h"
#include "sim/trace/trace.h"

/* The options the recorded run had, from its RUN record (the PVSCSI and
 * PVUSB option structs share these members). */
#define RECORDED_OPTIONS(opt, run)                                           \
	do {                                                                 \
		memset((opt), 0, sizeof(*(opt)));                            \
		(opt)->seed = (run)->seed;                                   \
		(opt)->has_seed = true;                                      \
		(opt)->frontend = (run)->frontend;                           \
		(opt)->faults = (run)->swarm	   ? NULL                    \
				: (run)->faults ? (run)->faults             \
						: "none";                    \
		(opt)->swarm = (run)->swarm;                                 \
		(opt)->ops_limit = (run)->ops_limit;                         \
		(opt)->min_time_limit_ns = (run)->time_limit_ns;             \
	} while (0)

int run_replay(struct replay_player *p, const struct simcfg *cfg, FILE *tee,
	       FILE *report, struct replay_result *res, uint64_t *violations,
	       char *err, size_t errlen)
{
	const struct replay_run *run = replay_run_info(p);

	if (run->kind == SIM_REC_RUN_PVUSB) {
		struct pvusb_run_options opt;
		struct pvusb_run_result r;

		RECORDED_OPTIONS(&opt, run);
		opt.replay = p;
		opt.trace_pcap = tee;
		if (pvusb_run(cfg, &opt, &r, err, errlen))
			return -1;
		*res = r.replay;
		*violations = r.violations_total;
		if (report)
			pvusb_run_print(report, cfg, &r);
		pvusb_run_result_free(&r);
		return 0;
	}
	struct pvscsi_run_options opt;
	struct pvscsi_run_result r;

	RECORDED_OPTIONS(&opt, run);
	opt.replay = p;
	opt.trace_pcap = tee;
	if (pvscsi_run(cfg, &opt, &r, err, errlen))
		return -1;
	*res = r.replay;
	*violations = r.violations_total;
	if (report)
		pvscsi_run_print(report, cfg, &r);
	pvscsi_run_result_free(&r);
	return 0;
}

