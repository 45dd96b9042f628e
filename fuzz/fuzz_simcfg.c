/*
 * Feeds any text to the xpvsim configuration reader (simcfg_load_string)
 * and checks that it either refuses with a "NAME:LINE: ..." message or
 * returns a configuration that keeps every promise of simcfg.h and
 * docs/config.md.
 *
 * Input: the file's text (cut at a NUL byte, as simcfg_load_string reads
 * it). base_dir is NULL, so image paths stay as written; the reader never
 * opens or creates an image (that is the caller's, sim/run), so fuzzing it
 * leaves no files behind.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cli/simcfg.h"
#include "sim/core/fault.h"

#include "fuzz_target.h"

#define CFG_NAME  "fuzz.cfg"
#define BLOCK_MAX (16u << 20)
#define IMAGE_MAX (16ull << 40) /* 16T */

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < SIMCFG_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == n;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static void check_faults(const char *spec, const char *what)
{
	struct sim_config sc;
	struct sim *sim;
	char err[256];

	if (!spec)
		fuzz_fail("simcfg-faults", "%s: no fault plan", what);
	sim_config_default(&sc, 0);
	sim = sim_create(&sc);
	if (sim_fault_plan_parse(sim_faults(sim), spec, err, sizeof(err)))
		fuzz_fail("simcfg-faults",
			  "%s %s accepted but does not parse: "
			  "%s",
			  what, fuzz_quote(spec), err);
	sim_destroy(sim);
}

static void check_vdev(const struct simcfg_vdev *vd, const char *what)
{
	const char *why = simcfg_vdev_check(vd);

	if (why)
		fuzz_fail("simcfg-vdev", "%s %u:%u:%u:%u accepted: %s", what,
			  vd->host, vd->channel, vd->id, vd->lun, why);
}

static void check_target(const struct simcfg *cfg, unsigned i)
{
	const struct simcfg_target *t = &cfg->targets[i];
	bool cd = t->kind == SIM_SCSI_CDROM;

	if (!t->image || !t->image[0])
		fuzz_fail("simcfg-target", "target %u has no image", i);
	if (!t->implicit && !name_ok(t->name))
		fuzz_fail("simcfg-target", "target name %s",
			  fuzz_quote(t->name));
	if (cd ? t->block_size != 2048 || !t->read_only
	       : t->block_size != 512 && t->block_size != 4096)
		fuzz_fail("simcfg-target",
			  "target %s: %s with block size %u, "
			  "read_only %d",
			  t->name, cd ? "cdrom" : "disk", t->block_size,
			  t->read_only);
	if (t->size % t->block_size || t->size > IMAGE_MAX)
		fuzz_fail("simcfg-target", "target %s: size %llu", t->name,
			  (unsigned long long)t->size);
	if (strlen(t->vendor) > 8 || strlen(t->product) > 16 ||
	    !printable(t->vendor) || !printable(t->product) ||
	    !printable(t->serial))
		fuzz_fail("simcfg-target", "target %s: INQUIRY strings",
			  t->name);
	for (unsigned j = 0; j < i; j++)
		if (strcmp(cfg->targets[j].image, t->image) == 0)
			fuzz_fail("simcfg-target",
				  "targets %u and %u share "
				  "image %s",
				  j, i, fuzz_quote(t->image));
}

static void check_luns(const struct simcfg *cfg)
{
	for (unsigned i = 0; i < cfg->nr_luns; i++) {
		const struct simcfg_lun *l = &cfg->luns[i];

		check_vdev(&l->vdev, "vscsi");
		if (l->target >= cfg->nr_targets)
			fuzz_fail("simcfg-lun", "LUN %u: target %u of %u", i,
				  l->target, cfg->nr_targets);
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(&cfg->luns[j].vdev, &l->vdev,
				    sizeof(l->vdev)) ||
			    cfg->luns[j].target == l->target)
				fuzz_fail("simcfg-lun",
					  "LUNs %u and %u share "
					  "an address or a target",
					  j, i);
	}
}

static void check_event(const struct simcfg *cfg, unsigned i, bool ended)
{
	const struct simcfg_event *ev = &cfg->timeline[i];

	if (i && ev->at_ns < cfg->timeline[i - 1].at_ns)
		fuzz_fail("simcfg-timeline", "event %u is not sorted", i);
	if (ended)
		fuzz_fail("simcfg-timeline", "event %u (%s) after a teardown",
			  i, simcfg_action_name(ev->action));
	if (ev->action == SIMCFG_LUN_ADD || ev->action == SIMCFG_LUN_REMOVE)
		check_vdev(&ev->vdev, simcfg_action_name(ev->action));
	if (ev->action == SIMCFG_LUN_ADD && ev->target >= cfg->nr_targets)
		fuzz_fail("simcfg-timeline", "lun-add of target %u of %u",
			  ev->target, cfg->nr_targets);
	if (ev->action == SIMCFG_FAULTS)
		check_faults(ev->faults, "timeline faults");
	else if (ev->faults)
		fuzz_fail("simcfg-timeline", "%s event with a fault plan",
			  simcfg_action_name(ev->action));
}

static void check_timeline(const struct simcfg *cfg)
{
	bool ended = false;

	for (unsigned i = 0; i < cfg->nr_events; i++) {
		check_event(cfg, i, ended);
		if (cfg->timeline[i].action == SIMCFG_CLOSE ||
		    cfg->timeline[i].action == SIMCFG_DESTROY)
			ended = true;
	}
}

static void check_workload(const struct simcfg_workload *w)
{
	bool mixed = w->pattern == SIMCFG_RANDRW || w->pattern == SIMCFG_SEQRW;

	check_vdev(&w->vdev, "workload");
	if (!w->block || w->block % 512 || w->block > BLOCK_MAX ||
	    w->depth < 1 || w->depth > 16 || w->ops < 1 || w->read_pct > 100)
		fuzz_fail("simcfg-workload",
			  "line %u: block %u depth %u ops "
			  "%llu read_pct %u",
			  w->line, w->block, w->depth,
			  (unsigned long long)w->ops, w->read_pct);
	if (w->span && (w->span % 512 || w->span < w->block))
		fuzz_fail("simcfg-workload", "line %u: span %llu, block %u",
			  w->line, (unsigned long long)w->span, w->block);
	if (w->pattern == SIMCFG_ABORT_RESET && w->verify)
		fuzz_fail("simcfg-workload", "line %u: abort-reset verifies",
			  w->line);
	if (!mixed && w->read_pct != 50)
		fuzz_fail("simcfg-workload", "line %u: read_pct %u on %s",
			  w->line, w->read_pct,
			  simcfg_pattern_name(w->pattern));
}

static const struct simcfg_usbctrl *usbctrl_of(const struct simcfg *cfg,
					       uint16_t devid)
{
	for (unsigned i = 0; i < cfg->nr_usbctrls; i++)
		if (cfg->usbctrls[i].devid == devid)
			return &cfg->usbctrls[i];
	return NULL;
}

static void check_usbctrls(const struct simcfg *cfg)
{
	for (unsigned i = 0; i < cfg->nr_usbctrls; i++) {
		const struct simcfg_usbctrl *c = &cfg->usbctrls[i];

		if (c->ports < 1 || c->ports > SIMCFG_USB_PORTS_MAX ||
		    c->version < 1 || c->version > 2)
			fuzz_fail("simcfg-usbctrl", "devid %u: %u ports, "
				  "version %u", c->devid, c->ports, c->version);
		if (usbctrl_of(cfg, c->devid) != c)
			fuzz_fail("simcfg-usbctrl", "devid %u twice", c->devid);
	}
}

/* The work a device's class allows (docs/config.md): HID devices have
 * none, a captured one a block of at most 1M (or none: 0) and a device
 * address, the others at least one op of a block in the class's range. */
static bool usb_work_ok(const struct simcfg_usb_device *d)
{
	switch (d->cls) {
	case SIMCFG_USB_STORAGE:
		return d->ops >= 1 && d->block_size &&
		       d->block >= d->block_size &&
		       d->block % d->block_size == 0 && d->block <= (1u << 20);
	case SIMCFG_USB_SERIAL:
		return d->ops >= 1 && d->block >= 1 && d->block <= 4096;
	case SIMCFG_USB_ETHERNET:
		return d->ops >= 1 && d->block >= 14 && d->block <= 1514;
	case SIMCFG_USB_AUDIO:
		return d->ops >= 1 && d->block >= 1 && d->block <= 32;
	case SIMCFG_USB_CAPTURE: /* 0: the bound class's default */
		return d->block <= (1u << 20) && d->capture_addr <= 127 &&
		       (d->capture_bus < 0) == (d->capture_addr < 0);
	default:
		return true;
	}
}

static void check_usb_device(const struct simcfg *cfg, unsigned i)
{
	const struct simcfg_usb_device *d = &cfg->usb_devices[i];

	if (!name_ok(d->name) || d->hostbus < 1 || d->hostaddr < 1 ||
	    d->hostaddr > 127 || !usb_work_ok(d))
		fuzz_fail("simcfg-usb-device",
			  "line %u: %s at %u.%u, block %u, ops %llu", d->line,
			  fuzz_quote(d->name), d->hostbus, d->hostaddr,
			  d->block, (unsigned long long)d->ops);
	if ((d->cls == SIMCFG_USB_STORAGE || d->cls == SIMCFG_USB_CAPTURE) &&
	    !d->image)
		fuzz_fail("simcfg-usb-device", "line %u: %s without its "
			  "file", d->line, simcfg_usb_class_name(d->cls));
	for (unsigned j = 0; j < i; j++)
		if (!strcmp(cfg->usb_devices[j].name, d->name) ||
		    (cfg->usb_devices[j].hostbus == d->hostbus &&
		     cfg->usb_devices[j].hostaddr == d->hostaddr))
			fuzz_fail("simcfg-usb-device", "devices %u and %u "
				  "share a name or an address", j, i);
}

/* A usbdev entry or a USB timeline event names a device, a controller
 * and one of its ports. */
static void check_usbdev(const struct simcfg *cfg,
			 const struct simcfg_usbdev *u, const char *what)
{
	const struct simcfg_usbctrl *c = usbctrl_of(cfg, u->controller);

	if (!c || u->port < 1 || u->port > c->ports ||
	    u->device >= cfg->nr_usb_devices)
		fuzz_fail("simcfg-usbdev", "%s: device %u of %u on %u:%u",
			  what, u->device, cfg->nr_usb_devices, u->controller,
			  u->port);
}

static void check_usb(const struct simcfg *cfg)
{
	check_usbctrls(cfg);
	for (unsigned i = 0; i < cfg->nr_usb_devices; i++)
		check_usb_device(cfg, i);
	for (unsigned i = 0; i < cfg->nr_usbdevs; i++) {
		const struct simcfg_usbdev *u = &cfg->usbdevs[i];

		check_usbdev(cfg, u, "usbdev");
		for (unsigned j = 0; j < i; j++)
			if ((cfg->usbdevs[j].controller == u->controller &&
			     cfg->usbdevs[j].port == u->port) ||
			    cfg->usbdevs[j].device == u->device)
				fuzz_fail("simcfg-usbdev", "usbdev %u and %u "
					  "share a port or a device", j, i);
	}
	for (unsigned i = 0; i < cfg->nr_events; i++) {
		const struct simcfg_event *ev = &cfg->timeline[i];

		if (ev->action == SIMCFG_USB_ATTACH ||
		    ev->action == SIMCFG_USB_DETACH)
			check_usbdev(cfg, &ev->usb,
				     simcfg_action_name(ev->action));
	}
}

/* Every promise an accepted configuration makes to sim/run. */
static void check_config(const struct simcfg *cfg)
{
	if (!name_ok(cfg->name))
		fuzz_fail("simcfg-name", "guest name %s",
			  fuzz_quote(cfg->name));
	if (!cfg->time_limit_ns)
		fuzz_fail("simcfg-time-limit", "a time limit of 0");
	if (cfg->scsiback.service_min_ns > cfg->scsiback.service_max_ns ||
	    cfg->scsiback.sg_grant > UINT16_MAX)
		fuzz_fail("simcfg-scsiback", "service %llu..%llu ns, sg %u",
			  (unsigned long long)cfg->scsiback.service_min_ns,
			  (unsigned long long)cfg->scsiback.service_max_ns,
			  cfg->scsiback.sg_grant);
	if (cfg->faults)
		check_faults(cfg->faults, "sim_faults");
	if (cfg->swarm && cfg->faults)
		fuzz_fail("simcfg-swarm", "sim_swarm with sim_faults");
	for (unsigned i = 0; i < cfg->nr_targets; i++)
		check_target(cfg, i);
	check_luns(cfg);
	check_timeline(cfg);
	for (unsigned i = 0; i < cfg->nr_workloads; i++)
		check_workload(&cfg->workloads[i]);
	check_usb(cfg);
}

/* A refusal names the file first and is safe to print. */
static void check_refusal(const struct simcfg *cfg, const char *err)
{
	if (cfg)
		fuzz_fail("simcfg-no-output", "refused, but a config returned");
	if (strncmp(err, CFG_NAME ":", strlen(CFG_NAME ":")) != 0)
		fuzz_fail("simcfg-message",
			  "message %s does not start with "
			  "\"" CFG_NAME ":\"",
			  fuzz_quote(err));
	if (!printable(err))
		fuzz_fail("simcfg-message", "message %s has control bytes",
			  fuzz_quote(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	struct simcfg *cfg = NULL;
	char err[512] = "";

	if (simcfg_load_string(text, CFG_NAME, NULL, &cfg, err, sizeof(err)))
		check_refusal(cfg, err);
	else if (!cfg)
		fuzz_fail("simcfg-output", "accepted, but no config returned");
	else
		check_config(cfg);
	simcfg_free(cfg);
	free(text);
	return 0;
}
