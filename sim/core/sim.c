/*
 * The discrete-event core: a binary min-heap of events keyed by (time,
 * sequence), so equal times run in the order they were scheduled; a run loop
 * with bounds; the event trace hash. See sim.h for the rules.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include "../check/check.h"
#include "fault.h"
#include "poison.h"
#include "u64map.h"

struct sim_event {
	uint64_t time_ns;
	sim_event_id id; /* also the FIFO tie-break: ids only grow */
	sim_event_fn *fn;
	void *arg;
	const char *what;
	size_t heap_index;
};

struct sim_part_slot {
	void *part;
	sim_part_destroy_fn *destroy;
	unsigned order; /* attach order, for reverse destruction */
};

struct sim {
	struct sim_config cfg;
	uint64_t now_ns;
	sim_event_id next_id;
	struct sim_event **heap;
	size_t heap_len, heap_cap;
	struct sim_u64map pending; /* id -> event */
	uint64_t events_run;
	bool stop;
	struct sim_rng rng;		/* the guest workloads' (sim_rng) */
	struct sim_u64map dom_rngs;	/* domid + 1 -> struct sim_rng */
	uint64_t trace_hash;
	uint64_t trace_records;
	FILE *trace_log;
	struct sim_part_slot parts[SIM_PART__COUNT];
	unsigned attach_count;
	sim_event_fn *clock_hook;
	void *clock_hook_arg;
	bool clock_moving; /* the clock hook is running ... */
	uint64_t clock_to; /* ... and the clock goes to this next */
	/* Events run or cancelled, kept for the next sim_schedule: a fuzz
	 * session schedules hundreds. Linked through their arg field and
	 * poisoned under ASan, so a stale event is still caught. */
	struct sim_event *spare_events;
};

void sim_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "simulator assertion failed: %s (%s:%d)\n", expr,
		file, line);
	abort();
}

void *sim_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "simulator: out of memory (%zu bytes)\n", n);
		abort();
	}
	return p;
}

void *sim_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fprintf(stderr, "simulator: out of memory (%zu x %zu)\n", n,
			size);
		abort();
	}
	return p;
}

char *sim_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(sim_xmalloc(n), s, n);
}

void sim_config_default(struct sim_config *cfg, uint64_t seed)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = seed;
	cfg->max_events = 100000000ull;
	cfg->max_time_ns = 3600ull * 1000000000ull;
	cfg->evtchn_latency_ns = 2000;
	cfg->jitter_ns = 1000;
}

/* Defined in fault.c and check.c; created with every simulation. */
void sim_fault_attach(struct sim *sim);

struct sim *sim_create(const struct sim_config *cfg)
{
	struct sim *sim = sim_xcalloc(1, sizeof(*sim));

	sim->cfg = *cfg;
	sim->next_id = 1;
	sim_u64map_init(&sim->pending);
	sim_u64map_init(&sim->dom_rngs);
	sim_rng_seed(&sim->rng, cfg->seed);
	sim->trace_hash = 0xcbf29ce484222325ull; /* any fixed start */
	sim_fault_attach(sim);
	sim_check_attach(sim);
	return sim;
}

static void destroy_part(struct sim *sim, enum sim_part which)
{
	struct sim_part_slot *s = &sim->parts[which];
	void *part = s->part;

	s->part = NULL;
	if (part && s->destroy)
		s->destroy(part);
}

static void destroy_parts(struct sim *sim)
{
	/* The recorder reads the other parts' memory: it goes first. */
	destroy_part(sim, SIM_PART_RECORDER);
	/* Last attached first: later parts may depend on earlier ones. */
	for (unsigned n = sim->attach_count; n > 0; n--) {
		for (int i = 0; i < SIM_PART__COUNT; i++) {
			struct sim_part_slot *s = &sim->parts[i];
			if (s->part && s->order == n - 1)
				destroy_part(sim, (enum sim_part)i);
		}
	}
}

static void free_stream(uint64_t key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	free(val);
}

void sim_destroy(struct sim *sim)
{
	if (!sim)
		return;
	destroy_parts(sim);
	for (size_t i = 0; i < sim->heap_len; i++)
		free(sim->heap[i]);
	while (sim->spare_events) {
		struct sim_event *ev = sim->spare_events;

		SIM_UNPOISON(ev, sizeof(*ev));
		sim->spare_events = ev->arg;
		free(ev);
	}
	free(sim->heap);
	sim_u64map_fini(&sim->pending);
	sim_u64map_each(&sim->dom_rngs, free_stream, NULL);
	sim_u64map_fini(&sim->dom_rngs);
	free(sim);
}

uint64_t sim_now(const struct sim *sim)
{
	return sim->now_ns;
}

uint64_t sim_seed(const struct sim *sim)
{
	return sim->cfg.seed;
}

const struct sim_config *sim_config(const struct sim *sim)
{
	return &sim->cfg;
}

struct sim_rng *sim_rng(struct sim *sim)
{
	return &sim->rng;
}

struct sim_rng *sim_rng_dom(struct sim *sim, uint16_t domid)
{
	uint64_t key = (uint64_t)domid + 1; /* the map refuses key 0 */
	struct sim_rng *rng = sim_u64map_get(&sim->dom_rngs, key);

	if (rng)
		return rng;
	rng = sim_xmalloc(sizeof(*rng));
	sim_rng_seed(rng, sim_seed_derive(sim->cfg.seed,
					  SIM_STREAM_DOMAIN | domid));
	sim_u64map_put(&sim->dom_rngs, key, rng);
	return rng;
}

uint64_t sim_jitter(struct sim *sim, struct sim_rng *rng)
{
	SIM_ASSERT(rng != NULL);
	return sim_rng_below(rng, sim->cfg.jitter_ns + 1);
}

void sim_attach(struct sim *sim, enum sim_part which, void *part,
		sim_part_destroy_fn *destroy)
{
	SIM_ASSERT(which < SIM_PART__COUNT);
	SIM_ASSERT(sim->parts[which].part == NULL);
	sim->parts[which].part = part;
	sim->parts[which].destroy = destroy;
	sim->parts[which].order = sim->attach_count++;
}

void *sim_part(const struct sim *sim, enum sim_part which)
{
	SIM_ASSERT(which < SIM_PART__COUNT);
	return sim->parts[which].part;
}

void sim_detach(struct sim *sim, enum sim_part which)
{
	SIM_ASSERT(which < SIM_PART__COUNT);
	sim->parts[which].part = NULL;
	sim->parts[which].destroy = NULL;
}

void sim_set_clock_hook(struct sim *sim, sim_event_fn *fn, void *arg)
{
	sim->clock_hook = fn;
	sim->clock_hook_arg = arg;
}

/* Every change of now_ns goes through here. */
static void clock_set(struct sim *sim, uint64_t t_ns)
{
	SIM_ASSERT(t_ns >= sim->now_ns);
	if (t_ns != sim->now_ns && sim->clock_hook) {
		sim->clock_moving = true;
		sim->clock_to = t_ns;
		sim->clock_hook(sim, sim->clock_hook_arg);
		sim->clock_moving = false;
	}
	sim->now_ns = t_ns;
}

/* ---- the heap ---------------------------------------------------------- */

static bool earlier(const struct sim_event *a, const struct sim_event *b)
{
	if (a->time_ns != b->time_ns)
		return a->time_ns < b->time_ns;
	return a->id < b->id;
}

static void heap_set(struct sim *sim, size_t i, struct sim_event *ev)
{
	sim->heap[i] = ev;
	ev->heap_index = i;
}

static void sift_up(struct sim *sim, size_t i)
{
	struct sim_event *ev = sim->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!earlier(ev, sim->heap[parent]))
			break;
		heap_set(sim, i, sim->heap[parent]);
		i = parent;
	}
	heap_set(sim, i, ev);
}

static void sift_down(struct sim *sim, size_t i)
{
	struct sim_event *ev = sim->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= sim->heap_len)
			break;
		if (child + 1 < sim->heap_len &&
		    earlier(sim->heap[child + 1], sim->heap[child]))
			child++;
		if (!earlier(sim->heap[child], ev))
			break;
		heap_set(sim, i, sim->heap[child]);
		i = child;
	}
	heap_set(sim, i, ev);
}

static void heap_remove(struct sim *sim, size_t i)
{
	SIM_ASSERT(i < sim->heap_len);
	struct sim_event *last = sim->heap[--sim->heap_len];
	if (i == sim->heap_len)
		return;
	heap_set(sim, i, last);
	sift_down(sim, i);
	sift_up(sim, last->heap_index);
}

static struct sim_event *event_get(struct sim *sim)
{
	struct sim_event *ev = sim->spare_events;

	if (!ev)
		return sim_xmalloc(sizeof(*ev));
	SIM_UNPOISON(ev, sizeof(*ev));
	sim->spare_events = ev->arg;
	return ev;
}

static void event_put(struct sim *sim, struct sim_event *ev)
{
	ev->arg = sim->spare_events;
	sim->spare_events = ev;
	SIM_POISON(ev, sizeof(*ev));
}

sim_event_id sim_schedule(struct sim *sim, uint64_t delay_ns, sim_event_fn *fn,
			  void *arg, const char *what)
{
	SIM_ASSERT(fn != NULL && what != NULL);
	SIM_ASSERT(delay_ns <= UINT64_MAX - sim->now_ns);
	struct sim_event *ev = event_get(sim);

	ev->time_ns = sim->now_ns + delay_ns;
	ev->id = sim->next_id++;
	ev->fn = fn;
	ev->arg = arg;
	ev->what = what;
	if (sim->heap_len == sim->heap_cap) {
		sim->heap_cap = sim->heap_cap ? sim->heap_cap * 2 : 64;
		sim->heap = realloc(sim->heap,
				    sim->heap_cap * sizeof(*sim->heap));
		SIM_ASSERT(sim->heap != NULL);
	}
	heap_set(sim, sim->heap_len++, ev);
	sift_up(sim, ev->heap_index);
	sim_u64map_put(&sim->pending, ev->id, ev);
	return ev->id;
}

bool sim_cancel(struct sim *sim, sim_event_id id)
{
	struct sim_event *ev = sim_u64map_del(&sim->pending, id);
	if (!ev)
		return false;
	heap_remove(sim, ev->heap_index);
	sim_trace(sim, "cancel", id, 0);
	event_put(sim, ev);
	return true;
}

size_t sim_pending(const struct sim *sim)
{
	return sim->heap_len;
}

/* ---- the run loop -------------------------------------------------------- */

const char *sim_run_result_name(enum sim_run_result r)
{
	switch (r) {
	case SIM_RUN_IDLE:
		return "idle";
	case SIM_RUN_EVENT_LIMIT:
		return "event limit";
	case SIM_RUN_TIME_LIMIT:
		return "time limit";
	case SIM_RUN_STOPPED:
		return "stopped";
	}
	return "?";
}

static void run_one(struct sim *sim)
{
	struct sim_event *ev = sim->heap[0];

	heap_remove(sim, 0);
	sim_u64map_del(&sim->pending, ev->id);
	clock_set(sim, ev->time_ns);
	sim->events_run++;
	sim_trace_str(sim, ev->what, "");
	sim_event_fn *fn = ev->fn;
	void *arg = ev->arg;
	event_put(sim, ev);
	fn(sim, arg);
}

bool sim_clock_moving(const struct sim *sim, uint64_t *to_ns)
{
	if (sim->clock_moving && to_ns)
		*to_ns = sim->clock_to;
	return sim->clock_moving;
}

bool sim_next_event_time(const struct sim *sim, uint64_t *t_ns)
{
	if (sim->heap_len == 0)
		return false;
	*t_ns = sim->heap[0]->time_ns;
	return true;
}

bool sim_step(struct sim *sim)
{
	if (sim->heap_len == 0)
		return false;
	run_one(sim);
	return true;
}

static enum sim_run_result run_bounded(struct sim *sim, uint64_t deadline)
{
	sim->stop = false;
	for (;;) {
		if (sim->stop)
			return SIM_RUN_STOPPED;
		if (sim->heap_len == 0)
			return SIM_RUN_IDLE;
		if (sim->cfg.max_events && sim->events_run >= sim->cfg.max_events)
			return SIM_RUN_EVENT_LIMIT;
		if (sim->heap[0]->time_ns > deadline)
			return SIM_RUN_TIME_LIMIT;
		run_one(sim);
	}
}

static uint64_t time_bound(const struct sim *sim)
{
	return sim->cfg.max_time_ns ? sim->cfg.max_time_ns : UINT64_MAX;
}

enum sim_run_result sim_run(struct sim *sim)
{
	return run_bounded(sim, time_bound(sim));
}

enum sim_run_result sim_run_until(struct sim *sim, uint64_t t_ns)
{
	uint64_t deadline = t_ns < time_bound(sim) ? t_ns : time_bound(sim);
	enum sim_run_result r = run_bounded(sim, deadline);

	if (r == SIM_RUN_IDLE || r == SIM_RUN_TIME_LIMIT) {
		if (sim->now_ns < deadline)
			clock_set(sim, deadline);
		if (deadline == t_ns)
			return SIM_RUN_IDLE;
	}
	return r;
}

void sim_stop(struct sim *sim)
{
	sim->stop = true;
}

uint64_t sim_events_run(const struct sim *sim)
{
	return sim->events_run;
}

/* ---- trace ----------------------------------------------------------- */

/* The trace digest mixes 64-bit words, not bytes: every session of a fuzz
 * campaign records thousands of events, and a byte-wise hash of each was a
 * twentieth of its time. Words are taken in a fixed byte order, so the
 * digest is the same on every host. */
static uint64_t mix_u64(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	size_t len = strlen(s);

	h = mix_u64(h, len);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = 0;

		for (size_t j = 0; j < 8 && i + j < len; j++)
			w |= (uint64_t)(unsigned char)s[i + j] << (8 * j);
		h = mix_u64(h, w);
	}
	return h;
}

static void trace_mix(struct sim *sim, const char *kind, uint64_t a,
		      uint64_t b, const char *s)
{
	uint64_t h = sim->trace_hash;
	h = mix_u64(h, sim->now_ns);
	h = mix_str(h, kind);
	h = mix_u64(h, a);
	h = mix_u64(h, b);
	if (s)
		h = mix_str(h, s);
	sim->trace_hash = h;
	sim->trace_records++;
}

void sim_trace(struct sim *sim, const char *kind, uint64_t a, uint64_t b)
{
	trace_mix(sim, kind, a, b, NULL);
	if (sim->trace_log)
		fprintf(sim->trace_log, "%llu %s %llu %llu\n",
			(unsigned long long)sim->now_ns, kind,
			(unsigned long long)a, (unsigned long long)b);
}

void sim_trace_str(struct sim *sim, const char *kind, const char *s)
{
	trace_mix(sim, kind, 0, 0, s);
	if (sim->trace_log)
		fprintf(sim->trace_log, "%llu %s %s\n",
			(unsigned long long)sim->now_ns, kind, s);
}

uint64_t sim_trace_hash(const struct sim *sim)
{
	return sim->trace_hash;
}

uint64_t sim_trace_records(const struct sim *sim)
{
	return sim->trace_records;
}

void sim_trace_log(struct sim *sim, FILE *f)
{
	sim->trace_log = f;
}
