/*
 * MMC CD/DVD-ROM on an ISO image: the commands Linux sr and a guest's
 * media polling send to a read-only drive with a disc always loaded.
 * One data track from LBA 0; the drive calls the medium a DVD-ROM when the
 * image is larger than a CD could be (700 MiB), else a CD-ROM.
 *
 * Writes: the MMC write opcodes for writable media (WRITE(10), WRITE(12),
 * WRITE AND VERIFY(10)) are recognised and refused with DATA PROTECT,
 * WRITE PROTECTED, as for a pressed disc; write opcodes MMC does not have
 * (WRITE(6), WRITE(16), FORMAT UNIT...) are INVALID COMMAND OPERATION CODE.
 */
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/scsi_internal.h"

#define OP_PREVENT_ALLOW     0x1e
#define OP_READ_CAPACITY_10  0x25
#define OP_READ_10	     0x28
#define OP_WRITE_10	     0x2a
#define OP_WRITE_VERIFY_10   0x2e
#define OP_READ_TOC	     0x43
#define OP_GET_CONFIGURATION 0x46
#define OP_GESN		     0x4a
#define OP_READ_12	     0xa8
#define OP_WRITE_12	     0xaa

#define PROFILE_CD_ROM	0x0008
#define PROFILE_DVD_ROM 0x0010
#define CD_MAX_BYTES	(700ull << 20)
#define TRACK_LEAD_OUT	0xaa

static bool is_dvd(const struct sim_scsi_target *t)
{
	return t->blocks * t->block_size > CD_MAX_BYTES;
}

static void cdrom_read10(struct sim_scsi_target *t, struct scsi_req *r)
{
	scsi_block_read(t, r, scsi_get32(r->cdb + 2), scsi_get16(r->cdb + 7));
}

static void cdrom_read12(struct sim_scsi_target *t, struct scsi_req *r)
{
	scsi_block_read(t, r, scsi_get32(r->cdb + 2), scsi_get32(r->cdb + 6));
}

static void cdrom_write(struct sim_scsi_target *t, struct scsi_req *r)
{
	scsi_check(t, r, SIM_SCSI_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
}

/* MSF counts from the 2-second pregap; DVD sizes saturate at FF:3B:4A. */
static void put_addr(uint8_t *p, uint64_t lba, bool msf)
{
	uint64_t f = lba + 150;

	if (!msf) {
		scsi_put32(p, lba > UINT32_MAX ? UINT32_MAX : (uint32_t)lba);
		return;
	}
	if (f / 4500 > 0xff)
		f = 0xff * 4500 + 59 * 75 + 74;
	p[0] = 0;
	p[1] = (uint8_t)(f / 4500);
	p[2] = (uint8_t)(f / 75 % 60);
	p[3] = (uint8_t)(f % 75);
}

static size_t toc_track(uint8_t *d, uint8_t track, uint64_t lba, bool msf)
{
	memset(d, 0, 8);
	d[1] = 0x14; /* ADR 1 (Q sub-channel position), control: data */
	d[2] = track;
	put_addr(d + 4, lba, msf);
	return 8;
}

/* Format 0: track 1 and the lead-out; format 1: the one session. */
static void cdrom_read_toc(struct sim_scsi_target *t, struct scsi_req *r)
{
	const uint8_t *cdb = r->cdb;
	bool msf = cdb[1] & 0x02;
	uint8_t format = cdb[2] & 0x0f, track = cdb[6];
	uint8_t buf[4 + 2 * 8];
	size_t len = 4;

	if (!format) /* SFF-8020 drives took the format from byte 9 */
		format = cdb[9] >> 6;
	if (format > 1) {
		scsi_bad_field(t, r, 2);
		return;
	}
	if (format == 0 && track > 1 && track != TRACK_LEAD_OUT) {
		scsi_bad_field(t, r, 6);
		return;
	}
	buf[2] = 1; /* first track or session */
	buf[3] = 1; /* last */
	if (format == 1 || track <= 1)
		len += toc_track(buf + len, 1, 0, msf);
	if (format == 0)
		len += toc_track(buf + len, TRACK_LEAD_OUT, t->blocks, msf);
	scsi_put16(buf, (uint16_t)(len - 2));
	scsi_reply(r, buf, len, scsi_get16(cdb + 7));
}

/* Feature descriptor header: code, version, persistent, current. */
static uint8_t *feature_hdr(uint8_t *f, uint16_t code, uint8_t version,
			    bool persistent, uint8_t add_len)
{
	scsi_put16(f, code);
	f[2] = (uint8_t)(version << 2 | (persistent ? 0x02 : 0) | 0x01);
	f[3] = add_len;
	return f + 4;
}

/* Builds one feature at f; 0 for a feature the drive lacks. */
static size_t feature(const struct sim_scsi_target *t, uint16_t code,
		      uint8_t *f)
{
	uint8_t *p;

	memset(f, 0, 16);
	switch (code) {
	case 0x0000: /* profile list, most capable first */
		p = feature_hdr(f, code, 0, true, 8);
		scsi_put16(p, PROFILE_DVD_ROM);
		p[2] = is_dvd(t);
		scsi_put16(p + 4, PROFILE_CD_ROM);
		p[6] = !is_dvd(t);
		return 12;
	case 0x0001: /* core: SCSI physical interface, DBE */
		p = feature_hdr(f, code, 2, true, 8);
		scsi_put32(p, 0x00000001);
		p[4] = 0x01;
		return 12;
	case 0x0002: /* morphing: polled events only (OCEvent) */
		p = feature_hdr(f, code, 1, true, 4);
		p[0] = 0x02;
		return 8;
	case 0x0003: /* removable medium: tray, lockable, no eject */
		p = feature_hdr(f, code, 0, true, 4);
		p[0] = 0x21;
		return 8;
	case 0x0010: /* random readable: the disc is always loaded */
		p = feature_hdr(f, code, 0, false, 8);
		scsi_put32(p, t->block_size);
		scsi_put16(p + 4, is_dvd(t) ? 16 : 1);
		return 12;
	}
	return 0;
}

/*
 * RT 0: every feature from the starting one on; RT 1: the current ones
 * (all of ours are); RT 2: the starting one alone, if the drive has it.
 */
static void cdrom_get_configuration(struct sim_scsi_target *t,
				    struct scsi_req *r)
{
	static const uint16_t codes[] = {0x0000, 0x0001, 0x0002, 0x0003,
					 0x0010};
	uint8_t buf[8 + 5 * 16];
	uint8_t rt = r->cdb[1] & 0x03;
	uint16_t start = scsi_get16(r->cdb + 2);
	size_t i, len = 8;

	if (rt == 3) {
		scsi_bad_field(t, r, 1);
		return;
	}
	memset(buf, 0, 8);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		if (codes[i] < start || (rt == 2 && codes[i] != start))
			continue;
		len += feature(t, codes[i], buf + len);
	}
	SIM_ASSERT(len <= sizeof(buf));
	scsi_put32(buf, (uint32_t)(len - 4));
	scsi_put16(buf + 6, is_dvd(t) ? PROFILE_DVD_ROM : PROFILE_CD_ROM);
	scsi_reply(r, buf, len, scsi_get16(r->cdb + 7));
}

/* Polled only; the media class says a disc is present, nothing changed. */
static void cdrom_gesn(struct sim_scsi_target *t, struct scsi_req *r)
{
	uint8_t buf[8];
	size_t len = 4;

	if (!(r->cdb[1] & 0x01)) { /* asynchronous notification */
		scsi_bad_field(t, r, 1);
		return;
	}
	memset(buf, 0, sizeof(buf));
	buf[3] = 0x10; /* supported classes: media */
	if (r->cdb[4] & 0x10) {
		buf[2] = 0x04; /* media class */
		buf[5] = 0x02; /* no change, media present, door closed */
		len = 8;
	} else {
		buf[2] = 0x80; /* NEA: no class asked for is supported */
	}
	scsi_put16(buf, (uint16_t)(len - 2));
	scsi_reply(r, buf, len, scsi_get16(r->cdb + 7));
}

static size_t cdrom_vpd_page(const struct sim_scsi_target *t, uint8_t page,
			     uint8_t *buf)
{
	return 0;
}

/* CD/DVD capabilities and mechanical status (Linux sr reads it). */
static size_t cdrom_mode_page(const struct sim_scsi_target *t, uint8_t page,
			      bool changeable, uint8_t *buf)
{
	if (page != 0x2a)
		return 0;
	buf[0] = 0x2a;
	buf[1] = 0x14;
	if (changeable)
		return 22;
	buf[2] = 0x08; /* reads DVD-ROM (and CD-ROM); writes nothing */
	buf[6] = 0x21; /* tray, lockable, no eject */
	scsi_put16(buf + 8, 7056);  /* max read speed, kB/s (40x) */
	scsi_put16(buf + 14, 7056); /* current read speed */
	return 22;
}

static const struct scsi_op cdrom_ops[256] = {
    [SCSI_OP_TEST_UNIT_READY] = {scsi_op_good, 6, SIM_SCSI_DIR_NONE},
    [SCSI_OP_REQUEST_SENSE] = {scsi_op_request_sense, 6,
			       SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_INQUIRY] = {scsi_op_inquiry, 6, SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_MODE_SENSE_6] = {scsi_op_mode_sense, 6, SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_START_STOP_UNIT] = {scsi_op_good, 6, SIM_SCSI_DIR_NONE},
    [OP_PREVENT_ALLOW] = {scsi_op_good, 6, SIM_SCSI_DIR_NONE},
    [OP_READ_CAPACITY_10] = {scsi_op_read_capacity10, 10,
			     SIM_SCSI_DIR_FROM_DEVICE},
    [OP_READ_10] = {cdrom_read10, 10, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_WRITE_10] = {cdrom_write, 10, SIM_SCSI_DIR_TO_DEVICE},
    [OP_WRITE_VERIFY_10] = {cdrom_write, 10, SIM_SCSI_DIR_TO_DEVICE},
    [OP_READ_TOC] = {cdrom_read_toc, 10, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_GET_CONFIGURATION] = {cdrom_get_configuration, 10,
			      SIM_SCSI_DIR_FROM_DEVICE},
    [OP_GESN] = {cdrom_gesn, 10, SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_MODE_SENSE_10] = {scsi_op_mode_sense, 10,
			       SIM_SCSI_DIR_FROM_DEVICE},
    [SCSI_OP_REPORT_LUNS] = {scsi_op_report_luns, 12, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_READ_12] = {cdrom_read12, 12, SIM_SCSI_DIR_FROM_DEVICE},
    [OP_WRITE_12] = {cdrom_write, 12, SIM_SCSI_DIR_TO_DEVICE},
};

static const uint8_t cdrom_pages[] = {0x2a};

const struct scsi_kind scsi_cdrom_kind = {
    .ops = cdrom_ops,
    .peripheral_type = 0x05,
    .removable = true,
    .block_descriptor = false,
    .product = "XPV CD-ROM",
    .vpd_extra = NULL,
    .vpd_extra_len = 0,
    .vpd_page = cdrom_vpd_page,
    .mode_page = cdrom_mode_page,
    .mode_pages = cdrom_pages,
    .mode_pages_len = sizeof(cdrom_pages),
};
