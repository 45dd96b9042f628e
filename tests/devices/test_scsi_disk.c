/*
 * The SBC disk through its only interface, sim_scsi_target_exec: CDBs in,
 * status, sense and data out, asserted byte by byte against SPC/SBC.
 * Images live in a mkdtemp directory removed after each test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "tmpdir.h"
#include "scsi_exec.h"
#include "sim/devices/scsi_target.h"

#define IN   SIM_SCSI_DIR_FROM_DEVICE
#define OUT  SIM_SCSI_DIR_TO_DEVICE
#define NONE SIM_SCSI_DIR_NONE
#define MIB  (1024u * 1024u)

static char dir[64];
static char path[128];
static uint8_t buf[256 * 4096];
static uint8_t pat[256 * 4096];

static void setup(void)
{
	xpv_tmpdir_make(dir, sizeof(dir), "scsi-disk");
	snprintf(path, sizeof(path), "%s/disk.img", dir);
}

static void teardown(void)
{
	xpv_tmpdir_remove(dir);
}

static struct sim_scsi_target *open_disk(uint64_t size, uint32_t bs, bool ro,
					 const char *serial)
{
	struct sim_scsi_target_config cfg = {
	    .kind = SIM_SCSI_DISK,
	    .image = path,
	    .create_size = size,
	    .block_size = bs,
	    .read_only = ro,
	    .serial = serial,
	};
	struct sim_scsi_target *t;
	char err[256];

	ck_assert_int_eq(sim_scsi_target_open(&cfg, &t, err, sizeof(err)), 0);
	return t;
}

/* Consume the power-on UA every fresh unit has. */
static struct sim_scsi_target *ready(struct sim_scsi_target *t)
{
	/* ASC 29h/00h: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED */
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	expect_good(tur(t));
	return t;
}

static struct sim_scsi_result rw10(struct sim_scsi_target *t, bool write,
				   uint32_t lba, uint16_t n, void *data,
				   uint32_t len)
{
	uint8_t c[10] = {write ? 0x2a : 0x28,
			 0,
			 (uint8_t)(lba >> 24),
			 (uint8_t)(lba >> 16),
			 (uint8_t)(lba >> 8),
			 (uint8_t)lba,
			 0,
			 (uint8_t)(n >> 8),
			 (uint8_t)n,
			 0};

	return exec(t, c, 10, write ? OUT : IN, data, len);
}

static struct sim_scsi_result rw16(struct sim_scsi_target *t, bool write,
				   uint64_t lba, uint32_t n, void *data,
				   uint32_t len)
{
	uint8_t c[16] = {write ? 0x8a : 0x88};
	int i;

	for (i = 0; i < 8; i++)
		c[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (i = 0; i < 4; i++)
		c[10 + i] = (uint8_t)(n >> (24 - 8 * i));
	return exec(t, c, 16, write ? OUT : IN, data, len);
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

START_TEST(test_write_read_block_sizes)
{
	static const uint32_t sizes[] = {512, 4096};
	struct sim_scsi_target_stats st;
	struct sim_scsi_target *t;
	uint32_t bs = sizes[_i];
	uint8_t disk[8 * 4096];
	struct sim_scsi_result r;
	int fd;

	t = ready(open_disk(MIB, bs, false, "S1"));
	ck_assert_uint_eq(sim_scsi_target_block_size(t), bs);
	ck_assert_uint_eq(sim_scsi_target_blocks(t), MIB / bs);
	fill(pat, 4 * bs, bs);
	r = rw10(t, true, 3, 4, pat, 4 * bs);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 4 * bs);
	/* Every completed write is on the image. */
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, disk, 4 * bs, 3 * bs), (ssize_t)(4 * bs));
	close(fd);
	ck_assert_mem_eq(disk, pat, 4 * bs);
	/* Back through READ(10), READ(16), READ(12) and READ(6). */
	memset(buf, 0, 4 * bs);
	r = rw10(t, false, 3, 4, buf, 4 * bs);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 4 * bs);
	ck_assert_mem_eq(buf, pat, 4 * bs);
	memset(buf, 0, 4 * bs);
	expect_good(rw16(t, false, 4, 2, buf, 2 * bs));
	ck_assert_mem_eq(buf, pat + bs, 2 * bs);
	memset(buf, 0, 4 * bs);
	expect_good(exec(t, CDB(0xa8, 0, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0), IN, buf,
			 2 * bs));
	ck_assert_mem_eq(buf, pat + 2 * bs, 2 * bs);
	memset(buf, 0, 4 * bs);
	expect_good(exec(t, CDB(0x08, 0, 0, 6, 1, 0), IN, buf, bs));
	ck_assert_mem_eq(buf, pat + 3 * bs, bs);
	/* Never-written blocks of the sparse image read as zeros. */
	expect_good(rw10(t, false, 100, 1, buf, bs));
	ck_assert_uint_eq(buf[0] | buf[bs - 1], 0);
	sim_scsi_target_stats(t, &st);
	ck_assert_uint_eq(st.writes, 1);
	ck_assert_uint_eq(st.reads, 5);
	ck_assert_uint_eq(st.bytes_written, 4 * bs);
	ck_assert_uint_eq(st.bytes_read, (4 + 2 + 2 + 1 + 1) * bs);
	ck_assert_uint_eq(st.commands, 2 + 6);
	ck_assert_uint_eq(st.check_conditions, 1);
	ck_assert_uint_eq(st.unit_attentions, 1);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_rw6_encoding)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	/* 0x10203 needs all 21 LBA bits of the 6-byte CDB. */
	t = ready(open_disk(72 * MIB, 512, false, "S1"));
	fill(pat, 512, 6);
	expect_good(exec(t, CDB(0x0a, 0x01, 0x02, 0x03, 1, 0), OUT, pat, 512));
	expect_good(rw16(t, false, 0x10203, 1, buf, 512));
	ck_assert_mem_eq(buf, pat, 512);
	/* Bits 7-5 of byte 1 are not LBA bits (obsolete LUN field). */
	memset(buf, 0, 512);
	expect_good(exec(t, CDB(0x08, 0xe1, 0x02, 0x03, 1, 0), IN, buf, 512));
	ck_assert_mem_eq(buf, pat, 512);
	/* TRANSFER LENGTH 0 in READ(6) means 256 blocks. */
	fill(pat, 256 * 512, 9);
	expect_good(rw10(t, true, 10, 256, pat, 256 * 512));
	memset(buf, 0, 256 * 512);
	r = exec(t, CDB(0x08, 0, 0, 10, 0, 0), IN, buf, 256 * 512);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 256 * 512);
	ck_assert_mem_eq(buf, pat, 256 * 512);
	/* ... and in WRITE(6) too. */
	fill(pat, 256 * 512, 10);
	expect_good(exec(t, CDB(0x0a, 0, 0, 10, 0, 0), OUT, pat, 256 * 512));
	expect_good(rw10(t, false, 10, 256, buf, 256 * 512));
	ck_assert_mem_eq(buf, pat, 256 * 512);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_rw12_rw16_encoding)
{
	struct sim_scsi_target *t;
	uint64_t lba = 0x123456789ull; /* above 32 bits */

	/* 2 TiB + a little, sparse, so 16-byte LBAs reach real blocks. */
	t = ready(open_disk((lba + 16) * 512, 512, false, "S1"));
	fill(pat, 2 * 512, 16);
	expect_good(rw16(t, true, lba, 2, pat, 2 * 512));
	expect_good(rw16(t, false, lba + 1, 1, buf, 512));
	ck_assert_mem_eq(buf, pat + 512, 512);
	fill(pat, 512, 12);
	expect_good(exec(t,
			 CDB(0xaa, 0, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 1, 0, 0),
			 OUT, pat, 512));
	expect_good(rw10(t, false, 0x01020304, 1, buf, 512));
	ck_assert_mem_eq(buf, pat, 512);
	/* RDPROTECT: no protection information on this unit. */
	expect_sense(
	    exec(t, CDB(0x28, 0x20, 0, 0, 0, 0, 0, 0, 1, 0), IN, buf, 512),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_lba_out_of_range)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	t = ready(open_disk(MIB, 512, false, "S1")); /* 2048 blocks */
	/* ASC 21h/00h: LOGICAL BLOCK ADDRESS OUT OF RANGE, LBA in info. */
	r = rw10(t, false, 2048, 1, buf, 512);
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	ck_assert_uint_eq(r.sense[0], 0xf0); /* VALID */
	ck_assert_uint_eq(be32(r.sense + 3), 2048);
	ck_assert_uint_eq(r.transferred, 0);
	expect_sense(rw10(t, true, 2047, 2, pat, 1024),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	expect_good(rw10(t, false, 2047, 1, buf, 512));
	/* LBA + length wraps around 2^64: still out of range. */
	r = rw16(t, false, UINT64_MAX - 1, 4, buf, 2048);
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	ck_assert_uint_eq(r.sense[0], 0x70); /* LBA does not fit: no VALID */
	expect_sense(rw16(t, true, UINT64_MAX, 1, pat, 512),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	/* A zero-length transfer at the end is no error. */
	expect_good(rw10(t, false, 2048, 0, buf, 512));
	/* Beyond the advertised maximum transfer length: 24h/00h. */
	expect_sense(rw16(t, false, 0, UINT32_MAX, buf, 512),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_bad_opcode_and_request_sense)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;
	uint8_t sense[32];

	t = ready(open_disk(MIB, 512, false, "S1"));
	/* ASC 20h/00h: INVALID COMMAND OPERATION CODE */
	expect_sense(exec(t, CDB(0xc0, 0, 0, 0, 0, 0), NONE, NULL, 0),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x20, 0x00);
	/* REQUEST SENSE returns the sense of that CHECK CONDITION... */
	memset(sense, 0xee, sizeof(sense));
	r = exec(t, CDB(0x03, 0, 0, 0, 252, 0), IN, sense, sizeof(sense));
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 18);
	ck_assert_uint_eq(sense[0], 0x70);
	ck_assert_uint_eq(sense[2], SIM_SCSI_ILLEGAL_REQUEST);
	ck_assert_uint_eq(sense[12], 0x20);
	ck_assert_uint_eq(sense[18], 0xee);
	/* ... once: then NO SENSE. */
	r = exec(t, CDB(0x03, 0, 0, 0, 18, 0), IN, sense, sizeof(sense));
	expect_good(r);
	ck_assert_uint_eq(sense[2], SIM_SCSI_NO_SENSE);
	ck_assert_uint_eq(sense[12], 0);
	/* A GOOD command in between forgets the previous sense. */
	expect_sense(rw10(t, false, 5000, 1, buf, 512),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	expect_good(tur(t));
	exec(t, CDB(0x03, 0, 0, 0, 18, 0), IN, sense, sizeof(sense));
	ck_assert_uint_eq(sense[2], SIM_SCSI_NO_SENSE);
	/* Allocation length truncates the sense data. */
	expect_sense(rw10(t, false, 5000, 1, buf, 512),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	r = exec(t, CDB(0x03, 0, 0, 0, 4, 0), IN, sense, sizeof(sense));
	ck_assert_uint_eq(r.transferred, 4);
	/* DESC 1: descriptor format is not supported. */
	r = exec(t, CDB(0x03, 1, 0, 0, 18, 0), IN, sense, sizeof(sense));
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_assert_uint_eq(r.sense[15], 0xc0); /* SKSV, C/D: in the CDB */
	ck_assert_uint_eq(r.sense[17], 1);    /* byte 1 */
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_unit_attention_at_open)
{
	struct sim_scsi_target_stats st;
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	t = open_disk(MIB, 512, false, "S1");
	/* INQUIRY and REPORT LUNS do not report a UA... */
	expect_good(exec(t, CDB(0x12, 0, 0, 0, 36, 0), IN, buf, 36));
	expect_good(
	    exec(t, CDB(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0), IN, buf, 16));
	/* ... the next other command does, once. */
	r = rw10(t, false, 0, 1, buf, 512);
	expect_sense(r, SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	ck_assert_uint_eq(r.transferred, 0);
	expect_good(rw10(t, false, 0, 1, buf, 512));
	expect_good(tur(t));
	sim_scsi_target_stats(t, &st);
	ck_assert_uint_eq(st.unit_attentions, 1);
	ck_assert_uint_eq(st.check_conditions, 1);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_reset_and_queued_ua)
{
	struct sim_scsi_target *t;
	uint8_t sense[18];

	t = ready(open_disk(MIB, 512, false, "S1"));
	sim_scsi_target_reset(t);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	expect_good(tur(t));
	/* 3Fh/0Eh REPORTED LUNS DATA HAS CHANGED, queued twice: once. */
	sim_scsi_target_unit_attention(t, 0x3f, 0x0e);
	sim_scsi_target_unit_attention(t, 0x3f, 0x0e);
	sim_scsi_target_unit_attention(t, 0x2a, 0x01);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x3f, 0x0e);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x2a, 0x01);
	expect_good(tur(t));
	/* A reset goes ahead of what is queued and keeps it. */
	sim_scsi_target_unit_attention(t, 0x3f, 0x0e);
	sim_scsi_target_reset(t);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x3f, 0x0e);
	expect_good(tur(t));
	/* At most four are kept. */
	sim_scsi_target_unit_attention(t, 0x3f, 0x01);
	sim_scsi_target_unit_attention(t, 0x3f, 0x02);
	sim_scsi_target_unit_attention(t, 0x3f, 0x03);
	sim_scsi_target_unit_attention(t, 0x3f, 0x04);
	sim_scsi_target_unit_attention(t, 0x3f, 0x05);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x3f, 0x01);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x3f, 0x02);
	/* REQUEST SENSE first returns the last command's sense... */
	expect_good(exec(t, CDB(0x03, 0, 0, 0, 18, 0), IN, sense, 18));
	ck_assert_uint_eq(sense[13], 0x02);
	/* ... and with none, hands a pending UA over and clears it. */
	expect_good(exec(t, CDB(0x03, 0, 0, 0, 18, 0), IN, sense, 18));
	ck_assert_uint_eq(sense[2], SIM_SCSI_UNIT_ATTENTION);
	ck_assert_uint_eq(sense[12], 0x3f);
	ck_assert_uint_eq(sense[13], 0x03);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x3f, 0x04);
	expect_good(tur(t));
	/* Writes before a reset survive it. */
	fill(pat, 512, 1);
	expect_good(rw10(t, true, 7, 1, pat, 512));
	sim_scsi_target_reset(t);
	ready(t);
	expect_good(rw10(t, false, 7, 1, buf, 512));
	ck_assert_mem_eq(buf, pat, 512);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_read_only)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	sim_scsi_target_close(open_disk(MIB, 512, false, "S1"));
	t = ready(open_disk(0, 512, true, "S1"));
	fill(pat, 512, 3);
	/* ASC 27h/00h: WRITE PROTECTED */
	r = rw10(t, true, 0, 1, pat, 512);
	expect_sense(r, SIM_SCSI_DATA_PROTECT, 0x27, 0x00);
	ck_assert_uint_eq(r.transferred, 0);
	expect_sense(exec(t, CDB(0x0a, 0, 0, 0, 1, 0), OUT, pat, 512),
		     SIM_SCSI_DATA_PROTECT, 0x27, 0x00);
	expect_sense(rw16(t, true, 0, 1, pat, 512), SIM_SCSI_DATA_PROTECT, 0x27,
		     0x00);
	expect_good(rw10(t, false, 0, 1, buf, 512));
	ck_assert_uint_eq(buf[0], 0);
	/* MODE SENSE(6) header: WP in the device-specific parameter. */
	expect_good(exec(t, CDB(0x1a, 0, 0x3f, 0, 255, 0), IN, buf, 255));
	ck_assert_uint_eq(buf[2] & 0x80, 0x80);
	expect_good(
	    exec(t, CDB(0x5a, 0, 0x08, 0, 0, 0, 0, 0, 255, 0), IN, buf, 255));
	ck_assert_uint_eq(buf[3] & 0x80, 0x80);
	sim_scsi_target_close(t);
	t = ready(open_disk(0, 512, false, "S1"));
	expect_good(exec(t, CDB(0x1a, 0, 0x3f, 0, 255, 0), IN, buf, 255));
	ck_assert_uint_eq(buf[2] & 0x80, 0);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_inquiry_standard)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	t = open_disk(MIB, 512, false, "S1");
	memset(buf, 0xee, 64);
	r = exec(t, CDB(0x12, 0, 0, 0, 64, 0), IN, buf, 64);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 36);
	ck_assert_uint_eq(buf[0], 0x00); /* connected, direct access */
	ck_assert_uint_eq(buf[1], 0x00); /* not removable */
	ck_assert_uint_eq(buf[2], 0x06); /* SPC-4 */
	ck_assert_uint_eq(buf[3] & 0x0f, 0x02);
	ck_assert_uint_eq(buf[4], 36 - 5);
	ck_assert_mem_eq(buf + 8, "XPV     ", 8);
	ck_assert_mem_eq(buf + 16, "XPV DISK        ", 16);
	ck_assert_uint_eq(buf[36], 0xee);
	/* Allocation length and buffer length both truncate. */
	memset(buf, 0xee, 64);
	r = exec(t, CDB(0x12, 0, 0, 0, 5, 0), IN, buf, 64);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 5);
	ck_assert_uint_eq(buf[4], 31);
	ck_assert_uint_eq(buf[5], 0xee);
	r = exec(t, CDB(0x12, 0, 0, 1, 0, 0), IN, buf, 10);
	ck_assert_uint_eq(r.transferred, 10);
	r = exec(t, CDB(0x12, 0, 0, 0, 0, 0), IN, buf, 64);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 0);
	/* Page code without EVPD, and CMDDT: ASC 24h/00h at byte 2 / 1. */
	r = exec(t, CDB(0x12, 0, 0x80, 0, 64, 0), IN, buf, 64);
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_assert_uint_eq(r.sense[17], 2);
	expect_sense(exec(t, CDB(0x12, 2, 0, 0, 64, 0), IN, buf, 64),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	/* A UA is still pending: INQUIRY did not report it. */
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	sim_scsi_target_close(t);
}
END_TEST

static struct sim_scsi_result vpd(struct sim_scsi_target *t, uint8_t page,
				  uint8_t *out, uint16_t alloc)
{
	return exec(
	    t, CDB(0x12, 1, page, (uint8_t)(alloc >> 8), (uint8_t)alloc, 0), IN,
	    out, alloc);
}

START_TEST(test_inquiry_vpd)
{
	static const uint8_t supported[] = {0x00, 0x80, 0x83, 0xb0, 0xb1};
	struct sim_scsi_target *t, *t2;
	struct sim_scsi_result r;
	uint8_t id1[128], id2[128];

	t = open_disk(MIB, 512, false, "SERIAL-42");
	r = vpd(t, 0x00, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 4 + sizeof(supported));
	ck_assert_uint_eq(buf[1], 0x00);
	ck_assert_uint_eq(buf[3], sizeof(supported));
	ck_assert_mem_eq(buf + 4, supported, sizeof(supported));
	r = vpd(t, 0x80, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(buf[1], 0x80);
	ck_assert_uint_eq(buf[3], 9);
	ck_assert_mem_eq(buf + 4, "SERIAL-42", 9);
	/* 0x83: NAA 6 from the serial, then a T10 vendor id. */
	r = vpd(t, 0x83, id1, sizeof(id1));
	expect_good(r);
	ck_assert_uint_eq(id1[1], 0x83);
	ck_assert_uint_eq(r.transferred, 4u + (id1[2] << 8 | id1[3]));
	ck_assert_uint_eq(id1[4] & 0x0f, 1); /* binary */
	ck_assert_uint_eq(id1[5] & 0x0f, 3); /* NAA */
	ck_assert_uint_eq(id1[7], 16);
	ck_assert_uint_eq(id1[8] >> 4, 6);
	ck_assert_uint_eq(id1[24] & 0x0f, 2); /* ASCII */
	ck_assert_uint_eq(id1[25] & 0x0f, 1); /* T10 vendor id */
	ck_assert_uint_eq(id1[27], 8 + 16 + 9);
	ck_assert_mem_eq(id1 + 28, "XPV     ", 8);
	ck_assert_mem_eq(id1 + 52, "SERIAL-42", 9);
	ck_assert_uint_eq(r.transferred, 24 + 4 + 8 + 16 + 9);
	/* Same serial, same NAA; another serial, another NAA. */
	snprintf(path, sizeof(path), "%s/other.img", dir);
	t2 = open_disk(MIB, 512, false, "SERIAL-42");
	expect_good(vpd(t2, 0x83, id2, sizeof(id2)));
	ck_assert_mem_eq(id1 + 8, id2 + 8, 16);
	sim_scsi_target_close(t2);
	snprintf(path, sizeof(path), "%s/third.img", dir);
	t2 = open_disk(MIB, 512, false, "SERIAL-43");
	expect_good(vpd(t2, 0x83, id2, sizeof(id2)));
	ck_assert_mem_ne(id1 + 8, id2 + 8, 16);
	sim_scsi_target_close(t2);
	/* 0xB0 block limits: MAXIMUM TRANSFER LENGTH, in blocks. */
	r = vpd(t, 0xb0, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 64);
	ck_assert_uint_eq(buf[3], 0x3c);
	ck_assert_uint_eq(be32(buf + 8), (64u << 20) / 512);
	r = vpd(t, 0xb1, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(buf[5], 1); /* non-rotating */
	/* Truncated VPD page keeps its full page length. */
	r = vpd(t, 0x83, id2, 6);
	ck_assert_uint_eq(r.transferred, 6);
	ck_assert_uint_eq(id2[3], id1[3]);
	/* Unsupported page: 24h/00h at byte 2. */
	r = vpd(t, 0x89, buf, 255);
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_assert_uint_eq(r.sense[17], 2);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_default_serial_is_stable)
{
	struct sim_scsi_target *t;
	uint8_t a[64], b[64];

	t = open_disk(MIB, 512, false, NULL);
	expect_good(vpd(t, 0x80, a, sizeof(a)));
	sim_scsi_target_close(t);
	t = open_disk(0, 512, false, NULL);
	expect_good(vpd(t, 0x80, b, sizeof(b)));
	sim_scsi_target_close(t);
	ck_assert_uint_eq(a[3], 16);
	ck_assert_mem_eq(a, b, 4 + 16);
}
END_TEST

START_TEST(test_read_capacity)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	t = ready(open_disk(3 * MIB, 4096, false, "S1"));
	r = exec(t, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), IN, buf, 8);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8);
	ck_assert_uint_eq(be32(buf), 3 * MIB / 4096 - 1);
	ck_assert_uint_eq(be32(buf + 4), 4096);
	/* LBA without PMI: 24h/00h. */
	expect_sense(exec(t, CDB(0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0), IN, buf, 8),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	/* READ CAPACITY(16): SERVICE ACTION IN(16) 9Eh/10h. */
	memset(buf, 0xee, 64);
	r = exec(t, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
		 IN, buf, 64);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 32);
	ck_assert_uint_eq(be64(buf), 3 * MIB / 4096 - 1);
	ck_assert_uint_eq(be32(buf + 8), 4096);
	ck_assert_uint_eq(buf[32], 0xee);
	expect_sense(
	    exec(t, CDB(0x9e, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
		 IN, buf, 64),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	sim_scsi_target_close(t);
	/* More than 2^32 blocks: READ CAPACITY(10) says FFFFFFFFh. */
	snprintf(path, sizeof(path), "%s/big.img", dir);
	t = ready(open_disk((1ull << 32) * 512 + 512, 512, false, "S2"));
	expect_good(exec(t, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), IN, buf, 8));
	ck_assert_uint_eq(be32(buf), 0xffffffffu);
	expect_good(
	    exec(t, CDB(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
		 IN, buf, 32));
	ck_assert_uint_eq(be64(buf), 1ull << 32);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_mode_sense)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	t = ready(open_disk(MIB, 512, false, "S1"));
	/* MODE SENSE(6), all pages: 4 header + 8 descriptor + 20 + 12. */
	r = exec(t, CDB(0x1a, 0, 0x3f, 0, 255, 0), IN, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 44);
	ck_assert_uint_eq(buf[0], 43);
	ck_assert_uint_eq(buf[3], 8);
	ck_assert_uint_eq(be32(buf + 4), 2048); /* blocks */
	ck_assert_uint_eq(be32(buf + 8) & 0xffffff, 512);
	ck_assert_uint_eq(buf[12] & 0x3f, 0x08); /* caching */
	ck_assert_uint_eq(buf[13], 0x12);
	ck_assert_uint_eq(buf[32] & 0x3f, 0x0a); /* control */
	ck_assert_uint_eq(buf[33], 0x0a);
	/* DBD: no block descriptor. */
	r = exec(t, CDB(0x1a, 0x08, 0x0a, 0, 255, 0), IN, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 4 + 12);
	ck_assert_uint_eq(buf[3], 0);
	ck_assert_uint_eq(buf[4], 0x0a);
	/* MODE SENSE(10) with LLBAA: a 16-byte descriptor. */
	r = exec(t, CDB(0x5a, 0x10, 0x08, 0, 0, 0, 0, 0, 255, 0), IN, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8 + 16 + 20);
	ck_assert_uint_eq(buf[1], 8 + 16 + 20 - 2);
	ck_assert_uint_eq(buf[4] & 1, 1);
	ck_assert_uint_eq(buf[7], 16);
	ck_assert_uint_eq(be64(buf + 8), 2048);
	ck_assert_uint_eq(be32(buf + 20), 512);
	ck_assert_uint_eq(buf[24], 0x08);
	/* Allocation length truncates. */
	r = exec(t, CDB(0x1a, 0, 0x3f, 0, 6, 0), IN, buf, 255);
	ck_assert_uint_eq(r.transferred, 6);
	/* Unsupported page, saved values: 24h/00h, 39h/00h. */
	expect_sense(exec(t, CDB(0x1a, 0, 0x1c, 0, 255, 0), IN, buf, 255),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	expect_sense(exec(t, CDB(0x1a, 0, 0xc8, 0, 255, 0), IN, buf, 255),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x39, 0x00);
	expect_sense(exec(t, CDB(0x1a, 0, 0x08, 1, 255, 0), IN, buf, 255),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_sparse_creation)
{
	struct sim_scsi_target *t;
	struct stat st;

	t = ready(open_disk(256 * MIB, 4096, false, "S1"));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 256 * MIB);
	ck_assert_int_lt(st.st_blocks, 64); /* < 32 KiB allocated */
	fill(pat, 4096, 4);
	expect_good(rw10(t, true, 1000, 1, pat, 4096));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_lt(st.st_blocks, 128);
	sim_scsi_target_close(t);
	/* An existing image keeps its content; create_size is ignored. */
	t = ready(open_disk(2 * MIB, 4096, false, "S1"));
	ck_assert_uint_eq(sim_scsi_target_blocks(t), 256 * MIB / 4096);
	expect_good(rw10(t, false, 1000, 1, buf, 4096));
	ck_assert_mem_eq(buf, pat, 4096);
	sim_scsi_target_close(t);
}
END_TEST

static int try_open(const struct sim_scsi_target_config *cfg, char *err,
		    size_t errlen)
{
	struct sim_scsi_target *t = (void *)1;
	int rc;

	rc = sim_scsi_target_open(cfg, &t, err, errlen);
	ck_assert_ptr_null(t);
	return rc;
}

START_TEST(test_bad_images)
{
	struct sim_scsi_target_config cfg = {.kind = SIM_SCSI_DISK,
					     .image = path};
	char err[256];
	int fd;

	/* Missing, no create size. */
	err[0] = 0;
	ck_assert_int_eq(try_open(&cfg, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, path));
	/* Not a multiple of the block size. */
	fd = open(path, O_RDWR | O_CREAT, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1000), 0);
	err[0] = 0;
	ck_assert_int_eq(try_open(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "1000"));
	cfg.block_size = 4096;
	ck_assert_int_eq(ftruncate(fd, 6 * 512), 0);
	ck_assert_int_eq(try_open(&cfg, err, sizeof(err)), -EINVAL);
	/* Empty. */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	err[0] = 0;
	ck_assert_int_eq(try_open(&cfg, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));
	close(fd);
	/* Bad configuration: block size, create size, vendor, no err. */
	cfg.block_size = 1024;
	ck_assert_int_eq(try_open(&cfg, err, sizeof(err)), -EINVAL);
	cfg.block_size = 512;
	cfg.create_size = 1000;
	ck_assert_int_eq(try_open(&cfg, err, sizeof(err)), -EINVAL);
	cfg.create_size = MIB;
	cfg.vendor = "TOO-LONG-VENDOR";
	ck_assert_int_eq(try_open(&cfg, NULL, 0), -EINVAL);
	cfg.vendor = "BAD\n";
	ck_assert_int_eq(try_open(&cfg, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(test_hostile_cdbs)
{
	static const uint8_t opcodes[] = {0x08, 0x0a, 0x12, 0x1a, 0x25,
					  0x28, 0x2a, 0x35, 0x5a, 0x88,
					  0x8a, 0x9e, 0xa0, 0xa8, 0xaa};
	struct sim_scsi_cmd c;
	struct sim_scsi_target *t;
	struct sim_scsi_result r;
	uint8_t cdb[16];
	size_t i;
	uint8_t n;

	t = ready(open_disk(MIB, 512, false, "S1"));
	/* No CDB at all: there is no opcode. */
	expect_sense(exec(t, NULL, 0, NONE, NULL, 0), SIM_SCSI_ILLEGAL_REQUEST,
		     0x20, 0x00);
	c = (struct sim_scsi_cmd){NULL, 10, IN, buf, 512};
	sim_scsi_target_exec(t, &c, &r);
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x20, 0x00);
	/* Every opcode, every CDB shorter than its length: 24h/00h. Copies
	 * sit at the end of the array so ASan sees a read past cdb_len. */
	for (i = 0; i < sizeof(opcodes); i++) {
		for (n = 1; n < 16; n++) {
			uint8_t *p = malloc(n);

			memset(p, 0xff, n);
			p[0] = opcodes[i];
			r = exec(t, p, n, IN, buf, 512);
			free(p);
			if (n >= (opcodes[i] < 0x20   ? 6
				  : opcodes[i] < 0x80 ? 10
				  : opcodes[i] < 0xa0 ? 16
						      : 12))
				continue;
			expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
		}
	}
	/* Direction mismatch: a WRITE whose buffer is data-in. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x2a;
	cdb[8] = 1;
	r = exec(t, cdb, 10, IN, buf, 512);
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	cdb[0] = 0x28;
	expect_sense(exec(t, cdb, 10, OUT, buf, 512), SIM_SCSI_ILLEGAL_REQUEST,
		     0x24, 0x00);
	/* No buffer: READ moves nothing and is still GOOD (underrun). */
	r = exec(t, cdb, 10, IN, NULL, 0);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 0);
	c = (struct sim_scsi_cmd){cdb, 10, IN, NULL, 4096};
	sim_scsi_target_exec(t, &c, &r);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 0);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_underrun_overrun)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	t = ready(open_disk(MIB, 512, false, "S1"));
	fill(pat, 4 * 512, 5);
	expect_good(rw10(t, true, 0, 4, pat, 4 * 512));
	/* Short buffer for a read: fill it, nothing more. */
	memset(buf, 0xee, 4 * 512);
	r = rw10(t, false, 0, 4, buf, 3 * 512 + 100);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 3 * 512 + 100);
	ck_assert_mem_eq(buf, pat, 3 * 512 + 100);
	ck_assert_uint_eq(buf[3 * 512 + 100], 0xee);
	/* Long buffer: only what the CDB asks for. */
	r = rw10(t, false, 0, 1, buf, 4 * 512);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 512);
	/* Short buffer for a write: whole blocks only. */
	fill(pat, 2 * 512, 6);
	r = rw10(t, true, 0, 2, pat, 512 + 256);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 512);
	expect_good(rw10(t, false, 0, 2, buf, 2 * 512));
	ck_assert_mem_eq(buf, pat, 512);
	fill(pat, 4 * 512, 5);
	ck_assert_mem_eq(buf + 512, pat + 512, 512); /* old content */
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_sync_verify_start_stop_luns)
{
	struct sim_scsi_target_stats st;
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	t = ready(open_disk(MIB, 512, false, "S1"));
	expect_good(
	    exec(t, CDB(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0), NONE, NULL, 0));
	expect_good(
	    exec(t, CDB(0x91, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 100, 0, 0),
		 NONE, NULL, 0));
	expect_sense(
	    exec(t, CDB(0x35, 0, 0, 0, 0x10, 0, 0, 0, 0, 0), NONE, NULL, 0),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	sim_scsi_target_stats(t, &st);
	ck_assert_uint_eq(st.syncs, 2);
	expect_good(
	    exec(t, CDB(0x2f, 0, 0, 0, 0, 0, 0, 0, 8, 0), NONE, NULL, 0));
	expect_sense(
	    exec(t, CDB(0x2f, 0x02, 0, 0, 0, 0, 0, 0, 8, 0), NONE, NULL, 0),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	expect_good(exec(t, CDB(0x1b, 0, 0, 0, 1, 0), NONE, NULL, 0));
	/* REPORT LUNS: LUN 0 alone. */
	memset(buf, 0xee, 64);
	r = exec(t, CDB(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0), IN, buf, 64);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 16);
	ck_assert_uint_eq(be32(buf), 8);
	ck_assert_uint_eq(be64(buf + 8), 0);
	expect_sense(exec(t, CDB(0xa0, 0, 0x07, 0, 0, 0, 0, 0, 0, 64, 0, 0), IN,
			  buf, 64),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	sim_scsi_target_close(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("scsi_disk");
	TCase *tc = tcase_create("disk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_write_read_block_sizes, 0, 2);
	tcase_add_test(tc, test_rw6_encoding);
	tcase_add_test(tc, test_rw12_rw16_encoding);
	tcase_add_test(tc, test_lba_out_of_range);
	tcase_add_test(tc, test_bad_opcode_and_request_sense);
	tcase_add_test(tc, test_unit_attention_at_open);
	tcase_add_test(tc, test_reset_and_queued_ua);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_inquiry_standard);
	tcase_add_test(tc, test_inquiry_vpd);
	tcase_add_test(tc, test_default_serial_is_stable);
	tcase_add_test(tc, test_read_capacity);
	tcase_add_test(tc, test_mode_sense);
	tcase_add_test(tc, test_sparse_creation);
	tcase_add_test(tc, test_bad_images);
	tcase_add_test(tc, test_hostile_cdbs);
	tcase_add_test(tc, test_underrun_overrun);
	tcase_add_test(tc, test_sync_verify_start_stop_luns);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
