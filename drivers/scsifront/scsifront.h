/* SPDX-License-Identifier: MIT */
/*
 * scsifront: the portable PVSCSI frontend core (xenbus type "vscsi").
 *
 * It speaks vscsiif to a backend through the contract (xpv/os.h) only, and
 * offers an upper layer (the Linux SCSI glue, or the simulator's guest SCSI
 * stand-in through the frontend-under-test interface) a small host-adapter
 * API: LUNs come and go through callbacks, commands are queued and come
 * back once each through `done`, and abort/reset requests complete through
 * `tmr_done`.
 *
 * Data moves through bounce pages the core owns (allocated at connect,
 * granted per command, read-only for data-out): the backend never sees
 * upper-layer memory (XSA-403), and a page the backend refuses to let go
 * of is quarantined by the core without touching upper-layer memory
 * (XSA-396). Inbound data is copied out only after every grant of the
 * command has ended, so the backend cannot change it while it is copied.
 *
 * Result policy (written once, here): the host byte is rslt bits 16-23;
 * bits 8-15 are ignored; non-zero bits 24-31 (older scsiback put
 * DID_NO_CONNECT or DRIVER_ERROR << 24 there) mean failure: NO_CONNECT if
 * that byte is 1, ERROR otherwise, never success; a host byte above 20 is
 * unknown and reported as ERROR. Inbound data is delivered only for a
 * command that succeeded (host OK, status GOOD or CONDITION MET); a failed
 * command delivers nothing. sense_len is clamped to 96 and residual_len to
 * the command's data length.
 *
 * Abort and reset: a successful ABORT or LUN RESET completes the commands
 * it covers that are still in flight (host ABORT / RESET, no data) and
 * frees their slots; Linux scsiback never answers such a command and may
 * keep its pages mapped, which costs quarantined pages, not the device
 * (up to SCSIFRONT_QUARANTINE_MAX_PAGES). A late answer to any request
 * the core gave up on is recognised by its rqid generation and ignored.
 *
 * Error state: any protocol violation by the backend (bad rqid, response
 * for a request not in flight, rsp_prod overflow, a grant of an answered
 * command the backend keeps mapped) moves the device into a sticky error
 * state: commands in
 * flight complete with host ERROR at once, new commands fail, abort and
 * reset fail, LUN hotplug is ignored. Recovery is removing the device.
 */
#ifndef XPV_SCSIFRONT_H
#define XPV_SCSIFRONT_H

#include <xpv/os.h>
#include <xpv/vscsiif.h>

#define SCSIFRONT_CAN_QUEUE XPV_VSCSIIF_RING_SIZE /* 16 */
#define SCSIFRONT_MAX_ID 64   /* as Linux scsifront's max_id */
#define SCSIFRONT_MAX_LUN 255 /* max_lun */
#define SCSIFRONT_MAX_LUNS 64 /* LUNs tracked per virtual host */
#define SCSIFRONT_SG_ALL 128  /* largest segment count negotiated */
/* An abort or reset the backend does not answer in this time fails with
 * -XPV_ETIMEDOUT; a late answer to it is recognised and ignored. */
#define SCSIFRONT_TMR_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
/* Pages of commands that an abort or reset took down may stay mapped by
 * the backend (Linux scsiback never unmaps them): they are quarantined and
 * their slots get new pages. Past this many quarantined pages (4 MiB) the
 * backend counts as broken and the device enters the error state. */
#define SCSIFRONT_QUARANTINE_MAX_PAGES 1024
/* Closing: how long in-flight commands may take to drain. */
#define SCSIFRONT_DRAIN_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)

struct scsifront;

/* One piece of upper-layer memory holding (or receiving) command data. */
struct scsifront_buf {
	void *addr;
	xpv_u32 len;
};

struct scsifront_result {
	xpv_u8 host;      /* XPV_VSCSIIF_RSLT_HOST_*, after the policy above */
	xpv_u8 status;    /* SCSI status byte */
	xpv_u8 sense_len; /* <= XPV_VSCSIIF_SENSE_BUFFERSIZE */
	xpv_u8 sense[XPV_VSCSIIF_SENSE_BUFFERSIZE];
	xpv_u32 residual;  /* <= data_len */
	xpv_u32 delivered; /* inbound bytes copied into the buffers */
};

/* A command, owned by the upper layer until `done` returns it. */
struct scsifront_cmd {
	xpv_u16 channel, id, lun;
	xpv_u8 cdb[XPV_VSCSIIF_MAX_COMMAND_SIZE];
	xpv_u8 cdb_len;
	xpv_u8 dir; /* XPV_VSCSIIF_DIR_NONE, _TO_DEVICE or _FROM_DEVICE */
	const struct scsifront_buf *bufs;
	xpv_u32 nr_bufs;
	xpv_u32 data_len; /* sum of the buffers' lengths */
	void *upper;      /* the upper layer's own pointer */
	struct scsifront_result res; /* filled before `done` */
	xpv_u16 rqid;     /* private to the core */
};

enum scsifront_event {
	SCSIFRONT_EV_CONNECTED, /* handshake done, commands accepted */
	SCSIFRONT_EV_RESUMED,   /* reconnected after a resume */
	SCSIFRONT_EV_ERROR,     /* entered the error state */
	SCSIFRONT_EV_CLOSED,    /* disconnected: both ends let go */
};

struct scsifront_upper {
	/* The backend offers a LUN: 0 takes it (own dev state 4), a negative
	 * value refuses it (6). */
	int (*lun_add)(void *arg, xpv_u16 channel, xpv_u16 id, xpv_u16 lun);
	void (*lun_remove)(void *arg, xpv_u16 channel, xpv_u16 id,
			   xpv_u16 lun);
	void (*done)(void *arg, struct scsifront_cmd *cmd);
	/* 0: the backend reports success; -XPV_EIO: failure or error state;
	 * -XPV_ETIMEDOUT: no answer in time. */
	void (*tmr_done)(void *arg, void *cookie, int result);
	void (*event)(void *arg, enum scsifront_event ev);
	void *arg;
};

struct scsifront_stats {
	xpv_u64 queued, completed, failed, responses;
	xpv_u64 notifies, interrupts, spurious;
	xpv_u64 aborts, resets, indirect;
	xpv_u64 clamped_sense, clamped_residual, odd_result;
	xpv_u64 abandoned;     /* requests given up on (TMR victims, timeouts) */
	xpv_u64 late_answers;  /* answers to those, ignored */
	xpv_u64 quarantined;   /* pages kept from reuse: the backend held them */
	xpv_u64 refills;       /* slots given new pages after a quarantine */
	xpv_u64 host_resets;
};

/* xenbus driver entry points (the environment's driver adapter calls
 * these from its xenbus driver callbacks). */
int scsifront_probe(struct xpv_dev *dev, const struct scsifront_upper *up,
		    struct scsifront **out);
void scsifront_otherend_changed(struct scsifront *sf,
				enum xpv_xenbus_state state);
int scsifront_suspend(struct scsifront *sf);
int scsifront_resume(struct scsifront *sf);
/* Final: fails whatever is in flight, ends every grant, frees sf. */
void scsifront_remove(struct scsifront *sf);

/* Orderly disconnect started by the guest: Closing, then EV_CLOSED. */
void scsifront_close(struct scsifront *sf);

/* 0: on the ring. -XPV_EBUSY: no free slot, not connected yet or
 * suspended: retry later. -XPV_EINVAL: malformed command. -XPV_EIO: error
 * state or closing. */
int scsifront_queue(struct scsifront *sf, struct scsifront_cmd *cmd);
/* Abort a queued command (act 2) / reset a LUN (act 3); the answer comes
 * through tmr_done(cookie). -XPV_ENOENT: cmd is not in flight. */
int scsifront_abort(struct scsifront *sf, struct scsifront_cmd *cmd,
		    void *cookie);
int scsifront_reset(struct scsifront *sf, xpv_u16 channel, xpv_u16 id,
		    xpv_u16 lun, void *cookie);
/* The last resort of the upper layer's error handling, when aborts and
 * resets went unanswered: the core gives up on everything in flight at
 * once, without asking the backend. Commands complete with host RESET
 * (before this returns, through done), aborts and resets fail (-XPV_EIO);
 * their grants end or their pages are quarantined; a late answer to any
 * of them is ignored. Their ring entries stay lost until answered, so a
 * backend that answers nothing ends in the error state. */
void scsifront_host_reset(struct scsifront *sf);

xpv_bool scsifront_in_error(const struct scsifront *sf);
xpv_u32 scsifront_in_flight(const struct scsifront *sf);
/* Largest data_len accepted, from the negotiated segment count. */
xpv_u32 scsifront_max_transfer(const struct scsifront *sf);
void scsifront_get_stats(const struct scsifront *sf,
			 struct scsifront_stats *st);

#endif /* XPV_SCSIFRONT_H */
