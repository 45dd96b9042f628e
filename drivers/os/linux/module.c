// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * xpv_core.ko: the portable frontend cores (drivers/core, listed in
 * drivers/sources.mk) with their Linux contract implementation. No frontend
 * is registered yet; when one is, its init calls xpv_linux_register() here.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init xpv_linux_init(void)
{
	pr_info("xpv frontend cores loaded (no frontend registered yet)\n");
	return 0;
}

static void __exit xpv_linux_exit(void)
{
	pr_info("xpv frontend cores unloaded\n");
}

module_init(xpv_linux_init);
module_exit(xpv_linux_exit);

MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("xpv: portable Xen PV frontend cores on Linux's xenbus");
