/*
 * A run's PV devices through their life; see run_dev.h.
 */
#include "run_dev.h"

#include <stdlib.h>

#include "sim/xenstore/xenstore.h"

/* The toolstack's patience with an orderly close (libxl waits 10 s for a
 * device to go away, then removes it by force). */
#define CLOSE_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)

static struct sim *dev_sim(const struct run_dev *d)
{
	return d->all->sim;
}

static void frontend_gone(struct run_dev *d)
{
	if (!d->fut)
		return;
	fut_stats(d->fut, &d->fut_stats);
	d->front_error = d->front_error || d->fut_stats.error;
	fut_destroy(d->fut);
	d->fut = NULL;
	d->ops->guest_detach(d);
}

static void unwatch(struct run_dev *d)
{
	if (!d->watching)
		return;
	d->watching = false;
	sim_xs_unwatch(sim_xs(dev_sim(d)), RUN_DOM0, d->be, RUN_TOOLSTACK_TOKEN,
		       d);
}

void run_dev_finish(struct run_dev *d)
{
	if (d->finished)
		return;
	d->finished = true;
	unwatch(d);
	frontend_gone(d);
	d->ops->backend_stop(d);
}

static void finished_event(struct sim *sim, void *arg)
{
	struct run_dev *d = arg;
	bool all = true;

	run_dev_finish(d);
	for (unsigned i = 0; i < d->all->n; i++)
		all = all && d->all->dev[i]->finished;
	if (all)
		sim_stop(sim);
}

void run_dev_closed(struct run_dev *d)
{
	d->closed = true;
	sim_schedule(dev_sim(d), 0, finished_event, d, "run-dev-closed");
}

/* Dom0 removed the backend directory behind the toolstack's back (a
 * misbehaving backend, at the worst moment): the toolstack completes the
 * detach, and the guest's device goes away with whatever is in flight. */
static void watch_fired(struct sim *sim, void *arg, const char *path,
			const char *token)
{
	struct run_dev *d = arg;
	char *val;
	unsigned len;

	(void)path;
	(void)token;
	if (d->finished)
		return;
	if (sim_xs_read(sim_xs(sim), RUN_DOM0, 0, d->be, &val, &len) == 0) {
		free(val); /* still there: an ordinary change */
		return;
	}
	sim_schedule(sim, 0, finished_event, d, "run-backend-removed");
}

void run_dev_watch(struct run_dev *d)
{
	SIM_ASSERT(!d->watching);
	SIM_ASSERT(sim_xs_watch(sim_xs(dev_sim(d)), RUN_DOM0, d->be,
				RUN_TOOLSTACK_TOKEN, watch_fired, d) == 0);
	d->watching = true;
}

static void close_timeout(struct sim *sim, void *arg)
{
	struct run_dev *d = arg;

	(void)sim;
	if (d->finished)
		return;
	d->close_timed_out = true;
	run_dev_destroy(d);
}

void run_dev_close(struct run_dev *d)
{
	if (d->closing || d->finished)
		return;
	d->closing = true;
	d->ops->guest_stop(d);
	if (d->fut)
		fut_close(d->fut);
	sim_schedule(dev_sim(d), CLOSE_TIMEOUT_NS, close_timeout, d,
		     "run-close-timeout");
}

static bool timeline_done(const struct run_devs *all)
{
	return all->next_event >= all->cfg->nr_events;
}

void run_dev_idle(struct run_dev *d)
{
	d->idle = true;
	if (timeline_done(d->all))
		run_dev_close(d);
}

/* Save/restore: the old backend goes away with the old host; the restored
 * guest finds both ends at Initialising and a new backend instance. */
void run_dev_suspend(struct run_dev *d)
{
	if (!d->fut || d->finished)
		return;
	fut_suspend(d->fut);
	d->ops->backend_stop(d);
	if (d->all->replay) {
		replay_sync(d->all->replay); /* the writes below, recorded */
	} else {
		run_xs_put(dev_sim(d), 0, d->fe, "state", "1");
		run_xs_put(dev_sim(d), 0, d->be, "state", "1");
	}
	if (d->ops->backend_start(d, true) != 0) {
		run_dev_finish(d);
		return;
	}
	fut_resume(d->fut);
}

/* The backend vanishes: its domain's view of the device is torn down at
 * once, the guest's device is removed with whatever is in flight. */
void run_dev_destroy(struct run_dev *d)
{
	if (d->finished)
		return;
	d->ops->backend_stop(d);
	if (d->all->replay)
		replay_sync(d->all->replay); /* the removal, recorded */
	else
		sim_xs_rm(sim_xs(dev_sim(d)), RUN_DOM0, 0, d->be);
	run_dev_finish(d);
	sim_schedule(dev_sim(d), 0, finished_event, d, "run-dev-destroyed");
}

/* The actions every kind of run plays alike; false for the others. */
static bool apply_common(struct run_devs *all, const struct simcfg_event *ev)
{
	void (*each)(struct run_dev *d);

	switch (ev->action) {
	case SIMCFG_FAULTS:
		run_replace_faults(all->sim, ev->faults, all->faults);
		return true;
	case SIMCFG_SUSPEND:
		each = run_dev_suspend;
		break;
	case SIMCFG_CLOSE:
		each = run_dev_close;
		break;
	case SIMCFG_DESTROY:
		each = run_dev_destroy;
		break;
	default:
		return false;
	}
	for (unsigned i = 0; i < all->n; i++)
		each(all->dev[i]);
	return true;
}

static void timeline_fire(struct sim *sim, void *arg)
{
	struct run_devs *all = arg;
	const struct simcfg_event *ev = &all->cfg->timeline[all->next_event];

	all->next_event++;
	if (!apply_common(all, ev))
		all->apply(all->apply_arg, ev);
	if (!timeline_done(all)) {
		uint64_t at = all->cfg->timeline[all->next_event].at_ns;

		sim_schedule(sim, at > sim_now(sim) ? at - sim_now(sim) : 0,
			     timeline_fire, all, "timeline");
		return;
	}
	/* The last event: devices already idle close now. */
	for (unsigned i = 0; i < all->n; i++)
		if (all->dev[i]->idle)
			run_dev_close(all->dev[i]);
}

void run_devs_start_timeline(struct run_devs *all)
{
	if (all->cfg->nr_events)
		sim_schedule(all->sim, all->cfg->timeline[0].at_ns,
			     timeline_fire, all, "timeline");
}

void run_devs_finish(struct run_devs *all)
{
	for (unsigned i = 0; i < all->n; i++)
		run_dev_finish(all->dev[i]);
}
