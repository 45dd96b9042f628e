/*
 * The frontend contract (xpv/os.h) on the simulator. Each contract call is
 * a thin translation to sim/xen, sim/xenstore and sim/core, plus the
 * bookkeeping the checkers need (allocations, locks, timers, watches).
 * Fault injection happens here, at the contract, through the fault plan.
 */
#include "xpv_sim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim/check/check.h"
#include "sim/core/fault.h"
#include "sim/core/u64map.h"
#include "sim/xenstore/xenstore.h"

/* Simulator errors are host errno values and pass through unchanged. */
_Static_assert(XPV_EAGAIN == EAGAIN && XPV_ENOENT == ENOENT &&
		       XPV_EACCES == EACCES && XPV_EBUSY == EBUSY &&
		       XPV_ENOSPC == ENOSPC && XPV_E2BIG == E2BIG &&
		       XPV_EINVAL == EINVAL && XPV_ENOMEM == ENOMEM,
	       "XPV_E* values equal the host's errno values");

#define XPV_SIM_MAX_PORTS 8
#define XPV_SIM_PATH_MAX 256

struct xpv_sim_port {
	struct xpv_dev *dev;
	xpv_evtchn_port port;
	xpv_evtchn_handler *handler;
	void *arg;
	bool used;
};

struct xpv_dev {
	struct sim *sim;
	void *host; /* the harness object owning the device */
	struct sim_domain *dom;
	sim_domid backend;
	char own[XPV_SIM_PATH_MAX];
	char other[XPV_SIM_PATH_MAX];
	FILE *log;
	enum xpv_log_level log_level;
	unsigned long log_count[XPV_LOG_DEBUG + 1];
	struct sim_u64map allocs; /* address -> size */
	unsigned locks_live, locks_held, timers_live, watches_live, works_live;
	unsigned atomic_depth; /* inside an event handler or a timer */
	bool break_done;       /* a one-shot deliberate defect happened */
	unsigned watch_seq;
	struct xpv_sim_port ports[XPV_SIM_MAX_PORTS];
	const struct xpv_driver *drv;
	void *priv;
	struct xpv_watch *state_watch;
};

struct xpv_lock {
	struct xpv_dev *dev;
	bool held;
};

struct xpv_timer {
	struct xpv_dev *dev;
	xpv_timer_fn *fn;
	void *arg;
	sim_event_id event;
};

struct xpv_work {
	struct xpv_dev *dev;
	xpv_work_fn *fn;
	void *arg;
	sim_event_id event; /* 0: not queued */
};

struct xpv_watch {
	struct xpv_dev *dev;
	xpv_xs_watch_fn *fn;
	void *arg;
	char path[XPV_SIM_PATH_MAX];
	char token[32];
};

static struct sim_xs *dev_xs(struct xpv_dev *dev)
{
	return sim_xs(dev->sim);
}

static sim_domid guest_id(const struct xpv_dev *dev)
{
	return sim_domain_id(dev->dom);
}

/* ---- device handles ---------------------------------------------------- */

struct xpv_dev *xpv_sim_dev_create(const struct xpv_sim_dev_config *cfg)
{
	struct xpv_dev *dev = sim_xcalloc(1, sizeof(*dev));

	SIM_ASSERT(strlen(cfg->frontend_path) < XPV_SIM_PATH_MAX);
	SIM_ASSERT(strlen(cfg->backend_path) < XPV_SIM_PATH_MAX);
	dev->sim = cfg->sim;
	dev->dom = sim_domain_get(cfg->sim, cfg->guest);
	SIM_ASSERT(dev->dom != NULL);
	dev->backend = cfg->backend;
	strcpy(dev->own, cfg->frontend_path);
	strcpy(dev->other, cfg->backend_path);
	dev->log = cfg->log;
	dev->log_level = cfg->log_level;
	sim_u64map_init(&dev->allocs);
	return dev;
}

static void report_alloc(uint64_t addr, void *size, void *arg)
{
	struct xpv_dev *dev = arg;
	sim_violation(dev->sim, SIM_CHECK_MEM_LEAK,
		      "%s: %zu bytes at %#llx never freed", dev->own,
		      (size_t)(uintptr_t)size, (unsigned long long)addr);
	free((void *)(uintptr_t)addr);
}

void xpv_sim_dev_destroy(struct xpv_dev *dev)
{
	if (dev->drv)
		xpv_sim_dev_detach(dev);
	sim_u64map_each(&dev->allocs, report_alloc, dev);
	if (dev->locks_live || dev->locks_held)
		sim_violation(dev->sim, SIM_CHECK_LOCK,
			      "%s: %u locks not freed, %u held at teardown",
			      dev->own, dev->locks_live, dev->locks_held);
	if (dev->timers_live || dev->watches_live || dev->works_live)
		sim_violation(dev->sim, SIM_CHECK_MEM_LEAK,
			      "%s: %u timers, %u watches, %u work items not "
			      "freed", dev->own, dev->timers_live,
			      dev->watches_live, dev->works_live);
	for (int i = 0; i < XPV_SIM_MAX_PORTS; i++)
		if (dev->ports[i].used)
			sim_violation(dev->sim, SIM_CHECK_EVTCHN_LEAK,
				      "%s: event channel %u not closed",
				      dev->own, dev->ports[i].port);
	sim_u64map_fini(&dev->allocs);
	free(dev);
}

struct sim *xpv_sim_dev_sim(const struct xpv_dev *dev)
{
	return dev->sim;
}

struct sim_domain *xpv_sim_dev_domain(const struct xpv_dev *dev)
{
	return dev->dom;
}

unsigned long xpv_sim_dev_log_count(const struct xpv_dev *dev,
				    enum xpv_log_level level)
{
	return dev->log_count[level];
}

/* ---- logging and assertions ------------------------------------------ */

void xpv_log(struct xpv_dev *dev, enum xpv_log_level level, const char *fmt,
	     ...)
{
	static const char *const names[] = { "error", "warn", "info",
					      "debug" };
	char msg[512];
	va_list ap;

	SIM_ASSERT(level <= XPV_LOG_DEBUG);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dev->log_count[level]++;
	sim_trace_str(dev->sim, "log", msg);
	if (dev->log && level <= dev->log_level)
		fprintf(dev->log, "[%12llu ns] %s %s: %s\n",
			(unsigned long long)sim_now(dev->sim), dev->own,
			names[level], msg);
}

void xpv_assert_fail(const char *expr, const char *file, int line)
{
	/* A frontend's own invariant broke: under fuzzing this abort is the
	 * finding, so it must never be caught or turned into an error. */
	fprintf(stderr, "frontend assertion failed: %s (%s:%d)\n", expr, file,
		line);
	abort();
}

/* ---- deliberate defects (xpv_sim.h) ---------------------------------------- */

static enum xpv_sim_break sim_break;

void xpv_sim_set_break(enum xpv_sim_break b)
{
	sim_break = b;
}

enum xpv_sim_break xpv_sim_get_break(void)
{
	return sim_break;
}

int xpv_sim_break_parse(const char *name, enum xpv_sim_break *out)
{
	static const char *const names[] = {
		[XPV_BREAK_NONE] = "none",
		[XPV_BREAK_DOUBLE_FETCH] = "double-fetch",
		[XPV_BREAK_RW_OUTBOUND] = "rw-outbound",
		[XPV_BREAK_LEAK_GRANT] = "leak-grant",
		[XPV_BREAK_COMPLETE_TWICE] = "complete-twice",
		[XPV_BREAK_NEVER_COMPLETE] = "never-complete",
	};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (enum xpv_sim_break)i;
			return 0;
		}
	return -1;
}

/* ---- contexts ------------------------------------------------------------ */

/* The contract's functions that may sleep in a kernel (os.h, "Contexts")
 * call this: from an event handler or a timer, or with a spin lock held,
 * that would be a sleeping-in-atomic bug in the Linux build. */
static void may_sleep(struct xpv_dev *dev, const char *what)
{
	if (dev->atomic_depth)
		sim_violation(dev->sim, SIM_CHECK_CONTRACT,
			      "%s: %s may sleep, called from an event handler "
			      "or timer", dev->own, what);
	else if (dev->locks_held)
		sim_violation(dev->sim, SIM_CHECK_CONTRACT,
			      "%s: %s may sleep, called with a lock held",
			      dev->own, what);
}

void xpv_sim_may_sleep(struct xpv_dev *dev, const char *what)
{
	may_sleep(dev, what);
}

/* ---- memory -------------------------------------------------------------- */

int xpv_mem_alloc(struct xpv_dev *dev, xpv_size bytes, void **out)
{
	may_sleep(dev, "xpv_mem_alloc");
	if (sim_fault_hit(sim_faults(dev->sim), SIM_FAULT_ALLOC))
		return -XPV_ENOMEM;
	void *mem = sim_xcalloc(1, bytes);
	sim_u64map_put(&dev->allocs, (uintptr_t)mem,
		       (void *)(uintptr_t)bytes);
	*out = mem;
	return 0;
}

void xpv_mem_free(struct xpv_dev *dev, void *mem, xpv_size bytes)
{
	if (!mem)
		return;
	void *size = sim_u64map_del(&dev->allocs, (uintptr_t)mem);
	if (!size) {
		sim_violation(dev->sim, SIM_CHECK_CONTRACT,
			      "%s: xpv_mem_free of %p, not allocated",
			      dev->own, mem);
		return;
	}
	if ((size_t)(uintptr_t)size != bytes)
		sim_violation(dev->sim, SIM_CHECK_CONTRACT,
			      "%s: xpv_mem_free(%zu bytes) of a %zu-byte block",
			      dev->own, (size_t)bytes,
			      (size_t)(uintptr_t)size);
	free(mem);
}

struct sim_page *xpv_sim_page(struct xpv_page *page)
{
	/* A contract page is the simulator frame itself, seen opaquely. */
	return (struct sim_page *)page;
}

struct xpv_page *xpv_sim_page_wrap(struct sim_page *page)
{
	return (struct xpv_page *)page;
}

int xpv_page_alloc(struct xpv_dev *dev, struct xpv_page **out)
{
	may_sleep(dev, "xpv_page_alloc");
	if (sim_fault_hit(sim_faults(dev->sim), SIM_FAULT_ALLOC))
		return -XPV_ENOMEM;
	struct sim_page *pg = sim_page_alloc(dev->dom);
	if (!pg)
		return -XPV_ENOMEM;
	*out = xpv_sim_page_wrap(pg);
	return 0;
}

void *xpv_page_addr(struct xpv_page *page)
{
	return sim_page_data(xpv_sim_page(page));
}

void xpv_page_write_outbound(struct xpv_dev *dev, struct xpv_page *page,
			     xpv_u32 offset, const void *src, xpv_u32 len)
{
	struct sim_page *pg = xpv_sim_page(page);

	XPV_ASSERT(offset <= XPV_PAGE_SIZE && len <= XPV_PAGE_SIZE - offset);
	if (sim_page_grants_active(pg))
		sim_violation(dev->sim, SIM_CHECK_CONTRACT,
			      "xpv_page_write_outbound on a page that is "
			      "granted (gfn %#llx): shared memory goes through "
			      "xpv_shm_store",
			      (unsigned long long)sim_page_gfn(pg));
	memcpy((xpv_u8 *)sim_page_data(pg) + offset, src, len);
	sim_page_set_outbound(pg, true);
}

void xpv_page_outbound_discard(struct xpv_dev *dev, struct xpv_page *page)
{
	struct sim_page *pg = xpv_sim_page(page);

	if (sim_page_grants_active(pg))
		sim_violation(dev->sim, SIM_CHECK_CONTRACT,
			      "xpv_page_outbound_discard on a page that is "
			      "granted (gfn %#llx)",
			      (unsigned long long)sim_page_gfn(pg));
	else
		sim_page_set_outbound(pg, false);
}

void xpv_page_free(struct xpv_dev *dev, struct xpv_page *page)
{
	sim_page_free(xpv_sim_page(page));
}

void xpv_page_quarantine(struct xpv_dev *dev, struct xpv_page *page)
{
	sim_page_quarantine(xpv_sim_page(page));
}

/* ---- grants ------------------------------------------------------------- */

int xpv_grant_access(struct xpv_dev *dev, struct xpv_page *page,
		     enum xpv_grant_access access, xpv_grant_ref *out)
{
	uint32_t ref;
	int err;

	if (sim_fault_hit(sim_faults(dev->sim), SIM_FAULT_GRANT_CLAIM))
		return -XPV_ENOSPC;
	err = sim_gnttab_claim(dev->dom, &ref);
	if (err)
		return err;
	err = sim_gnttab_grant(dev->dom, ref, dev->backend,
			       xpv_sim_page(page),
			       access == XPV_GRANT_RO &&
				       sim_break != XPV_BREAK_RW_OUTBOUND);
	if (err) {
		sim_gnttab_release(dev->dom, ref);
		return err;
	}
	*out = ref;
	return 0;
}

int xpv_grant_end(struct xpv_dev *dev, xpv_grant_ref ref)
{
	if (sim_break == XPV_BREAK_LEAK_GRANT && !dev->break_done) {
		dev->break_done = true;
		return 0; /* the defect: claims the grant ended */
	}
	return sim_gnttab_try_end(dev->dom, ref);
}

/* ---- event channels ----------------------------------------------------- */

static struct xpv_sim_port *find_port(struct xpv_dev *dev,
				      xpv_evtchn_port port)
{
	for (int i = 0; i < XPV_SIM_MAX_PORTS; i++)
		if (dev->ports[i].used && dev->ports[i].port == port)
			return &dev->ports[i];
	return NULL;
}

int xpv_evtchn_alloc(struct xpv_dev *dev, xpv_evtchn_port *out)
{
	may_sleep(dev, "xpv_evtchn_alloc");
	struct xpv_sim_port *slot = NULL;
	uint32_t port;

	for (int i = 0; i < XPV_SIM_MAX_PORTS && !slot; i++)
		if (!dev->ports[i].used)
			slot = &dev->ports[i];
	if (!slot ||
	    sim_fault_hit(sim_faults(dev->sim), SIM_FAULT_EVTCHN_ALLOC))
		return -XPV_ENOSPC;
	int err = sim_evtchn_alloc_unbound(dev->dom, dev->backend, &port);
	if (err)
		return err;
	memset(slot, 0, sizeof(*slot));
	slot->used = true;
	slot->dev = dev;
	slot->port = port;
	*out = port;
	return 0;
}

/* Event handlers run as a kernel's interrupt handler would: atomic. */
static void deliver(struct sim *sim, void *arg, uint32_t port)
{
	struct xpv_sim_port *p = arg;

	if (!p->handler)
		return;
	p->dev->atomic_depth++;
	p->handler(p->arg);
	p->dev->atomic_depth--;
}

int xpv_evtchn_bind(struct xpv_dev *dev, xpv_evtchn_port port,
		    xpv_evtchn_handler *handler, void *arg)
{
	may_sleep(dev, "xpv_evtchn_bind");
	struct xpv_sim_port *p = find_port(dev, port);

	if (!p)
		return -XPV_EINVAL;
	p->handler = handler;
	p->arg = arg;
	return sim_evtchn_set_handler(dev->dom, port, deliver, p, true);
}

void xpv_evtchn_eoi(struct xpv_dev *dev, xpv_evtchn_port port,
		    xpv_bool spurious)
{
	if (spurious)
		sim_trace(dev->sim, "evtchn-spurious", port, 0);
	sim_evtchn_eoi(dev->dom, port);
}

void xpv_evtchn_notify(struct xpv_dev *dev, xpv_evtchn_port port)
{
	sim_evtchn_send(dev->dom, port);
}

void xpv_evtchn_close(struct xpv_dev *dev, xpv_evtchn_port port)
{
	may_sleep(dev, "xpv_evtchn_close");
	struct xpv_sim_port *p = find_port(dev, port);

	if (!p) {
		sim_violation(dev->sim, SIM_CHECK_CONTRACT,
			      "%s: close of port %u not allocated here",
			      dev->own, port);
		return;
	}
	sim_evtchn_close(dev->dom, port);
	p->used = false;
}

/* ---- xenstore ---------------------------------------------------------- */

static int make_path(const struct xpv_dev *dev, enum xpv_xs_side side,
		     const char *key, char *buf, size_t len)
{
	const char *dir = side == XPV_XS_OWN ? dev->own : dev->other;
	int n = key[0] ? snprintf(buf, len, "%s/%s", dir, key)
		       : snprintf(buf, len, "%s", dir);
	return n < 0 || (size_t)n >= len ? -XPV_EINVAL : 0;
}

int xpv_xs_read(struct xpv_dev *dev, xpv_xs_txn txn, enum xpv_xs_side side,
		const char *key, char *buf, xpv_size len)
{
	may_sleep(dev, "xpv_xs_read");
	char path[SIM_XS_ABS_PATH_MAX + 1];
	char *val;
	unsigned vlen;
	int err = make_path(dev, side, key, path, sizeof(path));

	if (!err)
		err = sim_xs_read(dev_xs(dev), guest_id(dev), txn, path, &val,
				  &vlen);
	if (err)
		return err;
	/* A value with an embedded NUL would read as a shorter one: refuse
	 * it rather than hand the core something it did not get. */
	if (vlen + 1 > len || memchr(val, '\0', vlen)) {
		free(val);
		return vlen + 1 > len ? -XPV_E2BIG : -XPV_EINVAL;
	}
	memcpy(buf, val, vlen);
	buf[vlen] = '\0';
	free(val);
	return 0;
}

int xpv_xs_write(struct xpv_dev *dev, xpv_xs_txn txn, const char *key,
		 const char *value)
{
	may_sleep(dev, "xpv_xs_write");
	char path[SIM_XS_ABS_PATH_MAX + 1];
	int err = make_path(dev, XPV_XS_OWN, key, path, sizeof(path));

	if (err)
		return err;
	return sim_xs_write(dev_xs(dev), guest_id(dev), txn, path, value,
			    (unsigned)strlen(value));
}

int xpv_xs_rm(struct xpv_dev *dev, xpv_xs_txn txn, const char *key)
{
	may_sleep(dev, "xpv_xs_rm");
	char path[SIM_XS_ABS_PATH_MAX + 1];
	int err = make_path(dev, XPV_XS_OWN, key, path, sizeof(path));

	return err ? err : sim_xs_rm(dev_xs(dev), guest_id(dev), txn, path);
}

int xpv_xs_directory(struct xpv_dev *dev, xpv_xs_txn txn,
		     enum xpv_xs_side side, const char *key, char *buf,
		     xpv_size len, xpv_u32 *count)
{
	may_sleep(dev, "xpv_xs_directory");
	char path[SIM_XS_ABS_PATH_MAX + 1];
	char **names;
	unsigned num;
	size_t off = 0;
	int err = make_path(dev, side, key, path, sizeof(path));

	if (!err)
		err = sim_xs_directory(dev_xs(dev), guest_id(dev), txn, path,
				       &names, &num);
	if (err)
		return err;
	for (unsigned i = 0; i < num && !err; i++) {
		size_t n = strlen(names[i]) + 1;
		if (off + n > len)
			err = -XPV_E2BIG;
		else
			memcpy(buf + off, names[i], n);
		off += n;
	}
	free(names);
	if (!err)
		*count = num;
	return err;
}

int xpv_xs_txn_start(struct xpv_dev *dev, xpv_xs_txn *out)
{
	may_sleep(dev, "xpv_xs_txn_start");
	uint32_t txn;
	int err = sim_xs_txn_start(dev_xs(dev), guest_id(dev), &txn);

	if (!err)
		*out = txn;
	return err;
}

int xpv_xs_txn_end(struct xpv_dev *dev, xpv_xs_txn txn, xpv_bool abort)
{
	may_sleep(dev, "xpv_xs_txn_end");
	return sim_xs_txn_end(dev_xs(dev), guest_id(dev), txn, abort);
}

static void watch_fired(struct sim *sim, void *arg, const char *path,
			const char *token)
{
	struct xpv_watch *w = arg;
	w->fn(w->arg, path);
}

int xpv_xs_watch(struct xpv_dev *dev, enum xpv_xs_side side, const char *key,
		 xpv_xs_watch_fn *fn, void *arg, struct xpv_watch **out)
{
	may_sleep(dev, "xpv_xs_watch");
	struct xpv_watch *w = sim_xcalloc(1, sizeof(*w));
	int err = make_path(dev, side, key, w->path, sizeof(w->path));

	w->dev = dev;
	w->fn = fn;
	w->arg = arg;
	snprintf(w->token, sizeof(w->token), "xpv%u", ++dev->watch_seq);
	if (!err)
		err = sim_xs_watch(dev_xs(dev), guest_id(dev), w->path,
				   w->token, watch_fired, w);
	if (err) {
		free(w);
		return err;
	}
	dev->watches_live++;
	*out = w;
	return 0;
}

void xpv_xs_unwatch(struct xpv_dev *dev, struct xpv_watch *w)
{
	may_sleep(dev, "xpv_xs_unwatch");
	SIM_ASSERT(sim_xs_unwatch(dev_xs(dev), guest_id(dev), w->path,
				  w->token, w) == 0);
	dev->watches_live--;
	free(w);
}

int xpv_xenbus_switch_state(struct xpv_dev *dev, enum xpv_xenbus_state state)
{
	may_sleep(dev, "xpv_xenbus_switch_state");
	sim_trace(dev->sim, "xenbus-frontend-state", state, 0);
	return sim_xenbus_switch_state(dev_xs(dev), guest_id(dev), dev->own,
				       (int)state);
}

void xpv_xenbus_fatal(struct xpv_dev *dev, int err, const char *msg)
{
	may_sleep(dev, "xpv_xenbus_fatal");
	/* As xenbus_dev_fatal: error/<nodename>/error under the domain's
	 * home, then Closing. nodename is the own path minus the home. */
	char home[64], path[SIM_XS_ABS_PATH_MAX + 1];
	int n = snprintf(home, sizeof(home), "/local/domain/%u/",
			 (unsigned)guest_id(dev));
	const char *node = strncmp(dev->own, home, (size_t)n) == 0
				   ? dev->own + n
				   : dev->own + 1;

	xpv_log(dev, XPV_LOG_ERR, "fatal %d: %s", err, msg);
	snprintf(path, sizeof(path), "%serror/%s/error", home, node);
	sim_xs_printf(dev_xs(dev), guest_id(dev), 0, path, "%d %s", -err, msg);
	xpv_xenbus_switch_state(dev, XPV_XENBUS_CLOSING);
}

/* ---- driver attach ------------------------------------------------------- */

static void otherend_state_fired(void *arg, const char *path)
{
	struct xpv_dev *dev = arg;
	int state;

	/* Like xenbus_read_driver_state: unreadable means Unknown. */
	if (sim_xenbus_read_state(dev_xs(dev), guest_id(dev), dev->other,
				  &state) != 0 ||
	    state < XPV_XENBUS_UNKNOWN || state > XPV_XENBUS_RECONFIGURED)
		state = XPV_XENBUS_UNKNOWN;
	sim_trace(dev->sim, "xenbus-backend-state", (uint64_t)state, 0);
	if (dev->drv && dev->drv->otherend_changed)
		dev->drv->otherend_changed(dev->priv,
					   (enum xpv_xenbus_state)state);
}

int xpv_sim_dev_attach(struct xpv_dev *dev, const struct xpv_driver *drv)
{
	SIM_ASSERT(dev->drv == NULL);
	int err = drv->probe(dev, &dev->priv);
	if (err)
		return err;
	dev->drv = drv;
	err = xpv_xs_watch(dev, XPV_XS_OTHER, "state", otherend_state_fired,
			   dev, &dev->state_watch);
	if (err) {
		xpv_sim_dev_detach(dev);
		return err;
	}
	return 0;
}

int xpv_sim_dev_suspend(struct xpv_dev *dev)
{
	SIM_ASSERT(dev->drv != NULL);
	sim_trace(dev->sim, "xenbus-suspend", 0, 0);
	return dev->drv->suspend ? dev->drv->suspend(dev->priv) : 0;
}

int xpv_sim_dev_resume(struct xpv_dev *dev)
{
	SIM_ASSERT(dev->drv != NULL);
	sim_trace(dev->sim, "xenbus-resume", 0, 0);
	xpv_xenbus_switch_state(dev, XPV_XENBUS_INITIALISING);
	return dev->drv->resume ? dev->drv->resume(dev->priv) : 0;
}

void xpv_sim_dev_set_host(struct xpv_dev *dev, void *host)
{
	dev->host = host;
}

void *xpv_sim_dev_host(const struct xpv_dev *dev)
{
	return dev->host;
}

void *xpv_sim_dev_priv(const struct xpv_dev *dev)
{
	return dev->priv;
}

void xpv_sim_dev_detach(struct xpv_dev *dev)
{
	const struct xpv_driver *drv = dev->drv;

	if (!drv)
		return;
	if (dev->state_watch) {
		xpv_xs_unwatch(dev, dev->state_watch);
		dev->state_watch = NULL;
	}
	dev->drv = NULL;
	if (drv->remove)
		drv->remove(dev->priv);
	dev->priv = NULL;
}

/* ---- locks and time ---------------------------------------------------- */

int xpv_lock_alloc(struct xpv_dev *dev, struct xpv_lock **out)
{
	may_sleep(dev, "xpv_lock_alloc");
	if (sim_fault_hit(sim_faults(dev->sim), SIM_FAULT_ALLOC))
		return -XPV_ENOMEM;
	struct xpv_lock *lock = sim_xcalloc(1, sizeof(*lock));
	lock->dev = dev;
	dev->locks_live++;
	*out = lock;
	return 0;
}

void xpv_lock_free(struct xpv_dev *dev, struct xpv_lock *lock)
{
	may_sleep(dev, "xpv_lock_free");
	if (lock->held)
		sim_violation(dev->sim, SIM_CHECK_LOCK,
			      "%s: lock freed while held", dev->own);
	dev->locks_live--;
	free(lock);
}

void xpv_lock_acquire(struct xpv_lock *lock)
{
	/* One simulated CPU: taking a held spin lock would spin forever. */
	if (lock->held) {
		sim_violation(lock->dev->sim, SIM_CHECK_LOCK,
			      "%s: lock acquired twice (deadlock)",
			      lock->dev->own);
		return;
	}
	lock->held = true;
	lock->dev->locks_held++;
}

void xpv_lock_release(struct xpv_lock *lock)
{
	if (!lock->held) {
		sim_violation(lock->dev->sim, SIM_CHECK_LOCK,
			      "%s: release of a lock not held",
			      lock->dev->own);
		return;
	}
	lock->held = false;
	lock->dev->locks_held--;
}

xpv_u64 xpv_time_ns(struct xpv_dev *dev)
{
	return sim_now(dev->sim);
}

int xpv_timer_alloc(struct xpv_dev *dev, xpv_timer_fn *fn, void *arg,
		    struct xpv_timer **out)
{
	may_sleep(dev, "xpv_timer_alloc");
	if (sim_fault_hit(sim_faults(dev->sim), SIM_FAULT_ALLOC))
		return -XPV_ENOMEM;
	struct xpv_timer *t = sim_xcalloc(1, sizeof(*t));
	t->dev = dev;
	t->fn = fn;
	t->arg = arg;
	dev->timers_live++;
	*out = t;
	return 0;
}

void xpv_timer_free(struct xpv_dev *dev, struct xpv_timer *timer)
{
	may_sleep(dev, "xpv_timer_free");
	xpv_timer_cancel(timer);
	dev->timers_live--;
	free(timer);
}

static void timer_fired(struct sim *sim, void *arg)
{
	struct xpv_timer *t = arg;

	t->event = 0;
	t->dev->atomic_depth++; /* a kernel timer runs in softirq context */
	t->fn(t->arg);
	t->dev->atomic_depth--;
}

void xpv_timer_arm(struct xpv_timer *timer, xpv_u64 delay_ns)
{
	xpv_timer_cancel(timer);
	timer->event = sim_schedule(timer->dev->sim, delay_ns, timer_fired,
				    timer, "timer");
}

void xpv_timer_cancel(struct xpv_timer *timer)
{
	if (timer->event)
		sim_cancel(timer->dev->sim, timer->event);
	timer->event = 0;
}

/* ---- deferred work (process context) ------------------------------------ */

int xpv_work_alloc(struct xpv_dev *dev, xpv_work_fn *fn, void *arg,
		   struct xpv_work **out)
{
	may_sleep(dev, "xpv_work_alloc");
	if (sim_fault_hit(sim_faults(dev->sim), SIM_FAULT_ALLOC))
		return -XPV_ENOMEM;
	struct xpv_work *w = sim_xcalloc(1, sizeof(*w));
	w->dev = dev;
	w->fn = fn;
	w->arg = arg;
	dev->works_live++;
	*out = w;
	return 0;
}

void xpv_work_free(struct xpv_dev *dev, struct xpv_work *work)
{
	may_sleep(dev, "xpv_work_free");
	if (work->event)
		sim_cancel(dev->sim, work->event);
	dev->works_live--;
	free(work);
}

static void work_run(struct sim *sim, void *arg)
{
	struct xpv_work *w = arg;

	w->event = 0;
	w->fn(w->arg);
}

void xpv_work_queue(struct xpv_work *work)
{
	if (work->event)
		return;
	work->event = sim_schedule(work->dev->sim, 0, work_run, work, "work");
}

/* ---- shared memory --------------------------------------------------- */

xpv_u32 xpv_shm_read_idx(struct xpv_dev *dev, const volatile xpv_u32 *idx)
{
	return __atomic_load_n(idx, __ATOMIC_RELAXED);
}

void xpv_shm_write_idx(struct xpv_dev *dev, volatile xpv_u32 *idx,
		       xpv_u32 value)
{
	sim_shm_store(dev->sim, (const void *)idx, sizeof(*idx));
	__atomic_store_n(idx, value, __ATOMIC_RELAXED);
}

void xpv_shm_fetch(struct xpv_dev *dev, void *dst, const volatile void *src,
		   xpv_size len)
{
	sim_shm_fetch(dev->sim, (const void *)src, len);
	if (sim_break == XPV_BREAK_DOUBLE_FETCH)
		sim_shm_fetch(dev->sim, (const void *)src, len);
	memcpy(dst, (const void *)src, len);
}

void xpv_shm_store(struct xpv_dev *dev, volatile void *dst, const void *src,
		   xpv_size len)
{
	sim_shm_store(dev->sim, (const void *)dst, len);
	memcpy((void *)dst, src, len);
}

void xpv_shm_wmb(struct xpv_dev *dev)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void xpv_shm_rmb(struct xpv_dev *dev)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

void xpv_shm_mb(struct xpv_dev *dev)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
