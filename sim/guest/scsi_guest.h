/*
 * The guest's SCSI stack, stood in for: what sits above a PVSCSI frontend
 * in a simulated guest. It reaches the frontend only through the
 * frontend-under-test interface (sim/fut/fut.h).
 *
 * Scan: each LUN the frontend announces gets TEST UNIT READY (retried on
 * UNIT ATTENTION), INQUIRY, READ CAPACITY (10, then 16 if needed) and
 * REPORT LUNS. Workloads then run on scanned LUNs: sequential or random
 * reads and writes of a block size at a queue depth (an I/O bigger than the
 * frontend's largest command is split, as the block layer does; the depth
 * counts commands), every write stamped
 * with a generation so every read of a block this guest wrote is verified
 * byte for byte; or rounds of ABORT and LUN RESET.
 *
 * Error handling, as the Linux midlayer's in short: a command out for 1 s
 * gets its LUN reset; a reset that fails or goes unanswered escalates to a
 * host reset (the frontend gives up on everything in flight). Commands
 * taken down by a reset, or answered UNIT ATTENTION, are retried up to 4
 * times. A command the frontend cannot take for 1 s (suspended, never
 * reconnected) fails, and a workload whose LUN does not appear within
 * 10 s of its start is given up.
 *
 * The guest is also a checker. Each command is a request for the
 * exactly-once checker; a failed read must leave its buffer untouched
 * (data-on-failure); delivered + residual may not exceed the length
 * (completion-overlong); a verified read that differs is data-corrupt.
 */
#ifndef SIM_GUEST_SCSI_GUEST_H
#define SIM_GUEST_SCSI_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/cli/simcfg.h"
#include "sim/fut/fut.h"

#define SG_MAX_LUNS 64

struct scsi_guest;

struct sg_lun_info {
	bool present, scanned, scan_failed;
	uint16_t channel, id, lun;
	uint8_t type; /* INQUIRY peripheral device type */
	char vendor[9], product[17];
	uint64_t blocks;
	uint32_t block_size;
	uint32_t report_luns; /* LUNs listed by REPORT LUNS */
	int target;           /* the hooks' lun_target answer */
};

struct sg_work_stats {
	uint64_t ops, ok, failed, retried, bytes, verified_bytes;
	uint64_t aborts_ok, aborts_failed, resets_ok, resets_failed;
	uint64_t first_ns, last_ns; /* simulated time of first submit, last done */
	bool finished, stopped;
};

struct sg_stats {
	uint64_t commands, completed, failed, busy_retries;
	uint64_t host_resets; /* the error handler's last resort */
	bool connected, resumed, error, closed;
	uint32_t luns_added, luns_removed;
};

struct scsi_guest_hooks {
	/* Every workload finished or stopped (and every scan is done). */
	void (*idle)(void *arg);
	void (*closed)(void *arg);
	/* Which medium is at this address now (the toolstack knows). */
	int (*lun_target)(void *arg, uint16_t channel, uint16_t id,
			  uint16_t lun);
	void *arg;
};

struct scsi_guest *scsi_guest_create(struct sim *sim,
				     const struct simcfg *cfg,
				     const struct scsi_guest_hooks *hooks);
/* The callbacks to hand to fut_create (arg is the guest). */
void scsi_guest_callbacks(struct scsi_guest *g, struct fut_callbacks *cb);
/* The frontend instance the guest drives (after fut_create). */
void scsi_guest_attach(struct scsi_guest *g, struct fut *f);
/* The frontend is gone (destroyed): forget it. */
void scsi_guest_detach(struct scsi_guest *g);
/* Stop issuing new work (teardown is coming). */
void scsi_guest_stop(struct scsi_guest *g);
void scsi_guest_destroy(struct scsi_guest *g);

void scsi_guest_stats(const struct scsi_guest *g, struct sg_stats *st);
unsigned scsi_guest_nr_luns(const struct scsi_guest *g);
void scsi_guest_lun(const struct scsi_guest *g, unsigned i,
		    struct sg_lun_info *out);
void scsi_guest_work_stats(const struct scsi_guest *g, unsigned w,
			   struct sg_work_stats *out);

/* What this guest believes is on LUN record i's medium: fn is called for
 * every block whose last write completed successfully, with the bytes
 * that write carried; consecutive such blocks come in one call (count
 * blocks from lba, at most SG_AUDIT_RUN), in increasing order. */
#define SG_AUDIT_RUN 128u
typedef void sg_block_fn(void *arg, uint64_t lba, uint32_t count,
			 uint32_t block_size, const uint8_t *expected);
void scsi_guest_written_blocks(struct scsi_guest *g, unsigned i,
			       sg_block_fn *fn, void *arg);

#endif /* SIM_GUEST_SCSI_GUEST_H */
