/*
 * The HID boot keyboard and mouse as a host meets them: enumeration at
 * every speed, the report descriptor, the scripted interrupt endpoint
 * (NAK until an event's time, then one report per attempt, in order),
 * and the class requests (reports, LEDs, idle, protocol).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "sim/devices/usb_hid.h"
#include "usb_test.h"

#define MS 1000000ull

static const enum sim_usb_speed speeds[] = {
    SIM_USB_SPEED_LOW, SIM_USB_SPEED_FULL, SIM_USB_SPEED_HIGH};

/* One interrupt IN attempt on endpoint 1 with a buffer of len bytes. */
static enum sim_usb_status poll(struct sim_usb_device *d, uint64_t now_ns,
				uint8_t *buf, uint32_t len, uint32_t *actual)
{
	return usb_test_xfer(d, now_ns, 1, true, SIM_USB_EP_INTERRUPT, buf, len,
			     actual);
}

/* A report of n bytes is what the next attempt at now_ns returns. */
static void expect_report(struct sim_usb_device *d, uint64_t now_ns,
			  const uint8_t *want, uint32_t n)
{
	uint8_t buf[64];
	uint32_t got;

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(poll(d, now_ns, buf, sizeof(buf), &got), SIM_USB_OK);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(buf, want, n);
}

static void expect_nak(struct sim_usb_device *d, uint64_t now_ns)
{
	usb_test_expect_nak(d, now_ns, 1, SIM_USB_EP_INTERRUPT, 64);
}

static struct sim_usb_device *keyboard(enum sim_usb_speed speed,
				       const struct sim_usb_hid_key_event *ev,
				       unsigned nev)
{
	return USB_TEST_NEW(sim_usb_hid_keyboard_new, speed, ev, nev);
}

static struct sim_usb_device *mouse(enum sim_usb_speed speed,
				    const struct sim_usb_hid_mouse_event *ev,
				    unsigned nev)
{
	return USB_TEST_NEW(sim_usb_hid_mouse_new, speed, ev, nev);
}

static void configure(struct sim_usb_device *d)
{
	usb_test_configure(d, 7);
}

/* Loop index: speed (0..2) x kind (keyboard, mouse). */
START_TEST(test_enumerate)
{
	enum sim_usb_speed speed = speeds[_i / 2];
	bool kbd = _i % 2 == 0;
	struct sim_usb_device *d =
	    kbd ? keyboard(speed, NULL, 0) : mouse(speed, NULL, 0);
	bool high = speed == SIM_USB_SPEED_HIGH;
	struct sim_usb_ep_info info;
	uint8_t buf[256];
	char s[128];
	uint32_t n;

	/* What a host asks first: the first 8 bytes at address 0. */
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 64, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(buf[0], 18);
	ck_assert_uint_eq(le16(buf + 2), high ? 0x0200 : 0x0110);
	ck_assert_uint_eq(buf[4], 0); /* class per interface */
	ck_assert_uint_eq(buf[7], speed == SIM_USB_SPEED_LOW ? 8 : 64);
	ck_assert_uint_eq(le16(buf + 8), SIM_USB_HID_VENDOR);
	ck_assert_uint_eq(le16(buf + 10), kbd ? SIM_USB_HID_KEYBOARD_PID
					      : SIM_USB_HID_MOUSE_PID);
	ck_assert_uint_eq(buf[17], 1);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 7, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_uint_eq(sim_usb_device_address(d), 7);
	/* Device qualifier: high speed only. */
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0600, 0, 10, buf, &n),
	    high ? SIM_USB_OK : SIM_USB_STALL);
	/* Configuration: header, then the whole 34 bytes. */
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 9, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(le16(buf + 2), 34);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 34);
	ck_assert_uint_eq(buf[4], 1);	 /* bNumInterfaces */
	ck_assert_uint_eq(buf[7], 0xa0); /* bus powered, remote wakeup */
	/* Interface: HID (3), boot (1), keyboard (1) or mouse (2). */
	ck_assert_mem_eq(buf + 9,
			 ((uint8_t[]){9, 4, 0, 0, 1, 3, 1, kbd ? 1 : 2}), 8);
	/* HID descriptor: HID 1.11, one report descriptor. */
	ck_assert_mem_eq(buf + 18,
			 ((uint8_t[]){9, 0x21, 0x11, 0x01, 0, 1, 0x22}), 7);
	ck_assert_uint_eq(le16(buf + 25), kbd ? 63 : 52);
	/* Interrupt IN 1: 8-byte keyboard reports, 4-byte mouse reports;
	 * 10 ms, or 2^(7-1) microframes = 8 ms at high speed. */
	ck_assert_mem_eq(buf + 27, ((uint8_t[]){7, 5, 0x81, 0x03}), 4);
	ck_assert_uint_eq(le16(buf + 31), kbd ? 8 : 4);
	ck_assert_uint_eq(buf[33], high ? 7 : 10);
	get_string(d, 1, s);
	ck_assert_str_eq(s, "xpv");
	get_string(d, 2, s);
	ck_assert_str_eq(s, kbd ? "xpv boot keyboard" : "xpv boot mouse");
	get_string(d, 3, s);
	ck_assert_str_eq(s, kbd ? "XPV-KBD-0001" : "XPV-MOUSE-0001");
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, NULL), -ENOENT);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_INTERRUPT);
	ck_assert_uint_eq(info.max_packet, kbd ? 8 : 4);
	ck_assert_uint_eq(info.mult, 1);
	ck_assert_uint_eq(info.interval, high ? 7 : 10);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, false, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, true, NULL), -ENOENT);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_report_descriptor)
{
	struct sim_usb_device *d = _i ? mouse(SIM_USB_SPEED_FULL, NULL, 0)
				      : keyboard(SIM_USB_SPEED_FULL, NULL, 0);
	uint8_t cfg[34], buf[256];
	uint32_t n;

	/* Only to an interface of the active configuration. */
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 0, 255, buf, &n),
	    SIM_USB_STALL);
	configure(d);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 34, cfg, &n),
	    SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, le16(cfg + 25));
	/* Usage Page (Generic Desktop), Usage (Keyboard 6 / Mouse 2),
	 * Collection (Application) ... End Collection. */
	ck_assert_mem_eq(
	    buf, ((uint8_t[]){0x05, 0x01, 0x09, _i ? 2 : 6, 0xa1, 0x01}), 6);
	ck_assert_uint_eq(buf[n - 1], 0xc0);
	/* Truncated to wLength, as the host asked. */
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 0, 4, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 4);
	/* The HID descriptor alone: what the configuration carries. */
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2100, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 9);
	ck_assert_mem_eq(buf, cfg + 18, 9);
	/* Other interfaces, descriptor types and indices stall. */
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 1, 255, buf, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2201, 0, 255, buf, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2300, 0, 255, buf, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x81, 0x42, 0, 0, 0, NULL, NULL),
			 SIM_USB_STALL);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_keyboard_script)
{
	static const struct sim_usb_hid_key_event ev[] = {
	    {1 * MS, 0, 0x04},	  /* a */
	    {1 * MS, 0x02, 0x05}, /* left shift + b */
	    {5 * MS, 0, 0x06},	  /* c */
	};
	struct sim_usb_device *d = keyboard(speeds[_i], ev, 3);
	struct sim_usb_hid_stats st;
	static const uint8_t up[8];
	uint8_t buf[8];
	uint32_t n;

	configure(d);
	expect_nak(d, 0);
	expect_nak(d, 1 * MS - 1);
	expect_report(d, 1 * MS, (uint8_t[]){0, 0, 0x04, 0, 0, 0, 0, 0}, 8);
	/* GET_REPORT (input): the state as last reported, key a down. */
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_HID_GET_REPORT, 0x0100, 0, 8, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(buf[2], 0x04);
	expect_report(d, 1 * MS, up, 8);
	expect_report(d, 2 * MS, (uint8_t[]){0x02, 0, 0x05, 0, 0, 0, 0, 0}, 8);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.events_done, 1);
	expect_report(d, 2 * MS, up, 8);
	expect_nak(d, 3 * MS);
	expect_nak(d, 5 * MS - 1);
	expect_report(d, 5 * MS, (uint8_t[]){0, 0, 0x06, 0, 0, 0, 0, 0}, 8);
	expect_report(d, 6 * MS, up, 8);
	expect_nak(d, 60000 * MS);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.reports, 6);
	ck_assert_uint_eq(st.naks, 5);
	ck_assert_uint_eq(st.events_done, 3);
	ck_assert_uint_eq(st.events, 3);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_mouse_script)
{
	static const struct sim_usb_hid_mouse_event ev[] = {
	    {2 * MS, 0x01, 5, -3, 0},
	    {2 * MS, 0x01, -127, 127, 1},
	    {4 * MS, 0x00, 0, 0, -1},
	};
	struct sim_usb_device *d = mouse(speeds[_i], ev, 3);
	struct sim_usb_hid_stats st;
	uint8_t buf[8];
	uint32_t n;

	configure(d);
	expect_nak(d, 2 * MS - 1);
	/* Report protocol: buttons, X, Y, wheel. */
	expect_report(d, 2 * MS, (uint8_t[]){0x01, 5, 0xfd, 0}, 4);
	/* The standing state keeps the buttons, never the movement. */
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_HID_GET_REPORT, 0x0100, 0, 8, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(buf, ((uint8_t[]){0x01, 0, 0, 0}), 4);
	/* A buffer too small for the report: babble, and it stays. */
	ck_assert_int_eq(poll(d, 2 * MS, buf, 2, &n), SIM_USB_BABBLE);
	ck_assert_uint_eq(n, 0);
	/* Boot protocol: the first three bytes only. */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_PROTOCOL, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	expect_report(d, 3 * MS, (uint8_t[]){0x01, 0x81, 0x7f}, 3);
	expect_nak(d, 3 * MS);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_PROTOCOL, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	expect_report(d, 4 * MS, (uint8_t[]){0x00, 0, 0, 0xff}, 4);
	expect_nak(d, 5 * MS);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.reports, 3);
	ck_assert_uint_eq(st.events_done, 3);
	/* The mouse has no output report. */
	buf[0] = 1;
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_REPORT, 0x0200, 0, 1, buf, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_HID_GET_REPORT, 0x0200, 0, 1, buf, NULL),
	    SIM_USB_STALL);
	sim_usb_device_free(d);
}
END_TEST

/* Nothing reaches the interrupt endpoint before SET_CONFIGURATION. */
START_TEST(test_not_configured)
{
	static const struct sim_usb_hid_key_event ev[] = {{0, 0, 0x04}};
	struct sim_usb_device *d = keyboard(SIM_USB_SPEED_FULL, ev, 1);
	uint8_t buf[8];
	uint32_t n;

	ck_assert_int_eq(poll(d, 10 * MS, buf, 8, &n), SIM_USB_IOERROR);
	configure(d);
	/* A halted endpoint keeps its report for later. */
	ck_assert_int_eq(
	    ctl(d, 0x02, SIM_USB_REQ_SET_FEATURE, 0, 0x81, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(poll(d, 10 * MS, buf, 8, &n), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x02, SIM_USB_REQ_CLEAR_FEATURE, 0, 0x81, 0, NULL, NULL),
	    SIM_USB_OK);
	expect_report(d, 10 * MS, (uint8_t[]){0, 0, 0x04, 0, 0, 0, 0, 0}, 8);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_keyboard_leds)
{
	struct sim_usb_device *d = keyboard(speeds[_i], NULL, 0);
	struct sim_usb_hid_stats st;
	uint8_t buf[2];
	uint32_t n;

	configure(d);
	/* SET_REPORT (output, ID 0): Num Lock and Caps Lock on. */
	buf[0] = 0x03;
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_REPORT, 0x0200, 0, 1, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 1);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.leds, 0x03);
	ck_assert_uint_eq(st.led_reports, 1);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_HID_GET_REPORT, 0x0200, 0, 1, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(buf[0], 0x03);
	/* Padding bits (5-7) are not LEDs. */
	buf[0] = 0xff;
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_REPORT, 0x0200, 0, 1, buf, NULL),
	    SIM_USB_OK);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.leds, 0x1f);
	/* Wrong length, report type, report ID; feature reports. */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_REPORT, 0x0200, 0, 2, buf, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_REPORT, 0x0100, 0, 1, buf, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_REPORT, 0x0201, 0, 1, buf, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_HID_GET_REPORT, 0x0300, 0, 1, buf, NULL),
	    SIM_USB_STALL);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.led_reports, 2);
	/* A new configuration is a fresh start: LEDs off. */
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.leds, 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_idle_and_protocol)
{
	static const struct sim_usb_hid_key_event ev[] = {{20 * MS, 0, 0x04}};
	struct sim_usb_device *d = keyboard(SIM_USB_SPEED_HIGH, ev, 1);
	static const uint8_t up[8];
	struct sim_usb_hid_stats st;
	uint8_t b[1];
	uint32_t n;

	configure(d);
	ck_assert_int_eq(ctl(d, 0xa1, SIM_USB_HID_GET_IDLE, 0, 0, 1, b, &n),
			 SIM_USB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(b[0], 0);
	ck_assert_int_eq(ctl(d, 0xa1, SIM_USB_HID_GET_PROTOCOL, 0, 0, 1, b, &n),
			 SIM_USB_OK);
	ck_assert_uint_eq(b[0], 1); /* report protocol after reset */
	/* Idle 2 x 4 ms: the current report again every 8 ms. */
	ck_assert_int_eq(ctl_at(d, 1 * MS, 0x21, SIM_USB_HID_SET_IDLE, 0x0200,
				0, 0, NULL, NULL),
			 SIM_USB_OK);
	ck_assert_int_eq(ctl(d, 0xa1, SIM_USB_HID_GET_IDLE, 0, 0, 1, b, &n),
			 SIM_USB_OK);
	ck_assert_uint_eq(b[0], 2);
	expect_nak(d, 9 * MS - 1);
	expect_report(d, 9 * MS, up, 8);
	expect_nak(d, 16 * MS);
	expect_report(d, 17 * MS, up, 8);
	/* Scripted news does not wait for the idle period. */
	expect_report(d, 20 * MS, (uint8_t[]){0, 0, 0x04, 0, 0, 0, 0, 0}, 8);
	expect_report(d, 20 * MS, up, 8);
	/* Back to "changes only". */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_IDLE, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	expect_nak(d, 1000 * MS);
	/* Report IDs do not exist here; a data stage is not expected. */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_IDLE, 0x0201, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xa1, SIM_USB_HID_GET_IDLE, 1, 0, 1, b, &n),
			 SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_IDLE, 0x0200, 0, 1, b, NULL),
	    SIM_USB_STALL);
	/* Protocol: boot (0) or report (1) only. */
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_PROTOCOL, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(ctl(d, 0xa1, SIM_USB_HID_GET_PROTOCOL, 0, 0, 1, b, &n),
			 SIM_USB_OK);
	ck_assert_uint_eq(b[0], 0);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_HID_SET_PROTOCOL, 2, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x21, 0x42, 0, 0, 0, NULL, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xa1, 0x42, 0, 0, 1, b, NULL), SIM_USB_STALL);
	/* Class requests addressed to the device are not HID's. */
	ck_assert_int_eq(
	    ctl(d, 0xa0, SIM_USB_HID_GET_PROTOCOL, 0, 0, 1, b, NULL),
	    SIM_USB_STALL);
	/* A bus reset: report protocol, idle 0, LEDs off, unconfigured. */
	sim_usb_device_reset(d);
	sim_usb_hid_stats(d, &st);
	ck_assert_uint_eq(st.protocol, 1);
	ck_assert_uint_eq(st.idle, 0);
	ck_assert_uint_eq(sim_usb_device_config(d), 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_bad_scripts)
{
	static const struct sim_usb_hid_key_event backwards[] = {
	    {2 * MS, 0, 0x04}, {1 * MS, 0, 0x05}};
	static const struct sim_usb_hid_key_event bad_key[] = {{0, 0, 0x66}};
	static const struct sim_usb_hid_key_event err_key[] = {{0, 0, 0x01}};
	static const struct sim_usb_hid_key_event nothing[] = {{0, 0, 0}};
	static const struct sim_usb_hid_key_event shift[] = {{0, 0x20, 0}};
	static const struct sim_usb_hid_mouse_event far[] = {
	    {0, 0, -128, 0, 0}};
	static const struct sim_usb_hid_mouse_event buttons[] = {
	    {0, 8, 0, 0, 0}};
	static const struct sim_usb_hid_mouse_event mback[] = {{5, 0, 1, 0, 0},
							       {4, 0, 1, 0, 0}};
	struct sim_usb_device *d = (void *)1;
	char err[256];

	ck_assert_int_eq(sim_usb_hid_keyboard_new(SIM_USB_SPEED_FULL, backwards,
						  2, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "event 1 at 1000000 ns before"));
	ck_assert_int_eq(sim_usb_hid_keyboard_new(SIM_USB_SPEED_FULL, bad_key,
						  1, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "key code 0x66"));
	ck_assert_int_eq(sim_usb_hid_keyboard_new(SIM_USB_SPEED_FULL, err_key,
						  1, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(sim_usb_hid_keyboard_new(SIM_USB_SPEED_FULL, nothing,
						  1, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(sim_usb_hid_keyboard_new(SIM_USB_SPEED_FULL, NULL, 1,
						  &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(sim_usb_hid_keyboard_new((enum sim_usb_speed)0, NULL,
						  0, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "hid-keyboard: speed 0"));
	ck_assert_int_eq(sim_usb_hid_mouse_new(SIM_USB_SPEED_LOW, far, 1, &d,
					       err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "hid-mouse: event 0"));
	ck_assert_int_eq(sim_usb_hid_mouse_new(SIM_USB_SPEED_LOW, buttons, 1,
					       &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(sim_usb_hid_mouse_new(SIM_USB_SPEED_LOW, mback, 2, &d,
					       err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(sim_usb_hid_mouse_new((enum sim_usb_speed)4, NULL, 0,
					       &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "hid-mouse: speed 4"));
	/* A modifier alone is a key event too. */
	d = keyboard(SIM_USB_SPEED_LOW, shift, 1);
	configure(d);
	expect_report(d, 0, (uint8_t[]){0x20, 0, 0, 0, 0, 0, 0, 0}, 8);
	sim_usb_device_free(d);
}
END_TEST

/* The characters a configuration may type map to distinct usages;
 * anything else maps to none. */
START_TEST(test_char_usages)
{
	const char *typable = "abcdefghijklmnopqrstuvwxyz0123456789 ";
	bool seen[256] = { false };

	for (const char *c = typable; *c; c++) {
		uint8_t u = sim_usb_hid_usage_of_char(*c);

		ck_assert_uint_ne(u, 0);
		ck_assert_msg(!seen[u], "usage 0x%02x twice", u);
		seen[u] = true;
	}
	ck_assert_uint_eq(sim_usb_hid_usage_of_char('a'), 0x04);
	ck_assert_uint_eq(sim_usb_hid_usage_of_char('1'), 0x1e);
	ck_assert_uint_eq(sim_usb_hid_usage_of_char('0'), 0x27);
	ck_assert_uint_eq(sim_usb_hid_usage_of_char(' '), 0x2c);
	ck_assert_uint_eq(sim_usb_hid_usage_of_char('A'), 0);
	ck_assert_uint_eq(sim_usb_hid_usage_of_char('\n'), 0);
}
END_TEST

/* Neighbouring movements of the scripted mouse differ, so a lost or
 * doubled report cannot pass for the next one. */
START_TEST(test_mouse_pattern)
{
	struct sim_usb_hid_mouse_event prev, ev;

	sim_usb_hid_mouse_pattern(0, &prev);
	for (unsigned i = 1; i < 1000; i++) {
		sim_usb_hid_mouse_pattern(i, &ev);
		ck_assert(ev.dx != prev.dx || ev.dy != prev.dy ||
			  ev.buttons != prev.buttons);
		ck_assert_int_ne(ev.dx, 0);
		ck_assert_uint_le(ev.buttons, 7);
		prev = ev;
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("usb_hid");
	TCase *tc = tcase_create("hid");

	tcase_add_loop_test(tc, test_enumerate, 0, 6);
	tcase_add_loop_test(tc, test_report_descriptor, 0, 2);
	tcase_add_loop_test(tc, test_keyboard_script, 0, 3);
	tcase_add_loop_test(tc, test_mouse_script, 0, 3);
	tcase_add_test(tc, test_not_configured);
	tcase_add_loop_test(tc, test_keyboard_leds, 0, 3);
	tcase_add_test(tc, test_idle_and_protocol);
	tcase_add_test(tc, test_bad_scripts);
	tcase_add_test(tc, test_char_usages);
	tcase_add_test(tc, test_mouse_pattern);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
