/*
 * What happens during a run: the timeline of toolstack actions
 * (sim_timeline) and the I/O workloads (sim_workloads). The timeline is
 * sorted by time (stably, so equal times keep file order) and then played
 * once against the LUN set of vscsi and the USB ports usbdev fills, so
 * that an add of a present address, a removal of an absent one, a USB
 * attach to a taken port or of a device attached elsewhere, a detach of
 * an empty port, or anything after a teardown is refused here rather than
 * discovered mid-run. Playing also fills in what a usb-attach left to
 * the reader (its port) and what a usb-detach removes (its device).
 */
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim.h"
#include "simcfg.h"
#include "simcfg_impl.h"

#define ARGS_MAX 4 /* AT ACTION and at most two arguments */

/* ---- sim_timeline ---------------------------------------------------------
 */

static const struct action_def {
	enum simcfg_action action;
	unsigned nargs;
	const char *usage;
} actions[] = {
    {SIMCFG_LUN_ADD, 2, "lun-add VDEV TARGET"},
    {SIMCFG_LUN_REMOVE, 1, "lun-remove VDEV"},
    {SIMCFG_FAULTS, 1, "faults SPEC"},
    {SIMCFG_SUSPEND, 0, "suspend"},
    {SIMCFG_CLOSE, 0, "close"},
    {SIMCFG_DESTROY, 0, "destroy"},
    {SIMCFG_USB_ATTACH, 1,
     "usb-attach hostbus=B,hostaddr=A[,controller=C,port=P]"},
    {SIMCFG_USB_DETACH, 1, "usb-detach controller=C,port=P"},
};

#define NR_ACTIONS (sizeof(actions) / sizeof(actions[0]))

static unsigned split_words(char *s, char **words, unsigned max)
{
	char *save = NULL;
	unsigned n = 0;

	for (char *w = strtok_r(s, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return max + 1;
		words[n++] = w;
	}
	return n;
}

static int event_args(struct simcfg_ctx *c, const char *key, unsigned line,
		      struct simcfg_event *ev, char **args)
{
	const struct simcfg_target *t;
	char why[256];

	switch (ev->action) {
	case SIMCFG_LUN_ADD:
		t = simcfg_target_named(c->cfg, args[1]);
		if (!t)
			return simcfg_fail(c, line, key,
					   "lun-add: '%.48s': no such target "
					   "in sim_scsi_targets",
					   args[1]);
		ev->target = (unsigned)(t - c->cfg->targets);
		/* fallthrough */
	case SIMCFG_LUN_REMOVE:
		return simcfg_vdev_arg(c, key, line, args[0], &ev->vdev);
	case SIMCFG_FAULTS:
		if (simcfg_check_faults(args[0], why, sizeof(why)) < 0)
			return simcfg_fail(c, line, key, "faults: %s", why);
		ev->faults = strdup(args[0]);
		return ev->faults ? 0
				  : simcfg_fail(c, line, key, "out of memory");
	case SIMCFG_USB_ATTACH:
		return simcfg_usb_attach_arg(c, key, line,
					     "usb-attach: ", args[0], &ev->usb);
	case SIMCFG_USB_DETACH:
		return simcfg_usb_detach_arg(c, key, line, args[0], &ev->usb);
	default:
		return 0;
	}
}

static int timeline_item(struct simcfg_ctx *c, const char *key, unsigned line,
			 char *item)
{
	struct simcfg_event *ev = &c->cfg->timeline[c->cfg->nr_events];
	char *w[ARGS_MAX];
	unsigned n = split_words(item, w, ARGS_MAX);
	const struct action_def *a = NULL;

	if (n < 2)
		return simcfg_fail(c, line, key, "want 'AT ACTION ARGS...'");
	if (simcfg_parse_duration(w[0], &ev->at_ns) < 0)
		return simcfg_fail(c, line, key,
				   "'%.48s': want a time (e.g. 0, 150us, "
				   "10ms, 2s)",
				   w[0]);
	for (unsigned i = 0; i < NR_ACTIONS && !a; i++)
		if (strcmp(w[1], simcfg_action_name(actions[i].action)) == 0)
			a = &actions[i];
	if (!a)
		return simcfg_fail(c, line, key, "unknown action '%.48s'",
				   w[1]);
	if (n != a->nargs + 2)
		return simcfg_fail(c, line, key, "want '%s'", a->usage);
	ev->action = a->action;
	ev->line = line;
	c->cfg->nr_events++; /* counted now: simcfg_free sees ev->faults */
	return event_args(c, key, line, ev, w + 2);
}

/* Insertion sort: stable, and lists are short (SIMCFG_LIST_MAX). */
static void sort_timeline(struct simcfg_event *ev, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct simcfg_event e = ev[i];
		unsigned j = i;

		for (; j > 0 && ev[j - 1].at_ns > e.at_ns; j--)
			ev[j] = ev[j - 1];
		ev[j] = e;
	}
}

/* The LUNs present while the timeline plays. */
struct lunset {
	struct simcfg_lun *l;
	unsigned n;
};

static int lunset_find(const struct lunset *s, const struct simcfg_vdev *vd)
{
	for (unsigned i = 0; i < s->n; i++)
		if (simcfg_vdev_eq(&s->l[i].vdev, vd))
			return (int)i;
	return -1;
}

static bool host_exists(const struct simcfg *cfg, uint16_t host)
{
	for (unsigned i = 0; i < cfg->nr_luns; i++)
		if (cfg->luns[i].vdev.host == host)
			return true;
	return false;
}

static int play_add(struct simcfg_ctx *c, const char *key, struct lunset *s,
		    const struct simcfg_event *ev)
{
	const struct simcfg_vdev *vd = &ev->vdev;

	/* Hot-adding a LUN is a write under an existing vscsi host;
	 * creating a host is a device attach, which is not simulated. */
	if (!host_exists(c->cfg, vd->host))
		return simcfg_fail(c, ev->line, key,
				   "lun-add: no vscsi host %u (vscsi "
				   "declares the hosts)",
				   vd->host);
	if (lunset_find(s, vd) >= 0)
		return simcfg_fail(c, ev->line, key,
				   "lun-add: %u:%u:%u:%u is present then",
				   vd->host, vd->channel, vd->id, vd->lun);
	for (unsigned i = 0; i < s->n; i++)
		if (s->l[i].target == ev->target)
			return simcfg_fail(c, ev->line, key,
					   "lun-add: target '%s' is in use "
					   "then",
					   c->cfg->targets[ev->target].name);
	s->l[s->n].vdev = *vd;
	s->l[s->n].target = ev->target;
	s->n++;
	return 0;
}

static int play_event(struct simcfg_ctx *c, const char *key, struct lunset *s,
		      struct simcfg_usb_ports *ports, struct simcfg_event *ev)
{
	const struct simcfg_vdev *vd = &ev->vdev;
	int i;

	if (ev->action == SIMCFG_USB_ATTACH)
		return simcfg_usb_plug(c, key, "usb-attach: ", ports, &ev->usb);
	if (ev->action == SIMCFG_USB_DETACH)
		return simcfg_usb_unplug(c, key, ports, &ev->usb);
	if (ev->action == SIMCFG_LUN_ADD)
		return play_add(c, key, s, ev);
	if (ev->action != SIMCFG_LUN_REMOVE)
		return 0;
	i = lunset_find(s, vd);
	if (i < 0)
		return simcfg_fail(c, ev->line, key,
				   "lun-remove: %u:%u:%u:%u is absent then",
				   vd->host, vd->channel, vd->id, vd->lun);
	s->l[i] = s->l[--s->n];
	return 0;
}

/* The ports as usbdev left them when the guest starts. */
static struct simcfg_usb_ports *usb_ports_at_start(struct simcfg_ctx *c)
{
	struct simcfg *cfg = c->cfg;
	struct simcfg_usb_ports *p = simcfg_usb_ports_new(cfg);

	for (unsigned i = 0; p && i < cfg->nr_usbdevs; i++) {
		int rc = simcfg_usb_plug(c, "usbdev", "", p, &cfg->usbdevs[i]);

		/* usbdev was checked by the same rules. */
		SIM_ASSERT(rc == 0);
	}
	return p;
}

static int play_timeline(struct simcfg_ctx *c, const char *key)
{
	struct simcfg *cfg = c->cfg;
	struct lunset s = {.n = cfg->nr_luns};
	struct simcfg_usb_ports *ports = usb_ports_at_start(c);
	const struct simcfg_event *end = NULL;
	int rc = 0;

	s.l = calloc(cfg->nr_luns + cfg->nr_events + 1, sizeof(*s.l));
	if (!s.l || !ports) {
		free(s.l);
		simcfg_usb_ports_free(ports);
		return simcfg_fail(c, 0, key, "out of memory");
	}
	if (cfg->nr_luns)
		memcpy(s.l, cfg->luns, cfg->nr_luns * sizeof(*s.l));
	for (unsigned i = 0; i < cfg->nr_events && !rc; i++) {
		struct simcfg_event *ev = &cfg->timeline[i];

		if (end)
			rc = simcfg_fail(
			    c, ev->line, key, "%s comes after %s (line %u)",
			    simcfg_action_name(ev->action),
			    simcfg_action_name(end->action), end->line);
		else
			rc = play_event(c, key, &s, ports, ev);
		if (ev->action == SIMCFG_CLOSE || ev->action == SIMCFG_DESTROY)
			end = ev;
	}
	free(s.l);
	simcfg_usb_ports_free(ports);
	return rc;
}

int simcfg_key_timeline(struct simcfg_ctx *c, const struct simcfg_key *k,
			const char *key)
{
	struct simcfg *cfg = c->cfg;

	cfg->timeline =
	    calloc(simcfg_list_len(c, key) + 1, sizeof(*cfg->timeline));
	if (!cfg->timeline)
		return simcfg_fail(c, k->line, key, "out of memory");
	if (simcfg_each_item(c, k, key, timeline_item) < 0)
		return -1;
	sort_timeline(cfg->timeline, cfg->nr_events);
	return play_timeline(c, key);
}

/* ---- sim_workloads --------------------------------------------------------
 */

enum {
	W_LUN,
	W_PATTERN,
	W_BLOCK,
	W_DEPTH,
	W_OPS,
	W_START,
	W_VERIFY,
	W_SPAN,
	W_READ_PCT,
	W__COUNT
};
static const char *const workload_fields[] = {
    "lun",   "pattern", "block", "depth",    "ops",
    "start", "verify",	"span",	 "read_pct",
};

#define BLOCK_MAX (16u << 20)

static int parse_pattern(const char *s, enum simcfg_pattern *p)
{
	for (int i = SIMCFG_RANDRW; i <= SIMCFG_ABORT_RESET; i++)
		if (strcmp(s, simcfg_pattern_name(i)) == 0) {
			*p = i;
			return 0;
		}
	return -1;
}

static int workload_size(struct simcfg_ctx *c, const char *key, unsigned line,
			 struct simcfg_workload *w, unsigned field,
			 const char *v)
{
	uint64_t n;

	if (field == W_SPAN &&
	    (strcmp(v, "ALL") == 0 || strcmp(v, "all") == 0)) {
		w->span = 0;
		return 0;
	}
	if (simcfg_parse_size(v, &n) < 0 || n == 0 || n % 512)
		return simcfg_fail(c, line, key,
				   "%s: '%.48s': want a multiple of 512 "
				   "(suffix K, M, G or T)",
				   workload_fields[field], v);
	if (field == W_SPAN) {
		w->span = n;
		return 0;
	}
	if (n > BLOCK_MAX)
		return simcfg_fail(c, line, key, "block: above 16M");
	w->block = (uint32_t)n;
	return 0;
}

static int workload_number(struct simcfg_ctx *c, const char *key, unsigned line,
			   struct simcfg_workload *w, unsigned field,
			   const char *v)
{
	uint64_t n;

	if (field == W_VERIFY) {
		if (simcfg_parse_bool(v, &w->verify) < 0)
			return simcfg_fail(c, line, key,
					   "verify: '%.48s': want 0 or 1", v);
		return 0;
	}
	if (field == W_DEPTH && (simcfg_parse_u64(v, 16, &n) < 0 || n == 0))
		return simcfg_fail(c, line, key, "depth: '%.48s': want 1 to 16",
				   v);
	if (field == W_OPS &&
	    (simcfg_parse_u64(v, UINT64_MAX, &n) < 0 || n == 0))
		return simcfg_fail(
		    c, line, key, "ops: '%.48s': want a count of 1 or more", v);
	if (field == W_READ_PCT && simcfg_parse_u64(v, 100, &n) < 0)
		return simcfg_fail(c, line, key,
				   "read_pct: '%.48s': want 0 to 100", v);
	if (field == W_DEPTH)
		w->depth = (uint32_t)n;
	else if (field == W_OPS)
		w->ops = n;
	else
		w->read_pct = (uint32_t)n;
	return 0;
}

static int workload_field(struct simcfg_ctx *c, const char *key, unsigned line,
			  void *obj, unsigned field, const char *v)
{
	struct simcfg_workload *w = obj;

	switch (field) {
	case W_LUN:
		return simcfg_vdev_arg(c, key, line, v, &w->vdev);
	case W_PATTERN:
		if (parse_pattern(v, &w->pattern) < 0)
			return simcfg_fail(c, line, key,
					   "pattern: unknown '%.48s'", v);
		return 0;
	case W_START:
		if (simcfg_parse_duration(v, &w->start_ns) < 0)
			return simcfg_fail(c, line, key,
					   "start: '%.48s': want a time (e.g. "
					   "0, 5ms)",
					   v);
		return 0;
	case W_BLOCK:
	case W_SPAN:
		return workload_size(c, key, line, w, field, v);
	default:
		return workload_number(c, key, line, w, field, v);
	}
}

/* A workload's LUN is in vscsi or arrives by lun-add. */
static bool lun_ever_present(const struct simcfg *cfg,
			     const struct simcfg_vdev *vd)
{
	for (unsigned i = 0; i < cfg->nr_luns; i++)
		if (simcfg_vdev_eq(&cfg->luns[i].vdev, vd))
			return true;
	for (unsigned i = 0; i < cfg->nr_events; i++)
		if (cfg->timeline[i].action == SIMCFG_LUN_ADD &&
		    simcfg_vdev_eq(&cfg->timeline[i].vdev, vd))
			return true;
	return false;
}

static int workload_rules(struct simcfg_ctx *c, const char *key, unsigned line,
			  const struct simcfg_workload *w, unsigned seen)
{
	const unsigned io_only = (1u << W_BLOCK) | (1u << W_VERIFY) |
				 (1u << W_SPAN) | (1u << W_READ_PCT);
	bool mixed = w->pattern == SIMCFG_RANDRW || w->pattern == SIMCFG_SEQRW;

	if (!(seen & (1u << W_LUN)))
		return simcfg_fail(c, line, key, "lun= missing");
	if (!(seen & (1u << W_PATTERN)))
		return simcfg_fail(c, line, key, "pattern= missing");
	if (!lun_ever_present(c->cfg, &w->vdev))
		return simcfg_fail(c, line, key,
				   "lun: %u:%u:%u:%u is neither in vscsi nor "
				   "added by sim_timeline",
				   w->vdev.host, w->vdev.channel, w->vdev.id,
				   w->vdev.lun);
	if (w->pattern == SIMCFG_ABORT_RESET && (seen & io_only))
		return simcfg_fail(c, line, key,
				   "abort-reset takes lun, ops, depth, start "
				   "only");
	if (!mixed && (seen & (1u << W_READ_PCT)))
		return simcfg_fail(c, line, key,
				   "read_pct: for randrw and seqrw only");
	if (w->span && w->span < w->block)
		return simcfg_fail(c, line, key, "span: smaller than block");
	return 0;
}

static int workload_item(struct simcfg_ctx *c, const char *key, unsigned line,
			 char *item)
{
	struct simcfg_workload *w = &c->cfg->workloads[c->cfg->nr_workloads];
	unsigned seen;

	w->line = line;
	w->block = 4096;
	w->depth = 4;
	w->ops = 100;
	w->verify = true;
	w->read_pct = 50;
	if (simcfg_each_field(c, key, line, item, workload_fields, W__COUNT,
			      workload_field, w, &seen) < 0 ||
	    workload_rules(c, key, line, w, seen) < 0)
		return -1;
	if (w->pattern == SIMCFG_ABORT_RESET)
		w->verify = false; /* no data moves */
	c->cfg->nr_workloads++;
	return 0;
}

int simcfg_key_workloads(struct simcfg_ctx *c, const struct simcfg_key *k,
			 const char *key)
{
	c->cfg->workloads =
	    calloc(simcfg_list_len(c, key) + 1, sizeof(*c->cfg->workloads));
	if (!c->cfg->workloads)
		return simcfg_fail(c, k->line, key, "out of memory");
	return simcfg_each_item(c, k, key, workload_item);
}
