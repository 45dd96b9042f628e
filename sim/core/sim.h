/*
 * The discrete-event core: virtual clock, event queue, seeded randomness,
 * run loop with bounds, and an event trace whose running hash names a run.
 *
 * Determinism rules (ARCHITECTURE.md): no wall clock, no host randomness,
 * no threads. Everything random comes from the seed through the streams
 * below; events
 * at equal times run in scheduling (FIFO) order. Other parts of the
 * simulator (xen models, xenstore, checkers) attach to a struct sim with
 * sim_attach() and are destroyed with it, last attached first.
 */
#ifndef SIM_CORE_SIM_H
#define SIM_CORE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sim;

/* ---- seeded randomness (xoshiro256**, seeded by splitmix64) ------------ */

struct sim_rng {
	uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *rng, uint64_t seed);
/* The seed of an independent stream: a mix of a seed and a key (a
 * splitmix64 round of each), so streams with nearby keys are unrelated. */
uint64_t sim_seed_derive(uint64_t seed, uint64_t key);
uint64_t sim_rng_next(struct sim_rng *rng);
/* Uniform in [0, bound); bound 0 gives 0. */
uint64_t sim_rng_below(struct sim_rng *rng, uint64_t bound);
/* true with probability per_million / 1e6. */
bool sim_rng_chance(struct sim_rng *rng, uint32_t per_million);

/* ---- creation and the run loop ---------------------------------------- */

struct sim_config {
	uint64_t seed;
	uint64_t max_events;        /* run loop stops after this many; 0: no bound */
	uint64_t max_time_ns;       /* ... or at this simulated time; 0: no bound */
	uint64_t evtchn_latency_ns; /* base delay of an event-channel delivery */
	uint64_t jitter_ns;         /* seeded extra delay for deliveries and wakeups */
};

/* Defaults: 1e8 events, 1 hour simulated, 2 us latency, 1 us jitter. */
void sim_config_default(struct sim_config *cfg, uint64_t seed);

struct sim *sim_create(const struct sim_config *cfg);
/* Destroys attached parts (last first), then pending events and tasks. */
void sim_destroy(struct sim *sim);

uint64_t sim_now(const struct sim *sim);
uint64_t sim_seed(const struct sim *sim);
const struct sim_config *sim_config(const struct sim *sim);
/*
 * Random streams. Draws are charged to the side that makes them, so that
 * what one side draws never moves another side's draws: a replay that
 * runs the guest side alone (the backend models absent) sees the guest
 * draw exactly what it drew in the recorded run.
 *
 * sim_rng: the guest workloads' stream (the guest stand-ins of sim/guest,
 * the test harness's request generators). Nothing on the backend side
 * draws from it.
 * sim_rng_dom: domain d's own stream, made on first use and seeded from
 * the run's seed and d alone (so the order in which domains first draw
 * does not matter). Event-channel jitter is drawn from the stream of the
 * domain whose action made the delivery due (sim/xen/evtchn.c); the
 * backend models draw their service times and the details of their
 * misbehaviour from their own domain's (sim_fault_draw).
 * The fault plan and the tasks (sim/core/fault.c, task.c) keep streams of
 * their own, also derived from the seed.
 */
struct sim_rng *sim_rng(struct sim *sim);
struct sim_rng *sim_rng_dom(struct sim *sim, uint16_t domid);
/* A seeded jitter in [0, cfg.jitter_ns] drawn from rng. */
uint64_t sim_jitter(struct sim *sim, struct sim_rng *rng);

/* Keys of the streams derived from the run's seed (sim_seed_derive): one
 * tag per family in the high bits, the member (a domain id...) below. */
#define SIM_STREAM_DOMAIN (1ull << 48) /* | domid */
#define SIM_STREAM_TASKS  (2ull << 48)

typedef void sim_event_fn(struct sim *sim, void *arg);
typedef uint64_t sim_event_id; /* 0 is never a valid id */

/* Run fn(sim, arg) delay_ns from now. `what` names the event in the trace
 * and must be a string constant. Equal times run in scheduling order. */
sim_event_id sim_schedule(struct sim *sim, uint64_t delay_ns, sim_event_fn *fn,
			  void *arg, const char *what);
/* true if the event was pending and will not run. */
bool sim_cancel(struct sim *sim, sim_event_id id);
size_t sim_pending(const struct sim *sim);
/* The time of the next pending event: false when none is pending. */
bool sim_next_event_time(const struct sim *sim, uint64_t *t_ns);

enum sim_run_result {
	SIM_RUN_IDLE,        /* no event left */
	SIM_RUN_EVENT_LIMIT, /* max_events reached */
	SIM_RUN_TIME_LIMIT,  /* next event beyond max_time_ns or the deadline */
	SIM_RUN_STOPPED,     /* sim_stop() was called */
};
const char *sim_run_result_name(enum sim_run_result r);

enum sim_run_result sim_run(struct sim *sim);
/* Runs events up to and including time t_ns, then sets the clock to t_ns. */
enum sim_run_result sim_run_until(struct sim *sim, uint64_t t_ns);
/* Runs one event; false if none is pending. */
bool sim_step(struct sim *sim);
void sim_stop(struct sim *sim);
uint64_t sim_events_run(const struct sim *sim);

/* ---- event trace -------------------------------------------------------- */

/* Mix a record into the running hash. Every executed event is recorded
 * automatically (time, id, what); models add records for what crosses the
 * frontend/backend boundary. `kind` is a string constant. */
void sim_trace(struct sim *sim, const char *kind, uint64_t a, uint64_t b);
void sim_trace_str(struct sim *sim, const char *kind, const char *s);
uint64_t sim_trace_hash(const struct sim *sim);
uint64_t sim_trace_records(const struct sim *sim);
/* Also print each record, one line each, to f (NULL: stop printing). */
void sim_trace_log(struct sim *sim, FILE *f);

/* ---- attached parts ------------------------------------------------------ */

enum sim_part {
	SIM_PART_FAULTS, /* sim/core/fault.h, created by sim_create */
	SIM_PART_CHECK,  /* sim/check/check.h */
	SIM_PART_XEN,    /* sim/xen/xen.h */
	SIM_PART_XS,     /* sim/xenstore/xenstore.h */
	SIM_PART_TASKS,  /* sim/core/task.h */
	/* sim/trace/trace.h. It watches the other parts' memory, so
	 * sim_destroy destroys it first, whatever its attach order. */
	SIM_PART_RECORDER,
	SIM_PART__COUNT,
};

typedef void sim_part_destroy_fn(void *part);
void sim_attach(struct sim *sim, enum sim_part which, void *part,
		sim_part_destroy_fn *destroy);
void *sim_part(const struct sim *sim, enum sim_part which);
/* Forget an attached part without destroying it (its owner took it back). */
void sim_detach(struct sim *sim, enum sim_part which);

/* fn(sim, arg) runs whenever the clock is about to move forward, with the
 * old time still current (the recorder, sim/trace, stamps what happened
 * since its last record with that time). One hook; fn NULL removes it. */
void sim_set_clock_hook(struct sim *sim, sim_event_fn *fn, void *arg);
/* Inside the clock hook: the next event is already taken and time is
 * about to move to *to_ns (when not NULL), so nothing may be scheduled
 * before that. */
bool sim_clock_moving(const struct sim *sim, uint64_t *to_ns);

/* Simulator bugs (never bad input): print and abort. */
#define SIM_ASSERT(cond)                                               \
	do {                                                           \
		if (!(cond))                                           \
			sim_assert_fail(#cond, __FILE__, __LINE__);    \
	} while (0)
void sim_assert_fail(const char *expr, const char *file, int line)
	__attribute__((noreturn));

/* Allocation that cannot fail (aborts): for the simulator's own state. */
void *sim_xmalloc(size_t n);
void *sim_xcalloc(size_t n, size_t size);
char *sim_xstrdup(const char *s);

#endif /* SIM_CORE_SIM_H */
