/*
 * Xenstore watches: the initial event, which changes fire which watches
 * (xenstored's rules, including rm of a subtree), delivery as simulator
 * events in change order, tokens, unwatch, the per-watch queue bound,
 * permission filtering, quotas and the special @ paths.
 */
#include "check_main.h"
#include "xs_helpers.h"

START_TEST(initial_event_deferred)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	r.in_call = 1;
	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/w", "tok", rec_fn, &r), 0);
	r.in_call = 0;
	ck_assert_uint_eq(r.n, 0);
	ck_assert_uint_ge(sim_pending(e.sim), 1);
	sim_run(e.sim);
	ck_assert_int_eq(r.sync_calls, 0);
	ck_assert_str_eq(r.token[0], "tok");
	rec_expect(&r, "/w"); /* even though /w does not exist */
	sim_destroy(e.sim);
}
END_TEST

START_TEST(fires_at_and_below_only)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	watch_settled(&e, 0, "/a/b", "t", &r);
	r.in_call = 1;
	ck_assert_int_eq(put(e.xs, 0, "/a/b", "1"), 0);     /* fires */
	ck_assert_int_eq(put(e.xs, 0, "/a/b/c/d", "1"), 0); /* fires */
	ck_assert_int_eq(put(e.xs, 0, "/a/bc", "1"), 0);    /* sibling */
	ck_assert_int_eq(put(e.xs, 0, "/a", "1"), 0);       /* parent */
	ck_assert_int_eq(put(e.xs, 0, "/a/x", "1"), 0);     /* parent's kid */
	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/a/b/m"), 0); /* fires */
	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/a/b/m"), 0); /* no-op */
	r.in_call = 0;
	ck_assert_uint_eq(r.n, 0); /* nothing synchronous */
	sim_run(e.sim);
	ck_assert_int_eq(r.sync_calls, 0);
	rec_expect(&r, "/a/b", "/a/b/c/d", "/a/b/m");
	sim_destroy(e.sim);
}
END_TEST

START_TEST(root_watch_sees_all)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	watch_settled(&e, 0, "/", "root", &r);
	ck_assert_int_eq(put(e.xs, 0, "/x/y", "1"), 0);
	sim_run(e.sim);
	rec_expect(&r, "/x/y");
	sim_destroy(e.sim);
}
END_TEST

START_TEST(order_and_tokens)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	/* Two watches with different tokens: per change, registration
	 * order; across changes, change order. */
	watch_settled(&e, 0, "/o", "first", &r);
	watch_settled(&e, 0, "/o/k", "second", &r);
	ck_assert_int_eq(put(e.xs, 0, "/o/k", "1"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/o/j", "1"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/o/k", "2"), 0);
	sim_run(e.sim);
	ck_assert_str_eq(r.token[0], "first");
	ck_assert_str_eq(r.token[1], "second");
	ck_assert_str_eq(r.token[2], "first");
	ck_assert_str_eq(r.token[3], "first");
	ck_assert_str_eq(r.token[4], "second");
	rec_expect(&r, "/o/k", "/o/k", "/o/j", "/o/k", "/o/k");
	sim_destroy(e.sim);
}
END_TEST

START_TEST(rm_semantics)
{
	/* Each watch hears of the removed node on or above it, by its own
	 * path; a watch on a path that never existed hears nothing. */
	static const struct {
		const char *watch, *hears;
	} w[] = {
		{ "/a", "/a/b" },	/* above */
		{ "/a/b", "/a/b" },	/* at */
		{ "/a/b/c", "/a/b/c" }, /* below */
		{ "/a/b/x", NULL },	/* never existed */
		{ "/a/s", NULL },	/* sibling */
	};
	struct xs_env e = env_new();
	struct rec r[5] = { 0 };

	ck_assert_int_eq(put(e.xs, 0, "/a/b/c", "1"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/a/s", "1"), 0);
	for (unsigned i = 0; i < 5; i++)
		watch_settled(&e, 0, w[i].watch, "t", &r[i]);

	ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, "/a/b"), 0);
	sim_run(e.sim);
	for (unsigned i = 0; i < 5; i++) {
		if (w[i].hears)
			rec_expect(&r[i], w[i].hears);
		else
			ck_assert_uint_eq(r[i].n, 0);
	}
	sim_destroy(e.sim);
}
END_TEST

START_TEST(set_perms_fires)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	ck_assert_int_eq(put(e.xs, 0, "/p", "1"), 0);
	watch_settled(&e, 0, "/p", "t", &r);
	ck_assert_int_eq(perms1(e.xs, "/p", 0, XS_PERM_READ), 0);
	sim_run(e.sim);
	rec_expect(&r, "/p");
	sim_destroy(e.sim);
}
END_TEST

START_TEST(unwatch_drops_queued)
{
	struct xs_env e = env_new();
	struct rec r = { 0 }, other = { 0 };

	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/u", "t", rec_fn, &r), 0);
	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/u", "t", rec_fn, &other), 0);
	ck_assert_int_eq(put(e.xs, 0, "/u", "1"), 0);
	ck_assert_int_eq(sim_xs_unwatch(e.xs, 0, "/u", "t", &r), 0);
	sim_run(e.sim);
	ck_assert_uint_eq(r.n, 0); /* neither the initial nor the change */
	ck_assert_uint_eq(other.n, 2);
	rec_clear(&other);
	ck_assert_int_eq(sim_xs_unwatch(e.xs, 0, "/u", "t", &r), -ENOENT);
	/* Matching is by caller, path, token and arg. */
	ck_assert_int_eq(sim_xs_unwatch(e.xs, 3, "/u", "t", &other), -ENOENT);
	ck_assert_int_eq(sim_xs_unwatch(e.xs, 0, "/u", "x", &other), -ENOENT);
	ck_assert_int_eq(sim_xs_unwatch(e.xs, 0, "/u", "t", &other), 0);
	ck_assert_int_eq(put(e.xs, 0, "/u", "2"), 0);
	sim_run(e.sim);
	ck_assert_uint_eq(other.n, 0);
	sim_destroy(e.sim);
}
END_TEST

struct self_drop {
	struct sim_xs *xs;
	unsigned calls;
};

static void self_drop_fn(struct sim *sim, void *arg, const char *path,
			 const char *token)
{
	struct self_drop *d = arg;

	(void)sim;
	d->calls++;
	ck_assert_int_eq(sim_xs_unwatch(d->xs, 0, path, token, d), 0);
	/* Path and token stay valid after the watch is gone. */
	ck_assert_str_eq(path, "/s");
	ck_assert_str_eq(token, "tk");
}

START_TEST(callback_may_unwatch_itself)
{
	struct xs_env e = env_new();
	struct self_drop d = { .xs = e.xs };

	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/s", "tk", self_drop_fn, &d),
			 0);
	ck_assert_int_eq(put(e.xs, 0, "/s", "1"), 0);
	sim_run(e.sim);
	ck_assert_uint_eq(d.calls, 1);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(duplicate_and_bad_watch)
{
	/* In order: only the first is registered. */
	static const struct {
		const char *path, *token;
		int want;
	} w[] = {
		{ "/d", "t", 0 },
		{ "/d", "t", -EEXIST },
		{ "/d/", "t", -EINVAL },
		{ "d", "t", -EINVAL },
		{ "@other", "t", -EINVAL },
		{ "/d", NULL, -EINVAL },
	};
	struct xs_env e = env_new();
	struct rec r = { 0 };

	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		ck_assert_int_eq(sim_xs_watch(e.xs, 0, w[i].path, w[i].token,
					      rec_fn, &r), w[i].want);
	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/e", "t", NULL, &r), -EINVAL);
	sim_run(e.sim);
	ck_assert_uint_eq(r.n, 1);
	rec_clear(&r);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(queue_bound)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };
	struct sim_xs_stats st;

	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/q", "t", rec_fn, &r), 0);
	for (int i = 0; i < 1100; i++)
		ck_assert_int_eq(put(e.xs, 0, "/q", "x"), 0);
	/* 1 initial + 1100 changes offered, 1024 queued. */
	ck_assert_uint_eq(rec_heard(e.sim, &r), 1024);
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.watch_dropped, 1101 - 1024);
	ck_assert_uint_eq(st.watch_events, 1024);
	/* Room again once delivered. */
	ck_assert_int_eq(put(e.xs, 0, "/q", "y"), 0);
	ck_assert_uint_eq(rec_heard(e.sim, &r), 1);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(permission_filter)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	ck_assert_int_eq(put(e.xs, 0, "/local/domain/5/x", "1"), 0);
	ck_assert_int_eq(perms1(e.xs, "/local/domain/5", 5, XS_PERM_NONE), 0);
	ck_assert_int_eq(perms1(e.xs, "/local/domain/5/x", 5, XS_PERM_NONE), 0);
	ck_assert_int_eq(sim_xs_watch(e.xs, 7, "/local/domain/5/x", "t",
				      rec_fn, &r), 0);
	/* The initial event is unconditional. */
	ck_assert_uint_eq(rec_heard(e.sim, &r), 1);
	ck_assert_int_eq(put(e.xs, 5, "/local/domain/5/x", "2"), 0);
	ck_assert_uint_eq(rec_heard(e.sim, &r), 0); /* 7 may not read it */
	/* Losing access is still news: the old list allowed reading. */
	ck_assert_int_eq(perms1(e.xs, "/local/domain/5/x", 5, XS_PERM_READ), 0);
	ck_assert_int_eq(perms1(e.xs, "/local/domain/5/x", 5, XS_PERM_NONE), 0);
	ck_assert_uint_eq(rec_heard(e.sim, &r), 2);
	/* Readable parent is enough. */
	ck_assert_int_eq(perms1(e.xs, "/local/domain/5", 5, XS_PERM_READ), 0);
	ck_assert_int_eq(put(e.xs, 5, "/local/domain/5/x", "3"), 0);
	ck_assert_uint_eq(rec_heard(e.sim, &r), 1);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(watch_quota)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };
	char tok[16];

	for (int i = 0; i < 128; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		ck_assert_int_eq(sim_xs_watch(e.xs, 7, "/z", tok, rec_fn, &r),
				 0);
	}
	ck_assert_int_eq(sim_xs_watch(e.xs, 7, "/z", "more", rec_fn, &r),
			 -E2BIG);
	/* Per domain: another domain is not affected. */
	ck_assert_int_eq(sim_xs_watch(e.xs, 8, "/z", "more", rec_fn, &r), 0);
	ck_assert_int_eq(sim_xs_unwatch(e.xs, 7, "/z", "t0", &r), 0);
	ck_assert_int_eq(sim_xs_watch(e.xs, 7, "/z", "more", rec_fn, &r), 0);
	rec_settle(e.sim, &r);
	/* Left registered: sim_destroy frees them. */
	sim_destroy(e.sim);
}
END_TEST

START_TEST(special_paths)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	watch_settled(&e, 7, "@releaseDomain", "rel", &r);
	watch_settled(&e, 7, "@introduceDomain", "intro", &r);
	/* Tree changes never match them. */
	ck_assert_int_eq(put(e.xs, 0, "/local/domain/9", "x"), 0);
	ck_assert_int_eq(sim_xs_fire_special(e.xs, "@releaseDomain"), 0);
	ck_assert_int_eq(sim_xs_fire_special(e.xs, "@other"), -EINVAL);
	ck_assert_int_eq(sim_xs_fire_special(e.xs, "/local"), -EINVAL);
	ck_assert_uint_eq(r.n, 0);
	sim_run(e.sim);
	ck_assert_str_eq(r.token[0], "rel");
	rec_expect(&r, "@releaseDomain");
	ck_assert_int_eq(sim_xs_unwatch(e.xs, 7, "@releaseDomain", "rel", &r),
			 0);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(pending_events_freed_at_destroy)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };

	/* Queued, never run: LeakSanitizer checks the store frees them. */
	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/f", "t", rec_fn, &r), 0);
	ck_assert_int_eq(put(e.xs, 0, "/f", "1"), 0);
	sim_destroy(e.sim);
	ck_assert_uint_eq(r.n, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xs_watch");
	TCase *tc = tcase_create("watch");

	tcase_add_test(tc, initial_event_deferred);
	tcase_add_test(tc, fires_at_and_below_only);
	tcase_add_test(tc, root_watch_sees_all);
	tcase_add_test(tc, order_and_tokens);
	tcase_add_test(tc, rm_semantics);
	tcase_add_test(tc, set_perms_fires);
	tcase_add_test(tc, unwatch_drops_queued);
	tcase_add_test(tc, callback_may_unwatch_itself);
	tcase_add_test(tc, duplicate_and_bad_watch);
	tcase_add_test(tc, queue_bound);
	tcase_add_test(tc, permission_filter);
	tcase_add_test(tc, watch_quota);
	tcase_add_test(tc, special_paths);
	tcase_add_test(tc, pending_events_freed_at_destroy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
