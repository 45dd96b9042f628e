/*
 * Xenstore transactions: ids, isolation both ways, commit applies
 * atomically and fires watches then, conflicts (write, read-only, listing,
 * absence, rm) fail with -EAGAIN and apply nothing, abort, ownership of
 * ids, the per-domain quota and the injected EAGAIN.
 */
#include "check_main.h"
#include "xs_helpers.h"

static uint32_t start(struct sim_xs *xs, sim_domid dom)
{
	uint32_t t = 0;

	ck_assert_int_eq(sim_xs_txn_start(xs, dom, &t), 0);
	ck_assert_uint_ne(t, 0);
	return t;
}

static int tput(struct sim_xs *xs, uint32_t t, const char *path,
		const char *val)
{
	return sim_xs_write(xs, 0, t, path, val, (unsigned)strlen(val));
}

/* dom0 commits t: 0, or -EAGAIN on a conflict. */
static int commit(struct sim_xs *xs, uint32_t t)
{
	return sim_xs_txn_end(xs, 0, t, false);
}

START_TEST(ids_nonzero_distinct)
{
	struct xs_env e = env_new();
	uint32_t a = start(e.xs, 0), b = start(e.xs, 0), c = start(e.xs, 4);

	ck_assert_uint_ne(a, b);
	ck_assert_uint_ne(b, c);
	ck_assert_uint_ne(a, c);
	ck_assert_int_eq(sim_xs_txn_start(e.xs, 0, NULL), -EINVAL);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 0, a, true), 0);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 0, a, true), -ENOENT);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 0, 0, false), -ENOENT);
	/* Ids belong to the domain that started them. */
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 0, c, false), -ENOENT);
	ck_assert_int_eq(put(e.xs, 0, "/x", "1"), 0);
	ck_assert_int_eq(tput(e.xs, c, "/x", "2"), -ENOENT);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 4, c, false), 0);
	/* b left open: freed by sim_destroy. */
	sim_destroy(e.sim);
}
END_TEST

START_TEST(isolation_and_commit)
{
	struct xs_env e = env_new();
	struct sim_xs_stats st;
	struct rec r = { 0 };
	uint32_t t, t2;
	char **names;
	unsigned num;

	ck_assert_int_eq(put(e.xs, 0, "/i/old", "o"), 0);
	watch_settled(&e, 0, "/i", "w", &r);
	t = start(e.xs, 0);
	ck_assert_int_eq(tput(e.xs, t, "/i/new/deep", "n"), 0);
	ck_assert_int_eq(sim_xs_rm(e.xs, 0, t, "/i/old"), 0);
	/* Outside: nothing yet, and no watch event. */
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/i/new/deep"), -ENOENT);
	ck_assert(reads_as(e.xs, "/i/old", "o"));
	/* Inside: own changes. */
	ck_assert_int_eq(read_err(e.xs, 0, t, "/i/new/deep"), 0);
	ck_assert_int_eq(read_err(e.xs, 0, t, "/i/old"), -ENOENT);
	ck_assert_int_eq(sim_xs_directory(e.xs, 0, t, "/i", &names, &num), 0);
	ck_assert_uint_eq(num, 1);
	ck_assert_str_eq(names[0], "new");
	free(names);
	/* Outside changes after the start stay invisible inside (seen
	 * from a second transaction, as looking from t would make t
	 * depend on /j). */
	t2 = start(e.xs, 0);
	ck_assert_int_eq(put(e.xs, 0, "/j", "outside"), 0);
	ck_assert_int_eq(read_err(e.xs, 0, t2, "/j"), -ENOENT);
	ck_assert_int_eq(commit(e.xs, t2), -EAGAIN);
	sim_run(e.sim);
	ck_assert_uint_eq(r.n, 0);

	ck_assert_int_eq(commit(e.xs, t), 0);
	ck_assert(reads_as(e.xs, "/i/new/deep", "n"));
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/i/old"), -ENOENT);
	ck_assert(reads_as(e.xs, "/j", "outside")); /* unrelated: kept */
	ck_assert_uint_eq(r.n, 0); /* still not synchronous */
	sim_run(e.sim);
	rec_expect(&r, "/i/new/deep", "/i/old");
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.txn_commits, 1);
	ck_assert_uint_eq(st.txn_conflicts, 1); /* t2 */
	ck_assert_uint_eq(st.nodes, 3 + 4); /* i, new, deep, j */
	sim_destroy(e.sim);
}
END_TEST

START_TEST(write_conflict_applies_nothing)
{
	struct xs_env e = env_new();
	struct sim_xs_stats st;
	struct rec r = { 0 };
	uint32_t t;

	ck_assert_int_eq(put(e.xs, 0, "/c/k", "0"), 0);
	ck_assert_int_eq(sim_xs_watch(e.xs, 0, "/c", "w", rec_fn, &r), 0);
	t = start(e.xs, 0);
	ck_assert_int_eq(tput(e.xs, t, "/c/k", "txn"), 0);
	ck_assert_int_eq(tput(e.xs, t, "/c/other", "txn"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/c/k", "live"), 0);
	rec_settle(e.sim, &r);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	ck_assert(reads_as(e.xs, "/c/k", "live"));
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/c/other"), -ENOENT);
	sim_run(e.sim);
	ck_assert_uint_eq(r.n, 0);
	/* The failed transaction is gone. */
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 0, t, true), -ENOENT);
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.txn_conflicts, 1);
	ck_assert_uint_eq(st.txn_commits, 0);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(read_only_conflict)
{
	struct xs_env e = env_new();
	uint32_t t;

	ck_assert_int_eq(put(e.xs, 0, "/r", "0"), 0);
	t = start(e.xs, 0);
	ck_assert_int_eq(read_err(e.xs, 0, t, "/r"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/r", "1"), 0);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	/* Untouched reads do not conflict. */
	t = start(e.xs, 0);
	ck_assert_int_eq(read_err(e.xs, 0, t, "/r"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/unrelated", "1"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/r2", "1"), 0);
	ck_assert_int_eq(commit(e.xs, t), 0);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(directory_and_absence_conflict)
{
	struct xs_env e = env_new();
	char **names;
	unsigned num;
	uint32_t t;

	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/dir"), 0);
	/* Listed, then a child appears. */
	t = start(e.xs, 0);
	ck_assert_int_eq(sim_xs_directory(e.xs, 0, t, "/dir", &names, &num),
			 0);
	free(names);
	ck_assert_int_eq(put(e.xs, 0, "/dir/kid", "1"), 0);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	/* Found absent, then created. */
	t = start(e.xs, 0);
	ck_assert_int_eq(read_err(e.xs, 0, t, "/absent"), -ENOENT);
	ck_assert_int_eq(tput(e.xs, t, "/result", "1"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/absent", "now"), 0);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/result"), -ENOENT);
	/* Present, then removed. */
	t = start(e.xs, 0);
	ck_assert_int_eq(read_err(e.xs, 0, t, "/absent"), 0);
	ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, "/absent"), 0);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(rm_conflict_below)
{
	struct xs_env e = env_new();
	uint32_t t;

	ck_assert_int_eq(put(e.xs, 0, "/tree/a/b", "1"), 0);
	t = start(e.xs, 0);
	ck_assert_int_eq(sim_xs_rm(e.xs, 0, t, "/tree"), 0);
	/* Someone adds below the removed subtree meanwhile. */
	ck_assert_int_eq(put(e.xs, 0, "/tree/a/c", "1"), 0);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	ck_assert(reads_as(e.xs, "/tree/a/c", "1"));
	ck_assert(reads_as(e.xs, "/tree/a/b", "1"));
	sim_destroy(e.sim);
}
END_TEST

START_TEST(create_race_conflict)
{
	struct xs_env e = env_new();
	uint32_t t;

	/* Both create /n: the later commit must not silently win. */
	t = start(e.xs, 0);
	ck_assert_int_eq(tput(e.xs, t, "/n/x", "txn"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/n/y", "live"), 0);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, "/n"), 0);
	sim_destroy(e.sim);
}
END_TEST

/* Regression: a transaction that creates a new parent and then writes a
 * second node under it (libxl's device add, our toolstack's LUN add)
 * used to conflict with itself at commit. */
START_TEST(create_siblings_under_new_parent)
{
	struct xs_env e = env_new();
	uint32_t t;

	ck_assert_int_eq(put(e.xs, 0, "/be/state", "4"), 0);
	t = start(e.xs, 0);
	ck_assert_int_eq(tput(e.xs, t, "/be/devs/dev-1/p-dev", "1:0:0:0"), 0);
	ck_assert_int_eq(tput(e.xs, t, "/be/devs/dev-1/state", "1"), 0);
	ck_assert_int_eq(tput(e.xs, t, "/be/state", "7"), 0);
	ck_assert_int_eq(commit(e.xs, t), 0);
	ck_assert(reads_as(e.xs, "/be/devs/dev-1/state", "1"));
	ck_assert(reads_as(e.xs, "/be/state", "7"));
	sim_destroy(e.sim);
}
END_TEST

START_TEST(abort_discards)
{
	struct xs_env e = env_new();
	struct rec r = { 0 };
	uint32_t t;

	watch_settled(&e, 0, "/", "w", &r);
	t = start(e.xs, 0);
	ck_assert_int_eq(tput(e.xs, t, "/ab", "1"), 0);
	ck_assert_int_eq(perms1(e.xs, "/local", 0, XS_PERM_READ), 0);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 0, t, true), 0);
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/ab"), -ENOENT);
	/* Only the perms change, made outside, is heard. */
	ck_assert_uint_eq(rec_heard(e.sim, &r), 1);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(perms_in_txn_replayed)
{
	struct xs_env e = env_dom5();
	struct xs_permissions p[2] = {
		{ .id = 5, .perms = XS_PERM_NONE },
		{ .id = 6, .perms = XS_PERM_READ },
	};
	uint32_t t;

	/* A toolstack-like transaction: dom0 makes and hands out a dir. */
	t = start(e.xs, 0);
	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, t, "/local/domain/5/dev"), 0);
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, t, "/local/domain/5/dev", p,
					  2), 0);
	ck_assert_int_eq(commit(e.xs, t), 0);
	expect_perms(e.xs, 6, "/local/domain/5/dev", p, 2);
	/* The guest creates in its own transaction: owner is the guest. */
	t = start(e.xs, 5);
	ck_assert_int_eq(sim_xs_write(e.xs, 5, t, "/local/domain/5/dev/s", "1",
				      1), 0);
	ck_assert_int_eq(sim_xs_write(e.xs, 7, t, "/local/domain/5/dev/s", "1",
				      1), -ENOENT);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 5, t, false), 0);
	ck_assert_uint_eq(owner_of(e.xs, 0, "/local/domain/5/dev/s"), 5);
	/* Permission errors inside a transaction are immediate. */
	t = start(e.xs, 7);
	ck_assert_int_eq(sim_xs_write(e.xs, 7, t, "/local/domain/5/dev/s", "2",
				      1), -EACCES);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 7, t, false), 0);
	ck_assert(reads_as(e.xs, "/local/domain/5/dev/s", "1"));
	sim_destroy(e.sim);
}
END_TEST

START_TEST(quota_per_domain)
{
	struct xs_env e = env_new();
	uint32_t ids[10], t;

	for (int i = 0; i < 10; i++)
		ids[i] = start(e.xs, 9);
	ck_assert_int_eq(sim_xs_txn_start(e.xs, 9, &t), -ENOSPC);
	t = start(e.xs, 8); /* others unaffected */
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 9, ids[3], true), 0);
	ids[3] = start(e.xs, 9);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(sim_xs_txn_end(e.xs, 9, ids[i], false), 0);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 8, t, false), 0);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(injected_eagain)
{
	struct xs_env e = env_new();
	struct sim_fault_plan *plan = sim_faults(e.sim);
	uint32_t t;

	sim_fault_countdown(plan, SIM_FAULT_XS_EAGAIN, 1, false);
	t = start(e.xs, 0);
	ck_assert_int_eq(tput(e.xs, t, "/f", "1"), 0);
	ck_assert_int_eq(commit(e.xs, t), -EAGAIN);
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/f"), -ENOENT);
	/* Abort never consults the plan. */
	t = start(e.xs, 0);
	ck_assert_int_eq(sim_xs_txn_end(e.xs, 0, t, true), 0);
	ck_assert_uint_eq(sim_fault_consulted(plan, SIM_FAULT_XS_EAGAIN), 1);
	/* The retry commits. */
	t = start(e.xs, 0);
	ck_assert_int_eq(tput(e.xs, t, "/f", "1"), 0);
	ck_assert_int_eq(commit(e.xs, t), 0);
	ck_assert(reads_as(e.xs, "/f", "1"));
	sim_destroy(e.sim);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xs_txn");
	TCase *tc = tcase_create("txn");

	tcase_add_test(tc, ids_nonzero_distinct);
	tcase_add_test(tc, isolation_and_commit);
	tcase_add_test(tc, write_conflict_applies_nothing);
	tcase_add_test(tc, read_only_conflict);
	tcase_add_test(tc, directory_and_absence_conflict);
	tcase_add_test(tc, rm_conflict_below);
	tcase_add_test(tc, create_race_conflict);
	tcase_add_test(tc, create_siblings_under_new_parent);
	tcase_add_test(tc, abort_discards);
	tcase_add_test(tc, perms_in_txn_replayed);
	tcase_add_test(tc, quota_per_domain);
	tcase_add_test(tc, injected_eagain);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
