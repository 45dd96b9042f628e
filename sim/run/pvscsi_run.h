/*
 * One whole simulated PVSCSI guest, from a configuration (sim/cli/simcfg.h):
 * Dom0 with a toolstack that writes the vscsi xenstore nodes, one scsiback
 * model per virtual host, SCSI targets on image files; the guest with the
 * frontend under test (sim/fut) and the guest SCSI stand-in (sim/guest).
 * The timeline drives LUN hotplug, fault-plan changes, save/restore and
 * teardown; when the guest is idle the run ends with an orderly close,
 * then every checker audits what is left, and every block the guest saw
 * written is read back from its image file.
 *
 * Used by `xpvsim run`, the scenario tests and the benchmark.
 */
#ifndef SIM_RUN_PVSCSI_RUN_H
#define SIM_RUN_PVSCSI_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/check/check.h"
#include "sim/cli/simcfg.h"
#include "sim/guest/scsi_guest.h"
#include "sim/replay/player.h"

struct sim_fault_decider;

#define PVSCSI_RUN_MAX_HOSTS 8
#define PVSCSI_RUN_JSON_VERSION 1

struct pvscsi_run_options {
	uint64_t seed;      /* used when has_seed, else the config's, else 1 */
	bool has_seed;
	const char *frontend; /* fut name; NULL: "xpv-scsifront" */
	FILE *log;          /* frontend log lines, or NULL */
	int log_level;      /* 0..3 */
	FILE *trace;        /* every trace record, or NULL */
	/* The run recorded as pcap (docs/trace-format.md), or NULL. Stays
	 * the caller's to close; the run fails (-1) if it cannot be
	 * written. trace_flags: sim_recorder_attach_flags' (trace_pcap.h). */
	FILE *trace_pcap;
	unsigned trace_flags;
	/* Overrides of the configuration (reproducing and shrinking runs):
	 * faults, a fault plan in sim_faults syntax ("none": no faults);
	 * swarm, a plan drawn from the seed; ops_limit, at most this many
	 * I/Os (rounds) per workload. 0 / NULL / false: as configured. */
	const char *faults;
	bool swarm;
	uint64_t ops_limit;
	uint64_t min_time_limit_ns; /* raise sim_time_limit to at least this */
	/* The backends' decisions (sim/backends/scsiback.h); NULL: the fault
	 * plan and the seed. Fuzz targets pass their input's. */
	const struct sim_fault_decider *decider;
	/* Called for each vscsi host once its xenstore nodes are written and
	 * its backend runs, before the frontend probes: a fuzz target
	 * schedules its own events there (a hostile dom0's writes). */
	void (*host_started)(void *arg, struct sim *sim, uint16_t host,
			     const char *frontend_path,
			     const char *backend_path);
	void *hook_arg;
	/* Replay (sim/replay/player.h): Dom0 is played from this trace's
	 * records instead of run (no backend, device, image or toolstack
	 * write); trace_pcap, when set, receives the replay's own records.
	 * The verdict goes to the result's replay. NULL: an ordinary run. */
	struct replay_player *replay;
};

struct pvscsi_host_result {
	uint16_t host;
	bool connected, resumed, front_error, closed;
	bool close_timed_out; /* no orderly close in 10 s: removed by force */
	struct sg_stats guest;
	struct fut_stats fut;
	uint64_t be_requests, be_responses, be_notifies, be_bad_requests;
	uint64_t be_misbehaved;
	/* Of those, responses that may have answered one request with
	 * another's identity or result (bad, stale or duplicated ids,
	 * rewritten slots): a backend that lies about which command
	 * succeeded can make the data checkers fail on its own. */
	uint64_t be_misattributed;
	unsigned nr_luns;
	struct sg_lun_info luns[SG_MAX_LUNS];
};

struct pvscsi_run_result {
	uint64_t seed;
	char faults[512];
	char frontend[32];
	uint64_t sim_time_ns, events, trace_hash;
	bool time_limit_hit; /* stopped by sim_time_limit, events pending */
	bool stalled;        /* stopped with nothing left to happen */
	struct replay_result replay; /* with options' replay */
	unsigned nr_hosts;
	struct pvscsi_host_result hosts[PVSCSI_RUN_MAX_HOSTS];
	unsigned nr_workloads;
	struct sg_work_stats *works; /* nr_workloads entries */
	uint64_t blocks_audited, blocks_audit_bad;
	uint32_t quarantined;
	uint64_t violations[SIM_CHECK__COUNT];
	uint64_t violations_total;
	char *report; /* checker messages (malloc'd) */
};

/* Runs cfg to the end. 0, or -1 with a message in err when the run could
 * not be set up (an image that cannot be opened, an unknown frontend). */
int pvscsi_run(const struct simcfg *cfg, const struct pvscsi_run_options *opt,
	       struct pvscsi_run_result *res, char *err, size_t errlen);
void pvscsi_run_result_free(struct pvscsi_run_result *res);

/* The human report and the --json summary (docs/json.md). */
void pvscsi_run_print(FILE *out, const struct simcfg *cfg,
		      const struct pvscsi_run_result *res);
void pvscsi_run_json(FILE *out, const struct simcfg *cfg,
		     const struct pvscsi_run_result *res);

#endif /* SIM_RUN_PVSCSI_RUN_H */
