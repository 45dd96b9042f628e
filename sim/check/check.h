/*
 * Checkers' verdicts. Checkers (grant ledger, exactly-once completion,
 * double fetch, leaks) report violations here; injectors never do. A run
 * fails when any violation was reported. Kept apart from sim/core/fault.h
 * on purpose: what goes wrong on purpose and what is judged wrong must not
 * share state.
 */
#ifndef SIM_CHECK_CHECK_H
#define SIM_CHECK_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct sim;

enum sim_check {
	SIM_CHECK_GRANT_LEAK,          /* grant still active at teardown */
	SIM_CHECK_GRANT_RW_OUTBOUND,   /* outbound data granted writable */
	SIM_CHECK_GRANT_AFTER_END,     /* shm access to a page whose grant ended */
	SIM_CHECK_GRANT_REVOKE_REUSE,  /* revoke failed (mapped), page reused */
	SIM_CHECK_GRANT_FREE_GRANTED,  /* page freed while a grant is active */
	SIM_CHECK_DOUBLE_FETCH,        /* published bytes fetched twice */
	SIM_CHECK_COMPLETION_TWICE,    /* a request completed more than once */
	SIM_CHECK_COMPLETION_MISSING,  /* a request never completed */
	SIM_CHECK_COMPLETION_UNKNOWN,  /* completion of a request never made */
	SIM_CHECK_PAGE_LEAK,           /* guest page not freed at teardown */
	SIM_CHECK_EVTCHN_LEAK,         /* port left open at teardown */
	SIM_CHECK_MEM_LEAK,            /* contract allocation not freed */
	SIM_CHECK_LOCK,                /* lock imbalance or misuse */
	SIM_CHECK_CONTRACT,            /* contract called against its rules */
	SIM_CHECK_DATA_ON_FAILURE,     /* data delivered for a failed request */
	SIM_CHECK_COMPLETION_OVERLONG, /* completion longer than the request */
	SIM_CHECK_DATA_CORRUPT,        /* verified data differs from written */
	SIM_CHECK_LIVENESS,            /* request outstanding past its bound */
	SIM_CHECK__COUNT,
};

const char *sim_check_name(enum sim_check check);

/* Creates the verdict table and attaches it to sim (SIM_PART_CHECK).
 * sim_create() calls this; it is idempotent. */
void sim_check_attach(struct sim *sim);

/* Record a violation: counted per checker, the first messages kept. */
void sim_violation(struct sim *sim, enum sim_check check, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

uint64_t sim_violations(const struct sim *sim, enum sim_check check);
uint64_t sim_violations_total(const struct sim *sim);
/* Print every kept message and the counts; returns the total. */
uint64_t sim_check_report(const struct sim *sim, FILE *out);
/* Abort at the first violation (fuzzing: the crash is the report). */
void sim_check_set_fatal(struct sim *sim, bool fatal);

/* ---- exactly-once completion ---------------------------------------- */
/* Harness code marks each request it hands a frontend, and each completion
 * the frontend reports, by a key unique within the run (e.g. a tag). */
void sim_check_request_begin(struct sim *sim, uint64_t key);
void sim_check_request_done(struct sim *sim, uint64_t key);
uint64_t sim_check_requests_open(const struct sim *sim);
/* Report every request still open as SIM_CHECK_COMPLETION_MISSING. */
void sim_check_requests_audit(struct sim *sim, const char *when);

#endif /* SIM_CHECK_CHECK_H */
