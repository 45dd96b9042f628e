/* SPDX-License-Identifier: MIT */
/*
 * PVUSB wire protocol (Xen io/usbif.h, xenbus type "vusb"), written from the
 * documented layout. tests/unit/test_layout.c checks every size and offset
 * against libxen-dev's header.
 */
#ifndef XPV_USBIF_H
#define XPV_USBIF_H

#include "ring.h"

#define XPV_USBIF_MAX_SEGMENTS 16
#define XPV_USBIF_MAX_PORTNR 31

/* pipe bits */
#define XPV_USBIF_PIPE_PORT_MASK 0x0000001fu
#define XPV_USBIF_PIPE_UNLINK 0x00000020u
#define XPV_USBIF_PIPE_DIR_IN 0x00000080u
#define XPV_USBIF_PIPE_DEV_SHIFT 8
#define XPV_USBIF_PIPE_DEV_MASK 0x7fu
#define XPV_USBIF_PIPE_EP_SHIFT 15
#define XPV_USBIF_PIPE_EP_MASK 0xfu
#define XPV_USBIF_PIPE_TYPE_SHIFT 30
enum xpv_usbif_pipe_type {
	XPV_USBIF_PIPE_ISOC = 0,
	XPV_USBIF_PIPE_INT = 1,
	XPV_USBIF_PIPE_CTRL = 2,
	XPV_USBIF_PIPE_BULK = 3,
};

#define XPV_USBIF_SHORT_NOT_OK 0x0001u

enum xpv_usbif_speed {
	XPV_USBIF_SPEED_NONE = 0, /* port unplugged */
	XPV_USBIF_SPEED_LOW = 1,
	XPV_USBIF_SPEED_FULL = 2,
	XPV_USBIF_SPEED_HIGH = 3,
};

/* Response status values (negative Linux errno). */
#define XPV_USBIF_STATUS_OK 0
#define XPV_USBIF_STATUS_NODEV (-19)
#define XPV_USBIF_STATUS_INVAL (-22)
#define XPV_USBIF_STATUS_STALL (-32)
#define XPV_USBIF_STATUS_IOERROR (-71)
#define XPV_USBIF_STATUS_BABBLE (-75)
#define XPV_USBIF_STATUS_SHUTDOWN (-108)

struct xpv_usbif_seg {
	xpv_u32 gref;
	xpv_u16 offset;
	xpv_u16 length;
};

struct xpv_usbif_urb_request {
	xpv_u16 id;
	xpv_u16 nr_buffer_segs;
	xpv_u32 pipe;
	xpv_u16 transfer_flags;
	xpv_u16 buffer_length;
	union {
		xpv_u8 ctrl[8];
		struct {
			xpv_u16 interval;
			xpv_u16 start_frame;
			xpv_u16 number_of_packets;
			xpv_u16 nr_frame_desc_segs;
		} isoc;
		struct {
			xpv_u16 interval;
			xpv_u16 pad[3];
		} intr;
		struct {
			xpv_u16 unlink_id;
			xpv_u16 pad[3];
		} unlink;
	} u;
	struct xpv_usbif_seg seg[XPV_USBIF_MAX_SEGMENTS];
};

struct xpv_usbif_urb_response {
	xpv_u16 id;
	xpv_u16 start_frame;
	xpv_s32 status;
	xpv_s32 actual_length;
	xpv_s32 error_count;
};

struct xpv_usbif_conn_request {
	xpv_u16 id;
};

struct xpv_usbif_conn_response {
	xpv_u16 id;
	xpv_u8 portnum;
	xpv_u8 speed;
};

union xpv_usbif_urb_entry {
	struct xpv_usbif_urb_request req;
	struct xpv_usbif_urb_response rsp;
};
union xpv_usbif_conn_entry {
	struct xpv_usbif_conn_request req;
	struct xpv_usbif_conn_response rsp;
};

#define XPV_USBIF_URB_RING_SIZE XPV_RING_SLOTS(sizeof(union xpv_usbif_urb_entry))
#define XPV_USBIF_CONN_RING_SIZE \
	XPV_RING_SLOTS(sizeof(union xpv_usbif_conn_entry))

XPV_STATIC_ASSERT(sizeof(struct xpv_usbif_urb_request) == 148, "usbif req");
XPV_STATIC_ASSERT(sizeof(struct xpv_usbif_urb_response) == 16, "usbif rsp");
XPV_STATIC_ASSERT(XPV_USBIF_URB_RING_SIZE == 16, "usbif urb ring slots");
XPV_STATIC_ASSERT(XPV_USBIF_CONN_RING_SIZE == 512, "usbif conn ring slots");

#endif /* XPV_USBIF_H */
