/*
 * Shared by the xenstore tests: a fresh simulation per test, a watch
 * callback that records what it was told, and short wrappers for the
 * calls the tests make most.
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

/* true if path reads as want (as dom0, outside transactions). */
static inline int reads_as(struct sim_xs *xs, const char *path,
			   const char *want)
{
	char *v = get(xs, 0, 0, path, NULL);
	int ok = v && strcmp(v, want) == 0;

	free(v);
	return ok;
}

static inline int perms1(struct sim_xs *xs, const char *path, unsigned owner,
			 unsigned others)
{
	struct xs_permissions p = { .id = owner, .perms = others };

	return sim_xs_set_perms(xs, 0, 0, path, &p, 1);
}

#endif /* TESTS_XENSTORE_XS_HELPERS_H */
