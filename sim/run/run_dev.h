/*
 * One PV device of a whole run (a vscsi host of pvscsi_run.c, a usbctrl of
 * pvusb_run.c) as the toolstack sees it through its life: a frontend under
 * test, a backend instance (a new one after each save/restore), a guest
 * stand-in above the frontend, and the ways it ends:
 *
 *   orderly close   the guest is idle and the timeline is over (or a
 *                   `close` event): the guest stops, the frontend closes;
 *                   its closed callback finishes the device, or after
 *                   10 s (libxl's patience) the device is destroyed;
 *   destroy         the backend vanishes with whatever is in flight, its
 *                   directory removed;
 *   backend gone    Dom0 removed the backend directory behind the
 *                   toolstack's back (a misbehaving backend).
 *
 * A finished device has no frontend and no backend. When every device of
 * the run has finished, the simulation stops. The run's timeline is played
 * here too, each event handed to the run.
 */
#ifndef SIM_RUN_RUN_DEV_H
#define SIM_RUN_RUN_DEV_H

#include <stdbool.h>

#include "run_common.h"
#include "sim/cli/simcfg.h"
#include "sim/fut/fut.h"

struct run_dev;

/* The kind-specific parts, called back with the device. */
struct run_dev_ops {
	/* A backend instance for this device; restored: for a restored
	 * guest. 0 or -errno. */
	int (*backend_start)(struct run_dev *d, bool restored);
	/* Its statistics kept, the instance destroyed; nothing if none
	 * runs. */
	void (*backend_stop)(struct run_dev *d);
	/* The guest stand-in: no new work (teardown is coming); the
	 * frontend was destroyed. */
	void (*guest_stop)(struct run_dev *d);
	void (*guest_detach)(struct run_dev *d);
};

/* The devices of a run and its timeline. */
struct run_devs {
	struct sim *sim;
	struct run_dev **dev;
	unsigned n;
	const struct simcfg *cfg; /* its timeline */
	unsigned next_event;
	/* faults, suspend, close and destroy are played here (a new fault
	 * plan's text to faults[RUN_FAULTS_MAX]); the kind's own actions
	 * (LUN or USB hotplug) by apply. */
	char *faults;
	void (*apply)(void *arg, const struct simcfg_event *ev);
	void *apply_arg;
	/* A replay: Dom0's part of suspend and destroy is played from the
	 * trace (replay_sync) where the run would act as Dom0. */
	struct replay_player *replay;
};

struct run_dev {
	struct run_devs *all;
	const struct run_dev_ops *ops;
	char fe[RUN_PATH_MAX], be[RUN_PATH_MAX];
	struct fut *fut;
	bool closing, finished, watching, idle;
	/* Outcomes, for the run's result. */
	bool closed, close_timed_out, front_error;
	struct fut_stats fut_stats; /* the frontend's, when it went */
};

/* Watches the backend directory for its removal. */
void run_dev_watch(struct run_dev *d);
/* Frontend, watch and backend gone; idempotent. */
void run_dev_finish(struct run_dev *d);
/* The guest reported the orderly close. */
void run_dev_closed(struct run_dev *d);
/* The guest is idle: close when the timeline is over. */
void run_dev_idle(struct run_dev *d);
/* Timeline actions on one device. */
void run_dev_close(struct run_dev *d);
void run_dev_suspend(struct run_dev *d);
void run_dev_destroy(struct run_dev *d);

/* Schedules the timeline's first event. */
void run_devs_start_timeline(struct run_devs *all);
/* Every device finished (a run that did not end by itself). */
void run_devs_finish(struct run_devs *all);

#endif /* SIM_RUN_RUN_DEV_H */
