/*
 * The host side the USB device tests share: control requests and single
 * transfer attempts in protocol terms, the usual enumeration steps
 * (address, configuration, alternate setting, strings) with the
 * assertions that they succeed, and little-endian reads.
 *
 * Each helper is static inline, so a test takes only what it uses. Every
 * transfer is handed to the device whole and synchronously, as the
 * backend would (sim/devices/usb_device.h).
 */
#ifndef XPV_TESTS_DEVICES_USB_TEST_H
#define XPV_TESTS_DEVICES_USB_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "sim/devices/usb_device.h"

static inline uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

/* A recognisable pattern: byte i from i, the step and a seed. */
static inline void usb_test_fill(uint8_t *p, size_t n, unsigned step,
				 unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * step + seed + (i >> 8));
}

/* The device from fn(args..., &d, err, errlen), which must succeed. */
#define USB_TEST_NEW(fn, ...)                                                  \
	({                                                                     \
		struct sim_usb_device *usb_test_d_;                            \
		char usb_test_err_[256] = "";                                  \
		ck_assert_msg(fn(__VA_ARGS__, &usb_test_d_, usb_test_err_,     \
				 sizeof(usb_test_err_)) == 0,                  \
			      "%s", usb_test_err_);                            \
		usb_test_d_;                                                   \
	})

/* A control transfer at now_ns; actual may be NULL. */
static inline enum sim_usb_status ctl_at(struct sim_usb_device *d,
					 uint64_t now_ns, uint8_t type,
					 uint8_t req, uint16_t value,
					 uint16_t index, uint16_t length,
					 uint8_t *buf, uint32_t *actual)
{
	struct sim_usb_xfer x = {
	    .ep = 0,
	    .in = type & SIM_USB_DIR_IN,
	    .type = SIM_USB_EP_CONTROL,
	    .setup = {type, req, value, index, length},
	    .data = length ? buf : NULL,
	    .len = length,
	    .now_ns = now_ns,
	};
	enum sim_usb_status st = sim_usb_device_handle(d, &x);

	if (actual)
		*actual = x.actual;
	return st;
}

static inline enum sim_usb_status ctl(struct sim_usb_device *d, uint8_t type,
				      uint8_t req, uint16_t value,
				      uint16_t index, uint16_t length,
				      uint8_t *buf, uint32_t *actual)
{
	return ctl_at(d, 0, type, req, value, index, length, buf, actual);
}

/* One attempt on data endpoint ep (bulk or interrupt) at now_ns; actual
 * may be NULL. */
static inline enum sim_usb_status
usb_test_xfer(struct sim_usb_device *d, uint64_t now_ns, uint8_t ep, bool in,
	      enum sim_usb_ep_type type, void *buf, uint32_t len,
	      uint32_t *actual)
{
	struct sim_usb_xfer x = {
	    .ep = ep,
	    .in = in,
	    .type = type,
	    .data = len ? buf : NULL,
	    .len = len,
	    .now_ns = now_ns,
	};
	enum sim_usb_status st = sim_usb_device_handle(d, &x);

	if (actual)
		*actual = x.actual;
	return st;
}

/* The next IN attempt on ep, with a buffer of len bytes, NAKs. */
static inline void usb_test_expect_nak(struct sim_usb_device *d,
				       uint64_t now_ns, uint8_t ep,
				       enum sim_usb_ep_type type, uint32_t len)
{
	static uint8_t buf[2048];
	uint32_t n;

	ck_assert_uint_le(len, sizeof(buf));
	ck_assert_int_eq(usb_test_xfer(d, now_ns, ep, true, type, buf, len, &n),
			 SIM_USB_NAK);
	ck_assert_uint_eq(n, 0);
}

static inline enum sim_usb_status set_iface(struct sim_usb_device *d,
					    uint16_t iface, uint16_t alt)
{
	return ctl(d, 0x01, SIM_USB_REQ_SET_INTERFACE, alt, iface, 0, NULL,
		   NULL);
}

/* SET_CONFIGURATION 1 (again: a fresh start for the class). */
static inline void reconfigure(struct sim_usb_device *d)
{
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_CONFIGURATION, 1, 0, 0, NULL, NULL),
	    SIM_USB_OK);
}

/* SET_ADDRESS, then SET_CONFIGURATION 1. */
static inline void usb_test_configure(struct sim_usb_device *d,
				      uint16_t address)
{
	ck_assert_int_eq(
	    ctl(d, 0x00, SIM_USB_REQ_SET_ADDRESS, address, 0, 0, NULL, NULL),
	    SIM_USB_OK);
	reconfigure(d);
}

/* The string at index i (US English), back from UTF-16LE into ASCII. */
static inline void get_string(struct sim_usb_device *d, uint8_t i, char *s)
{
	uint8_t buf[256];
	uint32_t n, k;

	ck_assert_int_eq(ctl(d, 0x80, SIM_USB_REQ_GET_DESCRIPTOR,
			     (uint16_t)(0x0300 | i), 0x0409, 255, buf, &n),
			 SIM_USB_OK);
	ck_assert_uint_eq(buf[0], n);
	ck_assert_uint_eq(buf[1], SIM_USB_DT_STRING);
	for (k = 0; k < (n - 2) / 2; k++) {
		ck_assert_uint_eq(buf[3 + 2 * k], 0);
		s[k] = (char)buf[2 + 2 * k];
	}
	s[k] = 0;
}

#endif
