/*
 * Private to sim/xenstore: the store's types and the calls its files make
 * to each other. store.c owns the tree and the operations, txn.c the
 * transactions (a shared snapshot of the tree, an access set and an op log
 * replayed at commit), watch.c the watches and their queued events, and
 * xs_mock.c the libxenstore API on top. Nothing outside sim/xenstore/
 * includes this header.
 */
#ifndef SIM_XENSTORE_XS_INTERNAL_H
#define SIM_XENSTORE_XS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenstore.h"

/* Bounds, xenstored's defaults where it has one (see the README of
 * tools/xenstored: quota-max-transaction, quota-nb-watch-per-domain). */
#define SIM_XS_TXN_PER_DOMAIN 10u     /* more: -ENOSPC (xenstored) */
#define SIM_XS_TXN_DOM0_MAX 256u      /* dom0 is exempt in xenstored;
				       * this only catches leaks */
#define SIM_XS_WATCH_PER_DOMAIN 128u  /* more: -E2BIG (xenstored) */
#define SIM_XS_WATCH_DOM0_MAX 4096u   /* as above, leak catching only */
#define SIM_XS_WATCH_QUEUE_MAX 1024u  /* queued events per watch (XSA-349) */

/*
 * Nodes are shared between the live tree and the transactions' snapshots
 * (a persistent tree): a snapshot is the root with one more reference, and
 * whoever changes a node that is shared first replaces it, and its
 * ancestors, by private copies (store.c, own_prefix). So starting a
 * transaction costs O(1), and a change costs O(depth), not O(tree).
 */
struct sim_xs_node {
	unsigned refs; /* parents (and roots) pointing here; >1: shared */
	struct sim_xs_node **kids; /* sorted by name (strcmp) */
	unsigned nkids, kids_cap;
	char *val; /* len bytes, plus a NUL not counted */
	unsigned len;
	struct xs_permissions *perms; /* at least one entry */
	unsigned nperms;
	/* Last change to the value, the permissions or the list of children.
	 * Never 0: 0 stands for "absent" in a transaction's access set. */
	uint64_t gen;
	/* Most values are short and most nodes have one or two permission
	 * entries: those live here, not in allocations of their own. */
	char val_inline[24];
	struct xs_permissions perms_inline[2];
	struct sim_xs_node *kids_inline[4];
	unsigned name_len;
	char name[]; /* one path component; "" for the root */
};

enum sim_xs_op_kind {
	SIM_XS_OP_WRITE,
	SIM_XS_OP_MKDIR,
	SIM_XS_OP_RM,
	SIM_XS_OP_PERMS,
};

struct sim_xs_op {
	enum sim_xs_op_kind kind;
	char *path;
	char *val; /* WRITE */
	unsigned len;
	struct xs_permissions *perms; /* PERMS */
	unsigned nperms;
};

struct sim_xs_access {
	char *path;
	uint64_t gen; /* as first seen by the transaction; 0: absent */
};

struct sim_xs_txn {
	struct sim_xs_txn *next;
	uint32_t id;
	sim_domid dom;
	struct sim_xs_node *root; /* snapshot taken at start (shared) */
	struct sim_xs_access *acc;
	unsigned nacc, acc_cap;
	struct sim_xs_op *ops;
	unsigned nops, ops_cap;
};

struct sim_xs_watch {
	struct sim_xs_watch *prev, *next; /* registration order */
	sim_domid dom;
	char *path, *token;
	sim_xs_watch_fn *fn;
	void *arg;
	uint32_t client; /* sim_xs_watch_client; 0: none */
	unsigned queued; /* events scheduled and not yet delivered */
};

struct sim_xs_event {
	struct sim_xs_event *prev, *next; /* the store's pending list */
	struct sim_xs *xs;
	struct sim_xs_watch *watch;
	sim_event_id id;
	char *path, *token; /* copies: the callback may drop the watch */
};

struct sim_xs {
	struct sim *sim;
	struct sim_xs_node *root;
	uint64_t gen; /* last generation handed out */
	struct sim_xs_watch *watch_head, *watch_tail;
	struct sim_xs_event *ev_head, *ev_tail;
	struct sim_xs_txn *txns;
	uint32_t txn_next;
	uint32_t clients; /* the last number sim_xs_new_client gave */
	struct sim_xs_stats st;
};

/* The tree an operation works on: the live one (txn NULL) or a
 * transaction's snapshot. Only the live branch fires watches and traces.
 * A change may replace the root, hence the pointer to where it is kept. */
struct sim_xs_view {
	struct sim_xs *xs;
	struct sim_xs_node **rootp;
	struct sim_xs_txn *txn;
};

/* store.c */
/* Absolute, canonical, xenstored's characters, short enough: else -EINVAL. */
int sim_xs_path_check(const char *path);
unsigned sim_xs_perm_for(const struct xs_permissions *perms, unsigned num,
			 sim_domid dom);
struct sim_xs_node *sim_xs_lookup(struct sim_xs_node *root, const char *path);
/* The parent of the node at a valid path; NULL for "/" or if missing. */
struct sim_xs_node *sim_xs_parent_of(struct sim_xs_node *root,
				     const char *path);
/* A snapshot: n with one more reference. */
struct sim_xs_node *sim_xs_tree_share(struct sim_xs_node *n);
/* Drops a reference to n; frees what nobody else references. */
void sim_xs_tree_free(struct sim_xs_node *n);
uint64_t sim_xs_path_hash(const char *path);
int sim_xs_op_write(const struct sim_xs_view *v, sim_domid caller,
		    const char *path, const void *val, unsigned len);
int sim_xs_op_mkdir(const struct sim_xs_view *v, sim_domid caller,
		    const char *path);
int sim_xs_op_rm(const struct sim_xs_view *v, sim_domid caller,
		 const char *path);
int sim_xs_op_set_perms(const struct sim_xs_view *v, sim_domid caller,
			const char *path, const struct xs_permissions *perms,
			unsigned num);

/* txn.c */
int sim_xs_view_get(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		    struct sim_xs_view *v);
void sim_xs_txn_note(struct sim_xs_txn *t, const char *path, size_t len,
		     uint64_t gen);
void sim_xs_txn_log(struct sim_xs_txn *t, enum sim_xs_op_kind kind,
		    const char *path, const void *val, unsigned len,
		    const struct xs_permissions *perms, unsigned nperms);
void sim_xs_txns_free(struct sim_xs *xs);

/* watch.c */
bool sim_xs_path_is_special(const char *path);
/* Queue events for a change of path: exact, only watches on path itself;
 * otherwise watches on path or an ancestor. Only watchers that may read
 * node or its parent (or the node under its old permissions) are told. */
void sim_xs_fire(struct sim_xs *xs, const char *path, bool exact,
		 const struct sim_xs_node *node,
		 const struct xs_permissions *old, unsigned nold);
void sim_xs_watches_free(struct sim_xs *xs);

/* xs_mock.c: the store is going away; detach handles that use it. */
void sim_xs_mock_store_gone(struct sim_xs *xs);

#endif /* SIM_XENSTORE_XS_INTERNAL_H */
