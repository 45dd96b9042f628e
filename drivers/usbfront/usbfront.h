/* SPDX-License-Identifier: MIT */
/*
 * usbfront: the portable PVUSB frontend core (xenbus type "vusb").
 *
 * It speaks usbif to a backend through the contract (xpv/os.h) only and
 * offers an upper layer (the Linux HCD glue, or the simulator's guest USB
 * stand-in) what a host controller driver offers the USB core: a root hub
 * with `num-ports` ports whose status and change bits the upper layer
 * reads and whose features it sets and clears (reset, suspend, enable,
 * power: handled here, never sent to the backend, as xen-hcd does), URB
 * submission for control, bulk, interrupt and isochronous transfers, and
 * unlink. Every submitted URB comes back exactly once through `giveback`.
 *
 * Rings: the URB ring (16 slots) carries URBs and unlink requests; the
 * conn ring (512 slots) carries the backend's plug and unplug events, one
 * per request the frontend posted (all 512 are posted at connect and each
 * is posted again once its event is handled). An URB that finds the URB
 * ring full waits on a queue, in submission order, and goes out as slots
 * free up (and from a 5 ms retry timer, as xen-hcd's).
 *
 * Data moves through bounce pages the core owns (16 per slot, allocated at
 * connect, granted per URB, read-only for OUT): the backend never sees
 * upper-layer memory. Isochronous frame descriptors (16 bytes each, Linux's
 * usb_iso_packet_descriptor: offset, length, actual_length, status) go in
 * pages after the buffer pages; buffer and descriptor pages together are at
 * most 16 segments.
 *
 * Transfer size: usbif's buffer_length is 16 bits, but 16 segments hold
 * 65,536 bytes (gap D). The meaning chosen here: the segments' lengths are
 * authoritative (qusb moves data by them), buffer_length carries the
 * length modulo 65,536, so a 65,536-byte transfer is sent with
 * buffer_length 0 and sixteen full segments. Larger URBs are refused with
 * -XPV_E2BIG at submission (xen-hcd does the same).
 *
 * Results (policy written once, here): status 0, -19, -22, -32, -71, -75
 * and -108 pass through; any other value is -108 (ESHUTDOWN), as xen-hcd's
 * translation does; actual_length is clamped to [0, the URB's length], and
 * per iso packet to [0, that packet's length]; a transfer whose status is
 * not 0 delivers no data (actual 0, buffer untouched: a backend that
 * reports an error and data contradicts itself; an iso one has every
 * packet failed with that status). An IN transfer that
 * ends short with USBFRONT_SHORT_NOT_OK and status 0 completes with -121
 * (EREMOTEIO), as the Linux USB core reports it, with its data. An URB the
 * upper layer unlinked completes with -104 (ECONNRESET), whatever the
 * backend says; its data is delivered only up to the actual length
 * reported with status 0 (none if the backend answered an error).
 *
 * Error state (sticky, as scsifront's): a response with an id that is not
 * in flight (unlink responses too: xen-hcd's gap B), rsp_prod overflow on
 * either ring, a conn event with port 0 or beyond num-ports or a speed
 * above HIGH, a grant the backend keeps mapped after answering. URBs in
 * flight and queued complete with -108 at once, new URBs fail with -108,
 * ports report nothing connected. Recovery is removing the device.
 *
 * Suspend and resume (save/restore; xen-hcd has none, gap C): resume fails
 * URBs in flight and queued with -108, drops every port's connection
 * (C_CONNECTION set, so the upper layer notices) and builds both rings
 * again; the backend then reports the devices still attached, which the
 * upper layer enumerates afresh.
 */
#ifndef XPV_USBFRONT_H
#define XPV_USBFRONT_H

#include <xpv/os.h>
#include <xpv/usbif.h>

#define USBFRONT_URB_SLOTS XPV_USBIF_URB_RING_SIZE	/* 16 */
#define USBFRONT_CONN_SLOTS XPV_USBIF_CONN_RING_SIZE	/* 512 */
#define USBFRONT_MAX_PORTS XPV_USBIF_MAX_PORTNR		/* 31 */
#define USBFRONT_MAX_SEGS XPV_USBIF_MAX_SEGMENTS	/* 16 */
#define USBFRONT_MAX_TRANSFER (USBFRONT_MAX_SEGS * XPV_PAGE_SIZE)
#define USBFRONT_ISO_DESC_SIZE 16u
/* Root-hub timing, local only (xen-hcd's values). */
#define USBFRONT_PORT_RESET_NS (10ull * 1000 * 1000)
#define USBFRONT_PORT_RESUME_NS (20ull * 1000 * 1000)
#define USBFRONT_RETRY_NS (5ull * 1000 * 1000)

/* Errors an URB can complete with besides the usbif status values. */
#define USBFRONT_ECONNRESET 104 /* unlinked by the upper layer */
#define USBFRONT_EREMOTEIO 121	/* short IN with SHORT_NOT_OK */

/* wPortStatus and wPortChange bits (USB 2.0 11.24.2.7). */
#define USBFRONT_PORT_CONNECTION 0x0001u
#define USBFRONT_PORT_ENABLE 0x0002u
#define USBFRONT_PORT_SUSPEND 0x0004u
#define USBFRONT_PORT_RESET 0x0010u
#define USBFRONT_PORT_POWER 0x0100u
#define USBFRONT_PORT_LOW_SPEED 0x0200u
#define USBFRONT_PORT_HIGH_SPEED 0x0400u
#define USBFRONT_PORT_C_CONNECTION 0x0001u
#define USBFRONT_PORT_C_ENABLE 0x0002u
#define USBFRONT_PORT_C_SUSPEND 0x0004u
#define USBFRONT_PORT_C_RESET 0x0010u

/* Port features (USB 2.0 table 11-17) the upper layer sets or clears. */
enum usbfront_port_feature {
	USBFRONT_FEAT_ENABLE = 1,
	USBFRONT_FEAT_SUSPEND = 2,
	USBFRONT_FEAT_RESET = 4,
	USBFRONT_FEAT_POWER = 8,
	USBFRONT_FEAT_C_CONNECTION = 16,
	USBFRONT_FEAT_C_ENABLE = 17,
	USBFRONT_FEAT_C_SUSPEND = 18,
	USBFRONT_FEAT_C_RESET = 20,
};

enum usbfront_xfer_type {
	USBFRONT_ISO = XPV_USBIF_PIPE_ISOC,
	USBFRONT_INT = XPV_USBIF_PIPE_INT,
	USBFRONT_CTRL = XPV_USBIF_PIPE_CTRL,
	USBFRONT_BULK = XPV_USBIF_PIPE_BULK,
};

#define USBFRONT_SHORT_NOT_OK XPV_USBIF_SHORT_NOT_OK

struct usbfront;

struct usbfront_iso_packet {
	xpv_u32 offset; /* within the URB's buffer */
	xpv_u32 length;
	xpv_u32 actual; /* set at completion */
	int status;	/* set at completion */
};

/* An URB, owned by the upper layer until `giveback` returns it. */
struct usbfront_urb {
	xpv_u8 port;	/* root-hub port, 1..num-ports */
	xpv_u8 devaddr; /* 0..127 */
	xpv_u8 ep;	/* 0..15 */
	xpv_bool in;	/* control: from bmRequestType */
	enum usbfront_xfer_type type;
	xpv_u16 flags;		/* USBFRONT_SHORT_NOT_OK */
	xpv_u8 setup[8];	/* control */
	xpv_u16 interval;	/* interrupt and iso */
	void *buf;		/* len bytes of upper-layer memory */
	xpv_u32 len;		/* <= USBFRONT_MAX_TRANSFER */
	struct usbfront_iso_packet *packets; /* iso: npackets of them */
	xpv_u32 npackets;
	void *upper;		/* the upper layer's own pointer */
	/* Set before giveback. */
	int status;		/* 0 or a negative errno, per the policy */
	xpv_u32 actual;
	xpv_u32 error_count;	/* iso */
	xpv_u16 start_frame;	/* iso */
	/* Private to the core. */
	xpv_u16 id;
	xpv_bool unlinked;
	struct usbfront_urb *next;
};

enum usbfront_event {
	USBFRONT_EV_CONNECTED, /* handshake done, URBs accepted */
	USBFRONT_EV_RESUMED,   /* reconnected after a resume */
	USBFRONT_EV_ERROR,     /* entered the error state */
	USBFRONT_EV_CLOSED,    /* disconnected: both ends let go */
};

struct usbfront_upper {
	void (*giveback)(void *arg, struct usbfront_urb *urb);
	/* A change bit of this port went up: the upper layer polls the
	 * root hub (usb_hcd_poll_rh_status). Any context. */
	void (*port_changed)(void *arg, xpv_u8 port);
	void (*event)(void *arg, enum usbfront_event ev);
	void *arg;
};

struct usbfront_stats {
	xpv_u64 submitted, completed, failed, queued_full;
	xpv_u64 unlinks, unlinked, responses, conn_events;
	xpv_u64 notifies, interrupts, spurious;
	xpv_u64 clamped_actual, odd_status, short_not_ok;
	xpv_u64 quarantined;
};

/* xenbus driver entry points, as scsifront's. */
int usbfront_probe(struct xpv_dev *dev, const struct usbfront_upper *up,
		   struct usbfront **out);
void usbfront_otherend_changed(struct usbfront *uf,
			       enum xpv_xenbus_state state);
int usbfront_suspend(struct usbfront *uf);
int usbfront_resume(struct usbfront *uf);
void usbfront_remove(struct usbfront *uf);
/* Orderly disconnect started by the guest. */
void usbfront_close(struct usbfront *uf);

/* Root hub. */
xpv_u8 usbfront_num_ports(const struct usbfront *uf);
/* 1 (USB 1.1) or 2 (USB 2.0), from the backend's usb-ver. */
xpv_u8 usbfront_usb_version(const struct usbfront *uf);
int usbfront_port_status(struct usbfront *uf, xpv_u8 port,
			 xpv_u16 *status, xpv_u16 *change);
/* -XPV_EINVAL: no such port or feature (the hub request stalls). */
int usbfront_port_feature(struct usbfront *uf, xpv_u8 port,
			  enum usbfront_port_feature feature, xpv_bool set);

/* 0: on the ring or queued. -XPV_EINVAL: malformed (port, address,
 * endpoint, iso packets outside the buffer). -XPV_E2BIG: more than 16
 * segments. -XPV_ENODEV: nothing connected and enabled on the port.
 * -XPV_ESHUTDOWN: error state, closing or not connected. On an error the
 * URB is not given back. */
int usbfront_submit(struct usbfront *uf, struct usbfront_urb *urb);
/* Ask for an URB back: one still queued is given back now (-104); one on
 * the ring gets an unlink request, and is given back when the backend
 * answers it. -XPV_ENOENT: not submitted, or already completing. */
int usbfront_unlink(struct usbfront *uf, struct usbfront_urb *urb);

xpv_bool usbfront_in_error(const struct usbfront *uf);
xpv_u32 usbfront_in_flight(const struct usbfront *uf);
void usbfront_get_stats(const struct usbfront *uf, struct usbfront_stats *st);

#endif /* XPV_USBFRONT_H */
