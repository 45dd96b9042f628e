/* SPDX-License-Identifier: MIT */
/*
 * The frontend contract: the only door between the portable frontend cores
 * (drivers/core, drivers/scsifront, drivers/usbfront) and their environment.
 *
 * One implementation per environment: drivers/os/sim (the simulator) and
 * drivers/os/linux (kernel glue). Modelled on NetBSD's rumpuser.h: the
 * header includes only the project's own headers, environment objects are
 * opaque, and every function either returns 0 / a negative XPV_E* value or
 * returns void and cannot fail.
 *
 * Rules for callers (the cores):
 *  - Backend-writable memory (ring pages, granted pages the backend writes)
 *    is touched only through the xpv_shm_* functions, so the simulator can
 *    observe every access and kernel glue can add barriers.
 *  - Nothing read from xenstore's other end or from a ring is trusted.
 *  - Allocate at connect; nothing on the I/O path allocates.
 *
 * Contexts. Event-channel handlers and timer functions run atomic (a
 * kernel's interrupt and softirq context); xenbus callbacks (probe,
 * otherend_changed, suspend, resume, remove), xenstore watches and work
 * items run in process context. Functions marked [sleeps] may sleep in a
 * kernel: call them only from process context and never with an xpv_lock
 * held (the simulator reports a violation otherwise). To act from atomic
 * context, queue an xpv_work.
 * To extend: add a function here only when two environments can implement
 * it; prefer composing existing calls in drivers/core.
 */
#ifndef XPV_OS_H
#define XPV_OS_H

#include "types.h"
#include "errno.h"

struct xpv_dev;   /* the environment's handle for one xenbus device */
struct xpv_page;  /* one 4 KiB guest frame that can be granted */
struct xpv_lock;  /* an interrupt-safe spin lock */
struct xpv_timer; /* a one-shot timer in simulated or kernel time */
struct xpv_work;  /* deferred work run in process context */
struct xpv_watch; /* a registered xenstore watch */

typedef xpv_u32 xpv_grant_ref;
typedef xpv_u32 xpv_evtchn_port;
typedef xpv_u32 xpv_xs_txn; /* 0: no transaction */
#define XPV_XS_NO_TXN ((xpv_xs_txn)0)

/* ---- logging and the cores' own invariants ---------------------------- */

enum xpv_log_level {
	XPV_LOG_ERR,
	XPV_LOG_WARN,
	XPV_LOG_INFO,
	XPV_LOG_DEBUG,
};

void xpv_log(struct xpv_dev *dev, enum xpv_log_level level, const char *fmt,
	     ...) __attribute__((format(printf, 3, 4)));

/* Never returns. Assertions guard the cores' own invariants, never backend
 * data: under fuzzing every assertion failure is a frontend bug. */
void xpv_assert_fail(const char *expr, const char *file, int line)
	__attribute__((noreturn));

#define XPV_ASSERT(cond)                                              \
	do {                                                          \
		if (xpv_unlikely(!(cond)))                            \
			xpv_assert_fail(#cond, __FILE__, __LINE__);   \
	} while (0)

/* ---- memory ----------------------------------------------------------- */

/* [sleeps] Zeroed private memory. May fail (-XPV_ENOMEM): call only while
 * connecting. */
int xpv_mem_alloc(struct xpv_dev *dev, xpv_size bytes, void **out);
void xpv_mem_free(struct xpv_dev *dev, void *mem, xpv_size bytes);

/* [sleeps] A zeroed guest frame, e.g. for a shared ring or an indirect
 * segment list. */
int xpv_page_alloc(struct xpv_dev *dev, struct xpv_page **out);
void *xpv_page_addr(struct xpv_page *page);
/* The page must have no live grant: end every grant on it first. */
void xpv_page_free(struct xpv_dev *dev, struct xpv_page *page);
/* Copy outbound data into a page the core owns and has not granted yet
 * (a bounce page it will grant read-only). The environment may record that
 * the page now carries outbound data: the simulator then reports a
 * writable grant of it. Writing a page while it is granted must go through
 * xpv_shm_store instead. */
void xpv_page_write_outbound(struct xpv_dev *dev, struct xpv_page *page,
			     xpv_u32 offset, const void *src, xpv_u32 len);
/* The outbound data copied into the page will not be sent after all (its
 * request was never published): the page may be granted writable again. */
void xpv_page_outbound_discard(struct xpv_dev *dev, struct xpv_page *page);
/* A grant on the page could not be ended (the backend still maps it): the
 * environment keeps the page out of reuse for the domain's lifetime. */
void xpv_page_quarantine(struct xpv_dev *dev, struct xpv_page *page);

/* ---- grants (grant table v1) ------------------------------------------ */

enum xpv_grant_access {
	XPV_GRANT_RO, /* backend may only read: outbound data, rings never */
	XPV_GRANT_RW, /* backend may write: rings, inbound data */
};

int xpv_grant_access(struct xpv_dev *dev, struct xpv_page *page,
		     enum xpv_grant_access access, xpv_grant_ref *out);
/* Atomic try-revoke. 0: the grant is gone and the page is the guest's again.
 * -XPV_EBUSY: the backend still maps it; the grant stays, and the caller
 * must quarantine the page and treat the backend as broken (XSA-396). */
int xpv_grant_end(struct xpv_dev *dev, xpv_grant_ref ref);

/* ---- event channel ---------------------------------------------------- */

typedef void xpv_evtchn_handler(void *arg);

/* [sleeps] An unbound port the backend (the other end) may bind to. */
int xpv_evtchn_alloc(struct xpv_dev *dev, xpv_evtchn_port *out);
/* [sleeps] Late-EOI delivery: after the handler runs the port delivers nothing more
 * until xpv_evtchn_eoi(), so a storm cannot starve the guest (XSA-391). */
int xpv_evtchn_bind(struct xpv_dev *dev, xpv_evtchn_port port,
		    xpv_evtchn_handler *handler, void *arg);
void xpv_evtchn_eoi(struct xpv_dev *dev, xpv_evtchn_port port,
		    xpv_bool spurious);
void xpv_evtchn_notify(struct xpv_dev *dev, xpv_evtchn_port port);
/* [sleeps] */
void xpv_evtchn_close(struct xpv_dev *dev, xpv_evtchn_port port);

/* ---- xenstore and xenbus ------------------------------------------------ */

enum xpv_xs_side {
	XPV_XS_OWN,   /* the frontend's directory, device/<type>/<id> */
	XPV_XS_OTHER, /* the backend's directory: never trusted */
};

/* Every xpv_xs_* and xpv_xenbus_* function [sleeps].
 * Keys are relative to the side's directory; "" names the directory itself.
 * Values are NUL-terminated; -XPV_ENOENT if absent, -XPV_E2BIG if the value
 * does not fit in len bytes including the NUL. */
int xpv_xs_read(struct xpv_dev *dev, xpv_xs_txn txn, enum xpv_xs_side side,
		const char *key, char *buf, xpv_size len);
/* Frontends write and remove only in their own directory. */
int xpv_xs_write(struct xpv_dev *dev, xpv_xs_txn txn, const char *key,
		 const char *value);
int xpv_xs_rm(struct xpv_dev *dev, xpv_xs_txn txn, const char *key);
/* Child names, each NUL-terminated, packed into buf; *count set. */
int xpv_xs_directory(struct xpv_dev *dev, xpv_xs_txn txn,
		     enum xpv_xs_side side, const char *key, char *buf,
		     xpv_size len, xpv_u32 *count);
int xpv_xs_txn_start(struct xpv_dev *dev, xpv_xs_txn *out);
/* -XPV_EAGAIN: another writer got in first; the caller retries. */
int xpv_xs_txn_end(struct xpv_dev *dev, xpv_xs_txn txn, xpv_bool abort);

typedef void xpv_xs_watch_fn(void *arg, const char *path);
/* Fires once at registration and on every change at or below the key. */
int xpv_xs_watch(struct xpv_dev *dev, enum xpv_xs_side side, const char *key,
		 xpv_xs_watch_fn *fn, void *arg, struct xpv_watch **out);
void xpv_xs_unwatch(struct xpv_dev *dev, struct xpv_watch *watch);

enum xpv_xenbus_state {
	XPV_XENBUS_UNKNOWN = 0,
	XPV_XENBUS_INITIALISING = 1,
	XPV_XENBUS_INITWAIT = 2,
	XPV_XENBUS_INITIALISED = 3,
	XPV_XENBUS_CONNECTED = 4,
	XPV_XENBUS_CLOSING = 5,
	XPV_XENBUS_CLOSED = 6,
	XPV_XENBUS_RECONFIGURING = 7,
	XPV_XENBUS_RECONFIGURED = 8,
};

/* Writes the own `state` node (only while the device node still exists). */
int xpv_xenbus_switch_state(struct xpv_dev *dev, enum xpv_xenbus_state state);
/* Records "<err> <msg>" under error/ and moves the device to Closing. */
void xpv_xenbus_fatal(struct xpv_dev *dev, int err, const char *msg);

/* What a frontend core gives its environment: the environment calls these
 * for the device it probes (the xenbus_driver of a kernel build). */
struct xpv_driver {
	const char *type; /* xenbus device type: "vscsi", "vusb" */
	int (*probe)(struct xpv_dev *dev, void **priv);
	void (*otherend_changed)(void *priv, enum xpv_xenbus_state state);
	int (*suspend)(void *priv);
	int (*resume)(void *priv);
	void (*remove)(void *priv);
};

/* ---- locks, time ------------------------------------------------------ */

/* [sleeps] alloc and free of locks, timers and work items. */
int xpv_lock_alloc(struct xpv_dev *dev, struct xpv_lock **out);
void xpv_lock_free(struct xpv_dev *dev, struct xpv_lock *lock);
void xpv_lock_acquire(struct xpv_lock *lock);
void xpv_lock_release(struct xpv_lock *lock);

xpv_u64 xpv_time_ns(struct xpv_dev *dev);

typedef void xpv_timer_fn(void *arg);
int xpv_timer_alloc(struct xpv_dev *dev, xpv_timer_fn *fn, void *arg,
		    struct xpv_timer **out);
void xpv_timer_free(struct xpv_dev *dev, struct xpv_timer *timer);
/* Re-arming replaces the previous deadline. */
void xpv_timer_arm(struct xpv_timer *timer, xpv_u64 delay_ns);
void xpv_timer_cancel(struct xpv_timer *timer);

/* Deferred work: fn runs soon in process context (a kernel workqueue), so
 * it may call [sleeps] functions. Queuing work that is already queued and
 * has not started is a no-op. Freeing waits for a running fn to finish and
 * drops a queued one. */
typedef void xpv_work_fn(void *arg);
int xpv_work_alloc(struct xpv_dev *dev, xpv_work_fn *fn, void *arg,
		   struct xpv_work **out);
void xpv_work_free(struct xpv_dev *dev, struct xpv_work *work);
/* Any context. */
void xpv_work_queue(struct xpv_work *work);

/* ---- shared memory: the only door to backend-writable bytes ----------- */

/* A free-running ring index. May be read again later (the backend moves it),
 * but each read is one load: keep the value, never re-read to re-check. */
xpv_u32 xpv_shm_read_idx(struct xpv_dev *dev, const volatile xpv_u32 *idx);
void xpv_shm_write_idx(struct xpv_dev *dev, volatile xpv_u32 *idx,
		       xpv_u32 value);
/* Copy an object the backend published (a response slot, inbound data) into
 * private memory. Each byte may be fetched once per publication: fetching
 * it again is a double fetch, which the simulator reports. */
void xpv_shm_fetch(struct xpv_dev *dev, void *dst, const volatile void *src,
		   xpv_size len);
/* Copy a privately built object (a request) into shared memory. */
void xpv_shm_store(struct xpv_dev *dev, volatile void *dst, const void *src,
		   xpv_size len);
void xpv_shm_wmb(struct xpv_dev *dev); /* writes before later writes */
void xpv_shm_rmb(struct xpv_dev *dev); /* reads before later reads */
void xpv_shm_mb(struct xpv_dev *dev);  /* full barrier */

#endif /* XPV_OS_H */
