/*
 * Xenstore transactions, optimistic as in xenstored: a transaction works on
 * a snapshot of the tree taken at start (shared with the live tree until
 * either side changes a node: xs_internal.h), notes every path whose state
 * it depended on (read, written, listed, found absent) with the node's
 * generation as first seen (0: absent), and logs its mutations. Commit
 * compares each noted generation with the live tree; any difference means
 * someone else changed, created or removed that node, and the commit fails
 * with -EAGAIN having applied nothing. Otherwise the log is replayed on the
 * live tree, which fires the watches then.
 *
 * Replay cannot fail: every node an operation's outcome
 * depends on was noted and is unchanged, so it is asserted.
 */
#include "xenstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fault.h"
#include "xs_internal.h"

static struct sim_xs_txn *txn_find(struct sim_xs *xs, sim_domid dom,
				   uint32_t id, struct sim_xs_txn ***link)
{
	struct sim_xs_txn **pp = &xs->txns;

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id && (*pp)->dom == dom) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

int sim_xs_view_get(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		    struct sim_xs_view *v)
{
	SIM_ASSERT(xs != NULL);
	v->xs = xs;
	v->txn = NULL;
	v->rootp = &xs->root;
	if (txn == 0)
		return 0;
	/* Another domain's transaction id is as unknown as a stale one. */
	v->txn = txn_find(xs, caller, txn, NULL);
	if (!v->txn)
		return -ENOENT;
	v->rootp = &v->txn->root;
	return 0;
}

void sim_xs_txn_note(struct sim_xs_txn *t, const char *path, size_t len,
		     uint64_t gen)
{
	struct sim_xs_access *a;

	if (!t)
		return;
	/* The first look counts: later ones may see the transaction's own
	 * changes. Linear search: transactions touch few nodes. */
	for (unsigned i = 0; i < t->nacc; i++)
		if (strlen(t->acc[i].path) == len &&
		    memcmp(t->acc[i].path, path, len) == 0)
			return;
	if (t->nacc == t->acc_cap) {
		t->acc_cap = t->acc_cap ? 2 * t->acc_cap : 8;
		t->acc = realloc(t->acc, t->acc_cap * sizeof(*t->acc));
		SIM_ASSERT(t->acc != NULL);
	}
	a = &t->acc[t->nacc++];
	a->path = sim_xmalloc(len + 1);
	memcpy(a->path, path, len);
	a->path[len] = '\0';
	a->gen = gen;
}

void sim_xs_txn_log(struct sim_xs_txn *t, enum sim_xs_op_kind kind,
		    const char *path, const void *val, unsigned len,
		    const struct xs_permissions *perms, unsigned nperms)
{
	struct sim_xs_op *op;

	SIM_ASSERT(t != NULL);
	if (t->nops == t->ops_cap) {
		t->ops_cap = t->ops_cap ? 2 * t->ops_cap : 8;
		t->ops = realloc(t->ops, t->ops_cap * sizeof(*t->ops));
		SIM_ASSERT(t->ops != NULL);
	}
	op = &t->ops[t->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->path = sim_xstrdup(path);
	if (kind == SIM_XS_OP_WRITE) {
		op->val = sim_xmalloc(len + 1);
		if (len)
			memcpy(op->val, val, len);
		op->len = len;
	}
	if (kind == SIM_XS_OP_PERMS) {
		op->perms = sim_xmalloc(nperms * sizeof(*perms));
		memcpy(op->perms, perms, nperms * sizeof(*perms));
		op->nperms = nperms;
	}
}

static void txn_free(struct sim_xs_txn *t)
{
	for (unsigned i = 0; i < t->nacc; i++)
		free(t->acc[i].path);
	for (unsigned i = 0; i < t->nops; i++) {
		free(t->ops[i].path);
		free(t->ops[i].val);
		free(t->ops[i].perms);
	}
	free(t->acc);
	free(t->ops);
	sim_xs_tree_free(t->root);
	free(t);
}

void sim_xs_txns_free(struct sim_xs *xs)
{
	while (xs->txns) {
		struct sim_xs_txn *t = xs->txns;

		xs->txns = t->next;
		txn_free(t);
	}
}

static unsigned txns_of(const struct sim_xs *xs, sim_domid dom)
{
	unsigned n = 0;

	for (const struct sim_xs_txn *t = xs->txns; t; t = t->next)
		n += t->dom == dom;
	return n;
}

/* Next free id: never 0, never one in use. */
static uint32_t txn_id_next(struct sim_xs *xs)
{
	for (;;) {
		uint32_t id = xs->txn_next++;
		bool used = false;

		if (id == 0)
			continue;
		for (const struct sim_xs_txn *t = xs->txns; t; t = t->next)
			used |= t->id == id;
		if (!used)
			return id;
	}
}

int sim_xs_txn_start(struct sim_xs *xs, sim_domid caller, uint32_t *txn)
{
	unsigned max = caller == SIM_DOMID_DOM0 ? SIM_XS_TXN_DOM0_MAX
						: SIM_XS_TXN_PER_DOMAIN;
	struct sim_xs_txn *t;

	SIM_ASSERT(xs != NULL);
	if (!txn)
		return -EINVAL;
	/* xenstored's quota-max-transaction refusal. */
	if (txns_of(xs, caller) >= max)
		return -ENOSPC;
	t = sim_xcalloc(1, sizeof(*t));
	t->id = txn_id_next(xs);
	t->dom = caller;
	t->root = sim_xs_tree_share(xs->root);
	t->next = xs->txns;
	xs->txns = t;
	sim_trace(xs->sim, "xs-txn-start", t->id, caller);
	*txn = t->id;
	return 0;
}

static bool txn_valid(struct sim_xs *xs, const struct sim_xs_txn *t)
{
	for (unsigned i = 0; i < t->nacc; i++) {
		const struct sim_xs_node *n =
			sim_xs_lookup(xs->root, t->acc[i].path);

		if ((n ? n->gen : 0) != t->acc[i].gen)
			return false;
	}
	return true;
}

static void txn_replay(struct sim_xs *xs, const struct sim_xs_txn *t)
{
	struct sim_xs_view live = { .xs = xs, .rootp = &xs->root };

	for (unsigned i = 0; i < t->nops; i++) {
		const struct sim_xs_op *op = &t->ops[i];
		int r = -1;

		switch (op->kind) {
		case SIM_XS_OP_WRITE:
			r = sim_xs_op_write(&live, t->dom, op->path, op->val,
					    op->len);
			break;
		case SIM_XS_OP_MKDIR:
			r = sim_xs_op_mkdir(&live, t->dom, op->path);
			break;
		case SIM_XS_OP_RM:
			r = sim_xs_op_rm(&live, t->dom, op->path);
			break;
		case SIM_XS_OP_PERMS:
			r = sim_xs_op_set_perms(&live, t->dom, op->path,
						op->perms, op->nperms);
			break;
		}
		SIM_ASSERT(r == 0);
	}
}

int sim_xs_txn_end(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		   bool abort)
{
	struct sim_xs_txn **link;
	struct sim_xs_txn *t;

	SIM_ASSERT(xs != NULL);
	t = txn == 0 ? NULL : txn_find(xs, caller, txn, &link);
	if (!t)
		return -ENOENT;
	*link = t->next;
	if (abort) {
		sim_trace(xs->sim, "xs-txn-abort", t->id, caller);
		txn_free(t);
		return 0;
	}
	/* Injection point: a conflict that did not happen, which a client
	 * must handle exactly like a real one (counted as one too). */
	if (sim_fault_hit_dom(sim_faults(xs->sim), SIM_FAULT_XS_EAGAIN,
			      caller) ||
	    !txn_valid(xs, t)) {
		xs->st.txn_conflicts++;
		sim_trace(xs->sim, "xs-txn-conflict", t->id, caller);
		txn_free(t);
		return -EAGAIN;
	}
	txn_replay(xs, t);
	xs->st.txn_commits++;
	sim_trace(xs->sim, "xs-txn-commit", t->id, t->nops);
	txn_free(t);
	return 0;
}
