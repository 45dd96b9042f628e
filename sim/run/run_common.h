/*
 * What the PVSCSI and PVUSB runs (pvscsi_run.c, pvusb_run.c) share: the
 * toolstack's xenstore writes for a new device, image directories, the
 * fault plan of a run, the read-back audit of image files and the
 * checkers' summary.
 */
#ifndef SIM_RUN_RUN_COMMON_H
#define SIM_RUN_RUN_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/check/check.h"
#include "sim/core/sim.h"
#include "sim/replay/player.h"
#include "sim/xen/xen.h"

/* The token of the toolstack's own watch on each backend directory
 * (run_dev.c). */
#define RUN_TOOLSTACK_TOKEN "run-toolstack"
#define RUN_DOM0  0
#define RUN_GUEST 1
#define RUN_PATH_MAX 256
#define RUN_FAULTS_MAX 512

/* dir/key = value, written by Dom0 (in txn, 0: none); must succeed. */
void run_xs_put(struct sim *sim, uint32_t txn, const char *dir,
		const char *key, const char *value);

/* libxl__device_generic_add's common part: the frontend directory
 * (owned by the guest, Dom0 may read) with backend, backend-id and state
 * 1; the backend directory (owned by Dom0, the guest may read) with
 * frontend, frontend-id and online. The caller adds its own backend keys,
 * then the backend's state. */
void run_toolstack_device_dirs(struct sim *sim, sim_domid guest,
			       const char *fe, const char *be);

/* mkdir -p of the directory of an image the run will create (size > 0). */
int run_image_dir_create(const char *image, uint64_t size, char *err,
			 size_t errlen);

/* The run's fault plan: opt_faults, else a swarm plan drawn from seed
 * (when swarm), else cfg_faults (NULL: none). Its text goes to
 * out[RUN_FAULTS_MAX]. 0, or -1 with a message. */
int run_setup_faults(struct sim *sim, const char *opt_faults, bool swarm,
		     const char *cfg_faults, uint64_t seed, char *out,
		     char *err, size_t errlen);
/* A timeline `faults` event: the plan replaced, its text to out. */
void run_replace_faults(struct sim *sim, const char *spec, char *out);

/* Reads back the blocks a guest saw written (the guests' block callbacks
 * have this signature) from one image at a time. */
struct run_audit {
	struct sim *sim;
	int fd;
	const char *image;
	uint8_t *buf;
	size_t cap;
	uint64_t audited, bad;
};
/* Opens image for the following run_audit_blocks calls; -1 if it cannot
 * be read (nothing to audit). */
int run_audit_open(struct run_audit *a, const char *image);
void run_audit_close(struct run_audit *a);
void run_audit_blocks(void *arg, uint64_t lba, uint32_t count,
		      uint32_t block_size, const uint8_t *expected);
void run_audit_free(struct run_audit *a);

/* The checkers' counts and their report (malloc'd, NULL when clean). */
void run_collect_checks(struct sim *sim,
			uint64_t violations[SIM_CHECK__COUNT],
			uint64_t *total, char **report);

/* A run that did not end by itself: anything outstanding is a liveness
 * failure. *stalled or *time_limit_hit is set; what is the unit counted
 * ("commands", "URBs"). */
void run_force_end(struct sim *sim, enum sim_run_result why, bool *stalled,
		   bool *time_limit_hit, const char *what);

/* What every run reports around its device-specific parts. */
struct run_outcome {
	const char *kind; /* "pvscsi", "pvusb" */
	int json_version;
	const char *frontend, *faults;
	uint64_t seed, sim_time_ns, events, trace_hash;
	bool time_limit_hit, stalled;
	uint64_t blocks_audited, blocks_audit_bad;
	uint32_t quarantined;
	const uint64_t *violations; /* SIM_CHECK__COUNT */
	uint64_t violations_total;
	const char *report;
};

/* The text report's first line, and its last ones (images, time,
 * quarantine, checkers). */
void run_print_head(FILE *out, const char *config_path, const char *guest,
		    const struct run_outcome *o);
void run_print_tail(FILE *out, const struct run_outcome *o);
/* The --json object's opening fields (up to the device arrays, which the
 * caller writes with a leading comma) and its closing ones (docs/json.md). */
void run_json_head(FILE *out, const char *config_path, const char *guest,
		   const struct run_outcome *o);
void run_json_tail(FILE *out, const struct run_outcome *o);
/* The RUN record that opens a recorded run (sim/trace/trace.h): what a
 * replay needs to rebuild the guest side. kind: SIM_REC_RUN_*. The plan
 * is the one run_setup_faults parses (opt_faults, else the
 * configuration's); a swarm plan is named by the flag and the seed
 * alone. */
struct simcfg;
void run_record_head(struct sim *sim, int kind, const struct simcfg *cfg,
		     uint64_t seed, const char *frontend,
		     const char *opt_faults, bool opt_swarm,
		     uint64_t ops_limit, uint64_t time_limit_ns);

/* What a run's simulator starts from. */
struct run_sim_args {
	const struct simcfg *cfg;
	uint64_t seed;
	uint64_t min_time_limit_ns; /* raise cfg's sim_time_limit to this */
	FILE *trace;		    /* text trace records, or NULL */
	FILE *trace_pcap;	    /* the recording, or NULL */
	unsigned trace_flags;	    /* sim_recorder_attach_flags' */
	int kind;		    /* SIM_REC_RUN_*, for the RUN record */
	const char *frontend, *faults; /* the options' (faults may be NULL) */
	bool swarm;
	uint64_t ops_limit;
	/* A replay: the player records (and compares) instead of trace_pcap
	 * being written directly; trace_pcap is its copy. */
	struct replay_player *replay;
};
/* The simulator of a run: created with the seed and the time limit, its
 * recording started (RUN record first), Dom0 and the guest (named after
 * the configuration) created. NULL with a message in err if the recording
 * cannot start. */
struct sim *run_sim_start(const struct run_sim_args *a, char *err,
			  size_t errlen);

/* Ends the run's recording (the replay's verdict into *replay when
 * replaying); -1 with a message when a file could not be written. */
int run_sim_record_end(struct sim *sim, struct replay_player *player,
		       struct replay_result *replay, int rc, char *err,
		       size_t errlen);

/* A JSON string literal of s. */
void run_json_str(FILE *out, const char *s);

#endif /* SIM_RUN_RUN_COMMON_H */
