/* SPDX-License-Identifier: MIT */
/*
 * usbfront internals shared by usbfront.c (xenbus, conn ring, root hub,
 * lifecycle) and usbfront_io.c (URBs, unlinks, grants, responses). Not
 * for upper layers.
 */
#ifndef XPV_USBFRONT_PRIV_H
#define XPV_USBFRONT_PRIV_H

#include <xpv/front_ring.h>

#include "usbfront.h"

/*
 * An id is the slot index in its low 4 bits and the slot's generation in
 * the other 12, as scsifront's rqids: a request the core gave up on (an
 * unlink the backend never answered) frees its slot at once and leaves
 * its generation stale, so a late answer is recognised and ignored and is
 * never taken for a newer request's.
 */
#define UF_ID_SLOT_BITS 4
#define UF_GENS (1u << (16 - UF_ID_SLOT_BITS))
XPV_STATIC_ASSERT(USBFRONT_URB_SLOTS == 1u << UF_ID_SLOT_BITS, "id slot bits");

/* An unlink the backend does not answer in this time: the victim is given
 * back (-104) and both requests are given up on. */
#define UF_UNLINK_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
/* Closing: how long URBs in flight may take to drain. */
#define UF_DRAIN_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)

enum uf_slot_state {
	UF_SLOT_FREE,
	UF_SLOT_URB,	/* an URB in flight */
	UF_SLOT_UNLINK, /* an unlink request in flight */
	UF_SLOT_DEAD,	/* error state, lost pages, or no generation left */
};

struct uf_grant {
	xpv_grant_ref ref;
	struct xpv_page *page;
};

struct uf_slot {
	struct usbfront *uf;
	enum uf_slot_state state;
	xpv_u16 gen;		   /* generation of the current id */
	xpv_u16 nr_stale;
	xpv_u8 stale[UF_GENS / 8]; /* generations given up on */
	struct usbfront_urb *urb;  /* URB: it; UNLINK: the victim */
	struct uf_slot *peer;	   /* URB: its unlink; UNLINK: the victim */
	xpv_u32 pipe;		   /* as sent */
	xpv_u32 nr_buf_pages, nr_desc_pages;
	xpv_u32 nr_grants;
	struct uf_grant grant[USBFRONT_MAX_SEGS];
	struct xpv_page *page[USBFRONT_MAX_SEGS]; /* bounce pages */
	struct xpv_timer *timer;		  /* URB: its unlink's */
};

struct uf_port {
	xpv_u16 status, change;
	xpv_u8 speed;	       /* XPV_USBIF_SPEED_* as the backend said */
	xpv_u64 reset_end_ns;  /* 0: no reset running */
	xpv_u64 resume_end_ns; /* 0: no resume running */
};

/* Upper-layer calls collected under the lock and made after it is
 * dropped, so the upper layer may submit again from giveback. URBs to
 * give back are linked through their `next`, in completion order. */
struct uf_batch {
	struct usbfront_urb *done_head, *done_tail;
	xpv_u32 ports_changed; /* bit per port */
	xpv_bool error_event;
};

struct usbfront {
	struct xpv_dev *dev;
	struct usbfront_upper up;
	struct xpv_lock *lock;
	enum xpv_xenbus_state state; /* own state, as last written */
	xpv_u8 num_ports, usb_ver;

	struct xpv_page *urb_page, *conn_page;
	xpv_grant_ref urb_ref, conn_ref;
	xpv_bool urb_granted, conn_granted;
	xpv_evtchn_port port;
	xpv_bool port_open;
	struct xpv_front_ring urb_ring, conn_ring;

	struct uf_slot slot[USBFRONT_URB_SLOTS];
	xpv_u32 in_flight; /* slots in URB or UNLINK */
	xpv_bool bounce_ready;
	/* URBs waiting for a slot, in submission order. */
	struct usbfront_urb *queue_head, *queue_tail;
	/* Slots whose unlink waits for a slot of its own. */
	struct uf_slot *unlink_wait[USBFRONT_URB_SLOTS];
	xpv_u32 nr_unlink_wait;
	struct xpv_timer *retry_timer;

	struct uf_port ports[USBFRONT_MAX_PORTS + 1]; /* [0] unused */
	struct xpv_timer *hub_timer;

	xpv_bool connected; /* rings up, URBs accepted */
	xpv_bool paused;    /* suspended, or resuming until reconnected */
	xpv_bool error;	    /* sticky */
	xpv_bool closing;
	xpv_bool closed;
	xpv_bool draining;
	struct xpv_timer *drain_timer;
	struct xpv_work *drain_work;

	struct usbfront_stats st;
};

/* usbfront_io.c */
int uf_slots_init(struct usbfront *uf);
int uf_bounce_alloc(struct usbfront *uf);
void uf_slots_free(struct usbfront *uf);
/* The URB ring's responses (lock held). */
void uf_urb_ring_drain(struct usbfront *uf, struct uf_batch *b,
		       xpv_u32 *handled);
/* Send what waits (unlinks first, then queued URBs) while slots are free
 * (lock held). */
void uf_kick(struct usbfront *uf, struct uf_batch *b);
/* Give back every URB in flight or queued with status, end their grants
 * (lock held). */
void uf_fail_all(struct usbfront *uf, int status, struct uf_batch *b);
void uf_set_error(struct usbfront *uf, const char *why, struct uf_batch *b);
void uf_batch_done(struct uf_batch *b, struct usbfront_urb *urb);
void uf_batch_run(struct usbfront *uf, struct uf_batch *b);
/* The ring was rebuilt for a new backend: no late answer can come. */
void uf_forget_stale(struct usbfront *uf);
void uf_retry_timer(void *arg);

/* usbfront.c */
void uf_interrupt(void *arg);
void uf_drain_finish_locked(struct usbfront *uf);

#endif /* XPV_USBFRONT_PRIV_H */
