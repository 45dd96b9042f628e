/*
 * Inside the simulated USB device classes (usb_hid.c, usb_msc.c,
 * usb_acm.c, usb_ecm.c, usb_audio.c): what they all need around the USB
 * device core (usb_device.h) and would otherwise each write again.
 *
 * Byte packing is little endian, as on the bus. The descriptor writers
 * fill one standard chapter 9 descriptor at p, zeroing what they do not
 * set, and return the byte after it, so that a configuration is built
 * by chaining them; class-specific descriptors are each class's own.
 * Every device here has the same strings (1 manufacturer, 2 product,
 * 3 serial number), one configuration (value 1) and draws 100 mA.
 */
#ifndef SIM_DEVICES_USB_CLASS_H
#define SIM_DEVICES_USB_CLASS_H

#include <stddef.h>
#include <stdint.h>

#include "sim/devices/usb_device.h"

#define USB_CLASS_DEVICE_LEN 18
#define USB_CLASS_CONFIG_LEN 9
#define USB_CLASS_IFACE_LEN  9
#define USB_CLASS_EP_LEN     7

static inline void usb_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void usb_put_le32(uint8_t *p, uint32_t v)
{
	usb_put_le16(p, (uint16_t)v);
	usb_put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline uint32_t usb_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Returns -EINVAL after putting the message in err (when there is one). */
__attribute__((format(printf, 3, 4))) int
usb_class_fail(char *err, size_t errlen, const char *fmt, ...);

/* 0 at full or high speed; else -EINVAL saying that what (the class's
 * function, for the message) needs bulk endpoints. */
int usb_class_need_bulk(const char *name, const char *what,
			enum sim_usb_speed speed, char *err, size_t errlen);

/* wMaxPacketSize of a bulk endpoint: the largest the speed allows. */
uint16_t usb_class_bulk_mps(enum sim_usb_speed speed);

/* Answer a control IN with n bytes of buf, as many as wLength takes. */
enum sim_usb_status usb_class_reply(struct sim_usb_xfer *x, const void *buf,
				    size_t n);

/* The device descriptor. bcdUSB 2.00 only where the device qualifier
 * exists (high speed); bMaxPacketSize0 8 at low speed (the only size it
 * allows), 64 elsewhere. cls 0: the interfaces say what the device is. */
void usb_desc_device(uint8_t *dev, enum sim_usb_speed speed, uint8_t cls,
		     uint16_t vendor, uint16_t product);

/* The configuration descriptor: zeroes all total bytes of the
 * configuration first, then returns where its first interface goes. */
uint8_t *usb_desc_config(uint8_t *c, uint16_t total, uint8_t nif,
			 uint8_t attributes);

/* An interface descriptor, with no string. */
uint8_t *usb_desc_iface(uint8_t *p, uint8_t num, uint8_t alt, uint8_t neps,
			uint8_t cls, uint8_t sub, uint8_t proto);

/* A 7-byte endpoint descriptor; type is bmAttributes. */
uint8_t *usb_desc_ep(uint8_t *p, uint8_t addr, uint8_t type, uint16_t mps,
		     uint8_t interval);

/* n bytes of a fixed (class-specific) descriptor. */
uint8_t *usb_desc_bytes(uint8_t *p, const uint8_t *src, size_t n);

/* Create the device from the descriptors just built. */
int usb_class_device_new(const uint8_t *dev, const uint8_t *config,
			 const char *const *strings, unsigned nstrings,
			 enum sim_usb_speed speed,
			 const struct sim_usb_class *cls, void *priv,
			 struct sim_usb_device **out, char *err, size_t errlen);

#endif
