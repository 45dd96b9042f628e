/*
 * The PVSCSI run; see pvscsi_run.h. This file plays the roles around the
 * frontend: the toolstack (xenstore nodes, LUN hotplug, save/restore,
 * teardown), the wiring of backends and targets, and the final audits.
 */
#include "pvscsi_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_common.h"
#include "run_dev.h"
#include "sim/backends/scsiback.h"
#include "sim/core/fault.h"
#include "sim/trace/trace_pcap.h"
#include "sim/xenstore/xenstore.h"

#define GUEST RUN_GUEST
#define DOM0 RUN_DOM0
#define PATH_MAX_LEN RUN_PATH_MAX

_Static_assert(sizeof(((struct pvscsi_run_result *)0)->faults) ==
		       RUN_FAULTS_MAX,
	       "run_setup_faults writes RUN_FAULTS_MAX bytes");
#define MAX_DEVS 256 /* vscsi-devs/dev-N per host over a run */
#define REMOVE_POLL_NS 1000000ull   /* toolstack waits for dev state 6 */
#define REMOVE_POLL_MAX 1000
#define CLOSE_GRACE_NS 30000000000ull /* orderly close must end in this */

struct run;

struct dev_slot {
	bool used;
	struct simcfg_vdev vdev;
	unsigned target;
};

/* The toolstack waiting for a removed LUN's dev-N to reach state 6. Kept
 * in the host, one per dev slot, so a run that ends first leaks nothing. */
struct remove_wait {
	struct host *h;
	unsigned devno;
	unsigned polls;
	bool active;
};

struct host {
	struct run_dev dev; /* frontend, life and end (run_dev.h) */
	struct run *r;
	uint16_t id;
	struct scsiback *sb;
	struct scsi_guest *guest;
	struct dev_slot devs[MAX_DEVS];
	unsigned nr_devs;
	struct remove_wait removes[MAX_DEVS];
	struct simcfg cfg_view; /* the config with only this host's work */
	struct pvscsi_host_result *res;
};

struct run {
	const struct simcfg *cfg;
	const struct pvscsi_run_options *opt;
	const struct fut_ops *ops;
	struct pvscsi_run_result *res;
	struct sim *sim;
	struct sim_scsi_target **targets;
	struct host hosts[PVSCSI_RUN_MAX_HOSTS];
	unsigned nr_hosts;
	struct run_dev *devs[PVSCSI_RUN_MAX_HOSTS];
	struct run_devs all;
};

/* In a replay, Dom0 (toolstack and backend) is played from the trace:
 * the run keeps its own bookkeeping and lets the player act where it
 * would have. */
static bool replaying(const struct run *r)
{
	return r->opt->replay != NULL;
}

/* ---- xenstore as the toolstack (Dom0) writes it ---------------------------- */

static void xs_put(struct run *r, uint32_t txn, const char *dir,
		   const char *key, const char *value)
{
	run_xs_put(r->sim, txn, dir, key, value);
}

static void dev_nodes(struct host *h, uint32_t txn, unsigned devno,
		      const char *state)
{
	struct dev_slot *d = &h->devs[devno];
	char key[64], val[64];

	snprintf(key, sizeof(key), "vscsi-devs/dev-%u/p-dev", devno);
	snprintf(val, sizeof(val), "1:0:%u:0", d->target);
	xs_put(h->r, txn, h->dev.be, key, val);
	snprintf(key, sizeof(key), "vscsi-devs/dev-%u/p-devname", devno);
	xs_put(h->r, txn, h->dev.be, key, h->r->cfg->targets[d->target].name);
	snprintf(key, sizeof(key), "vscsi-devs/dev-%u/v-dev", devno);
	snprintf(val, sizeof(val), "%u:%u:%u:%u", d->vdev.host,
		 d->vdev.channel, d->vdev.id, d->vdev.lun);
	xs_put(h->r, txn, h->dev.be, key, val);
	snprintf(key, sizeof(key), "vscsi-devs/dev-%u/state", devno);
	xs_put(h->r, txn, h->dev.be, key, state);
}

static int dev_add(struct host *h, const struct simcfg_vdev *v,
		   unsigned target)
{
	struct dev_slot *d;

	if (h->nr_devs == MAX_DEVS)
		return -1;
	d = &h->devs[h->nr_devs];
	d->used = true;
	d->vdev = *v;
	d->target = target;
	return (int)h->nr_devs++;
}

/* libxl__device_generic_add, for a vscsi host with its first LUNs. */
static void toolstack_add_host(struct host *h)
{
	struct run *r = h->r;

	if (!replaying(r)) {
		run_toolstack_device_dirs(r->sim, GUEST, h->dev.fe, h->dev.be);
		xs_put(r, 0, h->dev.be, "feature-host", "0");
		xs_put(r, 0, h->dev.be, "state", "1");
	}
	for (unsigned i = 0; i < r->cfg->nr_luns; i++) {
		const struct simcfg_lun *l = &r->cfg->luns[i];
		int devno;

		if (l->vdev.host != h->id)
			continue;
		devno = dev_add(h, &l->vdev, l->target);
		SIM_ASSERT(devno >= 0);
		if (!replaying(r))
			dev_nodes(h, 0, (unsigned)devno, "1");
	}
	if (replaying(r))
		replay_sync(r->opt->replay);
}

static int dev_find(const struct host *h, const struct simcfg_vdev *v)
{
	for (unsigned i = 0; i < h->nr_devs; i++) {
		const struct dev_slot *d = &h->devs[i];

		if (d->used && d->vdev.channel == v->channel &&
		    d->vdev.id == v->id && d->vdev.lun == v->lun)
			return (int)i;
	}
	return -1;
}

/* One toolstack transaction for LUN hotplug: the new dev-N nodes (or,
 * with remove_key, that dev's state 5) and host state 7 together, as
 * both ends act on 7. Retried on EAGAIN like libxl. */
static void toolstack_txn(struct host *h, unsigned devno,
			  const char *remove_key)
{
	struct sim_xs *xs = sim_xs(h->r->sim);
	uint32_t txn;

	if (replaying(h->r)) {
		replay_sync(h->r->opt->replay);
		return;
	}
	for (int tries = 0; tries < 8; tries++) {
		SIM_ASSERT(sim_xs_txn_start(xs, DOM0, &txn) == 0);
		if (remove_key)
			xs_put(h->r, txn, h->dev.be, remove_key, "5");
		else
			dev_nodes(h, txn, devno, "1");
		xs_put(h->r, txn, h->dev.be, "state", "7");
		if (sim_xs_txn_end(xs, DOM0, txn, false) != -EAGAIN)
			return;
	}
	fprintf(stderr, "xpvsim: toolstack: vscsi %u: transaction kept "
			"conflicting; hotplug skipped\n", h->id);
}

/* LUN hot-add: host state 7 and the new dev-N in one transaction. */
static void toolstack_lun_add(struct host *h, const struct simcfg_vdev *v,
			      unsigned target)
{
	int devno;

	if (dev_find(h, v) >= 0 || (devno = dev_add(h, v, target)) < 0) {
		fprintf(stderr, "xpvsim: lun-add %u:%u:%u:%u: address in use "
				"or too many devices; skipped\n",
			v->host, v->channel, v->id, v->lun);
		return;
	}
	toolstack_txn(h, (unsigned)devno, NULL);
}

static void remove_poll(struct sim *sim, void *arg)
{
	struct remove_wait *w = arg;
	struct host *h = w->h;
	char p[PATH_MAX_LEN * 2];
	int state = 0;

	snprintf(p, sizeof(p), "%s/vscsi-devs/dev-%u", h->dev.be, w->devno);
	if (sim_xenbus_read_state(sim_xs(sim), DOM0, p, &state) == 0 &&
	    state != 6 && ++w->polls < REMOVE_POLL_MAX) {
		sim_schedule(sim, REMOVE_POLL_NS, remove_poll, w,
			     "toolstack-remove-wait");
		return;
	}
	/* Gone (or given up on): the toolstack deletes the nodes. */
	sim_xs_rm(sim_xs(sim), DOM0, 0, p);
	w->active = false;
}

static void toolstack_lun_remove(struct host *h, const struct simcfg_vdev *v)
{
	int devno = dev_find(h, v);
	struct remove_wait *w;
	char key[64];

	if (devno < 0) {
		fprintf(stderr, "xpvsim: lun-remove %u:%u:%u:%u: no such LUN; "
				"skipped\n",
			v->host, v->channel, v->id, v->lun);
		return;
	}
	h->devs[devno].used = false;
	snprintf(key, sizeof(key), "vscsi-devs/dev-%d/state", devno);
	toolstack_txn(h, (unsigned)devno, key);
	w = &h->removes[devno];
	if (w->active || replaying(h->r))
		return; /* the wait already under way covers this one too */
	w->h = h;
	w->devno = (unsigned)devno;
	w->polls = 0;
	w->active = true;
	sim_schedule(h->r->sim, REMOVE_POLL_NS, remove_poll, w,
		     "toolstack-remove-wait");
}

/* ---- backends and targets ---------------------------------------------------- */

static struct sim_scsi_target *lookup_pdev(void *arg, const char *pdev)
{
	struct run *r = arg;
	unsigned h, c, t, l;
	char tail;

	if (sscanf(pdev, "%u:%u:%u:%u%c", &h, &c, &t, &l, &tail) != 4 ||
	    h != 1 || c != 0 || l != 0 || t >= r->cfg->nr_targets)
		return NULL;
	return r->targets[t];
}

/* restored: a new backend instance for a restored guest (save/restore),
 * whose frontend connects a rebuilt ring. */
static int backend_start(struct host *h, bool restored)
{
	struct scsiback_config bc;

	if (replaying(h->r))
		return 0;
	scsiback_config_default(&bc);
	bc.restored = restored;
	bc.decider = h->r->opt->decider;
	bc.sim = h->r->sim;
	bc.self = DOM0;
	bc.frontend = GUEST;
	bc.path = h->dev.be;
	bc.frontend_path = h->dev.fe;
	bc.sg_grant = h->r->cfg->scsiback.sg_grant;
	bc.old_result_encoding =
		h->r->cfg->scsiback.result_encoding == SIMCFG_RESULT_OLD;
	bc.tmr_victims_answered = h->r->cfg->scsiback.tmr_victims_answered;
	bc.service_min_ns = h->r->cfg->scsiback.service_min_ns;
	bc.service_max_ns = h->r->cfg->scsiback.service_max_ns;
	bc.per_kib_ns = h->r->cfg->scsiback.per_kib_ns;
	bc.lookup = lookup_pdev;
	bc.lookup_arg = h->r;
	return scsiback_create(&bc, &h->sb);
}

static void backend_stop(struct host *h)
{
	struct scsiback_stats st;

	if (replaying(h->r))
		replay_sync(h->r->opt->replay);
	if (!h->sb)
		return;
	scsiback_stats(h->sb, &st);
	h->res->be_requests += st.requests;
	h->res->be_responses += st.responses;
	h->res->be_notifies += st.notifies;
	h->res->be_bad_requests += st.bad_requests;
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		h->res->be_misbehaved += st.misbehaved[f];
	/* Responses that may carry another request's identity or result. */
	h->res->be_misattributed += st.misbehaved[SIM_FAULT_BE_BAD_ID] +
				    st.misbehaved[SIM_FAULT_BE_STALE_ID] +
				    st.misbehaved[SIM_FAULT_BE_DUP_RSP] +
				    st.misbehaved[SIM_FAULT_BE_RSP_REWRITE];
	scsiback_destroy(h->sb);
	h->sb = NULL;
}

/* A CD-ROM image named with a size that does not exist yet is made
 * zero-filled (a blank disc image), as docs/config.md says. */
static int cdrom_image_create(const struct simcfg_target *t, char *err,
			      size_t errlen)
{
	int fd;

	if (t->kind != SIM_SCSI_CDROM || t->size == 0 ||
	    access(t->image, F_OK) == 0)
		return 0;
	fd = open(t->image, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)t->size) != 0) {
		snprintf(err, errlen, "%s: cannot create: %s", t->image,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int targets_open(struct run *r, char *err, size_t errlen)
{
	r->targets = sim_xcalloc(r->cfg->nr_targets + 1, sizeof(*r->targets));
	if (replaying(r))
		return 0; /* the backend's, and it does not run */
	for (unsigned i = 0; i < r->cfg->nr_targets; i++) {
		struct sim_scsi_target_config tc;

		if (run_image_dir_create(r->cfg->targets[i].image,
					 r->cfg->targets[i].size, err, errlen) ||
		    cdrom_image_create(&r->cfg->targets[i], err, errlen))
			return -1;
		simcfg_target_config(&r->cfg->targets[i], &tc);
		if (sim_scsi_target_open(&tc, &r->targets[i], err, errlen))
			return -1;
	}
	return 0;
}

static void targets_close(struct run *r)
{
	for (unsigned i = 0; r->targets && i < r->cfg->nr_targets; i++)
		if (r->targets[i])
			sim_scsi_target_close(r->targets[i]);
	free(r->targets);
	r->targets = NULL;
}

/* ---- the frontend and its guest ------------------------------------------------ */

static struct host *host_of_dev(struct run_dev *d)
{
	return (struct host *)((char *)d - offsetof(struct host, dev));
}

static int dev_backend_start(struct run_dev *d, bool restored)
{
	return backend_start(host_of_dev(d), restored);
}

static void dev_backend_stop(struct run_dev *d)
{
	backend_stop(host_of_dev(d));
}

static void dev_guest_stop(struct run_dev *d)
{
	scsi_guest_stop(host_of_dev(d)->guest);
}

static void dev_guest_detach(struct run_dev *d)
{
	scsi_guest_detach(host_of_dev(d)->guest);
}

static const struct run_dev_ops host_dev_ops = {
	.backend_start = dev_backend_start,
	.backend_stop = dev_backend_stop,
	.guest_stop = dev_guest_stop,
	.guest_detach = dev_guest_detach,
};

static void on_closed(void *arg)
{
	run_dev_closed(&((struct host *)arg)->dev);
}

static void on_idle(void *arg)
{
	run_dev_idle(&((struct host *)arg)->dev);
}

static int lun_target(void *arg, uint16_t channel, uint16_t id, uint16_t lun)
{
	struct host *h = arg;
	struct simcfg_vdev v = { h->id, channel, id, lun };
	int d = dev_find(h, &v);

	return d < 0 ? -1 : (int)h->devs[d].target;
}

static void host_view(struct host *h)
{
	const struct simcfg *cfg = h->r->cfg;
	unsigned n = 0;

	h->cfg_view = *cfg;
	h->cfg_view.workloads =
		sim_xcalloc(cfg->nr_workloads + 1, sizeof(*cfg->workloads));
	for (unsigned i = 0; i < cfg->nr_workloads; i++) {
		struct simcfg_workload w = cfg->workloads[i];

		if (w.vdev.host != h->id)
			continue;
		if (h->r->opt->ops_limit && w.ops > h->r->opt->ops_limit)
			w.ops = h->r->opt->ops_limit;
		h->cfg_view.workloads[n++] = w;
	}
	h->cfg_view.nr_workloads = n;
}

static int host_start(struct host *h, char *err, size_t errlen)
{
	struct run *r = h->r;
	struct scsi_guest_hooks hooks = { .idle = on_idle,
					  .closed = on_closed,
					  .lun_target = lun_target,
					  .arg = h };
	struct fut_env env = {
		.sim = r->sim, .guest = GUEST, .backend = DOM0,
		.frontend_path = h->dev.fe, .backend_path = h->dev.be,
		.log = r->opt->log, .log_level = r->opt->log_level,
	};
	struct fut_callbacks cb;
	int e;

	snprintf(h->dev.fe, sizeof(h->dev.fe),
		 "/local/domain/%u/device/vscsi/%u", GUEST, h->id);
	snprintf(h->dev.be, sizeof(h->dev.be),
		 "/local/domain/0/backend/vscsi/%u/%u", GUEST, h->id);
	host_view(h);
	toolstack_add_host(h);
	e = backend_start(h, false);
	if (e) {
		snprintf(err, errlen, "vscsi host %u: backend: %s", h->id,
			 strerror(-e));
		return -1;
	}
	run_dev_watch(&h->dev);
	if (r->opt->host_started)
		r->opt->host_started(r->opt->hook_arg, r->sim, h->id, h->dev.fe,
				     h->dev.be);
	h->guest = scsi_guest_create(r->sim, &h->cfg_view, &hooks);
	scsi_guest_callbacks(h->guest, &cb);
	e = fut_create(r->ops, &env, &cb, &h->dev.fut);
	if (e) {
		/* A fault at probe is a result, not a set-up error. */
		h->dev.fut = NULL;
		h->dev.front_error = true;
		h->dev.finished = true;
		return 0;
	}
	scsi_guest_attach(h->guest, h->dev.fut);
	return 0;
}

/* ---- the timeline ------------------------------------------------------------------ */

static struct host *host_of(struct run *r, uint16_t id)
{
	for (unsigned i = 0; i < r->nr_hosts; i++)
		if (r->hosts[i].id == id)
			return &r->hosts[i];
	return NULL;
}

static void apply_event(void *arg, const struct simcfg_event *ev)
{
	struct run *r = arg;
	struct host *h = host_of(r, ev->vdev.host);

	switch (ev->action) {
	case SIMCFG_LUN_ADD:
		if (h && !h->dev.finished)
			toolstack_lun_add(h, &ev->vdev, ev->target);
		break;
	case SIMCFG_LUN_REMOVE:
		if (h && !h->dev.finished)
			toolstack_lun_remove(h, &ev->vdev);
		break;
	default:
		SIM_ASSERT(!"not an action of a PVSCSI timeline");
		break;
	}
}

/* ---- audits at the end ---------------------------------------------------------- */

static void audit_images(struct run *r)
{
	struct run_audit a = { .sim = r->sim, .fd = -1 };

	if (replaying(r))
		return; /* no images: the replay never wrote them */
	for (unsigned hi = 0; hi < r->nr_hosts; hi++) {
		struct host *h = &r->hosts[hi];

		for (unsigned i = 0; i < scsi_guest_nr_luns(h->guest); i++) {
			struct sg_lun_info li;

			scsi_guest_lun(h->guest, i, &li);
			if (li.target < 0 ||
			    (unsigned)li.target >= r->cfg->nr_targets)
				continue;
			if (run_audit_open(&a,
					   r->cfg->targets[li.target].image))
				continue;
			scsi_guest_written_blocks(h->guest, i,
						  run_audit_blocks, &a);
			run_audit_close(&a);
		}
	}
	r->res->blocks_audited = a.audited;
	r->res->blocks_audit_bad = a.bad;
	run_audit_free(&a);
}

static void collect(struct run *r)
{
	struct pvscsi_run_result *res = r->res;
	struct sim_gnttab_stats gs;

	for (unsigned i = 0; i < r->nr_hosts; i++) {
		struct host *h = &r->hosts[i];
		struct pvscsi_host_result *hr = h->res;

		scsi_guest_stats(h->guest, &hr->guest);
		hr->fut = h->dev.fut_stats;
		hr->closed = h->dev.closed;
		hr->close_timed_out = h->dev.close_timed_out;
		hr->connected = hr->guest.connected;
		hr->resumed = hr->guest.resumed;
		hr->front_error = h->dev.front_error || hr->guest.error;
		hr->nr_luns = scsi_guest_nr_luns(h->guest);
		for (unsigned l = 0; l < hr->nr_luns; l++)
			scsi_guest_lun(h->guest, l, &hr->luns[l]);
	}
	res->nr_workloads = r->cfg->nr_workloads;
	res->works = sim_xcalloc(res->nr_workloads + 1, sizeof(*res->works));
	for (unsigned w = 0; w < r->cfg->nr_workloads; w++) {
		struct host *h = host_of(r, r->cfg->workloads[w].vdev.host);
		unsigned k = 0;

		if (!h)
			continue;
		/* The host view kept this host's workloads in order. */
		for (unsigned j = 0; j < w; j++)
			k += r->cfg->workloads[j].vdev.host == h->id;
		scsi_guest_work_stats(h->guest, k, &res->works[w]);
	}
	sim_gnttab_stats(sim_domain_get(r->sim, GUEST), &gs);
	res->quarantined = gs.quarantined;
	res->events = sim_events_run(r->sim);
	res->sim_time_ns = sim_now(r->sim);
	res->trace_hash = sim_trace_hash(r->sim);
	run_collect_checks(r->sim, res->violations, &res->violations_total,
			   &res->report);
}

/* ---- the run ----------------------------------------------------------------------- */

static int setup_faults(struct run *r, char *err, size_t errlen)
{
	return run_setup_faults(r->sim, r->opt->faults,
				r->opt->swarm || r->cfg->swarm, r->cfg->faults,
				r->res->seed, r->res->faults, err, errlen);
}

static int hosts_setup(struct run *r, char *err, size_t errlen)
{
	for (unsigned i = 0; i < r->cfg->nr_luns; i++) {
		uint16_t id = r->cfg->luns[i].vdev.host;

		if (host_of(r, id))
			continue;
		if (r->nr_hosts == PVSCSI_RUN_MAX_HOSTS) {
			snprintf(err, errlen, "more than %u vscsi hosts",
				 PVSCSI_RUN_MAX_HOSTS);
			return -1;
		}
		r->hosts[r->nr_hosts].r = r;
		r->hosts[r->nr_hosts].id = id;
		r->hosts[r->nr_hosts].res = &r->res->hosts[r->nr_hosts];
		r->res->hosts[r->nr_hosts].host = id;
		r->nr_hosts++;
	}
	r->res->nr_hosts = r->nr_hosts;
	r->all = (struct run_devs){ .sim = r->sim, .dev = r->devs,
				    .n = r->nr_hosts, .cfg = r->cfg,
				    .faults = r->res->faults,
				    .apply = apply_event, .apply_arg = r,
				    .replay = r->opt->replay };
	for (unsigned i = 0; i < r->nr_hosts; i++) {
		r->hosts[i].dev.all = &r->all;
		r->hosts[i].dev.ops = &host_dev_ops;
		r->devs[i] = &r->hosts[i].dev;
	}
	for (unsigned i = 0; i < r->nr_hosts; i++)
		if (host_start(&r->hosts[i], err, errlen))
			return -1;
	return 0;
}

/* The run did not end by itself: the time limit came, or nothing was left
 * to happen (a stall: both ends waiting for each other). Whatever is still
 * outstanding is a liveness failure; then the devices are taken away. */
static void force_end(struct run *r, enum sim_run_result why)
{
	run_force_end(r->sim, why, &r->res->stalled, &r->res->time_limit_hit,
		      "commands");
	run_devs_finish(&r->all);
}

static void hosts_free(struct run *r)
{
	run_devs_finish(&r->all);
	for (unsigned i = 0; i < r->nr_hosts; i++) {
		if (r->hosts[i].guest)
			scsi_guest_destroy(r->hosts[i].guest);
		r->hosts[i].guest = NULL;
		free(r->hosts[i].cfg_view.workloads);
		r->hosts[i].cfg_view.workloads = NULL;
	}
}

static void teardown(struct run *r)
{
	run_devs_finish(&r->all);
	sim_check_requests_audit(r->sim, "teardown");
	sim_domain_audit(sim_domain_get(r->sim, GUEST), "teardown");
	audit_images(r);
	collect(r);
	hosts_free(r);
}

int pvscsi_run(const struct simcfg *cfg, const struct pvscsi_run_options *opt,
	       struct pvscsi_run_result *res, char *err, size_t errlen)
{
	struct run r = { .cfg = cfg, .opt = opt, .res = res };
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->seed = opt->has_seed ? opt->seed : cfg->has_seed ? cfg->seed : 1;
	r.ops = fut_find(opt->frontend ? opt->frontend : "xpv-scsifront");
	if (!r.ops) {
		snprintf(err, errlen, "unknown frontend '%s'", opt->frontend);
		return -1;
	}
	if (strcmp(r.ops->type, "vscsi") != 0) {
		snprintf(err, errlen,
			 "frontend '%s' is a %s frontend; a PVSCSI run needs "
			 "a vscsi one", r.ops->name, r.ops->type);
		return -1;
	}
	if (cfg->nr_usbctrls) {
		snprintf(err, errlen, "a PVSCSI run cannot play a "
				      "configuration with usbctrl (PVUSB)");
		return -1;
	}
	snprintf(res->frontend, sizeof(res->frontend), "%s", r.ops->name);
	if (targets_open(&r, err, errlen))
		goto out_targets;
	r.sim = run_sim_start(&(struct run_sim_args){
		.cfg = cfg, .seed = res->seed,
		.min_time_limit_ns = opt->min_time_limit_ns,
		.trace = opt->trace, .trace_pcap = opt->trace_pcap,
		.trace_flags = opt->trace_flags, .kind = SIM_REC_RUN_PVSCSI,
		.frontend = r.ops->name, .faults = opt->faults,
		.swarm = opt->swarm, .ops_limit = opt->ops_limit,
		.replay = opt->replay,
	}, err, errlen);
	if (!r.sim)
		goto out_targets;
	/* Faults start with the guest: set-up is not under test. */
	if (hosts_setup(&r, err, errlen) == 0 &&
	    setup_faults(&r, err, errlen) == 0) {
		run_devs_start_timeline(&r.all);
		enum sim_run_result why = sim_run(r.sim);

		if (why != SIM_RUN_STOPPED)
			force_end(&r, why);
		teardown(&r);
		rc = 0;
	} else {
		hosts_free(&r);
	}
	if (run_sim_record_end(r.sim, opt->replay, &res->replay, rc, err,
			       errlen)) {
		pvscsi_run_result_free(res);
		rc = -1;
	}
	sim_destroy(r.sim);
out_targets:
	targets_close(&r);
	return rc;
}

void pvscsi_run_result_free(struct pvscsi_run_result *res)
{
	free(res->works);
	free(res->report);
	res->works = NULL;
	res->report = NULL;
}
