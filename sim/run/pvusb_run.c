/*
 * The PVUSB run; see pvusb_run.h. This file plays the roles around the
 * frontends: the toolstack (xenstore nodes, plug and unplug, save/restore,
 * teardown), the wiring of backends and host devices, and the final
 * audits.
 */
#include "pvusb_run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "run_common.h"
#include "run_dev.h"
#include "sim/backends/usbback.h"
#include "sim/devices/scsi_target.h"
#include "sim/devices/usb_acm.h"
#include "sim/devices/usb_audio.h"
#include "sim/devices/usb_ecm.h"
#include "sim/devices/usb_hid.h"
#include "sim/devices/usb_msc.h"
#include "sim/devices/usb_replay.h"
#include "sim/trace/trace_pcap.h"
#include "sim/trace/usbmon.h"
#include "sim/xenstore/xenstore.h"

_Static_assert(sizeof(((struct pvusb_run_result *)0)->faults) ==
		       RUN_FAULTS_MAX,
	       "run_setup_faults writes RUN_FAULTS_MAX bytes");

#define BUSID_MAX 16

struct run;

/* A simulated host device of sim_usb_devices. */
struct hostdev {
	struct sim_usb_device *dev;
	struct sim_scsi_target *medium; /* storage only */
	char busid[BUSID_MAX];
};

/* One usbctrl entry: its frontend, backend and guest USB stack. */
struct ctrl {
	struct run_dev dev; /* frontend, life and end (run_dev.h) */
	struct run *r;
	unsigned index; /* in cfg->usbctrls */
	const struct simcfg_usbctrl *cfg;
	struct usbback *ub;
	struct usb_guest *guest;
	int port_dev[SIMCFG_USB_PORTS_MAX + 1]; /* device index, -1 empty */
	struct pvusb_ctrl_result *res;
};

struct run {
	const struct simcfg *cfg;
	struct simcfg cfg_view; /* the config with ops_limit applied */
	const struct pvusb_run_options *opt;
	const struct fut_ops *ops;
	struct pvusb_run_result *res;
	struct sim *sim;
	struct hostdev *devs; /* one per cfg->usb_devices */
	struct ctrl ctrls[PVUSB_RUN_MAX_CTRLS];
	unsigned nr_ctrls;
	struct run_dev *devs_of_run[PVUSB_RUN_MAX_CTRLS];
	struct run_devs all;
	struct usbmon *usbmon; /* opt->usbmon's writer, or NULL */
};

/* In a replay, Dom0 (toolstack, backend, host devices) is played from the
 * trace: the run keeps its own bookkeeping and lets the player act where
 * it would have. */
static bool replaying(const struct run *r)
{
	return r->opt->replay != NULL;
}

static const struct simcfg_usb_device *dev_cfg(const struct run *r,
					       unsigned i)
{
	SIM_ASSERT(i < r->cfg->nr_usb_devices);
	return &r->cfg->usb_devices[i];
}

/* ---- host devices ------------------------------------------------------------ */

/* The HID devices type the scripts the guest expects (usb_guest.h). */
static int keyboard_new(const struct simcfg_usb_device *c,
			struct sim_usb_device **out, char *err, size_t errlen)
{
	struct sim_usb_hid_key_event ev[SIMCFG_USB_KEYS_MAX];
	int n = usb_guest_keyboard_script(c, ev, SIMCFG_USB_KEYS_MAX);

	SIM_ASSERT(n >= 0 && n <= (int)SIMCFG_USB_KEYS_MAX); /* simcfg's */
	return sim_usb_hid_keyboard_new(c->speed, ev, (unsigned)n, out, err,
					errlen);
}

static int mouse_new(const struct simcfg_usb_device *c,
		     struct sim_usb_device **out, char *err, size_t errlen)
{
	struct sim_usb_hid_mouse_event *ev =
		sim_xcalloc(c->moves + 1, sizeof(*ev));
	int n = usb_guest_mouse_script(c, ev, c->moves);
	int e;

	SIM_ASSERT(n == (int)c->moves);
	e = sim_usb_hid_mouse_new(c->speed, ev, c->moves, out, err, errlen);
	free(ev);
	return e;
}

static int storage_new(const struct simcfg_usb_device *c, struct hostdev *h,
		       char *err, size_t errlen)
{
	struct sim_scsi_target_config tc;

	if (run_image_dir_create(c->image, c->size, err, errlen))
		return -1;
	simcfg_usb_storage_config(c, &tc);
	if (sim_scsi_target_open(&tc, &h->medium, err, errlen))
		return -1;
	return sim_usb_msc_new(c->speed, h->medium, &h->dev, err, errlen);
}

/* A real device from its capture: read whole, replayed by a device that
 * keeps its own copy. An unreadable or malformed file is the importer's
 * message (file, record, byte offset); one without a usable device is
 * usb_replay's, after the file's name. */
static int capture_new(const struct simcfg_usb_device *c, struct hostdev *h,
		       char *err, size_t errlen)
{
	const struct sim_usb_capture_select sel = {.bus = c->capture_bus,
						   .addr = c->capture_addr};
	const struct sim_usb_replay_params rp = {
		.speed = c->speed, .ignore_timing = !c->capture_timing};
	struct sim_usb_capture *cap;
	char why[384];
	int e;

	if (sim_usb_capture_read_file(c->image, &sel, &cap, err, errlen))
		return -1;
	e = sim_usb_replay_new(cap, &rp, &h->dev, why, sizeof(why));
	sim_usb_capture_free(cap);
	if (e)
		snprintf(err, errlen, "%s: %s", c->image, why);
	return e ? -1 : 0;
}

static int hostdev_new(const struct simcfg_usb_device *c, struct hostdev *h,
		       char *err, size_t errlen)
{
	simcfg_usb_busid(c, h->busid, sizeof(h->busid));
	switch (c->cls) {
	case SIMCFG_USB_STORAGE:
		return storage_new(c, h, err, errlen);
	case SIMCFG_USB_KEYBOARD:
		return keyboard_new(c, &h->dev, err, errlen);
	case SIMCFG_USB_MOUSE:
		return mouse_new(c, &h->dev, err, errlen);
	case SIMCFG_USB_SERIAL:
		return sim_usb_acm_new(c->speed, &h->dev, err, errlen);
	case SIMCFG_USB_ETHERNET:
		return sim_usb_ecm_new(c->speed, &h->dev, err, errlen);
	case SIMCFG_USB_AUDIO:
		return sim_usb_audio_new(c->speed, &h->dev, err, errlen);
	case SIMCFG_USB_CAPTURE:
		return capture_new(c, h, err, errlen);
	}
	SIM_ASSERT(!"unknown USB device class");
	return -1;
}

static int hostdevs_open(struct run *r, char *err, size_t errlen)
{
	r->devs = sim_xcalloc(r->cfg->nr_usb_devices + 1, sizeof(*r->devs));
	for (unsigned i = 0; i < r->cfg->nr_usb_devices && !replaying(r);
	     i++) {
		char why[1024];

		if (hostdev_new(dev_cfg(r, i), &r->devs[i], why, sizeof(why))) {
			snprintf(err, errlen, "sim_usb_devices '%s': %s",
				 dev_cfg(r, i)->name, why);
			return -1;
		}
	}
	return 0;
}

static void hostdevs_close(struct run *r)
{
	for (unsigned i = 0; r->devs && i < r->cfg->nr_usb_devices; i++) {
		if (r->devs[i].dev)
			sim_usb_device_free(r->devs[i].dev);
		if (r->devs[i].medium)
			sim_scsi_target_close(r->devs[i].medium);
	}
	free(r->devs);
	r->devs = NULL;
}

/* The backend's bus-id lookup: the host's devices by "<bus>-<addr>". */
static struct sim_usb_device *lookup_busid(void *arg, const char *busid)
{
	struct run *r = arg;

	for (unsigned i = 0; i < r->cfg->nr_usb_devices; i++)
		if (strcmp(r->devs[i].busid, busid) == 0)
			return r->devs[i].dev;
	return NULL;
}

/* ---- the toolstack ------------------------------------------------------------ */

static void port_key(uint8_t port, char *key, size_t len)
{
	snprintf(key, len, "port/%u", port);
}

/* libxl__device_usbctrl_add_xenstore, with the usbdev entries of this
 * controller already on their ports. */
static void toolstack_add_ctrl(struct ctrl *c)
{
	struct run *r = c->r;
	char v[16], key[32];

	if (replaying(r)) {
		replay_sync(r->opt->replay);
		return;
	}
	run_toolstack_device_dirs(r->sim, RUN_GUEST, c->dev.fe, c->dev.be);
	run_xs_put(r->sim, 0, c->dev.be, "type", "qusb");
	snprintf(v, sizeof(v), "%u", c->cfg->version);
	run_xs_put(r->sim, 0, c->dev.be, "usb-ver", v);
	snprintf(v, sizeof(v), "%u", c->cfg->ports);
	run_xs_put(r->sim, 0, c->dev.be, "num-ports", v);
	for (uint8_t p = 1; p <= c->cfg->ports; p++) {
		int d = c->port_dev[p];

		port_key(p, key, sizeof(key));
		run_xs_put(r->sim, 0, c->dev.be, key, d < 0 ? "" : r->devs[d].busid);
	}
	run_xs_put(r->sim, 0, c->dev.be, "state", "1");
}

static struct ctrl *ctrl_of(struct run *r, uint16_t devid)
{
	for (unsigned i = 0; i < r->nr_ctrls; i++)
		if (r->ctrls[i].cfg->devid == devid)
			return &r->ctrls[i];
	return NULL;
}

/* xl usbdev-attach: the bus id into the backend's port node. */
static void toolstack_attach(struct run *r, const struct simcfg_usbdev *u)
{
	struct ctrl *c = ctrl_of(r, u->controller);
	char key[32];

	SIM_ASSERT(c && u->port >= 1 && u->port <= c->cfg->ports);
	if (c->dev.finished || c->port_dev[u->port] >= 0) {
		fprintf(stderr, "xpvsim: usb-attach %u:%u: controller gone "
				"or port in use; skipped\n",
			u->controller, u->port);
		return;
	}
	c->port_dev[u->port] = (int)u->device;
	r->res->devices[u->device].last_ctrl = (int)c->index;
	if (replaying(r)) {
		replay_sync(r->opt->replay);
		return;
	}
	port_key(u->port, key, sizeof(key));
	run_xs_put(r->sim, 0, c->dev.be, key, r->devs[u->device].busid);
}

/* xl usbdev-detach: the port node emptied. */
static void toolstack_detach(struct run *r, const struct simcfg_usbdev *u)
{
	struct ctrl *c = ctrl_of(r, u->controller);
	char key[32];

	SIM_ASSERT(c && u->port >= 1 && u->port <= c->cfg->ports);
	if (c->dev.finished || c->port_dev[u->port] < 0)
		return;
	c->port_dev[u->port] = -1;
	if (replaying(r)) {
		replay_sync(r->opt->replay);
		return;
	}
	port_key(u->port, key, sizeof(key));
	run_xs_put(r->sim, 0, c->dev.be, key, "");
}

/* ---- backends ------------------------------------------------------------------- */

/* restored: a new backend instance for a restored guest. */
static int backend_start(struct ctrl *c, bool restored)
{
	struct usbback_config bc;

	if (replaying(c->r))
		return 0;
	usbback_config_default(&bc);
	bc.sim = c->r->sim;
	bc.self = RUN_DOM0;
	bc.frontend = RUN_GUEST;
	bc.path = c->dev.be;
	bc.frontend_path = c->dev.fe;
	bc.restored = restored;
	bc.decider = c->r->opt->decider;
	bc.lookup = lookup_busid;
	bc.lookup_arg = c->r;
	return usbback_create(&bc, &c->ub);
}

static void backend_stop(struct ctrl *c)
{
	struct pvusb_ctrl_result *cr = c->res;
	struct usbback_stats st;

	if (replaying(c->r))
		replay_sync(c->r->opt->replay);
	if (!c->ub)
		return;
	usbback_stats(c->ub, &st);
	cr->be_requests += st.requests;
	cr->be_responses += st.responses;
	cr->be_notifies += st.notifies;
	cr->be_plugs += st.plugs;
	cr->be_unplugs += st.unplugs;
	cr->be_plug_refused += st.plug_refused;
	cr->be_conn_events += st.conn_events;
	cr->be_bytes_in += st.bytes_in;
	cr->be_bytes_out += st.bytes_out;
	cr->be_iso_packets += st.iso_packets;
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		cr->be_misbehaved += st.misbehaved[f];
	cr->be_misattributed += st.misbehaved[SIM_FAULT_BE_USB_ACTUAL] +
				st.misbehaved[SIM_FAULT_BE_BAD_ID] +
				st.misbehaved[SIM_FAULT_BE_STALE_ID] +
				st.misbehaved[SIM_FAULT_BE_DUP_RSP] +
				st.misbehaved[SIM_FAULT_BE_RSP_REWRITE];
	usbback_destroy(c->ub);
	c->ub = NULL;
}

/* ---- the frontend and its guest ---------------------------------------------- */

static struct ctrl *ctrl_of_dev(struct run_dev *d)
{
	return (struct ctrl *)((char *)d - offsetof(struct ctrl, dev));
}

static int dev_backend_start(struct run_dev *d, bool restored)
{
	return backend_start(ctrl_of_dev(d), restored);
}

static void dev_backend_stop(struct run_dev *d)
{
	backend_stop(ctrl_of_dev(d));
}

static void dev_guest_stop(struct run_dev *d)
{
	usb_guest_stop(ctrl_of_dev(d)->guest);
}

static void dev_guest_detach(struct run_dev *d)
{
	usb_guest_detach(ctrl_of_dev(d)->guest);
}

static const struct run_dev_ops ctrl_dev_ops = {
	.backend_start = dev_backend_start,
	.backend_stop = dev_backend_stop,
	.guest_stop = dev_guest_stop,
	.guest_detach = dev_guest_detach,
};

static void on_closed(void *arg)
{
	run_dev_closed(&((struct ctrl *)arg)->dev);
}

static void on_idle(void *arg)
{
	run_dev_idle(&((struct ctrl *)arg)->dev);
}

static int device_at(void *arg, uint8_t port)
{
	struct ctrl *c = arg;

	return port >= 1 && port <= c->cfg->ports ? c->port_dev[port] : -1;
}

static int ctrl_start(struct ctrl *c, char *err, size_t errlen)
{
	struct run *r = c->r;
	struct usb_guest_hooks hooks = { .idle = on_idle,
					 .closed = on_closed,
					 .device_at = device_at,
					 .arg = c,
					 .usbmon = r->usbmon,
					 .usbmon_bus =
						 (uint16_t)(c->cfg->devid + 1) };
	struct fut_env env = {
		.sim = r->sim, .guest = RUN_GUEST, .backend = RUN_DOM0,
		.frontend_path = c->dev.fe, .backend_path = c->dev.be,
		.log = r->opt->log, .log_level = r->opt->log_level,
	};
	struct fut_callbacks cb;
	int e;

	snprintf(c->dev.fe, sizeof(c->dev.fe), "/local/domain/%u/device/vusb/%u",
		 RUN_GUEST, c->cfg->devid);
	snprintf(c->dev.be, sizeof(c->dev.be), "/local/domain/0/backend/qusb/%u/%u",
		 RUN_GUEST, c->cfg->devid);
	toolstack_add_ctrl(c);
	e = backend_start(c, false);
	if (e) {
		snprintf(err, errlen, "usbctrl %u: backend: %s",
			 c->cfg->devid, strerror(-e));
		return -1;
	}
	run_dev_watch(&c->dev);
	c->guest = usb_guest_create(r->sim, &r->cfg_view, c->index, &hooks);
	usb_guest_callbacks(c->guest, &cb);
	e = fut_create(r->ops, &env, &cb, &c->dev.fut);
	if (e) {
		/* A fault at probe is a result, not a set-up error. */
		c->dev.fut = NULL;
		c->dev.front_error = true;
		c->dev.finished = true;
		return 0;
	}
	usb_guest_attach(c->guest, c->dev.fut);
	return 0;
}

/* ---- the timeline ------------------------------------------------------------------ */

static void apply_event(void *arg, const struct simcfg_event *ev)
{
	struct run *r = arg;

	switch (ev->action) {
	case SIMCFG_USB_ATTACH:
		toolstack_attach(r, &ev->usb);
		break;
	case SIMCFG_USB_DETACH:
		toolstack_detach(r, &ev->usb);
		break;
	default:
		SIM_ASSERT(!"not an action of a PVUSB timeline");
		break;
	}
}

/* ---- audits at the end ---------------------------------------------------------- */

/* Each storage device's medium against what the guest of the controller
 * it was last attached to saw written. */
static void audit_images(struct run *r)
{
	struct run_audit a = { .sim = r->sim, .fd = -1 };

	for (unsigned d = 0; d < r->cfg->nr_usb_devices && !replaying(r);
	     d++) {
		int ci = r->res->devices[d].last_ctrl;

		if (dev_cfg(r, d)->cls != SIMCFG_USB_STORAGE || ci < 0 ||
		    run_audit_open(&a, dev_cfg(r, d)->image))
			continue;
		usb_guest_written_blocks(r->ctrls[ci].guest, d,
					 run_audit_blocks, &a);
		run_audit_close(&a);
	}
	r->res->blocks_audited = a.audited;
	r->res->blocks_audit_bad = a.bad;
	run_audit_free(&a);
}

/* What the speaker heard against what the guest sent, when it was bound
 * on one controller (one stream) and every OUT URB of the guest went
 * through whole (a failed one may have been heard in part). */
static void audit_audio(struct run *r)
{
	for (unsigned d = 0; d < r->cfg->nr_usb_devices; d++) {
		struct pvusb_device_result *dr = &r->res->devices[d];
		struct sim_usb_audio_stats as;

		if (dev_cfg(r, d)->cls != SIMCFG_USB_AUDIO ||
		    dr->ctrls_bound != 1 || dr->guest.urbs_failed ||
		    dr->guest.urbs_unlinked)
			continue;
		sim_usb_audio_stats(r->devs[d].dev, &as);
		dr->audio_checked = true;
		dr->audio_match = as.hash_out == dr->guest.out_hash;
		if (!dr->audio_match)
			sim_violation(r->sim, SIM_CHECK_DATA_CORRUPT,
				      "%s: the speaker heard other bytes than "
				      "the guest sent",
				      dev_cfg(r, d)->name);
	}
}

/* Scripted keys (moves) the guest gave up waiting for: with a backend
 * that never misbehaved and no save/restore (which fails the URBs in
 * flight, a report with them), the frontend lost them. */
static void audit_hid(struct run *r)
{
	uint64_t misbehaved = 0;

	for (unsigned i = 0; i < r->nr_ctrls; i++)
		misbehaved += r->res->ctrls[i].be_misbehaved +
			      r->res->ctrls[i].resumed;
	for (unsigned d = 0; d < r->cfg->nr_usb_devices; d++) {
		const struct ug_device_stats *g = &r->res->devices[d].guest;

		if (g->keys_lost && !misbehaved)
			sim_violation(r->sim, SIM_CHECK_DATA_CORRUPT,
				      "%s: %llu scripted events never arrived "
				      "from a well-behaved backend",
				      dev_cfg(r, d)->name,
				      (unsigned long long)g->keys_lost);
	}
}

/* Each captured device's replay: how far the guest's requests followed
 * the capture (usb_replay.h). */
static void collect_replays(struct run *r)
{
	for (unsigned d = 0; d < r->cfg->nr_usb_devices; d++) {
		struct pvusb_device_result *dr = &r->res->devices[d];
		const struct sim_usb_replay_divergence *dv = &dr->replay.div;

		if (dev_cfg(r, d)->cls != SIMCFG_USB_CAPTURE)
			continue;
		dr->captured = true;
		sim_usb_replay_stats(r->devs[d].dev, &dr->replay);
		sim_usb_replay_report(r->devs[d].dev, dr->replay_report,
				      sizeof(dr->replay_report));
		if (dr->replay.diverged)
			snprintf(dr->divergence, sizeof(dr->divergence),
				 "at %" PRIu64 " ns on endpoint %u %s: expected "
				 "%s, got %s (capture record %u)",
				 dv->now_ns, dv->ep, dv->in ? "IN" : "OUT",
				 dv->expected, dv->got, dv->record);
	}
}

static void add_device_stats(struct ug_device_stats *sum,
			     const struct ug_device_stats *s)
{
	uint64_t first = sum->first_ns;

	sum->enumerations += s->enumerations;
	sum->enum_failed += s->enum_failed;
	sum->bindings_finished += s->bindings_finished;
	sum->unplugged_busy += s->unplugged_busy;
	sum->urbs += s->urbs;
	sum->urbs_ok += s->urbs_ok;
	sum->urbs_failed += s->urbs_failed;
	sum->urbs_unlinked += s->urbs_unlinked;
	sum->stalls += s->stalls;
	sum->clear_halts += s->clear_halts;
	sum->reset_recoveries += s->reset_recoveries;
	sum->ops += s->ops;
	sum->ops_ok += s->ops_ok;
	sum->ops_failed += s->ops_failed;
	sum->retried += s->retried;
	sum->bytes += s->bytes;
	sum->verified_bytes += s->verified_bytes;
	sum->reports += s->reports;
	sum->keys_seen += s->keys_seen;
	sum->keys_lost += s->keys_lost;
	sum->iso_packets += s->iso_packets;
	sum->iso_packets_bad += s->iso_packets_bad;
	if (!s->enumerations)
		return;
	/* Identity and times from the controllers that saw the device;
	 * the audio hash from the last of them (audit_audio compares it
	 * only when there was one). */
	sum->out_hash = s->out_hash;
	sum->first_ns = first && first < s->first_ns ? first : s->first_ns;
	if (s->last_ns > sum->last_ns)
		sum->last_ns = s->last_ns;
	sum->vendor = s->vendor;
	sum->product = s->product;
	sum->speed = s->speed;
	if (s->driver)
		sum->driver = s->driver;
	memcpy(sum->product_name, s->product_name, sizeof(s->product_name));
}

static void collect(struct run *r)
{
	struct pvusb_run_result *res = r->res;
	struct sim_gnttab_stats gs;

	for (unsigned i = 0; i < r->nr_ctrls; i++) {
		struct ctrl *c = &r->ctrls[i];
		struct pvusb_ctrl_result *cr = c->res;

		usb_guest_stats(c->guest, &cr->guest);
		cr->fut = c->dev.fut_stats;
		cr->closed = c->dev.closed;
		cr->close_timed_out = c->dev.close_timed_out;
		cr->connected = cr->guest.connected;
		cr->resumed = cr->guest.resumed;
		cr->front_error = c->dev.front_error || cr->guest.error;
		for (unsigned d = 0; d < r->cfg->nr_usb_devices; d++) {
			struct ug_device_stats s;

			usb_guest_device_stats(c->guest, d, &s);
			add_device_stats(&res->devices[d].guest, &s);
			res->devices[d].ctrls_bound += s.enumerations > 0;
		}
	}
	/* What the devices (and the backend's statistics) say: not in a
	 * replay, where neither runs. */
	if (!replaying(r)) {
		audit_audio(r);
		audit_hid(r);
		collect_replays(r);
	}
	sim_gnttab_stats(sim_domain_get(r->sim, RUN_GUEST), &gs);
	res->quarantined = gs.quarantined;
	res->events = sim_events_run(r->sim);
	res->sim_time_ns = sim_now(r->sim);
	res->trace_hash = sim_trace_hash(r->sim);
	run_collect_checks(r->sim, res->violations, &res->violations_total,
			   &res->report);
}

/* ---- the run ----------------------------------------------------------------------- */

static void initial_ports(struct run *r)
{
	for (unsigned i = 0; i < r->cfg->nr_usbdevs; i++) {
		const struct simcfg_usbdev *u = &r->cfg->usbdevs[i];
		struct ctrl *c = ctrl_of(r, u->controller);

		SIM_ASSERT(c && u->port >= 1 && u->port <= c->cfg->ports);
		SIM_ASSERT(c->port_dev[u->port] < 0); /* simcfg checked */
		c->port_dev[u->port] = (int)u->device;
		r->res->devices[u->device].last_ctrl = (int)c->index;
	}
}

static int ctrls_setup(struct run *r, char *err, size_t errlen)
{
	if (r->cfg->nr_usbctrls > PVUSB_RUN_MAX_CTRLS) {
		snprintf(err, errlen, "more than %u usbctrl entries",
			 PVUSB_RUN_MAX_CTRLS);
		return -1;
	}
	r->nr_ctrls = r->res->nr_ctrls = r->cfg->nr_usbctrls;
	for (unsigned i = 0; i < r->nr_ctrls; i++) {
		struct ctrl *c = &r->ctrls[i];

		c->r = r;
		c->index = i;
		c->cfg = &r->cfg->usbctrls[i];
		c->res = &r->res->ctrls[i];
		c->res->devid = c->cfg->devid;
		c->res->version = c->cfg->version;
		c->res->ports = c->cfg->ports;
		for (unsigned p = 0; p <= SIMCFG_USB_PORTS_MAX; p++)
			c->port_dev[p] = -1;
	}
	initial_ports(r);
	r->all = (struct run_devs){ .sim = r->sim, .dev = r->devs_of_run,
				    .n = r->nr_ctrls, .cfg = r->cfg,
				    .faults = r->res->faults,
				    .apply = apply_event, .apply_arg = r,
				    .replay = r->opt->replay };
	for (unsigned i = 0; i < r->nr_ctrls; i++) {
		r->ctrls[i].dev.all = &r->all;
		r->ctrls[i].dev.ops = &ctrl_dev_ops;
		r->devs_of_run[i] = &r->ctrls[i].dev;
	}
	for (unsigned i = 0; i < r->nr_ctrls; i++)
		if (ctrl_start(&r->ctrls[i], err, errlen))
			return -1;
	return 0;
}

static void ctrls_free(struct run *r)
{
	run_devs_finish(&r->all);
	for (unsigned i = 0; i < r->nr_ctrls; i++) {
		if (r->ctrls[i].guest)
			usb_guest_destroy(r->ctrls[i].guest);
		r->ctrls[i].guest = NULL;
	}
}

static void teardown(struct run *r)
{
	run_devs_finish(&r->all);
	sim_check_requests_audit(r->sim, "teardown");
	sim_domain_audit(sim_domain_get(r->sim, RUN_GUEST), "teardown");
	audit_images(r);
	collect(r);
	ctrls_free(r);
}

/* The guests see the configuration with --ops-limit applied. */
static void make_view(struct run *r)
{
	const struct simcfg *cfg = r->cfg;

	r->cfg_view = *cfg;
	r->cfg_view.usb_devices =
		sim_xcalloc(cfg->nr_usb_devices + 1, sizeof(*cfg->usb_devices));
	for (unsigned i = 0; i < cfg->nr_usb_devices; i++) {
		struct simcfg_usb_device d = cfg->usb_devices[i];

		if (r->opt->ops_limit && d.ops > r->opt->ops_limit)
			d.ops = r->opt->ops_limit;
		r->cfg_view.usb_devices[i] = d;
	}
}

static int check_config(const struct run *r, char *err, size_t errlen)
{
	if (r->cfg->nr_usbctrls == 0) {
		snprintf(err, errlen, "no usbctrl: not a PVUSB configuration");
		return -1;
	}
	if (r->cfg->nr_luns || r->cfg->nr_workloads) {
		snprintf(err, errlen,
			 "vscsi and usbctrl in one configuration: a run "
			 "simulates one kind of PV device (split the file)");
		return -1;
	}
	if (strcmp(r->ops->type, "vusb") != 0) {
		snprintf(err, errlen,
			 "frontend '%s' is a %s frontend; a PVUSB run needs "
			 "a vusb one", r->ops->name, r->ops->type);
		return -1;
	}
	return 0;
}

static void play(struct run *r)
{
	enum sim_run_result why;

	run_devs_start_timeline(&r->all);
	why = sim_run(r->sim);
	if (why != SIM_RUN_STOPPED) {
		run_force_end(r->sim, why, &r->res->stalled,
			      &r->res->time_limit_hit, "URBs");
		run_devs_finish(&r->all);
	}
	teardown(r);
}

int pvusb_run(const struct simcfg *cfg, const struct pvusb_run_options *opt,
	      struct pvusb_run_result *res, char *err, size_t errlen)
{
	struct run r = { .cfg = cfg, .opt = opt, .res = res };
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->seed = opt->has_seed ? opt->seed : cfg->has_seed ? cfg->seed : 1;
	r.ops = fut_find(opt->frontend ? opt->frontend : "xpv-usbfront");
	if (!r.ops) {
		snprintf(err, errlen, "unknown frontend '%s'", opt->frontend);
		return -1;
	}
	if (check_config(&r, err, errlen))
		return -1;
	snprintf(res->frontend, sizeof(res->frontend), "%s", r.ops->name);
	res->nr_devices = cfg->nr_usb_devices;
	res->devices = sim_xcalloc(cfg->nr_usb_devices + 1,
				   sizeof(*res->devices));
	for (unsigned i = 0; i < cfg->nr_usb_devices; i++)
		res->devices[i].last_ctrl = -1;
	make_view(&r);
	if (hostdevs_open(&r, err, errlen))
		goto out_devs;
	if (opt->usbmon && usbmon_open(opt->usbmon, &r.usbmon, err, errlen))
		goto out_devs;
	r.sim = run_sim_start(&(struct run_sim_args){
		.cfg = cfg, .seed = res->seed,
		.min_time_limit_ns = opt->min_time_limit_ns,
		.trace = opt->trace, .trace_pcap = opt->trace_pcap,
		.trace_flags = opt->trace_flags, .kind = SIM_REC_RUN_PVUSB,
		.frontend = r.ops->name, .faults = opt->faults,
		.swarm = opt->swarm, .ops_limit = opt->ops_limit,
		.replay = opt->replay,
	}, err, errlen);
	if (!r.sim)
		goto out_usbmon;
	/* Faults start with the guest: set-up is not under test. */
	if (ctrls_setup(&r, err, errlen) == 0 &&
	    run_setup_faults(r.sim, opt->faults, opt->swarm || cfg->swarm,
			     cfg->faults, res->seed, res->faults, err,
			     errlen) == 0) {
		play(&r);
		rc = 0;
	} else {
		ctrls_free(&r);
	}
	if (run_sim_record_end(r.sim, opt->replay, &res->replay, rc, err,
			       errlen))
		rc = -1;
	sim_destroy(r.sim);
out_usbmon:
	/* After the guests are gone: nothing records any more. */
	if (r.usbmon && usbmon_close(r.usbmon, rc ? NULL : err,
				     rc ? 0 : errlen) != 0)
		rc = -1;
out_devs:
	hostdevs_close(&r);
	free(r.cfg_view.usb_devices);
	if (rc)
		pvusb_run_result_free(res);
	return rc;
}

void pvusb_run_result_free(struct pvusb_run_result *res)
{
	free(res->devices);
	free(res->report);
	res->devices = NULL;
	res->report = NULL;
}
