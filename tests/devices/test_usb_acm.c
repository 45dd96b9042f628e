/*
 * The CDC-ACM loopback adapter as a host meets it: enumeration with the
 * CDC functional descriptors, the PSTN class requests, the loop (order,
 * NAK when empty, back-pressure when full, overrun), and SERIAL_STATE on
 * the interrupt endpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "sim/devices/usb_acm.h"
#include "usb_test.h"

#define IN   true
#define OUT  false
#define LOOP SIM_USB_ACM_LOOP_SIZE

static const enum sim_usb_speed speeds[] = {SIM_USB_SPEED_FULL,
					    SIM_USB_SPEED_HIGH};

static uint8_t wbuf[3 * LOOP], rbuf[3 * LOOP];

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	usb_test_fill(p, n, 31, seed);
}

/* One attempt on bulk IN 1 / bulk OUT 2. */
static enum sim_usb_status bulk(struct sim_usb_device *d, bool in, void *buf,
				uint32_t len, uint32_t *actual)
{
	return usb_test_xfer(d, 0, in ? SIM_USB_ACM_EP_IN : SIM_USB_ACM_EP_OUT,
			     in, SIM_USB_EP_BULK, buf, len, actual);
}

/* One attempt on interrupt IN 3. */
static enum sim_usb_status poll(struct sim_usb_device *d, uint8_t *buf,
				uint32_t len, uint32_t *actual)
{
	return usb_test_xfer(d, 0, SIM_USB_ACM_EP_NOTIFY, true,
			     SIM_USB_EP_INTERRUPT, buf, len, actual);
}

static struct sim_usb_device *acm(enum sim_usb_speed speed)
{
	return USB_TEST_NEW(sim_usb_acm_new, speed);
}

static void configure(struct sim_usb_device *d)
{
	usb_test_configure(d, 5);
}

static struct sim_usb_device *ready(enum sim_usb_speed speed)
{
	struct sim_usb_device *d = acm(speed);

	configure(d);
	return d;
}

static void write_ok(struct sim_usb_device *d, const uint8_t *p, uint32_t n)
{
	ck_assert_int_eq(bulk(d, OUT, (void *)p, n, NULL), SIM_USB_OK);
}

/* Exactly n bytes back in one attempt with a buffer of room bytes. */
static void read_exact(struct sim_usb_device *d, uint8_t *p, uint32_t room,
		       uint32_t n)
{
	uint32_t got;

	ck_assert_int_eq(bulk(d, IN, p, room, &got), SIM_USB_OK);
	ck_assert_uint_eq(got, n);
}

static void expect_in_nak(struct sim_usb_device *d)
{
	usb_test_expect_nak(d, 0, SIM_USB_ACM_EP_IN, SIM_USB_EP_BULK, 64);
}

static enum sim_usb_status set_control(struct sim_usb_device *d, uint16_t v)
{
	return ctl(d, 0x21, SIM_USB_ACM_SET_CONTROL_LINE_STATE, v, 0, 0, NULL,
		   NULL);
}

/* The next poll carries SERIAL_STATE with this UART state. */
static void expect_serial_state(struct sim_usb_device *d, uint16_t state)
{
	uint8_t b[16];
	uint32_t n;

	memset(b, 0xee, sizeof(b));
	ck_assert_int_eq(poll(d, b, sizeof(b), &n), SIM_USB_OK);
	ck_assert_uint_eq(n, SIM_USB_ACM_NOTIFY_LEN);
	/* PSTN 1.2 6.5.4: class, interface 0, wValue 0, wLength 2. */
	ck_assert_mem_eq(b, ((uint8_t[]){0xa1, 0x20, 0, 0, 0, 0, 2, 0}), 8);
	ck_assert_uint_eq(le16(b + 8), state);
}

static void expect_no_notification(struct sim_usb_device *d)
{
	usb_test_expect_nak(d, 0, SIM_USB_ACM_EP_NOTIFY, SIM_USB_EP_INTERRUPT,
			    16);
}

static void get_line(struct sim_usb_device *d, uint8_t *b)
{
	uint32_t n;

	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_ACM_GET_LINE_CODING, 0, 0, 7, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 7);
}

static enum sim_usb_status set_line(struct sim_usb_device *d, const uint8_t *b,
				    uint16_t len)
{
	return ctl(d, 0x21, SIM_USB_ACM_SET_LINE_CODING, 0, 0, len,
		   (uint8_t *)b, NULL);
}

/* ---- tests ---- */

START_TEST(test_enumerate)
{
	struct sim_usb_device *d = acm(speeds[_i]);
	bool high = speeds[_i] == SIM_USB_SPEED_HIGH;
	uint16_t size = high ? 512 : 64;
	struct sim_usb_ep_info info;
	uint8_t buf[256];
	uint32_t n, k;
	char s[64];

	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 18, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(le16(buf + 2), high ? 0x0200 : 0x0110);
	ck_assert_mem_eq(buf + 4, ((uint8_t[]){2, 0, 0, 64}), 4);
	ck_assert_uint_eq(le16(buf + 8), SIM_USB_ACM_VENDOR);
	ck_assert_uint_eq(le16(buf + 10), SIM_USB_ACM_PRODUCT);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 67);
	ck_assert_uint_eq(le16(buf + 2), 67);
	ck_assert_mem_eq(buf + 4, ((uint8_t[]){2, 1, 0, 0x80}), 4);
	/* Communication interface: CDC, ACM, AT commands. */
	ck_assert_mem_eq(buf + 9, ((uint8_t[]){9, 4, 0, 0, 1, 2, 2, 1, 0}), 9);
	/* Header (CDC 1.20), Call Management (data on interface 1), ACM
	 * (capabilities 0x06), Union (master 0, slave 1). */
	ck_assert_mem_eq(buf + 18, ((uint8_t[]){5, 0x24, 0, 0x20, 0x01}), 5);
	ck_assert_mem_eq(buf + 23, ((uint8_t[]){5, 0x24, 1, 0, 1}), 5);
	ck_assert_mem_eq(buf + 28, ((uint8_t[]){4, 0x24, 2, 0x06}), 4);
	ck_assert_mem_eq(buf + 32, ((uint8_t[]){5, 0x24, 6, 0, 1}), 5);
	/* Notifications: interrupt IN 3, 16 bytes, 16 ms. */
	ck_assert_mem_eq(buf + 37,
			 ((uint8_t[]){7, 5, 0x83, 3, 16, 0, high ? 8 : 16}), 7);
	/* Data interface: class 0x0a, bulk IN 1, bulk OUT 2. */
	ck_assert_mem_eq(buf + 44, ((uint8_t[]){9, 4, 1, 0, 2, 0x0a, 0, 0, 0}),
			 9);
	ck_assert_mem_eq(buf + 53, ((uint8_t[]){7, 5, 0x81, 2}), 4);
	ck_assert_uint_eq(le16(buf + 57), size);
	ck_assert_mem_eq(buf + 60, ((uint8_t[]){7, 5, 0x02, 2}), 4);
	ck_assert_uint_eq(le16(buf + 64), size);
	ck_assert_int_eq(ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0302,
			     0x0409, 255, buf, &n),
			 SIM_USB_OK);
	for (k = 0; k < (n - 2) / 2; k++)
		s[k] = (char)buf[2 + 2 * k];
	s[k] = 0;
	ck_assert_str_eq(s, "xpv acm loopback");
	ck_assert_int_eq(bulk(d, OUT, buf, 1, NULL), SIM_USB_IOERROR);
	configure(d);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, IN, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_BULK);
	ck_assert_uint_eq(info.max_packet, size);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, OUT, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_BULK);
	ck_assert_uint_eq(info.max_packet, size);
	ck_assert_int_eq(sim_usb_device_ep(d, 3, IN, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_INTERRUPT);
	ck_assert_uint_eq(info.max_packet, 16);
	ck_assert_uint_eq(info.interval, high ? 8 : 16);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_bad_speed)
{
	struct sim_usb_device *d = (void *)1;
	char err[256] = "";

	ck_assert_int_eq(
	    sim_usb_acm_new(SIM_USB_SPEED_LOW, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "usb acm: speed 1"));
	ck_assert_int_eq(
	    sim_usb_acm_new((enum sim_usb_speed)0, &d, err, sizeof(err)),
	    -EINVAL);
}
END_TEST

START_TEST(test_line_coding)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	/* 115200 bit/s, 2 stop bits, even parity, 7 data bits. */
	static const uint8_t fast[7] = {0x00, 0xc2, 0x01, 0x00, 2, 2, 7};
	struct sim_usb_acm_stats st;
	uint8_t b[8], bad[7];
	uint32_t n;
	unsigned i;

	get_line(d, b); /* 9600 8N1 */
	ck_assert_mem_eq(b, ((uint8_t[]){0x80, 0x25, 0, 0, 0, 0, 8}), 7);
	ck_assert_int_eq(set_line(d, fast, 7), SIM_USB_OK);
	get_line(d, b);
	ck_assert_mem_eq(b, fast, 7);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.line.rate, 115200);
	ck_assert_uint_eq(st.line.stop_bits, 2);
	ck_assert_uint_eq(st.line.parity, 2);
	ck_assert_uint_eq(st.line.data_bits, 7);
	ck_assert_uint_eq(st.line_codings, 1);
	/* Out of range, field by field: rate 0, stop bits, parity, data
	 * bits 4, 9, 15; none of them changes anything. */
	for (i = 0; i < 6; i++) {
		memcpy(bad, fast, 7);
		if (i == 0)
			memset(bad, 0, 4);
		else if (i == 1)
			bad[4] = 3;
		else if (i == 2)
			bad[5] = 5;
		else
			bad[6] = (uint8_t)(i == 3 ? 4 : i == 4 ? 9 : 15);
		ck_assert_int_eq(set_line(d, bad, 7), SIM_USB_STALL);
	}
	/* Data bits 16 are in the table; 5 too. */
	memcpy(bad, fast, 7);
	bad[6] = 16;
	ck_assert_int_eq(set_line(d, bad, 7), SIM_USB_OK);
	bad[6] = 5;
	ck_assert_int_eq(set_line(d, bad, 7), SIM_USB_OK);
	/* Wrong shape: length, wValue, the data interface, the device. */
	ck_assert_int_eq(set_line(d, fast, 6), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ACM_SET_LINE_CODING, 1, 0, 7, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ACM_SET_LINE_CODING, 0, 1, 7, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x20, SIM_USB_ACM_SET_LINE_CODING, 0, 0, 7, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_ACM_GET_LINE_CODING, 0, 1, 7, b, NULL),
	    SIM_USB_STALL);
	get_line(d, b);
	ck_assert_mem_eq(b, ((uint8_t[]){0x00, 0xc2, 0x01, 0, 2, 2, 5}), 7);
	/* Truncated to wLength. */
	memset(b, 0xee, sizeof(b));
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_ACM_GET_LINE_CODING, 0, 0, 4, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(b[4], 0xee);
	/* Encapsulated commands (AT over the control pipe) and unknown
	 * requests stall. */
	ck_assert_int_eq(ctl(d, 0x21, 0x00, 0, 0, 4, b, NULL), SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xa1, 0x01, 0, 0, 8, b, NULL), SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x21, 0x42, 0, 0, 0, NULL, NULL),
			 SIM_USB_STALL);
	/* A new configuration starts at 9600 8N1 again. */
	reconfigure(d);
	get_line(d, b);
	ck_assert_mem_eq(b, ((uint8_t[]){0x80, 0x25, 0, 0, 0, 0, 8}), 7);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.line_codings, 3);
	sim_usb_device_free(d);
}
END_TEST

/* Writes of several sizes come back in order, whatever the reads' sizes,
 * across the ring's wrap. */
START_TEST(test_loopback_order)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	static const uint32_t writes[] = {5, 64, 1, 511, 512, 700, 3};
	static const uint32_t reads[] = {3, 64, 100, 1000, 4096};
	struct sim_usb_acm_stats st;
	uint32_t total = 0, got = 0, n;
	unsigned i;

	fill(wbuf, sizeof(wbuf), 11);
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		write_ok(d, wbuf + total, writes[i]);
		total += writes[i];
	}
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.buffered, total);
	for (i = 0; got < total; i++) {
		uint32_t room = reads[i % 5];

		ck_assert_int_eq(bulk(d, IN, rbuf + got, room, &n), SIM_USB_OK);
		ck_assert_uint_eq(n, room < total - got ? room : total - got);
		got += n;
	}
	ck_assert_mem_eq(rbuf, wbuf, total);
	expect_in_nak(d);
	/* Interleaved, wrapping: 3000 in, 2500 out, 3000 in, all out. */
	write_ok(d, wbuf, 3000);
	read_exact(d, rbuf, 2500, 2500);
	write_ok(d, wbuf + 3000, 3000);
	read_exact(d, rbuf + 2500, LOOP, 3500);
	ck_assert_mem_eq(rbuf, wbuf, 6000);
	/* A zero-length write is nothing. */
	write_ok(d, NULL, 0);
	expect_in_nak(d);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.bytes_out, total + 6000);
	ck_assert_uint_eq(st.bytes_in, total + 6000);
	ck_assert_uint_eq(st.bytes_lost, 0);
	ck_assert_uint_eq(st.buffered, 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_nak_when_empty)
{
	struct sim_usb_device *d = ready(SIM_USB_SPEED_FULL);
	struct sim_usb_acm_stats st;
	uint8_t b[64];

	expect_in_nak(d);
	expect_in_nak(d);
	write_ok(d, (const uint8_t *)"ping", 4);
	read_exact(d, b, sizeof(b), 4);
	ck_assert_mem_eq(b, "ping", 4);
	expect_in_nak(d);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.naks_in, 3);
	ck_assert_uint_eq(st.naks_out, 0);
	/* A bus reset empties the loop. */
	write_ok(d, (const uint8_t *)"lost", 4);
	sim_usb_device_reset(d);
	configure(d);
	expect_in_nak(d);
	sim_usb_device_free(d);
}
END_TEST

/* A full loop NAKs bulk OUT until the host reads; nothing is lost. */
START_TEST(test_back_pressure)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	struct sim_usb_acm_stats st;
	uint32_t n, off;

	fill(wbuf, sizeof(wbuf), 5);
	for (off = 0; off < LOOP; off += 1024)
		write_ok(d, wbuf + off, 1024);
	ck_assert_int_eq(bulk(d, OUT, wbuf + LOOP, 1, NULL), SIM_USB_NAK);
	ck_assert_int_eq(bulk(d, OUT, wbuf + LOOP, 64, NULL), SIM_USB_NAK);
	read_exact(d, rbuf, 100, 100);
	/* 100 bytes of room: 64 fit, then 100 do not. */
	write_ok(d, wbuf + LOOP, 64);
	ck_assert_int_eq(bulk(d, OUT, wbuf + LOOP + 64, 100, NULL),
			 SIM_USB_NAK);
	write_ok(d, wbuf + LOOP + 64, 36);
	ck_assert_int_eq(bulk(d, OUT, wbuf + LOOP + 100, 1, NULL), SIM_USB_NAK);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.buffered, LOOP);
	ck_assert_uint_eq(st.naks_out, 4);
	/* Drain: everything, in order. */
	for (off = 100; off < LOOP + 100; off += n)
		ck_assert_int_eq(bulk(d, IN, rbuf + off, 512, &n), SIM_USB_OK);
	ck_assert_uint_eq(off, LOOP + 100);
	ck_assert_mem_eq(rbuf, wbuf, LOOP + 100);
	expect_in_nak(d);
	write_ok(d, wbuf, LOOP);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.bytes_lost, 0);
	sim_usb_device_free(d);
}
END_TEST

/* A write larger than the whole loop waits for an empty loop, then
 * overruns it: the first LOOP bytes stay, the host hears bOverRun. */
START_TEST(test_overrun)
{
	struct sim_usb_device *d = ready(SIM_USB_SPEED_HIGH);
	struct sim_usb_acm_stats st;

	fill(wbuf, sizeof(wbuf), 2);
	write_ok(d, wbuf, 1);
	ck_assert_int_eq(bulk(d, OUT, wbuf + 1, LOOP + 904, NULL), SIM_USB_NAK);
	read_exact(d, rbuf, 64, 1);
	expect_no_notification(d);
	write_ok(d, wbuf + 1, LOOP + 904);
	expect_serial_state(d, SIM_USB_ACM_STATE_OVERRUN);
	expect_no_notification(d);
	read_exact(d, rbuf + 1, 2 * LOOP, LOOP);
	ck_assert_mem_eq(rbuf, wbuf, LOOP + 1);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.bytes_out, LOOP + 1);
	ck_assert_uint_eq(st.bytes_lost, 904);
	ck_assert_uint_eq(st.naks_out, 1);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_notifications)
{
	struct sim_usb_device *d = ready(speeds[_i]);
	const uint16_t carrier = SIM_USB_ACM_STATE_DCD | SIM_USB_ACM_STATE_DSR;
	struct sim_usb_acm_stats st;
	uint8_t b[16];
	uint32_t n;

	expect_no_notification(d);
	/* The first SET_CONTROL_LINE_STATE reports, even with DTR off. */
	ck_assert_int_eq(set_control(d, 0), SIM_USB_OK);
	expect_serial_state(d, 0);
	expect_no_notification(d);
	/* No news: the same state, RTS only (the plug ignores RTS). */
	ck_assert_int_eq(set_control(d, 0), SIM_USB_OK);
	ck_assert_int_eq(set_control(d, SIM_USB_ACM_CTRL_RTS), SIM_USB_OK);
	expect_no_notification(d);
	/* DTR up: carrier and DSR up. A buffer too small is babble and the
	 * notification stays. */
	ck_assert_int_eq(
	    set_control(d, SIM_USB_ACM_CTRL_DTR | SIM_USB_ACM_CTRL_RTS),
	    SIM_USB_OK);
	ck_assert_int_eq(poll(d, b, 8, &n), SIM_USB_BABBLE);
	expect_serial_state(d, carrier);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.control, 3);
	ck_assert_uint_eq(st.serial_state, carrier);
	/* A break comes back through the plug, once. */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ACM_SEND_BREAK, 250, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	expect_serial_state(d, carrier | SIM_USB_ACM_STATE_BREAK);
	expect_no_notification(d);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ACM_SEND_BREAK, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	expect_no_notification(d);
	/* News before a poll merges: DTR down, a break, DTR up again. */
	ck_assert_int_eq(set_control(d, 0), SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ACM_SEND_BREAK, 0xffff, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(set_control(d, SIM_USB_ACM_CTRL_DTR), SIM_USB_OK);
	expect_serial_state(d, carrier | SIM_USB_ACM_STATE_BREAK);
	expect_no_notification(d);
	ck_assert_int_eq(set_control(d, 0), SIM_USB_OK);
	expect_serial_state(d, 0);
	/* Reserved bits, a data stage, the wrong interface. */
	ck_assert_int_eq(set_control(d, 0x04), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ACM_SET_CONTROL_LINE_STATE, 1, 0, 1, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x21, SIM_USB_ACM_SET_CONTROL_LINE_STATE, 1, 1,
			     0, NULL, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ACM_SEND_BREAK, 10, 0, 1, b, NULL),
	    SIM_USB_STALL);
	expect_no_notification(d);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.notifications, 5);
	ck_assert_uint_eq(st.breaks, 2);
	ck_assert_uint_eq(st.naks_notify, 7);
	/* A new configuration: lines down, the first set reports again. */
	ck_assert_int_eq(set_control(d, SIM_USB_ACM_CTRL_DTR), SIM_USB_OK);
	reconfigure(d);
	expect_no_notification(d);
	sim_usb_acm_stats(d, &st);
	ck_assert_uint_eq(st.control, 0);
	ck_assert_uint_eq(st.serial_state, 0);
	ck_assert_int_eq(set_control(d, 0), SIM_USB_OK);
	expect_serial_state(d, 0);
	sim_usb_device_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("usb_acm");
	TCase *tc = tcase_create("acm");

	tcase_add_loop_test(tc, test_enumerate, 0, 2);
	tcase_add_test(tc, test_bad_speed);
	tcase_add_loop_test(tc, test_line_coding, 0, 2);
	tcase_add_loop_test(tc, test_loopback_order, 0, 2);
	tcase_add_test(tc, test_nak_when_empty);
	tcase_add_loop_test(tc, test_back_pressure, 0, 2);
	tcase_add_test(tc, test_overrun);
	tcase_add_loop_test(tc, test_notifications, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
