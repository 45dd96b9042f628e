/*
 * The registry of frontends that can be put under test (fut.h). A new
 * frontend adds its fut_ops here and its source to sim/fut/CMakeLists.txt.
 */
#include <string.h>

#include "fut.h"

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
