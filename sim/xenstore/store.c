/*
 * The simulated xenstore: the node tree, xenstored's path and permission
 * rules, and the operations of xenstore.h.
 *
 * Each operation is written once against a view (xs_internal.h): the live
 * tree, or a transaction's private copy. On a copy it notes every node its
 * result depends on (sim_xs_txn_note) and logs itself; txn.c replays the
 * log on the live tree at commit. On the live tree it traces, counts and
 * fires watches. To add an operation: validate input in the public wrapper
 * (bad input is an error return, never an assert), then follow the shape
 * of sim_xs_op_write below.
 */
#include "xenstore.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/fault.h"
#include "../trace/trace.h"
#include "xs_internal.h"

/* ---- paths --------------------------------------------------------------- */

uint64_t sim_xs_path_hash(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* xenstored's valid_chars(): letters, digits, "/_-@"; no '.', no space,
 * nothing else. A table: every xenstore call checks its path. */
#define PATH_CHARS_RANGE(lo, hi) [lo ... hi] = true
static const bool path_chars[256] = {
	PATH_CHARS_RANGE('a', 'z'), PATH_CHARS_RANGE('A', 'Z'),
	PATH_CHARS_RANGE('0', '9'), ['/'] = true, ['_'] = true,
	['-'] = true, ['@'] = true,
};

static bool path_char_ok(char c)
{
	return path_chars[(unsigned char)c];
}

/* Absolute, canonical (no empty component, no trailing '/'), short enough
 * and made of xenstored's characters; -EINVAL otherwise. */
int sim_xs_path_check(const char *path)
{
	size_t len;

	if (!path || path[0] != '/')
		return -EINVAL;
	len = strnlen(path, SIM_XS_ABS_PATH_MAX + 1);
	if (len > SIM_XS_ABS_PATH_MAX)
		return -EINVAL;
	if (len > 1 && path[len - 1] == '/')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!path_char_ok(path[i]))
			return -EINVAL;
		if (path[i] == '/' && i > 0 && path[i - 1] == '/')
			return -EINVAL;
	}
	return 0;
}

/* ---- nodes --------------------------------------------------------------- */

unsigned sim_xs_perm_for(const struct xs_permissions *perms, unsigned num,
			 sim_domid dom)
{
	SIM_ASSERT(num >= 1);
	/* xenstored's perm_for_conn(): privileged and owner get everything;
	 * else the first entry naming the domain, else everyone's. */
	if (dom == SIM_DOMID_DOM0 || perms[0].id == dom)
		return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
	for (unsigned i = 1; i < num; i++)
		if (perms[i].id == dom)
			return perms[i].perms;
	return perms[0].perms;
}

static bool may(const struct sim_xs_node *n, sim_domid dom, unsigned perm)
{
	return (sim_xs_perm_for(n->perms, n->nperms, dom) & perm) == perm;
}

static struct xs_permissions *perms_dup(const struct xs_permissions *p,
					unsigned num)
{
	struct xs_permissions *c = sim_xmalloc(num * sizeof(*c));

	memcpy(c, p, num * sizeof(*c));
	return c;
}

/* Replaces n's value by len bytes of val (NULL: empty). */
static void node_set_val(struct sim_xs_node *n, const void *val, unsigned len)
{
	if (n->val != n->val_inline)
		free(n->val);
	n->val = len < sizeof(n->val_inline) ? n->val_inline
					     : sim_xmalloc(len + 1);
	if (len)
		memcpy(n->val, val, len);
	n->val[len] = '\0';
	n->len = len;
}

static void node_set_perms(struct sim_xs_node *n,
			   const struct xs_permissions *perms, unsigned num)
{
	SIM_ASSERT(num >= 1);
	if (n->perms != n->perms_inline)
		free(n->perms);
	n->perms = num <= 2 ? n->perms_inline : sim_xmalloc(num * sizeof(*perms));
	memcpy(n->perms, perms, num * sizeof(*perms));
	n->nperms = num;
}

static struct sim_xs_node *node_new(const char *name, size_t len,
				    const struct xs_permissions *perms,
				    unsigned nperms)
{
	struct sim_xs_node *n = sim_xcalloc(1, sizeof(*n) + len + 1);

	memcpy(n->name, name, len);
	n->name[len] = '\0';
	n->name_len = (unsigned)len;
	n->refs = 1;
	n->val = n->val_inline;
	n->perms = n->perms_inline;
	n->kids = n->kids_inline;
	n->kids_cap = sizeof(n->kids_inline) / sizeof(n->kids_inline[0]);
	node_set_perms(n, perms, nperms);
	return n;
}

/* Drops one reference; frees n, and drops its children's, on the last. */
static void node_unref(struct sim_xs_node *n)
{
	SIM_ASSERT(n->refs > 0);
	if (--n->refs)
		return;
	for (unsigned i = 0; i < n->nkids; i++)
		node_unref(n->kids[i]);
	if (n->val != n->val_inline)
		free(n->val);
	if (n->perms != n->perms_inline)
		free(n->perms);
	if (n->kids != n->kids_inline)
		free(n->kids);
	free(n);
}

/* How many nodes the subtree at n holds. */
static uint64_t subtree_count(const struct sim_xs_node *n)
{
	uint64_t count = 1;

	for (unsigned i = 0; i < n->nkids; i++)
		count += subtree_count(n->kids[i]);
	return count;
}

void sim_xs_tree_free(struct sim_xs_node *n)
{
	if (n)
		node_unref(n);
}

struct sim_xs_node *sim_xs_tree_share(struct sim_xs_node *n)
{
	SIM_ASSERT(n != NULL && n->refs > 0);
	n->refs++;
	return n;
}

/* A private copy of shared node n: same name, value, permissions and
 * generation; the children are shared one level further down. */
static struct sim_xs_node *node_clone(struct sim_xs_node *n)
{
	struct sim_xs_node *c = node_new(n->name, n->name_len, n->perms,
					 n->nperms);

	node_set_val(c, n->val, n->len);
	c->gen = n->gen;
	if (n->nkids > c->kids_cap) {
		c->kids_cap = n->nkids;
		c->kids = sim_xmalloc(n->nkids * sizeof(*c->kids));
	}
	for (unsigned i = 0; i < n->nkids; i++) {
		c->kids[i] = n->kids[i];
		c->kids[i]->refs++;
	}
	c->nkids = n->nkids;
	return c;
}

/* The node *slot points at, made private to the tree holding slot (whose
 * own node must already be private). */
static struct sim_xs_node *own(struct sim_xs_node **slot)
{
	struct sim_xs_node *n = *slot;

	if (n->refs == 1)
		return n;
	*slot = node_clone(n);
	node_unref(n);
	return *slot;
}

/* The sign of strcmp(n's name, the first blen bytes of b as a string):
 * path components hold no NUL, so memcmp and the lengths decide. */
static int name_cmp(const struct sim_xs_node *n, const char *b, size_t blen)
{
	size_t alen = n->name_len;
	int r;

	/* Siblings mostly differ in their first byte: decide those here. */
	if (alen && blen && n->name[0] != b[0])
		return (unsigned char)n->name[0] - (unsigned char)b[0];
	r = memcmp(n->name, b, alen < blen ? alen : blen);

	if (r)
		return r;
	return (alen > blen) - (alen < blen);
}

/* Index of the child called name, or where it would be inserted. */
static unsigned kid_pos(const struct sim_xs_node *n, const char *name,
			size_t len, bool *found)
{
	unsigned lo = 0, hi = n->nkids;

	*found = false;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int r = name_cmp(n->kids[mid], name, len);

		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void kid_insert(struct sim_xs_node *parent, struct sim_xs_node *kid)
{
	bool found;
	unsigned pos = kid_pos(parent, kid->name, kid->name_len, &found);

	SIM_ASSERT(!found);
	if (parent->nkids == parent->kids_cap) {
		struct sim_xs_node **kids = sim_xmalloc(2 * parent->kids_cap *
							sizeof(*kids));

		memcpy(kids, parent->kids, parent->nkids * sizeof(*kids));
		if (parent->kids != parent->kids_inline)
			free(parent->kids);
		parent->kids = kids;
		parent->kids_cap *= 2;
	}
	memmove(&parent->kids[pos + 1], &parent->kids[pos],
		(parent->nkids - pos) * sizeof(*parent->kids));
	parent->kids[pos] = kid;
	parent->nkids++;
}

static void kid_remove(struct sim_xs_node *parent, struct sim_xs_node *kid)
{
	bool found;
	unsigned pos = kid_pos(parent, kid->name, kid->name_len, &found);

	SIM_ASSERT(found && parent->kids[pos] == kid);
	memmove(&parent->kids[pos], &parent->kids[pos + 1],
		(parent->nkids - pos - 1) * sizeof(*parent->kids));
	parent->nkids--;
}

/* The deepest existing node on a valid path; *rest points at the first
 * missing component ("" when the whole path exists). */
/* The end of the path component starting at p. */
static const char *component_end(const char *p)
{
	while (*p && *p != '/')
		p++;
	return p;
}

/* The child positions walk_trail() went through, so that a change can
 * make that path private without searching it again. */
#define TRAIL_MAX 32

struct trail {
	unsigned depth;   /* components matched */
	unsigned pos[TRAIL_MAX];
};

/* As walk(); with t, also the trail (depth beyond TRAIL_MAX counted but
 * not recorded). */
static struct sim_xs_node *walk_trail(struct sim_xs_node *root,
				      const char *path, const char **rest,
				      struct trail *t)
{
	struct sim_xs_node *n = root;
	const char *p = path + 1;

	if (t)
		t->depth = 0;
	while (*p) {
		const char *end = component_end(p);
		bool found;
		unsigned pos = kid_pos(n, p, (size_t)(end - p), &found);

		if (!found)
			break;
		if (t && t->depth < TRAIL_MAX)
			t->pos[t->depth] = pos;
		if (t)
			t->depth++;
		n = n->kids[pos];
		p = *end ? end + 1 : end;
	}
	*rest = p;
	return n;
}

static struct sim_xs_node *walk(struct sim_xs_node *root, const char *path,
				const char **rest)
{
	return walk_trail(root, path, rest, NULL);
}

/* The node named by the first len bytes of a valid path, or NULL. With
 * make_own, the node must exist and it and its ancestors are made private
 * to the tree at *rootp: only for changing that node, as the copies made
 * of shared nodes are the price of a change. */
static struct sim_xs_node *prefix_walk(struct sim_xs_node **rootp,
				       const char *path, size_t len,
				       bool make_own)
{
	struct sim_xs_node *n = make_own ? own(rootp) : *rootp;
	const char *p = path + 1, *stop = path + len;

	SIM_ASSERT(len >= 1 && len <= strlen(path));
	while (p < stop) {
		const char *end = component_end(p);
		bool found;
		unsigned pos;

		if (end > stop)
			end = stop;
		pos = kid_pos(n, p, (size_t)(end - p), &found);
		if (!found) {
			SIM_ASSERT(!make_own);
			return NULL;
		}
		n = make_own ? own(&n->kids[pos]) : n->kids[pos];
		p = end < stop ? end + 1 : end;
	}
	return n;
}

static struct sim_xs_node *own_prefix(const struct sim_xs_view *v,
				      const char *path, size_t len)
{
	return prefix_walk(v->rootp, path, len, true);
}

/* own_prefix() for the node at depth on a trail walk_trail() recorded in
 * this view just before (nothing changed the tree since), whose path is
 * the first len bytes of path. */
static struct sim_xs_node *own_trail(const struct sim_xs_view *v,
				     const struct trail *t, unsigned depth,
				     const char *path, size_t len)
{
	struct sim_xs_node *n;

	SIM_ASSERT(depth <= t->depth);
	if (depth > TRAIL_MAX)
		return own_prefix(v, path, len);
	n = own(v->rootp);
	for (unsigned i = 0; i < depth; i++)
		n = own(&n->kids[t->pos[i]]);
	return n;
}

struct sim_xs_node *sim_xs_lookup(struct sim_xs_node *root, const char *path)
{
	const char *rest;
	struct sim_xs_node *n = walk(root, path, &rest);

	return *rest ? NULL : n;
}

struct sim_xs_node *sim_xs_parent_of(struct sim_xs_node *root,
				     const char *path)
{
	size_t len = (size_t)(strrchr(path, '/') - path);

	if (!path[1])
		return NULL;
	return prefix_walk(&root, path, len ? len : 1, false);
}

/* Length of the path prefix that names the node walk() stopped at. */
static size_t prefix_len(const char *path, const char *rest)
{
	size_t len = (size_t)(rest - path);

	if (!*rest)
		return strlen(path);
	return len > 1 ? len - 1 : 1;
}

static void touch(const struct sim_xs_view *v, struct sim_xs_node *n)
{
	n->gen = ++v->xs->gen;
}

static void note(const struct sim_xs_view *v, const char *path, size_t len,
		 const struct sim_xs_node *n)
{
	if (v->txn)
		sim_xs_txn_note(v->txn, path, len, n ? n->gen : 0);
}

/* A missing node is -ENOENT only to a caller who may read the deepest
 * existing ancestor; to others -EACCES, so absence does not leak
 * (xenstored's errno_from_parents). */
static int missing(const struct sim_xs_view *v, sim_domid caller,
		   const char *path, const struct sim_xs_node *anc)
{
	note(v, path, strlen(path), NULL);
	return may(anc, caller, XS_PERM_READ) ? -ENOENT : -EACCES;
}

/* Creates the missing components `rest` (a suffix of path) below anc.
 * Each new node copies its parent's permissions, owned by the caller
 * unless that is dom0. In a transaction each new component is noted as
 * absent first: a later look at it inside the same transaction sees the
 * transaction's own node, which must not count as a conflict. */
static struct sim_xs_node *create_below(const struct sim_xs_view *v,
					sim_domid caller,
					struct sim_xs_node *anc,
					const char *path, const char *rest)
{
	struct sim_xs_node *n = anc;

	SIM_ASSERT(*rest);
	while (*rest) {
		const char *end = strchrnul(rest, '/');
		struct sim_xs_node *kid = node_new(rest, (size_t)(end - rest),
						   n->perms, n->nperms);

		if (caller != SIM_DOMID_DOM0)
			kid->perms[0].id = caller;
		note(v, path, (size_t)(end - path), NULL);
		kid_insert(n, kid);
		touch(v, n);
		touch(v, kid);
		if (!v->txn)
			v->xs->st.nodes++;
		n = kid;
		rest = *end ? end + 1 : end;
	}
	return n;
}

/* Finds path, creating it (and missing parents) if allowed. */
static int find_or_create(const struct sim_xs_view *v, sim_domid caller,
			  const char *path, struct sim_xs_node **out,
			  bool *created)
{
	const char *rest;
	struct trail t;
	struct sim_xs_node *n = walk_trail(*v->rootp, path, &rest, &t);
	size_t found_len = prefix_len(path, rest);

	note(v, path, found_len, n);
	*created = *rest != '\0';
	if (*created)
		note(v, path, strlen(path), NULL);
	/* Creating needs write access to the deepest existing ancestor. */
	if (!may(n, caller, XS_PERM_WRITE))
		return -EACCES;
	n = own_trail(v, &t, t.depth, path, found_len);
	if (*created)
		n = create_below(v, caller, n, path, rest);
	*out = n;
	return 0;
}

/* ---- operations (shared by the live tree and transactions) --------------- */

int sim_xs_op_write(const struct sim_xs_view *v, sim_domid caller,
		    const char *path, const void *val, unsigned len)
{
	struct sim_xs_node *n;
	bool created;
	int r = find_or_create(v, caller, path, &n, &created);

	if (r)
		return r;
	node_set_val(n, val, len);
	touch(v, n);
	if (v->txn) {
		sim_xs_txn_log(v->txn, SIM_XS_OP_WRITE, path, val, len, NULL,
			       0);
		return 0;
	}
	v->xs->st.writes++;
	sim_trace(v->xs->sim, "xs-write", sim_xs_path_hash(path), len);
	sim_rec_xs_write(v->xs->sim, caller, path, val, len);
	sim_xs_fire(v->xs, path, false, n, NULL, 0);
	return 0;
}

int sim_xs_op_mkdir(const struct sim_xs_view *v, sim_domid caller,
		    const char *path)
{
	struct sim_xs_node *n;
	bool created;
	int r = find_or_create(v, caller, path, &n, &created);

	/* An existing node is fine, if the caller may write it
	 * (xenstored's do_mkdir); nothing changes then. */
	if (r || !created)
		return r;
	if (v->txn) {
		sim_xs_txn_log(v->txn, SIM_XS_OP_MKDIR, path, NULL, 0, NULL, 0);
		return 0;
	}
	sim_trace(v->xs->sim, "xs-mkdir", sim_xs_path_hash(path), 0);
	sim_rec_xs_mkdir(v->xs->sim, caller, path);
	sim_xs_fire(v->xs, path, false, n, NULL, 0);
	return 0;
}

/* Post-order over the subtree at n, whose path is buf[0..len). */
typedef void subtree_fn(const struct sim_xs_view *v, struct sim_xs_node *n,
			const char *path, size_t len, bool top);

static void subtree_each(const struct sim_xs_view *v, struct sim_xs_node *n,
			 char *buf, size_t len, bool top, subtree_fn *fn)
{
	for (unsigned i = 0; i < n->nkids; i++) {
		size_t klen = n->kids[i]->name_len;

		/* Every node was made from a checked path: no overflow. */
		SIM_ASSERT(len + 1 + klen <= SIM_XS_ABS_PATH_MAX);
		buf[len] = '/';
		memcpy(buf + len + 1, n->kids[i]->name, klen + 1);
		subtree_each(v, n->kids[i], buf, len + 1 + klen, false, fn);
		buf[len] = '\0';
	}
	fn(v, n, buf, len, top);
}

static void rm_note(const struct sim_xs_view *v, struct sim_xs_node *n,
		    const char *path, size_t len, bool top)
{
	note(v, path, len, n);
}

/* xenstored's rm (delnode_sub, Xen 4.17+): each removed node, children
 * before parents, fires the watches registered exactly on it; the removed
 * top node fires watches on it and on its ancestors. A watch below the
 * removed node on a path that did not exist gets no event, and each event
 * reports the removed node's own path. Permissions are checked while the
 * nodes still exist. */
static void rm_fire(const struct sim_xs_view *v, struct sim_xs_node *n,
		    const char *path, size_t len, bool top)
{
	sim_xs_fire(v->xs, path, !top, n, NULL, 0);
}

int sim_xs_op_rm(const struct sim_xs_view *v, sim_domid caller,
		 const char *path)
{
	const char *rest;
	struct sim_xs_node *n = walk(*v->rootp, path, &rest);
	struct sim_xs_node *parent;
	char buf[SIM_XS_ABS_PATH_MAX + 1];
	size_t len = strlen(path);
	size_t parent_len = prefix_len(path, strrchr(path, '/') + 1);

	if (*rest)
		return missing(v, caller, path, n);
	SIM_ASSERT(len > 1); /* "/" was refused by the caller */
	note(v, path, parent_len, prefix_walk(v->rootp, path, parent_len,
					      false));
	memcpy(buf, path, len + 1);
	subtree_each(v, n, buf, len, true, rm_note);
	if (!may(n, caller, XS_PERM_WRITE))
		return -EACCES;
	if (!v->txn)
		subtree_each(v, n, buf, len, true, rm_fire);
	parent = own_prefix(v, path, parent_len);
	kid_remove(parent, n);
	touch(v, parent);
	if (v->txn) {
		node_unref(n);
		sim_xs_txn_log(v->txn, SIM_XS_OP_RM, path, NULL, 0, NULL, 0);
		return 0;
	}
	v->xs->st.nodes -= subtree_count(n);
	node_unref(n);
	sim_trace(v->xs->sim, "xs-rm", sim_xs_path_hash(path), 0);
	sim_rec_xs_rm(v->xs->sim, caller, path);
	return 0;
}

int sim_xs_op_set_perms(const struct sim_xs_view *v, sim_domid caller,
			const char *path, const struct xs_permissions *perms,
			unsigned num)
{
	const char *rest;
	struct sim_xs_node *n = walk(*v->rootp, path, &rest);
	struct xs_permissions *old;
	unsigned nold;

	if (*rest)
		return missing(v, caller, path, n);
	note(v, path, strlen(path), n);
	if (!may(n, caller, XS_PERM_OWNER))
		return -EACCES;
	/* xenstored: an unprivileged owner may not give the node away. */
	if (caller != SIM_DOMID_DOM0 && perms[0].id != n->perms[0].id)
		return -EPERM;
	n = own_prefix(v, path, strlen(path));
	old = perms_dup(n->perms, n->nperms);
	nold = n->nperms;
	node_set_perms(n, perms, num);
	touch(v, n);
	if (v->txn) {
		sim_xs_txn_log(v->txn, SIM_XS_OP_PERMS, path, NULL, 0, perms,
			       num);
	} else {
		sim_trace(v->xs->sim, "xs-perms", sim_xs_path_hash(path), num);
		sim_rec_xs_perms(v->xs->sim, caller, path, perms, num);
		/* A watcher losing access is told too: pass the old list. */
		sim_xs_fire(v->xs, path, false, n, old, nold);
	}
	free(old);
	return 0;
}

/* Reads need the node and read permission; in a transaction the outcome,
 * absent or present, is noted either way. */
static int readable(const struct sim_xs_view *v, sim_domid caller,
		    const char *path, struct sim_xs_node **out)
{
	const char *rest;
	struct sim_xs_node *n = walk(*v->rootp, path, &rest);

	if (*rest)
		return missing(v, caller, path, n);
	note(v, path, strlen(path), n);
	if (!may(n, caller, XS_PERM_READ))
		return -EACCES;
	*out = n;
	return 0;
}

/* The node a read-only public call looks at: path valid, the view of
 * the caller's transaction (or the live tree), readable by the caller. */
static int read_node(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, struct sim_xs_node **out)
{
	struct sim_xs_view v;
	int r = sim_xs_path_check(path);

	if (r)
		return r;
	r = sim_xs_view_get(xs, caller, txn, &v);
	return r ? r : readable(&v, caller, path, out);
}

/* ---- the public API ------------------------------------------------------ */

static void store_destroy(void *part)
{
	struct sim_xs *xs = part;

	sim_xs_mock_store_gone(xs);
	sim_xs_watches_free(xs);
	sim_xs_txns_free(xs);
	sim_xs_tree_free(xs->root);
	free(xs);
}

static struct sim_xs_node *mkdir_dom0(struct sim_xs *xs, const char *path)
{
	struct sim_xs_view v = { .xs = xs, .rootp = &xs->root };
	int r = sim_xs_op_mkdir(&v, SIM_DOMID_DOM0, path);

	SIM_ASSERT(r == 0);
	return sim_xs_lookup(xs->root, path);
}

struct sim_xs *sim_xs(struct sim *sim)
{
	static const struct xs_permissions none = { .id = SIM_DOMID_DOM0,
						    .perms = XS_PERM_NONE };
	struct sim_xs *xs = sim_part(sim, SIM_PART_XS);

	if (xs)
		return xs;
	xs = sim_xcalloc(1, sizeof(*xs));
	xs->sim = sim;
	xs->txn_next = 1;
	xs->root = node_new("", 0, &none, 1);
	xs->root->gen = ++xs->gen;
	xs->st.nodes = 1;
	mkdir_dom0(xs, "/local/domain");
	sim_attach(sim, SIM_PART_XS, xs, store_destroy);
	return xs;
}

int sim_xs_read(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		const char *path, char **val, unsigned *len)
{
	struct sim_xs_node *n;
	int r;

	if (!val)
		return -EINVAL;
	r = read_node(xs, caller, txn, path, &n);
	if (r)
		return r;
	*val = sim_xmalloc(n->len + 1);
	memcpy(*val, n->val, n->len + 1);
	if (len)
		*len = n->len;
	return 0;
}

int sim_xs_write(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		 const char *path, const void *val, unsigned len)
{
	struct sim_xs_view v;
	int r = sim_xs_path_check(path);

	if (r || (!val && len))
		return -EINVAL;
	/* The wire message is path, NUL, value (xs_wire.h). */
	if (len > SIM_XS_PAYLOAD_MAX - strlen(path) - 1)
		return -E2BIG;
	r = sim_xs_view_get(xs, caller, txn, &v);
	if (r)
		return r;
	/* Injection point: xenstored's quota refusal, which privileged
	 * domains (dom0: the toolstack and the backends here) are exempt
	 * from, as in xenstored. */
	if (caller != 0 &&
	    sim_fault_hit_dom(sim_faults(xs->sim), SIM_FAULT_XS_ENOMEM,
			      caller))
		return -ENOMEM;
	return sim_xs_op_write(&v, caller, path, val, len);
}

int sim_xs_mkdir(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		 const char *path)
{
	struct sim_xs_view v;
	int r = sim_xs_path_check(path);

	if (!r)
		r = sim_xs_view_get(xs, caller, txn, &v);
	return r ? r : sim_xs_op_mkdir(&v, caller, path);
}

int sim_xs_rm(struct sim_xs *xs, sim_domid caller, uint32_t txn,
	      const char *path)
{
	struct sim_xs_view v;
	int r = sim_xs_path_check(path);

	if (r || strcmp(path, "/") == 0)
		return -EINVAL;
	r = sim_xs_view_get(xs, caller, txn, &v);
	return r ? r : sim_xs_op_rm(&v, caller, path);
}

/* One malloc'd block: num pointers, then the NUL-terminated names. */
static char **names_block(const struct sim_xs_node *n)
{
	size_t bytes = n->nkids * sizeof(char *);
	char **names;
	char *p;

	for (unsigned i = 0; i < n->nkids; i++)
		bytes += n->kids[i]->name_len + 1;
	names = sim_xmalloc(bytes);
	p = (char *)(names + n->nkids);
	for (unsigned i = 0; i < n->nkids; i++) {
		size_t l = n->kids[i]->name_len + 1;

		memcpy(p, n->kids[i]->name, l);
		names[i] = p;
		p += l;
	}
	return names;
}

int sim_xs_directory(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, char ***names, unsigned *num)
{
	struct sim_xs_node *n;
	int r;

	if (!names || !num)
		return -EINVAL;
	r = read_node(xs, caller, txn, path, &n);
	if (r)
		return r;
	*names = names_block(n);
	*num = n->nkids;
	return 0;
}

int sim_xs_get_perms(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, struct xs_permissions **perms,
		     unsigned *num)
{
	struct sim_xs_node *n;
	int r;

	if (!perms || !num)
		return -EINVAL;
	r = read_node(xs, caller, txn, path, &n);
	if (r)
		return r;
	*perms = perms_dup(n->perms, n->nperms);
	*num = n->nperms;
	return 0;
}

/* xenstored takes permissions as strings "<r|w|b|n><domid>": only those
 * four permission values exist, and the list shares the payload with the
 * path. */
static int perms_check(const char *path, const struct xs_permissions *perms,
		       unsigned num)
{
	size_t wire = strlen(path) + 1;

	if (!perms || num == 0 || num > SIM_XS_PAYLOAD_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < num; i++) {
		char buf[16];

		if (perms[i].perms & ~(unsigned)(XS_PERM_READ | XS_PERM_WRITE))
			return -EINVAL;
		if (perms[i].id > UINT16_MAX)
			return -EINVAL;
		wire += (size_t)snprintf(buf, sizeof(buf), "r%u",
					 perms[i].id) + 1;
	}
	return wire > SIM_XS_PAYLOAD_MAX ? -E2BIG : 0;
}

int sim_xs_set_perms(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, const struct xs_permissions *perms,
		     unsigned num)
{
	struct sim_xs_view v;
	int r = sim_xs_path_check(path);

	if (!r)
		r = perms_check(path, perms, num);
	if (!r)
		r = sim_xs_view_get(xs, caller, txn, &v);
	return r ? r : sim_xs_op_set_perms(&v, caller, path, perms, num);
}

void sim_xs_stats(struct sim_xs *xs, struct sim_xs_stats *st)
{
	*st = xs->st;
}

/* ---- helpers in xenbus terms --------------------------------------------- */

int sim_xs_printf(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		  const char *path, const char *fmt, ...)
{
	char buf[SIM_XS_PAYLOAD_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -E2BIG;
	return sim_xs_write(xs, caller, txn, path, buf, (unsigned)n);
}

/* Strict: one or more decimal digits and nothing else, no overflow. */
static int parse_uint(const char *s, unsigned len, unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0)
		return -EINVAL;
	for (unsigned i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (ULLONG_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int sim_xs_read_uint(struct sim_xs *xs, sim_domid caller, uint32_t txn,
		     const char *path, unsigned long long *out)
{
	char *val;
	unsigned len;
	int r = sim_xs_read(xs, caller, txn, path, &val, &len);

	if (r)
		return r;
	r = out ? parse_uint(val, len, out) : -EINVAL;
	free(val);
	return r;
}

/* <dir>/<leaf> into buf; -EINVAL if it would not be a valid path. */
static int join(char *buf, size_t size, const char *dir, const char *leaf)
{
	int n = snprintf(buf, size, "%s/%s", dir ? dir : "", leaf);

	if (!dir || n < 0 || (size_t)n >= size)
		return -EINVAL;
	return sim_xs_path_check(buf);
}

#define SIM_XENBUS_SWITCH_TRIES 8u

static int switch_once(struct sim_xs *xs, sim_domid caller, const char *dir,
		       const char *node, int state)
{
	struct sim_xs_view v;
	struct sim_xs_node *n;
	const char *rest;
	uint32_t txn;
	int r = sim_xs_txn_start(xs, caller, &txn);

	if (r)
		return r;
	r = sim_xs_view_get(xs, caller, txn, &v);
	SIM_ASSERT(r == 0);
	/* Checked in the transaction, so a device removed meanwhile is
	 * never re-created by the write (Linux __xenbus_switch_state). */
	n = walk(*v.rootp, dir, &rest);
	if (*rest) {
		r = missing(&v, caller, dir, n);
	} else {
		note(&v, dir, strlen(dir), n);
		r = sim_xs_printf(xs, caller, txn, node, "%d", state);
	}
	if (r) {
		sim_xs_txn_end(xs, caller, txn, true);
		return r;
	}
	return sim_xs_txn_end(xs, caller, txn, false);
}

int sim_xenbus_switch_state(struct sim_xs *xs, sim_domid caller,
			    const char *dir, int state)
{
	char node[SIM_XS_ABS_PATH_MAX + 1];
	int r = join(node, sizeof(node), dir, "state");

	if (r || sim_xs_path_check(dir))
		return -EINVAL;
	for (unsigned i = 0; i < SIM_XENBUS_SWITCH_TRIES; i++) {
		r = switch_once(xs, caller, dir, node, state);
		if (r != -EAGAIN)
			return r;
	}
	return r;
}

int sim_xenbus_read_state(struct sim_xs *xs, sim_domid caller,
			  const char *dir, int *state)
{
	char node[SIM_XS_ABS_PATH_MAX + 1];
	unsigned long long v;
	int r;

	if (!state)
		return -EINVAL;
	/* Like xenbus_read_driver_state: Unknown (0) when unreadable. */
	*state = 0;
	r = join(node, sizeof(node), dir, "state");
	if (!r)
		r = sim_xs_read_uint(xs, caller, 0, node, &v);
	if (!r && v > INT_MAX)
		r = -EINVAL;
	if (!r)
		*state = (int)v;
	return r;
}
