/*
 * The frontend contract (xpv/os.h) implemented on the simulator: what the
 * harness uses to create a device handle for a frontend core, hand it
 * pages, and attach a driver.
 *
 * Injection points: allocation, grant claim and event-channel allocation
 * consult the simulation's fault plan (sim/core/fault.h). Checks: memory,
 * lock and timer balance are audited at xpv_sim_dev_destroy (MEM_LEAK,
 * LOCK); every xpv_shm_* access is reported to the shared-memory observer.
 */
#ifndef XPV_OS_SIM_XPV_SIM_H
#define XPV_OS_SIM_XPV_SIM_H

#include <stdio.h>

#include <xpv/os.h>

#include "sim/core/sim.h"
#include "sim/xen/xen.h"

struct xpv_sim_dev_config {
	struct sim *sim;
	sim_domid guest;            /* the frontend's domain (must exist) */
	sim_domid backend;          /* the other end's domain */
	const char *frontend_path;  /* absolute: /local/domain/<g>/device/... */
	const char *backend_path;   /* absolute: the backend's directory */
	FILE *log;                  /* where xpv_log prints; NULL: nowhere */
	enum xpv_log_level log_level; /* print up to this level */
};

struct xpv_dev *xpv_sim_dev_create(const struct xpv_sim_dev_config *cfg);
/* Detaches a driver still attached (calls remove), then audits what the
 * core left behind: allocations, locks, timers, watches, ports. */
void xpv_sim_dev_destroy(struct xpv_dev *dev);

struct sim *xpv_sim_dev_sim(const struct xpv_dev *dev);
struct sim_domain *xpv_sim_dev_domain(const struct xpv_dev *dev);
/* Log lines the core printed at each level (printed or not). */
unsigned long xpv_sim_dev_log_count(const struct xpv_dev *dev,
				    enum xpv_log_level level);

/* The simulator frame behind a contract page, and back. */
struct sim_page *xpv_sim_page(struct xpv_page *page);
struct xpv_page *xpv_sim_page_wrap(struct sim_page *page);

/* The harness object that owns the device (e.g. a frontend-under-test
 * adapter), for its xpv_driver callbacks to find: the xenbus core's
 * dev_get_drvdata. */
void xpv_sim_dev_set_host(struct xpv_dev *dev, void *host);
void *xpv_sim_dev_host(const struct xpv_dev *dev);

/* Probe drv on dev and watch the other end's state: every change calls
 * drv->otherend_changed, as the xenbus core does. */
int xpv_sim_dev_attach(struct xpv_dev *dev, const struct xpv_driver *drv);
void *xpv_sim_dev_priv(const struct xpv_dev *dev);
/* Save/restore, as the xenbus core does around a migration: suspend calls
 * drv->suspend; resume resets the own state node to Initialising (the
 * restored guest's toolstack does so) and calls drv->resume. */
int xpv_sim_dev_suspend(struct xpv_dev *dev);
int xpv_sim_dev_resume(struct xpv_dev *dev);
/* Calls drv->remove and drops the state watch. */
void xpv_sim_dev_detach(struct xpv_dev *dev);

/* Harness glue standing in for upper-layer calls that sleep in a kernel
 * (e.g. adding a SCSI device): reports a contract violation when the core
 * makes such a call from atomic context or with a lock held. */
void xpv_sim_may_sleep(struct xpv_dev *dev, const char *what);

/* Deliberate defects, for the tests that prove each oracle fires: the
 * frontend under test is made to misbehave at its contract calls (and, for
 * completions, in its fut adapter), without touching its source. Process
 * wide; XPV_BREAK_NONE (the default) changes nothing. */
enum xpv_sim_break {
	XPV_BREAK_NONE,
	XPV_BREAK_DOUBLE_FETCH,   /* every xpv_shm_fetch reads its bytes twice */
	XPV_BREAK_RW_OUTBOUND,    /* read-only grants are made writable */
	XPV_BREAK_LEAK_GRANT,     /* the first grant end pretends to succeed */
	XPV_BREAK_COMPLETE_TWICE, /* the first completion is delivered twice */
	XPV_BREAK_NEVER_COMPLETE, /* the first completion is dropped */
};
void xpv_sim_set_break(enum xpv_sim_break b);
enum xpv_sim_break xpv_sim_get_break(void);
/* "double-fetch", "rw-outbound", "leak-grant", "complete-twice",
 * "never-complete" or "none"; -1 for anything else. */
int xpv_sim_break_parse(const char *name, enum xpv_sim_break *out);

#endif /* XPV_OS_SIM_XPV_SIM_H */
