/*
 * The scsiback model's lifecycle and xenbus side: probe, the reaction to
 * each frontend state (scsiback_frontend_changed), connect, disconnect,
 * resume and unregister. See scsiback.h for the behaviour; the ring is in
 * scsiback_ring.c, LUNs in scsiback_lun.c. All xenstore traffic goes
 * through libxenstore calls on the backend's own handle, woken by the
 * mock's push notification as Linux's xenwatch thread would be.
 */
#include "scsiback_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "../xenstore/xenstore.h"

#define SB_TOKEN_FE	"scsiback-fe"
#define SB_TOKEN_BE	"scsiback-be"
#define SB_SWITCH_TRIES 8u /* EAGAIN retries of a state write */

void scsiback_config_default(struct scsiback_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sg_grant = 128;
	cfg->service_min_ns = 10000;
	cfg->service_max_ns = 100000;
	cfg->per_kib_ns = 250;
}

/* ---- xenstore helpers ---------------------------------------------------- */

static bool sb_join(char *buf, size_t size, const char *dir, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", dir, rel);

	return n > 0 && (size_t)n < size;
}

int sb_write_key(struct scsiback *sb, const char *rel, const char *val)
{
	char p[SB_PATH_MAX + SB_ENT_MAX + 32];

	if (!sb_join(p, sizeof(p), sb->path, rel))
		return -EINVAL;
	if (!xs_write(sb->xs, XBT_NULL, p, val, (unsigned)strlen(val)))
		return -errno;
	return 0;
}

/* A frontend key as a strict decimal no larger than max. */
static int sb_fe_read_uint(struct scsiback *sb, const char *key,
			   unsigned long long max, unsigned long long *v)
{
	char p[SB_PATH_MAX + 32];
	char *val;
	bool ok;

	if (!sb_join(p, sizeof(p), sb->fpath, key))
		return -EINVAL;
	val = xs_read(sb->xs, XBT_NULL, p, NULL);
	if (!val)
		return -errno;
	ok = sb_parse_uint(val, max, v);
	free(val);
	return ok ? 0 : -EINVAL;
}

/* 0 if the backend directory exists, else -errno (-ENOENT: removed). */
static int sb_dir_check(struct scsiback *sb, xs_transaction_t t)
{
	char *val = xs_read(sb->xs, t, sb->path, NULL);

	if (!val)
		return -errno;
	free(val);
	return 0;
}

static int sb_write_state_once(struct scsiback *sb, const char *node,
			       const char *val)
{
	xs_transaction_t t = xs_transaction_start(sb->xs);
	int r;

	if (t == XBT_NULL)
		return -errno;
	/* Checked inside the transaction, so a removed device is never
	 * re-created (Linux __xenbus_switch_state). */
	r = sb_dir_check(sb, t);
	if (!r && !xs_write(sb->xs, t, node, val, (unsigned)strlen(val)))
		r = -errno;
	if (r) {
		xs_transaction_end(sb->xs, t, true);
		return r;
	}
	return xs_transaction_end(sb->xs, t, false) ? 0 : -errno;
}

int sb_write_state(struct scsiback *sb, int state)
{
	char node[SB_PATH_MAX + 16], val[16];
	int r = -EAGAIN;

	if (!sb_join(node, sizeof(node), sb->path, "state"))
		return -EINVAL;
	snprintf(val, sizeof(val), "%d", state);
	for (unsigned i = 0; i < SB_SWITCH_TRIES && r == -EAGAIN; i++)
		r = sb_write_state_once(sb, node, val);
	if (!r)
		sb->st.state = state;
	sim_trace(sb->sim, "scsiback-state", sb->cfg.frontend,
		  (uint64_t)(unsigned)state << 32 | (uint32_t)-r);
	return r;
}

int sb_switch_state(struct scsiback *sb, int state)
{
	int r;

	if (state == sb->st.state)
		return 0;
	r = sb_write_state(sb, state);
	if (!r)
		sb_inject_bad_state(sb);
	return r;
}

/* xenbus_dev_fatal: error/<nodename>/error = "<errno> <message>", then
 * Closing. The error node lives in the backend domain's home. */
static __attribute__((format(printf, 3, 4))) void
sb_fatal(struct scsiback *sb, int err, const char *fmt, ...)
{
	char home[32], node[SB_PATH_MAX + 48], msg[160];
	const char *rel = sb->path;
	size_t hlen;
	va_list ap;
	int n;

	snprintf(home, sizeof(home), "/local/domain/%u/", sb->cfg.self);
	hlen = strlen(home);
	if (strncmp(rel, home, hlen) == 0)
		rel += hlen;
	while (*rel == '/')
		rel++;
	n = snprintf(msg, sizeof(msg), "%d ", -err);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	snprintf(node, sizeof(node), "%serror/%s/error", home, rel);
	xs_write(sb->xs, XBT_NULL, node, msg, (unsigned)strlen(msg));
	sb->st.fatal_errors++;
	sb_switch_state(sb, XenbusStateClosing);
}

void sb_hold_map(struct scsiback *sb, struct sim_grant_map *map)
{
	if (sb->st.held_maps == sb->held_cap) {
		sb->held_cap = sb->held_cap ? 2 * sb->held_cap : 8;
		sb->held = realloc(sb->held, sb->held_cap * sizeof(*sb->held));
		SIM_ASSERT(sb->held != NULL);
	}
	sb->held[sb->st.held_maps++] = map;
}

/* ---- frontend states ----------------------------------------------------- */

/* The device is gone (Linux device_unregister -> scsiback_remove). */
static void sb_unregister(struct scsiback *sb)
{
	char p[SB_PATH_MAX + 16];

	if (sb_ring_connected(sb))
		sb_ring_disconnect(sb, true, true);
	sb_luns_free(sb);
	sb->st.unregistered = true;
	if (sb_join(p, sizeof(p), sb->fpath, "state"))
		xs_unwatch(sb->xs, p, SB_TOKEN_FE);
	xs_unwatch(sb->xs, sb->path, SB_TOKEN_BE);
}

/* A resume: the old ring went away with the old frontend. Drop it and
 * look like a fresh backend, so the frontend sees us reach 4 again. */
static void sb_resume_drop(struct scsiback *sb)
{
	sb_ring_disconnect(sb, false, true);
	sb_luns_free(sb);
	sb->resuming = true;
	sb_switch_state(sb, XenbusStateInitWait);
}

/* FE 3: map and go Connected; a new ring while connected is a resume. */
static void sb_fe_initialised(struct scsiback *sb)
{
	unsigned long long ref, port;
	int r = sb_fe_read_uint(sb, "ring-ref", UINT32_MAX, &ref);

	if (!r)
		r = sb_fe_read_uint(sb, "event-channel", UINT32_MAX, &port);
	if (r) {
		sb_fatal(sb, r, "reading %s ring", sb->fpath);
		return;
	}
	if (sb_ring_connected(sb)) {
		if (ref == sb->ring_ref && port == sb->fe_port)
			return; /* the same connection, seen again */
		sb_resume_drop(sb);
	}
	r = sb_ring_connect(sb, (uint32_t)ref, (uint32_t)port);
	if (r) {
		sb_fatal(sb, r, "mapping ring-ref %llu port %llu of domain %u",
			 ref, port, sb->cfg.frontend);
		return;
	}
	if (sb->resuming) {
		sb->resuming = false;
		if (sb_inject_remove_after_resume(sb))
			return;
	}
	sb_lun_pass(sb, SB_PASS_ADD_OR_DEL, false);
	sb_switch_state(sb, XenbusStateConnected);
	sb_ring_drain(sb); /* anything queued before we looked */
}

static void sb_fe_connected(struct scsiback *sb)
{
	sb_lun_pass(sb, SB_PASS_UPDATE_STATE, false);
	sb_switch_state(sb, XenbusStateConnected);
}

static void sb_fe_closing(struct scsiback *sb)
{
	if (sb_ring_connected(sb))
		sb_ring_disconnect(sb, true, true);
	sb_switch_state(sb, XenbusStateClosing);
}

static bool sb_online(struct scsiback *sb)
{
	char p[SB_PATH_MAX + 16];
	unsigned long long v = 0;
	char *val;

	if (!sb_join(p, sizeof(p), sb->path, "online"))
		return false;
	val = xs_read(sb->xs, XBT_NULL, p, NULL);
	if (!val)
		return false;
	if (!sb_parse_uint(val, INT_MAX, &v))
		v = 0;
	free(val);
	return v != 0;
}

/* FE 6; a connected backend treats it as a missed Closing. */
static void sb_fe_closed(struct scsiback *sb)
{
	if (sb_ring_connected(sb))
		sb_ring_disconnect(sb, true, true);
	sb_switch_state(sb, XenbusStateClosed);
	if (!sb_online(sb))
		sb_unregister(sb);
}

static void sb_fe_reconfiguring(struct scsiback *sb)
{
	sb_lun_pass(sb, SB_PASS_ADD_OR_DEL, true);
	sb_switch_state(sb, XenbusStateReconfigured);
}

/* As xenbus_read_driver_state: Unknown (0) when unreadable or bogus. */
static int sb_fe_state(struct scsiback *sb)
{
	unsigned long long v;

	if (sb_fe_read_uint(sb, "state", INT_MAX, &v))
		return XenbusStateUnknown;
	return (int)v;
}

static void sb_frontend_changed(struct scsiback *sb)
{
	int fe = sb_fe_state(sb);

	sim_trace(sb->sim, "scsiback-fe-state", sb->cfg.frontend,
		  (uint64_t)(unsigned)fe);
	switch (fe) {
	case XenbusStateUnknown:
		if (sb->fe_seen)
			sb_unregister(sb);
		return;
	case XenbusStateInitialising:
		/* A resume: the old ring went away with the old frontend. */
		if (sb_ring_connected(sb))
			sb_resume_drop(sb);
		break;
	case XenbusStateInitialised:
		sb_fe_initialised(sb);
		break;
	case XenbusStateConnected:
		sb_fe_connected(sb);
		break;
	case XenbusStateClosing:
		sb_fe_closing(sb);
		break;
	case XenbusStateClosed:
		sb_fe_closed(sb);
		break;
	case XenbusStateReconfiguring:
		sb_fe_reconfiguring(sb);
		break;
	default:
		sb_fatal(sb, -EINVAL, "saw state %d at frontend", fe);
		break;
	}
	sb->fe_seen = true;
}

/* ---- watches ------------------------------------------------------------- */

static void sb_watch_event(struct scsiback *sb, const char *path,
			   const char *token)
{
	if (sb->st.unregistered)
		return;
	if (strcmp(token, SB_TOKEN_FE) == 0) {
		sb_frontend_changed(sb);
		return;
	}
	/* Own directory: only its removal matters (the toolstack's writes
	 * are acted on when the frontend moves, as in Linux). */
	if (strcmp(token, SB_TOKEN_BE) == 0 && strcmp(path, sb->path) == 0 &&
	    sb_dir_check(sb, XBT_NULL) == -ENOENT)
		sb_unregister(sb);
}

/* The mock's push notification. Handlers queue new events only through
 * later simulator events, so the bounded queue drains. */
static void sb_xs_notify(void *arg)
{
	struct scsiback *sb = arg;
	char **vec;
	unsigned n;

	while ((vec = xs_read_watch(sb->xs, &n)) != NULL) {
		sb_watch_event(sb, vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN]);
		free(vec);
	}
}

/* ---- probe and teardown -------------------------------------------------- */

static int sb_probe(struct scsiback *sb)
{
	char p[SB_PATH_MAX + 16], val[16];
	const char *sg;

	if (!sb_join(p, sizeof(p), sb->fpath, "state"))
		return -EINVAL;
	if (!xs_watch(sb->xs, p, SB_TOKEN_FE) ||
	    !xs_watch(sb->xs, sb->path, SB_TOKEN_BE))
		return -errno;
	if (sb->cfg.sg_grant) {
		snprintf(val, sizeof(val), "%u", sb->cfg.sg_grant);
		sg = sb_inject_sg_grant(sb);
		/* Linux: only xenbus_dev_error when this fails. */
		sb_write_key(sb, "feature-sg-grant", sg ? sg : val);
	}
	return sb_switch_state(sb, XenbusStateInitWait);
}

int scsiback_create(const struct scsiback_config *cfg, struct scsiback **out)
{
	struct scsiback *sb;
	int r;

	SIM_ASSERT(cfg->sim && cfg->path && cfg->frontend_path && cfg->lookup);
	SIM_ASSERT(cfg->service_max_ns >= cfg->service_min_ns);
	if (strlen(cfg->path) >= SB_PATH_MAX ||
	    strlen(cfg->frontend_path) >= SB_PATH_MAX)
		return -EINVAL;
	if (!sim_domain_get(cfg->sim, cfg->self))
		return -ESRCH;
	sb = sim_xcalloc(1, sizeof(*sb));
	sb->cfg = *cfg;
	sb->resuming = cfg->restored;
	sb->sim = cfg->sim;
	sb->dom = sim_domain_get(cfg->sim, cfg->self);
	snprintf(sb->path, sizeof(sb->path), "%s", cfg->path);
	snprintf(sb->fpath, sizeof(sb->fpath), "%s", cfg->frontend_path);
	sb->cfg.path = sb->path;
	sb->cfg.frontend_path = sb->fpath;
	sb->st.state = XenbusStateInitialising; /* as the toolstack left it */
	sb->xs = sim_xs_mock_open(sim_xs(cfg->sim), cfg->self);
	SIM_ASSERT(sb->xs != NULL);
	sim_xs_mock_set_notify(sb->xs, sb_xs_notify, sb);
	r = sb_probe(sb);
	if (r) {
		scsiback_destroy(sb);
		return r;
	}
	*out = sb;
	return 0;
}

void scsiback_destroy(struct scsiback *sb)
{
	if (!sb)
		return;
	xs_close(sb->xs);
	if (sb_ring_connected(sb))
		sb_ring_disconnect(sb, false, false);
	for (unsigned i = 0; i < sb->st.held_maps; i++)
		sim_gnttab_unmap(sb->held[i]);
	free(sb->held);
	sb_luns_free(sb);
	free(sb);
}

void scsiback_stats(const struct scsiback *sb, struct scsiback_stats *st)
{
	struct sb_req *req;

	*st = sb->st;
	st->connected = sb_ring_connected(sb);
	st->in_service = 0;
	for (req = sb->service; req; req = req->next)
		st->in_service++;
	st->luns = 0;
	for (struct sb_lun *l = sb->luns; l; l = l->next)
		st->luns++;
}
