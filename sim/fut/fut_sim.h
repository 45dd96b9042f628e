/*
 * For the adapters of frontends that run on the simulator's contract
 * (drivers/os/sim): the xenbus device a fut_env describes, with the
 * frontend's driver probed on it. Not for harness code (that uses fut.h).
 */
#ifndef SIM_FUT_FUT_SIM_H
#define SIM_FUT_FUT_SIM_H

#include <xpv_sim.h>

#include "fut.h"

/* Creates the device, makes host what drv's callbacks find through
 * xpv_sim_dev_host, and probes drv. 0, or a negative errno with nothing
 * left behind. */
int fut_sim_dev_open(const struct fut_env *env, void *host,
		     const struct xpv_driver *drv, struct xpv_dev **out);

#endif /* SIM_FUT_FUT_SIM_H */
