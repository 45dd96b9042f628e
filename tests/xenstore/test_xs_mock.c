/*
 * The mock libxenstore, end to end through Xen's own <xenstore.h> API:
 * connections, return conventions and errno values, relative paths,
 * transactions, and watches through xs_fileno()/poll(), xs_read_watch()
 * and xs_check_watch().
 */
#include "check_main.h"
#include <xenstore.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "xs_helpers.h"

static bool readable_now(struct xs_handle *h)
{
	struct pollfd pfd = { .fd = xs_fileno(h), .events = POLLIN };

	ck_assert_int_ge(pfd.fd, 0);
	ck_assert_int_ge(poll(&pfd, 1, 0), 0);
	return pfd.revents & POLLIN;
}

static int pipe_bytes(struct xs_handle *h)
{
	int n = -1;

	ck_assert_int_eq(ioctl(xs_fileno(h), FIONREAD, &n), 0);
	return n;
}

/*
 * The libxenstore convention for a failure: false, NULL or XBT_NULL, with
 * errno set. errno is cleared first, so a stale value cannot pass.
 */
#define assert_fails(call, err)						\
	do {								\
		errno = 0;						\
		ck_assert_msg(!(call), "%s succeeded", #call);		\
		ck_assert_int_eq(errno, (err));				\
	} while (0)

/* path reads as want through h. */
static void mock_reads_as(struct xs_handle *h, xs_transaction_t t,
			  const char *path, const char *want)
{
	char *v = xs_read(h, t, path, NULL);

	ck_assert_str_eq(v, want);
	free(v);
}

/* The next event by xs_check_watch(); a NULL path or token is not checked. */
static void expect_event(struct xs_handle *h, const char *path,
			 const char *token)
{
	char **vec = xs_check_watch(h);

	ck_assert_ptr_nonnull(vec);
	if (path)
		ck_assert_str_eq(vec[XS_WATCH_PATH], path);
	if (token)
		ck_assert_str_eq(vec[XS_WATCH_TOKEN], token);
	free(vec); /* one block */
}

/* Through h0, /local/domain/5 owned by 5, as a toolstack makes it. */
static void mock_dom5(struct xs_handle *h0)
{
	struct xs_permissions own = { .id = 5, .perms = XS_PERM_NONE };

	ck_assert(xs_mkdir(h0, XBT_NULL, "/local/domain/5"));
	ck_assert(xs_set_permissions(h0, XBT_NULL, "/local/domain/5", &own, 1));
}

START_TEST(open_default)
{
	struct xs_env e = env_new();
	struct xs_handle *h;

	sim_xs_mock_set_default(NULL, 0);
	assert_fails(xs_open(0), EINVAL);
	sim_xs_mock_set_default(e.xs, 0);
	h = xs_open(0);
	ck_assert_ptr_nonnull(h);
	ck_assert(xs_write(h, XBT_NULL, "/d", "v", 1));
	xs_close(h);
	/* The deprecated names are the same connection. */
	h = xs_daemon_open();
	ck_assert_ptr_nonnull(h);
	mock_reads_as(h, XBT_NULL, "/d", "v");
	xs_daemon_close(h);
	h = xs_domain_open();
	ck_assert_ptr_nonnull(h);
	xs_close(h);
	xs_close(NULL);
	assert_fails(sim_xs_mock_open(NULL, 0), EINVAL);
	sim_destroy(e.sim);
	/* The default went with the store. */
	ck_assert_ptr_null(xs_open(0));
}
END_TEST

START_TEST(read_write_errno)
{
	struct xs_env e = env_new();
	struct xs_handle *h0 = sim_xs_mock_open(e.xs, 0);
	struct xs_handle *h7 = sim_xs_mock_open(e.xs, 7);
	unsigned len = 99;
	char *v;

	ck_assert(xs_write(h0, XBT_NULL, "/m/k", "ab\0c", 4));
	v = xs_read(h0, XBT_NULL, "/m/k", &len);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(v, "ab\0c", 5);
	free(v);
	assert_fails(xs_read(h0, XBT_NULL, "/m/none", &len), ENOENT);
	assert_fails(xs_read(h7, XBT_NULL, "/m/k", &len), EACCES);
	assert_fails(xs_write(h7, XBT_NULL, "/m/k", "x", 1), EACCES);
	assert_fails(xs_write(h0, XBT_NULL, "/bad//path", "x", 1), EINVAL);
	assert_fails(xs_write(h0, 12345, "/m/k", "x", 1), ENOENT);
	assert_fails(xs_read(NULL, XBT_NULL, "/m/k", &len), EINVAL);
	ck_assert(xs_mkdir(h0, XBT_NULL, "/m/dir"));
	ck_assert(xs_mkdir(h0, XBT_NULL, "/m/dir")); /* exists: fine */
	ck_assert(xs_rm(h0, XBT_NULL, "/m/dir"));
	assert_fails(xs_rm(h0, XBT_NULL, "/m/dir"), ENOENT);
	xs_close(h0);
	xs_close(h7);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(directory_and_perms)
{
	struct xs_env e = env_new();
	struct xs_handle *h = sim_xs_mock_open(e.xs, 0);
	struct xs_permissions set[2] = {
		{ .id = 4, .perms = XS_PERM_NONE },
		{ .id = 6, .perms = XS_PERM_READ },
	};
	struct xs_permissions *p;
	unsigned num = 99;
	char **names;

	ck_assert(xs_write(h, XBT_NULL, "/l/b", "", 0));
	ck_assert(xs_write(h, XBT_NULL, "/l/a", "", 0));
	names = xs_directory(h, XBT_NULL, "/l", &num);
	ck_assert_ptr_nonnull(names);
	ck_assert_uint_eq(num, 2);
	ck_assert_str_eq(names[0], "a");
	ck_assert_str_eq(names[1], "b");
	free(names); /* one block */
	assert_fails(xs_directory(h, XBT_NULL, "/nope", &num), ENOENT);

	ck_assert(xs_set_permissions(h, XBT_NULL, "/l/a", set, 2));
	p = xs_get_permissions(h, XBT_NULL, "/l/a", &num);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(num, 2);
	ck_assert_uint_eq(p[0].id, 4);
	ck_assert_uint_eq(p[1].id, 6);
	ck_assert_uint_eq(p[1].perms, XS_PERM_READ);
	free(p);
	assert_fails(xs_set_permissions(h, XBT_NULL, "/l/a", set, 0), EINVAL);

	p = xs_get_permissions(h, XBT_NULL, "/nope", &num);
	ck_assert_ptr_null(p);
	xs_close(h);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(relative_paths)
{
	struct xs_env e = env_new();
	struct xs_handle *h0 = sim_xs_mock_open(e.xs, 0);
	struct xs_handle *h5 = sim_xs_mock_open(e.xs, 5);
	char *home;

	mock_dom5(h0);
	ck_assert(xs_write(h5, XBT_NULL, "device/vusb/0/state", "1", 1));
	ck_assert(reads_as(e.xs, "/local/domain/5/device/vusb/0/state", "1"));
	mock_reads_as(h5, XBT_NULL, "device/vusb/0/state", "1");
	home = xs_get_domain_path(h0, 5);
	ck_assert_str_eq(home, "/local/domain/5");
	free(home);
	assert_fails(xs_write(h5, XBT_NULL, "", "1", 1), EINVAL);
	xs_close(h0);
	xs_close(h5);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(transactions)
{
	struct xs_env e = env_new();
	struct xs_handle *a = sim_xs_mock_open(e.xs, 0);
	struct xs_handle *b = sim_xs_mock_open(e.xs, 0);
	xs_transaction_t t;

	ck_assert(xs_write(a, XBT_NULL, "/t/k", "0", 1));
	t = xs_transaction_start(a);
	ck_assert_uint_ne(t, XBT_NULL);
	ck_assert(xs_write(a, t, "/t/k", "1", 1));
	/* Another connection cannot use it (ids are per connection). */
	assert_fails(xs_read(b, t, "/t/k", NULL), ENOENT);
	mock_reads_as(b, XBT_NULL, "/t/k", "0");
	ck_assert(xs_transaction_end(a, t, false));
	ck_assert(reads_as(e.xs, "/t/k", "1"));
	assert_fails(xs_transaction_end(a, t, false), ENOENT);

	/* Conflict: EAGAIN, restart. */
	t = xs_transaction_start(a);
	mock_reads_as(a, t, "/t/k", "1");
	ck_assert(xs_write(b, XBT_NULL, "/t/k", "b", 1));
	ck_assert(xs_write(a, t, "/t/k", "a", 1));
	assert_fails(xs_transaction_end(a, t, false), EAGAIN);
	ck_assert(reads_as(e.xs, "/t/k", "b"));

	/* Abort. */
	t = xs_transaction_start(a);
	ck_assert(xs_write(a, t, "/t/k", "x", 1));
	ck_assert(xs_transaction_end(a, t, true));
	ck_assert(reads_as(e.xs, "/t/k", "b"));

	/* Left open: xs_close ends it. */
	t = xs_transaction_start(b);
	ck_assert(xs_write(b, t, "/t/never", "x", 1));
	xs_close(b);
	ck_assert_ptr_null(get(e.xs, 0, 0, "/t/never", NULL));
	/* The quota shows as errno too. */
	struct xs_handle *g = sim_xs_mock_open(e.xs, 9);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_ne(xs_transaction_start(g), XBT_NULL);
	assert_fails(xs_transaction_start(g), ENOSPC);
	xs_close(g);
	xs_close(a);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(watch_fileno_and_read)
{
	struct xs_env e = env_new();
	struct xs_handle *h = sim_xs_mock_open(e.xs, 0);
	unsigned num = 0;
	char **vec;

	ck_assert(!readable_now(h));
	ck_assert(xs_watch(h, "/w", "tok"));
	/* Events are simulator events: nothing before the run. */
	ck_assert(!readable_now(h));
	sim_run(e.sim);
	ck_assert(readable_now(h));
	ck_assert_int_eq(pipe_bytes(h), 1);
	vec = xs_read_watch(h, &num);
	ck_assert_ptr_nonnull(vec);
	ck_assert_uint_eq(num, 2);
	ck_assert_str_eq(vec[XS_WATCH_PATH], "/w");
	ck_assert_str_eq(vec[XS_WATCH_TOKEN], "tok");
	free(vec); /* one block */
	ck_assert(!readable_now(h));

	ck_assert(xs_write(h, XBT_NULL, "/w/a", "1", 1));
	ck_assert(xs_write(h, XBT_NULL, "/w/b", "1", 1));
	ck_assert(xs_write(h, XBT_NULL, "/x", "1", 1));
	sim_run(e.sim);
	ck_assert_int_eq(pipe_bytes(h), 2);
	expect_event(h, "/w/a", NULL);
	ck_assert(readable_now(h));
	expect_event(h, "/w/b", "tok");
	assert_fails(xs_check_watch(h), EAGAIN);
	/* No blocking in a simulation: EAGAIN as well. */
	assert_fails(xs_read_watch(h, &num), EAGAIN);
	ck_assert(!readable_now(h));

	assert_fails(xs_watch(h, "/w", "tok"), EEXIST);
	assert_fails(xs_watch(h, "/w/", "tok"), EINVAL);
	xs_close(h);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(fileno_created_late)
{
	struct xs_env e = env_new();
	struct xs_handle *h = sim_xs_mock_open(e.xs, 0);

	ck_assert(xs_watch(h, "/late", "t"));
	ck_assert(xs_write(h, XBT_NULL, "/late", "1", 1));
	sim_run(e.sim);
	/* Two events queued before the fd existed: two bytes. */
	ck_assert_int_eq(pipe_bytes(h), 2);
	ck_assert_int_ne(fcntl(xs_fileno(h), F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(xs_fileno(h), F_GETFD) & FD_CLOEXEC, 0);
	expect_event(h, NULL, NULL);
	ck_assert_int_eq(pipe_bytes(h), 1);
	expect_event(h, "/late", NULL);
	ck_assert_int_eq(pipe_bytes(h), 0);
	xs_close(h);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(unwatch_and_relative_watch)
{
	struct xs_env e = env_new();
	struct xs_handle *h0 = sim_xs_mock_open(e.xs, 0);
	struct xs_handle *h5 = sim_xs_mock_open(e.xs, 5);
	char **vec;

	mock_dom5(h0);
	ck_assert(xs_watch(h5, "device", "rel"));
	ck_assert(xs_watch(h5, "/local/domain/5/data", "abs"));
	sim_run(e.sim);
	expect_event(h5, "device", NULL); /* relative */
	expect_event(h5, "/local/domain/5/data", NULL);
	ck_assert(xs_write(h0, XBT_NULL, "/local/domain/5/device/x", "1", 1));
	ck_assert(xs_write(h0, XBT_NULL, "/local/domain/5/data", "1", 1));
	sim_run(e.sim);
	vec = xs_read_watch(h5, NULL);
	ck_assert_str_eq(vec[XS_WATCH_PATH], "device/x");
	ck_assert_str_eq(vec[XS_WATCH_TOKEN], "rel");
	free(vec);
	/* Unwatch drops what is queued for that watch only. */
	ck_assert(xs_write(h0, XBT_NULL, "/local/domain/5/device/y", "1", 1));
	sim_run(e.sim);
	ck_assert_int_eq(pipe_bytes(h5), 2);
	ck_assert(xs_unwatch(h5, "device", "rel"));
	ck_assert_int_eq(pipe_bytes(h5), 1);
	expect_event(h5, NULL, "abs");
	ck_assert_ptr_null(xs_check_watch(h5));
	assert_fails(xs_unwatch(h5, "device", "rel"), ENOENT);
	/* Queued in the store, not yet delivered: dropped as well. */
	ck_assert(xs_write(h0, XBT_NULL, "/local/domain/5/data", "2", 1));
	ck_assert(xs_unwatch(h5, "/local/domain/5/data", "abs"));
	sim_run(e.sim);
	ck_assert_ptr_null(xs_check_watch(h5));
	xs_close(h0);
	xs_close(h5);
	sim_destroy(e.sim);
}
END_TEST

START_TEST(close_with_watches_and_store_gone)
{
	struct xs_env e = env_new();
	struct xs_handle *a = sim_xs_mock_open(e.xs, 0);
	struct xs_handle *b = sim_xs_mock_open(e.xs, 0);

	ck_assert(xs_watch(a, "/c", "t"));
	ck_assert(xs_watch(b, "/c", "t"));
	ck_assert(xs_write(a, XBT_NULL, "/c", "1", 1));
	sim_run(e.sim);
	ck_assert_int_ge(xs_fileno(a), 0);
	/* a goes with events queued and its watch registered. */
	xs_close(a);
	ck_assert(xs_write(b, XBT_NULL, "/c", "2", 1));
	sim_run(e.sim);
	ck_assert_int_eq(pipe_bytes(b), 3);
	/* b outlives the store: calls fail, close is safe. */
	ck_assert_uint_ne(xs_transaction_start(b), XBT_NULL);
	sim_destroy(e.sim);
	assert_fails(xs_write(b, XBT_NULL, "/c", "3", 1), ENOTCONN);
	expect_event(b, NULL, NULL); /* what was queued stays readable */
	xs_close(b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("xs_mock");
	TCase *tc = tcase_create("mock");

	tcase_add_test(tc, open_default);
	tcase_add_test(tc, read_write_errno);
	tcase_add_test(tc, directory_and_perms);
	tcase_add_test(tc, relative_paths);
	tcase_add_test(tc, transactions);
	tcase_add_test(tc, watch_fileno_and_read);
	tcase_add_test(tc, fileno_created_late);
	tcase_add_test(tc, unwatch_and_relative_watch);
	tcase_add_test(tc, close_with_watches_and_store_gone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return xpv_check_run(suite());
}
