/*
 * Execution contexts that can block: coroutines on ucontext, scheduled by
 * the simulator. Driver code that sleeps (waiting for a completion, a
 * xenstore watch, a timer) runs in a task; the task yields back to the run
 * loop and is resumed by a simulator event, so there are no threads and a
 * run stays a pure function of its seed. Wakeups land after a seeded jitter
 * (sim_jitter), so different seeds explore different interleavings of tasks
 * woken at the same instant.
 */
#ifndef SIM_CORE_TASK_H
#define SIM_CORE_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "sim.h"

struct sim_task;
typedef void sim_task_fn(void *arg);

/* A queue of blocked tasks. Zero-initialised is valid. */
struct sim_waitq {
	struct sim_task *head;
	struct sim_task *tail;
};

#define SIM_TASK_STACK_DEFAULT (256u * 1024u)

/* Start fn(arg) in a new task at now + jitter. The task ends when fn
 * returns and is then freed; `name` must outlive it. */
struct sim_task *sim_task_spawn(struct sim *sim, const char *name,
				sim_task_fn *fn, void *arg);
/* The running task, or NULL in plain event context. */
struct sim_task *sim_task_current(struct sim *sim);
const char *sim_task_name(const struct sim_task *task);
/* Tasks started and not yet finished. */
unsigned sim_tasks_live(struct sim *sim);

/* In a task only: */
void sim_task_sleep(struct sim *sim, uint64_t ns);
void sim_task_yield(struct sim *sim);
void sim_task_wait(struct sim *sim, struct sim_waitq *wq);
/* false if timeout_ns passed before a wakeup. */
bool sim_task_wait_timeout(struct sim *sim, struct sim_waitq *wq,
			   uint64_t timeout_ns);

/* From anywhere: make blocked tasks runnable (each after a jitter). */
void sim_waitq_wake_one(struct sim *sim, struct sim_waitq *wq);
void sim_waitq_wake_all(struct sim *sim, struct sim_waitq *wq);
bool sim_waitq_empty(const struct sim_waitq *wq);

/* A one-shot completion (Linux's struct completion), built on a waitq. */
struct sim_completion {
	unsigned done;
	struct sim_waitq wq;
};
void sim_completion_complete(struct sim *sim, struct sim_completion *c);
void sim_completion_wait(struct sim *sim, struct sim_completion *c);

#endif /* SIM_CORE_TASK_H */
