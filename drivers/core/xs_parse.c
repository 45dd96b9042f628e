// SPDX-License-Identifier: MIT
/*
 * Strict xenstore value parsing for the frontend cores; see xpv/xs_parse.h.
 */
#include <xpv/xs_parse.h>

#define XS_NUM_MAX 16 /* "4294967295" plus slack to detect overlong input */

int xpv_parse_u32(const char *s, xpv_u32 min, xpv_u32 max, xpv_u32 *out)
{
	xpv_u64 v = 0;
	xpv_size i;

	XPV_ASSERT(min <= max);
	if (s[0] == '\0')
		return -XPV_EINVAL;
	/* Bounded: a hostile value can be long, but not longer than this. */
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= XS_NUM_MAX || s[i] < '0' || s[i] > '9')
			return -XPV_EINVAL;
		v = v * 10 + (xpv_u64)(s[i] - '0');
	}
	if (v > 0xffffffffull)
		return -XPV_ERANGE;
	if (v < min || v > max)
		return -XPV_ERANGE;
	*out = (xpv_u32)v;
	return 0;
}

int xpv_xs_read_u32(struct xpv_dev *dev, xpv_xs_txn txn,
		    enum xpv_xs_side side, const char *key, xpv_u32 min,
		    xpv_u32 max, xpv_u32 *out)
{
	char buf[XS_NUM_MAX + 1];
	int err = xpv_xs_read(dev, txn, side, key, buf, sizeof(buf));

	if (err == -XPV_E2BIG)
		return -XPV_EINVAL; /* longer than any valid number */
	if (err)
		return err;
	return xpv_parse_u32(buf, min, max, out);
}

int xpv_xs_read_state(struct xpv_dev *dev, enum xpv_xs_side side,
		      enum xpv_xenbus_state *out)
{
	xpv_u32 v;
	int err = xpv_xs_read_u32(dev, XPV_XS_NO_TXN, side, "state",
				  XPV_XENBUS_UNKNOWN,
				  XPV_XENBUS_RECONFIGURED, &v);
	if (err)
		return err;
	*out = (enum xpv_xenbus_state)v;
	return 0;
}

xpv_size xpv_format_u32(char *buf, xpv_u32 v)
{
	char tmp[10];
	xpv_size n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

int xpv_xs_write_u32(struct xpv_dev *dev, xpv_xs_txn txn, const char *key,
		     xpv_u32 value)
{
	char buf[11];

	xpv_format_u32(buf, value);
	return xpv_xs_write(dev, txn, key, buf);
}
