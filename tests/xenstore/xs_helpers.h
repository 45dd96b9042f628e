/*
 * Shared by the xenstore tests: a fresh simulation per test, a watch
 * callback that records what it was told, and short wrappers for the
 * calls the tests make most. A helper only one file needs stays there.
 */
#ifndef TESTS_XENSTORE_XS_HELPERS_H
#define TESTS_XENSTORE_XS_HELPERS_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/fault.h"
#include "sim/core/sim.h"
#include "sim/xenstore/xenstore.h"

#define REC_MAX 2048

/* What a watch callback saw, in order. */
struct rec {
	unsigned n;
	char *path[REC_MAX];
	char *token[REC_MAX];
	/* Set by tests that check a callback never runs synchronously. */
	int in_call;
	int sync_calls;
};

static inline void rec_fn(struct sim *sim, void *arg, const char *path,
			  const char *token)
{
	struct rec *r = arg;

	(void)sim;
	if (r->in_call)
		r->sync_calls++;
	if (r->n < REC_MAX) {
		r->path[r->n] = strdup(path);
		r->token[r->n] = strdup(token);
	}
	r->n++;
}

static inline void rec_clear(struct rec *r)
{
	for (unsigned i = 0; i < r->n && i < REC_MAX; i++) {
		free(r->path[i]);
		free(r->token[i]);
	}
	r->n = 0;
}

/* Run the queued events, then forget what was recorded so far. */
static inline void rec_settle(struct sim *sim, struct rec *r)
{
	sim_run(sim);
	rec_clear(r);
}

/* Run the queued events: how many r heard since it was last cleared. The
 * events are then forgotten. */
static inline unsigned rec_heard(struct sim *sim, struct rec *r)
{
	unsigned n;

	sim_run(sim);
	n = r->n;
	rec_clear(r);
	return n;
}

/* r heard exactly these paths, in order; forget them. At least one. */
#define rec_expect(r, ...) \
	rec_expect_paths((r), (const char *const[]){ __VA_ARGS__, NULL })

static inline void rec_expect_paths(struct rec *r, const char *const *want)
{
	unsigned n = 0;

	while (want[n])
		n++;
	ck_assert_uint_eq(r->n, n);
	for (unsigned i = 0; i < n; i++)
		ck_assert_str_eq(r->path[i], want[i]);
	rec_clear(r);
}

struct xs_env {
	struct sim *sim;
	struct sim_xs *xs;
};

static inline struct xs_env env_new(void)
{
	struct sim_config cfg;
	struct xs_env e;

	sim_config_default(&cfg, 1);
	e.sim = sim_create(&cfg);
	e.xs = sim_xs(e.sim);
	return e;
}

static inline int perms1(struct sim_xs *xs, const char *path, unsigned owner,
			 unsigned others)
{
	struct xs_permissions p = { .id = owner, .perms = others };

	return sim_xs_set_perms(xs, 0, 0, path, &p, 1);
}

/* dom reads path's permission list: exactly want[0..n). */
static inline void expect_perms(struct sim_xs *xs, sim_domid dom,
				const char *path,
				const struct xs_permissions *want, unsigned n)
{
	struct xs_permissions *got;
	unsigned num;

	ck_assert_int_eq(sim_xs_get_perms(xs, dom, 0, path, &got, &num), 0);
	ck_assert_uint_eq(num, n);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_eq(got[i].id, want[i].id);
		ck_assert_uint_eq(got[i].perms, want[i].perms);
	}
	free(got);
}

/* The owner of path (its list's first entry), as dom reads it. */
static inline unsigned owner_of(struct sim_xs *xs, sim_domid dom,
				const char *path)
{
	struct xs_permissions *got;
	unsigned num, id;

	ck_assert_int_eq(sim_xs_get_perms(xs, dom, 0, path, &got, &num), 0);
	ck_assert_uint_ge(num, 1);
	id = got[0].id;
	free(got);
	return id;
}

/* /local/domain/5 owned by 5, nothing for others, as a toolstack does. */
static inline struct xs_env env_dom5(void)
{
	struct xs_env e = env_new();

	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/local/domain/5"), 0);
	ck_assert_int_eq(perms1(e.xs, "/local/domain/5", 5, XS_PERM_NONE), 0);
	return e;
}

/* Watch path for r, and let the initial event go by. */
static inline void watch_settled(const struct xs_env *e, sim_domid dom,
				 const char *path, const char *token,
				 struct rec *r)
{
	ck_assert_int_eq(sim_xs_watch(e->xs, dom, path, token, rec_fn, r), 0);
	rec_settle(e->sim, r);
}

static inline int put(struct sim_xs *xs, sim_domid dom, const char *path,
		      const char *val)
{
	return sim_xs_write(xs, dom, 0, path, val, (unsigned)strlen(val));
}

/* The value as a string, or NULL with *err set (err may be NULL). */
static inline char *get(struct sim_xs *xs, sim_domid dom, uint32_t txn,
			const char *path, int *err)
{
	char *val = NULL;
	unsigned len;
	int r = sim_xs_read(xs, dom, txn, path, &val, &len);

	if (err)
		*err = r;
	return r ? NULL : val;
}

/* What reading path gives: 0, or the negative error. The value goes. */
static inline int read_err(struct sim_xs *xs, sim_domid dom, uint32_t txn,
			   const char *path)
{
	int err;

	free(get(xs, dom, txn, path, &err));
	return err;
}

/* true if path reads as want (as dom0, outside transactions). */
static inline int reads_as(struct sim_xs *xs, const char *path,
			   const char *want)
{
	char *v = get(xs, 0, 0, path, NULL);
	int ok = v && strcmp(v, want) == 0;

	free(v);
	return ok;
}

#endif /* TESTS_XENSTORE_XS_HELPERS_H */
