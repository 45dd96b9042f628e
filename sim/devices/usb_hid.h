/*
 * Simulated HID boot devices (USB HID 1.11): a keyboard and a mouse, each
 * one interface (class 3, subclass 1 boot, protocol 1 keyboard / 2 mouse)
 * with one interrupt IN endpoint 1, built on the USB device core
 * (usb_device.h) at low, full or high speed.
 *
 * Input is a script fixed at creation: events with a simulated time. The
 * interrupt endpoint NAKs until the next event's time has come (the
 * transfer's now_ns >= at_ns) and then answers one report per attempt, in
 * script order: a key event gives a press report and then a release
 * report, a mouse event one report. With a non-zero idle rate (SET_IDLE)
 * the current report is repeated when the rate elapses without news; the
 * default rate is 0 for both (HID 1.11 recommends 500 ms for keyboards,
 * but 0 keeps a run's reports exactly the scripted ones unless the host
 * asks otherwise). A report the host's buffer cannot hold is BABBLE and
 * stays pending.
 *
 * Identity (made up, not assigned by the USB-IF): idVendor 0xf055,
 * idProduct 0x4b42 ("KB") for the keyboard and 0x4d53 ("MS") for the
 * mouse; strings manufacturer "xpv", product "xpv boot keyboard" /
 * "xpv boot mouse", serial "XPV-KBD-0001" / "XPV-MOUSE-0001".
 */
#ifndef SIM_DEVICES_USB_HID_H
#define SIM_DEVICES_USB_HID_H

#include <stddef.h>
#include <stdint.h>

#include "sim/devices/usb_device.h"

#define SIM_USB_HID_VENDOR	 0xf055
#define SIM_USB_HID_KEYBOARD_PID 0x4b42
#define SIM_USB_HID_MOUSE_PID	 0x4d53

/* HID class requests (HID 1.11 7.2) and descriptor types (7.1). */
#define SIM_USB_HID_GET_REPORT	 0x01
#define SIM_USB_HID_GET_IDLE	 0x02
#define SIM_USB_HID_GET_PROTOCOL 0x03
#define SIM_USB_HID_SET_REPORT	 0x09
#define SIM_USB_HID_SET_IDLE	 0x0a
#define SIM_USB_HID_SET_PROTOCOL 0x0b
#define SIM_USB_HID_DT_HID	 0x21
#define SIM_USB_HID_DT_REPORT	 0x22

struct sim_usb_hid_key_event {
	uint64_t at_ns;
	uint8_t modifiers; /* bit 0 left ctrl .. bit 7 right GUI */
	uint8_t keycode;   /* usage page 7, 0x04..0x65; 0: modifiers only */
};

struct sim_usb_hid_mouse_event {
	uint64_t at_ns;
	uint8_t buttons;      /* bits 0-2: left, right, middle */
	int8_t dx, dy, wheel; /* -127..127; the wheel is not in boot reports */
};

struct sim_usb_hid_stats {
	uint64_t reports;     /* interrupt IN reports delivered */
	uint64_t naks;	      /* interrupt IN attempts with nothing to send */
	unsigned events_done; /* script events fully reported */
	unsigned events;      /* script length */
	uint8_t leds;	      /* keyboard: last SET_REPORT output, bits 0-4 */
	uint64_t led_reports; /* SET_REPORT (output) requests accepted */
	uint8_t protocol;     /* 0 boot, 1 report */
	uint8_t idle;	      /* 4 ms units, 0: report changes only */
};

/*
 * A boot keyboard (8-byte reports) or boot mouse (4-byte reports with the
 * wheel in report protocol, 3 bytes in boot protocol). The script is
 * copied; at_ns must not decrease. 0, or -EINVAL with a message (speed,
 * script out of order, a key code or movement out of range).
 */
int sim_usb_hid_keyboard_new(enum sim_usb_speed speed,
			     const struct sim_usb_hid_key_event *ev,
			     unsigned nev, struct sim_usb_device **out,
			     char *err, size_t errlen);
int sim_usb_hid_mouse_new(enum sim_usb_speed speed,
			  const struct sim_usb_hid_mouse_event *ev,
			  unsigned nev, struct sim_usb_device **out, char *err,
			  size_t errlen);

/* The boot keyboard usage (HID Usage Tables 1.12, page 7) of 'a'..'z',
 * '0'..'9' and ' ', 0 for any other character: how a configured
 * keyboard's keys are scripted (sim/guest/usb_guest.h). */
uint8_t sim_usb_hid_usage_of_char(char c);
/* The i-th movement (from 0) of a scripted mouse: buttons and a small
 * movement that differs from its neighbours, so that a lost, doubled or
 * reordered report shows; at_ns is left to the caller. */
void sim_usb_hid_mouse_pattern(unsigned i, struct sim_usb_hid_mouse_event *ev);

/* d must come from one of the constructors above. */
void sim_usb_hid_stats(const struct sim_usb_device *d,
		       struct sim_usb_hid_stats *st);

#endif /* SIM_DEVICES_USB_HID_H */
