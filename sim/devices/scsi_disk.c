/*
 * SBC direct-access disk on a sparse image: READ/WRITE 6/10/12/16, READ
 * CAPACITY 10/16, SYNCHRONIZE CACHE, VERIFY, the block VPD pages and the
 * caching and control mode pages. Block I/O itself is in scsi_target.c.
 *
 * Writes reach the image before the answer, so the unit reports a
 * write-through cache (WCE 0) and SYNCHRONIZE CACHE has nothing to flush.
 */
#include <string.h>

#include "sim/devices/scsi_internal.h"

#define OP_READ_6		0x08
#define OP_WRITE_6		0x0a
#define OP_READ_CAPACITY_10	0x25
#define OP_READ_10		0x28
#define OP_WRITE_10		0x2a
#define OP_VERIFY_10		0x2f
#define OP_SYNC_CACHE_10	0x35
#define OP_READ_16		0x88
#define OP_WRITE_16		0x8a
#define OP_SYNC_CACHE_16	0x91
#define OP_SERVICE_ACTION_IN_16 0x9e
#define OP_READ_12		0xa8
#define OP_WRITE_12		0xaa

#define SAI_READ_CAPACITY_16 0x10

/* Every SBC write opcode has bit 1 set, every read opcode clear. */
static void disk_rw(struct sim_scsi_target *t, struct scsi_req *r, uint64_t lba,
		    uint64_t nblocks)
{
	if (r->cdb[0] & 0x02)
		scsi_block_write(t, r, lba, nblocks);
	else
		scsi_block_read(t, r, lba, nblocks);
}

/* READ(6)/WRITE(6): 21-bit LBA; a transfer length of 0 means 256. */
static void disk_rw6(struct sim_scsi_target *t, struct scsi_req *r)
{
	const uint8_t *cdb = r->cdb;
	uint64_t lba = (uint64_t)(cdb[1] & 0x1f) << 16 | scsi_get16(cdb + 2);

	disk_rw(t, r, lba, cdb[4] ? cdb[4] : 256);
}

/* RDPROTECT/WRPROTECT: the unit has no protection information. */
static bool protect_ok(struct sim_scsi_target *t, struct scsi_req *r)
{
	if (!(r->cdb[1] & 0xe0))
		return true;
	scsi_bad_field(t, r, 1);
	return false;
}

static void disk_rw10(struct sim_scsi_target *t, struct scsi_req *r)
{
	if (protect_ok(t, r))
		disk_rw(t, r, scsi_get32(r->cdb + 2), scsi_get16(r->cdb + 7));
}

static void disk_rw12(struct sim_scsi_target *t, struct scsi_req *r)
{
	if (protect_ok(t, r))
		disk_rw(t, r, scsi_get32(r->cdb + 2), scsi_get32(r->cdb + 6));
}

static void disk_rw16(struct sim_scsi_target *t, struct scsi_req *r)
{
	if (protect_ok(t, r))
		disk_rw(t, r, scsi_get64(r->cdb + 2), scsi_get32(r->cdb + 10));
}

/* The medium cannot fail, so checking it is checking the range. */
static void disk_verify10(struct sim_scsi_target *t, struct scsi_req *r)
{
	if (r->cdb[1] & 0x06) { /* BYTCHK: no compare with data-out */
		scsi_bad_field(t, r, 1);
		return;
	}
	if (!protect_ok(t, r))
		return;
	scsi_lba_in_range(t, r, scsi_get32(r->cdb + 2), scsi_get16(r->cdb + 7));
}

/* Nothing to flush; the range is still checked as SBC asks. */
static void disk_sync(struct sim_scsi_target *t, struct scsi_req *r,
		      uint64_t lba, uint64_t nblocks)
{
	if (scsi_lba_in_range(t, r, lba, nblocks))
		t->st.syncs++;
}

static void disk_sync10(struct sim_scsi_target *t, struct scsi_req *r)
{
	disk_sync(t, r, scsi_get32(r->cdb + 2), scsi_get16(r->cdb + 7));
}

static void disk_sync16(struct sim_scsi_target *t, struct scsi_req *r)
{
	disk_sync(t, r, scsi_get64(r->cdb + 2), scsi_get32(r->cdb + 10));
}

/* PMI 1 may answer any LBA up to the last one: the last one it is. */
void scsi_op_read_capacity10(struct sim_scsi_target *t, struct scsi_req *r)
{
	uint8_t buf[8];
	uint64_t last = t->blocks - 1;

	if (!(r->cdb[8] & 0x01) && scsi_get32(r->cdb + 2)) {
		scsi_bad_field(t, r, 2);
		return;
	}
	/* FFFFFFFFh tells the initiator to ask READ CAPACITY(16). */
	scsi_put32(buf, last >= UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	scsi_put32(buf + 4, t->block_size);
	scsi_reply(r, buf, sizeof(buf), sizeof(buf));
}

static void disk_service_action_in(struct sim_scsi_target *t,
				   struct scsi_req *r)
{
	uint8_t buf[32];

	if ((r->cdb[1] & 0x1f) != SAI_READ_CAPACITY_16) {
		scsi_bad_field(t, r, 1);
		return;
	}
	memset(buf, 0, sizeof(buf));
	scsi_put64(buf, t->blocks - 1);
	scsi_put32(buf + 8, t->block_size);
	/* No protection, one logical block per physical one, no LBPME. */
	scsi_reply(r, buf, sizeof(buf), scsi_get32(r->cdb + 10));
}

static size_t disk_vpd_page(const struct sim_scsi_target *t, uint8_t page,
			    uint8_t *buf)
{
	uint32_t bs = t->block_size;

	if (page == 0xb0) { /* block limits */
		scsi_put16(buf + 6, (uint16_t)(bs < 4096 ? 4096 / bs : 1));
		scsi_put32(buf + 8, SCSI_MAX_XFER_BYTES / bs);
		scsi_put32(buf + 12, (1u << 20) / bs);
		return 64;
	}
	if (page == 0xb1) {		     /* block device characteristics */
		scsi_put16(buf + 4, 0x0001); /* non-rotating medium */
		return 64;
	}
	return 0;
}

static size_t disk_mode_page(const struct sim_scsi_target *t, uint8_t page,
			     bool changeable, uint8_t *buf)
{
	if (page == 0x08) { /* caching: WCE 0, writes go through */
		buf[0] = 0x08;
		buf[1] = 0x12;
		return 20;
	}
	if (page == 0x0a) { /* control: fixed sense (D_SENSE 0) */
		buf[0] = 0x0a;
		buf[1] = 0x0a;
		if (!changeable)
			buf[3] = 0x10; /* unrestricted reordering */
		return 12;
	}
	return 0;
}

static const struct scsi_op disk_ops[256] = {
    [SCSI_OP_TEST_UNIT_READY] = {scsi_op_good, 6, SIM_SCSI_DIR_NONE},
    [SCSI_OP_REQUEST_SENSE] = {scsi_op_request_sense, 6,
			       SIM_SCSI_DIR_FROM_DEVICE},
    [OP_READ_6] = {disk_rw6, 6, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_WRITE_6] = {disk_rw6, 6, SIM_SCSI_DIR_TO_DEVICE},
    [SCSI_OP_INQUIRY] = {scsi_op_inquiry, 6, SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_MODE_SENSE_6] = {scsi_op_mode_sense, 6, SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_START_STOP_UNIT] = {scsi_op_good, 6, SIM_SCSI_DIR_NONE},
    [OP_READ_CAPACITY_10] = {scsi_op_read_capacity10, 10,
			     SIM_SCSI_DIR_FROM_DEVICE},
    [OP_READ_10] = {disk_rw10, 10, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_WRITE_10] = {disk_rw10, 10, SIM_SCSI_DIR_TO_DEVICE},
    [OP_VERIFY_10] = {disk_verify10, 10, SIM_SCSI_DIR_NONE},
    [OP_SYNC_CACHE_10] = {disk_sync10, 10, SIM_SCSI_DIR_NONE},
    [SCSI_OP_MODE_SENSE_10] = {scsi_op_mode_sense, 10,
			       SIM_SCSI_DIR_FROM_DEVICE},
    [OP_READ_16] = {disk_rw16, 16, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_WRITE_16] = {disk_rw16, 16, SIM_SCSI_DIR_TO_DEVICE},
    [OP_SYNC_CACHE_16] = {disk_sync16, 16, SIM_SCSI_DIR_NONE},
    [OP_SERVICE_ACTION_IN_16] = {disk_service_action_in, 16,
				 SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_REPORT_LUNS] = {scsi_op_report_luns, 12, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_READ_12] = {disk_rw12, 12, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_WRITE_12] = {disk_rw12, 12, SIM_SCSI_DIR_TO_DEVICE},
};

static const uint8_t disk_vpd[] = {0xb0, 0xb1};
static const uint8_t disk_pages[] = {0x08, 0x0a};

const struct scsi_kind scsi_disk_kind = {
    .ops = disk_ops,
    .peripheral_type = 0x00,
    .removable = false,
    .block_descriptor = true,
    .product = "XPV DISK",
    .vpd_extra = disk_vpd,
    .vpd_extra_len = sizeof(disk_vpd),
    .vpd_page = disk_vpd_page,
    .mode_page = disk_mode_page,
    .mode_pages = disk_pages,
    .mode_pages_len = sizeof(disk_pages),
};
