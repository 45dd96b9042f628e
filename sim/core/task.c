/*
 * Coroutine tasks on ucontext. A task runs only inside a "task-run" event:
 * the event handler switches to the task's stack, and the task switches
 * back when it blocks, sleeps or ends. So at most one task runs at a time,
 * always inside the run loop, and the order of everything is decided by the
 * event queue, i.e. by the seed.
 *
 * Under AddressSanitizer every stack switch is announced to it
 * (__sanitizer_start/finish_switch_fiber), otherwise it would report false
 * stack-buffer errors on the foreign stacks.
 */
#include "task.h"

#include <stdlib.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#define SIM_TASK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_TASK_ASAN 1
#endif
#endif

#ifdef SIM_TASK_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

enum task_state {
	TASK_SCHEDULED, /* a task-run event is pending */
	TASK_RUNNING,
	TASK_BLOCKED,   /* on a waitq, maybe with a timeout event */
	TASK_DONE,
};

struct sim_task {
	struct sim *sim;
	const char *name;
	sim_task_fn *fn;
	void *arg;
	enum task_state state;
	ucontext_t ctx;
	void *stack;
	size_t stack_size;
	sim_event_id event;       /* pending run or timeout event, or 0 */
	struct sim_waitq *waitq;  /* where it is blocked, or NULL */
	struct sim_task *wq_next; /* link in waitq */
	bool timed_out;
	struct sim_task *all_prev, *all_next;
	void *asan_fake_stack;
};

struct sim_tasks {
	struct sim *sim;
	ucontext_t sched_ctx;
	struct sim_task *current;
	struct sim_task *all;
	unsigned live;
	/* Wakeup jitter: a stream of the tasks' own, so tasks (harness code)
	 * never move a domain's draws (sim.h, random streams). */
	struct sim_rng rng;
	const void *sched_stack_bottom;
	size_t sched_stack_size;
	void *sched_fake_stack;
};

static void task_free(struct sim_tasks *ts, struct sim_task *t)
{
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		ts->all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	free(t->stack);
	free(t);
}

static void tasks_destroy(void *part)
{
	struct sim_tasks *ts = part;
	/* Unfinished tasks are simply dropped: their stacks hold no state
	 * the simulator owns. Their pending events were freed with the
	 * event queue or are freed after this. */
	while (ts->all)
		task_free(ts, ts->all);
	free(ts);
}

static struct sim_tasks *tasks(struct sim *sim)
{
	struct sim_tasks *ts = sim_part(sim, SIM_PART_TASKS);
	if (!ts) {
		ts = sim_xcalloc(1, sizeof(*ts));
		ts->sim = sim;
		sim_rng_seed(&ts->rng, sim_seed_derive(sim_seed(sim),
						       SIM_STREAM_TASKS));
		sim_attach(sim, SIM_PART_TASKS, ts, tasks_destroy);
	}
	return ts;
}

/* ---- stack switching --------------------------------------------------- */

static void switch_to_task(struct sim_tasks *ts, struct sim_task *t)
{
#ifdef SIM_TASK_ASAN
	__sanitizer_start_switch_fiber(&ts->sched_fake_stack, t->stack,
				       t->stack_size);
#endif
	SIM_ASSERT(swapcontext(&ts->sched_ctx, &t->ctx) == 0);
#ifdef SIM_TASK_ASAN
	__sanitizer_finish_switch_fiber(ts->sched_fake_stack, NULL, NULL);
#endif
}

/* From inside task t back to the run loop; returns when t runs again. */
static void switch_to_scheduler(struct sim_tasks *ts, struct sim_task *t)
{
#ifdef SIM_TASK_ASAN
	/* A finished task passes NULL so ASan frees its fake stack. */
	__sanitizer_start_switch_fiber(
		t->state == TASK_DONE ? NULL : &t->asan_fake_stack,
		ts->sched_stack_bottom, ts->sched_stack_size);
#endif
	SIM_ASSERT(swapcontext(&t->ctx, &ts->sched_ctx) == 0);
#ifdef SIM_TASK_ASAN
	__sanitizer_finish_switch_fiber(t->asan_fake_stack,
					&ts->sched_stack_bottom,
					&ts->sched_stack_size);
#endif
}

static void trampoline(unsigned lo, unsigned hi)
{
	struct sim_task *t =
		(struct sim_task *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
	struct sim_tasks *ts = tasks(t->sim);

#ifdef SIM_TASK_ASAN
	__sanitizer_finish_switch_fiber(NULL, &ts->sched_stack_bottom,
					&ts->sched_stack_size);
#endif
	t->fn(t->arg);
	t->state = TASK_DONE;
	ts->live--;
	sim_trace_str(t->sim, "task-end", t->name);
	switch_to_scheduler(ts, t);
	SIM_ASSERT(!"a finished task was resumed");
}

/* ---- scheduling ------------------------------------------------------ */

static void task_run_event(struct sim *sim, void *arg)
{
	struct sim_task *t = arg;
	struct sim_tasks *ts = tasks(sim);

	SIM_ASSERT(ts->current == NULL); /* no task runs the run loop */
	SIM_ASSERT(t->state == TASK_SCHEDULED);
	t->event = 0;
	t->state = TASK_RUNNING;
	ts->current = t;
	switch_to_task(ts, t);
	ts->current = NULL;
	if (t->state == TASK_DONE)
		task_free(ts, t);
}

static void schedule_run(struct sim *sim, struct sim_task *t, uint64_t delay)
{
	SIM_ASSERT(t->event == 0);
	t->state = TASK_SCHEDULED;
	t->event = sim_schedule(sim, delay, task_run_event, t, "task-run");
}

/* getcontext() is declared returns-twice, so gcc warns that locals may be
 * clobbered. Here it returns once: the saved context is only entered
 * through makecontext's trampoline, never resumed at this call. */
#pragma GCC diagnostic push
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wclobbered"
#endif
static void __attribute__((noinline))
init_context(struct sim_task *t, uintptr_t p)
{
	SIM_ASSERT(getcontext(&t->ctx) == 0);
	t->ctx.uc_stack.ss_sp = t->stack;
	t->ctx.uc_stack.ss_size = t->stack_size;
	t->ctx.uc_link = NULL;
	makecontext(&t->ctx, (void (*)(void))trampoline, 2,
		    (unsigned)(p & 0xffffffffu), (unsigned)(p >> 32));
}
#pragma GCC diagnostic pop

struct sim_task *sim_task_spawn(struct sim *sim, const char *name,
				sim_task_fn *fn, void *arg)
{
	struct sim_tasks *ts = tasks(sim);
	struct sim_task *t = sim_xcalloc(1, sizeof(*t));
	uintptr_t p = (uintptr_t)t;

	t->sim = sim;
	t->name = name;
	t->fn = fn;
	t->arg = arg;
	t->stack_size = SIM_TASK_STACK_DEFAULT;
	t->stack = sim_xmalloc(t->stack_size);
	init_context(t, p);
	t->all_next = ts->all;
	if (ts->all)
		ts->all->all_prev = t;
	ts->all = t;
	ts->live++;
	sim_trace_str(sim, "task-spawn", name);
	schedule_run(sim, t, sim_jitter(sim, &ts->rng));
	return t;
}

struct sim_task *sim_task_current(struct sim *sim)
{
	return tasks(sim)->current;
}

const char *sim_task_name(const struct sim_task *task)
{
	return task->name;
}

unsigned sim_tasks_live(struct sim *sim)
{
	return tasks(sim)->live;
}

static struct sim_task *must_be_in_task(struct sim *sim)
{
	struct sim_task *t = tasks(sim)->current;
	/* Blocking outside a task would block the run loop itself. */
	SIM_ASSERT(t != NULL && t->state == TASK_RUNNING);
	return t;
}

void sim_task_sleep(struct sim *sim, uint64_t ns)
{
	struct sim_task *t = must_be_in_task(sim);
	schedule_run(sim, t, ns);
	switch_to_scheduler(tasks(sim), t);
}

void sim_task_yield(struct sim *sim)
{
	sim_task_sleep(sim, 0);
}

/* ---- wait queues --------------------------------------------------------- */

static void waitq_append(struct sim_waitq *wq, struct sim_task *t)
{
	t->wq_next = NULL;
	if (wq->tail)
		wq->tail->wq_next = t;
	else
		wq->head = t;
	wq->tail = t;
	t->waitq = wq;
}

static void waitq_unlink(struct sim_waitq *wq, struct sim_task *t)
{
	struct sim_task **pp = &wq->head, *prev = NULL;
	while (*pp && *pp != t) {
		prev = *pp;
		pp = &(*pp)->wq_next;
	}
	SIM_ASSERT(*pp == t);
	*pp = t->wq_next;
	if (wq->tail == t)
		wq->tail = prev;
	t->wq_next = NULL;
	t->waitq = NULL;
}

static void timeout_event(struct sim *sim, void *arg)
{
	struct sim_task *t = arg;

	SIM_ASSERT(t->state == TASK_BLOCKED && t->waitq != NULL);
	t->event = 0;
	waitq_unlink(t->waitq, t);
	t->timed_out = true;
	schedule_run(sim, t, 0);
}

bool sim_task_wait_timeout(struct sim *sim, struct sim_waitq *wq,
			   uint64_t timeout_ns)
{
	struct sim_task *t = must_be_in_task(sim);

	waitq_append(wq, t);
	t->state = TASK_BLOCKED;
	t->timed_out = false;
	if (timeout_ns != UINT64_MAX)
		t->event = sim_schedule(sim, timeout_ns, timeout_event, t,
					"task-timeout");
	switch_to_scheduler(tasks(sim), t);
	return !t->timed_out;
}

void sim_task_wait(struct sim *sim, struct sim_waitq *wq)
{
	sim_task_wait_timeout(sim, wq, UINT64_MAX);
}

static void wake(struct sim *sim, struct sim_task *t)
{
	SIM_ASSERT(t->state == TASK_BLOCKED);
	waitq_unlink(t->waitq, t);
	if (t->event) {
		SIM_ASSERT(sim_cancel(sim, t->event));
		t->event = 0;
	}
	schedule_run(sim, t, sim_jitter(sim, &tasks(sim)->rng));
}

void sim_waitq_wake_one(struct sim *sim, struct sim_waitq *wq)
{
	if (wq->head)
		wake(sim, wq->head);
}

void sim_waitq_wake_all(struct sim *sim, struct sim_waitq *wq)
{
	while (wq->head)
		wake(sim, wq->head);
}

bool sim_waitq_empty(const struct sim_waitq *wq)
{
	return wq->head == NULL;
}

void sim_completion_complete(struct sim *sim, struct sim_completion *c)
{
	c->done++;
	sim_waitq_wake_one(sim, &c->wq);
}

void sim_completion_wait(struct sim *sim, struct sim_completion *c)
{
	while (c->done == 0)
		sim_task_wait(sim, &c->wq);
	c->done--;
}
