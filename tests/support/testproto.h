/*
 * A minimal split-driver protocol for exercising the platform without a
 * real device class: a request moves one granted data page either way.
 * Only tests use it; its ring is 16-byte entries, 128 slots.
 */
#ifndef XPV_TESTS_TESTPROTO_H
#define XPV_TESTS_TESTPROTO_H

#include <xpv/ring.h>

#define XPVT_OP_WRITE 1 /* guest -> backend: backend reads the page */
#define XPVT_OP_READ 2  /* backend -> guest: backend fills the page */

#define XPVT_STATUS_OK 0
#define XPVT_STATUS_EIO (-5)

struct xpvt_request {
	xpv_u16 id;
	xpv_u8 op;
	xpv_u8 pad;
	xpv_u32 gref;
	xpv_u32 len;
	xpv_u32 seq; /* seeds the data pattern, so both ends can check it */
};

struct xpvt_response {
	xpv_u16 id;
	xpv_s16 status;
	xpv_u32 len;
	xpv_u32 seq;
	xpv_u32 pad;
};

union xpvt_entry {
	struct xpvt_request req;
	struct xpvt_response rsp;
};

#define XPVT_RING_SIZE XPV_RING_SLOTS(sizeof(union xpvt_entry))
XPV_STATIC_ASSERT(XPVT_RING_SIZE == 128, "test ring has 128 slots");

/* Byte i of the data for sequence number seq. */
static inline xpv_u8 xpvt_pattern(xpv_u32 seq, xpv_u32 i)
{
	return (xpv_u8)((seq * 2654435761u + i * 40503u) >> 13);
}

#endif /* XPV_TESTS_TESTPROTO_H */
