/* SPDX-License-Identifier: MIT */
/*
 * scsifront internals shared by scsifront.c (xenbus, LUNs, lifecycle) and
 * scsifront_io.c (commands, responses, grants). Not for upper layers.
 */
#ifndef XPV_SCSIFRONT_PRIV_H
#define XPV_SCSIFRONT_PRIV_H

#include <xpv/front_ring.h>

#include "scsifront.h"

#define SF_RING_SIZE XPV_VSCSIIF_RING_SIZE
#define SF_MAX_SEGS SCSIFRONT_SG_ALL

/*
 * An rqid is the slot index in its low 4 bits and the slot's generation in
 * the other 12; each use of a slot takes a new generation. A request the
 * core gave up on (a command an abort or reset took down, which Linux
 * scsiback never answers; an abort or reset that timed out) frees its slot
 * at once and leaves its generation marked stale: a late answer for it is
 * recognised and ignored, and can never be taken for a newer request's.
 */
#define SF_RQID_SLOT_BITS 4
#define SF_GENS (1u << (16 - SF_RQID_SLOT_BITS))
XPV_STATIC_ASSERT(SF_RING_SIZE == 1u << SF_RQID_SLOT_BITS, "rqid slot bits");

enum sf_slot_state {
	SF_SLOT_FREE,
	SF_SLOT_CMD,    /* a CDB request in flight */
	SF_SLOT_TMR,    /* an abort or reset in flight */
	SF_SLOT_REFILL, /* lost pages to quarantine: the refill work, which
			 * owns it meanwhile, gives it new ones */
	SF_SLOT_DEAD,   /* error state, or no generation left: never reused */
};

struct sf_grant {
	xpv_grant_ref ref;
	struct xpv_page *page;
};

struct sf_slot {
	struct scsifront *sf;
	enum sf_slot_state state;
	xpv_u16 gen;               /* generation of the current rqid */
	xpv_u16 nr_stale;
	xpv_u8 stale[SF_GENS / 8]; /* generations given up on */
	struct scsifront_cmd *cmd; /* SF_SLOT_CMD */
	void *cookie;              /* SF_SLOT_TMR */
	xpv_u64 seq;               /* submission order, for TMR scope */
	xpv_u8 act;                /* SF_SLOT_TMR: abort or reset */
	xpv_u16 channel, id, lun;  /* SF_SLOT_TMR: its nexus */
	xpv_u16 ref_rqid;          /* SF_SLOT_TMR abort: the target's rqid */
	xpv_u64 ref_seq;           /* ... and its seq when the abort left */
	xpv_u32 nr_grants;
	struct sf_grant grant[SF_MAX_SEGS + 1];
	struct xpv_page *data[SF_MAX_SEGS]; /* bounce pages */
	struct xpv_page *sglist;            /* indirect segment list */
	struct xpv_timer *timer;            /* abort/reset timeout */
};

struct sf_lun {
	xpv_bool present;
	xpv_u32 devno; /* vscsi-devs/dev-<devno> */
	xpv_u16 channel, id, lun;
};

/* Upper-layer calls collected under the lock and made after it is
 * dropped, so the upper layer may queue again from `done`. */
struct sf_batch {
	struct scsifront_cmd *done[SF_RING_SIZE];
	xpv_u32 nr_done;
	void *tmr_cookie[SF_RING_SIZE];
	int tmr_result[SF_RING_SIZE];
	xpv_u32 nr_tmr;
	xpv_bool error_event;
};

struct scsifront {
	struct xpv_dev *dev;
	struct scsifront_upper up;
	struct xpv_lock *lock;
	enum xpv_xenbus_state state; /* own state, as last written */

	struct xpv_page *ring_page;
	xpv_grant_ref ring_ref;
	xpv_bool ring_granted;
	xpv_evtchn_port port;
	xpv_bool port_open;
	struct xpv_front_ring ring;

	struct sf_slot slot[SF_RING_SIZE];
	xpv_u32 in_flight; /* slots in CMD, TMR or TMR_ABANDONED */
	xpv_u64 next_seq;
	xpv_u32 max_segs;  /* negotiated: 26..128 */
	xpv_bool bounce_ready;

	xpv_bool connected; /* handshake done, ring usable */
	xpv_bool paused;    /* suspended, or resuming until Connected */
	xpv_bool error;     /* sticky */
	xpv_bool closing;   /* teardown started */
	xpv_bool closed;
	xpv_bool draining;  /* closing: waiting for in-flight commands */
	struct xpv_timer *drain_timer;
	/* The disconnect after a drain: it writes xenstore, closes the port
	 * and removes LUNs, so it runs from process context. */
	struct xpv_work *drain_work;
	/* New bounce pages for slots in SF_SLOT_REFILL (allocating sleeps). */
	struct xpv_work *refill_work;

	struct sf_lun lun[SCSIFRONT_MAX_LUNS];
	struct scsifront_stats st;
};

/* scsifront_io.c */
int sf_slots_init(struct scsifront *sf);
/* The refill work's function (process context). */
void sf_refill(void *arg);
/* A new backend (resume): no late answer can come for stale rqids. */
void sf_forget_stale(struct scsifront *sf);
int sf_bounce_alloc(struct scsifront *sf);
void sf_slots_free(struct scsifront *sf);
void sf_interrupt(void *arg);
/* Fail every request in flight with host byte `host` (ERROR, RESET,
 * NO_CONNECT): their grants are ended (pages the backend still maps are
 * quarantined) and their completions added to the batch. */
void sf_fail_all(struct scsifront *sf, xpv_u8 host, struct sf_batch *b);
void sf_set_error(struct scsifront *sf, const char *why, struct sf_batch *b);
void sf_batch_run(struct scsifront *sf, struct sf_batch *b);

/* scsifront.c */
/* Lock held, any context: nothing is left to wait for; the disconnect is
 * queued as work. */
void sf_drain_finish_locked(struct scsifront *sf);

#endif /* XPV_SCSIFRONT_PRIV_H */
