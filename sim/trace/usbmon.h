/*
 * USB traffic as Linux usbmon records: a pcap file of link type
 * LINKTYPE_USB_LINUX_MMAPPED (220) that Wireshark's USB, USB mass storage,
 * SCSI and HID dissectors read as if it had been captured on a Linux host
 * (Documentation/usb/usbmon.rst, "binary API").
 *
 * Each record is the kernel's 64-byte struct usbmon_packet, then, for an
 * isochronous URB, one 16-byte descriptor per frame (status, offset,
 * length, pad; at most USBMON_ISODESC_MAX, as the kernel), then the data:
 *   'S' submission: the setup packet in the header (control), OUT data;
 *   'C' completion: IN data (actual bytes; iso: up to the end of the last
 *       frame that carried any), the status and actual length;
 *   'E' error: a URB the host controller refused at submission.
 * Payloads are never truncated below USBMON_SNAPLEN (larger than any URB
 * a PVUSB frontend accepts). The URB id is the caller's tag, timestamps
 * are whatever clock the caller passes (the simulator's): the same run
 * gives the same bytes. Header fields are in host byte order, the order
 * libpcap writes the file header in, which is what readers expect for
 * this link type.
 *
 * The writer records what it is given; it does not check that a
 * completion matches a submission (the guest's checkers do).
 */
#ifndef SIM_TRACE_USBMON_H
#define SIM_TRACE_USBMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/fut/fut.h"

#define USBMON_LINKTYPE	   220 /* LINKTYPE_USB_LINUX_MMAPPED */
#define USBMON_HDR_LEN	   64
#define USBMON_ISODESC_LEN 16
#define USBMON_ISODESC_MAX 128 /* the kernel's ISODESC_MAX */
/* libpcap's largest snapshot length: a 64 KiB URB with every iso
 * descriptor fits with room to spare. */
#define USBMON_SNAPLEN 262144u

struct usbmon;

/* A writer on f, which stays the caller's to close (the writer writes
 * through a stream of its own on a duplicate of f's descriptor, so f must
 * be a real file or pipe). The pcap file header is written at once. 0, or
 * -1 with a message in err. */
int usbmon_open(FILE *f, struct usbmon **out, char *err, size_t errlen);
/* Flushes and frees the writer. 0, or -1 with a message in err when some
 * record could not be written. */
int usbmon_close(struct usbmon *m, char *err, size_t errlen);
uint64_t usbmon_records(const struct usbmon *m);

/* One record each, at time now_ns, on bus busnum. The URB is the one the
 * submitter built (its data buffer as submitted, or as given back). */
void usbmon_submit(struct usbmon *m, uint64_t now_ns, uint16_t busnum,
		   const struct fut_usb_urb *urb);
void usbmon_complete(struct usbmon *m, uint64_t now_ns, uint16_t busnum,
		     const struct fut_usb_urb *urb,
		     const struct fut_usb_result *res);
/* The host controller refused the URB with err (a negative errno). */
void usbmon_error(struct usbmon *m, uint64_t now_ns, uint16_t busnum,
		  const struct fut_usb_urb *urb, int err);

#endif /* SIM_TRACE_USBMON_H */
