/*
 * A simulated USB Audio Class 1.0 device (Audio Devices 1.0, Audio Data
 * Formats 1.0): a speaker and a microphone, each 48 kHz 16-bit stereo
 * PCM (192 bytes per 1 ms frame), built on the USB device core
 * (usb_device.h) at full or high speed:
 *
 *   interface 0, Audio Control (class 1, subclass 1): header (ADC 1.00,
 *     streaming interfaces 1 and 2); the speaker path input terminal 1
 *     (USB streaming) -> feature unit 2 (master mute and volume) ->
 *     output terminal 3 (speaker); the microphone path input terminal 4
 *     (microphone) -> output terminal 5 (USB streaming); no interrupt
 *     endpoint (nothing changes on its own);
 *   interface 1, Audio Streaming (subclass 2), the speaker: alternate 0
 *     without endpoints (zero bandwidth), alternate 1 with isochronous
 *     OUT endpoint 1, adaptive;
 *   interface 2, Audio Streaming, the microphone: alternate 0, and
 *     alternate 1 with isochronous IN endpoint 2 (0x82), synchronous.
 *
 * Both alternates 1 carry the AS general descriptor (their terminal, one
 * frame of delay, PCM), a format type I descriptor (2 channels, 2-byte
 * subframes, 16 bits, one discrete rate: 48000), the 9-byte audio
 * endpoint descriptor (192 bytes, bInterval 1 at full speed, 4 at high
 * speed) and the class endpoint descriptor claiming the sampling
 * frequency control.
 *
 * Speeds: full and high; low speed has no isochronous endpoints, so
 * sim_usb_audio_new refuses it with -EINVAL. UAC1 was written for full
 * speed, where bInterval 1 is one packet per 1 ms frame; real UAC1 parts
 * also run at high speed (Linux snd-usb-audio drives them), where an
 * isochronous bInterval counts 2^(bInterval-1) microframes of 125 us
 * (USB 2.0 9.6.6). The device keeps its 1 ms packets there, bInterval 4
 * (8 microframes), so a packet still carries 48 sample frames (192
 * bytes) and the streams, the counter and the hash behave the same at
 * both speeds. At high speed the device descriptor says bcdUSB 2.00 and
 * the core answers the device qualifier (usb_device.c); like the other
 * classes the device has no other-speed configuration (the core STALLs
 * that request).
 *
 * Synchronisation: the speaker is adaptive (its DAC follows the rate the
 * host delivers, so it needs no feedback endpoint) and the microphone
 * synchronous (its clock is locked to the bus's 1 ms frames, eight
 * microframes at high speed: exactly 48 samples a packet). The model has no
 * clock drift, so asynchronous, with a device clock of its own, would claim
 * something it cannot show.
 *
 * Class requests. Feature unit 2 (wIndex 0x0200), master channel only
 * (channels 1 and 2 have no controls): mute (1 byte, 0 or 1) GET_CUR /
 * SET_CUR; volume (2 bytes, 1/256 dB, SIM_USB_AUDIO_VOL_MIN..MAX, or
 * SIM_USB_AUDIO_VOL_SILENCE for -inf) GET_CUR / SET_CUR / GET_MIN /
 * GET_MAX / GET_RES. Each isochronous endpoint (wIndex its address):
 * sampling frequency (3 bytes) SET_CUR and GET_CUR; only 48000 exists,
 * so SET_CUR of any other rate STALLs and changes nothing (hosts set only
 * the rates the format descriptor lists), and GET_MIN/MAX/RES STALL (one
 * discrete rate). The endpoint exists in alternate 1 only: before the
 * host selects it the core STALLs the request. Everything else STALLs,
 * as do values out of range. Mute and volume start unmuted at 0 dB and
 * return there at a bus reset or a new configuration; the model plays
 * nothing, so they are stored and reported only.
 *
 * Streams. Isochronous transfers reach the device only in alternate 1;
 * in alternate 0 the endpoint does not exist and the core answers
 * IOERROR (nobody answers the token). For every packet of a transfer,
 * one per 1 ms, the device sets actual = min(length, 192) and status
 * OK:
 *   speaker (OUT): those bytes are consumed, counted and folded in order
 *     into a running FNV-1a 64 hash (sim_usb_audio_hash); bytes past 192
 *     are ignored. A packet of any length but 192 counts as bad; one
 *     shorter than 192 (zero-length included) is also an underrun: the
 *     speaker plays silence where samples are missing.
 *   microphone (IN): 48 sample frames from a sample counter that starts
 *     at 0 whenever the interface changes alternate setting, left then
 *     right, little-endian: sim_usb_audio_mic_sample. The clock does not
 *     wait: each packet advances the counter by 48, and a packet with
 *     room below 192 loses the samples that do not fit (counted as bad).
 *     A host checks continuity across transfers by the counter.
 * The transfer's actual is the packets' sum (at most len). Counters and
 * the hash run from creation; only the microphone's position restarts.
 *
 * Identity (made up, not assigned by the USB-IF): idVendor 0xf055,
 * idProduct 0x4155 ("AU"), class defined per interface; strings
 * manufacturer "xpv", product "xpv usb audio", serial "XPV-AUDIO-0001".
 */
#ifndef SIM_DEVICES_USB_AUDIO_H
#define SIM_DEVICES_USB_AUDIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/devices/usb_device.h"

#define SIM_USB_AUDIO_VENDOR  0xf055
#define SIM_USB_AUDIO_PRODUCT 0x4155

/* Interfaces, endpoints (alternate 1 of 1 and 2) and entity IDs. */
#define SIM_USB_AUDIO_AC_IFACE	0
#define SIM_USB_AUDIO_SPK_IFACE 1
#define SIM_USB_AUDIO_MIC_IFACE 2
#define SIM_USB_AUDIO_EP_OUT	1 /* speaker, 0x01 */
#define SIM_USB_AUDIO_EP_IN	2 /* microphone, 0x82 */
#define SIM_USB_AUDIO_IT_USB	1
#define SIM_USB_AUDIO_FU	2
#define SIM_USB_AUDIO_OT_SPK	3
#define SIM_USB_AUDIO_IT_MIC	4
#define SIM_USB_AUDIO_OT_USB	5

/* The one format: 48 kHz, 2 channels of 16 bits, one packet per 1 ms:
 * bInterval 1 at full speed (frames), 4 at high speed (2^3 = 8
 * microframes). */
#define SIM_USB_AUDIO_RATE	  48000
#define SIM_USB_AUDIO_FRAMES	  48  /* sample frames per packet */
#define SIM_USB_AUDIO_FRAME_SIZE  4   /* bytes per sample frame */
#define SIM_USB_AUDIO_PACKET	  192 /* bytes per packet */
#define SIM_USB_AUDIO_INTERVAL_FS 1
#define SIM_USB_AUDIO_INTERVAL_HS 4

/* Class requests (Audio 1.0 A.9) and control selectors (A.10.2, A.10.3).
 */
#define SIM_USB_AUDIO_SET_CUR	    0x01
#define SIM_USB_AUDIO_GET_CUR	    0x81
#define SIM_USB_AUDIO_GET_MIN	    0x82
#define SIM_USB_AUDIO_GET_MAX	    0x83
#define SIM_USB_AUDIO_GET_RES	    0x84
#define SIM_USB_AUDIO_MUTE	    0x01 /* feature unit */
#define SIM_USB_AUDIO_VOLUME	    0x02 /* feature unit */
#define SIM_USB_AUDIO_SAMPLING_FREQ 0x01 /* endpoint */
/* Volume in 1/256 dB: -60 dB .. 0 dB in 1 dB steps; 0x8000 is -inf. */
#define SIM_USB_AUDIO_VOL_MIN	  (-60 * 256)
#define SIM_USB_AUDIO_VOL_MAX	  0
#define SIM_USB_AUDIO_VOL_RES	  256
#define SIM_USB_AUDIO_VOL_SILENCE INT16_MIN

/* FNV-1a 64: the speaker's hash starts here and folds bytes in order. */
#define SIM_USB_AUDIO_HASH_INIT 0xcbf29ce484222325ull

struct sim_usb_audio_stats {
	uint64_t packets_out;  /* speaker: isochronous OUT packets */
	uint64_t bytes_out;    /* consumed (at most 192 a packet) */
	uint64_t hash_out;     /* of those bytes, from HASH_INIT */
	uint64_t bad_len_out;  /* OUT packets not of 192 bytes */
	uint64_t underruns;    /* OUT packets below 192 bytes */
	uint64_t packets_in;   /* microphone: isochronous IN packets */
	uint64_t bytes_in;     /* sent */
	uint64_t bad_len_in;   /* IN packets with room below 192 bytes */
	uint64_t mic_position; /* the counter: next sample frame */
	uint64_t freq_sets;    /* sampling frequency SET_CUR accepted */
	bool mute;
	int16_t volume;	     /* 1/256 dB */
	uint8_t alt_speaker; /* alternate of interface 1 */
	uint8_t alt_mic;     /* alternate of interface 2 */
};

/* 0, or -EINVAL with a message (low or unknown speed). */
int sim_usb_audio_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		      char *err, size_t errlen);

/* d must come from sim_usb_audio_new. */
void sim_usb_audio_stats(const struct sim_usb_device *d,
			 struct sim_usb_audio_stats *st);

/* Sample frame n of the microphone: left is a ramp (n modulo 2^16 as a
 * signed 16-bit value), right a 1 kHz square wave, +8192 for 24 samples
 * then -8192 for 24. */
void sim_usb_audio_mic_sample(uint64_t n, int16_t *left, int16_t *right);

/* h with n bytes of p folded in (FNV-1a 64). */
uint64_t sim_usb_audio_hash(uint64_t h, const void *p, size_t n);

#endif /* SIM_DEVICES_USB_AUDIO_H */
