/*
 * Simulated SCSI logical units backed by image files: what a backend model
 * (sim/backends/scsiback.c) passes commands to. A target sees one command
 * at a time, with its data in one contiguous private buffer (the backend
 * gathers and scatters grant-mapped segments), and answers synchronously;
 * service time is the backend's business.
 *
 * Kinds: a direct-access disk (SBC) on a sparse image and a read-only
 * CD-ROM (MMC basics) on an ISO image. Both keep SPC state: a pending
 * UNIT ATTENTION (set at open, after a reset, or by the backend for a LUN
 * inventory change) is reported once by the next command that SPC says
 * reports it (not INQUIRY, REPORT LUNS or REQUEST SENSE), and sense data of
 * the last CHECK CONDITION is kept for REQUEST SENSE.
 *
 * No wall clock, no host randomness: identical commands give identical
 * answers, so runs replay bit for bit.
 */
#ifndef SIM_DEVICES_SCSI_TARGET_H
#define SIM_DEVICES_SCSI_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SAM status codes. */
#define SIM_SCSI_GOOD 0x00
#define SIM_SCSI_CHECK_CONDITION 0x02
#define SIM_SCSI_BUSY 0x08
#define SIM_SCSI_RESERVATION_CONFLICT 0x18
#define SIM_SCSI_TASK_ABORTED 0x40

/* Sense keys. */
#define SIM_SCSI_NO_SENSE 0x0
#define SIM_SCSI_NOT_READY 0x2
#define SIM_SCSI_MEDIUM_ERROR 0x3
#define SIM_SCSI_ILLEGAL_REQUEST 0x5
#define SIM_SCSI_UNIT_ATTENTION 0x6
#define SIM_SCSI_DATA_PROTECT 0x7

#define SIM_SCSI_SENSE_MAX 96 /* VSCSIIF_SENSE_BUFFERSIZE */

enum sim_scsi_kind {
	SIM_SCSI_DISK,  /* SBC direct-access block device, peripheral type 0 */
	SIM_SCSI_CDROM, /* MMC CD/DVD, peripheral type 5, read-only */
};

enum sim_scsi_dir {
	SIM_SCSI_DIR_NONE,
	SIM_SCSI_DIR_TO_DEVICE,   /* data-out: buffer holds what to write */
	SIM_SCSI_DIR_FROM_DEVICE, /* data-in: the target fills the buffer */
};

struct sim_scsi_target_config {
	enum sim_scsi_kind kind;
	const char *image;   /* path of the image file */
	/* Disk only: if the image does not exist, create it sparse with this
	 * size (bytes, a multiple of block_size); 0: the image must exist and
	 * its size (a multiple of block_size) is the capacity. */
	uint64_t create_size;
	uint32_t block_size; /* disk: 512 or 4096 (0: 512); cdrom: 2048 */
	bool read_only;      /* disk: WRITE fails with DATA PROTECT */
	const char *vendor;  /* INQUIRY T10 vendor, <= 8 chars; NULL: "XPV" */
	const char *product; /* <= 16 chars; NULL: a kind-specific default */
	const char *serial;  /* VPD 0x80 and the base of the 0x83 NAA id */
};

struct sim_scsi_cmd {
	const uint8_t *cdb;
	uint8_t cdb_len;       /* 1..16 */
	enum sim_scsi_dir dir;
	uint8_t *data;         /* data_len bytes; NULL when data_len is 0 */
	uint32_t data_len;     /* the initiator's allocation / transfer size */
};

struct sim_scsi_result {
	uint8_t status;                    /* SAM status */
	uint8_t sense_len;                 /* fixed-format sense, 0 if none */
	uint8_t sense[SIM_SCSI_SENSE_MAX];
	uint32_t transferred;              /* bytes moved, <= data_len */
};

struct sim_scsi_target_stats {
	uint64_t commands, reads, writes, bytes_read, bytes_written;
	uint64_t check_conditions, unit_attentions;
	uint64_t syncs; /* SYNCHRONIZE CACHE commands answered GOOD */
};

struct sim_scsi_target;

/* 0, or a negative errno with a message in err (names the image). */
int sim_scsi_target_open(const struct sim_scsi_target_config *cfg,
			 struct sim_scsi_target **out, char *err,
			 size_t errlen);
void sim_scsi_target_close(struct sim_scsi_target *t);

/* Execute one command to completion. Never fails as a call: problems are
 * SCSI answers (CHECK CONDITION with sense). */
void sim_scsi_target_exec(struct sim_scsi_target *t,
			  const struct sim_scsi_cmd *cmd,
			  struct sim_scsi_result *res);

/* LOGICAL UNIT RESET: drops nothing that was written (writes are
 * synchronous), raises UNIT ATTENTION 29h/00h. */
void sim_scsi_target_reset(struct sim_scsi_target *t);
/* Queue a UNIT ATTENTION (e.g. 3Fh/0Eh REPORTED LUNS DATA HAS CHANGED). */
void sim_scsi_target_unit_attention(struct sim_scsi_target *t, uint8_t asc,
				    uint8_t ascq);

enum sim_scsi_kind sim_scsi_target_kind(const struct sim_scsi_target *t);
uint64_t sim_scsi_target_blocks(const struct sim_scsi_target *t);
uint32_t sim_scsi_target_block_size(const struct sim_scsi_target *t);
void sim_scsi_target_stats(const struct sim_scsi_target *t,
			   struct sim_scsi_target_stats *st);

/* Fill a fixed-format sense buffer (response code 70h): returns its length
 * (18). Shared with backend models that answer on a target's behalf. */
uint8_t sim_scsi_sense_fixed(uint8_t *sense, uint8_t key, uint8_t asc,
			     uint8_t ascq);

#endif /* SIM_DEVICES_SCSI_TARGET_H */
