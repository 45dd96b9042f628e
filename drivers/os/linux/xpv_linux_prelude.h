/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Force-included (Kbuild: -include) ahead of everything in each object of
 * xpv_core.ko, the core files included: the module-wide pr_fmt, which must
 * precede the first printk.h, and the kernel's xpv_assert_fail().
 *
 * Why not an ordinary function in os_linux.c: objtool checks each object on
 * its own and knows only a fixed in-kernel list of external functions that
 * never return. A core object calling an out-of-line noreturn
 * xpv_assert_fail() ends a function with that call, and objtool reports
 * "falls through to next function" and "stack state mismatch", whose ORC
 * data cannot be trusted. Defined here, static, the failure path is visible
 * in every object and ends in BUG()'s ud2, which objtool understands.
 * os.h's later extern-looking declaration keeps this internal linkage
 * (C11 6.2.2p4).
 *
 * WARN first: it prints the core's file and line with a backtrace (BUG()
 * alone would name this header) and taints the kernel. Then BUG(): the
 * contract says the function never returns, and an assertion is the core's
 * own invariant, never backend data (os.h), so going on would run a frontend
 * whose grant and page bookkeeping is already wrong. BUG() kills the task
 * rather than the guest unless the admin chose panic_on_oops.
 */
#ifndef XPV_LINUX_PRELUDE_H
#define XPV_LINUX_PRELUDE_H

/* Every pr_*() line of the module names it. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/compiler.h>

static inline __noreturn __cold void xpv_assert_fail(const char *expr,
						     const char *file,
						     int line)
{
	WARN(1, "xpv: assertion failed: %s at %s:%d\n", expr, file, line);
	BUG();
}

#endif /* XPV_LINUX_PRELUDE_H */
