/*
 * USB Audio Class 1.0 speaker and microphone (usb_audio.h) as a class of
 * the USB device core: the descriptors with the Audio Control topology
 * and the streaming formats, the feature unit and sampling frequency
 * requests, and the two isochronous streams: OUT consumed into a hash,
 * IN filled from a sample counter.
 *
 * Setup packets and iso packets are the host's and hostile: every field
 * is checked before use, a bad request stalls, a bad packet length is
 * clamped and counted. Audio requests put the entity ID in wIndex's high
 * byte, so the class asks the core to leave it alone (windex_entity).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "sim/devices/usb_audio.h"
#include "sim/devices/usb_class.h"

#define AUDIO_MAGIC	    0x55414331u /* "UAC1" */
#define AUDIO_CS_INTERFACE  0x24	/* Audio 1.0 A.4 */
#define AUDIO_CS_ENDPOINT   0x25
#define AUDIO_FNV_PRIME	    0x100000001b3ull
#define AUDIO_SQUARE	    8192 /* right channel amplitude */
#define AUDIO_SQUARE_PERIOD 48	 /* samples: 1 kHz at 48 kHz */
#define AUDIO_AC_LEN	    (10 + 12 + 10 + 9 + 12 + 9)
#define AUDIO_AS_LEN	    (9 + 9 + 7 + 11 + 9 + 7)
#define AUDIO_CONFIG_LEN    (9 + 9 + AUDIO_AC_LEN + 2 * AUDIO_AS_LEN)

struct audio {
	uint32_t magic;
	bool mute;
	int16_t volume;
	uint8_t alt_spk, alt_mic; /* as the last reset saw them */
	uint64_t mic_pos;
	struct sim_usb_audio_stats st;
};

static const char *const audio_strings[] = {"xpv", "xpv usb audio",
					    "XPV-AUDIO-0001"};

static struct audio *audio_of(const struct sim_usb_device *d)
{
	struct audio *a = sim_usb_device_class_priv(d);

	SIM_ASSERT(a && a->magic == AUDIO_MAGIC);
	return a;
}

uint64_t sim_usb_audio_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= AUDIO_FNV_PRIME;
	}
	return h;
}

void sim_usb_audio_mic_sample(uint64_t n, int16_t *left, int16_t *right)
{
	*left = (int16_t)(uint16_t)n;
	*right = n % AUDIO_SQUARE_PERIOD < AUDIO_SQUARE_PERIOD / 2
		     ? AUDIO_SQUARE
		     : -AUDIO_SQUARE;
}

/* ---- the streams ---- */

/* One packet's worth for the speaker: n of its length bytes count. */
static void audio_speaker(struct audio *a, const uint8_t *p, uint32_t length,
			  uint32_t n)
{
	a->st.packets_out++;
	a->st.bytes_out += n;
	a->st.hash_out = sim_usb_audio_hash(a->st.hash_out, p, n);
	if (length != SIM_USB_AUDIO_PACKET)
		a->st.bad_len_out++;
	if (length < SIM_USB_AUDIO_PACKET)
		a->st.underruns++;
}

/* One frame of the microphone: 48 samples made, the first n bytes sent,
 * the rest lost if the host left no room for them. */
static void audio_mic(struct audio *a, uint8_t *p, uint32_t n)
{
	uint8_t buf[SIM_USB_AUDIO_PACKET];
	int16_t l, r;
	unsigned i;

	for (i = 0; i < SIM_USB_AUDIO_FRAMES; i++) {
		sim_usb_audio_mic_sample(a->mic_pos + i, &l, &r);
		usb_put_le16(buf + i * SIM_USB_AUDIO_FRAME_SIZE, (uint16_t)l);
		usb_put_le16(buf + i * SIM_USB_AUDIO_FRAME_SIZE + 2,
			     (uint16_t)r);
	}
	if (n)
		memcpy(p, buf, n);
	a->mic_pos += SIM_USB_AUDIO_FRAMES;
	a->st.packets_in++;
	a->st.bytes_in += n;
	if (n < SIM_USB_AUDIO_PACKET)
		a->st.bad_len_in++;
}

/* The core passes only the endpoint of an alternate 1, with packets
 * inside the buffer; they may overlap, hence the clamped sum. */
static enum sim_usb_status audio_data(struct sim_usb_device *d,
				      struct sim_usb_xfer *x)
{
	struct audio *a = audio_of(d);
	uint64_t total = 0;
	unsigned i;

	SIM_ASSERT(x->type == SIM_USB_EP_ISO &&
		   x->ep ==
		       (x->in ? SIM_USB_AUDIO_EP_IN : SIM_USB_AUDIO_EP_OUT));
	for (i = 0; i < x->npackets; i++) {
		struct sim_usb_iso_packet *pk = &x->packets[i];
		uint32_t n = pk->length < SIM_USB_AUDIO_PACKET
				 ? pk->length
				 : SIM_USB_AUDIO_PACKET;
		uint8_t *p = n ? x->data + pk->offset : NULL;

		if (x->in)
			audio_mic(a, p, n);
		else
			audio_speaker(a, p, pk->length, n);
		pk->actual = n;
		pk->status = SIM_USB_OK;
		total += n;
	}
	x->actual = total < x->len ? (uint32_t)total : x->len;
	return SIM_USB_OK;
}

/* ---- class requests ---- */

static enum sim_usb_status audio_mute(struct audio *a, struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	uint8_t b = a->mute;

	if (x->in)
		return s->bRequest == SIM_USB_AUDIO_GET_CUR
			   ? usb_class_reply(x, &b, 1)
			   : SIM_USB_STALL;
	if (s->bRequest != SIM_USB_AUDIO_SET_CUR || s->wLength != 1 ||
	    x->data[0] > 1)
		return SIM_USB_STALL;
	a->mute = x->data[0];
	return SIM_USB_OK;
}

static bool volume_ok(int16_t v)
{
	return v == SIM_USB_AUDIO_VOL_SILENCE ||
	       (v >= SIM_USB_AUDIO_VOL_MIN && v <= SIM_USB_AUDIO_VOL_MAX);
}

static enum sim_usb_status audio_volume(struct audio *a, struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	uint8_t b[2];
	int16_t v;

	if (!x->in) {
		if (s->bRequest != SIM_USB_AUDIO_SET_CUR || s->wLength != 2)
			return SIM_USB_STALL;
		v = (int16_t)(uint16_t)(x->data[0] | x->data[1] << 8);
		if (!volume_ok(v))
			return SIM_USB_STALL;
		a->volume = v;
		return SIM_USB_OK;
	}
	switch (s->bRequest) {
	case SIM_USB_AUDIO_GET_CUR:
		v = a->volume;
		break;
	case SIM_USB_AUDIO_GET_MIN:
		v = SIM_USB_AUDIO_VOL_MIN;
		break;
	case SIM_USB_AUDIO_GET_MAX:
		v = SIM_USB_AUDIO_VOL_MAX;
		break;
	case SIM_USB_AUDIO_GET_RES:
		v = SIM_USB_AUDIO_VOL_RES;
		break;
	default:
		return SIM_USB_STALL;
	}
	usb_put_le16(b, (uint16_t)v);
	return usb_class_reply(x, b, 2);
}

/* Audio 1.0 5.2.2.4: wValue is selector << 8 | channel, wIndex is
 * entity << 8 | interface; only unit 2's master channel has controls. */
static enum sim_usb_status audio_unit(struct audio *a, struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;

	if (s->wIndex != (SIM_USB_AUDIO_FU << 8 | SIM_USB_AUDIO_AC_IFACE) ||
	    (s->wValue & 0xff) != 0)
		return SIM_USB_STALL;
	switch (s->wValue >> 8) {
	case SIM_USB_AUDIO_MUTE:
		return audio_mute(a, x);
	case SIM_USB_AUDIO_VOLUME:
		return audio_volume(a, x);
	}
	return SIM_USB_STALL;
}

/* Audio 1.0 5.2.3.2.3.1: 3 bytes of Hz; 48000 is the only rate. */
static enum sim_usb_status audio_endpoint(struct audio *a,
					  struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	static const uint8_t rate[3] = {SIM_USB_AUDIO_RATE & 0xff,
					(SIM_USB_AUDIO_RATE >> 8) & 0xff,
					SIM_USB_AUDIO_RATE >> 16};

	if ((s->wIndex != SIM_USB_AUDIO_EP_OUT &&
	     s->wIndex != (SIM_USB_DIR_IN | SIM_USB_AUDIO_EP_IN)) ||
	    s->wValue != SIM_USB_AUDIO_SAMPLING_FREQ << 8)
		return SIM_USB_STALL;
	if (x->in)
		return s->bRequest == SIM_USB_AUDIO_GET_CUR
			   ? usb_class_reply(x, rate, 3)
			   : SIM_USB_STALL;
	if (s->bRequest != SIM_USB_AUDIO_SET_CUR || s->wLength != 3 ||
	    memcmp(x->data, rate, 3))
		return SIM_USB_STALL;
	a->st.freq_sets++;
	return SIM_USB_OK;
}

static enum sim_usb_status audio_control(struct sim_usb_device *d,
					 struct sim_usb_xfer *x)
{
	const struct sim_usb_setup *s = &x->setup;
	struct audio *a = audio_of(d);

	if ((s->bmRequestType & SIM_USB_TYPE_MASK) != SIM_USB_TYPE_CLASS)
		return SIM_USB_STALL;
	switch (s->bmRequestType & SIM_USB_RECIP_MASK) {
	case SIM_USB_RECIP_INTERFACE:
		return audio_unit(a, x);
	case SIM_USB_RECIP_ENDPOINT:
		return audio_endpoint(a, x);
	}
	return SIM_USB_STALL;
}

/* ---- state changes ---- */

static void audio_defaults(struct audio *a)
{
	a->mute = false;
	a->volume = 0;
}

/* Every SET_INTERFACE lands here, and so do SET_CONFIGURATION and bus
 * resets: a microphone whose alternate changed starts its stream over. */
static void audio_reset(struct sim_usb_device *d)
{
	struct audio *a = audio_of(d);
	uint8_t spk = 0, mic = 0;

	if (sim_usb_device_config(d)) {
		spk = sim_usb_device_alt(d, SIM_USB_AUDIO_SPK_IFACE);
		mic = sim_usb_device_alt(d, SIM_USB_AUDIO_MIC_IFACE);
	} else {
		audio_defaults(a);
	}
	if (mic != a->alt_mic)
		a->mic_pos = 0;
	a->alt_spk = spk;
	a->alt_mic = mic;
}

static void audio_configured(struct sim_usb_device *d, uint8_t config)
{
	(void)config;
	audio_defaults(audio_of(d));
}

static void audio_destroy(struct sim_usb_device *d)
{
	struct audio *a = audio_of(d);

	a->magic = 0;
	free(a);
}

static const struct sim_usb_class audio_class = {
    .name = "audio",
    .control = audio_control,
    .data = audio_data,
    .reset = audio_reset,
    .configured = audio_configured,
    .destroy = audio_destroy,
    .windex_entity = true,
};

/* ---- construction ---- */

/* An audio interface (Audio 1.0 4.1: the class is given per interface,
 * not in the device descriptor). */
static uint8_t *put_iface(uint8_t *p, uint8_t num, uint8_t alt, uint8_t neps,
			  uint8_t sub)
{
	return usb_desc_iface(p, num, alt, neps, 0x01, sub, 0);
}

/* Audio 1.0 4.3.2.1: 12 bytes, stereo (left front, right front). */
static uint8_t *put_input_terminal(uint8_t *p, uint8_t id, uint16_t type)
{
	memset(p, 0, 12);
	p[0] = 12;
	p[1] = AUDIO_CS_INTERFACE;
	p[2] = 0x02; /* INPUT_TERMINAL */
	p[3] = id;
	usb_put_le16(p + 4, type);
	p[7] = 2;		     /* bNrChannels */
	usb_put_le16(p + 8, 0x0003); /* wChannelConfig */
	return p + 12;
}

/* Audio 1.0 4.3.2.2: 9 bytes. */
static uint8_t *put_output_terminal(uint8_t *p, uint8_t id, uint16_t type,
				    uint8_t source)
{
	memset(p, 0, 9);
	p[0] = 9;
	p[1] = AUDIO_CS_INTERFACE;
	p[2] = 0x03; /* OUTPUT_TERMINAL */
	p[3] = id;
	usb_put_le16(p + 4, type);
	p[7] = source;
	return p + 9;
}

/* Audio 1.0 4.3.2.5: 1-byte controls, master mute and volume, none
 * per channel. */
static uint8_t *put_feature_unit(uint8_t *p)
{
	memset(p, 0, 10);
	p[0] = 10;
	p[1] = AUDIO_CS_INTERFACE;
	p[2] = 0x06; /* FEATURE_UNIT */
	p[3] = SIM_USB_AUDIO_FU;
	p[4] = SIM_USB_AUDIO_IT_USB; /* bSourceID */
	p[5] = 1;		     /* bControlSize */
	p[6] = 0x03;		     /* master: mute, volume */
	return p + 10;
}

/* Audio 1.0 4.3.2: the header (ADC 1.00, the streaming interfaces), the
 * speaker path, the microphone path. */
static uint8_t *put_control_cs(uint8_t *p)
{
	p[0] = 10;
	p[1] = AUDIO_CS_INTERFACE;
	p[2] = 0x01; /* HEADER */
	usb_put_le16(p + 3, 0x0100);
	usb_put_le16(p + 5, AUDIO_AC_LEN);
	p[7] = 2; /* bInCollection */
	p[8] = SIM_USB_AUDIO_SPK_IFACE;
	p[9] = SIM_USB_AUDIO_MIC_IFACE;
	p = put_input_terminal(p + 10, SIM_USB_AUDIO_IT_USB, 0x0101);
	p = put_feature_unit(p);
	p = put_output_terminal(p, SIM_USB_AUDIO_OT_SPK, 0x0301,
				SIM_USB_AUDIO_FU);
	p = put_input_terminal(p, SIM_USB_AUDIO_IT_MIC, 0x0201);
	return put_output_terminal(p, SIM_USB_AUDIO_OT_USB, 0x0101,
				   SIM_USB_AUDIO_IT_MIC);
}

/* Audio 1.0 4.5.2 (AS general: one frame of delay, PCM) and Formats
 * 2.2.5 (type I: 2 channels of 2-byte, 16-bit subframes, one rate). */
static uint8_t *put_format(uint8_t *p, uint8_t terminal)
{
	p[0] = 7;
	p[1] = AUDIO_CS_INTERFACE;
	p[2] = 0x01; /* AS_GENERAL */
	p[3] = terminal;
	p[4] = 1; /* bDelay */
	usb_put_le16(p + 5, 0x0001);
	p += 7;
	p[0] = 11;
	p[1] = AUDIO_CS_INTERFACE;
	p[2] = 0x02; /* FORMAT_TYPE */
	p[3] = 0x01; /* FORMAT_TYPE_I */
	p[4] = 2;    /* bNrChannels */
	p[5] = 2;    /* bSubframeSize */
	p[6] = 16;   /* bBitResolution */
	p[7] = 1;    /* bSamFreqType: one discrete rate */
	usb_put_le16(p + 8, SIM_USB_AUDIO_RATE & 0xffff);
	p[10] = SIM_USB_AUDIO_RATE >> 16;
	return p + 11;
}

/* Audio 1.0 4.6.1.1 (one packet per 1 ms: bInterval in (micro)frames
 * of the speed, no refresh, no sync endpoint) and 4.6.1.2 (sampling
 * frequency control, no lock delay). */
static uint8_t *put_iso_ep(uint8_t *p, uint8_t addr, uint8_t sync,
			   uint8_t interval)
{
	memset(p, 0, 9 + 7);
	p[0] = 9;
	p[1] = SIM_USB_DT_ENDPOINT;
	p[2] = addr;
	p[3] = (uint8_t)(SIM_USB_EP_ISO | sync << 2);
	usb_put_le16(p + 4, SIM_USB_AUDIO_PACKET);
	p[6] = interval;
	p += 9;
	p[0] = 7;
	p[1] = AUDIO_CS_ENDPOINT;
	p[2] = 0x01; /* EP_GENERAL */
	p[3] = 0x01; /* sampling frequency control */
	return p + 7;
}

/* One streaming interface: alternate 0 empty, alternate 1 streaming. */
static uint8_t *put_streaming(uint8_t *p, uint8_t iface, uint8_t terminal,
			      uint8_t addr, uint8_t sync, uint8_t interval)
{
	p = put_iface(p, iface, 0, 0, 0x02);
	p = put_iface(p, iface, 1, 1, 0x02);
	p = put_format(p, terminal);
	return put_iso_ep(p, addr, sync, interval);
}

/* One configuration, bus powered (100 mA). Sync types (bmAttributes
 * bits 2-3): 2 adaptive, 3 synchronous. */
static void build_config(enum sim_usb_speed speed, uint8_t *c)
{
	uint8_t ival = speed == SIM_USB_SPEED_HIGH ? SIM_USB_AUDIO_INTERVAL_HS
						   : SIM_USB_AUDIO_INTERVAL_FS;
	uint8_t *p;

	p = usb_desc_config(c, AUDIO_CONFIG_LEN, 3,
			    0x80); /* no remote wakeup */
	p = put_iface(p, SIM_USB_AUDIO_AC_IFACE, 0, 0, 0x01);
	p = put_control_cs(p);
	p = put_streaming(p, SIM_USB_AUDIO_SPK_IFACE, SIM_USB_AUDIO_IT_USB,
			  SIM_USB_AUDIO_EP_OUT, 2, ival);
	p = put_streaming(p, SIM_USB_AUDIO_MIC_IFACE, SIM_USB_AUDIO_OT_USB,
			  SIM_USB_DIR_IN | SIM_USB_AUDIO_EP_IN, 3, ival);
	SIM_ASSERT(p == c + AUDIO_CONFIG_LEN);
}

int sim_usb_audio_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		      char *err, size_t errlen)
{
	uint8_t dev[USB_CLASS_DEVICE_LEN], config[AUDIO_CONFIG_LEN];
	struct audio *a;
	int rc;

	SIM_ASSERT(out);
	*out = NULL;
	if (speed != SIM_USB_SPEED_FULL && speed != SIM_USB_SPEED_HIGH)
		return usb_class_fail(
		    err, errlen,
		    "usb audio: speed %d: a USB Audio 1.0 device runs "
		    "at full or high speed only (no isochronous "
		    "endpoints at low speed)",
		    (int)speed);
	a = sim_xcalloc(1, sizeof(*a));
	a->magic = AUDIO_MAGIC;
	a->st.hash_out = SIM_USB_AUDIO_HASH_INIT;
	usb_desc_device(dev, speed, 0, SIM_USB_AUDIO_VENDOR,
			SIM_USB_AUDIO_PRODUCT);
	build_config(speed, config);
	rc = usb_class_device_new(dev, config, audio_strings, 3, speed,
				  &audio_class, a, out, err, errlen);
	if (rc)
		free(a);
	return rc;
}

void sim_usb_audio_stats(const struct sim_usb_device *d,
			 struct sim_usb_audio_stats *st)
{
	const struct audio *a = audio_of(d);

	*st = a->st;
	st->mic_position = a->mic_pos;
	st->mute = a->mute;
	st->volume = a->volume;
	st->alt_speaker = a->alt_spk;
	st->alt_mic = a->alt_mic;
}
