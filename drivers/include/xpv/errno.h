/* SPDX-License-Identifier: MIT */
/*
 * Project error numbers. Contract functions return 0 or a negative XPV_E*.
 * Values equal Linux's errno values so kernel glue passes them through and
 * usbif statuses (-19, -32, -71, ...) read the same on both sides.
 */
#ifndef XPV_ERRNO_H
#define XPV_ERRNO_H

#define XPV_EPERM 1
#define XPV_ENOENT 2
#define XPV_EIO 5
#define XPV_E2BIG 7
#define XPV_EAGAIN 11
#define XPV_ENOMEM 12
#define XPV_EACCES 13
#define XPV_EBUSY 16
#define XPV_EEXIST 17
#define XPV_ENODEV 19
#define XPV_EINVAL 22
#define XPV_ENOSPC 28
#define XPV_ERANGE 34
#define XPV_EPIPE 32
#define XPV_ENODATA 61
#define XPV_EPROTO 71
#define XPV_EOVERFLOW 75
#define XPV_ESHUTDOWN 108
#define XPV_ETIMEDOUT 110

#endif /* XPV_ERRNO_H */
