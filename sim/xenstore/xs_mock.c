/*
 * Xen's libxenstore API (<xenstore.h>) implemented on the simulated store,
 * so backend models and toolstack code written against libxenstore run in
 * the simulator unchanged. It is compiled against the real header, which
 * checks every signature; the real library is never linked.
 *
 * A handle acts as one domain. Relative paths resolve against that
 * domain's home, /local/domain/<id>, and events of a relative watch report
 * relative paths, as with xenstored. Transactions belong to the handle
 * that started them and are aborted by xs_close. Watch events queue on the
 * handle (at most SIM_XS_MOCK_QUEUE_MAX; more are dropped and counted);
 * xs_fileno() is a pipe holding one byte per queued event, so poll() on it
 * works. xs_unwatch always behaves as with XS_UNWATCH_FILTER: queued events
 * of that watch are dropped.
 *
 * A plain caller cannot block in a simulation: xs_read_watch() with no
 * event queued returns NULL with errno EAGAIN, like xs_check_watch(). (A
 * later change may make it block when called inside a simulator task,
 * sim/core/task.h.) Errors follow libxenstore: NULL, false or XBT_NULL
 * with errno set; ENOTCONN once the handle's store has been destroyed.
 */
#include <xenstore.h> /* the real one: signatures checked against it */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xenstore.h"
#include "xs_internal.h"

#define SIM_XS_MOCK_QUEUE_MAX 1024u

struct sim_xs_mock_watch {
	struct sim_xs_mock_watch *next;
	struct xs_handle *h;
	char *abs; /* as registered with the store */
	char *token;
	bool relative;
};

struct sim_xs_mock_event {
	struct sim_xs_mock_event *next;
	char **vec; /* the block xs_read_watch hands out */
};

struct xs_handle {
	struct xs_handle *prev, *next; /* every open handle */
	struct sim_xs *xs;             /* NULL once the store is gone */
	sim_domid domid;
	struct sim_xs_mock_watch *watches;
	struct sim_xs_mock_event *ev_head, *ev_tail;
	unsigned nev;
	uint64_t dropped;
	int pipe[2]; /* -1 until xs_fileno() */
	uint32_t *txns;
	unsigned ntxns, txns_cap;
	sim_xs_mock_notify_fn *notify; /* sim_xs_mock_set_notify */
	void *notify_arg;
	sim_event_id notify_ev;        /* pending notification, or 0 */
	uint32_t client;               /* the store's name for it */
};

/* libxenstore has no context argument, so the mock keeps process state:
 * the list of open handles (to detach them when their store goes) and
 * the connection xs_open() makes. */
static struct xs_handle *mock_handles;
static struct sim_xs *mock_default_xs;
static sim_domid mock_default_domid;

void sim_xs_mock_set_default(struct sim_xs *xs, sim_domid domid)
{
	mock_default_xs = xs;
	mock_default_domid = domid;
}

/* ---- events -------------------------------------------------------------- */

static void pipe_put(struct xs_handle *h, unsigned n)
{
	static const char bytes[64];

	while (h->pipe[1] >= 0 && n) {
		unsigned chunk = n < sizeof(bytes) ? n : sizeof(bytes);
		ssize_t w = write(h->pipe[1], bytes, chunk);

		/* The queue bound keeps it far below a pipe's capacity. */
		SIM_ASSERT(w == (ssize_t)chunk);
		n -= chunk;
	}
}

static void pipe_take(struct xs_handle *h)
{
	char c;

	if (h->pipe[0] >= 0) {
		ssize_t r = read(h->pipe[0], &c, 1);

		SIM_ASSERT(r == 1);
	}
}

/* Two pointers, then the path and the token: one free() releases it. */
static char **vec_new(const char *path, const char *token)
{
	size_t plen = strlen(path) + 1, tlen = strlen(token) + 1;
	char **vec = sim_xmalloc(2 * sizeof(char *) + plen + tlen);

	vec[XS_WATCH_PATH] = (char *)(vec + 2);
	vec[XS_WATCH_TOKEN] = vec[XS_WATCH_PATH] + plen;
	memcpy(vec[XS_WATCH_PATH], path, plen);
	memcpy(vec[XS_WATCH_TOKEN], token, tlen);
	return vec;
}

static void notify_run(struct sim *sim, void *arg)
{
	struct xs_handle *h = arg;

	/* Cleared first: fn drains, and may close the handle. */
	h->notify_ev = 0;
	if (h->notify)
		h->notify(h->notify_arg);
}

/* One pending notification covers every event queued before it runs. */
static void notify_kick(struct xs_handle *h)
{
	if (h->notify && !h->notify_ev && h->nev && h->xs)
		h->notify_ev = sim_schedule(h->xs->sim, 0, notify_run, h,
					    "xs-mock-notify");
}

static void notify_cancel(struct xs_handle *h)
{
	if (h->notify_ev && h->xs)
		sim_cancel(h->xs->sim, h->notify_ev);
	h->notify_ev = 0;
}

void sim_xs_mock_set_notify(struct xs_handle *h, sim_xs_mock_notify_fn *fn,
			    void *arg)
{
	if (!h)
		return;
	h->notify = fn;
	h->notify_arg = arg;
	if (!fn)
		notify_cancel(h);
	notify_kick(h);
}

static void home_of(char *buf, size_t size, unsigned domid)
{
	snprintf(buf, size, "/local/domain/%u", domid);
}

static void mock_watch_fn(struct sim *sim, void *arg, const char *path,
			  const char *token)
{
	struct sim_xs_mock_watch *mw = arg;
	struct xs_handle *h = mw->h;
	struct sim_xs_mock_event *ev;
	char home[32];
	size_t hlen;

	if (h->nev >= SIM_XS_MOCK_QUEUE_MAX) {
		h->dropped++;
		return;
	}
	home_of(home, sizeof(home), h->domid);
	hlen = strlen(home);
	if (mw->relative && strncmp(path, home, hlen) == 0 &&
	    path[hlen] == '/')
		path += hlen + 1;
	ev = sim_xcalloc(1, sizeof(*ev));
	ev->vec = vec_new(path, token);
	if (h->ev_tail)
		h->ev_tail->next = ev;
	else
		h->ev_head = ev;
	h->ev_tail = ev;
	h->nev++;
	pipe_put(h, 1);
	notify_kick(h);
}

static char **event_take(struct xs_handle *h)
{
	struct sim_xs_mock_event *ev = h->ev_head;
	char **vec;

	if (!ev) {
		errno = EAGAIN;
		return NULL;
	}
	h->ev_head = ev->next;
	if (!h->ev_head)
		h->ev_tail = NULL;
	h->nev--;
	pipe_take(h);
	vec = ev->vec;
	free(ev);
	return vec;
}

/* Drops queued events of a removed watch (XS_UNWATCH_FILTER semantics:
 * same token, path at or below the watch's). */
static void events_filter(struct xs_handle *h, const char *wpath,
			  const char *token)
{
	struct sim_xs_mock_event **pp = &h->ev_head, *ev;
	size_t wlen = strlen(wpath);

	h->ev_tail = NULL;
	while ((ev = *pp) != NULL) {
		const char *p = ev->vec[XS_WATCH_PATH];

		if (strcmp(ev->vec[XS_WATCH_TOKEN], token) == 0 &&
		    strncmp(p, wpath, wlen) == 0 &&
		    (p[wlen] == '\0' || p[wlen] == '/')) {
			*pp = ev->next;
			h->nev--;
			pipe_take(h);
			free(ev->vec);
			free(ev);
			continue;
		}
		h->ev_tail = ev;
		pp = &ev->next;
	}
}

/* ---- handles ------------------------------------------------------------- */

struct xs_handle *sim_xs_mock_open(struct sim_xs *xs, sim_domid domid)
{
	struct xs_handle *h;

	if (!xs) {
		errno = EINVAL;
		return NULL;
	}
	h = sim_xcalloc(1, sizeof(*h));
	h->xs = xs;
	h->domid = domid;
	h->client = sim_xs_new_client(xs);
	h->pipe[0] = h->pipe[1] = -1;
	h->next = mock_handles;
	if (mock_handles)
		mock_handles->prev = h;
	mock_handles = h;
	return h;
}

struct xs_handle *xs_open(unsigned long flags)
{
	if (!mock_default_xs) {
		errno = EINVAL;
		return NULL;
	}
	return sim_xs_mock_open(mock_default_xs, mock_default_domid);
}

struct xs_handle *xs_daemon_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_domain_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_daemon_open_readonly(void)
{
	return xs_open(0);
}

static void watch_free(struct sim_xs_mock_watch *mw)
{
	free(mw->abs);
	free(mw->token);
	free(mw);
}

/* Drops the handle's watches and transactions in the store (if it is
 * still there) and in the handle. */
static void handle_detach(struct xs_handle *h, bool store_alive)
{
	/* Still reachable while the store goes: its sim outlives it. */
	notify_cancel(h);
	while (h->watches) {
		struct sim_xs_mock_watch *mw = h->watches;

		h->watches = mw->next;
		if (store_alive) {
			int r = sim_xs_unwatch(h->xs, h->domid, mw->abs,
					       mw->token, mw);
			SIM_ASSERT(r == 0);
		}
		watch_free(mw);
	}
	for (unsigned i = 0; store_alive && i < h->ntxns; i++)
		sim_xs_txn_end(h->xs, h->domid, h->txns[i], true);
	h->ntxns = 0;
	h->xs = NULL;
}

void sim_xs_mock_store_gone(struct sim_xs *xs)
{
	for (struct xs_handle *h = mock_handles; h; h = h->next)
		if (h->xs == xs)
			handle_detach(h, false);
	if (mock_default_xs == xs)
		mock_default_xs = NULL;
}

void xs_close(struct xs_handle *xsh)
{
	struct xs_handle *h = xsh;

	if (!h)
		return;
	if (h->xs)
		handle_detach(h, true);
	while (h->ev_head)
		free(event_take(h));
	if (h->pipe[0] >= 0) {
		close(h->pipe[0]);
		close(h->pipe[1]);
	}
	if (h->prev)
		h->prev->next = h->next;
	else
		mock_handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	free(h->txns);
	free(h);
}

void xs_daemon_close(struct xs_handle *h)
{
	xs_close(h);
}

/* ---- common checks ------------------------------------------------------- */

static int conn_check(struct xs_handle *h)
{
	if (!h)
		return -EINVAL;
	return h->xs ? 0 : -ENOTCONN;
}

/* Absolute paths (and "@..." ones) pass through; relative ones are taken
 * from the domain's home. The store validates the result. */
static int resolve(const struct xs_handle *h, const char *path, char *buf,
		   size_t size, const char **out, bool *relative)
{
	int n;

	if (!path)
		return -EINVAL;
	*relative = path[0] != '/' && path[0] != '@';
	*out = path;
	if (!*relative)
		return 0;
	if (strnlen(path, SIM_XS_REL_PATH_MAX + 1) > SIM_XS_REL_PATH_MAX)
		return -EINVAL;
	n = snprintf(buf, size, "/local/domain/%u/%s", h->domid, path);
	if (n < 0 || (size_t)n >= size)
		return -EINVAL;
	*out = buf;
	return 0;
}

/* A transaction id must be XBT_NULL or one this handle started. */
static int txn_check(const struct xs_handle *h, xs_transaction_t t)
{
	if (t == XBT_NULL)
		return 0;
	for (unsigned i = 0; i < h->ntxns; i++)
		if (h->txns[i] == t)
			return 0;
	return -ENOENT;
}

/* Connection, transaction and path checks shared by the tree calls. */
static int prepare(struct xs_handle *h, xs_transaction_t t, const char *path,
		   char *buf, size_t size, const char **abs)
{
	bool relative;
	int r = conn_check(h);

	if (!r)
		r = txn_check(h, t);
	if (!r)
		r = resolve(h, path, buf, size, abs, &relative);
	return r;
}

static bool fail(int r)
{
	errno = -r;
	return false;
}

static void *fail_null(int r)
{
	errno = -r;
	return NULL;
}

#define PATH_BUF (SIM_XS_ABS_PATH_MAX + 32)

/* ---- the tree ------------------------------------------------------------ */

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
	      unsigned int *len)
{
	char buf[PATH_BUF];
	const char *abs;
	char *val;
	unsigned l;
	int r = prepare(h, t, path, buf, sizeof(buf), &abs);

	if (!r)
		r = sim_xs_read(h->xs, h->domid, t, abs, &val, &l);
	if (r)
		return fail_null(r);
	if (len)
		*len = l;
	return val;
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
	      const void *data, unsigned int len)
{
	char buf[PATH_BUF];
	const char *abs;
	int r = prepare(h, t, path, buf, sizeof(buf), &abs);

	if (!r)
		r = sim_xs_write(h->xs, h->domid, t, abs, data, len);
	return r ? fail(r) : true;
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	char buf[PATH_BUF];
	const char *abs;
	int r = prepare(h, t, path, buf, sizeof(buf), &abs);

	if (!r)
		r = sim_xs_mkdir(h->xs, h->domid, t, abs);
	return r ? fail(r) : true;
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	char buf[PATH_BUF];
	const char *abs;
	int r = prepare(h, t, path, buf, sizeof(buf), &abs);

	if (!r)
		r = sim_xs_rm(h->xs, h->domid, t, abs);
	return r ? fail(r) : true;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t,
		    const char *path, unsigned int *num)
{
	char buf[PATH_BUF];
	const char *abs;
	char **names;
	int r = prepare(h, t, path, buf, sizeof(buf), &abs);

	if (!r)
		r = sim_xs_directory(h->xs, h->domid, t, abs, &names, num);
	if (r)
		return fail_null(r);
	return names;
}

struct xs_permissions *xs_get_permissions(struct xs_handle *h,
					  xs_transaction_t t,
					  const char *path, unsigned int *num)
{
	char buf[PATH_BUF];
	const char *abs;
	struct xs_permissions *perms;
	int r = prepare(h, t, path, buf, sizeof(buf), &abs);

	if (!r)
		r = sim_xs_get_perms(h->xs, h->domid, t, abs, &perms, num);
	if (r)
		return fail_null(r);
	return perms;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t,
			const char *path, struct xs_permissions *perms,
			unsigned int num_perms)
{
	char buf[PATH_BUF];
	const char *abs;
	int r = prepare(h, t, path, buf, sizeof(buf), &abs);

	if (!r)
		r = sim_xs_set_perms(h->xs, h->domid, t, abs, perms,
				     num_perms);
	return r ? fail(r) : true;
}

char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
	char buf[32];

	if (!h)
		return fail_null(-EINVAL);
	home_of(buf, sizeof(buf), domid);
	return sim_xstrdup(buf);
}

/* ---- transactions -------------------------------------------------------- */

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	uint32_t id;
	int r = conn_check(h);

	if (!r)
		r = sim_xs_txn_start(h->xs, h->domid, &id);
	if (r) {
		errno = -r;
		return XBT_NULL;
	}
	if (h->ntxns == h->txns_cap) {
		h->txns_cap = h->txns_cap ? 2 * h->txns_cap : 4;
		h->txns = realloc(h->txns, h->txns_cap * sizeof(*h->txns));
		SIM_ASSERT(h->txns != NULL);
	}
	h->txns[h->ntxns++] = id;
	return id;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	int r = conn_check(h);

	if (!r && t == XBT_NULL)
		r = -EINVAL;
	if (!r)
		r = txn_check(h, t);
	if (r)
		return fail(r);
	/* Ended either way, committed or not. */
	for (unsigned i = 0; i < h->ntxns; i++) {
		if (h->txns[i] == t) {
			h->txns[i] = h->txns[--h->ntxns];
			break;
		}
	}
	r = sim_xs_txn_end(h->xs, h->domid, t, abort);
	return r ? fail(r) : true;
}

/* ---- watches ------------------------------------------------------------- */

static struct sim_xs_mock_watch **watch_find(struct xs_handle *h,
					     const char *abs,
					     const char *token)
{
	struct sim_xs_mock_watch **pp = &h->watches;

	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->abs, abs) == 0 &&
		    strcmp((*pp)->token, token) == 0)
			return pp;
	return NULL;
}

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	char buf[PATH_BUF];
	const char *abs;
	struct sim_xs_mock_watch *mw;
	bool relative;
	int r = conn_check(h);

	if (!r)
		r = resolve(h, path, buf, sizeof(buf), &abs, &relative);
	if (!r && !token)
		r = -EINVAL;
	if (!r && watch_find(h, abs, token))
		r = -EEXIST;
	if (r)
		return fail(r);
	mw = sim_xcalloc(1, sizeof(*mw));
	mw->h = h;
	mw->abs = sim_xstrdup(abs);
	mw->token = sim_xstrdup(token);
	mw->relative = relative;
	r = sim_xs_watch_client(h->xs, h->domid, abs, token, mock_watch_fn,
				mw, h->client);
	if (r) {
		watch_free(mw);
		return fail(r);
	}
	mw->next = h->watches;
	h->watches = mw;
	return true;
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	char buf[PATH_BUF];
	const char *abs;
	struct sim_xs_mock_watch **pp = NULL, *mw;
	bool relative;
	int r = conn_check(h);

	if (!r)
		r = resolve(h, path, buf, sizeof(buf), &abs, &relative);
	if (!r && !token)
		r = -EINVAL;
	if (!r && !(pp = watch_find(h, abs, token)))
		r = -ENOENT;
	if (r)
		return fail(r);
	mw = *pp;
	*pp = mw->next;
	r = sim_xs_unwatch(h->xs, h->domid, mw->abs, mw->token, mw);
	SIM_ASSERT(r == 0);
	events_filter(h, path, token);
	watch_free(mw);
	return true;
}

int xs_fileno(struct xs_handle *h)
{
	if (!h) {
		errno = EINVAL;
		return -1;
	}
	if (h->pipe[0] < 0) {
		if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
			h->pipe[0] = h->pipe[1] = -1;
			return -1;
		}
		pipe_put(h, h->nev);
	}
	return h->pipe[0];
}

char **xs_check_watch(struct xs_handle *h)
{
	if (!h)
		return fail_null(-EINVAL);
	return event_take(h);
}

char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
	char **vec;

	if (!h)
		return fail_null(-EINVAL);
	vec = event_take(h);
	if (vec && num)
		*num = 2;
	return vec;
}
