// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The xenbus_driver adapter: puts a portable core's struct xpv_driver on
 * Linux's xenbus, creating the struct xpv_dev the core sees for each device
 * it probes and forwarding the bus callbacks to the core.
 *
 * The forwarding needs no lock of its own: xenbus registers the otherend
 * watch only after probe returns and removes it (waiting for a running
 * callback) before remove, so otherend_changed (xenwatch thread) never
 * overlaps them; probe, suspend, resume and remove run under the device
 * lock.
 */
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <xen/xenbus.h>

#include "xpv_linux.h"
#include "xpv_linux_priv.h"

/* One registered core. ids[1] stays zeroed: the table's terminator. */
struct xpv_linux_driver {
	struct xenbus_driver xb;
	struct xenbus_device_id ids[2];
	char name[48];
	const struct xpv_driver *drv;
	struct list_head link;
};

static LIST_HEAD(xpv_linux_drivers);
static DEFINE_MUTEX(xpv_linux_drivers_mutex);

static const struct xpv_driver *xpv_linux_core_of(struct xenbus_device *xb)
{
	struct xenbus_driver *xdrv = to_xenbus_driver(xb->dev.driver);

	return container_of(xdrv, struct xpv_linux_driver, xb)->drv;
}

static int xpv_linux_probe(struct xenbus_device *xb,
			   const struct xenbus_device_id *id)
{
	const struct xpv_driver *drv = xpv_linux_core_of(xb);
	struct xpv_dev *dev;
	int err;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	xpv_linux_dev_init(dev, xb, drv);
	/* Before the core's probe: it may already log or bind through dev. */
	dev_set_drvdata(&xb->dev, dev);
	err = drv->probe(dev, &dev->priv);
	if (err) {
		dev_set_drvdata(&xb->dev, NULL);
		xpv_linux_dev_release(dev);
		kfree(dev);
	}
	return err;
}

/* The state is the backend's word, any integer it wrote: the core checks. */
static void xpv_linux_otherend_changed(struct xenbus_device *xb,
				       enum xenbus_state state)
{
	struct xpv_dev *dev = dev_get_drvdata(&xb->dev);

	if (dev && dev->drv->otherend_changed)
		dev->drv->otherend_changed(dev->priv,
					   (enum xpv_xenbus_state)state);
}

static int xpv_linux_suspend(struct xenbus_device *xb)
{
	struct xpv_dev *dev = dev_get_drvdata(&xb->dev);

	if (!dev || !dev->drv->suspend)
		return 0;
	return dev->drv->suspend(dev->priv);
}

static int xpv_linux_resume(struct xenbus_device *xb)
{
	struct xpv_dev *dev = dev_get_drvdata(&xb->dev);

	if (!dev || !dev->drv->resume)
		return 0;
	return dev->drv->resume(dev->priv);
}

static void xpv_linux_remove(struct xenbus_device *xb)
{
	struct xpv_dev *dev = dev_get_drvdata(&xb->dev);

	if (!dev)
		return;
	if (dev->drv->remove)
		dev->drv->remove(dev->priv);
	dev_set_drvdata(&xb->dev, NULL);
	xpv_linux_dev_release(dev);
	kfree(dev);
}

static int xpv_linux_driver_init(struct xpv_linux_driver *ld,
				 const struct xpv_driver *drv)
{
	if (!drv->type || !drv->probe)
		return -EINVAL;
	if (strscpy(ld->ids[0].devicetype, drv->type,
		    sizeof(ld->ids[0].devicetype)) < 0)
		return -EINVAL;
	/* Not the bare type: Linux's own frontend may hold that name. */
	snprintf(ld->name, sizeof(ld->name), "xpv-%s", drv->type);
	ld->drv = drv;
	ld->xb.name = ld->name;
	ld->xb.ids = ld->ids;
	ld->xb.probe = xpv_linux_probe;
	ld->xb.otherend_changed = xpv_linux_otherend_changed;
	ld->xb.suspend = xpv_linux_suspend;
	ld->xb.resume = xpv_linux_resume;
	ld->xb.remove = xpv_linux_remove;
	return 0;
}

int xpv_linux_register(const struct xpv_driver *drv, struct module *owner)
{
	struct xpv_linux_driver *ld;
	int err;

	ld = kzalloc(sizeof(*ld), GFP_KERNEL);
	if (!ld)
		return -ENOMEM;
	err = xpv_linux_driver_init(ld, drv);
	if (!err)
		err = __xenbus_register_frontend(&ld->xb, owner,
						 KBUILD_MODNAME);
	if (err) {
		kfree(ld);
		return err;
	}
	mutex_lock(&xpv_linux_drivers_mutex);
	list_add(&ld->link, &xpv_linux_drivers);
	mutex_unlock(&xpv_linux_drivers_mutex);
	return 0;
}

static struct xpv_linux_driver *xpv_linux_driver_take(
	const struct xpv_driver *drv)
{
	struct xpv_linux_driver *ld, *found = NULL;

	mutex_lock(&xpv_linux_drivers_mutex);
	list_for_each_entry(ld, &xpv_linux_drivers, link) {
		if (ld->drv == drv) {
			list_del(&ld->link);
			found = ld;
			break;
		}
	}
	mutex_unlock(&xpv_linux_drivers_mutex);
	return found;
}

/* Removes every device of the driver first (the core's remove runs). */
void xpv_linux_unregister(const struct xpv_driver *drv)
{
	struct xpv_linux_driver *ld = xpv_linux_driver_take(drv);

	if (WARN_ON(!ld))
		return;
	xenbus_unregister_driver(&ld->xb);
	kfree(ld);
}
