/*
 * A test-only frontend for the test protocol (testproto.h), written as a
 * frontend core is: only the contract (xpv/os.h) and the shared ring code.
 * It connects over xenbus, moves data pages both ways, and can be told to
 * break a rule on purpose so each checker can be shown to fire.
 */
#ifndef XPV_TESTS_TESTFRONT_H
#define XPV_TESTS_TESTFRONT_H

#include <xpv/os.h>

struct testfront;

/* Deliberate defects, each aimed at one checker. */
struct testfront_breaks {
	xpv_bool double_complete;  /* completes the first request twice */
	xpv_bool drop_completion;  /* never completes the first request */
	xpv_bool rw_outbound;      /* grants outbound data writable */
	xpv_bool leak_grant;       /* never ends the first request's grant */
	xpv_bool access_after_end; /* touches the ring after revoking it */
	xpv_bool reuse_unrevoked;  /* frees a page whose revoke failed */
	xpv_bool double_fetch;     /* fetches inbound data twice */
	xpv_bool sleep_in_handler; /* writes xenstore from the event handler */
};

struct testfront_ops {
	void (*connected)(void *arg);
	/* The upper layer's part of a request: it writes outbound data
	 * (op XPVT_OP_WRITE) into the buffer and says which buffers carry
	 * outbound data, so the frontend cannot hide a writable grant. */
	void (*prepare)(void *arg, xpv_u8 op, struct xpv_page *page,
			xpv_u32 len, xpv_u32 seq);
	/* status 0 or a negative XPV_E*; len bytes moved. */
	void (*complete)(void *arg, xpv_u64 tag, int status, xpv_u32 len);
	/* Both ends reached Closed and everything is released. */
	void (*closed)(void *arg);
	void *arg;
};

int testfront_create(struct xpv_dev *dev, const struct testfront_ops *ops,
		     const struct testfront_breaks *breaks,
		     struct testfront **out);
/* Allocate, grant, publish ring-ref/event-channel, go Initialised. */
int testfront_start(struct testfront *tf);
/* 0: on the ring. -XPV_EBUSY: no free slot, retry after a completion.
 * -XPV_EIO: not connected or in error state. */
int testfront_submit(struct testfront *tf, xpv_u64 tag, xpv_u8 op,
		     xpv_u32 len);
/* Go Closing; `closed` fires once the backend has let go. */
void testfront_close(struct testfront *tf);
xpv_bool testfront_in_error(const struct testfront *tf);
xpv_u32 testfront_in_flight(const struct testfront *tf);
/* Frees what is left; call after `closed` (or to abandon). */
void testfront_destroy(struct testfront *tf);

#endif /* XPV_TESTS_TESTFRONT_H */
