/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Private to drivers/os/linux: the Linux shape of the contract's opaque
 * struct xpv_dev, shared by the contract implementation (os_linux.c) and
 * the xenbus_driver adapter (driver.c). Nothing outside os/linux sees it.
 */
#ifndef XPV_LINUX_PRIV_H
#define XPV_LINUX_PRIV_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <xen/xenbus.h>
#include <xpv/os.h>

/* One xenbus device as the cores see it. Created by the adapter's probe,
 * freed after the core's remove. */
struct xpv_dev {
	struct xenbus_device *xbdev;	/* nodename, otherend, otherend_id */
	const struct xpv_driver *drv;	/* the core bound to this device */
	void *priv;			/* the core's state, from its probe */
	struct mutex evtchn_mutex;	/* guards evtchns (sleepable paths) */
	struct list_head evtchns;	/* bound ports: xpv_linux_evtchn */
};

void xpv_linux_dev_init(struct xpv_dev *dev, struct xenbus_device *xbdev,
			const struct xpv_driver *drv);
/* Unbinds any port the core left bound, so no handler outlives its core. */
void xpv_linux_dev_release(struct xpv_dev *dev);

#endif /* XPV_LINUX_PRIV_H */
