/*
 * The Bulk-Only mass storage device as a host meets it: enumeration, the
 * class requests, whole commands through the CBW / data / CSW phases
 * (CBWs built here, byte by byte) on a disk image in a mkdtemp
 * directory, the 13 cases, and Reset Recovery after an invalid CBW.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "tmpdir.h"
#include "sim/devices/usb_msc.h"
#include "usb_test.h"

#define MIB   (1024u * 1024u)
#define BLOCK 512u
#define IN    true
#define OUT   false

static const enum sim_usb_speed speeds[] = {SIM_USB_SPEED_FULL,
					    SIM_USB_SPEED_HIGH};

static char dir[64];
static char path[128];
static struct sim_scsi_target *unit;
static uint8_t wbuf[64 * BLOCK], rbuf[64 * BLOCK];

static void setup(void)
{
	struct sim_scsi_target_config cfg = {
	    .kind = SIM_SCSI_DISK,
	    .create_size = MIB,
	    .block_size = BLOCK,
	    .serial = "MSC1",
	};
	char err[256] = "";

	xpv_tmpdir_make(dir, sizeof(dir), "usb-msc");
	snprintf(path, sizeof(path), "%s/disk.img", dir);
	cfg.image = path;
	ck_assert_msg(sim_scsi_target_open(&cfg, &unit, err, sizeof(err)) == 0,
		      "%s", err);
}

static void teardown(void)
{
	sim_scsi_target_close(unit);
	unit = NULL;
	xpv_tmpdir_remove(dir);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	usb_test_fill(p, n, 13, seed);
}

/* ---- the host side ---- */

/* One attempt on bulk IN 1 or bulk OUT 2. */
static enum sim_usb_status bulk(struct sim_usb_device *d, bool in, void *buf,
				uint32_t len, uint32_t *actual)
{
	enum sim_usb_status st;

	st = usb_test_xfer(d, 0, in ? SIM_USB_MSC_EP_IN : SIM_USB_MSC_EP_OUT,
			   in, SIM_USB_EP_BULK, buf, len, actual);
	ck_assert_int_ne(st, SIM_USB_NAK); /* never, in any phase */
	return st;
}

static struct sim_usb_device *msc(enum sim_usb_speed speed)
{
	return USB_TEST_NEW(sim_usb_msc_new, speed, unit);
}

static void configure(struct sim_usb_device *d)
{
	usb_test_configure(d, 3);
}

static struct sim_usb_device *ready(enum sim_usb_speed speed)
{
	struct sim_usb_device *d = msc(speed);

	configure(d);
	return d;
}

static uint32_t mps(const struct sim_usb_device *d)
{
	return sim_usb_device_speed(d) == SIM_USB_SPEED_HIGH ? 512 : 64;
}

/* BOT 5.1, byte by byte. */
static void make_cbw(uint8_t *c, uint32_t tag, uint32_t len, bool in,
		     const uint8_t *cb, uint8_t cb_len)
{
	memset(c, 0, SIM_USB_MSC_CBW_LEN);
	put_le32(c, SIM_USB_MSC_CBW_SIGNATURE);
	put_le32(c + 4, tag);
	put_le32(c + 8, len);
	c[12] = in ? 0x80 : 0x00;
	c[13] = 0; /* LUN */
	c[14] = cb_len;
	memcpy(c + 15, cb, cb_len);
}

static void send_cbw(struct sim_usb_device *d, uint32_t tag, uint32_t len,
		     bool in, const uint8_t *cb, uint8_t cb_len)
{
	uint8_t c[SIM_USB_MSC_CBW_LEN];
	uint32_t n;

	make_cbw(c, tag, len, in, cb, cb_len);
	ck_assert_int_eq(bulk(d, OUT, c, sizeof(c), &n), SIM_USB_OK);
	ck_assert_uint_eq(n, SIM_USB_MSC_CBW_LEN);
}

#define CB(...)                                                                \
	(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

/* The CSW on bulk IN (a generous buffer, as hosts use). */
static void expect_csw(struct sim_usb_device *d, uint32_t tag, uint32_t residue,
		       uint8_t status)
{
	uint8_t c[64];
	uint32_t n;

	memset(c, 0xee, sizeof(c));
	ck_assert_int_eq(bulk(d, IN, c, sizeof(c), &n), SIM_USB_OK);
	ck_assert_uint_eq(n, SIM_USB_MSC_CSW_LEN);
	ck_assert_uint_eq(le32(c), SIM_USB_MSC_CSW_SIGNATURE);
	ck_assert_uint_eq(le32(c + 4), tag);
	ck_assert_uint_eq(le32(c + 8), residue);
	ck_assert_uint_eq(c[12], status);
}

static void clear_halt(struct sim_usb_device *d, uint8_t addr)
{
	ck_assert_int_eq(ctl(d, 0x02, SIM_USB_REQ_CLEAR_FEATURE,
			     SIM_USB_FEATURE_ENDPOINT_HALT, addr, 0, NULL,
			     NULL),
			 SIM_USB_OK);
}

/* The next bulk IN attempt meets a halted endpoint: the host clears it
 * and carries on, as BOT 6.7.2 has it. */
static void expect_in_stall(struct sim_usb_device *d)
{
	uint8_t b[512];

	ck_assert_int_eq(bulk(d, IN, b, sizeof(b), NULL), SIM_USB_STALL);
	ck_assert(sim_usb_device_halted(d, SIM_USB_MSC_EP_IN, IN));
	clear_halt(d, 0x80 | SIM_USB_MSC_EP_IN);
}

static void expect_out_stall(struct sim_usb_device *d)
{
	uint8_t b[512] = {0};

	ck_assert_int_eq(bulk(d, OUT, b, sizeof(b), NULL), SIM_USB_STALL);
	ck_assert(sim_usb_device_halted(d, SIM_USB_MSC_EP_OUT, OUT));
	clear_halt(d, SIM_USB_MSC_EP_OUT);
}

/* Data-in of want bytes, read in transfers of chunk bytes. */
static void read_data(struct sim_usb_device *d, uint8_t *buf, uint32_t want,
		      uint32_t chunk)
{
	uint32_t got = 0, n;

	while (got < want) {
		ck_assert_int_eq(bulk(d, IN, buf + got, chunk, &n), SIM_USB_OK);
		ck_assert_uint_le(n, want - got);
		ck_assert_uint_gt(n, 0);
		got += n;
	}
}

static void write_data(struct sim_usb_device *d, const uint8_t *buf,
		       uint32_t len, uint32_t chunk)
{
	uint32_t off, n;

	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		ck_assert_int_eq(bulk(d, OUT, (void *)(buf + off), n, NULL),
				 SIM_USB_OK);
	}
}

/* A GOOD command without data. */
static void passes(struct sim_usb_device *d, uint32_t tag, const uint8_t *cb,
		   uint8_t cb_len)
{
	send_cbw(d, tag, 0, OUT, cb, cb_len);
	expect_csw(d, tag, 0, SIM_USB_MSC_STATUS_PASSED);
}

/* REQUEST SENSE through the transport: key and ASC of the last command. */
static void expect_sense(struct sim_usb_device *d, uint32_t tag, uint8_t key,
			 uint8_t asc, uint8_t ascq)
{
	uint8_t s[18];

	send_cbw(d, tag, 18, IN, CB(0x03, 0, 0, 0, 18, 0));
	read_data(d, s, 18, 18);
	expect_csw(d, tag, 0, SIM_USB_MSC_STATUS_PASSED);
	ck_assert_uint_eq(s[0] & 0x7f, 0x70);
	ck_assert_uint_eq(s[2] & 0x0f, key);
	ck_assert_uint_eq(s[12], asc);
	ck_assert_uint_eq(s[13], ascq);
}

/* The power-on UNIT ATTENTION every fresh unit has: status 1, then the
 * sense says why. */
static void clear_ua(struct sim_usb_device *d)
{
	send_cbw(d, 90, 0, OUT, CB(0x00, 0, 0, 0, 0, 0));
	expect_csw(d, 90, 0, SIM_USB_MSC_STATUS_FAILED);
	expect_sense(d, 91, SIM_SCSI_UNIT_ATTENTION, 0x29, 0x00);
	passes(d, 92, CB(0x00, 0, 0, 0, 0, 0));
}

static void rw10(uint8_t *cb, bool write, uint32_t lba, uint16_t n)
{
	memset(cb, 0, 10);
	cb[0] = write ? 0x2a : 0x28;
	cb[2] = (uint8_t)(lba >> 24);
	cb[3] = (uint8_t)(lba >> 16);
	cb[4] = (uint8_t)(lba >> 8);
	cb[5] = (uint8_t)lba;
	cb[7] = (uint8_t)(n >> 8);
	cb[8] = (uint8_t)n;
}

/* ---- tests ---- */

START_TEST(test_enumerate)
{
	struct sim_usb_device *d = msc(speeds[_i]);
	bool high = speeds[_i] == SIM_USB_SPEED_HIGH;
	uint16_t size = high ? 512 : 64;
	struct sim_usb_ep_info info;
	uint8_t buf[256];
	uint32_t n, k;
	char s[64];

	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 64, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(le16(buf + 2), high ? 0x0200 : 0x0110);
	ck_assert_mem_eq(buf + 4, ((uint8_t[]){0, 0, 0, 64}), 4);
	ck_assert_uint_eq(le16(buf + 8), SIM_USB_MSC_VENDOR);
	ck_assert_uint_eq(le16(buf + 10), SIM_USB_MSC_PRODUCT);
	ck_assert_mem_eq(buf + 14, ((uint8_t[]){1, 2, 3, 1}), 4);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0600, 0, 10, buf, &n),
	    high ? SIM_USB_OK : SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 32);
	ck_assert_uint_eq(le16(buf + 2), 32);
	ck_assert_mem_eq(buf + 4, ((uint8_t[]){1, 1, 0, 0x80}), 4);
	/* One interface: mass storage, SCSI transparent, Bulk-Only. */
	ck_assert_mem_eq(buf + 9, ((uint8_t[]){9, 4, 0, 0, 2, 8, 6, 0x50, 0}),
			 9);
	/* Bulk IN 1, bulk OUT 2, bInterval 0 (never NAKs). */
	ck_assert_mem_eq(buf + 18, ((uint8_t[]){7, 5, 0x81, 2}), 4);
	ck_assert_uint_eq(le16(buf + 22), size);
	ck_assert_uint_eq(buf[24], 0);
	ck_assert_mem_eq(buf + 25, ((uint8_t[]){7, 5, 0x02, 2}), 4);
	ck_assert_uint_eq(le16(buf + 29), size);
	ck_assert_uint_eq(buf[31], 0);
	/* BOT 4.1.1: a serial number of at least 12 hex digits. */
	ck_assert_int_eq(ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0303,
			     0x0409, 255, buf, &n),
			 SIM_USB_OK);
	for (k = 0; k < (n - 2) / 2; k++)
		s[k] = (char)buf[2 + 2 * k];
	s[k] = 0;
	ck_assert_str_eq(s, "5850564D5343");
	ck_assert_uint_ge(strspn(s, "0123456789ABCDEF"), 12);
	/* Nothing moves before SET_CONFIGURATION. */
	ck_assert_int_eq(bulk(d, IN, buf, 13, NULL), SIM_USB_IOERROR);
	configure(d);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, IN, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_BULK);
	ck_assert_uint_eq(info.max_packet, size);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, OUT, &info), 0);
	ck_assert_uint_eq(info.max_packet, size);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, OUT, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, IN, NULL), -ENOENT);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_bad_construction)
{
	struct sim_usb_device *d = (void *)1;
	char err[256] = "";

	ck_assert_int_eq(
	    sim_usb_msc_new(SIM_USB_SPEED_LOW, unit, &d, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "usb msc: speed 1"));
	ck_assert_ptr_nonnull(strstr(err, "full or high speed only"));
	ck_assert_int_eq(
	    sim_usb_msc_new((enum sim_usb_speed)9, unit, &d, err, sizeof(err)),
	    -EINVAL);
	ck_assert_int_eq(
	    sim_usb_msc_new(SIM_USB_SPEED_FULL, NULL, &d, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no SCSI unit"));
}
END_TEST

START_TEST(test_class_requests)
{
	struct sim_usb_device *d = msc(SIM_USB_SPEED_HIGH);
	struct sim_usb_msc_stats st;
	uint8_t b[4];
	uint32_t n;

	/* Interface requests wait for a configuration. */
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_MSC_REQ_GET_MAX_LUN, 0, 0, 1, b, &n),
	    SIM_USB_STALL);
	configure(d);
	b[0] = 0xee;
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_MSC_REQ_GET_MAX_LUN, 0, 0, 1, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(b[0], 0); /* one LUN */
	/* BOT 3.2: wValue 0, wLength 1, to the interface. */
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_MSC_REQ_GET_MAX_LUN, 0, 0, 2, b, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_MSC_REQ_GET_MAX_LUN, 1, 0, 1, b, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_MSC_REQ_GET_MAX_LUN, 0, 1, 1, b, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa0, SIM_USB_MSC_REQ_GET_MAX_LUN, 0, 0, 1, b, &n),
	    SIM_USB_STALL);
	/* BOT 3.1: wValue 0, wLength 0. */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_MSC_REQ_RESET, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_MSC_REQ_RESET, 1, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x21, SIM_USB_MSC_REQ_RESET, 0, 0, 1, b, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xa1, SIM_USB_MSC_REQ_RESET, 0, 0, 1, b, NULL),
			 SIM_USB_STALL);
	/* ADSC and the other subclasses' requests are not BOT's. */
	ck_assert_int_eq(ctl(d, 0x21, 0x00, 0, 0, 0, NULL, NULL),
			 SIM_USB_STALL);
	sim_usb_msc_stats(d, &st);
	ck_assert_uint_eq(st.resets, 1);
	sim_usb_device_free(d);
}
END_TEST

/* INQUIRY, READ CAPACITY, WRITE(10) then READ(10): the data of each
 * through the BOT phases, in packet-sized and larger transfers. */
START_TEST(test_commands_round_trip)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	struct sim_usb_msc_stats st;
	uint8_t b[64], cb[10];
	uint32_t n, len = 16 * BLOCK;

	send_cbw(d, 0x1001, 36, IN, CB(0x12, 0, 0, 0, 36, 0));
	memset(b, 0xee, sizeof(b));
	ck_assert_int_eq(bulk(d, IN, b, sizeof(b), &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 36);
	ck_assert_uint_eq(b[0], 0x00); /* direct access */
	ck_assert_mem_eq(b + 8, "XPV     ", 8);
	expect_csw(d, 0x1001, 0, SIM_USB_MSC_STATUS_PASSED);
	clear_ua(d);
	send_cbw(d, 0x1002, 8, IN, CB(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0));
	read_data(d, b, 8, 64);
	ck_assert_uint_eq(be32(b), MIB / BLOCK - 1); /* last LBA */
	ck_assert_uint_eq(be32(b + 4), BLOCK);
	expect_csw(d, 0x1002, 0, SIM_USB_MSC_STATUS_PASSED);
	/* WRITE(10) of 16 blocks at LBA 100, one packet per transfer. */
	fill(wbuf, len, 7);
	rw10(cb, true, 100, 16);
	send_cbw(d, 0x1003, len, OUT, cb, 10);
	write_data(d, wbuf, len, mps(d));
	expect_csw(d, 0x1003, 0, SIM_USB_MSC_STATUS_PASSED);
	/* READ(10) back in 1 KiB transfers. */
	rw10(cb, false, 100, 16);
	memset(rbuf, 0, len);
	send_cbw(d, 0x1004, len, IN, cb, 10);
	read_data(d, rbuf, len, 1024);
	expect_csw(d, 0x1004, 0, SIM_USB_MSC_STATUS_PASSED);
	ck_assert_mem_eq(rbuf, wbuf, len);
	/* And in one transfer, from LBA 104. */
	rw10(cb, false, 104, 4);
	send_cbw(d, 0x1005, 4 * BLOCK, IN, cb, 10);
	read_data(d, rbuf, 4 * BLOCK, 4 * BLOCK);
	expect_csw(d, 0x1005, 0, SIM_USB_MSC_STATUS_PASSED);
	ck_assert_mem_eq(rbuf, wbuf + 4 * BLOCK, 4 * BLOCK);
	sim_usb_msc_stats(d, &st);
	ck_assert_uint_eq(st.commands, 8);
	ck_assert_uint_eq(st.bytes_out, len);
	ck_assert_uint_eq(st.bytes_in, 36 + 18 + 8 + len + 4 * BLOCK);
	ck_assert_uint_eq(st.failed, 1); /* the UNIT ATTENTION */
	ck_assert_uint_eq(st.phase_errors, 0);
	sim_usb_device_free(d);
}
END_TEST

/* Hi > Di (case 5) and Hi > Dn (case 4): the data there is, then bulk
 * IN halts; the CSW after CLEAR_FEATURE has the residue. */
START_TEST(test_short_read)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	uint8_t b[512], cb[10];
	uint32_t n;

	send_cbw(d, 0x2001, 512, IN, CB(0x12, 0, 0, 0, 36, 0));
	ck_assert_int_eq(bulk(d, IN, b, sizeof(b), &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 36); /* a short packet ends the transfer */
	expect_in_stall(d);
	expect_csw(d, 0x2001, 512 - 36, SIM_USB_MSC_STATUS_PASSED);
	clear_ua(d);
	/* READ(10) of one block with room for eight. */
	fill(wbuf, BLOCK, 3);
	rw10(cb, true, 5, 1);
	send_cbw(d, 0x2002, BLOCK, OUT, cb, 10);
	write_data(d, wbuf, BLOCK, BLOCK);
	expect_csw(d, 0x2002, 0, SIM_USB_MSC_STATUS_PASSED);
	rw10(cb, false, 5, 1);
	send_cbw(d, 0x2003, 8 * BLOCK, IN, cb, 10);
	read_data(d, rbuf, BLOCK, 256);
	ck_assert_mem_eq(rbuf, wbuf, BLOCK);
	expect_in_stall(d);
	expect_csw(d, 0x2003, 7 * BLOCK, SIM_USB_MSC_STATUS_PASSED);
	/* READ(10) of no blocks where the host expects data. */
	rw10(cb, false, 5, 0);
	send_cbw(d, 0x2004, BLOCK, IN, cb, 10);
	expect_in_stall(d);
	expect_csw(d, 0x2004, BLOCK, SIM_USB_MSC_STATUS_PASSED);
	sim_usb_device_free(d);
}
END_TEST

/* Status 1, then REQUEST SENSE says why; data-in and data-out. */
START_TEST(test_failing_command)
{
	struct sim_usb_device *d = ready(SIM_USB_SPEED_HIGH);
	struct sim_usb_msc_stats st;
	uint8_t cb[10];

	clear_ua(d);
	/* READ(10) past the end: no data, so bulk IN halts at once. */
	rw10(cb, false, MIB / BLOCK, 1);
	send_cbw(d, 0x3001, BLOCK, IN, cb, 10);
	expect_in_stall(d);
	expect_csw(d, 0x3001, BLOCK, SIM_USB_MSC_STATUS_FAILED);
	expect_sense(d, 0x3002, SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	/* WRITE(10) past the end: the data is taken, none is processed. */
	rw10(cb, true, MIB / BLOCK - 1, 2);
	send_cbw(d, 0x3003, 2 * BLOCK, OUT, cb, 10);
	write_data(d, wbuf, 2 * BLOCK, 512);
	expect_csw(d, 0x3003, 2 * BLOCK, SIM_USB_MSC_STATUS_FAILED);
	expect_sense(d, 0x3004, SIM_SCSI_ILLEGAL_REQUEST, 0x21, 0x00);
	/* An opcode the unit does not know, no data stage. */
	send_cbw(d, 0x3005, 0, OUT, CB(0xe7, 0, 0, 0, 0, 0));
	expect_csw(d, 0x3005, 0, SIM_USB_MSC_STATUS_FAILED);
	expect_sense(d, 0x3006, SIM_SCSI_ILLEGAL_REQUEST, 0x20, 0x00);
	/* The host's direction is wrong for INQUIRY: the unit refuses it,
	 * no data moves (Ho > Dn), every byte is residue. */
	send_cbw(d, 0x3007, 36, OUT, CB(0x12, 0, 0, 0, 36, 0));
	write_data(d, wbuf, 36, 36);
	expect_csw(d, 0x3007, 36, SIM_USB_MSC_STATUS_FAILED);
	sim_usb_msc_stats(d, &st);
	ck_assert_uint_eq(st.failed, 5);
	sim_usb_device_free(d);
}
END_TEST

/* The cases where host and device disagree beyond a residue: status 2,
 * and the command does not run. */
START_TEST(test_phase_errors)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	struct sim_scsi_target_stats ts0, ts1;
	struct sim_usb_msc_stats st;
	uint8_t cb[16];

	clear_ua(d);
	fill(wbuf, 4 * BLOCK, 9);
	sim_scsi_target_stats(unit, &ts0);
	/* Case 2 (Hn < Di): no data stage, the CSW is due at once. */
	rw10(cb, false, 0, 1);
	send_cbw(d, 0x4001, 0, IN, cb, 10);
	expect_csw(d, 0x4001, 0, SIM_USB_MSC_STATUS_PHASE);
	/* Case 3 (Hn < Do). */
	rw10(cb, true, 0, 1);
	send_cbw(d, 0x4002, 0, OUT, cb, 10);
	expect_csw(d, 0x4002, 0, SIM_USB_MSC_STATUS_PHASE);
	/* Case 7 (Hi < Di): bulk IN stalls. */
	rw10(cb, false, 0, 2);
	send_cbw(d, 0x4003, BLOCK, IN, cb, 10);
	expect_in_stall(d);
	expect_csw(d, 0x4003, BLOCK, SIM_USB_MSC_STATUS_PHASE);
	/* Case 8 (Hi <> Do). */
	rw10(cb, true, 0, 1);
	send_cbw(d, 0x4004, BLOCK, IN, cb, 10);
	expect_in_stall(d);
	expect_csw(d, 0x4004, BLOCK, SIM_USB_MSC_STATUS_PHASE);
	/* Case 10 (Ho <> Di): bulk OUT stalls. */
	rw10(cb, false, 0, 1);
	send_cbw(d, 0x4005, BLOCK, OUT, cb, 10);
	expect_out_stall(d);
	expect_csw(d, 0x4005, BLOCK, SIM_USB_MSC_STATUS_PHASE);
	/* Case 13 (Ho < Do). */
	rw10(cb, true, 0, 2);
	send_cbw(d, 0x4006, BLOCK, OUT, cb, 10);
	expect_out_stall(d);
	expect_csw(d, 0x4006, BLOCK, SIM_USB_MSC_STATUS_PHASE);
	/* More data-in than the device can buffer for one command. */
	memset(cb, 0, 16);
	cb[0] = 0x88; /* READ(16) */
	cb[12] = (uint8_t)((SIM_USB_MSC_MAX_XFER / BLOCK + 1) >> 8);
	cb[13] = (uint8_t)(SIM_USB_MSC_MAX_XFER / BLOCK + 1);
	send_cbw(d, 0x4007, SIM_USB_MSC_MAX_XFER + BLOCK, IN, cb, 16);
	expect_in_stall(d);
	expect_csw(d, 0x4007, SIM_USB_MSC_MAX_XFER + BLOCK,
		   SIM_USB_MSC_STATUS_PHASE);
	/* None of them reached the unit. */
	sim_scsi_target_stats(unit, &ts1);
	ck_assert_uint_eq(ts1.commands, ts0.commands);
	/* The host sends more than its CBW said: at once, or after a
	 * first part that fitted. */
	rw10(cb, true, 0, 1);
	send_cbw(d, 0x4008, BLOCK, OUT, cb, 10);
	ck_assert_int_eq(bulk(d, OUT, wbuf, BLOCK + 1, NULL), SIM_USB_STALL);
	clear_halt(d, SIM_USB_MSC_EP_OUT);
	expect_csw(d, 0x4008, BLOCK, SIM_USB_MSC_STATUS_PHASE);
	send_cbw(d, 0x4009, BLOCK, OUT, cb, 10);
	write_data(d, wbuf, 256, 256);
	ck_assert_int_eq(bulk(d, OUT, wbuf, 512, NULL), SIM_USB_STALL);
	clear_halt(d, SIM_USB_MSC_EP_OUT);
	expect_csw(d, 0x4009, BLOCK, SIM_USB_MSC_STATUS_PHASE);
	sim_usb_msc_stats(d, &st);
	ck_assert_uint_eq(st.phase_errors, 9);
	/* Case 11 (Ho > Do) is no phase error: one block of two is used. */
	send_cbw(d, 0x400a, 2 * BLOCK, OUT, cb, 10);
	write_data(d, wbuf, 2 * BLOCK, 512);
	expect_csw(d, 0x400a, BLOCK, SIM_USB_MSC_STATUS_PASSED);
	rw10(cb, false, 0, 1);
	send_cbw(d, 0x400b, BLOCK, IN, cb, 10);
	read_data(d, rbuf, BLOCK, BLOCK);
	expect_csw(d, 0x400b, 0, SIM_USB_MSC_STATUS_PASSED);
	ck_assert_mem_eq(rbuf, wbuf, BLOCK);
	/* Case 9 (Ho > Dn): WRITE(10) of no blocks, data dropped. */
	rw10(cb, true, 0, 0);
	send_cbw(d, 0x400c, BLOCK, OUT, cb, 10);
	write_data(d, wbuf + BLOCK, BLOCK, 64);
	expect_csw(d, 0x400c, BLOCK, SIM_USB_MSC_STATUS_PASSED);
	sim_usb_msc_stats(d, &st);
	ck_assert_uint_eq(st.phase_errors, 9);
	sim_usb_device_free(d);
}
END_TEST

/* BOT 6.6.1 and 5.3.4: both pipes stall until Reset Recovery. */
START_TEST(test_invalid_cbw)
{
	struct sim_usb_device *d = ready(SIM_USB_SPEED_HIGH);
	struct sim_usb_msc_stats st;
	uint8_t c[64], b[64];
	uint32_t n, len = SIM_USB_MSC_CBW_LEN;

	make_cbw(c, 0x5001, 0, OUT, CB(0x00, 0, 0, 0, 0, 0));
	switch (_i) {
	case 0:
		c[0] ^= 1; /* signature */
		break;
	case 1:
		len = 30;
		break;
	case 2:
		len = 32;
		break;
	case 3:
		c[13] = 1; /* LUN 1: there is only 0 */
		break;
	case 4:
		c[14] = 0; /* CB length */
		break;
	case 5:
		c[14] = 17;
		break;
	case 6:
		c[12] = 0x01; /* reserved flag */
		break;
	}
	ck_assert_int_eq(bulk(d, OUT, c, len, &n), SIM_USB_OK);
	ck_assert(sim_usb_device_halted(d, SIM_USB_MSC_EP_IN, IN));
	ck_assert(sim_usb_device_halted(d, SIM_USB_MSC_EP_OUT, OUT));
	ck_assert_int_eq(bulk(d, IN, b, sizeof(b), NULL), SIM_USB_STALL);
	ck_assert_int_eq(bulk(d, OUT, c, SIM_USB_MSC_CBW_LEN, NULL),
			 SIM_USB_STALL);
	/* CLEAR_FEATURE alone does not bring them back. */
	clear_halt(d, 0x81);
	clear_halt(d, 0x02);
	make_cbw(c, 0x5002, 0, OUT, CB(0x00, 0, 0, 0, 0, 0));
	ck_assert_int_eq(bulk(d, OUT, c, SIM_USB_MSC_CBW_LEN, NULL),
			 SIM_USB_STALL);
	ck_assert(sim_usb_device_halted(d, SIM_USB_MSC_EP_OUT, OUT));
	ck_assert_int_eq(bulk(d, IN, b, sizeof(b), NULL), SIM_USB_STALL);
	ck_assert(sim_usb_device_halted(d, SIM_USB_MSC_EP_IN, IN));
	/* The reset alone does not either: the halts stay (BOT 3.1). */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_MSC_REQ_RESET, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(bulk(d, OUT, c, SIM_USB_MSC_CBW_LEN, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(bulk(d, IN, b, sizeof(b), NULL), SIM_USB_STALL);
	/* Reset, then both cleared: a command goes through again. */
	clear_halt(d, 0x81);
	clear_halt(d, 0x02);
	send_cbw(d, 0x5003, 36, IN, CB(0x12, 0, 0, 0, 36, 0));
	read_data(d, b, 36, 64);
	expect_csw(d, 0x5003, 0, SIM_USB_MSC_STATUS_PASSED);
	sim_usb_msc_stats(d, &st);
	ck_assert_uint_eq(st.invalid_cbws, 1);
	ck_assert_uint_eq(st.resets, 1);
	ck_assert_uint_eq(st.commands, 1);
	sim_usb_device_free(d);
}
END_TEST

/*
 * The device answers every attempt (bulk() asserts no NAK): a transfer
 * the phase does not expect halts its endpoint and the phase stays, a
 * CSW buffer below 13 bytes is babble.
 */
START_TEST(test_out_of_phase)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	uint8_t b[64], cb[10];
	uint32_t n;

	/* IN while a CBW is due. */
	expect_in_stall(d);
	send_cbw(d, 0x6001, 36, IN, CB(0x12, 0, 0, 0, 36, 0));
	/* OUT while data-in is due. */
	expect_out_stall(d);
	read_data(d, b, 36, 36);
	/* OUT while the CSW is due; then a CSW buffer too small. */
	expect_out_stall(d);
	ck_assert_int_eq(bulk(d, IN, b, 12, &n), SIM_USB_BABBLE);
	ck_assert_uint_eq(n, 0);
	expect_csw(d, 0x6001, 0, SIM_USB_MSC_STATUS_PASSED);
	/* IN while data-out is due. */
	clear_ua(d);
	fill(wbuf, BLOCK, 1);
	rw10(cb, true, 9, 1);
	send_cbw(d, 0x6002, BLOCK, OUT, cb, 10);
	write_data(d, wbuf, 100, 100);
	expect_in_stall(d);
	write_data(d, wbuf + 100, BLOCK - 100, 64);
	expect_csw(d, 0x6002, 0, SIM_USB_MSC_STATUS_PASSED);
	/* A halt the host sets itself is the core's business. */
	ck_assert_int_eq(
	    ctl(d, 0x02, SIM_USB_REQ_SET_FEATURE, 0, 0x81, 0, NULL, NULL),
	    SIM_USB_OK);
	rw10(cb, false, 9, 1);
	send_cbw(d, 0x6003, BLOCK, IN, cb, 10);
	expect_in_stall(d);
	read_data(d, rbuf, BLOCK, BLOCK);
	ck_assert_mem_eq(rbuf, wbuf, BLOCK);
	expect_csw(d, 0x6003, 0, SIM_USB_MSC_STATUS_PASSED);
	sim_usb_device_free(d);
}
END_TEST

/* A Bulk-Only reset or a bus reset mid-command: ready for a CBW. */
START_TEST(test_reset_mid_command)
{
	struct sim_usb_device *d = ready(SIM_USB_SPEED_FULL);
	uint8_t b[64], cb[10];

	clear_ua(d);
	rw10(cb, true, 0, 2);
	send_cbw(d, 0x7001, 2 * BLOCK, OUT, cb, 10);
	write_data(d, wbuf, 64, 64);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_MSC_REQ_RESET, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	send_cbw(d, 0x7002, 36, IN, CB(0x12, 0, 0, 0, 36, 0));
	/* A bus reset forgets the command (and the configuration). */
	sim_usb_device_reset(d);
	configure(d);
	passes(d, 0x7003, CB(0x00, 0, 0, 0, 0, 0));
	send_cbw(d, 0x7004, 36, IN, CB(0x12, 0, 0, 0, 36, 0));
	read_data(d, b, 36, 64);
	/* SET_CONFIGURATION again does, too. */
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	passes(d, 0x7005, CB(0x00, 0, 0, 0, 0, 0));
	sim_usb_device_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("usb_msc");
	TCase *tc = tcase_create("msc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_enumerate, 0, 2);
	tcase_add_test(tc, test_bad_construction);
	tcase_add_test(tc, test_class_requests);
	tcase_add_loop_test(tc, test_commands_round_trip, 0, 2);
	tcase_add_loop_test(tc, test_short_read, 0, 2);
	tcase_add_test(tc, test_failing_command);
	tcase_add_loop_test(tc, test_phase_errors, 0, 2);
	tcase_add_loop_test(tc, test_invalid_cbw, 0, 7);
	tcase_add_loop_test(tc, test_out_of_phase, 0, 2);
	tcase_add_test(tc, test_reset_mid_command);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
