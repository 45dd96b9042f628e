/*
 * Xenstore watches. A change queues one event per matching watch, each a
 * separate simulator event at delay 0, so callbacks never run inside the
 * call that caused them and run in the order of the changes (the run loop
 * is FIFO at equal times). Matching follows xenstored: a change of path
 * fires watches on path and its ancestors; rm also fires watches on each
 * removed descendant (store.c, rm_fire). A watcher is told only if it may
 * read the node or its parent, or could read it before a permission
 * change (xenstored's watch_permitted).
 *
 * Bounds (XSA-349: a guest must not make the store queue without limit):
 * at most SIM_XS_WATCH_QUEUE_MAX events wait per watch; more are dropped
 * and counted in sim_xs_stats.watch_dropped. Unwatching drops the events
 * still queued for that watch.
 */
#include "xenstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../trace/trace.h"
#include "xs_internal.h"

bool sim_xs_path_is_special(const char *path)
{
	return strcmp(path, "@introduceDomain") == 0 ||
	       strcmp(path, "@releaseDomain") == 0;
}

/* Is path the watched path or below it? ("/" covers every path.) */
static bool watch_covers(const char *watched, const char *path)
{
	size_t len = strlen(watched);

	if (strcmp(watched, "/") == 0)
		return path[0] == '/';
	return strncmp(path, watched, len) == 0 &&
	       (path[len] == '/' || path[len] == '\0');
}

static bool may_read(const struct xs_permissions *perms, unsigned num,
		     sim_domid dom)
{
	return sim_xs_perm_for(perms, num, dom) & XS_PERM_READ;
}

static bool permitted(sim_domid dom, const struct sim_xs_node *node,
		      const struct sim_xs_node *parent,
		      const struct xs_permissions *old, unsigned nold)
{
	if (!node) /* special events */
		return true;
	if (old && may_read(old, nold, dom))
		return true;
	if (may_read(node->perms, node->nperms, dom))
		return true;
	return parent && may_read(parent->perms, parent->nperms, dom);
}

static void ev_unlink(struct sim_xs *xs, struct sim_xs_event *ev)
{
	if (ev->prev)
		ev->prev->next = ev->next;
	else
		xs->ev_head = ev->next;
	if (ev->next)
		ev->next->prev = ev->prev;
	else
		xs->ev_tail = ev->prev;
	ev->watch->queued--;
}

static void ev_deliver(struct sim *sim, void *arg)
{
	struct sim_xs_event *ev = arg;
	struct sim_xs_watch *w = ev->watch;

	ev_unlink(ev->xs, ev);
	ev->xs->st.watch_events++;
	sim_rec_xs_watch_fire(sim, w->dom, ev->path, ev->token);
	/* The callback may unwatch (even this watch): ev is ours alone. */
	w->fn(sim, w->arg, ev->path, ev->token);
	free(ev);
}

static void ev_queue(struct sim_xs *xs, struct sim_xs_watch *w,
		     const char *path)
{
	size_t plen = strlen(path) + 1, tlen = strlen(w->token) + 1;
	struct sim_xs_event *ev;

	if (w->queued >= SIM_XS_WATCH_QUEUE_MAX) {
		xs->st.watch_dropped++;
		sim_trace(xs->sim, "xs-event-drop", sim_xs_path_hash(path),
			  w->dom);
		return;
	}
	/* One block: the event, then its path and token. */
	ev = sim_xcalloc(1, sizeof(*ev) + plen + tlen);
	ev->xs = xs;
	ev->watch = w;
	ev->path = (char *)(ev + 1);
	ev->token = ev->path + plen;
	memcpy(ev->path, path, plen);
	memcpy(ev->token, w->token, tlen);
	ev->prev = xs->ev_tail;
	if (xs->ev_tail)
		xs->ev_tail->next = ev;
	else
		xs->ev_head = ev;
	xs->ev_tail = ev;
	w->queued++;
	ev->id = sim_schedule(xs->sim, 0, ev_deliver, ev, "xs-watch-event");
}

void sim_xs_fire(struct sim_xs *xs, const char *path, bool exact,
		 const struct sim_xs_node *node,
		 const struct xs_permissions *old, unsigned nold)
{
	const struct sim_xs_node *parent =
		node ? sim_xs_parent_of(xs->root, path) : NULL;

	for (struct sim_xs_watch *w = xs->watch_head; w; w = w->next) {
		bool match = exact ? strcmp(w->path, path) == 0
				   : watch_covers(w->path, path);

		if (match && permitted(w->dom, node, parent, old, nold))
			ev_queue(xs, w, path);
	}
}

static struct sim_xs_watch *watch_find(struct sim_xs *xs, sim_domid dom,
				       const char *path, const char *token,
				       void *arg)
{
	for (struct sim_xs_watch *w = xs->watch_head; w; w = w->next)
		if (w->dom == dom && w->arg == arg &&
		    strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0)
			return w;
	return NULL;
}

static unsigned watches_of(const struct sim_xs *xs, sim_domid dom)
{
	unsigned n = 0;

	for (const struct sim_xs_watch *w = xs->watch_head; w; w = w->next)
		n += w->dom == dom;
	return n;
}

/* A valid absolute path or a special one; watch and token share the
 * payload of the wire message. */
static int watch_args_check(const char *path, const char *token)
{
	if (!path || !token)
		return -EINVAL;
	if (strnlen(path, SIM_XS_PAYLOAD_MAX) +
		    strnlen(token, SIM_XS_PAYLOAD_MAX) + 2 >
	    SIM_XS_PAYLOAD_MAX)
		return -E2BIG;
	return sim_xs_path_is_special(path) ? 0 : sim_xs_path_check(path);
}

int sim_xs_watch(struct sim_xs *xs, sim_domid caller, const char *path,
		 const char *token, sim_xs_watch_fn *fn, void *arg)
{
	return sim_xs_watch_client(xs, caller, path, token, fn, arg, 0);
}

uint32_t sim_xs_new_client(struct sim_xs *xs)
{
	SIM_ASSERT(xs != NULL);
	return ++xs->clients;
}

int sim_xs_watch_client(struct sim_xs *xs, sim_domid caller,
			const char *path, const char *token,
			sim_xs_watch_fn *fn, void *arg, uint32_t client)
{
	unsigned max = caller == SIM_DOMID_DOM0 ? SIM_XS_WATCH_DOM0_MAX
						: SIM_XS_WATCH_PER_DOMAIN;
	struct sim_xs_watch *w;
	int r;

	SIM_ASSERT(xs != NULL);
	r = watch_args_check(path, token);
	if (r || !fn)
		return r ? r : -EINVAL;
	if (watch_find(xs, caller, path, token, arg))
		return -EEXIST;
	/* xenstored's quota-nb-watch-per-domain refusal. */
	if (watches_of(xs, caller) >= max)
		return -E2BIG;
	w = sim_xcalloc(1, sizeof(*w));
	w->dom = caller;
	w->path = sim_xstrdup(path);
	w->token = sim_xstrdup(token);
	w->fn = fn;
	w->arg = arg;
	w->client = client;
	w->prev = xs->watch_tail;
	if (xs->watch_tail)
		xs->watch_tail->next = w;
	else
		xs->watch_head = w;
	xs->watch_tail = w;
	sim_trace(xs->sim, "xs-watch", sim_xs_path_hash(path), caller);
	sim_rec_xs_watch(xs->sim, caller, path, token, client, true);
	/* xenstored answers a new watch with one event for its path. */
	ev_queue(xs, w, path);
	return 0;
}

static void watch_unlink(struct sim_xs *xs, struct sim_xs_watch *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		xs->watch_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		xs->watch_tail = w->prev;
}

int sim_xs_unwatch(struct sim_xs *xs, sim_domid caller, const char *path,
		   const char *token, void *arg)
{
	struct sim_xs_watch *w;
	struct sim_xs_event *ev, *next;

	SIM_ASSERT(xs != NULL);
	if (!path || !token)
		return -EINVAL;
	w = watch_find(xs, caller, path, token, arg);
	if (!w)
		return -ENOENT;
	for (ev = xs->ev_head; ev && w->queued; ev = next) {
		next = ev->next;
		if (ev->watch != w)
			continue;
		bool cancelled = sim_cancel(xs->sim, ev->id);

		SIM_ASSERT(cancelled);
		ev_unlink(xs, ev);
		free(ev);
	}
	SIM_ASSERT(w->queued == 0);
	watch_unlink(xs, w);
	sim_trace(xs->sim, "xs-unwatch", sim_xs_path_hash(path), caller);
	sim_rec_xs_watch(xs->sim, caller, path, token, w->client, false);
	free(w->path);
	free(w->token);
	free(w);
	return 0;
}

int sim_xs_fire_special(struct sim_xs *xs, const char *special)
{
	SIM_ASSERT(xs != NULL);
	if (!special || !sim_xs_path_is_special(special))
		return -EINVAL;
	sim_trace(xs->sim, "xs-special", sim_xs_path_hash(special), 0);
	sim_xs_fire(xs, special, true, NULL, NULL, 0);
	return 0;
}

/* At destroy: the simulator frees pending events without running them,
 * so the records can simply go. */
void sim_xs_watches_free(struct sim_xs *xs)
{
	while (xs->ev_head) {
		struct sim_xs_event *ev = xs->ev_head;

		xs->ev_head = ev->next;
		free(ev);
	}
	xs->ev_tail = NULL;
	while (xs->watch_head) {
		struct sim_xs_watch *w = xs->watch_head;

		xs->watch_head = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	xs->watch_tail = NULL;
}
