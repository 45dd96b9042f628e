/*
 * The verdict table and the exactly-once completion checker. Checkers call
 * sim_violation(); a run with any violation fails. See check.h.
 */
#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../core/sim.h"
#include "../core/u64map.h"

#define KEPT_MESSAGES 64
#define MESSAGE_LEN 256

/* Request states in the completion map, stored as pointer-sized tags. */
#define REQ_OPEN ((void *)1)
#define REQ_DONE ((void *)2)

struct sim_checks {
	struct sim *sim;
	uint64_t count[SIM_CHECK__COUNT];
	char kept[KEPT_MESSAGES][MESSAGE_LEN];
	unsigned nr_kept;
	bool fatal;
	struct sim_u64map requests; /* key+1 -> REQ_OPEN / REQ_DONE */
	uint64_t open;
};

static const char *const check_names[SIM_CHECK__COUNT] = {
	[SIM_CHECK_GRANT_LEAK] = "grant-leak",
	[SIM_CHECK_GRANT_RW_OUTBOUND] = "grant-rw-outbound",
	[SIM_CHECK_GRANT_AFTER_END] = "grant-access-after-end",
	[SIM_CHECK_GRANT_REVOKE_REUSE] = "grant-revoke-failed-page-reused",
	[SIM_CHECK_GRANT_FREE_GRANTED] = "grant-page-freed-while-granted",
	[SIM_CHECK_DOUBLE_FETCH] = "double-fetch",
	[SIM_CHECK_COMPLETION_TWICE] = "completed-twice",
	[SIM_CHECK_COMPLETION_MISSING] = "never-completed",
	[SIM_CHECK_COMPLETION_UNKNOWN] = "completed-unknown-request",
	[SIM_CHECK_PAGE_LEAK] = "page-leak",
	[SIM_CHECK_EVTCHN_LEAK] = "evtchn-leak",
	[SIM_CHECK_MEM_LEAK] = "memory-leak",
	[SIM_CHECK_LOCK] = "lock-misuse",
	[SIM_CHECK_CONTRACT] = "contract-misuse",
	[SIM_CHECK_DATA_ON_FAILURE] = "data-on-failure",
	[SIM_CHECK_COMPLETION_OVERLONG] = "completion-overlong",
	[SIM_CHECK_DATA_CORRUPT] = "data-corrupt",
	[SIM_CHECK_LIVENESS] = "liveness",
};

const char *sim_check_name(enum sim_check check)
{
	SIM_ASSERT(check < SIM_CHECK__COUNT);
	return check_names[check];
}

static void checks_destroy(void *part)
{
	struct sim_checks *c = part;
	sim_u64map_fini(&c->requests);
	free(c);
}

void sim_check_attach(struct sim *sim)
{
	if (sim_part(sim, SIM_PART_CHECK))
		return;
	struct sim_checks *c = sim_xcalloc(1, sizeof(*c));
	c->sim = sim;
	sim_u64map_init(&c->requests);
	sim_attach(sim, SIM_PART_CHECK, c, checks_destroy);
}

static struct sim_checks *checks(const struct sim *sim)
{
	struct sim_checks *c = sim_part(sim, SIM_PART_CHECK);
	SIM_ASSERT(c != NULL);
	return c;
}

void sim_violation(struct sim *sim, enum sim_check check, const char *fmt, ...)
{
	struct sim_checks *c = checks(sim);
	char msg[MESSAGE_LEN - 48];
	va_list ap;

	SIM_ASSERT(check < SIM_CHECK__COUNT);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->count[check]++;
	sim_trace_str(sim, "violation", check_names[check]);
	if (c->nr_kept < KEPT_MESSAGES)
		snprintf(c->kept[c->nr_kept++], MESSAGE_LEN, "t=%llu %s: %s",
			 (unsigned long long)sim_now(sim), check_names[check],
			 msg);
	if (c->fatal) {
		fprintf(stderr, "checker failed at t=%llu: %s: %s\n",
			(unsigned long long)sim_now(sim), check_names[check],
			msg);
		abort();
	}
}

uint64_t sim_violations(const struct sim *sim, enum sim_check check)
{
	SIM_ASSERT(check < SIM_CHECK__COUNT);
	return checks(sim)->count[check];
}

uint64_t sim_violations_total(const struct sim *sim)
{
	const struct sim_checks *c = checks(sim);
	uint64_t total = 0;
	for (int i = 0; i < SIM_CHECK__COUNT; i++)
		total += c->count[i];
	return total;
}

uint64_t sim_check_report(const struct sim *sim, FILE *out)
{
	const struct sim_checks *c = checks(sim);
	uint64_t total = sim_violations_total(sim);

	for (unsigned i = 0; i < c->nr_kept; i++)
		fprintf(out, "  violation %s\n", c->kept[i]);
	for (int i = 0; i < SIM_CHECK__COUNT; i++)
		if (c->count[i])
			fprintf(out, "  %-32s %llu\n", check_names[i],
				(unsigned long long)c->count[i]);
	if (total > c->nr_kept)
		fprintf(out, "  (%llu violations, first %u shown)\n",
			(unsigned long long)total, c->nr_kept);
	return total;
}

void sim_check_set_fatal(struct sim *sim, bool fatal)
{
	checks(sim)->fatal = fatal;
}

/* ---- exactly-once completion ---------------------------------------- */

/* The map reserves key 0, so every request key is stored shifted by one. */
static uint64_t map_key(uint64_t key)
{
	SIM_ASSERT(key < UINT64_MAX - 1);
	return key + 1;
}

void sim_check_request_begin(struct sim *sim, uint64_t key)
{
	struct sim_checks *c = checks(sim);
	if (sim_u64map_get(&c->requests, map_key(key)) == REQ_OPEN) {
		sim_violation(sim, SIM_CHECK_CONTRACT,
			      "request %llu begun while still open",
			      (unsigned long long)key);
		return;
	}
	sim_u64map_put(&c->requests, map_key(key), REQ_OPEN);
	c->open++;
}

void sim_check_request_done(struct sim *sim, uint64_t key)
{
	struct sim_checks *c = checks(sim);
	void *state = sim_u64map_get(&c->requests, map_key(key));

	if (state == REQ_OPEN) {
		sim_u64map_put(&c->requests, map_key(key), REQ_DONE);
		c->open--;
	} else if (state == REQ_DONE) {
		sim_violation(sim, SIM_CHECK_COMPLETION_TWICE,
			      "request %llu completed again",
			      (unsigned long long)key);
	} else {
		sim_violation(sim, SIM_CHECK_COMPLETION_UNKNOWN,
			      "completion for request %llu, never submitted",
			      (unsigned long long)key);
	}
}

uint64_t sim_check_requests_open(const struct sim *sim)
{
	return checks(sim)->open;
}

struct audit_ctx {
	struct sim *sim;
	const char *when;
	uint64_t shown;
};

static void audit_one(uint64_t key, void *state, void *arg)
{
	struct audit_ctx *a = arg;
	if (state != REQ_OPEN)
		return;
	sim_violation(a->sim, SIM_CHECK_COMPLETION_MISSING,
		      "request %llu still open at %s",
		      (unsigned long long)(key - 1), a->when);
}

void sim_check_requests_audit(struct sim *sim, const char *when)
{
	struct audit_ctx a = { sim, when, 0 };
	sim_u64map_each(&checks(sim)->requests, audit_one, &a);
}
