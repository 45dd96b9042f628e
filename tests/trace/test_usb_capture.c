/*
 * Importing a real USB device from a capture (sim/devices/usb_capture.h,
 * usb_replay.h): captures of a made-up device (a boot keyboard with a
 * vendor bulk interface) are written here with libpcap in the three
 * formats (usbmon 189 and 220, USBPcap 249), read back into transfers,
 * and replayed by a device driven through the usb_device.h API as the
 * backend would drive it. The malformed files of tests/trace/captures/
 * give their exact messages.
 *
 * `test_usb_capture --write DIR` writes the generated captures and the
 * malformed ones into DIR instead of testing: the seeds of
 * corpus/capture/ and the files of tests/trace/captures/ came from it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "check_main.h"
#include "sim/devices/usb_capture.h"
#include "sim/devices/usb_replay.h"
#include "../devices/usb_test.h"

#define MS	  1000000ull
#define BUS	  1
#define ADDR	  5
#define ERR_LEN	  512
#define REC_MAX	  2048
#define WAIT_A_US 500000 /* the keyboard's first report came 500 ms late */

enum gen_status { GEN_OK, GEN_STALL, GEN_CANCELLED };

/* One transfer of the made-up capture. */
struct spec {
	uint16_t bus, addr;
	uint8_t ep;
	bool in;
	enum sim_usb_ep_type type;
	const uint8_t *setup; /* control: 8 bytes */
	const uint8_t *data;  /* OUT: sent; IN: answered */
	uint32_t len;
	enum gen_status status;
	uint32_t wait_us; /* submission to completion */
};

struct gen {
	pcap_t *dead;
	pcap_dumper_t *dump;
	int linktype;
	uint64_t t_us;
	uint64_t id;
	unsigned records;
};

/* ---- the made-up device ---- */

static const uint8_t dev_desc[18] = {18,   1,	 0x00, 0x02, 0,	   0,
				     0,	   8,	 0x34, 0x12, 0x78, 0x56,
				     0x00, 0x01, 1,    2,    0,	   1};
/* Interface 0: HID boot keyboard, interrupt IN 1 (8 bytes, 10 ms);
 * interface 1: vendor, bulk OUT 2 and bulk IN 2 (64 bytes). */
static const uint8_t full_config[57] = {
    9,	  2, 57, 0,  2,	   1,	 0,    0xa0, 50, 9,    4, 0, 0, 1, 3,
    1,	  1, 0,	 9,  0x21, 0x11, 0x01, 0,    1,	 0x22, 7, 0, 7, 5, 0x81,
    3,	  8, 0,	 10, 9,	   4,	 1,    0,    2,	 0xff, 0, 0, 0, 7, 5,
    0x02, 2, 64, 0,  0,	   7,	 5,    0x82, 2,	 64,   0, 0};
static const uint8_t report_desc[7] = {0x05, 0x01, 0x09, 0x06,
				       0xa1, 0x01, 0xc0};
static const uint8_t hub_desc[18] = {18,   1,	 0x00, 0x02, 9,	   0,
				     1,	   64,	 0x6b, 0x1d, 0x02, 0x00,
				     0x00, 0x01, 3,    2,    1,	   1};
static const uint8_t lang_desc[4] = {4, 3, 0x09, 0x04};
static const uint8_t str_acme[10] = {10, 3, 'A', 0, 'c', 0, 'm', 0, 'e', 0};
static const uint8_t str_kbd[8] = {8, 3, 'K', 0, 'b', 0, 0xe9, 0}; /* é */
static const uint8_t report_a[8] = {0, 0, 0x04, 0, 0, 0, 0, 0};	   /* 'a' */
static const uint8_t report_b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t leds[1] = {0x01};
static const uint8_t ping[4] = {'P', 'I', 'N', 'G'};
static const uint8_t pong[5] = {'P', 'O', 'N', 'G', '!'};
static const uint8_t vendor_answer[4] = {0xde, 0xad, 0xbe, 0xef};

static const uint8_t get_dev64[8] = {0x80, 6, 0, 1, 0, 0, 64, 0};
static const uint8_t set_addr[8] = {0x00, 5, ADDR, 0, 0, 0, 0, 0};
static const uint8_t get_dev18[8] = {0x80, 6, 0, 1, 0, 0, 18, 0};
static const uint8_t get_cfg9[8] = {0x80, 6, 0, 2, 0, 0, 9, 0};
static const uint8_t get_cfg[8] = {0x80, 6, 0, 2, 0, 0, 0xff, 0};
static const uint8_t get_lang[8] = {0x80, 6, 0, 3, 0, 0, 0xff, 0};
static const uint8_t get_str1[8] = {0x80, 6, 1, 3, 0x09, 0x04, 0xff, 0};
static const uint8_t get_str2[8] = {0x80, 6, 2, 3, 0x09, 0x04, 0xff, 0};
static const uint8_t set_cfg[8] = {0x00, 9, 1, 0, 0, 0, 0, 0};
static const uint8_t set_idle[8] = {0x21, 0x0a, 0, 0, 0, 0, 0, 0};
static const uint8_t get_report_desc[8] = {0x81, 6, 0, 0x22, 0, 0, 0x47, 0};
static const uint8_t set_report[8] = {0x21, 9, 0, 2, 0, 0, 1, 0};
static const uint8_t vendor_in[8] = {0xc0, 1, 0, 0, 0, 0, 4, 0};

/* ---- writing captures ---- */

/* The writers also run outside any test (--write): no ck_assert. */
#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s failed\n", __FILE__,        \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

static void put_record(struct gen *g, const uint8_t *rec, uint32_t len)
{
	struct pcap_pkthdr h = {
	    .ts = {.tv_sec = (time_t)(g->t_us / 1000000),
		   .tv_usec = (suseconds_t)(g->t_us % 1000000)},
	    .caplen = len,
	    .len = len,
	};

	pcap_dump((u_char *)g->dump, &h, rec);
	g->records++;
}

static int32_t errno_of(enum gen_status st)
{
	return st == GEN_OK ? 0 : st == GEN_STALL ? -EPIPE : -ENOENT;
}

static uint32_t usbd_of(enum gen_status st)
{
	return st == GEN_OK ? 0 : st == GEN_STALL ? 0xc0000004u : 0xc0010000u;
}

/* usbmon's xfer_type and USBPcap's transfer: ISO 0, interrupt 1,
 * control 2, bulk 3. */
static uint8_t capture_type(enum sim_usb_ep_type t)
{
	return t == SIM_USB_EP_CONTROL	   ? 2
	       : t == SIM_USB_EP_BULK	   ? 3
	       : t == SIM_USB_EP_INTERRUPT ? 1
					   : 0;
}

/* A usbmon event (usbmon.rst's struct usbmon_packet, host order). */
static void put_usbmon(struct gen *g, const struct spec *s, char ev,
		       uint32_t length, const uint8_t *data, uint32_t dlen)
{
	uint32_t hdr = g->linktype == SIM_USB_CAPTURE_LINUX ? 48 : 64;
	uint8_t rec[REC_MAX] = {0};
	int64_t sec = (int64_t)(g->t_us / 1000000);
	int32_t usec = (int32_t)(g->t_us % 1000000);
	int32_t status = ev == 'S' ? -EINPROGRESS : errno_of(s->status);
	uint8_t epaddr = (uint8_t)(s->ep | (s->in ? 0x80 : 0));

	REQUIRE(hdr + dlen <= sizeof(rec));
	memcpy(rec, &g->id, 8);
	rec[8] = (uint8_t)ev;
	rec[9] = capture_type(s->type);
	rec[10] = epaddr;
	rec[11] = (uint8_t)s->addr;
	memcpy(rec + 12, &s->bus, 2);
	rec[14] = ev == 'S' && s->setup ? 0 : '-';
	rec[15] = dlen ? 0 : (ev == 'S' ? '<' : '>');
	memcpy(rec + 16, &sec, 8);
	memcpy(rec + 24, &usec, 4);
	memcpy(rec + 28, &status, 4);
	memcpy(rec + 32, &length, 4);
	memcpy(rec + 36, &dlen, 4);
	if (ev == 'S' && s->setup)
		memcpy(rec + 40, s->setup, 8);
	if (dlen)
		memcpy(rec + hdr, data, dlen);
	put_record(g, rec, hdr + dlen);
}

/* A USBPcap packet; stage < 0 for a non-control one. */
static void put_usbpcap(struct gen *g, const struct spec *s, bool up, int stage,
			const uint8_t *data, uint32_t dlen)
{
	uint8_t rec[REC_MAX] = {0};
	uint16_t hlen = stage >= 0 ? 28 : 27;
	uint32_t status = up ? usbd_of(s->status) : 0;
	uint8_t epaddr = (uint8_t)(s->ep | (s->in ? 0x80 : 0));

	rec[0] = (uint8_t)hlen;
	memcpy(rec + 2, &g->id, 8);
	memcpy(rec + 10, &status, 4);
	rec[16] = up ? 1 : 0;
	memcpy(rec + 17, &s->bus, 2);
	memcpy(rec + 19, &s->addr, 2);
	rec[21] = epaddr;
	rec[22] = capture_type(s->type);
	memcpy(rec + 23, &dlen, 4);
	if (stage >= 0)
		rec[27] = (uint8_t)stage;
	if (dlen)
		memcpy(rec + hlen, data, dlen);
	put_record(g, rec, hlen + dlen);
}

static void gen_usbpcap(struct gen *g, const struct spec *s)
{
	bool ctl = s->type == SIM_USB_EP_CONTROL;
	uint32_t in_len = s->in && s->status == GEN_OK ? s->len : 0;

	if (ctl)
		put_usbpcap(g, s, false, 0, s->setup, 8);
	if (!s->in && s->len)
		put_usbpcap(g, s, false, ctl ? 1 : -1, s->data, s->len);
	else if (!ctl)
		put_usbpcap(g, s, false, -1, NULL, 0);
	g->t_us += s->wait_us;
	if (ctl && in_len)
		put_usbpcap(g, s, true, 1, s->data, in_len);
	put_usbpcap(g, s, true, ctl ? 2 : -1, ctl ? NULL : s->data,
		    ctl ? 0 : in_len);
}

/* Writes one transfer; returns the record number of its submission. */
static unsigned gen_xfer(struct gen *g, const struct spec *s)
{
	unsigned first = g->records + 1;
	uint32_t in_len = s->in && s->status == GEN_OK ? s->len : 0;
	uint32_t asked = s->setup ? (uint32_t)(s->setup[6] | s->setup[7] << 8)
				  : (s->in ? 64 : s->len);

	g->id += 0x40;
	g->t_us += 1000;
	if (g->linktype == SIM_USB_CAPTURE_USBPCAP) {
		gen_usbpcap(g, s);
		return first;
	}
	put_usbmon(g, s, 'S', asked, s->data, s->in ? 0 : s->len);
	g->t_us += s->wait_us;
	put_usbmon(g, s, 'C', s->in ? in_len : s->len, s->data, in_len);
	return first;
}

static void gen_open(struct gen *g, const char *path, int linktype)
{
	memset(g, 0, sizeof(*g));
	g->linktype = linktype;
	g->id = 0xffff888000001000ull;
	g->dead = pcap_open_dead(linktype, 65535);
	REQUIRE(g->dead);
	g->dump = pcap_dump_open(g->dead, path);
	REQUIRE(g->dump);
}

static void gen_close(struct gen *g)
{
	pcap_dump_close(g->dump);
	pcap_close(g->dead);
}

static struct spec ctl_in(uint16_t addr, const uint8_t *setup,
			  const uint8_t *answer, uint32_t len)
{
	return (struct spec){BUS,   addr,   0,	 true,	 SIM_USB_EP_CONTROL,
			     setup, answer, len, GEN_OK, 100};
}

static struct spec ctl_out(uint16_t addr, const uint8_t *setup,
			   const uint8_t *data, uint32_t len)
{
	return (struct spec){BUS,   addr, 0,   false,  SIM_USB_EP_CONTROL,
			     setup, data, len, GEN_OK, 100};
}

static struct spec data_xfer(uint8_t ep, bool in, enum sim_usb_ep_type type,
			     const uint8_t *data, uint32_t len,
			     enum gen_status st, uint32_t wait_us)
{
	return (struct spec){BUS,  ADDR, ep,  in, type,
			     NULL, data, len, st, wait_us};
}

/* Record numbers the tests look for. */
struct made {
	unsigned set_report, report_a, ping;
};

/* The hub's descriptor, enumeration at address 0 and at ADDR, the HID
 * class requests, two keyboard reports (the first after WAIT_A_US) and
 * a third unlinked, a bulk ping-pong and a vendor request. */
static struct made write_capture(const char *path, int linktype)
{
	struct gen g;
	struct made m;
	struct spec s;

	gen_open(&g, path, linktype);
	gen_xfer(&g, &(struct spec){BUS, 1, 0, true, SIM_USB_EP_CONTROL,
				    get_dev18, hub_desc, 18, GEN_OK, 50});
	gen_xfer(&g, &(struct spec){BUS, 0, 0, true, SIM_USB_EP_CONTROL,
				    get_dev64, dev_desc, 18, GEN_OK, 50});
	gen_xfer(&g, &(struct spec){BUS, 0, 0, false, SIM_USB_EP_CONTROL,
				    set_addr, NULL, 0, GEN_OK, 50});
	gen_xfer(&g, (s = ctl_in(ADDR, get_dev18, dev_desc, 18), &s));
	gen_xfer(&g, (s = ctl_in(ADDR, get_cfg9, full_config, 9), &s));
	gen_xfer(&g, (s = ctl_in(ADDR, get_cfg, full_config, 57), &s));
	gen_xfer(&g, (s = ctl_in(ADDR, get_lang, lang_desc, 4), &s));
	gen_xfer(&g, (s = ctl_in(ADDR, get_str2, str_kbd, 8), &s));
	gen_xfer(&g, (s = ctl_in(ADDR, get_str1, str_acme, 10), &s));
	gen_xfer(&g, (s = ctl_out(ADDR, set_cfg, NULL, 0), &s));
	gen_xfer(&g, (s = ctl_out(ADDR, set_idle, NULL, 0), &s));
	gen_xfer(&g, (s = ctl_in(ADDR, get_report_desc, report_desc, 7), &s));
	m.set_report =
	    gen_xfer(&g, (s = ctl_out(ADDR, set_report, leds, 1), &s));
	m.report_a =
	    gen_xfer(&g, (s = data_xfer(1, true, SIM_USB_EP_INTERRUPT, report_a,
					8, GEN_OK, WAIT_A_US),
			  &s));
	gen_xfer(&g, (s = data_xfer(1, true, SIM_USB_EP_INTERRUPT, report_b, 8,
				    GEN_OK, 8000),
		      &s));
	m.ping = gen_xfer(
	    &g, (s = data_xfer(2, false, SIM_USB_EP_BULK, ping, 4, GEN_OK, 100),
		 &s));
	gen_xfer(&g,
		 (s = data_xfer(2, true, SIM_USB_EP_BULK, pong, 5, GEN_OK, 100),
		  &s));
	gen_xfer(&g, (s = ctl_in(ADDR, vendor_in, vendor_answer, 4), &s));
	gen_xfer(&g, (s = data_xfer(1, true, SIM_USB_EP_INTERRUPT, NULL, 0,
				    GEN_CANCELLED, 20000),
		      &s));
	gen_close(&g);
	return m;
}

/* ---- malformed files (tests/trace/captures/) ---- */

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	REQUIRE(f);
	REQUIRE(fwrite(p, 1, n, f) == n);
	REQUIRE(fclose(f) == 0);
}

/* A capture of one record of len bytes (rec) with link type lt. */
static void write_one(const char *path, int lt, const uint8_t *rec,
		      uint32_t len)
{
	struct gen g;

	gen_open(&g, path, lt);
	put_record(&g, rec, len);
	gen_close(&g);
}

static void write_malformed(const char *dir)
{
	char p[512];
	uint8_t rec[64] = {0};
	uint32_t v;
	struct stat stb;

	snprintf(p, sizeof(p), "%s/empty.pcap", dir);
	write_bytes(p, "", 0);
	snprintf(p, sizeof(p), "%s/foreign-ethernet.pcap", dir);
	write_one(p, 1 /* DLT_EN10MB */, rec, 14);
	snprintf(p, sizeof(p), "%s/short-usbmon-header.pcap", dir);
	rec[8] = 'S';
	write_one(p, SIM_USB_CAPTURE_LINUX, rec, 20);
	snprintf(p, sizeof(p), "%s/usbmon-data-past-record.pcap", dir);
	v = 100; /* len_cap, with no data after the header */
	memcpy(rec + 36, &v, 4);
	write_one(p, SIM_USB_CAPTURE_LINUX, rec, 48);
	snprintf(p, sizeof(p), "%s/usbpcap-bad-headerlen.pcap", dir);
	memset(rec, 0, sizeof(rec));
	rec[0] = 200;
	write_one(p, SIM_USB_CAPTURE_USBPCAP, rec, 27);
	snprintf(p, sizeof(p), "%s/usbpcap-data-past-record.pcap", dir);
	rec[0] = 27;
	rec[22] = 3;
	rec[23] = 50;
	write_one(p, SIM_USB_CAPTURE_USBPCAP, rec, 30);
	/* A whole capture cut in the middle of a record's data. */
	snprintf(p, sizeof(p), "%s/truncated-record.pcap", dir);
	write_capture(p, SIM_USB_CAPTURE_LINUX);
	REQUIRE(stat(p, &stb) == 0);
	REQUIRE(truncate(p, 24 + 16 + 48 + 16 + 10) == 0);
}

/* ---- reading ---- */

static const int linktypes[] = {SIM_USB_CAPTURE_LINUX,
				SIM_USB_CAPTURE_LINUX_MMAPPED,
				SIM_USB_CAPTURE_USBPCAP};

static struct sim_usb_capture *read_ok(const char *path,
				       const struct sim_usb_capture_select *sel)
{
	struct sim_usb_capture *c;
	char err[ERR_LEN] = "";

	ck_assert_msg(
	    sim_usb_capture_read_file(path, sel, &c, err, sizeof(err)) == 0,
	    "%s", err);
	return c;
}

static struct sim_usb_capture *generated(int lt, struct made *m)
{
	char path[64];
	struct made mm;

	snprintf(path, sizeof(path), "capture-%d.pcap", lt);
	mm = write_capture(path, lt);
	if (m)
		*m = mm;
	return read_ok(path, NULL);
}

static const struct sim_usb_cap_xfer *
find_record(const struct sim_usb_capture *c, unsigned record)
{
	for (unsigned i = 0; i < c->nxfers; i++)
		if (c->xfers[i].record == record)
			return &c->xfers[i];
	ck_abort_msg("no transfer submitted at record %u", record);
	return NULL;
}

/* Loop index: link type. */
START_TEST(test_parse)
{
	int lt = linktypes[_i];
	struct made m;
	struct sim_usb_capture *c = generated(lt, &m);
	const struct sim_usb_cap_xfer *x;
	/* usbmon: 2 records a transfer; USBPcap: SETUP and STATUS for each
	 * of the 14 control transfers (and a DATA stage for the 11 with
	 * data), 2 for each of the 5 others. */
	unsigned records =
	    lt == SIM_USB_CAPTURE_USBPCAP ? 2 * 14 + 11 + 2 * 5 : 2 * 19;

	ck_assert_int_eq(c->linktype, lt);
	ck_assert_uint_eq(c->records, records);
	ck_assert_uint_eq(c->bus, BUS);
	ck_assert_uint_eq(c->addr, ADDR); /* the hub and address 0 skipped */
	ck_assert_uint_eq(c->other_devices, 3);
	ck_assert_uint_eq(c->nxfers, 16);
	ck_assert_uint_eq(c->orphan_completions, 0);
	ck_assert_uint_eq(c->unfinished, 0);

	x = find_record(c, m.set_report);
	ck_assert(!x->in && x->type == SIM_USB_EP_CONTROL);
	ck_assert_uint_eq(x->setup.bmRequestType, 0x21);
	ck_assert_uint_eq(x->setup.wValue, 0x0200);
	ck_assert_uint_eq(x->len, 1);
	ck_assert_uint_eq(x->data[0], leds[0]);

	x = find_record(c, m.report_a);
	ck_assert(x->in && x->type == SIM_USB_EP_INTERRUPT && x->ep == 1);
	ck_assert_int_eq(x->status, SIM_USB_OK);
	ck_assert_uint_eq(x->len, 8);
	ck_assert_mem_eq(x->data, report_a, 8);
	ck_assert_uint_eq(x->done_ns - x->submit_ns, WAIT_A_US * 1000ull);

	x = find_record(c, m.ping);
	ck_assert(!x->in && x->type == SIM_USB_EP_BULK && x->ep == 2);
	ck_assert_mem_eq(x->data, ping, 4);
	x = &c->xfers[c->nxfers - 1];
	ck_assert(x->cancelled);
	ck_assert_int_eq(x->raw_status, lt == SIM_USB_CAPTURE_USBPCAP
					    ? (int32_t)0xc0010000u
					    : -ENOENT);
	sim_usb_capture_free(c);
}
END_TEST

START_TEST(test_select)
{
	struct sim_usb_capture *c;
	struct sim_usb_capture_select hub = {BUS, 1}, none = {2, 9};
	char err[ERR_LEN];
	struct sim_usb_device *d;

	write_capture("capture-select.pcap", SIM_USB_CAPTURE_LINUX);
	c = read_ok("capture-select.pcap", &hub);
	ck_assert_uint_eq(c->nxfers, 1);
	ck_assert_uint_eq(c->other_devices, 18);
	/* The hub has a device descriptor and nothing else. */
	ck_assert_int_eq(sim_usb_replay_new(c, NULL, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "capture: device 1.1: no complete configuration "
			      "descriptor in the capture");
	sim_usb_capture_free(c);
	ck_assert_int_eq(sim_usb_capture_read_file("capture-select.pcap", &none,
						   &c, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err,
			 "capture-select.pcap: no transfers of device 2.9");
}
END_TEST

/* ---- replaying ---- */

static struct sim_usb_device *replay_of(int lt, struct made *m)
{
	struct sim_usb_capture *c = generated(lt, m);
	struct sim_usb_device *d = USB_TEST_NEW(sim_usb_replay_new, c, NULL);

	sim_usb_capture_free(c); /* the device keeps its own copy */
	return d;
}

static void enumerate(struct sim_usb_device *d)
{
	uint8_t buf[256];
	uint32_t n;
	char s[128];

	ck_assert_int_eq(sim_usb_device_speed(d), SIM_USB_SPEED_FULL);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 64, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 18);
	ck_assert_mem_eq(buf, dev_desc, 18);
	usb_test_configure(d, 9);
	/* Any order, any length: the core answers from the descriptors. */
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 57);
	ck_assert_mem_eq(buf, full_config, 57);
	get_string(d, 2, s);
	ck_assert_str_eq(s, "Kb?"); /* U+00E9 is not ASCII */
	get_string(d, 1, s);
	ck_assert_str_eq(s, "Acme");
	/* The report descriptor from the table, before its turn. */
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 0, 255, buf, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 7);
	ck_assert_mem_eq(buf, report_desc, 7);
}

static void expect_in(struct sim_usb_device *d, uint64_t t, uint8_t ep,
		      enum sim_usb_ep_type type, const uint8_t *want,
		      uint32_t n)
{
	uint8_t buf[64];
	uint32_t got;

	ck_assert_int_eq(
	    usb_test_xfer(d, t, ep, true, type, buf, sizeof(buf), &got),
	    SIM_USB_OK);
	ck_assert_uint_eq(got, n);
	ck_assert_mem_eq(buf, want, n);
}

/* Loop index: link type. */
START_TEST(test_replay_in_order)
{
	struct sim_usb_device *d = replay_of(linktypes[_i], NULL);
	struct sim_usb_replay_stats st;
	uint8_t buf[8];
	uint32_t n;
	uint64_t t0 = 100 * MS;

	enumerate(d);
	ck_assert_int_eq(ctl(d, 0x21, 0x0a, 0, 0, 0, NULL, NULL), SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x21, 0x09, 0x0200, 0, 1, (uint8_t *)leds, NULL),
	    SIM_USB_OK);
	/* The real keyboard kept its first poll 500 ms. */
	usb_test_expect_nak(d, t0, 1, SIM_USB_EP_INTERRUPT, 64);
	usb_test_expect_nak(d, t0 + 499 * MS, 1, SIM_USB_EP_INTERRUPT, 64);
	expect_in(d, t0 + 500 * MS, 1, SIM_USB_EP_INTERRUPT, report_a, 8);
	usb_test_expect_nak(d, t0 + 501 * MS, 1, SIM_USB_EP_INTERRUPT, 64);
	/* The second waited 8 ms, from the poll at 501 ms. */
	usb_test_expect_nak(d, t0 + 508 * MS, 1, SIM_USB_EP_INTERRUPT, 64);
	expect_in(d, t0 + 509 * MS, 1, SIM_USB_EP_INTERRUPT, report_b, 8);
	/* The third poll was unlinked: nothing more, for ever. */
	usb_test_expect_nak(d, 10000 * MS, 1, SIM_USB_EP_INTERRUPT, 64);
	ck_assert_int_eq(usb_test_xfer(d, t0, 2, false, SIM_USB_EP_BULK,
				       (void *)ping, 4, &n),
			 SIM_USB_OK);
	ck_assert_uint_eq(n, 4);
	/* The bulk answer came 100 us after its submission. */
	usb_test_expect_nak(d, t0, 2, SIM_USB_EP_BULK, 64);
	expect_in(d, t0 + 100000, 2, SIM_USB_EP_BULK, pong, 5);
	ck_assert_int_eq(ctl(d, 0xc0, 1, 0, 0, 4, buf, &n), SIM_USB_OK);
	ck_assert_mem_eq(buf, vendor_answer, 4);

	sim_usb_replay_stats(d, &st);
	ck_assert(!st.diverged);
	ck_assert_uint_eq(st.transfers, 16);
	ck_assert_uint_eq(st.scripted, 7);
	ck_assert_uint_eq(st.replayed, 7);
	ck_assert_uint_eq(st.by_descriptors, 8);
	ck_assert_uint_eq(st.not_replayed, 1);
	ck_assert_uint_eq(st.polls_past_end, 1);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_divergence)
{
	struct made m;
	struct sim_usb_device *d = replay_of(SIM_USB_CAPTURE_LINUX, &m);
	struct sim_usb_replay_stats st;
	static const uint8_t caps[1] = {0x02};
	char line[1024], want[1024];
	uint8_t buf[8];
	uint32_t n;

	enumerate(d);
	ck_assert_int_eq(ctl(d, 0x21, 0x0a, 0, 0, 0, NULL, NULL), SIM_USB_OK);
	/* Caps Lock where the capture has Num Lock. */
	ck_assert_int_eq(
	    ctl_at(d, 7 * MS, 0x21, 0x09, 0x0200, 0, 1, (uint8_t *)caps, NULL),
	    SIM_USB_STALL);
	sim_usb_replay_stats(d, &st);
	ck_assert(st.diverged);
	ck_assert_uint_eq(st.div.now_ns, 7 * MS);
	ck_assert_uint_eq(st.div.ep, 0);
	ck_assert_uint_eq(st.div.record, m.set_report);
	ck_assert_str_eq(st.div.expected, "SETUP 21 09 0200 0000 0001 data 01");
	ck_assert_str_eq(st.div.got, "SETUP 21 09 0200 0000 0001 data 02");
	/* Data endpoints fall silent; control still finds what follows. */
	usb_test_expect_nak(d, 2000 * MS, 1, SIM_USB_EP_INTERRUPT, 64);
	ck_assert_int_eq(
	    usb_test_xfer(d, 0, 2, false, SIM_USB_EP_BULK, (void *)ping, 4, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xc0, 1, 0, 0, 4, buf, &n), SIM_USB_OK);
	ck_assert_mem_eq(buf, vendor_answer, 4);
	sim_usb_replay_stats(d, &st);
	ck_assert_uint_eq(st.replayed, 2);
	ck_assert_uint_eq(st.skipped, 1); /* the SET_REPORT */
	sim_usb_replay_report(d, line, sizeof(line));
	snprintf(want, sizeof(want),
		 "replayed 2 of 7 scripted transfers (16 in the capture: 8 "
		 "answered from descriptors, 1 not replayed; 1 skipped); "
		 "diverged at 7000000 ns on endpoint 0 OUT: expected SETUP 21 "
		 "09 0200 0000 0001 data 01, got SETUP 21 09 0200 0000 0001 "
		 "data 02 (capture record %u)",
		 m.set_report);
	ck_assert_str_eq(line, want);
	sim_usb_device_free(d);
}
END_TEST

/* An OUT the capture does not have next, and an IN bigger than the
 * guest's buffer, on the data endpoints. */
START_TEST(test_data_divergence)
{
	struct made m;
	struct sim_usb_device *d = replay_of(SIM_USB_CAPTURE_USBPCAP, &m);
	struct sim_usb_replay_stats st;
	static const uint8_t pang[4] = {'P', 'A', 'N', 'G'};
	uint8_t small[4];
	uint32_t n;

	enumerate(d);
	ck_assert_int_eq(usb_test_xfer(d, 3 * MS, 2, false, SIM_USB_EP_BULK,
				       (void *)pang, 4, &n),
			 SIM_USB_STALL);
	sim_usb_replay_stats(d, &st);
	ck_assert(st.diverged);
	ck_assert_uint_eq(st.div.record, m.ping);
	ck_assert_str_eq(st.div.expected, "OUT data of 4 bytes 50 49 4e 47");
	ck_assert_str_eq(st.div.got, "OUT data of 4 bytes 50 41 4e 47");
	sim_usb_device_free(d);

	d = replay_of(SIM_USB_CAPTURE_LINUX_MMAPPED, &m);
	enumerate(d);
	ck_assert_int_eq(
	    usb_test_xfer(d, 0, 2, false, SIM_USB_EP_BULK, (void *)ping, 4, &n),
	    SIM_USB_OK);
	usb_test_expect_nak(d, 0, 2, SIM_USB_EP_BULK, sizeof(small));
	ck_assert_int_eq(usb_test_xfer(d, MS, 2, true, SIM_USB_EP_BULK, small,
				       sizeof(small), &n),
			 SIM_USB_BABBLE);
	sim_usb_replay_stats(d, &st);
	ck_assert(st.diverged);
	ck_assert_str_eq(st.div.expected, "IN answer of 5 bytes");
	ck_assert_str_eq(st.div.got, "IN buffer of 4 bytes");
	sim_usb_device_free(d);
}
END_TEST

/* ---- malformed input ---- */

struct bad {
	const char *file;
	const char *message; /* after "PATH: " */
};

static const struct bad bads[] = {
    {"empty.pcap",
     "file header (byte offset 0): not a pcap file: libpcap: truncated "
     "dump file; tried to read 4 file header bytes, only got 0"},
    {"foreign-ethernet.pcap",
     "file header (byte offset 0): foreign pcap: link type 1, want 189, "
     "220 or 249"},
    {"short-usbmon-header.pcap",
     "record 1 (byte offset 24): usbmon header needs 48 bytes, the record "
     "has 20"},
    {"usbmon-data-past-record.pcap",
     "record 1 (byte offset 24): usbmon data length 100 runs past the "
     "record (0 bytes after the header)"},
    {"usbpcap-bad-headerlen.pcap",
     "record 1 (byte offset 24): USBPcap headerLen 200 outside 27..27"},
    {"usbpcap-data-past-record.pcap",
     "record 1 (byte offset 24): USBPcap dataLength 50 runs past the "
     "record (3 bytes after the 27-byte header)"},
    {"truncated-record.pcap",
     "record 2 (byte offset 88): libpcap: truncated dump file; tried to "
     "read 66 captured bytes, only got 10"},
};

START_TEST(test_bad_input)
{
	const struct bad *b = &bads[_i];
	struct sim_usb_capture *c = (void *)1;
	char path[512], want[1024], err[ERR_LEN] = "";

	snprintf(path, sizeof(path), "%s/%s", XPV_CAPTURES_DIR, b->file);
	snprintf(want, sizeof(want), "%s: %s", path, b->message);
	ck_assert_int_eq(
	    sim_usb_capture_read_file(path, NULL, &c, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, want);
}
END_TEST

/* A completion whose submission is not in the file (the capture started
 * late), and a submission never completed (it ended early). */
START_TEST(test_tolerated)
{
	struct gen g;
	struct spec s = ctl_in(ADDR, get_dev18, dev_desc, 18);
	struct sim_usb_capture *c;

	gen_open(&g, "capture-partial.pcap", SIM_USB_CAPTURE_LINUX);
	put_usbmon(&g, &s, 'C', 18, dev_desc, 18);
	gen_xfer(&g, &s);
	g.id += 0x40;
	put_usbmon(&g, &s, 'S', 18, NULL, 0);
	gen_close(&g);
	c = read_ok("capture-partial.pcap", NULL);
	ck_assert_uint_eq(c->records, 4);
	ck_assert_uint_eq(c->orphan_completions, 1);
	ck_assert_uint_eq(c->unfinished, 1);
	ck_assert_uint_eq(c->nxfers, 1);
	sim_usb_capture_free(c);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("usb_capture");
	TCase *tc = tcase_create("capture");

	tcase_add_loop_test(tc, test_parse, 0, 3);
	tcase_add_test(tc, test_select);
	tcase_add_loop_test(tc, test_replay_in_order, 0, 3);
	tcase_add_test(tc, test_divergence);
	tcase_add_test(tc, test_data_divergence);
	tcase_add_loop_test(tc, test_bad_input, 0,
			    (int)(sizeof(bads) / sizeof(bads[0])));
	tcase_add_test(tc, test_tolerated);
	suite_add_tcase(s, tc);
	return s;
}

/* The seeds and malformed files, written into dir. */
static int write_all(const char *dir)
{
	char p[512];

	for (unsigned i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/keyboard-bulk-%d.pcap", dir,
			 linktypes[i]);
		write_capture(p, linktypes[i]);
	}
	write_malformed(dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return write_all(argv[2]);
	return xpv_check_run(suite());
}
