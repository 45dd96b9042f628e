/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Linux glue for the xpv frontend cores: what a kernel module calls to put
 * a portable core (a struct xpv_driver from xpv/os.h) on the xenbus.
 *
 * xpv_linux_register() wraps the core's driver in a struct xenbus_driver
 * named "xpv-<type>" (so it can coexist with Linux's own frontend for the
 * same type) and forwards probe, otherend_changed, suspend, resume and
 * remove to it. Call both from process context (module init/exit).
 */
#ifndef XPV_LINUX_H
#define XPV_LINUX_H

#include <linux/module.h>
#include <xpv/os.h>

int xpv_linux_register(const struct xpv_driver *drv, struct module *owner);
void xpv_linux_unregister(const struct xpv_driver *drv);

/* The frontends this module carries (module.c registers them). */
extern const struct xpv_driver xpv_scsifront_driver; /* scsi_glue.c */
extern const struct xpv_driver xpv_usbfront_driver;  /* usb_glue.c */

#endif /* XPV_LINUX_H */
