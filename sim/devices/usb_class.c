/*
 * Helpers shared by the simulated USB device classes (usb_class.h):
 * error messages, class request replies and the standard descriptors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim/devices/usb_class.h"

int usb_class_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int usb_class_need_bulk(const char *name, const char *what,
			enum sim_usb_speed speed, char *err, size_t errlen)
{
	if (speed == SIM_USB_SPEED_FULL || speed == SIM_USB_SPEED_HIGH)
		return 0;
	return usb_class_fail(err, errlen,
			      "usb %s: speed %d: %s needs bulk endpoints, "
			      "full or high speed only",
			      name, (int)speed, what);
}

uint16_t usb_class_bulk_mps(enum sim_usb_speed speed)
{
	return speed == SIM_USB_SPEED_HIGH ? 512 : 64;
}

enum sim_usb_status usb_class_reply(struct sim_usb_xfer *x, const void *buf,
				    size_t n)
{
	if (n > x->setup.wLength)
		n = x->setup.wLength;
	if (n)
		memcpy(x->data, buf, n);
	x->actual = (uint32_t)n;
	return SIM_USB_OK;
}

void usb_desc_device(uint8_t *dev, enum sim_usb_speed speed, uint8_t cls,
		     uint16_t vendor, uint16_t product)
{
	memset(dev, 0, USB_CLASS_DEVICE_LEN);
	dev[0] = USB_CLASS_DEVICE_LEN;
	dev[1] = SIM_USB_DT_DEVICE;
	usb_put_le16(dev + 2, speed == SIM_USB_SPEED_HIGH ? 0x0200 : 0x0110);
	dev[4] = cls;
	dev[7] = speed == SIM_USB_SPEED_LOW ? 8 : 64;
	usb_put_le16(dev + 8, vendor);
	usb_put_le16(dev + 10, product);
	usb_put_le16(dev + 12, 0x0100); /* bcdDevice 1.00 */
	dev[14] = 1;			/* iManufacturer */
	dev[15] = 2;			/* iProduct */
	dev[16] = 3;			/* iSerialNumber */
	dev[17] = 1;			/* bNumConfigurations */
}

uint8_t *usb_desc_config(uint8_t *c, uint16_t total, uint8_t nif,
			 uint8_t attributes)
{
	memset(c, 0, total);
	c[0] = USB_CLASS_CONFIG_LEN;
	c[1] = SIM_USB_DT_CONFIG;
	usb_put_le16(c + 2, total);
	c[4] = nif;
	c[5] = 1; /* bConfigurationValue */
	c[7] = attributes;
	c[8] = 50; /* bMaxPower, 2 mA units */
	return c + USB_CLASS_CONFIG_LEN;
}

uint8_t *usb_desc_iface(uint8_t *p, uint8_t num, uint8_t alt, uint8_t neps,
			uint8_t cls, uint8_t sub, uint8_t proto)
{
	memset(p, 0, USB_CLASS_IFACE_LEN);
	p[0] = USB_CLASS_IFACE_LEN;
	p[1] = SIM_USB_DT_INTERFACE;
	p[2] = num;
	p[3] = alt;
	p[4] = neps;
	p[5] = cls;
	p[6] = sub;
	p[7] = proto;
	return p + USB_CLASS_IFACE_LEN;
}

uint8_t *usb_desc_ep(uint8_t *p, uint8_t addr, uint8_t type, uint16_t mps,
		     uint8_t interval)
{
	p[0] = USB_CLASS_EP_LEN;
	p[1] = SIM_USB_DT_ENDPOINT;
	p[2] = addr;
	p[3] = type;
	usb_put_le16(p + 4, mps);
	p[6] = interval;
	return p + USB_CLASS_EP_LEN;
}

uint8_t *usb_desc_bytes(uint8_t *p, const uint8_t *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

int usb_class_device_new(const uint8_t *dev, const uint8_t *config,
			 const char *const *strings, unsigned nstrings,
			 enum sim_usb_speed speed,
			 const struct sim_usb_class *cls, void *priv,
			 struct sim_usb_device **out, char *err, size_t errlen)
{
	struct sim_usb_descriptors desc = {
	    .device = dev,
	    .config = config,
	    .strings = strings,
	    .nstrings = nstrings,
	};

	return sim_usb_device_new(&desc, speed, cls, priv, out, err, errlen);
}
