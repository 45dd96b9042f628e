/*
 * Reading a capture of a real USB device: Linux usbmon (pcap link types
 * 189, DLT_USB_LINUX, 48-byte header, and 220, DLT_USB_LINUX_MMAPPED,
 * 64-byte header with iso descriptors) and Windows USBPcap (249,
 * DLT_USBPCAP: USBPCAP_BUFFER_PACKET_HEADER and its control and iso
 * extensions), through libpcap, into a neutral list of the transfers of
 * one device. usb_replay.h turns that list into a simulated device.
 *
 * A transfer is a submission and its completion, matched by URB id
 * (usbmon) or IRP id (USBPcap): setup (control), endpoint, direction,
 * type, status, and data (OUT: from the submission; IN: from the
 * completion). A USBPcap control transfer arrives in stages (SETUP, OUT
 * DATA on the way down; IN DATA and STATUS on the way up, or one COMPLETE
 * stage from old versions) that are put together by IRP id.
 *
 * The file is hostile: every malformed record is an error
 * "FILE: record N (byte offset O): what is wrong" (N counts records from
 * 1, O is where the record starts in the file); the file header's
 * problems are "FILE: file header (byte offset 0): ...". A completion
 * without a submission, or a submission never completed, is tolerated and
 * counted. Memory is bounded by the file's size (data is copied once) and
 * by SIM_USB_CAPTURE_INFLIGHT_MAX transfers in flight.
 *
 * Neither format records the device's speed; usb_replay.c infers it.
 * To add a format: a decoder from one record to struct cap_event
 * (usb_capture.c) and a case in decode_record.
 */
#ifndef SIM_DEVICES_USB_CAPTURE_H
#define SIM_DEVICES_USB_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/devices/usb_device.h"

#define SIM_USB_CAPTURE_LINUX	      189
#define SIM_USB_CAPTURE_LINUX_MMAPPED 220
#define SIM_USB_CAPTURE_USBPCAP	      249
/* Submissions waiting for their completion at once, across devices. */
#define SIM_USB_CAPTURE_INFLIGHT_MAX 4096

/* One transfer of the chosen device, in the order of its submission. */
struct sim_usb_cap_xfer {
	unsigned record;      /* pcap record of the submission, from 1 */
	unsigned done_record; /* of the completion */
	uint64_t submit_ns;   /* capture time since the first record */
	uint64_t done_ns;
	uint8_t ep; /* 0..15 */
	bool in;    /* control: the setup's direction */
	enum sim_usb_ep_type type;
	struct sim_usb_setup setup; /* control only */
	uint32_t requested;	    /* buffer length the host asked for */
	/* The answer: OK, STALL, BABBLE or IOERROR; cancelled when the host
	 * unlinked the transfer (it has no answer of the device). */
	enum sim_usb_status status;
	bool cancelled;
	int32_t raw_status; /* usbmon: -errno; USBPcap: USBD_STATUS */
	uint8_t *data;	    /* len bytes (OUT: sent; IN: received) */
	uint32_t len;
	bool data_truncated; /* the capture kept fewer bytes than moved */
	unsigned npackets;   /* iso only */
};

struct sim_usb_capture {
	int linktype;
	uint16_t bus, addr; /* the chosen device */
	struct sim_usb_cap_xfer *xfers;
	unsigned nxfers;
	/* What the reader saw of the whole file. */
	unsigned records;
	unsigned other_devices;	     /* transfers of devices not chosen */
	unsigned orphan_completions; /* completion without submission */
	unsigned unfinished;	     /* submission never completed */
	unsigned ignored;	     /* USBPcap IRP info / unknown records */
};

/* Which device to take: bus and addr both >= 0, or both -1 for the first
 * device (in capture order) that is not a hub (bDeviceClass 9) and whose
 * GET_DESCRIPTOR(device) was answered with 18 bytes. */
struct sim_usb_capture_select {
	int bus, addr;
};

/* Reads the capture at path. 0, or -EINVAL (malformed, foreign, or no
 * such device), -ENOENT (cannot open) with the message in err. */
int sim_usb_capture_read_file(const char *path,
			      const struct sim_usb_capture_select *sel,
			      struct sim_usb_capture **out, char *err,
			      size_t errlen);
/* The same from an open stream (a file, fmemopen): name is what messages
 * call it. fp is closed, whatever the outcome. */
int sim_usb_capture_read_stream(FILE *fp, const char *name,
				const struct sim_usb_capture_select *sel,
				struct sim_usb_capture **out, char *err,
				size_t errlen);
void sim_usb_capture_free(struct sim_usb_capture *c);

#endif /* SIM_DEVICES_USB_CAPTURE_H */
