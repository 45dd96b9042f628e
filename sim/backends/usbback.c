/*
 * The usbback model's lifecycle, xenbus side and ports: probe, the
 * reaction to each frontend state, connect, disconnect, resume,
 * unregister, and plug/unplug from the toolstack's port/<N> nodes. See
 * usbback.h for the behaviour; the rings are in usbback_ring.c, transfers
 * in usbback_xfer.c. All xenstore traffic goes through libxenstore calls
 * on the backend's own handle, woken by the mock's push notification.
 */
#include "usbback_impl.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "../xenstore/xenstore.h"

#define UB_TOKEN_FE	"usbback-fe"
#define UB_TOKEN_BE	"usbback-be"
#define UB_SWITCH_TRIES 8u /* EAGAIN retries of a state write */

/* Why a plug was refused (the trace's second field). */
enum ub_refuse {
	UB_REFUSE_BUSID,     /* no '-' in the bus id */
	UB_REFUSE_LOOKUP,    /* no such device */
	UB_REFUSE_ELSEWHERE, /* attached to another port */
	UB_REFUSE_SPEED,     /* high speed on a USB 1.1 controller */
	UB_REFUSE_BUSY,	     /* the port has a device */
};

void usbback_config_default(struct usbback_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->device_latency_ns = USBBACK_DEVICE_LATENCY_NS;
}

bool ub_parse_uint(const char *s, unsigned long long max,
		   unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return false;
	for (const char *p = s; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ---- xenstore helpers ---------------------------------------------------- */

static bool ub_join(char *buf, size_t size, const char *dir, const char *rel)
{
	int n = snprintf(buf, size, "%s/%s", dir, rel);

	return n > 0 && (size_t)n < size;
}

/* dir/rel, malloc'd, or NULL with errno set. */
static char *ub_read(struct usbback *ub, const char *dir, const char *rel)
{
	char p[UB_PATH_MAX + 32];

	if (!ub_join(p, sizeof(p), dir, rel)) {
		errno = EINVAL;
		return NULL;
	}
	return xs_read(ub->xs, XBT_NULL, p, NULL);
}

/* dir/rel as a strict decimal no larger than max. */
static int ub_read_uint(struct usbback *ub, const char *dir, const char *rel,
			unsigned long long max, unsigned long long *v)
{
	char *val = ub_read(ub, dir, rel);
	bool ok;

	if (!val)
		return -errno;
	ok = ub_parse_uint(val, max, v);
	free(val);
	return ok ? 0 : -EINVAL;
}

int ub_write_key(struct usbback *ub, const char *rel, const char *val)
{
	char p[UB_PATH_MAX + 32];

	if (!ub_join(p, sizeof(p), ub->path, rel))
		return -EINVAL;
	if (!xs_write(ub->xs, XBT_NULL, p, val, (unsigned)strlen(val)))
		return -errno;
	return 0;
}

/* 0 if the backend directory exists, else -errno (-ENOENT: removed). */
static int ub_dir_check(struct usbback *ub, xs_transaction_t t)
{
	char *val = xs_read(ub->xs, t, ub->path, NULL);

	if (!val)
		return -errno;
	free(val);
	return 0;
}

static int ub_write_state_once(struct usbback *ub, const char *node,
			       const char *val)
{
	xs_transaction_t t = xs_transaction_start(ub->xs);
	int r;

	if (t == XBT_NULL)
		return -errno;
	/* Checked inside the transaction, so a removed device is never
	 * re-created (Linux __xenbus_switch_state). */
	r = ub_dir_check(ub, t);
	if (!r && !xs_write(ub->xs, t, node, val, (unsigned)strlen(val)))
		r = -errno;
	if (r) {
		xs_transaction_end(ub->xs, t, true);
		return r;
	}
	return xs_transaction_end(ub->xs, t, false) ? 0 : -errno;
}

int ub_write_state(struct usbback *ub, int state)
{
	char node[UB_PATH_MAX + 16], val[16];
	int r = -EAGAIN;

	if (!ub_join(node, sizeof(node), ub->path, "state"))
		return -EINVAL;
	snprintf(val, sizeof(val), "%d", state);
	for (unsigned i = 0; i < UB_SWITCH_TRIES && r == -EAGAIN; i++)
		r = ub_write_state_once(ub, node, val);
	if (!r)
		ub->st.state = state;
	sim_trace(ub->sim, "usbback-state", ub->cfg.frontend,
		  (uint64_t)(unsigned)state << 32 | (uint32_t)-r);
	return r;
}

int ub_switch_state(struct usbback *ub, int state)
{
	int r;

	if (state == ub->st.state)
		return 0;
	r = ub_write_state(ub, state);
	if (!r)
		ub_inject_bad_state(ub);
	return r;
}

/* xenbus_dev_fatal: error/<nodename>/error = "<errno> <message>", then
 * Closing. The error node lives in the backend domain's home. */
static __attribute__((format(printf, 3, 4))) void
ub_fatal(struct usbback *ub, int err, const char *fmt, ...)
{
	char home[32], node[UB_PATH_MAX + 48], msg[160];
	const char *rel = ub->path;
	size_t hlen;
	va_list ap;
	int n;

	snprintf(home, sizeof(home), "/local/domain/%u/", ub->cfg.self);
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
	xs_write(ub->xs, XBT_NULL, node, msg, (unsigned)strlen(msg));
	ub->st.fatal_errors++;
	ub_switch_state(ub, XenbusStateClosing);
}

void ub_hold_map(struct usbback *ub, struct sim_grant_map *map)
{
	if (ub->st.held_maps == ub->held_cap) {
		ub->held_cap = ub->held_cap ? 2 * ub->held_cap : 8;
		ub->held = realloc(ub->held, ub->held_cap * sizeof(*ub->held));
		SIM_ASSERT(ub->held != NULL);
	}
	ub->held[ub->st.held_maps++] = map;
}

/* ---- ports --------------------------------------------------------------- */

void ub_addr_forget(struct usbback *ub, unsigned port)
{
	for (unsigned a = 0; a < UB_ADDRS; a++)
		if (ub->addr[a] == port)
			ub->addr[a] = 0;
}

void ub_port_reset(struct usbback *ub, unsigned port)
{
	struct ub_port *p = &ub->ports[port];

	SIM_ASSERT(p->dev != NULL);
	sim_usb_device_reset(p->dev);
	ub_addr_forget(ub, port);
	ub->st.port_resets++;
	sim_trace(ub->sim, "usbback-port-reset", port, p->speed);
}

static void ub_refuse(struct usbback *ub, unsigned port, enum ub_refuse why)
{
	ub->st.plug_refused++;
	sim_trace(ub->sim, "usbback-plug-refused", port, why);
}

/* The port the device is attached to, or 0. */
static unsigned ub_dev_port(const struct usbback *ub,
			    const struct sim_usb_device *dev)
{
	for (unsigned i = 1; i <= ub->nports; i++)
		if (ub->ports[i].dev == dev)
			return i;
	return 0;
}

/* qusb usbback_portid_add; speeds are numbered as usbif's. */
static void ub_plug(struct usbback *ub, unsigned port, const char *busid)
{
	struct ub_port *p = &ub->ports[port];
	struct sim_usb_device *dev;
	enum sim_usb_speed speed;

	if (!strchr(busid, '-')) {
		ub_refuse(ub, port, UB_REFUSE_BUSID);
		return;
	}
	dev = ub->cfg.lookup(ub->cfg.lookup_arg, busid);
	if (!dev) {
		ub_refuse(ub, port, UB_REFUSE_LOOKUP);
		return;
	}
	if (ub_dev_port(ub, dev)) {
		ub_refuse(ub, port, UB_REFUSE_ELSEWHERE);
		return;
	}
	speed = sim_usb_device_speed(dev);
	if (speed == SIM_USB_SPEED_HIGH && ub->usb_ver < USB_VER_USB20) {
		ub_refuse(ub, port, UB_REFUSE_SPEED);
		return;
	}
	p->dev = dev;
	p->speed = (uint8_t)speed;
	ub->st.plugs++;
	sim_trace(ub->sim, "usbback-plug", port, speed);
	ub_port_reset(ub, port);
	if (ub_ring_connected(ub)) {
		ub_conn_queue(ub, port, p->speed);
		ub_conn_kick(ub);
	}
}

/* qusb usbback_portid_remove: cancel what is in flight, then tell. */
static void ub_unplug(struct usbback *ub, unsigned port)
{
	struct ub_port *p = &ub->ports[port];

	if (!p->dev)
		return;
	ub_xfer_cancel_port(ub, port, USBIF_STATUS_IOERROR, true);
	ub_addr_forget(ub, port);
	p->dev = NULL;
	p->speed = USBIF_SPEED_NONE;
	ub->st.unplugs++;
	sim_trace(ub->sim, "usbback-unplug", port, 0);
	if (ub_ring_connected(ub)) {
		ub_conn_queue(ub, port, USBIF_SPEED_NONE);
		ub_conn_kick(ub);
	}
}

/* port/<N> is acted on only when it changed since it was last read, so a
 * refused value is not retried (and traced) on every rescan. */
static void ub_port_scan(struct usbback *ub, unsigned port)
{
	struct ub_port *p = &ub->ports[port];
	char rel[16];
	char *val;

	snprintf(rel, sizeof(rel), "port/%u", port);
	val = ub_read(ub, ub->path, rel);
	if (!val)
		return; /* unreadable: ignored, as qusb does */
	if (p->seen && strcmp(p->seen, val) == 0) {
		free(val);
		return;
	}
	free(p->seen);
	p->seen = val;
	if (!*val)
		ub_unplug(ub, port);
	else if (p->dev)
		ub_refuse(ub, port, UB_REFUSE_BUSY);
	else
		ub_plug(ub, port, val);
}

static void ub_ports_scan(struct usbback *ub)
{
	for (unsigned i = 1; i <= ub->nports; i++)
		ub_port_scan(ub, i);
}

/* ---- frontend states ----------------------------------------------------- */

/* The device is gone (the backend is unbound). */
static void ub_unregister(struct usbback *ub)
{
	char p[UB_PATH_MAX + 16];

	if (ub_ring_connected(ub))
		ub_ring_disconnect(ub, true, true);
	for (unsigned i = 1; i <= ub->nports; i++)
		ub->ports[i].dev = NULL;
	memset(ub->addr, 0, sizeof(ub->addr));
	ub->st.unregistered = true;
	if (ub_join(p, sizeof(p), ub->fpath, "state"))
		xs_unwatch(ub->xs, p, UB_TOKEN_FE);
	xs_unwatch(ub->xs, ub->path, UB_TOKEN_BE);
}

/* A resume: the old rings went away with the old frontend. Drop them and
 * look like a fresh backend, so the frontend sees us reach 4 again. */
static void ub_resume_drop(struct usbback *ub)
{
	ub_ring_disconnect(ub, false, true);
	ub->resuming = true;
	ub_switch_state(ub, XenbusStateInitWait);
}

static int ub_fe_keys(struct usbback *ub, unsigned long long *urb,
		      unsigned long long *conn, unsigned long long *port)
{
	int r = ub_read_uint(ub, ub->fpath, "urb-ring-ref", UINT32_MAX, urb);

	if (!r)
		r = ub_read_uint(ub, ub->fpath, "conn-ring-ref", UINT32_MAX,
				 conn);
	if (!r)
		r = ub_read_uint(ub, ub->fpath, "event-channel", UINT32_MAX,
				 port);
	return r;
}

/* FE 3 or 4 (legacy xen_be_try_initialise accepts both): connect as a
 * fresh controller; new rings while connected are a resume. */
static void ub_fe_connect(struct usbback *ub)
{
	unsigned long long urb, conn, port;
	int r = ub_fe_keys(ub, &urb, &conn, &port);

	if (r) {
		ub_fatal(ub, r, "reading %s rings", ub->fpath);
		return;
	}
	if (ub_ring_connected(ub)) {
		if (urb == ub->urb_ref && conn == ub->conn_ref &&
		    port == ub->fe_port)
			return; /* the same connection, seen again */
		ub_resume_drop(ub);
	}
	r = ub_ring_connect(ub, (uint32_t)urb, (uint32_t)conn, (uint32_t)port);
	if (r) {
		ub_fatal(ub, r,
			 "mapping rings %llu/%llu port %llu of domain %u", urb,
			 conn, port, ub->cfg.frontend);
		return;
	}
	if (ub->resuming) {
		ub->resuming = false;
		if (ub_inject_remove_after_resume(ub)) {
			ub_unregister(ub); /* as our watch would, at once */
			return;
		}
	}
	memset(ub->addr, 0, sizeof(ub->addr));
	for (unsigned i = 1; i <= ub->nports; i++) {
		if (!ub->ports[i].dev)
			continue;
		ub_port_reset(ub, i);
		ub_conn_queue(ub, i, ub->ports[i].speed);
	}
	ub_switch_state(ub, XenbusStateConnected);
	ub_ring_kick(ub); /* anything posted before we looked */
}

static void ub_fe_closing(struct usbback *ub)
{
	if (ub_ring_connected(ub))
		ub_ring_disconnect(ub, true, true);
	ub_switch_state(ub, XenbusStateClosing);
}

static bool ub_online(struct usbback *ub)
{
	unsigned long long v = 0;

	return !ub_read_uint(ub, ub->path, "online", INT_MAX, &v) && v != 0;
}

/* FE 6; a connected backend treats it as a missed Closing. */
static void ub_fe_closed(struct usbback *ub)
{
	if (ub_ring_connected(ub))
		ub_ring_disconnect(ub, true, true);
	ub_switch_state(ub, XenbusStateClosed);
	if (!ub_online(ub))
		ub_unregister(ub);
}

/* As xenbus_read_driver_state: Unknown (0) when unreadable or bogus. */
static int ub_fe_state(struct usbback *ub)
{
	unsigned long long v;

	if (ub_read_uint(ub, ub->fpath, "state", INT_MAX, &v))
		return XenbusStateUnknown;
	return (int)v;
}

static void ub_frontend_changed(struct usbback *ub)
{
	int fe = ub_fe_state(ub);

	sim_trace(ub->sim, "usbback-fe-state", ub->cfg.frontend,
		  (uint64_t)(unsigned)fe);
	switch (fe) {
	case XenbusStateUnknown:
		if (ub->fe_seen)
			ub_unregister(ub);
		return;
	case XenbusStateInitialising:
		if (ub_ring_connected(ub))
			ub_resume_drop(ub);
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		ub_fe_connect(ub);
		break;
	case XenbusStateClosing:
		ub_fe_closing(ub);
		break;
	case XenbusStateClosed:
		ub_fe_closed(ub);
		break;
	default:
		ub_fatal(ub, -EINVAL, "saw state %d at frontend", fe);
		break;
	}
	ub->fe_seen = true;
}

/* ---- watches ------------------------------------------------------------- */

/* path is port or below it: a toolstack plug or unplug. */
static bool ub_is_port_path(const struct usbback *ub, const char *path)
{
	size_t n = strlen(ub->path);

	return strncmp(path, ub->path, n) == 0 &&
	       strncmp(path + n, "/port", 5) == 0 &&
	       (path[n + 5] == '/' || path[n + 5] == '\0');
}

static void ub_watch_event(struct usbback *ub, const char *path,
			   const char *token)
{
	if (ub->st.unregistered)
		return;
	if (strcmp(token, UB_TOKEN_FE) == 0) {
		ub_frontend_changed(ub);
		return;
	}
	if (strcmp(token, UB_TOKEN_BE) != 0)
		return;
	if (strcmp(path, ub->path) == 0) {
		if (ub_dir_check(ub, XBT_NULL) == -ENOENT)
			ub_unregister(ub);
		return;
	}
	/* Any port write rescans them all (qusb does too): a change the
	 * store's bounded watch queue dropped is still seen. */
	if (ub_is_port_path(ub, path))
		ub_ports_scan(ub);
}

/* The mock's push notification. Handlers queue new events only through
 * later simulator events, so the bounded queue drains. */
static void ub_xs_notify(void *arg)
{
	struct usbback *ub = arg;
	char **vec;
	unsigned n;

	while ((vec = xs_read_watch(ub->xs, &n)) != NULL) {
		ub_watch_event(ub, vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN]);
		free(vec);
	}
}

/* ---- probe and teardown -------------------------------------------------- */

/* qusb usbback_init: both strictly, or the probe fails. */
static int ub_read_config(struct usbback *ub)
{
	unsigned long long ports, ver;
	int r = ub_read_uint(ub, ub->path, "num-ports", UB_PORTS, &ports);

	if (r || ports < 1) {
		ub_fatal(ub, r ? r : -EINVAL, "reading num-ports");
		return -EINVAL;
	}
	r = ub_read_uint(ub, ub->path, "usb-ver", USB_VER_USB20, &ver);
	if (r || ver < USB_VER_USB11) {
		ub_fatal(ub, r ? r : -EINVAL, "reading usb-ver");
		return -EINVAL;
	}
	ub->nports = (unsigned)ports;
	ub->usb_ver = (unsigned)ver;
	return 0;
}

static int ub_probe(struct usbback *ub)
{
	char p[UB_PATH_MAX + 16];
	int r;

	if (!ub_join(p, sizeof(p), ub->fpath, "state"))
		return -EINVAL;
	if (!xs_watch(ub->xs, p, UB_TOKEN_FE) ||
	    !xs_watch(ub->xs, ub->path, UB_TOKEN_BE))
		return -errno;
	if (ub_read_config(ub)) {
		ub_unregister(ub); /* the probe failed: never bound */
		return 0;
	}
	ub_inject_xs_config(ub);
	ub_write_key(ub, "hotplug-status", "connected");
	r = ub_switch_state(ub, XenbusStateInitWait);
	if (r)
		return r;
	ub->probed = true;
	ub_ports_scan(ub);
	return 0;
}

int usbback_create(const struct usbback_config *cfg, struct usbback **out)
{
	struct usbback *ub;
	int r;

	SIM_ASSERT(cfg->sim && cfg->path && cfg->frontend_path && cfg->lookup);
	if (strlen(cfg->path) >= UB_PATH_MAX ||
	    strlen(cfg->frontend_path) >= UB_PATH_MAX)
		return -EINVAL;
	if (!sim_domain_get(cfg->sim, cfg->self))
		return -ESRCH;
	ub = sim_xcalloc(1, sizeof(*ub));
	ub->cfg = *cfg;
	ub->sim = cfg->sim;
	ub->dom = sim_domain_get(cfg->sim, cfg->self);
	snprintf(ub->path, sizeof(ub->path), "%s", cfg->path);
	snprintf(ub->fpath, sizeof(ub->fpath), "%s", cfg->frontend_path);
	ub->cfg.path = ub->path;
	ub->cfg.frontend_path = ub->fpath;
	ub->st.state = XenbusStateInitialising; /* as the toolstack left it */
	ub->resuming = cfg->restored;
	ub->xs = sim_xs_mock_open(sim_xs(cfg->sim), cfg->self);
	SIM_ASSERT(ub->xs != NULL);
	sim_xs_mock_set_notify(ub->xs, ub_xs_notify, ub);
	r = ub_probe(ub);
	if (r) {
		usbback_destroy(ub);
		return r;
	}
	*out = ub;
	return 0;
}

void usbback_destroy(struct usbback *ub)
{
	if (!ub)
		return;
	xs_close(ub->xs);
	if (ub_ring_connected(ub))
		ub_ring_disconnect(ub, false, false);
	for (unsigned i = 0; i < ub->st.held_maps; i++)
		sim_gnttab_unmap(ub->held[i]);
	free(ub->held);
	for (unsigned i = 0; i <= UB_PORTS; i++)
		free(ub->ports[i].seen);
	free(ub);
}

void usbback_stats(const struct usbback *ub, struct usbback_stats *st)
{
	*st = ub->st;
	st->connected = ub_ring_connected(ub);
	st->conn_queued = ub->connq_len;
	st->attached = 0;
	for (unsigned i = 1; i <= ub->nports; i++)
		st->attached += ub->ports[i].dev != NULL;
}
