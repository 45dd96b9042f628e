/*
 * The registry of frontends that can be put under test (fut.h). A new
 * frontend adds its fut_ops here and its source to sim/fut/CMakeLists.txt.
 */
#include <string.h>

#include "fut.h"

#include <errno.h>

#include "fut_sim.h"

extern const struct fut_ops fut_xpv_scsifront_ops;
extern const struct fut_ops fut_xpv_usbfront_ops;

const struct fut_ops *const fut_registry[] = {
	&fut_xpv_scsifront_ops,
	&fut_xpv_usbfront_ops,
	NULL,
};

const struct fut_ops *fut_find(const char *name)
{
	for (unsigned i = 0; fut_registry[i]; i++)
		if (strcmp(fut_registry[i]->name, name) == 0)
			return fut_registry[i];
	return NULL;
}

int fut_sim_dev_open(const struct fut_env *env, void *host,
		     const struct xpv_driver *drv, struct xpv_dev **out)
{
	struct xpv_sim_dev_config dc = {
		.sim = env->sim,
		.guest = env->guest,
		.backend = env->backend,
		.frontend_path = env->frontend_path,
		.backend_path = env->backend_path,
		.log = env->log,
		.log_level = (enum xpv_log_level)env->log_level,
	};
	struct xpv_dev *dev = xpv_sim_dev_create(&dc);
	int err;

	if (!dev)
		return -ENOMEM;
	xpv_sim_dev_set_host(dev, host);
	err = xpv_sim_dev_attach(dev, drv);
	if (err) {
		xpv_sim_dev_destroy(dev);
		return err;
	}
	*out = dev;
	return 0;
}
