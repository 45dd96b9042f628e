/* SPDX-License-Identifier: MIT */
/*
 * The frontend side of a Xen shared ring: the only core code that touches
 * ring memory, shared by scsifront and usbfront.
 *
 * Discipline (Linux's 2021-2022 hardening, written once):
 *  - requests are built in private memory and copied in; a published slot
 *    is never read back;
 *  - rsp_prod is read once per poll and checked: more responses than
 *    requests outstanding is a protocol violation (-XPV_EPROTO);
 *  - each response is copied once into private memory, then validated;
 *  - notifications are suppressed with req_event/rsp_event as io/ring.h
 *    describes, on both the push and the final-check side.
 * After -XPV_EPROTO the ring is dead: every later call fails the same way
 * until it is initialised again. The caller puts its device in error state.
 */
#ifndef XPV_FRONT_RING_H
#define XPV_FRONT_RING_H

#include "os.h"
#include "ring.h"

struct xpv_front_ring {
	struct xpv_dev *dev;
	volatile struct xpv_sring_hdr *sring; /* backend-writable */
	volatile xpv_u8 *slots;               /* sring + 64 */
	xpv_u32 nr_slots;                     /* power of two */
	xpv_u32 entry_size;                   /* size of the req/rsp union */
	xpv_u32 req_size;                     /* bytes copied per request */
	xpv_u32 rsp_size;                     /* bytes copied per response */
	xpv_u32 req_prod_pvt;                 /* next request index */
	xpv_u32 req_prod_pushed;              /* last req_prod published */
	xpv_u32 rsp_cons;                     /* next response index */
	xpv_u32 rsp_prod_seen;                /* last rsp_prod read, validated */
	xpv_bool broken;                      /* protocol violation seen */
};

/* SHARED_RING_INIT + FRONT_RING_INIT on a page the caller owns and will
 * grant read-write. entry_size is the size of the request/response union. */
void xpv_front_ring_init(struct xpv_front_ring *ring, struct xpv_dev *dev,
			 void *page, xpv_u32 entry_size, xpv_u32 req_size,
			 xpv_u32 rsp_size);

/* Requests published and not yet answered: never above nr_slots. */
xpv_u32 xpv_front_ring_outstanding(const struct xpv_front_ring *ring);
xpv_bool xpv_front_ring_full(const struct xpv_front_ring *ring);

/* Copy a privately built request into the next slot (not yet visible).
 * -XPV_ENOSPC when full, -XPV_EPROTO when the ring is broken. */
int xpv_front_ring_put(struct xpv_front_ring *ring, const void *req);

/* Publish the requests put so far. *notify: whether the backend asked to be
 * told (RING_PUSH_REQUESTS_AND_CHECK_NOTIFY). */
void xpv_front_ring_push(struct xpv_front_ring *ring, xpv_bool *notify);

/* Read rsp_prod once and validate it. *ready: responses available now.
 * -XPV_EPROTO: the backend claims more responses than requests outstanding. */
int xpv_front_ring_poll(struct xpv_front_ring *ring, xpv_u32 *ready);

/* Copy the next response (made ready by the last poll) into rsp, once. */
int xpv_front_ring_take(struct xpv_front_ring *ring, void *rsp);

/* RING_FINAL_CHECK_FOR_RESPONSES: ask for a notification at the next
 * response, then look again. *more: responses arrived meanwhile. */
int xpv_front_ring_final_check(struct xpv_front_ring *ring, xpv_bool *more);

#endif /* XPV_FRONT_RING_H */
