/*
 * xpvsim's sub-commands share their parsed arguments and the options every
 * run takes (sim/cli/xpvsim.c parses; run there, bench and sweep in their
 * own files).
 */
#ifndef SIM_CLI_XPVSIM_H
#define SIM_CLI_XPVSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/run/pvscsi_run.h"
#include "sim/run/pvusb_run.h"

#define XPVSIM_MAX_CONFIGS 64
#define XPVSIM_MAX_REPEAT 100

struct xpvsim_args {
	const char *cmd; /* "run", "bench", "sweep" or "replay" */
	const char *config, *frontend, *log, *faults;
	const char *trace_text; /* run --trace-text: trace records as text */
	const char *trace_pcap; /* run --trace: docs/trace-format.md */
	const char *usbmon;	/* run --usbmon: a PVUSB run's USB traffic */
	const char *configs[XPVSIM_MAX_CONFIGS]; /* bench */
	unsigned nr_configs;
	uint64_t seed, repeat, ops_limit, min_time_ns;
	uint64_t from, to; /* sweep: seeds from..to */
	bool has_seed, json, swarm, shrink;
	bool report; /* replay --report: the replayed run's report too */
};

/* The run options the arguments ask for (logs and traces aside). */
void xpvsim_run_options(const struct xpvsim_args *a,
			struct pvscsi_run_options *opt);
void xpvsim_usb_run_options(const struct xpvsim_args *a,
			    struct pvusb_run_options *opt);
/* "xpvsim run CONFIG --seed N [--faults '...'] [--ops-limit N]
 * [--frontend NAME] [--min-time 120s]": the command that reproduces a
 * run (sweep runs have a raised time limit). */
void xpvsim_print_reproduce(FILE *out, const char *config, uint64_t seed,
			    const char *faults, uint64_t ops_limit,
			    const char *frontend, bool sweep_time);

int xpvsim_bench(const struct xpvsim_args *a);
int xpvsim_sweep(const struct xpvsim_args *a);
/* xpvsim replay TRACE (config: the trace's path). */
int xpvsim_replay(const struct xpvsim_args *a);
/* xpvsim replay-bench TRACE... (configs: the traces). */
int xpvsim_replay_bench(const struct xpvsim_args *a);

#endif /* SIM_CLI_XPVSIM_H */
