/* SPDX-License-Identifier: MIT */
/*
 * Strict parsing of values a backend wrote into xenstore. Everything there
 * is hostile input: these helpers accept plain decimal digits only and
 * range-check the value, so callers never see a half-parsed number.
 */
#ifndef XPV_XS_PARSE_H
#define XPV_XS_PARSE_H

#include "os.h"

/* 1 to 16 decimal digits (no sign, space, base prefix or trailing text),
 * value in [min, max]. -XPV_EINVAL if malformed, -XPV_ERANGE if out of
 * range. Leading zeros are read as decimal ("007" is 7), as Linux's
 * xenbus_scanf("%u") and kstrtouint(s, 10) read them: a backend that pads
 * a number means the number, and refusing it would only break a working
 * device. Values are written without them (xpv_format_u32). */
int xpv_parse_u32(const char *s, xpv_u32 min, xpv_u32 max, xpv_u32 *out);

/* Read a key and parse it as above. -XPV_ENOENT if absent. */
int xpv_xs_read_u32(struct xpv_dev *dev, xpv_xs_txn txn,
		    enum xpv_xs_side side, const char *key, xpv_u32 min,
		    xpv_u32 max, xpv_u32 *out);

/* The other end's xenbus state; unknown numbers give -XPV_ERANGE. */
int xpv_xs_read_state(struct xpv_dev *dev, enum xpv_xs_side side,
		      enum xpv_xenbus_state *out);

/* Decimal digits of v and a NUL into buf (11 bytes suffice); returns the
 * number of digits. */
xpv_size xpv_format_u32(char *buf, xpv_u32 v);

/* Write a decimal value in the own directory. */
int xpv_xs_write_u32(struct xpv_dev *dev, xpv_xs_txn txn, const char *key,
		     xpv_u32 value);

#endif /* XPV_XS_PARSE_H */
