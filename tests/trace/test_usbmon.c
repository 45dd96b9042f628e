/*
 * The usbmon writer (sim/trace/usbmon.h), read back with libpcap: link
 * type 220, nanosecond timestamps equal to the times given, one record
 * per call with the kernel's 64-byte header (fields read here at the
 * offsets of Documentation/usb/usbmon.rst, independently of the writer),
 * iso descriptors, and whole payloads in the records that carry data.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "sim/trace/usbmon.h"
#include "tmpdir.h"

#define T0_NS 1234567891ull /* 1.234567891 s */
#define BUS   3
#define BIG   65536u

/* One record as a reader sees it. */
struct rec {
	uint64_t ts_ns;
	uint32_t caplen, len;
	uint8_t b[USBMON_SNAPLEN];
};

static uint64_t u64_at(const struct rec *r, size_t off)
{
	uint64_t v;

	memcpy(&v, r->b + off, 8);
	return v;
}

static uint32_t u32_at(const struct rec *r, size_t off)
{
	uint32_t v;

	memcpy(&v, r->b + off, 4);
	return v;
}

static uint16_t u16_at(const struct rec *r, size_t off)
{
	uint16_t v;

	memcpy(&v, r->b + off, 2);
	return v;
}

/* The fields every record has: id, type, xfer_type, epnum, devnum,
 * busnum, time (ts_sec, ts_usec), status. */
static void check_common(const struct rec *r, uint64_t id, char type,
			 uint8_t xfer, uint8_t epnum, uint8_t dev,
			 uint64_t ts_ns, int32_t status)
{
	ck_assert_uint_eq(r->ts_ns, ts_ns);
	ck_assert_uint_eq(r->caplen, r->len);
	ck_assert_uint_ge(r->caplen, USBMON_HDR_LEN);
	ck_assert_uint_eq(u64_at(r, 0), id);
	ck_assert_int_eq(r->b[8], type);
	ck_assert_uint_eq(r->b[9], xfer);
	ck_assert_uint_eq(r->b[10], epnum);
	ck_assert_uint_eq(r->b[11], dev);
	ck_assert_uint_eq(u16_at(r, 12), BUS);
	ck_assert_uint_eq(u64_at(r, 16), ts_ns / 1000000000u);
	ck_assert_uint_eq(u32_at(r, 24), ts_ns % 1000000000u / 1000u);
	ck_assert_int_eq((int32_t)u32_at(r, 28), status);
	/* len_cap: every byte after the header */
	ck_assert_uint_eq(u32_at(r, 36), r->caplen - USBMON_HDR_LEN);
}

static void check_data(const struct rec *r, size_t off, const uint8_t *want,
		       uint32_t len)
{
	ck_assert_uint_eq(r->caplen, off + len);
	if (len)
		ck_assert_int_eq(memcmp(r->b + off, want, len), 0);
}

/* Reads the next record into r; false at the end of the file. */
static bool next(pcap_t *p, struct rec *r)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int e = pcap_next_ex(p, &h, &data);

	if (e == PCAP_ERROR_BREAK)
		return false;
	ck_assert_int_eq(e, 1);
	ck_assert_uint_le(h->caplen, sizeof(r->b));
	r->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u + h->ts.tv_usec;
	r->caplen = h->caplen;
	r->len = h->len;
	memcpy(r->b, data, h->caplen);
	return true;
}

struct fixture {
	char dir[64], path[128];
	FILE *f;
	struct usbmon *m;
};

static void fixture_open(struct fixture *fx)
{
	char err[256] = "";

	xpv_tmpdir_make(fx->dir, sizeof(fx->dir), "usbmon");
	snprintf(fx->path, sizeof(fx->path), "%s/t.pcap", fx->dir);
	fx->f = fopen(fx->path, "wb");
	ck_assert_ptr_nonnull(fx->f);
	ck_assert_msg(usbmon_open(fx->f, &fx->m, err, sizeof(err)) == 0, "%s",
		      err);
}

/* Closes the writer and the caller's FILE (both must work: the writer
 * has a stream of its own) and opens the file for reading. */
static pcap_t *fixture_reopen(struct fixture *fx)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p;

	ck_assert_int_eq(usbmon_close(fx->m, err, sizeof(err)), 0);
	ck_assert_int_eq(fclose(fx->f), 0);
	p = pcap_open_offline_with_tstamp_precision(
	    fx->path, PCAP_TSTAMP_PRECISION_NANO, err);
	ck_assert_msg(p != NULL, "%s", err);
	ck_assert_int_eq(pcap_datalink(p), 220);
	ck_assert_int_ge(pcap_snapshot(p), USBMON_HDR_LEN + BIG);
	return p;
}

START_TEST(control_and_bulk)
{
	static struct rec r;
	struct fixture fx;
	uint8_t desc[18], cbw[31];
	uint8_t *big = malloc(BIG);
	struct fut_usb_urb get = {
	    .tag = 0x8000000000000101ull,
	    .devaddr = 0,
	    .in = true,
	    .type = FUT_USB_CTRL,
	    .data = desc,
	    .len = sizeof(desc),
	    /* GET_DESCRIPTOR(device, 18) */
	    .setup = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 18, 0},
	};
	struct fut_usb_urb out = {
	    .tag = 0x8000000000000202ull,
	    .devaddr = 5,
	    .ep = 2,
	    .type = FUT_USB_BULK,
	    .data = cbw,
	    .len = sizeof(cbw),
	};
	struct fut_usb_urb in = {
	    .tag = 0x8000000000000303ull,
	    .devaddr = 5,
	    .ep = 1,
	    .in = true,
	    .type = FUT_USB_BULK,
	    .flags = FUT_USB_SHORT_NOT_OK,
	    .data = big,
	    .len = BIG,
	};
	struct fut_usb_result ok18 = {.actual = 18}, ok31 = {.actual = 31};
	struct fut_usb_result okbig = {.actual = BIG};
	pcap_t *p;

	for (unsigned i = 0; i < sizeof(desc); i++)
		desc[i] = (uint8_t)(0xd0 + i);
	for (unsigned i = 0; i < sizeof(cbw); i++)
		cbw[i] = (uint8_t)i;
	for (unsigned i = 0; i < BIG; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	fixture_open(&fx);
	usbmon_submit(fx.m, T0_NS, BUS, &get);
	usbmon_complete(fx.m, T0_NS + 1, BUS, &get, &ok18);
	usbmon_submit(fx.m, T0_NS + 2, BUS, &out);
	usbmon_complete(fx.m, T0_NS + 3, BUS, &out, &ok31);
	usbmon_submit(fx.m, T0_NS + 4, BUS, &in);
	usbmon_complete(fx.m, 5000000000ull, BUS, &in, &okbig);
	ck_assert_uint_eq(usbmon_records(fx.m), 6);
	p = fixture_reopen(&fx);

	/* Control IN submission: the setup packet, no data ('<'). */
	ck_assert(next(p, &r));
	check_common(&r, get.tag, 'S', 2, 0x80, 0, T0_NS, -115);
	ck_assert_int_eq(r.b[14], 0);	/* flag_setup: present */
	ck_assert_int_eq(r.b[15], '<'); /* flag_data */
	ck_assert_uint_eq(u32_at(&r, 32), 18);
	ck_assert_int_eq(memcmp(r.b + 40, get.setup, 8), 0);
	ck_assert_uint_eq(u32_at(&r, 56), 0x200); /* URB_DIR_IN */
	check_data(&r, USBMON_HDR_LEN, NULL, 0);
	/* Its completion: the 18 bytes. */
	ck_assert(next(p, &r));
	check_common(&r, get.tag, 'C', 2, 0x80, 0, T0_NS + 1, 0);
	ck_assert_int_eq(r.b[14], '-');
	ck_assert_int_eq(r.b[15], 0);
	ck_assert_uint_eq(u32_at(&r, 32), 18);
	check_data(&r, USBMON_HDR_LEN, desc, sizeof(desc));
	/* Bulk OUT: data on the submission, none on the completion. */
	ck_assert(next(p, &r));
	check_common(&r, out.tag, 'S', 3, 0x02, 5, T0_NS + 2, -115);
	ck_assert_int_eq(r.b[14], '-');
	ck_assert_int_eq(r.b[15], 0);
	check_data(&r, USBMON_HDR_LEN, cbw, sizeof(cbw));
	ck_assert(next(p, &r));
	check_common(&r, out.tag, 'C', 3, 0x02, 5, T0_NS + 3, 0);
	ck_assert_int_eq(r.b[15], '>');
	ck_assert_uint_eq(u32_at(&r, 32), 31);
	check_data(&r, USBMON_HDR_LEN, NULL, 0);
	/* 64 KiB bulk IN, captured whole; SHORT_NOT_OK is a Linux flag. */
	ck_assert(next(p, &r));
	check_common(&r, in.tag, 'S', 3, 0x81, 5, T0_NS + 4, -115);
	ck_assert_uint_eq(u32_at(&r, 32), BIG);
	ck_assert_uint_eq(u32_at(&r, 56), 0x201);
	check_data(&r, USBMON_HDR_LEN, NULL, 0);
	ck_assert(next(p, &r));
	check_common(&r, in.tag, 'C', 3, 0x81, 5, 5000000000ull, 0);
	check_data(&r, USBMON_HDR_LEN, big, BIG);
	ck_assert(!next(p, &r));
	pcap_close(p);
	free(big);
	xpv_tmpdir_remove(fx.dir);
}
END_TEST

START_TEST(iso_interrupt_error)
{
	static struct rec r;
	struct fixture fx;
	uint8_t audio[3 * 192], report[8] = {0, 0, 0x0b};
	struct fut_usb_iso_packet pk[3];
	struct fut_usb_urb iso = {
	    .tag = 0x11,
	    .devaddr = 7,
	    .ep = 2,
	    .in = true,
	    .type = FUT_USB_ISO,
	    .interval = 1,
	    .data = audio,
	    .len = sizeof(audio),
	    .packets = pk,
	    .npackets = 3,
	};
	struct fut_usb_urb irq = {
	    .tag = 0x22,
	    .devaddr = 8,
	    .ep = 1,
	    .in = true,
	    .type = FUT_USB_INT,
	    .interval = 10,
	    .data = report,
	    .len = sizeof(report),
	};
	struct fut_usb_result isores = {
	    .actual = 192 + 100, .error_count = 1, .start_frame = 77};
	struct fut_usb_result irqres = {.actual = 8};
	pcap_t *p;

	for (unsigned i = 0; i < 3; i++)
		pk[i] = (struct fut_usb_iso_packet){.offset = 192 * i,
						    .length = 192};
	memset(audio, 0x5a, sizeof(audio));
	fixture_open(&fx);
	usbmon_submit(fx.m, 10, BUS, &iso);
	/* Frame 0 full, frame 1 100 bytes, frame 2 failed. */
	pk[0].actual = 192;
	pk[1].actual = 100;
	pk[2].status = -71;
	usbmon_complete(fx.m, 20, BUS, &iso, &isores);
	usbmon_complete(fx.m, 30, BUS, &irq, &irqres);
	usbmon_error(fx.m, 40, BUS, &irq, -19);
	p = fixture_reopen(&fx);

	/* Iso IN submission: three descriptors asking 192 bytes each, no
	 * data; error_count and numdesc in the setup union. */
	ck_assert(next(p, &r));
	check_common(&r, 0x11, 'S', 0, 0x82, 7, 10, -115);
	ck_assert_int_eq(r.b[15], '<');
	ck_assert_uint_eq(u32_at(&r, 44), 3); /* numdesc */
	ck_assert_uint_eq(u32_at(&r, 48), 1); /* interval */
	ck_assert_uint_eq(u32_at(&r, 60), 3); /* ndesc */
	ck_assert_uint_eq(r.caplen, USBMON_HDR_LEN + 3 * USBMON_ISODESC_LEN);
	for (unsigned i = 0; i < 3; i++) {
		size_t d = USBMON_HDR_LEN + i * USBMON_ISODESC_LEN;

		ck_assert_int_eq((int32_t)u32_at(&r, d), -18); /* -EXDEV */
		ck_assert_uint_eq(u32_at(&r, d + 4), 192 * i);
		ck_assert_uint_eq(u32_at(&r, d + 8), 192);
	}
	/* Completion: actual lengths and statuses per frame, data up to the
	 * end of the last frame with any (192 + 100 bytes). */
	ck_assert(next(p, &r));
	check_common(&r, 0x11, 'C', 0, 0x82, 7, 20, 0);
	ck_assert_uint_eq(u32_at(&r, 32), 292);
	ck_assert_uint_eq(u32_at(&r, 40), 1);  /* error_count */
	ck_assert_uint_eq(u32_at(&r, 52), 77); /* start_frame */
	ck_assert_uint_eq(u32_at(&r, USBMON_HDR_LEN + 16 + 8), 100);
	ck_assert_int_eq((int32_t)u32_at(&r, USBMON_HDR_LEN + 32), -71);
	check_data(&r, USBMON_HDR_LEN + 3 * USBMON_ISODESC_LEN, audio, 292);
	/* Interrupt IN completion: the report and the interval. */
	ck_assert(next(p, &r));
	check_common(&r, 0x22, 'C', 1, 0x81, 8, 30, 0);
	ck_assert_uint_eq(u32_at(&r, 48), 10);
	check_data(&r, USBMON_HDR_LEN, report, sizeof(report));
	/* A refusal: 'E', the error, nothing else. */
	ck_assert(next(p, &r));
	check_common(&r, 0x22, 'E', 1, 0x81, 8, 40, -19);
	ck_assert_int_eq(r.b[14], '-');
	ck_assert_int_eq(r.b[15], 'E');
	ck_assert_uint_eq(u32_at(&r, 32), 0);
	check_data(&r, USBMON_HDR_LEN, NULL, 0);
	ck_assert(!next(p, &r));
	pcap_close(p);
	xpv_tmpdir_remove(fx.dir);
}
END_TEST

/* An output without a descriptor is refused with a message. */
START_TEST(not_a_file)
{
	char buf[16], err[128] = "";
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct usbmon *m = NULL;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(usbmon_open(f, &m, err, sizeof(err)), -1);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(strstr(err, "not a file"));
	fclose(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("usbmon");
	TCase *tc = tcase_create("records");

	tcase_add_test(tc, control_and_bulk);
	tcase_add_test(tc, iso_interrupt_error);
	tcase_add_test(tc, not_a_file);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
