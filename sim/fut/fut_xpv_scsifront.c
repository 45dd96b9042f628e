/*
 * The project's reference PVSCSI frontend (drivers/scsifront) behind the
 * frontend-under-test interface: a simulated xenbus device (drivers/os/sim)
 * runs the portable core; this file only translates between fut.h and
 * scsifront.h, as the Linux SCSI glue does for the kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xpv_sim.h>
#include <scsifront/scsifront.h>

#include "fut_sim.h"

extern const struct fut_ops fut_xpv_scsifront_ops;

struct xsf_cmd {
	bool used;
	uint64_t tag;
	struct scsifront_cmd cmd;
	struct scsifront_buf buf;
};

struct xsf_tmr {
	bool used;
	uint64_t tag;
};

struct xsf {
	struct fut base;
	struct fut_callbacks cb;
	struct xpv_dev *dev;
	struct scsifront *sf; /* NULL until probed, and after remove */
	struct xsf_cmd cmds[SCSIFRONT_CAN_QUEUE];
	struct xsf_tmr tmrs[SCSIFRONT_CAN_QUEUE];
	uint64_t submitted;
	struct scsifront_stats last; /* the core's counters at remove */
	bool last_error;
	bool break_done; /* a one-shot deliberate defect happened */
};

static struct xsf *xsf_of(struct fut *f)
{
	return (struct xsf *)f;
}

/* ---- upper-layer callbacks from the core ---------------------------------- */

/* A kernel's upper layer sleeps in these (scsi_add_device scans the LUN),
 * so the core may call them only from process context. */
static int up_lun_add(void *arg, xpv_u16 channel, xpv_u16 id, xpv_u16 lun)
{
	struct xsf *x = arg;

	xpv_sim_may_sleep(x->dev, "upper-layer lun_add");
	return x->cb.lun_added ? x->cb.lun_added(x->cb.arg, channel, id, lun)
			       : 0;
}

static void up_lun_remove(void *arg, xpv_u16 channel, xpv_u16 id,
			  xpv_u16 lun)
{
	struct xsf *x = arg;

	xpv_sim_may_sleep(x->dev, "upper-layer lun_remove");
	if (x->cb.lun_removed)
		x->cb.lun_removed(x->cb.arg, channel, id, lun);
}

static void up_done(void *arg, struct scsifront_cmd *cmd)
{
	struct xsf *x = arg;
	struct xsf_cmd *c = cmd->upper;
	struct fut_scsi_result res;

	SIM_ASSERT(c >= x->cmds && c < x->cmds + SCSIFRONT_CAN_QUEUE &&
		   c->used);
	memset(&res, 0, sizeof(res));
	res.host = cmd->res.host;
	res.status = cmd->res.status;
	res.sense_len = cmd->res.sense_len;
	memcpy(res.sense, cmd->res.sense, cmd->res.sense_len);
	res.residual = cmd->res.residual;
	res.delivered = cmd->res.delivered;
	c->used = false;
	/* Deliberate defects for the oracle tests (xpv_sim.h). */
	if (!x->break_done && xpv_sim_get_break() == XPV_BREAK_NEVER_COMPLETE) {
		x->break_done = true;
		return;
	}
	x->cb.scsi_done(x->cb.arg, c->tag, &res);
	if (!x->break_done && xpv_sim_get_break() == XPV_BREAK_COMPLETE_TWICE) {
		x->break_done = true;
		x->cb.scsi_done(x->cb.arg, c->tag, &res);
	}
}

static void up_tmr_done(void *arg, void *cookie, int result)
{
	struct xsf *x = arg;
	struct xsf_tmr *t = cookie;

	SIM_ASSERT(t >= x->tmrs && t < x->tmrs + SCSIFRONT_CAN_QUEUE &&
		   t->used);
	t->used = false;
	if (x->cb.tmr_done)
		x->cb.tmr_done(x->cb.arg, t->tag, result);
}

static void up_event(void *arg, enum scsifront_event ev)
{
	struct xsf *x = arg;
	void (*fn)(void *) = NULL;

	switch (ev) {
	case SCSIFRONT_EV_CONNECTED:
		fn = x->cb.connected;
		break;
	case SCSIFRONT_EV_RESUMED:
		fn = x->cb.resumed;
		break;
	case SCSIFRONT_EV_ERROR:
		fn = x->cb.error;
		break;
	case SCSIFRONT_EV_CLOSED:
		fn = x->cb.closed;
		break;
	}
	if (fn)
		fn(x->cb.arg);
}

/* ---- the xenbus driver the simulated device probes ------------------------ */

static int drv_probe(struct xpv_dev *dev, void **priv)
{
	struct xsf *x = xpv_sim_dev_host(dev);
	const struct scsifront_upper up = {
		.lun_add = up_lun_add,
		.lun_remove = up_lun_remove,
		.done = up_done,
		.tmr_done = up_tmr_done,
		.event = up_event,
		.arg = x,
	};
	int err = scsifront_probe(dev, &up, &x->sf);

	*priv = x;
	return err;
}

static void drv_otherend_changed(void *priv, enum xpv_xenbus_state state)
{
	struct xsf *x = priv;

	scsifront_otherend_changed(x->sf, state);
}

static int drv_suspend(void *priv)
{
	return scsifront_suspend(((struct xsf *)priv)->sf);
}

static int drv_resume(void *priv)
{
	return scsifront_resume(((struct xsf *)priv)->sf);
}

static void drv_remove(void *priv)
{
	struct xsf *x = priv;

	scsifront_get_stats(x->sf, &x->last);
	x->last_error = scsifront_in_error(x->sf);
	scsifront_remove(x->sf);
	x->sf = NULL;
}

static const struct xpv_driver xsf_driver = {
	.type = "vscsi",
	.probe = drv_probe,
	.otherend_changed = drv_otherend_changed,
	.suspend = drv_suspend,
	.resume = drv_resume,
	.remove = drv_remove,
};

/* ---- fut_ops ---------------------------------------------------------------- */


static int xsf_create(const struct fut_env *env, const struct fut_callbacks *cb,
		      struct fut **out)
{
	struct xsf *x = sim_xcalloc(1, sizeof(*x));
	int err;

	SIM_ASSERT(cb->scsi_done != NULL);
	x->base.ops = &fut_xpv_scsifront_ops;
	x->cb = *cb;
	err = fut_sim_dev_open(env, x, &xsf_driver, &x->dev);
	if (err) {
		free(x);
		return err;
	}
	*out = &x->base;
	return 0;
}

static struct xsf_cmd *cmd_slot(struct xsf *x)
{
	for (unsigned i = 0; i < SCSIFRONT_CAN_QUEUE; i++)
		if (!x->cmds[i].used)
			return &x->cmds[i];
	return NULL;
}

static int xsf_submit(struct fut *f, const struct fut_scsi_cmd *fc)
{
	struct xsf *x = xsf_of(f);
	struct xsf_cmd *c;
	int err;

	if (!x->sf)
		return -EIO;
	if (fc->cdb_len > sizeof(c->cmd.cdb))
		return -EINVAL;
	c = cmd_slot(x);
	if (!c)
		return -EBUSY;
	memset(&c->cmd, 0, sizeof(c->cmd));
	c->tag = fc->tag;
	c->cmd.channel = fc->channel;
	c->cmd.id = fc->id;
	c->cmd.lun = fc->lun;
	memcpy(c->cmd.cdb, fc->cdb, fc->cdb_len);
	c->cmd.cdb_len = fc->cdb_len;
	c->cmd.dir = fc->dir == FUT_DIR_TO_DEVICE     ? XPV_VSCSIIF_DIR_TO_DEVICE
		     : fc->dir == FUT_DIR_FROM_DEVICE ? XPV_VSCSIIF_DIR_FROM_DEVICE
						      : XPV_VSCSIIF_DIR_NONE;
	c->buf.addr = fc->data;
	c->buf.len = fc->data_len;
	c->cmd.bufs = &c->buf;
	c->cmd.nr_bufs = fc->data_len ? 1 : 0;
	c->cmd.data_len = fc->data_len;
	c->cmd.upper = c;
	c->used = true;
	err = scsifront_queue(x->sf, &c->cmd);
	if (err) {
		c->used = false;
		return err; /* XPV_E* values are Linux errno values */
	}
	x->submitted++;
	return 0;
}

static struct xsf_tmr *tmr_slot(struct xsf *x, uint64_t tag)
{
	for (unsigned i = 0; i < SCSIFRONT_CAN_QUEUE; i++) {
		if (!x->tmrs[i].used) {
			x->tmrs[i].used = true;
			x->tmrs[i].tag = tag;
			return &x->tmrs[i];
		}
	}
	return NULL;
}

static int xsf_abort(struct fut *f, uint64_t cmd_tag, uint64_t tmr_tag)
{
	struct xsf *x = xsf_of(f);
	struct xsf_tmr *t;
	int err;

	if (!x->sf)
		return -EIO;
	for (unsigned i = 0; i < SCSIFRONT_CAN_QUEUE; i++) {
		struct xsf_cmd *c = &x->cmds[i];

		if (!c->used || c->tag != cmd_tag)
			continue;
		t = tmr_slot(x, tmr_tag);
		if (!t)
			return -EBUSY;
		err = scsifront_abort(x->sf, &c->cmd, t);
		if (err)
			t->used = false;
		return err;
	}
	return -ENOENT;
}

static int xsf_reset(struct fut *f, uint16_t channel, uint16_t id,
		     uint16_t lun, uint64_t tmr_tag)
{
	struct xsf *x = xsf_of(f);
	struct xsf_tmr *t;
	int err;

	if (!x->sf)
		return -EIO;
	t = tmr_slot(x, tmr_tag);
	if (!t)
		return -EBUSY;
	err = scsifront_reset(x->sf, channel, id, lun, t);
	if (err)
		t->used = false;
	return err;
}

static int xsf_host_reset(struct fut *f)
{
	struct xsf *x = xsf_of(f);

	if (!x->sf)
		return -EIO;
	scsifront_host_reset(x->sf);
	return 0;
}

static uint32_t xsf_max_transfer(struct fut *f)
{
	struct xsf *x = xsf_of(f);

	return x->sf ? scsifront_max_transfer(x->sf) : 0;
}

static int xsf_suspend(struct fut *f)
{
	return xpv_sim_dev_suspend(xsf_of(f)->dev);
}

static int xsf_resume(struct fut *f)
{
	return xpv_sim_dev_resume(xsf_of(f)->dev);
}

static void xsf_close(struct fut *f)
{
	struct xsf *x = xsf_of(f);

	if (x->sf)
		scsifront_close(x->sf);
}

/* Detach (the core fails what is in flight and ends its grants), then
 * the device's own audit of allocations, locks, timers and ports. */
static void xsf_destroy(struct fut *f)
{
	struct xsf *x = xsf_of(f);

	xpv_sim_dev_detach(x->dev);
	xpv_sim_dev_destroy(x->dev);
	free(x);
}

static void xsf_stats(struct fut *f, struct fut_stats *st)
{
	struct xsf *x = xsf_of(f);
	struct scsifront_stats s = x->last;

	memset(st, 0, sizeof(*st));
	st->submitted = x->submitted;
	st->error = x->last_error;
	if (x->sf) {
		scsifront_get_stats(x->sf, &s);
		st->error = scsifront_in_error(x->sf);
	}
	st->completed = s.completed;
	st->failed = s.failed;
	st->notifies_sent = s.notifies;
	st->interrupts = s.interrupts;
	st->spurious = s.spurious;
	st->clamped = s.clamped_sense + s.clamped_residual + s.odd_result;
	st->indirect = s.indirect;
	st->abandoned = s.abandoned;
	st->late_answers = s.late_answers;
}

const struct fut_ops fut_xpv_scsifront_ops = {
	.name = "xpv-scsifront",
	.type = "vscsi",
	.create = xsf_create,
	.scsi_submit = xsf_submit,
	.scsi_abort = xsf_abort,
	.scsi_reset = xsf_reset,
	.scsi_host_reset = xsf_host_reset,
	.scsi_max_transfer = xsf_max_transfer,
	.suspend = xsf_suspend,
	.resume = xsf_resume,
	.close = xsf_close,
	.destroy = xsf_destroy,
	.stats = xsf_stats,
};
