/*
 * A simulated CDC-ACM serial adapter (USB CDC 1.2, PSTN 1.2 Abstract
 * Control Model) with a loopback plug on its serial side, built on the
 * USB device core (usb_device.h) at full or high speed (bulk endpoints
 * do not exist at low speed):
 *
 *   interface 0, communication: class 2, subclass 2 (ACM), protocol 1
 *     (AT commands, V.250), with the Header, Call Management, ACM and
 *     Union functional descriptors and interrupt IN endpoint 3 for
 *     notifications (16 bytes; every 16 ms at full speed, 2^(8-1)
 *     microframes = 16 ms at high speed);
 *   interface 1, data: class 0x0a, bulk IN endpoint 1 and bulk OUT
 *     endpoint 2 (64 bytes at full speed, 512 at high speed).
 *
 * Class requests on interface 0: SET_LINE_CODING (7 bytes, checked: rate
 * not 0, stop bits 0..2, parity 0..4, data bits 5..8 or 16),
 * GET_LINE_CODING, SET_CONTROL_LINE_STATE (DTR bit 0, RTS bit 1, the
 * rest reserved) and SEND_BREAK. The ACM descriptor claims just these
 * (bmCapabilities 0x06); the encapsulated commands and anything else
 * stall. The line coding starts at 9600 8N1 and, with the control lines
 * (both off), returns to that at a bus reset or a new configuration.
 * The line coding is stored and reported, nothing more: the loopback
 * neither paces nor garbles bytes by it.
 *
 * Loopback: bytes written to bulk OUT come back on bulk IN in order,
 * through a buffer of SIM_USB_ACM_LOOP_SIZE bytes. Bulk IN NAKs while
 * the buffer is empty and otherwise answers what there is, up to the
 * host's buffer. An OUT transfer is taken whole or not at all (the
 * core's contract): one that does not fit NAKs until the host has read
 * enough. One larger than the whole buffer could never fit: it NAKs
 * until the buffer is empty, then the first SIM_USB_ACM_LOOP_SIZE bytes
 * are kept and the rest is lost, which the device reports as an overrun.
 *
 * The plug ties DTR to DCD and DSR (as a DB-9 loopback plug does), so
 * the serial state (SERIAL_STATE notification, PSTN 6.5.4: bRxCarrier
 * bit 0, bTxCarrier bit 1) follows DTR. A 10-byte SERIAL_STATE is queued
 * by the first SET_CONTROL_LINE_STATE after (re)configuration, whatever
 * it sets, so the host learns the initial state; after that by every
 * change of DTR, by a SEND_BREAK with a non-zero duration (the break
 * comes back: bBreak, bit 2) and by an overrun (bOverRun, bit 6). One
 * notification is pending at a time: news before the host polls merges
 * into it, with the latest DCD/DSR and the events since the last one.
 * The interrupt endpoint NAKs when nothing is pending; a buffer below 10
 * bytes is BABBLE and the notification stays.
 *
 * Identity (made up, not assigned by the USB-IF): idVendor 0xf055,
 * idProduct 0x4143 ("AC"), bDeviceClass 2 (CDC); strings manufacturer
 * "xpv", product "xpv acm loopback", serial "XPV-ACM-0001".
 */
#ifndef SIM_DEVICES_USB_ACM_H
#define SIM_DEVICES_USB_ACM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/devices/usb_device.h"

#define SIM_USB_ACM_VENDOR  0xf055
#define SIM_USB_ACM_PRODUCT 0x4143

/* Endpoints: bulk IN 1, bulk OUT 2 (interface 1), interrupt IN 3
 * (interface 0). */
#define SIM_USB_ACM_EP_IN     1
#define SIM_USB_ACM_EP_OUT    2
#define SIM_USB_ACM_EP_NOTIFY 3

#define SIM_USB_ACM_LOOP_SIZE 4096

/* Class requests (PSTN 1.2 table 13) and the notification (table 30). */
#define SIM_USB_ACM_SET_LINE_CODING	   0x20
#define SIM_USB_ACM_GET_LINE_CODING	   0x21
#define SIM_USB_ACM_SET_CONTROL_LINE_STATE 0x22
#define SIM_USB_ACM_SEND_BREAK		   0x23
#define SIM_USB_ACM_SERIAL_STATE	   0x20
#define SIM_USB_ACM_NOTIFY_LEN		   10
#define SIM_USB_ACM_CTRL_DTR		   0x01
#define SIM_USB_ACM_CTRL_RTS		   0x02
/* SERIAL_STATE bits (PSTN 1.2 table 31). */
#define SIM_USB_ACM_STATE_DCD	  0x01 /* bRxCarrier */
#define SIM_USB_ACM_STATE_DSR	  0x02 /* bTxCarrier */
#define SIM_USB_ACM_STATE_BREAK	  0x04
#define SIM_USB_ACM_STATE_OVERRUN 0x40

/* PSTN 1.2 table 17, decoded. */
struct sim_usb_acm_line_coding {
	uint32_t rate;	   /* dwDTERate, bit/s */
	uint8_t stop_bits; /* 0: 1, 1: 1.5, 2: 2 */
	uint8_t parity;	   /* 0 none, 1 odd, 2 even, 3 mark, 4 space */
	uint8_t data_bits; /* 5, 6, 7, 8 or 16 */
};

struct sim_usb_acm_stats {
	uint64_t bytes_out;	/* taken from bulk OUT (kept) */
	uint64_t bytes_in;	/* looped back, sent on bulk IN */
	uint64_t bytes_lost;	/* overrun: taken and dropped */
	unsigned buffered;	/* in the loop now */
	uint64_t naks_in;	/* bulk IN: nothing to read */
	uint64_t naks_out;	/* bulk OUT: no room */
	uint64_t naks_notify;	/* interrupt IN: nothing pending */
	uint64_t notifications; /* SERIAL_STATE sent */
	uint64_t breaks;	/* SEND_BREAK with a duration */
	uint64_t line_codings;	/* SET_LINE_CODING accepted */
	struct sim_usb_acm_line_coding line;
	uint8_t control;      /* SIM_USB_ACM_CTRL_* as last set */
	uint8_t serial_state; /* DCD / DSR as the plug holds them */
};

/* 0, or -EINVAL with a message (low or unknown speed). */
int sim_usb_acm_new(enum sim_usb_speed speed, struct sim_usb_device **out,
		    char *err, size_t errlen);

/* d must come from sim_usb_acm_new. */
void sim_usb_acm_stats(const struct sim_usb_device *d,
		       struct sim_usb_acm_stats *st);

#endif /* SIM_DEVICES_USB_ACM_H */
