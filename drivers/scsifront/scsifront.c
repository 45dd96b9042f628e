// SPDX-License-Identifier: MIT
/*
 * scsifront lifecycle: probe, the vscsi xenbus handshake, LUN hotplug
 * (vscsi-devs/dev-N with host states Reconfiguring/Reconfigured),
 * suspend/resume, orderly and disorderly teardown. See scsifront.h and
 * protocol.md §3.4 for the sequence this follows.
 *
 * xenstore is never touched with sf->lock held (it may sleep in a kernel).
 * The xenbus callbacks are serialised by the environment (one xenwatch
 * context), so the LUN table needs no lock.
 */
#include <xpv/xs_parse.h>

#include "scsifront_priv.h"

#define XS_RETRIES 8
#define DEV_PREFIX "dev-"
#define DEVS_DIR "vscsi-devs"

/* ---- small string helpers (the cores have no libc) ----------------------- */

static xpv_size str_put(char *buf, xpv_size pos, xpv_size len, const char *s)
{
	while (*s && pos + 1 < len)
		buf[pos++] = *s++;
	buf[pos] = '\0';
	return pos;
}

/* "vscsi-devs/dev-<devno>/<leaf>" */
static void dev_key(char *buf, xpv_size len, xpv_u32 devno, const char *leaf)
{
	char num[11];
	xpv_size pos = 0;

	xpv_format_u32(num, devno);
	pos = str_put(buf, pos, len, DEVS_DIR "/" DEV_PREFIX);
	pos = str_put(buf, pos, len, num);
	pos = str_put(buf, pos, len, "/");
	str_put(buf, pos, len, leaf);
}

/* Strict "dev-<n>": anything else under vscsi-devs is ignored. */
static int parse_devno(const char *name, xpv_u32 *out)
{
	const char *p = DEV_PREFIX;

	while (*p)
		if (*name++ != *p++)
			return -XPV_EINVAL;
	return xpv_parse_u32(name, 0, 0xffffffffu, out);
}

/* Strict "h:c:t:l", each a decimal u16; id and lun within the host's
 * limits. An unparsable v-dev is skipped, as Linux scsifront does. */
static int parse_vdev(const char *s, xpv_u16 *channel, xpv_u16 *id,
		      xpv_u16 *lun)
{
	xpv_u32 v[4];
	char part[8];

	for (int i = 0; i < 4; i++) {
		xpv_size n = 0;

		while (*s && *s != ':' && n < sizeof(part) - 1)
			part[n++] = *s++;
		part[n] = '\0';
		if (xpv_parse_u32(part, 0, 0xffff, &v[i]) != 0)
			return -XPV_EINVAL;
		if (i < 3 && *s++ != ':')
			return -XPV_EINVAL;
	}
	if (*s != '\0' || v[2] >= SCSIFRONT_MAX_ID || v[3] >= SCSIFRONT_MAX_LUN)
		return -XPV_EINVAL;
	*channel = (xpv_u16)v[1];
	*id = (xpv_u16)v[2];
	*lun = (xpv_u16)v[3];
	return 0;
}

/* ---- own state ---------------------------------------------------------- */

static void set_state(struct scsifront *sf, enum xpv_xenbus_state state)
{
	sf->state = state;
	xpv_xenbus_switch_state(sf->dev, state);
}

static void emit(struct scsifront *sf, enum scsifront_event ev)
{
	if (sf->up.event)
		sf->up.event(sf->up.arg, ev);
}

/* ---- ring and event channel ---------------------------------------------- */

static int publish_ring(struct scsifront *sf)
{
	for (int attempt = 0; attempt < XS_RETRIES; attempt++) {
		xpv_xs_txn txn;
		int err = xpv_xs_txn_start(sf->dev, &txn);

		if (err)
			return err;
		err = xpv_xs_write_u32(sf->dev, txn, "ring-ref", sf->ring_ref);
		if (!err)
			err = xpv_xs_write_u32(sf->dev, txn, "event-channel",
					       sf->port);
		if (err) {
			xpv_xs_txn_end(sf->dev, txn, XPV_TRUE);
			return err;
		}
		err = xpv_xs_txn_end(sf->dev, txn, XPV_FALSE);
		if (err != -XPV_EAGAIN)
			return err;
	}
	return -XPV_EAGAIN;
}

/* Undo ring_setup. A ring page the backend still maps is quarantined
 * (CVE-2022-23040) and counts as a backend protocol violation. */
static xpv_bool ring_teardown(struct scsifront *sf)
{
	xpv_bool clean = XPV_TRUE;

	if (sf->port_open)
		xpv_evtchn_close(sf->dev, sf->port);
	sf->port_open = XPV_FALSE;
	if (sf->ring_granted && xpv_grant_end(sf->dev, sf->ring_ref) != 0) {
		clean = XPV_FALSE;
		xpv_log(sf->dev, XPV_LOG_ERR,
			"backend still maps the ring page: quarantined");
		xpv_page_quarantine(sf->dev, sf->ring_page);
		sf->ring_page = XPV_NULL;
	}
	sf->ring_granted = XPV_FALSE;
	if (sf->ring_page)
		xpv_page_free(sf->dev, sf->ring_page);
	sf->ring_page = XPV_NULL;
	return clean;
}

static int ring_setup(struct scsifront *sf)
{
	int err = xpv_page_alloc(sf->dev, &sf->ring_page);

	if (err)
		return err;
	xpv_front_ring_init(&sf->ring, sf->dev, xpv_page_addr(sf->ring_page),
			    sizeof(union xpv_vscsiif_entry),
			    sizeof(struct xpv_vscsiif_request),
			    sizeof(struct xpv_vscsiif_response));
	err = xpv_grant_access(sf->dev, sf->ring_page, XPV_GRANT_RW,
			       &sf->ring_ref);
	if (err)
		goto fail;
	sf->ring_granted = XPV_TRUE;
	err = xpv_evtchn_alloc(sf->dev, &sf->port);
	if (err)
		goto fail;
	sf->port_open = XPV_TRUE;
	err = xpv_evtchn_bind(sf->dev, sf->port, sf_interrupt, sf);
	if (!err)
		err = publish_ring(sf);
	if (!err)
		return 0;
fail:
	ring_teardown(sf);
	return err;
}

/* ---- LUN hotplug ----------------------------------------------------------- */

enum lun_op { LUN_ADD, LUN_DEL, LUN_READD };

static struct sf_lun *lun_find(struct scsifront *sf, xpv_u32 devno)
{
	for (xpv_u32 i = 0; i < SCSIFRONT_MAX_LUNS; i++)
		if (sf->lun[i].present && sf->lun[i].devno == devno)
			return &sf->lun[i];
	return XPV_NULL;
}

static struct sf_lun *lun_find_addr(struct scsifront *sf, xpv_u16 channel,
				    xpv_u16 id, xpv_u16 lun)
{
	for (xpv_u32 i = 0; i < SCSIFRONT_MAX_LUNS; i++) {
		struct sf_lun *l = &sf->lun[i];

		if (l->present && l->channel == channel && l->id == id &&
		    l->lun == lun)
			return l;
	}
	return XPV_NULL;
}

static struct sf_lun *lun_free_entry(struct scsifront *sf)
{
	for (xpv_u32 i = 0; i < SCSIFRONT_MAX_LUNS; i++)
		if (!sf->lun[i].present)
			return &sf->lun[i];
	return XPV_NULL;
}

static void write_dev_state(struct scsifront *sf, xpv_u32 devno,
			    enum xpv_xenbus_state state)
{
	char key[48];

	dev_key(key, sizeof(key), devno, "state");
	if (xpv_xs_write_u32(sf->dev, XPV_XS_NO_TXN, key, state) != 0)
		xpv_log(sf->dev, XPV_LOG_WARN, "cannot write %s", key);
}

static void lun_add(struct scsifront *sf, xpv_u32 devno)
{
	char key[48], vdev[32];
	struct sf_lun *l;
	xpv_u16 channel, id, lun;

	dev_key(key, sizeof(key), devno, "v-dev");
	if (xpv_xs_read(sf->dev, XPV_XS_NO_TXN, XPV_XS_OTHER, key, vdev,
			sizeof(vdev)) != 0 ||
	    parse_vdev(vdev, &channel, &id, &lun) != 0) {
		xpv_log(sf->dev, XPV_LOG_WARN, "dev-%u: bad v-dev, skipped",
			(unsigned)devno);
		return;
	}
	l = lun_free_entry(sf);
	if (!l || lun_find_addr(sf, channel, id, lun) ||
	    sf->up.lun_add(sf->up.arg, channel, id, lun) != 0) {
		write_dev_state(sf, devno, XPV_XENBUS_CLOSED);
		return;
	}
	l->present = XPV_TRUE;
	l->devno = devno;
	l->channel = channel;
	l->id = id;
	l->lun = lun;
	write_dev_state(sf, devno, XPV_XENBUS_CONNECTED);
}

static void lun_del(struct scsifront *sf, struct sf_lun *l)
{
	l->present = XPV_FALSE;
	sf->up.lun_remove(sf->up.arg, l->channel, l->id, l->lun);
	write_dev_state(sf, l->devno, XPV_XENBUS_CLOSED);
}

static void lun_one(struct scsifront *sf, enum lun_op op, xpv_u32 devno)
{
	char key[48];
	xpv_u32 be;
	struct sf_lun *l = lun_find(sf, devno);

	dev_key(key, sizeof(key), devno, "state");
	if (xpv_xs_read_u32(sf->dev, XPV_XS_NO_TXN, XPV_XS_OTHER, key,
			    XPV_XENBUS_INITIALISING, XPV_XENBUS_RECONFIGURED,
			    &be) != 0)
		return;
	if (op == LUN_ADD && be == XPV_XENBUS_INITIALISED && !l)
		lun_add(sf, devno);
	else if (op == LUN_READD && be == XPV_XENBUS_CONNECTED && l)
		write_dev_state(sf, devno, XPV_XENBUS_CONNECTED);
	else if (op == LUN_READD && be == XPV_XENBUS_CONNECTED)
		lun_add(sf, devno); /* new to us: the backend says it is live */
	else if (op == LUN_DEL && be == XPV_XENBUS_CLOSING && l)
		lun_del(sf, l);
}

/* One pass over the backend's vscsi-devs, as scsifront_do_lun_hotplug. */
static void lun_pass(struct scsifront *sf, enum lun_op op)
{
	char names[1024]; /* ~140 dev-N names: the 64 LUNs we track fit */
	xpv_u32 count, devno;
	const char *p = names;
	int err;

	if (sf->error)
		return; /* hotplug is ignored in the error state */
	err = xpv_xs_directory(sf->dev, XPV_XS_NO_TXN, XPV_XS_OTHER, DEVS_DIR,
			       names, sizeof(names), &count);
	if (err) {
		if (err != -XPV_ENOENT)
			xpv_log(sf->dev, XPV_LOG_WARN,
				"cannot list " DEVS_DIR ": %d", err);
		return;
	}
	for (xpv_u32 i = 0; i < count; i++) {
		if (parse_devno(p, &devno) == 0)
			lun_one(sf, op, devno);
		p += xpv_strlen(p) + 1;
	}
}

static void luns_forget(struct scsifront *sf)
{
	for (xpv_u32 i = 0; i < SCSIFRONT_MAX_LUNS; i++) {
		struct sf_lun *l = &sf->lun[i];

		if (!l->present)
			continue;
		l->present = XPV_FALSE;
		sf->up.lun_remove(sf->up.arg, l->channel, l->id, l->lun);
	}
}

/* ---- backend state changes --------------------------------------------------- */

/* feature-sg-grant: absent or malformed means none; a value is clamped to
 * [26, 128] (SG_ALL), as Linux scsifront_read_backend_params does. */
static xpv_u32 read_max_segs(struct scsifront *sf)
{
	xpv_u32 v;
	int err = xpv_xs_read_u32(sf->dev, XPV_XS_NO_TXN, XPV_XS_OTHER,
				  "feature-sg-grant", 0, 0xffffffffu, &v);

	if (err) {
		if (err != -XPV_ENOENT)
			xpv_log(sf->dev, XPV_LOG_WARN,
				"malformed feature-sg-grant ignored");
		return XPV_VSCSIIF_SG_TABLESIZE;
	}
	return XPV_MAX((xpv_u32)XPV_VSCSIIF_SG_TABLESIZE,
		       XPV_MIN(v, (xpv_u32)SCSIFRONT_SG_ALL));
}

static void be_connected(struct scsifront *sf)
{
	xpv_u32 segs = read_max_segs(sf);
	xpv_bool resumed = sf->paused;

	if (sf->closing || sf->state != XPV_XENBUS_INITIALISED)
		return; /* repeated Connected: parameters re-read only */
	if (!sf->bounce_ready) {
		sf->max_segs = segs;
		if (sf_bounce_alloc(sf) != 0) {
			xpv_xenbus_fatal(sf->dev, -XPV_ENOMEM,
					 "allocating bounce pages");
			return;
		}
	} else if (segs != sf->max_segs) {
		xpv_log(sf->dev, XPV_LOG_WARN,
			"feature-sg-grant changed to %u; keeping %u",
			(unsigned)segs, (unsigned)sf->max_segs);
	}
	/* Open for commands before the LUN pass: a kernel upper layer scans
	 * a LUN (INQUIRY) from inside lun_add. */
	xpv_lock_acquire(sf->lock);
	sf->connected = XPV_TRUE;
	sf->paused = XPV_FALSE;
	xpv_lock_release(sf->lock);
	lun_pass(sf, resumed ? LUN_READD : LUN_ADD);
	set_state(sf, XPV_XENBUS_CONNECTED);
	emit(sf, resumed ? SCSIFRONT_EV_RESUMED : SCSIFRONT_EV_CONNECTED);
}

/* Both ends let go: fail what is left, drop LUNs and the ring, Closed.
 * Process context only (xenbus callbacks, the drain work). */
static void sf_drained(struct scsifront *sf)
{
	struct sf_batch b = { 0 };

	xpv_lock_acquire(sf->lock);
	if (sf->closed) {
		xpv_lock_release(sf->lock);
		return;
	}
	sf->draining = XPV_FALSE;
	sf->connected = XPV_FALSE;
	sf->closed = XPV_TRUE;
	sf_fail_all(sf, XPV_VSCSIIF_RSLT_HOST_NO_CONNECT, &b);
	xpv_lock_release(sf->lock);
	xpv_timer_cancel(sf->drain_timer);
	sf_batch_run(sf, &b);
	luns_forget(sf);
	ring_teardown(sf);
	set_state(sf, XPV_XENBUS_CLOSED);
	emit(sf, SCSIFRONT_EV_CLOSED);
}

static void drain_work_run(void *arg)
{
	sf_drained(arg);
}

void sf_drain_finish_locked(struct scsifront *sf)
{
	XPV_ASSERT(sf->draining);
	sf->draining = XPV_FALSE;
	xpv_work_queue(sf->drain_work);
}

/* Timer (atomic) context. Checked under the lock, so a drain that ended
 * or a remove that began meanwhile wins. */
static void drain_timeout(void *arg)
{
	struct scsifront *sf = arg;

	xpv_lock_acquire(sf->lock);
	if (sf->draining) {
		xpv_log(sf->dev, XPV_LOG_WARN, "%u commands did not drain",
			(unsigned)sf->in_flight);
		sf_drain_finish_locked(sf);
	}
	xpv_lock_release(sf->lock);
}

/* Backend Closing, or Closed without Closing (handled the same, as every
 * Linux frontend does): wait for in-flight commands while the backend
 * still serves them, then disconnect. */
static void be_closing(struct scsifront *sf, enum xpv_xenbus_state be)
{
	xpv_bool now;

	if (sf->closed)
		return;
	xpv_lock_acquire(sf->lock);
	sf->closing = XPV_TRUE;
	now = be == XPV_XENBUS_CLOSED || sf->in_flight == 0 || sf->error;
	sf->draining = !now;
	xpv_lock_release(sf->lock);
	if (now)
		sf_drained(sf);
	else
		xpv_timer_arm(sf->drain_timer, SCSIFRONT_DRAIN_TIMEOUT_NS);
}

/* Unknown: an unreadable node is ignored (the device may be going away);
 * a number outside 0..8 is a protocol violation. */
static void be_unknown(struct scsifront *sf)
{
	enum xpv_xenbus_state st;
	int err = xpv_xs_read_state(sf->dev, XPV_XS_OTHER, &st);

	if (err == -XPV_ERANGE || err == -XPV_EINVAL)
		xpv_xenbus_fatal(sf->dev, -XPV_EPROTO,
				 "backend wrote an unknown state");
}

void scsifront_otherend_changed(struct scsifront *sf,
				enum xpv_xenbus_state be)
{
	switch (be) {
	case XPV_XENBUS_UNKNOWN:
		be_unknown(sf);
		break;
	case XPV_XENBUS_INITIALISING:
	case XPV_XENBUS_INITWAIT:
	case XPV_XENBUS_INITIALISED:
		break; /* we are Initialised already, or still resuming */
	case XPV_XENBUS_CONNECTED:
		be_connected(sf);
		break;
	case XPV_XENBUS_CLOSING:
	case XPV_XENBUS_CLOSED:
		be_closing(sf, be);
		break;
	case XPV_XENBUS_RECONFIGURING:
		if (sf->state != XPV_XENBUS_CONNECTED || sf->closing)
			break; /* no change was announced to us */
		lun_pass(sf, LUN_DEL);
		set_state(sf, XPV_XENBUS_RECONFIGURING);
		break;
	case XPV_XENBUS_RECONFIGURED:
		if (sf->state != XPV_XENBUS_RECONFIGURING || sf->closing)
			break;
		lun_pass(sf, LUN_ADD);
		set_state(sf, XPV_XENBUS_CONNECTED);
		break;
	}
}

/* ---- lifecycle --------------------------------------------------------------- */

static void sf_free(struct scsifront *sf)
{
	sf_slots_free(sf);
	if (sf->drain_timer)
		xpv_timer_free(sf->dev, sf->drain_timer);
	if (sf->drain_work)
		xpv_work_free(sf->dev, sf->drain_work);
	if (sf->refill_work)
		xpv_work_free(sf->dev, sf->refill_work);
	if (sf->lock)
		xpv_lock_free(sf->dev, sf->lock);
	xpv_mem_free(sf->dev, sf, sizeof(*sf));
}

int scsifront_probe(struct xpv_dev *dev, const struct scsifront_upper *up,
		    struct scsifront **out)
{
	struct scsifront *sf;
	int err = xpv_mem_alloc(dev, sizeof(*sf), (void **)&sf);

	if (err)
		return err;
	XPV_ASSERT(up->lun_add && up->lun_remove && up->done);
	sf->dev = dev;
	sf->up = *up;
	sf->max_segs = XPV_VSCSIIF_SG_TABLESIZE;
	err = xpv_lock_alloc(dev, &sf->lock);
	if (!err)
		err = xpv_timer_alloc(dev, drain_timeout, sf, &sf->drain_timer);
	if (!err)
		err = xpv_work_alloc(dev, drain_work_run, sf, &sf->drain_work);
	if (!err)
		err = xpv_work_alloc(dev, sf_refill, sf, &sf->refill_work);
	if (!err)
		err = sf_slots_init(sf);
	if (!err)
		err = ring_setup(sf);
	if (err) {
		xpv_xenbus_fatal(dev, err, "setting up the vscsi ring");
		sf_free(sf);
		return err;
	}
	/* Initialised at once, whatever the backend's state (§3.4 step 2). */
	set_state(sf, XPV_XENBUS_INITIALISED);
	*out = sf;
	return 0;
}

int scsifront_suspend(struct scsifront *sf)
{
	xpv_lock_acquire(sf->lock);
	sf->paused = XPV_TRUE;
	xpv_lock_release(sf->lock);
	return 0;
}

/* After a restore the old backend is gone: commands in flight complete
 * with host RESET, a new ring is built, LUNs come back at Connected. */
int scsifront_resume(struct scsifront *sf)
{
	struct sf_batch b = { 0 };
	xpv_bool clean;
	int err;

	xpv_lock_acquire(sf->lock);
	sf->paused = XPV_TRUE;
	sf->connected = XPV_FALSE;
	sf_fail_all(sf, XPV_VSCSIIF_RSLT_HOST_RESET, &b);
	sf_forget_stale(sf); /* the old backend cannot answer any more */
	xpv_lock_release(sf->lock);
	sf_batch_run(sf, &b);
	clean = ring_teardown(sf);
	if (!clean) {
		struct sf_batch e = { 0 };

		xpv_lock_acquire(sf->lock);
		sf_set_error(sf, "old backend kept the ring mapped", &e);
		xpv_lock_release(sf->lock);
		sf_batch_run(sf, &e);
	}
	err = ring_setup(sf);
	if (err) {
		xpv_xenbus_fatal(sf->dev, err, "rebuilding the vscsi ring");
		return err;
	}
	set_state(sf, XPV_XENBUS_INITIALISED);
	return 0;
}

void scsifront_close(struct scsifront *sf)
{
	xpv_lock_acquire(sf->lock);
	sf->closing = XPV_TRUE;
	xpv_lock_release(sf->lock);
	if (!sf->closed)
		set_state(sf, XPV_XENBUS_CLOSING);
}

/* Disorderly or final: the device is going away now. */
void scsifront_remove(struct scsifront *sf)
{
	struct sf_batch b = { 0 };

	xpv_lock_acquire(sf->lock);
	sf->closing = XPV_TRUE;
	sf->connected = XPV_FALSE;
	sf->draining = XPV_FALSE;
	sf_fail_all(sf, XPV_VSCSIIF_RSLT_HOST_NO_CONNECT, &b);
	xpv_lock_release(sf->lock);
	xpv_timer_cancel(sf->drain_timer);
	/* Waits for a disconnect already running; drops a queued one (with
	 * draining off, nothing queues it again). */
	xpv_work_free(sf->dev, sf->drain_work);
	sf->drain_work = XPV_NULL;
	xpv_work_free(sf->dev, sf->refill_work); /* before pages go */
	sf->refill_work = XPV_NULL;
	sf_batch_run(sf, &b);
	luns_forget(sf);
	ring_teardown(sf);
	sf_free(sf);
}
