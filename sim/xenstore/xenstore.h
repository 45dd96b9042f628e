/*
 * The simulated xenstore: a tree of nodes with per-node permissions,
 * watches, and transactions, with xenstored's semantics and limits
 * (io/xs_wire.h). One store per simulation (SIM_PART_XS).
 *
 * Every call names the calling domain; domain 0 is privileged. Errors are
 * negative errno values (-ENOENT, -EACCES, -EINVAL, -E2BIG, -EAGAIN, ...).
 * Watch callbacks run as simulator events, never inside the call that
 * caused them, in the order the changes happened.
 *
 * Backend models and toolstack code do not call this directly: they use
 * Xen's own <xenstore.h> API, which sim/xenstore/xs_mock.c implements on
 * top of this store.
 */
#ifndef SIM_XENSTORE_XENSTORE_H
#define SIM_XENSTORE_XENSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include <xenstore_lib.h> /* struct xs_permissions, XS_PERM_* */

#include "../core/sim.h"
#include "../xen/xen.h"

#define SIM_XS_PAYLOAD_MAX 4096u  /* XENSTORE_PAYLOAD_MAX */
#define SIM_XS_ABS_PATH_MAX 3072u /* XENSTORE_ABS_PATH_MAX */
#define SIM_XS_REL_PATH_MAX 2048u /* XENSTORE_REL_PATH_MAX */

struct sim_xs;

/* The simulation's store, created and attached on first use. It starts
 * with "/", "/local", "/local/domain" owned by domain 0. */
struct sim_xs *sim_xs(struct sim *sim);

/* Paths are absolute. Values are bytes (not NUL-terminated on the wire);
 * *val is malloc'd with a NUL appended for convenience; free() it. */
int sim_xs_read(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		const char *path, char **val, unsigned *len);
/* Creates missing parents (owned as new nodes are: see set_perms). */
int sim_xs_write(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		 const char *path, const void *val, unsigned len);
int sim_xs_mkdir(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		 const char *path);
/* Removes the node and its subtree; -ENOENT if absent. */
int sim_xs_rm(struct sim_xs *xs, sim_domid caller, uint32_t txn,
	      const char *path);
/* *names: one malloc'd block (array of pointers, then the strings), as
 * xs_directory returns; free() it. Sorted by name. */
int sim_xs_directory(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, char ***names, unsigned *num);
/* Entry 0: owner and everyone else's permission; later entries: per
 * domain. A new node copies its parent's list with the owner set to the
 * creating domain (unless that is domain 0). *perms malloc'd. */
int sim_xs_get_perms(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, struct xs_permissions **perms,
		     unsigned *num);
int sim_xs_set_perms(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, const struct xs_permissions *perms,
		     unsigned num);

/* Transactions see a snapshot plus their own changes. End with abort=false
 * commits unless a node the transaction read or wrote changed meanwhile:
 * then -EAGAIN and nothing is applied. Transaction ids are never 0. */
int sim_xs_txn_start(struct sim_xs *xs, sim_domid caller, uint32_t *txn);
int sim_xs_txn_end(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		   bool abort);

/* A watch on path fires for changes to path and anything below it (and
 * for rm of an ancestor), once right after registration with path itself,
 * and reports the changed path and the token. Special paths
 * "@introduceDomain" and "@releaseDomain" are accepted. */
typedef void sim_xs_watch_fn(struct sim *sim, void *arg, const char *path,
			     const char *token);
int sim_xs_watch(struct sim_xs *xs, sim_domid caller, const char *path,
		 const char *token, sim_xs_watch_fn *fn, void *arg);
/* The same for a client of the store (a libxenstore connection,
 * xs_mock.c): the watches of one client share its event queue and its
 * notification, so the recorder names the client (XS_WATCH records) and a
 * replay can group them again. sim_xs_watch's watches have client 0: each
 * callback runs in its own event. */
int sim_xs_watch_client(struct sim_xs *xs, sim_domid caller,
			const char *path, const char *token,
			sim_xs_watch_fn *fn, void *arg, uint32_t client);
/* A number for a new client of xs: 1, 2, ... in the order asked. */
uint32_t sim_xs_new_client(struct sim_xs *xs);
/* Removes the watch registered with the same caller, path, token and arg;
 * events already queued for it are dropped. -ENOENT if none. */
int sim_xs_unwatch(struct sim_xs *xs, sim_domid caller, const char *path,
		   const char *token, void *arg);
/* Fires the watches on "@introduceDomain" or "@releaseDomain" (the Xen
 * model calls this as xenstored would); -EINVAL for any other path. */
int sim_xs_fire_special(struct sim_xs *xs, const char *special);

/* ---- helpers in xenbus terms ------------------------------------------- */

int sim_xs_printf(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		  const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Reads and parses a decimal; -EINVAL if the value is not one. */
int sim_xs_read_uint(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, unsigned long long *out);
/* Writes <dir>/state, in a transaction, only if <dir> exists (as Linux's
 * xenbus_switch_state); retries EAGAIN a bounded number of times. */
int sim_xenbus_switch_state(struct sim_xs *xs, sim_domid caller,
			    const char *dir, int state);
int sim_xenbus_read_state(struct sim_xs *xs, sim_domid caller,
			  const char *dir, int *state);

/* Counters for tests and reports. */
struct sim_xs_stats {
	uint64_t nodes, writes, watch_events, txn_commits, txn_conflicts;
	uint64_t watch_dropped; /* over the per-watch queue bound */
};
void sim_xs_stats(struct sim_xs *xs, struct sim_xs_stats *st);

/* ---- mock libxenstore (sim/xenstore/xs_mock.c) ------------------------- */
struct xs_handle;
/* xs_open() connects as this domain to this store; default domain 0 of the
 * store set last. */
void sim_xs_mock_set_default(struct sim_xs *xs, sim_domid domid);
/* An explicit connection acting as domid. */
struct xs_handle *sim_xs_mock_open(struct sim_xs *xs, sim_domid domid);

/* Push notification, the simulator's xenwatch thread: whenever a watch
 * event is queued on h, fn(arg) runs as a simulator event (delay 0, so
 * after the change that caused it), at most one pending at a time; fn
 * then drains with xs_read_watch() until it returns NULL (EAGAIN). Events
 * already queued when fn is set get a notification too. fn NULL turns it
 * off; xs_close() cancels a pending notification. */
typedef void sim_xs_mock_notify_fn(void *arg);
void sim_xs_mock_set_notify(struct xs_handle *h, sim_xs_mock_notify_fn *fn,
			    void *arg);

#endif /* SIM_XENSTORE_XENSTORE_H */
