// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * xpv_core.ko: the portable frontend cores (drivers/sources.mk) with their
 * Linux contract implementation, and the frontends built on them. Each
 * frontend is a struct xpv_driver that init puts on the xenbus through
 * xpv_linux_register(); to add one, register it here and unregister it in
 * reverse order in exit.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "xpv_linux.h"

static int __init xpv_linux_init(void)
{
	int err = xpv_linux_register(&xpv_scsifront_driver, THIS_MODULE);

	if (err) {
		pr_err("cannot register the vscsi frontend: %d\n", err);
		return err;
	}
	err = xpv_linux_register(&xpv_usbfront_driver, THIS_MODULE);
	if (err) {
		pr_err("cannot register the vusb frontend: %d\n", err);
		xpv_linux_unregister(&xpv_scsifront_driver);
		return err;
	}
	pr_info("xpv frontends registered: vscsi vusb\n");
	return 0;
}

/* Unregistering removes every device of the driver first. */
static void __exit xpv_linux_exit(void)
{
	xpv_linux_unregister(&xpv_usbfront_driver);
	xpv_linux_unregister(&xpv_scsifront_driver);
}

module_init(xpv_linux_init);
module_exit(xpv_linux_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("xpv: portable Xen PV frontend cores on Linux's xenbus");
