// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * scsifront on Linux: a SCSI host adapter (struct scsi_host_template) around
 * the portable PVSCSI core (drivers/scsifront), put on the xenbus as device
 * type "vscsi" through the xpv_driver adapter (driver.c).
 *
 * One Scsi_Host per xenbus device; its hostdata is struct xpv_scsi_host.
 * A scsi_cmnd's private area holds the core's struct scsifront_cmd and the
 * buffer list it points to, so the I/O path allocates nothing.
 *
 * Calling contexts of the core's upper callbacks on Linux: lun_add and
 * lun_remove come from the xenwatch thread (may sleep); done comes from the
 * event-channel handler (hard irq, os_linux.c), from queuecommand and from
 * process context; tmr_done also from the abort timer (softirq); event from
 * any of these. So done, tmr_done and event never sleep.
 *
 * To extend: anything the core does not offer belongs in scsifront.h
 * first, not here.
 */
#include <linux/build_bug.h>
#include <linux/completion.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <scsi/scsi.h>
#include <scsi/scsi_cmnd.h>
#include <scsi/scsi_device.h>
#include <scsi/scsi_host.h>

#include "../../scsifront/scsifront.h"
#include "xpv_linux.h"
#include "xpv_linux_priv.h"

/* sg_virt() below needs every data page in the kernel's direct map. */
#ifdef CONFIG_HIGHMEM
#error "scsi_glue.c hands sg_virt() addresses to the core: no HIGHMEM"
#endif

/* The core's host bytes are Linux's DID_* values: passed through as is. */
static_assert(XPV_VSCSIIF_RSLT_HOST_OK == DID_OK);
static_assert(XPV_VSCSIIF_RSLT_HOST_NO_CONNECT == DID_NO_CONNECT);
static_assert(XPV_VSCSIIF_RSLT_HOST_ABORT == DID_ABORT);
static_assert(XPV_VSCSIIF_RSLT_HOST_ERROR == DID_ERROR);
static_assert(XPV_VSCSIIF_RSLT_HOST_RESET == DID_RESET);
static_assert(XPV_VSCSIIF_RSLT_HOST_MAX == DID_TRANSPORT_MARGINAL);
static_assert(XPV_VSCSIIF_SENSE_BUFFERSIZE <= SCSI_SENSE_BUFFERSIZE);

/* Slightly longer than the core's own abort/reset timeout, which always
 * answers first; ours only guards against a core that never answers. */
#define XPV_SCSI_TMR_WAIT \
	((unsigned long)(SCSIFRONT_TMR_TIMEOUT_NS / NSEC_PER_SEC + 1) * HZ)

/* Before the first Connected the core accepts 26 pages per command (no
 * feature-sg-grant); lun_add raises the host's limit to the negotiated one
 * before the LUN's queue is created. */
#define XPV_SCSI_MAX_SECTORS_MIN \
	(XPV_VSCSIIF_SG_TABLESIZE * XPV_PAGE_SIZE / SECTOR_SIZE)

struct xpv_scsi_host {
	struct Scsi_Host *shost;
	struct scsifront *sf;
	/* Held by done across its last touch of a command (scsi_done
	 * included) and by the error handlers' ownership checks, so a
	 * handler that sees a command out of the core knows done is over. */
	spinlock_t done_lock;
};

/* The scsi_cmnd's private area (template cmd_size). */
struct xpv_scsi_cmd {
	struct scsifront_cmd sf;
	/* The core holds sf: queued and its done has not run yet. Kept
	 * across the request's reuse: init_cmd_priv is set, so the midlayer
	 * does not clear the area before each command. */
	bool in_core;
	struct scsifront_buf bufs[SCSIFRONT_SG_ALL];
};

/* An abort or reset in flight: one reference for the waiting handler and
 * one for the core, which answers each accepted request once (tmr_done),
 * so a handler that gave up never leaves the core a dangling cookie. */
struct xpv_scsi_tmr {
	struct completion done;
	refcount_t refs;
	int result;
};

/* ---- upper callbacks from the core -------------------------------------- */

static void xpv_scsi_tmr_put(struct xpv_scsi_tmr *t)
{
	if (refcount_dec_and_test(&t->refs))
		kfree(t);
}

/* The result of a command the core returns. For reads the residual counts
 * what the core did not deliver (everything, for a failed command), so
 * the midlayer (sd_completed_bytes) never takes undelivered bytes as read. */
static void xpv_scsi_set_result(struct scsi_cmnd *sc,
				const struct scsifront_cmd *sfc)
{
	const struct scsifront_result *r = &sfc->res;
	u32 resid = r->residual;

	if (sfc->dir == XPV_VSCSIIF_DIR_FROM_DEVICE)
		resid = sfc->data_len - r->delivered;
	sc->result = (r->host << 16) | r->status;
	memcpy(sc->sense_buffer, r->sense,
	       min_t(u32, r->sense_len, SCSI_SENSE_BUFFERSIZE));
	scsi_set_resid(sc, resid);
}

static void xpv_scsi_done(void *arg, struct scsifront_cmd *sfc)
{
	struct xpv_scsi_host *h = arg;
	struct xpv_scsi_cmd *c = container_of(sfc, struct xpv_scsi_cmd, sf);
	struct scsi_cmnd *sc = sfc->upper;
	unsigned long flags;

	spin_lock_irqsave(&h->done_lock, flags);
	xpv_scsi_set_result(sc, sfc);
	c->in_core = false;
	scsi_done(sc);
	spin_unlock_irqrestore(&h->done_lock, flags);
}

static void xpv_scsi_tmr_done(void *arg, void *cookie, int result)
{
	struct xpv_scsi_tmr *t = cookie;

	t->result = result;
	complete(&t->done);
	xpv_scsi_tmr_put(t);
}

/*
 * xenwatch context. The host's limit is raised to what the backend
 * negotiated (fixed from the first Connected on) before the device and its
 * queue are created, as Linux scsifront does at Connected: the core packs
 * data into whole bounce pages, so the limit is exactly its largest
 * transfer, never more.
 */
static int xpv_scsi_lun_add(void *arg, xpv_u16 channel, xpv_u16 id,
			    xpv_u16 lun)
{
	struct xpv_scsi_host *h = arg;

	h->shost->max_sectors = scsifront_max_transfer(h->sf) / SECTOR_SIZE;
	if (scsi_add_device(h->shost, channel, id, lun))
		return -XPV_ENODEV;
	return 0;
}

/* xenwatch context. The device may already be gone (scsi_remove_host in
 * remove, or removed through sysfs). */
static void xpv_scsi_lun_remove(void *arg, xpv_u16 channel, xpv_u16 id,
				xpv_u16 lun)
{
	struct xpv_scsi_host *h = arg;
	struct scsi_device *sdev;

	sdev = scsi_device_lookup(h->shost, channel, id, lun);
	if (!sdev)
		return;
	scsi_remove_device(sdev);
	scsi_device_put(sdev);
}

/*
 * Any context: only logs. The host is not blocked on EV_ERROR: the core
 * fails every new command at once (-XPV_EIO, completed with DID_ERROR), so
 * I/O fails fast instead of hanging until the device is removed.
 */
static void xpv_scsi_event(void *arg, enum scsifront_event ev)
{
	struct xpv_scsi_host *h = arg;

	switch (ev) {
	case SCSIFRONT_EV_CONNECTED:
		shost_printk(KERN_INFO, h->shost,
			     "connected, %u KiB per command\n",
			     scsifront_max_transfer(h->sf) / 1024);
		break;
	case SCSIFRONT_EV_RESUMED:
		shost_printk(KERN_INFO, h->shost, "reconnected\n");
		break;
	case SCSIFRONT_EV_ERROR:
		shost_printk(KERN_ERR, h->shost,
			     "protocol error: I/O fails until removal\n");
		break;
	case SCSIFRONT_EV_CLOSED:
		shost_printk(KERN_INFO, h->shost, "disconnected\n");
		break;
	}
}

/* ---- queuecommand ------------------------------------------------------- */

static bool xpv_scsi_dir(struct scsi_cmnd *sc, xpv_u8 *dir)
{
	if (scsi_bufflen(sc) == 0) {
		*dir = XPV_VSCSIIF_DIR_NONE;
		return true;
	}
	switch (sc->sc_data_direction) {
	case DMA_TO_DEVICE:
		*dir = XPV_VSCSIIF_DIR_TO_DEVICE;
		return true;
	case DMA_FROM_DEVICE:
		*dir = XPV_VSCSIIF_DIR_FROM_DEVICE;
		return true;
	default:
		return false; /* bidirectional, or DMA_NONE with data */
	}
}

/*
 * Describe sc to the core; DID_OK, or the host byte to fail it with. The
 * data pages come from the block layer, and without HIGHMEM (see the top)
 * each is in the direct map, so sg_virt() is a kernel address the core may
 * copy to or from in any context until done. The core copies through its
 * own bounce pages, so segment sizes and alignment do not matter to it.
 */
static int xpv_scsi_build(struct xpv_scsi_cmd *c, struct scsi_cmnd *sc)
{
	const struct scsi_device *sdev = sc->device;
	unsigned int i, n = scsi_sg_count(sc);
	struct scatterlist *sg;
	xpv_u8 dir;

	if (sdev->channel > U16_MAX || sdev->id >= SCSIFRONT_MAX_ID ||
	    sdev->lun >= SCSIFRONT_MAX_LUN)
		return DID_BAD_TARGET;
	if (!xpv_scsi_dir(sc, &dir) || n > ARRAY_SIZE(c->bufs) ||
	    sc->cmd_len > sizeof(c->sf.cdb))
		return DID_ERROR;
	c->sf = (struct scsifront_cmd){
		.channel = (xpv_u16)sdev->channel,
		.id = (xpv_u16)sdev->id,
		.lun = (xpv_u16)sdev->lun,
		.cdb_len = (xpv_u8)sc->cmd_len,
		.dir = dir,
		.bufs = c->bufs,
		.nr_bufs = n,
		.data_len = scsi_bufflen(sc),
		.upper = sc,
	};
	memcpy(c->sf.cdb, sc->cmnd, sc->cmd_len);
	scsi_for_each_sg(sc, sg, n, i) {
		c->bufs[i].addr = sg_virt(sg);
		c->bufs[i].len = sg->length;
	}
	return DID_OK;
}

static int xpv_scsi_fail(struct scsi_cmnd *sc, int host)
{
	sc->result = host << 16;
	scsi_done(sc);
	return 0;
}

static int xpv_scsi_queuecommand(struct Scsi_Host *shost,
				 struct scsi_cmnd *sc)
{
	struct xpv_scsi_host *h = shost_priv(shost);
	struct xpv_scsi_cmd *c = scsi_cmd_priv(sc);
	int host, err;

	/* The core still holds this private area for a command the error
	 * handler gave up on: queueing it again would give the core one
	 * command twice. */
	if (unlikely(READ_ONCE(c->in_core))) {
		dev_warn_ratelimited(&shost->shost_gendev,
				     "request still held by the core\n");
		return xpv_scsi_fail(sc, DID_ERROR);
	}
	host = xpv_scsi_build(c, sc);
	if (host != DID_OK)
		return xpv_scsi_fail(sc, host);
	/* Before queueing: done may run before scsifront_queue returns. */
	WRITE_ONCE(c->in_core, true);
	err = scsifront_queue(h->sf, &c->sf);
	if (!err)
		return 0;
	WRITE_ONCE(c->in_core, false);
	if (err == -XPV_EBUSY) /* ring full, not connected, or suspended */
		return SCSI_MLQUEUE_HOST_BUSY;
	/* -XPV_EIO: error state or closing; -XPV_EINVAL: malformed. */
	return xpv_scsi_fail(sc, DID_ERROR);
}

/* Unlike the default, leaves the area alone before each command, which
 * in_core needs. The area starts zeroed (blk-mq allocates it so). */
static int xpv_scsi_init_cmd_priv(struct Scsi_Host *shost,
				  struct scsi_cmnd *sc)
{
	struct xpv_scsi_cmd *c = scsi_cmd_priv(sc);

	c->in_core = false;
	return 0;
}

/* ---- error handling ----------------------------------------------------- */

/* Send an abort of sc's command (abort) or a reset of sc's LUN and wait
 * for the answer: 0, or the core's error (-XPV_ENOENT: sc not in flight). */
static int xpv_scsi_tmr(struct xpv_scsi_host *h, struct scsi_cmnd *sc,
			bool abort)
{
	const struct scsi_device *sdev = sc->device;
	struct xpv_scsi_cmd *c = scsi_cmd_priv(sc);
	struct xpv_scsi_tmr *t = kzalloc(sizeof(*t), GFP_NOIO);
	int err;

	if (!t)
		return -XPV_ENOMEM;
	init_completion(&t->done);
	refcount_set(&t->refs, 2);
	if (abort)
		err = scsifront_abort(h->sf, &c->sf, t);
	else if (sdev->channel > U16_MAX || sdev->id >= SCSIFRONT_MAX_ID ||
		 sdev->lun >= SCSIFRONT_MAX_LUN)
		err = -XPV_EINVAL;
	else
		err = scsifront_reset(h->sf, (xpv_u16)sdev->channel,
				      (xpv_u16)sdev->id, (xpv_u16)sdev->lun,
				      t);
	if (err) {
		kfree(t); /* never accepted: no tmr_done will come */
		return err;
	}
	if (wait_for_completion_timeout(&t->done, XPV_SCSI_TMR_WAIT))
		err = t->result;
	else
		err = -XPV_ETIMEDOUT;
	xpv_scsi_tmr_put(t);
	return err;
}

static bool xpv_scsi_in_core(struct xpv_scsi_host *h, struct xpv_scsi_cmd *c)
{
	unsigned long flags;
	bool in;

	spin_lock_irqsave(&h->done_lock, flags);
	in = c->in_core;
	spin_unlock_irqrestore(&h->done_lock, flags);
	return in;
}

struct xpv_scsi_lun_busy {
	struct xpv_scsi_host *h;
	const struct scsi_device *sdev;
	bool busy;
};

static bool xpv_scsi_lun_busy_fn(struct scsi_cmnd *sc, void *data)
{
	struct xpv_scsi_lun_busy *b = data;

	if (sc->device == b->sdev && xpv_scsi_in_core(b->h, scsi_cmd_priv(sc)))
		b->busy = true;
	return !b->busy; /* stop at the first */
}

/*
 * SUCCESS hands the commands back to the midlayer, which may then reuse
 * their memory at once; so SUCCESS needs both the backend's success and
 * the commands out of the core (done has run), else a late response would
 * be copied into reused buffers. FAILED escalates (device reset, then the
 * device is taken offline).
 */
static int xpv_scsi_eh_abort(struct scsi_cmnd *sc)
{
	struct xpv_scsi_host *h = shost_priv(sc->device->host);
	int err = xpv_scsi_tmr(h, sc, true);

	/* -XPV_ENOENT: the command was no longer in flight. */
	if (err && err != -XPV_ENOENT)
		return FAILED;
	return xpv_scsi_in_core(h, scsi_cmd_priv(sc)) ? FAILED : SUCCESS;
}

static int xpv_scsi_eh_device_reset(struct scsi_cmnd *sc)
{
	struct Scsi_Host *shost = sc->device->host;
	struct xpv_scsi_lun_busy b = {
		.h = shost_priv(shost),
		.sdev = sc->device,
	};

	if (xpv_scsi_tmr(b.h, sc, false))
		return FAILED;
	scsi_host_busy_iter(shost, xpv_scsi_lun_busy_fn, &b);
	return b.busy ? FAILED : SUCCESS;
}

struct xpv_scsi_host_busy {
	struct xpv_scsi_host *h;
	bool busy;
};

static bool xpv_scsi_host_busy_fn(struct scsi_cmnd *sc, void *data)
{
	struct xpv_scsi_host_busy *b = data;

	if (xpv_scsi_in_core(b->h, scsi_cmd_priv(sc)))
		b->busy = true;
	return !b->busy;
}

/* The core gives up on everything in flight (its done has run for each
 * command when it returns), so no late response can reach a buffer. */
static int xpv_scsi_eh_host_reset(struct scsi_cmnd *sc)
{
	struct Scsi_Host *shost = sc->device->host;
	struct xpv_scsi_host_busy b = { .h = shost_priv(shost) };

	scsifront_host_reset(b.h->sf);
	scsi_host_busy_iter(shost, xpv_scsi_host_busy_fn, &b);
	return b.busy ? FAILED : SUCCESS;
}

/*
 * Limits of protocol.md §3.5. sg_tablesize counts the block layer's
 * segments, which the core packs into its own pages, so any count up to
 * SG_ALL works; the byte limit is max_sectors (see lun_add).
 */
static struct scsi_host_template xpv_scsi_template = {
	.module = THIS_MODULE,
	.name = "xpv scsifront",
	.proc_name = "xpv_scsifront",
	.queuecommand = xpv_scsi_queuecommand,
	.init_cmd_priv = xpv_scsi_init_cmd_priv,
	.eh_abort_handler = xpv_scsi_eh_abort,
	.eh_device_reset_handler = xpv_scsi_eh_device_reset,
	.eh_host_reset_handler = xpv_scsi_eh_host_reset,
	.cmd_size = sizeof(struct xpv_scsi_cmd),
	.can_queue = SCSIFRONT_CAN_QUEUE,
	.this_id = -1,
	.sg_tablesize = SCSIFRONT_SG_ALL,
	.max_sectors = XPV_SCSI_MAX_SECTORS_MIN,
	.cmd_per_lun = 10,
};

/* ---- xenbus driver (through driver.c's adapter) ------------------------- */

static void xpv_scsi_host_limits(struct Scsi_Host *shost)
{
	shost->max_id = SCSIFRONT_MAX_ID;
	shost->max_lun = SCSIFRONT_MAX_LUN;
	shost->max_channel = 0;
	shost->max_cmd_len = XPV_VSCSIIF_MAX_COMMAND_SIZE;
}

/* The core first, so h->sf is set before the host can see a command. */
static int xpv_scsi_probe(struct xpv_dev *dev, void **priv)
{
	struct scsifront_upper up = {
		.lun_add = xpv_scsi_lun_add,
		.lun_remove = xpv_scsi_lun_remove,
		.done = xpv_scsi_done,
		.tmr_done = xpv_scsi_tmr_done,
		.event = xpv_scsi_event,
	};
	struct Scsi_Host *shost;
	struct xpv_scsi_host *h;
	int err;

	shost = scsi_host_alloc(&xpv_scsi_template, sizeof(*h));
	if (!shost)
		return -XPV_ENOMEM;
	xpv_scsi_host_limits(shost);
	h = shost_priv(shost);
	h->shost = shost;
	spin_lock_init(&h->done_lock);
	up.arg = h;
	err = scsifront_probe(dev, &up, &h->sf);
	if (err)
		goto put;
	err = scsi_add_host(shost, &dev->xbdev->dev);
	if (err) {
		xpv_xenbus_fatal(dev, err, "adding the SCSI host");
		scsifront_remove(h->sf);
		goto put;
	}
	*priv = h;
	return 0;
put:
	scsi_host_put(shost);
	return err;
}

static void xpv_scsi_otherend_changed(void *priv, enum xpv_xenbus_state st)
{
	struct xpv_scsi_host *h = priv;

	scsifront_otherend_changed(h->sf, st);
}

static int xpv_scsi_suspend(void *priv)
{
	struct xpv_scsi_host *h = priv;

	return scsifront_suspend(h->sf);
}

static int xpv_scsi_resume(void *priv)
{
	struct xpv_scsi_host *h = priv;

	return scsifront_resume(h->sf);
}

/*
 * The SCSI host goes first, while the core still serves its commands
 * (sd's final SYNCHRONIZE CACHE); the core's own lun_remove calls then
 * find nothing. scsi_host_put frees h.
 */
static void xpv_scsi_remove(void *priv)
{
	struct xpv_scsi_host *h = priv;
	struct Scsi_Host *shost = h->shost;

	scsi_remove_host(shost);
	scsifront_remove(h->sf);
	scsi_host_put(shost);
}

const struct xpv_driver xpv_scsifront_driver = {
	.type = "vscsi",
	.probe = xpv_scsi_probe,
	.otherend_changed = xpv_scsi_otherend_changed,
	.suspend = xpv_scsi_suspend,
	.resume = xpv_scsi_resume,
	.remove = xpv_scsi_remove,
};
