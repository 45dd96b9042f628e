/*
 * The configuration reader of `xpvsim run CONFIG`: a guest described in xl
 * syntax (parsed by Xen's libxlutil), with PVSCSI LUNs, image-backed
 * targets, a timeline of toolstack actions, I/O workloads and simulator
 * settings. docs/config.md is the reference of every key.
 *
 * The file is hostile input: every value is bounds-checked, and a bad one
 * is an error "FILE:LINE: KEY: what is wrong" (never a crash or a leak).
 * The reader does not touch images or the simulator; checks that need an
 * opened target (block multiple of the LUN's block size, span within the
 * capacity, image present) are the caller's. To add a key: a row in the
 * key table of simcfg.c, a field here, a section in docs/config.md.
 */
#ifndef SIM_CLI_SIMCFG_H
#define SIM_CLI_SIMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/devices/scsi_target.h"

#define SIMCFG_NAME_MAX	  64   /* guest and target names, with the NUL */
#define SIMCFG_SERIAL_MAX 32   /* INQUIRY unit serial number, characters */
#define SIMCFG_LIST_MAX	  1024 /* entries of one list key */
#define SIMCFG_FILE_MAX	  (1u << 20) /* bytes of a configuration file */

/* A virtual SCSI address "h:c:t:l"; host is the vscsi device id. */
struct simcfg_vdev {
	uint16_t host, channel, id, lun;
};

struct simcfg_target {
	char name[SIMCFG_NAME_MAX];
	enum sim_scsi_kind kind;
	char *image;   /* resolved against the config's directory */
	uint64_t size; /* create the image this big if missing; 0: must exist */
	uint32_t block_size; /* 512 or 4096; CD-ROM 2048 */
	bool read_only;	     /* always true for a CD-ROM */
	bool implicit;	     /* made for an image path in vscsi */
	char vendor[9];	     /* "" : the target's default */
	char product[17];
	char serial[SIMCFG_SERIAL_MAX + 1];
	unsigned line;
};

/* One vscsi entry: a LUN present when the guest starts. */
struct simcfg_lun {
	struct simcfg_vdev vdev;
	unsigned target; /* index in simcfg.targets */
	unsigned line;
};

enum simcfg_action {
	SIMCFG_LUN_ADD,	   /* vdev, target */
	SIMCFG_LUN_REMOVE, /* vdev */
	SIMCFG_FAULTS,	   /* faults: the new fault plan */
	SIMCFG_SUSPEND,	   /* save/restore cycle: suspend, then resume */
	SIMCFG_CLOSE,	   /* orderly teardown */
	SIMCFG_DESTROY,	   /* disorderly teardown: the backend vanishes */
};

struct simcfg_event {
	uint64_t at_ns;
	enum simcfg_action action;
	struct simcfg_vdev vdev;
	unsigned target;
	char *faults; /* SIMCFG_FAULTS only, else NULL */
	unsigned line;
};

enum simcfg_pattern {
	SIMCFG_RANDRW,
	SIMCFG_RANDREAD,
	SIMCFG_RANDWRITE,
	SIMCFG_SEQREAD,
	SIMCFG_SEQWRITE,
	SIMCFG_SEQRW,
	SIMCFG_ABORT_RESET, /* ops rounds of ABORT and LUN RESET */
};

struct simcfg_workload {
	struct simcfg_vdev vdev;
	enum simcfg_pattern pattern;
	uint32_t block; /* bytes per command, multiple of 512 */
	uint32_t depth; /* commands in flight, 1..16 */
	uint64_t ops;	/* commands (abort-reset: rounds), >= 1 */
	uint64_t start_ns;
	bool verify;	   /* check read data against what was written */
	uint64_t span;	   /* bytes from LBA 0 used; 0: the whole LUN */
	uint32_t read_pct; /* randrw, seqrw: share of reads, 0..100 */
	unsigned line;
};

enum simcfg_result_encoding {
	SIMCFG_RESULT_CURRENT, /* host byte in bits 16-23 (2022 and later) */
	SIMCFG_RESULT_OLD,     /* setup failures as result << 24 */
};

/* Backend model options (sim_scsiback). */
struct simcfg_scsiback {
	uint32_t sg_grant; /* feature-sg-grant value; 0: not advertised */
	enum simcfg_result_encoding result_encoding;
	uint64_t service_min_ns, service_max_ns; /* per command, seeded */
	uint64_t per_kib_ns;			 /* added per KiB of data */
	/* Commands an ABORT or LUN RESET takes down get an answer (host
	 * ABORT / RESET) before the TMR's; false (default, as LIO does for
	 * the issuing session): no answer, data grants kept mapped. */
	bool tmr_victims_answered;
};

struct simcfg {
	char *path; /* file name used in messages */
	char name[SIMCFG_NAME_MAX];
	struct simcfg_target *targets;
	unsigned nr_targets;
	struct simcfg_lun *luns;
	unsigned nr_luns;
	struct simcfg_event *timeline; /* sorted by at_ns, stable */
	unsigned nr_events;
	struct simcfg_workload *workloads;
	unsigned nr_workloads;
	struct simcfg_scsiback scsiback;
	uint64_t seed;
	bool has_seed;
	char *faults; /* validated fault plan; NULL: none given */
	bool swarm;
	uint64_t time_limit_ns;
	char **usbctrl; /* raw usbctrl / usbdev entries, kept for PVUSB */
	unsigned nr_usbctrl;
	char **usbdev;
	unsigned nr_usbdev;
};

/* Read a configuration file. Relative image paths resolve against the
 * file's directory. 0, or -1 with "FILE:LINE: KEY: message" in err. */
int simcfg_load(const char *path, struct simcfg **out, char *err,
		size_t errlen);
/* The same from memory (tests, fuzzing). name is used in messages;
 * base_dir (NULL: none) prefixes relative image paths. */
int simcfg_load_string(const char *text, const char *name, const char *base_dir,
		       struct simcfg **out, char *err, size_t errlen);
void simcfg_free(struct simcfg *cfg);

/* "0", or digits with a unit ns, us, ms, s. 0 or -1. */
int simcfg_parse_duration(const char *s, uint64_t *ns);
/* Digits with an optional binary suffix K, M, G, T (either case). */
int simcfg_parse_size(const char *s, uint64_t *bytes);
/* "h:c:t:l", decimal, each 0..65535 (id and lun limits are the caller's:
 * simcfg_vdev_check). */
int simcfg_parse_vdev(const char *s, struct simcfg_vdev *vdev);
/* NULL if vdev is addressable by the frontend, else why not. */
const char *simcfg_vdev_check(const struct simcfg_vdev *vdev);

const char *simcfg_action_name(enum simcfg_action a);
const char *simcfg_pattern_name(enum simcfg_pattern p);
/* The device model's view of a target; pointers into t. */
void simcfg_target_config(const struct simcfg_target *t,
			  struct sim_scsi_target_config *out);

#endif /* SIM_CLI_SIMCFG_H */
