/*
 * The MMC CD-ROM through sim_scsi_target_exec: what Linux sr and media
 * polling ask a read-only drive, asserted byte by byte against MMC.
 * Images live in a mkdtemp directory removed after each test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "tmpdir.h"
#include "scsi_exec.h"
#include "sim/devices/scsi_target.h"

#define IN	SIM_SCSI_DIR_FROM_DEVICE
#define OUT	SIM_SCSI_DIR_TO_DEVICE
#define NONE	SIM_SCSI_DIR_NONE
#define BS	2048u
#define NBLOCKS 300u /* 600 KiB: a CD */

static char dir[64];
static char path[128];
static uint8_t buf[64 * 1024];
static uint8_t img[NBLOCKS * BS];

static void setup(void)
{
	xpv_tmpdir_make(dir, sizeof(dir), "scsi-cdrom");
	snprintf(path, sizeof(path), "%s/disc.iso", dir);
}

static void teardown(void)
{
	xpv_tmpdir_remove(dir);
}

static void make_image(uint64_t size)
{
	size_t i, n = size < sizeof(img) ? (size_t)size : sizeof(img);
	int fd;

	for (i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 13 + (i >> 11));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, n), (ssize_t)n);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
}

static struct sim_scsi_target *open_cdrom(void)
{
	struct sim_scsi_target_config cfg = {
	    .kind = SIM_SCSI_CDROM,
	    .image = path,
	    .serial = "CD1",
	};
	struct sim_scsi_target *t;
	char err[256];

	ck_assert_int_eq(sim_scsi_target_open(&cfg, &t, err, sizeof(err)), 0);
	return t;
}

static struct sim_scsi_target *ready(struct sim_scsi_target *t)
{
	/* ASC 29h/00h: POWER ON, RESET, OR BUS DEVICE RESET OCCURRED */
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	expect_good(tur(t)); /* medium present */
	return t;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

START_TEST(test_open_and_inquiry)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	make_image(NBLOCKS * BS);
	t = open_cdrom();
	ck_assert_int_eq(sim_scsi_target_kind(t), SIM_SCSI_CDROM);
	ck_assert_uint_eq(sim_scsi_target_blocks(t), NBLOCKS);
	ck_assert_uint_eq(sim_scsi_target_block_size(t), BS);
	r = exec(t, CDB(0x12, 0, 0, 0, 96, 0), IN, buf, 96);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 36);
	ck_assert_uint_eq(buf[0], 0x05); /* CD/DVD device */
	ck_assert_uint_eq(buf[1], 0x80); /* RMB */
	ck_assert_uint_eq(buf[2], 0x06);
	ck_assert_mem_eq(buf + 16, "XPV CD-ROM      ", 16);
	/* VPD: the SPC pages only. */
	r = exec(t, CDB(0x12, 1, 0, 0, 96, 0), IN, buf, 96);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 7);
	ck_assert_uint_eq(buf[0], 0x05);
	ck_assert_uint_eq(buf[6], 0x83);
	expect_sense(exec(t, CDB(0x12, 1, 0xb0, 0, 96, 0), IN, buf, 96),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	ready(t);
	r = exec(t, CDB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0), IN, buf, 8);
	expect_good(r);
	ck_assert_uint_eq(be32(buf), NBLOCKS - 1);
	ck_assert_uint_eq(be32(buf + 4), BS);
	expect_good(exec(t, CDB(0x1e, 0, 0, 0, 1, 0), NONE, NULL, 0));
	expect_good(exec(t, CDB(0x1b, 0, 0, 0, 2, 0), NONE, NULL, 0));
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_bad_images)
{
	struct sim_scsi_target_config cfg = {.kind = SIM_SCSI_CDROM,
					     .image = path};
	struct sim_scsi_target *t;
	char err[256];

	make_image(NBLOCKS * BS + 512);
	err[0] = 0;
	ck_assert_int_eq(sim_scsi_target_open(&cfg, &t, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_null(t);
	make_image(0);
	ck_assert_int_eq(sim_scsi_target_open(&cfg, &t, err, sizeof(err)),
			 -EINVAL);
	/* 2048-byte blocks only; never created. */
	make_image(NBLOCKS * BS);
	cfg.block_size = 512;
	ck_assert_int_eq(sim_scsi_target_open(&cfg, &t, err, sizeof(err)),
			 -EINVAL);
	cfg.block_size = 0;
	cfg.create_size = BS;
	ck_assert_int_eq(sim_scsi_target_open(&cfg, &t, err, sizeof(err)),
			 -EINVAL);
	cfg.create_size = 0;
	ck_assert_int_eq(sim_scsi_target_open(&cfg, &t, err, sizeof(err)), 0);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_read10_read12)
{
	struct sim_scsi_target_stats st;
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	make_image(NBLOCKS * BS);
	t = ready(open_cdrom());
	r = exec(t, CDB(0x28, 0, 0, 0, 0, 17, 0, 0, 3, 0), IN, buf, 3 * BS);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 3 * BS);
	ck_assert_mem_eq(buf, img + 17 * BS, 3 * BS);
	memset(buf, 0, 8 * BS);
	r = exec(t, CDB(0xa8, 0, 0, 0, 0x01, 0x00, 0, 0, 0, 8, 0, 0), IN, buf,
		 8 * BS);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8 * BS);
	ck_assert_mem_eq(buf, img + 256 * BS, 8 * BS);
	/* Past the lead-out: 21h/00h. */
	expect_sense(exec(t, CDB(0xa8, 0, 0, 0, 0x01, 0x28, 0, 0, 0, 5, 0, 0),
			  IN, buf, 5 * BS),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	/* READ(12) CDB cut to 10 bytes: rejected, nothing read. */
	r = exec(t, CDB(0xa8, 0, 0, 0, 0, 0, 0, 0, 0, 1), IN, buf, BS);
	expect_sense(r, SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	ck_assert_uint_eq(r.transferred, 0);
	/* READ(6) is not an MMC command. */
	expect_sense(exec(t, CDB(0x08, 0, 0, 0, 1, 0), IN, buf, BS),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x20, 0x00);
	sim_scsi_target_stats(t, &st);
	ck_assert_uint_eq(st.reads, 2);
	ck_assert_uint_eq(st.bytes_read, 11 * BS);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_writes_refused)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	make_image(NBLOCKS * BS);
	t = ready(open_cdrom());
	memset(buf, 0x5a, BS);
	/* ASC 27h/00h: WRITE PROTECTED, for MMC's write commands. */
	r = exec(t, CDB(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0), OUT, buf, BS);
	expect_sense(r, SIM_SCSI_DATA_PROTECT, 0x27, 0x00);
	ck_assert_uint_eq(r.transferred, 0);
	expect_sense(
	    exec(t, CDB(0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0), OUT, buf, BS),
	    SIM_SCSI_DATA_PROTECT, 0x27, 0x00);
	expect_sense(
	    exec(t, CDB(0x2e, 0, 0, 0, 0, 0, 0, 0, 1, 0), OUT, buf, BS),
	    SIM_SCSI_DATA_PROTECT, 0x27, 0x00);
	/* Not MMC at all: INVALID COMMAND OPERATION CODE. */
	expect_sense(exec(t, CDB(0x0a, 0, 0, 0, 1, 0), OUT, buf, BS),
		     SIM_SCSI_ILLEGAL_REQUEST, 0x20, 0x00);
	expect_sense(
	    exec(t, CDB(0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0), OUT,
		 buf, BS),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x20, 0x00);
	/* The image is untouched. */
	expect_good(exec(t, CDB(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0), IN, buf, BS));
	ck_assert_mem_eq(buf, img, BS);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_read_toc)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;
	uint32_t f = NBLOCKS + 150;

	make_image(NBLOCKS * BS);
	t = ready(open_cdrom());
	/* Format 0, LBA: track 1 at 0, lead-out AAh at the capacity. */
	r = exec(t, CDB(0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0), IN, buf, 100);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 20);
	ck_assert_uint_eq(be16(buf), 18);
	ck_assert_uint_eq(buf[2], 1);
	ck_assert_uint_eq(buf[3], 1);
	ck_assert_uint_eq(buf[5], 0x14); /* ADR 1, data track */
	ck_assert_uint_eq(buf[6], 1);
	ck_assert_uint_eq(be32(buf + 8), 0);
	ck_assert_uint_eq(buf[14], 0xaa);
	ck_assert_uint_eq(be32(buf + 16), NBLOCKS);
	/* MSF: 150 frames of pregap. */
	r = exec(t, CDB(0x43, 0x02, 0, 0, 0, 0, 0, 0, 100, 0), IN, buf, 100);
	expect_good(r);
	ck_assert_uint_eq(buf[9], 0);
	ck_assert_uint_eq(buf[10], 2);
	ck_assert_uint_eq(buf[11], 0);
	ck_assert_uint_eq(buf[17], f / 4500);
	ck_assert_uint_eq(buf[18], f / 75 % 60);
	ck_assert_uint_eq(buf[19], f % 75);
	/* Starting at the lead-out: that descriptor alone. */
	r = exec(t, CDB(0x43, 0, 0, 0, 0, 0, 0xaa, 0, 100, 0), IN, buf, 100);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 12);
	ck_assert_uint_eq(buf[6], 0xaa);
	/* No track 2; format 1 (session info); format 5 unsupported. */
	expect_sense(
	    exec(t, CDB(0x43, 0, 0, 0, 0, 0, 2, 0, 100, 0), IN, buf, 100),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	r = exec(t, CDB(0x43, 0, 1, 0, 0, 0, 0, 0, 100, 0), IN, buf, 100);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 12);
	ck_assert_uint_eq(be16(buf), 10);
	ck_assert_uint_eq(buf[6], 1);
	expect_sense(
	    exec(t, CDB(0x43, 0, 5, 0, 0, 0, 0, 0, 100, 0), IN, buf, 100),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	/* Allocation length: the 4-byte header only. */
	r = exec(t, CDB(0x43, 0, 0, 0, 0, 0, 0, 0, 4, 0), IN, buf, 100);
	ck_assert_uint_eq(r.transferred, 4);
	sim_scsi_target_close(t);
}
END_TEST

static struct sim_scsi_result get_config(struct sim_scsi_target *t, uint8_t rt,
					 uint16_t start, uint16_t alloc)
{
	return exec(t,
		    CDB(0x46, rt, (uint8_t)(start >> 8), (uint8_t)start, 0, 0,
			0, (uint8_t)(alloc >> 8), (uint8_t)alloc, 0),
		    IN, buf, alloc);
}

START_TEST(test_get_configuration)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	make_image(NBLOCKS * BS);
	t = ready(open_cdrom());
	/* RT 0 from feature 0: header, then features in order. */
	r = get_config(t, 0, 0, 1024);
	expect_good(r);
	ck_assert_uint_eq(be32(buf) + 4, r.transferred);
	ck_assert_uint_eq(be16(buf + 6), 0x0008); /* CD-ROM profile */
	ck_assert_uint_eq(be16(buf + 8), 0x0000); /* profile list */
	ck_assert_uint_eq(buf[11], 8);
	ck_assert_uint_eq(be16(buf + 12), 0x0010);
	ck_assert_uint_eq(buf[14] & 1, 0); /* DVD-ROM not current */
	ck_assert_uint_eq(be16(buf + 16), 0x0008);
	ck_assert_uint_eq(buf[18] & 1, 1);	   /* CD-ROM current */
	ck_assert_uint_eq(be16(buf + 20), 0x0001); /* core */
	ck_assert_uint_eq(be32(buf + 24), 1);	   /* SCSI */
	ck_assert_uint_eq(r.transferred, 8 + 12 + 12 + 8 + 8 + 12);
	/* Random readable, last: 2048-byte blocks, blocking 1. */
	ck_assert_uint_eq(be16(buf + 48), 0x0010);
	ck_assert_uint_eq(be32(buf + 52), BS);
	ck_assert_uint_eq(be16(buf + 56), 1);
	/* RT 2: the one feature asked for. */
	r = get_config(t, 2, 0x0003, 1024);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8 + 8);
	ck_assert_uint_eq(be16(buf + 8), 0x0003);
	r = get_config(t, 2, 0x0004, 1024);
	ck_assert_uint_eq(r.transferred, 8);
	/* RT 1 from 0x0002: morphing, removable medium, random readable. */
	r = get_config(t, 1, 0x0002, 1024);
	ck_assert_uint_eq(r.transferred, 8 + 8 + 8 + 12);
	/* Allocation length: just the header (what sr sends). */
	r = get_config(t, 0, 0, 8);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8);
	ck_assert_uint_eq(be32(buf), 56);
	expect_sense(get_config(t, 3, 0, 8), SIM_SCSI_ILLEGAL_REQUEST, 0x24,
		     0x00);
	sim_scsi_target_close(t);
	/* Bigger than 700 MiB: a DVD-ROM. */
	make_image(701ull << 20);
	t = ready(open_cdrom());
	expect_good(get_config(t, 0, 0, 1024));
	ck_assert_uint_eq(be16(buf + 6), 0x0010);
	ck_assert_uint_eq(buf[14] & 1, 1);
	ck_assert_uint_eq(buf[18] & 1, 0);
	ck_assert_uint_eq(be16(buf + 56), 16);
	/* Lead-out of 358,912 blocks in MSF: 79:47:37 (frames + 150). */
	expect_good(
	    exec(t, CDB(0x43, 0x02, 0, 0, 0, 0, 0xaa, 0, 12, 0), IN, buf, 12));
	ck_assert_uint_eq(buf[9], 79);
	ck_assert_uint_eq(buf[10], 47);
	ck_assert_uint_eq(buf[11], 37);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_event_status_and_mode_sense)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;

	make_image(NBLOCKS * BS);
	t = ready(open_cdrom());
	/* Polled, media class: a disc is present. */
	r = exec(t, CDB(0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8, 0), IN, buf, 8);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8);
	ck_assert_uint_eq(be16(buf), 6);
	ck_assert_uint_eq(buf[2], 0x04);
	ck_assert_uint_eq(buf[3], 0x10);
	ck_assert_uint_eq(buf[4] & 0x0f, 0); /* no change */
	ck_assert_uint_eq(buf[5] & 0x02, 2); /* media present */
	/* Other classes only: no event available. */
	r = exec(t, CDB(0x4a, 1, 0, 0, 0x02, 0, 0, 0, 8, 0), IN, buf, 8);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 4);
	ck_assert_uint_eq(buf[2] & 0x80, 0x80);
	/* Asynchronous: not supported. */
	expect_sense(
	    exec(t, CDB(0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8, 0), IN, buf, 8),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	/* MODE SENSE(10) page 2Ah, no block descriptor. */
	r = exec(t, CDB(0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 255, 0), IN, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8 + 22);
	ck_assert_uint_eq(be16(buf + 6), 0);
	ck_assert_uint_eq(buf[3], 0); /* no WP bit for MMC */
	ck_assert_uint_eq(buf[8] & 0x3f, 0x2a);
	ck_assert_uint_eq(buf[9], 0x14);
	ck_assert_uint_eq(buf[11], 0); /* writes nothing */
	r = exec(t, CDB(0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 255, 0), IN, buf, 255);
	expect_good(r);
	ck_assert_uint_eq(r.transferred, 8 + 22);
	expect_sense(
	    exec(t, CDB(0x5a, 0, 0x08, 0, 0, 0, 0, 0, 255, 0), IN, buf, 255),
	    SIM_SCSI_ILLEGAL_REQUEST, 0x24, 0x00);
	sim_scsi_target_close(t);
}
END_TEST

START_TEST(test_ua_and_request_sense)
{
	struct sim_scsi_target *t;
	struct sim_scsi_result r;
	uint8_t sense[18];

	make_image(NBLOCKS * BS);
	t = open_cdrom();
	/* GET CONFIGURATION is not exempt: it reports the UA. */
	expect_sense(get_config(t, 0, 0, 8), SIM_SCSI_UNIT_ATTENTION, 0x29,
		     0x00);
	expect_good(get_config(t, 0, 0, 8));
	expect_sense(
	    exec(t, CDB(0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0), OUT, buf, BS),
	    SIM_SCSI_DATA_PROTECT, 0x27, 0x00);
	r = exec(t, CDB(0x03, 0, 0, 0, 18, 0), IN, sense, 18);
	expect_good(r);
	ck_assert_uint_eq(sense[2], SIM_SCSI_DATA_PROTECT);
	ck_assert_uint_eq(sense[12], 0x27);
	sim_scsi_target_reset(t);
	expect_sense(tur(t), SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	expect_good(tur(t));
	sim_scsi_target_close(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("scsi_cdrom");
	TCase *tc = tcase_create("cdrom");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_and_inquiry);
	tcase_add_test(tc, test_bad_images);
	tcase_add_test(tc, test_read10_read12);
	tcase_add_test(tc, test_writes_refused);
	tcase_add_test(tc, test_read_toc);
	tcase_add_test(tc, test_get_configuration);
	tcase_add_test(tc, test_event_status_and_mode_sense);
	tcase_add_test(tc, test_ua_and_request_sense);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
