/*
 * The CDC-ECM reflector as a host meets it: enumeration with the CDC
 * functional descriptors and the MAC string, the link following the data
 * interface's alternate setting and its notifications, frames reflected
 * in order with their addresses swapped, NAK when empty, back-pressure
 * when full, bad sizes dropped, the packet filter, and frames split on
 * packet boundaries.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "sim/devices/usb_ecm.h"
#include "usb_test.h"

#define IN    true
#define OUT   false
#define QUEUE SIM_USB_ECM_QUEUE
#define FMAX  SIM_USB_ECM_FRAME_MAX

static const enum sim_usb_speed speeds[] = {SIM_USB_SPEED_FULL,
					    SIM_USB_SPEED_HIGH};
static const uint8_t mac[6] = SIM_USB_ECM_MAC;
static const uint8_t peer[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
static const uint8_t other[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x42};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

static uint8_t wbuf[QUEUE + 1][2048], rbuf[4096];

/* One attempt on bulk IN 1 / bulk OUT 2. */
static enum sim_usb_status bulk(struct sim_usb_device *d, bool in, void *buf,
				uint32_t len, uint32_t *actual)
{
	return usb_test_xfer(d, 0, in ? SIM_USB_ECM_EP_IN : SIM_USB_ECM_EP_OUT,
			     in, SIM_USB_EP_BULK, buf, len, actual);
}

/* One attempt on interrupt IN 3. */
static enum sim_usb_status poll(struct sim_usb_device *d, uint8_t *buf,
				uint32_t len, uint32_t *actual)
{
	return usb_test_xfer(d, 0, SIM_USB_ECM_EP_NOTIFY, true,
			     SIM_USB_EP_INTERRUPT, buf, len, actual);
}

static struct sim_usb_device *ecm(enum sim_usb_speed speed)
{
	return USB_TEST_NEW(sim_usb_ecm_new, speed);
}

static void configure(struct sim_usb_device *d)
{
	usb_test_configure(d, 5);
}

static enum sim_usb_status set_filter(struct sim_usb_device *d, uint16_t f)
{
	return ctl(d, 0x21, SIM_USB_ECM_SET_PACKET_FILTER, f, 0, 0, NULL, NULL);
}

/* The next poll carries NETWORK_CONNECTION with this state. */
static void expect_connection(struct sim_usb_device *d, uint16_t up)
{
	uint8_t b[16];
	uint32_t n;

	memset(b, 0xee, sizeof(b));
	ck_assert_int_eq(poll(d, b, sizeof(b), &n), SIM_USB_OK);
	ck_assert_uint_eq(n, SIM_USB_ECM_NETWORK_CONNECTION_LEN);
	/* CDC 1.2 6.3: class, interface 0, wValue the state, no data. */
	ck_assert_mem_eq(b, ((uint8_t[]){0xa1, 0x00, up, 0, 0, 0, 0, 0}), 8);
	ck_assert_uint_eq(b[8], 0xee);
}

/* The next poll carries CONNECTION_SPEED_CHANGE for this bus speed. */
static void expect_speed(struct sim_usb_device *d)
{
	uint32_t rate = sim_usb_device_speed(d) == SIM_USB_SPEED_HIGH
			    ? 100000000
			    : 10000000;
	uint8_t b[16];
	uint32_t n;

	ck_assert_int_eq(poll(d, b, sizeof(b), &n), SIM_USB_OK);
	ck_assert_uint_eq(n, SIM_USB_ECM_CONNECTION_SPEED_LEN);
	ck_assert_mem_eq(b, ((uint8_t[]){0xa1, 0x2a, 0, 0, 0, 0, 8, 0}), 8);
	ck_assert_uint_eq(le32(b + 8), rate);  /* downlink */
	ck_assert_uint_eq(le32(b + 12), rate); /* uplink */
}

static void expect_no_notification(struct sim_usb_device *d)
{
	usb_test_expect_nak(d, 0, SIM_USB_ECM_EP_NOTIFY, SIM_USB_EP_INTERRUPT,
			    16);
}

/* Configured, the first notifications heard, the link up and heard. */
static struct sim_usb_device *up(enum sim_usb_speed speed)
{
	struct sim_usb_device *d = ecm(speed);

	configure(d);
	expect_connection(d, 0);
	expect_speed(d);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	expect_connection(d, 1);
	expect_speed(d);
	expect_no_notification(d);
	return d;
}

/* A frame of len bytes from src to dst, EtherType 0x88b5 (local
 * experimental), payload from seed. */
static uint8_t *frame(uint8_t *p, uint32_t len, const uint8_t *dst,
		      const uint8_t *src, unsigned seed)
{
	uint32_t i;

	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = 0x88;
	p[13] = 0xb5;
	for (i = 14; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed);
	return p;
}

static void write_ok(struct sim_usb_device *d, const uint8_t *p, uint32_t n)
{
	ck_assert_int_eq(bulk(d, OUT, (void *)p, n, NULL), SIM_USB_OK);
}

/* The next IN is frame f (len bytes as the host sent it) reflected. */
static void expect_reflection(struct sim_usb_device *d, const uint8_t *f,
			      uint32_t len)
{
	uint32_t n;

	memset(rbuf, 0xee, sizeof(rbuf));
	ck_assert_int_eq(bulk(d, IN, rbuf, 2048, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, len);
	ck_assert_mem_eq(rbuf, f + 6, 6);
	ck_assert_mem_eq(rbuf + 6, f, 6);
	ck_assert_mem_eq(rbuf + 12, f + 12, len - 12);
}

static void expect_in_nak(struct sim_usb_device *d)
{
	usb_test_expect_nak(d, 0, SIM_USB_ECM_EP_IN, SIM_USB_EP_BULK, 2048);
}

/* ---- tests ---- */

START_TEST(test_enumerate)
{
	struct sim_usb_device *d = ecm(speeds[_i]);
	bool high = speeds[_i] == SIM_USB_SPEED_HIGH;
	uint16_t size = high ? 512 : 64;
	struct sim_usb_ep_info info;
	uint8_t buf[256];
	uint32_t n;
	char s[128];

	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 18, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(le16(buf + 2), high ? 0x0200 : 0x0110);
	ck_assert_mem_eq(buf + 4, ((uint8_t[]){2, 0, 0, 64}), 4);
	ck_assert_uint_eq(le16(buf + 8), SIM_USB_ECM_VENDOR);
	ck_assert_uint_eq(le16(buf + 10), SIM_USB_ECM_PRODUCT);
	ck_assert_mem_eq(buf + 14, ((uint8_t[]){1, 2, 3, 1}), 4);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 80);
	ck_assert_uint_eq(le16(buf + 2), 80);
	ck_assert_mem_eq(buf + 4, ((uint8_t[]){2, 1, 0, 0x80}), 4);
	/* Communication interface: CDC, ECM, no protocol. */
	ck_assert_mem_eq(buf + 9, ((uint8_t[]){9, 4, 0, 0, 1, 2, 6, 0, 0}), 9);
	/* Header (CDC 1.20), Union (master 0, slave 1), Ethernet
	 * Networking: MAC string 4, no statistics, 1514-byte segments, no
	 * multicast or power filters. */
	ck_assert_mem_eq(buf + 18, ((uint8_t[]){5, 0x24, 0, 0x20, 0x01}), 5);
	ck_assert_mem_eq(buf + 23, ((uint8_t[]){5, 0x24, 6, 0, 1}), 5);
	ck_assert_mem_eq(
	    buf + 28,
	    ((uint8_t[]){13, 0x24, 0x0f, 4, 0, 0, 0, 0, 0xea, 0x05, 0, 0, 0}),
	    13);
	/* Notifications: interrupt IN 3, 16 bytes, 16 ms. */
	ck_assert_mem_eq(buf + 41,
			 ((uint8_t[]){7, 5, 0x83, 3, 16, 0, high ? 8 : 16}), 7);
	/* Data interface: alternate 0 empty, alternate 1 bulk IN 1 and
	 * bulk OUT 2. */
	ck_assert_mem_eq(buf + 48, ((uint8_t[]){9, 4, 1, 0, 0, 0x0a, 0, 0, 0}),
			 9);
	ck_assert_mem_eq(buf + 57, ((uint8_t[]){9, 4, 1, 1, 2, 0x0a, 0, 0, 0}),
			 9);
	ck_assert_mem_eq(buf + 66, ((uint8_t[]){7, 5, 0x81, 2}), 4);
	ck_assert_uint_eq(le16(buf + 70), size);
	ck_assert_mem_eq(buf + 73, ((uint8_t[]){7, 5, 0x02, 2}), 4);
	ck_assert_uint_eq(le16(buf + 77), size);
	get_string(d, 2, s);
	ck_assert_str_eq(s, "xpv ecm reflector");
	/* iMACAddress: 12 hex digits, the address in network order. */
	get_string(d, SIM_USB_ECM_MAC_INDEX, s);
	ck_assert_str_eq(s, "025850564543");
	ck_assert_str_eq(s, SIM_USB_ECM_MAC_STRING);
	ck_assert_mem_eq(mac, ((uint8_t[]){0x02, 0x58, 0x50, 0x56, 0x45, 0x43}),
			 6);
	ck_assert_uint_eq(mac[0] & 3, 2); /* locally administered unicast */
	/* Nothing answers before configuration; then only the interrupt
	 * endpoint exists until the data interface goes to alternate 1. */
	ck_assert_int_eq(bulk(d, OUT, buf, 14, NULL), SIM_USB_IOERROR);
	configure(d);
	ck_assert_int_eq(sim_usb_device_ep(d, 3, IN, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_INTERRUPT);
	ck_assert_uint_eq(info.max_packet, 16);
	ck_assert_uint_eq(info.interval, high ? 8 : 16);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, IN, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, OUT, NULL), -ENOENT);
	ck_assert_int_eq(bulk(d, OUT, buf, 14, NULL), SIM_USB_IOERROR);
	ck_assert_int_eq(bulk(d, IN, buf, 64, NULL), SIM_USB_IOERROR);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	ck_assert_uint_eq(sim_usb_device_alt(d, SIM_USB_ECM_DATA_IFACE), 1);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, IN, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_BULK);
	ck_assert_uint_eq(info.max_packet, size);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, OUT, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_BULK);
	ck_assert_uint_eq(info.max_packet, size);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 2),
			 SIM_USB_STALL);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_COMM_IFACE, 1),
			 SIM_USB_STALL);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_bad_speed)
{
	struct sim_usb_device *d = (void *)1;
	char err[256] = "";

	ck_assert_int_eq(
	    sim_usb_ecm_new(SIM_USB_SPEED_LOW, &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "usb ecm: speed 1"));
	ck_assert_int_eq(
	    sim_usb_ecm_new((enum sim_usb_speed)7, &d, err, sizeof(err)),
	    -EINVAL);
}
END_TEST

START_TEST(test_notifications)
{
	struct sim_usb_device *d = ecm(speeds[_i]);
	struct sim_usb_ecm_stats st;
	uint8_t b[16];
	uint32_t n;

	configure(d);
	/* After configuration: link down, then the speed. */
	expect_connection(d, 0);
	expect_speed(d);
	expect_no_notification(d);
	/* Alternate 1: link up. A buffer too small is babble and the
	 * notification stays. */
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	ck_assert_int_eq(poll(d, b, 7, &n), SIM_USB_BABBLE);
	expect_connection(d, 1);
	ck_assert_int_eq(poll(d, b, 8, &n), SIM_USB_BABBLE);
	expect_speed(d);
	expect_no_notification(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert(st.link_up);
	/* The same alternate again, or the communication interface: no
	 * change, no news. */
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_COMM_IFACE, 0), SIM_USB_OK);
	expect_no_notification(d);
	/* Alternate 0: link down. */
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 0), SIM_USB_OK);
	expect_connection(d, 0);
	expect_speed(d);
	expect_no_notification(d);
	/* News before a poll: the pair once, with the latest state. */
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 0), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	expect_connection(d, 1);
	expect_speed(d);
	expect_no_notification(d);
	/* News between the two: the pair starts over, so the speed still
	 * follows the connection. */
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 0), SIM_USB_OK);
	expect_connection(d, 0);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	expect_connection(d, 1);
	expect_speed(d);
	expect_no_notification(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.notifications, 11);
	ck_assert_uint_eq(st.naks_notify, 6);
	/* A bus reset forgets what is pending; the next configuration
	 * starts again with the link down. */
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 0), SIM_USB_OK);
	sim_usb_device_reset(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert(!st.link_up);
	configure(d);
	expect_connection(d, 0);
	expect_speed(d);
	expect_no_notification(d);
	/* Deconfigured: nothing. */
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(poll(d, b, sizeof(b), &n), SIM_USB_IOERROR);
	sim_usb_device_free(d);
}
END_TEST

/* Frames of every size class come back in order, addresses swapped. */
START_TEST(test_echo)
{
	struct sim_usb_device *d = up(speeds[_i]);
	static const uint32_t lens[] = {14, 60, 64, 511, 512, 1000, 1514, 15};
	const unsigned nf = sizeof(lens) / sizeof(lens[0]);
	struct sim_usb_ecm_stats st;
	uint64_t bytes = 0;
	unsigned i;

	for (i = 0; i < nf; i++) {
		frame(wbuf[i], lens[i], i & 1 ? bcast : peer, mac, i);
		write_ok(d, wbuf[i], lens[i]);
		bytes += lens[i];
	}
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.queued, nf);
	for (i = 0; i < nf; i++) {
		expect_reflection(d, wbuf[i], lens[i]);
		/* The reply comes from the peer, to the adapter. */
		ck_assert_mem_eq(rbuf, mac, 6);
		ck_assert_mem_eq(rbuf + 6, i & 1 ? bcast : peer, 6);
	}
	expect_in_nak(d);
	/* Interleaved: one out, one back. */
	for (i = 0; i < 3; i++) {
		frame(wbuf[0], 100 + i, peer, mac, 40 + i);
		write_ok(d, wbuf[0], 100 + i);
		expect_reflection(d, wbuf[0], 100 + i);
		bytes += 100 + i;
	}
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.frames_out, nf + 3);
	ck_assert_uint_eq(st.frames_in, nf + 3);
	ck_assert_uint_eq(st.bytes_out, bytes);
	ck_assert_uint_eq(st.bytes_in, bytes);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.filtered, 0);
	ck_assert_uint_eq(st.queued, 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_nak_when_empty)
{
	struct sim_usb_device *d = up(SIM_USB_SPEED_HIGH);
	struct sim_usb_ecm_stats st;

	expect_in_nak(d);
	expect_in_nak(d);
	frame(wbuf[0], 60, peer, mac, 1);
	write_ok(d, wbuf[0], 60);
	expect_reflection(d, wbuf[0], 60);
	expect_in_nak(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.naks_in, 3);
	ck_assert_uint_eq(st.naks_out, 0);
	/* Link down empties the queue, and the link coming back up does
	 * not bring the frames back. */
	write_ok(d, wbuf[0], 60);
	write_ok(d, wbuf[0], 60);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 0), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	expect_in_nak(d);
	/* So does a bus reset. */
	write_ok(d, wbuf[0], 60);
	sim_usb_device_reset(d);
	configure(d);
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 1), SIM_USB_OK);
	expect_in_nak(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.flushed, 3);
	ck_assert_uint_eq(st.queued, 0);
	sim_usb_device_free(d);
}
END_TEST

/* A full queue NAKs bulk OUT, good frames or bad, until the host reads;
 * nothing is lost and the order holds. */
START_TEST(test_back_pressure)
{
	struct sim_usb_device *d = up(speeds[_i]);
	struct sim_usb_ecm_stats st;
	unsigned i;

	for (i = 0; i <= QUEUE; i++)
		frame(wbuf[i], 64 + i * 50, peer, mac, i);
	for (i = 0; i < QUEUE; i++)
		write_ok(d, wbuf[i], 64 + i * 50);
	ck_assert_int_eq(bulk(d, OUT, wbuf[QUEUE], 64 + QUEUE * 50, NULL),
			 SIM_USB_NAK);
	ck_assert_int_eq(bulk(d, OUT, wbuf[QUEUE], 3, NULL), SIM_USB_NAK);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.queued, QUEUE);
	ck_assert_uint_eq(st.naks_out, 2);
	ck_assert_uint_eq(st.dropped, 0);
	/* One read makes room for one frame. */
	expect_reflection(d, wbuf[0], 64);
	write_ok(d, wbuf[QUEUE], 64 + QUEUE * 50);
	ck_assert_int_eq(bulk(d, OUT, wbuf[0], 64, NULL), SIM_USB_NAK);
	for (i = 1; i <= QUEUE; i++)
		expect_reflection(d, wbuf[i], 64 + i * 50);
	expect_in_nak(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.frames_out, QUEUE + 1);
	ck_assert_uint_eq(st.frames_in, QUEUE + 1);
	ck_assert_uint_eq(st.naks_out, 3);
	sim_usb_device_free(d);
}
END_TEST

/* Transfers outside 14..1514 bytes are taken and dropped. */
START_TEST(test_bad_sizes)
{
	struct sim_usb_device *d = up(speeds[_i]);
	static const uint32_t bad[] = {0, 1, 13, 1515, 1518, 2048};
	struct sim_usb_ecm_stats st;
	unsigned i;

	frame(wbuf[0], 2048, peer, mac, 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(bulk(d, OUT, wbuf[0], bad[i], NULL),
				 SIM_USB_OK);
	expect_in_nak(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.dropped, 6);
	ck_assert_uint_eq(st.frames_out, 0);
	ck_assert_uint_eq(st.bytes_out, 0);
	ck_assert_uint_eq(st.queued, 0);
	/* The limits themselves are frames. */
	write_ok(d, wbuf[0], 14);
	write_ok(d, wbuf[0], FMAX);
	expect_reflection(d, wbuf[0], 14);
	expect_reflection(d, wbuf[0], FMAX);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.dropped, 6);
	ck_assert_uint_eq(st.frames_out, 2);
	sim_usb_device_free(d);
}
END_TEST

/* The reflection's destination (the frame's source) meets the filter. */
START_TEST(test_packet_filter)
{
	struct sim_usb_device *d = up(speeds[_i]);
	struct sim_usb_ecm_stats st;
	uint8_t b[8];

	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.filter, SIM_USB_ECM_FILTER_DEFAULT);
	ck_assert_uint_eq(st.filter, 0x0e);
	frame(wbuf[0], 60, peer, mac, 0);
	frame(wbuf[1], 60, peer, other, 1);
	frame(wbuf[2], 60, peer, bcast, 2);
	frame(wbuf[3], 60, peer, mcast, 3);
	/* Default: ours, broadcast, all multicast; not someone else's. */
	write_ok(d, wbuf[0], 60);
	write_ok(d, wbuf[1], 60);
	write_ok(d, wbuf[2], 60);
	write_ok(d, wbuf[3], 60);
	expect_reflection(d, wbuf[0], 60);
	expect_reflection(d, wbuf[2], 60);
	expect_reflection(d, wbuf[3], 60);
	expect_in_nak(d);
	/* Nothing at all. */
	ck_assert_int_eq(set_filter(d, 0), SIM_USB_OK);
	write_ok(d, wbuf[0], 60);
	write_ok(d, wbuf[2], 60);
	write_ok(d, wbuf[3], 60);
	expect_in_nak(d);
	/* MULTICAST alone: the list is empty, so no multicast either. */
	ck_assert_int_eq(set_filter(d, SIM_USB_ECM_FILTER_MULTICAST |
					   SIM_USB_ECM_FILTER_DIRECTED),
			 SIM_USB_OK);
	write_ok(d, wbuf[3], 60);
	write_ok(d, wbuf[2], 60);
	write_ok(d, wbuf[0], 60);
	expect_reflection(d, wbuf[0], 60);
	expect_in_nak(d);
	/* Promiscuous: everything. */
	ck_assert_int_eq(set_filter(d, SIM_USB_ECM_FILTER_PROMISCUOUS),
			 SIM_USB_OK);
	write_ok(d, wbuf[1], 60);
	write_ok(d, wbuf[3], 60);
	expect_reflection(d, wbuf[1], 60);
	expect_reflection(d, wbuf[3], 60);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.filter, SIM_USB_ECM_FILTER_PROMISCUOUS);
	ck_assert_uint_eq(st.filter_sets, 3);
	ck_assert_uint_eq(st.filtered, 6);
	ck_assert_uint_eq(st.frames_out, 12);
	ck_assert_uint_eq(st.frames_in, 6);
	/* Wrong shape: reserved bits, a data stage, the data interface,
	 * the device, the IN direction. */
	ck_assert_int_eq(set_filter(d, 0x20), SIM_USB_STALL);
	ck_assert_int_eq(set_filter(d, 0x8004), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ECM_SET_PACKET_FILTER, 4, 0, 2, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ECM_SET_PACKET_FILTER, 4, 1, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x20, SIM_USB_ECM_SET_PACKET_FILTER, 4, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_ECM_SET_PACKET_FILTER, 4, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	/* The optional requests the descriptor does not claim stall:
	 * multicast list, power filters, statistics, encapsulated. */
	ck_assert_int_eq(ctl(d, 0x21, SIM_USB_ECM_SET_MULTICAST_FILTERS, 1, 0,
			     6, (uint8_t *)mcast, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_ECM_SET_PM_PATTERN_FILTER, 1, 0, 8, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_ECM_GET_PM_PATTERN_FILTER, 0, 0, 2, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa1, SIM_USB_ECM_GET_STATISTIC, 1, 0, 4, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x21, 0x00, 0, 0, 4, b, NULL), SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xa1, 0x01, 0, 0, 8, b, NULL), SIM_USB_STALL);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.filter, SIM_USB_ECM_FILTER_PROMISCUOUS);
	ck_assert_uint_eq(st.filter_sets, 3);
	/* An alternate change keeps the filter; a new configuration does
	 * not. */
	ck_assert_int_eq(set_iface(d, SIM_USB_ECM_DATA_IFACE, 0), SIM_USB_OK);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.filter, SIM_USB_ECM_FILTER_PROMISCUOUS);
	reconfigure(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.filter, SIM_USB_ECM_FILTER_DEFAULT);
	sim_usb_device_free(d);
}
END_TEST

/* A buffer ending on a packet boundary takes part of a frame; one ending
 * inside a packet is babble; a frame of whole packets that fills the
 * buffer still owes its zero-length packet. */
START_TEST(test_split_and_zlp)
{
	struct sim_usb_device *d = up(speeds[_i]);
	uint32_t mps = speeds[_i] == SIM_USB_SPEED_HIGH ? 512 : 64;
	uint32_t len = 2 * mps + 10, n;
	struct sim_usb_ecm_stats st;

	frame(wbuf[0], len, peer, mac, 9);
	write_ok(d, wbuf[0], len);
	ck_assert_int_eq(bulk(d, IN, rbuf, mps - 1, &n), SIM_USB_BABBLE);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(bulk(d, IN, rbuf, 0, &n), SIM_USB_BABBLE);
	ck_assert_int_eq(bulk(d, IN, rbuf, mps, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, mps);
	ck_assert_int_eq(bulk(d, IN, rbuf + mps, mps + 1, &n), SIM_USB_BABBLE);
	ck_assert_int_eq(bulk(d, IN, rbuf + mps, mps, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, mps);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.frames_in, 0);
	/* The rest ends in a short packet: any room takes it. */
	ck_assert_int_eq(bulk(d, IN, rbuf + 2 * mps, 11, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 10);
	ck_assert_mem_eq(rbuf, wbuf[0] + 6, 6);
	ck_assert_mem_eq(rbuf + 6, wbuf[0], 6);
	ck_assert_mem_eq(rbuf + 12, wbuf[0] + 12, len - 12);
	expect_in_nak(d);
	/* Two whole packets into exactly two packets of room: the ZLP
	 * comes on its own next; with more room it ends the transfer. */
	frame(wbuf[1], 2 * mps, peer, mac, 10);
	write_ok(d, wbuf[1], 2 * mps);
	write_ok(d, wbuf[1], 2 * mps);
	ck_assert_int_eq(bulk(d, IN, rbuf, 2 * mps, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 2 * mps);
	ck_assert_int_eq(bulk(d, IN, rbuf, 2 * mps, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 0);
	expect_reflection(d, wbuf[1], 2 * mps);
	expect_in_nak(d);
	sim_usb_ecm_stats(d, &st);
	ck_assert_uint_eq(st.frames_in, 3);
	ck_assert_uint_eq(st.bytes_in, len + 4 * mps);
	sim_usb_device_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("usb_ecm");
	TCase *tc = tcase_create("ecm");

	tcase_add_loop_test(tc, test_enumerate, 0, 2);
	tcase_add_test(tc, test_bad_speed);
	tcase_add_loop_test(tc, test_notifications, 0, 2);
	tcase_add_loop_test(tc, test_echo, 0, 2);
	tcase_add_test(tc, test_nak_when_empty);
	tcase_add_loop_test(tc, test_back_pressure, 0, 2);
	tcase_add_loop_test(tc, test_bad_sizes, 0, 2);
	tcase_add_loop_test(tc, test_packet_filter, 0, 2);
	tcase_add_loop_test(tc, test_split_and_zlp, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
