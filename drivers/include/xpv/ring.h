/* SPDX-License-Identifier: MIT */
/*
 * Xen shared-ring layout (io/ring.h), written from the documented layout:
 * a 64-byte header, then a power-of-two array of request/response unions
 * filling one 4 KiB page. Indices are free-running 32-bit counters; a slot
 * is idx & (slots - 1); every comparison is an unsigned difference.
 */
#ifndef XPV_RING_H
#define XPV_RING_H

#include "types.h"

struct xpv_sring_hdr {
	xpv_u32 req_prod;
	xpv_u32 req_event;
	xpv_u32 rsp_prod;
	xpv_u32 rsp_event;
	xpv_u8 pvt[4];
	xpv_u8 pad[44];
};
XPV_STATIC_ASSERT(sizeof(struct xpv_sring_hdr) == 64, "ring header is 64 B");

#define XPV_RING_HDR_SIZE 64u

/* Round down to a power of two, usable in constant expressions. */
#define XPV__RD2(x) (((x) & 0x2) ? 0x2 : ((x) & 0x1))
#define XPV__RD4(x) (((x) & 0xc) ? (XPV__RD2((x) >> 2) << 2) : XPV__RD2(x))
#define XPV__RD8(x) (((x) & 0xf0) ? (XPV__RD4((x) >> 4) << 4) : XPV__RD4(x))
#define XPV__RD16(x) (((x) & 0xff00) ? (XPV__RD8((x) >> 8) << 8) : XPV__RD8(x))
#define XPV__RD32(x) \
	(((x) & 0xffff0000u) ? (XPV__RD16((x) >> 16) << 16) : XPV__RD16(x))

/* Slots in a one-page ring whose request/response union is entry_size B. */
#define XPV_RING_SLOTS(entry_size) \
	XPV__RD32((XPV_PAGE_SIZE - XPV_RING_HDR_SIZE) / (entry_size))

#endif /* XPV_RING_H */
