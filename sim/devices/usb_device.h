/*
 * Simulated USB devices: what the PVUSB backend model (sim/backends/usbback)
 * hands transfers to, as QEMU's qusb hands them to a usb-host device. The
 * backend is the host controller: it owns bus timing, polling and queues;
 * a device answers one transaction attempt at a time, synchronously, the
 * way a real function answers a token on the bus:
 *
 *   SIM_USB_OK      data moved (IN: up to the buffer; OUT: all of it)
 *   SIM_USB_NAK     nothing now: the host tries again later (at the
 *                   endpoint's interval for interrupt endpoints); bulk and
 *                   interrupt only
 *   SIM_USB_STALL   the endpoint is halted (or a control request is not
 *                   supported: a protocol stall that the next SETUP clears)
 *   SIM_USB_BABBLE  the device sent more than the buffer holds
 *   SIM_USB_IOERROR a bus error (CRC, timeout) the device model injects
 *
 * A control transfer is handed over whole (setup, data stage, status):
 * standard requests are answered by the shared core (usb_device.c) from
 * the device's descriptors; class and vendor requests, and every data
 * endpoint, go to the class (struct sim_usb_class). The core keeps the
 * USB 2.0 chapter 9 state: address, configuration, alternate settings,
 * remote wakeup and endpoint halt bits. Data toggles are the host's and
 * device's shared business and are not modelled.
 *
 * A transfer to an endpoint the active configuration does not have (wrong
 * number, direction or type, or the device is not configured) answers
 * SIM_USB_IOERROR: on a real bus nobody answers the token and the host
 * times out. A control request the device does not support, or one the
 * host got wrong (direction, wLength above the buffer), answers STALL.
 *
 * Isochronous transfers carry packets (offset, length) within the buffer;
 * the device fills each IN packet's actual length and status and consumes
 * OUT packets one per (micro)frame. An iso transfer never NAKs.
 *
 * No wall clock, no host randomness: a device sees simulated time only in
 * the transfer (now_ns), so identical attempts give identical answers and
 * runs replay bit for bit.
 */
#ifndef SIM_DEVICES_USB_DEVICE_H
#define SIM_DEVICES_USB_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Speeds, numbered as usbif's conn ring numbers them. */
enum sim_usb_speed {
	SIM_USB_SPEED_LOW = 1,	/* 1.5 Mbit/s */
	SIM_USB_SPEED_FULL = 2, /* 12 Mbit/s */
	SIM_USB_SPEED_HIGH = 3, /* 480 Mbit/s */
};

/* Endpoint transfer types, as bmAttributes bits 0-1 encode them. */
enum sim_usb_ep_type {
	SIM_USB_EP_CONTROL = 0,
	SIM_USB_EP_ISO = 1,
	SIM_USB_EP_BULK = 2,
	SIM_USB_EP_INTERRUPT = 3,
};

enum sim_usb_status {
	SIM_USB_OK,
	SIM_USB_NAK,
	SIM_USB_STALL,
	SIM_USB_BABBLE,
	SIM_USB_IOERROR,
};

/* Standard request codes (USB 2.0 table 9-4) and descriptor types. */
#define SIM_USB_REQ_GET_STATUS		     0x00
#define SIM_USB_REQ_CLEAR_FEATURE	     0x01
#define SIM_USB_REQ_SET_FEATURE		     0x03
#define SIM_USB_REQ_SET_ADDRESS		     0x05
#define SIM_USB_REQ_GET_DESCRIPTOR	     0x06
#define SIM_USB_REQ_SET_DESCRIPTOR	     0x07
#define SIM_USB_REQ_GET_CONFIGURATION	     0x08
#define SIM_USB_REQ_SET_CONFIGURATION	     0x09
#define SIM_USB_REQ_GET_INTERFACE	     0x0a
#define SIM_USB_REQ_SET_INTERFACE	     0x0b
#define SIM_USB_DT_DEVICE		     0x01
#define SIM_USB_DT_CONFIG		     0x02
#define SIM_USB_DT_STRING		     0x03
#define SIM_USB_DT_INTERFACE		     0x04
#define SIM_USB_DT_ENDPOINT		     0x05
#define SIM_USB_DT_DEVICE_QUALIFIER	     0x06
#define SIM_USB_FEATURE_ENDPOINT_HALT	     0x00
#define SIM_USB_FEATURE_DEVICE_REMOTE_WAKEUP 0x01
/* Direction bit 7 of bmRequestType and of bEndpointAddress. */
#define SIM_USB_DIR_IN 0x80
/* bmRequestType: type (bits 5-6) and recipient (bits 0-4). */
#define SIM_USB_TYPE_MASK	0x60
#define SIM_USB_TYPE_STANDARD	0x00
#define SIM_USB_TYPE_CLASS	0x20
#define SIM_USB_TYPE_VENDOR	0x40
#define SIM_USB_RECIP_MASK	0x1f
#define SIM_USB_RECIP_DEVICE	0x00
#define SIM_USB_RECIP_INTERFACE 0x01
#define SIM_USB_RECIP_ENDPOINT	0x02

struct sim_usb_setup {
	uint8_t bmRequestType;
	uint8_t bRequest;
	uint16_t wValue;
	uint16_t wIndex;
	uint16_t wLength;
};

struct sim_usb_iso_packet {
	uint32_t offset; /* within the transfer's buffer */
	uint32_t length; /* IN: room; OUT: bytes to send */
	uint32_t actual; /* set by the device */
	enum sim_usb_status status;
};

struct sim_usb_xfer {
	uint8_t ep; /* endpoint number 0..15 */
	bool in;    /* device to host (control: from setup) */
	enum sim_usb_ep_type type;
	struct sim_usb_setup setup; /* control only */
	uint8_t *data;		    /* IN: room for len; OUT: len bytes */
	uint32_t len;
	uint32_t actual;		    /* bytes moved, set by the device */
	struct sim_usb_iso_packet *packets; /* iso only */
	unsigned npackets;
	uint64_t now_ns; /* simulated time of this attempt */
};

/* What the backend needs to time a data endpoint of the active
 * configuration. */
struct sim_usb_ep_info {
	enum sim_usb_ep_type type;
	uint16_t max_packet; /* wMaxPacketSize bits 0-10 */
	uint8_t mult;	     /* high-speed packets per microframe, 1..3 */
	uint8_t interval;    /* bInterval as in the descriptor */
};

struct sim_usb_device;

/* A device class: the part of a device the core does not know. Every
 * function may be NULL where the class has nothing of the kind. */
struct sim_usb_class {
	const char *name; /* "hid-keyboard", "msc", ... */
	/* Class and vendor requests, and standard requests addressed to an
	 * interface or endpoint the core does not answer (HID GET_DESCRIPTOR
	 * of a report descriptor). STALL for anything unknown, never NAK.
	 * The core has checked: setup.wLength <= len, in matches the
	 * setup's direction, and for an interface (endpoint) recipient that
	 * the device is configured and wIndex names an interface (endpoint)
	 * of the active configuration (see windex_entity). IN: set actual
	 * (<= wLength). OUT: data holds wLength bytes; the core sets actual
	 * on OK. */
	enum sim_usb_status (*control)(struct sim_usb_device *d,
				       struct sim_usb_xfer *x);
	/* A transfer on a data endpoint of the active configuration that is
	 * not halted, of that endpoint's type and direction. IN: set actual
	 * (<= len); OUT: the core sets actual to len on OK. */
	enum sim_usb_status (*data)(struct sim_usb_device *d,
				    struct sim_usb_xfer *x);
	/* Bus reset, or a configuration / alternate setting change:
	 * forget transfers in progress. Called before configured; the
	 * configuration and alternates are already the new ones. */
	void (*reset)(struct sim_usb_device *d);
	/* After SET_CONFIGURATION: config is the new value, 0 when the host
	 * deconfigured the device. */
	void (*configured)(struct sim_usb_device *d, uint8_t config);
	/* From sim_usb_device_free: release the class's private state. */
	void (*destroy)(struct sim_usb_device *d);
	/* Class requests to an interface carry something of the class's in
	 * wIndex bits 8-15 (USB Audio: the entity ID): the core checks bits
	 * 0-7 against the interfaces and leaves bits 8-15 to the class.
	 * false: all 16 bits must name the interface. */
	bool windex_entity;
};

/* The descriptors a device is built from: copied by sim_usb_device_new.
 * config holds the whole configuration (configuration, interface,
 * class-specific and endpoint descriptors, wTotalLength long); one
 * configuration per device, without non-default control endpoints.
 * strings[i] is string index i + 1 (printable ASCII, at most 126
 * characters, sent as UTF-16LE); language 0x0409 only. */
struct sim_usb_descriptors {
	const uint8_t *device; /* 18 bytes */
	const uint8_t *config;
	const char *const *strings;
	unsigned nstrings;
};

/* 0, or -EINVAL with a message (malformed descriptors: lengths, types,
 * endpoint numbers, a max packet size or interval the speed forbids).
 * cls may be NULL (a device with no class behaviour); on failure
 * cls->destroy is not called and cls_priv stays the caller's. */
int sim_usb_device_new(const struct sim_usb_descriptors *desc,
		       enum sim_usb_speed speed,
		       const struct sim_usb_class *cls, void *cls_priv,
		       struct sim_usb_device **out, char *err, size_t errlen);
void sim_usb_device_free(struct sim_usb_device *d);

/* One attempt at a transfer (see the top of this file). The caller
 * guarantees data holds len bytes (data may be NULL when len is 0) and
 * that iso packets lie within it. */
enum sim_usb_status sim_usb_device_handle(struct sim_usb_device *d,
					  struct sim_usb_xfer *x);
/* Port reset: address 0, unconfigured, halts cleared, class reset. */
void sim_usb_device_reset(struct sim_usb_device *d);

enum sim_usb_speed sim_usb_device_speed(const struct sim_usb_device *d);
uint8_t sim_usb_device_address(const struct sim_usb_device *d);
uint8_t sim_usb_device_config(const struct sim_usb_device *d); /* 0: none */
/* The alternate setting interface iface has selected (0 when the device
 * is not configured); iface must be below the configuration's
 * bNumInterfaces. A class reads it from its reset hook to learn what a
 * SET_INTERFACE changed. */
uint8_t sim_usb_device_alt(const struct sim_usb_device *d, uint8_t iface);
/* Endpoint ep in direction in of the active configuration: 0, or -ENOENT
 * when there is no such endpoint (or the device is not configured). */
int sim_usb_device_ep(const struct sim_usb_device *d, uint8_t ep, bool in,
		      struct sim_usb_ep_info *info);
bool sim_usb_device_halted(const struct sim_usb_device *d, uint8_t ep, bool in);
/* The class halts an endpoint of the active configuration (mass storage
 * does, on a bad CBW); the host clears it with CLEAR_FEATURE. */
void sim_usb_device_halt(struct sim_usb_device *d, uint8_t ep, bool in);
void *sim_usb_device_class_priv(const struct sim_usb_device *d);

#endif /* SIM_DEVICES_USB_DEVICE_H */
