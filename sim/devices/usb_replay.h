/*
 * A simulated USB device that replays a capture of a real one
 * (usb_capture.h), so the frontend and the guest's stack run against a
 * recorded device. Built on the chapter 9 core (usb_device.h):
 *
 * Descriptors: the captured GET_DESCRIPTOR answers. The device and
 * configuration descriptors become the core's, so it enumerates as the
 * real device did; strings are the captured ones (US English preferred,
 * else the language captured; characters outside printable ASCII become
 * '?', since the core sends ASCII as UTF-16LE); a string index the
 * descriptors name but the capture never read is answered as "".
 * Descriptors asked of an interface (HID report, ...) are answered from
 * the captured table, whatever the order, at any wLength. Standard
 * requests the core owns (SET_ADDRESS, SET_CONFIGURATION, SET_INTERFACE,
 * GET_STATUS, CLEAR_FEATURE, GET_DESCRIPTOR of the device) are answered
 * by it in any order and are not part of the script.
 *
 * The script: every other control request (class, vendor, standard ones
 * the core passes on) in capture order on endpoint 0, and the bulk and
 * interrupt transfers in capture order per endpoint and direction.
 *   IN   the next captured IN of that endpoint: its status and data. The
 *        endpoint NAKs for as long as the real one kept its URB waiting
 *        (completion minus submission time, at most wait_max_ns) from the
 *        first attempt; a captured STALL halts the endpoint. Past the
 *        capture's end it NAKs for ever (not a divergence).
 *   OUT  compared with the next captured OUT of that endpoint (length and
 *        bytes; control: the setup and data stage too).
 * The first request that is not what the capture has next (wrong setup,
 * other OUT data or length, an IN larger than the guest's buffer, an OUT
 * past the capture's end) is the divergence, recorded with its simulated
 * time, endpoint, expected and got, and the capture record. After it:
 * control requests STALL unless a later captured request has the same
 * setup and data (matched forward from where the script was: the entries
 * passed over are counted as skipped); data endpoints stop answering
 * truthfully: IN NAKs, OUT STALLs. Why: a device that went off script
 * has nothing honest to say on its data pipes, and a silent device is
 * what a guest's timeout handling is for, while control requests are
 * mostly independent of one another.
 *
 * Isochronous endpoints are not replayed: IN packets come back empty,
 * OUT packets are taken. Cancelled (unlinked) transfers have no answer
 * to replay and are left out.
 *
 * Speed: neither usbmon nor USBPcap records it; the caller gives it or
 * it is inferred from the descriptors (high when a bulk endpoint has 512
 * bytes or a periodic one more than 64; low for bcdUSB below 2.00, 8-byte
 * ep0 and interrupt endpoints of at most 8 bytes polled at 10 ms or
 * slower; full otherwise), then the next speed the core accepts.
 */
#ifndef SIM_DEVICES_USB_REPLAY_H
#define SIM_DEVICES_USB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/devices/usb_capture.h"
#include "sim/devices/usb_device.h"

/* The longest an IN is held back to match the capture's timing. */
#define SIM_USB_REPLAY_WAIT_MAX_NS 10000000000ull /* 10 s */

struct sim_usb_replay_params {
	enum sim_usb_speed speed; /* 0: inferred (above) */
	uint64_t wait_max_ns;	  /* 0: SIM_USB_REPLAY_WAIT_MAX_NS */
	bool ignore_timing;	  /* answer INs at the first attempt */
};

struct sim_usb_replay_divergence {
	uint64_t now_ns; /* simulated time of the request */
	uint8_t ep;
	bool in;
	enum sim_usb_ep_type type;
	unsigned record; /* capture record of what was expected; 0: none */
	char expected[160];
	char got[160];
};

struct sim_usb_replay_stats {
	unsigned transfers;	 /* of the device in the capture */
	unsigned scripted;	 /* to be answered in order */
	unsigned by_descriptors; /* standard requests, descriptors */
	unsigned not_replayed;	 /* cancelled or isochronous */
	unsigned replayed;	 /* scripted ones answered so far */
	unsigned skipped; /* control entries passed over after divergence */
	unsigned polls_past_end; /* IN attempts after an endpoint's last */
	enum sim_usb_speed speed;
	bool diverged;
	struct sim_usb_replay_divergence div;
};

/* 0, or -EINVAL with a message (no device or no complete configuration
 * descriptor in the capture, descriptors the core refuses at every
 * speed). params may be NULL. The device keeps its own copy of what it
 * needs: cap may be freed at once. */
int sim_usb_replay_new(const struct sim_usb_capture *cap,
		       const struct sim_usb_replay_params *params,
		       struct sim_usb_device **out, char *err, size_t errlen);
/* d must come from sim_usb_replay_new. */
void sim_usb_replay_stats(const struct sim_usb_device *d,
			  struct sim_usb_replay_stats *st);
/* One line: "replayed R of S scripted transfers (T in the capture, ...)"
 * and, after a divergence, "; diverged at T ns on ...: expected ...,
 * got ... (capture record N)". */
void sim_usb_replay_report(const struct sim_usb_device *d, char *buf,
			   size_t len);

#endif /* SIM_DEVICES_USB_REPLAY_H */
