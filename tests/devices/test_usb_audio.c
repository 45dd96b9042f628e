/*
 * The USB Audio 1.0 speaker and microphone as a host meets them:
 * enumeration with the Audio Control topology and the streaming
 * descriptors at full and high speed, alternate settings gating the isochronous
 * streams, the sampling frequency and feature unit requests, the speaker's
 * hash, the microphone's pattern continuing across transfers, and packets of
 * the wrong size.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "sim/devices/usb_audio.h"
#include "usb_test.h"

#define PKT   SIM_USB_AUDIO_PACKET
#define SPK   SIM_USB_AUDIO_SPK_IFACE
#define MIC   SIM_USB_AUDIO_MIC_IFACE
#define EPOUT SIM_USB_AUDIO_EP_OUT
#define EPIN  (0x80 | SIM_USB_AUDIO_EP_IN)
#define FU    (SIM_USB_AUDIO_FU << 8 | SIM_USB_AUDIO_AC_IFACE)

static uint8_t buf[16 * 1024];

/* One iso transfer of np packets, lens[i] bytes each, back to back in
 * buf; actual[i] and status[i] as the device left them. */
static enum sim_usb_status iso(struct sim_usb_device *d, bool in,
			       const uint32_t *lens, unsigned np,
			       uint32_t *actual, uint32_t *xactual)
{
	struct sim_usb_iso_packet p[16];
	struct sim_usb_xfer x = {
	    .ep = in ? SIM_USB_AUDIO_EP_IN : SIM_USB_AUDIO_EP_OUT,
	    .in = in,
	    .type = SIM_USB_EP_ISO,
	    .data = buf,
	    .packets = p,
	    .npackets = np,
	};
	enum sim_usb_status st;
	uint32_t off = 0;
	unsigned i;

	ck_assert_uint_le(np, 16);
	for (i = 0; i < np; i++) {
		p[i] = (struct sim_usb_iso_packet){
		    .offset = off,
		    .length = lens[i],
		    .actual = 0xdead,
		    .status = SIM_USB_IOERROR,
		};
		off += lens[i];
	}
	x.len = off;
	ck_assert_uint_le(off, sizeof(buf));
	st = sim_usb_device_handle(d, &x);
	for (i = 0; st == SIM_USB_OK && i < np; i++) {
		ck_assert_int_eq(p[i].status, SIM_USB_OK);
		actual[i] = p[i].actual;
	}
	if (xactual)
		*xactual = x.actual;
	return st;
}

/* np full packets: every one all of its 192 bytes. */
static void iso_full(struct sim_usb_device *d, bool in, unsigned np)
{
	uint32_t lens[16], actual[16], total;
	unsigned i;

	for (i = 0; i < np; i++)
		lens[i] = PKT;
	ck_assert_int_eq(iso(d, in, lens, np, actual, &total), SIM_USB_OK);
	for (i = 0; i < np; i++)
		ck_assert_uint_eq(actual[i], PKT);
	ck_assert_uint_eq(total, np * PKT);
}

static struct sim_usb_device *audio_at(enum sim_usb_speed speed)
{
	return USB_TEST_NEW(sim_usb_audio_new, speed);
}

static struct sim_usb_device *audio(void)
{
	return audio_at(SIM_USB_SPEED_FULL);
}

static void configure(struct sim_usb_device *d)
{
	usb_test_configure(d, 7);
}

/* Configured, both streams in alternate 1. */
static struct sim_usb_device *streaming(void)
{
	struct sim_usb_device *d = audio();

	configure(d);
	ck_assert_int_eq(set_iface(d, SPK, 1), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, MIC, 1), SIM_USB_OK);
	return d;
}

/* Sample frame k of an IN buffer is the microphone's sample n. */
static void expect_sample(const uint8_t *p, uint64_t n)
{
	int16_t l, r;

	sim_usb_audio_mic_sample(n, &l, &r);
	ck_assert_int_eq((int16_t)le16(p), l);
	ck_assert_int_eq((int16_t)le16(p + 2), r);
}

/* Feature unit requests: GET_x of len bytes into b, SET_CUR of b. */
static enum sim_usb_status fu_get(struct sim_usb_device *d, uint8_t req,
				  uint8_t cs, uint8_t *b, uint16_t len)
{
	return ctl(d, 0xa1, req, (uint16_t)(cs << 8), FU, len, b, NULL);
}

static enum sim_usb_status fu_set(struct sim_usb_device *d, uint8_t cs,
				  uint8_t *b, uint16_t len)
{
	return ctl(d, 0x21, SIM_USB_AUDIO_SET_CUR, (uint16_t)(cs << 8), FU, len,
		   b, NULL);
}

static enum sim_usb_status freq_get(struct sim_usb_device *d, uint16_t ep,
				    uint8_t req, uint8_t *b)
{
	return ctl(d, 0xa2, req, SIM_USB_AUDIO_SAMPLING_FREQ << 8, ep, 3, b,
		   NULL);
}

static enum sim_usb_status freq_set(struct sim_usb_device *d, uint16_t ep,
				    uint32_t hz)
{
	uint8_t b[3] = {(uint8_t)hz, (uint8_t)(hz >> 8), (uint8_t)(hz >> 16)};

	return ctl(d, 0x22, SIM_USB_AUDIO_SET_CUR,
		   SIM_USB_AUDIO_SAMPLING_FREQ << 8, ep, 3, b, NULL);
}

/* ---- tests ---- */

/* The device descriptor, and the qualifier a high-speed device has
 * (USB 2.0 9.6.2: the other speed's bcdUSB, class, bMaxPacketSize0 and
 * configurations); no other-speed configuration either way. */
static void expect_device(struct sim_usb_device *d, bool high)
{
	uint8_t b[32];
	uint32_t n;

	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0100, 0, 18, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(le16(b + 2), high ? 0x0200 : 0x0110);
	ck_assert_mem_eq(b + 4, ((uint8_t[]){0, 0, 0, 64}), 4);
	ck_assert_uint_eq(le16(b + 8), SIM_USB_AUDIO_VENDOR);
	ck_assert_uint_eq(le16(b + 10), SIM_USB_AUDIO_PRODUCT);
	if (high) {
		ck_assert_int_eq(ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
				     0x0600, 0, 32, b, &n),
				 SIM_USB_OK);
		ck_assert_uint_eq(n, 10);
		ck_assert_mem_eq(
		    b, ((uint8_t[]){10, 6, 0x00, 0x02, 0, 0, 0, 64, 1, 0}), 10);
	} else {
		/* A full-speed device has no qualifier. */
		ck_assert_int_eq(ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
				     0x0600, 0, 10, b, &n),
				 SIM_USB_STALL);
	}
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0700, 0, 32, b, &n),
	    SIM_USB_STALL);
}

/* Both speeds: the same descriptors but for the iso bInterval, 1 frame
 * at full speed, 2^(4-1) microframes at high speed: 1 ms either way. */
START_TEST(test_enumerate)
{
	bool high = _i == 1;
	struct sim_usb_device *d =
	    audio_at(high ? SIM_USB_SPEED_HIGH : SIM_USB_SPEED_FULL);
	uint8_t ival = high ? 4 : 1;
	struct sim_usb_ep_info info;
	uint8_t b[256];
	uint32_t n, k;
	char s[64];

	expect_device(d, high);
	ck_assert_int_eq(
	    ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0200, 0, 255, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(n, 184);
	ck_assert_mem_eq(b, ((uint8_t[]){9, 2, 184, 0, 3, 1, 0, 0x80, 50}), 9);
	/* Audio Control: no endpoints; header ADC 1.00, 62 bytes, two
	 * streaming interfaces. */
	ck_assert_mem_eq(b + 9, ((uint8_t[]){9, 4, 0, 0, 0, 1, 1, 0, 0}), 9);
	ck_assert_mem_eq(b + 18,
			 ((uint8_t[]){10, 0x24, 1, 0, 1, 62, 0, 2, 1, 2}), 10);
	/* Speaker path: USB streaming IT 1 -> FU 2 (master mute and
	 * volume) -> speaker OT 3. */
	ck_assert_mem_eq(
	    b + 28, ((uint8_t[]){12, 0x24, 2, 1, 0x01, 0x01, 0, 2, 3, 0, 0, 0}),
	    12);
	ck_assert_mem_eq(b + 40,
			 ((uint8_t[]){10, 0x24, 6, 2, 1, 1, 3, 0, 0, 0}), 10);
	ck_assert_mem_eq(b + 50,
			 ((uint8_t[]){9, 0x24, 3, 3, 0x01, 0x03, 0, 2, 0}), 9);
	/* Microphone path: microphone IT 4 -> USB streaming OT 5. */
	ck_assert_mem_eq(
	    b + 59, ((uint8_t[]){12, 0x24, 2, 4, 0x01, 0x02, 0, 2, 3, 0, 0, 0}),
	    12);
	ck_assert_mem_eq(b + 71,
			 ((uint8_t[]){9, 0x24, 3, 5, 0x01, 0x01, 0, 4, 0}), 9);
	/* Speaker streaming: alternate 0 empty, alternate 1 with AS
	 * general (terminal 1, delay 1, PCM), type I 2x16 bit at 48000,
	 * iso OUT 1 adaptive 192 bytes every frame, sampling frequency
	 * control. bInterval: one packet per 1 ms. */
	ck_assert_mem_eq(b + 80, ((uint8_t[]){9, 4, 1, 0, 0, 1, 2, 0, 0}), 9);
	ck_assert_mem_eq(b + 89, ((uint8_t[]){9, 4, 1, 1, 1, 1, 2, 0, 0}), 9);
	ck_assert_mem_eq(b + 98, ((uint8_t[]){7, 0x24, 1, 1, 1, 1, 0}), 7);
	ck_assert_mem_eq(
	    b + 105, ((uint8_t[]){11, 0x24, 2, 1, 2, 2, 16, 1, 0x80, 0xbb, 0}),
	    11);
	ck_assert_mem_eq(
	    b + 116, ((uint8_t[]){9, 5, 0x01, 0x09, 192, 0, ival, 0, 0}), 9);
	ck_assert_mem_eq(b + 125, ((uint8_t[]){7, 0x25, 1, 1, 0, 0, 0}), 7);
	/* Microphone streaming: terminal 5, iso IN 2 synchronous. */
	ck_assert_mem_eq(b + 132, ((uint8_t[]){9, 4, 2, 0, 0, 1, 2, 0, 0}), 9);
	ck_assert_mem_eq(b + 141, ((uint8_t[]){9, 4, 2, 1, 1, 1, 2, 0, 0}), 9);
	ck_assert_mem_eq(b + 150, ((uint8_t[]){7, 0x24, 1, 5, 1, 1, 0}), 7);
	ck_assert_mem_eq(b + 157, b + 105, 11);
	ck_assert_mem_eq(
	    b + 168, ((uint8_t[]){9, 5, 0x82, 0x0d, 192, 0, ival, 0, 0}), 9);
	ck_assert_mem_eq(b + 177, ((uint8_t[]){7, 0x25, 1, 1, 0, 0, 0}), 7);
	ck_assert_int_eq(ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR, 0x0302,
			     0x0409, 255, b, &n),
			 SIM_USB_OK);
	for (k = 0; k < (n - 2) / 2; k++)
		s[k] = (char)b[2 + 2 * k];
	s[k] = 0;
	ck_assert_str_eq(s, "xpv usb audio");
	configure(d);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, false, NULL), -ENOENT);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, true, NULL), -ENOENT);
	ck_assert_int_eq(set_iface(d, SPK, 1), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, MIC, 1), SIM_USB_OK);
	ck_assert_int_eq(sim_usb_device_ep(d, 1, false, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_ISO);
	ck_assert_uint_eq(info.max_packet, 192);
	ck_assert_uint_eq(info.interval, ival);
	ck_assert_int_eq(sim_usb_device_ep(d, 2, true, &info), 0);
	ck_assert_int_eq(info.type, SIM_USB_EP_ISO);
	ck_assert_uint_eq(info.max_packet, 192);
	ck_assert_uint_eq(info.interval, ival);
	/* Each packet still 48 sample frames. */
	iso_full(d, true, 2);
	for (k = 0; k < 2 * SIM_USB_AUDIO_FRAMES; k++)
		expect_sample(buf + 4 * k, k);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_bad_speed)
{
	struct sim_usb_device *d = (void *)1;
	char err[256] = "";

	ck_assert_int_eq(
	    sim_usb_audio_new(SIM_USB_SPEED_LOW, &d, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "usb audio: speed 1"));
	ck_assert_ptr_nonnull(strstr(err, "full or high speed only"));
	d = (void *)1;
	ck_assert_int_eq(
	    sim_usb_audio_new((enum sim_usb_speed)4, &d, err, sizeof(err)),
	    -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_ptr_nonnull(strstr(err, "usb audio: speed 4"));
}
END_TEST

/* Iso reaches a stream only in its alternate 1; nobody answers in 0. */
START_TEST(test_alternates)
{
	struct sim_usb_device *d = audio();
	struct sim_usb_audio_stats st;
	uint32_t lens[1] = {PKT}, actual[1], n;
	uint8_t b[1];

	ck_assert_int_eq(iso(d, false, lens, 1, actual, NULL), SIM_USB_IOERROR);
	configure(d);
	ck_assert_int_eq(iso(d, false, lens, 1, actual, NULL), SIM_USB_IOERROR);
	ck_assert_int_eq(iso(d, true, lens, 1, actual, NULL), SIM_USB_IOERROR);
	/* The speaker alone. */
	ck_assert_int_eq(set_iface(d, SPK, 1), SIM_USB_OK);
	iso_full(d, false, 1);
	ck_assert_int_eq(iso(d, true, lens, 1, actual, NULL), SIM_USB_IOERROR);
	ck_assert_int_eq(
	    ctl(d, 0x81, SIM_USB_REQ_GET_INTERFACE, 0, SPK, 1, b, &n),
	    SIM_USB_OK);
	ck_assert_uint_eq(b[0], 1);
	/* Then the microphone too. */
	ck_assert_int_eq(set_iface(d, MIC, 1), SIM_USB_OK);
	iso_full(d, true, 1);
	iso_full(d, false, 1);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.alt_speaker, 1);
	ck_assert_uint_eq(st.alt_mic, 1);
	/* No alternate 2, none on the control interface. */
	ck_assert_int_eq(set_iface(d, SPK, 2), SIM_USB_STALL);
	ck_assert_int_eq(set_iface(d, SIM_USB_AUDIO_AC_IFACE, 1),
			 SIM_USB_STALL);
	/* Zero bandwidth again: the speaker stops, the microphone runs. */
	ck_assert_int_eq(set_iface(d, SPK, 0), SIM_USB_OK);
	ck_assert_int_eq(iso(d, false, lens, 1, actual, NULL), SIM_USB_IOERROR);
	iso_full(d, true, 1);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.alt_speaker, 0);
	ck_assert_uint_eq(st.packets_out, 2);
	ck_assert_uint_eq(st.packets_in, 2);
	/* A new configuration: every stream at zero bandwidth. */
	reconfigure(d);
	ck_assert_int_eq(iso(d, true, lens, 1, actual, NULL), SIM_USB_IOERROR);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.alt_mic, 0);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_sampling_frequency)
{
	struct sim_usb_device *d = audio();
	struct sim_usb_audio_stats st;
	uint8_t b[4];

	configure(d);
	/* The endpoints exist in alternate 1 only. */
	ck_assert_int_eq(freq_set(d, EPOUT, 48000), SIM_USB_STALL);
	ck_assert_int_eq(set_iface(d, SPK, 1), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, MIC, 1), SIM_USB_OK);
	ck_assert_int_eq(freq_set(d, EPOUT, 48000), SIM_USB_OK);
	ck_assert_int_eq(freq_set(d, EPIN, 48000), SIM_USB_OK);
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(freq_get(d, EPOUT, SIM_USB_AUDIO_GET_CUR, b),
			 SIM_USB_OK);
	ck_assert_mem_eq(b, ((uint8_t[]){0x80, 0xbb, 0x00}), 3);
	/* Other rates stall and change nothing. */
	ck_assert_int_eq(freq_set(d, EPOUT, 44100), SIM_USB_STALL);
	ck_assert_int_eq(freq_set(d, EPIN, 96000), SIM_USB_STALL);
	ck_assert_int_eq(freq_set(d, EPIN, 0), SIM_USB_STALL);
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(freq_get(d, EPIN, SIM_USB_AUDIO_GET_CUR, b),
			 SIM_USB_OK);
	ck_assert_mem_eq(b, ((uint8_t[]){0x80, 0xbb, 0x00}), 3);
	/* One discrete rate: no range. */
	ck_assert_int_eq(freq_get(d, EPIN, SIM_USB_AUDIO_GET_MIN, b),
			 SIM_USB_STALL);
	ck_assert_int_eq(freq_get(d, EPIN, SIM_USB_AUDIO_GET_RES, b),
			 SIM_USB_STALL);
	/* Wrong shape: selector, length, endpoint 0, the direction of
	 * the request code. */
	ck_assert_int_eq(
	    ctl(d, 0x22, SIM_USB_AUDIO_SET_CUR, 0x0200, EPOUT, 3, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x22, SIM_USB_AUDIO_SET_CUR, 0x0100, EPOUT, 4,
			     (uint8_t[]){0x80, 0xbb, 0, 0}, NULL),
			 SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa2, SIM_USB_AUDIO_GET_CUR, 0x0100, 0x80, 3, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0xa2, SIM_USB_AUDIO_SET_CUR, 0x0100, EPOUT, 3, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(ctl(d, 0x22, SIM_USB_AUDIO_GET_CUR, 0x0100, EPOUT, 3,
			     (uint8_t[]){0x80, 0xbb, 0}, NULL),
			 SIM_USB_STALL);
	/* The endpoint's address, not just its number. */
	ck_assert_int_eq(freq_set(d, 0x81, 48000), SIM_USB_STALL);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.freq_sets, 2);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_mute_and_volume)
{
	struct sim_usb_device *d = audio();
	struct sim_usb_audio_stats st;
	uint8_t b[2];

	configure(d);
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_CUR, SIM_USB_AUDIO_MUTE, b, 1),
	    SIM_USB_OK);
	ck_assert_uint_eq(b[0], 0);
	b[0] = 1;
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_MUTE, b, 1), SIM_USB_OK);
	b[0] = 0;
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_CUR, SIM_USB_AUDIO_MUTE, b, 1),
	    SIM_USB_OK);
	ck_assert_uint_eq(b[0], 1);
	sim_usb_audio_stats(d, &st);
	ck_assert(st.mute);
	/* Mute has no range; 2 is not a boolean; wLength is 1. */
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_MIN, SIM_USB_AUDIO_MUTE, b, 1),
	    SIM_USB_STALL);
	b[0] = 2;
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_MUTE, b, 1), SIM_USB_STALL);
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_MUTE, b, 2), SIM_USB_STALL);
	/* Channel 1 has no controls; entity 3 is a terminal; the entity on
	 * a streaming interface; an interface that does not exist. */
	b[0] = 0;
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_AUDIO_SET_CUR, 0x0101, FU, 1, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_AUDIO_SET_CUR, 0x0100, 0x0300, 1, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_AUDIO_SET_CUR, 0x0100, 0x0201, 1, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x21, SIM_USB_AUDIO_SET_CUR, 0x0100, 0x0203, 1, b, NULL),
	    SIM_USB_STALL);
	ck_assert_int_eq(
	    ctl(d, 0x41, SIM_USB_AUDIO_SET_CUR, 0x0100, FU, 1, b, NULL),
	    SIM_USB_STALL);
	sim_usb_audio_stats(d, &st);
	ck_assert(st.mute);
	/* Volume: the range, then -10 dB, -inf, and out of range. */
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_MIN, SIM_USB_AUDIO_VOLUME, b, 2),
	    SIM_USB_OK);
	ck_assert_int_eq((int16_t)le16(b), -60 * 256);
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_MAX, SIM_USB_AUDIO_VOLUME, b, 2),
	    SIM_USB_OK);
	ck_assert_int_eq((int16_t)le16(b), 0);
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_RES, SIM_USB_AUDIO_VOLUME, b, 2),
	    SIM_USB_OK);
	ck_assert_int_eq((int16_t)le16(b), 256);
	b[0] = 0x00;
	b[1] = 0xf6; /* -10 dB */
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_VOLUME, b, 2), SIM_USB_OK);
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_CUR, SIM_USB_AUDIO_VOLUME, b, 2),
	    SIM_USB_OK);
	ck_assert_int_eq((int16_t)le16(b), -10 * 256);
	b[0] = 0x00;
	b[1] = 0x80;
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_VOLUME, b, 2), SIM_USB_OK);
	sim_usb_audio_stats(d, &st);
	ck_assert_int_eq(st.volume, SIM_USB_AUDIO_VOL_SILENCE);
	b[0] = 0x00;
	b[1] = 0x01; /* +1 dB */
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_VOLUME, b, 2), SIM_USB_STALL);
	b[0] = 0xff;
	b[1] = 0xc3; /* just below -60 dB */
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_VOLUME, b, 2), SIM_USB_STALL);
	ck_assert_int_eq(fu_set(d, SIM_USB_AUDIO_VOLUME, b, 1), SIM_USB_STALL);
	sim_usb_audio_stats(d, &st);
	ck_assert_int_eq(st.volume, SIM_USB_AUDIO_VOL_SILENCE);
	/* GET_CUR truncated to wLength. */
	b[1] = 0xee;
	ck_assert_int_eq(
	    fu_get(d, SIM_USB_AUDIO_GET_CUR, SIM_USB_AUDIO_VOLUME, b, 1),
	    SIM_USB_OK);
	ck_assert_uint_eq(b[0], 0x00);
	ck_assert_uint_eq(b[1], 0xee);
	/* Streams and alternates leave the unit alone; a new
	 * configuration puts it back to unmuted at 0 dB. */
	ck_assert_int_eq(set_iface(d, SPK, 1), SIM_USB_OK);
	sim_usb_audio_stats(d, &st);
	ck_assert(st.mute);
	reconfigure(d);
	sim_usb_audio_stats(d, &st);
	ck_assert(!st.mute);
	ck_assert_int_eq(st.volume, 0);
	sim_usb_device_free(d);
}
END_TEST

/* Eight full packets consumed, counted and hashed in order. */
START_TEST(test_iso_out)
{
	struct sim_usb_device *d = streaming();
	struct sim_usb_audio_stats st;
	uint64_t h;
	unsigned i;

	/* FNV-1a 64 as published: "" and "a". */
	ck_assert_uint_eq(sim_usb_audio_hash(SIM_USB_AUDIO_HASH_INIT, "", 0),
			  0xcbf29ce484222325ull);
	ck_assert_uint_eq(sim_usb_audio_hash(SIM_USB_AUDIO_HASH_INIT, "a", 1),
			  0xaf63dc4c8601ec8cull);
	for (i = 0; i < 8 * PKT; i++)
		buf[i] = (uint8_t)(i * 13 + (i >> 8));
	h = sim_usb_audio_hash(SIM_USB_AUDIO_HASH_INIT, buf, 8 * PKT);
	iso_full(d, false, 8);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.packets_out, 8);
	ck_assert_uint_eq(st.bytes_out, 8 * PKT);
	ck_assert_uint_eq(st.hash_out, h);
	ck_assert_uint_eq(st.bad_len_out, 0);
	ck_assert_uint_eq(st.underruns, 0);
	/* The hash runs on across transfers. */
	for (i = 0; i < 8 * PKT; i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	h = sim_usb_audio_hash(h, buf, 8 * PKT);
	iso_full(d, false, 8);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.packets_out, 16);
	ck_assert_uint_eq(st.hash_out, h);
	ck_assert_uint_eq(st.packets_in, 0);
	sim_usb_device_free(d);
}
END_TEST

/* Two transfers of eight packets: one continuous run of samples. */
START_TEST(test_iso_in_continuity)
{
	struct sim_usb_device *d = streaming();
	struct sim_usb_audio_stats st;
	int16_t l, r;
	unsigned i, t;

	/* The pattern itself: a ramp and a 1 kHz square. */
	sim_usb_audio_mic_sample(0, &l, &r);
	ck_assert_int_eq(l, 0);
	ck_assert_int_eq(r, 8192);
	sim_usb_audio_mic_sample(23, &l, &r);
	ck_assert_int_eq(r, 8192);
	sim_usb_audio_mic_sample(24, &l, &r);
	ck_assert_int_eq(l, 24);
	ck_assert_int_eq(r, -8192);
	sim_usb_audio_mic_sample(48, &l, &r);
	ck_assert_int_eq(r, 8192);
	sim_usb_audio_mic_sample(0xffff, &l, &r);
	ck_assert_int_eq(l, -1);
	sim_usb_audio_mic_sample(0x10000, &l, &r);
	ck_assert_int_eq(l, 0);
	for (t = 0; t < 2; t++) {
		memset(buf, 0xee, 8 * PKT);
		iso_full(d, true, 8);
		for (i = 0; i < 8 * SIM_USB_AUDIO_FRAMES; i++)
			expect_sample(buf + 4 * i,
				      t * 8 * SIM_USB_AUDIO_FRAMES + i);
	}
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.packets_in, 16);
	ck_assert_uint_eq(st.bytes_in, 16 * PKT);
	ck_assert_uint_eq(st.mic_position, 16 * 48);
	ck_assert_uint_eq(st.bad_len_in, 0);
	/* The speaker's alternate leaves the microphone running. */
	ck_assert_int_eq(set_iface(d, SPK, 0), SIM_USB_OK);
	iso_full(d, true, 1);
	expect_sample(buf, 16 * 48);
	/* A new stream starts at 0. */
	ck_assert_int_eq(set_iface(d, MIC, 0), SIM_USB_OK);
	ck_assert_int_eq(set_iface(d, MIC, 1), SIM_USB_OK);
	iso_full(d, true, 2);
	for (i = 0; i < 2 * SIM_USB_AUDIO_FRAMES; i++)
		expect_sample(buf + 4 * i, i);
	sim_usb_device_free(d);
}
END_TEST

START_TEST(test_wrong_sizes)
{
	struct sim_usb_device *d = streaming();
	static const uint32_t out_lens[] = {PKT, 100, 0, 200, PKT, 3};
	static const uint32_t out_want[] = {PKT, 100, 0, PKT, PKT, 3};
	static const uint32_t in_lens[] = {PKT, 100, 0, 300};
	static const uint32_t in_want[] = {PKT, 100, 0, PKT};
	struct sim_usb_audio_stats st;
	uint32_t actual[8], total, off;
	uint64_t h = SIM_USB_AUDIO_HASH_INIT;
	unsigned i;

	/* OUT: 192 bytes at most count, the rest of a long packet does
	 * not; short ones are underruns. */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 5 + 1);
	for (i = 0, off = 0; i < 6; off += out_lens[i], i++)
		h = sim_usb_audio_hash(h, buf + off, out_want[i]);
	ck_assert_int_eq(iso(d, false, out_lens, 6, actual, &total),
			 SIM_USB_OK);
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(actual[i], out_want[i]);
	ck_assert_uint_eq(total, 3 * PKT + 103);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.packets_out, 6);
	ck_assert_uint_eq(st.bytes_out, 3 * PKT + 103);
	ck_assert_uint_eq(st.hash_out, h);
	ck_assert_uint_eq(st.bad_len_out, 4);
	ck_assert_uint_eq(st.underruns, 3);
	/* IN: the clock does not wait; what does not fit is lost. */
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(iso(d, true, in_lens, 4, actual, &total), SIM_USB_OK);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(actual[i], in_want[i]);
	ck_assert_uint_eq(total, 2 * PKT + 100);
	expect_sample(buf, 0);
	expect_sample(buf + PKT, 48);
	expect_sample(buf + PKT + 96, 48 + 24);
	expect_sample(buf + PKT + 100, 144);
	expect_sample(buf + PKT + 100 + 188, 191);
	ck_assert_uint_eq(buf[PKT + 100 + PKT], 0xee);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.packets_in, 4);
	ck_assert_uint_eq(st.bytes_in, 2 * PKT + 100);
	ck_assert_uint_eq(st.bad_len_in, 2);
	ck_assert_uint_eq(st.mic_position, 4 * 48);
	/* No packets: nothing. */
	ck_assert_int_eq(iso(d, true, NULL, 0, actual, &total), SIM_USB_OK);
	ck_assert_uint_eq(total, 0);
	sim_usb_audio_stats(d, &st);
	ck_assert_uint_eq(st.packets_in, 4);
	sim_usb_device_free(d);
}
END_TEST

/* Packets the host made overlap: each is answered, the sum clamped. */
START_TEST(test_overlapping_packets)
{
	struct sim_usb_device *d = streaming();
	struct sim_usb_iso_packet p[3] = {{.offset = 0, .length = PKT},
					  {.offset = 0, .length = PKT},
					  {.offset = 8, .length = PKT}};
	struct sim_usb_xfer x = {
	    .ep = SIM_USB_AUDIO_EP_IN,
	    .in = true,
	    .type = SIM_USB_EP_ISO,
	    .data = buf,
	    .len = PKT + 8,
	    .packets = p,
	    .npackets = 3,
	};

	ck_assert_int_eq(sim_usb_device_handle(d, &x), SIM_USB_OK);
	ck_assert_uint_eq(x.actual, PKT + 8);
	ck_assert_uint_eq(p[2].actual, PKT);
	expect_sample(buf + 8, 96);
	sim_usb_device_free(d);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("usb_audio");
	TCase *tc = tcase_create("audio");

	tcase_add_loop_test(tc, test_enumerate, 0, 2);
	tcase_add_test(tc, test_bad_speed);
	tcase_add_test(tc, test_alternates);
	tcase_add_test(tc, test_sampling_frequency);
	tcase_add_test(tc, test_mute_and_volume);
	tcase_add_test(tc, test_iso_out);
	tcase_add_test(tc, test_iso_in_continuity);
	tcase_add_test(tc, test_wrong_sizes);
	tcase_add_test(tc, test_overlapping_packets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
