// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The frontend contract (drivers/include/xpv/os.h) implemented with the
 * Linux 6.1 kernel's own Xen APIs: the cores' only door to a real guest.
 *
 * Every contract function is here, in the order of os.h, but one:
 * xpv_assert_fail() is in xpv_linux_prelude.h (objtool). Errors from the
 * kernel are already negative errnos, which equal the XPV_E* values (checked
 * below at compile time); errnos the contract does not name become -EIO.
 * Calling context: allocation, grant, event-channel set-up, xenstore and
 * watch functions may sleep (process context, no xpv_lock held); the lock,
 * EOI, notify, timer arm/cancel, time and shm functions work in any context.
 * To extend: mirror a new os.h function here and in drivers/os/sim.
 */
#include <linux/bug.h>
#include <linux/build_bug.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/workqueue.h>
#include <linux/interrupt.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <asm/barrier.h>
#include <xen/events.h>
#include <xen/grant_table.h>
#include <xen/page.h>
#include <xen/xenbus.h>

#include <xpv/os.h>
#include "xpv_linux_priv.h"

/* ---- errors and states: the contract's numbers are Linux's ------------ */

static_assert(XPV_EPERM == EPERM && XPV_ENOENT == ENOENT);
static_assert(XPV_EIO == EIO && XPV_E2BIG == E2BIG);
static_assert(XPV_EAGAIN == EAGAIN && XPV_ENOMEM == ENOMEM);
static_assert(XPV_EACCES == EACCES && XPV_EBUSY == EBUSY);
static_assert(XPV_EEXIST == EEXIST && XPV_ENODEV == ENODEV);
static_assert(XPV_EINVAL == EINVAL && XPV_ENOSPC == ENOSPC);
static_assert(XPV_ERANGE == ERANGE && XPV_EPIPE == EPIPE);
static_assert(XPV_ENODATA == ENODATA && XPV_EPROTO == EPROTO);
static_assert(XPV_EOVERFLOW == EOVERFLOW && XPV_ESHUTDOWN == ESHUTDOWN);
static_assert(XPV_ETIMEDOUT == ETIMEDOUT);

static_assert(XPV_XENBUS_UNKNOWN == (int)XenbusStateUnknown);
static_assert(XPV_XENBUS_INITIALISING == (int)XenbusStateInitialising);
static_assert(XPV_XENBUS_INITWAIT == (int)XenbusStateInitWait);
static_assert(XPV_XENBUS_INITIALISED == (int)XenbusStateInitialised);
static_assert(XPV_XENBUS_CONNECTED == (int)XenbusStateConnected);
static_assert(XPV_XENBUS_CLOSING == (int)XenbusStateClosing);
static_assert(XPV_XENBUS_CLOSED == (int)XenbusStateClosed);
static_assert(XPV_XENBUS_RECONFIGURING == (int)XenbusStateReconfiguring);
static_assert(XPV_XENBUS_RECONFIGURED == (int)XenbusStateReconfigured);

/* One xpv_page is one Xen frame: a grant covers exactly the page. */
static_assert(XPV_PAGE_SIZE == XEN_PAGE_SIZE && PAGE_SIZE == XEN_PAGE_SIZE);

/* Pass through the errnos the cores know; anything else (EISDIR, ENOSYS,
 * EROFS... from xenstored) is just an I/O failure to them. */
static int xpv_linux_err(long err)
{
	switch (-err) {
	case 0:
	case XPV_EPERM:
	case XPV_ENOENT:
	case XPV_EIO:
	case XPV_E2BIG:
	case XPV_EAGAIN:
	case XPV_ENOMEM:
	case XPV_EACCES:
	case XPV_EBUSY:
	case XPV_EEXIST:
	case XPV_ENODEV:
	case XPV_EINVAL:
	case XPV_ENOSPC:
	case XPV_ERANGE:
	case XPV_EPIPE:
	case XPV_ENODATA:
	case XPV_EPROTO:
	case XPV_EOVERFLOW:
	case XPV_ESHUTDOWN:
	case XPV_ETIMEDOUT:
		return (int)err;
	default:
		return -XPV_EIO;
	}
}

/* ---- logging and the cores' own invariants ---------------------------- */

static void xpv_linux_log_dev(struct device *d, enum xpv_log_level level,
			      struct va_format *vaf, const char *nl)
{
	switch (level) {
	case XPV_LOG_ERR:
		dev_err(d, "%pV%s", vaf, nl);
		break;
	case XPV_LOG_WARN:
		dev_warn(d, "%pV%s", vaf, nl);
		break;
	case XPV_LOG_INFO:
		dev_info(d, "%pV%s", vaf, nl);
		break;
	default:
		/* Off unless dynamic debug enables it: I/O paths log here. */
		dev_dbg(d, "%pV%s", vaf, nl);
		break;
	}
}

static void xpv_linux_log_nodev(enum xpv_log_level level,
				struct va_format *vaf, const char *nl)
{
	switch (level) {
	case XPV_LOG_ERR:
		pr_err("%pV%s", vaf, nl);
		break;
	case XPV_LOG_WARN:
		pr_warn("%pV%s", vaf, nl);
		break;
	case XPV_LOG_INFO:
		pr_info("%pV%s", vaf, nl);
		break;
	default:
		pr_debug("%pV%s", vaf, nl);
		break;
	}
}

/*
 * Messages carry the device name ("vscsi-0") through dev_printk. The cores
 * may or may not end a message with a newline; a record without one would
 * stay open for continuation, so add it when missing. The kernel's vsprintf
 * takes the C99 conversions the cores use (%d %u %x %s %zu %llu %p), not
 * %n nor floating point.
 */
void xpv_log(struct xpv_dev *dev, enum xpv_log_level level, const char *fmt,
	     ...)
{
	size_t n = strlen(fmt);
	const char *nl = (n && fmt[n - 1] == '\n') ? "" : "\n";
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	if (dev)
		xpv_linux_log_dev(&dev->xbdev->dev, level, &vaf, nl);
	else
		xpv_linux_log_nodev(level, &vaf, nl);
	va_end(args);
}

/* xpv_assert_fail() is in xpv_linux_prelude.h, force-included into every
 * object of the module: see there for why it cannot live here. */

/* ---- memory ----------------------------------------------------------- */

/* May sleep: the cores allocate only while connecting (process context). */
int xpv_mem_alloc(struct xpv_dev *dev, xpv_size bytes, void **out)
{
	void *mem = kzalloc(bytes, GFP_KERNEL);

	if (!mem)
		return -XPV_ENOMEM;
	*out = mem;
	return 0;
}

void xpv_mem_free(struct xpv_dev *dev, void *mem, xpv_size bytes)
{
	kfree(mem);
}

struct xpv_page {
	struct page *page;
};

int xpv_page_alloc(struct xpv_dev *dev, struct xpv_page **out)
{
	struct xpv_page *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return -XPV_ENOMEM;
	p->page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!p->page) {
		kfree(p);
		return -XPV_ENOMEM;
	}
	*out = p;
	return 0;
}

/* Without __GFP_HIGHMEM the page is always in the kernel mapping. */
void *xpv_page_addr(struct xpv_page *page)
{
	return page_address(page->page);
}

void xpv_page_write_outbound(struct xpv_dev *dev, struct xpv_page *page,
			     xpv_u32 offset, const void *src, xpv_u32 len)
{
	memcpy((u8 *)page_address(page->page) + offset, src, len);
}

/* Nothing to undo: only the simulator tracks outbound contents. */
void xpv_page_outbound_discard(struct xpv_dev *dev, struct xpv_page *page)
{
}

void xpv_page_free(struct xpv_dev *dev, struct xpv_page *page)
{
	__free_page(page->page);
	kfree(page);
}

/*
 * The backend still maps the page (its grant could not be ended), so the
 * frame must never be reused: leak it on purpose, as Linux's grant code did
 * for pages still in use before it grew its deferred-free list. The grant
 * reference leaks with it; only our bookkeeping struct is freed.
 */
void xpv_page_quarantine(struct xpv_dev *dev, struct xpv_page *page)
{
	if (dev)
		dev_warn(&dev->xbdev->dev,
			 "leaking page pfn %lx still granted to backend\n",
			 page_to_pfn(page->page));
	else
		pr_warn("leaking page pfn %lx still granted to backend\n",
			page_to_pfn(page->page));
	kfree(page);
}

/* ---- grants (grant table v1) ------------------------------------------ */

int xpv_grant_access(struct xpv_dev *dev, struct xpv_page *page,
		     enum xpv_grant_access access, xpv_grant_ref *out)
{
	int ref;

	ref = gnttab_grant_foreign_access(dev->xbdev->otherend_id,
					  xen_page_to_gfn(page->page),
					  access == XPV_GRANT_RO);
	if (ref < 0)
		return xpv_linux_err(ref);
	*out = ref;
	return 0;
}

/* gnttab_try_end_foreign_access() frees the reference when it succeeds and
 * leaves the grant untouched when the backend still maps the page. */
int xpv_grant_end(struct xpv_dev *dev, xpv_grant_ref ref)
{
	if (!gnttab_try_end_foreign_access(ref))
		return -XPV_EBUSY;
	return 0;
}

/* ---- event channel ---------------------------------------------------- */

/* A bound port; the dev_id of its irq, so also the key to unbind it. */
struct xpv_linux_evtchn {
	struct list_head link;
	xpv_evtchn_port port;
	unsigned int irq;
	xpv_evtchn_handler *handler;
	void *arg;
};

int xpv_evtchn_alloc(struct xpv_dev *dev, xpv_evtchn_port *out)
{
	evtchn_port_t port;
	int err;

	err = xenbus_alloc_evtchn(dev->xbdev, &port);
	if (err)
		return xpv_linux_err(err);
	*out = port;
	return 0;
}

/* Hard-irq context. The port stays masked until the core's EOI. */
static irqreturn_t xpv_linux_evtchn_interrupt(int irq, void *data)
{
	struct xpv_linux_evtchn *ev = data;

	ev->handler(ev->arg);
	return IRQ_HANDLED;
}

int xpv_evtchn_bind(struct xpv_dev *dev, xpv_evtchn_port port,
		    xpv_evtchn_handler *handler, void *arg)
{
	struct xpv_linux_evtchn *ev;
	int irq;

	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return -XPV_ENOMEM;
	ev->port = port;
	ev->handler = handler;
	ev->arg = arg;
	irq = bind_evtchn_to_irqhandler_lateeoi(port,
						xpv_linux_evtchn_interrupt, 0,
						dev_name(&dev->xbdev->dev), ev);
	if (irq < 0) {
		kfree(ev);
		return xpv_linux_err(irq);
	}
	ev->irq = irq;
	mutex_lock(&dev->evtchn_mutex);
	list_add(&ev->link, &dev->evtchns);
	mutex_unlock(&dev->evtchn_mutex);
	return 0;
}

/* Any context: the port-to-irq table lookup takes no lock we could hold. */
void xpv_evtchn_eoi(struct xpv_dev *dev, xpv_evtchn_port port,
		    xpv_bool spurious)
{
	xen_irq_lateeoi(irq_from_evtchn(port),
			spurious ? XEN_EOI_FLAG_SPURIOUS : 0);
}

void xpv_evtchn_notify(struct xpv_dev *dev, xpv_evtchn_port port)
{
	notify_remote_via_evtchn(port);
}

static struct xpv_linux_evtchn *xpv_linux_evtchn_take(struct xpv_dev *dev,
						      xpv_evtchn_port port)
{
	struct xpv_linux_evtchn *ev, *found = NULL;

	mutex_lock(&dev->evtchn_mutex);
	list_for_each_entry(ev, &dev->evtchns, link) {
		if (ev->port == port) {
			list_del(&ev->link);
			found = ev;
			break;
		}
	}
	mutex_unlock(&dev->evtchn_mutex);
	return found;
}

/* Unbinding also closes the port and waits for a running handler. */
static void xpv_linux_evtchn_unbind(struct xpv_linux_evtchn *ev)
{
	unbind_from_irqhandler(ev->irq, ev);
	kfree(ev);
}

/* May sleep (free_irq). A port never bound is closed through xenbus. */
void xpv_evtchn_close(struct xpv_dev *dev, xpv_evtchn_port port)
{
	struct xpv_linux_evtchn *ev = xpv_linux_evtchn_take(dev, port);

	if (ev)
		xpv_linux_evtchn_unbind(ev);
	else
		xenbus_free_evtchn(dev->xbdev, port);
}

/* ---- xenstore and xenbus ------------------------------------------------ */

static const char *xpv_linux_dir(struct xpv_dev *dev, enum xpv_xs_side side)
{
	return side == XPV_XS_OWN ? dev->xbdev->nodename : dev->xbdev->otherend;
}

static struct xenbus_transaction xpv_linux_txn(xpv_xs_txn txn)
{
	struct xenbus_transaction t = { .id = txn };

	return t;
}

/* xenbus joins dir and key, and reads key "" as dir itself. */
int xpv_xs_read(struct xpv_dev *dev, xpv_xs_txn txn, enum xpv_xs_side side,
		const char *key, char *buf, xpv_size len)
{
	unsigned int n;
	char *val;
	int err = 0;

	val = xenbus_read(xpv_linux_txn(txn), xpv_linux_dir(dev, side), key,
			  &n);
	if (IS_ERR(val))
		return xpv_linux_err(PTR_ERR(val));
	/* xenbus NUL-terminates the value; n excludes the NUL. */
	if (n >= len)
		err = -XPV_E2BIG;
	else
		memcpy(buf, val, n + 1);
	kfree(val);
	return err;
}

int xpv_xs_write(struct xpv_dev *dev, xpv_xs_txn txn, const char *key,
		 const char *value)
{
	return xpv_linux_err(xenbus_write(xpv_linux_txn(txn),
					  dev->xbdev->nodename, key, value));
}

int xpv_xs_rm(struct xpv_dev *dev, xpv_xs_txn txn, const char *key)
{
	return xpv_linux_err(xenbus_rm(xpv_linux_txn(txn),
				       dev->xbdev->nodename, key));
}

/* Packs the names back to back; the loop is bounded by the reply xenbus
 * already received (at most one 4 KiB xenstore message). */
static int xpv_linux_pack(char **names, unsigned int num, char *buf,
			  xpv_size len)
{
	xpv_size used = 0, n;
	unsigned int i;

	for (i = 0; i < num; i++) {
		n = strlen(names[i]) + 1;
		if (n > len - used)
			return -XPV_E2BIG;
		memcpy(buf + used, names[i], n);
		used += n;
	}
	return 0;
}

int xpv_xs_directory(struct xpv_dev *dev, xpv_xs_txn txn,
		     enum xpv_xs_side side, const char *key, char *buf,
		     xpv_size len, xpv_u32 *count)
{
	unsigned int num;
	char **names;
	int err;

	names = xenbus_directory(xpv_linux_txn(txn), xpv_linux_dir(dev, side),
				 key, &num);
	if (IS_ERR(names))
		return xpv_linux_err(PTR_ERR(names));
	err = xpv_linux_pack(names, num, buf, len);
	if (!err)
		*count = num;
	kfree(names);
	return err;
}

int xpv_xs_txn_start(struct xpv_dev *dev, xpv_xs_txn *out)
{
	struct xenbus_transaction t;
	int err;

	err = xenbus_transaction_start(&t);
	if (err)
		return xpv_linux_err(err);
	*out = t.id;
	return 0;
}

int xpv_xs_txn_end(struct xpv_dev *dev, xpv_xs_txn txn, xpv_bool abort)
{
	return xpv_linux_err(xenbus_transaction_end(xpv_linux_txn(txn),
						    abort));
}

/*
 * Events for one watch queued in guest memory and not yet delivered. A
 * backend rewriting its keys in a loop could otherwise queue events without
 * bound (XSA-349); past this budget further events on the backend's side are
 * dropped, so a core must re-read the keys it cares about on each event
 * rather than count events or trust the path alone.
 */
#define XPV_LINUX_WATCH_PENDING_MAX 16

struct xpv_watch {
	struct xenbus_watch xw;	/* xw.node: the absolute path we own */
	xpv_xs_watch_fn *fn;
	void *arg;
};

/* Called with xenbus's watch spinlock held: decide only, never sleep. */
static bool xpv_linux_watch_will_handle(struct xenbus_watch *xw,
					const char *path, const char *token)
{
	return xw->nr_pending < XPV_LINUX_WATCH_PENDING_MAX;
}

/* Runs in the xenwatch kthread: process context, may sleep, no lock held,
 * serialised with every other xenbus watch callback. */
static void xpv_linux_watch_fire(struct xenbus_watch *xw, const char *path,
				 const char *token)
{
	struct xpv_watch *w = container_of(xw, struct xpv_watch, xw);

	w->fn(w->arg, path);
}

/*
 * register_xenbus_watch() rather than xenbus_watch_path(): the latter marks
 * the device fatal on failure, and the contract leaves that to the core.
 * xenstored fires every new watch once, which os.h promises.
 */
int xpv_xs_watch(struct xpv_dev *dev, enum xpv_xs_side side, const char *key,
		 xpv_xs_watch_fn *fn, void *arg, struct xpv_watch **out)
{
	const char *dir = xpv_linux_dir(dev, side);
	struct xpv_watch *w;
	int err;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -XPV_ENOMEM;
	w->xw.node = *key ? kasprintf(GFP_KERNEL, "%s/%s", dir, key)
			  : kstrdup(dir, GFP_KERNEL);
	if (!w->xw.node) {
		kfree(w);
		return -XPV_ENOMEM;
	}
	if (side == XPV_XS_OTHER)
		w->xw.will_handle = xpv_linux_watch_will_handle;
	w->xw.callback = xpv_linux_watch_fire;
	w->fn = fn;
	w->arg = arg;
	err = register_xenbus_watch(&w->xw);
	if (err) {
		kfree(w->xw.node);
		kfree(w);
		return xpv_linux_err(err);
	}
	*out = w;
	return 0;
}

/* Returns once no callback of this watch runs or is queued (except when
 * called from the watch's own callback, which xenbus allows). */
void xpv_xs_unwatch(struct xpv_dev *dev, struct xpv_watch *watch)
{
	unregister_xenbus_watch(&watch->xw);
	kfree(watch->xw.node);
	kfree(watch);
}

int xpv_xenbus_switch_state(struct xpv_dev *dev, enum xpv_xenbus_state state)
{
	return xpv_linux_err(xenbus_switch_state(dev->xbdev,
						 (enum xenbus_state)state));
}

void xpv_xenbus_fatal(struct xpv_dev *dev, int err, const char *msg)
{
	xenbus_dev_fatal(dev->xbdev, err, "%s", msg);
}

/* ---- locks, time ------------------------------------------------------ */

/*
 * The saved irq flags live in the lock: only the holder writes or reads
 * them, between its own acquire and release. All xpv locks share one
 * lockdep class (one spin_lock_init site), so lockdep would flag a core
 * that nests two of them; the cores take one lock at a time.
 */
struct xpv_lock {
	spinlock_t lock;
	unsigned long flags;
};

int xpv_lock_alloc(struct xpv_dev *dev, struct xpv_lock **out)
{
	struct xpv_lock *l = kzalloc(sizeof(*l), GFP_KERNEL);

	if (!l)
		return -XPV_ENOMEM;
	spin_lock_init(&l->lock);
	*out = l;
	return 0;
}

void xpv_lock_free(struct xpv_dev *dev, struct xpv_lock *lock)
{
	kfree(lock);
}

void xpv_lock_acquire(struct xpv_lock *lock)
{
	unsigned long flags;

	spin_lock_irqsave(&lock->lock, flags);
	lock->flags = flags;
}

void xpv_lock_release(struct xpv_lock *lock)
{
	spin_unlock_irqrestore(&lock->lock, lock->flags);
}

/* Monotonic, not wall-clock: deadlines survive clock adjustments. */
xpv_u64 xpv_time_ns(struct xpv_dev *dev)
{
	return ktime_get_ns();
}

/*
 * An hrtimer in soft mode: fn runs in softirq context (never hard irq), so
 * it may take xpv locks but must not sleep. Re-arming from fn is allowed.
 */
struct xpv_timer {
	struct hrtimer hrt;
	xpv_timer_fn *fn;
	void *arg;
};

static enum hrtimer_restart xpv_linux_timer_fire(struct hrtimer *hrt)
{
	struct xpv_timer *t = container_of(hrt, struct xpv_timer, hrt);

	t->fn(t->arg);
	return HRTIMER_NORESTART;
}

int xpv_timer_alloc(struct xpv_dev *dev, xpv_timer_fn *fn, void *arg,
		    struct xpv_timer **out)
{
	struct xpv_timer *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return -XPV_ENOMEM;
	hrtimer_init(&t->hrt, CLOCK_MONOTONIC, HRTIMER_MODE_REL_SOFT);
	t->hrt.function = xpv_linux_timer_fire;
	t->fn = fn;
	t->arg = arg;
	*out = t;
	return 0;
}

/* Waits for a running fn: call it neither from fn nor holding a lock fn
 * takes. */
void xpv_timer_free(struct xpv_dev *dev, struct xpv_timer *timer)
{
	hrtimer_cancel(&timer->hrt);
	kfree(timer);
}

void xpv_timer_arm(struct xpv_timer *timer, xpv_u64 delay_ns)
{
	/* A delay past ktime's range would wrap negative and fire at once. */
	u64 ns = min_t(u64, delay_ns, KTIME_MAX);

	hrtimer_start(&timer->hrt, ns_to_ktime(ns), HRTIMER_MODE_REL_SOFT);
}

/* Does not wait for a running fn, so it is safe under the lock fn takes;
 * fn must therefore tolerate running once after a cancel. */
void xpv_timer_cancel(struct xpv_timer *timer)
{
	hrtimer_try_to_cancel(&timer->hrt);
}

/*
 * Deferred work on the system workqueue: fn runs in process context and may
 * sleep. schedule_work() is a no-op for work already pending.
 */
struct xpv_work {
	struct work_struct work;
	xpv_work_fn *fn;
	void *arg;
};

static void xpv_linux_work_run(struct work_struct *work)
{
	struct xpv_work *w = container_of(work, struct xpv_work, work);

	w->fn(w->arg);
}

int xpv_work_alloc(struct xpv_dev *dev, xpv_work_fn *fn, void *arg,
		   struct xpv_work **out)
{
	struct xpv_work *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return -XPV_ENOMEM;
	INIT_WORK(&w->work, xpv_linux_work_run);
	w->fn = fn;
	w->arg = arg;
	*out = w;
	return 0;
}

/* Waits for a running fn: never call it from fn itself. */
void xpv_work_free(struct xpv_dev *dev, struct xpv_work *work)
{
	cancel_work_sync(&work->work);
	kfree(work);
}

void xpv_work_queue(struct xpv_work *work)
{
	schedule_work(&work->work);
}

/* ---- shared memory: the only door to backend-writable bytes ----------- */

xpv_u32 xpv_shm_read_idx(struct xpv_dev *dev, const volatile xpv_u32 *idx)
{
	return READ_ONCE(*idx);
}

void xpv_shm_write_idx(struct xpv_dev *dev, volatile xpv_u32 *idx,
		       xpv_u32 value)
{
	WRITE_ONCE(*idx, value);
}

/*
 * A plain memcpy, the volatile qualifier dropped: like RING_COPY_RESPONSE,
 * the point is one copy into private memory that the core then validates
 * and uses; memcpy gives no single-access guarantee per byte, but the
 * shared bytes are never read again, so a backend racing the copy can only
 * produce an inconsistent snapshot, which validation must (and does) catch.
 * Ordering against the index is the caller's xpv_shm_rmb().
 */
void xpv_shm_fetch(struct xpv_dev *dev, void *dst, const volatile void *src,
		   xpv_size len)
{
	memcpy(dst, (const void *)(uintptr_t)src, len);
}

/* The request is built privately and copied in once; never read back. */
void xpv_shm_store(struct xpv_dev *dev, volatile void *dst, const void *src,
		   xpv_size len)
{
	memcpy((void *)(uintptr_t)dst, src, len);
}

/* virt_*: the backend is another domain, maybe on another CPU, even in a
 * uniprocessor guest, so the SMP barriers are needed unconditionally. */
void xpv_shm_wmb(struct xpv_dev *dev)
{
	virt_wmb();
}

void xpv_shm_rmb(struct xpv_dev *dev)
{
	virt_rmb();
}

void xpv_shm_mb(struct xpv_dev *dev)
{
	virt_mb();
}

/* ---- the device handle, for the xenbus_driver adapter ----------------- */

void xpv_linux_dev_init(struct xpv_dev *dev, struct xenbus_device *xbdev,
			const struct xpv_driver *drv)
{
	dev->xbdev = xbdev;
	dev->drv = drv;
	mutex_init(&dev->evtchn_mutex);
	INIT_LIST_HEAD(&dev->evtchns);
}

/* A core that left a port bound would get interrupts after its state is
 * gone: unbind with a warning (bounded by the ports the core bound). */
void xpv_linux_dev_release(struct xpv_dev *dev)
{
	struct xpv_linux_evtchn *ev, *tmp;

	list_for_each_entry_safe(ev, tmp, &dev->evtchns, link) {
		dev_warn(&dev->xbdev->dev, "core left port %u bound\n",
			 ev->port);
		list_del(&ev->link);
		xpv_linux_evtchn_unbind(ev);
	}
	mutex_destroy(&dev->evtchn_mutex);
}
