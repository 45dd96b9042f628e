/* Coroutine tasks: sleep, wait/wake, timeouts, completions, and that the
 * interleaving of tasks woken together is decided by the seed. */
#include <check.h>

#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include "sim/core/task.h"

static struct sim *new_sim(uint64_t seed)
{
	struct sim_config cfg;
	sim_config_default(&cfg, seed);
	return sim_create(&cfg);
}

struct sleeper {
	struct sim *sim;
	uint64_t woke_at[3];
	int steps;
};

static void sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	for (int i = 0; i < 3; i++) {
		sim_task_sleep(s->sim, 1000);
		s->woke_at[s->steps++] = sim_now(s->sim);
	}
}

START_TEST(sleep_advances_simulated_time)
{
	struct sim *sim = new_sim(1);
	struct sleeper s = { .sim = sim };

	sim_task_spawn(sim, "sleeper", sleeper_fn, &s);
	ck_assert_uint_eq(sim_tasks_live(sim), 1);
	sim_run(sim);
	ck_assert_int_eq(s.steps, 3);
	ck_assert_uint_ge(s.woke_at[0], 1000);
	ck_assert_uint_eq(s.woke_at[1] - s.woke_at[0], 1000);
	ck_assert_uint_eq(s.woke_at[2] - s.woke_at[1], 1000);
	ck_assert_uint_eq(sim_tasks_live(sim), 0);
	ck_assert_ptr_null(sim_task_current(sim));
	sim_destroy(sim);
}
END_TEST

struct waiter {
	struct sim *sim;
	struct sim_waitq *wq;
	char *log;
	char id;
	bool woken;
};

static void waiter_fn(void *arg)
{
	struct waiter *w = arg;
	sim_task_wait(w->sim, w->wq);
	w->woken = true;
	size_t n = strlen(w->log);
	w->log[n] = w->id;
	w->log[n + 1] = '\0';
}

static void wake_all_ev(struct sim *sim, void *arg)
{
	sim_waitq_wake_all(sim, arg);
}

/* Four tasks woken at the same instant; returns the order they ran in. */
static void wake_order(uint64_t seed, char *out)
{
	struct sim_config cfg;
	sim_config_default(&cfg, seed);
	cfg.jitter_ns = 1000000;
	struct sim *sim = sim_create(&cfg);
	struct sim_waitq wq = { 0 };
	struct waiter w[4];

	out[0] = '\0';
	for (int i = 0; i < 4; i++) {
		w[i] = (struct waiter){ sim, &wq, out, (char)('a' + i), false };
		sim_task_spawn(sim, "waiter", waiter_fn, &w[i]);
	}
	sim_schedule(sim, 5000000, wake_all_ev, &wq, "wake");
	sim_run(sim);
	for (int i = 0; i < 4; i++)
		ck_assert(w[i].woken);
	sim_destroy(sim);
}

START_TEST(seed_decides_interleaving)
{
	char a[8], b[8], other[8];
	int differs = 0;

	wake_order(11, a);
	wake_order(11, b);
	ck_assert_str_eq(a, b); /* same seed, same order */
	for (uint64_t seed = 12; seed < 40; seed++) {
		wake_order(seed, other);
		ck_assert_int_eq(strlen(other), 4);
		differs += strcmp(a, other) != 0;
	}
	ck_assert_int_gt(differs, 0); /* seeds explore other orders */
}
END_TEST

struct timed {
	struct sim *sim;
	struct sim_waitq wq;
	bool result;
	uint64_t at;
};

static void timed_fn(void *arg)
{
	struct timed *t = arg;
	t->result = sim_task_wait_timeout(t->sim, &t->wq, 3000);
	t->at = sim_now(t->sim);
}

static void wake_one_ev(struct sim *sim, void *arg)
{
	sim_waitq_wake_one(sim, arg);
}

START_TEST(wait_timeout_both_ways)
{
	struct sim *sim = new_sim(3);
	struct timed t1 = { .sim = sim }, t2 = { .sim = sim };

	sim_task_spawn(sim, "times-out", timed_fn, &t1);
	sim_task_spawn(sim, "woken", timed_fn, &t2);
	sim_schedule(sim, 2000, wake_one_ev, &t2.wq, "wake");
	sim_run(sim);
	ck_assert(!t1.result);
	ck_assert_uint_ge(t1.at, 3000);
	ck_assert(t2.result);
	ck_assert_uint_lt(t2.at, 3000 + 2000);
	ck_assert(sim_waitq_empty(&t1.wq));
	sim_destroy(sim);
}
END_TEST

struct comp {
	struct sim *sim;
	struct sim_completion c;
	int got;
};

static void comp_waiter(void *arg)
{
	struct comp *c = arg;
	sim_completion_wait(c->sim, &c->c);
	c->got++;
	sim_completion_wait(c->sim, &c->c);
	c->got++;
}

static void complete_ev(struct sim *sim, void *arg)
{
	struct comp *c = arg;
	sim_completion_complete(sim, &c->c);
}

START_TEST(completion_counts)
{
	struct sim *sim = new_sim(1);
	struct comp c = { .sim = sim };

	sim_completion_complete(sim, &c.c); /* before anyone waits */
	sim_task_spawn(sim, "comp", comp_waiter, &c);
	sim_run(sim);
	ck_assert_int_eq(c.got, 1); /* second wait still blocked */
	sim_schedule(sim, 10, complete_ev, &c, "complete");
	sim_run(sim);
	ck_assert_int_eq(c.got, 2);
	sim_destroy(sim);
}
END_TEST

START_TEST(destroy_with_blocked_task)
{
	/* A task that never finishes is freed with the simulation
	 * (LeakSanitizer checks this in the asan build). */
	struct sim *sim = new_sim(1);
	struct timed t = { .sim = sim };
	sim_task_spawn(sim, "stuck", timed_fn, &t);
	sim_run_until(sim, 100);
	ck_assert_uint_eq(sim_tasks_live(sim), 1);
	sim_destroy(sim);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_task");
	TCase *tc = tcase_create("task");
	tcase_add_test(tc, sleep_advances_simulated_time);
	tcase_add_test(tc, seed_decides_interleaving);
	tcase_add_test(tc, wait_timeout_both_ways);
	tcase_add_test(tc, completion_counts);
	tcase_add_test(tc, destroy_with_blocked_task);
	suite_add_tcase(s, tc);
	return xpv_check_run(s);
}
