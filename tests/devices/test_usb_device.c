/*
 * The USB device core through its interface: descriptors in, transfers
 * in, statuses and protocol bytes out. A recording test class shows what
 * the core passes on and what it keeps to itself. Descriptor rules are
 * one table of single-byte breakages of a valid device, each with the
 * words its message must contain.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "sim/devices/usb_device.h"
#include "usb_test.h"

#define LOW  SIM_USB_SPEED_LOW
#define FULL SIM_USB_SPEED_FULL
#define HIGH SIM_USB_SPEED_HIGH

/* A vendor-specific full-speed device with two interfaces. */
/* clang-format off */
static const uint8_t dev_fs[18] = {
	18, 1, 0x00, 0x02, 0xff, 0, 0, 64, 0x55, 0xf0, 0x34, 0x12,
	0x00, 0x01, 1, 2, 3, 1,
};

#define CFG_LEN 80
static const uint8_t cfg_fs[CFG_LEN] = {
	9, 2, CFG_LEN, 0, 2, 1, 0, 0x80, 50,
	/* 9: interface 0 alternate 0 */
	9, 4, 0, 0, 2, 0xff, 0, 0, 0,
	7, 5, 0x81, 0x03, 8, 0, 10,	/* 18: interrupt IN 1, 8 bytes */
	7, 5, 0x02, 0x02, 64, 0, 0,	/* 25: bulk OUT 2, 64 bytes */
	/* 32: interface 0 alternate 1 */
	9, 4, 0, 1, 2, 0xff, 0, 0, 0,
	7, 5, 0x81, 0x03, 64, 0, 1,	/* 41 */
	7, 5, 0x02, 0x02, 64, 0, 0,	/* 48 */
	/* 55: interface 1 alternate 0: no endpoints */
	9, 4, 1, 0, 0, 0xff, 0, 0, 0,
	/* 64: interface 1 alternate 1 */
	9, 4, 1, 1, 1, 0xff, 0, 0, 0,
	7, 5, 0x83, 0x01, 0xff, 0x03, 1, /* 73: iso IN 3, 1023 bytes */
};

/* A low-speed device: interrupt endpoints only. */
#define CFG_LS_LEN 25
static const uint8_t cfg_ls[CFG_LS_LEN] = {
	9, 2, CFG_LS_LEN, 0, 1, 1, 0, 0x80, 50,
	9, 4, 0, 0, 1, 0xff, 0, 0, 0,
	7, 5, 0x81, 0x03, 8, 0, 10,	/* 18 */
};
/* clang-format on */

static const char *const strs[] = {"xpv", "usb core test", "0001"};

/* Copies of a base device for one speed, ready to be broken. */
struct descs {
	uint8_t dev[18];
	uint8_t cfg[CFG_LEN];
};

static void base(struct descs *b, enum sim_usb_speed speed)
{
	memcpy(b->dev, dev_fs, sizeof(dev_fs));
	if (speed == LOW) {
		b->dev[7] = 8;
		b->dev[2] = 0x10, b->dev[3] = 0x01;
		memcpy(b->cfg, cfg_ls, sizeof(cfg_ls));
		return;
	}
	memcpy(b->cfg, cfg_fs, sizeof(cfg_fs));
	if (speed == HIGH) {
		b->cfg[29] = 0x00, b->cfg[30] = 0x02; /* bulk: 512 */
		b->cfg[52] = 0x00, b->cfg[53] = 0x02;
	}
}

/* ---- a recording class ---- */

static struct {
	int controls, datas, resets, configureds, destroys;
	uint8_t config;
	uint8_t out[16];
} rec;

static enum sim_usb_status rec_control(struct sim_usb_device *d,
				       struct sim_usb_xfer *x)
{
	static const char hello[] = "hello";

	rec.controls++;
	if (x->setup.bmRequestType == 0xc0 && x->setup.bRequest == 0x01) {
		x->actual = x->setup.wLength < 5 ? x->setup.wLength : 5;
		memcpy(x->data, hello, x->actual);
		return SIM_USB_OK;
	}
	if (x->setup.bmRequestType == 0x40 && x->setup.bRequest == 0x02 &&
	    x->setup.wLength <= sizeof(rec.out)) {
		memcpy(rec.out, x->data, x->setup.wLength);
		return SIM_USB_OK;
	}
	if (x->setup.bmRequestType == 0x81)
		return SIM_USB_OK; /* a standard request the class takes */
	return SIM_USB_STALL;
}

static enum sim_usb_status rec_data(struct sim_usb_device *d,
				    struct sim_usb_xfer *x)
{
	rec.datas++;
	if (x->in && x->type != SIM_USB_EP_ISO) {
		x->actual = x->len < 4 ? x->len : 4;
		memset(x->data, 0xa5, x->actual);
	}
	return SIM_USB_OK;
}

static void rec_reset(struct sim_usb_device *d)
{
	rec.resets++;
}

static void rec_configured(struct sim_usb_device *d, uint8_t config)
{
	rec.configureds++;
	rec.config = config;
}

static void rec_destroy(struct sim_usb_device *d)
{
	ck_assert_ptr_eq(sim_usb_device_class_priv(d), &rec);
	rec.destroys++;
}

static const struct sim_usb_class rec_class = {
    .name = "test",
    .control = rec_control,
    .data = rec_data,
    .reset = rec_reset,
    .configured = rec_configured,
    .destroy = rec_destroy,
};

static void setup(void)
{
	memset(&rec, 0, sizeof(rec));
}

static int make(const struct descs *b, enum sim_usb_speed speed,
		const char *const *strings, unsigned nstrings,
		struct sim_usb_device **d, char *err, size_t errlen)
{
	struct sim_usb_descriptors desc = {
	    .device = b->dev,
	    .config = b->cfg,
	    .strings = strings,
	    .nstrings = nstrings,
	};

	return sim_usb_device_new(&desc, speed, &rec_class, &rec, d, err,
				  errlen);
}

static struct sim_usb_device *dev_new(enum sim_usb_speed speed)
{
	struct sim_usb_device *d;
	struct descs b;
	char err[256] = "";

	base(&b, speed);
	ck_assert_msg(make(&b, speed, strs, 3, &d, err, sizeof(err)) == 0, "%s",
		      err);
	return d;
}

/* ---- transfers in protocol terms ---- */

static enum sim_usb_status get_desc(struct sim_usb_device *d, uint8_t type,
				    uint8_t index, uint16_t lang,
				    uint16_t length, uint8_t *buf,
				    uint32_t *actual)
{
	return ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
		   (uint16_t)(type << 8 | index), lang, length, buf, actual);
}

static enum sim_usb_status set_config(struct sim_usb_device *d, uint16_t v)
{
	return ctl(d, 0x00, SIM_USB_REQ_SET_CONFIGURATION, v, 0, 0, NULL, NULL);
}

static enum sim_usb_status ep_feature(struct sim_usb_device *d, bool set,
				      uint16_t addr)
{
	return ctl(d, 0x02,
		   set ? SIM_USB_REQ_SET_FEATURE : SIM_USB_REQ_CLEAR_FEATURE,
		   SIM_USB_FEATURE_ENDPOINT_HALT, addr, 0, NULL, NULL);
}

/* GET_STATUS to a recipient: the first status byte, or -1 on STALL. */
static int status(struct sim_usb_device *d, uint8_t recip, uint16_t index)
{
	uint8_t b[2] = {0xee, 0xee};
	uint32_t n;

	if (ctl(d, 0x80 | recip, SIM_USB_REQ_GET_STATUS, 0, index, 2, b, &n) !=
	    SIM_USB_OK)
		return -1;
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(b[1], 0);
	return b[0];
}

static enum sim_usb_status data(struct sim_usb_device *d, uint8_t ep, bool in,
				enum sim_usb_ep_type type)
{
	uint8_t buf[64];
	struct sim_usb_xfer x = {
	    .ep = ep,
	    .in = in,
	    .type = type,
	    .data = buf,
	    .len = sizeof(buf),
	};

	return sim_usb_device_handle(d, &x);
}

/* ---- descriptor validation ---- */

struct breakage {
	enum sim_usb_speed speed;
	bool dev;     /* else the configuration */
	unsigned off; /* first byte changed */
	unsigned n;   /* 1 or 2 bytes */
	uint8_t v[2];
	const char *msg; /* in the error message */
};

static const struct breakage breakages[] = {
    {FULL, true, 0, 1, {17}, "device descriptor: bLength 17"},
    {FULL, true, 1, 1, {2}, "device descriptor: bDescriptorType 2"},
    {FULL, true, 7, 1, {7}, "bMaxPacketSize0 7 not allowed at full"},
    {LOW, true, 7, 1, {64}, "bMaxPacketSize0 64 not allowed at low"},
    {HIGH, true, 7, 1, {8}, "bMaxPacketSize0 8 not allowed at high"},
    {HIGH, true, 2, 2, {0x10, 0x01}, "bcdUSB 0110"},
    {FULL, true, 17, 1, {2}, "bNumConfigurations 2"},
    {FULL, true, 15, 1, {4}, "iProduct 4"},
    {FULL, false, 1, 1, {3}, "config descriptor: bDescriptorType 3, want 2"},
    {FULL, false, 2, 1, {8}, "wTotalLength 8"},
    {FULL, false, 2, 1, {78}, "offset 73: bLength 7 runs past wTotalLength"},
    {FULL, false, 25, 1, {1}, "offset 25: bLength 1 below 2"},
    {FULL, false, 2, 1, {74}, "offset 73: 1 byte left before wTotalLength 74"},
    {FULL, false, 25, 1, {0}, "offset 25: bLength 0"},
    {FULL, false, 5, 1, {0}, "bConfigurationValue 0 is reserved"},
    {FULL, false, 0, 1, {8}, "config descriptor: bLength 8, want at least 9"},
    {FULL, false, 4, 1, {0}, "bNumInterfaces 0"},
    {FULL, false, 7, 1, {0x00}, "bmAttributes 0x00"},
    {FULL, false, 6, 1, {4}, "iConfiguration 4"},
    {FULL, false, 17, 1, {9}, "iInterface 9"},
    {FULL, false, 20, 1, {0x80}, "bEndpointAddress 0x80"},
    {FULL, false, 20, 1, {0x91}, "bEndpointAddress 0x91"},
    {FULL, false, 21, 1, {0x00}, "non-default control endpoints"},
    {FULL, false, 21, 1, {0x43}, "bmAttributes 0x43 has reserved bits"},
    {FULL, false, 76, 1, {0x31}, "bmAttributes 0x31 has reserved bits"},
    {FULL, false, 29, 1, {65}, "full-speed bulk needs 8, 16, 32 or 64"},
    {FULL, false, 29, 1, {4}, "full-speed bulk needs 8, 16, 32 or 64"},
    {FULL, false, 22, 1, {65}, "above 64 for full-speed interrupt"},
    {FULL, false, 22, 1, {0}, "0 is only allowed for isochronous"},
    {FULL, false, 77, 2, {0x00, 0x04}, "above 1023 for full-speed iso"},
    {FULL, false, 22, 2, {0x00, 0x0a}, "high-speed periodic endpoints only"},
    {FULL, false, 23, 1, {0x20}, "reserved bits 13-15"},
    {HIGH, false, 29, 2, {64, 0}, "high-speed bulk needs exactly 512"},
    {HIGH, false, 22, 2, {0x01, 0x04}, "above 1024 for high-speed"},
    {HIGH, false, 23, 1, {0x18}, "bits 11-12 value 3 is reserved"},
    {HIGH, false, 22, 2, {0x00, 0x0a}, "2 transactions per microframe"},
    {HIGH, false, 22, 2, {0x58, 0x12}, "3 transactions per microframe"},
    {HIGH, false, 30, 1, {0x0a}, "high-speed periodic endpoints only"},
    {HIGH, false, 24, 1, {17}, "bInterval 17 must be 1..16"},
    {HIGH, false, 79, 1, {0}, "bInterval 0 must be 1..16"},
    {FULL, false, 24, 1, {0}, "bInterval 0 must be 1..255"},
    {LOW, false, 24, 1, {5}, "bInterval 5 must be 10..255 at low"},
    {LOW, false, 21, 1, {0x02}, "low speed has interrupt endpoints only"},
    {LOW, false, 22, 1, {9}, "above 8 for low-speed interrupt"},
    {FULL, false, 13, 1, {3}, "bNumEndpoints 3 but 2 endpoint"},
    {FULL, false, 68, 1, {0}, "bNumEndpoints 0 but 1 endpoint"},
    {FULL, false, 57, 1, {2}, "bInterfaceNumber 2 not below"},
    {FULL, false, 58, 1, {2}, "interface 1 has no alternate setting 0"},
    {FULL, false, 67, 1, {0}, "interface 1 bAlternateSetting 0 twice"},
    {FULL, false, 10, 1, {0x24}, "before any interface descriptor"},
    {FULL, false, 75, 1, {0x81}, "0x81 already in interface 0 alternate 0"},
    {FULL, false, 27, 2, {0x81, 0x03}, "0x81 already in interface 0"},
    {FULL, false, 26, 1, {2}, "type 2 inside a configuration"},
    {FULL, false, 18, 1, {6}, "endpoint bLength 6"},
    {FULL, false, 9, 1, {8}, "interface bLength 8"},
};

START_TEST(test_descriptor_rules)
{
	const struct breakage *k = &breakages[_i];
	struct sim_usb_device *d = (void *)1;
	struct descs b;
	char err[256] = "";
	unsigned i;

	base(&b, k->speed);
	for (i = 0; i < k->n; i++)
		(k->dev ? b.dev : b.cfg)[k->off + i] = k->v[i];
	ck_assert_int_eq(make(&b, k->speed, strs, 3, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_msg(strstr(err, k->msg), "case %d: \"%s\" not in \"%s\"", _i,
		      k->msg, err);
	ck_assert_msg(strstr(err, "usb test"), "no device name in \"%s\"", err);
	ck_assert_int_eq(rec.destroys, 0);
}
END_TEST

START_TEST(test_descriptor_other_rules)
{
	static const char *const bad_ascii[] = {"xpv", "caf\xc3\xa9", "1"};
	char long_str[128];
	const char *const too_long[] = {"xpv", long_str, "1"};
	struct sim_usb_descriptors desc = {0};
	struct sim_usb_device *d;
	struct descs b;
	char err[256];

	base(&b, FULL);
	ck_assert_int_eq(
	    make(&b, (enum sim_usb_speed)4, strs, 3, &d, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "speed 4"));
	ck_assert_int_eq(make(&b, FULL, bad_ascii, 3, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "string 2 is not printable"));
	memset(long_str, 'x', 127);
	long_str[127] = 0;
	ck_assert_int_eq(make(&b, FULL, too_long, 3, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer than 126"));
	long_str[126] = 0; /* 126 characters fit in 254 bytes */
	ck_assert_int_eq(make(&b, FULL, too_long, 3, &d, err, sizeof(err)), 0);
	sim_usb_device_free(d);
	ck_assert_int_eq(make(&b, FULL, NULL, 3, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "no array"));
	ck_assert_int_eq(
	    sim_usb_device_new(&desc, FULL, NULL, NULL, &d, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "usb device: no device"));
	/* A message that does not fit is cut, not overrun. */
	b.dev[0] = 17;
	ck_assert_int_eq(make(&b, FULL, strs, 3, &d, err, 8), -EINVAL);
	ck_assert_str_eq(err, "usb tes");
	ck_assert_int_eq(make(&b, FULL, strs, 3, &d, NULL, 0), -EINVAL);
}
END_TEST

/* The valid bases, and the high-speed extremes table 9-14 allows. */
START_TEST(test_descriptor_valid)
{
	static const enum sim_usb_speed speeds[] = {LOW, FULL, HIGH};
	struct sim_usb_ep_info info;
	struct sim_usb_device *d;
	struct descs b;
	char err[256] = "";
	unsigned i;

	for (i = 0; i < 3; i++) {
		d = dev_new(speeds[i]);
		ck_assert_int_eq(sim_usb_device_speed(d), speeds[i]);
		ck_assert_uint_eq(sim_usb_device_address(d), 0);
		ck_assert_uint_eq(sim_usb_device_config(d), 0);
		sim_usb_device_free(d);
	}
	ck_assert_int_eq(rec.destroys, 3);
	base(&b, HIGH);
	b.cfg[77] = 0x00, b.cfg[78] = 0x14; /* 3 x 1024 bytes */
	b.cfg[22] = 0xab, b.cfg[23] = 0x0a; /* 2 x 683 bytes */
	ck_assert_msg(make(&b, HIGH, strs, 3, &d, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, &info), 0);
	ck_assert_uint_eq(info.max_packet, 683);
	ck_assert_uint_eq(info.mult, 2);
	ck_assert_int_eq(set_iface(d, 1, 1), SIM_USB_OK);
	ck_assert_int_eq(sim_usb_device_ep(d, 3, true, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_ISO);
	ck_assert_uint_eq(info.max_packet, 1024);
	ck_assert_uint_eq(info.mult, 3);
	ck_assert_uint_eq(info.interval, 1);
	sim_usb_device_free(d);
}
END_TEST

/* ---- standard requests ---- */

START_TEST(test_get_descriptor_device_config)
{
	struct sim_usb_device *d = dev_new(FULL);
	uint8_t buf[256];
	uint32_t n;

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(get_desc(d, 1, 0, 0, 64, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 18);
	ck_assert_mem_eq(buf, dev_fs, 18);
	ck_assert_uint_eq(buf[18], 0xee);
	/* What a host asks first: 8 bytes, for bMaxPacketSize0. */
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(get_desc(d, 1, 0, 0, 8, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 8);
	ck_assert_uint_eq(buf[7], 64);
	ck_assert_uint_eq(buf[8], 0xee);
	/* Configuration: the header (wTotalLength 80), then the whole. */
	ck_assert_int_eq(get_desc(d, 2, 0, 0, 9, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 9);
	ck_assert_uint_eq(buf[2] | buf[3] << 8, CFG_LEN);
	ck_assert_int_eq(get_desc(d, 2, 0, 0, 255, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, CFG_LEN);
	ck_assert_mem_eq(buf, cfg_fs, CFG_LEN);
	ck_assert_int_eq(get_desc(d, 2, 0, 0, 0, NULL, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 0);
	/* One configuration only; other speed configuration not modelled;
	 * device descriptors have no language. */
	ck_assert_int_eq(get_desc(d, 2, 1, 0, 255, buf, &n), SIM_USB_STALL);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(get_desc(d, 7, 0, 0, 255, buf, &n), SIM_USB_STALL);
	ck_assert_int_eq(get_desc(d, 1, 0, 0x0409, 18, buf, &n), SIM_USB_STALL);
	ck_assert_int_eq(get_desc(d, 0x21, 0, 0, 9, buf, &n), SIM_USB_STALL);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_get_descriptor_strings)
{
	struct sim_usb_device *d = dev_new(FULL);
	static const char want[] = "usb core test";
	uint8_t buf[256];
	uint32_t n;
	unsigned i;

	/* String 0: the language list, {0x0409} (English, US). */
	ck_assert_int_eq(get_desc(d, 3, 0, 0, 255, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 4);
	ck_assert_mem_eq(buf, ((uint8_t[]){4, 3, 0x09, 0x04}), 4);
	ck_assert_int_eq(get_desc(d, 3, 2, 0x0409, 255, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 2 + 2 * strlen(want));
	ck_assert_uint_eq(buf[0], n);
	ck_assert_uint_eq(buf[1], 3);
	for (i = 0; i < strlen(want); i++) {
		ck_assert_uint_eq(buf[2 + 2 * i], (uint8_t)want[i]);
		ck_assert_uint_eq(buf[3 + 2 * i], 0);
	}
	/* Truncated: bLength still tells the host the whole size. */
	ck_assert_int_eq(get_desc(d, 3, 2, 0x0409, 2, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(buf[0], 2 + 2 * strlen(want));
	ck_assert_int_eq(get_desc(d, 3, 4, 0x0409, 255, buf, &n),
			 SIM_USB_STALL);
	ck_assert_int_eq(get_desc(d, 3, 1, 0x0407, 255, buf, &n),
			 SIM_USB_STALL);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_get_descriptor_qualifier)
{
	struct sim_usb_device *d = dev_new(FULL);
	uint8_t buf[64];
	uint32_t n;

	/* 9.6.2: a full-speed-only device answers with a request error. */
	ck_assert_int_eq(get_desc(d, 6, 0, 0, 10, buf, &n), SIM_USB_STALL);
	sim_usb_device_free(d);
	d = dev_new(HIGH);
	ck_assert_int_eq(get_desc(d, 6, 0, 0, 64, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 10);
	ck_assert_mem_eq(
	    buf, ((uint8_t[]){10, 6, 0x00, 0x02, 0xff, 0, 0, 64, 1, 0}), 10);
	ck_assert_int_eq(get_desc(d, 6, 0, 0, 4, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 4);
	sim_usb_device_free(d);
}
END_TEST

/* The host's mistakes in the setup stage itself. */
START_TEST(test_malformed_control)
{
	struct sim_usb_device *d = dev_new(FULL);
	uint8_t buf[64];
	struct sim_usb_xfer x = {
	    .ep = 0,
	    .in = true,
	    .type = SIM_USB_EP_CONTROL,
	    .setup = {0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 18},
	    .data = buf,
	    .len = 8,
	    .actual = 99,
	};

	/* wLength above the buffer. */
	ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_STALL);
	ck_assert_uint_eq(x.actual, 0);
	/* Direction of the pipe against the setup's. */
	x.len = 18;
	x.in = false;
	ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_STALL);
	x.in = true;
	ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_OK);
	/* Endpoint 0 is the control pipe; no other type answers there. */
	x.type = SIM_USB_EP_BULK;
	ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_IOERROR);
	ck_assert_int_eq(rec.controls, 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_set_address)
{
	struct sim_usb_device *d = dev_new(FULL);

	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 127, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_uint_eq(sim_usb_device_address(d), 127);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 128, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 0x8005, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 5, 1, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_uint_eq(sim_usb_device_address(d), 127);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 5, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_uint_eq(sim_usb_device_address(d), 5);
	/* Address 0 takes the device back to the default state. */
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 0, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_uint_eq(sim_usb_device_address(d), 0);
	/* Configured: 9.4.6 leaves it unspecified; this device refuses. */
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 9, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_uint_eq(sim_usb_device_address(d), 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_set_configuration)
{
	struct sim_usb_device *d = dev_new(FULL);
	struct sim_usb_ep_info info;
	uint8_t b[4];
	uint32_t n;

	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_CONFIGURATION, 0, 0, 1, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(b[0], 0);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, &info), -ENOENT);
	ck_assert_int_eq(data(d, 1, true, SIM_USB_EP_INTERRUPT),
			 SIM_USB_IOERROR);
	ck_assert_int_eq(set_config(d, 2), SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 0x0101, 0,
			     0, NULL, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(rec.configureds, 0);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(rec.configureds, 1);
	ck_assert_int_eq(rec.resets, 1);
	ck_assert_uint_eq(rec.config, 1);
	ck_assert_uint_eq(sim_usb_device_config(d), 1);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_CONFIGURATION, 0, 0, 1, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(b[0], 1);
	/* Alternate 0 of each interface is what is active. */
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_INTERRUPT);
	ck_assert_uint_eq(info.max_packet, 8);
	ck_assert_uint_eq(info.mult, 1);
	ck_assert_uint_eq(info.interval, 10);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, false, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_BULK);
	ck_assert_uint_eq(info.max_packet, 64);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, true, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 3, true, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 0, true, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 16, true, NULL), -ENOENT);
	/* Data endpoints: number, direction and type must all match. */
	ck_assert_int_eq(data(d, 1, true, SIM_USB_EP_INTERRUPT), SIM_USB_OK);
	ck_assert_int_eq(data(d, 2, false, SIM_USB_EP_BULK), SIM_USB_OK);
	ck_assert_int_eq(rec.datas, 2);
	ck_assert_int_eq(data(d, 1, false, SIM_USB_EP_INTERRUPT),
			 SIM_USB_IOERROR);
	ck_assert_int_eq(data(d, 1, true, SIM_USB_EP_BULK), SIM_USB_IOERROR);
	ck_assert_int_eq(data(d, 3, true, SIM_USB_EP_ISO), SIM_USB_IOERROR);
	ck_assert_int_eq(data(d, 16, true, SIM_USB_EP_BULK), SIM_USB_IOERROR);
	ck_assert_int_eq(rec.datas, 2);
	/* Back to the address state. */
	ck_assert_int_eq(set_config(d, 0), SIM_USB_OK);
	ck_assert_int_eq(rec.configureds, 2);
	ck_assert_uint_eq(rec.config, 0);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, NULL), -ENOENT);
	ck_assert_int_eq(data(d, 1, true, SIM_USB_EP_INTERRUPT),
			 SIM_USB_IOERROR);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_data_lengths)
{
	struct sim_usb_device *d = dev_new(FULL);
	uint8_t buf[8];
	struct sim_usb_xfer x = {
	    .ep = 2,
	    .in = false,
	    .type = SIM_USB_EP_BULK,
	    .data = buf,
	    .len = sizeof(buf),
	};

	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	/* OUT: all of it moved. */
	ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_OK);
	ck_assert_uint_eq(x.actual, sizeof(buf));
	x.ep = 1;
	x.in = true;
	x.type = SIM_USB_EP_INTERRUPT;
	x.len = 2;
	ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_OK);
	ck_assert_uint_eq(x.actual, 2);
	sim_usb_device_free(d);
	/* No class: data endpoints and class requests stall. */
	{
		struct descs b;
		char err[128];
		struct sim_usb_descriptors desc = {b.dev, b.cfg, strs, 3};

		base(&b, FULL);
		ck_assert_int_eq(sim_usb_device_new(&desc, FULL, NULL, NULL, &d,
						    err, sizeof(err)),
				 0);
		ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
		ck_assert_int_eq(data(d, 1, true, SIM_USB_EP_INTERRUPT),
				 SIM_USB_STALL);
		ck_assert_int_eq(ctl(d, 0xc0, 1, 0, 0, 8, buf, NULL),
				 SIM_USB_STALL);
		sim_usb_device_free(d);
	}
}
END_TEST

START_TEST(test_endpoint_halt)
{
	struct sim_usb_device *d = dev_new(FULL);

	/* Address state: only the default pipe answers. */
	ck_assert_int_eq(status(d, 2, 0x81), -1);
	ck_assert_int_eq(status(d, 2, 0x00), 0);
	ck_assert_int_eq(status(d, 2, 0x80), 0);
	ck_assert_int_eq(ep_feature(d, true, 0x81), SIM_USB_STALL);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(status(d, 2, 0x81), 0);
	ck_assert_int_eq(ep_feature(d, true, 0x81), SIM_USB_OK);
	ck_assert(sim_usb_device_halted(d, 1, true));
	ck_assert(!sim_usb_device_halted(d, 1, false));
	ck_assert_int_eq(status(d, 2, 0x81), 1); /* bit 0: Halt */
	ck_assert_int_eq(data(d, 1, true, SIM_USB_EP_INTERRUPT), SIM_USB_STALL);
	ck_assert_int_eq(rec.datas, 0);
	ck_assert_int_eq(data(d, 2, false, SIM_USB_EP_BULK), SIM_USB_OK);
	ck_assert_int_eq(ep_feature(d, false, 0x81), SIM_USB_OK);
	ck_assert_int_eq(status(d, 2, 0x81), 0);
	ck_assert_int_eq(data(d, 1, true, SIM_USB_EP_INTERRUPT), SIM_USB_OK);
	/* Endpoints that are not there, reserved wIndex bits, ep 0. */
	ck_assert_int_eq(ep_feature(d, true, 0x01), SIM_USB_STALL);
	ck_assert_int_eq(ep_feature(d, true, 0x83), SIM_USB_STALL);
	ck_assert_int_eq(ep_feature(d, true, 0x0181), SIM_USB_STALL);
	ck_assert_int_eq(ep_feature(d, true, 0x91), SIM_USB_STALL);
	ck_assert_int_eq(status(d, 2, 0x02 | 0x100), -1);
	ck_assert_int_eq(ep_feature(d, true, 0x00), SIM_USB_STALL);
	ck_assert_int_eq(ep_feature(d, false, 0x00), SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x02, SIM_USB_REQ_SET_FEATURE, 1, 0x81, 0, NULL, NULL),
	    SIM_USB_STALL);
	/* A class halt; SET_CONFIGURATION clears every halt. */
	sim_usb_device_halt(d, 2, false);
	ck_assert_int_eq(status(d, 2, 0x02), 1);
	ck_assert_int_eq(data(d, 2, false, SIM_USB_EP_BULK), SIM_USB_STALL);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(status(d, 2, 0x02), 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_get_status_and_wakeup)
{
	struct sim_usb_device *d = dev_new(FULL);
	struct descs b;
	char err[128];

	/* Bus powered, remote wakeup not claimed: 0, and no wakeup. */
	ck_assert_int_eq(status(d, 0, 0), 0);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_FEATURE, 1, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(status(d, 0, 1), -1);
	/* Interfaces answer only when configured, and only if they exist. */
	ck_assert_int_eq(status(d, 1, 0), -1);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(status(d, 1, 0), 0);
	ck_assert_int_eq(status(d, 1, 1), 0);
	ck_assert_int_eq(status(d, 1, 2), -1);
	sim_usb_device_free(d);
	/* Self powered with remote wakeup (bmAttributes 0xe0). */
	base(&b, FULL);
	b.cfg[7] = 0xe0;
	ck_assert_int_eq(make(&b, FULL, strs, 3, &d, err, sizeof(err)), 0);
	ck_assert_int_eq(status(d, 0, 0), 1);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_FEATURE, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(status(d, 0, 0), 3);
	/* TEST_MODE is not modelled. */
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_FEATURE, 2, 0x0100, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_CLEAR_FEATURE, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(status(d, 0, 0), 1);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_FEATURE, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	sim_usb_device_reset(d);
	ck_assert_int_eq(status(d, 0, 0), 1);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_unknown_and_class_requests)
{
	struct sim_usb_device *d = dev_new(FULL);
	uint8_t buf[16] = {1, 2, 3};
	uint32_t n;

	ck_assert_int_eq(ctl(d, 0x80, 0x42, 0, 0, 8, buf, NULL), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_DESCRIPTOR, 0x0100, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	/* GET_STATUS with the wrong direction; reserved type; "other". */
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_GET_STATUS, 0, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xe0, 0x01, 0, 0, 8, buf, NULL), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x83, SIM_USB_REQ_GET_STATUS, 0, 0, 2, buf, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(rec.controls, 0);
	/* Vendor requests to the device go to the class, either way. */
	ck_assert_int_eq(ctl(d, 0xc0, 0x01, 0, 0, 16, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_int_eq(ctl(d, 0xc0, 0x01, 0, 0, 3, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 3);
	memcpy(buf, "\x11\x22\x33", 3);
	ck_assert_int_eq(ctl(d, 0x40, 0x02, 0, 0, 3, buf, &n), SIM_USB_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(rec.out, "\x11\x22\x33", 3);
	ck_assert_int_eq(ctl(d, 0x40, 0x03, 0, 0, 0, NULL, &n), SIM_USB_STALL);
	ck_assert_int_eq(rec.controls, 4);
	/* Interface recipients reach the class only when the interface
	 * exists in the active configuration. */
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 0, 16, buf, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0xa1, 0x01, 0, 0, 8, buf, NULL), SIM_USB_STALL);
	ck_assert_int_eq(rec.controls, 4);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 1, 16, buf, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_DESCRIPTOR, 0x2200, 2, 16, buf, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(rec.controls, 5);
	/* A class request to a missing endpoint never reaches the class. */
	ck_assert_int_eq(ctl(d, 0x22, 0x01, 0, 0x83, 0, NULL, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x22, 0x01, 0, 0x81, 0, NULL, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(rec.controls, 6);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_set_interface)
{
	struct sim_usb_device *d = dev_new(FULL);
	struct sim_usb_ep_info info;
	uint8_t b[2];
	uint32_t n;

	ck_assert_int_eq(set_iface(d, 0, 1), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_INTERFACE, 0, 0, 1, b, &n),
	    SIM_USB_STALL);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_INTERFACE, 0, 0, 1, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(b[0], 0);
	ck_assert_int_eq(ep_feature(d, true, 0x81), SIM_USB_OK);
	ck_assert_int_eq(rec.resets, 1);
	ck_assert_int_eq(set_iface(d, 0, 1), SIM_USB_OK);
	ck_assert_int_eq(rec.resets, 2);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, &info), 0);
	ck_assert_uint_eq(info.max_packet, 64);
	ck_assert_uint_eq(info.interval, 1);
	ck_assert(!sim_usb_device_halted(d, 1, true));
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_INTERFACE, 0, 0, 1, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(b[0], 1);
	/* Unknown alternates and interfaces; bad wValue and direction. */
	ck_assert_int_eq(set_iface(d, 0, 2), SIM_USB_STALL);
	ck_assert_int_eq(set_iface(d, 0, 0x101), SIM_USB_STALL);
	ck_assert_int_eq(set_iface(d, 2, 0), SIM_USB_STALL);
	ck_assert_int_eq(set_iface(d, 0x100, 0), SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_SET_INTERFACE, 0, 0, 0, NULL, NULL),
	    SIM_USB_STALL);
	/* Interface 1: the iso endpoint exists in alternate 1 only. */
	ck_assert_int_eq(sim_usb_device_ep(d, 3, true, NULL), -ENOENT);
	ck_assert_int_eq(set_iface(d, 1, 1), SIM_USB_OK);
	ck_assert_int_eq(sim_usb_device_ep(d, 3, true, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_ISO);
	ck_assert_uint_eq(info.max_packet, 1023);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, &info), 0);
	ck_assert_uint_eq(info.max_packet, 64); /* interface 0 untouched */
	{
		uint8_t iso[64];
		struct sim_usb_iso_packet p[2] = {{.offset = 0, .length = 32},
						  {.offset = 32, .length = 32}};
		struct sim_usb_xfer x = {
		    .ep = 3,
		    .in = true,
		    .type = SIM_USB_EP_ISO,
		    .data = iso,
		    .len = sizeof(iso),
		    .packets = p,
		    .npackets = 2,
		};

		ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_OK);
	}
	/* SET_CONFIGURATION puts every interface back to alternate 0. */
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(sim_usb_device_ep(d, 3, true, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, &info), 0);
	ck_assert_uint_eq(info.max_packet, 8);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_port_reset)
{
	struct sim_usb_device *d = dev_new(HIGH);

	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, 3, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, 1, 1), SIM_USB_OK);
	sim_usb_device_halt(d, 3, true);
	ck_assert_int_eq(rec.resets, 2);
	sim_usb_device_reset(d);
	ck_assert_int_eq(rec.resets, 3);
	ck_assert_uint_eq(sim_usb_device_address(d), 0);
	ck_assert_uint_eq(sim_usb_device_config(d), 0);
	ck_assert(!sim_usb_device_halted(d, 3, true));
	ck_assert_int_eq(sim_usb_device_ep(d, 1, true, NULL), -ENOENT);
	ck_assert_int_eq(set_config(d, 1), SIM_USB_OK);
	ck_assert_int_eq(sim_usb_device_ep(d, 3, true, NULL), -ENOENT);
	sim_usb_device_free(d);
	ck_assert_int_eq(rec.destroys, 1);
	sim_usb_device_free(NULL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("usb_device");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_loop_test(tc, test_descriptor_rules, 0,
			    sizeof(breakages) / sizeof(breakages[0]));
	tcase_add_test(tc, test_descriptor_other_rules);
	tcase_add_test(tc, test_descriptor_valid);
	tcase_add_test(tc, test_get_descriptor_device_config);
	tcase_add_test(tc, test_get_descriptor_strings);
	tcase_add_test(tc, test_get_descriptor_qualifier);
	tcase_add_test(tc, test_malformed_control);
	tcase_add_test(tc, test_set_address);
	tcase_add_test(tc, test_set_configuration);
	tcase_add_test(tc, test_data_lengths);
	tcase_add_test(tc, test_endpoint_halt);
	tcase_add_test(tc, test_get_status_and_wakeup);
	tcase_add_test(tc, test_unknown_and_class_requests);
	tcase_add_test(tc, test_set_interface);
	tcase_add_test(tc, test_port_reset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
