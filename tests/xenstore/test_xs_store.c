/*
 * The simulated xenstore's tree: the initial nodes, read/write/mkdir/rm/
 * directory, path and size limits, xenstored's permission rules, the
 * xenbus helpers, fault injection and tracing. Watches and transactions
 * have their own files.
 */
#include "check_main.h"
#include "xs_helpers.h"

START_TEST(initial_tree)
{
	static const struct xs_permissions dom0_only = {
		.id = 0, .perms = XS_PERM_NONE,
	};
	struct xs_env e = env_new();
	struct sim_xs_stats st;
	char **names;
	unsigned num;

	ck_assert_int_eq(sim_xs_directory(e.xs, 0, 0, "/", &names, &num), 0);
	ck_assert_uint_eq(num, 1);
	ck_assert_str_eq(names[0], "local");
	free(names);
	ck_assert_int_eq(sim_xs_directory(e.xs, 0, 0, "/local", &names, &num),
			 0);
	ck_assert_uint_eq(num, 1);
	ck_assert_str_eq(names[0], "domain");
	free(names);
	/* Owned by dom0 with no access for others. */
	expect_perms(e.xs, 0, "/local/domain", &dom0_only, 1);
	ck_assert_int_eq(read_err(e.xs, 3, 0, "/local/domain"), -EACCES);
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.nodes, 3);
	/* Same store on every call. */
	ck_assert_ptr_eq(sim_xs(e.sim), e.xs);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(write_read_roundtrip)
{
	struct xs_env e = env_new();
	static const char bin[] = { 'a', '\0', 'b', '\xff' };
	char *val;
	unsigned len;

	ck_assert_int_eq(sim_xs_write(e.xs, 0, 0, "/t/bin", bin, 4), 0);
	ck_assert_int_eq(sim_xs_read(e.xs, 0, 0, "/t/bin", &val, &len), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(val, bin, 4);
	ck_assert_int_eq(val[4], '\0'); /* NUL appended */
	free(val);
	/* Overwrite with something shorter, then empty. */
	ck_assert_int_eq(put(e.xs, 0, "/t/bin", "x"), 0);
	ck_assert(reads_as(e.xs, "/t/bin", "x"));
	ck_assert_int_eq(sim_xs_write(e.xs, 0, 0, "/t/bin", NULL, 0), 0);
	ck_assert_int_eq(sim_xs_read(e.xs, 0, 0, "/t/bin", &val, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(val, "");
	free(val);
	/* The parent was created empty. */
	ck_assert(reads_as(e.xs, "/t", ""));
	sim_destroy(e.sim);
}
END_TEST

START_TEST(mkdir_rm)
{
	struct xs_env e = env_new();
	struct sim_xs_stats st;

	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/a/b/c"), 0);
	ck_assert(reads_as(e.xs, "/a/b/c", ""));
	ck_assert_int_eq(put(e.xs, 0, "/a/b/c", "keep"), 0);
	/* mkdir of an existing node is a no-op that succeeds. */
	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/a/b/c"), 0);
	ck_assert(reads_as(e.xs, "/a/b/c", "keep"));
	ck_assert_int_eq(put(e.xs, 0, "/a/b/d", "1"), 0);
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.nodes, 3 + 4);

	ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, "/a/b"), 0);
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/a/b/c"), -ENOENT);
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/a/b"), -ENOENT);
	ck_assert(reads_as(e.xs, "/a", ""));
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.nodes, 3 + 1);

	ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, "/a/b"), -ENOENT);
	ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, "/"), -EINVAL);
	ck_assert(reads_as(e.xs, "/local", ""));
	sim_destroy(e.sim);
}
END_TEST

START_TEST(directory_sorted)
{
	struct xs_env e = env_new();
	static const char *in[] = { "b", "aa", "c", "a", "B", "a-1" };
	static const char *want[] = { "B", "a", "a-1", "aa", "b", "c" };
	char path[32], **names;
	unsigned num;

	for (unsigned i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/d/%s", in[i]);
		ck_assert_int_eq(put(e.xs, 0, path, in[i]), 0);
	}
	ck_assert_int_eq(sim_xs_directory(e.xs, 0, 0, "/d", &names, &num), 0);
	ck_assert_uint_eq(num, 6);
	for (unsigned i = 0; i < 6; i++) {
		ck_assert_str_eq(names[i], want[i]);
		/* One block: the strings follow the pointer array. */
		ck_assert((char *)names[i] >= (char *)(names + num));
	}
	free(names);
	ck_assert_int_eq(sim_xs_directory(e.xs, 0, 0, "/d/a", &names, &num),
			 0);
	ck_assert_uint_eq(num, 0);
	free(names);
	ck_assert_int_eq(sim_xs_directory(e.xs, 0, 0, "/nope", &names, &num),
			 -ENOENT);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(path_validation)
{
	struct xs_env e = env_new();
	static const char *bad[] = {
		"", "relative", "/a/", "//a", "/a//b", "/a b", "/a.b",
		"/a\tb", "/a/b/", "@introduceDomain", "/\xc3\xa9",
	};
	char *val;
	unsigned len;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(put(e.xs, 0, bad[i], "v"), -EINVAL);
		ck_assert_int_eq(sim_xs_read(e.xs, 0, 0, bad[i], &val, &len),
				 -EINVAL);
		ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, bad[i]), -EINVAL);
		ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, bad[i]), -EINVAL);
	}
	ck_assert_int_eq(put(e.xs, 0, NULL, "v"), -EINVAL);
	/* Every allowed character. */
	ck_assert_int_eq(put(e.xs, 0, "/AZaz09_-@x", "v"), 0);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(path_and_value_limits)
{
	struct xs_env e = env_new();
	char path[SIM_XS_ABS_PATH_MAX + 2];
	static char big[SIM_XS_PAYLOAD_MAX + 1];
	size_t room;

	/* "/xxx...": exactly the maximum length is fine, one more is not. */
	memset(path, 'x', sizeof(path));
	path[0] = '/';
	path[SIM_XS_ABS_PATH_MAX] = '\0';
	ck_assert_int_eq(put(e.xs, 0, path, "v"), 0);
	path[SIM_XS_ABS_PATH_MAX] = 'x';
	path[SIM_XS_ABS_PATH_MAX + 1] = '\0';
	ck_assert_int_eq(put(e.xs, 0, path, "v"), -EINVAL);

	/* Path, NUL and value share XENSTORE_PAYLOAD_MAX. */
	room = SIM_XS_PAYLOAD_MAX - strlen("/v") - 1;
	ck_assert_int_eq(sim_xs_write(e.xs, 0, 0, "/v", big, room), 0);
	ck_assert_int_eq(sim_xs_write(e.xs, 0, 0, "/v", big, room + 1),
			 -E2BIG);
	ck_assert_int_eq(sim_xs_write(e.xs, 0, 0, "/v", big,
				      SIM_XS_PAYLOAD_MAX + 1), -E2BIG);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(perm_owner_and_other)
{
	struct xs_env e = env_dom5();
	struct xs_permissions p = { .id = 5, .perms = XS_PERM_NONE };
	char **names;
	unsigned num;

	/* Owner reads and writes; dom0 does anything. */
	ck_assert_int_eq(put(e.xs, 5, "/local/domain/5/k", "v"), 0);
	ck_assert_int_eq(read_err(e.xs, 5, 0, "/local/domain/5/k"), 0);
	ck_assert_int_eq(put(e.xs, 0, "/local/domain/5/k", "w"), 0);
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/local/domain/5/k"), 0);

	/* Another domain: nothing. */
	ck_assert_int_eq(read_err(e.xs, 7, 0, "/local/domain/5/k"), -EACCES);
	ck_assert_int_eq(put(e.xs, 7, "/local/domain/5/k", "x"), -EACCES);
	ck_assert_int_eq(put(e.xs, 7, "/local/domain/5/new", "x"), -EACCES);
	ck_assert_int_eq(sim_xs_mkdir(e.xs, 7, 0, "/local/domain/5/k"),
			 -EACCES);
	ck_assert_int_eq(sim_xs_rm(e.xs, 7, 0, "/local/domain/5/k"), -EACCES);
	ck_assert_int_eq(sim_xs_directory(e.xs, 7, 0, "/local/domain/5",
					  &names, &num), -EACCES);
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 7, 0, "/local/domain/5/k", &p,
					  1), -EACCES);
	ck_assert(reads_as(e.xs, "/local/domain/5/k", "w"));

	/* Others may read, not write. */
	ck_assert_int_eq(perms1(e.xs, "/local/domain/5/k", 5, XS_PERM_READ), 0);
	ck_assert_int_eq(read_err(e.xs, 7, 0, "/local/domain/5/k"), 0);
	ck_assert_int_eq(put(e.xs, 7, "/local/domain/5/k", "x"), -EACCES);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(perm_domain_entries)
{
	struct xs_env e = env_dom5();
	struct xs_permissions p[3] = {
		{ .id = 5, .perms = XS_PERM_READ },
		{ .id = 7, .perms = XS_PERM_NONE },
		{ .id = 8, .perms = XS_PERM_WRITE },
	};

	ck_assert_int_eq(put(e.xs, 0, "/local/domain/5/k", "v"), 0);
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5/k", p,
					  3), 0);
	/* 7's own entry beats the everyone-else entry. */
	ck_assert_int_eq(read_err(e.xs, 7, 0, "/local/domain/5/k"), -EACCES);
	/* 9 has no entry: everyone-else applies. */
	ck_assert_int_eq(read_err(e.xs, 9, 0, "/local/domain/5/k"), 0);
	ck_assert_int_eq(put(e.xs, 9, "/local/domain/5/k", "x"), -EACCES);
	/* 8 may write but not read. */
	ck_assert_int_eq(put(e.xs, 8, "/local/domain/5/k", "by8"), 0);
	ck_assert_int_eq(read_err(e.xs, 8, 0, "/local/domain/5/k"), -EACCES);
	ck_assert(reads_as(e.xs, "/local/domain/5/k", "by8"));
	/* The first matching entry wins. */
	p[2].id = 7;
	p[2].perms = XS_PERM_READ;
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5/k", p,
					  3), 0);
	ck_assert_int_eq(read_err(e.xs, 7, 0, "/local/domain/5/k"), -EACCES);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(perm_inherited_on_create)
{
	/* What 8 creates: its own, with the rest of the parent's list. */
	static const struct xs_permissions by8[2] = {
		{ .id = 8, .perms = XS_PERM_NONE },
		{ .id = 8, .perms = XS_PERM_WRITE },
	};
	struct xs_env e = env_dom5();
	struct xs_permissions p[2] = {
		{ .id = 5, .perms = XS_PERM_NONE },
		{ .id = 7, .perms = XS_PERM_READ },
	};

	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5", p, 2),
			 0);
	/* Domain 8 may write the directory, and owns what it creates. */
	p[1].id = 8;
	p[1].perms = XS_PERM_WRITE;
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5", p, 2),
			 0);
	ck_assert_int_eq(put(e.xs, 8, "/local/domain/5/x/y", "v"), 0);
	expect_perms(e.xs, 0, "/local/domain/5/x", by8, 2);
	expect_perms(e.xs, 0, "/local/domain/5/x/y", by8, 2);
	/* dom0 creating keeps the parent's owner. */
	ck_assert_int_eq(put(e.xs, 0, "/local/domain/5/z", "v"), 0);
	ck_assert_uint_eq(owner_of(e.xs, 0, "/local/domain/5/z"), 5);
	/* 8 owns x/y now: it may read it though the entry says write-only. */
	ck_assert_int_eq(read_err(e.xs, 8, 0, "/local/domain/5/x/y"), 0);
	ck_assert(reads_as(e.xs, "/local/domain/5/x/y", "v"));
	sim_destroy(e.sim);
}
END_TEST

START_TEST(perm_set_perms_rules)
{
	struct xs_env e = env_dom5();
	struct xs_permissions p[2] = {
		{ .id = 5, .perms = XS_PERM_READ },
		{ .id = 7, .perms = XS_PERM_READ | XS_PERM_WRITE },
	};
	struct xs_permissions *got;
	unsigned num;

	ck_assert_int_eq(put(e.xs, 5, "/local/domain/5/k", "v"), 0);
	/* The owner may change the list... */
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 5, 0, "/local/domain/5/k", p,
					  2), 0);
	/* ...but not give the node away; dom0 may. */
	p[0].id = 7;
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 5, 0, "/local/domain/5/k", p,
					  2), -EPERM);
	/* Write access is not ownership. */
	p[0].id = 5;
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 7, 0, "/local/domain/5/k", p,
					  2), -EACCES);
	p[0].id = 7;
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5/k", p,
					  2), 0);
	ck_assert_uint_eq(owner_of(e.xs, 5, "/local/domain/5/k"), 7);
	/* Malformed lists. */
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5/k", p,
					  0), -EINVAL);
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5/k",
					  NULL, 1), -EINVAL);
	p[1].perms = XS_PERM_OWNER;
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5/k", p,
					  2), -EINVAL);
	p[1].perms = XS_PERM_READ;
	p[1].id = 70000;
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/local/domain/5/k", p,
					  2), -EINVAL);
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/nope", p, 1), -ENOENT);
	/* get_perms needs read access. */
	ck_assert_int_eq(sim_xs_get_perms(e.xs, 9, 0, "/local/domain/5", &got,
					  &num), -EACCES);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(perm_absent_node_hidden)
{
	struct xs_env e = env_dom5();

	/* Under a directory 7 cannot read, absence is not revealed. */
	ck_assert_int_eq(read_err(e.xs, 7, 0, "/local/domain/5/none/x"),
			 -EACCES);
	ck_assert_int_eq(read_err(e.xs, 5, 0, "/local/domain/5/none/x"),
			 -ENOENT);
	ck_assert_int_eq(sim_xs_rm(e.xs, 7, 0, "/local/domain/5/none"),
			 -EACCES);
	ck_assert_int_eq(sim_xs_rm(e.xs, 5, 0, "/local/domain/5/none"),
			 -ENOENT);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(read_uint_strict)
{
	struct xs_env e = env_new();
	static const char *bad[] = {
		"", "-1", "+1", " 1", "1 ", "4x", "0x10", "1.0",
		"18446744073709551616", "99999999999999999999",
	};
	unsigned long long v;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(put(e.xs, 0, "/n", bad[i]), 0);
		ck_assert_int_eq(sim_xs_read_uint(e.xs, 0, 0, "/n", &v),
				 -EINVAL);
	}
	ck_assert_int_eq(sim_xs_write(e.xs, 0, 0, "/n", "1\0", 2), 0);
	ck_assert_int_eq(sim_xs_read_uint(e.xs, 0, 0, "/n", &v), -EINVAL);
	ck_assert_int_eq(put(e.xs, 0, "/n", "18446744073709551615"), 0);
	ck_assert_int_eq(sim_xs_read_uint(e.xs, 0, 0, "/n", &v), 0);
	ck_assert(v == 18446744073709551615ull);
	ck_assert_int_eq(sim_xs_printf(e.xs, 0, 0, "/n", "%d-%s", 0, ""), 0);
	ck_assert_int_eq(sim_xs_read_uint(e.xs, 0, 0, "/n", &v), -EINVAL);
	ck_assert_int_eq(sim_xs_printf(e.xs, 0, 0, "/n", "%03u", 7u), 0);
	ck_assert(reads_as(e.xs, "/n", "007"));
	ck_assert_int_eq(sim_xs_read_uint(e.xs, 0, 0, "/n", &v), 0);
	ck_assert(v == 7);
	ck_assert_int_eq(sim_xs_read_uint(e.xs, 0, 0, "/none", &v), -ENOENT);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(xenbus_state_helpers)
{
	struct xs_env e = env_dom5();
	const char *dir = "/local/domain/5/device/vusb/0";
	int state = -1;

	/* The device directory is gone: nothing is (re)created. */
	ck_assert_int_eq(sim_xenbus_switch_state(e.xs, 5, dir, 4), -ENOENT);
	ck_assert_int_eq(read_err(e.xs, 0, 0, dir), -ENOENT);
	ck_assert_int_eq(sim_xenbus_read_state(e.xs, 5, dir, &state), -ENOENT);
	ck_assert_int_eq(state, 0); /* XenbusStateUnknown */

	ck_assert_int_eq(sim_xs_mkdir(e.xs, 5, 0, dir), 0);
	ck_assert_int_eq(sim_xenbus_switch_state(e.xs, 5, dir, 4), 0);
	ck_assert(reads_as(e.xs, "/local/domain/5/device/vusb/0/state", "4"));
	ck_assert_int_eq(sim_xenbus_read_state(e.xs, 5, dir, &state), 0);
	ck_assert_int_eq(state, 4);
	/* Other domains cannot switch it. */
	ck_assert_int_eq(sim_xenbus_switch_state(e.xs, 7, dir, 6), -EACCES);
	ck_assert_int_eq(sim_xenbus_read_state(e.xs, 5, dir, &state), 0);
	ck_assert_int_eq(state, 4);
	/* Hostile content reads as an error, state Unknown. */
	ck_assert_int_eq(put(e.xs, 0, "/local/domain/5/device/vusb/0/state",
			     "4junk"), 0);
	ck_assert_int_eq(sim_xenbus_read_state(e.xs, 5, dir, &state), -EINVAL);
	ck_assert_int_eq(state, 0);
	ck_assert_int_eq(put(e.xs, 0, "/local/domain/5/device/vusb/0/state",
			     "2147483648"), 0);
	ck_assert_int_eq(sim_xenbus_read_state(e.xs, 5, dir, &state), -EINVAL);
	ck_assert_int_eq(sim_xenbus_switch_state(e.xs, 5, "bad", 4), -EINVAL);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(xenbus_switch_retries_eagain)
{
	struct xs_env e = env_new();
	struct sim_fault_plan *plan = sim_faults(e.sim);
	struct sim_xs_stats st;

	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/dev"), 0);
	/* One injected conflict: the second attempt commits. */
	sim_fault_countdown(plan, SIM_FAULT_XS_EAGAIN, 1, false);
	ck_assert_int_eq(sim_xenbus_switch_state(e.xs, 0, "/dev", 3), 0);
	ck_assert(reads_as(e.xs, "/dev/state", "3"));
	ck_assert_uint_eq(sim_fault_consulted(plan, SIM_FAULT_XS_EAGAIN), 2);
	/* Conflicts that persist: bounded retries, then -EAGAIN. */
	sim_fault_countdown(plan, SIM_FAULT_XS_EAGAIN, 1, true);
	ck_assert_int_eq(sim_xenbus_switch_state(e.xs, 0, "/dev", 5), -EAGAIN);
	ck_assert_uint_eq(sim_fault_consulted(plan, SIM_FAULT_XS_EAGAIN), 10);
	ck_assert(reads_as(e.xs, "/dev/state", "3"));
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.txn_conflicts, 9);
	ck_assert_uint_eq(st.txn_commits, 1);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(write_fault_enomem)
{
	struct xs_env e = env_new();
	struct sim_fault_plan *plan = sim_faults(e.sim);
	struct xs_permissions open[1] = { { .id = 0, .perms = XS_PERM_WRITE } };

	/* A directory domain 5 may write in. */
	ck_assert_int_eq(sim_xs_mkdir(e.xs, 0, 0, "/d"), 0);
	ck_assert_int_eq(sim_xs_set_perms(e.xs, 0, 0, "/d", open, 1), 0);
	sim_fault_countdown(plan, SIM_FAULT_XS_ENOMEM, 2, false);
	ck_assert_int_eq(put(e.xs, 5, "/d/a", "1"), 0);
	ck_assert_int_eq(put(e.xs, 5, "/d/b", "2"), -ENOMEM);
	ck_assert_int_eq(read_err(e.xs, 0, 0, "/d/b"), -ENOENT);
	ck_assert_int_eq(put(e.xs, 5, "/d/b", "2"), 0);
	ck_assert_uint_eq(sim_fault_injected(plan, SIM_FAULT_XS_ENOMEM), 1);
	/* Dom0 is exempt from quotas, as in xenstored: never refused. */
	sim_fault_countdown(plan, SIM_FAULT_XS_ENOMEM, 1, true);
	ck_assert_int_eq(put(e.xs, 0, "/c", "3"), 0);
	ck_assert_int_eq(put(e.xs, 5, "/d/c", "3"), -ENOMEM);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(trace_and_stats)
{
	struct xs_env e = env_new();
	struct xs_env f = env_new();
	struct sim_xs_stats st;
	uint64_t recs = sim_trace_records(e.sim);

	/* Every mutation is in the trace, and the path matters. */
	ck_assert_int_eq(put(e.xs, 0, "/a", "1"), 0);
	ck_assert_int_eq(put(f.xs, 0, "/b", "1"), 0);
	ck_assert_uint_gt(sim_trace_records(e.sim), recs);
	ck_assert(sim_trace_hash(e.sim) != sim_trace_hash(f.sim));
	recs = sim_trace_records(e.sim);
	ck_assert_int_eq(sim_xs_rm(e.xs, 0, 0, "/a"), 0);
	ck_assert_uint_gt(sim_trace_records(e.sim), recs);
	/* A failed write changes nothing. */
	recs = sim_trace_records(e.sim);
	ck_assert_int_eq(put(e.xs, 3, "/c", "1"), -EACCES);
	ck_assert_uint_eq(sim_trace_records(e.sim), recs);
	sim_xs_stats(e.xs, &st);
	ck_assert_uint_eq(st.writes, 1);
	ck_assert_uint_eq(st.nodes, 3);
	sim_destroy(e.sim);
	sim_destroy(f.sim);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xs_store");
	TCase *tc = tcase_create("store");

	tcase_add_test(tc, initial_tree);
	tcase_add_test(tc, write_read_roundtrip);
	tcase_add_test(tc, mkdir_rm);
	tcase_add_test(tc, directory_sorted);
	tcase_add_test(tc, path_validation);
	tcase_add_test(tc, path_and_value_limits);
	tcase_add_test(tc, perm_owner_and_other);
	tcase_add_test(tc, perm_domain_entries);
	tcase_add_test(tc, perm_inherited_on_create);
	tcase_add_test(tc, perm_set_perms_rules);
	tcase_add_test(tc, perm_absent_node_hidden);
	tcase_add_test(tc, read_uint_strict);
	tcase_add_test(tc, xenbus_state_helpers);
	tcase_add_test(tc, xenbus_switch_retries_eagain);
	tcase_add_test(tc, write_fault_enomem);
	tcase_add_test(tc, trace_and_stats);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
