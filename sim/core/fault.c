/*
 * The fault plan: rates per class, countdowns, counters, and random
 * streams of its own, one per (class, domain), so turning a fault class
 * on or off, or one side consulting it more often, does not shift the
 * draws the rest of the simulation makes. See fault.h.
 */
#include "fault.h"

#include "u64map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim_fault_countdown {
	uint64_t remaining; /* consultations until the failure; 0: none */
	bool persistent;
	bool fired;         /* persistent countdown reached: fail every call */
};

struct sim_fault_plan {
	uint32_t rate[SIM_FAULT__COUNT]; /* per million consultations */
	struct sim_fault_countdown countdown[SIM_FAULT__COUNT];
	uint64_t consulted[SIM_FAULT__COUNT];
	uint64_t injected[SIM_FAULT__COUNT];
	uint64_t seed;		  /* of every stream below */
	struct sim_u64map streams; /* stream_key + 1 -> struct sim_rng */
};

static const char *const fault_names[SIM_FAULT__COUNT] = {
	[SIM_FAULT_ALLOC] = "alloc",
	[SIM_FAULT_GRANT_CLAIM] = "grant-claim",
	[SIM_FAULT_EVTCHN_ALLOC] = "evtchn-alloc",
	[SIM_FAULT_XS_EAGAIN] = "xs-eagain",
	[SIM_FAULT_XS_ENOMEM] = "xs-enomem",
	[SIM_FAULT_EVTCHN_DELAY] = "evtchn-delay",
	[SIM_FAULT_EVTCHN_STORM] = "evtchn-storm",
	[SIM_FAULT_BE_RSP_OVERFLOW] = "be-rsp-overflow",
	[SIM_FAULT_BE_RSP_REWRITE] = "be-rsp-rewrite",
	[SIM_FAULT_BE_REQ_REWRITE] = "be-req-rewrite",
	[SIM_FAULT_BE_BAD_ID] = "be-bad-id",
	[SIM_FAULT_BE_DUP_RSP] = "be-dup-rsp",
	[SIM_FAULT_BE_STALE_ID] = "be-stale-id",
	[SIM_FAULT_BE_SENSE_LEN] = "be-sense-len",
	[SIM_FAULT_BE_RESIDUAL] = "be-residual",
	[SIM_FAULT_BE_RSLT_BITS] = "be-rslt-bits",
	[SIM_FAULT_BE_HOLD_GRANT] = "be-hold-grant",
	[SIM_FAULT_BE_HOLD_RING] = "be-hold-ring",
	[SIM_FAULT_BE_NO_ANSWER] = "be-no-answer",
	[SIM_FAULT_BE_LATE_TMR] = "be-late-tmr",
	[SIM_FAULT_BE_GARBAGE] = "be-garbage",
	[SIM_FAULT_BE_XS_VALUES] = "be-xs-values",
	[SIM_FAULT_BE_BAD_STATE] = "be-bad-state",
	[SIM_FAULT_BE_REMOVE_AFTER_RESUME] = "be-remove-after-resume",
	[SIM_FAULT_BE_USB_ACTUAL] = "be-usb-actual",
	[SIM_FAULT_BE_USB_STATUS] = "be-usb-status",
	[SIM_FAULT_BE_CONN_BAD] = "be-conn-bad",
	[SIM_FAULT_BE_CONN_OVERFLOW] = "be-conn-overflow",
};

const char *sim_fault_name(enum sim_fault f)
{
	SIM_ASSERT(f < SIM_FAULT__COUNT);
	return fault_names[f];
}

int sim_fault_from_name(const char *name)
{
	for (int f = 0; f < SIM_FAULT__COUNT; f++)
		if (strcmp(name, fault_names[f]) == 0)
			return f;
	return -1;
}

static void free_stream(uint64_t key, void *val, void *arg)
{
	(void)key;
	(void)arg;
	free(val);
}

static void plan_destroy(void *part)
{
	struct sim_fault_plan *plan = part;

	sim_u64map_each(&plan->streams, free_stream, NULL);
	sim_u64map_fini(&plan->streams);
	free(plan);
}

void sim_fault_attach(struct sim *sim);
void sim_fault_attach(struct sim *sim)
{
	struct sim_fault_plan *plan = sim_xcalloc(1, sizeof(*plan));

	/* Streams of its own, still a function of the seed alone. */
	plan->seed = sim_seed(sim) ^ 0x6661756c74706c6eull;
	sim_u64map_init(&plan->streams);
	sim_attach(sim, SIM_PART_FAULTS, plan, plan_destroy);
}

/* The (f, domid) stream, made on first use: its draws depend only on the
 * plan's seed, the key and how often it was consulted before. */
static struct sim_rng *class_stream(struct sim_fault_plan *plan,
				    enum sim_fault f, uint16_t domid)
{
	uint64_t key = (uint64_t)f << 16 | domid;
	struct sim_rng *rng = sim_u64map_get(&plan->streams, key + 1);

	if (rng)
		return rng;
	rng = sim_xmalloc(sizeof(*rng));
	sim_rng_seed(rng, sim_seed_derive(plan->seed, key));
	sim_u64map_put(&plan->streams, key + 1, rng);
	return rng;
}

struct sim_fault_plan *sim_faults(struct sim *sim)
{
	struct sim_fault_plan *plan = sim_part(sim, SIM_PART_FAULTS);
	SIM_ASSERT(plan != NULL);
	return plan;
}

void sim_fault_plan_clear(struct sim_fault_plan *plan)
{
	memset(plan->rate, 0, sizeof(plan->rate));
	memset(plan->countdown, 0, sizeof(plan->countdown));
}

void sim_fault_plan_draw(struct sim_fault_plan *plan, uint64_t seed)
{
	/* Log-spaced rates: rare faults reach deep paths, frequent ones
	 * hammer the error handling at the first step. */
	static const uint32_t rates[] = { 100, 1000, 10000, 100000 };
	struct sim_rng draw;

	sim_rng_seed(&draw, seed ^ 0x737761726dull);
	sim_fault_plan_clear(plan);
	for (int f = 0; f < SIM_FAULT__COUNT; f++) {
		if (sim_rng_below(&draw, 2))
			plan->rate[f] = rates[sim_rng_below(
				&draw, sizeof(rates) / sizeof(rates[0]))];
	}
}

void sim_fault_set_rate(struct sim_fault_plan *plan, enum sim_fault f,
			uint32_t per_million)
{
	SIM_ASSERT(f < SIM_FAULT__COUNT);
	plan->rate[f] = per_million > 1000000 ? 1000000 : per_million;
}

uint32_t sim_fault_rate(const struct sim_fault_plan *plan, enum sim_fault f)
{
	SIM_ASSERT(f < SIM_FAULT__COUNT);
	return plan->rate[f];
}

void sim_fault_countdown(struct sim_fault_plan *plan, enum sim_fault f,
			 uint64_t nth, bool persistent)
{
	SIM_ASSERT(f < SIM_FAULT__COUNT);
	plan->countdown[f].remaining = nth;
	plan->countdown[f].persistent = persistent;
	plan->countdown[f].fired = false;
}

bool sim_fault_countdown_get(const struct sim_fault_plan *plan,
			     enum sim_fault f, uint64_t *nth,
			     bool *persistent)
{
	const struct sim_fault_countdown *c;

	SIM_ASSERT(f < SIM_FAULT__COUNT);
	c = &plan->countdown[f];
	if (!c->fired && c->remaining == 0)
		return false;
	*nth = c->fired ? 1 : c->remaining;
	*persistent = c->persistent;
	return true;
}

static bool countdown_hit(struct sim_fault_countdown *c)
{
	if (c->fired)
		return true;
	if (c->remaining == 0)
		return false;
	if (--c->remaining > 0)
		return false;
	c->fired = c->persistent;
	return true;
}

bool sim_fault_hit_dom(struct sim_fault_plan *plan, enum sim_fault f,
		       uint16_t domid)
{
	SIM_ASSERT(f < SIM_FAULT__COUNT);
	plan->consulted[f]++;
	bool hit = countdown_hit(&plan->countdown[f]);
	/* Draw even when the countdown decided, so the stream's position
	 * depends only on the number of consultations. */
	bool random_hit =
	    plan->rate[f] &&
	    sim_rng_chance(class_stream(plan, f, domid), plan->rate[f]);
	if (hit || random_hit)
		plan->injected[f]++;
	return hit || random_hit;
}

bool sim_fault_hit(struct sim_fault_plan *plan, enum sim_fault f)
{
	return sim_fault_hit_dom(plan, f, SIM_FAULT_ANY_DOMAIN);
}

uint64_t sim_fault_consulted(const struct sim_fault_plan *plan,
			     enum sim_fault f)
{
	return plan->consulted[f];
}

uint64_t sim_fault_injected(const struct sim_fault_plan *plan,
			    enum sim_fault f)
{
	return plan->injected[f];
}

/* Appends one item at *off; false (and nothing appended) if it does not
 * fit: never half an item, so a truncated plan still parses. */
static bool format_item(char *buf, size_t len, size_t *off, const char *fmt,
			const char *name, unsigned long long v,
			const char *suffix)
{
	int n = snprintf(buf + *off, len - *off, fmt, *off ? "," : "", name, v,
			 suffix);

	if (n < 0 || (size_t)n >= len - *off) {
		buf[*off] = '\0';
		return false;
	}
	*off += (size_t)n;
	return true;
}

void sim_fault_plan_format(const struct sim_fault_plan *plan, char *buf,
			   size_t len)
{
	size_t off = 0;
	bool room = true;

	SIM_ASSERT(len > 0);
	buf[0] = '\0';
	for (int f = 0; room && f < SIM_FAULT__COUNT; f++)
		if (plan->rate[f])
			room = format_item(buf, len, &off, "%s%s=%llu%s",
					   fault_names[f], plan->rate[f], "");
	for (int f = 0; room && f < SIM_FAULT__COUNT; f++) {
		uint64_t nth;
		bool persistent;

		if (sim_fault_countdown_get(plan, (enum sim_fault)f, &nth,
					    &persistent))
			room = format_item(buf, len, &off, "%s%s@%llu%s",
					   fault_names[f], nth,
					   persistent ? "+" : "");
	}
	if (off == 0)
		snprintf(buf, len, "none");
}

/* Decimal digits only, at most max. strtoul would also take leading
 * space and a sign ("alloc= +5"), which the plan's other readers (configs
 * are hostile input) refuse everywhere else. */
static int parse_decimal(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* "N" or "N+" after NAME@: digits only (leading zeros too, as rates take
 * them), 1..SIM_FAULT_NTH_MAX. */
static int parse_countdown(struct sim_fault_plan *plan, enum sim_fault f,
			   const char *s)
{
	size_t n = strlen(s);
	bool persistent = n > 0 && s[n - 1] == '+';
	uint64_t v = 0;

	n -= persistent;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > SIM_FAULT_NTH_MAX)
			return -1;
	}
	if (v == 0)
		return -1;
	sim_fault_countdown(plan, f, v, persistent);
	return 0;
}

static int parse_item(struct sim_fault_plan *plan, const char *item,
		      char *err, size_t errlen)
{
	const char *eq = item + strcspn(item, "=@");
	char name[32];
	uint32_t rate;

	if (!*eq || (size_t)(eq - item) >= sizeof(name)) {
		snprintf(err, errlen,
			 "fault item '%s': expected NAME=RATE, NAME@N or NAME@N+",
			 item);
		return -1;
	}
	memcpy(name, item, (size_t)(eq - item));
	name[eq - item] = '\0';
	int f = sim_fault_from_name(name);
	if (f < 0) {
		snprintf(err, errlen, "fault item '%s': unknown class '%s'",
			 item, name);
		return -1;
	}
	if (*eq == '@') {
		if (parse_countdown(plan, (enum sim_fault)f, eq + 1) == 0)
			return 0;
		snprintf(err, errlen,
			 "fault item '%s': N must be 1..%u, with an optional '+'",
			 item, SIM_FAULT_NTH_MAX);
		return -1;
	}
	if (parse_decimal(eq + 1, 1000000, &rate) < 0) {
		snprintf(err, errlen,
			 "fault item '%s': rate must be 0..1000000 per million",
			 item);
		return -1;
	}
	plan->rate[f] = rate;
	return 0;
}

int sim_fault_plan_parse(struct sim_fault_plan *plan, const char *spec,
			 char *err, size_t errlen)
{
	char buf[SIM_FAULT_PLAN_MAX + 1];

	sim_fault_plan_clear(plan);
	if (strcmp(spec, "none") == 0 || spec[0] == '\0')
		return 0;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "fault plan longer than %zu characters",
			 sizeof(buf) - 1);
		return -1;
	}
	strcpy(buf, spec);
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save))
		if (parse_item(plan, item, err, errlen) < 0)
			return -1;
	return 0;
}

bool sim_fault_decide(struct sim *sim, const struct sim_fault_decider *d,
		      enum sim_fault f, uint16_t domid)
{
	if (d)
		return d->hit(d->arg, f);
	return sim_fault_hit_dom(sim_faults(sim), f, domid);
}

uint64_t sim_fault_draw(struct sim *sim, const struct sim_fault_decider *d,
			uint16_t domid, uint64_t bound)
{
	uint64_t v;

	if (!d)
		return sim_rng_below(sim_rng_dom(sim, domid), bound);
	v = d->draw(d->arg, bound);
	SIM_ASSERT(v < bound); /* the decider's contract */
	return v;
}
