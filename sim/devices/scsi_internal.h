/*
 * Inside the simulated SCSI logical units: the target state and the
 * per-command context shared by the SPC core (scsi_target.c) and the two
 * command sets (scsi_disk.c, scsi_cdrom.c).
 *
 * A kind is a table of opcodes (struct scsi_op, indexed by the opcode) plus
 * a few hooks for what SPC commands answer differently per kind. To add a
 * command, write its handler and put it in the kind's table with the CDB
 * length and data direction SPC/SBC/MMC give it: the core checks those
 * before the handler runs, so handlers may read cdb[0..cdb_len-1] freely.
 */
#ifndef SIM_DEVICES_SCSI_INTERNAL_H
#define SIM_DEVICES_SCSI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/devices/scsi_target.h"

#define SCSI_UA_MAX	     4	/* distinct pending UNIT ATTENTIONs */
#define SCSI_SERIAL_MAX	     64 /* bytes of VPD 0x80 */
#define SCSI_SENSE_FIXED_LEN 18
#define SCSI_REPLY_MAX	     256 /* largest parameter data built on the stack */
/*
 * Largest transfer a READ or WRITE may ask for (SBC MAXIMUM TRANSFER
 * LENGTH, VPD B0h). Above anything a vscsiif request carries, so only
 * hostile CDBs meet it; it also keeps nblocks * block_size from overflow.
 */
#define SCSI_MAX_XFER_BYTES (64u << 20)

/* Opcodes the core itself needs to know. */
#define SCSI_OP_TEST_UNIT_READY 0x00
#define SCSI_OP_REQUEST_SENSE	0x03
#define SCSI_OP_INQUIRY		0x12
#define SCSI_OP_START_STOP_UNIT 0x1b
#define SCSI_OP_MODE_SENSE_6	0x1a
#define SCSI_OP_MODE_SENSE_10	0x5a
#define SCSI_OP_REPORT_LUNS	0xa0

/* Additional sense codes, as (asc << 8 | ascq). */
#define SCSI_ASC_NONE		      0x0000
#define SCSI_ASC_WRITE_ERROR	      0x0c00
#define SCSI_ASC_UNRECOVERED_READ     0x1100
#define SCSI_ASC_INVALID_OPCODE	      0x2000
#define SCSI_ASC_LBA_OUT_OF_RANGE     0x2100
#define SCSI_ASC_INVALID_FIELD_CDB    0x2400
#define SCSI_ASC_WRITE_PROTECTED      0x2700
#define SCSI_ASC_POWER_ON_RESET	      0x2900
#define SCSI_ASC_SAVING_NOT_SUPPORTED 0x3900

struct sim_scsi_target;

/* One command as a handler sees it, after the core's checks. */
struct scsi_req {
	const uint8_t *cdb;
	uint32_t cdb_len; /* >= the opcode's CDB length */
	uint8_t *data;
	uint32_t data_len; /* 0 whenever data is NULL */
	struct sim_scsi_result *res;
};

typedef void scsi_op_fn(struct sim_scsi_target *t, struct scsi_req *r);

struct scsi_op {
	scsi_op_fn *fn;	 /* NULL: INVALID COMMAND OPERATION CODE */
	uint8_t cdb_len; /* the opcode's fixed CDB length */
	uint8_t dir;	 /* enum sim_scsi_dir of its data, if it has any */
};

/*
 * What differs between kinds outside their own opcodes. vpd_page builds
 * the kind's extra VPD pages (listed in vpd_extra) and mode_page one mode
 * page; both return the length built, or 0 for a page they do not have.
 */
struct scsi_kind {
	const struct scsi_op *ops; /* 256 entries */
	uint8_t peripheral_type;
	bool removable;
	bool block_descriptor; /* MODE SENSE returns one unless DBD */
	const char *product;   /* INQUIRY default */
	const uint8_t *vpd_extra;
	size_t vpd_extra_len;
	size_t (*vpd_page)(const struct sim_scsi_target *t, uint8_t page,
			   uint8_t *buf);
	size_t (*mode_page)(const struct sim_scsi_target *t, uint8_t page,
			    bool changeable, uint8_t *buf);
	const uint8_t *mode_pages; /* in the order page 3Fh returns them */
	size_t mode_pages_len;
};

extern const struct scsi_kind scsi_disk_kind;
extern const struct scsi_kind scsi_cdrom_kind;

struct scsi_ua {
	uint8_t asc, ascq;
};

struct sim_scsi_target {
	const struct scsi_kind *kind_ops;
	enum sim_scsi_kind kind;
	int fd;
	bool read_only;
	uint32_t block_size;
	uint64_t blocks;
	char vendor[8 + 1], product[16 + 1], serial[SCSI_SERIAL_MAX + 1];
	uint8_t naa[16]; /* VPD 0x83 NAA 6 designator, from the serial */
	struct scsi_ua ua[SCSI_UA_MAX]; /* pending, oldest first */
	unsigned int ua_count;
	/* Sense of the last command if it ended in CHECK CONDITION. */
	uint8_t sense[SCSI_SENSE_FIXED_LEN];
	uint8_t sense_len;
	struct sim_scsi_target_stats st;
};

/* Answers. Each ends the command; the handler returns right after. */
void scsi_check(struct sim_scsi_target *t, struct scsi_req *r, uint8_t key,
		uint16_t asc);
/* CHECK CONDITION with the information field set (VALID bit). */
void scsi_check_info(struct sim_scsi_target *t, struct scsi_req *r, uint8_t key,
		     uint16_t asc, uint32_t info);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB, pointing at CDB byte `byte`. */
void scsi_bad_field(struct sim_scsi_target *t, struct scsi_req *r,
		    uint8_t byte);
/* GOOD with min(len, alloc, data_len) bytes of buf as data-in. */
void scsi_reply(struct scsi_req *r, const uint8_t *buf, size_t len,
		uint32_t alloc);

/* Handlers both kinds share (scsi_target.c). */
scsi_op_fn scsi_op_good, scsi_op_inquiry, scsi_op_request_sense,
    scsi_op_report_luns, scsi_op_mode_sense;
/* READ CAPACITY(10), SBC's and MMC's alike (scsi_disk.c). */
scsi_op_fn scsi_op_read_capacity10;

/*
 * Block I/O shared by both kinds: check the range, then move
 * min(data_len, blocks * block_size) bytes at the LBA (whole blocks only
 * for writes). The CDB's fields are already decoded.
 */
void scsi_block_read(struct sim_scsi_target *t, struct scsi_req *r,
		     uint64_t lba, uint64_t nblocks);
void scsi_block_write(struct sim_scsi_target *t, struct scsi_req *r,
		      uint64_t lba, uint64_t nblocks);
/* False (and the command answered) when [lba, lba + n) leaves the unit. */
bool scsi_lba_in_range(struct sim_scsi_target *t, struct scsi_req *r,
		       uint64_t lba, uint64_t nblocks);

/* Big-endian field access. */
static inline uint16_t scsi_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t scsi_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t scsi_get64(const uint8_t *p)
{
	return (uint64_t)scsi_get32(p) << 32 | scsi_get32(p + 4);
}

static inline void scsi_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void scsi_put32(uint8_t *p, uint32_t v)
{
	scsi_put16(p, (uint16_t)(v >> 16));
	scsi_put16(p + 2, (uint16_t)v);
}

static inline void scsi_put64(uint8_t *p, uint64_t v)
{
	scsi_put32(p, (uint32_t)(v >> 32));
	scsi_put32(p + 4, (uint32_t)v);
}

#endif /* SIM_DEVICES_SCSI_INTERNAL_H */
